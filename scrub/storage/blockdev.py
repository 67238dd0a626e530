"""The block stack under a file system, walked through sysfs down to the media.

Partitions lead to their disk, device-mapper and md to their slaves, loop devices to their
backing file (inspected by the caller, since a loop device is not linked through slaves/).
Only sysfs is read, so this works unprivileged and on fake trees.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from scrub.storage import _sys
from scrub.storage.findings import Finding

REDUNDANT_MD = {"raid1", "raid4", "raid5", "raid6", "raid10"}


@dataclass
class Layer:
    kind: str  # partition | loop | dm-lvm | dm-crypt | dm-multipath | dm | md | zram | disk
    name: str
    facts: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return {"kind": self.kind, "name": self.name, "facts": self.facts}


def dir_for_devnum(major: int, minor: int, *, sysfs: str | None = None) -> str | None:
    path = os.path.join(_sys.sysfs(sysfs), "dev", "block", f"{major}:{minor}")
    return os.path.realpath(path) if _sys.exists(path) else None


def dir_for_name(name: str, *, sysfs: str | None = None) -> str | None:
    path = os.path.join(_sys.sysfs(sysfs), "class", "block", name)
    return os.path.realpath(path) if _sys.exists(path) else None


def _attr(d: str, *parts: str) -> str | None:
    value = _sys.cat(os.path.join(d, *parts))
    return value.strip() if value is not None else None


class Walk:
    """Collects layers and findings for one device (and everything below it)."""

    def __init__(self, sysfs: str | None = None):
        self.sysfs = sysfs
        self.layers: list[Layer] = []
        self.findings: list[Finding] = []
        self.backing_files: list[tuple[str, str]] = []  # (loop name, backing file path)
        self._seen: set[str] = set()

    def walk(self, d: str) -> None:
        if d in self._seen or len(self._seen) > 64:
            return
        self._seen.add(d)
        name = os.path.basename(d)
        if _sys.exists(os.path.join(d, "partition")):
            self.layers.append(Layer("partition", name, {"number": _attr(d, "partition")}))
            self.walk(os.path.dirname(d))
            return
        if _sys.exists(os.path.join(d, "loop")):
            self._loop(d, name)
            return
        if _sys.exists(os.path.join(d, "dm")):
            self._dm(d, name)
        elif _sys.exists(os.path.join(d, "md")):
            self._md(d, name)
        elif name.startswith("zram"):
            self._zram(d, name)
            return
        slaves = _sys.listdir(os.path.join(d, "slaves"))
        for s in slaves:
            self.walk(os.path.realpath(os.path.join(d, "slaves", s)))
        if not slaves and not _sys.exists(os.path.join(d, "dm")) and not _sys.exists(os.path.join(d, "md")):
            self._leaf(d, name)

    # -- layers ---------------------------------------------------------------------------

    def _loop(self, d: str, name: str) -> None:
        backing = _attr(d, "loop", "backing_file") or ""
        facts = {"backing_file": backing, "offset": _attr(d, "loop", "offset"), "dio": _attr(d, "loop", "dio")}
        self.layers.append(Layer("loop", name, facts))
        self.findings.append(Finding("loop-backing", name, facts, f"backed by {backing}"))
        if backing and not backing.endswith(" (deleted)"):
            self.backing_files.append((name, backing))

    def _dm(self, d: str, name: str) -> None:
        uuid = _attr(d, "dm", "uuid") or ""
        dmname = _attr(d, "dm", "name") or name
        slaves = _sys.listdir(os.path.join(d, "slaves"))
        slave_names = {s: (_attr(os.path.join(d, "slaves", s), "dm", "name") or "") for s in slaves}
        slave_uuids = {s: (_attr(os.path.join(d, "slaves", s), "dm", "uuid") or "") for s in slaves}
        facts = {"dm_name": dmname, "uuid": uuid, "slaves": slaves}
        label = f"{name} ({dmname})"
        if uuid.startswith("CRYPT-"):
            kind = "dm-crypt"
            facts["type"] = uuid.split("-")[1] if uuid.count("-") >= 2 else ""
            self.findings.append(Finding("dm-crypt", label, {"uuid_type": facts["type"]}))
        elif uuid.startswith("mpath-"):
            kind = "dm-multipath"
            self.findings.append(Finding("multipath", label))
        elif uuid.startswith("LVM-"):
            kind = "dm-lvm"
            if any(n.endswith("-real") or u.endswith("-real") for n, u in zip(slave_names.values(), slave_uuids.values(), strict=True)):
                cow = [n for n in slave_names.values() if n.endswith("-cow")]
                if cow:
                    self.findings.append(Finding("dm-snapshot", label, {"slaves": slave_names},
                                                 "this LV is a snapshot; its origin keeps the original blocks"))
                else:
                    self.findings.append(Finding("dm-snapshot-origin", label, {"slaves": slave_names},
                                                 f"snapshots of it: {', '.join(self._snapshots_of(d)) or 'yes'}"))
            elif any(u.endswith("-tpool") or n.endswith("-tpool") for n, u in zip(slave_names.values(), slave_uuids.values(), strict=True)):
                self.findings.append(Finding("dm-thin", label, {"pool": [n for n in slave_names.values()]}))
            elif any("_rimage_" in n or "_mimage_" in n for n in slave_names.values()):
                self.findings.append(Finding("dm-mirror", label, {"legs": sorted(slave_names.values())}))
        else:
            kind = "dm"
        self.layers.append(Layer(kind, name, facts))

    def _snapshots_of(self, d: str) -> list[str]:
        """An origin's -real slave is also held by each snapshot: name them."""
        out = []
        for s in _sys.listdir(os.path.join(d, "slaves")):
            real = os.path.realpath(os.path.join(d, "slaves", s))
            for h in _sys.listdir(os.path.join(real, "holders")):
                hd = os.path.realpath(os.path.join(real, "holders", h))
                if hd != d:
                    out.append(_attr(hd, "dm", "name") or h)
        return out

    def _md(self, d: str, name: str) -> None:
        level = _attr(d, "md", "level") or ""
        degraded = _attr(d, "md", "degraded") or "0"
        members = {}
        for entry in _sys.listdir(os.path.join(d, "md")):
            if entry.startswith("dev-"):
                members[entry[4:]] = _attr(d, "md", entry, "state") or ""
        facts = {"level": level, "raid_disks": _attr(d, "md", "raid_disks"), "degraded": degraded,
                 "array_state": _attr(d, "md", "array_state"), "members": members}
        self.layers.append(Layer("md", name, facts))
        odd = {m: s for m, s in members.items() if not set(s.split(",")) <= {"in_sync", "write_mostly", "replacement"}}
        if level in REDUNDANT_MD:
            self.findings.append(Finding("md-redundant", name, {"level": level}, f"{level} over {', '.join(sorted(members))}"))
        if degraded not in ("0", "") or odd:
            detail = f"degraded={degraded}" + (f"; members {', '.join(f'{m} ({s})' for m, s in sorted(odd.items()))}" if odd else "")
            self.findings.append(Finding("md-degraded", name, {"degraded": degraded, "members": odd}, detail))

    def _zram(self, d: str, name: str) -> None:
        backing = _attr(d, "backing_dev")
        self.layers.append(Layer("zram", name, {"backing_dev": backing, "comp_algorithm": _attr(d, "comp_algorithm")}))
        if backing and backing != "none":
            self.findings.append(Finding("zram-writeback", name, {"backing_dev": backing}))
        else:
            self.findings.append(Finding("zram", name))

    def _leaf(self, d: str, name: str) -> None:
        facts = {"rotational": _attr(d, "queue", "rotational"),
                 "discard_max_bytes": _attr(d, "queue", "discard_max_bytes"),
                 "model": _attr(d, "device", "model"), "serial": _attr(d, "device", "serial") or _attr(d, "serial")}
        driver = os.path.basename(os.path.realpath(os.path.join(d, "device", "driver"))) if _sys.exists(
            os.path.join(d, "device", "driver")) else ""
        self.layers.append(Layer("disk", name, {k: v for k, v in facts.items() if v is not None}))
        model = facts["model"] or ""
        if model == "Amazon Elastic Block Store":
            serial = facts["serial"] or ""
            volume = "vol-" + serial[3:] if serial.startswith("vol") and not serial.startswith("vol-") else serial
            self.findings.append(Finding("ebs", name, {"volume_id": volume, "model": model}, f"volume {volume}"))
        elif model == "Amazon EC2 NVMe Instance Storage":
            self.findings.append(Finding("instance-store", name, {"serial": facts["serial"]}))
        elif name.startswith("xvd") or _attr(d, "device", "devtype") == "vbd":
            self.findings.append(Finding("xen-vbd", name))
        elif name.startswith("vd") or driver == "virtio_blk":
            self.findings.append(Finding("virtual-disk", name, {"rotational": facts["rotational"]},
                                         "virtio disk; its rotational flag says nothing about the host's media"))
        elif facts["rotational"] == "0" or name.startswith(("nvme", "mmcblk")):
            self.findings.append(Finding("flash", name, {"rotational": facts["rotational"], "model": model},
                                         "non-rotational media"))
