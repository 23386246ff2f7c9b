"""Ceilings as an answer (P5's "memory ceiling per device"), from a campaign's ceiling-mode runs.

Per model, framework and precision: the largest batch size, input shape and concurrency that ran ok at
the most memory the runs had (the device's, or the cell's own limit), the first level that failed and
what stopped it (a ramp's stop where the campaign climbed one). Per configuration swept over memory
limits (P1's question): the smallest limit whose runs all end ok with p50 within `share` of the p50 at
the most memory; below it latency degrades by more, or the runs fail. Latencies here are the host CPU's,
so only their ratios mean anything. With what the emulation cannot see (a Jetson's GPU shares RAM,
accelerators are absent), in report.md, report.html and ceilings_fit.csv / ceilings_memory.csv.
"""

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import pandas as pd

from ..analysis import speed
from ..errors import InputError
from .mdtable import fmt as _fmt
from .mdtable import table as _table

SHARE = 0.10  # latency degrading by more than this share counts as degraded
STOPS = ("oom", "failed", "killed", "timeout")
MODEL_KEYS = ["model", "framework", "precision"]
MEMORY_KEYS = MODEL_KEYS + ["batch_size", "input_shape", "copies"]
FIT_COLUMNS = MODEL_KEYS + ["memory_limit_mb", "max_batch_ok", "max_input_shape_ok", "max_copies_ok",
                            "first_failing", "stopped_by", "ramp"]
MEMORY_COLUMNS = MEMORY_KEYS + ["limits_tried_mb", "p50_ms_at_most_memory_host_cpu", "fits_down_to_mb",
                                "degrades_below_mb", "below_that", "share"]


@dataclass
class Ceilings:
    device: str  # the device emulated
    memory_mb: Optional[float]
    cpus: Optional[float]
    fits: pd.DataFrame
    memory: pd.DataFrame
    share: float = SHARE
    caveats: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"device": self.device, "memory_mb": self.memory_mb, "cpus": self.cpus, "share": self.share,
                "caveats": self.caveats, "fits": _records(self.fits), "memory": _records(self.memory)}


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    import json

    return list(json.loads(df.to_json(orient="records"))) if not df.empty else []


def _num(v: Any) -> Optional[float]:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else f


def _level(v: Any) -> str:
    """A level as the matrix wrote it (pandas makes integer columns with gaps floats)."""
    return "%d" % v if isinstance(v, float) and v == v and v.is_integer() else _fmt(v)


def _shape_size(text: Any) -> float:
    try:
        return float(math.prod(int(x) for x in str(text).split("x")))
    except ValueError:
        return 0.0


def _caveats(device: str) -> list[str]:
    from .. import devices

    try:
        target = devices.load(device)
    except InputError:
        return ["%s's profile is not here: what its hardware adds (a GPU sharing RAM, accelerators) is not "
                "known" % device, "timings are the host CPU's"]
    return ["timings are this host's CPU, not %s's: only their ratios (latency under a smaller limit against "
            "the most memory) mean anything" % device] + devices.caveats(target)


def find(runs: pd.DataFrame, ramps: Optional[pd.DataFrame], info: dict[str, Any],
         share: float = SHARE) -> Optional[Ceilings]:
    """The ceilings of the campaign's ceiling-mode runs (runs marked by speed.mark_runs); None without any."""
    if runs.empty or "emulation" not in runs:
        return None
    c = runs[(runs["emulation"] == speed.CEILING) & (runs["status"] != "skipped")].copy()
    if c.empty:
        return None
    dev_info: dict[str, Any] = info["device"] if isinstance(info.get("device"), dict) else {}
    device = str(dev_info.get("emulates") or (c["label_emulated"].dropna().iloc[0] if "label_emulated" in c
                                               and c["label_emulated"].notna().any() else "?"))
    for k in MEMORY_KEYS:
        if k not in c:
            c[k] = None
    c["precision"] = c["precision"].fillna("fp32")
    c["copies"] = c["copies"].fillna(1)
    c["input_shape"] = c["input_shape"].fillna("")
    fits = pd.DataFrame([_fit(key, g, ramps) for key, g in c.groupby(MODEL_KEYS, dropna=False, sort=True)],
                        columns=FIT_COLUMNS)
    mem = [_memory(key, g, share) for key, g in c.groupby(MEMORY_KEYS, dropna=False, sort=True)]
    memory = pd.DataFrame([m for m in mem if m is not None], columns=MEMORY_COLUMNS)
    cpus = pd.to_numeric(c.get("limit_cpus", pd.Series(dtype=float)), errors="coerce").max()
    return Ceilings(device, _num(dev_info.get("memory_mb")), _num(cpus), fits, memory, share, _caveats(device))


def _ok(g: pd.DataFrame) -> bool:
    return bool((g["status"] == "ok").any())


def _largest_ok(g: pd.DataFrame, col: str, order: Any = None) -> Any:
    vals = [v for v, vg in g.groupby(col, dropna=False) if _ok(vg)]
    return max(vals, key=order) if vals else None


def _fit(key: Any, g: pd.DataFrame, ramps: Optional[pd.DataFrame]) -> dict[str, Any]:
    row: dict[str, Any] = dict(zip(MODEL_KEYS, key))
    lim = pd.to_numeric(g.get("limit_memory_mb", pd.Series(math.nan, index=g.index)), errors="coerce")
    lim = lim.fillna(math.inf)  # no limit of the cell's own: the device's memory, the most there is
    top = float(lim.max())
    at = g[lim == top]  # at the most memory: a sweep's small limits fail for memory, not for the batch
    row["memory_limit_mb"] = None if math.isinf(top) else top
    row["max_batch_ok"] = _largest_ok(at, "batch_size")
    row["max_input_shape_ok"] = _largest_ok(at, "input_shape", _shape_size) if at["input_shape"].nunique() > 1 else \
        (at["input_shape"].iloc[0] if _ok(at) else None)
    row["max_copies_ok"] = _largest_ok(at, "copies")
    bad = at[at["status"].isin(STOPS)]
    if bad.empty:
        row["first_failing"], row["stopped_by"] = "", "nothing failed"
    else:
        first = bad.sort_values(["batch_size", "copies"], kind="stable").iloc[0]
        n = int(((at["batch_size"] == first["batch_size"]) & (at["copies"] == first["copies"])
                 & (at["input_shape"] == first["input_shape"])).sum())
        nbad = int(((bad["batch_size"] == first["batch_size"]) & (bad["copies"] == first["copies"])
                    & (bad["input_shape"] == first["input_shape"])).sum())
        row["first_failing"] = "batch %s, shape %s, copies %s" % (_fmt(first["batch_size"]), first["input_shape"] or
                                                                  "-", _fmt(first["copies"]))
        row["stopped_by"] = "%d of %d %s: %s" % (nbad, n, first["status"], str(first.get("reason") or "")[:160])
    row["ramp"] = _ramp_text(row, ramps)
    return row


def _ramp_text(row: dict[str, Any], ramps: Optional[pd.DataFrame]) -> str:
    if ramps is None or ramps.empty:
        return ""
    out = []
    for _, r in ramps.iterrows():
        words = " %s " % r.get("group", "")
        if all(" %s=%s " % (k, row[k]) in words for k in ("model", "framework") if row.get(k) is not None):
            stop = ("stopped at %s=%s: %s" % (r["axis"], _fmt(r["stop_level"]), r["stop_reason"])
                    if r.get("stopped_by") else "not stopped")
            out.append("%s: max ok %s, %s" % (r["axis"], _fmt(r["max_level_ok"]), stop))
    return "; ".join(out)


def _memory(key: Any, g: pd.DataFrame, share: float) -> Optional[dict[str, Any]]:
    """P1's question for one configuration swept over memory limits; None when it ran at one limit only."""
    lim = pd.to_numeric(g.get("limit_memory_mb"), errors="coerce")
    limits = sorted(set(lim.dropna()), reverse=True)
    if len(limits) < 2:
        return None
    per = []
    for L in limits:
        lg = g[lim == L]
        ok = lg[lg["status"] == "ok"]
        p50 = pd.to_numeric(ok["p50_s"], errors="coerce").dropna()
        per.append((L, len(lg), len(ok), 1000 * float(p50.median()) if len(p50) else None,
                    ", ".join("%d %s" % (n, s) for s, n in lg["status"].value_counts().items())))
    row: dict[str, Any] = dict(zip(MEMORY_KEYS, key))
    row.update({"limits_tried_mb": "/".join("%g" % L for L in sorted(limits)), "share": share})
    first = per[0]
    base = first[3] if first[1] == first[2] else None
    row["p50_ms_at_most_memory_host_cpu"] = base
    enough, below = None, ""
    for L, n, nok, p50, statuses in per:
        if base is None:
            below = "at the most memory (%g MiB): %s" % (L, statuses)
            break
        if nok == n and p50 is not None and p50 <= (1 + share) * base:
            enough = L
            continue
        below = ("at %g MiB: %s" % (L, statuses) if nok < n else
                 "at %g MiB: p50 %.2f ms, +%.0f%%" % (L, p50 or 0.0, 100 * ((p50 or 0.0) / base - 1)))
        break
    row["fits_down_to_mb"] = min((L for L, n, nok, _, _ in per if nok == n), default=None)
    row["degrades_below_mb"] = enough if below else None
    row["below_that"] = below or "no degradation down to %g MiB" % limits[-1]
    return row


def write_csv(c: Ceilings, out: Path) -> list[Path]:
    paths = []
    for name, df in (("ceilings_fit.csv", c.fits), ("ceilings_memory.csv", c.memory)):
        df.to_csv(out / name, index=False)
        paths.append(out / name)
    return paths


def title(c: Ceilings) -> str:
    return "Memory ceilings of %s (ceiling emulation: %s, %s CPUs)" % (
        c.device, "%g MiB" % c.memory_mb if c.memory_mb else "its memory", "%g" % c.cpus if c.cpus else "its")


INTRO = ("From the ceiling-mode runs: this host's own images under %s's memory, swap and CPU count. "
         "Memory figures are the device's to the extent cgroup memory accounting is; latencies are the "
         "host CPU's, so only their ratios count.")


def markdown(c: Optional[Ceilings]) -> str:
    if c is None:
        return ""
    out = ["## %s" % title(c), "", INTRO % c.device, "",
           "Largest level that ran ok at the most memory the runs had, per model (`ceilings_fit.csv`):", ""]
    rows = [[_fmt(r["model"]), _fmt(r["framework"]), _fmt(r["precision"]),
             _level(r["memory_limit_mb"]) if _num(r["memory_limit_mb"]) is not None else "device's",
             _level(r["max_batch_ok"]), _fmt(r["max_input_shape_ok"]), _level(r["max_copies_ok"]),
             _fmt(r["first_failing"]) or "-", _fmt(r["stopped_by"]), _fmt(r["ramp"]) or "-"]
            for _, r in c.fits.iterrows()]
    out += [_table(["model", "framework", "prec", "memory MiB", "max batch ok", "max input shape ok",
                    "max concurrency ok", "first failing level", "what stopped it", "ramp"], rows), ""]
    if not c.memory.empty:
        out += ["Memory limit below which p50 degrades by more than %.0f%% of its value at the most memory "
                "(P1's question; `ceilings_memory.csv`):" % (100 * c.share), ""]
        rows = [[_fmt(r["model"]), _fmt(r["framework"]), _fmt(r["precision"]), _level(r["batch_size"]),
                 _fmt(r["input_shape"]) or "-", _level(r["copies"]), _fmt(r["limits_tried_mb"]),
                 _fmt(r["p50_ms_at_most_memory_host_cpu"]), _level(r["fits_down_to_mb"]),
                 _level(r["degrades_below_mb"]), _fmt(r["below_that"])] for _, r in c.memory.iterrows()]
        out += [_table(["model", "framework", "prec", "batch", "shape", "copies", "limits MiB",
                        "p50 ms at most memory (host CPU)", "fits down to MiB", "degrades below MiB",
                        "below that"], rows), ""]
    out += ["What this emulation cannot see:", ""] + ["- %s" % x for x in c.caveats] + [""]
    return "\n".join(out) + "\n"
