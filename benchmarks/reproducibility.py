"""Reproducibility, measured: the same matrix run twice on this machine, compared with `edgebench compare`.

Figures (issue 12 item 6):
- agree: the share of common cells whose two campaigns agree within their CIs (compare's verdict
  "same": the 95 % CI of the ratio of medians holds 1, or the test finds no difference). Goal: >= 95 %.
- median |ratio - 1|: how far a cell's median p50 moves between two campaigns, as a share.
- both again with the campaign-wide speed factor (the geometric mean ratio) divided out: a shared
  machine whose load changed between the campaigns moves every cell together; what is left is noise.
- the noise flag (item 5): the share of cells flagged by the old rule (any run's CV > 10 %) and by the
  new one (run-to-run CI of the median wider than +-10 %, cli/analysis/noise.py).

    .venv/bin/python benchmarks/reproducibility.py [--matrix matrices/smoke.yaml] [--results DIR]
    .venv/bin/python benchmarks/reproducibility.py --reuse DIR_A DIR_B   # two campaigns already run

Measured 2026-12-01 on the 2-core dev VM, smoke matrix (31 common ok cells):
- idle machine, `--order repetition-major --repetitions 3` (96 runs, 298 s and 296 s): 100 % of cells agree
  within their CIs, median |ratio - 1| 5.5 % (max 16.9 %), geometric mean ratio 1.013 [0.949-1.053];
  noisy cells 19 and 15 of 31 by the old CV rule, 15 and 15 by the new one.
- shared machine (3 helpers and a CI run beside it), the matrix as it is (2 repetitions, cell-major): 42 %
  and 32 % agree (median |ratio - 1| 68 % and 23 %; geometric means 0.39 and 0.52): back-to-back
  repetitions see only the minutes a cell ran in, not a load shift between campaigns, so their CI is too
  narrow. Spread repetitions (`order: repetition-major`, or `adaptive`) when campaigns are to be compared.

The two campaigns run one after the other (not interleaved: a campaign is the unit being reproduced),
so drift of a shared machine between them shows up in the figures, as it would for a user.
"""

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Optional

import pandas as pd
from edgebench.cli.analysis import compare as cmp
from edgebench.cli.analysis.tables import load
from edgebench.cli.report.summary import summarize


def run_campaign(matrix: str, results: Path, name: str) -> Path:
    t0 = time.monotonic()
    subprocess.run([sys.executable, "-m", "edgebench.cli.app", "run", matrix, "--runner", "local", "--results",
                    str(results), "--campaign", name, "--no-report"], check=False, stdout=subprocess.DEVNULL)
    print("ran %s in %.0f s" % (name, time.monotonic() - t0), file=sys.stderr)
    return results / name


def noise_shares(camp: Path) -> dict[str, Any]:
    runs = load(camp).runs
    ok = runs[runs["status"] == "ok"]
    cells = summarize(runs)
    cells = cells[cells["ok"] > 0]
    old = 0
    for ids in cells["run_ids"]:
        g = ok[ok["run_id"].isin(ids.split())]
        old += bool((pd.to_numeric(g["cv"], errors="coerce") > 0.10).any())
    runs_iqr = pd.to_numeric(ok["iqr_ratio"], errors="coerce").dropna()
    return {"cells": len(cells), "old_rule_cv_noisy": old, "new_rule_noisy": int(cells["noisy"].astype(bool).sum()),
            "runs": len(ok), "runs_cv_over_10pct": int((pd.to_numeric(ok["cv"], errors="coerce") > 0.10).sum()),
            "runs_iqr_over_10pct": int((runs_iqr > 0.10).sum()), "runs_iqr_over_25pct": int((runs_iqr > 0.25).sum())}


def figures(a: Path, b: Path) -> dict[str, Any]:
    c = cmp.compare(load(a), load(b), allow_differences=True)
    same = sum(x.verdict == "same" for x in c.cells)
    inside = sum(x.ci_lo <= 1 <= x.ci_hi for x in c.cells)
    dev = [abs(x.ratio - 1) for x in c.cells]
    # the same with the campaign-wide speed factor (the geometric mean) taken out: what is left is the
    # cells moving against each other, which a shared machine's load shift between campaigns does not explain
    g = c.geomean or 1.0
    inside_n = sum(x.ci_lo / g <= 1 <= x.ci_hi / g for x in c.cells)
    dev_n = [abs(x.ratio / g - 1) for x in c.cells]
    return {"a": str(a), "b": str(b), "common_cells": len(c.cells), "agree_share": same / len(c.cells),
            "ci_holds_1_share": inside / len(c.cells), "median_abs_ratio_dev": statistics.median(dev),
            "max_abs_ratio_dev": max(dev), "agree_share_after_speed_factor": inside_n / len(c.cells),
            "median_abs_ratio_dev_after_speed_factor": statistics.median(dev_n),
            "geomean": c.geomean, "geomean_ci": c.geomean_ci,
            "counts": c.counts(), "differences": c.differences,
            "disagree": [{"cell": c.name(x.cell), "ratio": x.ratio, "ci": [x.ci_lo, x.ci_hi], "p": x.p_value}
                         for x in c.cells if x.verdict != "same"],
            "noise_a": noise_shares(a), "noise_b": noise_shares(b)}


def variant(matrix: Path, results: Path, order: Optional[str], repetitions: Optional[int]) -> str:
    """A copy of the matrix with another order or repetition count (same cells, so the same run ids)."""
    import yaml

    data = yaml.safe_load(matrix.read_text())
    if order:
        data["order"] = order
    if repetitions:
        data["repetitions"] = repetitions
    results.mkdir(parents=True, exist_ok=True)
    out = results / ("%s-%s-r%s.yaml" % (matrix.stem, data.get("order", "cell-major"), data.get("repetitions", 1)))
    out.write_text(yaml.safe_dump(data, sort_keys=False))
    return str(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--matrix", default="matrices/smoke.yaml")
    ap.add_argument("--results", type=Path, default=Path("/tmp/edgebench-repro"))
    ap.add_argument("--reuse", nargs=2, type=Path, metavar=("A", "B"))
    ap.add_argument("--order", choices=["cell-major", "repetition-major"], help="override the matrix's order")
    ap.add_argument("--repetitions", type=int, help="override the matrix's repetitions")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if args.order or args.repetitions:
        args.matrix = variant(Path(args.matrix), args.results, args.order, args.repetitions)
    if args.reuse:
        a, b = args.reuse
    else:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        a = run_campaign(args.matrix, args.results, "repro-%s-a" % stamp)
        b = run_campaign(args.matrix, args.results, "repro-%s-b" % stamp)
    f = figures(a, b)
    if args.json:
        print(json.dumps(f, indent=2, default=str))
        return
    print("common cells %d: %.0f %% agree within their CIs (goal >= 95 %%), CI of the ratio holds 1 in %.0f %%"
          % (f["common_cells"], 100 * f["agree_share"], 100 * f["ci_holds_1_share"]))
    print("median |ratio - 1| %.1f %%, max %.1f %%, geometric mean ratio %.3f [%.3f-%.3f]"
          % (100 * f["median_abs_ratio_dev"], 100 * f["max_abs_ratio_dev"], f["geomean"], *f["geomean_ci"]))
    print("with the campaign-wide speed factor %.3f taken out: %.0f %% agree, median |ratio - 1| %.1f %%"
          % (f["geomean"], 100 * f["agree_share_after_speed_factor"],
             100 * f["median_abs_ratio_dev_after_speed_factor"]))
    for side in ("noise_a", "noise_b"):
        n = f[side]
        print("%s: cells noisy by the old rule (a run's CV > 10 %%) %d of %d, by the new rule %d; runs with CV > 10 %% "
              "%d of %d, IQR/median > 10 %% %d, > 25 %% %d" % (side, n["old_rule_cv_noisy"], n["cells"],
                                                               n["new_rule_noisy"], n["runs_cv_over_10pct"], n["runs"],
                                                               n["runs_iqr_over_10pct"], n["runs_iqr_over_25pct"]))
    for d in f["disagree"]:
        print("disagree: %s ratio %.3f [%.3f-%.3f] p %.3f" % (d["cell"], d["ratio"], *d["ci"], d["p"]))


if __name__ == "__main__":
    main()
