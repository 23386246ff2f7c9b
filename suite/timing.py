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


def noise_check(summary: Optional[Summary], cv_threshold: float) -> Tuple[bool, str]:
    """A result is noisy when its coefficient of variation exceeds the threshold."""
    if summary is None or summary.n < 2:
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
