"""`-s/--size` reads sizes as GNU shred does: compared with /usr/bin/shred itself.

GNU is only asked to parse: the target is a path that cannot be opened, so it says either
"invalid file size" (refused) or "failed to open for writing" (accepted) and never writes.
The byte count of accepted sizes is compared on small files (at most 1 MiB)."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
from hypothesis import given, settings, strategies as st

import scrub

GNU = shutil.which("shred")
SUFFIXES = ["", "c", "b", "B", "k", "K", "kB", "KB", "kiB", "KiB", "M", "MB", "MiB", "G", "GB", "GiB", "T", "P", "E",
            "Z", "Y", "m", "g", "t", "w", "Kb", "KIB", "R", "Q", "bB", "cB", "BB", "Bi", "e", "x", "i", "iB"]
NUMBERS = ["0", "1", "2", "7", "010", "08", "0x10", "0x", "+5", " 5", "5 ", "-1", "1.5", "1e3", "", "9223372036854775807",
           "9223372036854775808", "18446744073709551615"]

pytestmark = pytest.mark.skipif(GNU is None, reason="GNU shred (coreutils) is not installed")


def gnu_accepts(text: str) -> bool:
    proc = subprocess.run([GNU, "-n", "1", "-s", text, "/nonexistent-dir/x"], capture_output=True, text=True,
                          env={**os.environ, "LC_ALL": "C"}, timeout=30)
    assert proc.returncode == 1
    if "invalid file size" in proc.stderr:
        return False
    assert "failed to open for writing" in proc.stderr, proc.stderr
    return True


def scrub_value(text: str) -> int | None:
    try:
        return scrub.parse_size(text)
    except scrub.UsageError:
        return None


@pytest.mark.parametrize("number", NUMBERS)
@pytest.mark.parametrize("suffix", SUFFIXES)
def test_size_accepted_or_refused_as_gnu_does(number, suffix):
    text = number + suffix
    assert (scrub_value(text) is not None) == gnu_accepts(text), text


@pytest.mark.parametrize("text", ["1", "1c", "2b", "1B", "1k", "1K", "1KB", "1kB", "1KiB", "1M", "1MB", "010", "0x10",
                                  "+7", " 9", "3b"])
def test_size_in_bytes_matches_gnu(tmp_path, text):
    f = tmp_path / "f"
    f.write_bytes(b"")
    subprocess.run([GNU, "-n", "1", "-s", text, str(f)], check=True, timeout=60)
    assert scrub.parse_size(text) == f.stat().st_size
    assert scrub.parse_size("2b") == 1024  # not 2: a silent under-overwrite once


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet="0123456789xXabcdefBKMGiTPEZYkmw+- ", max_size=8))
def test_any_size_text_is_judged_as_gnu_judges_it(text):
    if "\x00" in text:
        return
    value = scrub_value(text)
    accepted = gnu_accepts(text)
    assert (value is not None) == accepted, text
