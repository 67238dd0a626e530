"""Readers of /proc and /sys.  Both roots are configurable (module constants, or the
``procfs=``/``sysfs=`` arguments) so tests can point them at fake trees."""

from __future__ import annotations

import ctypes
import os

PROCFS_PATH = "/proc"
SYSFS_PATH = "/sys"


def procfs(root: str | None = None) -> str:
    return root or PROCFS_PATH


def sysfs(root: str | None = None) -> str:
    return root or SYSFS_PATH


def cat(path: str, fallback: str | None = None) -> str | None:
    """A small text file stripped of its trailing newline, or ``fallback`` if unreadable."""
    try:
        with open(path, encoding="utf-8", errors="surrogateescape") as f:
            return f.read().rstrip("\n")
    except OSError:
        return fallback


def exists(path: str) -> bool:
    """lstat-based existence; unlike os.path.exists it does not follow the last link."""
    try:
        os.lstat(path)
    except OSError:
        return False
    return True


def listdir(path: str) -> list[str]:
    try:
        return sorted(os.listdir(path))
    except OSError:
        return []


# statx(2): the mount id of an fd (STATX_MNT_ID, Linux 5.8+) is the only exact way to match
# a file to its mountinfo line (st_dev fails on btrfs subvolumes and bind mounts).
AT_EMPTY_PATH = 0x1000
STATX_BASIC_STATS = 0x7FF
STATX_MNT_ID = 0x1000
STX_MASK, STX_ATTRIBUTES, STX_ATTRIBUTES_MASK, STX_MNT_ID = 0x00, 0x08, 0x38, 0x90

_libc = ctypes.CDLL(None, use_errno=True)
_statx = getattr(_libc, "statx", None)


class Statx:
    def __init__(self, mnt_id: int | None, attributes: int, attributes_mask: int):
        self.mnt_id, self.attributes, self.attributes_mask = mnt_id, attributes, attributes_mask


def statx_fd(fd: int) -> Statx | None:
    if _statx is None:
        return None
    buf = ctypes.create_string_buffer(256)
    if _statx(fd, b"", AT_EMPTY_PATH, STATX_BASIC_STATS | STATX_MNT_ID, buf) != 0:
        return None
    raw = buf.raw
    mask = int.from_bytes(raw[STX_MASK:STX_MASK + 4], "little")
    mnt = int.from_bytes(raw[STX_MNT_ID:STX_MNT_ID + 8], "little") if mask & STATX_MNT_ID else None
    return Statx(mnt, int.from_bytes(raw[STX_ATTRIBUTES:STX_ATTRIBUTES + 8], "little"),
                 int.from_bytes(raw[STX_ATTRIBUTES_MASK:STX_ATTRIBUTES_MASK + 8], "little"))
