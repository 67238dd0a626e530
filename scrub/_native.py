"""The overwrite engines: the compiled one (the only importer of scrub._scrub_cffi) and the
pure-Python fallback with the same behaviour.

Both engines do the same three things for the orchestration in overwrite.py: generate a
keystream at any file offset, write a range (pattern or keystream) with the same error
rules, and verify a range by regenerating what was written.  Only speed and the keystream
algorithm differ: native uses AES-128-CTR (AES-NI/VAES) or ChaCha20, the fallback uses
SHAKE-256 in counter mode from hashlib, each keyed per pass from getrandom(2).
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import mmap
import os
from dataclasses import dataclass, field

EXPECTED_ABI = 5
CHUNK = 4 << 20  # bytes per write: large enough to reach the device's streaming speed
SECTOR = 512



def check_build(module) -> str | None:
    """Why a compiled module must not be used (a stale build), or None when it matches.

    A .so left by an older checkout may have another struct layout: calling it could write
    past a buffer, so an ABI mismatch refuses it (the cryptography/psutil guard)."""
    abi = module.lib.scrub_native_abi()
    if abi != EXPECTED_ABI or module.lib.SCRUB_NATIVE_ABI != EXPECTED_ABI:
        return f"stale compiled engine (ABI {abi}, expected {EXPECTED_ABI}); rebuild with `pip install -e .`"
    return None


NOT_BUILT = ("the C extension was not built (no C compiler or no Python headers when scrub was installed): scrub "
             "runs on its pure-Python engine, with the same behaviour and slower; to build it, install gcc and the "
             "Python headers (Debian/Ubuntu: apt install gcc python3-dev) and reinstall scrub")

try:
    import importlib.util

    if importlib.util.find_spec("scrub._scrub_cffi") is None:  # look first: a failed import says "circular import"
        raise ModuleNotFoundError(NOT_BUILT)
    from scrub import _scrub_cffi
except ImportError as exc:  # no compiler at install time, or a build that cannot load here
    _scrub_cffi = None
    UNAVAILABLE_REASON: str | None = NOT_BUILT if str(exc) == NOT_BUILT else f"the C extension cannot be loaded: {exc}"
else:
    UNAVAILABLE_REASON = check_build(_scrub_cffi)
    if UNAVAILABLE_REASON:
        _scrub_cffi = None

HAVE_NATIVE = _scrub_cffi is not None


@dataclass
class Keystream:
    """A random pass's generator state: kept in memory only, wiped after verification."""

    algorithm: str
    key: bytearray
    nonce: bytes

    def wipe(self) -> None:
        self.key[:] = bytes(len(self.key))


@dataclass
class RangeOutcome:
    done: int = 0  # bytes handled from the start of the range before a stop
    error: int = 0  # errno that stopped the range (0: none)
    error_offset: int | None = None
    bad_sectors: list[int] = field(default_factory=list)  # offsets that failed with EIO
    bad_count: int = 0
    mismatch: bool = False  # verify only: first differing byte at error_offset
    direct_dropped: bool = False


@dataclass
class SmallOutcome:
    """What a whole small-file overwrite did (Engine.small_run)."""

    done: int = 0  # passes written and synced
    synced: list[bool] = field(default_factory=list)
    verified: list[bool | None] = field(default_factory=list)  # None: not read back
    error: int = 0
    stage: int = 0  # 1 write, 2 sync, 3 read-back, 4 mismatch, 5 random
    error_offset: int = 0


VERIFY_CODES = {"none": 0, "last": 1, "all": 2}


class Control:
    """Shared between the worker thread and the main thread: a cancel flag checked before
    every chunk and a progress counter in bytes.  Native keeps both in C memory."""

    def __init__(self, ffi=None):
        self._ffi = ffi
        if ffi is not None:
            self._cancel = ffi.new("int *")
            self._progress = ffi.new("uint64_t *")
        else:
            self._flag = False
            self._count = 0

    def cancel(self) -> None:
        if self._ffi is not None:
            self._cancel[0] = 1
        else:
            self._flag = True

    @property
    def cancelled(self) -> bool:
        return bool(self._cancel[0]) if self._ffi is not None else self._flag

    @property
    def progress(self) -> int:
        return int(self._progress[0]) if self._ffi is not None else self._count

    def set_progress(self, value: int) -> None:
        if self._ffi is not None:
            self._progress[0] = value
        else:
            self._count = value


def aligned_buffer(size: int) -> mmap.mmap:
    """Page-aligned anonymous memory (O_DIRECT needs aligned buffers)."""
    return mmap.mmap(-1, max(size, mmap.PAGESIZE))


def drop_direct(fd: int) -> bool:
    flags = fcntl.fcntl(fd, fcntl.F_GETFL)
    if not flags & os.O_DIRECT:
        return False
    fcntl.fcntl(fd, fcntl.F_SETFL, flags & ~os.O_DIRECT)
    return True


class Engine:
    name = "abstract"
    keystream_algorithm = ""

    def new_keystream(self) -> Keystream:
        return Keystream(self.keystream_algorithm, bytearray(os.getrandom(32)), os.getrandom(16))

    def control(self) -> Control:
        return Control()

    def describe(self) -> str:
        return f"{self.name} ({self.keystream_algorithm})"


class PythonEngine(Engine):
    """Pure-Python engine: os.pwrite/os.pread and a SHAKE-256 counter-mode keystream."""

    name = "python"
    keystream_algorithm = "shake256-ctr"
    BLOCK = 1 << 16  # keystream block: SHAKE-256(key || nonce || block index)

    def keystream(self, ks: Keystream, offset: int, length: int) -> bytes:
        out = bytearray()
        first = offset // self.BLOCK
        last = (offset + length - 1) // self.BLOCK if length else first - 1
        prefix = b"scrub-ks-v1" + bytes(ks.key) + ks.nonce
        for j in range(first, last + 1):
            out += hashlib.shake_256(prefix + j.to_bytes(8, "big")).digest(self.BLOCK)
        start = offset - first * self.BLOCK
        return bytes(out[start:start + length])

    def _data(self, source, offset: int, n: int, scratch) -> memoryview:
        if isinstance(source, Keystream):
            scratch[:n] = self.keystream(source, offset, n)
            return memoryview(scratch)[:n]
        return memoryview(source)[:n]

    def write_range(self, fd, offset, length, source, *, chunk, buffers, ctl: Control) -> RangeOutcome:
        out = RangeOutcome()
        pos = 0
        while pos < length:
            if ctl.cancelled:
                out.error, out.error_offset = errno.ECANCELED, offset + pos
                break
            n = min(chunk, length - pos)
            data = self._data(source, offset + pos, n, buffers[0])
            if not self._write_chunk(fd, offset + pos, data, out):
                break
            pos += n
            ctl.set_progress(pos)
        out.done = pos
        if not out.error and out.bad_count:
            out.error = errno.EIO
        return out

    def _write_chunk(self, fd, off, data, out: RangeOutcome) -> bool:
        w = 0
        while w < len(data):
            try:
                r = os.pwrite(fd, data[w:], off + w)
            except InterruptedError:
                continue
            except OSError as e:
                if e.errno == errno.EINVAL and drop_direct(fd):
                    out.direct_dropped = True
                    continue
                if e.errno == errno.EIO:
                    return self._retry_sectors(fd, off + w, data[w:], out)
                out.error, out.error_offset = e.errno, off + w
                return False
            if r == 0:
                out.error, out.error_offset = errno.ENOSPC, off + w
                return False
            w += r
        return True

    def _retry_sectors(self, fd, off, data, out: RangeOutcome) -> bool:
        w = 0
        while w < len(data):
            piece = min(SECTOR - (off + w) % SECTOR, len(data) - w)
            try:
                r = os.pwrite(fd, data[w:w + piece], off + w)
            except InterruptedError:
                continue
            except OSError as e:
                if e.errno == errno.EINVAL and drop_direct(fd):
                    out.direct_dropped = True
                    continue
                if e.errno != errno.EIO:
                    out.error, out.error_offset = e.errno, off + w
                    return False
                if len(out.bad_sectors) < 64:
                    out.bad_sectors.append(off + w)
                out.bad_count += 1
                r = piece
            if r == 0:
                out.error, out.error_offset = errno.ENOSPC, off + w
                return False
            w += r
        return True

    def verify_range(self, fd, offset, length, source, *, chunk, buffers, ctl: Control) -> RangeOutcome:
        out = RangeOutcome()
        pos = 0
        while pos < length:
            if ctl.cancelled:
                out.error, out.error_offset = errno.ECANCELED, offset + pos
                return out
            n = min(chunk, length - pos)
            want = self._data(source, offset + pos, n, buffers[0])
            got = self._read(fd, offset + pos, n, out)
            if got is None:
                return out
            if got != want:
                i = next((k for k in range(len(got)) if got[k] != want[k]), len(got))
                out.mismatch, out.error_offset, out.done = True, offset + pos + i, pos + i
                return out
            pos += n
            out.done = pos
            ctl.set_progress(pos)
        return out

    def _read(self, fd, off, n, out: RangeOutcome) -> bytes | None:
        got = bytearray()
        while len(got) < n:
            try:
                part = os.pread(fd, n - len(got), off + len(got))
            except InterruptedError:
                continue
            except OSError as e:
                if e.errno == errno.EINVAL and drop_direct(fd):
                    out.direct_dropped = True
                    continue
                out.error, out.error_offset = e.errno, off + len(got)
                return None
            if not part:
                break
            got += part
        return bytes(got)

    def small_run(self, fd, length, passes, verify, buffers=None) -> SmallOutcome:
        """The small-file overwrite in Python, step for step as scrub_small_run does it."""
        out = SmallOutcome(synced=[False] * len(passes), verified=[None] * len(passes))
        vcode = VERIFY_CODES[verify]
        for k, p in enumerate(passes):
            ks = None
            if p.random:
                ks = self.new_keystream()
                data = self.keystream(ks, 0, length)
                ks.wipe()
            else:
                buf = bytearray(length)
                p.fill(buf, 0)
                data = bytes(buf)
            w = 0
            while w < length:
                try:
                    r = os.pwrite(fd, data[w:], w)
                except InterruptedError:
                    continue
                except OSError as e:
                    out.error, out.stage, out.error_offset = e.errno, 1, w
                    return out
                if r == 0:
                    out.error, out.stage, out.error_offset = errno.ENOSPC, 1, w
                    return out
                w += r
            try:
                try:
                    os.fdatasync(fd)
                except OSError as e:
                    if e.errno != errno.EINVAL:
                        raise
                    os.fsync(fd)
            except OSError as e:
                out.error, out.stage = e.errno, 2
                return out
            out.synced[k] = True
            out.done = k + 1
            if vcode == 2 or (vcode == 1 and k == len(passes) - 1):
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
                got = b""
                while len(got) < length:
                    try:
                        part = os.pread(fd, length - len(got), len(got))
                    except InterruptedError:
                        continue
                    except OSError as e:
                        out.error, out.stage, out.error_offset = e.errno, 3, len(got)
                        return out
                    if not part:
                        break
                    got += part
                ok = got == data
                out.verified[k] = ok
                if not ok:
                    i = next((j for j in range(min(len(got), length)) if got[j] != data[j]), min(len(got), length))
                    out.stage, out.error_offset = 4, i
                    return out
        return out


class NativeEngine(Engine):
    """The compiled engine: C loops with the GIL released, keystream generated on a second
    thread while the previous chunk is written."""

    name = "native"

    def __init__(self):
        if _scrub_cffi is None:
            from scrub.exceptions import NativeUnavailable

            raise NativeUnavailable(UNAVAILABLE_REASON or "compiled engine unavailable")
        self.ffi, self.lib = _scrub_cffi.ffi, _scrub_cffi.lib
        self._views: dict = {}
        self.vaes = bool(self.lib.scrub_cpu_vaes())
        if self.lib.scrub_cpu_aesni():
            self.keystream_algorithm, self._kind = "aes-128-ctr", self.lib.SCRUB_KS_AES128_CTR
        else:
            self.keystream_algorithm, self._kind = "chacha20", self.lib.SCRUB_KS_CHACHA20

    def describe(self) -> str:
        accel = " vaes" if self.vaes else (" aes-ni" if self._kind == self.lib.SCRUB_KS_AES128_CTR else "")
        return f"native ({self.keystream_algorithm}{accel})"

    def control(self) -> Control:
        return Control(self.ffi)

    def _kind_of(self, algorithm: str) -> int:
        return {"aes-128-ctr": self.lib.SCRUB_KS_AES128_CTR, "chacha20": self.lib.SCRUB_KS_CHACHA20}[algorithm]

    def keystream(self, ks: Keystream, offset: int, length: int) -> bytes:
        out = self.ffi.new("uint8_t[]", max(length, 1))
        key, nonce = self.ffi.from_buffer(ks.key), self.ffi.from_buffer(ks.nonce)
        if self.lib.scrub_keystream(self._kind_of(ks.algorithm), key, nonce, offset, out, length):
            raise OSError(self.ffi.errno, os.strerror(self.ffi.errno))
        return bytes(self.ffi.buffer(out, length))

    def _io(self, fd, offset, length, source, chunk, buffers, ctl):
        io = self.ffi.new("struct scrub_io *")
        io.fd = fd
        io.offset, io.length, io.chunk, io.sector = offset, length, chunk, SECTOR
        cached = self._views_of(buffers)
        keep = [cached[1], cached[2]]
        io.buf0, io.buf1 = keep
        if isinstance(source, Keystream):
            io.source = self.lib.SCRUB_SRC_KEYSTREAM
            io.keystream = self._kind_of(source.algorithm)
            self.ffi.memmove(io.key, source.key, 32)
            self.ffi.memmove(io.nonce, source.nonce, 16)
        else:
            io.source = self.lib.SCRUB_SRC_BUFFER
            pattern = self.ffi.from_buffer(source)
            keep.append(pattern)
            io.pattern = pattern
        io.cancel, io.progress = ctl._cancel, ctl._progress
        return io, keep

    def _views_of(self, buffers):
        cached = self._views.get(id(buffers))
        if cached is None or cached[0] is not buffers:  # cdata views of the same buffers, made once
            cached = (buffers, self.ffi.from_buffer(buffers[0], require_writable=True),
                      self.ffi.from_buffer(buffers[1], require_writable=True))
            self._views = {id(buffers): cached}
        return cached

    def _outcome(self, io) -> RangeOutcome:
        out = RangeOutcome(done=io.done, error=io.error, direct_dropped=bool(io.direct_dropped))
        if io.error or io.nbad:
            out.error_offset = io.error_offset
        out.bad_count = io.nbad
        out.bad_sectors = [io.bad[i] for i in range(min(io.nbad, 64))]
        self.lib.scrub_wipe(io.key, 32)
        return out

    def write_range(self, fd, offset, length, source, *, chunk, buffers, ctl: Control) -> RangeOutcome:
        io, keep = self._io(fd, offset, length, source, chunk, buffers, ctl)
        self.lib.scrub_write_range(io)
        return self._outcome(io)

    def small_run(self, fd, length, passes, verify, buffers) -> SmallOutcome:
        ffi = self.ffi
        specs = ffi.new("struct scrub_pass_spec[]", len(passes))
        for k, p in enumerate(passes):
            if p.random:
                specs[k].keyed = 1
            else:
                specs[k].pattern_len = len(p.pattern)
                specs[k].flip_sector = int(p.flip_sector)
                ffi.memmove(specs[k].pattern, p.pattern, len(p.pattern))
        sm = ffi.new("struct scrub_small *")
        sm.fd, sm.keystream, sm.length, sm.npass, sm.passes = fd, self._kind, length, len(passes), specs
        sm.verify = VERIFY_CODES[verify]
        _, view0, view1 = self._views_of(buffers)
        sm.buf0, sm.buf1 = view0, view1
        self.lib.scrub_small_run(sm)
        return SmallOutcome(sm.done, [bool(specs[k].synced) for k in range(len(passes))],
                            [None if specs[k].verified < 0 else bool(specs[k].verified) for k in range(len(passes))],
                            sm.error, sm.stage, sm.error_offset)

    def verify_range(self, fd, offset, length, source, *, chunk, buffers, ctl: Control) -> RangeOutcome:
        io, keep = self._io(fd, offset, length, source, chunk, buffers, ctl)
        rc = self.lib.scrub_verify_range(io)
        out = self._outcome(io)
        if rc == 1:
            out.mismatch, out.error_offset = True, io.error_offset
        return out


class MultiFind:
    """Does any of several literals occur in a buffer?  One native pass (bigram table) where
    the compiled engine is loaded, else one ``in`` per literal: the same answer either way."""

    def __init__(self, needles: tuple[bytes, ...]):
        self.needles = needles
        self._mf = None
        if _scrub_cffi is not None:
            ffi, lib = _scrub_cffi.ffi, _scrub_cffi.lib
            blob = b"".join(needles)
            lens = ffi.new("uint32_t[]", [len(n) for n in needles])
            mf = lib.scrub_mf_new(blob, lens, len(needles))
            if mf != ffi.NULL:
                self._mf = ffi.gc(mf, lib.scrub_mf_free)
                self._search = lib.scrub_mf_search

    def search(self, data: bytes) -> int:
        """Index of a literal found in ``data`` (the first by position natively), or -1."""
        if self._mf is not None:
            return self._search(self._mf, data, len(data))
        for i, n in enumerate(self.needles):
            if n in data:
                return i
        return -1


def engine(name: str | None = None) -> Engine:
    """The engine to use: ``name`` or $SCRUB_ENGINE ('native' or 'python'), else native
    when it is loaded and the Python fallback otherwise."""
    name = name or os.environ.get("SCRUB_ENGINE") or ("native" if HAVE_NATIVE else "python")
    if name == "native":
        return NativeEngine()
    if name == "python":
        return PythonEngine()
    from scrub.exceptions import UsageError

    raise UsageError(f"unknown engine {name!r} (native or python)")
