"""Concurrent model execution (CME, P3): N copies of one model, each its own runtime object and thread.

Every copy is loaded and warmed up first (the harness's load and warmup phases); a threading.Barrier then
releases all copies together; each runs `iterations` timed inferences. P3's throughput is
copies x batch x iterations / (last copy's end - release), recorded as measure_time_s from the barrier.
Copies may be spread over processors round-robin ("edgetpu:0,edgetpu:1"); which copy ran where is in
each copy's result (device, and the runtime's placement report).
"""

import threading
import time
from typing import Dict

from ..spec import RunResult
from .base import Copy, Workload, stamp


class Concurrent(Workload):
    name = "concurrent"

    def measure(self) -> None:
        copies = self.copies()
        marks: Dict[str, float] = {}
        barrier = threading.Barrier(len(copies), action=lambda: marks.__setitem__("release", time.monotonic()))
        n = self.spec.iterations

        def body(c: Copy) -> None:
            backend, batch = c.loaded(), c.batch
            lat = c.result.latencies_s
            barrier.wait()
            stamp(c)
            timer, append, stopped = backend.time_one, lat.append, self.stop.is_set
            for _ in range(n):
                if stopped():
                    break
                append(timer(batch))
            backend.synchronize()
            c.result.end_mono = time.monotonic()

        try:
            self.run_copies(body, [barrier])
        finally:
            self.release_mono = marks.get("release")
            ends = [c.result.end_mono for c in copies if c.result.end_mono is not None]
            if self.release_mono is not None and ends:
                self.measure_time_s = max(ends) - self.release_mono

    def fill(self, result: RunResult) -> None:
        super().fill(result)
        result.sync = {"method": "barrier", "release_mono": self.release_mono}
