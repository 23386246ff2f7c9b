"""RunSpec in, RunResult out: the versioned boundary between host and image.

Plain dataclasses so the suite needs no pydantic; the host generates JSON Schema from them.
Python 3.6 needs the `dataclasses` backport (installed in JetPack 4 images).
"""

import hashlib
import json
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Callable, Dict, List, Optional, Tuple

SCHEMA_VERSION = 1

STATUSES = ("ok", "failed", "oom", "killed", "timeout", "skipped")
PRECISIONS = ("fp32", "fp16", "int8")

# Fields that do not change what is measured, so they stay out of the run id.
_ID_EXCLUDE = ("campaign", "expect", "timeout_s", "schema_version")

# Upgrades from an older schema_version to the next one: {old_version: fn(dict) -> dict}.
SPEC_UPGRADES: Dict[int, Callable[[Dict[str, Any]], Dict[str, Any]]] = {}
RESULT_UPGRADES: Dict[int, Callable[[Dict[str, Any]], Dict[str, Any]]] = {}


class SchemaError(ValueError):
    """A spec or result file that cannot be read as this schema."""


@dataclass(frozen=True)
class Limits:
    """Resource limits asked of the run. Sizes in MB (10**6 bytes would surprise; these are MiB)."""

    memory_mb: Optional[float] = None  # physical memory limit (MiB)
    memory_swap_mb: Optional[float] = None  # memory + swap together, Docker's --memory-swap (MiB)
    swappiness: Optional[int] = None
    cpus: Optional[float] = None

    @property
    def swap_mb(self) -> Optional[float]:
        if self.memory_mb is None or self.memory_swap_mb is None:
            return None
        return self.memory_swap_mb - self.memory_mb


@dataclass(frozen=True)
class StreamSpec:
    """One model stream of a run (helper h4 owns the full version; these are the fields the host needs)."""

    model: str
    framework: str
    precision: str = "fp32"
    batch_size: int = 1
    input_shape: Tuple[int, ...] = (3, 224, 224)
    num_classes: int = 1000
    threads: Optional[int] = None
    placement: str = "cpu"
    artifact: Optional[str] = None
    input_dir: Optional[str] = None
    weights: Optional[str] = None
    calib_dir: Optional[str] = None
    seed: int = 0
    copies: int = 1
    stream_id: str = "0"


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
    workload: str = "single"  # "single", "concurrent" (copies of stream 0) or "placement" (streams)
    copies: int = 1
    streams: Tuple[StreamSpec, ...] = ()  # the other streams of a placement run
    sync: str = "lcm"
    sync_granularity_s: float = 0.1
    sync_max_s: float = 60.0
    skew_limit_s: float = 1.0
    schema_version: int = SCHEMA_VERSION

    @property
    def run_id(self) -> str:
        return run_id_of(self)

    def to_dict(self) -> Dict[str, Any]:
        d = asdict(self)
        d["input_shape"] = list(self.input_shape)
        d["monitors"] = list(self.monitors)
        d["streams"] = [dict(st, input_shape=list(st["input_shape"])) for st in d["streams"]]
        return d

    @classmethod
    def from_dict(cls, data: Dict[str, Any], source: str = "spec") -> "RunSpec":
        data = upgrade(dict(data), SPEC_UPGRADES, source)
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise SchemaError("%s: unknown key(s) %s" % (source, ", ".join(unknown)))
        missing = [k for k in ("model", "framework") if k not in data]
        if missing:
            raise SchemaError("%s: missing required key(s) %s" % (source, ", ".join(missing)))
        d = dict(data)
        limits = d.get("limits") or {}
        if not isinstance(limits, dict):
            raise SchemaError("%s: key 'limits' must be a mapping, got %r" % (source, limits))
        try:
            d["limits"] = Limits(**limits)
        except TypeError as e:
            raise SchemaError("%s: key 'limits': %s" % (source, e)) from e
        if "input_shape" in d:
            d["input_shape"] = tuple(int(v) for v in d["input_shape"])
        if "monitors" in d:
            d["monitors"] = tuple(d["monitors"])
        if "streams" in d:
            try:
                d["streams"] = tuple(StreamSpec(**dict(st, input_shape=tuple(st.get("input_shape", (3, 224, 224)))))
                                     for st in d["streams"])
            except (TypeError, AttributeError) as e:
                raise SchemaError("%s: key 'streams': %s" % (source, e)) from e
        return cls(**d)

    def stream_specs(self) -> List[StreamSpec]:
        """Stream 0 from the top-level fields, then the others."""
        own = {f.name for f in fields(StreamSpec)}
        first = StreamSpec(**{k: v for k, v in asdict(self).items() if k in own and k != "stream_id"})
        return [first] + list(self.streams)


def run_id_of(spec: RunSpec) -> str:
    """A stable id: hash of the fields that change the measurement, defaults left out.

    Leaving defaults out keeps old ids stable when a new field with a default is added.
    """
    defaults = RunSpec(model=spec.model, framework=spec.framework).to_dict()
    d = spec.to_dict()
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
    schema_version: int = SCHEMA_VERSION

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
        except TypeError as e:
            raise SchemaError("%s: %s" % (source, e)) from e
        return cls(**d)

    def phase(self, name: str) -> Optional[Phase]:
        for p in self.phases:
            if p.name == name:
                return p
        return None


def load_json(path: str) -> Dict[str, Any]:
    with open(path) as f:
        data = json.load(f)
    if not isinstance(data, dict):
        raise SchemaError("%s: expected a JSON object" % path)
    return data
