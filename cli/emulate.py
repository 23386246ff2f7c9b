"""Device emulation (P5's future work): a device's images on a bigger host, under the device's limits.

`bench --emulate` runs DEVICE's own images (through QEMU where the host's architecture differs) with the
device's memory as the container's memory limit (no swap unless the cell asks for some) and its core
count as the CPU limit. What this shows honestly: memory ceilings (which models and batch sizes OOM on
a 4 GB board) and whether a stack runs at all. What it cannot show: the device's speed (QEMU and a
different CPU), its GPU or accelerators, its power. So every emulated run is labelled twice, in its
device (`NAME@emulated`) and in its labels (`emulated: NAME`), and both change its run id: an emulated
result can never be mistaken for, or resumed as, a real one.
"""

import dataclasses
from dataclasses import dataclass, field
from typing import Optional

from edgebench.suite.spec import Limits, RunSpec

from . import devices, images
from .detect import Facts
from .devices import Device
from .plan import Plan, PlannedRun

LABEL = "emulated"


@dataclass
class Emulation:
    target: Device  # the real profile
    device: Device  # NAME@emulated
    memory_mb: Optional[int]
    cpus: Optional[float]
    notes: list[str] = field(default_factory=list)


def prepare(name: str, facts: Facts) -> tuple[Optional[Emulation], list[str]]:
    """The emulation of device `name` on this host, or the reasons it cannot be done here."""
    base = name[: -len(devices.EMULATED)] if name.endswith(devices.EMULATED) else name
    target = devices.load(base)
    dev = devices.load(base + devices.EMULATED)
    problems: list[str] = []
    notes: list[str] = []
    if target.kind == "accelerator":
        problems.append("%s is an accelerator; emulate its host instead (e.g. rpi4)" % base)
    if not dev.frameworks:
        problems.append("%s cannot be emulated: its images need %s and the device's own libraries even on the "
                        "CPU (%s). Emulation bounds CPU images only: rpi4, rpi5, odroid-n2, coral-devboard's CPU "
                        "placement" % (base, "the nvidia runtime" if target.container.runtime else "a GPU",
                                       ", ".join(target.frameworks) or "no frameworks"))
    why = images.can_run_arch(dev.arch)
    if why:
        problems.append("%s images are %s: %s" % (base, dev.arch, why))
    elif dev.arch != facts.arch:
        notes.append("%s binaries run under QEMU user emulation on this %s host: timings are QEMU's, not %s's"
                     % (dev.arch, facts.arch, base))
    memory = target.memory_mb
    if memory and facts.memory_mb and facts.memory_mb < memory:
        problems.append("this host has %d MiB; emulating %s needs at least its %d MiB"
                        % (facts.memory_mb, base, memory))
    cpus: Optional[float] = float(target.cpu_cores) if target.cpu_cores else None
    if cpus and facts.cpu_cores and facts.cpu_cores < cpus:
        notes.append("%s has %d cores, this host %d: the CPU limit is %d" % (base, target.cpu_cores or 0,
                                                                             facts.cpu_cores, facts.cpu_cores))
        cpus = float(facts.cpu_cores)
    if problems:
        return None, problems
    return Emulation(target=target, device=dev, memory_mb=memory, cpus=cpus, notes=notes), []


def limits_for(spec: RunSpec, emu: Emulation) -> Limits:
    """The cell's own limits, tightened to the device's: the smaller memory, no swap unless asked, fewer CPUs."""
    lim = spec.limits
    memory = lim.memory_mb
    if emu.memory_mb is not None:
        memory = min(memory, emu.memory_mb) if memory is not None else float(emu.memory_mb)
    memsw = lim.memory_swap_mb
    if memory is not None:
        memsw = max(memsw, memory) if memsw is not None else memory
    cpus = lim.cpus
    if emu.cpus is not None:
        cpus = min(cpus, emu.cpus) if cpus is not None else emu.cpus
    return Limits(memory_mb=memory, memory_swap_mb=memsw, swappiness=lim.swappiness, cpus=cpus)


def spec_for(spec: RunSpec, emu: Emulation) -> RunSpec:
    labels = dict(spec.labels)
    labels[LABEL] = emu.target.name
    return dataclasses.replace(spec, device=emu.device.name, limits=limits_for(spec, emu), labels=labels)


def apply(plan: Plan, emu: Emulation) -> Plan:
    """The plan with every run emulated (labels, device, limits); the runs keep their order."""
    runs = []
    for r in plan.runs:
        spec = spec_for(r.spec, emu)
        cell = dict(r.cell, **{LABEL: emu.target.name})
        runs.append(PlannedRun(spec=spec, artifact=r.artifact, estimate_s=r.estimate_s, cell=cell))
    return dataclasses.replace(plan, runs=runs, device=emu.device)
