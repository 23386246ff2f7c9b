"""report.md: the figures, the cell table, the environment and every row worth a second look."""

from typing import Any

import pandas as pd
from edgebench.suite.spec import STATUSES

from .data import ReportData
from .markdown_analyses import sections
from .mdtable import fmt as _fmt
from .mdtable import table as _table
from .p2 import markdown as p2_sections
from .summary import mem_label, p50_text


def cell_name(row: "pd.Series[Any]", keys: list[str]) -> str:
    parts = [str(row["model"]), str(row["framework"]), str(row["precision"]), "batch %s" % row["batch_size"],
             "memory %s" % mem_label(row.get("limit_memory_mb"), row.get("limit_memory_swap_mb"))]
    parts += ["%s=%s" % (k, _fmt(row[k])) for k in keys
              if k not in ("model", "framework", "precision", "batch_size", "limit_memory_mb", "limit_memory_swap_mb")]
    return ", ".join(parts)


def counts_text(row: "pd.Series[Any]") -> str:
    return ", ".join("%d %s" % (row[s], s) for s in STATUSES if row.get(s))


def write(data: ReportData, stamp: str) -> str:
    s = data.summary
    out = ["# edgebench report: %s" % data.campaign, "",
           "Campaign folder `%s`, report written %s (from saved files only)." % (data.campaign_dir, stamp), ""]
    counts = data.counts
    out.append("%d readable runs in %d cells: %s." % (
        len(data.runs), len(s), ", ".join("%d %s" % (v, k) for k, v in sorted(counts.items())) or "none"))
    out.append("")
    out += ["## Figures", ""]
    for f in data.figures:
        out += ["![%s](%s)" % (f.stem.replace("_", " "), f.relative_to(data.out_dir).as_posix()), ""]
    for note in data.notes:
        out.append("- not drawn: %s" % note)
    if not data.figures and not data.notes:
        out.append("- none")
    out += ["", "## Cells", "",
            "Latencies are per batch; p50/p99 are the median over a cell's ok repetitions of each run's own "
            "p50/p99. Throughput is inferences/s (batch x iterations / measure time), median over repetitions. "
            "Warm-up is the first inference. Peak RSS is the largest of the repetitions' RSS high-water marks. "
            "Full columns in `summary.csv` (cells) and `runs.csv` (runs).", ""]
    out += ["- timings: %s" % n for n in data.speed_notes] + ([""] if data.speed_notes else [])
    if s.empty:
        out.append("No readable runs.")
    else:
        extra = [k for k in data.keys if k not in ("model", "framework", "precision", "batch_size",
                                                   "limit_memory_mb", "limit_memory_swap_mb")]
        extra += ["timing"] if "emulation" in s and (s["emulation"] != "").any() else []
        header = ["model", "framework", "prec", "batch", "memory limit"] + extra + [
            "runs", "p50 ms [95% CI]", "p99 ms", "inf/s", "warm-up ms", "peak RSS MiB", "status", "flags"]
        rows = []
        for _, r in s.iterrows():
            rows.append([_fmt(r["model"]), _fmt(r["framework"]), _fmt(r["precision"]), _fmt(r["batch_size"]),
                         mem_label(r.get("limit_memory_mb"), r.get("limit_memory_swap_mb"))]
                        + [_fmt(r[k]) for k in extra]
                        + [counts_text(r), p50_text(r), _fmt(r["p99_ms_median_of_runs"]),
                           _fmt(r["throughput_ips_median_of_runs"], 1), _fmt(r["warmup_ms_median_of_runs"]),
                           _fmt(r["peak_rss_mb_max_of_runs"], 0), _fmt(r["status_check"]), _fmt(r["flags"])])
        out.append(_table(header, rows))
    if data.analyses is not None:
        out += [""] + sections(data.analyses)
    out += [""] + p2_sections(data.p2)
    out += ["", "## Flagged", ""]
    out += _flagged(data)
    out += ["", "## Environment", ""]
    out += _environment(data.environment)
    return "\n".join(out) + "\n"


def _flagged(data: ReportData) -> list[str]:
    lines = []
    for _, r in data.flagged.iterrows():
        why = []
        if not r["as_expected"]:
            why.append("status %s" % r["status_check"])
        if r["noisy"]:
            why.append("noisy: %s" % r["noise_reason"])
        if r["fell_back"]:
            why.append("placement fell back: ran on %s" % (r["placement_actual"] or "?"))
        if r["limits_mismatch"]:
            why.append("limits not as asked: %s" % (r["limits_detail"] or "?"))
        if r["limits_unread"]:
            why.append("limits asked but not read back%s" % (": " + r["limits_detail"] if r["limits_detail"] else ""))
        if r["limits_note"] and not (r["limits_mismatch"] or r["limits_unread"]):
            why.append("runner's note on limits: %s" % r["limits_detail"])
        lines.append("- **%s** (runs %s): %s" % (cell_name(r, data.keys), r["run_ids"], "; ".join(why)))
    for path, problem in data.damaged:
        lines.append("- damaged run folder `%s`, skipped: %s" % (path, problem))
    for path, problem in data.incomplete:
        lines.append("- incomplete run folder `%s`, left out: %s" % (path, problem))
    for path, problem in data.warnings:
        lines.append("- run folder `%s`: %s" % (path, problem))
    varies = data.environment.get("varies") or []
    if varies:
        lines.append("- the environment changed between runs: %s" % ", ".join(
            "%s (%s)" % (k, " / ".join(data.environment[k])) for k in varies))
    return lines or ["Nothing flagged."]


def _environment(env: dict[str, Any]) -> list[str]:
    lines = []
    for k, v in (env.get("campaign") or {}).items():
        lines.append("- campaign %s: %s" % (k, v))
    for k, v in env.items():
        if k in ("frameworks", "varies", "campaign"):
            continue
        lines.append("- %s: %s" % (k, " / ".join(v) if v else "-"))
    for name, fw in (env.get("frameworks") or {}).items():
        lines.append("- %s: version %s, image %s%s" % (name, " / ".join(fw["version"]) or "-",
                                                        " / ".join(fw["image"]) or "-",
                                                        ", images.lock: " + " / ".join(fw["image_lock"])
                                                        if fw.get("image_lock") else ""))
    return lines
