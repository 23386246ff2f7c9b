"""Which device profile is this machine? Evidence from the device tree, L4T release, CPU, memory and USB ids.

Everything is read below a root folder (default "/") so tests replay recordings of real boards. Every
verdict carries its reasons, and `check` says why a machine is *not* a given profile (for `bench`).
"""

import os
import platform
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Optional

from . import devices
from .devices import Device

# /etc/nv_tegra_release: "# R32 (release), REVISION: 6.1, GCID: 27863751, BOARD: t210ref, EABI: aarch64, ..."
_TEGRA = re.compile(r"#\s*R(\d+)\s*\(release\),\s*REVISION:\s*(\d+)\.(\d+)")
# MemTotal is below the nominal size (kernel, firmware and GPU carve-outs): a 4 GB Nano reports ~3.9 GiB,
# an 8 GB Pi 4 ~7.6 GiB, an 8 GB Orin Nano ~7.4 GiB. Anything in [75 %, 102 %] of a variant counts as it.
MEM_LOW, MEM_HIGH = 0.75, 1.02


@dataclass
class Facts:
    """What this machine says about itself."""

    arch: str
    model: str = ""
    compatible: list[str] = field(default_factory=list)
    l4t: Optional[str] = None
    cpu_model: str = ""
    cpu_cores: int = 0
    memory_mb: int = 0
    usb_ids: list[str] = field(default_factory=list)
    dev_nodes: list[str] = field(default_factory=list)
    nvidia_gpus: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Verdict:
    device: str
    score: int
    reasons: list[str]
    problems: list[str]

    @property
    def matches(self) -> bool:
        return self.score > 0 and not self.problems


def _read(root: Path, rel: str) -> str:
    try:
        return (root / rel.lstrip("/")).read_text(errors="replace")
    except OSError:
        return ""


def parse_l4t(text: str) -> Optional[str]:
    m = _TEGRA.search(text)
    return "%s.%s.%s" % m.groups() if m else None


def _arch(machine: str) -> str:
    return {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(machine.lower(), machine)


def _usb_ids(root: Path) -> list[str]:
    """vendor:product of every USB device, from sysfs (what `lsusb` prints, without needing lsusb)."""
    base = root / "sys/bus/usb/devices"
    ids = set()
    if base.is_dir():
        for d in base.iterdir():
            vendor, product = _read(d, "idVendor").strip(), _read(d, "idProduct").strip()
            if vendor and product:
                ids.add("%s:%s" % (vendor.lower(), product.lower()))
    return sorted(ids)


def gather(root: str = "/", machine: Optional[str] = None, watch_nodes: tuple[str, ...] = ()) -> Facts:
    """Facts about the machine whose root filesystem is at `root`."""
    r = Path(root)
    model = _read(r, "proc/device-tree/model").rstrip("\0").strip()
    compatible = [c for c in _read(r, "proc/device-tree/compatible").split("\0") if c]
    cpuinfo = _read(r, "proc/cpuinfo")
    cpu_model = ""
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("model name", "Hardware", "Model") and value.strip():
            cpu_model = value.strip()
            break
    cores = sum(1 for line in cpuinfo.splitlines() if line.startswith("processor"))
    mem = re.search(r"^MemTotal:\s+(\d+)\s+kB", _read(r, "proc/meminfo"), re.M)
    gpus_dir = r / "proc/driver/nvidia/gpus"
    gpus = sorted(p.name for p in gpus_dir.iterdir()) if gpus_dir.is_dir() else []
    nodes = sorted({n for d in devices.names() for n in devices.load(d).detect.dev_nodes} | set(watch_nodes))
    return Facts(arch=_arch(machine or platform.machine()),
                 model=model, compatible=compatible, l4t=parse_l4t(_read(r, "etc/nv_tegra_release")),
                 cpu_model=cpu_model, cpu_cores=cores or (os.cpu_count() or 0 if root == "/" else 0),
                 memory_mb=int(mem.group(1)) // 1024 if mem else 0, usb_ids=_usb_ids(r),
                 dev_nodes=[n for n in nodes if (r / n.lstrip("/")).exists()], nvidia_gpus=gpus)


def nominal_memory(dev: Device, memory_mb: int) -> Optional[int]:
    """The memory variant of `dev` that this MemTotal is, or None."""
    for size in sorted(dev.memory_variants()):
        if size * MEM_LOW <= memory_mb <= size * MEM_HIGH:
            return size
    return None


def judge(dev: Device, facts: Facts) -> Verdict:
    """How well this machine fits `dev`: evidence for it (score, reasons) and against it (problems)."""
    d = dev.detect
    reasons: list[str] = []
    problems: list[str] = []
    score = 0
    if facts.arch != dev.arch:
        problems.append("architecture is %s, %s is %s" % (facts.arch, dev.name, dev.arch))
    board = bool(d.model or d.compatible)
    if d.model and facts.model and any(re.search(p, facts.model) for p in d.model):
        score += 10
        reasons.append("device-tree model %r matches %s" % (facts.model, " | ".join(d.model)))
    hits = [c for c in d.compatible if c in facts.compatible]
    if hits:
        score += 10
        reasons.append("device-tree compatible has %s" % ", ".join(hits))
    if board and not score:
        problems.append("device-tree model %r / compatible %s is not %s's (%s)" % (
            facts.model or "none", ",".join(facts.compatible[:3]) or "none", dev.name,
            " | ".join(d.model + d.compatible)))
    if dev.l4t is not None:
        if facts.l4t is None:
            problems.append("no /etc/nv_tegra_release: not a Jetson running L4T")
        elif dev.l4t.accepts(facts.l4t):
            score += 5
            reasons.append("L4T %s is one the images accept (%s)" % (facts.l4t, ", ".join(dev.l4t.accept
                                                                                        or [dev.l4t.release])))
        else:
            problems.append("L4T %s here, but %s's images are built for L4T %s (JetPack %s) and accept %s; "
                            "flash that release or use a profile for yours" % (
                                facts.l4t, dev.name, dev.l4t.release, dev.l4t.jetpack,
                                ", ".join(dev.l4t.accept or [dev.l4t.release])))
    variants = dev.memory_variants()
    if variants and facts.memory_mb:
        size = nominal_memory(dev, facts.memory_mb)
        if size is None:
            problems.append("MemTotal %d MiB is none of %s's memory sizes (%s MiB)" % (
                facts.memory_mb, dev.name, ", ".join(str(v) for v in variants)))
        else:
            score += 1
            reasons.append("MemTotal %d MiB is a %d MiB %s" % (facts.memory_mb, size, dev.name))
    # an accelerator's USB id is stronger evidence than a device node some drivers also create
    for wanted, have, weight, what, missing in ((d.usb_ids, facts.usb_ids, 10, "USB device ", " (lsusb)"),
                                                 (d.dev_nodes, facts.dev_nodes, 5, "", "")):
        if not wanted:
            continue
        found = [x for x in wanted if x in have]
        if found:
            score += weight
            reasons.append("%s%s present" % (what, ", ".join(found)))
        else:
            problems.append("no %s%s%s" % (what, " or ".join(wanted), missing))
    if d.nvidia_gpu:
        if facts.nvidia_gpus:
            score += 5
            reasons.append("NVIDIA driver lists GPU(s) %s" % ", ".join(facts.nvidia_gpus))
        else:
            problems.append("no NVIDIA GPU (/proc/driver/nvidia/gpus is empty or missing)")
    if d.fallback and not problems:
        score = max(score, 1)
        reasons.append("%s host with no board profile's device tree" % facts.arch)
    return Verdict(dev.name, score, reasons, problems)


def detect(facts: Facts, profiles: Optional[list[Device]] = None) -> list[Verdict]:
    """Verdicts for every runnable profile (and HOST+ACCEL for attached accelerators), best first."""
    profiles = profiles if profiles is not None else [devices.load(n) for n in devices.names()]
    hosts = [p for p in profiles if p.kind != "accelerator"]
    accels = [p for p in profiles if p.kind == "accelerator"]
    verdicts = [judge(p, facts) for p in hosts]
    boards = [v for v in verdicts if v.matches and v.score >= 10]
    for v in verdicts:  # a fallback host only when no board claims the machine
        if not boards:
            break
        host = next(p for p in hosts if p.name == v.device)
        if host.detect.fallback and v.matches:
            v.problems.append("a board profile (%s) claims this machine" % boards[0].device)
    for acc in accels:
        av = judge(acc.model_copy(update={"arch": facts.arch}), facts)
        if not av.matches:
            continue
        for v in [v for v in verdicts if v.matches]:
            host = next(p for p in hosts if p.name == v.device)
            if host.arch in acc.arches:
                verdicts.append(Verdict("%s+%s" % (v.device, acc.name), v.score + av.score,
                                        v.reasons + av.reasons, []))
    return sorted(verdicts, key=lambda v: (not v.matches, -v.score, v.device))


def best(facts: Facts) -> Optional[Verdict]:
    found = [v for v in detect(facts) if v.matches]
    return found[0] if found else None


def check(dev: Device, facts: Facts) -> list[str]:
    """Why this machine is not `dev` (empty when it is). Emulated profiles only need the arch to run."""
    if dev.emulates:
        return []
    return judge(dev, facts).problems
