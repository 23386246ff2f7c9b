"""cli/adaptive.py's decision for one cell, from results as the store reads them."""

from edgebench.cli.adaptive import judge
from edgebench.cli.matrix import Adaptive
from edgebench.suite.spec import RunResult, Summary


def _ok(p50: float) -> RunResult:
    s = Summary(n=10, mean=p50, std=0.0, cv=0.0, min=p50, p50=p50, p90=p50, p99=p50, max=p50)
    return RunResult(run_id="x", status="ok", spec={}, summary=s)


AD = Adaptive(ci_share=0.025, min_repetitions=3, max_repetitions=5)


def test_tight_medians_stop_at_the_minimum() -> None:
    assert judge([_ok(0.100), _ok(0.101)], AD).stop == ""  # under the minimum: one more
    v = judge([_ok(0.100), _ok(0.101), _ok(0.1005)], AD)
    assert v.stop == "ci_within_share" and v.ci[0] <= v.median_s <= v.ci[1] and v.share <= 0.025


def test_spread_medians_run_to_the_maximum() -> None:
    runs = [_ok(0.1), _ok(0.2), _ok(0.15)]
    assert judge(runs, AD).stop == ""
    assert judge(runs + [_ok(0.12), _ok(0.18)], AD).stop == "max_repetitions"


def test_a_cell_that_always_ooms_stops_at_the_minimum_and_a_mixed_one_does_not() -> None:
    oom = RunResult(run_id="x", status="oom", spec={})
    assert judge([oom, oom], AD).stop == ""
    assert judge([oom, oom, oom], AD).stop == "no_ok_repetitions"
    failed = RunResult(run_id="x", status="failed", spec={})
    assert judge([oom, failed, oom], AD).stop == ""
    assert judge([oom, _ok(0.1), oom], AD).stop == ""
