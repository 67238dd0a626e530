"""inspect(path) -> StorageReport: the layers under a file and where copies can survive.

An Inspector caches what is per mount (file-system facts) and per device (the block stack),
so inspecting many files on one mount costs one FIEMAP and one GETFLAGS each.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field

from scrub._paths import as_bytes, display, to_json
from scrub.storage import _sys
from scrub.storage.blockdev import Layer, Walk, dir_for_devnum, dir_for_name
from scrub.storage.filesystems import (EXT_FAMILY, RAM, btrfs_parent_uuid, ext_info, file_findings,
                                       overlay_upper, xfs_reflink)
from scrub.storage.findings import Finding, worst
from scrub.storage.mounts import Mount, mounts, swaps

MAX_DEPTH = 4  # loop-on-loop or overlay-on-loop recursion limit


@dataclass
class StorageReport:
    path: bytes
    mount: Mount | None = None
    fstype: str = ""
    device: str | None = None
    layers: list[Layer] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    facts: dict = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    @property
    def worst(self) -> str | None:
        return worst(self.findings)

    @property
    def overwrite_reaches_every_copy(self) -> bool | None:
        """False when a copy survives, None when that cannot be known, True otherwise."""
        sev = self.worst
        if sev == "ineffective":
            return False
        if sev == "uncertain":
            return None
        return True

    def to_json(self) -> dict:
        doc = to_json(self.path)
        m = self.mount
        doc.update(
            mount=None if m is None else {"mount_id": m.mount_id, "mountpoint": m.mountpoint, "root": m.root,
                                         "fstype": m.fstype, "source": m.source, "options": list(m.options),
                                         "super_options": [o for o in m.super_options]},
            fstype=self.fstype, device=self.device, layers=[layer.to_json() for layer in self.layers],
            facts=self.facts, findings=[f.to_json() for f in self.findings], worst=self.worst, errors=self.errors,
        )
        return doc


class Inspector:
    def __init__(self, *, procfs: str | None = None, sysfs: str | None = None):
        self.procfs, self.sysfs = procfs, sysfs
        self._mounts: list[Mount] | None = None
        self._by_id: dict[int, Mount] = {}
        self._fs_cache: dict[int, tuple[dict, list[Layer], list[Finding], str | None]] = {}
        self._system: list[Finding] | None = None

    # -- public -------------------------------------------------------------------------------

    def inspect(self, path, *, _depth: int = 0) -> StorageReport:
        """Inspect ``path`` without following a symlink at its last component."""
        raw = as_bytes(path)
        try:
            fd = os.open(raw, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
        except OSError as exc:
            if exc.errno == 40:  # ELOOP: a symlink; inspect the link itself, not its target
                try:
                    fd = os.open(raw, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC)
                except OSError as exc2:
                    return StorageReport(raw, errors=[exc2.strerror or str(exc2)])
            else:
                return StorageReport(raw, errors=[exc.strerror or str(exc)])
        try:
            return self.inspect_fd(fd, raw, _depth=_depth)
        finally:
            os.close(fd)

    def inspect_fd(self, fd: int, path, *, _depth: int = 0) -> StorageReport:
        report = StorageReport(as_bytes(path))
        st = os.fstat(fd)
        if stat.S_ISBLK(st.st_mode):
            return self._inspect_device(report, st)
        sx = _sys.statx_fd(fd)
        mount = self._mount_of(fd, sx)
        if mount is None:
            report.errors.append("no mount found for this file")
            return report
        report.mount, report.fstype = mount, mount.fstype
        fs_facts, layers, below, devname = self._mount_facts(mount, fd, _depth)
        report.device, report.layers = devname, list(layers)
        fs_layer = f"{mount.fstype} on {mount.source} at {mount.mountpoint}"
        rel = self._relative(fd, mount) if mount.fstype == "overlay" else None
        per_file, facts = file_findings(mount, fd, fs_facts, fs_layer, rel, sx)
        report.facts = {**fs_facts, **facts}
        report.findings = per_file + list(below)
        if mount.fstype == "overlay" and rel is not None and _depth < MAX_DEPTH:
            upper = overlay_upper(mount)
            if upper:
                report.findings += self._nested(os.path.join(upper, rel.lstrip("/")), "overlay upper", _depth)
        report.findings += self.system_findings()
        return report

    def _inspect_device(self, report: StorageReport, st: os.stat_result) -> StorageReport:
        """A block device is its own medium: its block stack and media findings (not the
        devtmpfs node's), and what holds it (mounts, swap, holders) as facts."""
        from scrub.storage.busy import device_users

        d = dir_for_devnum(os.major(st.st_rdev), os.minor(st.st_rdev), sysfs=self.sysfs)
        if d is None:
            report.errors.append("no sysfs entry for this block device")
            return report
        walk = Walk(self.sysfs)
        walk.walk(d)
        report.device, report.layers, report.fstype = os.path.basename(d), list(walk.layers), "block device"
        report.facts = {"in_use": device_users(st.st_rdev, procfs=self.procfs, sysfs=self.sysfs),
                        "discard_max_bytes": _sys.cat(os.path.join(d, "queue", "discard_max_bytes"))}
        report.findings = list(walk.findings)
        for loop, backing in walk.backing_files:  # a loop device's medium is its backing file's storage
            report.findings += self._nested(backing, f"{loop} backing file", 0)
        report.findings += self.system_findings()
        return report

    def system_findings(self) -> list[Finding]:
        if self._system is None:
            found = []
            active = swaps(procfs=self.procfs)
            if active:
                found.append(Finding("swap", "system", {"swaps": [s.name for s in active]},
                                     ", ".join(f"{s.name} ({s.type})" for s in active)))
            if (_sys.cat(os.path.join(_sys.sysfs(self.sysfs), "module", "zswap", "parameters", "enabled")) or "N") in ("Y", "1"):
                found.append(Finding("zswap", "system"))
            self._system = found
        return self._system

    # -- internals ----------------------------------------------------------------------------

    def _all_mounts(self) -> list[Mount]:
        if self._mounts is None:
            self._mounts = mounts(procfs=self.procfs)
            self._by_id = {m.mount_id: m for m in self._mounts}
        return self._mounts

    def _mount_of(self, fd: int, sx: _sys.Statx | None = None) -> Mount | None:
        self._all_mounts()
        sx = sx or _sys.statx_fd(fd)
        if sx is not None and sx.mnt_id in self._by_id:
            return self._by_id[sx.mnt_id]
        # Older kernels: the longest mount point that prefixes the fd's path, same st_dev first.
        path = self._fd_path(fd)
        st = os.fstat(fd)
        best = None
        for m in self._mounts:
            mp = m.mountpoint.rstrip("/") + "/"
            if path is not None and (path + "/").startswith(mp):
                same_dev = (m.major, m.minor) == (os.major(st.st_dev), os.minor(st.st_dev))
                key = (same_dev, len(mp))
                if best is None or key > best[0]:
                    best = (key, m)
        return best[1] if best else None

    def _fd_path(self, fd: int) -> str | None:
        try:
            return os.readlink(os.path.join(_sys.PROCFS_PATH, "self", "fd", str(fd)))
        except OSError:
            return None

    def _relative(self, fd: int, mount: Mount) -> str | None:
        """The file's path inside its file system (the mount's root joined with the path
        below the mount point), for overlay layer lookups."""
        path = self._fd_path(fd)
        if path is None or path.endswith(" (deleted)"):
            return None
        mp = mount.mountpoint.rstrip("/")
        if not (path == mp or path.startswith(mp + "/")):
            return None
        below = path[len(mp):] or "/"
        return os.path.join(mount.root, below.lstrip("/")) if mount.root != "/" else below

    def _mount_facts(self, mount: Mount, fd: int, depth: int):
        cached = self._fs_cache.get(mount.mount_id)
        if cached is not None:
            return cached
        facts: dict = {}
        walk = Walk(self.sysfs)
        devdirs = self._device_dirs(mount)
        for d in devdirs:
            walk.walk(d)
        devname = os.path.basename(devdirs[0]) if devdirs else None
        below = list(walk.findings)
        if depth < MAX_DEPTH:
            for loop, backing in walk.backing_files:
                below += self._nested(backing, f"{loop} backing file", depth)
        if mount.fstype in EXT_FAMILY:
            info = ext_info(mount, devname, procfs=self.procfs)
            facts.update(journal=info.journal, data_mode=info.data_mode, external_journal=info.external_journal,
                         source=info.source)
        elif mount.fstype == "xfs":
            facts["reflink"] = xfs_reflink(fd)
        elif mount.fstype == "btrfs":
            facts.update(nodatacow=mount.option("nodatacow") is not None, compress=mount.option("compress"),
                         parent_uuid=btrfs_parent_uuid(fd), **self._btrfs_sysfs(mount))
        elif mount.fstype in RAM:
            facts["swap_active"] = [s.name for s in swaps(procfs=self.procfs)]
        elif mount.fstype == "zfs":
            snaps = _sys.listdir(os.path.join(mount.mountpoint, ".zfs", "snapshot"))
            facts["snapshots"] = f"snapshots: {', '.join(snaps)}" if snaps else ""
        result = (facts, walk.layers, below, devname)
        self._fs_cache[mount.mount_id] = result
        return result

    def _device_dirs(self, mount: Mount) -> list[str]:
        if mount.fstype == "btrfs":
            members = self._btrfs_members(mount)
            if members:
                return members
        d = dir_for_devnum(mount.major, mount.minor, sysfs=self.sysfs)
        if d is None and mount.source.startswith("/dev/"):
            d = dir_for_name(os.path.basename(mount.source), sysfs=self.sysfs)
        return [d] if d else []

    def _btrfs_fsid_dir(self, mount: Mount) -> str | None:
        name = os.path.basename(mount.source)
        root = os.path.join(_sys.sysfs(self.sysfs), "fs", "btrfs")
        for fsid in _sys.listdir(root):
            if name in _sys.listdir(os.path.join(root, fsid, "devices")):
                return os.path.join(root, fsid)
        return None

    def _btrfs_members(self, mount: Mount) -> list[str]:
        fsdir = self._btrfs_fsid_dir(mount)
        if fsdir is None:
            return []
        out = []
        for dev in _sys.listdir(os.path.join(fsdir, "devices")):
            d = dir_for_name(dev, sysfs=self.sysfs)
            if d:
                out.append(d)
        return out

    def _btrfs_sysfs(self, mount: Mount) -> dict:
        fsdir = self._btrfs_fsid_dir(mount)
        if fsdir is None:
            return {"profiles": {}, "members": []}
        profiles = {}
        for kind in ("data", "metadata", "system"):
            names = [p for p in _sys.listdir(os.path.join(fsdir, "allocation", kind))
                     if os.path.isdir(os.path.join(fsdir, "allocation", kind, p))]
            if names:
                profiles[kind] = ",".join(names)
        return {"profiles": profiles, "members": _sys.listdir(os.path.join(fsdir, "devices"))}

    def _nested(self, path: str, label: str, depth: int) -> list[Finding]:
        """Findings of another file that holds this one's data (a loop backing file, an
        overlay upper copy), prefixed with how they relate."""
        sub = self.inspect(path, _depth=depth + 1)
        out = []
        for f in sub.findings:
            if f.layer == "system":
                continue
            out.append(Finding(f.id, f"{label} {display(path)}: {f.layer}", f.evidence, f.detail))
        return out


def inspect(path, *, procfs: str | None = None, sysfs: str | None = None) -> StorageReport:
    """One-off inspection (use an :class:`Inspector` to inspect many files)."""
    return Inspector(procfs=procfs, sysfs=sysfs).inspect(path)
