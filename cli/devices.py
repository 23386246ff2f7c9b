"""Device profiles: what a device is, which image runs each framework, and how to start containers."""

from functools import cache
from pathlib import Path
from typing import Literal, Optional

from pydantic import BaseModel, ConfigDict, Field

from . import yamlfile
from .errors import InputError

ROOT = Path(__file__).resolve().parent.parent
IMAGES_DIR = ROOT / "images"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FrameworkImage(Strict):
    image: str = Field(description="image repository, without registry and tag")
    dockerfile: Optional[str] = Field(None, description="Dockerfile, relative to images/")
    placements: list[str] = ["cpu"]


class ContainerSettings(Strict):
    runtime: Optional[str] = None  # e.g. "nvidia" on Jetson
    devices: list[str] = []  # host:container[:perms], e.g. /dev/apex_0
    mounts: list[str] = []  # host:container[:ro], e.g. /run/jtop.sock
    group_add: list[str] = []
    user: Optional[str] = "65534:65534"  # non-root unless the device needs otherwise
    privileged: bool = False


class Device(Strict):
    name: str
    description: str = ""
    arch: Literal["amd64", "arm64"]
    memory_mb: Optional[int] = Field(None, gt=0)
    cpu_cores: Optional[int] = Field(None, gt=0)
    os: str = ""
    accelerators: list[str] = []
    monitors: list[str] = ["psutil"]
    frameworks: dict[str, FrameworkImage] = {}
    container: ContainerSettings = ContainerSettings()
    price_usd: Optional[float] = Field(None, ge=0)

    def placements(self, framework: str) -> list[str]:
        fw = self.frameworks.get(framework)
        return fw.placements if fw else []


def profile_path(name: str) -> Path:
    return IMAGES_DIR / name / "device.yaml"


@cache
def load(name: str) -> Device:
    path = profile_path(name)
    if not path.exists():
        known = ", ".join(names()) or "none"
        raise InputError(str(path), "device", "no device profile %r (known: %s)" % (name, known))
    data, node = yamlfile.load(path)
    dev = yamlfile.validate(Device, data, path, node)
    assert isinstance(dev, Device)
    if dev.name != name:
        raise InputError(str(path), "name", "must equal the folder name %r (got %r)" % (name, dev.name),
                         yamlfile.line_of(node, ["name"]))
    return dev


def names() -> list[str]:
    return sorted(p.parent.name for p in IMAGES_DIR.glob("*/device.yaml"))
