"""Bookkeeping cost per inference of the workloads, with a backend whose inference does nothing.

Per inference: a bare timed loop (perf_counter around the call, append), the single workload's timed loop
(Backend.time_one: synchronise, time, append), the concurrent workload (one copy: barrier, stop check per
inference; thread start amortised) and the placement workload's window loop (two streams, a clock read
and a deadline check per inference). Rounds interleave the methods in rotated order; we report medians
over rounds of the per-inference time and of its excess over the bare loop (us). Reference points:
MLPerf LoadGen's SingleStream adds about 2.4 us per query; the single loop about 0.3 us over bare.

    .venv/bin/python benchmarks/workload_overhead.py [--rounds 9] [--n 50000]
"""

import argparse
import json
import statistics
import time
from typing import Any, Callable

import numpy as np
from edgebench.suite import backends, workloads
from edgebench.suite.backends.base import Backend
from edgebench.suite.spec import RunSpec, StreamSpec
from edgebench.suite.workloads.base import timed_loop


class NullBackend(Backend):
    """Inference that does nothing: what is left is the loop's own bookkeeping."""

    name = "null"

    def load(self) -> None:
        pass

    def infer(self, batch: np.ndarray) -> Any:
        return None


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--n", type=int, default=50000)
    args = ap.parse_args()
    backends._REGISTRY["null"] = (__name__, "NullBackend")  # a benchmark-only backend, looked up by name
    n = args.n
    base = dict(model="none", framework="null", input_shape=(1, 1, 1), warmups=10, iterations=n, monitors=())
    conc = workloads.create(RunSpec(workload="concurrent", copies=1, **base).validate())  # type: ignore[arg-type]
    window_s = 0.2
    place = workloads.create(RunSpec(workload="placement", sync="window", sync_min_s=0.0, sync_max_s=window_s,
                                     streams=(StreamSpec(model="none", framework="null", input_shape=(1, 1, 1)),),
                                     **base).validate())  # type: ignore[arg-type]
    for w in (conc, place):
        for step in (w.create, w.load, w.build, w.warmup):
            step()
    single = NullBackend(StreamSpec(model="none", framework="null"))
    batch = np.zeros((1, 1, 1, 1), dtype=np.float32)

    def bare() -> float:
        out: list[float] = []
        perf, infer = time.perf_counter, single.infer
        t0 = perf()
        for _ in range(n):
            t = perf()
            infer(batch)
            out.append(perf() - t)
        return (perf() - t0) / n

    def single_loop() -> float:
        t0 = time.perf_counter()
        timed_loop(single, batch, n, [])
        return (time.perf_counter() - t0) / n

    def concurrent() -> float:
        for c in conc.copies():
            c.result.latencies_s = []
        conc.measure()
        assert conc.measure_time_s
        return conc.measure_time_s / n

    def placement() -> float:
        for c in place.copies():
            c.result.latencies_s = []
        place.measure()
        # two streams' Python loops take turns on the GIL: the window over all their inferences
        return window_s / sum(len(c.result.latencies_s) for c in place.copies())

    methods: dict[str, Callable[[], float]] = {"bare": bare, "single": single_loop, "concurrent": concurrent,
                                               "placement_window": placement}
    names = list(methods)
    per: dict[str, list[float]] = {k: [] for k in names}
    for r in range(args.rounds):
        for k in names[r % len(names):] + names[:r % len(names)]:
            per[k].append(methods[k]())
    over = {k: [1e6 * (a - b) for a, b in zip(per[k], per["bare"])] for k in names if k != "bare"}
    report = {"n_per_round": n, "rounds": args.rounds,
              "median_per_inference_us": {k: 1e6 * statistics.median(v) for k, v in per.items()},
              "median_excess_over_bare_us": {k: statistics.median(v) for k, v in over.items()},
              "median_concurrent_over_single": statistics.median(
                  [c / s for c, s in zip(per["concurrent"], per["single"])]),
              "loadgen_singlestream_us": 2.4}
    report["concurrent_below_loadgen"] = report["median_excess_over_bare_us"]["concurrent"] < 2.4
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
