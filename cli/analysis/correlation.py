"""Pearson correlations per device, from the runs table (P1 and P3 "Analysis").

P1: per-run median latency against memory limit, CPU and GPU utilisation, RSS, PSS and USS.
P3: throughput against batch size, CPU, memory, power and USB I/O.

Only runs that ended ok enter; the others are counted (P5: failures are recorded, not plotted).
A variable enters a pair only when it was measured, varies, and the pair has at least MIN_RUNS
runs with finite values on both sides; otherwise the row says why it was left out. Runs of every
model on a device are pooled, as in P1 (a heavier model has both more latency and more RSS).
"""

import importlib.util
from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np
import pandas as pd
from edgebench.suite import registry

MIN_RUNS = 3
NO_DEVICE = "(device not named)"


@dataclass(frozen=True)
class Var:
    name: str
    label: str  # with unit, for tables and heatmaps
    columns: tuple[str, ...]  # runs-table columns, most wanted first; per device the first that has values wins
    scale: float = 1.0
    missing: str = "not measured"


# CPU: the process's own share first (pidstat in P1; 100 = one core), else the board's average over cores.
CPU = Var("cpu_percent", "CPU %", ("mon_psutil_proc_cpu_percent_mean", "mon_jtop_cpu_util_percent_mean",
                                   "mon_tegrastats_cpu_util_percent_mean"), missing="not measured (no CPU monitor)")
GPU = Var("gpu_percent", "GPU %", ("mon_nvml_gpu_util_percent_mean", "mon_jtop_gpu_util_percent_mean",
                                   "mon_tegrastats_gpu_util_percent_mean"),
          missing="not measured (no GPU monitor: nvml, jtop or tegrastats)")
LATENCY = Var("latency_ms", "p50 latency ms", ("p50_s",), 1000.0)
THROUGHPUT = Var("throughput_ips", "throughput inf/s", ("throughput_ips",))
VARS = {v.name: v for v in (
    LATENCY, THROUGHPUT, CPU, GPU,
    Var("memory_limit_mb", "memory limit MiB", ("limit_memory_mb",), missing="no run asked for a memory limit"),
    Var("rss_mb", "RSS MiB", ("rss_mb",)), Var("pss_mb", "PSS MiB", ("pss_mb",)),
    Var("uss_mb", "USS MiB", ("uss_mb",)),
    Var("batch_size", "batch size", ("batch_size",)),
    Var("peak_rss_mb", "peak RSS MiB", ("peak_rss_mb",)),
    # power sources in the registry's order: a meter on the supply before on-board rails before a model
    Var("power_w", "power W", tuple("mon_%s_power_w_mean" % m for m in registry.power_sources()),
        missing="not measured (no power monitor)"),
    Var("usb_mbps", "USB I/O Mbit/s", ("usb_mbps",), missing="not measured (no usb monitor samples in measure)"),
)}
PAIRS = (("P1", "latency_ms", ("memory_limit_mb", "cpu_percent", "gpu_percent", "rss_mb", "pss_mb", "uss_mb")),
         ("P3", "throughput_ips", ("batch_size", "cpu_percent", "peak_rss_mb", "power_w", "usb_mbps")))
COLUMNS = ["device", "protocol", "y", "x", "x_source", "r", "n", "p_value", "runs_ok", "runs_failed", "left_out"]


@dataclass
class Correlation:
    table: pd.DataFrame  # long form, COLUMNS
    matrices: dict[str, pd.DataFrame] = field(default_factory=dict)  # device -> r between the variables kept
    sizes: dict[str, pd.DataFrame] = field(default_factory=dict)  # device -> runs behind each r
    sources: dict[str, dict[str, str]] = field(default_factory=dict)  # device -> variable -> column used
    failed: dict[str, int] = field(default_factory=dict)  # device -> runs left out (not ok)
    p_values: bool = False  # scipy was importable


def usb_rates(monitor: pd.DataFrame) -> "pd.Series[float]":
    """Mean USB traffic (in + out, all devices, Mbit/s) during the measure phase, per run."""
    need = {"monitor", "phase", "run_id", "t_mono"}
    if monitor.empty or not need <= set(monitor.columns):
        return pd.Series(dtype=float)
    cols = [c for c in ("usb_in_mbps", "usb_out_mbps") if c in monitor]
    m = monitor[(monitor["monitor"] == "usb") & (monitor["phase"] == "measure")]
    if m.empty or not cols:
        return pd.Series(dtype=float)
    per_tick = m[cols].apply(pd.to_numeric, errors="coerce").sum(axis=1, min_count=1)
    total = per_tick.groupby([m["run_id"], m["t_mono"]]).sum(min_count=1)  # one tick: every device at once
    return total.groupby(level=0).mean()


def _numeric(s: "pd.Series[Any]") -> "pd.Series[float]":
    return pd.to_numeric(s, errors="coerce").astype("float64").replace([np.inf, -np.inf], np.nan)


def _values(ok: pd.DataFrame, var: Var) -> tuple["pd.Series[float]", str]:
    """The variable on one device's ok runs, from the first of its columns that has a value there."""
    for col in var.columns:
        if col in ok:
            vals = _numeric(ok[col])
            if vals.notna().any():
                return vals * var.scale, col
    return pd.Series(np.nan, index=ok.index, dtype="float64"), ""


def _why_not(x: "pd.Series[float]", y: "pd.Series[float]", xvar: Var, yvar: Var) -> str:
    for s, v in ((y, yvar), (x, xvar)):
        if s.notna().sum() == 0:
            return "%s: %s" % (v.name, v.missing)
    both = x.notna() & y.notna()
    n = int(both.sum())
    if n < MIN_RUNS:
        return "fewer than %d runs with both values (%d)" % (MIN_RUNS, n)
    for s, v in ((y, yvar), (x, xvar)):
        vals = s[both].unique()
        if len(vals) == 1:
            return "%s: constant (%g in all %d runs)" % (v.name, vals[0], n)
    return ""


def _pearson_p(x: "pd.Series[float]", y: "pd.Series[float]") -> Optional[float]:
    from scipy import stats  # only when importable; not a dependency

    return float(stats.pearsonr(x.to_numpy(), y.to_numpy()).pvalue)


def frame(runs: pd.DataFrame, monitor: Optional[pd.DataFrame] = None) -> pd.DataFrame:
    """The runs table plus the derived columns (usb_mbps) and a device name on every row."""
    df = runs.copy()
    df["device"] = df["device"].fillna(NO_DEVICE).astype(str) if "device" in df else NO_DEVICE
    usb = usb_rates(monitor if monitor is not None else pd.DataFrame())
    df["usb_mbps"] = df["run_id"].map(usb).astype("float64") if "run_id" in df else np.nan
    return df


def correlate(runs: pd.DataFrame, monitor: Optional[pd.DataFrame] = None) -> Correlation:
    has_scipy = importlib.util.find_spec("scipy") is not None
    out = Correlation(pd.DataFrame(columns=COLUMNS), p_values=has_scipy)
    if runs.empty:
        return out
    df = frame(runs, monitor)
    rows: list[dict[str, Any]] = []
    for device, g in df.groupby("device", sort=True):
        dev = str(device)
        ok = g[g["status"] == "ok"]
        out.failed[dev] = len(g) - len(ok)
        vals: dict[str, pd.Series[float]] = {}
        src: dict[str, str] = {}
        for name, var in VARS.items():
            vals[name], src[name] = _values(ok, var)
        out.sources[dev] = {k: v for k, v in src.items() if v}
        for protocol, yname, xnames in PAIRS:
            for xname in xnames:
                x, y = vals[xname], vals[yname]
                why = _why_not(x, y, VARS[xname], VARS[yname])
                both = x.notna() & y.notna()
                r = p = None
                if not why:
                    r = float(x[both].corr(y[both]))
                    p = _pearson_p(x[both], y[both]) if has_scipy else None
                rows.append({"device": dev, "protocol": protocol, "y": yname, "x": xname, "x_source": src[xname],
                             "r": r, "n": int(both.sum()), "p_value": p, "runs_ok": len(ok),
                             "runs_failed": out.failed[dev], "left_out": why})
        kept = [k for k, s in vals.items() if s.notna().sum() >= MIN_RUNS and s.dropna().nunique() > 1]
        if len(kept) >= 2:
            m = pd.DataFrame({k: vals[k] for k in kept})
            out.matrices[dev] = m.corr(method="pearson", min_periods=MIN_RUNS)
            present = m.notna().astype(int)
            out.sizes[dev] = present.T.dot(present)
    out.table = pd.DataFrame(rows, columns=COLUMNS)
    return out


def left_out(c: Correlation) -> dict[str, list[str]]:
    """Per device, each variable left out of every pair, once, with the reason."""
    res: dict[str, list[str]] = {}
    t = c.table
    for dev, g in t.groupby("device", sort=True):
        seen: dict[str, str] = {}
        for _, r in g[g["left_out"] != ""].iterrows():
            reason = str(r["left_out"])
            name = reason.split(":", 1)[0] if ":" in reason else "%s vs %s" % (r["y"], r["x"])
            seen.setdefault(name, reason.split(":", 1)[1].strip() if ":" in reason else reason)
        res[str(dev)] = ["%s: %s" % (k, v) for k, v in seen.items()]
    return res
