"""Emulation's arithmetic and refusals: limits tightened to the device's, labels and ids that cannot mix."""

from pathlib import Path

import pytest
from edgebench.cli import devices, emulate, images, plan
from edgebench.cli.detect import Facts
from edgebench.suite.spec import Limits, RunSpec

from tests.conftest import need

BIG_X86 = Facts(arch="amd64", memory_mb=24000, cpu_cores=2)


def _emu(name: str = "rpi4", facts: Facts = BIG_X86) -> emulate.Emulation:
    emu, problems = emulate.prepare(name, facts)
    need(emu is not None, "; ".join(problems))  # QEMU's binfmt handler (CI installs qemu-user-static)
    assert emu is not None
    return emu


def test_rpi4_on_a_two_core_x86_host_gets_its_memory_and_this_hosts_cores() -> None:
    emu = _emu()
    assert (emu.memory_mb, emu.cpus) == (8192, 2.0)
    assert any("QEMU" in n for n in emu.notes) and any("4 cores" in n for n in emu.notes)


@pytest.mark.parametrize("asked,want", [
    (Limits(), Limits(memory_mb=8192, memory_swap_mb=8192, cpus=2.0)),  # no swap unless asked
    (Limits(memory_mb=300, memory_swap_mb=800, swappiness=10), Limits(300, 800, 10, 2.0)),  # P1 cell kept
    (Limits(memory_mb=16000, cpus=8), Limits(memory_mb=8192, memory_swap_mb=8192, cpus=2.0)),  # device caps
])
def test_limits_are_the_tighter_of_cell_and_device(asked: Limits, want: Limits) -> None:
    spec = RunSpec(model="resnet18", framework="onnxruntime", device="rpi4", limits=asked)
    assert emulate.limits_for(spec, _emu()) == want


def test_emulated_runs_are_labelled_and_never_share_an_id_with_real_ones(tmp_path: Path) -> None:
    m = tmp_path / "m.yaml"
    m.write_text("name: t\nfixed: {model: mobilenet_v3_small, framework: onnxruntime, iterations: 2}\n"
                 "axes: {batch_size: [1, 8]}\n")
    real = plan.build(m, "rpi4")
    emu = _emu()
    p = emulate.apply(plan.build(m, "rpi4@emulated"), emu)
    assert p.device.emulates == "rpi4"
    for r in p.runs:
        assert r.spec.device == "rpi4@emulated" and r.spec.labels["emulated"] == "rpi4" and r.cell["emulated"]
    assert not {r.run_id for r in p.runs} & {r.run_id for r in real.runs}
    assert [r.spec.batch_size for r in p.runs] == [r.spec.batch_size for r in real.runs]


def test_refusals_say_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    emu, problems = emulate.prepare("jetson-nano", BIG_X86)
    assert emu is None and any("nvidia runtime" in p for p in problems)
    emu, problems = emulate.prepare("rpi4", Facts(arch="amd64", memory_mb=4000, cpu_cores=8))
    assert emu is None and any("at least its 8192 MiB" in p for p in problems)
    emu, problems = emulate.prepare("coral-usb", BIG_X86)
    assert emu is None and any("accelerator" in p for p in problems)
    monkeypatch.setattr(images, "can_run_arch", lambda arch: "no binfmt handler qemu-aarch64")
    emu, problems = emulate.prepare("rpi5", BIG_X86)
    assert emu is None and any("qemu-aarch64" in p for p in problems)
    devices.load.cache_clear()
