"""PNG figures of a report (matplotlib Figure objects: no pyplot state, no display needed).

Each function returns the file it wrote, or a note saying why it drew nothing.
"""

from pathlib import Path
from typing import Any, Union

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure

Drawn = Union[Path, str]  # a written file, or why nothing was drawn
DPI = 120
ROUND_MARKERS = "o^sDv"


def base_cells(summary: pd.DataFrame) -> pd.DataFrame:
    """Cells with ok runs, at their most generous memory limit: unlimited when the campaign has such
    cells, else the largest limit asked (so a memory sweep does not pile up on one bar)."""
    s = summary[(summary["ok"] > 0) & summary["p50_ms_median_of_runs"].notna()].copy()  # QEMU's left out
    if s.empty:
        return s
    s["_mem"] = s["limit_memory_mb"].astype(float).fillna(np.inf)
    keys = ["model", "framework", "precision", "batch_size"]
    top = s.groupby(keys)["_mem"].transform("max")
    s = s[s["_mem"] == top]
    # Several cells may remain (labels, threads): one point each, the median of their medians.
    agg = s.groupby(keys, as_index=False).agg(
        p50=("p50_ms_median_of_runs", "median"), p99=("p99_ms_median_of_runs", "median"),
        thr=("throughput_ips_median_of_runs", "median"), mem=("_mem", "first"))
    return agg


def _shade(series: list[str], name: str) -> tuple[float, float, float]:
    """One hue per framework, lighter for each larger batch."""
    groups = list(dict.fromkeys(s.rsplit(" b", 1)[0] for s in series))
    group = name.rsplit(" b", 1)[0]
    members = [s for s in series if s.rsplit(" b", 1)[0] == group]
    base = np.array(to_rgb(colormaps.get_cmap("tab10")(groups.index(group) % 10)))
    f = 0.6 * members.index(name) / max(1, len(members) - 1) if len(members) > 1 else 0.0
    r, g, b = base + (1 - base) * f
    return (float(r), float(g), float(b))


def _series_label(row: pd.Series, precisions: int) -> str:
    return "%s %s" % (row["framework"], row["precision"]) if precisions > 1 else str(row["framework"])


def _mem_note(cells: pd.DataFrame) -> str:
    mems = sorted(set(cells["mem"]))
    return "no memory limit" if mems == [np.inf] else "memory limit: " + ", ".join(
        "none" if m == np.inf else "%g MiB" % m for m in mems)


def latency_bars(summary: pd.DataFrame, path: Path, title: str) -> Drawn:
    """(a) p50 latency per model, one bar per framework x batch, whisker up to p99."""
    cells = base_cells(summary)
    if cells.empty:
        return "p50 latency bars: no ok runs, nothing to draw"
    nprec = cells["precision"].nunique()
    cells["series"] = ["%s b%d" % (_series_label(r, nprec), r["batch_size"]) for _, r in cells.iterrows()]
    models = sorted(cells["model"].unique())
    series = sorted(cells["series"].unique(), key=lambda s: (s.rsplit(" b", 1)[0], int(s.rsplit(" b", 1)[1])))
    width = 0.8 / len(series)
    fig, ax = _figure((max(6.0, 1.6 * len(models) * max(1, len(series) / 3)), 4.5))
    for i, name in enumerate(series):
        sub = cells[cells["series"] == name].set_index("model").reindex(models)
        x = np.arange(len(models)) + (i - (len(series) - 1) / 2) * width
        p50 = sub["p50"].to_numpy(dtype=float)
        up = np.clip(sub["p99"].to_numpy(dtype=float) - p50, 0, None)
        ax.bar(x, p50, width, label=name, color=_shade(series, name), yerr=[np.zeros_like(up), up], capsize=3,
               error_kw={"elinewidth": 1})
    ax.set_xticks(np.arange(len(models)))
    ax.set_xticklabels(models)
    ax.set_ylabel("latency per batch, ms (bar p50, whisker p99)")
    ax.set_title("%s: p50 latency by framework and batch\n(median over repetitions; %s)"
                 % (title, _mem_note(cells)), fontsize=10)
    if cells["p99"].max() / max(cells["p50"].min(), 1e-12) > 50:
        ax.set_yscale("log")
    ax.legend(fontsize=8, ncol=2 if len(series) > 4 else 1)
    ax.grid(axis="y", alpha=0.3)
    return _save(fig, path)


def throughput_vs_batch(summary: pd.DataFrame, path: Path, title: str) -> Drawn:
    """(b) throughput (inferences/s) against batch size, one line per model x framework."""
    cells = base_cells(summary)
    if cells.empty:
        return "throughput vs batch: no ok runs, nothing to draw"
    nprec = cells["precision"].nunique()
    fig, ax = _figure((7.0, 4.5))
    markers = "osD^v<>ph*"
    for i, ((model, fw, prec), g) in enumerate(cells.groupby(["model", "framework", "precision"])):
        g = g.sort_values("batch_size")
        label = "%s / %s" % (model, "%s %s" % (fw, prec) if nprec > 1 else fw)
        ax.plot(g["batch_size"], g["thr"], marker=markers[i % len(markers)], label=label)
    batches = sorted(cells["batch_size"].unique())
    if len(batches) > 2 and batches[-1] / batches[0] >= 8:
        ax.set_xscale("log", base=2)
    ax.set_xticks(batches)
    ax.set_xticklabels([str(b) for b in batches])
    ax.set_xlabel("batch size")
    ax.set_ylabel("throughput, inferences/s (median over repetitions)")
    ax.set_title("%s: throughput vs batch size (%s)" % (title, _mem_note(cells)), fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return _save(fig, path)


def latency_vs_memory(runs: pd.DataFrame, path: Path, title: str) -> Drawn:
    """(c) each run's p50 latency against its memory limit; runs that did not finish ok are marked at
    the bottom (x = OOM kill, + = other failure). Runs without a limit have no place on this axis."""
    lim = runs[runs["limit_memory_mb"].notna()] if "limit_memory_mb" in runs else runs.iloc[0:0]
    if lim.empty:
        return "latency vs memory limit: no run asked for a memory limit"
    fig, ax = _figure((7.5, 4.5))
    groups = list(lim.groupby(["model", "framework", "precision", "batch_size"]))
    cmap = colormaps.get_cmap("tab10")
    drew_ok = False
    for i, ((model, fw, prec, batch), g) in enumerate(groups):
        color = cmap(i % 10)
        label = "%s / %s %s b%d" % (model, fw, prec, batch)
        ok = g[(g["status"] == "ok") & g["p50_s"].notna()]  # functional emulation's timings are blank
        if not ok.empty:
            # P1 sweeps: one marker per round (ascending, descending, ...), so hysteresis shows.
            by_round = ok.groupby("label_round") if "label_round" in ok else [(None, ok)]
            for j, (rnd, part) in enumerate(by_round):
                ax.scatter(part["limit_memory_mb"], 1000 * part["p50_s"], color=color, s=24,
                           marker=ROUND_MARKERS[j % len(ROUND_MARKERS)],
                           label=label if rnd is None else "%s, %s" % (label, rnd))
            drew_ok = True
        trans = ax.get_xaxis_transform()  # x in data, y in axes fraction: the bottom edge
        for status, marker in (("oom", "x"), (None, "+")):
            bad = g[g["status"] == status] if status else g[~g["status"].isin(["ok", "oom"])]
            if not bad.empty:
                ax.scatter(bad["limit_memory_mb"], [0.03] * len(bad), transform=trans, marker=marker, s=60,
                           color=color, label=None if not ok.empty else label)
                for x in sorted(set(bad["limit_memory_mb"])):
                    ax.annotate(status or "failed", (x, 0.03), xycoords=trans, xytext=(6, 4),
                                textcoords="offset points", fontsize=7, color=color)
    lo, hi = float(lim["limit_memory_mb"].min()), float(lim["limit_memory_mb"].max())
    pad = 0.05 * (hi - lo) if hi > lo else 0.1 * hi or 1.0
    ax.set_xlim(lo - pad, hi + pad)  # the failure markers use an axes transform, so autoscale misses them
    if drew_ok:
        top = float((1000 * lim.loc[lim["status"] == "ok", "p50_s"]).dropna().max())
        ax.set_ylim(0, 1.12 * top)
    ax.set_xlabel("memory limit, MiB (cgroup)")
    ax.set_ylabel("p50 latency per batch, ms")
    if not drew_ok:
        ax.set_yticks([])
    n_free = int(runs["limit_memory_mb"].isna().sum()) if "limit_memory_mb" in runs else 0
    ax.set_title("%s: latency vs memory limit\n(x at the bottom: OOM-killed; +: other failure%s)"
                 % (title, "; %d runs without a limit not shown" % n_free if n_free else ""), fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return _save(fig, path)


def _figure(size: tuple[float, float]) -> tuple[Figure, Any]:
    fig = Figure(figsize=size)
    return fig, fig.subplots()


def _save(fig: Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)  # Figure uses the Agg canvas for PNG
    return path


def draw_all(summary: pd.DataFrame, runs: pd.DataFrame, out_dir: Path, title: str) -> list[Drawn]:
    if summary.empty:
        return ["figures: no runs, nothing to draw"]
    return [latency_bars(summary, out_dir / "latency_p50_by_framework_batch.png", title),
            throughput_vs_batch(summary, out_dir / "throughput_vs_batch.png", title),
            latency_vs_memory(runs, out_dir / "latency_vs_memory_limit.png", title)]


__all__ = ["draw_all", "latency_bars", "throughput_vs_batch", "latency_vs_memory"]
