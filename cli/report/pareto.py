"""The recommend figures: throughput vs p99 latency and memory vs p99 latency, fronts drawn as lines."""

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure


def _panel(ax: Axes, d: pd.DataFrame, x: str, flag: str, xlabel: str) -> None:
    meets = d["meets"].astype(bool) if "meets" in d else pd.Series(True, index=d.index)
    ax.scatter(d.loc[~meets, x], d.loc[~meets, "p99_ms"], c="0.75", s=18, label="misses the budget")
    ax.scatter(d.loc[meets, x], d.loc[meets, "p99_ms"], c="tab:blue", s=22, label="meets the budget")
    front = d[d[flag].astype(bool)].sort_values(x)
    ax.plot(front[x], front["p99_ms"], "-o", c="tab:red", ms=4, lw=1.2, label="Pareto front")
    lo, hi = d["p99_ms_ci_lo"].to_numpy(dtype=float), d["p99_ms_ci_hi"].to_numpy(dtype=float)
    y = d["p99_ms"].to_numpy(dtype=float)
    ok = ~np.isnan(lo) & ~np.isnan(hi)
    ax.errorbar(d[x].to_numpy(dtype=float)[ok], y[ok], yerr=[y[ok] - lo[ok], hi[ok] - y[ok]], fmt="none",
                ecolor="0.5", lw=0.8)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("p99 latency ms (95 % CI over runs)")
    ax.grid(alpha=0.3)


def draw(configs: pd.DataFrame, out: Path) -> Path:
    """Two panels from recommend.pareto()'s frame (with `meets`), written as one PNG."""
    fig = Figure(figsize=(11, 4.5))
    a, b = fig.subplots(1, 2)
    d = configs.dropna(subset=["p99_ms"])
    _panel(a, d.dropna(subset=["throughput_ips"]), "throughput_ips", "pareto_throughput_latency", "throughput inf/s")
    _panel(b, d.dropna(subset=["memory_mb"]), "memory_mb", "pareto_memory_latency", "peak memory MiB")
    a.set_title("throughput vs p99 latency")
    b.set_title("memory vs p99 latency")
    a.legend(fontsize=8)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    return out
