"""Helpers shared by the benchmark scripts."""

from __future__ import annotations

import os
import subprocess
import time


def timed(cmd: list, *, capture: bool = False) -> tuple[float, int, str]:
    """Wall seconds, peak RSS (KiB) and, with ``capture``, stdout of one child process;
    a failing command stops the benchmark with its stderr."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE if capture else subprocess.DEVNULL, stderr=subprocess.PIPE)
    out = proc.stdout.read() if capture else b""
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) not in (0, 1):  # scrub exits 1 when it has findings
        raise SystemExit(f"{' '.join(map(str, cmd))} failed: {proc.stderr.read().decode()}")
    return elapsed, usage.ru_maxrss, out.decode(errors="replace")



def report(doc: dict, json_path: str | None) -> None:
    """Print the results and, when asked, keep them in a file (docs/img/ holds the recorded runs)."""
    import json

    text = json.dumps(doc, indent=2)
    print(text)
    if json_path:
        with open(json_path, "w") as f:
            f.write(text + "\n")
