"""Does P1's settle (the pause after a stage's limits are set, before its model starts) change latencies?

A short sweep of one LiteRT model (P1's per-run settings from matrices/memory-sweep.yaml: 1 warm-up, 10
timed inferences, 2 s monitor readiness, 1 s minimum measure), every run right after a limit change: in
reuse mode one container serves the whole sweep and its memory limit is lowered or raised live before each
run (what P1 did to its cgroup); in fresh mode each run gets a new container with the stage's limits.
The stages go in pairs (s, t), run s t s t with settles S 0 0 S (0 S S 0 the next round): every run
follows a limit change, and a stage's two runs are two runs apart, so the machine's drift hits both alike.
One warm-up run (page cache, image, container) is dropped. Reported: per (round, stage) the ratio
p50(settle S) / p50(settle 0), and their median.

    .venv/bin/python benchmarks/settle_sweep.py [--rounds 4] [--settle 10] [--mode reuse|fresh]
        [--stages 160,260,360,510] [--model mobilenet_v3_small] [--framework tflite]

Needs root, a Docker engine and the host-cpu image of the framework (edgebench images build --device
host-cpu --framework tflite). This host has no swap: the swap half of the budget is a limit only (the
stages are above the model's footprint, so nothing needs swapping).
"""

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from edgebench.cli import artifacts, images, plan
from edgebench.cli.runners.docker import DockerRunner
from edgebench.suite.spec import RunSpec

MATRIX = """name: settle-sweep
device: host-cpu
fixed: {framework: %(fw)s, model: %(model)s, batch_size: 1, warmups: 1, iterations: 10, threads: 1,
        monitors: [psutil], monitor_interval_s: 0.1, monitor_ready_s: 2, min_measure_s: 1, timeout_s: 600,
        memory_swap_mb: 510, swappiness: 10}
axes: {memory_mb: [%(stages)s]}
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--settle", type=float, default=10.0)
    ap.add_argument("--mode", choices=["reuse", "fresh"], default="reuse")
    ap.add_argument("--stages", default="160,260,360,510")
    ap.add_argument("--model", default="mobilenet_v3_small")
    ap.add_argument("--framework", default="tflite")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="edgebench-settle-"))
    mx = tmp / "settle.yaml"
    mx.write_text(MATRIX % {"fw": args.framework, "model": args.model, "stages": args.stages})
    p = plan.build(mx)
    models = tmp / "models"
    for art in p.artifacts():
        artifacts.ensure(art, models)
    spec_img = images.image_spec("host-cpu", args.framework)
    runner = DockerRunner(image_tag=spec_img.tag, allow_no_swap=True)
    runner.container_mode = args.mode
    base = [r.spec for r in p.runs]
    # Stages in pairs (s, t); per round and pair: s, t, s, t with the settles S/0, 0/S, then the other way
    # round, so each stage's two runs are two runs apart and every run follows a limit change.
    pairs = [(base[i], base[(i + 1) % len(base)]) for i in range(0, len(base), 2)]
    p50: dict[tuple[int, float, float], float] = {}  # (round, stage, settle) -> p50 seconds
    walls: list[float] = []
    try:
        warm = RunSpec.from_dict(dict(base[-1].to_dict(), repetition=-1, campaign="settle-sweep"))
        runner.execute(warm, tmp / "results" / warm.run_id, models)  # page cache, image, container: dropped
        for rnd in range(args.rounds):
            for s, t in pairs:
                a, b = (args.settle, 0.0) if rnd % 2 == 0 else (0.0, args.settle)
                for i, (st, settle) in enumerate(((s, a), (t, b), (s, b), (t, a))):
                    d = st.to_dict()
                    d.update(settle_s=settle, repetition=rnd * 10 + i, campaign="settle-sweep")
                    spec = RunSpec.from_dict(d)
                    t0 = time.monotonic()
                    r = runner.execute(spec, tmp / "results" / spec.run_id, models)
                    walls.append(time.monotonic() - t0 - settle)
                    mem = st.limits.memory_mb or 0.0
                    print("round %d stage %4.0f MiB settle %4.1f s: %s p50 %s" % (
                        rnd, mem, settle, r.status, "%.2f ms" % (r.summary.p50 * 1e3) if r.summary else "-"),
                        flush=True)
                    if r.status == "ok" and r.summary is not None:
                        p50[(rnd, mem, settle)] = r.summary.p50
    finally:
        runner.close()
    ratios = []
    for rnd in range(args.rounds):
        for s in base:
            mem = s.limits.memory_mb or 0.0
            with_s, without = p50.get((rnd, mem, args.settle)), p50.get((rnd, mem, 0.0))
            if with_s and without:
                ratios.append(with_s / without)
    out: dict[str, Any] = {
        "mode": args.mode, "framework": args.framework, "model": args.model, "settle_s": args.settle,
        "stages_mb": [s.limits.memory_mb for s in base], "rounds": args.rounds, "pairs": len(ratios),
        "ratio_p50_settle_over_none": {"median": statistics.median(ratios) if ratios else None,
                                       "min": min(ratios) if ratios else None, "max": max(ratios) if ratios else None},
        "p50_ms_median": {"settle": statistics.median([v for k, v in p50.items() if k[2] == args.settle]) * 1e3,
                          "none": statistics.median([v for k, v in p50.items() if k[2] == 0.0]) * 1e3},
        "run_wall_s_median_without_settle": statistics.median(walls),
    }
    print(json.dumps(out, indent=2))
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
