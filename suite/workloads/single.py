"""One copy of one model in the harness's own thread: the v1 behaviour, unchanged.

Latencies come from timed_loop; the measure phase's time runs from before the first timed inference to
after the last one's synchronisation; P1's padding (min_measure_s) adds untimed inferences after it.
"""

import time
from typing import Optional

from ..spec import RunResult, RunSpec
from .base import Copy, Workload, stamp, timed_loop


class Single(Workload):
    name = "single"
    default_threads = False  # threads=None leaves the runtime its own default, as v1 did

    def __init__(self, spec: RunSpec, models_dir: Optional[str] = None) -> None:
        super().__init__(spec, models_dir)
        self.pad_inferences = 0

    def create(self) -> None:
        super().create()
        for c in self.copies():
            c.cpus = None  # no pinning: the harness's thread runs it, as before

    def measure(self) -> None:
        c: Copy = self.copies()[0]
        backend = c.loaded()
        stamp(c)
        t0 = time.perf_counter()
        timed_loop(backend, c.batch, self.spec.iterations, c.result.latencies_s)
        backend.synchronize()
        self.measure_time_s = time.perf_counter() - t0
        c.result.end_mono = time.monotonic()
        # P1: pad so that slow-sampling profilers see the whole run; pads are not timed samples.
        while time.perf_counter() - t0 < self.spec.min_measure_s:
            backend.time_one(c.batch)
            self.pad_inferences += 1

    def fill(self, result: RunResult) -> None:
        super().fill(result)
        result.pad_inferences = self.pad_inferences
