"""The report's P3 part: concurrency.csv + throughput against concurrency (one line per batch size),
ramps.csv (maximum and best level per group, and what stopped the climb), dmp.csv + the DMP comparison
chart, and P3's correlation of throughput over these runs (analysis.correlation, reused)."""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..analysis import correlation, multi
from ..ramp import Record, findings, from_matrix_dict
from .figures import Drawn, _figure, _save
from .mdtable import fmt as _fmt
from .mdtable import table as _table


@dataclass
class P3:
    concurrency: pd.DataFrame
    ramps: pd.DataFrame
    dmp: pd.DataFrame
    correlation: pd.DataFrame
    figures: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)


def mark_findings(runs: pd.DataFrame, campaign_dir: Path, info: dict[str, Any]) -> None:
    """A ramp's skipped levels and the failures that stopped it are as expected (the climb's answer), so
    they neither fail the report's exit code nor show as unexpected cells."""
    rps = from_matrix_dict(info.get("matrix") or {})
    if runs.empty or not rps:
        return
    recs = multi.records(campaign_dir)
    found = findings([Record(r["run_id"], r["spec"], r["status"], r["throughput_ips"]) for _, r in recs.iterrows()],
                     rps)
    runs.loc[runs["run_id"].isin(found), "as_expected"] = True


def concurrency_figure(c: pd.DataFrame, path: Path, title: str) -> Drawn:
    c = c.dropna(subset=["throughput_ips"])
    if c.empty:
        return "throughput vs concurrency: no concurrent (CME) run ended ok"
    fig, ax = _figure((7.5, 4.8))
    for key, g in c.groupby(["device", "model", "framework", "precision", "placement", "batch_size"], dropna=False):
        g = g.sort_values("copies")
        ax.plot(g["copies"], g["throughput_ips"], marker="o",
                label="%s %s %s %s@%s b%s" % tuple(_fmt(v) for v in key))
    ax.set_xlabel("concurrency (copies)")
    ax.set_ylabel("throughput, inferences/s (median)")
    ax.set_xscale("log", base=2)
    ax.set_title("%s: throughput vs concurrency (one line per batch size)" % title, fontsize=9)
    ax.legend(fontsize=7)
    return _save(fig, path)


def dmp_figure(d: pd.DataFrame, path: Path, title: str) -> Drawn:
    d = d.dropna(subset=["throughput_ips"])
    if d.empty:
        return "DMP comparison: no valid placement (DMP) run ended ok"
    fig, ax = _figure((max(6.0, 2.2 * len(d) + 2), 4.8))
    x = np.arange(len(d))
    width = 0.27
    bars = (("DMP", d["throughput_ips"]), ("sum alone", d["alone_sum_ips"]), ("ideal (sum of CME maxima)",
                                                                               d["ideal_ips"]))
    for i, (name, vals) in enumerate(bars):
        ax.bar(x + (i - 1) * width, pd.to_numeric(vals, errors="coerce").fillna(0.0), width, label=name)
    ax.set_xticks(x)
    ax.set_xticklabels([s.replace(" + ", "\n+ ") for s in d["streams"]], fontsize=7)
    ax.set_ylabel("throughput, inferences/s (median)")
    ax.set_title("%s: DMP vs each processor alone and P3's ideal (0: not in the campaign)" % title, fontsize=9)
    ax.legend(fontsize=7)
    return _save(fig, path)


def build(campaign_dir: Path, runs: pd.DataFrame, monitor: pd.DataFrame, info: dict[str, Any], out_dir: Path,
          title: str, hidden: frozenset[str] = frozenset()) -> P3:
    """`hidden`: run ids whose throughput is not shown (functional emulation's QEMU timings)."""
    recs = multi.records(campaign_dir)
    if hidden and not recs.empty:
        recs["throughput_ips"] = recs["throughput_ips"].where(~recs["run_id"].isin(hidden), None)
    p = P3(multi.concurrency(recs), multi.ramps(recs, info.get("matrix") or {}), multi.dmp(recs), pd.DataFrame())
    several = not recs.empty and (recs["workload"] != "single").any()
    if several and not runs.empty:
        c = correlation.correlate(runs, monitor).table
        p.correlation = c[c["protocol"] == "P3"] if "protocol" in c else c
    for name, df in (("concurrency.csv", p.concurrency), ("ramps.csv", p.ramps), ("dmp.csv", p.dmp)):
        if df.empty:
            continue  # a campaign without ramps, CME or DMP runs gets none of these files
        df.to_csv(out_dir / name, index=False)
        p.files.append(out_dir / name)
    for drawn in ([concurrency_figure(p.concurrency, out_dir / "throughput_vs_concurrency.png", title)]
                  if not p.concurrency.empty else []) + (
                  [dmp_figure(p.dmp, out_dir / "dmp_comparison.png", title)] if not p.dmp.empty else []):
        if isinstance(drawn, Path):
            p.figures.append(drawn)
            p.files.append(drawn)
        else:
            p.notes.append(drawn)
    return p


def _level(v: Any) -> str:
    """A ramp level as the matrix wrote it (pandas turns integer columns with gaps into floats)."""
    return "%d" % v if isinstance(v, float) and v == v and v.is_integer() else _fmt(v)


def markdown(p: P3) -> str:
    """The P3 sections of report.md (empty when the campaign has no ramp, CME or DMP run)."""
    out: list[str] = []
    if not p.ramps.empty:
        out += ["## Ramps: maximum and best level", "",
                "Per group that climbed: the highest level that ran ok (maximum concurrency, for copies), the "
                "level with the best median throughput, and what stopped the climb. A level fails when most of "
                "its repetitions end in a stop_on status the cell did not expect; levels above are `skipped` "
                "records. Full columns in `ramps.csv`.", ""]
        rows = [[_fmt(r["axis"]), _fmt(r["group"]), _fmt(r["levels_ran"]), _level(r["max_level_ok"]),
                 _level(r["best_level"]), _fmt(r["best_throughput_ips"]), _fmt(r["stopped_by"] or "not stopped"),
                 _level(r["stop_level"]), _fmt(r["stop_reason"]), _fmt(r["skipped"])] for _, r in p.ramps.iterrows()]
        out += [_table(["axis", "group", "levels ran", "max ok", "best", "best inf/s", "stopped by", "at",
                        "why", "skipped"], rows), ""]
    if not p.concurrency.empty:
        out += ["## Throughput vs concurrency", "",
                "Median throughput over ok runs per CME level (copies x batch x batches / time from the barrier "
                "to the last copy's end). `concurrency.csv`; figure above.", ""]
        rows = [[_fmt(r["model"]), _fmt(r["framework"]), _fmt(r["precision"]), _fmt(r["placement"]),
                 _fmt(r["batch_size"]), _fmt(r["copies"]), _fmt(r["throughput_ips"]),
                 "%d/%d" % (r["runs_ok"], r["runs"])] for _, r in p.concurrency.iterrows()]
        out += [_table(["model", "framework", "prec", "placement", "batch", "copies", "inf/s", "ok/runs"], rows), ""]
    if not p.dmp.empty:
        out += ["## Dynamic model placement", "",
                "DMP throughput (sum of the streams' inferences over the synchronised interval; median over ok, "
                "valid runs) against each stream alone (single tenancy) and P3's ideal, the sum of each "
                "stream's CME maximum; `-` where the campaign has no such run. Invalid runs (streams ending "
                "more than skew_limit_s apart) are counted, not used. `dmp.csv`.", ""]
        rows = [[_fmt(r["streams"]), _fmt(r["throughput_ips"]), _fmt(r["alone_ips"]), _fmt(r["alone_sum_ips"]),
                 _fmt(r["cme_max_ips"]), _fmt(r["ideal_ips"]), _fmt(r["share_of_ideal"]),
                 "%d/%d (%d invalid)" % (r["runs_ok"], r["runs"], r["runs_invalid"])] for _, r in p.dmp.iterrows()]
        out += [_table(["streams", "DMP inf/s", "alone inf/s", "sum alone", "CME max", "ideal", "DMP/ideal",
                        "ok/runs"], rows), ""]
    if not p.correlation.empty:
        out += ["## P3 correlation over these runs", "",
                "Pearson r of throughput with batch size, CPU, memory, power and USB I/O (the P3 rows of "
                "`correlation.csv`, over every ok run of the campaign).", ""]
        rows = [[_fmt(r["device"]), _fmt(r["x"]), _fmt(r["r"]), _fmt(r["n"]), _fmt(r["left_out"])]
                for _, r in p.correlation.iterrows()]
        out += [_table(["device", "x", "r", "n", "left out"], rows), ""]
    for note in p.notes:
        out.append("- not drawn: %s" % note)
    return "\n".join(out) + ("\n" if out else "")
