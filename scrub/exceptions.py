"""The exceptions scrub raises.  Each also inherits the builtin a caller would expect."""

from __future__ import annotations


class ScrubError(Exception):
    """Base of every error scrub raises on purpose."""

    def __init__(self, message: str, *, path: bytes | str | None = None):
        super().__init__(message)
        self.message = message
        self.path = path

    def __str__(self) -> str:
        if self.path is None:
            return self.message
        from scrub._paths import display

        return f"{display(self.path)}: {self.message}"


class UsageError(ScrubError, ValueError):
    """An argument that cannot work (bad size, unknown scheme, conflicting options)."""


class RootNotFound(ScrubError, FileNotFoundError):
    """The root given (``--root``, ``root=``) does not exist or is not a directory."""


class NotASystemRoot(ScrubError, FileNotFoundError):
    """The root holds no etc/passwd: an empty directory, an image that is not mounted.  A
    check of such a root must never pass as clean."""


class NativeUnavailable(ScrubError, ImportError):
    """The compiled engine was asked for but is not loaded (missing or stale build)."""


class Interrupted(KeyboardInterrupt):
    """Ctrl-C (SIGINT) stopped a run after the current chunk.

    ``results`` holds what was done so far: the file being overwritten is reported
    ``interrupted`` and left in place, never removed half-overwritten.
    """

    def __init__(self, results):
        super().__init__("interrupted")
        self.results = results


for _cls in (ScrubError, UsageError, RootNotFound, NotASystemRoot, NativeUnavailable, Interrupted):
    _cls.__module__ = "scrub"
