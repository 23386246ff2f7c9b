"""Runs with several model streams (P3's CME and DMP), on the host: the `streams` matrix key, the
plan-time checks of workloads and placements, and the StreamSpecs a planned run carries.

Bad input is refused at plan time with the file, line and key (the suite refuses it too, later):
copies < 1 (the Cell's bounds), a placement run with fewer than two streams, two streams naming the
same accelerator, an EdgeTPU index the device profile does not have, and a stream whose runtime no
image of the device holds.
"""

from collections.abc import Callable
from typing import Any, Literal, Optional, Union

from edgebench.suite.nets import zoo
from edgebench.suite.spec import RunSpec, StreamSpec
from pydantic import BaseModel, ConfigDict, Field

from . import devices
from .artifacts import Artifact, artifact_for

Shape = Union[int, list[int]]
Workload = Literal["single", "concurrent", "placement"]


class StreamCell(BaseModel):
    """One more stream of a placement run, as a matrix names it (stream 0 is the cell's own keys)."""

    model_config = ConfigDict(extra="forbid")
    model: str
    framework: str
    precision: Literal["fp32", "fp16", "int8"] = "fp32"
    batch_size: int = Field(1, ge=1, le=4096)
    input_shape: Optional[Shape] = None
    num_classes: int = Field(1000, ge=1)
    threads: Optional[int] = Field(None, ge=1)
    placement: str = "cpu"
    copies: int = Field(1, ge=1)
    seed: int = Field(0, ge=0)


def accelerators(placement: str) -> list[str]:
    """The accelerators a placement names, normalised ('edgetpu' and 'usb' mean the first EdgeTPU);
    CPU placements without a core set name none (CPU streams may share the cores)."""
    out: list[str] = []
    for part in placement.split(","):
        part = part.strip()
        kind, _, index = part.partition(":")
        if kind == "cpu" and not index:
            continue
        if kind in ("edgetpu", "usb", "pci"):
            out.append("edgetpu:%s" % (index or "0"))
        else:
            out.append("%s:%s" % (kind, index or "0"))
    return out


def edgetpu_indices(placement: str) -> list[int]:
    return [int(a.split(":")[1]) for a in accelerators(placement)
            if a.startswith("edgetpu:") and a.split(":")[1].isdigit()]


Fail = Callable[[str, str], None]


def check(cell: dict[str, Any], dev: devices.Device, fail: Fail) -> None:
    """Plan-time checks of one cell's workload, copies, streams and placements; `fail(key, msg)` raises."""
    workload = cell.get("workload", "single")
    streams = [StreamCell.model_validate(s) for s in cell.get("streams") or []]
    if workload == "placement" and not streams:
        fail("workload", "a placement (DMP) run needs at least two streams: the cell's model and one or more "
                        "under `streams`")
    if streams and workload != "placement":
        fail("workload", "streams are run by `workload: placement` (got %r)" % workload)
    if cell.get("copies", 1) > 1 and workload == "single":
        fail("workload", "copies > 1 needs `workload: concurrent` (or placement)")
    placements = [str(cell.get("placement", "cpu"))] + [s.placement for s in streams]
    seen: dict[str, int] = {}
    for i, p in enumerate(placements):
        for acc in accelerators(p):
            if acc in seen:
                fail("streams" if i else "placement", "streams %d and %d both name accelerator %s; a placement "
                     "run puts each stream on its own processor" % (seen[acc], i, acc))
            seen[acc] = i
    have = dev.edgetpu_count
    for i, p in enumerate(placements):
        for idx in edgetpu_indices(p):
            if idx >= have:
                fail("streams" if i else "placement", "EdgeTPU %d is not on device %s (its profile has %d: "
                     "indices 0..%d; set `edgetpus` in the profile)" % (idx, dev.name, have, have - 1))
    for i, s in enumerate(streams):
        reason = zoo.can_run(s.framework, s.model, s.precision)
        if reason:
            fail("streams", "stream %d: %s" % (i + 1, reason))
        kind = s.placement.split(":")[0]
        kind = "edgetpu" if kind in ("usb", "pci") else kind
        if kind not in dev.placements(s.framework) and s.framework in dev.frameworks:
            fail("streams", "stream %d: device %s runs %s on %s, not %r" % (
                i + 1, dev.name, s.framework, ", ".join(dev.placements(s.framework)), s.placement))
        if kind == "edgetpu" and s.precision != "int8":
            fail("streams", "stream %d: the EdgeTPU runs full-integer INT8 models only; set precision: int8" % (i + 1))


def frameworks_of(cell: dict[str, Any]) -> list[str]:
    """The runtimes a cell's run needs, stream 0 first."""
    out = [str(cell["framework"])]
    for s in cell.get("streams") or []:
        if s["framework"] not in out:
            out.append(str(s["framework"]))
    return out


def input_shape(value: Any, model: str, framework: str) -> tuple[int, ...]:
    """A matrix's `input_shape` (absent: the model's default; an int: a square RGB image) as C, H, W."""
    if value is None:
        return tuple(zoo.default_shape(model, framework))
    if isinstance(value, int):
        return (3, value, value)
    return tuple(int(v) for v in value)


def build(cell: dict[str, Any]) -> tuple[tuple[StreamSpec, ...], list[Artifact]]:
    """The other streams of a placement cell as StreamSpecs (ids "1", "2"...), each with its artefact."""
    out: list[StreamSpec] = []
    arts: list[Artifact] = []
    for i, raw in enumerate(cell.get("streams") or []):
        s = StreamCell.model_validate(raw)
        shape = input_shape(s.input_shape, s.model, s.framework)
        probe = RunSpec(model=s.model, framework=s.framework, precision=s.precision, input_shape=shape,
                        num_classes=s.num_classes, seed=s.seed, placement=s.placement)
        art = artifact_for(probe)
        if art is not None:
            arts.append(art)
        out.append(StreamSpec(model=s.model, framework=s.framework, precision=s.precision, batch_size=s.batch_size,
                              input_shape=shape, num_classes=s.num_classes, threads=s.threads, placement=s.placement,
                              artifact=art.relpath if art is not None else None, seed=s.seed, copies=s.copies,
                              stream_id=str(i + 1)))
    return tuple(out), arts
