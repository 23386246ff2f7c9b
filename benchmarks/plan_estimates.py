"""Plan estimates of every seed matrix, before (fixed counts: every repetition a matrix may run, every level
of a ramp) and after (adaptive repetitions and ramps that stop: at least / at most), on each matrix's own
device, from the model in cli/plan.py (no history: a results root is not read).

    .venv/bin/python benchmarks/plan_estimates.py [--markdown]

"at least" assumes every adaptive cell's CI is within its target at min_repetitions (or all its runs end
alike) and every ramp group stops at its first level; "at most" that no cell's CI ever gets there and no
level fails: the fixed count again, less what shards or a plateau save.
"""

import argparse
import sys
from pathlib import Path

from edgebench.cli import estimates, plan

ROOT = Path(__file__).resolve().parents[1]


def row(path: Path) -> list[str]:
    p = plan.build(path)
    b = estimates.bounds(p)
    # before: the fixed count, every cell at its maximum repetitions and every ramp level run (the bound at most)
    before_runs, before_s = b.runs_max, b.s_max
    return [p.matrix.name, p.device.name, "%d" % before_runs, estimates.duration(before_s),
            "%d - %d" % (b.runs_min, b.runs_max),
            "%s - %s" % (estimates.duration(b.s_min), estimates.duration(b.s_max)),
            "%.1f%%" % (100 * (1 - b.s_min / before_s)) if before_s else "-",
            "; ".join(b.assumes)]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args()
    head = ["matrix", "device", "runs before", "estimate before", "runs after", "estimate after",
            "saved at best", "what after assumes"]
    rows = [row(p) for p in sorted((ROOT / "matrices").glob("*.yaml"))]
    if args.markdown:
        print("| " + " | ".join(head) + " |")
        print("|" + "---|" * len(head))
        for r in rows:
            print("| " + " | ".join(r) + " |")
        return
    widths = [max(len(x) for x in col) for col in zip(head, *rows)]
    for r in [head] + rows:
        sys.stdout.write("  ".join(x.ljust(w) for x, w in zip(r[:-1], widths)) + "  " + r[-1] + "\n")


if __name__ == "__main__":
    main()
