"""A campaign folder as three pandas tables: runs (one row per run), samples (raw latencies) and
monitor (the monitor streams, each sample tagged with the phase it fell in).

Readers use saved files only, through cli/store.py. Only host-checked runs are data: a folder
whose result.json is missing or is only the child's (no host verdict) is listed in
`Tables.incomplete`, one whose result.json is damaged in `Tables.damaged`, each with the problem,
and both are left out of every table.
"""

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import pandas as pd
from edgebench.suite.spec import RunResult, RunSpec, SchemaError
from edgebench.suite.timing import robust_spread

from .. import store
from ..errors import InputError
from ..limits import MIB, compare_limits

PHASES = ("import", "load", "build", "warmup", "measure")
LIMIT_KEYS = ("memory_mb", "memory_swap_mb", "swappiness", "cpus")
SUMMARY_KEYS = ("n", "mean", "std", "cv", "min", "p50", "p90", "p99", "max")
MEMORY_KEYS = ("rss_mb", "pss_mb", "uss_mb", "ru_maxrss_mb", "cgroup_peak_mb")


@dataclass
class Tables:
    campaign: str
    runs: pd.DataFrame
    samples: pd.DataFrame
    monitor: pd.DataFrame
    damaged: list[tuple[Path, str]] = field(default_factory=list)  # skipped folders and why
    incomplete: list[tuple[Path, str]] = field(default_factory=list)  # not host-checked: skipped, and why
    warnings: list[tuple[Path, str]] = field(default_factory=list)  # kept runs with an unreadable stream
    info: dict[str, Any] = field(default_factory=dict)  # campaign.json, when readable


def load(campaign_dir: Path) -> Tables:
    """Read every run folder of a campaign; damaged ones are reported, not read."""
    campaign_dir = Path(campaign_dir)
    if not campaign_dir.is_dir():
        raise InputError(str(campaign_dir), "", "no such campaign folder")
    rows: list[dict[str, Any]] = []
    samples: list[dict[str, Any]] = []
    mon: list[dict[str, Any]] = []
    tables = Tables(campaign_dir.name, pd.DataFrame(), pd.DataFrame(), pd.DataFrame())
    for stored in store.iter_runs(campaign_dir):
        if stored.incomplete:
            tables.incomplete.append((stored.path, stored.problem))
            continue
        if stored.result is None:
            tables.damaged.append((stored.path, stored.problem))
            continue
        res = stored.result
        rows.append(run_row(res, stored.path, campaign_dir.name))
        got, problem = read_samples(stored.path, res)
        samples.extend(got)
        # the run's robust spread (cli/analysis/noise.py): IQR/median of its timed inferences
        rows[-1]["iqr_ratio"] = robust_spread([s["latency_s"] for s in got if s["phase"] == "measure"
                                               and isinstance(s["latency_s"], (int, float))])
        if problem:
            tables.warnings.append((stored.path, problem))
        got, problem = read_monitor(stored.path, res)
        mon.extend(got)
        if problem:
            tables.warnings.append((stored.path, problem))
    tables.runs = _typed(pd.DataFrame(rows))
    tables.samples = pd.DataFrame(samples, columns=["run_id", "stream", "copy", "phase", "index", "latency_s"])
    tables.monitor = pd.DataFrame(mon) if mon else pd.DataFrame(
        columns=["run_id", "monitor", "t_mono", "t_wall", "t_rel_s", "phase"])
    tables.info = store.read_campaign_file(campaign_dir)
    return tables


def _typed(runs: pd.DataFrame) -> pd.DataFrame:
    """Limits are numbers even when no run asked for one (an all-None column would be text)."""
    for k in LIMIT_KEYS:
        for col in ("limit_" + k, "applied_" + k):
            if col in runs:
                runs[col] = pd.to_numeric(runs[col], errors="coerce").astype("float64")
    return runs


def _scalar(v: Any) -> Any:
    """Lists and dicts become JSON text, so every column is flat (and Parquet accepts it)."""
    if isinstance(v, (list, tuple, dict)):
        return json.dumps(v, sort_keys=True)
    return v


def run_row(res: RunResult, run_dir: Path, campaign: str = "") -> dict[str, Any]:
    """One flat row: the spec, the fate, the summary, phases, memory, monitors and environment."""
    spec = res.spec
    expect = spec.get("expect") or "ok"
    placement = res.placement or {}
    row: dict[str, Any] = {
        "campaign": campaign or spec.get("campaign", ""), "run_id": res.run_id, "run_dir": str(run_dir),
        "status": res.status, "reason": res.reason, "expect": expect, "as_expected": res.status == expect,
        "model": spec.get("model"), "framework": spec.get("framework"), "precision": spec.get("precision"),
        "batch_size": spec.get("batch_size"),
        "input_shape": "x".join(str(v) for v in spec.get("input_shape") or []),
        "num_classes": spec.get("num_classes"), "threads": spec.get("threads"),
        "warmups": spec.get("warmups"), "iterations": spec.get("iterations"),
        "repetition": spec.get("repetition"), "device": spec.get("device"), "image": spec.get("image"),
        # whether the image matched images/images.lock (cli/image_lock.status)
        "image_lock": (((res.host or {}).get("extra") or {}).get("image") or {}).get("lock"),
        "placement": spec.get("placement"), "placement_actual": _scalar(placement.get("actual")),
        "fell_back": placement.get("fell_back"), "placement_detail": _scalar(placement) if placement else None,
        # The precision the loaded graph really has (ONNX files stamp it; TensorRT counts its layers).
        "graph_precision": (placement.get("graph") or {}).get("precision"),
        "cv_threshold": spec.get("cv_threshold"),
        # P3's runs (issue 11): the workload, copies of stream 0 and the other streams of a placement run
        "workload": spec.get("workload", "single"), "copies": spec.get("copies", 1),
        "streams": " + ".join("%s/%s@%s x%s" % (s.get("model"), s.get("framework"), s.get("placement", "cpu"),
                                                s.get("copies", 1)) for s in spec.get("streams") or []),
    }
    row.update(_limits(res))
    for k, v in sorted((spec.get("labels") or {}).items()):
        row["label_" + k] = v
    row["warmup_s"] = res.warmup_s
    summ = res.summary
    for k in SUMMARY_KEYS:
        v = getattr(summ, k) if summ is not None else None
        row[k if k in ("n", "cv") else k + "_s"] = v
    row.update({"throughput_ips": res.throughput_ips, "inferences": res.inferences,
                "measure_time_s": res.measure_time_s, "pad_inferences": res.pad_inferences})
    for name in PHASES:
        p = res.phase(name)
        row[name + "_phase_s"] = p.duration_s if p is not None else None
    for k in MEMORY_KEYS:
        row[k] = (res.memory or {}).get(k)
    for mname, agg in sorted((res.monitor or {}).items()):
        for k, v in sorted(agg.items()):
            row["mon_%s_%s" % (mname, k)] = _scalar(v)
    row["peak_rss_mb"] = peak_rss(row)
    row.update({"noisy": res.noisy, "noise_reason": res.noise_reason, "throttled": res.throttled,
                "memory_bounded": (res.memory_bound or {}).get("bounded")})
    row.update(_host(res.host))
    row.update(_env(res, run_dir))
    return row


def peak_rss(row: dict[str, Any]) -> Optional[float]:
    """The process's RSS high-water mark: the kernel's ru_maxrss when the child got to write it,
    else the most the monitor or the final reading saw."""
    if _num(row.get("ru_maxrss_mb")) is not None:
        return float(row["ru_maxrss_mb"])
    seen = [_num(row.get(k)) for k in ("rss_mb", "mon_psutil_rss_mb_max")]
    vals = [v for v in seen if v is not None]
    return max(vals) if vals else None


def _num(v: Any) -> Optional[float]:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or math.isnan(v):
        return None
    return float(v)


def _limits(res: RunResult) -> dict[str, Any]:
    """Limits asked, and applied as read inside the run; where the child wrote nothing (killed
    early), as the host read them back, and the columns say which."""
    asked = (res.spec.get("limits") or {})
    host = res.host or {}
    lim = host.get("limits") or {}
    applied, match, mism = lim.get("applied"), lim.get("match"), lim.get("mismatches") or []
    source: Optional[str] = "inside"
    host_view = lim.get("host_view") or host.get("limits_applied")  # cgroup files as the host read them
    if applied is None and host_view:
        try:
            spec = RunSpec.from_dict(res.spec)
        except (SchemaError, TypeError, ValueError):
            spec = None
        if spec is not None:
            cmp = compare_limits(spec, host_view)
            applied, match, mism, source = cmp["applied"], cmp["match"], cmp["mismatches"], "host"
    if applied is None:
        source = None
    row: dict[str, Any] = {}
    for k in LIMIT_KEYS:
        row["limit_" + k] = asked.get(k)
    for k in LIMIT_KEYS:
        row["applied_" + k] = (applied or {}).get(k)
    row["limit_cpuset"], row["applied_cpuset"] = asked.get("cpuset"), (applied or {}).get("cpuset")  # text
    row.update({"limits_match": match, "limits_mismatches": "; ".join(mism), "limits_source": source,
                "limit_notes": "; ".join(lim.get("notes") or [])})
    return row


def _host(host: dict[str, Any]) -> dict[str, Any]:
    host = host or {}
    return {"runner": host.get("runner"), "exit_code": host.get("exit_code"), "wall_s": host.get("wall_s"),
            "timed_out": host.get("timed_out"), "oom_killed": host.get("oom_killed"),
            "oom_evidence": _scalar(host.get("oom_evidence")) if host.get("oom_evidence") else None,
            "host_error": host.get("error") or None, "command_line": host.get("command_line")}


def _env(res: RunResult, run_dir: Path) -> dict[str, Any]:
    env = res.env or {}
    if not env:  # older results kept the environment only beside the result
        env = store.read_env(run_dir)
    e = env.get("end") or env.get("start") or {}
    runtime = e.get("runtime") or {}
    row: dict[str, Any] = {
        "kernel": e.get("kernel"), "os": e.get("os"), "machine": e.get("machine"), "hostname": e.get("hostname"),
        "cpu_model": e.get("cpu_model"), "cpu_count": e.get("cpu_count_logical"),
        "cpu_governor": _scalar(e.get("cpu_governor")), "in_container": e.get("in_container"),
        "memory_total_mb": e["memory_total_bytes"] / MIB if e.get("memory_total_bytes") else None,
        "swap_total_mb": e["swap_total_bytes"] / MIB if e.get("swap_total_bytes") is not None else None,
        "python": e.get("python"), "numpy": e.get("numpy"), "edgebench_version": e.get("edgebench_version"),
        "runtime_version": runtime.get(res.spec.get("framework") or ""),
    }
    for k, v in sorted(runtime.items()):
        row["runtime_" + k] = _scalar(v)
    return row


def read_samples(run_dir: Path, res: RunResult) -> tuple[list[dict[str, Any]], str]:
    """Raw latencies from samples.jsonl, each with its stream id and copy index (v1 rows, which have
    neither, are stream "0", copy 0); where that file is absent or damaged, from result.json's own
    copy (per stream and copy for v2 results), and the problem is returned to be reported (never a
    silent swap). A run that timed no inference (killed early) has no samples and no problem."""
    path = run_dir / "samples.jsonl"
    if path.exists():
        rows, problem = store.read_jsonl(path)
        if not problem:
            return [_sample(res.run_id, r.get("phase"), r.get("index"), r.get("latency_s"),
                            r.get("stream", "0"), r.get("copy", 0)) for r in rows], ""
        problem += "; latencies taken from result.json"
    elif res.latencies_s or res.warmup_latencies_s:
        problem = "samples.jsonl is missing; latencies taken from result.json"
    else:
        problem = ""
    return _samples_of_result(res), problem


def _sample(run_id: str, phase: Any, index: Any, latency: Any, stream: Any, copy: Any) -> dict[str, Any]:
    return {"run_id": run_id, "stream": str(stream), "copy": int(copy), "phase": phase, "index": index,
            "latency_s": latency}


def _samples_of_result(res: RunResult) -> list[dict[str, Any]]:
    copies = [(st.stream_id, c.copy, c.warmup_latencies_s, c.latencies_s) for st in res.streams for c in st.copies]
    if not copies:  # v1, or a run that failed before its streams were made
        copies = [("0", 0, res.warmup_latencies_s, res.latencies_s)]
    out = []
    for sid, copy, warm, timed in copies:
        out += [_sample(res.run_id, "warmup", i, v, sid, copy) for i, v in enumerate(warm)]
        out += [_sample(res.run_id, "measure", i, v, sid, copy) for i, v in enumerate(timed)]
    return out


def phase_of(t_mono: float, res: RunResult) -> Optional[str]:
    """The phase a monitor sample fell in: its name, 'pre' before the first, 'post' after the last,
    'gap' between two; None when the run recorded no phases."""
    if not res.phases:
        return None
    for p in res.phases:
        if p.start_mono <= t_mono <= p.end_mono:
            return str(p.name)
    if t_mono < res.phases[0].start_mono:
        return "pre"
    if t_mono > res.phases[-1].end_mono:
        return "post"
    return "gap"


def read_monitor(run_dir: Path, res: RunResult) -> tuple[list[dict[str, Any]], str]:
    path = run_dir / "monitor.jsonl"
    if not path.exists():
        return [], ""
    rows, problem = store.read_jsonl(path)
    if problem:
        return [], problem + "; monitor stream left out"
    t0 = res.phases[0].start_mono if res.phases else None
    out = []
    for r in rows:
        t = r.get("t_mono")
        row = {"run_id": res.run_id, "monitor": r.get("monitor"), "t_mono": t, "t_wall": r.get("t_wall"),
               "t_rel_s": (t - t0) if (t is not None and t0 is not None) else None,
               "phase": phase_of(t, res) if t is not None else None}
        for k, v in r.items():
            if k not in row:
                row[k] = _scalar(v)
        out.append(row)
    return out, ""
