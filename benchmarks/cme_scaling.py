"""CME scaling: throughput of N concurrent copies of ORT MobileNetV3-Small (1 thread per copy) vs one copy.

Each level (copies 1, 2, 4) is loaded once as the concurrent workload of the suite; every round measures
each level once, in a rotated order (this machine's speed drifts and is shared), and the ratio to one copy
is taken within the round; we report the median of the per-round ratios. On 2 cores expect ~2x at 2
copies and no further gain at 4, on an otherwise idle machine: median_cpus_obtained (process CPU time over
wall time while measuring) shows how many CPUs the copies really got, so a shared, busy machine shows up.

    .venv/bin/python benchmarks/cme_scaling.py [--rounds 7] [--iters 40] [--input 3,224,224]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

from edgebench.suite import workloads
from edgebench.suite.spec import RunSpec
from edgebench.suite.workloads.base import available_cpus


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--iters", type=int, default=40)
    ap.add_argument("--levels", default="1,2,4")
    ap.add_argument("--input", default="3,224,224")
    args = ap.parse_args()
    models = tempfile.mkdtemp()
    subprocess.run([sys.executable, "-m", "edgebench.suite", "export", "--format", "onnx", "--model",
                    "mobilenet_v3_small", "--input", args.input, "--out", models + "/m"], check=True,
                   capture_output=True)
    shape = tuple(int(v) for v in args.input.split(","))
    levels = [int(v) for v in args.levels.split(",")]
    loaded: dict[int, workloads.Workload] = {}
    for n in levels:
        spec = RunSpec(model="mobilenet_v3_small", framework="onnxruntime", input_shape=shape, artifact="m/model.onnx",
                       threads=1, workload="concurrent", copies=n, warmups=3, iterations=args.iters,
                       monitors=()).validate()
        work = workloads.create(spec, models)
        for step in (work.create, work.load, work.build, work.warmup):
            step()
        loaded[n] = work
    tput: dict[int, list[float]] = {n: [] for n in levels}
    ratios: dict[int, list[float]] = {n: [] for n in levels}
    share: dict[int, list[float]] = {n: [] for n in levels}  # process CPU time / wall: CPUs really obtained
    for r in range(args.rounds):
        order = levels[r % len(levels):] + levels[:r % len(levels)]
        got: dict[int, float] = {}
        for n in order:
            work = loaded[n]
            for c in work.copies():
                c.result.latencies_s = []
            t0 = os.times()
            work.measure()
            t1 = os.times()
            assert work.measure_time_s
            share[n].append((t1.user - t0.user + t1.system - t0.system) / work.measure_time_s)
            got[n] = n * args.iters / work.measure_time_s
            tput[n].append(got[n])
        for n in levels:
            ratios[n].append(got[n] / got[levels[0]])
    report = {"model": "mobilenet_v3_small", "input": list(shape), "runtime": "onnxruntime", "threads_per_copy": 1,
              "cpus": available_cpus(), "rounds": args.rounds, "iters_per_copy": args.iters,
              "median_throughput_ips": {n: statistics.median(v) for n, v in tput.items()},
              "median_ratio_to_%d_copy" % levels[0]: {n: statistics.median(v) for n, v in ratios.items()},
              "ratio_spread": {n: [min(v), max(v)] for n, v in ratios.items()},
              "median_cpus_obtained": {n: statistics.median(v) for n, v in share.items()},
              "loadavg_1min_at_end": os.getloadavg()[0]}
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
