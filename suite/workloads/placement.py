"""Dynamic model placement (DMP, P3): two or more streams on different processors at once, in threads of
one process; each stream may have copies.

sync "lcm" (P3, the default): after loading and warm-up every copy times one inference at once (barrier),
the stream's time (its slowest copy's) goes into a shared dict, and the barrier's action sets the interval:
the LCM of the times rounded to sync_granularity_s, repeated up to at least sync_min_s, capped at
sync_max_s (every step recorded in result.sync). All copies then start together and loop until the
interval ends; a copy counts the inferences that completed inside it, and its end is its last inference's
end. Streams whose ends differ by more than skew_limit_s make the run invalid (kept, with the skew).

sync "window": no single-inference step; every copy loops for sync_max_s from the common start and only
completions inside that window count, so overruns bias nothing and the skew is recorded but does not
invalidate. Prefer it when the streams' per-inference times differ a lot or are not near multiples of the
granularity, so that their LCM explodes and gets capped (then "lcm" no longer ends the streams together
anyway), or when a stream is so slow that one inference per interval would be a poor sample.
"""

import math
import threading
import time
from typing import Any, Dict, List

from ..spec import RunResult
from .base import Copy, Workload, ceil_div, stamp


def _lcm(a: int, b: int) -> int:
    return a * b // math.gcd(a, b)


def lcm_interval(times_s: Dict[str, float], granularity_s: float, min_s: float, max_s: float) -> Dict[str, Any]:
    """P3's interval: the least common multiple of the streams' single-inference times, each rounded to
    a whole number of granularity steps (at least one), repeated to last at least min_s, capped at max_s."""
    multiples = {k: max(1, int(round(t / granularity_s))) for k, t in times_s.items()}
    steps = 1
    for m in multiples.values():
        steps = _lcm(steps, m)
    lcm_s = round(steps * granularity_s, 9)  # whole steps: drop float noise such as 0.013000000000000001
    repeats = ceil_div(min_s, lcm_s) if min_s > lcm_s else 1
    interval = round(lcm_s * repeats, 9)
    capped = interval > max_s
    return {"method": "lcm", "single_inference_s": dict(times_s), "granularity_s": granularity_s,
            "multiples": multiples, "lcm_s": lcm_s, "repeats": repeats, "min_s": min_s, "max_s": max_s,
            "capped": capped, "interval_s": max_s if capped else interval}


class Placement(Workload):
    name = "placement"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sync: Dict[str, Any] = {}
        self.stream_ends: Dict[str, float] = {}

    def _decide(self) -> None:
        """The barrier's action: runs once, in one thread, after every copy timed its inference."""
        if self.spec.sync == "lcm":
            times = {}
            for s in self.streams:
                singles = [c.single_s for c in s.copies if c.single_s is not None]
                times[s.spec.stream_id] = max(singles)
            self.sync = lcm_interval(times, self.spec.sync_granularity_s, self.spec.sync_min_s, self.spec.sync_max_s)
        else:
            self.sync = {"method": "window", "window_s": self.spec.sync_max_s, "interval_s": self.spec.sync_max_s}
        self.release_mono = time.monotonic()
        self.sync["release_mono"] = self.release_mono

    def measure(self) -> None:
        copies = self.copies()
        ready = threading.Barrier(len(copies))
        go = threading.Barrier(len(copies), action=self._decide)
        lcm = self.spec.sync == "lcm"

        def body(c: Copy) -> None:
            backend, batch, batch_size = c.loaded(), c.batch, c.spec.batch_size
            ready.wait()
            if lcm:
                c.single_s = backend.time_one(batch)  # told to the others through the barrier's action
            go.wait()
            stamp(c)
            deadline = float(self.release_mono or 0.0) + float(self.sync["interval_s"])
            lat, counted = c.result.latencies_s, 0
            now = time.monotonic()
            while now < deadline and not self.stop.is_set():
                lat.append(backend.time_one(batch))
                now = time.monotonic()
                if now <= deadline:
                    counted += 1
                c.result.end_mono = now
                c.result.inferences = counted * batch_size
            backend.synchronize()

        try:
            self.run_copies(body, [ready, go])
        finally:
            if self.release_mono is not None:
                self.measure_time_s = float(self.sync["interval_s"])

    def fill(self, result: RunResult) -> None:
        super().fill(result)
        for s in self.streams:
            ends = [c.result.end_mono for c in s.copies if c.result.end_mono is not None]
            if ends:
                self.stream_ends[s.spec.stream_id] = max(ends)
            for c in s.copies:  # a copy's throughput is over the shared interval, not its own span
                if self.measure_time_s:
                    c.result.throughput_ips = c.result.inferences / self.measure_time_s
        result.interval_s = self.measure_time_s
        result.sync = dict(self.sync, stream_end_mono=dict(self.stream_ends))
        last: List[float] = list(self.stream_ends.values())
        result.skew_s = max(last) - min(last) if last else None
        if self.spec.sync == "lcm" and result.skew_s is not None and result.skew_s > self.spec.skew_limit_s:
            result.valid = False
            result.invalid_reason = "streams' end times differ by %.3f s > skew_limit_s %.3f s (P3 discarded " \
                                    "such runs; kept here)" % (result.skew_s, self.spec.skew_limit_s)
