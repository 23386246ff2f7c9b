"""Runs grouped into cells (everything but the repetition), with counts, medians over repetitions and flags."""

import math
from typing import Any, Optional

import numpy as np
import pandas as pd
from edgebench.suite.spec import STATUSES

from ..analysis import noise, speed

# Always in the cell key; the others only when they vary within the campaign.
BASE_KEYS = ["model", "framework", "precision", "batch_size", "limit_memory_mb", "limit_memory_swap_mb"]
OPTIONAL_KEYS = ["input_shape", "threads", "placement", "limit_swappiness", "limit_cpus",
                 "device", "warmups", "iterations", "workload", "copies", "streams"]
FLAGS = ("unexpected", "noisy", "throttled", "fallback", "limits_mismatch", "limits_unread", "limits_note")
DEFAULT_CV = 0.10


def cell_keys(runs: pd.DataFrame) -> list[str]:
    keys = [k for k in BASE_KEYS if k in runs]
    keys += [k for k in OPTIONAL_KEYS if k in runs and runs[k].nunique(dropna=False) > 1]
    keys += sorted(c for c in runs.columns if c.startswith("label_"))
    return keys


def _median(s: pd.Series) -> Optional[float]:
    s = pd.to_numeric(s, errors="coerce").dropna()
    return float(s.median()) if len(s) else None


def _max(s: pd.Series) -> Optional[float]:
    s = pd.to_numeric(s, errors="coerce").dropna()
    return float(s.max()) if len(s) else None


def _join(s: pd.Series) -> str:
    return ", ".join(sorted({str(v) for v in s.dropna() if str(v) != ""}))


def _cell(g: pd.DataFrame) -> dict[str, Any]:
    ok = g[g["status"] == "ok"]
    row: dict[str, Any] = {"runs": len(g)}
    for st in STATUSES:
        row[st] = int((g["status"] == st).sum())
    row["expect"] = _join(g["expect"])
    row["unexpected_runs"] = int((~g["as_expected"].astype(bool)).sum())
    row["as_expected"] = row["unexpected_runs"] == 0
    row["status_check"] = "as expected" if row["as_expected"] else "unexpected: " + ", ".join(
        "%d %s" % (n, st) for st, n in g.loc[~g["as_expected"].astype(bool), "status"].value_counts().items()
    ) + " (expected %s)" % row["expect"]
    p50 = _median(ok["p50_s"])
    p99 = _median(ok["p99_s"])
    warm = _median(ok["warmup_s"])
    row["p50_ms_median_of_runs"] = None if p50 is None else 1000 * p50
    row["p99_ms_median_of_runs"] = None if p99 is None else 1000 * p99
    row["throughput_ips_median_of_runs"] = _median(ok["throughput_ips"])
    row["warmup_ms_median_of_runs"] = None if warm is None else 1000 * warm
    row["peak_rss_mb_max_of_runs"] = _max(g["peak_rss_mb"])
    row["cgroup_peak_mb_max_of_runs"] = _max(g["cgroup_peak_mb"]) if "cgroup_peak_mb" in g else None
    row["cv_max_of_runs"] = _max(ok["cv"])
    row["p50_cv_across_runs"] = _spread(ok["p50_s"])
    cell = _noise(g, ok)
    # the run-to-run CI of the median p50 (None with fewer than two ok runs): shown in every table
    row["p50_ms_ci_lo"] = None if cell.ci_lo is None else 1000 * cell.ci_lo
    row["p50_ms_ci_hi"] = None if cell.ci_hi is None else 1000 * cell.ci_hi
    noisy = cell.noisy
    row["noisy"], row["noise_reason"] = noisy, cell.reason
    row["run_spread_notes"] = "; ".join("rep %s: %s" % (r["repetition"], r["noise_reason"]) for _, r in g.iterrows()
                                        if bool(r.get("noisy")) and r.get("noise_reason"))
    row["placement_actual"] = _join(g["placement_actual"]) if "placement_actual" in g else ""
    row["fell_back"] = bool(g["fell_back"].fillna(False).astype(bool).any()) if "fell_back" in g else False
    match = g["limits_match"] if "limits_match" in g else pd.Series([None] * len(g), index=g.index)
    asked = g[[c for c in g.columns if c.startswith("limit_") and c != "limit_notes"]].notna().any(axis=1)
    row["limits_mismatch"] = bool((match == False).any())  # noqa: E712 - None is "not read", not a mismatch
    row["limits_unread"] = bool((match.isna() & asked & (g["status"] != "skipped")).any())  # skipped: never ran
    notes = _texts(g, "limit_notes")
    row["limits_note"] = bool(notes)  # e.g. not root, no swap: what the runner could not apply
    row["limits_detail"] = "; ".join(sorted(set(_texts(g, "limits_mismatches")) | set(notes)))
    row["run_ids"] = " ".join(g["run_id"])
    # a device that throttled during any repetition measured something other than the cell
    row["throttled"] = bool((g["throttled"] == True).any()) if "throttled" in g else False  # noqa: E712
    flags = {"unexpected": not row["as_expected"], "noisy": noisy, "throttled": row["throttled"],
             "fallback": row["fell_back"],
             "limits_mismatch": row["limits_mismatch"], "limits_unread": row["limits_unread"],
             "limits_note": row["limits_note"]}
    row["flags"] = ", ".join(k for k in FLAGS if flags[k])
    return row


def _texts(g: pd.DataFrame, col: str) -> list[str]:
    return sorted({str(v) for v in g[col].dropna() if str(v)}) if col in g else []


def _spread(p50s: pd.Series) -> Optional[float]:
    """CV of the per-run medians: how much the machine drifted between repetitions."""
    a = pd.to_numeric(p50s, errors="coerce").dropna().to_numpy(dtype=float)
    if a.size < 2 or a.mean() <= 0:
        return None
    return float(np.std(a, ddof=1) / a.mean())


def _noise(g: pd.DataFrame, ok: pd.DataFrame) -> noise.CellNoise:
    """Noisy when the run-to-run CI of the median p50 is wider than +-threshold (the runs' cv_threshold),
    or a single run's IQR/median exceeds 25 % (cli/analysis/noise.py); a run's own flag is a note."""
    thr_s = pd.to_numeric(g.get("cv_threshold", pd.Series(dtype=float)), errors="coerce").dropna()
    thr = float(thr_s.min()) if len(thr_s) else DEFAULT_CV
    p50s = pd.to_numeric(ok["p50_s"], errors="coerce").dropna().tolist()
    spreads = pd.to_numeric(ok["iqr_ratio"], errors="coerce").dropna().tolist() if "iqr_ratio" in ok else []
    return noise.cell_noise(p50s, spreads, thr)


def summarize(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per cell, sorted by the cell keys (no memory limit first)."""
    if runs.empty:
        return pd.DataFrame()
    keys = cell_keys(runs)
    rows = []
    for key, g in runs.groupby(keys, dropna=False, sort=False):
        vals = key if isinstance(key, tuple) else (key,)
        row = {k: (None if _isnan(v) else v) for k, v in zip(keys, vals)}
        row.update(_cell(g))
        rows.append(row)
    out = pd.DataFrame(rows)
    return out.sort_values(keys, na_position="first", kind="stable", key=_sort_key).reset_index(drop=True)


def _sort_key(col: pd.Series) -> pd.Series:
    """Labels are text ("2", "10"): sort them as numbers when they all are."""
    if col.dtype == object or str(col.dtype).startswith(("str", "string")):
        num = pd.to_numeric(col, errors="coerce")
        if num.notna().sum() == col.notna().sum():
            return num
    return col


def _isnan(v: Any) -> bool:
    return isinstance(v, float) and math.isnan(v)


def mem_label(mem: Any, swap: Any = None) -> str:
    """How a cell's memory limit reads in tables and figures."""
    if mem is None or _isnan(mem):
        return "none"
    text = "%g MiB" % mem
    if swap is not None and not _isnan(swap) and swap != mem:
        text += " (+%g swap)" % (swap - mem)
    return text


def p50_text(r: Any) -> str:
    """The cell's p50 in ms with its run-to-run 95 % CI, e.g. "12.30 [11.90-12.80]" ("-" when unmeasured);
    emulated cells say where the timing comes from ("... (host CPU)", "ran: ok" for hidden QEMU timings)."""
    med = r.get("p50_ms_median_of_runs")
    lo, hi = r.get("p50_ms_ci_lo"), r.get("p50_ms_ci_hi")
    if med is None or _isnan(med):
        text = "-"
    elif lo is None or hi is None or _isnan(lo) or _isnan(hi):
        text = "%.2f" % med
    else:
        text = "%.2f [%.2f-%.2f]" % (med, lo, hi)
    return speed.speed_text(r, text)
