"""Forked vs fresh runs: steady-state latency and per-run overhead, per framework, interleaved in rounds.

Each round runs, for torch, onnxruntime and tflite (MobileNetV3-Small, batch 1), one fresh run and one
forked run through the local runner (cgroup, monitors, result files: the real path), in an order that
alternates from round to round (ABBA), so drift in the host's load lands on both modes alike. Reported:
- latency: median over rounds of (forked p50 / fresh p50), per framework (goal 0.98-1.02);
- overhead: median host wall minus (warm-up + measure), per framework and mode (goal: <= 0.3 s for ORT and
  LiteRT, <= load + 0.3 s for torch), with the import and load phases beside it;
- wall / (warm-up + measure) over all runs of each mode: the smoke-campaign ratio, on this cell set.
The fork servers are started before the first round (the import a campaign pays once is reported apart).

    .venv/bin/python benchmarks/forked_vs_fresh.py [--rounds 6] [--iterations 50] [--threads 2] [--json OUT]
    .venv/bin/python benchmarks/forked_vs_fresh.py --smoke 1      # matrices/smoke.yaml, fresh then forked
    .venv/bin/python benchmarks/forked_vs_fresh.py --smoke 2 --matrix benchmarks/smoke_subset.yaml  # a subset
"""

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from edgebench.cli.runners.local import LocalRunner
from edgebench.suite.spec import RunResult, RunSpec

MODEL = "mobilenet_v3_small"
SHAPE = (3, 224, 224)  # C,H,W for every framework (LiteRT's NHWC artefact is made from it)
EXPORT = {
    "torch": ("from edgebench.suite.artefacts.export import save_torch as f", "torch", "pt"),
    "onnxruntime": ("from edgebench.suite.artefacts.export import export_onnx as f", "onnx", "onnx"),
    "tflite": ("from edgebench.suite.artefacts.export import export_tflite as f", "tflite", "tflite"),
}


def export(models: Path, framework: str) -> str:
    """The artefact, made in a subprocess (this process never imports a runtime)."""
    imp, fmt, suffix = EXPORT[framework]
    out = models / fmt
    subprocess.run([sys.executable, "-c", "%s\nf(%r, %r, %r)" % (imp, MODEL, str(out), SHAPE)], check=True,
                   capture_output=True)
    return "%s/model.%s" % (fmt, suffix)


def phase_s(r: RunResult, name: str) -> float:
    p = r.phase(name)
    return p.duration_s if p is not None else 0.0


def row(r: RunResult, mode: str, framework: str, rnd: int) -> dict[str, Any]:
    assert r.status == "ok", "%s %s: %s" % (framework, mode, r.reason)
    assert r.process.get("mode") == mode, r.process
    timed = phase_s(r, "warmup") + phase_s(r, "measure")
    assert r.summary is not None
    return {"framework": framework, "mode": mode, "round": rnd, "p50_s": r.summary.p50, "wall_s": r.host["wall_s"],
            "timed_s": timed, "overhead_s": r.host["wall_s"] - timed, "import_s": phase_s(r, "import"),
            "load_s": phase_s(r, "load"), "cgroup_peak_mb": r.memory.get("cgroup_peak_mb"),
            "rss_mb": r.memory.get("rss_mb"), "preloaded": r.process.get("runtime_preloaded"),
            "server_import_s": r.process.get("import_s") if mode == "forked" else None}


def med(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def summarise(rows: list[dict[str, Any]], frameworks: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for fw in frameworks:
        mine = [r for r in rows if r["framework"] == fw]
        rounds = sorted({r["round"] for r in mine})
        by = {(r["mode"], r["round"]): r for r in mine}
        ratios = [by[("forked", n)]["p50_s"] / by[("fresh", n)]["p50_s"] for n in rounds
                  if ("forked", n) in by and ("fresh", n) in by]
        fw_out: dict[str, Any] = {"p50_ratio_forked_over_fresh": med(ratios), "p50_ratios": ratios}
        for mode in ("fresh", "forked"):
            rs = [r for r in mine if r["mode"] == mode]
            fw_out[mode] = {k: med([r[k] for r in rs if r[k] is not None])
                            for k in ("p50_s", "wall_s", "timed_s", "overhead_s", "import_s", "load_s",
                                      "cgroup_peak_mb", "rss_mb")}
            fw_out[mode]["overhead_minus_load_s"] = med([r["overhead_s"] - r["load_s"] for r in rs])
        fw_out["forked"]["server_import_s"] = med([r["server_import_s"] for r in mine
                                                   if r["server_import_s"] is not None])
        fw_out["forked"]["runtime_preloaded"] = any(r["preloaded"] for r in mine if r["mode"] == "forked")
        out[fw] = fw_out
    for mode in ("fresh", "forked"):
        rs = [r for r in rows if r["mode"] == mode]
        out["wall_over_timed_" + mode] = sum(r["wall_s"] for r in rs) / sum(r["timed_s"] for r in rs)
    return out


def smoke(rounds: int, tmp: Path, models_from: str = "", matrix: str = "") -> dict[str, Any]:
    """The smoke campaign, fresh and forked in turn (ABBA over rounds): wall / (warm-up + measure) per mode, and
    the median over cells of the forked/fresh p50 ratio (same run ids: the mode is the runner's, not the spec's)."""
    from edgebench.cli import campaign, plan
    from rich.console import Console

    root = Path(__file__).resolve().parent.parent
    console = Console(stderr=True, quiet=True)
    models = tmp / "smoke-models"
    if models_from:  # a copy: artefacts made elsewhere are reused, the source is never written
        import shutil
        shutil.copytree(models_from, str(models))
    p = plan.build(Path(matrix) if matrix else root / "matrices" / "smoke.yaml")
    walls: dict[str, list[float]] = {"fresh": [], "forked": []}
    timed: dict[str, list[float]] = {"fresh": [], "forked": []}
    p50: dict[str, dict[str, list[float]]] = {"fresh": {}, "forked": {}}
    for k in range(rounds):
        for mode in (["fresh", "forked"] if k % 2 == 0 else ["forked", "fresh"]):
            t0 = time.monotonic()
            out = campaign.run(p, LocalRunner(process=mode), tmp / ("smoke-%s-%d" % (mode, k)), models, console,
                               show_progress=False)
            print("smoke %s round %d: %d runs in %.0f s" % (mode, k, len(out.results), time.monotonic() - t0),
                  file=sys.stderr)
            for r in out.results:
                walls[mode].append(float(r.host.get("wall_s") or 0.0))
                timed[mode].append(phase_s(r, "warmup") + phase_s(r, "measure"))
                if r.status == "ok" and r.summary is not None:
                    p50[mode].setdefault(r.run_id, []).append(r.summary.p50)
    ratios = [med(p50["forked"][i]) / med(v) for i, v in p50["fresh"].items() if i in p50["forked"]]
    # Per cell: its repetitions' p50s of all rounds, pooled per mode (cell labels from the plan).
    keys = ("model", "framework", "precision", "batch_size", "memory_mb")
    cell_of = {r.run_id: " ".join("%s=%s" % (k, r.cell[k]) for k in keys if r.cell.get(k) is not None)
               for r in p.runs}
    pooled: dict[str, dict[str, list[float]]] = {}
    for mode in p50:
        for rid, vals in p50[mode].items():
            pooled.setdefault(cell_of.get(rid, rid), {}).setdefault(mode, []).extend(vals)
    per_cell = {c: round(med(v["forked"]) / med(v["fresh"]), 4) for c, v in sorted(pooled.items())
                if v.get("forked") and v.get("fresh")}
    return {"matrix": str(p.path), "rounds": rounds, "runs_per_campaign": len(p.runs),
            "p50_ratio_forked_over_fresh_per_cell": per_cell,
            "wall_over_timed": {m: sum(walls[m]) / sum(timed[m]) for m in walls},
            "run_wall_s": {m: sum(walls[m]) / rounds for m in walls},
            "timed_s": {m: sum(timed[m]) / rounds for m in walls},
            "p50_ratio_forked_over_fresh_median_of_cells": med(ratios), "cells_compared": len(ratios)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--iterations", type=int, default=50)
    ap.add_argument("--warmups", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--frameworks", default="torch,onnxruntime,tflite")
    ap.add_argument("--json", default="", help="also write every run's row and the summary here")
    ap.add_argument("--smoke", type=int, default=0, metavar="ROUNDS",
                    help="instead: the smoke campaign, fresh and forked, this many rounds each")
    ap.add_argument("--models-from", default="", help="--smoke: start from a copy of this models folder")
    ap.add_argument("--matrix", default="", help="--smoke: this matrix instead of matrices/smoke.yaml (a subset, "
                    "e.g. benchmarks/smoke_subset.yaml)")
    args = ap.parse_args()
    if args.smoke:
        res = smoke(args.smoke, Path(tempfile.mkdtemp(prefix="forked-vs-fresh-smoke-")), args.models_from,
                    args.matrix)
        print(json.dumps(res, indent=2, sort_keys=True))
        if args.json:
            Path(args.json).write_text(json.dumps(res, indent=2, sort_keys=True))
        return
    frameworks = args.frameworks.split(",")
    tmp = Path(tempfile.mkdtemp(prefix="forked-vs-fresh-"))
    models = tmp / "models"
    arts = {fw: export(models, fw) for fw in frameworks}
    runners = {"fresh": LocalRunner(process="fresh"), "forked": LocalRunner(process="forked")}
    rows: list[dict[str, Any]] = []
    t_start = time.monotonic()
    try:
        for rnd in range(-1, args.rounds):  # round -1 starts the servers and warms the page cache: not counted
            order = ["fresh", "forked"] if rnd % 2 == 0 else ["forked", "fresh"]
            for fw in frameworks:
                for mode in order:
                    spec = RunSpec(model=MODEL, framework=fw, artifact=arts[fw], input_shape=SHAPE,
                                   iterations=args.iterations, warmups=args.warmups, threads=args.threads,
                                   repetition=max(rnd, 0))
                    r = runners[mode].execute(spec, tmp / "runs" / ("%s-%s-%d" % (fw, mode, rnd)), models)
                    if rnd >= 0:
                        rows.append(row(r, mode, fw, rnd))
                    print("round %d %s %s p50 %.4f s wall %.2f s" % (rnd, fw, mode, r.summary.p50 if r.summary
                                                                     else float("nan"), r.host["wall_s"]),
                          file=sys.stderr)
    finally:
        for r in runners.values():
            r.close()
    summary = summarise(rows, frameworks)
    out = {"rounds": args.rounds, "iterations": args.iterations, "warmups": args.warmups, "threads": args.threads,
           "model": MODEL, "elapsed_s": time.monotonic() - t_start, "summary": summary}
    print(json.dumps(out, indent=2, sort_keys=True))
    if args.json:
        Path(args.json).write_text(json.dumps(dict(out, rows=rows), indent=2, sort_keys=True))


if __name__ == "__main__":
    main()
