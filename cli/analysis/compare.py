"""Compare campaigns cell by cell: ratio of medians with a bootstrap CI, a significance test, a verdict.

A cell is matched on what it measures (model, framework, precision, batch, shape, threads, placement,
workload, limits, labels), not on the device, so two devices can be compared. Per cell:
- ratio = median over B's runs of the metric / the same over A's runs (latency: > 1 is slower);
- CI: a two-level bootstrap: each run's samples resampled (its own noise), then the runs resampled
  (the run-to-run drift that a single run's samples cannot show); percentile interval;
- test: Mann-Whitney U (scipy.stats.mannwhitneyu, exact, two-sided) on the per-run medians. Per-run
  values, not pooled samples: the samples of one run share its machine state, so pooling them would
  count drift as evidence (pseudo-replication). With few runs the test cannot reach alpha (2 vs 2:
  the smallest two-sided p is 1/3), and the verdict then rests on the CI alone, which the result says.
- verdict: slower / faster when the CI excludes 1 and the test, where it can decide, agrees; else same.
Emulated runs (analysis/speed.py): functional (QEMU) runs are left out unless show_emulated; a cell of
ceiling-mode runs is compared but says its timings are the host CPU's. Emulation labels are cell keys, so an
emulated cell never matches a real one.
"""

import dataclasses
import math
from dataclasses import asdict, dataclass, field
from typing import Any, Optional

import numpy as np
import pandas as pd
from scipy.stats import mannwhitneyu

from ..errors import InputError
from . import speed
from .tables import Tables

MATCH_KEYS = ["model", "framework", "precision", "batch_size", "input_shape", "threads", "placement", "workload",
              "copies", "streams", "limit_memory_mb", "limit_memory_swap_mb", "limit_swappiness", "limit_cpus"]
# What must agree for a ratio to mean the change under test (pyperf refuses such runs too).
ENV_KEYS = ["runtime_version", "graph_precision", "applied_memory_mb", "applied_memory_swap_mb", "applied_cpus"]
METRICS = {"p50": ("p50_s", 50.0, True), "p99": ("p99_s", 99.0, True), "throughput": ("throughput_ips", None, False)}
ALPHA = 0.05
RESAMPLES = 2000


@dataclass
class CellResult:
    cell: dict[str, Any]
    runs_a: int
    runs_b: int
    median_a: float
    median_b: float
    ratio: float  # B / A of the metric
    ci_lo: float
    ci_hi: float
    p_value: float
    test_can_decide: bool  # the smallest p this many runs can give is below alpha
    verdict: str  # faster, slower, same
    slowdown: float  # > 1: B is slower by this factor, whatever the metric's direction
    devices: str = ""
    timing: str = "device"  # whose timings these are: device, host CPU (ceiling), QEMU (functional, if shown)


@dataclass
class Comparison:
    base: str
    other: str
    metric: str
    confidence: float
    cells: list[CellResult] = field(default_factory=list)
    only_base: list[dict[str, Any]] = field(default_factory=list)
    only_other: list[dict[str, Any]] = field(default_factory=list)
    differences: list[str] = field(default_factory=list)  # environment differences allowed by the caller
    varying: list[str] = field(default_factory=list)  # cell keys that differ between cells (worth showing)
    geomean: Optional[float] = None
    geomean_ci: tuple[Optional[float], Optional[float]] = (None, None)
    left_out: list[str] = field(default_factory=list)  # runs not compared (functional emulation), and why

    def counts(self) -> dict[str, int]:
        out = {"faster": 0, "slower": 0, "same": 0}
        for c in self.cells:
            out[c.verdict] += 1
        return out

    def name(self, cell: dict[str, Any]) -> str:
        return cell_name(cell, self.varying)

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        for c, x in zip(d["cells"], self.cells):
            c["name"] = self.name(x.cell)
        d["counts"] = self.counts()
        d["test"] = "Mann-Whitney U (exact, two-sided) on per-run values, alpha %.2f" % ALPHA
        return d


def match_keys(a: pd.DataFrame, b: pd.DataFrame) -> list[str]:
    keys = [k for k in MATCH_KEYS if k in a or k in b]
    keys += sorted({c for c in list(a.columns) + list(b.columns) if c.startswith("label_")})
    return keys


def _key(row: pd.Series, keys: list[str]) -> tuple[str, ...]:
    return tuple("" if _missing(row.get(k)) else str(row.get(k)) for k in keys)


def _missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def _group(ok: pd.DataFrame, keys: list[str]) -> dict[tuple[str, ...], pd.DataFrame]:
    out: dict[tuple[str, ...], list[Any]] = {}
    for i, r in ok.iterrows():
        out.setdefault(_key(r, keys), []).append(i)
    return {k: ok.loc[v] for k, v in out.items()}


def _samples_by_run(t: Tables) -> dict[str, np.ndarray]:
    s = t.samples
    if s.empty:
        return {}
    timed = s[s["phase"] == "measure"]
    return {str(r): pd.to_numeric(g["latency_s"], errors="coerce").dropna().to_numpy(dtype=float)
            for r, g in timed.groupby("run_id")}


def side_boot(values: np.ndarray, samples: Optional[list[np.ndarray]], q: Optional[float],
              rng: np.random.RandomState, resamples: int = RESAMPLES) -> np.ndarray:
    """Bootstrap replicates of the median over runs: each run's samples resampled (for a latency
    percentile q, when every run has samples), then the runs resampled."""
    if q is not None and samples is not None and len(samples) == len(values) and all(len(s) >= 2 for s in samples):
        per_run = np.stack([np.percentile(s[rng.randint(0, len(s), size=(resamples, len(s)))], q, axis=1)
                            for s in samples], axis=1)
    else:
        per_run = np.tile(values, (resamples, 1))
    k = per_run.shape[1]
    idx = rng.randint(0, k, size=(resamples, k))
    out: np.ndarray = np.median(np.take_along_axis(per_run, idx, axis=1), axis=1)
    return out


def min_p(n: int, m: int) -> float:
    """The smallest two-sided p an exact Mann-Whitney U test of n vs m values can give."""
    return min(1.0, 2.0 / math.comb(n + m, n))


def check_env(a: Tables, b: Tables, keys: list[str], common: list[tuple[str, ...]]) -> list[str]:
    """Where the two campaigns' runs of a common cell differ in what matters, one line per key."""
    ca, cb = _group(_ok(a, keys), keys), _group(_ok(b, keys), keys)
    diffs: dict[str, set[str]] = {}
    for key in common:
        for k in ENV_KEYS:
            va = _values(ca[key], k)
            vb = _values(cb[key], k)
            if va != vb:
                diffs.setdefault(k, set()).add("%s vs %s" % ("/".join(sorted(va)) or "-", "/".join(sorted(vb)) or "-"))
    return ["%s differs: %s" % (k, "; ".join(sorted(v))) for k, v in sorted(diffs.items())]


def _ok(t: Tables, keys: list[str]) -> pd.DataFrame:
    ok = t.runs[t.runs["status"] == "ok"].copy() if not t.runs.empty else pd.DataFrame(columns=keys + ["status"])
    for k in keys:
        if k not in ok:
            ok[k] = None
    return ok


def _values(g: pd.DataFrame, col: str) -> set[str]:
    if col not in g:
        return set()
    return {("%g" % v) if isinstance(v, float) else str(v) for v in g[col] if not _missing(v)}


def cell_name(cell: dict[str, Any], shown: Optional[list[str]] = None) -> str:
    """model framework precision bN, then the keys that vary (`shown`; all when None)."""
    parts = ["%s" % cell.get("model"), "%s" % cell.get("framework"), "%s" % (cell.get("precision") or "fp32"),
             "b%s" % cell.get("batch_size")]
    for k, v in cell.items():
        if k in ("model", "framework", "precision", "batch_size") or v in ("", None):
            continue
        if shown is not None and k not in shown:
            continue
        parts.append("%s=%s" % (k.replace("limit_", ""), v))
    return " ".join(parts)


def _speed_view(t: Tables, show_emulated: bool, left_out: list[str]) -> Tables:
    """The campaign's runs that have a speed to compare, each with its `emulation` mode."""
    if t.runs.empty:
        return t
    runs = t.runs.assign(emulation=speed.modes(t.runs))
    qemu = runs["emulation"] == speed.FUNCTIONAL
    if qemu.any() and not show_emulated:
        left_out.append("%s: %d functional-emulation run(s) left out: their timings are QEMU's, not the device's "
                        "(--show-emulated-speed compares them anyway)" % (t.campaign, int(qemu.sum())))
        runs = runs[~qemu]
    return dataclasses.replace(t, runs=runs)


def _timing(ga: pd.DataFrame, gb: pd.DataFrame) -> str:
    got = set(ga.get("emulation", pd.Series(dtype=object))) | set(gb.get("emulation", pd.Series(dtype=object)))
    marks = [speed.MARK[m] for m in (speed.CEILING, speed.FUNCTIONAL) if m in got]
    return " + ".join(marks) or "device"


def compare(a: Tables, b: Tables, metric: str = "p50", confidence: float = 0.95,
            allow_differences: bool = False, seed: int = 0, show_emulated: bool = False) -> Comparison:
    """B against A, cell by cell."""
    if metric not in METRICS:
        raise InputError("--metric", "", "expected one of %s, got %r" % (", ".join(METRICS), metric))
    left_out: list[str] = []
    a, b = _speed_view(a, show_emulated, left_out), _speed_view(b, show_emulated, left_out)
    col, q, lower_better = METRICS[metric]
    keys = match_keys(a.runs, b.runs)
    ca, cb = _group(_ok(a, keys), keys), _group(_ok(b, keys), keys)
    common = [k for k in ca if k in cb]
    res = Comparison(a.campaign, b.campaign, metric, confidence, left_out=left_out)
    res.only_base = [dict(zip(keys, k)) for k in ca if k not in cb]
    res.only_other = [dict(zip(keys, k)) for k in cb if k not in ca]
    res.varying = [k for i, k in enumerate(keys) if len({key[i] for key in list(ca) + list(cb)}) > 1]
    if not common:
        raise InputError("%s vs %s" % (a.campaign, b.campaign), "cells",
                         "no cell with ok runs on both sides (%d cells only in %s, %d only in %s)%s"
                         % (len(ca), a.campaign, len(cb), b.campaign,
                            "".join("; " + x for x in left_out)))
    diffs = check_env(a, b, keys, common)
    if diffs and not allow_differences:
        raise InputError("%s vs %s" % (a.campaign, b.campaign), "environment",
                         "%s (pass --allow-differences to compare anyway)" % "; ".join(diffs))
    res.differences = diffs
    rng = np.random.RandomState(seed)
    sa, sb = _samples_by_run(a), _samples_by_run(b)
    tail = 50 * (1 - confidence)
    reps = []
    for key in common:
        ga, gb = ca[key], cb[key]
        va = pd.to_numeric(ga[col], errors="coerce").dropna().to_numpy(dtype=float)
        vb = pd.to_numeric(gb[col], errors="coerce").dropna().to_numpy(dtype=float)
        if len(va) == 0 or len(vb) == 0 or float(np.median(va)) <= 0:
            continue
        ba = side_boot(va, [sa.get(str(r), np.array([])) for r in ga["run_id"]], q, rng)
        bb = side_boot(vb, [sb.get(str(r), np.array([])) for r in gb["run_id"]], q, rng)
        ratios = bb / ba
        reps.append(np.log(ratios))
        ratio = float(np.median(vb) / np.median(va))
        lo, hi = (float(v) for v in np.percentile(ratios, [tail, 100 - tail]))
        p = float(mannwhitneyu(va, vb, alternative="two-sided", method="exact").pvalue)
        can = min_p(len(va), len(vb)) < 1 - confidence
        differs = (lo > 1 or hi < 1) and (p < 1 - confidence or not can)
        worse = ratio > 1 if lower_better else ratio < 1
        verdict = "same" if not differs else ("slower" if worse else "faster")
        slowdown = ratio if lower_better else 1 / ratio
        devices = " / ".join(sorted(_values(ga, "device") | _values(gb, "device")))
        res.cells.append(CellResult(dict(zip(keys, key)), len(va), len(vb), float(np.median(va)),
                                    float(np.median(vb)), ratio, lo, hi, p, can, verdict, slowdown, devices,
                                    _timing(ga, gb)))
    if res.cells:
        logs = np.log([c.ratio for c in res.cells])
        res.geomean = float(np.exp(logs.mean()))
        per_rep = np.exp(np.mean(np.stack(reps), axis=0))
        res.geomean_ci = tuple(float(v) for v in np.percentile(per_rep, [tail, 100 - tail]))  # type: ignore[assignment]
    return res


def regressions(c: Comparison, threshold: float) -> list[CellResult]:
    """Cells B is significantly slower in, by more than `threshold` (0.05: 5 %)."""
    return [x for x in c.cells if x.verdict == "slower" and x.slowdown > 1 + threshold]

