import numpy as np
import pytest
from edgebench.suite.timing import median_ci, noise_check, summarize


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


def test_median_ci_narrows_with_more_samples() -> None:
    rng = np.random.RandomState(0)
    few = list(rng.normal(10, 1, 5))
    many = list(rng.normal(10, 1, 200))
    m1, lo1, hi1 = median_ci(few)
    m2, lo2, hi2 = median_ci(many)
    assert lo1 <= m1 <= hi1 and lo2 <= m2 <= hi2
    assert (hi2 - lo2) < (hi1 - lo1)
    assert lo2 < 10 < hi2
