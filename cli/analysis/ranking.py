"""Models ranked by latency per device, framework, precision and batch size (P1 "Analysis").

Each model is compared at its most generous memory limit (unlimited where it ran so), like the
report's latency bars, so a memory sweep does not rank a model by its starved stages. A model's
latency is the median over its ok runs of each run's p50. Two neighbours are tied when their runs'
p50 ranges overlap or their medians differ by less than TIE_REL; tied models share a rank.
"""

from typing import Any

import numpy as np
import pandas as pd

from .correlation import NO_DEVICE

TIE_REL = 0.02
DEFAULT_CV = 0.10  # as report.summary: the spread across runs above which a result is noisy
GROUP = ["device", "framework", "precision", "batch_size"]
COLUMNS = GROUP + ["rank", "tied", "model", "p50_ms", "p50_ms_min", "p50_ms_max", "runs", "x_fastest",
                   "memory_limit_mb", "noisy", "noise", "run_ids"]


def generous(ok: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """The ok runs at the most generous memory limit of each group of keys (no limit counts as infinite)."""
    mem = pd.to_numeric(ok.get("limit_memory_mb", pd.Series(np.nan, index=ok.index)), errors="coerce")
    mem = mem.fillna(np.inf)
    top = mem.groupby([ok[k] for k in keys], dropna=False).transform("max")
    return ok[mem == top].assign(_mem=mem)


def with_device(runs: pd.DataFrame) -> pd.DataFrame:
    df = runs.copy()
    df["device"] = df["device"].fillna(NO_DEVICE).astype(str) if "device" in df else NO_DEVICE
    return df


def _noise(g: pd.DataFrame, p50: "pd.Series[float]") -> str:
    why = []
    if "noisy" in g and g["noisy"].fillna(False).astype(bool).any():
        why.append("%d of %d runs noisy" % (int(g["noisy"].fillna(False).astype(bool).sum()), len(g)))
    if len(p50) > 1 and p50.mean() > 0:
        cv = float(p50.std(ddof=1) / p50.mean())
        if cv > DEFAULT_CV:
            why.append("p50 CV across runs %.0f%%" % (100 * cv))
    return "; ".join(why)


def _model_row(model: Any, g: pd.DataFrame) -> dict[str, Any]:
    p50 = 1000 * pd.to_numeric(g["p50_s"], errors="coerce").dropna()
    noise = _noise(g, p50)
    mem = float(g["_mem"].iloc[0])
    return {"model": model, "p50_ms": float(p50.median()), "p50_ms_min": float(p50.min()),
            "p50_ms_max": float(p50.max()), "runs": int(len(p50)),
            "memory_limit_mb": None if np.isinf(mem) else mem, "noisy": bool(noise), "noise": noise,
            "run_ids": " ".join(g["run_id"].astype(str))}


def _tied(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """b is at least as slow as a."""
    overlap = b["p50_ms_min"] <= a["p50_ms_max"]
    return bool(overlap or b["p50_ms"] - a["p50_ms"] < TIE_REL * a["p50_ms"])


def rank(runs: pd.DataFrame) -> pd.DataFrame:
    if runs.empty or "p50_s" not in runs:
        return pd.DataFrame(columns=COLUMNS)
    ok = with_device(runs)
    ok = ok[(ok["status"] == "ok") & pd.to_numeric(ok["p50_s"], errors="coerce").notna()]
    if ok.empty:
        return pd.DataFrame(columns=COLUMNS)
    ok = generous(ok, GROUP + ["model"])
    rows: list[dict[str, Any]] = []
    for key, g in ok.groupby(GROUP, sort=True):
        models = sorted((_model_row(m, mg) for m, mg in g.groupby("model")), key=lambda r: (r["p50_ms"], r["model"]))
        fastest = models[0]["p50_ms"]
        for i, r in enumerate(models):
            tied = i > 0 and _tied(models[i - 1], r)
            r["rank"] = rows[-1]["rank"] if tied else i + 1
            r["tied"] = tied or (i + 1 < len(models) and _tied(r, models[i + 1]))
            r["x_fastest"] = r["p50_ms"] / fastest if fastest > 0 else None
            rows.append(dict(zip(GROUP, key), **r))
    return pd.DataFrame(rows, columns=COLUMNS)
