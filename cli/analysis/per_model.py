"""Warm-up against steady state, and utilisation, per model and precision (P1 "Analysis").

Warm-up: the first inference (warmup_s) next to the steady median (each run's p50), medians over
the ok runs at the smallest batch size and the most generous memory limit, so cells compare alike.
Utilisation: mean CPU % (and GPU % where a GPU monitor reported) over every ok run of the model
and precision, whatever the batch or limit; the column says which monitor it came from.
"""

from typing import Any

import numpy as np
import pandas as pd

from .correlation import CPU, GPU, Var
from .ranking import generous, with_device

KEYS = ["device", "model", "framework", "precision"]
WARMUP_COLUMNS = KEYS + ["batch_size", "memory_limit_mb", "runs", "warmup_ms", "steady_p50_ms", "warmup_x_steady"]
UTIL_COLUMNS = KEYS + ["runs", "cpu_percent_mean", "cpu_source", "gpu_percent_mean", "gpu_source"]


def _ok(runs: pd.DataFrame) -> pd.DataFrame:
    if runs.empty or "status" not in runs:
        return runs.iloc[0:0]
    df = with_device(runs)
    return df[df["status"] == "ok"]


def _median_ms(s: "pd.Series[Any]") -> Any:
    v = pd.to_numeric(s, errors="coerce").dropna()
    return 1000 * float(v.median()) if len(v) else None


def warmup(runs: pd.DataFrame) -> pd.DataFrame:
    ok = _ok(runs)
    if ok.empty or "warmup_s" not in ok:
        return pd.DataFrame(columns=WARMUP_COLUMNS)
    smallest = pd.to_numeric(ok["batch_size"], errors="coerce")
    ok = ok[smallest == smallest.groupby([ok[k] for k in KEYS]).transform("min")]
    ok = generous(ok, KEYS)
    rows = []
    for key, g in ok.groupby(KEYS, sort=True):
        warm, steady = _median_ms(g["warmup_s"]), _median_ms(g["p50_s"])
        mem = float(g["_mem"].iloc[0])
        rows.append(dict(zip(KEYS, key), batch_size=int(g["batch_size"].iloc[0]),
                         memory_limit_mb=None if np.isinf(mem) else mem, runs=len(g), warmup_ms=warm,
                         steady_p50_ms=steady,
                         warmup_x_steady=warm / steady if warm is not None and steady else None))
    return pd.DataFrame(rows, columns=WARMUP_COLUMNS)


def _mean(g: pd.DataFrame, var: Var) -> tuple[Any, str]:
    for col in var.columns:
        if col in g:
            v = pd.to_numeric(g[col], errors="coerce").dropna()
            if len(v):
                return float(v.mean()), col
    return None, ""


def utilisation(runs: pd.DataFrame) -> pd.DataFrame:
    ok = _ok(runs)
    if ok.empty:
        return pd.DataFrame(columns=UTIL_COLUMNS)
    rows = []
    for key, g in ok.groupby(KEYS, sort=True):
        cpu, cpu_src = _mean(g, CPU)
        gpu, gpu_src = _mean(g, GPU)
        rows.append(dict(zip(KEYS, key), runs=len(g), cpu_percent_mean=cpu, cpu_source=cpu_src,
                         gpu_percent_mean=gpu, gpu_source=gpu_src))
    return pd.DataFrame(rows, columns=UTIL_COLUMNS)
