"""scrub: overwrite files in place, and say where overwriting cannot erase them.

The public API: :func:`shred` overwrites and removes, :mod:`scrub.schemes` lists the pass
schemes, and every function returns typed results and raises :class:`ScrubError`
subclasses; nothing here prints.
"""

from scrub import storage
from scrub._native import HAVE_NATIVE, UNAVAILABLE_REASON, engine
from scrub.exceptions import Interrupted, NativeUnavailable, ScrubError, UsageError
from scrub.overwrite import Shredder, parse_size, plan, shred
from scrub.results import PassRecord, Problem, Progress, ShredResult
from scrub.schemes import SCHEMES, Pass, Scheme

__version__ = "0.1.0"

__all__ = [
    "HAVE_NATIVE", "UNAVAILABLE_REASON", "engine",
    "Interrupted", "NativeUnavailable", "ScrubError", "UsageError",
    "Shredder", "parse_size", "plan", "shred",
    "PassRecord", "Problem", "Progress", "ShredResult",
    "SCHEMES", "Pass", "Scheme", "storage",
    "__version__",
]
