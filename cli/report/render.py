"""The report on a terminal (a rich Table) and as JSON (`--json`)."""

import json
from typing import Any

from rich.table import Table

from .data import ReportData
from .markdown import counts_text
from .summary import mem_label, p50_text


def _num(v: Any, fmt: str) -> str:
    if v is None or (isinstance(v, float) and v != v):
        return "-"
    return str(fmt % v)


def _mem_short(mem: Any, swap: Any) -> str:
    """'none', '1024', or '40+160sw' (MiB of memory, plus swap when the limit allows some)."""
    text = mem_label(mem)
    if text == "none":
        return text
    text = "%g" % mem
    if swap is not None and swap == swap and swap != mem:
        text += "+%gsw" % (swap - mem)
    return text


def render(data: ReportData) -> Table:
    """One row per cell; red status when a cell did not end as expected, flags in yellow. A key column
    whose value every cell shares (one model, no memory limit...) moves to the title, to fit a terminal."""
    s = data.summary
    counts = ", ".join("%d %s" % (v, k) for k, v in sorted(data.counts.items())) or "no runs"
    mems = [_mem_short(r.get("limit_memory_mb"), r.get("limit_memory_swap_mb")) for _, r in s.iterrows()]
    first = s.iloc[0] if not s.empty else {}
    # (header, values, how it reads in the title when every cell shares it)
    candidates = [("model", [str(v) for v in s.get("model", [])], "%s" % first.get("model")),
                  ("framework", [str(v) for v in s.get("framework", [])], "%s" % first.get("framework")),
                  ("prec", [str(v) for v in s.get("precision", [])], "%s" % first.get("precision")),
                  ("mem MiB", mems, "memory limit %s" % mem_label(first.get("limit_memory_mb"),
                                                                 first.get("limit_memory_swap_mb"))),
                  ("batch", [str(v) for v in s.get("batch_size", [])], "batch %s" % first.get("batch_size"))]
    cols: list[tuple[str, list[str]]] = []
    shared = []
    for head, vals, text in candidates:
        if len(set(vals)) == 1:
            shared.append(text)
        else:
            cols.append((head, vals))
    extra = [k for k in data.keys if k not in ("model", "framework", "precision", "batch_size", "limit_memory_mb",
                                               "limit_memory_swap_mb")]
    cols += [(k[len("label_"):] if k.startswith("label_") else k, [_num(v, "%s") for v in s[k]]) for k in extra]
    title = "%s: %d runs in %d cells (%s)" % (data.campaign, len(data.runs), len(s), counts)
    if shared and not s.empty:
        title += "; all cells: %s" % ", ".join(shared)
    table = Table(title=title, caption="p50/p99: median over ok repetitions of each run's p50/p99, per batch. "
                  "%s%sReport: %s" % ("".join("Timings: %s. " % n for n in data.speed_notes), _fastest(data),
                                      data.out_dir / "report.md"))
    for head, _ in cols:
        table.add_column(head)
    for head in ("p50 ms", "p99 ms", "inf/s", "warm ms", "RSS MiB"):
        table.add_column(head, justify="right", no_wrap=True)  # numbers are never cut; text columns give way
    table.add_column("runs")
    table.add_column("flags")
    for i, (_, r) in enumerate(s.iterrows()):
        status = counts_text(r)
        if not r["as_expected"]:
            status = "[red]%s[/] (expected %s)" % (status, r["expect"])
        table.add_row(*[vals[i] for _, vals in cols],
                      p50_text(r), _num(r["p99_ms_median_of_runs"], "%.2f"),
                      _num(r["throughput_ips_median_of_runs"], "%.1f"), _num(r["warmup_ms_median_of_runs"], "%.1f"),
                      _num(r["peak_rss_mb_max_of_runs"], "%.0f"), status,
                      "[yellow]%s[/]" % r["flags"] if r["flags"] else "")
    return table


def _fastest(data: ReportData) -> str:
    """The top of each latency ranking (ranking.csv has the rest, correlations are in report.md)."""
    r = data.analyses.ranking if data.analyses is not None else None
    if r is None or r.empty:
        return ""
    top = r[r["rank"] == 1]
    several = r["device"].nunique() > 1
    parts = ["%s%s %s b%s: %s%s" % (x["device"] + " " if several else "", x["framework"], x["precision"],
                                    x["batch_size"], x["model"], " (tied)" if x["tied"] else "")
             for _, x in top.iterrows()]
    return "Fastest: %s. " % "; ".join(parts)


def _records(df: Any) -> list[dict[str, Any]]:
    """DataFrame rows as plain JSON values (NaN -> null, numpy numbers -> Python)."""
    if df.empty:
        return []
    out: list[dict[str, Any]] = json.loads(df.to_json(orient="records", double_precision=15))
    return out


def to_json(data: ReportData) -> dict[str, Any]:
    """Everything the table shows and more, as plain JSON values."""
    return {
        "campaign": data.campaign, "campaign_dir": str(data.campaign_dir), "report_dir": str(data.out_dir),
        "counts": data.counts, "runs": len(data.runs), "unexpected": data.unexpected, "cell_keys": data.keys,
        "cells": _records(data.summary),
        "flagged": [{"cell": {k: c.get(k) for k in data.keys}, "flags": c["flags"], "run_ids": c["run_ids"],
                     "status_check": c["status_check"], "noise_reason": c["noise_reason"],
                     "limits_detail": c["limits_detail"]} for c in _records(data.flagged)],
        "damaged": [{"path": str(p), "problem": why} for p, why in data.damaged],
        "incomplete": [{"path": str(p), "problem": why} for p, why in data.incomplete],
        "warnings": [{"path": str(p), "problem": why} for p, why in data.warnings],
        "environment": data.environment,
        "figures": [str(p) for p in data.figures], "notes": data.notes, "files": [str(p) for p in data.files],
        "speed_notes": data.speed_notes,
        "ceilings": data.ceilings.to_json() if data.ceilings is not None else None,
        "analyses": _analyses(data),
    }


def _analyses(data: ReportData) -> dict[str, Any]:
    a = data.analyses
    if a is None:
        return {}
    return {"correlation": _records(a.correlation.table), "correlation_left_out": a.left_out,
            "runs_failed": a.correlation.failed, "ranking": _records(a.ranking), "warmup": _records(a.warmup),
            "utilisation": _records(a.utilisation), "notes": a.notes}
