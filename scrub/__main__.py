import os
import sys

import scrub

if getattr(scrub, "__file__", None) is None:
    # A directory named scrub in the current directory (the clone, run from its parent) was
    # imported as a namespace package in place of the installed one: drop the current
    # directory from the path and import the real package.
    sys.path[:] = [p for p in sys.path if p not in ("", ".", os.getcwd())]
    for name in [m for m in sys.modules if m == "scrub" or m.startswith("scrub.")]:
        del sys.modules[name]

from scrub.cli import main  # noqa: E402

raise SystemExit(main())
