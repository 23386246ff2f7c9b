"""Harness fidelity: edgebench's timed loop vs a bare loop vs torch.utils.benchmark.Timer.

ResNet18, batch 1, CPU, in one process. The three are interleaved in rounds (this machine's speed
drifts), each round gives a median per method, and we report the median of per-round ratios.
Target: edgebench / bare and edgebench / Timer within 0.98-1.02.

    .venv/bin/python benchmarks/harness_fidelity.py [--rounds 15] [--iters 30] [--threads 1]
"""

import argparse
import json
import statistics
import tempfile
import time

import numpy as np
import torch
import torch.utils.benchmark as tb
from edgebench.suite.artefacts.export import save_torch
from edgebench.suite.backends.torch_backend import TorchBackend
from edgebench.suite.harness import timed_loop
from edgebench.suite.spec import RunSpec


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--iters", type=int, default=30)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--model", default="resnet18")
    args = ap.parse_args()
    models = tempfile.mkdtemp()
    save_torch(args.model, models + "/m", (3, 224, 224))
    spec = RunSpec(model=args.model, framework="torch", threads=args.threads, artifact="m/model.pt")
    backend = TorchBackend(spec, models)
    backend.load()
    batch = np.random.RandomState(0).standard_normal((1, 3, 224, 224)).astype(np.float32)
    model = backend.model
    assert model is not None

    def bare(n: int) -> list[float]:
        out = []
        with torch.inference_mode():
            for _ in range(n):
                t0 = time.perf_counter()
                model(torch.from_numpy(batch))
                out.append(time.perf_counter() - t0)
        return out

    timer = tb.Timer(stmt="with torch.inference_mode(): model(torch.from_numpy(batch))",
                     globals={"model": model, "torch": torch, "batch": batch}, num_threads=args.threads)
    timed_loop(backend, batch, 10, [])  # warm-up
    ratios_bare, ratios_timer, rows = [], [], []
    for r in range(args.rounds):
        # rotate the order so no method always runs first in a round
        order = ["edgebench", "bare", "timer"][r % 3:] + ["edgebench", "bare", "timer"][:r % 3]
        med: dict[str, float] = {}
        for name in order:
            if name == "edgebench":
                med[name] = statistics.median(timed_loop(backend, batch, args.iters, []))
            elif name == "bare":
                med[name] = statistics.median(bare(args.iters))
            else:
                # one inference per measurement, so this is a median of single timings like the others
                med[name] = statistics.median(timer.timeit(1).median for _ in range(args.iters))
        ratios_bare.append(med["edgebench"] / med["bare"])
        ratios_timer.append(med["edgebench"] / med["timer"])
        rows.append(med)
    report = {
        "model": args.model, "batch": 1, "threads": args.threads, "rounds": args.rounds, "iters": args.iters,
        "median_latency_ms": {k: 1000 * statistics.median(r[k] for r in rows) for k in rows[0]},
        "edgebench_over_bare": statistics.median(ratios_bare),
        "edgebench_over_torch_timer": statistics.median(ratios_timer),
        "ratio_spread_bare": [min(ratios_bare), max(ratios_bare)],
        "ratio_spread_timer": [min(ratios_timer), max(ratios_timer)],
    }
    report["within_target"] = all(0.98 <= report[k] <= 1.02 for k in ("edgebench_over_bare",
                                                                       "edgebench_over_torch_timer"))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
