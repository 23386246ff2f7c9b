"""Statistics over raw latency samples, and the noise check."""

import math
from typing import List, Optional, Sequence, Tuple

import numpy as np

from .spec import Summary


def summarize(samples: Sequence[float]) -> Optional[Summary]:
    """Mean, sample std, CV and percentiles (linear interpolation) of raw samples."""
    if not samples:
        return None
    a = np.asarray(samples, dtype=np.float64)
    mean = float(a.mean())
    std = float(a.std(ddof=1)) if a.size > 1 else 0.0
    p50, p90, p99 = (float(v) for v in np.percentile(a, [50, 90, 99]))
    return Summary(n=int(a.size), mean=mean, std=std, cv=std / mean if mean > 0 else math.inf,
                   min=float(a.min()), p50=p50, p90=p90, p99=p99, max=float(a.max()))


def robust_spread(samples: Sequence[float]) -> Optional[float]:
    """IQR/median of raw samples: the spread one outlier cannot inflate (None below 4 samples)."""
    if len(samples) < 4:
        return None
    q1, med, q3 = (float(v) for v in np.percentile(np.asarray(samples, dtype=np.float64), [25, 50, 75]))
    return (q3 - q1) / med if med > 0 else None


def noise_check(summary: Optional[Summary], cv_threshold: float,
                samples: Optional[Sequence[float]] = None) -> Tuple[bool, str]:
    """A run is noisy when the IQR/median of its samples exceeds the threshold (a CV, which a single
    stall inflates, fired on most runs of a shared machine); without samples, the CV is used."""
    if summary is None or summary.n < 2:
        return False, ""
    spread = robust_spread(samples) if samples is not None else None
    if spread is not None:
        if spread > cv_threshold:
            return True, "IQR/median %.1f%% > %.1f%% over %d samples" % (100 * spread, 100 * cv_threshold,
                                                                          len(samples or []))
        return False, ""
    if summary.cv > cv_threshold:
        return True, "CV %.1f%% > %.1f%% over %d samples" % (100 * summary.cv, 100 * cv_threshold, summary.n)
    return False, ""


def median_ci(values: List[float], confidence: float = 0.95, resamples: int = 2000,
              seed: int = 0) -> Tuple[float, float, float]:
    """Median and its bootstrap confidence interval (percentile method)."""
    a = np.asarray(values, dtype=np.float64)
    rng = np.random.RandomState(seed)
    idx = rng.randint(0, a.size, size=(resamples, a.size))
    meds = np.median(a[idx], axis=1)
    lo, hi = np.percentile(meds, [50 * (1 - confidence), 100 - 50 * (1 - confidence)])
    return float(np.median(a)), float(lo), float(hi)
