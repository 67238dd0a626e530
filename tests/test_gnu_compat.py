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


def run_shred(who: str, args: list, cwd=None) -> tuple[int, list[bytes]]:
    """Run GNU shred (as argv[0] "shred", its message prefix) or scrub's; (exit code, its own
    stderr lines with the program prefix dropped)."""
    cmd = ["shred"] if who == "gnu" else [sys.executable, "-m", "scrub", "shred", "--no-storage", "--verify", "none"]
    proc = subprocess.run(cmd + args, cwd=cwd, capture_output=True, env=ENV, timeout=120,
                          executable=GNU if who == "gnu" else None)
    prefix = b"shred: " if who == "gnu" else b"python3 -m scrub shred: "
    return proc.returncode, [line[len(prefix):] for line in proc.stderr.splitlines() if line.startswith(prefix)]


def run_both(tmp, args: list[str], content: bytes | None, source: bytes, *, name: str = "f", others=()):
    """(gnu, scrub): each (exit code, stderr lines with the program prefix dropped and the
    directory written DIR, the file's bytes after or None, the names left in the directory).
    Each tool runs in a directory of its own holding ``name`` (and the ``others``)."""
    rs = tmp / "rs"
    rs.write_bytes(source)
    out = []
    for who in ("gnu", "scrub"):
        d = tmp / who
        d.mkdir()
        for other in others:
            (d / other).write_bytes(b"")
        f = d / name
        if content is not None:
            f.write_bytes(content)
        code, raw = run_shred(who, [f"--random-source={rs}", *args, str(f)])
        lines = [line.decode().replace(str(d), "DIR") for line in raw]
        out.append((code, lines, f.read_bytes() if f.exists() else None, sorted(os.listdir(d))))
    return out


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(n=st.integers(min_value=0, max_value=40), size=st.sampled_from([1, 512, 4096, 5000, 12288]),
       zero=st.booleans(), seed=st.binary(min_size=16, max_size=16))
def test_random_source_gives_gnus_order_and_bytes(tmp_path_factory, n, size, zero, seed):
    import hashlib

    tmp = tmp_path_factory.mktemp("gnu")
    source = b"".join(hashlib.sha256(seed + i.to_bytes(4, "big")).digest() for i in range(4096))  # 128 KiB
    args = ["-v", f"-n{n}", "-s", str(size)] + (["-z"] if zero else [])
    (gcode, glines, gbytes, _), (scode, slines, sbytes, _) = run_both(tmp, args, b"\x11" * size, source)
    assert gcode == scode == 0
    assert slines == glines
    assert sbytes == gbytes


def test_the_twenty_pass_order_from_a_constant_source(tmp_path):
    (gcode, glines, gbytes, _), (scode, slines, sbytes, _) = run_both(tmp_path, ["-v", "-n20", "-s4096"], b"x", b"U" * 102400)
    assert glines == slines and len(glines) == 20 and gbytes == sbytes


def test_a_random_source_that_ends_fails_both(tmp_path):
    (gcode, glines, _, _), (scode, slines, _, _) = run_both(tmp_path, ["-n", "30", "-s", "4096"], b"x", b"\xff" * 8)
    assert gcode == 1 and scode != 0


ALL_ONE_CHAR = [c for c in "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_"]


@pytest.mark.parametrize("name,others", [("f", []), ("test", []), ("a_long_file_name.txt", []), ("0", []), ("00", []),
                                         ("test", ALL_ONE_CHAR + ["000"]), ("abc", ["00" + c for c in "0123456789"])])
@pytest.mark.parametrize("remove", [["-u"], ["--remove"], ["--remove=wipe"], ["--remove=wipesync"], ["--remove=unlink"]])
def test_removal_trace_as_gnu(tmp_path, name, others, remove):
    """-v -u: 'removing', 'renamed to' through every shorter length (names taken skipped),
    'removed'; the same names left behind."""
    (gcode, glines, gbytes, gleft), (scode, slines, sbytes, sleft) = run_both(
        tmp_path, ["-v", "-n", "1", *remove], b"data" * 100, b"R" * 65536, name=name, others=others)
    assert gcode == scode == 0
    assert slines == glines
    assert gbytes is None and sbytes is None and sleft == gleft


def test_empty_file_has_no_pass_lines(tmp_path):
    (gcode, glines, _, _), (scode, slines, _, _) = run_both(tmp_path, ["-v", "-u"], b"", b"R" * 4096, name="empty")
    assert gcode == scode == 0 and slines == glines and not any("pass" in line for line in glines)


def test_a_fifo_is_refused_without_opening_it(tmp_path):
    """GNU 9.1 opens a FIFO for writing and hangs without a reader (with one it says 'invalid
    file type'); scrub refuses it like current GNU, before any open: no hang, exit 1."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    proc = subprocess.run([sys.executable, "-m", "scrub", "shred", "--no-storage", str(fifo)], capture_output=True,
                          text=True, timeout=30, env=ENV)
    assert proc.returncode == 1 and f"{fifo}: invalid file type" in proc.stderr
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # GNU gets a reader so that it cannot hang
    try:
        gnu = subprocess.run(["shred", str(fifo)], executable=GNU, capture_output=True, text=True, timeout=30, env=ENV)
    finally:
        os.close(reader)
    assert gnu.returncode == 1 and "invalid file type" in gnu.stderr


@pytest.mark.parametrize("extra", [[], ["-u"], ["-z"], ["-x", "-s", "5"]])
def test_dash_is_the_file_on_standard_output(tmp_path, extra):
    """`shred - 1<>FILE`: the file open on stdout is overwritten (and with -u truncated, not
    removed), as GNU does it; the bytes match GNU's for the same random source."""
    rs = tmp_path / "rs"
    rs.write_bytes(os.urandom(1 << 16))
    results = []
    for who in ("gnu", "scrub"):
        f = tmp_path / f"t-{who}"
        f.write_bytes(b"hello world, a secret\n" * 10)
        fd = os.open(f, os.O_RDWR)
        try:
            cmd = ["shred"] if who == "gnu" else [sys.executable, "-m", "scrub", "shred", "--no-storage"]
            proc = subprocess.run(cmd + ["-n", "1", f"--random-source={rs}", *extra, "-"], stdout=fd, stderr=subprocess.PIPE,
                                  text=True, env=ENV, timeout=60, executable=GNU if who == "gnu" else None)
        finally:
            os.close(fd)
        results.append((proc.returncode, f.read_bytes()))
    assert results[0] == results[1]
    assert results[1][0] == 0 and ("-s" in extra or b"secret" not in results[1][1])


def test_dash_with_json_is_refused(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "scrub", "shred", "--json", "-"], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 1


SIZES = st.one_of(st.sampled_from(["1", "7", "512", "4096", "4097", "1K", "2b", "1B", "1KB", "3c", "0x200", "010", "1k"]),
                  st.integers(min_value=0, max_value=20000).map(str))
OPTION = st.one_of(
    st.builds(lambda n: [f"-n{n}"], st.integers(0, 6)),
    st.builds(lambda n: ["-n", str(n)], st.integers(0, 6)),
    st.builds(lambda n: [f"--iterations={n}"], st.integers(0, 6)),
    st.builds(lambda s: ["-s", s], SIZES),
    st.builds(lambda s: [f"--size={s}"], SIZES),
    st.sampled_from([["-x"], ["--exact"], ["-z"], ["--zero"], ["-u"], ["--remove"], ["--remove=unlink"], ["--remove=wipe"],
                     ["--remove=wipesync"], ["-v"], ["--verbose"], ["-f"], ["-vz"], ["-zu"], ["-xv"], ["--ver"], ["--ex"],
                     ["--zer"], ["-n", "-1"], ["-s", "-5"], ["-s", "1m"], ["--remove=bogus"], ["-q"]]),
)
NAMES = st.sampled_from(["f", "data.bin", "-dash", "a b", "x,y", "it's", "#x", "t\tab"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(options=st.lists(OPTION, max_size=4), names=st.lists(NAMES, min_size=1, max_size=3, unique=True),
       position=st.integers(0, 3), dashdash=st.booleans(), sizes=st.lists(st.integers(0, 9000), min_size=3, max_size=3),
       seed=st.binary(min_size=8, max_size=8))
def test_argument_combinations_as_gnu(tmp_path_factory, options, names, position, dashdash, sizes, seed):
    """GNU shred and scrub on the same files and arguments (options between the files, '--',
    names starting with '-'): the same exit code, the same -v trace and messages (prefix
    normalised), the same bytes on disk and the same names left."""
    import hashlib

    tmp = tmp_path_factory.mktemp("args")
    words = [w for opt in options for w in opt]
    if dashdash or any(n.startswith("-") for n in names):
        words, files = words, ["--"] + names
    else:
        k = min(position, len(names))
        files = names[:k] + words + names[k:]
        words = []
    source = b"".join(hashlib.sha256(seed + i.to_bytes(4, "big")).digest() for i in range(8192))  # 256 KiB
    rs = tmp / "rs"
    rs.write_bytes(source)
    out = []
    for who in ("gnu", "scrub"):
        d = tmp / who
        d.mkdir()
        for name, size in zip(names, sizes, strict=False):
            (d / name).write_bytes(bytes([0x41 + len(name)]) * size)
        code, lines = run_shred(who, [f"--random-source={rs}", *words, *files], cwd=d)
        left = {n: (d / n).read_bytes() for n in sorted(os.listdir(d))}
        out.append((code, lines, left))
    (gcode, glines, gleft), (scode, slines, sleft) = out
    assert scode == gcode, (words, files, glines, slines)
    if gcode == 0:
        assert slines == glines
    assert sleft == gleft


QUOTED = [b"a b", b"plain", b"a'b", b"a\x1bc", b"x,y", b"~home", b"a~b", b"#x", b"a#b", b"a=b", b"=a", b"a$b", b"a\\b",
          b"\xc3\xbc", b"a:b", b"a@b", b"a%b", b"a+b", b"a^b", b"{a}", b"a!b", b"a\tb", b"a\nb", b"a*b", b"a?b", b"[a]", b"a]",
          b"a|b", b"a&b", b"a;b", b"a<b", b"(a)", b"a`b", b'a"b', b"'", b"a''b", b"\x1b", b"ab\x1b\x1bc d", b"it's a b"]


def _ls_quoted(directory, names: list[bytes]) -> list[str]:
    """ls's shell-escape quoting of each name (one ls run; names made in ``directory``)."""
    for name in names:
        (directory / os.fsdecode(name)).write_bytes(b"")
    try:
        out = []
        for name in names:
            ls = subprocess.run(["ls", "-d", "--quoting-style=shell-escape", "--", os.fsdecode(name)], cwd=directory,
                                capture_output=True, env={"LC_ALL": "C", "PATH": os.environ["PATH"]}, timeout=30)
            out.append(ls.stdout.rstrip(b"\n").decode("latin-1"))
        return out
    finally:
        for name in names:
            (directory / os.fsdecode(name)).unlink()


@pytest.mark.parametrize("name", QUOTED + [b"{", b"}", b"!", b"a'b\x01", b"\x01'a\x01", b"'a\x01", b"a'\xff"], ids=repr)
def test_names_are_quoted_as_gnu_quotes_them(tmp_path, name):
    """GNU's shell-escape quoting of names in shred's messages (ls shows the same style),
    including gnulib's odd '' prefix for a name with a quote inside that ends unprintable."""
    from scrub._paths import shell_quote

    assert shell_quote(name) == _ls_quoted(tmp_path, [name])[0]


_NAME_BYTES = st.sampled_from([b"a", b"'", b" ", b"\x01", b"\x1b", b"\t", b"\n", b"\xff", b"{", b"}", b"!", b"#", b"~", b"$",
                               b'"', b"\\", b"=", b"-", b":"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(names=st.lists(st.lists(_NAME_BYTES, min_size=1, max_size=7).map(b"".join), min_size=1, max_size=8, unique=True))
def test_quoting_matches_ls_on_drawn_names(tmp_path, names):
    from scrub._paths import shell_quote

    names = [n for n in names if n not in (b".", b"..") and b"/" not in n]
    assert [shell_quote(n) for n in names] == _ls_quoted(tmp_path, names)


USAGE_ERRORS = [[], ["-n", "x", "f"], ["-n", "-1", "f"], ["-s", "1Q", "f"], ["--size=", "f"], ["--remove=bogus", "f"],
                ["--bogus", "f"], ["-q", "f"], ["-n"], ["--size"], ["--iterations"], ["--random-source=/nonexistent", "f"],
                ["--random-source", "/nonexistent", "f"], ["missing-file"], ["--remove=w", "f"], ["--remove=", "f"],
                ["-n", "x\x1b[2J\ny", "f"], ["-s", "a'b\\c\t\x7f\xff", "f"], ["--remove=\x1b]0;t\x07", "f"], ["-n", ""]]


@pytest.mark.parametrize("args", USAGE_ERRORS, ids=" ".join)
def test_usage_errors_read_as_gnus(tmp_path, args):
    """The whole of stderr and the exit code, program name aside: scripts match on these."""
    (tmp_path / "f").write_bytes(b"keep")
    out = {}
    for who, cmd in (("gnu", ["shred"]), ("scrub", [sys.executable, "-m", "scrub", "shred", "--no-storage"])):
        proc = subprocess.run(cmd + args, cwd=tmp_path, capture_output=True, env=ENV, timeout=60,
                              executable=GNU if who == "gnu" else None)
        name = b"shred" if who == "gnu" else b"python3 -m scrub shred"
        out[who] = (proc.returncode, proc.stderr.replace(name, b"PROG"), proc.stdout)
    assert out["scrub"] == out["gnu"]
    assert (tmp_path / "f").read_bytes() == b"keep"


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(size=st.one_of(st.integers(0, 1 << 42), st.integers(0, 1 << 21),
                      st.builds(lambda k, d: max(0, (1 << k) + d), st.integers(10, 42), st.integers(-3, 3))))
def test_progress_sizes_round_as_gnus(tmp_path, size):
    """GNU's size figure is human_readable rounded up in powers of 1024; ls -lh prints the same
    figure with K/M/G for KiB/MiB/GiB, so a sparse file of the size shows what GNU would print."""
    from scrub._paths import gnu_human

    f = tmp_path / "sparse"
    with open(f, "wb") as fh:
        fh.truncate(size)
    ls = subprocess.run(["ls", "-l", "-h", str(f)], capture_output=True, text=True, env=ENV, timeout=30, check=True)
    assert gnu_human(size, ceiling=True).replace("iB", "").replace("B", "") == ls.stdout.split()[4]


def test_progress_offsets_round_down():
    from scrub._paths import gnu_human

    assert [gnu_human(n, ceiling=False) for n in (0, 1023, 1024, 1048575, 1048577, 1536 * 1024, 10 * 1024 - 1)] == \
        ["0B", "1023B", "1.0KiB", "1023KiB", "1.0MiB", "1.5MiB", "9.9KiB"]
    assert [gnu_human(n, ceiling=True) for n in (1048575, 1048577, 10 * 1024 - 1)] == ["1.0MiB", "1.1MiB", "10KiB"]


def test_verbose_byte_progress_lines(tmp_path):
    """The -v trace repeats the pass line with OFFSET/SIZE PERCENT% while a pass runs and ends it
    with SIZE/SIZE 100%, as GNU's does; GNU's 5 s interval is shortened here so that a small
    file shows it."""
    import re

    f = tmp_path / "f"
    f.write_bytes(b"\x01" * (48 << 20))
    code = ("import sys, scrub.cli as c, scrub.overwrite as o; c.GNU_VERBOSE_UPDATE = 0; o.PROGRESS_INTERVAL = 0.001;"
            "sys.exit(c.main(sys.argv[1:]))")
    proc = subprocess.run([sys.executable, "-c", code, "shred", "-v", "-n1", "--engine", "python", "--no-storage",
                           "--verify", "none", str(f)], capture_output=True, env=ENV, timeout=300)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.decode().splitlines()
    name = re.escape(str(f))
    assert re.fullmatch(rf".*shred: {name}: pass 1/1 \(random\)\.\.\.", lines[0])
    progress = [re.fullmatch(rf".*shred: {name}: pass 1/1 \(random\)\.\.\.(\S+)/48MiB (\d+)%", ln) for ln in lines[1:]]
    assert progress and all(progress), lines
    assert progress[-1].groups() == ("48MiB", "100")
    percents = [int(m.group(2)) for m in progress]
    assert percents == sorted(percents)


@pytest.mark.parametrize("how", ["un", "wipe", "wipes", "wipesync"])
def test_remove_takes_gnus_abbreviations(tmp_path, how):
    """GNU's argmatch: --remove=wipes is wipesync, --remove=un unlink; the file goes either way."""
    for who in ("gnu", "scrub"):
        (tmp_path / who).write_bytes(b"x" * 5000)
        code, lines = run_shred(who, ["-v", f"--remove={how}", who], cwd=tmp_path)
        assert code == 0 and not (tmp_path / who).exists()
    assert run_shred("gnu", [f"--remove={how}", "missing"], cwd=tmp_path) == run_shred("scrub", [f"--remove={how}", "missing"], cwd=tmp_path)


def test_unknown_option_never_reaches_the_terminal_raw(tmp_path):
    """GNU echoes an unknown option's bytes as given (an ESC sequence included); scrub quotes
    them, so a hostile argument cannot drive the terminal: a deliberate difference."""
    proc = subprocess.run([sys.executable, "-m", "scrub", "shred", "--bo\x1b]0;pwned\x07gus", "f"], cwd=tmp_path,
                          capture_output=True, env=ENV, timeout=60)
    assert proc.returncode == 1
    assert proc.stderr.startswith(b"python3 -m scrub shred: unrecognized option '--bo\\033]0;pwned\\agus'\n")
    assert not any(b < 0x20 and b != 0x0A for b in proc.stderr)
