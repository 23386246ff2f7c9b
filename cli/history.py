"""Estimates that learn: per-run times from the finished runs of earlier campaigns on the same device profile.

A run's wall time is split as the suite and the runner recorded it: the phases (import, load, build,
warm-up, measure, from result.json), the steady per-batch latency (the run's p50) and the rest of the wall
time (interpreter start-up, environment capture, teardown, a container's creation: the runner's `wall_s`
minus the phases). A new run of the same framework, model, precision, batch, input and copies is then
estimated from the medians of those parts, with its own warm-ups, iterations, settle and padding; a run of a
known framework and model at another batch or input takes the import, load and overhead from that model and
scales its per-batch latency by the pixels in a batch. Anything else keeps the model in cli/plan.py.
"""

import json
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from edgebench.suite.spec import RunSpec

from . import store

_FIXED_PHASES = ("import", "load", "build")


@dataclass
class Sample:
    """What one finished ok run says about its cell's time."""

    fixed_s: float  # import + load + build
    overhead_s: float  # wall minus every phase, settle and monitor start
    warmup_per_s: float  # warm-up phase per warm-up inference
    per_batch_s: float  # steady p50 of one batch (per copy)
    pixels: float  # batch x H x W, to scale per_batch_s to another batch or input


@dataclass
class History:
    device: str
    samples: dict[tuple[Any, ...], list[Sample]] = field(default_factory=dict)
    campaigns: list[str] = field(default_factory=list)

    @property
    def runs(self) -> int:
        return sum(len(v) for v in self.samples.values())

    def estimate(self, spec: RunSpec) -> tuple[Optional[float], str]:
        """Seconds for one run from history, and 'history:N' or 'history (scaled):N' (N: the runs it
        came from); None and '' when no history fits."""
        got = self.samples.get(_key(spec))
        how = "history"
        if not got:
            if spec.workload != "single":
                return None, ""
            near = [s for k, v in self.samples.items() if k[:3] == _key(spec)[:3] and k[-1] == ("single", 1)
                    for s in v]
            if not near:
                return None, ""
            got, how = near, "history (scaled)"
        fixed = statistics.median(s.fixed_s for s in got)
        over = statistics.median(s.overhead_s for s in got)
        ratio = _pixels(spec) / statistics.median(s.pixels for s in got)
        per_batch = statistics.median(s.per_batch_s for s in got) * ratio
        warm = statistics.median(s.warmup_per_s for s in got) * ratio
        measure = max(per_batch * spec.iterations, spec.min_measure_s)
        return (over + fixed + spec.settle_s + spec.monitor_ready_s + warm * spec.warmups + measure,
                "%s:%d" % (how, len(got)))


def _key(spec: RunSpec) -> tuple[Any, ...]:
    return (spec.framework, spec.model, spec.precision, spec.batch_size, tuple(spec.input_shape),
            (spec.workload, spec.copies))


def _pixels(spec: RunSpec) -> float:
    return float(spec.batch_size * spec.input_shape[1] * spec.input_shape[2])


def sample_of(result: Any) -> Optional[Sample]:
    """A Sample from a stored ok run with its phases and the runner's wall time; None otherwise."""
    if result.status != "ok" or result.summary is None or not result.phases:
        return None
    wall = (result.host or {}).get("wall_s")
    if not isinstance(wall, (int, float)) or wall <= 0:
        return None
    try:
        spec = RunSpec.from_dict(result.spec)
    except (ValueError, TypeError):
        return None
    dur = {p.name: p.duration_s for p in result.phases}
    phases = sum(dur.values())
    return Sample(fixed_s=sum(dur.get(n, 0.0) for n in _FIXED_PHASES),
                  overhead_s=max(0.0, wall - phases - spec.settle_s - spec.monitor_ready_s),
                  warmup_per_s=dur.get("warmup", 0.0) / max(spec.warmups, 1),
                  per_batch_s=float(result.summary.p50), pixels=_pixels(spec))


def load(results_root: Path, device: str) -> History:
    """Every finished ok run under results_root whose campaign ran on `device` (campaign.json's profile)."""
    h = History(device)
    if not results_root.is_dir():
        return h
    for info_path in sorted(results_root.glob("*/" + store.CAMPAIGN_FILE)):
        camp = info_path.parent
        try:
            info = json.loads(info_path.read_text())
        except (OSError, ValueError):
            continue
        if not isinstance(info, dict) or (info.get("device") or {}).get("name") != device:
            continue
        n = 0
        for stored in store.iter_runs(camp):
            if not stored.checked or stored.result is None:
                continue
            s = sample_of(stored.result)
            if s is None:
                continue
            spec = RunSpec.from_dict(stored.result.spec)
            h.samples.setdefault(_key(spec), []).append(s)
            n += 1
        if n:
            h.campaigns.append(camp.name)
    return h
