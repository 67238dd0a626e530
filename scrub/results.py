"""Typed results scrub returns: one object per path, with everything that was and was not done."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from scrub._paths import to_json


@dataclass
class Problem:
    """A warning or an error: a stable ``code`` for programs, a sentence for people."""

    code: str
    message: str
    offset: int | None = None
    errno: int | None = None

    def to_json(self) -> dict:
        doc = {"code": self.code, "message": self.message}
        if self.offset is not None:
            doc["offset"] = self.offset
        if self.errno is not None:
            doc["errno"] = self.errno
        return doc


@dataclass
class PassRecord:
    number: int
    label: str  # "random" or the pattern in hex
    source: str  # keystream algorithm, "pattern" or "random-source"
    bytes: int = 0
    synced: bool = False
    verified: bool | None = None  # None: not read back
    seconds: float = 0.0  # the whole pass: write + sync + verify
    write_seconds: float = 0.0
    sync_seconds: float = 0.0
    verify_seconds: float = 0.0

    def to_json(self) -> dict:
        doc = dict(self.__dict__)
        for k in ("seconds", "write_seconds", "sync_seconds", "verify_seconds"):
            doc[k] = round(doc[k], 6)
        mib = self.bytes / (1 << 20)
        # write MiB/s counts the sync too: a write is done when the device has it
        doc["write_mib_s"] = round(mib / (self.write_seconds + self.sync_seconds), 1) if self.write_seconds + self.sync_seconds else None
        doc["verify_mib_s"] = round(mib / self.verify_seconds, 1) if self.verify_seconds else None
        return doc


@dataclass
class ShredResult:
    """What happened to one path.  ``status`` is ``done`` only when every pass was written in
    full and synced, verification (if asked) matched, and removal (if asked) completed."""

    path: bytes
    status: str = "pending"  # done | failed | refused | interrupted | skipped
    kind: str = ""  # regular | block
    size: int = 0  # st_size (or device size) before the overwrite
    length: int = 0  # bytes written per pass
    holes: int = 0  # bytes of a sparse file left unwritten (no data there)
    passes: list[PassRecord] = field(default_factory=list)
    verify: str = "none"  # none | passed | failed | unverifiable
    removed: bool = False
    truncated: bool = False  # overwritten, then truncated in place (histories --truncate)
    renames: list[bytes] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    errors: list[Problem] = field(default_factory=list)
    findings: list = field(default_factory=list)  # scrub.storage findings for this file
    engine: str = ""
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == "done"

    def fail(self, code: str, message: str, *, status: str = "failed", offset=None, errno=None) -> None:
        self.errors.append(Problem(code, message, offset, errno))
        self.status = status

    def warn(self, code: str, message: str, *, offset=None) -> None:
        self.warnings.append(Problem(code, message, offset))

    def to_json(self) -> dict:
        doc = to_json(self.path)
        doc.update(
            status=self.status, kind=self.kind, size=self.size, bytes_per_pass=self.length,
            holes=self.holes, engine=self.engine, seconds=round(self.seconds, 6),
            passes=[p.to_json() for p in self.passes], verify=self.verify, removed=self.removed, truncated=self.truncated,
            renames=[to_json(n)["path"] for n in self.renames],
            warnings=[w.to_json() for w in self.warnings], errors=[e.to_json() for e in self.errors],
            findings=[f.to_json() for f in self.findings],
        )
        return doc


class Progress(NamedTuple):
    """Reported to a ``progress`` callback from the calling thread, at most a few times a second."""

    path: bytes
    event: str  # storage | pass | bytes | sync | verify | removing | rename | removed
    pass_number: int = 0
    passes: int = 0
    label: str = ""
    done: int = 0
    total: int = 0
    detail: bytes = b""
    findings: tuple = ()  # event "storage": the findings for this file, before any pass
