"""The cross-device part of `fleet merge`: per model the devices side by side, throughput per dollar
(the price recorded with each campaign's device profile, with its source and date) and per watt where
a monitor sampled power (P2's cost-performance), as cost_performance.csv, markdown and report.html."""

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import pandas as pd
import plotly.graph_objects as go

from . import html
from .html_figures import Figure

CONFIG = ("model", "framework", "precision", "batch_size")
COLUMNS = ["device_profile", *CONFIG, "limit_memory_mb", "throughput_ips_median_of_runs", "p99_ms_median_of_runs",
           "price_usd", "price_source", "price_date", "ips_per_usd", "fps_per_w_measure", "avg_power_w_measure",
           "power_monitor"]


@dataclass
class Price:
    usd: Optional[float]
    source: str
    date: str  # the year the source names, e.g. "(2019)"; "" when it names none


def price(device: dict[str, Any]) -> Price:
    """The price recorded in campaign.json's device (the profile the campaign ran with)."""
    usd = device.get("price_usd")
    source = str(device.get("price_source") or "")
    years = re.findall(r"\b(?:19|20)\d{2}\b", source)
    return Price(float(usd) if isinstance(usd, (int, float)) else None, source, years[-1] if years else "")


def power(summary: pd.DataFrame, energy_csv: Path) -> pd.DataFrame:
    """Per cell (summary row), the median over its runs of FPS/W and average power in the measure phase."""
    empty = pd.DataFrame(index=summary.index, columns=["fps_per_w_measure", "avg_power_w_measure", "power_monitor"])
    if not energy_csv.is_file():
        return empty
    e = pd.read_csv(energy_csv)
    if e.empty or "run_id" not in e:
        return empty
    e["run_id"] = e["run_id"].astype(str)
    for i, ids in summary.get("run_ids", pd.Series(dtype=str)).items():
        rows = e[e["run_id"].isin(str(ids).split())]
        if rows.empty:
            continue
        for col in ("fps_per_w_measure", "avg_power_w_measure"):
            v = pd.to_numeric(rows.get(col, pd.Series(dtype=float)), errors="coerce").dropna()
            empty.loc[i, col] = float(v.median()) if len(v) else None
        est = rows.get("estimate", pd.Series(dtype=bool)).astype(str).str.lower().eq("true").any()
        empty.loc[i, "power_monitor"] = ", ".join(sorted({str(m) for m in rows["monitor"].dropna()})) + (
            " (estimate)" if est else "")
    return empty


def cost_performance(table: pd.DataFrame) -> pd.DataFrame:
    """One row per device and measured cell: throughput, p99, price (with source and date), inf/s per USD
    and FPS/W. Cells without a throughput (OOM, failed) are left out: nothing to divide."""
    t = table[pd.to_numeric(table.get("throughput_ips_median_of_runs"), errors="coerce").notna()].copy()
    t["ips_per_usd"] = t["throughput_ips_median_of_runs"] / pd.to_numeric(t["price_usd"], errors="coerce")
    cols = [c for c in COLUMNS if c in t.columns]
    return t[cols].sort_values([c for c in ("model", "framework", "precision", "batch_size", "device_profile")
                                if c in t.columns]).reset_index(drop=True)


def _fmt(v: Any, spec: str = "%.2f") -> str:
    return "-" if v is None or (isinstance(v, float) and v != v) else (spec % v if isinstance(v, float) else str(v))


def markdown(cp: pd.DataFrame) -> list[str]:
    if cp.empty:
        return ["", "## Cost-performance", "", "No cell measured a throughput."]
    lines = ["", "## Cost-performance (throughput per dollar and per watt)", "",
             "Prices are the device profiles' (price_usd, with price_source); FPS/W only where a monitor sampled "
             "power in the measure phase.", "",
             "| device | model | framework | precision | batch | inf/s | price USD | inf/s per USD | FPS/W | "
             "power monitor | price source |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for _, r in cp.iterrows():
        lines.append("| %s |" % " | ".join([
            str(r["device_profile"]), *(_fmt(r.get(k)) for k in CONFIG), _fmt(r["throughput_ips_median_of_runs"]),
            _fmt(r["price_usd"]), _fmt(r["ips_per_usd"], "%.3f"), _fmt(r.get("fps_per_w_measure")),
            _fmt(r.get("power_monitor")), (r["price_source"] or "-")]))
    return lines


def _bars(cp: pd.DataFrame, value: str, title: str, y: str) -> Any:
    d = cp[pd.to_numeric(cp[value], errors="coerce").notna()] if value in cp else cp.iloc[0:0]
    if d.empty:
        return None
    fig = go.Figure()
    configs = [" ".join(_fmt(r.get(k), "%g") for k in CONFIG) for _, r in d.iterrows()]
    d = d.assign(config=configs)
    for dev, g in d.groupby("device_profile"):
        fig.add_trace(go.Bar(name=str(dev), x=g["config"], y=pd.to_numeric(g[value])))
    fig.update_layout(barmode="group", title=title, yaxis_title=y, template="plotly_white", width=900, height=480)
    return fig


def figures(cp: pd.DataFrame) -> tuple[list[Figure], list[str]]:
    out, notes = [], []
    for name, value, title, y, why in (
            ("throughput_by_device", "throughput_ips_median_of_runs", "Throughput per device, side by side",
             "inferences/s (median of runs)", "no throughput measured"),
            ("throughput_per_usd", "ips_per_usd", "Throughput per dollar", "inferences/s per USD",
             "no device profile has a price (price_usd)"),
            ("throughput_per_watt", "fps_per_w_measure", "Throughput per watt (measure phase)", "FPS/W",
             "no run sampled power")):
        fig = _bars(cp, value, title, y)
        if fig is None:
            notes.append("plot %s: %s" % (name, why))
        else:
            out.append(Figure(name, title, fig))
    return out, notes


def page(devices: pd.DataFrame, cp: pd.DataFrame, stamp: str) -> str:
    """The fleet's report.html: devices with their price, the cost-performance table and the plots."""
    figs, notes = figures(cp)
    body = ["<h1>Cross-device report</h1>",
            "<p>%d device campaign(s); written %s</p>" % (len(devices), html.esc(stamp)),
            "<h2>Devices</h2>", html.table(devices, "devices"),
            "<h2>Cost-performance</h2>", "<p>inf/s per USD from the device profiles' prices (source and date in the "
            "table); FPS/W only where a monitor sampled power.</p>", html.table(cp, "cost"),
            "<h2>Plots</h2>", html.plots(figs)]
    if notes:
        body += ["<h2>Notes</h2>", "<ul>%s</ul>" % "".join("<li>%s</li>" % html.esc(n) for n in notes)]
    return html.document("edgebench fleet report", "\n".join(body))
