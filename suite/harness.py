"""One run inside the image: import -> load -> build -> warm-up -> measure, with monitors beside it.

Writes OUTDIR/{result.json, samples.jsonl, monitor.jsonl, env.json} atomically; never to stdout.
Whatever was measured before a failure is kept in the result.
"""

import json
import logging
import os
import signal
import sys
import time
import traceback
from typing import Any, Dict, List, Optional

import psutil

from . import boundcheck, env, inputs, monitors, probes, workloads
from .backends.base import BackendUnavailable
from .fsutil import write_json, write_jsonl
from .monitors.base import Monitor, MonitorUnavailable
from .monitors.psutil_monitor import process_memory
from .spec import Phase, RunResult, RunSpec, SchemaError, load_json
from .timing import noise_check, summarize
from .workloads.base import timed_loop

__all__ = ["run", "run_file", "timed_loop"]

log = logging.getLogger("edgebench.suite")
_T0_WALL = 0.0  # when run() began (time.time()), for the process's start-up time


class Terminated(Exception):
    """SIGTERM from the runner (timeout or Ctrl-C on the host)."""


def _on_sigterm(signum: int, frame: Any) -> None:
    raise Terminated("terminated by signal %d" % signum)


class _Phases:
    def __init__(self) -> None:
        self.done: List[Phase] = []
        self._name = ""
        self._mono = 0.0
        self._wall = 0.0

    def begin(self, name: str) -> None:
        self._name, self._mono, self._wall = name, time.monotonic(), time.time()
        log.info("phase %s", name)

    def end(self) -> None:
        if self._name:
            self.done.append(Phase(self._name, self._mono, time.monotonic(), self._wall, time.time()))
            self._name = ""


def run(spec: RunSpec, outdir: str, models_dir: Optional[str] = None) -> RunResult:
    """Run one spec; always returns (and writes) a RunResult, whatever happened.

    The harness owns phases, monitors, env capture and writing; the workload (suite/workloads) decides how
    inferences are driven: every copy is created in import, loaded in load, built in build, warmed up in
    warmup, and measured in measure."""
    global _T0_WALL
    _T0_WALL = time.time()
    if not os.path.isdir(outdir):
        os.makedirs(outdir)
    signal.signal(signal.SIGTERM, _on_sigterm)
    result = RunResult(run_id=spec.run_id, status="failed", spec=spec.to_dict(), workload=spec.workload)
    phases = _Phases()
    running: List[Monitor] = []
    work: Optional[workloads.Workload] = None
    env_start = env.capture()
    bound_before: Dict[str, Any] = {}
    try:
        for name in spec.monitors:
            running.append(monitors.create(name, spec.monitor_interval_s, spec.monitor_config.get(name)))
        for m in running:
            m.start()

        bound_before = boundcheck.snapshot()
        work = workloads.create(spec.validate(), models_dir)
        # Importing the runtime is part of a cold start (P2 compares loading with inference).
        phases.begin("import")
        work.create()
        phases.end()

        phases.begin("load")
        work.load()
        phases.end()

        phases.begin("build")
        work.build()
        if spec.monitor_ready_s > 0:
            time.sleep(spec.monitor_ready_s)
        phases.end()

        phases.begin("warmup")
        work.warmup()
        phases.end()

        phases.begin("measure")
        work.measure()
        phases.end()
        result.memory.update(process_memory(psutil.Process()))
        result.status = "ok"
    except (BackendUnavailable, MonitorUnavailable, SchemaError) as e:
        result.status, result.reason = "failed", str(e)
    except inputs.InputError as e:
        result.status, result.reason = "failed", "input: %s" % e
    except Terminated as e:
        result.status, result.reason = "failed", str(e)
    except KeyboardInterrupt:
        result.status, result.reason = "failed", "interrupted"
    except BaseException as e:  # noqa: B036 - every failure becomes a record, never a lost run
        oom = work is not None and work.is_oom(e)
        result.status = "oom" if oom else "failed"
        result.reason = "%s: %s" % (type(e).__name__, e)
        traceback.print_exc(file=sys.stderr)
    finally:
        phases.end()
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
    return _finish(spec, outdir, result, phases, running, work, env_start, bound_before)


def run_file(spec_path: str, outdir: str, models_dir: Optional[str]) -> int:
    """`python -m edgebench.suite run`: read the spec, run it; 0 ok, 1 any other outcome, 2 an unreadable spec.
    A fork server's child calls it too, so both process modes take the same path."""
    try:
        spec = RunSpec.from_dict(load_json(spec_path), source=spec_path)
    except (OSError, ValueError) as e:
        sys.stderr.write("edgebench.suite: cannot read spec: %s\n" % e)
        return 2
    result = run(spec, outdir, models_dir)
    sys.stderr.write("edgebench.suite: %s %s %s\n" % (result.run_id, result.status, result.reason))
    return 0 if result.status == "ok" else 1


def _finish(spec: RunSpec, outdir: str, result: RunResult, phases: _Phases,
            running: List[Monitor], work: Optional[workloads.Workload],
            env_start: Dict[str, Any], bound_before: Dict[str, Any]) -> RunResult:
    # Jetson: GPU memory may escape the memory cgroup; compare while the model is still loaded.
    try:
        result.memory_bound = boundcheck.check(bound_before, boundcheck.snapshot(), spec.placement) \
            if bound_before else {}
    except Exception as e:  # a check must never lose the measurement
        result.memory_bound = {"bounded": None, "reason": "boundcheck failed: %s" % e}
    mon_rows: List[Dict[str, Any]] = []
    for m in running:
        result.monitor[m.name] = m.stop()
        for row in m.samples:
            row["monitor"] = m.name
            mon_rows.append(row)
    result.phases = phases.done
    result.process = _process(phases.done)
    if work is not None:
        try:
            work.fill(result)
        except Exception as e:  # never lose the record over its bookkeeping
            result.reason = (result.reason + "; " if result.reason else "") + "fill failed: %s" % e
    samples = _samples(result)
    result.summary = summarize(result.latencies_s)
    result.noisy, result.noise_reason = noise_check(result.summary, spec.cv_threshold, result.latencies_s)
    peak = _rusage_maxrss_mb()
    result.memory["ru_maxrss_mb"] = peak
    env_end = env.capture(work.versions() if work is not None else None)
    cg = env_end.get("cgroup", {})
    result.memory["cgroup_peak_mb"] = _mib(cg.get("memory_peak_bytes"))
    result.env = {"start": env_start, "end": env_end}
    result.throttle = probes.verdict_of_env(env_start, env_end)
    result.throttled = result.throttle.get("throttled")
    write_jsonl(os.path.join(outdir, "samples.jsonl"), samples)
    write_jsonl(os.path.join(outdir, "monitor.jsonl"), mon_rows)
    write_json(os.path.join(outdir, "env.json"), result.env)
    write_json(os.path.join(outdir, "result.json"), result.to_dict())
    return result


def _process(done: List[Phase]) -> Dict[str, Any]:
    """How this process started: the fork server's record (EDGEBENCH_PROCESS) or a fresh one's.

    import_s: interpreter start-up plus every import before the model loads, paid by each fresh run and once
    per server when forked; started_s: process start (exec or fork) to the harness; run_import_s: this run's
    import phase (the runtime's import when fresh, ~0 when the server imported it)."""
    try:
        info = json.loads(os.environ.get("EDGEBENCH_PROCESS") or "{}")
    except ValueError:
        info = {}
    info = info if isinstance(info, dict) else {}
    info.setdefault("mode", "fresh")
    imp = next((p.duration_s for p in done if p.name == "import"), None)
    info["run_import_s"] = imp
    try:
        info["started_s"] = _T0_WALL - psutil.Process().create_time()
    except (psutil.Error, OSError):
        info["started_s"] = None
    if info["mode"] == "fresh" and imp is not None and info["started_s"] is not None:
        info["import_s"] = info["started_s"] + imp
    return info


def _samples(result: RunResult) -> List[Dict[str, Any]]:
    """samples.jsonl rows: per stream and copy, warm-up then measure (v1 rows had no stream/copy: "0", 0)."""
    rows: List[Dict[str, Any]] = []
    for st in result.streams:
        for c in st.copies:
            for phase, values in (("warmup", c.warmup_latencies_s), ("measure", c.latencies_s)):
                rows += [{"phase": phase, "index": i, "latency_s": v, "stream": st.stream_id, "copy": c.copy}
                         for i, v in enumerate(values)]
    return rows


def _mib(v: Optional[float]) -> Optional[float]:
    return None if v is None else v / float(1 << 20)


def _rusage_maxrss_mb() -> float:
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux



