"""shred(): bytes on disk after every scheme, size rules, removal, refusals and faults, on
both engines."""

from __future__ import annotations

import errno
import os
import socket
import stat
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import scrub
from scrub import overwrite, schemes
from scrub._native import CHUNK, aligned_buffer
from conftest import require_root

BLOCK = 4096


def run(paths, engine, **kw):
    kw.setdefault("inspect", False)
    return scrub.shred([str(p) for p in paths], engine=engine, **kw)


def expected_after(passes, length, random_bytes: bytes) -> bytes:
    """What the file holds after ``passes`` over [0, length) with an injected random source."""
    pos, data = 0, b""
    for p in passes:
        if p.random:
            data, pos = random_bytes[pos:pos + length], pos + length
        else:
            buf = bytearray(length)
            p.fill(buf, 0)
            data = bytes(buf)
    return data


@pytest.mark.parametrize("scheme", schemes.SCHEMES, ids=lambda s: s.id)
def test_scheme_leaves_exactly_the_last_pass(tmp_path, engine, scheme):
    f = tmp_path / "f"
    f.write_bytes(b"\xbe" * 10_000)
    length = -(-10_000 // os.stat(f).st_blksize) * os.stat(f).st_blksize
    rnd = os.urandom(length * len(scheme.passes))
    (tmp_path / "rs").write_bytes(rnd)
    [r] = run([f], engine, scheme=scheme.id, random_source=tmp_path / "rs", verify="all")
    assert r.ok, r.errors
    assert [p.label for p in r.passes] == [p.label for p in scheme.passes]
    assert all(p.synced and p.verified and p.bytes == length for p in r.passes)
    assert f.read_bytes() == expected_after(scheme.passes, length, rnd)


def test_random_pass_is_verified_by_regenerating_its_keystream(tmp_path, engine):
    f = tmp_path / "f"
    f.write_bytes(b"SECRET" * 50_000)
    [r] = run([f], engine, scheme="random", verify="last")
    assert r.ok and r.verify == "passed" and r.passes[0].verified is True
    data = f.read_bytes()
    assert b"SECRET" not in data and len(set(data)) == 256


@pytest.mark.parametrize("kind", ["keystream", "pattern"])
def test_verify_reports_the_first_differing_offset(tmp_path, engine, kind):
    eng = scrub.engine(engine)
    size = 3 * CHUNK // 2 + 123
    f = tmp_path / "f"
    f.write_bytes(bytes(size))
    bufs = (aligned_buffer(CHUNK), aligned_buffer(CHUNK), aligned_buffer(CHUNK))
    if kind == "keystream":
        source = eng.new_keystream()
    else:
        schemes.Pass(b"\x55\xaa").fill(memoryview(bufs[2])[:CHUNK], 0)
        source = memoryview(bufs[2])[:CHUNK]
    fd = os.open(f, os.O_RDWR)
    try:
        out = eng.write_range(fd, 0, size, source, chunk=CHUNK, buffers=bufs, ctl=eng.control())
        assert out.error == 0 and out.done == size
        ok = eng.verify_range(fd, 0, size, source, chunk=CHUNK, buffers=bufs, ctl=eng.control())
        assert not ok.mismatch and ok.done == size
        bad_at = CHUNK + 77
        byte = os.pread(fd, 1, bad_at)
        os.pwrite(fd, bytes([byte[0] ^ 1]), bad_at)
        bad = eng.verify_range(fd, 0, size, source, chunk=CHUNK, buffers=bufs, ctl=eng.control())
        assert bad.mismatch and bad.error_offset == bad_at
    finally:
        os.close(fd)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(size=st.one_of(st.sampled_from([0, 1, 511, 512, 4095, 4096, 4097, 65_537]), st.integers(0, 300_000)),
       exact=st.booleans())
def test_size_rules(tmp_path, size, exact):
    f = tmp_path / f"s{size}{exact}"
    f.write_bytes(b"\x11" * size)
    [r] = run([f], None, scheme="zero", exact=exact, verify="none")
    assert r.ok
    want = size if exact else -(-size // BLOCK) * BLOCK
    # a file smaller than a block: its exact bytes first, then the whole block (GNU's layout)
    assert r.length == (size + want if 0 < size < BLOCK and not exact else want) and f.stat().st_size == want
    assert f.read_bytes() == bytes(want)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(size=st.integers(0, 100_000), explicit=st.integers(0, 150_000))
def test_explicit_size_writes_exactly_that_many_bytes(tmp_path, size, explicit):
    f = tmp_path / f"e{size}-{explicit}"
    f.write_bytes(b"\x11" * size)
    [r] = run([f], None, scheme="pattern:ab", size=explicit, verify="all")
    small = 0 < size < min(BLOCK, explicit)  # GNU's layout: the file's own bytes first, then all of them
    assert r.ok and r.length == (size + explicit if small else explicit)
    data = f.read_bytes()
    assert len(data) == max(size, explicit)
    assert data[:explicit] == b"\xab" * explicit and data[explicit:] == b"\x11" * (len(data) - explicit)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(gib=st.integers(1, 5), spots=st.lists(st.integers(0, 10_000), min_size=1, max_size=4, unique=True))
def test_sparse_file_overwrites_only_its_data(tmp_path, gib, spots):
    size = gib << 30
    f = tmp_path / f"sparse{gib}-{'-'.join(map(str, spots))}"
    with open(f, "wb") as fh:
        fh.truncate(size)
        for s in spots:
            fh.seek(min(s * (size // 10_001), size - 8192) // BLOCK * BLOCK)
            fh.write(b"MARK" * 1024)
    data_before = overwrite.data_ranges(os.open(f, os.O_RDONLY), size)
    blocks_before = f.stat().st_blocks
    [r] = run([f], None, scheme="random", verify="last")
    assert r.ok and r.holes == size - sum(n for _, n in data_before)
    assert r.length == sum(n for _, n in data_before)
    assert any(w.code == "sparse" for w in r.warnings)
    fd = os.open(f, os.O_RDONLY)
    try:
        assert overwrite.data_ranges(fd, size) == data_before  # holes stay holes: no growth
        for off, n in data_before:
            assert b"MARK" not in os.pread(fd, n, off)
    finally:
        os.close(fd)
    assert f.stat().st_blocks == blocks_before and f.stat().st_size == size


def test_rename_trace_skips_taken_names(tmp_path, engine):
    for c in overwrite.NAME_ALPHABET:
        (tmp_path / chr(c)).write_bytes(b"keep")
    for taken in ("00000000", "0000"):
        (tmp_path / taken).write_bytes(b"keep")
    (tmp_path / "histfile").write_bytes(b"secret")
    [r] = run([tmp_path / "histfile"], engine, remove="wipe")
    assert r.ok and r.removed
    # every length, as GNU shred: 8 (00000000 taken), 7, 6, 5, 4 (0000 taken), 3, 2; every 1-char name is taken
    assert r.renames == [b"00000001", b"0000000", b"000000", b"00000", b"0001", b"000", b"00"]
    assert not (tmp_path / "histfile").exists() and not (tmp_path / "00").exists()
    assert all((tmp_path / chr(c)).read_bytes() == b"keep" for c in overwrite.NAME_ALPHABET)
    assert (tmp_path / "00000000").read_bytes() == b"keep" and (tmp_path / "0000").read_bytes() == b"keep"


@pytest.mark.parametrize("n,want", [(1, [1]), (2, [2, 1]), (13, [13, 6, 3, 1]), (255, [255, 127, 63, 31, 15, 7, 3, 1])])
def test_rename_lengths_halve_for_the_histories_job(n, want):
    assert overwrite.rename_lengths(n, halving=True) == want
    assert overwrite.rename_lengths(n) == list(range(n, 0, -1))  # shred: every length, as GNU


@pytest.mark.parametrize("mode", ["unlink", "wipe", "wipesync"])
def test_every_removal_mode_removes(tmp_path, mode):
    f = tmp_path / "a-long-file-name.txt"
    f.write_bytes(b"x" * 5000)
    [r] = run([f], None, remove=mode)
    assert r.ok and r.removed and not f.exists() and os.listdir(tmp_path) == []
    assert (r.renames == []) == (mode == "unlink")


def test_removal_refused_in_read_only_directory_leaves_file_truncated(tmp_path, monkeypatch):
    f = tmp_path / "f"
    f.write_bytes(b"secret" * 100)
    real_unlink = os.unlink

    def unlink(path, *a, **kw):
        if kw.get("dir_fd") is not None:
            raise PermissionError(errno.EACCES, "Permission denied")
        return real_unlink(path, *a, **kw)
    monkeypatch.setattr(os, "unlink", unlink)
    [r] = run([f], None, remove="unlink")
    assert not r.ok and not r.removed and r.errors[0].code == "permission"
    assert f.exists() and f.stat().st_size == 0


def test_symlink_is_refused_and_its_target_untouched(tmp_path, engine):
    outside = tmp_path / "outside"
    outside.mkdir()
    target = outside / "shadow"
    target.write_bytes(b"root:secret")
    tree = tmp_path / "home"
    tree.mkdir()
    (tree / ".bash_history").symlink_to(target)
    [r] = run([tree / ".bash_history"], engine, remove="wipe")
    assert r.status == "refused" and r.errors[0].code == "symlink"
    assert target.read_bytes() == b"root:secret" and (tree / ".bash_history").is_symlink()


def test_fifo_is_refused_without_hanging(tmp_path):
    fifo = tmp_path / "id_rsa"
    os.mkfifo(fifo)
    proc = subprocess.run([sys.executable, "-m", "scrub", "shred", "--json", "--no-storage", str(fifo)],
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 1
    assert '"code": "fifo"' in proc.stdout


def test_special_files_are_refused(tmp_path):
    sock_path = tmp_path / "sock"
    s = socket.socket(socket.AF_UNIX)
    s.bind(str(sock_path))
    try:
        results = run([sock_path, "/dev/null", tmp_path], None)
    finally:
        s.close()
    assert [r.errors[0].code for r in results] == ["socket", "special", "directory"]
    assert all(r.status == "refused" for r in results)


def test_hard_linked_file_is_refused_unless_allowed(tmp_path):
    f = tmp_path / "f"
    f.write_bytes(b"data" * 1000)
    os.link(f, tmp_path / "other-name")
    [r] = run([f], None)
    assert r.status == "refused" and r.errors[0].code == "hardlinks" and "2 hard links" in r.errors[0].message
    assert f.read_bytes() == b"data" * 1000
    [r] = run([f], None, allow_hardlinks=True, scheme="zero")
    assert r.ok and (tmp_path / "other-name").read_bytes() == bytes(4096)


def test_one_bad_path_never_stops_the_others(tmp_path, engine):
    good1, good2 = tmp_path / "g1", tmp_path / "g2"
    good1.write_bytes(b"a" * 100)
    good2.write_bytes(b"b" * 100)
    results = run([tmp_path / "missing", good1, tmp_path, good2], engine, remove="wipe")
    assert [r.status for r in results] == ["failed", "done", "refused", "done"]
    assert results[0].errors[0].code == "not-found"
    assert not good1.exists() and not good2.exists()


def test_non_utf8_name_round_trips(tmp_path):
    name = os.fsencode(tmp_path) + b"/hist\xff\xfe.txt"
    with open(name, "wb") as fh:
        fh.write(b"secret")
    [r] = scrub.shred([name], inspect=False, remove="wipe")
    assert r.ok and r.path == name
    doc = r.to_json()
    from scrub._paths import from_json

    assert from_json(doc) == name and "path_b64" in doc


def test_force_adds_write_permission_through_the_fd(tmp_path, monkeypatch):
    """Root can always open for writing, so EACCES is injected (as a non-root run would see)."""
    f = tmp_path / "ro"
    f.write_bytes(b"secret")
    f.chmod(0o400)
    real_open = os.open
    denied = {"n": 0}

    def fake_open(path, flags, *a, **kw):
        if path == b"ro" and flags & os.O_RDWR and denied["n"] == 0:
            denied["n"] += 1
            raise PermissionError(errno.EACCES, "Permission denied")
        return real_open(path, flags, *a, **kw)
    monkeypatch.setattr(os, "open", fake_open)
    [r] = run([f], None)
    assert r.status == "failed" and r.errors[0].code == "permission" and "Permission denied" in r.errors[0].message
    denied["n"] = 0
    [r] = run([f], None, force=True, scheme="zero")
    assert r.ok and any(w.code == "chmod" for w in r.warnings)
    assert stat.S_IMODE(f.stat().st_mode) & stat.S_IWUSR and f.read_bytes() == bytes(4096)


@pytest.mark.parametrize("flag,code", [("+a", "append-only"), ("+i", "immutable")])
def test_append_only_and_immutable_are_refused(tmp_path, flag, code):
    require_root()
    f = tmp_path / "f"
    f.write_bytes(b"secret")
    if subprocess.run(["chattr", flag, str(f)], capture_output=True).returncode:
        pytest.skip(f"chattr {flag} not supported here")
    try:
        [r] = run([f], None, remove="wipe")
        assert r.status == "refused" and r.errors[0].code == code
    finally:
        subprocess.run(["chattr", "-a", "-i", str(f)], check=True)
    assert f.read_bytes() == b"secret"


def test_bad_arguments_raise_usage_error(tmp_path):
    with pytest.raises(scrub.UsageError):
        scrub.shred([tmp_path], remove="shred-it")
    with pytest.raises(scrub.UsageError):
        scrub.shred([tmp_path], verify="sometimes")
    with pytest.raises(scrub.UsageError):
        scrub.shred([tmp_path], scheme="gutmann", iterations=3)
    with pytest.raises(scrub.UsageError):
        scrub.shred([tmp_path], scheme="no-such-scheme")


@pytest.mark.parametrize("text,value", [("0", 0), ("10", 10), ("010", 8), ("0x10", 16), ("1K", 1024), ("1KB", 1000),
                                        ("2M", 2 << 20), ("1G", 1 << 30), ("3MiB", 3 << 20)])
def test_parse_size(text, value):
    assert scrub.parse_size(text) == value


@pytest.mark.parametrize("text", ["-1", "", "1Q", "abc", "0x"])
def test_parse_size_rejects(text):
    with pytest.raises(scrub.UsageError):
        scrub.parse_size(text)


def test_a_tty_is_refused(tmp_path):
    import pty

    master, slave = pty.openpty()
    try:
        [r] = run([os.ttyname(slave)], None)
    finally:
        os.close(master)
        os.close(slave)
    assert r.status == "refused" and r.errors[0].code == "special" and "tty" in r.errors[0].message


@pytest.mark.parametrize("direct,warned", [(None, False), (True, True), (False, False)])
def test_o_direct_falls_back_cleanly_on_an_unaligned_tail(tmp_path, engine, direct, warned):
    f = tmp_path / "f"
    f.write_bytes(b"\x11" * 10_000)
    [r] = run([f], engine, scheme="pattern:5a", exact=True, direct=direct, verify="all")
    assert r.ok and f.read_bytes() == b"\x5a" * 10_000
    assert any(w.code == "direct-io" for w in r.warnings) == warned


@pytest.mark.parametrize("scheme", ["vsitr", "bsi", "pattern:249249", "shred"])
def test_small_file_fast_path_matches_the_general_path(tmp_path, engine, scheme):
    """A small file goes through one engine call; forcing O_DIRECT takes the general path.
    Both must leave the same bytes, pass records and verification."""
    fast, slow = tmp_path / "fast", tmp_path / "slow"
    for f in (fast, slow):
        f.write_bytes(b"\x11" * 10_000)
    [a] = run([fast], engine, scheme=scheme, verify="all")
    [b] = run([slow], engine, scheme=scheme, verify="all", direct=True)
    assert a.ok and b.ok and a.verify == b.verify == "passed"
    assert [(p.label, p.bytes, p.synced, p.verified) for p in a.passes] == [(p.label, p.bytes, p.synced, p.verified)
                                                                           for p in b.passes]
    if not schemes.lookup(scheme).passes[-1].random:
        assert fast.read_bytes() == slow.read_bytes()
    else:
        assert fast.read_bytes() != slow.read_bytes() and len(fast.read_bytes()) == len(slow.read_bytes())


def test_small_file_mismatch_is_reported(tmp_path, monkeypatch):
    """The Python engine's read-back sees corrupted data: the result names the offset."""
    f = tmp_path / "f"
    f.write_bytes(b"x" * 3000)
    real = os.pread
    monkeypatch.setattr(os, "pread", lambda fd, n, off: b"\0" * 7 + real(fd, n, off)[7:])
    [r] = run([f], "python", scheme="pattern:aa", remove="wipe")
    assert r.status == "failed" and r.verify == "failed" and r.errors[0].code == "verify-mismatch"
    assert r.errors[0].offset == 0 and f.exists() and not r.removed


@pytest.mark.skipif(subprocess.run(["which", "strace"], capture_output=True).returncode, reason="strace not installed")
def test_small_file_read_back_error_is_a_failure(tmp_path, engine):
    f = tmp_path / "f"
    f.write_bytes(b"x" * 3000)
    # the dynamic loader makes the first pread64 calls of every process: count them, fail the rest
    probe = subprocess.run(["strace", "-f", "-e", "trace=pread64", "-o", "/dev/stdout", sys.executable, "-c", "import scrub.cli"],
                           capture_output=True, text=True)
    first = probe.stdout.count("pread64(") + 1
    proc = subprocess.run(["strace", "-f", "-qq", "-o", "/dev/null", "-e", f"inject=pread64:error=EIO:when={first}+",
                           sys.executable, "-m",
                           "scrub", "shred", "--json", "--no-storage", "-u", "--engine", engine, str(f)],
                          capture_output=True, text=True, timeout=60)
    import json

    [r] = json.loads(proc.stdout)["data"]["results"]
    assert proc.returncode == 1 and r["status"] == "failed" and "read-back failed" in r["errors"][0]["message"]
    assert f.exists()
