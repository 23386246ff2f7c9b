"""Which runs share a reused container (cell_key), and the limits a stage asks of it (wanted_limits)."""

from edgebench.cli.runners.docker_reuse import cell_key, wanted_limits
from edgebench.suite.spec import Limits, RunSpec

MIB = 1 << 20


def spec(**kw: object) -> RunSpec:
    base: dict = {"model": "mobilenet_v3_small", "framework": "tflite", "campaign": "c"}
    base.update(kw)
    return RunSpec(**base)


def test_repetitions_stages_and_settle_share_a_container() -> None:
    one = cell_key(spec(limits=Limits(memory_mb=10, memory_swap_mb=510, swappiness=10)), "img")
    for other in (spec(repetition=3, limits=Limits(memory_mb=10, memory_swap_mb=510, swappiness=10)),
                  spec(labels={"round": "descending", "stage": "4"}, settle_s=10,
                       limits=Limits(memory_mb=110, memory_swap_mb=510, swappiness=10))):
        assert cell_key(other, "img") == one


def test_what_a_live_update_cannot_change_gets_its_own_container() -> None:
    one = cell_key(spec(limits=Limits(memory_mb=100, swappiness=10, cpus=1)), "img")
    for other in (spec(model="resnet18", limits=Limits(memory_mb=100, swappiness=10, cpus=1)),
                  spec(limits=Limits(memory_mb=100, swappiness=60, cpus=1)),  # docker update has no swappiness
                  spec(limits=Limits(memory_mb=100, swappiness=10, cpus=2)),
                  spec(limits=Limits(swappiness=10, cpus=1)),  # a limit cannot be dropped live
                  spec(limits=Limits(memory_mb=100, swappiness=10, cpus=1, cpuset="0"))):  # nor a pin dropped
        assert cell_key(other, "img") != one
    assert cell_key(spec(limits=Limits(memory_mb=100, swappiness=10, cpus=1)), "other-image") != one


def test_cells_pinned_to_other_cpus_share_a_container_updated_live() -> None:
    assert cell_key(spec(limits=Limits(cpuset="0")), "img") == cell_key(spec(limits=Limits(cpuset="0-1")), "img")


def test_wanted_limits_follow_dockers_swap_rule() -> None:
    assert wanted_limits(spec(limits=Limits(memory_mb=10, memory_swap_mb=510))) == (10 * MIB, 510 * MIB)
    assert wanted_limits(spec(limits=Limits(memory_mb=100))) == (100 * MIB, 200 * MIB)  # --memory alone: 2x
    assert wanted_limits(spec()) == (None, None)
