"""The cell noise rule (cli/analysis/noise.py) on values whose answer is known by hand."""

import pytest
from edgebench.cli.analysis import noise


def test_two_runs_ci_is_their_range_and_the_flag_follows_its_half_width() -> None:
    # two runs: bootstrap medians are a, (a+b)/2, b; the 95 % CI is [a, b], half-width (b-a)/(a+b)
    close = noise.cell_noise([0.010, 0.0115], [0.3, 0.3])  # +-7 %: noisy inside a run, steady across runs
    assert (close.ci_lo, close.ci_hi) == pytest.approx((0.010, 0.0115))
    assert close.ci_half_width == pytest.approx(0.0015 / 0.0215)
    assert not close.noisy and close.spread_median == pytest.approx(0.3)
    apart = noise.cell_noise([0.010, 0.013], [0.01, 0.01])  # +-13 %: steady inside, the runs disagree
    assert apart.noisy and "run-to-run CI" in apart.reason and "2 runs" in apart.reason
    assert not noise.cell_noise([0.010, 0.013], [], threshold=0.2).noisy


def test_one_run_falls_back_to_its_robust_spread() -> None:
    one = noise.cell_noise([0.01], [0.30])
    assert one.noisy and one.ci_lo is None and one.ci_half_width is None and "IQR/median 30.0%" in one.reason
    assert not noise.cell_noise([0.01], [0.20]).noisy
    assert noise.cell_noise([], []).median is None

