"""Wipe throughput on a target directory: scrub (native and fallback) against GNU shred and a
raw in-place dd write, side by side in one run.

Each round runs every command once on the same preallocated file, in an order rotated per
round (this VM's disk sits on a host cache, so a fixed order biases), and divides by the
faster dd of that round.  The report gives medians of the per-round ratios, the in-process
keystream rate, peak RSS while wiping a larger file, and the cost of --verify last.

    python benchmarks/bench_wipe.py --dir /var/tmp --size 1G --rounds 5 --json out.json --svg out.svg
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time

PY = sys.executable

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402


def commands(path: str, size: int) -> dict[str, list[str]]:
    count = size // (4 << 20)
    scrub = [PY, "-m", "scrub", "shred", "--no-storage"]
    cmds = {
        "dd (buffered)": ["dd", "if=/dev/zero", f"of={path}", "bs=4M", f"count={count}", "conv=notrunc,fdatasync", "status=none"],
        "dd (direct)": ["dd", "if=/dev/zero", f"of={path}", "bs=4M", f"count={count}", "conv=notrunc,fdatasync",
                        "oflag=direct", "status=none"],
        "scrub -n 1": scrub + ["-n", "1", "--verify", "none", path],
        "scrub -n 1 --direct": scrub + ["-n", "1", "--verify", "none", "--direct", path],
        "scrub -n 1 (python engine)": scrub + ["--engine", "python", "-n", "1", "--verify", "none", path],
        "shred -n 1": ["shred", "-n", "1", path],
        "scrub -n 3 -z": scrub + ["-n", "3", "-z", "--verify", "none", path],
        "shred -n 3 -z": ["shred", "-n", "3", "-z", path],
        "scrub -n 1 --verify last": scrub + ["-n", "1", "--verify", "last", path],
    }
    if shutil.which("shred") is None:
        cmds = {k: v for k, v in cmds.items() if not k.startswith("shred")}
    return cmds


def timed(cmd: list[str]) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB) of one child process."""
    wall, rss, _ = _common.timed(cmd)
    return wall, rss


def keystream_rate(seconds: float = 1.0) -> float | None:
    """GB/s of the native keystream generator, in process, one core, 4 MiB at a time."""
    from scrub import _native

    if not _native.HAVE_NATIVE:
        return None
    eng = _native.NativeEngine()
    ffi, lib = eng.ffi, eng.lib
    buf = ffi.new("uint8_t[]", 4 << 20)
    ks = eng.new_keystream()
    key, nonce = ffi.from_buffer(ks.key), ffi.from_buffer(ks.nonce)
    kind = eng._kind_of(ks.algorithm)
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        lib.scrub_keystream(kind, key, nonce, n * (4 << 20), buf, 4 << 20)
        n += 1
    return n * (4 << 20) / (time.perf_counter() - t0) / 1e9


def parse_size(text: str) -> int:
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    return int(text[:-1]) * units[text[-1].upper()] if text[-1].upper() in units else int(text)


def svg_chart(medians: dict[str, float], title: str) -> str:
    """A horizontal bar chart of median seconds; plain SVG, no plotting library."""
    width, bar_h, left = 760, 26, 250
    top = 40
    height = top + bar_h * len(medians) + 30
    peak = max(medians.values()) or 1
    rows = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="13">',
            f'<text x="10" y="24" font-size="15" font-weight="bold">{title}</text>']
    for i, (name, value) in enumerate(medians.items()):
        y = top + i * bar_h
        w = (width - left - 90) * value / peak
        color = "#2b6cb0" if name.startswith("scrub") else ("#718096" if name.startswith("dd") else "#c05621")
        rows.append(f'<text x="{left - 8}" y="{y + 17}" text-anchor="end">{name}</text>')
        rows.append(f'<rect x="{left}" y="{y + 4}" width="{w:.1f}" height="{bar_h - 8}" fill="{color}"/>')
        rows.append(f'<text x="{left + w + 6:.1f}" y="{y + 17}">{value:.2f} s</text>')
    rows.append("</svg>")
    return "\n".join(rows)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dir", default="/var/tmp", help="target directory (the volume to measure)")
    ap.add_argument("--size", default="1G")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--rss-size", default="2G", help="file size for the peak-RSS run")
    ap.add_argument("--json", help="write the results here")
    ap.add_argument("--svg", help="write a chart of the medians here")
    args = ap.parse_args(argv)
    size = parse_size(args.size)
    work = tempfile.mkdtemp(prefix="scrub-bench-", dir=args.dir)
    path = os.path.join(work, "target")
    try:
        with open(path, "wb") as f:  # preallocated, real data: every command overwrites in place
            chunk = os.urandom(4 << 20)
            for _ in range(size // len(chunk)):
                f.write(chunk)
            os.fsync(f.fileno())
        cmds = commands(path, size)
        names = list(cmds)
        times: dict[str, list[float]] = {n: [] for n in names}
        ratios: dict[str, list[float]] = {n: [] for n in names}
        for r in range(args.rounds):
            order = names[r % len(names):] + names[:r % len(names)]
            round_times = {}
            for name in order:
                round_times[name], _ = timed(cmds[name])
                times[name].append(round_times[name])
            limit = min(round_times["dd (buffered)"], round_times["dd (direct)"])
            for name in names:
                ratios[name].append(round_times[name] / limit)
            print(f"round {r + 1}: " + ", ".join(f"{n} {round_times[n]:.2f}s" for n in names), file=sys.stderr)
        med = {n: statistics.median(v) for n, v in times.items()}
        med_ratio = {n: statistics.median(v) for n, v in ratios.items()}
        pair = {}
        for a, b in (("shred -n 1", "scrub -n 1"), ("shred -n 1", "scrub -n 1 --direct"), ("shred -n 3 -z", "scrub -n 3 -z"),
                     ("scrub -n 1 --verify last", "scrub -n 1")):
            if a in times:
                pair[f"{a} / {b}"] = statistics.median(x / y for x, y in zip(times[a], times[b], strict=True))
        os.unlink(path)
        rss_size = parse_size(args.rss_size)
        with open(path, "wb") as f:
            for _ in range(rss_size // len(chunk)):
                f.write(chunk)
        rss_s, rss_kib = timed([PY, "-m", "scrub", "shred", "--no-storage", "-n", "1", "--verify", "last", path])
        report = {
            "target_dir": args.dir, "size": size, "rounds": args.rounds,
            "median_seconds": med, "median_ratio_to_fastest_dd": med_ratio, "median_paired_ratios": pair,
            "keystream_gb_per_s": keystream_rate(),
            "peak_rss_mib_wiping": {"size": rss_size, "mib": rss_kib / 1024, "seconds": rss_s},
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)
    _common.report(report, args.json)
    if args.svg:
        with open(args.svg, "w") as f:
            f.write(svg_chart(med, f"{args.size} in place on {args.dir}: median wall time of {args.rounds} rounds"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
