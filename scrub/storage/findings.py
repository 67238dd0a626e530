"""Storage findings as data: why an in-place overwrite may not reach every copy of a file.

Severities, strongest first:
  ineffective  an overwrite cannot reach every copy (journal, CoW, snapshot, lower layer)
  uncertain    it may not, and the host cannot know (flash remapping, a provider's snapshots)
  mitigated    copies may survive but only as ciphertext
  info         a fact worth knowing that does not leave a copy by itself

The remedies use NIST SP 800-88 Rev. 1 vocabulary (Clear, Purge, cryptographic erase).
docs/remanence.md is generated from this table (tests/test_docs.py keeps them in step).
"""

from __future__ import annotations

from dataclasses import dataclass, field

SEVERITIES = ("ineffective", "uncertain", "mitigated", "info")


@dataclass(frozen=True)
class Spec:
    severity: str
    title: str
    survives: str  # what copy survives, and where
    remedy: str  # what to do instead


CATALOG: dict[str, Spec] = {
    # --- file systems -------------------------------------------------------------------
    "ext4-data-journal": Spec(
        "ineffective", "ext3/ext4 journals file data (data=journal)",
        "a full copy of recently written data in the jbd2 journal, until the journal wraps",
        "Remount without data=journal (and clear it from the superblock: tune2fs -o ^journal_data) "
        "before secrets are written; to remove what the journal holds, overwrite the free space of the "
        "file system or sanitize the device (Purge)."),
    "ext4-file-journal": Spec(
        "ineffective", "this file has per-file data journaling (chattr +j)",
        "a copy of its data in the jbd2 journal",
        "chattr -j the file before writing secrets to it; sanitize the device to remove journal copies."),
    "ext4-inline-journal": Spec(
        "ineffective", "tiny file stored inline in its inode on a journaled file system",
        "the inode table block, data included, logged in the jbd2 journal",
        "Overwrite the free space of the file system to cycle the journal, or sanitize the device (Purge)."),
    "ext4-mode-unknown": Spec(
        "uncertain", "the ext3/ext4 journal mode could not be read",
        "if the file system journals data, a copy in the journal",
        "Run as root, or check /proc/fs/ext4/<device>/options and tune2fs -l for journal_data."),
    "ext4-external-journal": Spec(
        "info", "the ext3/ext4 journal is on another device",
        "journal blocks live on that device; with data=journal, data copies too",
        "Include the journal device in any device-level sanitization."),
    "xfs-external-log": Spec(
        "info", "XFS keeps its log (or realtime data) on another device",
        "metadata log blocks on that device (XFS does not log file data); realtime files' data there",
        "Include the log and realtime devices in any device-level sanitization."),
    "btrfs-cow": Spec(
        "ineffective", "btrfs writes file data copy-on-write",
        "the old extents stay in free space (and on every mirror) after the overwrite",
        "Create secret files with chattr +C (no-CoW) before writing them, or mount with nodatacow; "
        "to remove old extents, fill the free space or sanitize the device (Purge)."),
    "btrfs-inline": Spec(
        "ineffective", "small file stored inline in btrfs metadata",
        "copies in metadata blocks, which are always copy-on-write and duplicated (DUP)",
        "Set max_inline=0 before writing secrets; sanitize the device (Purge) to remove old metadata."),
    "shared-extents": Spec(
        "ineffective", "the file shares extents with a snapshot or a reflinked copy",
        "the shared blocks, still owned by the snapshot or the copy",
        "Delete the snapshots or reflinked copies first (btrfs subvolume delete, rm the clone), then "
        "fill the free space; an overwrite now only relocates this file's blocks."),
    "btrfs-snapshot": Spec(
        "ineffective", "the file lives in a btrfs snapshot subvolume",
        "the origin subvolume (and other snapshots) still hold the data",
        "Delete every snapshot and the origin copy of the file, then fill the free space."),
    "cow-filesystem": Spec(
        "ineffective", "copy-on-write file system (ZFS, bcachefs)",
        "the old blocks, in free space and in any snapshot (ZFS: <mount>/.zfs/snapshot)",
        "Destroy the snapshots; on ZFS only a pool-level or device-level erase (Purge) removes old blocks."),
    "log-structured": Spec(
        "ineffective", "log-structured file system (f2fs, nilfs2): writes go to new segments",
        "the old segments until the cleaner reuses them (nilfs2 keeps checkpoints)",
        "Sanitize the device (Purge) or use encryption from the start (cryptographic erase)."),
    "overlay-lower": Spec(
        "ineffective", "overlayfs: the file exists in a lower (read-only) layer",
        "the lower layer's copy, untouched by any write through the overlay",
        "Erase the file in the lower layer itself (often an image layer shared by other containers); "
        "a write through the overlay only changes the upper copy."),
    "overlay-lower-unseen": Spec(
        "uncertain", "overlayfs: a lower layer scrub cannot see or cannot prove is the layer",
        "a copy of the file may be in that lower layer (a lowerdir path names a directory in the view of whoever "
        "mounted the overlay: inside a chroot or container it may be missing, or another directory with the same name)",
        "Inspect and erase the file in the lower layer from where it is visible (the host); treat the overlay as "
        "keeping a copy until then."),
    "reflink-capable": Spec(
        "info", "the file system supports reflinks (XFS reflink=1, btrfs)",
        "nothing now; a reflinked copy made later would share blocks",
        "Nothing for this file; `cp --reflink=never` for secrets."),
    "compressed": Spec(
        "info", "the file's extents are compressed", "(see the copy-on-write finding)",
        "Compressed extents are always rewritten out of place."),
    "fscrypt": Spec(
        "mitigated", "the file is encrypted with fscrypt",
        "any surviving copy (journal, CoW, flash) is ciphertext",
        "Remove the fscrypt key (and its protectors) to make leftovers unreadable: cryptographic erase."),
    "tmpfs": Spec(
        "info", "RAM-backed file system (tmpfs/ramfs)",
        "nothing on disk unless pages were swapped out (see swap)",
        "Nothing on disk to erase; see the swap finding."),
    "tmpfs-swap": Spec(
        "uncertain", "tmpfs pages can be swapped out, and swap is active",
        "copies of the file's pages in swap", "swapoff and overwrite the swap area (or use encrypted swap)."),
    "network-fs": Spec(
        "uncertain", "network file system: the server's storage is not visible from here",
        "whatever the server keeps: its journal, snapshots, backups, client caches",
        "Erase on the server itself, and delete its snapshots and backups."),
    "fuse": Spec(
        "uncertain", "FUSE file system: the backend is unknown",
        "whatever the backend keeps", "Erase through the backend's own tools."),
    # --- block layers -------------------------------------------------------------------
    "loop-backing": Spec(
        "info", "the file system sits on a loop device", "(the backing file's own storage is inspected too)",
        "See the findings for the backing file."),
    "md-redundant": Spec(
        "info", "software RAID with copies or parity (md)",
        "every active member is written through md, so each copy is overwritten",
        "Nothing while the array is healthy."),
    "md-degraded": Spec(
        "uncertain", "degraded md array, or members that are spare, faulty or removed",
        "old data on members not written to now (removed, faulty, spare)",
        "Sanitize every removed or faulty member device."),
    "dm-snapshot-origin": Spec(
        "ineffective", "LVM snapshot origin: writes copy the old chunks into the snapshot",
        "the original data in the snapshot's copy-on-write store",
        "Remove the snapshots (lvremove) before overwriting, then overwrite."),
    "dm-snapshot": Spec(
        "ineffective", "the file is on an LVM snapshot",
        "the origin volume still holds the original blocks",
        "Erase on the origin volume too, then remove the snapshot."),
    "dm-thin": Spec(
        "uncertain", "LVM thin volume: thin snapshots are invisible without root",
        "blocks shared with thin snapshots are reallocated on write, the old ones kept",
        "List thin snapshots (lvs -o name,origin) and remove them before overwriting."),
    "dm-mirror": Spec(
        "info", "device-mapper RAID or mirror", "every active leg is written",
        "Sanitize legs that were split off or failed."),
    "dm-crypt": Spec(
        "mitigated", "the data is encrypted by dm-crypt/LUKS below the file system",
        "any surviving copy on the device is ciphertext",
        "Cryptographic erase: destroy every key slot (cryptsetup luksErase) and header backup."),
    "multipath": Spec("info", "multipath device", "one device reached by several paths", "Nothing extra."),
    "zram": Spec("info", "RAM-backed compressed block device (zram)", "nothing on disk",
                 "A zram reset (or reboot) drops everything."),
    "zram-writeback": Spec(
        "uncertain", "zram with a backing device", "pages written back to the backing device",
        "Sanitize the backing device."),
    "flash": Spec(
        "uncertain", "flash or virtual disk: the device may remap writes (wear levelling, over-provisioning)",
        "old data in remapped or spare cells, out of reach of any overwrite",
        "Purge with the device's sanitize command (NVMe format --ses=2 crypto erase, ATA sanitize), or "
        "encrypt from the start; TRIM the free space (fstrim) as a weaker step."),
    "virtual-disk": Spec(
        "uncertain", "virtual disk: the host's storage and its snapshots are invisible from the guest",
        "copies in the host's image files, caches and snapshots",
        "Erase and delete snapshots on the host (hypervisor or cloud provider) as well."),
    "ebs": Spec(
        "uncertain", "Amazon EBS volume",
        "every EBS snapshot of this volume taken before now, and AMIs made from them",
        "Delete the EBS snapshots of this volume taken before the erase (aws ec2 describe-snapshots "
        "--filters Name=volume-id,Values=<id>), and build shared AMIs from a fresh volume."),
    "instance-store": Spec(
        "uncertain", "EC2 instance store (NVMe flash)", "remapped flash cells",
        "The provider erases instance store when the instance stops; nothing shared survives in an AMI."),
    "xen-vbd": Spec(
        "uncertain", "Xen virtual block device (EBS or instance store cannot be told apart here)",
        "EBS snapshots of the volume, if it is EBS", "Check the block-device mapping; delete old EBS snapshots."),
    # --- system -------------------------------------------------------------------------
    "swap": Spec(
        "info", "swap is active", "memory pages of programs that held the data (editors, shells)",
        "swapoff -a, overwrite the swap areas, then mkswap; or use encrypted swap."),
    "zswap": Spec("info", "zswap is enabled", "compressed pages in RAM, written back to swap",
                  "See the swap finding."),
}

assert all(s.severity in SEVERITIES for s in CATALOG.values())


@dataclass
class Finding:
    id: str
    layer: str  # where: "ext4 on /dev/loop0", "nvme0n1", "system"
    evidence: dict = field(default_factory=dict)
    detail: str = ""  # specifics for this file (device names, layer paths)

    @property
    def spec(self) -> Spec:
        return CATALOG[self.id]

    @property
    def severity(self) -> str:
        return self.spec.severity

    @property
    def summary(self) -> str:
        text = f"{self.spec.title} ({self.layer})"
        return f"{text}: {self.detail}" if self.detail else text

    @property
    def remedy(self) -> str:
        return self.spec.remedy

    def to_json(self) -> dict:
        return {"id": self.id, "severity": self.severity, "layer": self.layer, "title": self.spec.title,
                "detail": self.detail, "survives": self.spec.survives, "remedy": self.spec.remedy,
                "evidence": self.evidence}


# Uncertain findings that --strict refuses all the same: a copy is likely and the place is
# known, only not visible from here (unlike a virtual disk, which would make --strict refuse
# every file of every VM).
STRICT_REFUSES = frozenset({"overlay-lower-unseen"})


def refused_by_strict(f: Finding) -> bool:
    return f.severity == "ineffective" or f.id in STRICT_REFUSES


def worst(findings) -> str | None:
    for sev in SEVERITIES:
        if any(f.severity == sev for f in findings):
            return sev
    return None
