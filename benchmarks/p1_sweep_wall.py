"""Wall time of a P1 sweep of one LiteRT model with each preset: fresh containers vs one reused container.

The presets' sweep (matrices/memory-sweep.yaml: 61 stages x 5 repetitions, 10 s settle, a fresh container
per run; matrices/memory-sweep-reuse.yaml: one container for the model's sweep, limits changed live, no
settle) is taken with the model axis cut to one model and the framework set to LiteRT. A third arm, the
first preset with `container: reuse`, splits the gain into the container's part and the settle's part.
The whole sweep takes over an hour per preset on this loaded 2-core machine, so each arm runs every Nth
stage of the same plan (all rounds, --repetitions each) as its own campaign, arms interleaved ABC CBA; the
figure per arm is its median wall per run, extrapolated to the full sweep (runs x median per run). A fourth
arm, `fresh (no settle)` (the second preset with `container: fresh`), isolates the container part alone.

    .venv/bin/python benchmarks/p1_sweep_wall.py [--every 10] [--repetitions 2] [--rounds 2] [--arms A,B,..]
        [--model mobilenet_v3_small] [--framework tflite]

Needs root, a Docker engine and the host-cpu image of the framework. This host has no swap: runs use
--allow-no-swap, so stages below the model's footprint end in OOM (P1 swaps there); both arms see the same.
"""

import argparse
import dataclasses
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml
from edgebench.cli import artifacts, campaign, images, plan
from edgebench.cli.runners.docker import DockerRunner
from rich.console import Console

ROOT = Path(__file__).resolve().parent.parent
ARMS = {"fresh+settle": ("memory-sweep.yaml", None), "reuse+settle": ("memory-sweep.yaml", "reuse"),
        "reuse (preset)": ("memory-sweep-reuse.yaml", None), "fresh (no settle)": ("memory-sweep-reuse.yaml", "fresh")}


def arm_matrix(tmp: Path, arm: str, model: str, framework: str, repetitions: int) -> Path:
    preset, mode = ARMS[arm]
    data: dict[str, Any] = yaml.safe_load((ROOT / "matrices" / preset).read_text())
    data["axes"]["model"] = [model]
    data["fixed"]["framework"] = framework
    data["repetitions"] = repetitions
    if mode:
        data["container"] = mode
    path = tmp / ("%s.yaml" % _slug(arm))
    path.write_text(yaml.safe_dump(data))
    return path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--every", type=int, default=10, help="run every Nth stage of the sweep")
    ap.add_argument("--repetitions", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--model", default="mobilenet_v3_small")
    ap.add_argument("--framework", default="tflite")
    ap.add_argument("--arms", default="fresh+settle,reuse+settle,reuse (preset)",
                    help="comma-separated, of: %s" % ", ".join(ARMS))
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="edgebench-p1-wall-"))
    models = tmp / "models"
    tag = images.image_spec("host-cpu", args.framework).tag
    names = args.arms.split(",")
    per_run: dict[str, list[float]] = {a: [] for a in names}
    statuses: dict[str, dict[str, int]] = {a: {} for a in names}
    full: dict[str, int] = {}
    for art in plan.build(arm_matrix(tmp, names[0], args.model, args.framework, 1)).artifacts():
        artifacts.ensure(art, models)  # made once, before any arm is timed
    for rnd in range(args.rounds):
        for arm in (names if rnd % 2 == 0 else list(reversed(names))):
            p = plan.build(arm_matrix(tmp, arm, args.model, args.framework, args.repetitions))
            keep = {k for i, k in enumerate(_in_order(p)) if i % args.every == 0}
            full[arm] = len(p.runs) // args.repetitions * 5  # the presets' 5 repetitions
            sub = dataclasses.replace(p, runs=[r for r in p.runs if (r.spec.labels["round"], r.spec.labels["stage"])
                                               in keep])
            runner = DockerRunner(image_tag=tag, allow_no_swap=True)
            t0 = time.monotonic()
            out = campaign.run(sub, runner, tmp / "results", models, Console(quiet=True), show_progress=False,
                               campaign="%s-r%d" % (_slug(arm), rnd))
            wall = time.monotonic() - t0
            n = len(out.results)
            per_run[arm].append(wall / n)
            for r in out.results:
                statuses[arm][r.status] = statuses[arm].get(r.status, 0) + 1
            print("round %d %-15s %3d runs in %6.1f s: %.2f s/run %s" % (
                rnd, arm, n, wall, wall / n, statuses[arm]), flush=True)
    base = statistics.median(per_run[names[0]])
    out_d: dict[str, Any] = {"model": args.model, "framework": args.framework, "every": args.every,
                             "repetitions": args.repetitions, "rounds": args.rounds, "arms": {}}
    for arm in names:
        med = statistics.median(per_run[arm])
        out_d["arms"][arm] = {"s_per_run": med, "s_per_run_rounds": per_run[arm], "statuses": statuses[arm],
                              "full_sweep_runs": full[arm], "full_sweep_h_extrapolated": full[arm] * med / 3600,
                              "ratio_to_first_arm": med / base}
    print(json.dumps(out_d, indent=2))
    if args.json:
        args.json.write_text(json.dumps(out_d, indent=2))


def _slug(arm: str) -> str:
    return arm.replace(" (", "-").replace(")", "").replace("+", "-").replace(" ", "-")


def _in_order(p: plan.Plan) -> list[tuple[str, str]]:
    """The sweep's (round, stage) points in plan order."""
    seen: list[tuple[str, str]] = []
    for r in p.runs:
        k = (r.spec.labels["round"], r.spec.labels["stage"])
        if k not in seen:
            seen.append(k)
    return seen


if __name__ == "__main__":
    main()
