"""Storage stacks on fake /proc and /sys trees: md, LVM (linear, snapshot, thin), dm-crypt,
NVMe EBS (with and without native multipath), instance store, Xen, loop, zram, swap,
zswap, overlay, and mountinfo escaping.  The file inspected is real (a tmp file); its
mount line in the fake mountinfo carries the real mount id, so inspect() runs end to end."""

from __future__ import annotations

import struct

import pytest

from scrub.storage import Inspector, parse_mountinfo, parse_swaps
from scrub.storage.filesystems import overlay_lowers, parse_ext_superblock
from fakesys import SCSI, FakeSys, real_mount_id

LVM_VG = "Uq2y4MzaRpGE1XwVHSYDU5VAuHXXOA4g"


@pytest.fixture
def fake(tmp_path):
    return FakeSys(tmp_path / "root")


@pytest.fixture
def victim(tmp_path):
    f = tmp_path / "data" / "secret"
    f.parent.mkdir()
    f.write_bytes(b"x" * 10000)
    return f


def inspect_on(fake: FakeSys, victim, devnum: str, *, fstype="ext4", source="/dev/fake", options="data=ordered",
               devname=None, super_options="rw"):
    fake.mountinfo(fake.mount_line(real_mount_id(victim), devnum, str(victim.parent), fstype, source, super_options))
    if fstype == "ext4" and devname:
        fake.write(f"proc/fs/ext4/{devname}/options", "rw\nbsdgroups\n" + "\n".join(options.split(",")) + "\n")
        (fake.proc / "fs" / "jbd2" / f"{devname}-8").mkdir(parents=True, exist_ok=True)
    return Inspector(procfs=str(fake.proc), sysfs=str(fake.sys)).inspect(victim)


def ids(report):
    return {f.id: f.severity for f in report.findings}


def test_md_raid1_healthy_and_degraded(fake, victim):
    sda = fake.block("sda", "8:0", under=SCSI)
    sdb = fake.block("sdb", "8:16", under=SCSI.replace("0:0:0:0", "1:0:0:0"))
    sda1, sdb1 = fake.partition(sda, "sda1", "8:1", 1), fake.partition(sdb, "sdb1", "8:17", 1)
    md = fake.block("md0", "9:0", attrs={"md/level": "raid1", "md/raid_disks": "2", "md/degraded": "0",
                                        "md/array_state": "clean", "md/dev-sda1/state": "in_sync",
                                        "md/dev-sdb1/state": "in_sync"}, slaves=(sda1, sdb1))
    report = inspect_on(fake, victim, "9:0", devname="md0")
    assert ids(report) == {"md-redundant": "info"}
    assert [(layer.kind, layer.name) for layer in report.layers] == [
        ("md", "md0"), ("partition", "sda1"), ("disk", "sda"), ("partition", "sdb1"), ("disk", "sdb")]
    (md / "md" / "degraded").write_text("1\n")
    (md / "md" / "dev-sdb1" / "state").write_text("faulty\n")
    report = inspect_on(fake, victim, "9:0", devname="md0")
    assert ids(report) == {"md-redundant": "info", "md-degraded": "uncertain"}
    assert "sdb1 (faulty)" in next(f for f in report.findings if f.id == "md-degraded").detail


def _sdb3(fake):
    sdb = fake.block("sdb", "8:16", under=SCSI)
    return fake.partition(sdb, "sdb3", "8:19", 3)


def test_lvm_linear_has_no_copy(fake, victim):
    sdb3 = _sdb3(fake)
    fake.dm(3, "volumeGroup-data", f"LVM-{LVM_VG}{'D' * 32}", (sdb3,))
    report = inspect_on(fake, victim, "254:3", devname="dm-3")
    assert ids(report) == {}
    assert [layer.kind for layer in report.layers] == ["dm-lvm", "partition", "disk"]


def _snapshot_stack(fake):
    sdb3 = _sdb3(fake)
    real = fake.dm(11, "volumeGroup-base-real", f"LVM-{LVM_VG}{'B' * 32}-real", (sdb3,))
    cow = fake.dm(12, "volumeGroup-snap-cow", f"LVM-{LVM_VG}{'S' * 32}-cow", (sdb3,))
    fake.dm(10, "volumeGroup-base", f"LVM-{LVM_VG}{'B' * 32}", (real,))
    fake.dm(13, "volumeGroup-snap", f"LVM-{LVM_VG}{'S' * 32}", (real, cow))


def test_lvm_snapshot_origin(fake, victim):
    _snapshot_stack(fake)
    report = inspect_on(fake, victim, "254:10", devname="dm-10")
    assert ids(report) == {"dm-snapshot-origin": "ineffective"}
    assert "volumeGroup-snap" in next(f for f in report.findings if f.id == "dm-snapshot-origin").detail
    assert report.overwrite_reaches_every_copy is False


def test_lvm_snapshot_itself(fake, victim):
    _snapshot_stack(fake)
    report = inspect_on(fake, victim, "254:13", devname="dm-13")
    assert ids(report) == {"dm-snapshot": "ineffective"}


def test_lvm_thin(fake, victim):
    sdb3 = _sdb3(fake)
    tdata = fake.dm(17, "vg-pool_tdata", f"LVM-{LVM_VG}{'T' * 32}-tdata", (sdb3,))
    tmeta = fake.dm(18, "vg-pool_tmeta", f"LVM-{LVM_VG}{'M' * 32}-tmeta", (sdb3,))
    pool = fake.dm(19, "vg-pool-tpool", f"LVM-{LVM_VG}{'P' * 32}-tpool", (tdata, tmeta))
    fake.dm(20, "vg-thinvol", f"LVM-{LVM_VG}{'V' * 32}", (pool,))
    report = inspect_on(fake, victim, "254:20", devname="dm-20")
    assert ids(report) == {"dm-thin": "uncertain"}


def test_dm_crypt_and_lvm_on_luks(fake, victim):
    sda = fake.block("sda", "8:0", under=SCSI, attrs={"queue/rotational": "0"})
    sda2 = fake.partition(sda, "sda2", "8:2", 2)
    luks = fake.dm(0, "cryptroot", "CRYPT-LUKS2-6d1c2b7a0e9f4c1d8a3b5e7f9c0d2e4a-cryptroot", (sda2,))
    fake.dm(1, "vg-root", f"LVM-{LVM_VG}{'R' * 32}", (luks,))
    report = inspect_on(fake, victim, "254:1", devname="dm-1")
    assert ids(report) == {"dm-crypt": "mitigated", "flash": "uncertain"}
    assert [layer.kind for layer in report.layers] == ["dm-lvm", "dm-crypt", "partition", "disk"]
    assert report.layers[1].facts["type"] == "LUKS2"


NVME_MODEL = "Amazon Elastic Block Store              "


def test_nvme_ebs_without_multipath(fake, victim):
    ctrl = fake.sys / "devices/pci0000:00/0000:00:04.0/nvme/nvme0"
    for k, v in {"model": NVME_MODEL, "serial": "vol0123456789abcdef0", "transport": "pcie", "firmware_rev": "1.0     "}.items():
        fake.write(str((ctrl / k).relative_to(fake.root)), v + "\n")
    disk = fake.block("nvme0n1", "259:0", under="devices/pci0000:00/0000:00:04.0/nvme/nvme0",
                      attrs={"queue/rotational": "0", "nsid": "1"})
    fake.link(disk / "device", ctrl)
    fake.partition(disk, "nvme0n1p1", "259:1", 1)
    report = inspect_on(fake, victim, "259:1", devname="nvme0n1p1")
    assert ids(report) == {"ebs": "uncertain"}
    ebs = report.findings[0]
    assert ebs.evidence["volume_id"] == "vol-0123456789abcdef0" and "snapshot" in ebs.remedy.lower()


def test_nvme_ebs_with_native_multipath(fake, victim):
    subsys = fake.sys / "devices/virtual/nvme-subsystem/nvme-subsys0"
    for k, v in {"model": NVME_MODEL, "serial": "vol0fedcba9876543210", "iopolicy": "numa"}.items():
        fake.write(str((subsys / k).relative_to(fake.root)), v + "\n")
    disk = fake.block("nvme0n1", "259:0", under="devices/virtual/nvme-subsystem/nvme-subsys0",
                      attrs={"queue/rotational": "0"})
    fake.link(disk / "device", subsys)
    report = inspect_on(fake, victim, "259:0", devname="nvme0n1")
    assert report.findings[0].evidence["volume_id"] == "vol-0fedcba9876543210"


def test_instance_store(fake, victim):
    ctrl = fake.sys / "devices/pci0000:00/0000:00:1f.0/nvme/nvme1"
    fake.write(str((ctrl / "model").relative_to(fake.root)), "Amazon EC2 NVMe Instance Storage        \n")
    fake.write(str((ctrl / "serial").relative_to(fake.root)), "AWS24BBF51AF55097008\n")
    disk = fake.block("nvme1n1", "259:2", under="devices/pci0000:00/0000:00:1f.0/nvme/nvme1")
    fake.link(disk / "device", ctrl)
    assert ids(inspect_on(fake, victim, "259:2", devname="nvme1n1")) == {"instance-store": "uncertain"}


def test_xen_vbd(fake, victim):
    vbd = fake.sys / "devices/vbd-51712"
    fake.write("sys/devices/vbd-51712/devtype", "vbd\n")
    disk = fake.block("xvda", "202:0", under="devices/vbd-51712/block")
    fake.link(disk / "device", vbd)
    fake.partition(disk, "xvda1", "202:1", 1)
    assert ids(inspect_on(fake, victim, "202:1", devname="xvda1")) == {"xen-vbd": "uncertain"}


def test_loop_device_and_deleted_backing_file(fake, victim, tmp_path):
    backing = tmp_path / "backing.img"
    backing.write_bytes(b"\0" * 4096)
    loop = fake.block("loop0", "7:0", attrs={"loop/backing_file": str(backing), "loop/offset": "0", "loop/dio": "0"})
    report = inspect_on(fake, victim, "7:0", devname="loop0")
    assert report.layers[0].kind == "loop" and report.layers[0].facts["backing_file"] == str(backing)
    assert "loop-backing" in ids(report)
    # the backing file's own storage is inspected too (on the fake tree it has no mount line)
    (loop / "loop" / "backing_file").write_text(f"{backing} (deleted)\n")
    report = inspect_on(fake, victim, "7:0", devname="loop0")
    assert ids(report) == {"loop-backing": "info"}


def test_zram_with_and_without_backing_device(fake, victim):
    z = fake.block("zram0", "252:0", attrs={"comp_algorithm": "[lzo-rle] lz4", "queue/rotational": "0"})
    assert ids(inspect_on(fake, victim, "252:0", devname="zram0")) == {"zram": "info"}
    (z / "backing_dev").write_text("/dev/sdc\n")
    assert ids(inspect_on(fake, victim, "252:0", devname="zram0")) == {"zram-writeback": "uncertain"}


def test_swap_and_zswap(fake, victim):
    fake.block("sda", "8:0", under=SCSI)
    fake.write("proc/swaps", "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"
                             "/mnt/x/swaphost/swap\\040file              file\t\t16372\t\t0\t\t-2\n"
                             "/dev/zram0                              partition\t4194300\t\t0\t\t100\n")
    fake.write("sys/module/zswap/parameters/enabled", "Y\n")
    report = inspect_on(fake, victim, "8:0", devname="sda")
    assert ids(report) == {"swap": "info", "zswap": "info"}
    swap = next(f for f in report.findings if f.id == "swap")
    assert swap.evidence["swaps"] == ["/mnt/x/swaphost/swap file", "/dev/zram0"]


def test_tmpfs_with_swap_is_uncertain(fake, victim):
    fake.write("proc/swaps", "Filename Type Size Used Priority\n/dev/sda2 partition 1000 0 -2\n")
    report = inspect_on(fake, victim, "0:50", fstype="tmpfs", source="tmpfs")
    assert ids(report) == {"tmpfs": "info", "tmpfs-swap": "uncertain", "swap": "info"}


def test_overlay_lower_layers(fake, victim, tmp_path):
    lower1, lower2 = tmp_path / "l1", tmp_path / "l2"
    (lower1).mkdir()
    (lower2).mkdir()
    (lower2 / "secret").write_bytes(b"old copy")
    opts = f"rw,lowerdir={lower1}:{lower2},upperdir={tmp_path}/up,workdir={tmp_path}/wk,uuid=on"
    report = inspect_on(fake, victim, "0:41", fstype="overlay", source="overlay", super_options=opts)
    [f] = [f for f in report.findings if f.id == "overlay-lower"]
    assert f.severity == "ineffective" and f.evidence["lowerdir"] == str(lower2)
    (lower2 / "secret").unlink()
    report = inspect_on(fake, victim, "0:41", fstype="overlay", source="overlay", super_options=opts)
    assert "overlay-lower" not in ids(report)


def test_overlay_lowerdir_plus_and_escaped_colons():
    [m] = parse_mountinfo("50 1 0:41 / /merged rw - overlay overlay rw,lowerdir+=/a,lowerdir+=/b,datadir+=/c,upperdir=/u\n")
    assert overlay_lowers(m) == ["/a", "/b", "/c"]
    [m] = parse_mountinfo("50 1 0:41 / /merged rw - overlay overlay rw,lowerdir=/x\\:y:/z,upperdir=/u\n")
    assert overlay_lowers(m) == ["/x:y", "/z"]


@pytest.mark.parametrize("options,want", [("data=journal", {"ext4-data-journal": "ineffective"}),
                                          ("data=ordered", {}), ("data=writeback", {})])
def test_ext4_journal_mode_from_proc(fake, victim, options, want):
    fake.block("sda", "8:0", under=SCSI)
    assert ids(inspect_on(fake, victim, "8:0", devname="sda", options=options)) == want


def test_ext4_mode_unknown_without_proc_or_superblock(fake, victim):
    fake.block("sda", "8:0", under=SCSI)
    report = inspect_on(fake, victim, "8:0", devname=None)
    assert ids(report) == {"ext4-mode-unknown": "uncertain"}


def test_ext_superblock_fields():
    sb = bytearray(4096)
    struct.pack_into("<H", sb, 0x438, 0xEF53)
    struct.pack_into("<II", sb, 0x45C, 0x3C, 0x8000 | 0x40)
    struct.pack_into("<I", sb, 0x500, 0x2C)  # user_xattr|acl|journal_data
    parsed = parse_ext_superblock(bytes(sb))
    assert parsed.has_journal and parsed.inline_data and parsed.data_mode == "journal"
    sb[0x600:0x600 + 17] = b"data=writeback\0\0\0"
    assert parse_ext_superblock(bytes(sb)).data_mode == "writeback"
    assert parse_ext_superblock(bytes(4096)) is None


def test_mountinfo_escapes():
    text = ("42 27 0:39 / /mnt/x/esc\\040sp\\011tab\\134bs#hash,comma rw,relatime - tmpfs my\\040src rw,size=8192k\n"
            "43 27 0:40 /sub\\012dir /mnt/nl\\012name rw master:3 propagate_from:2 - ext4 /dev/sda1 rw,data=journal\n")
    a, b = parse_mountinfo(text)
    assert a.mountpoint == "/mnt/x/esc sp\ttab\\bs#hash,comma" and a.source == "my src" and a.optional == ()
    assert b.root == "/sub\ndir" and b.mountpoint == "/mnt/nl\nname" and b.optional == ("master:3", "propagate_from:2")
    assert b.option("data") == "journal" and a.option("size") == "8192k" and a.option("nope") is None


def test_mountinfo_rejects_garbage():
    with pytest.raises(ValueError, match="unparseable"):
        parse_mountinfo("this is not mountinfo\n")


def test_swaps_parser_is_lenient():
    swaps = parse_swaps("Filename Type Size Used Priority\n/dev/sda2 partition 1 0 -2\nbroken line\n"
                        "/swap\\040x file 5 1 3 extra-id\n")
    assert [(s.name, s.type, s.size_kib) for s in swaps] == [("/dev/sda2", "partition", 1), ("/swap x", "file", 5)]


@pytest.mark.parametrize("fstype,source,want", [
    ("nfs4", "fs-0123abcd.efs.eu-west-1.amazonaws.com:/", {"network-fs": "uncertain"}),
    ("cifs", "//server/share", {"network-fs": "uncertain"}),
    ("fuse.sshfs", "user@host:/srv", {"fuse": "uncertain"}),
    ("zfs", "rpool/home", {"cow-filesystem": "ineffective"}),
    ("bcachefs", "/dev/sdz", {"cow-filesystem": "ineffective"}),
    ("f2fs", "/dev/sdz", {"log-structured": "ineffective"}),
    ("nilfs2", "/dev/sdz", {"log-structured": "ineffective"}),
])
def test_file_systems_known_by_type(fake, victim, fstype, source, want):
    assert ids(inspect_on(fake, victim, "0:77", fstype=fstype, source=source)) == want


def test_ext4_external_journal(fake, victim):
    fake.block("sda", "8:0", under=SCSI)
    report = inspect_on(fake, victim, "8:0", devname="sda", options="data=ordered,journal_path=/dev/sdb1")
    assert ids(report) == {"ext4-external-journal": "info"}


def test_xfs_external_log_and_realtime_device(fake, victim):
    fake.block("sda", "8:0", under=SCSI)
    report = inspect_on(fake, victim, "8:0", fstype="xfs", source="/dev/sda",
                        super_options="rw,logdev=/dev/sdb1,rtdev=/dev/sdc1,noquota")
    [f] = [f for f in report.findings if f.id == "xfs-external-log"]
    assert f.severity == "info" and f.evidence == {"logdev": "/dev/sdb1", "rtdev": "/dev/sdc1"}
