"""Energy and efficiency by phase, from a run folder's saved files (result.json + monitor.jsonl).

Power samples (t_mono, power_w) are joined by straight lines and integrated with the trapezoid
rule over each phase [start_mono, end_mono] (import, load, build, warmup, measure) and over the
whole run (first phase start to last phase end); a sample interval cut by a phase edge contributes
only its part inside the phase, with the power interpolated at the edge.

Sampling interval and error. With samples every h seconds the figure is exact for power that is
constant or changes linearly between samples. If power only moves monotonically between two
samples (a step anywhere inside the interval), the energy of that interval is off by at most
|dP| * h / 2 (|dP| * overlap for an interval cut by a phase edge); error_bound_j sums these over
the phase. A spike that starts and ends between two samples is invisible at any rate: keep h well
below the shortest phase (a phase holding fewer than 2 samples is flagged `too_few_samples`).
FPS/W = throughput (inferences/s of the measure phase) / average power, over the measure phase
(P4's "inference phase") and over the whole run.
"""

import json
import statistics
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Optional

from edgebench.suite import registry

from .. import store

# Most to least direct: an external meter on the supply beats on-board rails beats GPU-only beats a model
# (each monitor's priority and whether it estimates: suite/registry.py).
SOURCE_ORDER = tuple(registry.power_sources())
ESTIMATES = tuple(m.name for m in registry.MONITORS.values() if m.estimate)
J_PER_KWH = 3.6e6


@dataclass
class Integral:
    duration_s: float
    covered_s: float  # part of the span that lies between the first and last sample
    samples: int  # samples inside the span
    energy_j: Optional[float]
    avg_power_w: Optional[float]
    error_bound_j: Optional[float]
    too_few_samples: bool

    @property
    def coverage(self) -> float:
        return self.covered_s / self.duration_s if self.duration_s > 0 else 0.0


def _at(t0: float, p0: float, t1: float, p1: float, t: float) -> float:
    return p0 if t1 == t0 else p0 + (p1 - p0) * (t - t0) / (t1 - t0)


def integrate(t: list[float], p: list[float], start: float, end: float) -> Integral:
    """Energy (J) of the piecewise-linear power curve through (t, p) over [start, end]."""
    if len(t) != len(p):
        raise ValueError("t and p differ in length")
    duration = max(0.0, end - start)
    inside = sum(1 for x in t if start <= x <= end)
    energy = bound = covered = 0.0
    for i in range(len(t) - 1):
        t0, t1, p0, p1 = t[i], t[i + 1], p[i], p[i + 1]
        a, b = max(t0, start), min(t1, end)
        if b <= a:
            continue
        pa, pb = _at(t0, p0, t1, p1, a), _at(t0, p0, t1, p1, b)
        energy += (pa + pb) / 2.0 * (b - a)
        covered += b - a
        whole = a == t0 and b == t1
        bound += abs(p1 - p0) * (b - a) * (0.5 if whole else 1.0)
    if covered == 0.0:
        return Integral(duration, 0.0, inside, None, None, None, True)
    return Integral(duration, covered, inside, energy, energy / covered, bound, inside < 2)


@dataclass
class Stream:
    monitor: str
    t: list[float]
    p: list[float]
    rails: dict[str, list[Optional[float]]]
    power_source: str
    estimate: bool

    @property
    def interval_s(self) -> Optional[float]:
        gaps = [b - a for a, b in zip(self.t, self.t[1:]) if b > a]
        return statistics.median(gaps) if gaps else None


def streams(rows: Iterable[dict[str, Any]], monitors: dict[str, Any]) -> list[Stream]:
    """One power stream per monitor that wrote power_w, samples sorted by t_mono."""
    by: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        if r.get("power_w") is not None and r.get("t_mono") is not None:
            by.setdefault(str(r.get("monitor", "?")), []).append(r)
    out = []
    for name, rs in by.items():
        rs.sort(key=lambda r: r["t_mono"])
        rail_names = sorted({k for r in rs for k in r if k.startswith("rail_") and k.endswith("_w")})
        agg = monitors.get(name) or {}
        out.append(Stream(name, [float(r["t_mono"]) for r in rs], [float(r["power_w"]) for r in rs],
                          {k[5:-2]: [r.get(k) for r in rs] for k in rail_names},
                          str(agg.get("power_source") or name),
                          bool(agg.get("power_estimate", name in ESTIMATES))))
    out.sort(key=lambda s: (s.estimate, SOURCE_ORDER.index(s.monitor) if s.monitor in SOURCE_ORDER else 99))
    return out


def _span(phases: list[dict[str, Any]]) -> Optional[tuple[float, float]]:
    if not phases:
        return None
    return min(p["start_mono"] for p in phases), max(p["end_mono"] for p in phases)


def _fig(i: Integral) -> dict[str, Any]:
    d = asdict(i)
    d["coverage"] = i.coverage
    known = i.energy_j and i.error_bound_j is not None
    d["error_bound_pct"] = 100.0 * i.error_bound_j / i.energy_j if known else None  # type: ignore[operator]
    return d


def stream_energy(s: Stream, phases: list[dict[str, Any]], throughput_ips: Optional[float],
                  inferences: int) -> dict[str, Any]:
    """Per-phase and whole-run figures for one stream."""
    out: dict[str, Any] = {"monitor": s.monitor, "power_source": s.power_source, "estimate": s.estimate,
                           "samples": len(s.t), "sampling_interval_s": s.interval_s, "phases": {}}
    for ph in phases:
        out["phases"][ph["name"]] = _fig(integrate(s.t, s.p, ph["start_mono"], ph["end_mono"]))
    span = _span(phases)
    run = integrate(s.t, s.p, *span) if span else None
    out["run"] = _fig(run) if run else None
    measure = out["phases"].get("measure")
    avg_run = run.avg_power_w if run else None
    avg_measure = measure["avg_power_w"] if measure else None
    out["energy_kwh_run"] = run.energy_j / J_PER_KWH if run and run.energy_j is not None else None
    out["fps_per_w_run"] = throughput_ips / avg_run if throughput_ips and avg_run else None
    out["fps_per_w_measure"] = throughput_ips / avg_measure if throughput_ips and avg_measure else None
    out["energy_per_inference_j"] = (measure["energy_j"] / inferences
                                     if measure and measure["energy_j"] is not None and inferences else None)
    mph: Optional[dict[str, Any]] = next((p for p in phases if p["name"] == "measure"), None)
    if mph:
        rails = {}
        for name, vals in s.rails.items():
            pts = [(t, v) for t, v in zip(s.t, vals) if v is not None]
            if len(pts) >= 2:
                ts, ps = [a for a, _ in pts], [b for _, b in pts]
                rails[name] = integrate(ts, ps, mph["start_mono"], mph["end_mono"]).energy_j
        out["rails_measure_j"] = rails
    out["note"] = sampling_note(s.interval_s, phases)
    return out


def sampling_note(interval_s: Optional[float], phases: list[dict[str, Any]]) -> str:
    if not interval_s:
        return "fewer than two power samples: no energy figure"
    short = [p["name"] for p in phases if p["end_mono"] - p["start_mono"] < 2 * interval_s]
    text = ("power sampled every %.3g s; energies assume power moves monotonically between samples "
            "(error_bound_j), spikes shorter than that are not seen" % interval_s)
    if short:
        text += "; phases shorter than two samples (%s) are rough" % ", ".join(short)
    return text


def run_energy(run_dir: Path) -> list[dict[str, Any]]:
    """Energy figures of one run folder, one dict per power stream (measured first, estimates last)."""
    result = json.loads((run_dir / "result.json").read_bytes().decode("utf-8"))
    mon = run_dir / "monitor.jsonl"
    # A damaged stream gives no energy; analysis.tables reports it (file, line, byte offset).
    rows = store.read_jsonl(mon)[0] if mon.exists() else []
    phases = result.get("phases") or []
    out = []
    for s in streams(rows, result.get("monitor") or {}):
        e = stream_energy(s, phases, result.get("throughput_ips"), int(result.get("inferences") or 0))
        e["run_id"] = result.get("run_id")
        out.append(e)
    return out


def energy_rows(run_dirs: Iterable[Path]) -> list[dict[str, Any]]:
    """Flat rows (one per run x power stream) for a table: spec fields, figures per phase, FPS/W."""
    rows = []
    for d in run_dirs:
        try:
            figs = run_energy(d)
            spec = json.loads((d / "result.json").read_text()).get("spec") or {}
        except (OSError, ValueError) as e:  # a damaged folder is reported by the store, not read as data
            rows.append({"run_dir": str(d), "problem": str(e)})
            continue
        for f in figs:
            row: dict[str, Any] = {k: spec.get(k) for k in ("model", "framework", "precision", "batch_size", "device")}
            row.update({k: f[k] for k in ("run_id", "monitor", "power_source", "estimate", "sampling_interval_s",
                                          "energy_kwh_run", "fps_per_w_run", "fps_per_w_measure",
                                          "energy_per_inference_j")})
            for name, fig in list(f["phases"].items()) + [("run", f["run"])]:
                if fig:
                    for key in ("energy_j", "avg_power_w", "error_bound_pct", "coverage"):
                        row["%s_%s" % (key, name)] = fig[key]
            rows.append(row)
    return rows
