"""scrub: overwrite files in place, and say where overwriting cannot erase them.

The public API, for other hardening tools:

- :func:`shred` / :class:`Shredder` overwrite and remove (:mod:`scrub.schemes` lists schemes);
- :func:`scrub.storage.inspect` says what the storage under a file keeps;
- :func:`scan` (:mod:`scrub.discover`) finds histories and credential stashes of every user;
- :func:`scrub.histories.histories` erases every history, :func:`scrub.histories.check` proves
  none is left;
- :func:`scrub.manifest.manifest` writes exclude lists for bundlers;
- :func:`scrub.audit.audit` checks a root against the shared-AMI guidelines.

Everything returns typed results and raises :class:`ScrubError` subclasses; nothing prints.
``scan`` and the modules discover, histories, manifest, audit and sshd load on first use.
"""

from scrub import storage
from scrub._native import HAVE_NATIVE, UNAVAILABLE_REASON, engine
from scrub.exceptions import Interrupted, NativeUnavailable, NotASystemRoot, RootNotFound, ScrubError, UsageError
from scrub.overwrite import Shredder, parse_size, plan, shred
from scrub.results import PassRecord, Problem, Progress, ShredResult
from scrub.schemes import SCHEMES, Pass, Scheme

__version__ = "0.1.0"

_LAZY = {"scan": ("scrub.discover", "scan"), "ScanReport": ("scrub.discover", "ScanReport")}
_SUBMODULES = ("discover", "histories", "manifest", "audit", "sshd")


def __getattr__(name):  # PEP 562: keep `import scrub` (and the CLI's start-up) light
    import importlib

    if name in _LAZY:
        module, attr = _LAZY[name]
        value = getattr(importlib.import_module(module), attr)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        return importlib.import_module(f"scrub.{name}")
    raise AttributeError(f"module 'scrub' has no attribute {name!r}")


__all__ = [
    "HAVE_NATIVE", "UNAVAILABLE_REASON", "engine",
    "Interrupted", "NativeUnavailable", "NotASystemRoot", "RootNotFound", "ScrubError", "UsageError",
    "Shredder", "parse_size", "plan", "shred",
    "PassRecord", "Problem", "Progress", "ShredResult",
    "SCHEMES", "Pass", "Scheme", "storage",
    *_LAZY, *_SUBMODULES,
    "__version__",
]
