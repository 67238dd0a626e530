"""The remanence lab: real file systems on loop devices, as root.

Lab tracks every loop device and mount it creates and undoes them in reverse order, even
when a test fails half way.  ``configurations()`` lists the storage set-ups the remanence
test runs: each writes a file full of a unique marker, lets scrub overwrite it, unmounts,
and counts the marker in the raw images.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

TOOLS = ("losetup", "mount", "umount", "mkfs.ext4", "tune2fs", "mkfs.xfs", "mkfs.btrfs", "btrfs", "chattr", "mkswap")


def missing_requirements() -> list[str]:
    missing = []
    if os.geteuid() != 0:
        missing.append("root")
    missing += [t for t in TOOLS if shutil.which(t) is None]
    if not os.path.exists("/dev/loop-control"):
        missing.append("/dev/loop-control")
    return missing


def run(*cmd: str, check: bool = True, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, check=check, capture_output=True, text=True, **kw)


class Lab:
    def __init__(self, workdir: Path):
        self.dir = workdir
        self.loops: list[str] = []
        self.mounts: list[Path] = []

    def image(self, name: str, size_mb: int = 320) -> Path:
        path = self.dir / f"{name}.img"
        with open(path, "wb") as f:
            f.truncate(size_mb << 20)
        return path

    def loop(self, image: Path) -> str:
        dev = run("losetup", "--find", "--show", str(image)).stdout.strip()
        self.loops.append(dev)
        return dev

    def mkfs(self, fstype: str, *devs: str, opts: tuple[str, ...] = ()) -> None:
        quiet = {"ext4": ("-q", "-F"), "xfs": ("-q", "-f"), "btrfs": ("-q", "-f")}[fstype]
        run(f"mkfs.{fstype}", *quiet, *opts, *devs)

    def mount(self, source: str, target: Path, *, fstype: str | None = None, options: str | None = None) -> Path:
        target.mkdir(parents=True, exist_ok=True)
        cmd = ["mount"] + (["-t", fstype] if fstype else []) + (["-o", options] if options else []) + [source, str(target)]
        run(*cmd)
        self.mounts.append(target)
        return target

    def umount(self, target: Path) -> None:
        run("umount", str(target))
        self.mounts.remove(target)

    def fs(self, name: str, fstype: str, *, mkfs_opts=(), options=None, devices: int = 1, tune=None) -> tuple[Path, list[Path]]:
        """An image (or several) with a fresh file system, mounted; returns (mountpoint, images)."""
        images = [self.image(f"{name}{i}") for i in range(devices)]
        devs = [self.loop(img) for img in images]
        self.mkfs(fstype, *devs, opts=tuple(mkfs_opts))
        if tune:
            run("tune2fs", *tune, devs[0])
        return self.mount(devs[0], self.dir / f"mnt-{name}", fstype=fstype, options=options), images

    def cleanup(self) -> None:
        os.sync()
        for target in reversed(self.mounts):
            if run("umount", str(target), check=False).returncode:
                run("umount", "-l", str(target), check=False)
        self.mounts.clear()
        for dev in reversed(self.loops):
            run("losetup", "-d", dev, check=False)
        self.loops.clear()


def new_marker() -> bytes:
    return b"SCRUB-MARKER-" + secrets.token_hex(12).encode()


def marker_file(path: Path, marker: bytes, size: int = 64 << 10) -> None:
    line = marker + b"\n"
    with open(path, "wb") as f:
        f.write(line * (size // len(line)))
        f.flush()
        os.fsync(f.fileno())


def count_marker(images: list[Path], marker: bytes) -> int:
    """Occurrences of marker in raw images, read in chunks that overlap by len(marker)-1."""
    total = 0
    for img in images:
        with open(img, "rb") as f:
            tail = b""
            while chunk := f.read(8 << 20):
                data = tail + chunk
                total += data.count(marker)
                tail = data[-(len(marker) - 1):]
    return total


def scrub_cli(*args: str, check_json: bool = True) -> tuple[int, dict | None]:
    env = dict(os.environ)
    proc = subprocess.run([sys.executable, "-m", "scrub", *args], capture_output=True, text=True, env=env)
    doc = json.loads(proc.stdout) if check_json and "--json" in args else None
    return proc.returncode, doc


@dataclass
class Outcome:
    config: str
    before: int
    after: int
    findings: list[tuple[str, str]]
    strict_refused: bool
    images: list[str] = field(default_factory=list)

    @property
    def ineffective(self) -> list[str]:
        return [i for i, s in self.findings if s == "ineffective"]


@dataclass
class Config:
    name: str
    describe: str
    setup: Callable[[Lab, bytes], tuple[Path, list[Path], Callable[[], None]]]
    # what the lab expects (from measurements in shared/reference/storage.md): does a copy survive?
    survives: bool
    causes: tuple[str, ...] = ()  # finding ids that explain a survivor


def _plain(fstype, *, mkfs_opts=(), options=None, tune=None, size=64 << 10, prepare=None):
    def setup(lab: Lab, marker: bytes):
        mnt, images = lab.fs(fstype + "x", fstype, mkfs_opts=mkfs_opts, options=options, tune=tune)
        target = mnt / "secret.txt"
        if prepare:
            prepare(target)
        marker_file(target, marker, size)
        return target, images, lambda: lab.umount(mnt)
    return setup


def _nocow(target: Path) -> None:
    target.touch()
    run("chattr", "+C", str(target))


def _xfs_reflink(lab: Lab, marker: bytes):
    mnt, images = lab.fs("xfsr", "xfs", mkfs_opts=("-m", "reflink=1"))
    target = mnt / "secret.txt"
    marker_file(target, marker)
    run("cp", "--reflink=always", str(target), str(mnt / "clone.txt"))
    os.sync()
    return target, images, lambda: lab.umount(mnt)


def _btrfs_snapshot(lab: Lab, marker: bytes):
    mnt, images = lab.fs("btrs", "btrfs")
    run("btrfs", "subvolume", "create", str(mnt / "sv"))
    target = mnt / "sv" / "secret.txt"
    marker_file(target, marker)
    run("btrfs", "subvolume", "snapshot", "-r", str(mnt / "sv"), str(mnt / "snap"))
    os.sync()
    return target, images, lambda: lab.umount(mnt)


def _btrfs_raid1(lab: Lab, marker: bytes):
    mnt, images = lab.fs("btr1", "btrfs", mkfs_opts=("-d", "raid1", "-m", "raid1"), devices=2)
    target = mnt / "secret.txt"
    marker_file(target, marker)
    return target, images, lambda: lab.umount(mnt)


def _overlay_lower(lab: Lab, marker: bytes):
    lower_mnt, lower_images = lab.fs("ovl", "ext4")
    (lower_mnt / "lower").mkdir()
    marker_file(lower_mnt / "lower" / "secret.txt", marker)
    upper_mnt = lab.mount("tmpfs", lab.dir / "ovl-upper", fstype="tmpfs", options="size=64m")
    (upper_mnt / "upper").mkdir()
    (upper_mnt / "work").mkdir()
    merged = lab.mount("overlay", lab.dir / "ovl-merged", fstype="overlay",
                       options=f"lowerdir={lower_mnt / 'lower'},upperdir={upper_mnt / 'upper'},workdir={upper_mnt / 'work'}")

    def teardown():
        lab.umount(merged)
        lab.umount(upper_mnt)
        lab.umount(lower_mnt)
    return merged / "secret.txt", lower_images, teardown


def configurations() -> list[Config]:
    return [
        Config("ext4-ordered", "ext4, data=ordered (default)", _plain("ext4"), False),
        Config("ext4-journal-option", "ext4, mounted -o data=journal", _plain("ext4", options="data=journal"),
               True, ("ext4-data-journal",)),
        Config("ext4-journal-superblock", "ext4, data=journal only as the superblock default (tune2fs -o journal_data)",
               _plain("ext4", tune=("-o", "journal_data")), True, ("ext4-data-journal",)),
        Config("ext4-inline-tiny", "ext4 -O inline_data, 40-byte file, with a journal",
               _plain("ext4", mkfs_opts=("-O", "inline_data"), size=40), True, ("ext4-inline-journal",)),
        Config("xfs-plain", "xfs (reflink=1 default), plain file", _plain("xfs"), False),
        Config("xfs-reflink", "xfs, a reflinked copy (cp --reflink) kept", _xfs_reflink, True, ("shared-extents",)),
        Config("btrfs-default", "btrfs, single device, default CoW", _plain("btrfs"), True, ("btrfs-cow",)),
        Config("btrfs-nocow", "btrfs, chattr +C on the empty file before writing", _plain("btrfs", prepare=_nocow), False),
        Config("btrfs-snapshot", "btrfs, read-only snapshot of the subvolume kept", _btrfs_snapshot, True,
               ("btrfs-cow", "shared-extents")),
        Config("btrfs-raid1", "btrfs raid1 (data and metadata) over two loop devices", _btrfs_raid1, True, ("btrfs-cow",)),
        Config("btrfs-compress", "btrfs mounted compress=zstd", _plain("btrfs", options="compress=zstd"), True,
               ("btrfs-cow",)),
        Config("overlay-lower", "overlayfs, file only in the lower layer (ext4); upper on tmpfs", _overlay_lower, True,
               ("overlay-lower",)),
    ]


def run_config(lab: Lab, cfg: Config) -> Outcome:
    marker = new_marker()
    target, images, teardown = cfg.setup(lab, marker)
    os.sync()
    before = count_marker(images, marker)
    code, doc = scrub_cli("shred", "--strict", "--json", str(target))
    strict_refused = code == 3
    if strict_refused:
        assert doc["data"]["results"][0]["status"] == "refused"
        code, doc = scrub_cli("shred", "--json", str(target))
    assert code == 0, doc
    result = doc["data"]["results"][0]
    assert result["status"] == "done", result
    findings = [(f["id"], f["severity"]) for f in result["findings"]]
    os.sync()
    teardown()
    after = count_marker(images, marker)
    return Outcome(cfg.name, before, after, findings, strict_refused, [str(i) for i in images])


def table(outcomes: list[Outcome], configs: dict[str, Config]) -> str:
    rows = ["| configuration | markers before | after | ineffective findings | other findings | strict |",
            "|---|---|---|---|---|---|"]
    for o in outcomes:
        other = sorted({f"{i} ({s})" for i, s in o.findings if s != "ineffective" and s != "info"})
        rows.append(f"| {configs[o.config].describe} | {o.before} | {o.after} | {', '.join(o.ineffective) or '-'} | "
                    f"{', '.join(other) or '-'} | {'refused' if o.strict_refused else 'ran'} |")
    return "\n".join(rows)
