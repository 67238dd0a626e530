"""Fake /proc and /sys trees, laid out as the kernel lays them out (relative symlinks
included), so the storage inspector runs unchanged on stacks this machine cannot build."""

from __future__ import annotations

import os
from pathlib import Path

from scrub.storage import _sys

SCSI = "devices/pci0000:00/0000:00:1f.2/ata1/host0/target0:0:0/0:0:0:0/block"


class FakeSys:
    def __init__(self, root: Path):
        self.root = root
        self.proc = root / "proc"
        self.sys = root / "sys"
        for d in ("dev/block", "class/block", "devices/virtual/block"):
            (self.sys / d).mkdir(parents=True, exist_ok=True)
        (self.proc / "self").mkdir(parents=True, exist_ok=True)
        self.write("proc/swaps", "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n")

    def write(self, rel: str, content: str) -> Path:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
        return path

    def link(self, at: Path, to: Path) -> None:
        at.parent.mkdir(parents=True, exist_ok=True)
        at.symlink_to(os.path.relpath(to, at.parent))

    def block(self, name: str, devnum: str, *, under: str = "devices/virtual/block", attrs: dict | None = None,
              slaves: tuple[Path, ...] = ()) -> Path:
        d = self.sys / under / name
        d.mkdir(parents=True, exist_ok=True)
        attrs = {"dev": devnum, "size": "2097152", "ro": "0", "queue/rotational": "1",
                 "queue/discard_max_bytes": "0", **(attrs or {})}
        for key, value in attrs.items():
            (d / key).parent.mkdir(parents=True, exist_ok=True)
            (d / key).write_text(value + "\n")
        self.link(self.sys / "dev" / "block" / devnum, d)
        self.link(self.sys / "class" / "block" / name, d)
        (d / "slaves").mkdir(exist_ok=True)
        (d / "holders").mkdir(exist_ok=True)
        for s in slaves:
            self.link(d / "slaves" / s.name, s)
            self.link(s / "holders" / name, d)
        return d

    def partition(self, disk: Path, name: str, devnum: str, number: int) -> Path:
        return self.block(name, devnum, under=str((disk).relative_to(self.sys)), attrs={"partition": str(number)})

    def dm(self, n: int, dmname: str, uuid: str, slaves: tuple[Path, ...] = ()) -> Path:
        return self.block(f"dm-{n}", f"254:{n}", attrs={"dm/name": dmname, "dm/uuid": uuid, "dm/suspended": "0"},
                          slaves=slaves)

    def mountinfo(self, *lines: str) -> None:
        self.write("proc/self/mountinfo", "".join(line + "\n" for line in lines))

    def mount_line(self, mnt_id: int, devnum: str, mountpoint: str, fstype: str, source: str,
                   super_options: str = "rw") -> str:
        return f"{mnt_id} 1 {devnum} / {mountpoint} rw,relatime shared:1 - {fstype} {source} {super_options}"


def real_mount_id(path) -> int:
    fd = os.open(path, os.O_RDONLY)
    try:
        return _sys.statx_fd(fd).mnt_id
    finally:
        os.close(fd)
