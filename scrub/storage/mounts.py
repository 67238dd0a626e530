"""/proc/self/mountinfo and /proc/swaps: parsing (pure functions on text) and reading."""

from __future__ import annotations

import os
import re
from typing import NamedTuple

from scrub.storage import _sys

_ESCAPE = re.compile(r"\\([0-7]{3})")


def unescape(field: str) -> str:
    """Undo the kernel's octal escapes (\\040 space, \\011 tab, \\012 newline, \\134
    backslash); nothing else is escaped, and only backslash + 3 octal digits is decoded."""
    return _ESCAPE.sub(lambda m: chr(int(m.group(1), 8)), field)


class Mount(NamedTuple):
    """One line of mountinfo (see proc(5))."""

    mount_id: int
    parent_id: int
    major: int
    minor: int
    root: str  # the subtree of the file system mounted here (btrfs subvol, bind mounts)
    mountpoint: str
    options: tuple[str, ...]  # per-mount options
    optional: tuple[str, ...]  # shared:N, master:N ...
    fstype: str
    source: str
    super_options: tuple[str, ...]  # per-superblock options

    def option(self, name: str) -> str | None:
        """Value of ``name=`` (or ``""`` for a bare flag) in either option list, else None."""
        for opt in self.super_options + self.options:
            key, _, value = opt.partition("=")
            if key == name:
                return value
        return None


def parse_mountinfo_line(line: str) -> Mount:
    fields = line.split(" ")
    try:
        sep = fields.index("-", 6)
        major, minor = fields[2].split(":")
        return Mount(
            int(fields[0]), int(fields[1]), int(major), int(minor), unescape(fields[3]), unescape(fields[4]),
            tuple(fields[5].split(",")), tuple(fields[6:sep]), fields[sep + 1], unescape(fields[sep + 2]),
            tuple(_split_super(fields[sep + 3])) if len(fields) > sep + 3 else (),
        )
    except (ValueError, IndexError):
        raise ValueError(f"unparseable mountinfo line: {line!r}") from None


def _split_super(text: str) -> list[str]:
    # overlay's lowerdir may hold "\," for a comma inside a path: split on unescaped commas
    parts, cur, i = [], [], 0
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text) and text[i + 1] == ",":
            cur.append(",")
            i += 2
            continue
        if c == ",":
            parts.append(unescape("".join(cur)))
            cur = []
        else:
            cur.append(c)
        i += 1
    parts.append(unescape("".join(cur)))
    return parts


def parse_mountinfo(text: str) -> list[Mount]:
    return [parse_mountinfo_line(line) for line in text.splitlines() if line.strip()]


def mounts(*, procfs: str | None = None) -> list[Mount]:
    text = _sys.cat(os.path.join(_sys.procfs(procfs), "self", "mountinfo"))
    if text is None:
        from scrub.exceptions import ScrubError

        raise ScrubError("cannot read /proc/self/mountinfo (is /proc mounted?)")
    return parse_mountinfo(text)


class Swap(NamedTuple):
    name: str
    type: str  # partition | file
    size_kib: int
    used_kib: int
    priority: int


def parse_swaps(text: str) -> list[Swap]:
    out = []
    for line in text.splitlines()[1:]:
        parts = line.split()
        if len(parts) < 5:
            continue
        try:
            out.append(Swap(unescape(parts[0]), parts[1], int(parts[2]), int(parts[3]), int(parts[4])))
        except ValueError:
            continue  # lenient: new kernels may add columns or types
    return out


def swaps(*, procfs: str | None = None) -> list[Swap]:
    return parse_swaps(_sys.cat(os.path.join(_sys.procfs(procfs), "swaps"), "") or "")
