"""Device emulation (P5's future work): a device seen from a bigger host, in one of two modes named for
what their figures mean.

- `ceiling` (the default of `bench --emulate`): this host's own native images (the host profile's, e.g.
  host-cpu's, for each framework the device has) under the device's memory, swap, CPU count and cpuset
  (its cores as this host's CPUs 0..n-1, or the profile's `cpuset`). Memory ceilings, OOM levels and swap
  behaviour are the device's to the extent cgroup memory accounting is (the same runtime and model
  allocate the same memory on either CPU architecture, give or take the allocator); timings are this
  host's CPU, never the device's. This answers P5's question ("which models and batch sizes fit a 4 GB
  board") at native speed.
- `functional`: the device's own images (through QEMU user emulation where the arch differs) under the
  same limits. It proves the image, its runtime and the model run on that architecture; its timings
  are QEMU's (a Pi 4 cell in tens of ms takes seconds), so reports show them only as "ran: ok".

Every emulated run is labelled three ways: its device (`NAME@ceiling` / `NAME@functional`), its labels
(`emulated: NAME`, `emulation: MODE`) and so its run id: emulated runs of different modes and real runs
never share a cell or an id, and never resume one another. cli/analysis/speed.py decides how their
timings are shown.
"""

import dataclasses
from dataclasses import dataclass, field
from typing import Optional

from edgebench.suite.spec import Limits, RunSpec, cpuset_cpus

from . import devices, images
from .detect import Facts
from .devices import Device
from .plan import Plan, PlannedRun

LABEL = "emulated"  # label: the device emulated
MODE_LABEL = "emulation"  # label: the mode
MODES = ("ceiling", "functional")
DEFAULT_MODE = "ceiling"
SUFFIX = {"ceiling": devices.CEILING, "functional": devices.FUNCTIONAL}


@dataclass
class Emulation:
    target: Device  # the real profile
    device: Device  # NAME@ceiling or NAME@functional
    memory_mb: Optional[int]
    cpus: Optional[float]
    notes: list[str] = field(default_factory=list)
    mode: str = DEFAULT_MODE
    cpuset: Optional[str] = None  # the host CPUs standing in for the device's cores ("0-3")


def prepare(name: str, facts: Facts, mode: str = DEFAULT_MODE) -> tuple[Optional[Emulation], list[str]]:
    """The emulation of device `name` in `mode` on this host, or the reasons it cannot be done here."""
    base, _ = devices.split_emulation(name)
    if mode not in MODES:
        return None, ["unknown emulation mode %r: expected ceiling or functional" % mode]
    target = devices.load(base)
    problems: list[str] = []
    notes: list[str] = []
    if target.kind == "accelerator":
        return None, ["%s is an accelerator; emulate its host instead (e.g. rpi4)" % base]
    if mode == "functional":
        dev = devices.load(base + devices.FUNCTIONAL)
        if not dev.frameworks:
            problems.append("%s cannot be emulated functionally: its images need %s and the device's own libraries "
                            "even on the CPU (%s). Functional emulation runs CPU images only: rpi4, rpi5, odroid-n2, "
                            "coral-devboard's CPU placement; `--emulate ceiling` still bounds its memory"
                            % (base, "the nvidia runtime" if target.container.runtime else "a GPU",
                               ", ".join(target.frameworks) or "no frameworks"))
        why = images.can_run_arch(dev.arch)
        if why:
            problems.append("%s images are %s: %s" % (base, dev.arch, why))
        elif dev.arch != facts.arch:
            notes.append("functional mode: %s binaries run under QEMU user emulation on this %s host: they prove the "
                         "image, runtime and model run; timings are QEMU's, not %s's (reports show them as ran: ok)"
                         % (dev.arch, facts.arch, base))
        else:
            notes.append("functional mode: %s's own images, natively on this %s host; timings are this host's CPU"
                         % (base, facts.arch))
    else:
        dev = devices.load(base + devices.CEILING)
        host = devices.host_profile(dev.arch)
        if not dev.frameworks:
            problems.append("%s has no framework this host's profile %s has images for (%s has %s; %s has %s)"
                            % (base, host.name, base, ", ".join(target.frameworks) or "none", host.name,
                               ", ".join(host.frameworks) or "none"))
        notes.append("ceiling mode: %s's frameworks run in this host's own images (%s's: %s) under %s's memory and "
                     "cores: memory ceilings and OOM levels are %s's to the extent memory accounting is; timings "
                     "are this host's CPU, not %s's" % (base, host.name, ", ".join(sorted(dev.frameworks)) or "none",
                                                        base, base, base))
        notes += ["ceiling mode cannot see: %s" % c for c in devices.caveats(target)]
    memory = target.memory_mb
    if memory and facts.memory_mb and facts.memory_mb < memory:
        problems.append("this host has %d MiB; emulating %s needs at least its %d MiB"
                        % (facts.memory_mb, base, memory))
    cpus: Optional[float] = float(target.cpu_cores) if target.cpu_cores else None
    if cpus and facts.cpu_cores and facts.cpu_cores < cpus:
        notes.append("%s has %d cores, this host %d: the CPU limit and cpuset are this host's %d"
                     % (base, target.cpu_cores or 0, facts.cpu_cores, facts.cpu_cores))
        cpus = float(facts.cpu_cores)
    cpuset = target.cpuset or (("0" if cpus == 1 else "0-%d" % (int(cpus) - 1)) if cpus else None)
    if target.cpuset and facts.cpu_cores and max(cpuset_cpus(target.cpuset)) >= facts.cpu_cores:
        problems.append("%s's cpuset %s names CPUs this %d-core host lacks" % (base, target.cpuset, facts.cpu_cores))
    if problems:
        return None, problems
    return Emulation(target=target, device=dev, memory_mb=memory, cpus=cpus, notes=notes, mode=mode,
                     cpuset=cpuset), []


def limits_for(spec: RunSpec, emu: Emulation) -> Limits:
    """The cell's own limits, tightened to the device's: the smaller memory, no swap unless asked, fewer CPUs,
    the device's cpuset unless the cell pins its own."""
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
    cpuset = lim.cpuset if lim.cpuset is not None else emu.cpuset  # the cell's own pinning wins
    return Limits(memory_mb=memory, memory_swap_mb=memsw, swappiness=lim.swappiness, cpus=cpus, cpuset=cpuset)


def labels_for(emu: Emulation) -> dict[str, str]:
    return {LABEL: emu.target.name, MODE_LABEL: emu.mode}


def spec_for(spec: RunSpec, emu: Emulation) -> RunSpec:
    labels = dict(spec.labels)
    labels.update(labels_for(emu))
    # the image is the plan's: built for emu.device, so the host's own in ceiling mode
    return dataclasses.replace(spec, device=emu.device.name, limits=limits_for(spec, emu), labels=labels)


def apply(plan: Plan, emu: Emulation) -> Plan:
    """The plan with every run emulated (labels, device, limits); the runs keep their order."""
    runs = []
    for r in plan.runs:
        spec = spec_for(r.spec, emu)
        cell = dict(r.cell, **labels_for(emu))
        runs.append(PlannedRun(spec=spec, artifact=r.artifact, estimate_s=r.estimate_s, cell=cell))
    return dataclasses.replace(plan, runs=runs, device=emu.device)
