"""Plan estimates at least / at most for adaptive repetitions and ramps, on the seed matrices."""

from pathlib import Path

from edgebench.cli import estimates, plan, ramp_campaign

ROOT = Path(__file__).resolve().parents[2]


def test_adaptive_counts_from_the_minimum_to_the_maximum_repetitions() -> None:
    p = plan.build(ROOT / "matrices/memory-sweep-rpi4.yaml")
    b = estimates.bounds(p)
    cells = len(p.runs) // 3
    assert (b.runs_min, b.runs_max) == (cells * 3, cells * 5)
    assert abs(b.s_max / b.s_min - 5 / 3) < 1e-9
    assert "at least 3" in b.assumes[0] and "at most 5" in b.assumes[0]
    assert "6039 to 10065 runs" in estimates.text(b)


def test_a_ramp_counts_its_first_levels_at_least_and_every_level_at_most() -> None:
    p = plan.build(ROOT / "matrices/p3-batching.yaml")
    b = estimates.bounds(p)
    assert b.runs_max == len(p.runs) and b.s_max == p.estimate_s
    assert b.runs_min == ramp_campaign.plan_note(p)["fewest_runs"] == 780  # 26 groups x 30 first-level runs
    assert b.s_min < b.s_max


def test_a_fixed_matrix_has_one_figure() -> None:
    b = estimates.bounds(plan.build(ROOT / "matrices/p5-pruning.yaml"))
    assert b.runs_min == b.runs_max == 1080 and b.s_min == b.s_max
    assert estimates.text(b).startswith("1080 runs, about 4.3 days")


def test_without_history_every_estimate_says_it_is_the_model(tmp_path: Path) -> None:
    p = plan.build(ROOT / "matrices/smoke.yaml")
    before = [r.estimate_s for r in p.runs]
    sources = estimates.learn(p, tmp_path)  # an empty results root
    assert all(v.startswith("model (cli/plan.py) for ") for v in sources.values())
    assert sources["torch resnet18"] == "model (cli/plan.py) for 10 run(s)"  # 4 cells x 2, and the OOM cell's 2
    assert [r.estimate_s for r in p.runs] == before
