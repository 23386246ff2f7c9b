"""A noise flag that means something: what a decision about a cell would depend on.

A single run's spread (IQR/median of its timed inferences, robust to the one outlier that inflates a
CV) says how steady the loop was; the run-to-run confidence interval of the median (bootstrap over the
repetitions' medians) says how far the cell's figure could move if it were measured again. A cell is
`noisy` when that interval is wider than +-`threshold` of the median (10 % by default: the cv_threshold
of the runs), or, with a single repetition and so no interval, when its robust spread exceeds
`IQR_NOISY` (25 %). Within-run spreads between `IQR_WARN` and `IQR_NOISY` are reported, not flagged.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Optional

import numpy as np
from edgebench.suite.timing import median_ci

IQR_WARN = 0.10  # torch.utils.benchmark warns at this IQR/median
IQR_NOISY = 0.25
DEFAULT_THRESHOLD = 0.10  # half-width of the run-to-run CI, as a share of the median
CONFIDENCE = 0.95


@dataclass
class CellNoise:
    median: Optional[float]
    ci_lo: Optional[float]
    ci_hi: Optional[float]
    runs: int
    spread_median: Optional[float]  # median over runs of each run's IQR/median
    noisy: bool
    reason: str

    @property
    def ci_half_width(self) -> Optional[float]:
        """Half the CI as a share of the median (None with fewer than two runs)."""
        if self.median is None or self.ci_lo is None or self.ci_hi is None or self.median <= 0:
            return None
        return (self.ci_hi - self.ci_lo) / 2 / self.median


def cell_noise(medians: Sequence[float], spreads: Sequence[float],
               threshold: float = DEFAULT_THRESHOLD) -> CellNoise:
    """The cell's median over repetitions with its CI, and whether a decision could hinge on noise."""
    vals = [float(v) for v in medians if v is not None and np.isfinite(v)]
    sp = [float(v) for v in spreads if v is not None and np.isfinite(v)]
    spread = float(np.median(sp)) if sp else None
    if not vals:
        return CellNoise(None, None, None, 0, spread, False, "")
    if len(vals) == 1:
        noisy = spread is not None and spread > IQR_NOISY
        why = ("one run, IQR/median %.1f%% > %.0f%%" % (100 * (spread or 0), 100 * IQR_NOISY)) if noisy else ""
        return CellNoise(vals[0], None, None, 1, spread, noisy, why)
    med, lo, hi = median_ci(vals, CONFIDENCE)
    cell = CellNoise(med, lo, hi, len(vals), spread, False, "")
    half = cell.ci_half_width
    if half is not None and half > threshold:
        cell.noisy = True
        cell.reason = "run-to-run CI of the median +-%.1f%% > %.0f%% over %d runs" % (100 * half, 100 * threshold,
                                                                                   len(vals))
    return cell

