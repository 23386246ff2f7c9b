"""Device profiles: what a device is, which image runs each framework, and how to start containers.

A profile lives in images/NAME/device.yaml. Two derived names load too:
- `HOST+ACCEL` (e.g. `rpi4+coral-usb`): an accelerator profile attached to a host's profile. The result is
  the host (arch, memory, cores, L4T) plus the accelerator's frameworks, placements, monitors, devices and
  price. An accelerator alone is listed but cannot run anything.
- `NAME@functional` (`NAME@emulated` is the older name of the same): the profile as seen from a bigger host
  that runs the device's own images (under QEMU where the arch differs): CPU placements only, no device
  mounts or runtimes, host-readable monitors only. It proves the image, runtime and model run; timings are QEMU's.
- `NAME@ceiling`: the device's memory and core count around the emulating host's own native images (the host
  profile's, e.g. host-cpu's, for each framework both have): memory ceilings are the device's, timings the host's.
"""

import os
from functools import cache
from pathlib import Path
from typing import Literal, Optional

from edgebench.suite import registry
from edgebench.suite.spec import cpuset_cpus
from pydantic import BaseModel, ConfigDict, Field, model_validator

from . import yamlfile
from .errors import InputError

ROOT = Path(__file__).resolve().parent.parent
# A lab keeps its own profiles (and lock) elsewhere with EDGEBENCH_IMAGES_DIR; default: the repository's.
IMAGES_DIR = Path(os.environ.get("EDGEBENCH_IMAGES_DIR") or ROOT / "images")
EMULATED = "@emulated"  # the older name of @functional, still read (results before emulation had modes)
FUNCTIONAL = "@functional"
CEILING = "@ceiling"
EMULATION_SUFFIXES = {FUNCTIONAL: "functional", CEILING: "ceiling", EMULATED: "functional"}
# Monitors that read only /proc and cgroups, so they work on any host (an emulating one too).
HOST_MONITORS = tuple(m.name for m in registry.MONITORS.values() if m.host)  # kept on an emulated profile
KNOWN_MONITORS = tuple(registry.MONITORS)
Arch = Literal["amd64", "arm64"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FrameworkImage(Strict):
    image: str = Field(description="image repository, without registry and tag")
    dockerfile: Optional[str] = Field(None, description="Dockerfile, relative to images/")
    placements: list[str] = ["cpu"]
    base: Optional[str] = Field(None, description="registry image to build FROM (e.g. an L4T base); default: the "
                                                  "offline Debian base of `edgebench images bootstrap-base`")
    python: Optional[str] = Field(None, description="interpreter the local runner starts this framework's runs "
                                  "with, relative to the repository root (e.g. .venv-mxnet/bin/python: MXNet needs "
                                  "its own numpy); default: the host's")


class MultiImage(FrameworkImage):
    """An image holding several runtimes, for runs whose streams need more than one (P3's DMP)."""

    frameworks: list[str] = Field(min_length=2, description="the runtimes it holds, as framework names")


class ContainerSettings(Strict):
    runtime: Optional[str] = None  # e.g. "nvidia" on Jetson
    devices: list[str] = []  # host:container[:perms], e.g. /dev/apex_0
    mounts: list[str] = []  # host:container[:ro], e.g. /run/jtop.sock
    group_add: list[str] = []
    optional_devices: list[str] = []  # passed only where the host has the node (e.g. /dev/i2c-1 for an INA219)
    device_cgroup_rules: list[str] = []  # e.g. "c 189:* rmw": USB devices that re-enumerate (Coral USB)
    gpus: Optional[str] = None  # "all" or "0,1": GPUs requested like `docker run --gpus` (CUDA hosts)
    user: Optional[str] = "65534:65534"  # non-root unless the device needs otherwise
    privileged: bool = False


class PowerMode(Strict):
    id: int = Field(ge=0, description="nvpmodel -m ID")
    name: str
    watts: Optional[float] = Field(None, gt=0)
    default: bool = False


class L4T(Strict):
    """The Jetson Linux (L4T) / JetPack release the device's images are built for."""

    release: str = Field(pattern=r"^\d+\.\d+\.\d+$", description="e.g. 32.6.1, from /etc/nv_tegra_release")
    jetpack: str
    accept: list[str] = Field([], description="host L4T releases the images run on (fnmatch); default: release")
    cuda: str
    cudnn: str
    tensorrt: str
    python: str
    ubuntu: str

    def accepts(self, host_release: str) -> bool:
        from fnmatch import fnmatchcase

        return any(fnmatchcase(host_release, p) for p in (self.accept or [self.release]))


class Detect(Strict):
    """How `edgebench devices detect` recognises the device; every field is optional evidence."""

    model: list[str] = Field([], description="regexes on /proc/device-tree/model")
    compatible: list[str] = Field([], description="any of these in /proc/device-tree/compatible")
    usb_ids: list[str] = Field([], description="vendor:product ids, any present (lsusb)")
    dev_nodes: list[str] = Field([], description="device nodes, any present (e.g. /dev/apex_0)")
    nvidia_gpu: bool = Field(False, description="needs an NVIDIA driver with a GPU (/proc/driver/nvidia/gpus)")
    memory_mb: list[int] = Field([], description="nominal memory variants in MiB; default: memory_mb")
    fallback: bool = Field(False, description="matches any machine of its arch that no board profile claims")


class Device(Strict):
    name: str
    description: str = ""
    kind: Literal["board", "host", "accelerator"] = "board"
    arch: Arch
    arches: list[Arch] = Field([], description="accelerators: host architectures their images are built for")
    attach_to: list[str] = Field([], description="accelerators: host profiles they are known to work with")
    memory_mb: Optional[int] = Field(None, gt=0)
    cpu_cores: Optional[int] = Field(None, gt=0)
    cpuset: Optional[str] = Field(None, description="host CPUs that stand in for the board's cores under "
                                                    "emulation (e.g. its big cores); default 0..cpu_cores-1")
    cpu: str = ""
    os: str = ""
    l4t: Optional[L4T] = None
    accelerators: list[str] = []
    power_modes: list[PowerMode] = []
    monitors: list[str] = ["psutil"]
    frameworks: dict[str, FrameworkImage] = {}
    images: dict[str, MultiImage] = Field({}, description="multi-runtime images by name (e.g. multi), for "
                                                           "placement runs whose streams need several runtimes")
    edgetpus: Optional[int] = Field(None, ge=0, description="EdgeTPUs attached (edgetpu:0..N-1); default: "
                                                            "the edgetpu entries of accelerators")
    container: ContainerSettings = ContainerSettings()
    detect: Detect = Detect()
    price_usd: Optional[float] = Field(None, ge=0)
    price_source: str = ""
    emulates: Optional[str] = Field(None, description="set on NAME@functional/@ceiling: the device being emulated")
    emulation: Optional[Literal["functional", "ceiling"]] = Field(None, description="set with emulates: the mode")

    @model_validator(mode="after")
    def _consistent(self) -> "Device":
        unknown = [m for m in self.monitors if m not in KNOWN_MONITORS]
        if unknown:
            raise ValueError("unknown monitor(s) %s; known: %s" % (", ".join(unknown), ", ".join(KNOWN_MONITORS)))
        defaults = [m.id for m in self.power_modes if m.default]
        if len(defaults) > 1:
            raise ValueError("power_modes: more than one default (ids %s)" % defaults)
        ids = [m.id for m in self.power_modes]
        if len(set(ids)) != len(ids):
            raise ValueError("power_modes: an id appears twice (%s)" % ids)
        if self.kind == "accelerator" and not self.arches:
            raise ValueError("an accelerator profile lists the host architectures it supports in `arches`")
        if self.cpuset is not None:
            try:
                cpuset_cpus(self.cpuset)
            except ValueError as e:
                raise ValueError("cpuset: %s" % e) from None
        return self

    def placements(self, framework: str) -> list[str]:
        fw = self.frameworks.get(framework)
        return fw.placements if fw else []

    @property
    def edgetpu_count(self) -> int:
        if self.edgetpus is not None:
            return self.edgetpus
        return sum(1 for a in self.accelerators if a.startswith("edgetpu"))

    def default_power_mode(self) -> Optional[PowerMode]:
        return next((m for m in self.power_modes if m.default), None)

    def memory_variants(self) -> list[int]:
        return list(self.detect.memory_mb) or ([self.memory_mb] if self.memory_mb else [])


def profile_path(name: str) -> Path:
    return IMAGES_DIR / name / "device.yaml"


def split_emulation(name: str) -> tuple[str, Optional[str]]:
    """('rpi4', 'ceiling') for rpi4@ceiling; (name, None) for a profile that is not an emulation."""
    for suffix, mode in EMULATION_SUFFIXES.items():
        if name.endswith(suffix):
            return name[: -len(suffix)], mode
    return name, None


@cache
def load(name: str) -> Device:
    base, mode = split_emulation(name)
    if mode == "functional":
        return emulated(load(base), name[len(base):])
    if mode == "ceiling":
        return ceiling(load(base))
    if "+" in name:
        host, _, accel = name.partition("+")
        return attach(load(host), load(accel))
    path = profile_path(name)
    if not path.exists():
        known = ", ".join(names()) or "none"
        raise InputError(str(path), "device", "no device profile %r (known: %s; also HOST+ACCELERATOR and "
                                              "NAME@functional / NAME@ceiling)" % (name, known))
    data, node = yamlfile.load(path)
    dev = yamlfile.validate(Device, data, path, node)
    assert isinstance(dev, Device)
    if dev.name != name:
        raise InputError(str(path), "name", "must equal the folder name %r (got %r)" % (name, dev.name),
                         yamlfile.line_of(node, ["name"]))
    return dev


def names() -> list[str]:
    return sorted(p.parent.name for p in IMAGES_DIR.glob("*/device.yaml"))


def attach(host: Device, accel: Device) -> Device:
    """An accelerator's profile merged into its host's; InputError when they cannot go together."""
    where = str(profile_path(accel.name))
    if accel.kind != "accelerator":
        raise InputError(where, "kind", "%s is a %s, not an accelerator: HOST+ACCELERATOR needs one after the +"
                         % (accel.name, accel.kind))
    if host.kind == "accelerator":
        raise InputError(str(profile_path(host.name)), "kind", "%s is an accelerator; put a host before the +"
                         % host.name)
    if host.arch not in accel.arches:
        raise InputError(where, "arches", "%s has no images for %s hosts like %s (it has: %s)"
                         % (accel.name, host.arch, host.name, ", ".join(accel.arches)))
    frameworks = dict(host.frameworks)
    for fw, img in accel.frameworks.items():
        mine = frameworks.get(fw)
        placements = list(mine.placements) if mine else []
        placements += [p for p in img.placements if p not in placements]
        frameworks[fw] = img.model_copy(update={"placements": placements})
    hc, ac = host.container, accel.container

    def union(a: list[str], b: list[str]) -> list[str]:
        return a + [x for x in b if x not in a]

    container = ContainerSettings(
        runtime=hc.runtime or ac.runtime, devices=union(hc.devices, ac.devices), mounts=union(hc.mounts, ac.mounts),
        group_add=union(hc.group_add, ac.group_add),
        optional_devices=union(hc.optional_devices, ac.optional_devices), gpus=hc.gpus or ac.gpus,
        device_cgroup_rules=union(hc.device_cgroup_rules, ac.device_cgroup_rules),
        user=hc.user if hc.user == ac.user else (ac.user or hc.user), privileged=hc.privileged or ac.privileged)
    price = None if host.price_usd is None or accel.price_usd is None else host.price_usd + accel.price_usd
    return host.model_copy(update={
        "name": "%s+%s" % (host.name, accel.name), "description": "%s with %s" % (host.description, accel.description),
        "accelerators": union(host.accelerators, accel.accelerators), "monitors": union(host.monitors, accel.monitors),
        "frameworks": frameworks, "container": container, "price_usd": price,
        "images": dict(host.images, **accel.images), "edgetpus": host.edgetpu_count + accel.edgetpu_count,
        "price_source": "; ".join(s for s in (host.price_source, accel.price_source) if s),
        "detect": host.detect.model_copy(update={"usb_ids": union(host.detect.usb_ids, accel.detect.usb_ids),
                                                 "dev_nodes": union(host.detect.dev_nodes, accel.detect.dev_nodes)})})


def emulated(dev: Device, suffix: str = FUNCTIONAL) -> Device:
    """Functional emulation: `dev`'s own images on an emulating host, CPU only, nothing of its hardware."""
    # Images that need a GPU runtime (L4T images load the host's CUDA through the nvidia runtime even for
    # CPU work) cannot run on an emulating host at all.
    gpu_bound = bool(dev.container.runtime or dev.container.gpus)
    frameworks = {fw: img.model_copy(update={"placements": ["cpu"]}) for fw, img in dev.frameworks.items()
                  if "cpu" in img.placements and not gpu_bound}
    return dev.model_copy(update={
        "name": dev.name + suffix, "description": "%s, functional emulation (its own images, QEMU where the arch "
                                                 "differs; timings are not the device's)" % dev.description,
        "emulates": dev.name, "emulation": "functional", "accelerators": [], "power_modes": [],
        "frameworks": frameworks, "edgetpus": 0,
        "images": {k: v for k, v in dev.images.items() if all(f in frameworks for f in v.frameworks)},
        "monitors": [m for m in dev.monitors if m in HOST_MONITORS] or ["psutil"],
        "container": ContainerSettings(user=dev.container.user), "price_usd": None, "price_source": "",
        "detect": Detect(fallback=True)})


def host_profile(arch: str) -> Device:
    """The profile of a plain host of `arch` (kind host, the detect fallback, no GPU runtime): whose native
    images ceiling emulation runs. InputError when there is none."""
    for n in names():
        d = load(n)
        if d.kind == "host" and d.arch == arch and d.detect.fallback and not (d.container.runtime or d.container.gpus):
            return d
    raise InputError(str(IMAGES_DIR), "device", "no host profile for %s hosts (kind: host, detect.fallback: true, "
                                                "no GPU runtime) to take ceiling-mode images from" % arch)


def ceiling(dev: Device) -> Device:
    """Ceiling emulation: `dev`'s memory and cores around this host's own CPU images (those of the host
    profile of this machine's arch), for the frameworks both have. The device's GPU, accelerators, L4T,
    power modes and monitors are gone: only what memory accounting sees of it is left."""
    import platform

    machine = platform.machine().lower()  # as images.host_arch (which imports this module)
    host = host_profile({"x86_64": "amd64", "aarch64": "arm64"}.get(machine, machine))
    frameworks = {fw: img.model_copy(update={"placements": ["cpu"]}) for fw, img in host.frameworks.items()
                  if fw in dev.frameworks and "cpu" in img.placements}
    return dev.model_copy(update={
        "name": dev.name + CEILING, "emulates": dev.name, "emulation": "ceiling", "arch": host.arch, "arches": [],
        "description": "%s, ceiling emulation (its memory and cores around %s's images: timings are the host's "
                       "CPU)" % (dev.description, host.name),
        "l4t": None, "accelerators": [], "power_modes": [], "frameworks": frameworks, "edgetpus": 0,
        "images": {k: v for k, v in host.images.items() if all(f in frameworks for f in v.frameworks)},
        "monitors": [m for m in host.monitors if m in HOST_MONITORS] or ["psutil"],
        "container": ContainerSettings(user=host.container.user), "price_usd": None, "price_source": "",
        "detect": Detect(fallback=True)})


def caveats(target: Device) -> list[str]:
    """What an emulation of `target` on a CPU host cannot see."""
    out = []
    if target.l4t is not None or target.container.runtime or target.container.gpus:
        out.append("%s's GPU shares its RAM: CUDA/TensorRT buffers count against the same memory there and are "
                   "absent here (CPU images), so the device's real ceiling is lower than these figures"
                   % target.name)
    accel = list(target.accelerators)
    if accel:
        out.append("accelerators absent (%s): their runtimes, delegates and buffers are not in these figures"
                   % ", ".join(accel))
    out.append("the device's own OS, desktop and other processes are not counted: only the container's memory as "
               "its cgroup accounts it (RSS and page cache)")
    return out
