"""Scan throughput on a generated tree: 100,000 small text files (about 100 MB) in 1,000
directories of one user's home, side by side with find, grep and (if installed)
detect-secrets, in one run.

    python benchmarks/bench_scan.py --dir /var/tmp --files 100000 --rounds 5 --json out.json

The default scan walks every entry and reads only what the catalog names; --deep reads the
head of every file.  Reported: medians of whole-process wall time, entries/s and files/s,
peak RSS, and the number of findings (the filler must give zero).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402

WORDS = ("alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa quebec "
         "romeo sierra tango uniform victor whiskey xray yankee zulu config value server port path user data").split()


def make_tree(base: str, files: int, seed: int = 1234) -> tuple[str, int]:
    rng = random.Random(seed)
    root = os.path.join(base, "root")
    home = os.path.join(root, "home", "user")
    os.makedirs(os.path.join(root, "etc"))
    with open(os.path.join(root, "etc", "passwd"), "w") as f:
        f.write("user:x:1000:1000::/home/user:/bin/bash\n")
    total = 0
    dirs = max(1, files // 100)
    for d in range(dirs):
        dpath = os.path.join(home, f"d{d // 32:02d}", f"sub{d:04d}")
        os.makedirs(dpath, exist_ok=True)
        for i in range(files // dirs):
            size = max(16, int(rng.lognormvariate(6.6, 0.8)))
            words = []
            n = 0
            while n < size:
                w = rng.choice(WORDS)
                words.append(w)
                n += len(w) + 1
            data = (" ".join(words)[:size] + "\n").encode()
            ext = rng.choice((".txt", ".conf", ".log", ".md", ".py", ".cfg"))
            with open(os.path.join(dpath, f"f{i:03d}{ext}"), "wb") as f:
                f.write(data)
            total += len(data)
    return root, total


def timed(cmd: list[str]) -> tuple[float, int, str]:
    return _common.timed(cmd, capture=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dir", default="/var/tmp")
    ap.add_argument("--files", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--json")
    args = ap.parse_args(argv)
    work = tempfile.mkdtemp(prefix="scrub-bench-scan-", dir=args.dir)
    try:
        root, total = make_tree(work, args.files)
        entries = sum(len(ds) + len(fs) for _, ds, fs in os.walk(os.path.join(root, "home", "user"))) + 1
        cmds = {
            "find -type f": ["sh", "-c", f"find {root} -type f | wc -l"],
            "grep -rl 'PRIVATE KEY'": ["grep", "-rl", "PRIVATE KEY", root],
            "scrub scan": [sys.executable, "-m", "scrub", "scan", "--json", "--root", root],
            "scrub scan --deep": [sys.executable, "-m", "scrub", "scan", "--json", "--deep", "--root", root],
        }
        if shutil.which("detect-secrets"):
            cmds["detect-secrets scan --all-files"] = ["detect-secrets", "scan", "--all-files", root]
        times = {n: [] for n in cmds}
        rss = {n: 0 for n in cmds}
        inproc = {"scrub scan": [], "scrub scan --deep": []}
        findings = {}
        names = list(cmds)
        for r in range(args.rounds):
            for name in names[r % len(names):] + names[:r % len(names)]:
                if name.startswith("detect-secrets") and r > 0:
                    continue  # minutes per run: once is enough
                wall, peak, out = timed(cmds[name])
                times[name].append(wall)
                rss[name] = max(rss[name], peak)
                if name.startswith("scrub"):
                    doc = json.loads(out)
                    inproc[name].append(doc["data"]["summary"]["seconds"])
                    findings[name] = doc["data"]["summary"]["findings"]
        med = {n: statistics.median(v) for n, v in times.items()}
        report = {
            "files": args.files, "bytes": total, "entries": entries, "rounds": args.rounds,
            "median_wall_seconds": med,
            "peak_rss_mib": {n: v / 1024 for n, v in rss.items()},
            "scrub_in_process_seconds": {n: statistics.median(v) for n, v in inproc.items()},
            "default_scan_entries_per_s_in_process": entries / statistics.median(inproc["scrub scan"]),
            "deep_scan_files_per_s_in_process": args.files / statistics.median(inproc["scrub scan --deep"]),
            "default_scan_entries_per_s_wall": entries / med["scrub scan"],
            "deep_scan_files_per_s_wall": args.files / med["scrub scan --deep"],
            "findings_on_filler": findings,
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)
    _common.report(report, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
