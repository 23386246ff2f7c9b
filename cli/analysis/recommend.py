"""Which configuration meets a budget: constraints, an objective, ties decided by noise, Pareto fronts.

A configuration is one cell of one campaign with its device (model, precision, framework, batch, copies,
device, limits). Its figures are medians over its runs with the run-to-run 95 % CI (bootstrap of the
median, as in the report's tables); a configuration where any run did not end ok is left out of the
answer (a budget met only sometimes is not met). Ranks: configurations whose CIs of the objective
overlap share a rank (a difference inside the noise decides nothing). Emulated configurations (NAME@ceiling,
NAME@functional: analysis/speed.py) are listed but never meet a budget: their timings are the host's CPU or
QEMU's, not the device's, and recommend never recommends on them.
"""

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np
import pandas as pd
from edgebench.suite.timing import median_ci

from ..errors import InputError
from . import energy, speed
from .tables import Tables

CONFIG_KEYS = ["device", "model", "framework", "precision", "batch_size", "copies", "workload", "threads",
               "placement", "limit_memory_mb", "limit_memory_swap_mb", "limit_cpus"]
# constraint option -> (column, kind, unit, what a person reads)
CONSTRAINTS = {
    "max_p99_ms": ("p99_ms", "max", "ms", "p99 latency"),
    "max_memory_mb": ("memory_mb", "max", "MiB", "peak memory"),
    "max_power_w": ("power_w", "max", "W", "power"),
    "min_throughput": ("throughput_ips", "min", "inf/s", "throughput"),
}
# objective -> (column, higher is better, unit)
OBJECTIVES = {
    "throughput": ("throughput_ips", True, "inf/s"),
    "latency": ("p99_ms", False, "ms p99"),
    "fps-per-watt": ("fps_per_w", True, "inf/s/W"),
    "energy-per-inference": ("energy_per_inference_j", False, "J/inference"),
}
NEEDS_POWER = ("power_w", "fps_per_w", "energy_per_inference_j")


@dataclass
class Answer:
    objective: str
    constraints: dict[str, float]
    configs: pd.DataFrame  # every configuration, with meets, violations, rank and the Pareto flags
    sentence: str
    closest: list[str] = field(default_factory=list)  # when nothing meets the budget: what fails closest
    memory_limits: list[dict[str, Any]] = field(default_factory=list)

    @property
    def feasible(self) -> pd.DataFrame:
        col, higher, _ = OBJECTIVES[self.objective]
        d = self.configs[self.configs["meets"]]
        return d.sort_values(["rank", col], ascending=[True, not higher], kind="stable")


def _ci(values: list[float]) -> tuple[Optional[float], Optional[float], Optional[float]]:
    vals = [v for v in values if v is not None and not math.isnan(v)]
    if not vals:
        return None, None, None
    if len(vals) == 1:
        return vals[0], vals[0], vals[0]
    return median_ci(vals)


def _power(run_dir: str) -> tuple[Optional[float], Optional[float]]:
    """Measure-phase average power and energy per inference of a run, from its first (most direct)
    power stream; (None, None) when no monitor measured power."""
    try:
        figs = energy.run_energy(Path(run_dir))
    except (OSError, ValueError):
        return None, None
    for f in figs:
        m = (f.get("phases") or {}).get("measure") or {}
        if m.get("avg_power_w"):
            return float(m["avg_power_w"]), f.get("energy_per_inference_j")
    return None, None


def configurations(tables: list[Tables]) -> pd.DataFrame:
    """One row per configuration over all campaigns, with medians, CIs and run counts."""
    rows = []
    for t in tables:
        if t.runs.empty:
            continue
        runs = t.runs.copy()
        keys = [k for k in CONFIG_KEYS if k in runs]
        for k in keys:
            runs[k] = runs[k].astype(object).where(runs[k].notna(), None)
        for _, g in runs.groupby(keys, dropna=False, sort=True):
            rows.append(_config(t.campaign, keys, g))
    return pd.DataFrame(rows)


def _config(campaign: str, keys: list[str], g: pd.DataFrame) -> dict[str, Any]:
    first = g.iloc[0]
    row: dict[str, Any] = {k: first[k] for k in keys}
    row["campaign"] = campaign
    ok = g[g["status"] == "ok"]
    row["runs"], row["runs_ok"] = len(g), len(ok)
    row["statuses"] = ", ".join("%d %s" % (n, s) for s, n in g["status"].value_counts().items())
    num = {c: pd.to_numeric(ok[c], errors="coerce").tolist() if c in ok else [] for c in
           ("throughput_ips", "p99_s", "p50_s", "peak_rss_mb", "cgroup_peak_mb")}
    for name, vals, scale in (("throughput_ips", num["throughput_ips"], 1.0), ("p99_ms", num["p99_s"], 1000.0),
                              ("p50_ms", num["p50_s"], 1000.0)):
        med, lo, hi = _ci([v * scale for v in vals])
        row[name], row[name + "_ci_lo"], row[name + "_ci_hi"] = med, lo, hi
    mems = [v for v in num["peak_rss_mb"] + num["cgroup_peak_mb"] if not math.isnan(v)]
    row["memory_mb"] = max(mems) if mems else None
    row["memory_mb_ci_lo"] = row["memory_mb_ci_hi"] = row["memory_mb"]
    power = [_power(str(d)) for d in ok["run_dir"]]
    watts = [p for p, _ in power if p is not None]
    joules = [j for _, j in power if j is not None]
    thr = [v for v, (p, _) in zip(num["throughput_ips"], power) if p is not None]
    row["power_w"], row["power_w_ci_lo"], row["power_w_ci_hi"] = _ci(watts)
    row["fps_per_w"], row["fps_per_w_ci_lo"], row["fps_per_w_ci_hi"] = _ci([a / b for a, b in zip(thr, watts) if b])
    e = _ci(joules)
    row["energy_per_inference_j"], row["energy_per_inference_j_ci_lo"], row["energy_per_inference_j_ci_hi"] = e
    row["run_ids"] = " ".join(g["run_id"])
    return row


def name(r: Any) -> str:
    """How a configuration reads in a sentence: 'mobilenet_v2 int8 on onnxruntime at batch 8'."""
    text = "%s %s on %s at batch %s" % (r["model"], r.get("precision") or "fp32", r["framework"], r["batch_size"])
    if (r.get("copies") or 1) not in (1, None) and not _nan(r.get("copies")):
        text += " x%s copies" % r["copies"]
    mem = r.get("limit_memory_mb")
    if mem is not None and not _nan(mem):
        text += " within %g MiB" % mem
    return text


def _nan(v: Any) -> bool:
    return isinstance(v, float) and math.isnan(v)


def check_measured(configs: pd.DataFrame, constraints: dict[str, float], objective: str) -> None:
    """A constraint or objective no run measured is bad input, not an empty answer."""
    asked = [(opt, CONSTRAINTS[opt][0]) for opt in constraints] + [("--objective " + objective,
                                                                    OBJECTIVES[objective][0])]
    for opt, col in asked:
        if configs.empty or col not in configs or configs[col].isna().all():
            why = ("no run measured power (no power monitor in these campaigns)" if col in NEEDS_POWER
                   else "no ok run measured %s" % col)
            raise InputError("--" + opt.replace("_", "-") if not opt.startswith("--") else opt, "", why)


def violations(r: Any, constraints: dict[str, float]) -> dict[str, float]:
    """Constraint -> how far it is missed, as a share of the bound (inf when not measured)."""
    out = {}
    for opt, bound in constraints.items():
        col, kind, _, _ = CONSTRAINTS[opt]
        v = r.get(col)
        if v is None or _nan(v):
            out[opt] = math.inf
        elif kind == "max" and v > bound:
            out[opt] = (v - bound) / bound
        elif kind == "min" and v < bound:
            out[opt] = (bound - v) / bound
    return out


def ranks(configs: pd.DataFrame, objective: str) -> list[int]:
    """1 + the number of configurations whose CI of the objective lies wholly on the better side."""
    col, higher, _ = OBJECTIVES[objective]
    lo, hi = configs[col + "_ci_lo"].to_numpy(dtype=float), configs[col + "_ci_hi"].to_numpy(dtype=float)
    out = []
    for i in range(len(configs)):
        better = (lo > hi[i]) if higher else (hi < lo[i])
        out.append(1 + int(np.nansum(better)))
    return out


def _front(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Points no other point beats on both (smaller x and smaller y are better)."""
    keep = np.zeros(len(x), dtype=bool)
    for i in range(len(x)):
        if math.isnan(x[i]) or math.isnan(y[i]):
            continue
        dominated = (x <= x[i]) & (y <= y[i]) & ((x < x[i]) | (y < y[i]))
        keep[i] = not bool(dominated.any())
    return keep


def pareto(configs: pd.DataFrame) -> pd.DataFrame:
    """The configurations with two flags: on the throughput-vs-p99 front and on the memory-vs-p99 front.
    Columns for a plot: throughput_ips, p99_ms, memory_mb (with *_ci_lo/_ci_hi), device, model, ..."""
    out = configs.copy()
    if out.empty:
        out["pareto_throughput_latency"] = out["pareto_memory_latency"] = pd.Series(dtype=bool)
        return out
    p99 = pd.to_numeric(out["p99_ms"], errors="coerce").to_numpy(dtype=float)
    thr = pd.to_numeric(out["throughput_ips"], errors="coerce").to_numpy(dtype=float)
    mem = pd.to_numeric(out["memory_mb"], errors="coerce").to_numpy(dtype=float)
    out["pareto_throughput_latency"] = _front(-thr, p99)
    out["pareto_memory_latency"] = _front(mem, p99)
    return out


def recommend(tables: list[Tables], constraints: dict[str, float], objective: str = "throughput") -> Answer:
    if objective not in OBJECTIVES:
        raise InputError("--objective", "", "expected one of %s, got %r" % (", ".join(OBJECTIVES), objective))
    configs = configurations(tables)
    check_measured(configs, constraints, objective)
    configs["emulation"] = [speed.mode_of({"device": d}) or "" for d in configs["device"]]
    emulated = (configs["emulation"] != "").to_numpy()
    # the fronts of real configurations only: a host CPU's timing must not push a device's off its front
    fronts = pareto(configs[~emulated])
    configs = pareto(configs)
    for flag in ("pareto_throughput_latency", "pareto_memory_latency"):
        configs[flag] = False
        configs.loc[fronts.index, flag] = fronts[flag].astype(bool)
    viol = [violations(r, constraints) for _, r in configs.iterrows()]
    all_ok = (configs["runs_ok"] == configs["runs"]).to_numpy()
    col = OBJECTIVES[objective][0]
    measured = configs[col].notna().to_numpy()
    configs["meets"] = [not v and bool(a) and bool(m) and not e for v, a, m, e in zip(viol, all_ok, measured, emulated)]
    configs["violations"] = ["; ".join((["emulated (%s): timings are not the device's" % m] if m else []) + [
        "%s by %s" % (k, "unmeasured" if math.isinf(x) else "%.0f%%" % (100 * x))
        for k, x in sorted(v.items(), key=lambda kv: kv[1])]) for v, m in zip(viol, configs["emulation"])]
    configs["rank"] = None
    feas = configs[configs["meets"]]
    if len(feas):
        configs.loc[feas.index, "rank"] = ranks(feas, objective)
    ans = Answer(objective, constraints, configs, "")
    if len(feas):
        ans.sentence = sentence(ans.feasible, objective, constraints)
    elif emulated.all():
        ans.sentence = ("Nothing to recommend: every configuration is emulated (%s), and emulated timings are the "
                        "host's CPU or QEMU's, not the device's. Run on the device itself."
                        % ", ".join(sorted(set(configs["device"].astype(str)))))
    else:
        real = ~emulated
        ans.closest = closest(configs[real], [v for v, r in zip(viol, real) if r], all_ok[real], constraints)
        ans.sentence = "Nothing meets every constraint. " + (ans.closest[0] if ans.closest else "")
    return ans


def _fmt_cfg(r: Any) -> str:
    return "%.0f inf/s at p99 %.1f ms and %.0f MiB" % (r["throughput_ips"], r["p99_ms"], r["memory_mb"] or 0)


def sentence(feasible: pd.DataFrame, objective: str, constraints: dict[str, float]) -> str:
    """One sentence a person can act on: the best configuration, and how much better than the best fp32
    one (or than the runner-up) under the same constraints."""
    col, higher, unit = OBJECTIVES[objective]
    best = feasible.sort_values(col, ascending=not higher, kind="stable").iloc[0]
    text = "On %s, %s gives %s" % (best["device"], name(best), _fmt_cfg(best))
    if objective not in ("throughput", "latency"):
        text += " (%.3g %s)" % (best[col], unit)
    others = feasible.drop(index=best.name)
    prec = str(best.get("precision") or "fp32")
    pool, what = (others[others["precision"].fillna("fp32") == "fp32"], "the best fp32 configuration") \
        if prec != "fp32" else (others, "the runner-up")
    pool = pool[pool["device"] == best["device"]] if len(pool[pool["device"] == best["device"]]) else pool
    if len(pool):
        ref = pool.sort_values(col, ascending=not higher, kind="stable").iloc[0]
        factor = best[col] / ref[col] if higher else ref[col] / best[col]
        tied = int(ref["rank"]) == int(best["rank"])
        text += ": %.2fx %s (%s)%s" % (factor, what, name(ref), ", a tie within noise" if tied else "")
    if constraints:
        text += ", under %s" % ", ".join("%s %g" % (k.replace("_", "-"), v) for k, v in constraints.items())
    return text + "."


def closest(configs: pd.DataFrame, viol: list[dict[str, float]], all_ok: np.ndarray,
            constraints: dict[str, float]) -> list[str]:
    """Which configuration misses the budget by the least (its worst miss), and what it misses."""
    order = sorted(range(len(configs)), key=lambda i: (not all_ok[i], max(viol[i].values()) if viol[i] else 0.0))
    lines = []
    for i in order[:3]:
        r = configs.iloc[i]
        misses = []
        for opt, x in sorted(viol[i].items(), key=lambda kv: kv[1]):
            col, kind, unit, what = CONSTRAINTS[opt]
            if math.isinf(x):
                misses.append("%s not measured" % what)
            else:
                misses.append("%s %.4g %s %s %g %s (by %.0f%%)" % (what, r[col], ">" if kind == "max" else "<",
                                                                    "max" if kind == "max" else "min",
                                                                    constraints[opt], unit, 100 * x))
        if not all_ok[i]:
            misses.append("runs %s" % r["statuses"])
        lines.append("Closest: %s on %s misses %s." % (name(r), r["device"], "; ".join(misses) or "nothing"))
    return lines


def memory_limits(configs: pd.DataFrame, share: float) -> list[dict[str, Any]]:
    """P1's question: per model (device, framework, precision, batch), the smallest memory limit whose
    every run ended ok with a p50 within `share` (0.10: 10 %) of the unlimited configuration's."""
    if configs.empty or "limit_memory_mb" not in configs:
        return []
    if "emulation" in configs:  # QEMU's latencies say nothing of the device's, not even as ratios
        configs = configs[configs["emulation"] != speed.FUNCTIONAL]
    keys = [k for k in ("device", "model", "framework", "precision", "batch_size", "copies") if k in configs]
    out = []
    for key, g in configs.groupby(keys, dropna=False, sort=True):
        free = g[g["limit_memory_mb"].isna() & (g["runs_ok"] > 0)]
        limited = g[g["limit_memory_mb"].notna()].sort_values("limit_memory_mb")
        if free.empty or limited.empty:
            continue
        base = float(free["p50_ms"].iloc[0])
        good = limited[(limited["runs_ok"] == limited["runs"]) & (limited["p50_ms"] <= (1 + share) * base)]
        row = dict(zip(keys, key if isinstance(key, tuple) else (key,)))
        row.update({"unlimited_p50_ms": base, "share": share,
                    "limits_tried_mb": [float(v) for v in limited["limit_memory_mb"]],
                    "enough_mb": float(good["limit_memory_mb"].iloc[0]) if len(good) else None,
                    "p50_ms_at_enough": float(good["p50_ms"].iloc[0]) if len(good) else None})
        out.append(row)
    return out
