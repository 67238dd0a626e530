"""Root tests on real file systems (loop devices): the raw image is searched for the marker."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import scrub
import lab as L


def cli(*args):
    proc = subprocess.run([sys.executable, "-m", "scrub", *args], capture_output=True, text=True)
    return proc.returncode, proc


def test_shred_u_on_ext4_leaves_no_marker_in_the_raw_image(lab, engine):
    mnt, images = lab.fs("e4", "ext4")
    marker = L.new_marker()
    victim = mnt / "home" / "alice" / ".bash_history"
    victim.parent.mkdir(parents=True)
    L.marker_file(victim, marker, 1 << 20)
    (mnt / "keep.txt").write_bytes(b"unrelated")
    subprocess.run(["sync"], check=True)
    assert L.count_marker(images, marker) >= (1 << 20) // (len(marker) + 1)
    code, proc = cli("shred", "-u", "--engine", engine, str(victim))
    assert code == 0, proc.stderr
    assert not victim.exists() and (mnt / "keep.txt").read_bytes() == b"unrelated"
    lab.umount(mnt)
    assert L.count_marker(images, marker) == 0


def test_block_device_only_with_the_flag(lab, engine):
    image = lab.image("dev", 8)
    marker = L.new_marker()
    L.marker_file(image, marker, 8 << 20)
    os.truncate(image, 8 << 20)
    dev = lab.loop(image)
    code, proc = cli("shred", "--json", "--no-storage", "--engine", engine, dev)
    assert code == 1 and json.loads(proc.stdout)["data"]["results"][0]["errors"][0]["code"] == "device"
    assert L.count_marker([image], marker) > 0
    code, proc = cli("shred", "--json", "--no-storage", "--device", "-n", "1", "--verify", "all", "--engine", engine, dev)
    assert code == 0, proc.stdout + proc.stderr
    [r] = json.loads(proc.stdout)["data"]["results"]
    assert r["kind"] == "block" and r["size"] == 8 << 20 and r["bytes_per_pass"] == 8 << 20
    assert r["verify"] == "passed"
    subprocess.run(["losetup", "-d", dev], check=True)
    lab.loops.remove(dev)
    assert L.count_marker([image], marker) == 0


def test_tmpfs_and_bind_mounts_resolve_to_their_own_mount(lab):
    mnt = lab.mount("tmpfs", lab.dir / "t", fstype="tmpfs", options="size=4m")
    (mnt / "sub").mkdir()
    (mnt / "sub" / "f").write_bytes(b"x")
    bind = lab.mount(str(mnt / "sub"), lab.dir / "bind", options="bind")
    report = scrub.storage.inspect(bind / "f")
    assert report.mount.mountpoint == str(bind) and report.mount.root == "/sub" and report.fstype == "tmpfs"
    assert "tmpfs" in {f.id for f in report.findings}


def test_btrfs_subvolume_mount_and_member_devices(lab):
    mnt, images = lab.fs("bsv", "btrfs", mkfs_opts=("-d", "raid1", "-m", "raid1"), devices=2)
    subprocess.run(["btrfs", "subvolume", "create", str(mnt / "sv")], check=True, capture_output=True)
    (mnt / "sv" / "f").write_bytes(b"x" * 10000)
    source = next(m.source for m in scrub.storage.Inspector()._all_mounts() if m.mountpoint == str(mnt))
    sub = lab.mount(source, lab.dir / "sub", fstype="btrfs", options="subvol=/sv")
    report = scrub.storage.inspect(sub / "f")
    assert report.mount.mountpoint == str(sub) and report.mount.root == "/sv"
    assert [layer.kind for layer in report.layers] == ["loop", "loop"]
    assert report.facts["profiles"]["data"] == "raid1"
    cow = next(f for f in report.findings if f.id == "btrfs-cow")
    assert cow.severity == "ineffective" and "raid1" in cow.detail


def test_storage_cli_exit_codes_and_json(lab):
    mnt, _ = lab.fs("cli", "btrfs")
    (mnt / "f").write_bytes(b"x" * 5000)
    code, proc = cli("storage", "--json", str(mnt / "f"))
    doc = json.loads(proc.stdout)
    assert code == 1 and doc["data"]["reports"][0]["worst"] == "ineffective"
    code, proc = cli("storage", "--exit-zero", str(mnt / "f"))
    assert code == 0 and "btrfs-cow" in proc.stdout and "CANNOT" in proc.stdout


def _as_nobody(fn):
    """Run fn() in a forked child that dropped to uid/gid 65534 (no exec: the interpreter may
    live where nobody cannot reach it); returns what fn returned, through a pipe."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        try:
            os.close(r)
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            os.write(w, json.dumps(fn()).encode())
        finally:
            os._exit(0)
    os.close(w)
    with os.fdopen(r) as fh:
        data = fh.read()
    os.waitpid(pid, 0)
    return json.loads(data)


def test_unprivileged_inspection_still_sees_data_journal(lab):
    """/proc/fs/ext4/<dev>/options is world-readable: no root needed to see a journal mode
    that is only the superblock default."""
    mnt, _ = lab.fs("unpriv", "ext4", tune=("-o", "journal_data"))
    (mnt / "f").write_bytes(b"x" * 5000)
    for p in (lab.dir, mnt):
        os.chmod(p, 0o755)
    os.chmod(mnt / "f", 0o644)
    findings = _as_nobody(lambda: {f.id: f.severity for f in scrub.storage.inspect(mnt / "f").findings})
    assert findings.get("ext4-data-journal") == "ineffective", findings


def _fscrypt_dir(mnt, sub: str):
    """A directory under an fscrypt v2 policy, set up with the raw ioctls (fscryptctl is not
    packaged here): add a 64-byte master key, then set AES-256-XTS/CTS on an empty directory."""
    import fcntl
    import struct

    add = bytearray(80 + 64)
    struct.pack_into("=I", add, 0, 2)  # FSCRYPT_KEY_SPEC_TYPE_IDENTIFIER
    struct.pack_into("=I", add, 40, 64)  # raw_size
    add[80:] = os.urandom(64)
    fd = os.open(mnt, os.O_RDONLY)
    try:
        fcntl.ioctl(fd, 0xC0506617, add)  # FS_IOC_ADD_ENCRYPTION_KEY
    finally:
        os.close(fd)
    identifier = bytes(add[8:24])
    d = mnt / sub
    d.mkdir()
    policy = bytes([2, 1, 4, 0x02, 0, 0, 0, 0]) + identifier  # v2, AES-256-XTS, AES-256-CTS, PAD_16
    fd = os.open(d, os.O_RDONLY)
    try:
        fcntl.ioctl(fd, 0x800C6613, policy)  # FS_IOC_SET_ENCRYPTION_POLICY
    finally:
        os.close(fd)
    return d


def test_fscrypt_is_reported_as_mitigated_and_no_plaintext_reaches_the_disk(lab):
    mnt, images = lab.fs("fscrypt", "ext4", mkfs_opts=("-O", "encrypt"))
    try:
        d = _fscrypt_dir(mnt, "private")
    except OSError as exc:
        if os.environ.get("SCRUB_REQUIRE_LAB") == "1":
            raise
        pytest.skip(f"fscrypt not available on this kernel: {exc}")
    marker = L.new_marker()
    L.marker_file(d / "secret.txt", marker)
    report = scrub.storage.inspect(d / "secret.txt")
    assert {f.id: f.severity for f in report.findings}.get("fscrypt") == "mitigated"
    subprocess.run(["sync"], check=True)
    lab.umount(mnt)
    assert L.count_marker(images, marker) == 0  # only ciphertext was ever written


def _overlay_over_bind(lab, marker):
    """An overlay whose lower layer is a bind mount; returns (merged, bind point, lower source, image)."""
    mnt, images = lab.fs("ovl", "ext4")
    src = mnt / "layer-src"
    src.mkdir()
    L.marker_file(src / "secret", marker)
    (src / "other").write_bytes(b"x" * 4096)
    bind = lab.dir / "lowerbind"
    lab.mount(str(src), bind, options="bind")
    for d in ("upper", "work"):
        (mnt / d).mkdir()
    merged = lab.mount("overlay", lab.dir / "merged", fstype="overlay",
                       options=f"lowerdir={bind},upperdir={mnt}/upper,workdir={mnt}/work")
    os.sync()
    return merged, bind, images


@pytest.mark.parametrize("gone", ["missing", "same-name"])
def test_overlay_lower_layer_that_cannot_be_seen_is_not_safe(lab, gone):
    """The bind mount under the overlay's lowerdir is lazily unmounted after the overlay is
    mounted: the lowerdir string now names nothing (rmdir) or an empty directory with the same
    name.  The lower layer still holds the data; scrub must not call the file safe."""
    marker = L.new_marker()
    merged, bind, images = _overlay_over_bind(lab, marker)
    code, proc = cli("storage", "--json", str(merged / "secret"))
    ids = {f["id"] for f in json.loads(proc.stdout)["data"]["reports"][0]["findings"]}
    assert "overlay-lower" in ids  # visible: named
    L.run("umount", "-l", str(bind))
    lab.mounts.remove(bind)
    if gone == "missing":
        bind.rmdir()
    else:
        (bind / "secret").write_bytes(b"a different file with the same name\n")
        os.chown(bind / "secret", 0, 0)
    code, proc = cli("storage", "--json", str(merged / "other"))
    [r] = json.loads(proc.stdout)["data"]["reports"]
    ids = {f["id"] for f in r["findings"]}
    assert "overlay-lower-unseen" in ids or "overlay-lower" in ids, r["findings"]
    assert code == 1
    code, proc = cli("shred", "--strict", "--json", "-n", "1", str(merged / "other"))
    assert code == 3, proc.stdout + proc.stderr
    assert L.count_marker(images, marker) > 0  # the lower layer still holds it


def test_overlay_with_visible_proven_lower_layer_and_a_new_file_is_safe(lab):
    marker = L.new_marker()
    merged, bind, images = _overlay_over_bind(lab, marker)
    (merged / "new").write_bytes(b"y" * 4096)  # only in the upper layer
    code, proc = cli("storage", "--json", str(merged / "new"))
    [r] = json.loads(proc.stdout)["data"]["reports"]
    ids = {f["id"] for f in r["findings"]}
    assert "overlay-lower-unseen" not in ids and "overlay-lower" not in ids, r["findings"]


def test_overlay_root_of_a_chroot_whose_lower_layer_is_not_visible_inside(lab):
    """A chroot whose root is an overlay mount; its lower layer is a bind mount that does not
    exist inside the chroot (and is lazily unmounted outside).  scrub, run inside the chroot
    with /proc and /sys mounted, must call a file there uncertain and --strict must refuse."""
    marker = L.new_marker()
    merged, bind, images = _overlay_over_bind(lab, marker)
    repo = Path(__file__).resolve().parent.parent
    python_home = Path(os.path.realpath(sys.executable)).parents[1]  # the interpreter's prefix
    binds = [Path("/usr"), Path("/etc"), python_home, repo]
    for name in ("lib", "lib64", "bin", "sbin"):
        src = Path("/") / name
        if src.is_symlink():
            (merged / name).symlink_to(os.readlink(src))
        elif src.is_dir():
            binds.append(src)
    for src in binds:
        lab.mount(str(src), merged / str(src).lstrip("/"), options="bind")
    lab.mount("proc", merged / "proc", fstype="proc")
    lab.mount("sysfs", merged / "sys", fstype="sysfs")
    lab.mount("/dev", merged / "dev", options="bind")
    L.run("umount", "-l", str(bind))
    lab.mounts.remove(bind)
    venv_python = repo / ".venv/bin/python"
    python = str(venv_python) if venv_python.exists() else os.path.realpath(sys.executable)
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(repo), "HOME": "/"}
    chroot = shutil.which("chroot") or "/usr/sbin/chroot"
    proc = subprocess.run([chroot, str(merged), python, "-m", "scrub", "storage", "--json", "/secret"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.stdout, proc.stderr
    [r] = json.loads(proc.stdout)["data"]["reports"]
    ids = {f["id"] for f in r["findings"]}
    assert "overlay-lower-unseen" in ids, r
    assert r["worst"] in ("uncertain", "ineffective")
    proc = subprocess.run([chroot, str(merged), python, "-m", "scrub", "shred", "--strict", "--json", "-n", "1", "/secret"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert L.count_marker(images, marker) > 0
