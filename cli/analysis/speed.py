"""Is this timing a device's speed? One answer for every table, figure and command that shows speed.

A run's emulation mode comes from its labels (`emulation: ceiling|functional`, cli/emulate.py) or, for
results older than the modes, its device name (`NAME@emulated`, `NAME@functional`: functional;
`NAME@ceiling`: ceiling). Then:
- real runs: timings are the device's;
- ceiling runs: timings are the emulating host's CPU: shown, always marked "host CPU";
- functional runs: timings are QEMU's: left out of speed columns (the run shows as "ran: ok"), unless
  the user passes --show-emulated-speed, and then still marked "QEMU".
`recommend` never ranks on emulated timings, whatever is shown (analysis/recommend.py).
"""

import math
from typing import Any, Optional

import numpy as np
import pandas as pd

from ..devices import split_emulation

FUNCTIONAL, CEILING = "functional", "ceiling"
MARK = {CEILING: "host CPU", FUNCTIONAL: "QEMU"}
NOTE = {CEILING: "ceiling emulation: timings are this host's CPU, not the device's",
        FUNCTIONAL: "functional emulation: timings are QEMU's, not the device's; left out of speed columns (shown "
                    "as ran: ok) unless --show-emulated-speed"}
# Run-table columns that are timings (tables.run_row): blanked for functional runs.
RUN_TIMINGS = ("mean_s", "std_s", "cv", "min_s", "p50_s", "p90_s", "p99_s", "max_s", "throughput_ips", "warmup_s",
               "measure_time_s", "iqr_ratio", "import_phase_s", "load_phase_s", "build_phase_s", "warmup_phase_s",
               "measure_phase_s")


def _text(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    return str(v)


def mode_of(row: Any) -> Optional[str]:
    """'ceiling', 'functional' or None (a real run) for a run or cell row (label_* columns, device)."""
    get = row.get if hasattr(row, "get") else (lambda k, d=None: d)
    mode = _text(get("label_emulation"))
    if mode in (FUNCTIONAL, CEILING):
        return mode
    _, by_name = split_emulation(_text(get("device")))
    if by_name:
        return by_name
    return FUNCTIONAL if _text(get("label_emulated")) else None


def modes(df: pd.DataFrame) -> "pd.Series[str]":
    """Each row's mode ('' for real runs)."""
    return pd.Series([mode_of(r) or "" for _, r in df.iterrows()], index=df.index, dtype=object)


def timing_text(mode: Optional[str], shown: bool = True) -> str:
    if not mode:
        return "device"
    if mode == FUNCTIONAL and not shown:
        return "QEMU: not shown"
    return MARK[mode]


def hidden(mode: Optional[str], show_emulated: bool) -> bool:
    """Whether timings of this mode stay out of speed columns."""
    return mode == FUNCTIONAL and not show_emulated


def mark_runs(runs: pd.DataFrame, show_emulated: bool = False) -> pd.DataFrame:
    """A copy of a run table with `emulation` and `timing` columns, functional timings blanked (unless shown)."""
    out = runs.copy()
    if out.empty:
        return out
    m = modes(out)
    out["emulation"] = m
    out["timing"] = [timing_text(x or None, not hidden(x or None, show_emulated)) for x in m]
    drop = m == FUNCTIONAL if not show_emulated else pd.Series(False, index=out.index)
    for col in RUN_TIMINGS:
        if col in out and drop.any():
            out[col] = pd.to_numeric(out[col], errors="coerce").astype("float64")
            out.loc[drop, col] = np.nan
    return out


def mark_cells(summary: pd.DataFrame, runs: pd.DataFrame) -> pd.DataFrame:
    """The summary with each cell's `emulation` and `timing` (from its runs, which mark_runs marked)."""
    if summary.empty or "emulation" not in runs:
        return summary
    out = summary.copy()
    by_run = dict(zip(runs["run_id"].astype(str), zip(runs["emulation"], runs["timing"])))
    em, tm = [], []
    for ids in out["run_ids"]:
        got = [by_run[i] for i in str(ids).split() if i in by_run]
        em.append(got[0][0] if got else "")
        tm.append(got[0][1] if got else "device")
    out["emulation"], out["timing"] = em, tm
    return out


def any_emulated(df: pd.DataFrame) -> bool:
    return "emulation" in df and bool((df["emulation"].fillna("") != "").any())


def notes(df: pd.DataFrame, show_emulated: bool = False) -> list[str]:
    """One line per emulation mode present: what its timings are and how they are shown."""
    if not any_emulated(df):
        return []
    out = []
    for mode in (CEILING, FUNCTIONAL):
        if (df["emulation"] == mode).any():
            text = NOTE[mode]
            if mode == FUNCTIONAL and show_emulated:
                text = "functional emulation: timings are QEMU's, not the device's; shown because of " \
                       "--show-emulated-speed, marked QEMU"
            out.append(text)
    return out


def speed_text(row: Any, text: str) -> str:
    """A cell's shown speed with its source: '12.3 (host CPU)', 'ran: ok' for hidden QEMU timings."""
    mode = _text(row.get("emulation")) or None
    if not mode:
        return text
    if text in ("", "-"):
        if mode == FUNCTIONAL:
            ok = row.get("ok")
            return "ran: ok" if isinstance(ok, (int, float, np.integer)) and ok > 0 else text
        return text
    return "%s (%s)" % (text, MARK[mode])
