import numpy as np
import pytest
from edgebench.suite.timing import median_ci, noise_check, robust_spread, summarize


def test_summary_matches_numpy() -> None:
    x = list(np.random.RandomState(1).lognormal(-3, 0.2, 200))
    s = summarize(x)
    assert s is not None
    assert s.n == 200
    assert s.p50 == pytest.approx(float(np.median(x)))
    assert s.p99 == pytest.approx(float(np.percentile(x, 99)))
    assert s.std == pytest.approx(float(np.std(x, ddof=1)))
    assert s.cv == pytest.approx(s.std / s.mean)
    assert s.min <= s.p50 <= s.p90 <= s.p99 <= s.max


def test_noise_flag() -> None:
    quiet = summarize([1.0, 1.01, 0.99, 1.0])
    loud = summarize([1.0, 2.0, 0.5, 1.5])
    assert noise_check(quiet, 0.10) == (False, "")
    flagged, why = noise_check(loud, 0.10)
    assert flagged and "CV" in why
    assert summarize([]) is None


def test_one_stall_makes_a_cv_noisy_but_not_the_robust_spread() -> None:
    """The shared-machine case: 99 steady inferences and one 20x stall. The CV fires, IQR/median does not."""
    steady = list(np.random.RandomState(2).normal(0.010, 0.0002, 99)) + [0.2]
    s = summarize(steady)
    assert s is not None and s.cv > 0.10
    spread = robust_spread(steady)
    assert spread is not None and spread < 0.05
    assert noise_check(s, 0.10, steady) == (False, "")
    wide = list(np.random.RandomState(3).uniform(0.005, 0.015, 100))  # IQR/median about 50 %
    flagged, why = noise_check(summarize(wide), 0.10, wide)
    assert flagged and why.startswith("IQR/median")
    assert robust_spread([1.0, 2.0, 3.0]) is None  # too few samples for quartiles


def test_median_ci_narrows_with_more_samples() -> None:
    rng = np.random.RandomState(0)
    few = list(rng.normal(10, 1, 5))
    many = list(rng.normal(10, 1, 200))
    m1, lo1, hi1 = median_ci(few)
    m2, lo2, hi2 = median_ci(many)
    assert lo1 <= m1 <= hi1 and lo2 <= m2 <= hi2
    assert (hi2 - lo2) < (hi1 - lo1)
    assert lo2 < 10 < hi2
