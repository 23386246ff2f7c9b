"""P2's two tables, per campaign: loading time vs inference time, and cost-performance (device price vs throughput).

Both read the runs table only (analysis.tables: the phases each run time-stamped, its latency summary and
throughput) and the campaign's device profile as campaign.json recorded it (its price_usd and price_source).

- Loading vs inference: per cell (device x model x framework x precision x batch, and whatever else varies),
  medians over the ok runs of the import, load and build phases, the first inference (warm-up) and the steady
  p50 of the measure phase; "load / p50" says how many steady inferences one load costs, "cold start" is
  import + load + build + first inference.
- Cost-performance: per cell, throughput (median over ok runs) per US dollar of the device's price; a device
  without a price shows "no price" instead of a figure.
"""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import pandas as pd

from .mdtable import fmt as _fmt
from .mdtable import table as _table
from .summary import cell_keys, mem_label

LOAD_CSV, COST_CSV = "p2_load_vs_inference.csv", "p2_cost_performance.csv"
NO_PRICE = "no price"
_FIRST = ["device", "model", "framework", "precision", "batch_size"]


@dataclass
class P2:
    load: pd.DataFrame  # one row per cell: phases and latencies
    cost: pd.DataFrame  # one row per cell: throughput, price, inf/s per USD
    device: str = ""
    price_usd: Optional[float] = None
    price_source: str = ""
    notes: list[str] = field(default_factory=list)  # what was left out, and why
    files: list[Path] = field(default_factory=list)


_EMULATION_LABELS = ("label_emulated", "label_emulation")


def _emulated(runs: pd.DataFrame) -> "pd.Series[bool]":
    """Runs on an emulated device: cli/emulate.py labels them (`emulated: NAME`, and with emulation modes
    `emulation: ceiling|functional`) and names the device NAME@MODE. Until h6's helper that says whether a run's
    speed may be shown as device speed (analysis/speed.py) is merged, all of them are left out of both tables:
    their timings are the host's CPU or QEMU's, never the device's, and the device's price does not buy them."""
    out = pd.Series(False, index=runs.index)
    for col in _EMULATION_LABELS:
        if col in runs:
            out |= runs[col].notna() & (runs[col].astype(str) != "")
    if "device" in runs:
        out |= runs["device"].astype(str).str.contains("@", regex=False)
    return out


def _keys(runs: pd.DataFrame) -> list[str]:
    keys = [k for k in _FIRST if k in runs]
    return keys + [k for k in cell_keys(runs) if k not in keys and k not in _EMULATION_LABELS]


def _median(s: "pd.Series[Any]") -> Optional[float]:
    v = pd.to_numeric(s, errors="coerce").dropna()
    return float(v.median()) if len(v) else None


def _ms(v: Optional[float]) -> Optional[float]:
    return None if v is None else 1e3 * v


def load_vs_inference(runs: pd.DataFrame) -> pd.DataFrame:
    """Per cell: medians over ok runs of the phases (s), first inference and steady p50 (ms), load / p50."""
    keys = _keys(runs)
    rows = []
    for values, g in runs.groupby(keys, dropna=False, sort=True):
        load, p50, first = _median(g["load_phase_s"]), _median(g["p50_s"]), _median(g["warmup_s"])
        parts = [_median(g.get(k, pd.Series(dtype=float))) for k in ("import_phase_s", "load_phase_s",
                                                                       "build_phase_s")] + [first]
        rows.append(dict(zip(keys, values if isinstance(values, tuple) else (values,)), runs=len(g),
                         import_s=parts[0], load_s=load, build_s=parts[2], first_inference_ms=_ms(first),
                         p50_ms=_ms(p50), load_over_p50=load / p50 if load is not None and p50 else None,
                         cold_start_s=sum(p for p in parts if p is not None) if load is not None else None))
    return pd.DataFrame(rows, columns=keys + ["runs", "import_s", "load_s", "build_s", "first_inference_ms",
                                              "p50_ms", "load_over_p50", "cold_start_s"])


def cost_performance(runs: pd.DataFrame, device: str, price_usd: Optional[float], source: str) -> pd.DataFrame:
    """Per cell: throughput (median over ok runs), the device's price and inf/s per USD (None: no price).
    The price is the campaign's device profile's, so it applies to the runs on that device only."""
    keys = _keys(runs)
    rows = []
    for values, g in runs.groupby(keys, dropna=False, sort=True):
        cell = dict(zip(keys, values if isinstance(values, tuple) else (values,)))
        ips = _median(g["throughput_ips"])
        usd = price_usd if str(cell.get("device", device)) == device else None
        rows.append(dict(cell, runs=len(g), throughput_ips=ips, price_usd=usd,
                         ips_per_usd=ips / usd if ips is not None and usd else None,
                         price_source=source if usd is not None else NO_PRICE))
    return pd.DataFrame(rows, columns=keys + ["runs", "throughput_ips", "price_usd", "ips_per_usd", "price_source"])


def build(runs: pd.DataFrame, info: dict[str, Any], out: Path) -> P2:
    """Both tables from the campaign's ok runs, written as CSV files into `out`."""
    device = info.get("device")
    dev: dict[str, Any] = device if isinstance(device, dict) else {}
    usd = dev.get("price_usd")
    p2 = P2(load=pd.DataFrame(), cost=pd.DataFrame(), device=str(dev.get("name") or ""),
            price_usd=float(usd) if isinstance(usd, (int, float)) and not isinstance(usd, bool) else None,
            price_source=str(dev.get("price_source") or ""))
    ok = runs[runs["status"] == "ok"] if "status" in runs else runs.iloc[0:0]
    emulated = _emulated(ok)
    if emulated.any():
        p2.notes.append("%d emulated run(s) left out: their timings are the host's, not the device's" % emulated.sum())
    ok = ok[~emulated]
    if ok.empty:
        p2.notes.append("no ok run on a real device: nothing to compare")
        return p2
    if "device" in ok:
        ok = ok.assign(device=ok["device"].fillna(p2.device or "?"))
    p2.load = load_vs_inference(ok)
    p2.cost = cost_performance(ok, p2.device, p2.price_usd, p2.price_source)
    for name, df in ((LOAD_CSV, p2.load), (COST_CSV, p2.cost)):
        df.to_csv(out / name, index=False)
        p2.files.append(out / name)
    return p2


_MEM = ("limit_memory_mb", "limit_memory_swap_mb")


def _extra(df: pd.DataFrame, after: str) -> list[str]:
    """The cell keys beyond the first five and the memory limit (the columns before `after`)."""
    cols = list(df.columns)
    return [c for c in cols[:cols.index(after)] if c not in _FIRST and c not in _MEM]


def _cell(r: "pd.Series[Any]", extra: list[str]) -> list[str]:
    return [_fmt(r[k]) for k in _FIRST] + [mem_label(r.get(_MEM[0]), r.get(_MEM[1]))] + [_fmt(r[k]) for k in extra]


_HEAD = ["device", "model", "framework", "prec", "batch", "memory limit"]


def markdown(p2: Optional[P2]) -> list[str]:
    """report.md's P2 sections (nothing when the report has none)."""
    if p2 is None:
        return []
    out = ["## Loading time vs inference time (P2)", "",
           "Medians over each cell's ok runs: import, load and build phases in s, the first inference and the "
           "steady p50 in ms; `load / p50` is how many steady inferences one load costs; cold start = import + "
           "load + build + first inference. Full columns in `%s`." % LOAD_CSV, ""]
    out += ["- %s" % n for n in p2.notes] + ([""] if p2.notes else [])
    if not p2.load.empty:
        extra = _extra(p2.load, "runs")
        rows = [_cell(r, extra) + [
            _fmt(r["runs"]), _fmt(r["import_s"], 3), _fmt(r["load_s"], 3), _fmt(r["build_s"], 3),
            _fmt(r["first_inference_ms"]), _fmt(r["p50_ms"]), _fmt(r["load_over_p50"], 1), _fmt(r["cold_start_s"], 3)]
            for _, r in p2.load.iterrows()]
        out.append(_table(_HEAD + extra + [
            "runs", "import s", "load s", "build s", "first inference ms", "p50 ms", "load / p50", "cold start s"],
            rows))
    out += ["", "## Cost-performance (P2)", ""]
    if p2.price_usd is None:
        out.append("The device profile (%s) has no price_usd: `%s` below; set price_usd (and price_source) in "
                   "a copy of the profile for inf/s per dollar." % (p2.device or "?", NO_PRICE))
    else:
        out.append("Price: %.2f USD for %s (%s). inf/s is the median throughput over a cell's ok runs. Full "
                   "columns in `%s`." % (p2.price_usd, p2.device, p2.price_source or "no source given", COST_CSV))
    out.append("")
    if not p2.cost.empty:
        extra = _extra(p2.cost, "runs")
        rows = [_cell(r, extra) + [
            _fmt(r["runs"]), _fmt(r["throughput_ips"], 1),
            NO_PRICE if r["price_usd"] is None or r["price_usd"] != r["price_usd"] else _fmt(float(r["price_usd"])),
            NO_PRICE if r["ips_per_usd"] is None or r["ips_per_usd"] != r["ips_per_usd"]
            else _fmt(float(r["ips_per_usd"]), 3)] for _, r in p2.cost.iterrows()]
        out.append(_table(_HEAD + extra + [
            "runs", "inf/s", "price USD", "inf/s per USD"], rows))
    return out + [""]


def html_sections(p2: Optional[P2]) -> list[tuple[str, str, pd.DataFrame, str]]:
    """(heading, caption, table, table id) of report.html's P2 sections; the caption says what was left out."""
    if p2 is None:
        return []
    left = " ".join(n[0].upper() + n[1:] + "." for n in p2.notes)
    cost = p2.cost.copy()
    if not cost.empty:
        cost["price_usd"] = [NO_PRICE if v is None or v != v else v for v in cost["price_usd"]]
        cost["ips_per_usd"] = [NO_PRICE if v is None or v != v else v for v in cost["ips_per_usd"]]
    price = ("%.2f USD for %s (%s)" % (p2.price_usd, p2.device, p2.price_source or "no source given")
             if p2.price_usd is not None else "the device profile (%s) has no price_usd: %s" % (p2.device, NO_PRICE))
    return [("Loading time vs inference time (P2)",
             "Medians over each cell's ok runs: phases in s, first inference and steady p50 in ms; load_over_p50: "
             "steady inferences one load costs; cold start: import + load + build + first inference. " + left,
             p2.load, "p2-load"),
            ("Cost-performance (P2)", "Price: %s; throughput is the median over a cell's ok runs. %s" % (price, left),
             cost, "p2-cost")]
