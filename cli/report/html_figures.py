"""The interactive plots of report.html (plotly), from the tables the report already computed.

plotly rather than Vega-Lite/altair: one pip package whose plotly.js embeds inline (offline pages), with
pandas-friendly traces and zoom/hover/legend toggles built in; altair needs vega, vega-lite and vega-embed
scripts fetched or bundled by hand.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from .data import ReportData

SERIES = ("model", "framework", "precision")


@dataclass
class Figure:
    name: str  # the div id is plot-NAME
    title: str
    figure: Any  # plotly.graph_objects.Figure (plotly ships no type hints)


def _label(key: Any) -> str:
    parts = key if isinstance(key, tuple) else (key,)
    return " ".join(str(p) for p in parts)


def _layout(fig: Any, title: str, x: str, y: str) -> Any:
    fig.update_layout(title=title, xaxis_title=x, yaxis_title=y, template="plotly_white",
                      width=900, height=480, margin={"l": 60, "r": 20, "t": 50, "b": 50})
    return fig


def _lines(df: pd.DataFrame, x: str, y: str, series: list[str]) -> Any:
    fig = go.Figure()
    for key, g in df.sort_values(x).groupby(series, dropna=False):
        fig.add_trace(go.Scatter(x=g[x], y=g[y], mode="lines+markers", name=_label(key)))
    return fig


def _measured(s: pd.DataFrame, col: str) -> pd.DataFrame:
    return s[pd.to_numeric(s[col], errors="coerce").notna()] if col in s else s.iloc[0:0]


def latency_vs_memory(s: pd.DataFrame) -> Any:
    """Per series: p50 under each limit, the unlimited p50 as a dashed line, and limits that failed (OOM)
    as red crosses on the axis."""
    limited = _measured(s, "limit_memory_mb")
    if limited.empty:
        return None
    series = [k for k in (*SERIES, "batch_size") if k in s]
    fig = go.Figure()
    lo, hi = float(limited["limit_memory_mb"].min()), float(limited["limit_memory_mb"].max())
    for key, g in limited.sort_values("limit_memory_mb").groupby(series, dropna=False):
        ok = _measured(g, "p50_ms_median_of_runs")
        if not ok.empty:
            fig.add_trace(go.Scatter(x=ok["limit_memory_mb"], y=ok["p50_ms_median_of_runs"], mode="lines+markers",
                                     name=_label(key)))
        free = s[s["limit_memory_mb"].isna()]
        for k, v in zip(series, key if isinstance(key, tuple) else (key,)):
            free = free[free[k] == v]
        free = _measured(free, "p50_ms_median_of_runs")
        if not free.empty:
            y = float(free["p50_ms_median_of_runs"].iloc[0])
            fig.add_trace(go.Scatter(x=[lo, hi] if hi > lo else [lo * 0.9, lo * 1.1], y=[y, y], mode="lines",
                                     line={"dash": "dash"}, name="%s, no limit" % _label(key)))
        failed = g[pd.to_numeric(g["p50_ms_median_of_runs"], errors="coerce").isna()]
        if not failed.empty:
            fig.add_trace(go.Scatter(x=failed["limit_memory_mb"], y=[0] * len(failed), mode="markers",
                                     marker={"symbol": "x", "size": 14, "color": "red"},
                                     name="%s: no latency" % _label(key), text=list(failed["status_check"])))
    return _layout(fig, "p50 latency vs memory limit", "memory limit (MiB)", "p50 latency (ms, median of runs)")


def throughput_vs(s: pd.DataFrame, x: str, title: str) -> Any:
    d = _measured(s, "throughput_ips_median_of_runs")
    if x not in d or pd.to_numeric(d[x], errors="coerce").nunique() < 2:
        return None
    if "limit_memory_mb" in d and d["limit_memory_mb"].isna().any():
        d = d[d["limit_memory_mb"].isna()]  # unlimited cells: the limit is another plot
    others = [k for k in ("batch_size", "workload", "copies", "streams") if k in d and k != x and d[k].nunique() > 1]
    series = [k for k in SERIES if k in d] + others
    return _layout(_lines(d, x, "throughput_ips_median_of_runs", series), title, x, "inferences/s (median of runs)")


def correlation(matrix: pd.DataFrame, device: str) -> Any:
    fig = go.Figure(go.Heatmap(z=matrix.values, x=list(matrix.columns), y=list(matrix.index), zmin=-1, zmax=1,
                               colorscale="RdBu", reversescale=True, text=matrix.round(2).values,
                               texttemplate="%{text}"))
    return _layout(fig, "Pearson correlation over runs (%s)" % device, "", "")


def warmup(w: pd.DataFrame) -> Any:
    d = w.dropna(subset=["warmup_ms", "steady_p50_ms"]) if not w.empty else w
    if d.empty:
        return None
    labels = [_label(tuple(r[k] for k in ("device", *SERIES, "batch_size") if k in d)) for _, r in d.iterrows()]
    fig = go.Figure([go.Bar(name="warm-up (first inference)", x=labels, y=d["warmup_ms"]),
                     go.Bar(name="steady state p50", x=labels, y=d["steady_p50_ms"])])
    fig.update_layout(barmode="group")
    return _layout(fig, "Warm-up vs steady state", "", "ms (median of runs)")


def energy(path: Path) -> Any:
    if not path.is_file():
        return None
    e = pd.read_csv(path)
    phases = [c[len("energy_j_"):] for c in e.columns if c.startswith("energy_j_") and c != "energy_j_run"]
    if e.empty or not phases:
        return None
    labels = ["%s %s b%s (%s)" % (r.get("model"), r.get("framework"), r.get("batch_size"), r.get("run_id"))
              for _, r in e.iterrows()]
    fig = go.Figure([go.Bar(name=p, x=labels, y=e["energy_j_" + p]) for p in phases])
    fig.update_layout(barmode="stack")
    return _layout(fig, "Energy per phase", "", "J")


def report_figures(data: ReportData) -> tuple[list[Figure], list[str]]:
    """The plots there is data for, and a note for each one left out."""
    s = data.summary
    out: list[Figure] = []
    notes: list[str] = []

    def add(name: str, title: str, fig: Any, why: str) -> None:
        if fig is None:
            notes.append("plot %s: %s" % (name, why))
        else:
            out.append(Figure(name, title, fig))

    add("latency_vs_memory_limit", "Latency vs memory limit", latency_vs_memory(s), "no cell ran under a memory limit")
    add("throughput_vs_batch", "Throughput vs batch size", throughput_vs(s, "batch_size", "Throughput vs batch size"),
        "fewer than two batch sizes measured")
    for x in ("copies", "streams"):
        if x in s:
            add("throughput_vs_" + x, "Throughput vs concurrency (%s)" % x,
                throughput_vs(s, x, "Throughput vs concurrency (%s)" % x), "fewer than two levels measured")
    a = data.analyses
    if a is not None:
        for dev, m in sorted(a.correlation.matrices.items()):
            if not m.empty:
                out.append(Figure("correlation_%s" % dev, "Correlation heatmap (%s)" % dev, correlation(m, str(dev))))
        add("warmup_vs_steady", "Warm-up vs steady state", warmup(a.warmup), "no run measured both")
    add("energy_per_phase", "Energy per phase", energy(data.out_dir / "energy.csv"), "no run sampled power")
    for x, title in (("throughput_ips", "Pareto front: throughput vs p99 latency"),
                     ("memory_mb", "Pareto front: memory vs p99 latency")):
        add("pareto_" + x, title, pareto(data.pareto, x, title), "fewer than two configurations measured both")
    return out, notes


def pareto(configs: Any, x: str, title: str) -> Any:
    """Every configuration as a point (hover: its name); the ones no other beats on both axes (the front,
    from recommend.pareto) as a line, as `edgebench recommend` draws them."""
    if configs is None or x not in configs:
        return None
    pts = configs[pd.to_numeric(configs[x], errors="coerce").notna() & pd.to_numeric(configs["p99_ms"],
                                                                                      errors="coerce").notna()]
    if len(pts) < 2:
        return None
    flag = "pareto_throughput_latency" if x == "throughput_ips" else "pareto_memory_latency"
    names = [" ".join(str(r[k]) for k in ("device", "model", "framework", "precision") if k in r)
             + " b%s" % r.get("batch_size", "?") for _, r in pts.iterrows()]
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=pts[x], y=pts["p99_ms"], mode="markers", name="configurations", text=names,
                             hovertemplate="%{text}<br>%{x:.4g}, p99 %{y:.3g} ms<extra></extra>"))
    front = pts[pts[flag].astype(bool)].sort_values(x)
    fig.add_trace(go.Scatter(x=front[x], y=front["p99_ms"], mode="lines+markers", name="Pareto front",
                             line={"color": "crimson"}))
    label = "throughput, inferences/s (median of runs)" if x == "throughput_ips" else "peak memory, MiB"
    return _layout(fig, title, label, "p99 latency, ms (median of runs)")
