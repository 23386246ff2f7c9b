"""Plan: a matrix expanded for one device into ordered RunSpecs, each with a stable id."""

import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Union

from edgebench.suite.models import zoo
from edgebench.suite.spec import Limits, RunSpec

from . import devices, multi_image, ramp, streams, yamlfile
from .artifacts import Artifact, artifact_for
from .errors import InputError
from .matrix import CELL_KEYS, Matrix
from .matrix import load as load_matrix

_LIMIT_KEYS = ("memory_mb", "memory_swap_mb", "swappiness", "cpus")
_STARTUP_S = {"torch": 3.0, "onnxruntime": 1.0, "tflite": 1.0}  # import + load on this class of machine
_CPU_FLOPS = 60e9  # effective FLOP/s of one run on a small x86 host, for estimates only


@dataclass
class PlannedRun:
    spec: RunSpec
    artifact: Optional[Artifact]
    estimate_s: float
    cell: dict[str, Any] = field(default_factory=dict)
    stream_artifacts: list[Artifact] = field(default_factory=list)  # of a placement run's other streams

    @property
    def run_id(self) -> str:
        return self.spec.run_id


@dataclass
class Plan:
    matrix: Matrix
    path: Path
    device: devices.Device
    runs: list[PlannedRun]
    skipped: list[tuple[dict[str, Any], str]] = field(default_factory=list)  # (cell, why) with unsupported: skip

    @property
    def estimate_s(self) -> float:
        return sum(r.estimate_s for r in self.runs)

    def artifacts(self) -> list[Artifact]:
        seen: dict[str, Artifact] = {}
        for r in self.runs:
            for a in ([r.artifact] if r.artifact is not None else []) + r.stream_artifacts:
                seen.setdefault(a.key, a)
        return list(seen.values())


def _shape(value: Any, model: str, framework: str) -> tuple[int, ...]:
    if value is None:
        return tuple(zoo.default_shape(model, framework))
    if isinstance(value, int):
        return (3, value, value)
    return tuple(int(v) for v in value)


def _matches(cell: dict[str, Any], rule: dict[str, Any]) -> bool:
    return all(cell.get(k) == v for k, v in rule.items())


def cells(matrix: Matrix) -> list[tuple[dict[str, Any], list[Union[str, int]]]]:
    """Cells in plan order (first axis outermost), each with the matrix location it came from."""
    fixed = matrix.fixed.model_dump(exclude_none=True)
    keys = list(matrix.axes)
    out: list[tuple[dict[str, Any], list[Union[str, int]]]] = []
    # Without axes, `fixed` alone is one cell, unless the matrix lists its cells under include.
    for values in itertools.product(*(matrix.axes[k] for k in keys)) if keys or not matrix.include else []:
        cell = dict(fixed)
        cell.update({k: v for k, v in zip(keys, values) if v is not None})
        if not any(_matches(cell, rule) for rule in matrix.exclude):
            out.append((cell, ["axes"]))
    for i, inc in enumerate(matrix.include):
        cell = dict(fixed)
        cell.update(inc.model_dump(exclude_none=True))
        out.append((cell, ["include", i]))
    return out


def build(path: Union[str, Path], device: Optional[str] = None, campaign: str = "") -> Plan:
    """Expand and check a matrix for a device; InputError names file, line and key of a bad cell."""
    path = Path(path)
    matrix = load_matrix(path)
    node = yamlfile.load(path)[1]
    dev_name = device or matrix.device or "host-cpu"
    dev = devices.load(dev_name)
    campaign = campaign or matrix.name
    planned: list[list[PlannedRun]] = []  # per cell, its repetitions
    skipped: list[tuple[dict[str, Any], str]] = []
    for cell, loc in cells(matrix):
        why = _device_lacks(cell, dev) if matrix.unsupported == "skip" else ""
        if why:
            skipped.append((cell, why))
            continue
        _check(cell, loc, matrix, path, node, dev)
        points: list[tuple[dict[str, Any], dict[str, str]]] = [({}, {})]
        if matrix.sweep is not None:
            sw = matrix.sweep
            points = [({"memory_mb": mem, "memory_swap_mb": sw.budget_mb, "swappiness": sw.swappiness,
                        "settle_s": sw.settle_s}, {"round": rnd, "stage": str(stage)})
                      for rnd, stage, mem in sw.points()]
        for extra, labels in points:
            full = dict(cell)
            full.update({k: v for k, v in extra.items() if v is not None})
            reps = [_planned(full, labels, rep, dev, campaign) for rep in range(matrix.repetitions)]
            planned.append(reps)
    if matrix.order == "repetition-major":
        runs = [reps[r] for r in range(matrix.repetitions) for reps in planned]
    else:
        runs = [run for reps in planned for run in reps]
    if matrix.ramp is not None:
        runs = ramp.order(runs, lambda r: r.spec.to_dict(), [rp.axis for rp in ramp.ramps_of(matrix)])
    seen: set[str] = set()
    for run in runs:
        if run.run_id in seen:
            raise InputError(str(path), "", "two cells expand to the same run (%s: %s); make them differ"
                             % (run.run_id, run.cell))
        seen.add(run.run_id)
    return Plan(matrix=matrix, path=path, device=dev, runs=runs, skipped=skipped)


def _device_lacks(cell: dict[str, Any], dev: devices.Device) -> str:
    """Why `dev` cannot run this cell's framework and placement; empty when it can."""
    fw = cell.get("framework")
    if fw not in dev.frameworks:
        return "%s has no %s image" % (dev.name, fw)
    placement = str(cell.get("placement", "cpu")).split(":")[0]
    if placement not in dev.placements(str(fw)):
        return "%s runs %s on %s, not %s" % (dev.name, fw, "/".join(dev.placements(str(fw))), placement)
    return ""


def _check(cell: dict[str, Any], loc: list[Union[str, int]], matrix: Matrix, path: Path, node: Any,
           dev: devices.Device) -> None:
    def fail(key: str, msg: str) -> None:
        where: list[Union[str, int]] = []
        if loc[0] == "include" and key in matrix.include[int(loc[1])].model_fields_set:
            where = list(loc) + [key]
        elif key in matrix.axes:
            where = ["axes", key]
        elif key in matrix.fixed.model_fields_set:
            where = ["fixed", key]
        elif loc[0] == "include":
            where = list(loc)
        raise InputError(str(path), yamlfile.dotted(where) or key, msg, yamlfile.line_of(node, where))

    for key in ("model", "framework"):
        if key not in cell:
            fail(key, "every cell needs a %s (set it in fixed, axes or include)" % key)
    fw, model = cell["framework"], cell["model"]
    reason = zoo.can_run(fw, model, cell.get("precision", "fp32"))
    if reason:
        fail("model" if "model" in reason else "framework" if "framework" in reason else "precision", reason)
    if fw not in dev.frameworks:
        fail("framework", "device %s has no image for framework %r (it has: %s)"
             % (dev.name, fw, ", ".join(sorted(dev.frameworks)) or "none"))
    placement = cell.get("placement", "cpu")
    if placement.startswith("edgetpu") and cell.get("precision", "fp32") != "int8":
        fail("precision", "the EdgeTPU runs full-integer INT8 models only (edgetpu_compiler); set precision: int8")
    if placement.split(":")[0] not in dev.placements(fw):
        fail("placement", "device %s runs %s on %s, not %r" % (dev.name, fw, ", ".join(dev.placements(fw)), placement))
    for key, want_dir in (("weights", False), ("calib_dir", True), ("input_dir", True)):
        if key in cell:
            local = Path(cell[key]).expanduser()
            local = local if local.is_absolute() else (path.parent / local)
            if not (local.is_dir() if want_dir else local.is_file()):
                fail(key, "%s %s does not exist (relative paths are read from the matrix file's folder)"
                     % ("folder" if want_dir else "file", local))
            cell[key] = str(local.resolve())
    streams.check(cell, dev, fail)
    try:
        multi_image.image_key(dev, streams.frameworks_of(cell))
    except LookupError as e:
        fail("streams", str(e))
    mem, memsw = cell.get("memory_mb"), cell.get("memory_swap_mb")
    if memsw is not None and (mem is None or memsw < mem):
        fail("memory_swap_mb", "memory_swap_mb is memory + swap: it needs memory_mb and must be >= it")


def _planned(cell: dict[str, Any], labels: dict[str, str], rep: int, dev: devices.Device,
             campaign: str) -> PlannedRun:
    shape = _shape(cell.get("input_shape"), cell["model"], cell["framework"])
    kw = {k: v for k, v in cell.items() if k in CELL_KEYS and k not in _LIMIT_KEYS and k != "input_shape"}
    if "monitors" in kw:
        kw["monitors"] = tuple(kw["monitors"])
    limits = Limits(**{k: cell[k] for k in _LIMIT_KEYS if k in cell})
    fw_image = multi_image.image_of(dev, multi_image.image_key(dev, streams.frameworks_of(cell))).image
    kw["streams"], stream_arts = streams.build(cell)
    spec = RunSpec(input_shape=shape, limits=limits, repetition=rep, device=dev.name, image=fw_image,
                   labels=dict(labels), campaign=campaign, **kw)
    art = artifact_for(spec)
    if art is not None:
        spec = _with(spec, artifact=art.relpath)
    return PlannedRun(spec=spec, artifact=art, estimate_s=estimate(spec), cell=dict(cell, **labels),
                      stream_artifacts=stream_arts)


def _with(spec: RunSpec, **changes: Any) -> RunSpec:
    d = spec.to_dict()
    d.update(changes)
    return RunSpec.from_dict(d)


def estimate(spec: RunSpec) -> float:
    """Rough seconds for one run: start-up plus inferences at a nominal FLOP rate."""
    gmacs = zoo.PUBLISHED_GMACS.get(spec.model.split("+")[0], 1.0)
    c, h, w = spec.input_shape
    dflt = zoo.default_shape(spec.model, spec.framework)
    scale = (h * w) / float(dflt[1] * dflt[2])
    per_batch = (2 * gmacs * 1e9 * scale * spec.batch_size / _CPU_FLOPS + 0.002) * spec.copies
    measure = max(per_batch * spec.iterations, spec.min_measure_s)
    startup = _STARTUP_S.get(spec.framework, 2.0)
    if spec.workload == "placement":  # DMP: every stream starts; the synchronised interval is at most sync_max_s
        startup += sum(_STARTUP_S.get(s.framework, 2.0) for s in spec.streams)
        measure = max(measure, spec.sync_max_s)
    return startup + spec.settle_s + spec.monitor_ready_s + per_batch * spec.warmups + measure
