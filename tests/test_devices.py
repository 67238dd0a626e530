"""Block devices: shred refuses a device that is in use (mounted, a mounted partition, active
swap, held by dm/md/LVM, exclusively opened) and `storage /dev/X` inspects the device itself."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import lab as L
from fakesys import FakeSys
from scrub.storage.busy import device_users

SCSI = "devices/pci0000:00/0000:00:1f.2/ata1/host0/target0:0:0/0:0:0:0/block"


def cli(*args):
    proc = subprocess.run([sys.executable, "-m", "scrub", *args], capture_output=True, text=True, timeout=120)
    return proc.returncode, proc


def _device_with_marker(lab, name="dev", size_mb=40):
    image = lab.image(name, size_mb)
    marker = L.new_marker()
    L.marker_file(image, marker, 4 << 20)
    os.truncate(image, size_mb << 20)
    return image, marker, lab.loop(image)


def _refused(dev, image, marker, why):
    code, proc = cli("shred", "--json", "--device", "-n", "1", "-s", "1M", dev)
    assert code == 1, proc.stdout + proc.stderr
    [r] = json.loads(proc.stdout)["data"]["results"]
    assert r["status"] == "refused" and r["errors"][0]["code"] == "in-use", r
    assert why in r["errors"][0]["message"], r["errors"][0]["message"]
    assert L.count_marker([image], marker) > 0, "the device was written"


def test_a_mounted_device_is_refused(lab):
    image = lab.image("mounted", 40)
    dev = lab.loop(image)
    lab.mkfs("ext4", dev)
    mnt = lab.mount(dev, lab.dir / "mnt")
    marker = L.new_marker()
    (mnt / "f").write_bytes(marker * 1000)
    os.sync()
    code, proc = cli("shred", "--json", "--device", "-n", "1", dev)
    [r] = json.loads(proc.stdout)["data"]["results"]
    assert code == 1 and r["errors"][0]["code"] == "in-use" and f"is mounted at {mnt}" in r["errors"][0]["message"]
    lab.umount(mnt)
    assert L.count_marker([image], marker) > 0, "the mounted device was written"


def test_active_swap_is_refused(lab):
    image, marker, dev = _device_with_marker(lab, "swap", 40)
    L.run("mkswap", dev)
    L.run("swapon", dev)
    try:
        _refused(dev, image, marker, "is active swap")
    finally:
        L.run("swapoff", dev, check=False)


def test_an_exclusive_opener_makes_the_kernel_refuse(lab):
    image, marker, dev = _device_with_marker(lab, "excl", 40)
    holder = os.open(dev, os.O_RDONLY | os.O_EXCL)
    try:
        code, proc = cli("shred", "--json", "--device", "-n", "1", "-s", "1M", dev)
        [r] = json.loads(proc.stdout)["data"]["results"]
        assert code == 1 and r["errors"][0]["code"] == "in-use" and "exclusive open" in r["errors"][0]["message"]
    finally:
        os.close(holder)
    assert L.count_marker([image], marker) > 0
    code, proc = cli("shred", "--json", "--device", "-n", "1", "--no-storage", dev)  # free now: written
    assert code == 0, proc.stdout + proc.stderr
    os.sync()
    subprocess.run(["losetup", "-d", dev], check=True)
    lab.loops.remove(dev)
    assert L.count_marker([image], marker) == 0


def test_storage_inspects_the_device_not_devtmpfs(lab):
    image, marker, dev = _device_with_marker(lab, "insp", 40)
    code, proc = cli("storage", "--json", dev)
    [r] = json.loads(proc.stdout)["data"]["reports"]
    assert r["fstype"] == "block device" and r["device"] == os.path.basename(dev), r
    assert any(layer["kind"] == "loop" for layer in r["layers"])
    assert "devtmpfs" not in proc.stdout
    code, proc = cli("storage", dev)
    assert "the block device itself" in proc.stdout


def test_holders_partitions_and_swap_on_a_fake_tree(tmp_path):
    """Partitions of a loop device do not appear on this VM (no partition scan), so the
    mounted-partition case is shown on a fake tree laid out as the kernel lays it out."""
    fs = FakeSys(tmp_path)
    disk = fs.block("sdb", "8:16", under=SCSI)
    p1 = fs.partition(disk, "sdb1", "8:17", 1)
    fs.dm(0, "vg-lv", "LVM-abc", slaves=(p1,))
    fs.mountinfo(fs.mount_line(20, "8:1", "/", "ext4", "/dev/sda1"))
    rdev = os.makedev(8, 16)
    why = device_users(rdev, procfs=str(fs.proc), sysfs=str(fs.sys))
    assert why == ["sdb1 is held by dm-0 (device-mapper, md or LVM)"]
    fs.mountinfo(fs.mount_line(20, "8:17", "/srv", "xfs", "/dev/sdb1"))
    assert "sdb1 is mounted at /srv (xfs)" in device_users(rdev, procfs=str(fs.proc), sysfs=str(fs.sys))
    fs.write("proc/swaps", "Filename\tType\tSize\tUsed\tPriority\n/dev/sdb1  partition\t1\t0\t-2\n")
    assert "sdb1 is active swap" in device_users(rdev, procfs=str(fs.proc), sysfs=str(fs.sys))
