"""How fast hostile matrices are refused: an alias bomb, a 50 MB file, a 10^6-cell product, a non-UTF-8 byte.

Each case is planned in-process (`plan.build`) in interleaved rounds next to a baseline, a valid one-cell
matrix; the figure is the median over rounds of (case time / baseline time) and the median case time.
Then each case once through the real CLI (`python -m edgebench.cli.app plan FILE`) in a fresh process, for
its exit code, wall time and peak RSS (the CLI's start-up included: compare with the baseline's).

    .venv/bin/python benchmarks/input_limits.py [--rounds 15] [--at-limit]

--at-limit also plans, once, the largest plan accepted by default (plan.MAX_RUNS runs of one cell), the
worst a matrix under every limit can cost.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from edgebench.cli import plan
from edgebench.cli.errors import InputError

CELL = "fixed: {model: resnet18, framework: onnxruntime, iterations: 2}\n"


def cases() -> dict[str, bytes]:
    bomb = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, cur in zip("abcdefgh", "bcdefghi"):
        bomb.append("%s: &%s [%s]" % (cur, cur, ",".join(["*" + prev] * 9)))
    axes = "".join("  %s: [%s]\n" % (k, ", ".join(str(i) for i in range(1, 11)))
                   for k in ("batch_size", "threads", "iterations", "warmups", "seed", "cpus"))
    big = "name: t\n" + CELL + "include:\n" + "  - {batch_size: 1}\n" * (50 * 1024 * 1024 // 20)
    return {
        "baseline (1 cell)": ("name: t\n" + CELL).encode(),
        "alias bomb (%d B)" % len("\n".join(bomb)): ("\n".join(bomb) + "\nname: t\n" + CELL).encode(),
        "50 MB file": big.encode(),
        "10^6-cell product": ("name: t\n" + CELL + "axes:\n" + axes).encode(),
        "non-UTF-8 byte": b"name: t\n# caf\xe9\n" + CELL.encode(),
    }


def plan_once(path: Path) -> tuple[float, str]:
    t0 = time.perf_counter()
    try:
        plan.build(path)
        outcome = "planned"
    except InputError as e:
        outcome = str(e).split(": ", 1)[1][:90]
    return time.perf_counter() - t0, outcome


def cli_once(path: Path) -> dict[str, object]:
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "edgebench.cli.app", "plan", str(path), "--json"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = code = os.waitstatus_to_exitcode(status)
    return {"exit": code, "wall_s": round(time.perf_counter() - t0, 3),
            "peak_rss_mb": round(usage.ru_maxrss / 1024, 1)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--at-limit", action="store_true", help="also plan MAX_RUNS runs once (about a minute)")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp())
    files: dict[str, Path] = {}
    for i, (name, data) in enumerate(cases().items()):
        files[name] = tmp / ("case%d.yaml" % i)
        files[name].write_bytes(data)
    base = "baseline (1 cell)"
    for p in files.values():  # warm imports and caches once
        plan_once(p)
    times: dict[str, list[float]] = {n: [] for n in files}
    outcome: dict[str, str] = {}
    for _ in range(args.rounds):
        for name, p in files.items():  # interleaved: every case beside the baseline in each round
            t, outcome[name] = plan_once(p)
            times[name].append(t)
    rows = {}
    for name in files:
        ratios = [t / b for t, b in zip(times[name], times[base])]
        rows[name] = {"median_s": round(statistics.median(times[name]), 5),
                      "ratio_to_baseline": round(statistics.median(ratios), 2),
                      "outcome": outcome[name], "cli": cli_once(files[name])}
    out: dict[str, object] = {"rounds": args.rounds, "cases": rows}
    if args.at_limit:
        p = tmp / "at-limit.yaml"
        p.write_text("name: t\n%srepetitions: %d\n" % (CELL, plan.MAX_RUNS))
        t, what = plan_once(p)
        out["at_limit"] = {"runs": plan.MAX_RUNS, "plan_s": round(t, 1), "outcome": what, "cli": cli_once(p)}
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
