"""What every workload shares: streams of copies, each copy its own backend (runtime object), its own
thread where the workload runs copies at once, and its own CopyResult filled as it measures.

The harness calls create/load/build/warmup/measure inside its phases and fill() at the end, whatever
happened: fill() only reads what was measured, so a failure part-way keeps it.
"""

import math
import os
import threading
import time
from dataclasses import replace
from typing import Any, Callable, Dict, List, Optional, Set

import numpy as np

from .. import backends, cgroup, inputs, placements
from ..backends.base import Backend
from ..spec import CopyResult, RunResult, RunSpec, StreamResult, StreamSpec
from ..timing import summarize


def timed_loop(backend: Backend, batch: Any, n: int, out: List[float]) -> List[float]:
    """The timed loop every latency comes from: one synchronised timing per inference, appended
    as it is taken so a failure part-way keeps what was measured."""
    for _ in range(n):
        out.append(backend.time_one(batch))
    return out


def available_cpus() -> int:
    """CPUs this process may use: its affinity mask, lowered to a cgroup CPU quota (docker --cpus) if set."""
    n = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    try:
        quota = cgroup.read_cpu().get("cpus_quota")
    except Exception:  # an unreadable cgroup leaves the affinity count
        quota = None
    if quota:
        n = min(n, max(1, int(quota)))
    return max(1, n)


def pin(cpus: Optional[Set[int]]) -> Optional[List[int]]:
    """Pin the calling thread (pid 0 is the calling thread on Linux) and return the affinity read back."""
    if not hasattr(os, "sched_getaffinity"):
        return None
    if cpus:
        os.sched_setaffinity(0, cpus)
    return sorted(os.sched_getaffinity(0))


def in_thread(cpus: Optional[Set[int]], fn: Callable[[], None]) -> None:
    """Run fn in the calling thread, or, for a CPU set, in a fresh thread pinned to it (threads a runtime
    starts there inherit the pinning); its exception is raised here."""
    if not cpus:
        fn()
        return
    err: List[BaseException] = []

    def body() -> None:
        try:
            pin(cpus)
            fn()
        except BaseException as e:  # noqa: B036 - handed to the calling thread
            err.append(e)

    t = threading.Thread(target=body, daemon=True)
    t.start()
    t.join()
    if err:
        raise err[0]


class Copy:
    """One copy of a stream: a StreamSpec with this copy's placement and threads, and its backend."""

    def __init__(self, stream: StreamSpec, index: int, threads_source: str) -> None:
        self.spec = stream
        self.index = index
        self.cpus = placements.cpu_set(stream.placement)
        self.backend: Optional[Backend] = None
        self.batch: Any = None
        self.threads_source = threads_source
        self.single_s: Optional[float] = None  # placement/lcm: one inference timed before the interval
        self.result = CopyResult(copy=index, device=stream.placement, threads=stream.threads)

    def loaded(self) -> Backend:
        assert self.backend is not None, "create() first"
        return self.backend


class Stream:
    def __init__(self, spec: StreamSpec, copies: List[Copy]) -> None:
        self.spec = spec
        self.copies = copies


class Workload:
    """Drives the inferences of one RunSpec. Subclasses implement measure() (and may change threads)."""

    name = "base"
    default_threads = True  # False: a stream's threads=None is left to the runtime (single: today's behaviour)

    def __init__(self, spec: RunSpec, models_dir: Optional[str] = None) -> None:
        self.spec = spec
        self.models_dir = models_dir
        self.streams: List[Stream] = []
        self.measure_time_s: Optional[float] = None
        self.release_mono: Optional[float] = None  # when the barrier let the copies go
        self.stop = threading.Event()

    # phases ---------------------------------------------------------------------------------------------
    def create(self) -> None:
        """Import each stream's runtime and make one backend per copy (the import phase)."""
        specs = self.spec.stream_specs()
        total = sum(s.copies for s in specs)
        cores = available_cpus()
        for st in specs:
            cls = backends.get(st.framework)
            copies = []
            for i in range(st.copies):
                place = placements.for_copy(st.placement, i)
                threads, source = st.threads, "spec"
                if threads is None and self.default_threads:
                    cpus = placements.cpu_set(place)
                    if cpus:
                        threads, source = max(1, len(cpus) // st.copies), "cpu set %d // %d copies" % (
                            len(cpus), st.copies)
                    else:
                        threads, source = max(1, cores // total), "%d cpus // %d copies" % (cores, total)
                elif threads is None:
                    source = "runtime default"
                c = Copy(replace(st, placement=place, threads=threads), i, source)
                c.backend = cls(c.spec, self.models_dir)
                copies.append(c)
            self.streams.append(Stream(st, copies))

    def copies(self) -> List[Copy]:
        return [c for s in self.streams for c in s.copies]

    def backends(self) -> List[Backend]:
        return [c.backend for c in self.copies() if c.backend is not None]

    def load(self) -> None:
        for c in self.copies():
            in_thread(c.cpus, c.loaded().load)

    def build(self) -> None:
        for s in self.streams:
            batch = None
            for c in s.copies:
                b = c.loaded()
                b.build()
                if batch is None:  # one input batch per stream, read by all its copies
                    batch = self._batch(s.spec, b.layout)
                c.batch = batch

    def _batch(self, st: StreamSpec, layout: str) -> np.ndarray:
        if st.input_dir:
            return inputs.from_folder(st.input_dir, st.batch_size, st.input_shape, layout)
        return inputs.synthetic(st.batch_size, st.input_shape, layout, st.seed)

    def warmup(self) -> None:
        for c in self.copies():
            def one(c: Copy = c) -> None:
                timed_loop(c.loaded(), c.batch, self.spec.warmups, c.result.warmup_latencies_s)
            in_thread(c.cpus, one)

    def measure(self) -> None:
        raise NotImplementedError

    def is_oom(self, exc: BaseException) -> bool:
        return any(b.is_oom(exc) for b in self.backends())

    def versions(self) -> Dict[str, str]:
        out: Dict[str, str] = {}
        for b in self.backends():
            out.update(b.versions())
        return out

    # threads ---------------------------------------------------------------------------------------------
    def run_copies(self, body: Callable[[Copy], None], barriers: List[threading.Barrier]) -> None:
        """One thread per copy running body(copy); the first failure stops the others (barriers broken,
        stop set) and is raised here once every thread is done, with what each measured kept."""
        errors: List[BaseException] = []

        def wrapped(c: Copy) -> None:
            try:
                c.result.cpus = pin(c.cpus)
                body(c)
                if self.stop.is_set():  # body returned because another copy failed or the run was stopped
                    c.result.error = "stopped: another copy failed or the run was stopped"
            except threading.BrokenBarrierError:
                c.result.error = c.result.error or "stopped: another copy failed"
            except BaseException as e:  # noqa: B036 - re-raised in the main thread
                c.result.error = "%s: %s" % (type(e).__name__, e)
                errors.append(e)
                self.abort(barriers)

        threads = [threading.Thread(target=wrapped, args=(c,), name="copy-%s-%d" % (c.spec.stream_id, c.index),
                                    daemon=True) for c in self.copies()]
        try:
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        except BaseException:  # SIGTERM (Terminated) or Ctrl-C in the main thread: stop the copies
            self.abort(barriers)
            for t in threads:
                t.join(timeout=5.0)
            raise
        if errors:
            raise errors[0]

    def abort(self, barriers: List[threading.Barrier]) -> None:
        self.stop.set()
        for b in barriers:
            b.abort()

    # results ---------------------------------------------------------------------------------------------
    def fill(self, result: RunResult) -> None:
        """Per-copy and per-stream results, then the run's totals (top level). Reads only what was measured."""
        result.workload = self.spec.workload
        result.streams = []
        for s in self.streams:
            for c in s.copies:
                self._fill_copy(c)
            sr = StreamResult(stream_id=s.spec.stream_id, model=s.spec.model, framework=s.spec.framework,
                              batch_size=s.spec.batch_size, copies=[c.result for c in s.copies])
            sr.placement = dict(s.copies[0].result.placement) if s.copies else {}
            sr.placement["threads"] = {"per_copy": s.copies[0].spec.threads if s.copies else None,
                                       "source": s.copies[0].threads_source if s.copies else "",
                                       "scope": "process (torch.set_num_threads)" if s.spec.framework == "torch"
                                       else "runtime object"}
            sr.inferences = sum(c.result.inferences for c in s.copies)
            if self.measure_time_s:
                sr.throughput_ips = sr.inferences / self.measure_time_s
            singles = [c.single_s for c in s.copies if c.single_s is not None]
            sr.single_inference_s = max(singles) if singles else None
            result.streams.append(sr)
        copies = self.copies()
        result.warmup_latencies_s = [v for c in copies for v in c.result.warmup_latencies_s]
        result.latencies_s = [v for c in copies for v in c.result.latencies_s]
        first = copies[0].result.warmup_latencies_s if copies else []
        result.warmup_s = first[0] if first else None
        result.inferences = sum(s.inferences for s in result.streams)
        result.measure_time_s = self.measure_time_s
        result.throughput_ips = result.inferences / self.measure_time_s if self.measure_time_s else None
        ends = [c.result.end_mono for c in copies if c.result.end_mono is not None]
        result.skew_s = max(ends) - min(ends) if ends else None
        if copies:
            result.placement = dict(copies[0].result.placement)

    def _fill_copy(self, c: Copy) -> None:
        r = c.result
        r.summary = summarize(r.latencies_s)
        if not r.inferences and self.name != "placement":
            r.inferences = c.spec.batch_size * len(r.latencies_s)
        if r.start_mono is not None and r.end_mono is not None and r.end_mono > r.start_mono:
            r.throughput_ips = r.inferences / (r.end_mono - r.start_mono)
        if c.backend is not None:
            try:
                r.placement = c.backend.placement()
            except Exception as e:  # placement is metadata; its failure must not lose the measurement
                r.placement = {"requested": c.spec.placement, "error": str(e)}


def stamp(c: Copy) -> None:
    """Record a copy's start: wall and monotonic clocks, read together."""
    c.result.start_mono = time.monotonic()
    c.result.start_wall = time.time()


def ceil_div(a: float, b: float) -> int:
    return max(1, int(math.ceil(a / b - 1e-9)))
