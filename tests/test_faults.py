"""Faults give failing, truthful results: a full file system, injected EIO on writes and on
sync, Ctrl-C mid-pass.  Nothing is removed after a failed or interrupted overwrite."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time

import pytest

import scrub

needs_strace = pytest.mark.skipif(shutil.which("strace") is None, reason="strace not installed")


def cli(*args, **kw):
    return subprocess.run([sys.executable, "-m", "scrub", *args], capture_output=True, text=True, **kw)


def test_enospc_on_a_tiny_tmpfs(lab, engine):
    mnt = lab.mount("tmpfs", lab.dir / "tiny", fstype="tmpfs", options="size=256k")
    f = mnt / "secret"
    f.write_bytes(b"S" * 65536)
    [r] = scrub.shred([f], engine=engine, size=1 << 20, remove="wipe", scheme="random")
    assert r.status == "failed"
    assert r.errors[0].code == "no-space" and r.errors[0].offset is not None and 65536 <= r.errors[0].offset < 1 << 20
    assert not r.removed and f.exists()
    assert any(w.code == "not-removed" for w in r.warnings)


def test_read_only_file_system(lab):
    mnt = lab.mount("tmpfs", lab.dir / "ro", fstype="tmpfs", options="size=1m")
    (mnt / "f").write_bytes(b"x")
    subprocess.run(["mount", "-o", "remount,ro", str(mnt)], check=True)
    [r] = scrub.shred([mnt / "f"], inspect=False)
    assert r.status == "failed" and r.errors[0].code == "read-only-fs"


def _strace(inject: str, *args):
    return subprocess.run(["strace", "-f", "-qq", "-o", "/dev/null", "-e", f"inject={inject}",
                           sys.executable, "-m", "scrub", *args], capture_output=True, text=True, timeout=120)


@needs_strace
def test_eio_on_every_write_is_a_failure_with_offsets(tmp_path, engine):
    f = tmp_path / "f"
    f.write_bytes(b"secret" * 2000)
    proc = _strace("pwrite64:error=EIO", "shred", "--json", "--no-storage", "-u", "--engine", engine, str(f))
    assert proc.returncode == 1, proc.stderr
    [r] = json.loads(proc.stdout)["data"]["results"]
    assert r["status"] == "failed" and r["removed"] is False
    err = next(e for e in r["errors"] if e["code"] == "io-error")
    assert err["offset"] == 0 and "sector" in err["message"]
    assert f.exists()


@needs_strace
def test_one_transient_eio_is_retried_sector_by_sector(tmp_path, engine):
    f = tmp_path / "f"
    f.write_bytes(b"secret" * 2000)
    proc = _strace("pwrite64:error=EIO:when=1", "shred", "--json", "--no-storage", "--scheme", "zero",
                   "--verify", "all", "--engine", engine, str(f))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f.read_bytes() == bytes(12288)


@needs_strace
def test_eio_on_sync_is_a_failure(tmp_path, engine):
    f = tmp_path / "f"
    f.write_bytes(b"secret" * 2000)
    proc = _strace("fdatasync:error=EIO", "shred", "--json", "--no-storage", "-u", "--engine", engine, str(f))
    assert proc.returncode == 1
    [r] = json.loads(proc.stdout)["data"]["results"]
    assert r["status"] == "failed" and "sync failed" in r["errors"][0]["message"] and f.exists()


def test_sigint_mid_pass_leaves_the_file_and_says_so(tmp_path, engine):
    f = tmp_path / "big"
    with open(f, "wb") as fh:
        for _ in range(256):
            fh.write(b"MARK" * (1 << 18))
    size = f.stat().st_size
    proc = subprocess.Popen([sys.executable, "-m", "scrub", "shred", "--json", "--no-storage", "-v", "-u",
                             "--scheme", "gutmann", "--engine", engine, str(f), str(tmp_path / "never-reached")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stderr.readline()  # "pass 1/35 ..." : the overwrite has started
    assert "pass 1/35" in line, line
    time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGINT, out + err  # dies by the signal after cleaning up, as GNU shred
    doc = json.loads(out)
    assert doc["status"] == "interrupted"
    first, second = doc["data"]["results"]
    assert first["status"] == "interrupted" and first["removed"] is False
    assert second["status"] == "skipped"
    assert f.exists() and f.stat().st_size == size
