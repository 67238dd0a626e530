"""Small Linux system-call helpers the standard library lacks (ctypes/fcntl, no compiler)."""

from __future__ import annotations

import ctypes
import errno
import fcntl
import os
import struct

RENAME_NOREPLACE = 1

FS_IOC_GETFLAGS = 0x80086601
FS_APPEND_FL = 0x00000020
FS_IMMUTABLE_FL = 0x00000010
FS_INLINE_DATA_FL = 0x10000000
BLKGETSIZE64 = 0x80081272

_libc = ctypes.CDLL(None, use_errno=True)
_renameat2 = getattr(_libc, "renameat2", None)
if _renameat2 is not None:
    _renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    _renameat2.restype = ctypes.c_int


def rename_noreplace(dirfd: int, old: bytes, new: bytes) -> None:
    """Rename within one directory without ever replacing an existing name.

    Raises FileExistsError when ``new`` exists.  Where the kernel or file system does not
    support RENAME_NOREPLACE, falls back to check-then-rename, which a racing writer of the
    same directory could defeat (documented in docs/threat-model.md).
    """
    if _renameat2 is not None:
        if _renameat2(dirfd, old, dirfd, new, RENAME_NOREPLACE) == 0:
            return
        err = ctypes.get_errno()
        if err not in (errno.EINVAL, errno.ENOSYS):
            raise OSError(err, os.strerror(err), old, None, new)
    try:
        os.stat(new, dir_fd=dirfd, follow_symlinks=False)
    except FileNotFoundError:
        os.rename(old, new, src_dir_fd=dirfd, dst_dir_fd=dirfd)
    else:
        raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), new)


def inode_flags(fd: int) -> int | None:
    """FS_IOC_GETFLAGS, or None where the file system has no such flags (FUSE, procfs)."""
    buf = bytearray(8)
    try:
        fcntl.ioctl(fd, FS_IOC_GETFLAGS, buf)
    except OSError:
        return None
    return struct.unpack_from("=I", buf)[0]


def block_device_size(fd: int) -> int:
    buf = bytearray(8)
    fcntl.ioctl(fd, BLKGETSIZE64, buf)
    return struct.unpack("=Q", bytes(buf))[0]
