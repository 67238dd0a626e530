"""Erase rate of the histories job: a root with N users and 10 history files each.

    python benchmarks/bench_histories.py --dir /var/tmp --users 1000 --rounds 3
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time

from scrub.histories import histories

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402

FILES = (".bash_history", ".zsh_history", ".python_history", ".psql_history", ".mysql_history", ".lesshst", ".viminfo",
         ".node_repl_history", ".sqlite_history", ".local/share/fish/fish_history")


def make_root(base: str, users: int) -> str:
    root = os.path.join(base, "root")
    os.makedirs(os.path.join(root, "etc"))
    lines = []
    for u in range(users):
        home = os.path.join(root, "home", f"user{u:04d}")
        os.makedirs(os.path.join(home, ".local/share/fish"))
        for name in FILES:
            with open(os.path.join(home, name), "wb") as f:
                f.write(b"some command --with args\n" * 40)
        lines.append(f"user{u:04d}:x:{2000 + u}:{2000 + u}::/home/user{u:04d}:/bin/bash")
    with open(os.path.join(root, "etc", "passwd"), "w") as f:
        f.write("\n".join(lines) + "\n")
    return root


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", default="/var/tmp")
    ap.add_argument("--users", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--json")
    args = ap.parse_args(argv)
    times, counts = [], []
    for _ in range(args.rounds):
        work = tempfile.mkdtemp(prefix="scrub-bench-hist-", dir=args.dir)
        try:
            root = make_root(work, args.users)
            os.sync()
            t0 = time.perf_counter()
            report = histories(root)
            times.append(time.perf_counter() - t0)
            counts.append(sum(1 for i in report.items if i.status == "done"))
        finally:
            shutil.rmtree(work, ignore_errors=True)
    out = {"users": args.users, "files": args.users * len(FILES), "erased": counts, "seconds": times,
           "median_seconds": statistics.median(times), "files_per_second": args.users * len(FILES) / statistics.median(times)}
    _common.report(out, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
