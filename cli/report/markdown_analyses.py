"""report.md sections of the P1/P3 analyses: ranking, warm-up and utilisation, correlation."""

import pandas as pd

from ..analysis.correlation import MIN_RUNS, VARS
from ..analysis.per_model import KEYS
from ..analysis.ranking import TIE_REL
from .analyses import Analyses
from .mdtable import fmt as _fmt
from .mdtable import table as _table
from .summary import mem_label


def _p(v: object) -> str:
    return "-" if not isinstance(v, float) or v != v else "%.2g" % v


def _ranking(r: pd.DataFrame) -> list[str]:
    out = ["## Ranking by latency", "",
           "Models per device, framework, precision and batch size, each at its most generous memory limit; "
           "latency is the median over ok runs of each run's p50 (range: fastest to slowest run). "
           "`=` after a rank: tied with a neighbour (run ranges overlap or medians within %d%%); "
           "`noisy`: a run was noisy or the runs disagree. Full columns in `ranking.csv`." % (100 * TIE_REL), ""]
    if r.empty:
        return out + ["No ok runs to rank."]
    rows = [[_fmt(x["device"]), _fmt(x["framework"]), _fmt(x["precision"]), _fmt(x["batch_size"]),
             "%d%s" % (x["rank"], "=" if x["tied"] else ""), _fmt(x["model"]), _fmt(x["p50_ms"]),
             "%.2f-%.2f" % (x["p50_ms_min"], x["p50_ms_max"]), _fmt(x["runs"]), _fmt(x["x_fastest"]),
             mem_label(x["memory_limit_mb"]), _fmt(x["noise"] and "noisy: " + x["noise"])]
            for _, x in r.iterrows()]
    return out + [_table(["device", "framework", "prec", "batch", "rank", "model", "p50 ms", "range ms", "runs",
                          "x fastest", "memory limit", "notes"], rows)]


def _per_model(w: pd.DataFrame, u: pd.DataFrame) -> list[str]:
    out = ["## Warm-up and utilisation per model", "",
           "Warm-up is the first inference; steady is the median p50, both medians over ok runs at the smallest "
           "batch and most generous memory limit (`warmup.csv`). CPU % and GPU % are means over every ok run "
           "of the model and precision (`utilisation.csv`); CPU % from psutil is the process's share, "
           "100 = one core.", ""]
    t = u.merge(w, on=KEYS, how="outer", suffixes=("", "_warm"))
    if t.empty:
        return out + ["No ok runs."]
    srcs = sorted({s for col in ("cpu_source", "gpu_source") for s in t[col].dropna() if s})
    rows = [[_fmt(x["device"]), _fmt(x["model"]), _fmt(x["framework"]), _fmt(x["precision"]), _fmt(x["warmup_ms"]),
             _fmt(x["steady_p50_ms"]), _fmt(x["warmup_x_steady"], 1), _fmt(x["cpu_percent_mean"], 1),
             _fmt(x["gpu_percent_mean"], 1), _fmt(x["runs"])] for _, x in t.iterrows()]
    out.append(_table(["device", "model", "framework", "prec", "warm-up ms", "steady ms", "warm/steady",
                       "CPU %", "GPU %", "ok runs"], rows))
    out += ["", "Utilisation columns from: %s." % (", ".join("`%s`" % s for s in srcs) or "no monitor")]
    return out


def _correlation(a: Analyses) -> list[str]:
    c = a.correlation
    out = ["## Correlation", "",
           "Pearson r per device over the runs that ended ok (the others are counted, not used); runs of all "
           "models pooled. P1: p50 latency against memory limit, CPU, GPU, RSS, PSS, USS; P3: throughput against "
           "batch size, CPU, peak RSS, power, USB I/O. A pair needs %d+ runs and both sides varying. "
           "Full table in `correlation.csv`%s; heatmaps above." % (
               MIN_RUNS, " (with p-values)" if c.p_values else " (no p-values: scipy not installed)"), ""]
    if c.table.empty:
        return out + ["No runs."]
    for dev, g in c.table.groupby("device", sort=True):
        kept = g[g["left_out"] == ""]
        out += ["### %s" % dev, "", "%d ok runs, %d failed runs left out." % (g["runs_ok"].max(), c.failed[dev]), ""]
        if not kept.empty:
            rows = [[x["protocol"], VARS[x["y"]].label, VARS[x["x"]].label, "`%s`" % x["x_source"], _fmt(x["r"]),
                     _fmt(x["n"]), _p(x["p_value"])] for _, x in kept.iterrows()]
            out += [_table(["protocol", "y", "x", "from", "r", "n", "p"], rows), ""]
        gone = a.left_out.get(str(dev)) or []
        if gone:
            out += ["Left out: %s." % "; ".join(gone), ""]
    return out


def sections(a: Analyses) -> list[str]:
    out = _ranking(a.ranking) + [""] + _per_model(a.warmup, a.utilisation) + [""] + _correlation(a)
    while out and out[-1] == "":
        out.pop()
    return out + ["- not drawn: %s" % n for n in a.notes]
