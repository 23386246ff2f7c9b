"""Emulation's arithmetic and refusals: two modes (ceiling: the host's own images; functional: the device's
under QEMU), limits tightened to the device's, labels and ids that cannot mix."""

from pathlib import Path

import pytest
from edgebench.cli import devices, emulate, images, plan
from edgebench.cli.detect import Facts
from edgebench.suite.spec import Limits, RunSpec

from tests.conftest import need

BIG_X86 = Facts(arch="amd64", memory_mb=24000, cpu_cores=2)


def _emu(name: str = "rpi4", facts: Facts = BIG_X86, mode: str = "functional") -> emulate.Emulation:
    emu, problems = emulate.prepare(name, facts, mode)
    need(emu is not None, "; ".join(problems))  # QEMU's binfmt handler (CI installs qemu-user-static)
    assert emu is not None
    return emu


def test_rpi4_on_a_two_core_x86_host_gets_its_memory_and_this_hosts_cores() -> None:
    emu = _emu()
    assert (emu.memory_mb, emu.cpus) == (8192, 2.0)
    assert any("QEMU" in n for n in emu.notes) and any("4 cores" in n for n in emu.notes)


@pytest.mark.parametrize("asked,want", [
    (Limits(), Limits(memory_mb=8192, memory_swap_mb=8192, cpus=2.0, cpuset="0-1")),  # no swap unless asked
    (Limits(memory_mb=300, memory_swap_mb=800, swappiness=10), Limits(300, 800, 10, 2.0, "0-1")),  # P1 cell kept
    (Limits(memory_mb=16000, cpus=8), Limits(memory_mb=8192, memory_swap_mb=8192, cpus=2.0, cpuset="0-1")),
    (Limits(cpuset="1"), Limits(memory_mb=8192, memory_swap_mb=8192, cpus=2.0, cpuset="1")),  # the cell's pin wins
])
def test_limits_are_the_tighter_of_cell_and_device(asked: Limits, want: Limits) -> None:
    spec = RunSpec(model="resnet18", framework="onnxruntime", device="rpi4", limits=asked)
    assert emulate.limits_for(spec, _emu()) == want


def test_emulated_runs_are_labelled_and_never_share_an_id_with_real_ones(tmp_path: Path) -> None:
    m = tmp_path / "m.yaml"
    m.write_text("name: t\nfixed: {model: mobilenet_v3_small, framework: onnxruntime, iterations: 2}\n"
                 "axes: {batch_size: [1, 8]}\n")
    real = plan.build(m, "rpi4")
    ids = {"real": {r.run_id for r in real.runs}}
    for mode in ("functional", "ceiling"):
        emu = _emu(mode=mode)
        p = emulate.apply(plan.build(m, emu.device.name), emu)
        assert p.device.emulates == "rpi4" and p.device.emulation == mode
        for r in p.runs:
            assert r.spec.device == "rpi4@" + mode
            assert r.spec.labels == {"emulated": "rpi4", "emulation": mode} and r.cell["emulation"] == mode
        assert [r.spec.batch_size for r in p.runs] == [r.spec.batch_size for r in real.runs]
        ids[mode] = {r.run_id for r in p.runs}
    assert not ids["real"] & ids["functional"] and not ids["real"] & ids["ceiling"]
    assert not ids["functional"] & ids["ceiling"]


def test_ceiling_mode_runs_the_hosts_own_image_under_the_devices_memory() -> None:
    emu = _emu(mode="ceiling")
    assert emu.device.arch == images.host_arch() and (emu.memory_mb, emu.cpus) == (8192, 2.0)
    assert images.image_spec("rpi4@ceiling", "onnxruntime").ref == images.image_spec("host-cpu", "onnxruntime").ref
    assert any("host-cpu's" in n and "timings are this host's CPU" in n for n in emu.notes)
    # a Jetson cannot run functionally (its images need the nvidia runtime) but its memory can be bounded,
    # with what the emulation cannot see said
    jet, problems = emulate.prepare("jetson-nano", BIG_X86, "ceiling")
    assert jet is not None and not problems and list(jet.device.frameworks) == ["torch", "tensorflow"]
    assert any("GPU shares its RAM" in n for n in jet.notes)
    assert devices.load("rpi4@emulated").emulation == "functional"  # the older name reads as functional


def test_refusals_say_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    emu, problems = emulate.prepare("jetson-nano", BIG_X86, "functional")
    assert emu is None and any("nvidia runtime" in p for p in problems)
    emu, problems = emulate.prepare("rpi4", BIG_X86, "fast")
    assert emu is None and "expected ceiling or functional" in problems[0]
    emu, problems = emulate.prepare("rpi4", Facts(arch="amd64", memory_mb=4000, cpu_cores=8))
    assert emu is None and any("at least its 8192 MiB" in p for p in problems)
    emu, problems = emulate.prepare("coral-usb", BIG_X86)
    assert emu is None and any("accelerator" in p for p in problems)
    monkeypatch.setattr(images, "can_run_arch", lambda arch: "no binfmt handler qemu-aarch64")
    emu, problems = emulate.prepare("rpi5", BIG_X86, "functional")
    assert emu is None and any("qemu-aarch64" in p for p in problems)
    devices.load.cache_clear()


def _with_profile(monkeypatch: pytest.MonkeyPatch, name: str, **changes: object) -> None:
    """A copy of a real profile with some fields changed, in place of the profile itself."""
    real = devices.load

    def load(n: str) -> devices.Device:
        d = real(n)
        return d.model_copy(update=changes) if n == name else d
    monkeypatch.setattr(devices, "load", load)


@pytest.mark.parametrize("mode", ["ceiling", "functional"])
def test_a_one_core_device_is_pinned_to_cpu_0(monkeypatch: pytest.MonkeyPatch, mode: str) -> None:
    _with_profile(monkeypatch, "rpi4", cpu_cores=1)
    emu = _emu(mode=mode)
    assert (emu.cpus, emu.cpuset) == (1.0, "0")
    spec = RunSpec(model="resnet18", framework="onnxruntime", device="rpi4")
    assert emulate.spec_for(spec, emu).limits.cpuset == "0"


def test_a_profiles_own_cpuset_is_used_and_checked_against_this_host(monkeypatch: pytest.MonkeyPatch) -> None:
    _with_profile(monkeypatch, "rpi4", cpuset="1")  # e.g. a big.LITTLE board's big cores
    assert _emu(mode="ceiling").cpuset == "1"
    emu, problems = emulate.prepare("rpi4", Facts(arch="amd64", memory_mb=24000, cpu_cores=1), "ceiling")
    assert emu is None and any("cpuset 1 names CPUs this 1-core host lacks" in p for p in problems)


def test_a_host_with_fewer_cores_pins_to_all_of_its_own() -> None:
    emu = _emu(mode="ceiling")  # rpi4 has 4 cores, this emulated host 2
    assert emu.cpuset == "0-1" and any("CPU limit and cpuset are this host's 2" in n for n in emu.notes)
