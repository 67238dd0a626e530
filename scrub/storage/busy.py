"""Is a block device in use?  Overwriting a device that holds a mounted file system, active
swap or a device-mapper / md member destroys live data without a word, so shred refuses it.

Reads /proc and /sys only (both roots configurable, for fake trees).  The kernel's own check is
an exclusive open (``O_EXCL`` on a block device): it fails with EBUSY while a mount, swap,
md/dm or another exclusive opener holds the device, but not while some process merely has it
open; shred does both.
"""

from __future__ import annotations

import os

from scrub.storage import _sys
from scrub.storage.blockdev import dir_for_devnum
from scrub.storage.mounts import mounts, swaps


def _devnum(d: str) -> tuple[int, int] | None:
    text = _sys.cat(os.path.join(d, "dev"))
    try:
        major, minor = (text or "").split(":")
        return int(major), int(minor)
    except ValueError:
        return None


def _partitions(d: str) -> list[str]:
    """sysfs directories of the partitions of disk ``d`` (none for a partition)."""
    return [os.path.join(d, n) for n in _sys.listdir(d) if _sys.exists(os.path.join(d, n, "partition"))]


def device_users(rdev: int, *, procfs: str | None = None, sysfs: str | None = None) -> list[str]:
    """Why the block device ``rdev`` is in use (empty: nothing scrub can see holds it)."""
    d = dir_for_devnum(os.major(rdev), os.minor(rdev), sysfs=sysfs)
    parts = [d] + _partitions(d) if d else []
    nums = {(os.major(rdev), os.minor(rdev)): os.path.basename(d) if d else f"{os.major(rdev)}:{os.minor(rdev)}"}
    for p in parts[1:]:
        n = _devnum(p)
        if n:
            nums[n] = os.path.basename(p)
    why = []
    for m in mounts(procfs=procfs):
        if (m.major, m.minor) in nums:
            what = nums[(m.major, m.minor)]
            why.append(f"{what} is mounted at {m.mountpoint} ({m.fstype})")
    names = set(nums.values())
    for s in swaps(procfs=procfs):
        base = os.path.basename(s.name)
        try:
            st = os.stat(s.name)
            hit = (os.major(st.st_rdev), os.minor(st.st_rdev)) in nums if s.name.startswith("/dev/") else False
        except OSError:
            hit = False
        if hit or base in names:
            why.append(f"{base} is active swap")
    for p in parts:
        holders = _sys.listdir(os.path.join(p, "holders"))
        if holders:
            why.append(f"{os.path.basename(p)} is held by {', '.join(holders)} (device-mapper, md or LVM)")
    return why
