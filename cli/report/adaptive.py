"""report.md's adaptive repetitions: per cell, how many repetitions ran, the CI of the median they reached
and why they stopped (adaptive.json, cli/adaptive.py); adaptive.csv beside it."""

from pathlib import Path

import pandas as pd

from ..adaptive import read_decisions
from .mdtable import fmt, table

_WHY = {"ci_within_share": "CI within target", "max_repetitions": "reached the maximum",
        "no_ok_repetitions": "no ok run (all ended alike)"}


def section(campaign_dir: Path, out: Path, files: list[Path]) -> str:
    """The markdown section (empty for a campaign without adaptive repetitions); writes adaptive.csv."""
    decisions = read_decisions(campaign_dir)
    if not decisions:
        return ""
    rows = [dict(d, cell=k) for k, d in decisions.items()]
    df = pd.DataFrame(rows)
    path = out / "adaptive.csv"
    df.drop(columns=[c for c in ("run_ids",) if c in df]).to_csv(path, index=False)
    files.append(path)
    first = rows[0]
    saved = sum(int(r.get("max_repetitions", 0)) - int(r.get("repetitions", 0)) for r in rows)
    lines = ["", "## Adaptive repetitions", "",
             "Each cell repeated until the %g%% CI of its median latency was within +-%.1f%% of the median "
             "(at least %s, at most %s repetitions): %d runs in %d cells, %d fewer than the maximum. "
             "Full columns in `adaptive.csv`." % (100 * float(first.get("confidence", 0.95)),
                                                   100 * float(first.get("target_share", 0)),
                                                   first.get("min_repetitions", "?"), first.get("max_repetitions", "?"),
                                                   sum(int(r.get("repetitions", 0)) for r in rows), len(rows), saved),
             ""]
    body = []
    for r in rows:
        labels = r.get("labels") or {}
        ci = r.get("ci") or [None, None]
        med = r.get("median_s")
        body.append([fmt(r.get("model")), fmt(r.get("framework")), fmt(r.get("precision")), fmt(r.get("batch_size")),
                     fmt(r.get("memory_mb")), " ".join("%s=%s" % kv for kv in sorted(labels.items())) or "-",
                     "%s of %s" % (r.get("repetitions"), r.get("max_repetitions")), fmt(r.get("ok_repetitions")),
                     _ms(med), "%s-%s" % (_ms(ci[0]), _ms(ci[1])), _pct(r.get("ci_half_share")),
                     _WHY.get(str(r.get("stopped")), str(r.get("stopped")))])
    lines.append(table(["model", "framework", "prec", "batch", "memory MiB", "labels", "repetitions", "ok",
                        "p50 ms", "CI ms", "CI +-", "stopped"], body))
    return "\n".join(lines) + "\n"


def _ms(v: object) -> str:
    return "%.3f" % (1e3 * v) if isinstance(v, float) and v == v else "-"


def _pct(v: object) -> str:
    return "%.1f%%" % (100 * v) if isinstance(v, float) and v == v and v != float("inf") else "-"
