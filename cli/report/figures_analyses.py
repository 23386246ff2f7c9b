"""Figures of the P1/P3 analyses: a correlation heatmap per device, warm-up against steady state."""

import re
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.ticker import FuncFormatter

from ..analysis.correlation import MIN_RUNS, VARS, Correlation
from .figures import Drawn, _figure, _save


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-") or "device"


def heatmap(c: Correlation, device: str, path: Path, title: str) -> Drawn:
    """Pearson r between the variables that entered on this device; colours fixed to [-1, 1]."""
    m = c.matrices.get(device)
    if m is None or m.empty:
        return "correlation heatmap (%s): fewer than 2 variables vary with %d+ runs" % (device, MIN_RUNS)
    labels = [VARS[k].label for k in m.columns]
    k = len(labels)
    fig, ax = _figure((max(5.5, 0.75 * k + 2.5), max(4.5, 0.65 * k + 1.8)))
    r = m.to_numpy(dtype=float)
    im = ax.imshow(np.ma.masked_invalid(r), cmap="RdBu_r", vmin=-1.0, vmax=1.0)
    for i in range(k):
        for j in range(k):
            v = r[i, j]
            text = "n/a" if np.isnan(v) else "%.2f" % (0.0 if abs(v) < 0.005 else v)  # no "-0.00"
            ax.text(j, i, text, ha="center", va="center", fontsize=8,
                    color="white" if not np.isnan(v) and abs(v) > 0.6 else "black")
    ax.set_xticks(range(k))
    ax.set_xticklabels(labels, rotation=40, ha="right", fontsize=8)
    ax.set_yticks(range(k))
    ax.set_yticklabels(labels, fontsize=8)
    fig.colorbar(im, ax=ax, label="Pearson r")
    n_ok = int(c.table.loc[c.table["device"] == device, "runs_ok"].max())
    failed = c.failed.get(device, 0)
    ax.set_title("%s, %s: Pearson r over %d ok runs\n(%d failed runs left out; n/a: fewer than %d runs with both)"
                 % (title, device, n_ok, failed, MIN_RUNS), fontsize=9)
    return _save(fig, path)


def _minor(v: float, _: object) -> str:
    """Label the 2s and 5s between decades, no more (the others crowd the axis)."""
    lead = v / 10 ** np.floor(np.log10(v)) if v > 0 else 0.0
    return "%g" % v if round(lead) in (2, 5) else ""


def warmup_vs_steady(w: pd.DataFrame, path: Path, title: str) -> Drawn:
    """First inference next to the steady median, per model, framework and precision."""
    w = w.dropna(subset=["warmup_ms", "steady_p50_ms"])
    if w.empty:
        return "warm-up vs steady state: no ok run recorded both"
    several = w["device"].nunique() > 1
    names = ["%s%s\n%s %s" % (r["device"] + ": " if several else "", r["model"], r["framework"], r["precision"])
             for _, r in w.iterrows()]
    x = np.arange(len(w))
    fig, ax = _figure((max(6.0, 1.1 * len(w) + 2), 4.5))
    ax.bar(x - 0.2, w["warmup_ms"], 0.4, label="warm-up (first inference)", color="tab:orange")
    ax.bar(x + 0.2, w["steady_p50_ms"], 0.4, label="steady state (median p50)", color="tab:blue")
    for xi, ratio, top in zip(x, w["warmup_x_steady"], w[["warmup_ms", "steady_p50_ms"]].max(axis=1)):
        ax.annotate("x%.1f" % ratio, (xi, top), xytext=(0, 3), textcoords="offset points", ha="center", fontsize=7)
    vals = pd.concat([w["warmup_ms"], w["steady_p50_ms"]]).astype(float)
    if vals.max() / max(vals.min(), 1e-12) > 20:
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: "%g" % v))  # 100, not 10^2
        ax.yaxis.set_minor_formatter(FuncFormatter(_minor))
    ax.set_xticks(x)
    ax.set_xticklabels(names, fontsize=8)
    ax.set_ylabel("latency per batch, ms (median over ok runs)")
    batches = ", ".join(sorted({str(b) for b in w["batch_size"]}))
    ax.set_title("%s: warm-up vs steady-state latency\n(batch %s, most generous memory limit; label: warm-up / steady)"
                 % (title, batches), fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    return _save(fig, path)


def draw(c: Correlation, w: pd.DataFrame, out_dir: Path, title: str) -> list[Drawn]:
    drawn: list[Drawn] = [heatmap(c, dev, out_dir / ("correlation_%s.png" % slug(dev)), title)
                          for dev in sorted(c.failed)]
    drawn.append(warmup_vs_steady(w, out_dir / "warmup_vs_steady.png", title))
    return drawn
