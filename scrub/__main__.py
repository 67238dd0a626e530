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

from scrub.cli import ExitCode, main  # noqa: E402

code = main()
if code == ExitCode.INTERRUPTED:
    # Ctrl-C: scrub has stopped cleanly and reported; now die by the signal, as GNU shred
    # does, so that a shell loop around scrub stops too.
    import signal

    sys.stdout.flush()
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGINT)
raise SystemExit(code)
