"""Cost of storage inspection: N files on one mount through one Inspector (cached per mount).

    python benchmarks/bench_storage.py --dir /var/tmp --files 10000
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time

from scrub.storage import Inspector

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", default="/var/tmp")
    ap.add_argument("--files", type=int, default=10_000)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args(argv)
    work = tempfile.mkdtemp(prefix="scrub-bench-storage-", dir=args.dir)
    try:
        paths = []
        for i in range(args.files):
            p = os.path.join(work, f"f{i:06d}")
            with open(p, "wb") as f:
                f.write(b"x" * 100)
            paths.append(p)
        times = []
        for _ in range(args.rounds):
            t0 = time.perf_counter()
            inspector = Inspector()
            for p in paths:
                inspector.inspect(p)
            times.append(time.perf_counter() - t0)
        report = {"files": args.files, "dir": args.dir, "rounds": args.rounds,
                  "median_seconds": statistics.median(times), "min_seconds": min(times),
                  "files_per_second": args.files / statistics.median(times)}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    _common.report(report, None)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
