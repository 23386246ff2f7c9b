"""How far `edgebench plan`'s estimate is from a campaign's real wall time, from the model and from history.

Give a finished campaign (e.g. the smoke campaign with the local runner) and, optionally, the plan --json
written before it ran. Printed: the campaign's real wall time (the command's, when --elapsed is given, and
the sum of the runs' wall_s, which leaves out the artefacts made first), the model's estimate, and two
history estimates: in-sample (history of every run of the campaign, as `plan` would give the next time)
and out-of-sample (history of the repetition-0 runs only, estimating the repetition-1 runs it never saw).
Errors are (estimate - real) / real, for the total and the median over runs of |per-run error|.

    .venv/bin/python benchmarks/plan_learning.py MATRIX CAMPAIGN_DIR [--before plan.json] [--elapsed S]
        [--history RESULTS_ROOT]
"""

import argparse
import json
import shutil
import statistics
import tempfile
from pathlib import Path

from edgebench.cli import estimates, history, plan, store


def _err(est: float, real: float) -> str:
    return "%+.1f%%" % (100 * (est - real) / real)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("matrix", type=Path)
    ap.add_argument("campaign", type=Path)
    ap.add_argument("--before", type=Path, help="plan --json written before the campaign ran")
    ap.add_argument("--elapsed", type=float, help="the run command's own wall time, s")
    ap.add_argument("--history", type=Path, help="also: estimates learnt from this results root (another "
                    "campaign of the same matrix and device) against this campaign's runs")
    args = ap.parse_args()
    walls = {}
    for s in store.iter_runs(args.campaign):
        if s.checked and s.result is not None and isinstance(s.result.host.get("wall_s"), (int, float)):
            walls[s.result.run_id] = float(s.result.host["wall_s"])
    p_model = plan.build(args.matrix)
    model = {r.run_id: r.estimate_s for r in p_model.runs}
    if args.before:
        model = {r["run_id"]: r["estimate_s"] for r in json.loads(args.before.read_text())["plan"]}
    ids = [i for i in model if i in walls]
    real = sum(walls[i] for i in ids)
    print("campaign %s: %d runs with a wall time, sum of run wall_s %.0f s%s" % (
        args.campaign, len(ids), real, ", command wall %.0f s" % args.elapsed if args.elapsed else ""))

    def report(name: str, est: dict[str, float], only: list[str]) -> None:
        tot_e, tot_r = sum(est[i] for i in only), sum(walls[i] for i in only)
        per = statistics.median(abs(est[i] - walls[i]) / walls[i] for i in only)
        print("  %-44s %7.0f s vs %7.0f s real: total %s, per run median |error| %.0f%% (%d runs)"
              % (name, tot_e, tot_r, _err(tot_e, tot_r), 100 * per, len(only)))

    report("model (cli/plan.py), before the run", model, ids)
    if args.history:
        ph = plan.build(args.matrix)
        estimates.learn(ph, args.history)
        report("history of %s (another campaign)" % args.history, {r.run_id: r.estimate_s for r in ph.runs}, ids)
    root = Path(tempfile.mkdtemp())
    shutil.copytree(args.campaign, root / args.campaign.name, symlinks=True)
    p = plan.build(args.matrix)
    src = estimates.learn(p, root)
    learnt = {r.run_id: r.estimate_s for r in p.runs}
    report("history of every run (in-sample)", learnt, ids)
    # out-of-sample: keep only repetition 0 in the history, estimate the others
    camp = root / args.campaign.name
    for s in store.iter_runs(camp):
        if s.result is not None and s.result.spec.get("repetition", 0) != 0:
            shutil.rmtree(s.path)
    p2 = plan.build(args.matrix)
    estimates.learn(p2, root)
    later = [r.run_id for r in p2.runs if r.spec.repetition != 0 and r.run_id in walls]
    report("model, on those repetitions 1+", model, later)
    report("history of repetition 0 -> repetitions 1+", {r.run_id: r.estimate_s for r in p2.runs}, later)
    print("  sources: %s" % ", ".join("%s: %s" % kv for kv in sorted(src.items())))
    print("  history kept for the out-of-sample line: %d repetition-0 runs of %s" % (
        history.load(root, p.device.name).runs, p.device.name))
    shutil.rmtree(root)


if __name__ == "__main__":
    main()
