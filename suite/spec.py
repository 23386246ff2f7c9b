"""RunSpec in, RunResult out: the versioned boundary between host and image.

Plain dataclasses so the suite needs no pydantic; the host generates JSON Schema from them.
Python 3.6 needs the `dataclasses` backport (installed in JetPack 4 images).
"""

import copy
import hashlib
import json
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any, Callable, Dict, List, Optional, Set, Tuple

from . import placements

SCHEMA_VERSION = 2
WORKLOADS = ("single", "concurrent", "placement")
SYNCS = ("lcm", "window")
PROCESSES = ("fresh", "forked")

STATUSES = ("ok", "failed", "oom", "killed", "timeout", "skipped")

# Fields that do not change what is measured, so they stay out of the run id.
_ID_EXCLUDE = ("campaign", "expect", "timeout_s", "schema_version")

# Upgrades from an older schema_version to the next one: {old_version: fn(dict) -> dict}.
SPEC_UPGRADES: Dict[int, Callable[[Dict[str, Any]], Dict[str, Any]]] = {}
RESULT_UPGRADES: Dict[int, Callable[[Dict[str, Any]], Dict[str, Any]]] = {}


class SchemaError(ValueError):
    """A spec or result file that cannot be read as this schema."""


@dataclass(frozen=True)
class Limits:
    """Resource limits asked of the run. Sizes in MiB (2**20 bytes, as every `*_mb` field; see README)."""

    memory_mb: Optional[float] = None  # physical memory limit (MiB)
    memory_swap_mb: Optional[float] = None  # memory + swap together, Docker's --memory-swap (MiB)
    swappiness: Optional[int] = None
    cpus: Optional[float] = None
    cpuset: Optional[str] = None  # CPUs the run may use, a cgroup cpuset list ("0-3", "0,2"); last: ids stay

    @property
    def swap_mb(self) -> Optional[float]:
        if self.memory_mb is None or self.memory_swap_mb is None:
            return None
        return self.memory_swap_mb - self.memory_mb


@dataclass(frozen=True)
class StreamSpec:
    """One model stream of a run: what a backend reads. Stream 0 is the RunSpec's own top-level fields;
    device and limits are run-level values passed down (TensorRT reads limits)."""

    model: str
    framework: str
    precision: str = "fp32"
    batch_size: int = 1
    input_shape: Tuple[int, ...] = (3, 224, 224)
    num_classes: int = 1000
    threads: Optional[int] = None  # per copy; None: max(1, cores // copies) in a concurrent run
    placement: str = "cpu"  # "cpu", "cpu:0-1", "cuda:0", "edgetpu:1", "usb:0"; copies: "edgetpu:0,edgetpu:1"
    artifact: Optional[str] = None
    input_dir: Optional[str] = None
    weights: Optional[str] = None
    calib_dir: Optional[str] = None
    seed: int = 0
    copies: int = 1
    stream_id: str = "0"
    device: str = "host-cpu"
    limits: Limits = field(default_factory=Limits)
    # MXNet (issue 17): MXNET_CUDNN_AUTOTUNE_DEFAULT set before import (None: the runtime's default, on), and
    # whether the Gluon net is hybridised (a static graph) or run imperatively. Other runtimes ignore both.
    cudnn_autotune: Optional[bool] = None
    hybridize: bool = True
    jit_compile: bool = False  # tensorflow: compile the tf.function with XLA (P3 ran without)

    def to_dict(self) -> Dict[str, Any]:
        d = {name: getattr(self, name) for name in _STREAM_SPEC_FIELDS}
        d["input_shape"] = list(self.input_shape)
        d["limits"] = _limits_dict(self.limits)
        return d

    @classmethod
    def from_dict(cls, data: Dict[str, Any], source: str = "stream") -> "StreamSpec":
        if not isinstance(data, dict):
            raise SchemaError("%s: expected a mapping, got %r" % (source, data))
        d = _model_fields(cls, data, source)
        return cls(**d)


# RunSpec fields that are stream 0's StreamSpec (the rest are run-level).
_STREAM_FIELDS = ("model", "framework", "precision", "batch_size", "input_shape", "num_classes", "threads",
                  "placement", "artifact", "input_dir", "weights", "calib_dir", "seed", "copies", "device",
                  "limits", "cudnn_autotune", "hybridize", "jit_compile")


def _model_fields(cls: Any, data: Dict[str, Any], source: str) -> Dict[str, Any]:
    """The keys of a stream or run spec, checked: none unknown, model and framework given, limits and
    input_shape in their types."""
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise SchemaError("%s: unknown key(s) %s" % (source, ", ".join(unknown)))
    missing = [k for k in ("model", "framework") if k not in data]
    if missing:
        raise SchemaError("%s: missing required key(s) %s" % (source, ", ".join(missing)))
    d = dict(data)
    d["limits"] = _limits(d.get("limits"), source)
    if "input_shape" in d:
        d["input_shape"] = tuple(int(v) for v in d["input_shape"])
    return d


def _limits(value: Any, source: str) -> Limits:
    if isinstance(value, Limits):
        return value
    value = value or {}
    if not isinstance(value, dict):
        raise SchemaError("%s: key 'limits' must be a mapping, got %r" % (source, value))
    try:
        lim = Limits(**value)
    except TypeError as e:
        raise SchemaError("%s: key 'limits': %s" % (source, e)) from e
    if lim.cpuset is not None:
        try:
            cpuset_cpus(lim.cpuset)
        except ValueError as e:
            raise SchemaError("%s: key 'limits.cpuset': %s" % (source, e)) from None
    return lim


def cpuset_cpus(text: Any) -> List[int]:
    """The CPUs of a cpuset list ("0-3,6"), sorted; ValueError naming what was expected otherwise."""
    bad = ValueError("expected a CPU list like '0-3' or '0,2', got %r" % (text,))
    if not isinstance(text, str) or not text.strip():
        raise bad
    cpus: Set[int] = set()
    for part in text.strip().split(","):
        lo, sep, hi = part.strip().partition("-")
        if not lo.isdigit() or (sep and not hi.isdigit()):
            raise bad
        first, last = int(lo), int(hi) if sep else int(lo)
        if last < first:
            raise bad
        cpus.update(range(first, last + 1))
    return sorted(cpus)


@dataclass(frozen=True)
class RunSpec:
    """One cell x one repetition of a matrix: everything the child needs to run it."""

    model: str
    framework: str
    precision: str = "fp32"
    batch_size: int = 1
    input_shape: Tuple[int, ...] = (3, 224, 224)
    num_classes: int = 1000
    warmups: int = 1
    iterations: int = 20
    repetition: int = 0
    threads: Optional[int] = None
    placement: str = "cpu"
    device: str = "host-cpu"
    image: Optional[str] = None
    limits: Limits = field(default_factory=Limits)
    artifact: Optional[str] = None  # model file, relative to the models folder given to the child
    input_dir: Optional[str] = None  # a local image folder; synthetic input when None
    weights: Optional[str] = None  # a local weights file the artefact is made from; random weights when None
    calib_dir: Optional[str] = None  # images for INT8 calibration and Taylor pruning; synthetic when None
    seed: int = 0
    monitors: Tuple[str, ...] = ("psutil",)
    monitor_config: Dict[str, Dict[str, Any]] = field(default_factory=dict)  # per monitor, e.g. ina219 bus
    monitor_interval_s: float = 0.1
    monitor_ready_s: float = 0.0  # P1: profilers get this long to start before warm-up
    min_measure_s: float = 0.0  # P1: pad the measure phase with untimed inferences up to this long
    cv_threshold: float = 0.10
    settle_s: float = 0.0  # P1: wait after the limits are applied, before the model starts
    labels: Dict[str, str] = field(default_factory=dict)  # e.g. sweep round and stage; part of the id
    timeout_s: float = 600.0
    campaign: str = ""
    expect: Optional[str] = None  # the status this cell is expected to end in, e.g. "oom"
    # v2: how inferences are driven (suite/workloads). The top-level model fields above are stream 0.
    workload: str = "single"  # "single", "concurrent" (copies of stream 0), "placement" (>= 2 streams)
    copies: int = 1  # copies of stream 0, each its own runtime object and thread
    streams: Tuple[StreamSpec, ...] = ()  # the OTHER streams of a placement run
    sync: str = "lcm"  # placement runs: "lcm" (P3) or "window" (see workloads/placement.py)
    sync_granularity_s: float = 0.01  # single-inference times are rounded to this before their LCM
    sync_max_s: float = 30.0  # the interval's cap (lcm), or the window's length (window)
    sync_min_s: float = 1.0  # lcm: the interval is the smallest multiple of the LCM at least this long
    skew_limit_s: float = 1.0  # streams' end times further apart than this: kept, marked invalid (P3)
    schema_version: int = SCHEMA_VERSION
    cudnn_autotune: Optional[bool] = None  # stream 0's (StreamSpec): MXNet's cuDNN autotune switch
    hybridize: bool = True  # stream 0's (StreamSpec): MXNet Gluon hybridize
    jit_compile: bool = False  # stream 0's (StreamSpec): tensorflow's tf.function through XLA
    # How the run's process starts: "fresh" (a new interpreter) or "forked" (from a server that imported
    # the runtime once; suite/forkserver.py). Last, with its default left out of the id: old ids stay.
    process: str = "fresh"

    @property
    def run_id(self) -> str:
        # Computed once per spec (a plan asks for it several times per run); frozen, so it cannot go stale.
        rid = self.__dict__.get("_run_id")
        if rid is None:
            rid = run_id_of(self)
            object.__setattr__(self, "_run_id", rid)
        return rid

    def to_dict(self) -> Dict[str, Any]:
        """What dataclasses.asdict gives (lists for tuples), field by field: asdict walks and deep-copies
        every value and cost ~0.3 ms a spec, the bulk of planning 100,000 runs."""
        d = {name: getattr(self, name) for name in _RUN_SPEC_FIELDS}
        d["input_shape"] = list(self.input_shape)
        d["monitors"] = list(self.monitors)
        d["streams"] = [s.to_dict() for s in self.streams]
        d["limits"] = _limits_dict(self.limits)
        d["labels"] = dict(self.labels)
        d["monitor_config"] = copy.deepcopy(self.monitor_config) if self.monitor_config else {}
        return d

    def stream_specs(self) -> List[StreamSpec]:
        """Stream 0 from the top-level fields, then `streams` with the run-level device and limits; a stream
        whose id is left at "0" gets its index as id."""
        first = StreamSpec(stream_id="0", **{k: getattr(self, k) for k in _STREAM_FIELDS})
        out = [first]
        for i, st in enumerate(self.streams, 1):
            out.append(replace(st, device=self.device, limits=self.limits,
                               stream_id=st.stream_id if st.stream_id != "0" else str(i)))
        return out

    def validate(self, source: str = "spec") -> "RunSpec":
        """Raise SchemaError naming the key for a spec the suite cannot run; returns self."""
        def bad(key: str, why: str) -> SchemaError:
            return SchemaError("%s: key %r: %s" % (source, key, why))

        if self.workload not in WORKLOADS:
            raise bad("workload", "%r is not one of %s" % (self.workload, ", ".join(WORKLOADS)))
        if self.process not in PROCESSES:
            raise bad("process", "%r is not one of %s" % (self.process, ", ".join(PROCESSES)))
        if self.sync not in SYNCS:
            raise bad("sync", "%r is not one of %s" % (self.sync, ", ".join(SYNCS)))
        for key in ("sync_granularity_s", "sync_max_s", "skew_limit_s"):
            if not getattr(self, key) > 0:
                raise bad(key, "must be > 0, got %r" % getattr(self, key))
        if self.sync_min_s < 0 or self.sync_min_s > self.sync_max_s:
            raise bad("sync_min_s", "must be in [0, sync_max_s=%g], got %r" % (self.sync_max_s, self.sync_min_s))
        streams = self.stream_specs()
        for i, st in enumerate(streams):
            key = "copies" if i == 0 else "streams[%d].copies" % (i - 1)
            if not isinstance(st.copies, int) or st.copies < 1:
                raise bad(key, "must be an integer >= 1, got %r" % (st.copies,))
            if st.threads is not None and st.threads < 1:
                raise bad("threads" if i == 0 else "streams[%d].threads" % (i - 1), "must be >= 1 or null")
            for p in placements.split(st.placement):
                try:
                    placements.cpu_set(p)
                    if placements.is_edgetpu(p):
                        placements.edgetpu_device(p)
                except ValueError as e:
                    raise bad("placement" if i == 0 else "streams[%d].placement" % (i - 1), str(e)) from e
        if self.workload == "single" and (self.copies != 1 or self.streams):
            raise bad("copies" if self.copies != 1 else "streams",
                      "a single run has one copy of one stream; use workload concurrent or placement")
        if self.workload == "concurrent" and self.streams:
            raise bad("streams", "a concurrent run has copies of one stream; use workload placement for several")
        if self.workload == "placement" and len(streams) < 2:
            raise bad("streams", "a placement run needs at least 2 streams (stream 0 plus 'streams'), got 1")
        ids = [st.stream_id for st in streams]
        if len(set(ids)) != len(ids):
            raise bad("streams", "stream ids must differ, got %s" % ids)
        owner: Dict[str, int] = {}
        for i, st in enumerate(streams):
            for acc in placements.accelerators(st.placement):
                if acc in owner and owner[acc] != i:
                    raise bad("streams[%d].placement" % (i - 1),
                              "accelerator %s is already stream %s's" % (acc, streams[owner[acc]].stream_id))
                owner[acc] = i
        return self

    @classmethod
    def from_dict(cls, data: Dict[str, Any], source: str = "spec") -> "RunSpec":
        data = upgrade(dict(data), SPEC_UPGRADES, source)
        d = _model_fields(cls, data, source)
        if "monitors" in d:
            d["monitors"] = tuple(d["monitors"])
        if "streams" in d:
            if not isinstance(d["streams"], (list, tuple)):
                raise SchemaError("%s: key 'streams' must be a list of streams, got %r" % (source, d["streams"]))
            d["streams"] = tuple(StreamSpec.from_dict(st, "%s: streams[%d]" % (source, i))
                                 for i, st in enumerate(d["streams"]))
        return cls(**d).validate(source)


_RUN_SPEC_FIELDS = tuple(f.name for f in fields(RunSpec))
_STREAM_SPEC_FIELDS = tuple(f.name for f in fields(StreamSpec))
_LIMIT_FIELDS = tuple(f.name for f in fields(Limits))


def _limits_dict(limits: Limits) -> Dict[str, Any]:
    return {name: getattr(limits, name) for name in _LIMIT_FIELDS}


# Limits added after ids were first pinned: left out of the id while unset, so the id of a run that does not
# set them stays what it was (the limits dict is hashed whole).
_LATE_LIMITS = ("cpuset",)


def _id_form(d: Dict[str, Any]) -> Dict[str, Any]:
    for lim in [d.get("limits")] + [st.get("limits") for st in d.get("streams") or []]:
        for name in _LATE_LIMITS:
            if isinstance(lim, dict) and lim.get(name) is None:
                lim.pop(name, None)
    return d


_DEFAULTS: List[Dict[str, Any]] = []  # a default RunSpec's to_dict, made once (model and framework always count)


def run_id_of(spec: RunSpec) -> str:
    """A stable id: hash of the fields that change the measurement, defaults left out.

    Leaving defaults out keeps old ids stable when a new field with a default is added.
    """
    if not _DEFAULTS:
        _DEFAULTS.append(_id_form(RunSpec(model="", framework="").to_dict()))
    defaults = _DEFAULTS[0]
    d = _id_form(spec.to_dict())
    key = {k: v for k, v in d.items() if k not in _ID_EXCLUDE and (k in ("model", "framework") or v != defaults[k])}
    blob = json.dumps(key, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:12]


def upgrade(data: Dict[str, Any], steps: Dict[int, Callable[[Dict[str, Any]], Dict[str, Any]]],
            source: str) -> Dict[str, Any]:
    """Bring a record up to SCHEMA_VERSION one step at a time; refuse records from the future."""
    version = data.get("schema_version", SCHEMA_VERSION)
    if not isinstance(version, int):
        raise SchemaError("%s: schema_version must be an integer, got %r" % (source, version))
    if version > SCHEMA_VERSION:
        raise SchemaError("%s: schema_version %d is newer than this edgebench understands (%d); upgrade edgebench"
                          % (source, version, SCHEMA_VERSION))
    while version < SCHEMA_VERSION:
        if version not in steps:
            raise SchemaError("%s: no upgrade from schema_version %d" % (source, version))
        data = steps[version](data)
        version += 1
        data["schema_version"] = version
    return data


@dataclass(frozen=True)
class Phase:
    name: str
    start_mono: float
    end_mono: float
    start_wall: float
    end_wall: float

    @property
    def duration_s(self) -> float:
        return self.end_mono - self.start_mono


@dataclass
class Summary:
    n: int
    mean: float
    std: float
    cv: float
    min: float
    p50: float
    p90: float
    p99: float
    max: float


@dataclass
class CopyResult:
    """One copy of a stream: its own runtime object, thread and timed loop. Stamps are time.monotonic()
    (start: its release from the barrier; end: its last inference's end) and time.time() at start."""

    copy: int
    device: str = ""  # the placement this copy ran on, e.g. "cpu", "cpu:1", "edgetpu:0"
    threads: Optional[int] = None  # runtime threads of this copy's runtime object
    cpus: Optional[List[int]] = None  # the inference thread's CPU affinity, as read back inside it
    start_wall: Optional[float] = None
    start_mono: Optional[float] = None
    end_mono: Optional[float] = None
    latencies_s: List[float] = field(default_factory=list)
    warmup_latencies_s: List[float] = field(default_factory=list)
    inferences: int = 0  # batch x timed iterations counted (placement runs: those ending inside the interval)
    throughput_ips: Optional[float] = None  # inferences / (end_mono - start_mono)
    summary: Optional[Summary] = None
    placement: Dict[str, Any] = field(default_factory=dict)  # what this copy's runtime reported
    error: str = ""  # why this copy stopped early, if it did


@dataclass
class StreamResult:
    """One model stream of a run, with its copies."""

    stream_id: str
    model: str
    framework: str
    batch_size: int = 1
    placement: Dict[str, Any] = field(default_factory=dict)  # copy 0's runtime report
    copies: List[CopyResult] = field(default_factory=list)
    inferences: int = 0  # sum over copies
    throughput_ips: Optional[float] = None  # inferences / the run's measure_time_s
    single_inference_s: Optional[float] = None  # placement/lcm: the time this stream told the others


@dataclass
class RunResult:
    """What one run measured, and its fate. Latencies in seconds, memory in MiB."""

    run_id: str
    status: str
    spec: Dict[str, Any]
    reason: str = ""
    phases: List[Phase] = field(default_factory=list)
    warmup_s: Optional[float] = None  # the first inference, apart from steady state (P1)
    warmup_latencies_s: List[float] = field(default_factory=list)
    latencies_s: List[float] = field(default_factory=list)
    summary: Optional[Summary] = None
    inferences: int = 0  # batch_size x timed iterations
    measure_time_s: Optional[float] = None
    throughput_ips: Optional[float] = None  # inferences / measure_time_s (P3)
    pad_inferences: int = 0
    noisy: bool = False
    noise_reason: str = ""
    memory_bound: Dict[str, Any] = field(default_factory=dict)  # did the cgroup limit really bound the model?
    throttled: Optional[bool] = None  # None: nothing here could tell
    throttle: Dict[str, Any] = field(default_factory=dict)  # the evidence, from probes at start and end
    memory: Dict[str, Optional[float]] = field(default_factory=dict)
    placement: Dict[str, Any] = field(default_factory=dict)
    monitor: Dict[str, Any] = field(default_factory=dict)
    env: Dict[str, Any] = field(default_factory=dict)
    host: Dict[str, Any] = field(default_factory=dict)  # filled in by the runner on the host
    # v2. Top-level latencies_s/warmup_latencies_s pool every copy of every stream (stream, then copy order);
    # for a single run that is stream 0 copy 0. inferences/measure_time_s/throughput_ips are the run's totals.
    workload: str = "single"
    streams: List[StreamResult] = field(default_factory=list)
    skew_s: Optional[float] = None  # max - min of the copies' (and streams') end times
    valid: bool = True  # False: kept, but a check failed (placement: skew over skew_limit_s)
    invalid_reason: str = ""
    interval_s: Optional[float] = None  # placement runs: the measured interval
    sync: Dict[str, Any] = field(default_factory=dict)  # how the interval was chosen (placement runs)
    schema_version: int = SCHEMA_VERSION
    # How the process started: {mode: fresh|forked, import_s, ...; forked: server_pid, served; a fallback: reason}
    process: Dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> Dict[str, Any]:
        d = asdict(self)
        for p, src in zip(d["phases"], self.phases):
            p["duration_s"] = src.duration_s
        return d

    @classmethod
    def from_dict(cls, data: Dict[str, Any], source: str = "result") -> "RunResult":
        data = upgrade(dict(data), RESULT_UPGRADES, source)
        known = {f.name for f in fields(cls)}
        d = {k: v for k, v in data.items() if k in known}
        for k in ("run_id", "status", "spec"):
            if k not in d:
                raise SchemaError("%s: missing required key %r" % (source, k))
        if d["status"] not in STATUSES:
            raise SchemaError("%s: status %r is not one of %s" % (source, d["status"], ", ".join(STATUSES)))
        try:
            d["phases"] = [Phase(**{k: v for k, v in p.items() if k != "duration_s"}) for p in d.get("phases", [])]
            if d.get("summary") is not None:
                d["summary"] = Summary(**d["summary"])
            d["streams"] = [_stream_result(st) for st in d.get("streams") or []]
        except TypeError as e:
            raise SchemaError("%s: %s" % (source, e)) from e
        return cls(**d)

    def phase(self, name: str) -> Optional[Phase]:
        for p in self.phases:
            if p.name == name:
                return p
        return None


def _stream_result(d: Dict[str, Any]) -> StreamResult:
    d = dict(d)
    copies = []
    for c in d.get("copies") or []:
        c = dict(c)
        if c.get("summary") is not None:
            c["summary"] = Summary(**c["summary"])
        copies.append(CopyResult(**c))
    d["copies"] = copies
    return StreamResult(**d)


def _spec_v1_to_v2(d: Dict[str, Any]) -> Dict[str, Any]:
    return dict(d)  # every v2 field has a default that means what v1 did


def _result_v1_to_v2(d: Dict[str, Any]) -> Dict[str, Any]:
    """A v1 result is one stream with one copy: build streams[0] from the top-level fields."""
    d = dict(d)
    spec = d.get("spec") or {}
    measure = next((p for p in d.get("phases") or [] if p.get("name") == "measure"), None)
    copy = {"copy": 0, "device": spec.get("placement", "cpu"), "threads": spec.get("threads"),
            "latencies_s": list(d.get("latencies_s") or []),
            "warmup_latencies_s": list(d.get("warmup_latencies_s") or []),
            "inferences": d.get("inferences", 0), "throughput_ips": d.get("throughput_ips"),
            "summary": d.get("summary"), "placement": dict(d.get("placement") or {})}
    if measure is not None:
        copy.update(start_wall=measure.get("start_wall"), start_mono=measure.get("start_mono"),
                    end_mono=measure.get("end_mono"))
    d["workload"] = "single"
    d["streams"] = [{"stream_id": "0", "model": spec.get("model", ""), "framework": spec.get("framework", ""),
                     "batch_size": spec.get("batch_size", 1), "placement": copy["placement"], "copies": [copy],
                     "inferences": copy["inferences"], "throughput_ips": copy["throughput_ips"]}]
    d["skew_s"] = 0.0 if measure is not None else None
    return d


SPEC_UPGRADES[1] = _spec_v1_to_v2
RESULT_UPGRADES[1] = _result_v1_to_v2


def load_json(path: str) -> Dict[str, Any]:
    with open(path) as f:
        data = json.load(f)
    if not isinstance(data, dict):
        raise SchemaError("%s: expected a JSON object" % path)
    return data
