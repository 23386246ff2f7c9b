"""Which image runs a run whose streams need several runtimes (P3's DMP: e.g. ONNX Runtime + LiteRT on
host-cpu, PyTorch + LiteRT/pycoral on Jetson).

A device profile names such images under `images:` ({name: {image, dockerfile, frameworks: [...]}}).
A single-runtime run keeps its framework's image; a run needing several runtimes takes the first
multi image (in profile order) that holds them all, and is refused at plan time (and again by the
docker runner's preflight) when none does.
"""

from edgebench.suite.spec import RunSpec

from . import devices


def frameworks_of(spec: RunSpec) -> list[str]:
    """The runtimes a spec's streams need, stream 0 first."""
    out = [spec.framework]
    out += [s.framework for s in spec.streams if s.framework not in out]
    return out


def image_key(dev: devices.Device, frameworks: list[str]) -> str:
    """The profile's key for the image that holds all `frameworks`: the framework itself for one,
    a name under `images:` for several. LookupError with the reason when no image holds them."""
    if len(frameworks) == 1:
        if frameworks[0] not in dev.frameworks:
            raise LookupError("device %s has no image for framework %r" % (dev.name, frameworks[0]))
        return frameworks[0]
    for name, img in dev.images.items():
        if all(f in img.frameworks for f in frameworks):
            return name
    have = "; ".join("%s: %s" % (n, "+".join(i.frameworks)) for n, i in dev.images.items()) or "none"
    raise LookupError("no image of device %s holds every runtime these streams need (%s); multi-runtime images "
                      "in its profile: %s" % (dev.name, ", ".join(frameworks), have))


def image_of(dev: devices.Device, key: str) -> devices.FrameworkImage:
    """The profile entry of an image key (a framework, or a multi image)."""
    return dev.frameworks[key] if key in dev.frameworks else dev.images[key]


def key_of(spec: RunSpec) -> str:
    """The image key of a spec (docker runner: image_ref's framework argument)."""
    return image_key(devices.load(spec.device), frameworks_of(spec))
