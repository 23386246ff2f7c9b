"""What every runner shares, with the host's facts passed in so each branch runs on any host."""

from edgebench.cli.limits import compare_limits
from edgebench.cli.runners.base import swap_problems
from edgebench.suite.spec import Limits, RunSpec

SWAP = RunSpec(model="resnet18", framework="torch", limits=Limits(memory_mb=100, memory_swap_mb=300))
NO_SWAP = RunSpec(model="resnet18", framework="torch", limits=Limits(memory_mb=100, memory_swap_mb=100))


def test_a_swap_scenario_is_refused_on_a_host_without_swap_whatever_this_host_has() -> None:
    problems = swap_problems([SWAP, NO_SWAP, SWAP], allow_no_swap=False, host_swap_bytes=0)
    assert len(problems) == 1
    assert problems[0].startswith("2 run(s) ask for swap") and "--allow-no-swap" in problems[0]
    assert "swapon" in problems[0]  # how to add some


def test_a_swap_scenario_runs_where_there_is_swap_or_when_allowed() -> None:
    assert swap_problems([SWAP], allow_no_swap=False, host_swap_bytes=2 << 30) == []
    assert swap_problems([SWAP], allow_no_swap=True, host_swap_bytes=0) == []
    assert swap_problems([NO_SWAP], allow_no_swap=False, host_swap_bytes=0) == []


def test_limits_read_back_are_compared_within_a_page_per_mib() -> None:
    inside = {"memory_limit_bytes": 100 << 20, "memory_swap_limit_bytes": (300 << 20) + 4096 * 50,
              "swappiness": None, "cpus_quota": None}
    cmp = compare_limits(SWAP, inside)
    assert cmp["match"] is True and cmp["applied"]["memory_swap_mb"] > 300
    cmp = compare_limits(SWAP, dict(inside, memory_limit_bytes=90 << 20))
    assert cmp["match"] is False and cmp["mismatches"] == ["memory_mb: asked 100, applied 90.0"]


def test_a_cpuset_is_checked_as_the_cgroup_holds_it_and_as_the_run_could_run() -> None:
    spec = RunSpec(model="resnet18", framework="torch", limits=Limits(cpuset="0-1"))
    cmp = compare_limits(spec, {"cpuset": "0,1", "cpu_affinity": [0, 1]})  # the same CPUs, written otherwise
    assert cmp["match"] is True and cmp["applied"]["cpuset"] == "0,1" and cmp["applied"]["cpu_affinity"] == [0, 1]
    cmp = compare_limits(spec, {"cpuset": "0-3", "cpu_affinity": [0, 1, 2, 3]})
    assert cmp["mismatches"] == ["cpuset: asked 0-1, applied 0-3", "cpuset: asked 0-1, the run's CPU affinity is "
                                 "[0, 1, 2, 3]"]
    assert compare_limits(spec, {})["mismatches"] == ["cpuset: asked 0-1, applied None"]
    assert compare_limits(SWAP, {"cpuset": "0-3"})["asked"]["cpuset"] is None  # not asked: recorded, not checked
