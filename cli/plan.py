"""Plan: a matrix expanded for one device into ordered RunSpecs, each with a stable id."""

import itertools
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Optional, Union

from edgebench.suite import registry
from edgebench.suite.nets import zoo
from edgebench.suite.spec import Limits, RunSpec

from . import devices, multi_image, paths, ramp, streams, yamlfile
from .artifacts import Artifact, artifact_for
from .errors import InputError
from .matrix import CELL_KEYS, Matrix, load_with_node

_LIMIT_KEYS = ("memory_mb", "memory_swap_mb", "swappiness", "cpus", "cpuset")
_CPU_FLOPS = 60e9  # effective FLOP/s of one run on a small x86 host, for estimates only
# Runs in one plan unless --max-runs says more: our largest study (P1's sweep on the Jetson Nano) plans 24,915;
# 100,000 plan in about a minute here (benchmarks/input_limits.py), a 10^6 product would take a quarter hour.
MAX_RUNS = 100_000
DOCKER_MIN_MEMORY_MB = 6.0  # Docker refuses a --memory below 6 MiB (6291456 bytes) at container creation


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
    shard: Optional[dict[str, Any]] = None  # --shard I/N: index, count, unit and the whole plan's run ids (shards.py)

    @property
    def estimate_s(self) -> float:
        return sum(r.estimate_s for r in self.runs)

    def artifacts(self) -> list[Artifact]:
        seen: dict[str, Artifact] = {}
        for r in self.runs:
            for a in ([r.artifact] if r.artifact is not None else []) + r.stream_artifacts:
                seen.setdefault(a.key, a)
        return list(seen.values())


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


def build(path: Union[str, Path], device: Optional[str] = None, campaign: str = "",
          max_runs: int = MAX_RUNS) -> Plan:
    """Expand and check a matrix for a device; InputError names file, line and key of a bad cell."""
    path = Path(path)
    if campaign:
        paths.check_campaign_name(campaign, "--campaign")
    matrix, node = load_with_node(path)
    dev_name = device or matrix.device or "host-cpu"
    _check_device_name(dev_name, path, node, from_matrix=not device and bool(matrix.device))
    dev = devices.load(dev_name)
    campaign = campaign or matrix.name
    check_size(matrix, path, node, max_runs)
    seen_paths: dict[str, str] = {}  # kind:resolved path -> its problem ("" when none), so a folder is walked once
    planned: list[list[PlannedRun]] = []  # per cell, its repetitions
    skipped: list[tuple[dict[str, Any], str]] = []
    for cell, loc in cells(matrix):
        why = _device_lacks(cell, dev) if matrix.unsupported == "skip" else ""
        if why:
            skipped.append((cell, why))
            continue
        _check(cell, loc, matrix, path, node, dev, seen_paths)
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
        rid = run.run_id  # a hash of the whole spec: computed once
        if rid in seen:
            raise InputError(str(path), "", "two cells expand to the same run (%s: %s); make them differ"
                             % (rid, run.cell))
        seen.add(rid)
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


def _where(key: str, loc: list[Union[str, int]], matrix: Matrix) -> list[Union[str, int]]:
    """Where in the matrix a cell's `key` was set (include entry, axis, fixed), for error lines."""
    if loc[0] == "include" and key in matrix.include[int(loc[1])].model_fields_set:
        return list(loc) + [key]
    if key in matrix.axes:
        return ["axes", key]
    if key in matrix.fixed.model_fields_set:
        return ["fixed", key]
    return list(loc) if loc[0] == "include" else []


def _check(cell: dict[str, Any], loc: list[Union[str, int]], matrix: Matrix, path: Path, node: Any,
           dev: devices.Device, seen_paths: Optional[dict[str, str]] = None) -> None:
    def fail(key: str, msg: str) -> None:
        where = _where(key, loc, matrix)
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
            problem, cell[key] = _local_path(str(cell[key]), want_dir, path, seen_paths)
            if problem:
                fail(key, problem)
    streams.check(cell, dev, fail)
    try:
        multi_image.image_key(dev, streams.frameworks_of(cell))
    except LookupError as e:
        fail("streams", str(e))
    mem, memsw = cell.get("memory_mb"), cell.get("memory_swap_mb")
    if memsw is not None and (mem is None or memsw < mem):
        fail("memory_swap_mb", "memory_swap_mb is memory + swap: it needs memory_mb and must be >= it")


def _local_path(value: str, want_dir: bool, path: Path, seen: Optional[dict[str, str]]) -> tuple[str, str]:
    """(problem or "", resolved path) of a weights file or image folder a matrix names."""
    local = Path(value).expanduser()
    local = local if local.is_absolute() else (path.parent / local)
    what = "folder" if want_dir else "file"
    if not local.exists():
        return "%s %s does not exist (relative paths are read from the matrix file's folder)" % (what, local), value
    resolved = str(local.resolve())
    memo = "%s:%s" % (what, resolved)
    if seen is not None and memo in seen:
        return seen[memo], resolved
    if local.is_dir() != want_dir or not (want_dir or local.is_file()):
        problem = "%s is not a %s%s" % (local, "folder" if want_dir else "regular file",
                                        "" if want_dir else " (a weights file)")
    else:
        problem = paths.folder_problem(Path(resolved)) if want_dir else paths.weights_problem(Path(resolved))
    if seen is not None:
        seen[memo] = problem
    return problem, resolved


def _check_device_name(name: str, path: Path, node: Any, from_matrix: bool) -> None:
    """A device no profile describes, named against the matrix line or the --device option."""
    known = devices.names()

    def unknown(n: str) -> list[str]:
        base, mode = devices.split_emulation(n)
        if mode is not None:
            return unknown(base)
        if "+" in n:
            return [u for part in n.split("+", 1) for u in unknown(part)]
        return [] if n in known else [n]

    bad = unknown(name)
    if bad:
        msg = "no device profile %r (known: %s; also HOST+ACCELERATOR, NAME%s and NAME%s)" % (
            bad[0], ", ".join(known) or "none", devices.FUNCTIONAL, devices.CEILING)
        if from_matrix:
            raise InputError(str(path), "device", msg, yamlfile.line_of(node, ["device"]))
        raise InputError("--device", "", msg)


def count_runs(matrix: Matrix) -> tuple[int, str]:
    """An upper bound on the plan's runs, from the axis lengths alone (before the product is expanded;
    exclude rules can only lower it; adaptive repetitions count at their maximum), and how it was made."""
    cells_n, parts = 1, []
    for key, values in matrix.axes.items():
        cells_n *= len(values)
        parts.append("%d %s" % (len(values), key))
    if not matrix.axes and matrix.include:
        cells_n = 0
    cells_n += len(matrix.include)
    sw = matrix.sweep
    points = sum(sw.stages + (r == "ascending") for r in sw.rounds) if sw is not None else 1  # as Sweep.points()
    reps = max(matrix.repetitions, matrix.adaptive.max_repetitions if matrix.adaptive else 0)
    how = " x ".join(parts) or "fixed"
    if matrix.include:
        how += " + %d include" % len(matrix.include)
    if sw is not None:
        how = "(%s) x %d sweep points" % (how, points)
    how += " x %d %srepetitions" % (reps, "adaptive " if reps > matrix.repetitions else "")
    if matrix.exclude:
        how += "; exclude rules not subtracted"
    return cells_n * points * reps, how


def check_size(matrix: Matrix, path: Path, node: Any, max_runs: int = MAX_RUNS) -> int:
    """The run count bound, or InputError when it is past `max_runs` (refused in microseconds: the product
    is never expanded)."""
    n, how = count_runs(matrix)
    if n > max_runs:
        key = "axes" if matrix.axes else "include" if matrix.include else "repetitions"
        raise InputError(str(path), key, "the plan has up to %d runs (%s), past the limit of %d: split the matrix, "
                         "or raise the limit with --max-runs" % (n, how, max_runs), yamlfile.line_of(node, [key]))
    return n


def check_before_run(plan: Plan, runner: str, results_root: Path, campaign: str = "") -> Path:
    """Everything refused once the runner and results root are known; the campaign folder to write."""
    check_for_runner(plan, runner)
    if campaign:
        return paths.campaign_dir(results_root, campaign, "--campaign")
    return paths.campaign_dir(results_root, plan.matrix.name, "%s: name" % plan.path)


def check_for_runner(plan: Plan, runner: str) -> None:
    """What a runner cannot do, refused before the campaign starts (each run would fail at creation)."""
    if runner != "docker":
        return
    low = [r.spec.limits.memory_mb for r in plan.runs
           if r.spec.limits.memory_mb is not None and r.spec.limits.memory_mb < DOCKER_MIN_MEMORY_MB]
    if not low:
        return
    node = yamlfile.load(plan.path)[1]
    msg = "%g MiB is below Docker's minimum memory limit of %g MiB (--runner docker)" % (low[0], DOCKER_MIN_MEMORY_MB)
    where: list[Union[str, int]] = ["sweep", "start_mb"]  # a sweep's lowest stage is its start
    if plan.matrix.sweep is None:
        loc = next(loc for cell, loc in cells(plan.matrix) if cell.get("memory_mb") == low[0])
        where = _where("memory_mb", loc, plan.matrix)
        if where == ["axes", "memory_mb"]:
            where.append(plan.matrix.axes["memory_mb"].index(low[0]))
    raise InputError(str(plan.path), yamlfile.dotted(where), msg, yamlfile.line_of(node, where))


def _planned(cell: dict[str, Any], labels: dict[str, str], rep: int, dev: devices.Device,
             campaign: str) -> PlannedRun:
    shape = streams.input_shape(cell.get("input_shape"), cell["model"], cell["framework"])
    kw = {k: v for k, v in cell.items() if k in CELL_KEYS and k not in _LIMIT_KEYS and k != "input_shape"}
    if cell["framework"] != "mxnet":  # MXNet-only settings stay out of other runtimes' specs (and their run ids)
        kw = {k: v for k, v in kw.items() if k not in ("cudnn_autotune", "hybridize")}
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
    return replace(spec, **changes).validate()


def estimate(spec: RunSpec) -> float:
    """Rough seconds for one run: start-up plus inferences at a nominal FLOP rate."""
    gmacs = zoo.PUBLISHED_GMACS.get(spec.model.split("+")[0], 1.0)
    c, h, w = spec.input_shape
    dflt = zoo.default_shape(spec.model, spec.framework)
    scale = (h * w) / float(dflt[1] * dflt[2])
    per_batch = (2 * gmacs * 1e9 * scale * spec.batch_size / _CPU_FLOPS + 0.002) * spec.copies
    measure = max(per_batch * spec.iterations, spec.min_measure_s)
    startup = _startup(spec.framework)
    if spec.workload == "placement":  # DMP: every stream starts; the synchronised interval is at most sync_max_s
        startup += sum(_startup(s.framework) for s in spec.streams)
        measure = max(measure, spec.sync_max_s)
    return startup + spec.settle_s + spec.monitor_ready_s + per_batch * spec.warmups + measure


def _startup(framework: str) -> float:
    fw = registry.FRAMEWORKS.get(framework)
    return fw.startup_s if fw is not None else 2.0
