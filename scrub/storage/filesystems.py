"""File-system and per-file probes: journal mode, copy-on-write, shared extents, inline data,
encryption, overlay layers.  ioctls go through fcntl.ioctl; every probe works unprivileged
except the ext superblock read, which is only a fallback."""

from __future__ import annotations

import fcntl
import os
import struct
from typing import NamedTuple

from scrub import _linux
from scrub.storage import _sys
from scrub.storage.findings import Finding
from scrub.storage.mounts import Mount

# FS_IOC_GETFLAGS bits
FL_COMPR, FL_ENCRYPT, FL_JOURNAL_DATA, FL_NOCOW, FL_INLINE_DATA = 0x4, 0x800, 0x4000, 0x800000, 0x10000000
# statx attributes
STATX_ATTR_COMPRESSED, STATX_ATTR_ENCRYPTED = 0x4, 0x800

# FIEMAP
FS_IOC_FIEMAP = 0xC020660B
FIEMAP_FLAG_SYNC = 0x1
FE_LAST, FE_UNKNOWN, FE_DELALLOC, FE_ENCODED = 0x1, 0x2, 0x4, 0x8
FE_ENCRYPTED, FE_NOT_ALIGNED, FE_INLINE, FE_TAIL, FE_UNWRITTEN, FE_MERGED, FE_SHARED = (
    0x80, 0x100, 0x200, 0x400, 0x800, 0x1000, 0x2000)
_FE_NAMES = {FE_LAST: "last", FE_UNKNOWN: "unknown", FE_DELALLOC: "delalloc", FE_ENCODED: "encoded",
             FE_ENCRYPTED: "encrypted", FE_NOT_ALIGNED: "not_aligned", FE_INLINE: "inline", FE_TAIL: "tail",
             FE_UNWRITTEN: "unwritten", FE_MERGED: "merged", FE_SHARED: "shared"}

XFS_IOC_FSGEOMETRY = 0x8100587E
XFS_FSOP_GEOM_FLAGS_REFLINK = 1 << 20
BTRFS_IOC_GET_SUBVOL_INFO = 0x81F8943C

EXT_FAMILY = {"ext2", "ext3", "ext4"}
NETWORK = {"nfs", "nfs4", "cifs", "smb3", "smbfs", "ceph", "9p", "glusterfs", "afs", "lustre", "gpfs", "ocfs2", "gfs2", "beegfs"}
COW = {"zfs", "bcachefs"}
LOG_STRUCTURED = {"f2fs", "nilfs2"}
RAM = {"tmpfs", "ramfs"}


class Extents(NamedTuple):
    count: int
    flags: int  # OR of every extent's flags
    supported: bool

    def names(self) -> list[str]:
        return [n for bit, n in _FE_NAMES.items() if self.flags & bit]


def fiemap(fd: int, max_extents: int = 4096) -> Extents:
    """OR of the FIEMAP flags over the file's extents (SHARED, INLINE, ENCODED ...)."""
    per_call = 16  # most files have one extent: a small first buffer, larger ones after
    start, total, flags = 0, 0, 0
    while total < max_extents:
        buf = bytearray(32 + 56 * per_call)
        struct.pack_into("=QQIII", buf, 0, start, 0xFFFFFFFFFFFFFFFF, FIEMAP_FLAG_SYNC, 0, per_call)
        try:
            fcntl.ioctl(fd, FS_IOC_FIEMAP, buf)
        except OSError:
            return Extents(0, 0, False)
        mapped = struct.unpack_from("=I", buf, 20)[0]
        if not mapped:
            break
        last_end = 0
        for i in range(mapped):
            logical, _phys, length = struct.unpack_from("=QQQ", buf, 32 + 56 * i)
            fe_flags = struct.unpack_from("=I", buf, 32 + 56 * i + 40)[0]
            flags |= fe_flags
            last_end = logical + length
        total += mapped
        if flags & FE_LAST or mapped < per_call:
            break
        start = last_end
        per_call = 256
    return Extents(total, flags & ~FE_LAST, True)


def xfs_reflink(fd: int) -> bool | None:
    buf = bytearray(256)
    try:
        fcntl.ioctl(fd, XFS_IOC_FSGEOMETRY, buf)
    except OSError:
        return None
    return bool(struct.unpack_from("=I", buf, 92)[0] & XFS_FSOP_GEOM_FLAGS_REFLINK)


def btrfs_parent_uuid(fd: int) -> str | None:
    """The parent uuid of the fd's subvolume: set when the subvolume is a snapshot."""
    buf = bytearray(504)
    try:
        fcntl.ioctl(fd, BTRFS_IOC_GET_SUBVOL_INFO, buf)
    except OSError:
        return None
    parent = bytes(buf[312:328])
    return parent.hex() if any(parent) else None


# --- ext superblock (fallback when /proc/fs/ext4/<dev>/options cannot be read) ------------------

class ExtSuper(NamedTuple):
    has_journal: bool
    journal_dev: int
    inline_data: bool
    data_mode: str  # journal | ordered | writeback | default
    mount_opts: str


def parse_ext_superblock(block: bytes) -> ExtSuper | None:
    """Fields of the primary superblock; ``block`` starts at device offset 0 (>= 0x640 bytes)."""
    if len(block) < 0x640 or struct.unpack_from("<H", block, 0x438)[0] != 0xEF53:
        return None
    compat, incompat = struct.unpack_from("<II", block, 0x45C)
    journal_dev = struct.unpack_from("<I", block, 0x4E4)[0]
    default_opts = struct.unpack_from("<I", block, 0x500)[0]
    mount_opts = block[0x600:0x640].split(b"\0", 1)[0].decode("ascii", "replace")
    mode = {0x20: "journal", 0x40: "ordered", 0x60: "writeback"}.get(default_opts & 0x60, "default")
    for opt in mount_opts.split(","):
        if opt.startswith("data="):
            mode = opt[5:]
    return ExtSuper(bool(compat & 0x4), journal_dev, bool(incompat & 0x8000), mode, mount_opts)


class ExtInfo(NamedTuple):
    journal: bool | None  # None: unknown
    data_mode: str | None
    external_journal: bool
    source: str  # where the facts came from


def ext_info(mount: Mount, devname: str | None, *, procfs: str | None = None) -> ExtInfo:
    explicit = mount.option("data")
    if devname:
        opts = _sys.cat(os.path.join(_sys.procfs(procfs), "fs", "ext4", devname, "options"))
        if opts is not None:
            tokens = opts.split()
            tokens = tokens if len(tokens) > 1 else opts.split(",")
            mode = next((t[5:] for t in tokens if t.startswith("data=")), None)
            journal = _sys.exists(os.path.join(_sys.procfs(procfs), "fs", "jbd2", f"{devname}-8")) or mode is not None
            external = any(t.startswith(("journal_path", "journal_dev")) for t in tokens)
            return ExtInfo(journal or external, mode, external, f"/proc/fs/ext4/{devname}/options")
    if explicit:
        return ExtInfo(True, explicit, False, "mountinfo")
    sb = _read_superblock(mount.source)
    if sb is not None:
        return ExtInfo(sb.has_journal or bool(sb.journal_dev), sb.data_mode if sb.has_journal else None,
                       bool(sb.journal_dev), "superblock")
    return ExtInfo(None, None, False, "unknown")


def _read_superblock(source: str) -> ExtSuper | None:
    if not source.startswith("/dev/"):
        return None
    try:
        fd = os.open(source, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
    except OSError:
        return None  # needs root (or the disk group)
    try:
        return parse_ext_superblock(os.pread(fd, 4096, 0))
    except OSError:
        return None
    finally:
        os.close(fd)


# --- the per-file verdict ----------------------------------------------------------------------

def file_findings(mount: Mount, fd: int, fs_facts: dict, layer: str, rel_path: str | None,
                  sx: _sys.Statx | None = None) -> tuple[list[Finding], dict]:
    """Findings that depend on this file (and its file system's facts, computed once per mount)."""
    findings: list[Finding] = []
    fstype = mount.fstype
    iflags = _linux.inode_flags(fd)
    sx = sx or _sys.statx_fd(fd)
    # ext2/3/4 share no extents and show inline data in the inode flags: FIEMAP adds nothing there
    ext = fiemap(fd) if fstype not in RAM and fstype not in EXT_FAMILY else Extents(0, 0, False)
    facts = {"inode_flags": iflags, "extents": ext.count, "extent_flags": ext.names() if ext.supported else None}
    flags = iflags or 0
    encrypted = bool(flags & FL_ENCRYPT) or bool(sx and sx.attributes_mask & STATX_ATTR_ENCRYPTED
                                                 and sx.attributes & STATX_ATTR_ENCRYPTED)
    inline = bool(flags & FL_INLINE_DATA) or bool(ext.flags & FE_INLINE)

    if fstype in EXT_FAMILY:
        journal, mode = fs_facts.get("journal"), fs_facts.get("data_mode")
        if journal and mode == "journal":
            findings.append(Finding("ext4-data-journal", layer, {"data_mode": mode, "source": fs_facts.get("source")}))
        elif journal and flags & FL_JOURNAL_DATA:
            findings.append(Finding("ext4-file-journal", layer, {"inode_flags": hex(flags)}))
        elif journal and inline:
            findings.append(Finding("ext4-inline-journal", layer, {"inode_flags": hex(flags)}))
        elif journal is None:
            findings.append(Finding("ext4-mode-unknown", layer, {},
                                    "neither /proc/fs/ext4/<device>/options nor the superblock could be read"))
        if fs_facts.get("external_journal"):
            findings.append(Finding("ext4-external-journal", layer))
    elif fstype == "btrfs":
        nocow = bool(flags & FL_NOCOW) or fs_facts.get("nodatacow", False)
        if inline:
            findings.append(Finding("btrfs-inline", layer, {"extent_flags": ext.names()}))
        elif not nocow or ext.flags & FE_ENCODED:
            findings.append(Finding("btrfs-cow", layer, {"nocow": nocow, "profiles": fs_facts.get("profiles")},
                                    _btrfs_detail(fs_facts)))
        if fs_facts.get("parent_uuid"):
            findings.append(Finding("btrfs-snapshot", layer, {"parent_uuid": fs_facts["parent_uuid"]}))
    elif fstype in COW:
        findings.append(Finding("cow-filesystem", layer, {"fstype": fstype}, fs_facts.get("snapshots", "")))
    elif fstype in LOG_STRUCTURED:
        findings.append(Finding("log-structured", layer, {"fstype": fstype}))
    elif fstype in RAM:
        findings.append(Finding("tmpfs", layer))
        if fs_facts.get("swap_active"):
            findings.append(Finding("tmpfs-swap", layer, {"swaps": fs_facts["swap_active"]}))
    elif fstype in NETWORK or fstype.startswith("nfs"):
        findings.append(Finding("network-fs", layer, {"fstype": fstype, "source": mount.source}))
    elif fstype.startswith("fuse") :
        findings.append(Finding("fuse", layer, {"fstype": fstype, "source": mount.source}))
    elif fstype == "overlay":
        for lower in overlay_lowers(mount):
            if rel_path is not None and _sys.exists(os.path.join(lower, rel_path.lstrip("/"))):
                findings.append(Finding("overlay-lower", layer, {"lowerdir": lower}, f"a copy is in {lower}"))
            elif rel_path is None or not lower_is_layer(lower, mount):
                # a lowerdir= string names a path in the mounter's view: here it may be missing (a chroot,
                # a container, a lazily unmounted bind) or another directory with the same name
                findings.append(Finding("overlay-lower-unseen", layer, {"lowerdir": lower},
                                        f"{lower} cannot be shown to be this overlay's layer from here"))

    if ext.flags & FE_SHARED:
        findings.append(Finding("shared-extents", layer, {"extent_flags": ext.names()}))
    if ext.flags & FE_ENCODED or flags & FL_COMPR:
        findings.append(Finding("compressed", layer))
    if fs_facts.get("reflink") and not ext.flags & FE_SHARED and fstype == "xfs":
        findings.append(Finding("reflink-capable", layer))
    if fstype == "xfs" and (mount.option("logdev") or mount.option("rtdev")):
        devs = {k: mount.option(k) for k in ("logdev", "rtdev") if mount.option(k)}
        findings.append(Finding("xfs-external-log", layer, devs, ", ".join(f"{k}={v}" for k, v in devs.items())))
    if encrypted:
        findings.append(Finding("fscrypt", layer))
    return findings, facts


def _btrfs_detail(fs_facts: dict) -> str:
    members = fs_facts.get("members") or []
    profile = fs_facts.get("profiles", {}).get("data")
    parts = []
    if profile:
        parts.append(f"data profile {profile}")
    if len(members) > 1:
        parts.append(f"copies may be on each of {', '.join(members)}")
    return "; ".join(parts)


def overlay_lowers(mount: Mount) -> list[str]:
    """Every lower (and data-only) layer of an overlay mount, in order."""
    out: list[str] = []
    for opt in mount.super_options:
        key, _, value = opt.partition("=")
        if key == "lowerdir":
            out.extend(_split_colons(value))
        elif key in ("lowerdir+", "datadir+"):
            out.append(value)
    return [p for p in out if p]


_LAYER_PROOF: dict[tuple[int, str], bool] = {}


def lower_is_layer(lower: str, mount: Mount, *, sample: int = 300) -> bool:
    """Whether the directory at ``lower`` is provably a lower layer of ``mount``: some file in
    it shows through the overlay with its own inode number (overlayfs reports a lower file's
    inode, its low bits with xino).  No proof (missing, empty, another directory that has the
    same name, everything copied up) is False: the caller must not call that layer seen."""
    key = (mount.mount_id, lower)
    if key in _LAYER_PROOF:
        return _LAYER_PROOF[key]
    proven = False
    if mount.root == "/":
        queue, seen = [""], 0
        while queue and not proven and seen < sample:
            rel = queue.pop(0)
            try:
                with os.scandir(os.path.join(lower, rel) if rel else lower) as it:
                    entries = list(it)
            except OSError:
                continue
            for de in entries:
                seen += 1
                sub = os.path.join(rel, de.name) if rel else de.name
                try:
                    if de.is_dir(follow_symlinks=False):
                        if rel.count("/") < 3:
                            queue.append(sub)
                        continue
                    low = de.stat(follow_symlinks=False)
                    merged = os.lstat(os.path.join(mount.mountpoint, sub))
                except OSError:
                    continue
                if any(merged.st_ino & ((1 << bits) - 1) == low.st_ino for bits in range(64, 55, -1)):
                    proven = True
                    break
                if seen >= sample:
                    break
    _LAYER_PROOF[key] = proven
    return proven


def overlay_upper(mount: Mount) -> str | None:
    return mount.option("upperdir")


def _split_colons(value: str) -> list[str]:
    parts, cur, i = [], "", 0
    while i < len(value):
        if value[i] == "\\" and i + 1 < len(value):
            cur += value[i + 1]
            i += 2
            continue
        if value[i] == ":":
            parts.append(cur)
            cur = ""
        else:
            cur += value[i]
        i += 1
    parts.append(cur)
    return parts
