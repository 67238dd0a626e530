"""shred(): overwrite files (and, when asked, block devices) in place, verify, then remove.

Order per path: open beneath its directory without following links, check what it is and
who else can reach it, plan the byte ranges, run every pass (write, fdatasync, optional
read-back), then truncate, rename to ever shorter names, unlink and sync the directory.
One bad path never stops the others; Ctrl-C stops after the current chunk and leaves the
file in place.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno as E
import fcntl
import math
import os
import re
import stat
import threading
import time
from dataclasses import dataclass
from functools import partial
from typing import Callable, Iterable

from scrub import _linux
from scrub._native import CHUNK, Control, Engine, RangeOutcome, aligned_buffer, engine as pick_engine
from scrub._paths import as_bytes, as_path_list, c_quote, display
from scrub.exceptions import Interrupted, UsageError
from scrub.results import PassRecord, Progress, ShredResult
from scrub.schemes import Pass, Scheme, lookup, shred_passes

REMOVE_MODES = ("unlink", "wipe", "wipesync")
VERIFY_MODES = ("none", "last", "all")
NAME_ALPHABET = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_"
RENAME_TRIES_PER_LENGTH = 512
PROGRESS_INTERVAL = 0.2
DEFER_MAX_DIRS = 128  # deferred directory syncs hold one fd each: past this many, sync at once
DIRECT_MIN = 1 << 20  # by default O_DIRECT only from this size: small writes are cheaper buffered


# --------------------------------------------------------------------------------------
# Planning


def plan(scheme: str | Scheme | None = None, iterations: int | None = None, zero: bool = False) -> tuple[Pass, ...]:
    """The pass sequence: a scheme, or GNU shred's ``-n N`` pool (default N=3), plus ``-z``."""
    if scheme is not None and iterations is not None:
        raise UsageError("give either a scheme or a pass count (-n), not both")
    if iterations is not None and iterations < 0:
        raise UsageError(f"invalid number of passes: {iterations}")
    if scheme is None:
        passes = shred_passes(3 if iterations is None else iterations)
    else:
        try:
            passes = (lookup(scheme) if isinstance(scheme, str) else scheme).passes
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    return passes + ((Pass(b"\x00"),) if zero else ())


def data_ranges(fd: int, size: int) -> list[tuple[int, int]]:
    """Allocated ranges of [0, size) by SEEK_DATA/SEEK_HOLE; the whole range where the file
    system cannot tell."""
    ranges, pos = [], 0
    while pos < size:
        try:
            start = os.lseek(fd, pos, os.SEEK_DATA)
        except OSError as exc:
            if exc.errno == E.ENXIO:  # no data past pos
                break
            return [(0, size)]
        if start >= size:
            break
        end = min(os.lseek(fd, start, os.SEEK_HOLE), size)
        ranges.append((start, end - start))
        pos = end
    return ranges


def round_ranges(ranges: list[tuple[int, int]], block: int, limit: int) -> list[tuple[int, int]]:
    """Extend each range to the block boundary (the slack after the data), capped at
    ``limit``, and merge what then touches."""
    out: list[list[int]] = []
    for off, n in ranges:
        end = min(-(-(off + n) // block) * block, limit)
        if out and off <= out[-1][1]:
            out[-1][1] = max(out[-1][1], end)
        else:
            out.append([off, end])
    return [(a, b - a) for a, b in out if b > a]


_SIZE_NUMBER = re.compile(r"[ \t\n\v\f\r]*\+?(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)")
_POWERS = "KMGTPEZY"
INTMAX = (1 << 63) - 1


def parse_size(text: str) -> int:
    """A size as GNU shred's ``-s`` reads it (checked against coreutils 9.1): a C integer
    (leading blanks and ``+`` allowed, ``0x`` hex, a leading ``0`` octal), then at most one
    suffix: ``c`` 1, ``b`` 512, ``B`` 1024, ``k``/``K`` 1024, ``M G T P E Z Y`` powers of
    1024, each of those (``k`` too) optionally followed by ``B`` (powers of 1000) or ``iB``
    (1024); a suffix alone counts one.  Lower-case ``m g t``, ``w``, fractions and negatives
    are errors, never read as bytes: ``2b`` is 1024 bytes, not 2.  At most 2**63-1."""
    m = _SIZE_NUMBER.match(text)
    if m:
        digits = m.group(1)
        value = int(digits, 16) if digits[:2] in ("0x", "0X") else int(digits, 8 if digits[:1] == "0" else 10)
        suffix = text[m.end():]
    else:  # a suffix alone means one of it ("K" is 1024), as GNU's xstrtol reads it
        value, suffix = 1, text
        if not suffix:
            raise UsageError(f"invalid file size: {c_quote(text)}")
    if suffix in ("", "c"):
        scale = 1
    elif suffix == "b":
        scale = 512
    elif suffix == "B":
        scale = 1024
    elif suffix[:1] in _POWERS + "k" and suffix[1:] in ("", "B", "iB"):
        exp = _POWERS.index(suffix[0].upper()) + 1
        scale = (1000 if suffix[1:] == "B" else 1024) ** exp
    else:
        raise UsageError(f"invalid file size: {c_quote(text)}")
    if value * scale > INTMAX:
        raise UsageError(f"invalid file size: {c_quote(text)}: Value too large for defined data type")
    return value * scale


# --------------------------------------------------------------------------------------
# Running


class RandomSource:
    """``--random-source FILE``: random passes take their bytes from FILE, read in order
    across passes and files as GNU shred does; the end of FILE is an error."""

    def __init__(self, path):
        from scrub.schemes import ByteChooser

        self.path = as_bytes(path)
        self.fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        self.pos = 0
        self.chooser = ByteChooser(self.read)  # the pass-order draws, state kept across files
        try:
            os.lseek(self.fd, 0, os.SEEK_CUR)
            self.seekable = stat.S_ISREG(os.fstat(self.fd).st_mode)
        except OSError:
            self.seekable = False

    def read(self, n: int) -> bytes:
        data = bytearray()
        while len(data) < n:
            part = os.read(self.fd, n - len(data))
            if not part:
                raise OSError(E.ENODATA, f"random source {display(self.path)} ended")
            data += part
        self.pos += n
        return bytes(data)

    def pread(self, n: int, offset: int) -> bytes:
        return os.pread(self.fd, n, offset)

    def close(self):
        os.close(self.fd)


@dataclass
class Options:
    passes: tuple[Pass, ...]
    remove: str | None
    exact: bool
    size: int | None
    force: bool
    allow_hardlinks: bool
    devices: bool
    verify: str
    direct: bool | None  # None: O_DIRECT where the kernel takes it, quietly buffered elsewhere
    strict: bool
    inspect: Callable | None
    progress: Callable[[Progress], None] | None
    engine: Engine
    random_source: RandomSource | None
    truncate: bool = False  # overwrite, then truncate in place (keeps owner, mode, xattrs)
    owners: frozenset[int] | None = None  # refuse files owned by anyone else (None: any owner)
    deferred_dirs: dict | None = None  # (dev, ino) -> fd: directories to sync once, later (Shredder.sync_dirs)
    pool_passes: int | None = None  # -n N from GNU's pool (no scheme): drawn per file from a random source
    zero_pass: tuple[Pass, ...] = ()  # -z


class Shredder:
    """Overwrites one file after another with the same options, engine and buffers.

    ``path(p)`` opens p's directory and overwrites p; ``at(dirfd, name, shown)`` overwrites
    ``name`` inside a directory the caller has already opened safely (the histories job walks
    homes without following links and must not re-resolve a path).  Options as for
    :func:`shred`, plus ``truncate`` (overwrite, then truncate in place instead of removing)
    and ``owners`` (uids a file may belong to; others are refused)."""

    def __init__(self, *, scheme=None, iterations=None, zero=False, remove=None, exact=False, size=None, force=False,
                 allow_hardlinks=False, devices=False, verify="last", direct=None, random_source=None, strict=False,
                 inspect=True, progress=None, engine=None, truncate=False, owners=None, defer_dir_sync=False):
        if remove is not None and remove not in REMOVE_MODES:
            raise UsageError(f"invalid removal mode {remove!r} (one of {', '.join(REMOVE_MODES)})")
        if verify not in VERIFY_MODES:
            raise UsageError(f"invalid verify mode {verify!r} (one of {', '.join(VERIFY_MODES)})")
        if size is not None and size < 0:
            raise UsageError("size must not be negative")
        if remove and truncate:
            raise UsageError("remove and truncate exclude each other")
        if inspect is True:
            from scrub.storage import Inspector

            inspect = Inspector().inspect_fd  # one per run: caches per mount, sees today's mounts
        self.opts = Options(
            passes=plan(scheme, iterations, zero), remove=remove, exact=exact, size=size, force=force,
            allow_hardlinks=allow_hardlinks, devices=devices, verify=verify, direct=direct, strict=strict,
            inspect=inspect or None, progress=progress,
            engine=engine if isinstance(engine, Engine) else pick_engine(engine),
            random_source=None, truncate=truncate, owners=frozenset(owners) if owners is not None else None,
            deferred_dirs={} if defer_dir_sync else None,
            pool_passes=(3 if iterations is None else iterations) if scheme is None else None,
            zero_pass=(Pass(b"\x00"),) if zero else (),
        )
        if random_source is not None:
            try:
                self.opts.random_source = RandomSource(random_source)
            except OSError as exc:
                raise UsageError(exc.strerror or "cannot open", path=as_bytes(random_source)) from None  # GNU's words
        self.buffers = (aligned_buffer(CHUNK), aligned_buffer(CHUNK), aligned_buffer(CHUNK))

    def sync_dirs(self) -> list[tuple[bytes, str]]:
        """With ``defer_dir_sync``: sync every directory a removal touched, once; returns the
        directories that failed, as (path, message)."""
        failed = []
        dirs, self.opts.deferred_dirs = self.opts.deferred_dirs or {}, {} if self.opts.deferred_dirs is not None else None
        for fd in dirs.values():
            try:
                os.fsync(fd)
            except OSError as exc:
                failed.append((os.fsencode(os.readlink(f"/proc/self/fd/{fd}")), exc.strerror or str(exc)))
            finally:
                os.close(fd)
        return failed

    def close(self) -> None:
        if self.opts.deferred_dirs:
            self.sync_dirs()
        if self.opts.random_source:
            self.opts.random_source.close()
            self.opts.random_source = None
        for b in self.buffers:  # keystream and random-source bytes must not linger in memory
            b[:] = bytes(len(b))  # (not closed: an interrupt's traceback may still view them)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def new_result(self, path) -> ShredResult:
        return ShredResult(as_bytes(path), engine=self.opts.engine.describe())

    def path(self, path, result: ShredResult | None = None) -> ShredResult:
        if not isinstance(path, (str, bytes, os.PathLike)):
            raise TypeError(f"path: one path (str, bytes or os.PathLike), not {type(path).__name__}; use shred() for many")
        result = result or self.new_result(path)
        raw = as_bytes(path)
        if raw == b"-":  # GNU's operand for the file open on standard output
            _shred_stdout(self.opts, self.buffers, result)
            return result
        parent, name = os.path.split(raw.rstrip(b"/") if raw != b"/" else raw)
        if name in (b"", b".", b".."):
            result.fail("directory", "failed to open for writing: Is a directory", status="refused")
            return result
        try:
            dirfd = open_directory(parent or b".")
        except UnsafeLink as exc:
            result.fail("unsafe-link", f"cannot open its directory: {exc.strerror}", status="refused")
            return result
        except OSError as exc:
            result.fail(_code(exc.errno), f"cannot open its directory: {_describe(exc)}", errno=exc.errno)
            return result
        try:
            return self.at(dirfd, name, raw, result)
        finally:
            os.close(dirfd)

    def at(self, dirfd: int, name: bytes, shown=None, result: ShredResult | None = None) -> ShredResult:
        result = result or self.new_result(shown if shown is not None else name)
        _shred_at(dirfd, as_bytes(name), self.opts, self.buffers, result)
        return result


class UnsafeLink(OSError):
    """A symlink on the way to a file sits in a directory that someone else can change."""


_O_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def open_directory(path: bytes) -> int:
    """An fd of directory ``path``, opened one component at a time without letting anyone
    else steer the walk.  A symlink component is followed only where its directory is owned
    by root or by us and is not writable by group or others (the rule of the kernel's
    protected_symlinks, applied whoever runs scrub and whatever the sysctl says): a symlink
    that another user could have planted or swapped is refused.  Every directory is opened
    with O_NOFOLLOW from the fd of its parent, so a directory swapped for a link during the
    walk fails (ELOOP) instead of leading elsewhere."""
    parts = path.split(b"/")
    fd = os.open(b"/" if path.startswith(b"/") else b".", _O_DIR & ~os.O_NOFOLLOW)
    links = 0
    me = os.geteuid()
    try:
        while parts:
            part = parts.pop(0)
            if part in (b"", b"."):
                continue
            try:
                nxt = os.open(part, _O_DIR, dir_fd=fd)
            except OSError as exc:
                if exc.errno not in (E.ELOOP, E.ENOTDIR):
                    raise
                st = os.stat(part, dir_fd=fd, follow_symlinks=False)
                if not stat.S_ISLNK(st.st_mode):
                    raise
                dst = os.fstat(fd)
                if dst.st_uid not in (0, me) or dst.st_mode & 0o022:
                    raise UnsafeLink(E.EPERM, f"{display(part)} is a symlink in a directory that "
                                     + (f"uid {dst.st_uid} owns" if dst.st_uid not in (0, me) else "others can write")
                                     + ": not followed (give the real path)", path) from None
                links += 1
                if links > 40:
                    raise OSError(E.ELOOP, os.strerror(E.ELOOP), path) from None
                target = os.readlink(part, dir_fd=fd)
                if target.startswith(b"/"):
                    os.close(fd)
                    fd = os.open(b"/", _O_DIR & ~os.O_NOFOLLOW)
                parts = target.split(b"/") + parts
                continue
            os.close(fd)
            fd = nxt
        return fd
    except BaseException:
        os.close(fd)
        raise


def shred(
    paths: str | bytes | os.PathLike | Iterable[str | bytes | os.PathLike],
    *,
    scheme: str | Scheme | None = None,
    iterations: int | None = None,
    zero: bool = False,
    remove: str | None = None,
    exact: bool = False,
    size: int | None = None,
    force: bool = False,
    allow_hardlinks: bool = False,
    devices: bool = False,
    verify: str = "last",
    direct: bool | None = None,
    random_source: str | bytes | os.PathLike | None = None,
    strict: bool = False,
    inspect: Callable | bool = True,
    progress: Callable[[Progress], None] | None = None,
    engine: str | Engine | None = None,
) -> list[ShredResult]:
    """Overwrite each path in place and return one :class:`ShredResult` per path.

    ``scheme`` (an id from :mod:`scrub.schemes`) or ``iterations`` (GNU shred's ``-n``) pick
    the passes; ``zero`` adds a final zero pass.  ``remove`` is ``unlink``, ``wipe`` (rename,
    one directory sync) or ``wipesync`` (a sync after every rename).  ``verify`` reads back
    ``none``, the ``last`` pass or ``all`` passes around the page cache.  ``exact`` writes
    st_size bytes instead of rounding up to the block; ``size`` writes exactly that many.
    Symlinks, directories, FIFOs, sockets and character devices are refused; block devices
    only with ``devices=True``; files with other hard links only with ``allow_hardlinks``.
    ``direct`` (default ``None``: for files of 1 MiB and more) writes with O_DIRECT, falling
    back to buffered I/O where the kernel refuses it; ``True`` always tries it and warns
    about that fallback, ``False`` always buffers.  ``force`` makes a read-only file writable first.  ``inspect`` reports the
    storage findings for each file (``False`` to skip); with ``strict`` a file whose storage
    keeps a copy (an ``ineffective`` finding) is refused.

    Raises :class:`scrub.UsageError` for bad arguments and :class:`scrub.Interrupted`
    (carrying the results so far) on Ctrl-C; everything per path is in its result.
    """
    paths = [as_bytes(p) for p in as_path_list(paths, "paths")]  # one path is one path, not its letters
    results: list[ShredResult] = []
    with Shredder(scheme=scheme, iterations=iterations, zero=zero, remove=remove, exact=exact, size=size, force=force,
                  allow_hardlinks=allow_hardlinks, devices=devices, verify=verify, direct=direct,
                  random_source=random_source, strict=strict, inspect=inspect, progress=progress, engine=engine) as sh:
        try:
            for path in paths:
                result = sh.new_result(path)
                results.append(result)
                sh.path(path, result)
        except KeyboardInterrupt:
            for path in paths[len(results):]:
                r = sh.new_result(path)
                r.fail("skipped", "not started: interrupted", status="skipped")
                results.append(r)
            raise Interrupted(results) from None
    return results


@contextlib.contextmanager
def _one_path(result: ShredResult):
    """What every path shares: its time, Ctrl-C leaving it in place, an unforeseen OSError
    that belongs to this path only, and the fds it opened (appended to the yielded list)."""
    t0 = time.monotonic()
    fds: list[int] = []
    try:
        yield fds
    except KeyboardInterrupt:
        result.fail("interrupted", "interrupted; the file was left in place", status="interrupted")
        raise
    except OSError as exc:
        result.fail(_code(exc.errno), _describe(exc), errno=exc.errno)
    finally:
        result.seconds = time.monotonic() - t0
        for fd in fds:
            os.close(fd)


def _shred_at(dirfd: int, name: bytes, opts: Options, buffers, result: ShredResult) -> None:
    with _one_path(result) as fds:
        target = _open_in_dir(dirfd, name, opts, result)
        if target is None:
            return
        fd, st = target
        fds.append(fd)
        if not _overwrite(fd, st, opts, buffers, result):
            return
        if opts.remove and result.kind == "regular":
            _remove(dirfd, name, fd, st, opts, result)
        elif opts.truncate and result.kind == "regular":
            _truncate(fd, result)
        if result.status == "pending":
            result.status = "done" if not result.errors else "failed"


def _shred_stdout(opts: Options, buffers, result: ShredResult) -> None:
    """The ``-`` operand, as GNU shred reads it: the file open on standard output (``shred -
    1<>FILE``), overwritten in place; removal is not possible by that name, so ``-u``
    truncates it, as GNU does.  A write-only descriptor cannot be read back: not verified."""
    with _one_path(result) as fds:
        try:
            fd = os.dup(1)
            fds.append(fd)
            st = os.fstat(fd)
        except OSError as exc:
            result.fail(_code(exc.errno), f"failed to open for writing: {_describe(exc)}", errno=exc.errno)
            return
        why = _refusal(st.st_mode, opts)
        result.kind = _kind(st.st_mode)
        if why:
            result.fail(why[0], why[1], status="refused")
            return
        if fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE == os.O_WRONLY and opts.verify != "none":
            result.warn("unverifiable", "standard output is open write-only: the passes were not read back")
            opts = dataclasses.replace(opts, verify="none")
        if not _overwrite(fd, st, opts, buffers, result):
            return
        if (opts.remove or opts.truncate) and result.kind == "regular":
            _truncate(fd, result)
        if result.status == "pending":
            result.status = "done" if not result.errors else "failed"


def _overwrite(fd: int, st: os.stat_result, opts: Options, buffers, result: ShredResult) -> bool:
    """Storage findings (and --strict), then every pass; False when the path is done with
    (refused or failed), True when the caller may remove or truncate it."""
    path = result.path
    if opts.inspect is not None:
        report = opts.inspect(fd, path)
        result.findings = list(report.findings)
        for err in report.errors:
            result.warn("storage", f"storage not fully inspected: {err}")
        if opts.progress:
            opts.progress(Progress(path, "storage", findings=tuple(result.findings)))
        from scrub.storage.findings import refused_by_strict

        if opts.strict and any(refused_by_strict(f) for f in result.findings):
            causes = ", ".join(sorted({f.id for f in result.findings if refused_by_strict(f)}))
            result.fail("strict", f"refused: an overwrite cannot reach every copy here ({causes})", status="refused")
            return False
    segments = _segments(fd, st, opts, result)
    if opts.random_source is not None and opts.pool_passes is not None:
        # GNU shred draws -n N's order for each file (an empty one too), from one chooser over
        # the random source whose unused randomness carries from file to file: the same draws
        # here give the same order and the same bytes
        try:
            drawn = shred_passes(opts.pool_passes, chooser=opts.random_source.chooser)
        except OSError as exc:
            result.fail("random-source", f"{display(opts.random_source.path)}: end of file" if exc.errno == E.ENODATA
                        else _describe(exc))
            return False
        opts = dataclasses.replace(opts, passes=drawn + opts.zero_pass)
    if not _run_passes(fd, segments, opts, buffers, result):
        if result.status == "pending":
            result.status = "failed"
        if opts.remove or opts.truncate:
            result.warn("not-removed", "left in place because the overwrite did not complete")
        return False
    return True


def _truncate(fd: int, result: ShredResult) -> None:
    try:
        os.ftruncate(fd, 0)
        os.fsync(fd)
        result.truncated = True
    except OSError as exc:
        result.fail(_code(exc.errno), f"truncate failed: {_describe(exc)}", errno=exc.errno)


def _code(err: int | None) -> str:
    return {E.ENOSPC: "no-space", E.EIO: "io-error", E.EROFS: "read-only-fs", E.EACCES: "permission",
            E.EPERM: "not-permitted", E.ENOENT: "not-found"}.get(err or 0, "os-error")


def _describe(exc: OSError) -> str:
    return exc.strerror or str(exc)


def _open_in_dir(dirfd: int, name: bytes, opts: Options, result: ShredResult):
    """Open ``name`` in ``dirfd`` for writing without following a link, check what it is,
    who owns it and who else can reach it.  Returns (fd, stat) or None after recording why
    not.  Removal later works on the same directory fd."""
    try:
        st = os.stat(name, dir_fd=dirfd, follow_symlinks=False)
    except OSError as exc:
        result.fail(_code(exc.errno), f"failed to open for writing: {_describe(exc)}", errno=exc.errno)  # GNU's words
        return None
    why = _refusal(st.st_mode, opts)
    if why:
        result.kind = _kind(st.st_mode)
        result.fail(why[0], why[1], status="refused")
        return None
    flags = os.O_RDWR | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
    if stat.S_ISBLK(st.st_mode):
        from scrub.storage.busy import device_users

        users = device_users(st.st_rdev)
        if users:
            result.kind = "block"
            result.fail("in-use", "the device is in use: " + "; ".join(users) + "; not touched", status="refused")
            return None
        flags |= os.O_EXCL  # on a block device: the kernel refuses it while a mount, swap, md/dm holds it
    try:
        try:
            fd = os.open(name, flags, dir_fd=dirfd)
        except PermissionError as exc:
            fd = _open_read_only_file(dirfd, name, st, flags, opts, result, exc)
            if fd is None:
                return None
        fst = os.fstat(fd)
        if (fst.st_dev, fst.st_ino) != (st.st_dev, st.st_ino) or _refusal(fst.st_mode, opts):
            os.close(fd)
            result.fail("changed", "replaced while being opened; not touched", status="refused")
            return None
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
    except OSError as exc:
        code, msg = _open_error(exc)
        result.fail(code, msg, status="refused" if code in ("symlink", "special", "in-use") else "failed", errno=exc.errno)
        return None
    result.kind = _kind(fst.st_mode)
    refusal = None
    if result.kind == "regular" and fst.st_nlink > 1 and not opts.allow_hardlinks:
        # the override exists for shred only: a job with owner rules (histories) never offers it
        refusal = ("hardlinks", f"has {fst.st_nlink} hard links: other names keep this data reachable and "
                   "would be overwritten too" + (" (use --allow-hardlinks to overwrite anyway)" if opts.owners is None
                                                 else "; left alone"))
    elif opts.owners is not None and fst.st_uid not in opts.owners:
        refusal = ("owner", f"owned by uid {fst.st_uid}, not by the home's owner or root: left alone")
    if refusal:
        os.close(fd)
        result.fail(*refusal, status="refused")
        return None
    return fd, fst


def _kind(mode: int) -> str:
    for test, kind in ((stat.S_ISREG, "regular"), (stat.S_ISBLK, "block"), (stat.S_ISLNK, "symlink"),
                       (stat.S_ISDIR, "directory"), (stat.S_ISFIFO, "fifo"), (stat.S_ISSOCK, "socket"),
                       (stat.S_ISCHR, "character")):
        if test(mode):
            return kind
    return "unknown"


def _refusal(mode: int, opts: Options) -> tuple[str, str] | None:
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISBLK(mode):
        return None if opts.devices else ("device", "is a block device: name it with --device to overwrite it")
    if stat.S_ISLNK(mode):
        return ("symlink", "is a symbolic link: not followed, its target was not touched")
    if stat.S_ISDIR(mode):
        return ("directory", "failed to open for writing: Is a directory")
    if stat.S_ISFIFO(mode):  # current GNU shred's words; refused on lstat, never opened (9.1 hangs on the open)
        return ("fifo", "invalid file type (a FIFO: nothing to overwrite)")
    if stat.S_ISSOCK(mode):
        return ("socket", "invalid file type (a socket: nothing to overwrite)")
    if stat.S_ISCHR(mode):
        return ("special", "is a character device (a tty or similar): refused")
    return ("special", "is not a regular file")


def _open_error(exc: OSError) -> tuple[str, str]:
    if exc.errno == E.EBUSY:
        return "in-use", ("the device is busy: the kernel refused an exclusive open (a mount, swap, device-mapper, "
                          "md or another exclusive opener holds it); not touched")
    if exc.errno == E.ELOOP:
        return "symlink", "is a symbolic link: not followed, its target was not touched"
    if exc.errno == E.ENXIO:
        return "special", "is a FIFO or socket without a peer: refused"
    if exc.errno == E.EROFS:
        return "read-only-fs", "is on a read-only file system"
    if exc.errno == E.ETXTBSY:
        return "busy", "is a running program or an active swap file"
    return _code(exc.errno), _describe(exc)


def _open_read_only_file(dirfd, name, st, flags, opts: Options, result: ShredResult, exc: PermissionError):
    """EACCES/EPERM on open: say why (append-only, immutable), or with ``force`` add the
    owner's write bit through an fd (never by name) and open again."""
    try:
        probe = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC, dir_fd=dirfd)
    except OSError:
        probe = None
    try:
        if probe is not None:
            iflags = _linux.inode_flags(probe) or 0
            if iflags & _linux.FS_IMMUTABLE_FL:
                result.fail("immutable", "is immutable (chattr +i): remove the flag first", status="refused")
                return None
            if iflags & _linux.FS_APPEND_FL:
                result.fail("append-only", "is append-only (chattr +a): remove the flag first", status="refused")
                return None
            if opts.force and exc.errno == E.EACCES:
                pst = os.fstat(probe)
                if (pst.st_dev, pst.st_ino) == (st.st_dev, st.st_ino):
                    os.fchmod(probe, stat.S_IMODE(pst.st_mode) | stat.S_IWUSR)
                    result.warn("chmod", "made writable by its owner (--force)")
                    return os.open(name, flags, dir_fd=dirfd)
        result.fail("permission", f"failed to open for writing: {exc.strerror}"
                    if exc.errno == E.EACCES else exc.strerror, errno=exc.errno)
        return None
    finally:
        if probe is not None:
            os.close(probe)


def _segments(fd: int, st: os.stat_result, opts: Options, result: ShredResult) -> list[list[tuple[int, int]]]:
    """The byte ranges of every pass, in segments each followed by fdatasync."""
    if result.kind == "block":
        result.size = _linux.block_device_size(fd)
        length = result.size if opts.size is None else opts.size
        result.length = length
        return [[(0, length)]] if length else []
    result.size = st.st_size
    block = st.st_blksize or 4096
    if opts.size is not None:  # explicit: exactly these bytes, holes and all
        result.length = opts.size
        if opts.size > st.st_size:
            result.warn("extends", f"--size {opts.size} is past the end of the file ({st.st_size} bytes): the file grows")
        if 0 < st.st_size < min(block, opts.size) and opts.deferred_dirs is None:
            result.length = st.st_size + opts.size  # GNU's layout for a small file, see below
            return [[(0, st.st_size)], [(0, opts.size)]]
        return [[(0, opts.size)]] if opts.size else []
    end = st.st_size if opts.exact else -(-st.st_size // block) * block
    ranges = data_ranges(fd, st.st_size)
    in_data = sum(n for _, n in ranges)
    if in_data < st.st_size:
        result.holes = st.st_size - in_data
        result.warn("sparse", f"sparse file: {result.holes} bytes are holes (no data on disk) and were not written")
    ranges = ranges if opts.exact else round_ranges(ranges, block, end)
    result.length = sum(n for _, n in ranges)
    if 0 < st.st_size < min(block, end) and ranges and (
            opts.deferred_dirs is None or (_linux.inode_flags(fd) or 0) & _linux.FS_INLINE_DATA_FL):
        # A file smaller than a block: its exact bytes first, then the whole block from the
        # start, as GNU shred writes it (so the same --random-source gives the same bytes).
        # Where the data lives inside the inode (ext4 inline_data) that first write is what
        # overwrites it in place.  The histories job (many small files) does the first write
        # only where the data is inline.
        result.length = st.st_size + end
        return [[(0, st.st_size)], [(0, end)]]
    return [ranges] if ranges else []


def _chunk_for(p: Pass) -> int:
    if p.random:
        return CHUNK
    period = math.lcm(len(p.pattern), 4096, 512 if p.flip_sector else 1)
    return CHUNK - CHUNK % period


def _small_file(segments, opts: Options, result: ShredResult) -> int | None:
    """The length when the whole overwrite can run as one engine call (a file within one
    buffer, written from offset 0, buffered I/O, keys from the engine), else None."""
    if opts.random_source or opts.direct is True or len(segments) != 1 or len(segments[0]) != 1:
        return None
    off, n = segments[0][0]
    return n if off == 0 and 0 < n < DIRECT_MIN else None


_STAGE = {1: "write failed at offset {off}", 2: "sync failed", 3: "read-back failed at offset {off}",
          5: "random keys unavailable"}


def _run_small(fd, length: int, opts: Options, buffers, result: ShredResult) -> bool | None:
    """All passes of a small file in one engine call (GIL released natively).  None: the
    engine hit EIO, so the general path (which retries sector by sector) must run instead."""
    eng, npass = opts.engine, len(opts.passes)
    for number, p in enumerate(opts.passes, 1):
        _emit(opts, result, "pass", number, npass, p.gnu_label, 0, length)
    t0 = time.monotonic()
    out = eng.small_run(fd, length, opts.passes, opts.verify, buffers)
    if out.error == E.EIO:
        return None
    each = (time.monotonic() - t0) / max(1, npass)
    for number, p in enumerate(opts.passes, 1):
        source = "pattern" if not p.random else eng.keystream_algorithm
        done = number <= out.done
        result.passes.append(PassRecord(number, p.label, source, length if done else 0, out.synced[number - 1],
                                        out.verified[number - 1], each if done else 0.0,
                                        write_seconds=each if done else 0.0))  # one engine call: not split
    if out.stage == 4:
        k = next(i for i, v in enumerate(out.verified) if v is False)
        result.verify = "failed"
        result.fail("verify-mismatch", f"pass {k + 1} ({opts.passes[k].label}) reads back different data at offset "
                    f"{out.error_offset}", offset=out.error_offset)
        return False
    if out.stage:
        msg = _STAGE[out.stage].format(off=out.error_offset)
        result.fail(_code(out.error), f"{msg}: {os.strerror(out.error)}" if out.error else msg,
                    offset=out.error_offset if out.stage in (1, 3) else None, errno=out.error or None)
        return False
    if opts.verify != "none" and npass:
        result.verify = "passed"
    return True


def _run_passes(fd, segments, opts: Options, buffers, result: ShredResult) -> bool:
    if not any(n for seg in segments for _, n in seg):
        return True  # nothing to write (an empty file): no passes, as GNU shred prints none
    small = _small_file(segments, opts, result)
    if small is not None:
        done = _run_small(fd, small, opts, buffers, result)
        if done is not None:
            return done
        result.passes.clear()
    npass = len(opts.passes)
    eng = opts.engine
    verified_all = True
    for number, p in enumerate(opts.passes, 1):
        verify_this = opts.verify == "all" or (opts.verify == "last" and number == npass)
        source_name = "pattern" if not p.random else ("random-source" if opts.random_source else eng.keystream_algorithm)
        rec = PassRecord(number, p.label, source_name)
        result.passes.append(rec)
        t0 = time.monotonic()
        _emit(opts, result, "pass", number, npass, p.gnu_label, 0, result.length)
        keystream = eng.new_keystream() if p.random and not opts.random_source else None
        rs_start = opts.random_source.pos if opts.random_source else 0
        try:
            for seg in segments:
                for off, n in seg:
                    if opts.direct or (opts.direct is None and result.length >= DIRECT_MIN):
                        _try_direct(fd, True)
                    out = _write(fd, off, n, p, keystream, opts, buffers, result, number, npass, rec)
                    rec.bytes += out.done
                    if out.direct_dropped and opts.direct is True and not any(w.code == "direct-io" for w in result.warnings):
                        result.warn("direct-io", "O_DIRECT refused by the kernel here; buffered I/O used")
                    if not _judge_write(out, result):
                        return False
                t_sync = time.monotonic()
                rec.write_seconds += t_sync - t0 - rec.sync_seconds - rec.write_seconds
                _emit(opts, result, "sync", number, npass, p.label, rec.bytes, result.length)
                ok_sync = _sync(fd, result)
                rec.sync_seconds += time.monotonic() - t_sync
                if not ok_sync:
                    return False
            rec.synced = True
            if verify_this:
                t_verify = time.monotonic()
                ok = _verify(fd, segments, p, keystream, rs_start, opts, buffers, result, number, npass)
                rec.verify_seconds = time.monotonic() - t_verify
                rec.verified = ok
                if ok is False:
                    result.verify = "failed"
                    return False
                if ok is None:
                    verified_all = False
        finally:
            if keystream is not None:
                keystream.wipe()
            _try_direct(fd, False)
        rec.seconds = time.monotonic() - t0
    if opts.verify != "none" and npass:
        result.verify = "passed" if verified_all else "unverifiable"
    return not result.errors


def _try_direct(fd: int, on: bool) -> None:
    try:
        flags = fcntl.fcntl(fd, fcntl.F_GETFL)
        fcntl.fcntl(fd, fcntl.F_SETFL, (flags | os.O_DIRECT) if on else (flags & ~os.O_DIRECT))
    except OSError:
        pass  # tmpfs and some FUSE file systems refuse O_DIRECT: buffered it is


def _emit(opts: Options, result, event, number=0, npass=0, label="", done=0, total=0, detail=b""):
    if opts.progress:
        opts.progress(Progress(result.path, event, number, npass, label, done, total, detail))


def _in_worker(ctl: Control, fn, on_tick, small: bool = False) -> RangeOutcome:
    """Run an engine call on a worker thread so Ctrl-C reaches this thread: it then asks the
    engine to stop after the current chunk, waits for it and re-raises."""
    box: list = []
    errbox: list = []

    def target():
        try:
            box.append(fn())
        except BaseException as exc:  # pragma: no cover - engine bugs surface in the caller
            errbox.append(exc)

    if small:  # one chunk or less: run it here (Ctrl-C is seen right after it)
        return fn()
    t = threading.Thread(target=target, name="scrub-engine", daemon=True)
    t.start()
    try:
        while t.is_alive():
            t.join(PROGRESS_INTERVAL)
            on_tick(ctl.progress)
    except KeyboardInterrupt:
        ctl.cancel()
        while t.is_alive():
            try:
                t.join()
            except KeyboardInterrupt:
                continue
        raise
    if errbox:
        raise errbox[0]
    return box[0]


def _write(fd, off, n, p: Pass, keystream, opts: Options, buffers, result, number, npass, rec) -> RangeOutcome:
    eng = opts.engine
    base = rec.bytes

    def tick(done):
        _emit(opts, result, "bytes", number, npass, p.label, base + done, result.length)

    if opts.random_source and p.random:
        return _write_from_random_source(fd, off, n, opts, buffers, tick)
    ctl = eng.control()
    source, chunk = _source_for(p, keystream, off, buffers)
    return _in_worker(ctl, partial(eng.write_range, fd, off, n, source, chunk=chunk, buffers=buffers, ctl=ctl), tick,
                      small=n <= chunk)


def _source_for(p: Pass, keystream, off: int, buffers):
    """What the engine writes (or expects) for pass ``p`` from file offset ``off``: its
    keystream, or a chunk of its pattern in phase with ``off``; and the chunk size."""
    chunk = _chunk_for(p)
    if keystream is not None:
        return keystream, chunk
    p.fill(memoryview(buffers[2])[:chunk], off)
    return memoryview(buffers[2])[:chunk], chunk


def _write_from_random_source(fd, off, n, opts: Options, buffers, tick) -> RangeOutcome:
    eng, rs = opts.engine, opts.random_source
    total = RangeOutcome()
    pos = 0
    while pos < n:
        k = min(CHUNK, n - pos)
        try:
            data = rs.read(k)
        except OSError as exc:
            total.error, total.error_offset = exc.errno or E.ENODATA, off + pos
            break
        buffers[2][:k] = data
        ctl = eng.control()
        write = partial(eng.write_range, fd, off + pos, k, memoryview(buffers[2])[:k], chunk=CHUNK, buffers=buffers, ctl=ctl)
        out = _in_worker(ctl, write, partial(lambda base, d: tick(base + d), pos))
        total.bad_sectors += out.bad_sectors
        total.bad_count += out.bad_count
        total.direct_dropped |= out.direct_dropped
        pos += out.done
        if out.error and out.error != E.EIO:
            total.error, total.error_offset = out.error, out.error_offset
            break
    total.done = pos
    if not total.error and total.bad_count:
        total.error = E.EIO
    return total


def _judge_write(out: RangeOutcome, result: ShredResult) -> bool:
    """Record what a range write reported; False stops this path."""
    if out.error == 0:
        return True
    if out.error == E.ECANCELED:
        raise KeyboardInterrupt
    if out.error == E.EIO and out.bad_count:
        first = out.bad_sectors[0] if out.bad_sectors else None
        result.fail("io-error", f"{out.bad_count} sector(s) could not be written (EIO), first at offset {first}; "
                    "the rest was overwritten", offset=first, errno=E.EIO)
        return True  # GNU shred keeps going past bad sectors; the result is a failure
    if out.error == E.ENODATA:
        result.fail("random-source", "the random source ended before the pass did", offset=out.error_offset)
        return False
    msg = os.strerror(out.error)
    result.fail(_code(out.error), f"write failed at offset {out.error_offset}: {msg}", offset=out.error_offset, errno=out.error)
    return False


def _sync(fd: int, result: ShredResult) -> bool:
    """fdatasync, else fsync: a pass is not done until the device has it (and buffered
    write errors only show up here)."""
    try:
        os.fdatasync(fd)
    except OSError as exc:
        if exc.errno not in (E.EINVAL, E.EBADF, E.EISDIR):
            result.fail(_code(exc.errno), f"sync failed: {_describe(exc)}", errno=exc.errno)
            return False
        try:
            os.fsync(fd)
        except OSError as exc2:
            result.fail(_code(exc2.errno), f"sync failed: {_describe(exc2)}", errno=exc2.errno)
            return False
    return True


def _verify(fd, segments, p: Pass, keystream, rs_start, opts: Options, buffers, result, number, npass) -> bool | None:
    """Read the pass back around the page cache and compare; random passes are regenerated
    from their key.  None: cannot be checked (a random source that cannot be re-read)."""
    eng = opts.engine
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    except OSError:
        pass
    _try_direct(fd, True)
    done_before = 0
    rs_pos = rs_start
    flat = [r for seg in segments for r in seg]
    for k, (off, n) in enumerate(flat):
        if any(o <= off and off + n <= o + m for o, m in flat[k + 1:]):
            rs_pos += n  # written over later in this pass (a small file's exact-size write): check the later one
            done_before += n
            continue
        _emit(opts, result, "verify", number, npass, p.label, done_before, result.length)
        if opts.random_source and p.random:
            if not opts.random_source.seekable:
                result.warn("unverifiable", "the random source cannot be read again, so this pass was not verified")
                return None
            out = _verify_from_random_source(fd, off, n, rs_pos, opts, buffers)
            rs_pos += n
        else:
            ctl = eng.control()
            source, chunk = _source_for(p, keystream, off, buffers)
            check = partial(eng.verify_range, fd, off, n, source, chunk=chunk, buffers=buffers, ctl=ctl)
            base = done_before
            out = _in_worker(ctl, check, lambda done, base=base: _emit(opts, result, "verify", number, npass, p.label,
                                                                       base + done, result.length), small=n <= chunk)
        if out.error == E.ECANCELED:
            raise KeyboardInterrupt
        if out.mismatch:
            result.fail("verify-mismatch", f"pass {number} ({p.label}) reads back different data at offset "
                        f"{out.error_offset}", offset=out.error_offset)
            return False
        if out.error:
            result.fail(_code(out.error), f"read-back failed at offset {out.error_offset}: {os.strerror(out.error)}",
                        offset=out.error_offset, errno=out.error)
            return False
        done_before += n
    return True


def _verify_from_random_source(fd, off, n, rs_pos, opts: Options, buffers) -> RangeOutcome:
    eng, rs = opts.engine, opts.random_source
    pos = 0
    while pos < n:
        k = min(CHUNK, n - pos)
        buffers[2][:k] = rs.pread(k, rs_pos + pos)
        ctl = eng.control()
        out = eng.verify_range(fd, off + pos, k, memoryview(buffers[2])[:k], chunk=CHUNK, buffers=buffers, ctl=ctl)
        if out.mismatch or out.error:
            return out
        pos += k
    return RangeOutcome(done=n)


# --------------------------------------------------------------------------------------
# Removal


def rename_lengths(n: int, halving: bool = False) -> list[int]:
    """The name lengths of the rename trace: the same length first (that rename overwrites
    the name's bytes in the directory entry), then every shorter length down to one
    character, as GNU shred does; ``halving`` (the histories job: many files, one sync per
    directory) leaves the same last name in log2(n) renames."""
    if not halving:
        return list(range(n, 0, -1))
    out = [n]
    while out[-1] > 1:
        out.append(out[-1] // 2)
    return out


def names_of_length(length: int):
    """Candidate names of one length for the rename trace, over NAME_ALPHABET in counting
    order ("000", "001", ...), a bounded number of them."""
    base = len(NAME_ALPHABET)
    for i in range(min(RENAME_TRIES_PER_LENGTH, base ** length)):
        digits = bytearray(length)
        for pos in range(length - 1, -1, -1):
            i, d = divmod(i, base)
            digits[pos] = NAME_ALPHABET[d]
        yield bytes(digits)


def _same_file(dirfd: int, name: bytes, st: os.stat_result) -> bool:
    try:
        now = os.stat(name, dir_fd=dirfd, follow_symlinks=False)
    except OSError:
        return False
    return (now.st_dev, now.st_ino) == (st.st_dev, st.st_ino)


def _remove(dirfd: int, name: bytes, fd: int, st: os.stat_result, opts: Options, result: ShredResult) -> None:
    """Truncate, rename to ever shorter names that never replace an existing entry, unlink,
    then sync the directory.  Every step works on this directory's fd; before the first
    rename and before the unlink the name must still lead to the overwritten inode, so a
    racing rename cannot make us unlink something else."""
    _emit(opts, result, "removing")
    try:
        os.ftruncate(fd, 0)  # the data is already overwritten and synced; the directory sync follows
    except OSError as exc:
        result.fail(_code(exc.errno), f"truncate failed: {_describe(exc)}", errno=exc.errno)
        return
    current = name
    if opts.remove in ("wipe", "wipesync"):
        if not _same_file(dirfd, current, st):
            result.fail("changed", "the name was replaced during removal; left as it is")
            return
        for length in rename_lengths(len(name), halving=opts.deferred_dirs is not None):
            for candidate in names_of_length(length):
                if candidate == current:
                    continue
                try:
                    _linux.rename_noreplace(dirfd, current, candidate)
                except FileExistsError:
                    continue
                except OSError as exc:
                    result.fail(_code(exc.errno), f"rename failed: {_describe(exc)}", errno=exc.errno)
                    return
                result.renames.append(candidate)
                _emit(opts, result, "rename", detail=candidate)
                current = candidate
                if opts.remove == "wipesync":
                    os.fsync(dirfd)
                break
    if not _same_file(dirfd, current, st):
        result.fail("changed", "the name was replaced during removal; left as it is")
        return
    try:
        os.unlink(current, dir_fd=dirfd)
        dst = os.fstat(dirfd) if opts.deferred_dirs is not None else None
        if dst is not None and (dst.st_dev, dst.st_ino) in opts.deferred_dirs:
            pass  # the caller syncs each directory once, at the end
        elif dst is not None and len(opts.deferred_dirs) < DEFER_MAX_DIRS:
            opts.deferred_dirs[(dst.st_dev, dst.st_ino)] = os.dup(dirfd)
        else:  # not deferred, or already holding DEFER_MAX_DIRS fds: sync now, keep no fd
            os.fsync(dirfd)
    except OSError as exc:
        result.fail(_code(exc.errno), f"unlink failed: {_describe(exc)}", errno=exc.errno)
        return
    result.removed = True
    _emit(opts, result, "removed")
