"""Safe access to a tree that other users control.

Every directory is opened one component at a time relative to its parent's fd with
O_NOFOLLOW, so no symlink is ever followed and nothing outside the root is reached, however
the tree changes under us.  Only home directories named in /etc/passwd are resolved with
symlinks allowed, and then clamped to the root (openat2 RESOLVE_IN_ROOT, as if chrooted).
"""

from __future__ import annotations

import ctypes
import errno
import os
import stat
from typing import Callable, Iterator

O_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
O_FILE = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC

RESOLVE_NO_XDEV, RESOLVE_NO_MAGICLINKS, RESOLVE_NO_SYMLINKS, RESOLVE_BENEATH, RESOLVE_IN_ROOT = 1, 2, 4, 8, 16
SYS_openat2 = 437  # the same number on x86-64 and the asm-generic architectures (arm64)

_libc = ctypes.CDLL(None, use_errno=True)


class _OpenHow(ctypes.Structure):
    _fields_ = [("flags", ctypes.c_uint64), ("mode", ctypes.c_uint64), ("resolve", ctypes.c_uint64)]


_have_openat2: bool | None = None


def openat2(dirfd: int, path: bytes, flags: int, resolve: int) -> int:
    """openat2(2); raises OSError (ENOSYS where the kernel is older than 5.6)."""
    how = _OpenHow(flags, 0, resolve)
    fd = _libc.syscall(SYS_openat2, dirfd, ctypes.c_char_p(path), ctypes.byref(how), ctypes.sizeof(how))
    if fd < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err), path)
    return fd


def open_in_root(root_fd: int, path: bytes, flags: int = O_DIR & ~os.O_NOFOLLOW) -> int:
    """Open ``path`` as if ``root_fd`` were "/": symlinks are followed but can never lead
    out of the root (absolute targets and ".." are clamped to it)."""
    global _have_openat2
    rel = path.lstrip(b"/") or b"."
    if _have_openat2 is not False:
        try:
            fd = openat2(root_fd, rel, flags, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)
            _have_openat2 = True
            return fd
        except OSError as exc:
            if exc.errno != errno.ENOSYS:
                raise
            _have_openat2 = False
    return _open_in_root_by_hand(root_fd, rel, flags)


def _open_in_root_by_hand(root_fd: int, rel: bytes, flags: int) -> int:
    """The same clamping, component by component, for kernels without openat2."""
    fd, _ = _resolve_in_root(root_fd, rel, flags)
    return fd


def real_path_in_root(root_fd: int, path: bytes) -> bytes:
    """The canonical path of ``path`` inside the root, symlinks resolved as open_in_root
    resolves them (clamped to the root): the path a bundler walking the root will see
    (``/home/alice`` is ``/var/home/alice`` where ``home -> var/home``).  Raises OSError."""
    _, names = _resolve_in_root(root_fd, path, None)
    return b"/" + b"/".join(names)


def _resolve_in_root(root_fd: int, path: bytes, flags: int | None) -> tuple[int, list[bytes]]:
    """Walk ``path`` from the root one component at a time, following symlinks as if the
    root were "/" (absolute targets and ".." clamped to it).  Returns (fd, names): with
    ``flags``, an fd of the last component opened with them (else -1), and the canonical
    component names."""
    parts = [p for p in path.split(b"/") if p not in (b"", b".")]
    names: list[bytes] = []
    stack: list[int] = []  # fds of the directories walked so far, below the root
    links = 0
    try:
        while parts:
            name = parts.pop(0)
            cur = stack[-1] if stack else root_fd
            if name == b"..":
                if stack:
                    os.close(stack.pop())
                    names.pop()
                continue
            st = os.stat(name, dir_fd=cur, follow_symlinks=False)
            if stat.S_ISLNK(st.st_mode):
                links += 1
                if links > 40:
                    raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), path)
                target = os.readlink(name, dir_fd=cur)
                if target.startswith(b"/"):
                    while stack:
                        os.close(stack.pop())
                    names.clear()
                parts = [p for p in target.split(b"/") if p not in (b"", b".")] + parts
                continue
            names.append(name)
            if not parts:
                return (os.open(name, flags | os.O_NOFOLLOW, dir_fd=cur) if flags is not None else -1), names
            stack.append(os.open(name, O_DIR, dir_fd=cur))
        return (os.open(b".", flags, dir_fd=stack[-1] if stack else root_fd) if flags is not None else -1), names
    finally:
        for fd in stack:
            os.close(fd)


def lstat_at(dirfd: int, name: bytes) -> os.stat_result | None:
    try:
        return os.stat(name, dir_fd=dirfd, follow_symlinks=False)
    except OSError:
        return None


def kind_of_mode(mode: int) -> str:
    for test, kind in ((stat.S_ISREG, "file"), (stat.S_ISDIR, "dir"), (stat.S_ISLNK, "symlink"), (stat.S_ISFIFO, "fifo"),
                       (stat.S_ISSOCK, "socket"), (stat.S_ISCHR, "char"), (stat.S_ISBLK, "block")):
        if test(mode):
            return kind
    return "other"


class TooDeep(OSError):
    """A directory below the walk's depth limit: an error for that path, never a silent skip."""

    def __init__(self, rel: str, limit: int):
        super().__init__(errno.ELOOP, f"deeper than {limit} levels: not walked", rel)


class MountBelow(OSError):
    """A directory that is another mount (a bind mount, an automount, a FUSE mount)."""

    def __init__(self, rel: str):
        super().__init__(errno.EXDEV, "a mount point below the start: not entered", rel)


def mount_key(fd: int, st: os.stat_result | None = None) -> tuple:
    """What tells one mount from another: the statx mount id (a bind mount of the same file
    system has the same st_dev), else st_dev on kernels before 5.8."""
    from scrub.storage._sys import statx_fd

    sx = statx_fd(fd)
    if sx is not None and sx.mnt_id is not None:
        return ("mnt", sx.mnt_id)
    return ("dev", (st or os.fstat(fd)).st_dev)


def walk(start_fd: int, *, on_error: Callable[[str, OSError], None],
         prune: Callable[[str, os.stat_result], bool] | None = None, max_depth: int = 64,
         same_device: bool = False) -> Iterator[tuple[int, str, str, str]]:
    """Depth-first walk below ``start_fd`` (not closed here), never following a symlink.

    Yields ``(dirfd, prefix, name, kind)``: ``prefix + name`` is the path below the start
    (names are str, decoded with surrogateescape, so ``os.fsencode`` restores the bytes);
    ``dirfd`` is the containing directory, valid until the next step.  Kinds: file, dir,
    symlink, fifo, socket, char, block, other.  Directories are entered unless
    ``prune(rel, stat)`` says no; unreadable ones, ones deeper than ``max_depth`` (TooDeep)
    and, with ``same_device``, mount points (MountBelow) go to ``on_error`` and are skipped.
    At most one fd per level is open (a directory's subdirectories are opened one at a time,
    by name, when the walk reaches them), so a tree of many directories cannot exhaust fds.
    Plain tuples and d_type from getdents keep this near the speed of os.scandir itself.
    """
    root_dev = mount_key(start_fd) if same_device else None
    # each level: (fd, prefix, depth, names of subdirectories still to enter)
    stack: list[tuple[int, str, int, list[str]]] = []

    def enter(fd: int, prefix: str, depth: int) -> Iterator[tuple[int, str, str, str]]:
        subdirs: list[str] = []
        try:
            with os.scandir(fd) as it:
                entries = list(it)
        except OSError as exc:
            on_error(prefix.rstrip("/") or ".", exc)
            entries = []
        stack.append((fd, prefix, depth, subdirs))
        for de in entries:
            name = de.name
            try:
                if de.is_file(follow_symlinks=False):
                    kind = "file"
                elif de.is_dir(follow_symlinks=False):
                    kind = "dir"
                elif de.is_symlink():
                    kind = "symlink"
                else:
                    kind = kind_of_mode(de.stat(follow_symlinks=False).st_mode)
            except OSError:
                continue  # vanished
            yield fd, prefix, name, kind
            if kind == "dir":
                subdirs.append(name)
        subdirs.reverse()  # popped from the end: entered in listing order

    try:
        yield from enter(os.dup(start_fd), "", 0)
        while stack:
            fd, prefix, depth, subdirs = stack[-1]
            if not subdirs:
                os.close(fd)
                stack.pop()
                continue
            name = subdirs.pop()
            rel = prefix + name
            if depth >= max_depth:
                on_error(rel, TooDeep(rel, max_depth))
                continue
            try:
                sub = os.open(name, O_DIR, dir_fd=fd)
            except OSError as exc:
                if exc.errno not in (errno.ELOOP, errno.ENOENT, errno.ENOTDIR):  # swapped or gone just now
                    on_error(rel, exc)
                continue
            try:
                st = os.fstat(sub)
            except OSError as exc:
                os.close(sub)
                on_error(rel, exc)
                continue
            if root_dev is not None and mount_key(sub, st) != root_dev:
                os.close(sub)
                on_error(rel, MountBelow(rel))
                continue
            if prune is not None and prune(rel, st):
                os.close(sub)
                continue
            yield from enter(sub, rel + "/", depth + 1)
    finally:
        for fd, _, _, _ in stack:
            os.close(fd)


def read_head(dirfd: int, name: bytes | str, limit: int) -> tuple[bytes, os.stat_result] | None:
    """Up to ``limit`` bytes of a regular file, opened without following links and without
    blocking (a FIFO planted under the name is never read).  None if not a regular file."""
    try:
        fd = os.open(name, O_FILE, dir_fd=dirfd)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return None
        want = min(st.st_size, limit)
        chunks, got = [], 0
        while got < want:
            part = os.read(fd, want - got)
            if not part:
                break
            chunks.append(part)
            got += len(part)
        return b"".join(chunks), st
    except OSError:
        return None
    finally:
        os.close(fd)
