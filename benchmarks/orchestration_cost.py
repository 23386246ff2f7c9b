"""Orchestration cost of the local runner: run wall time minus the measured phases, per run.

Runs the same small spec N times through LocalRunner (fresh process + cgroup each time) and splits
each run's host wall time into: start-up (process launch -> first phase), phases (import, load,
build, warm-up, measure) and tail (measure end -> exit: monitor stop, environment, result writes),
plus the host's own finalize. Reports medians.

    .venv/bin/python benchmarks/orchestration_cost.py [--runs 8]
"""

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from edgebench.cli.runners.local import LocalRunner
from edgebench.suite.artefacts.export import export_onnx
from edgebench.suite.spec import Limits, RunSpec


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=8)
    ap.add_argument("--limit", action="store_true", help="also apply a memory limit (cgroup set-up)")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp())
    export_onnx("mobilenet_v3_small", str(tmp / "models" / "m"), (3, 224, 224))
    rows = []
    for i in range(args.runs):
        spec = RunSpec(model="mobilenet_v3_small", framework="onnxruntime", iterations=5, warmups=1,
                       artifact="m/model.onnx", repetition=i,
                       limits=Limits(memory_mb=1024) if args.limit else Limits())
        t0 = time.monotonic()
        r = LocalRunner().execute(spec, tmp / "runs" / spec.run_id, tmp / "models")
        host_total = time.monotonic() - t0
        assert r.status == "ok", r.reason
        ph = {p.name: p for p in r.phases}
        start_wall = r.host["extra"]["start_wall"]
        phases_s = sum(p.duration_s for p in r.phases)
        startup = r.phases[0].start_wall - start_wall
        tail = r.host["wall_s"] - startup - (r.phases[-1].end_wall - r.phases[0].start_wall)
        rows.append({"host_total_s": host_total, "child_wall_s": r.host["wall_s"], "startup_s": startup,
                     "phases_s": phases_s, "import_s": ph["import"].duration_s, "tail_s": tail,
                     "orchestration_s": r.host["wall_s"] - phases_s,
                     "host_overhead_s": host_total - r.host["wall_s"]})
    med = {k: statistics.median(r[k] for r in rows) for k in rows[0]}
    print(json.dumps({"runs": args.runs, "memory_limit": args.limit, "median": med}, indent=2))


if __name__ == "__main__":
    main()
