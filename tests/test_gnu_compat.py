"""Differential tests: GNU shred (/usr/bin/shred) and `python3 -m scrub shred` on copies of the
same file with the same arguments and the same --random-source, compared byte for byte: the
pass order GNU draws for -n N, every pattern and random byte, and the -v pass trace.
Run under LC_ALL=C; GNU's byte-progress suffix is time-driven, so the files stay small."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

GNU = shutil.which("shred")
pytestmark = pytest.mark.skipif(GNU is None, reason="GNU shred (coreutils) is not installed")
ENV = {**os.environ, "LC_ALL": "C"}
ENV.pop("POSIXLY_CORRECT", None)


def run_both(tmp, args: list[str], content: bytes, source: bytes):
    """(gnu, scrub): each (exit code, stderr lines with the program prefix and name removed, bytes after)."""
    rs = tmp / "rs"
    rs.write_bytes(source)
    out = []
    for who in ("gnu", "scrub"):
        f = tmp / f"f-{who}"
        f.write_bytes(content)
        cmd = (["shred"] if who == "gnu" else [sys.executable, "-m", "scrub", "shred", "--no-storage", "--verify", "none"])
        proc = subprocess.run(cmd + [f"--random-source={rs}", *args, str(f)], capture_output=True, text=True, env=ENV,
                              timeout=120, executable=GNU if who == "gnu" else None)  # argv[0] "shred": GNU's prefix
        prefix = "shred: " if who == "gnu" else "python3 -m scrub shred: "
        lines = [line[len(prefix):].replace(str(f), "FILE") for line in proc.stderr.splitlines() if line.startswith(prefix)]
        out.append((proc.returncode, lines, f.read_bytes() if f.exists() else None))
    return out


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(n=st.integers(min_value=0, max_value=40), size=st.sampled_from([1, 512, 4096, 5000, 12288]),
       zero=st.booleans(), seed=st.binary(min_size=16, max_size=16))
def test_random_source_gives_gnus_order_and_bytes(tmp_path_factory, n, size, zero, seed):
    import hashlib

    tmp = tmp_path_factory.mktemp("gnu")
    source = b"".join(hashlib.sha256(seed + i.to_bytes(4, "big")).digest() for i in range(4096))  # 128 KiB
    args = ["-v", f"-n{n}", "-s", str(size)] + (["-z"] if zero else [])
    (gcode, glines, gbytes), (scode, slines, sbytes) = run_both(tmp, args, b"\x11" * size, source)
    assert gcode == scode == 0
    assert slines == glines
    assert sbytes == gbytes


def test_the_twenty_pass_order_from_a_constant_source(tmp_path):
    (gcode, glines, gbytes), (scode, slines, sbytes) = run_both(tmp_path, ["-v", "-n20", "-s4096"], b"x", b"U" * 102400)
    assert glines == slines and len(glines) == 20 and gbytes == sbytes


def test_a_random_source_that_ends_fails_both(tmp_path):
    (gcode, glines, _), (scode, slines, _) = run_both(tmp_path, ["-n", "30", "-s", "4096"], b"x", b"\xff" * 8)
    assert gcode == 1 and scode != 0
