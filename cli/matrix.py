"""Matrix files: axes, fixed values, include/exclude rules, repetitions, an optional P1 memory sweep.

Validated with pydantic; every error names the file, the line and the key, and says what was expected.
"""

from pathlib import Path
from typing import Any, Literal, Optional, Union

import yaml
from edgebench.suite.spec import cpuset_cpus
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from . import paths, yamlfile
from .errors import InputError
from .ramp import Ramp
from .ramp import check_matrix as check_ramp
from .streams import StreamCell

Shape = Union[int, list[int]]


class Cell(BaseModel):
    """The keys a matrix may set, each optional here; `fixed`, axes and include entries use them."""

    model_config = ConfigDict(extra="forbid")
    model: Optional[str] = None
    framework: Optional[str] = None
    precision: Optional[Literal["fp32", "fp16", "int8"]] = None
    batch_size: Optional[int] = Field(None, ge=1, le=4096)
    input_shape: Optional[Shape] = None
    num_classes: Optional[int] = Field(None, ge=1)
    warmups: Optional[int] = Field(None, ge=0)
    iterations: Optional[int] = Field(None, ge=1)
    threads: Optional[int] = Field(None, ge=1)
    placement: Optional[str] = None
    input_dir: Optional[str] = Field(None, description="image folder fed to the model; synthetic input when unset")
    weights: Optional[str] = Field(None, description="local weights file (torch state dict, or Keras weights "
                                   "for TFLite from Keras applications); random weights when unset")
    calib_dir: Optional[str] = Field(None, description="image folder for INT8 calibration and Taylor pruning")
    seed: Optional[int] = Field(None, ge=0)
    monitors: Optional[list[str]] = None
    monitor_config: Optional[dict[str, dict[str, Any]]] = None
    monitor_interval_s: Optional[float] = Field(None, gt=0)
    monitor_ready_s: Optional[float] = Field(None, ge=0)
    min_measure_s: Optional[float] = Field(None, ge=0)
    cv_threshold: Optional[float] = Field(None, gt=0)
    settle_s: Optional[float] = Field(None, ge=0)
    timeout_s: Optional[float] = Field(None, gt=0)
    memory_mb: Optional[float] = Field(None, gt=0, description="physical memory limit, MiB")
    memory_swap_mb: Optional[float] = Field(None, gt=0, description="memory + swap limit, MiB (Docker's --memory-swap)")
    swappiness: Optional[int] = Field(None, ge=0, le=100)
    cpus: Optional[float] = Field(None, gt=0)
    cpuset: Optional[str] = Field(None, description="CPUs the run may use, a cpuset list: '0-3', '0,2' (P3 pinning)")
    expect: Optional[Literal["ok", "failed", "oom", "killed", "timeout"]] = None
    # Several model streams per run (P3, cli/streams.py): copies of stream 0, or more streams placed apart.
    workload: Optional[Literal["single", "concurrent", "placement"]] = None
    copies: Optional[int] = Field(None, ge=1, le=1024)
    streams: Optional[list[StreamCell]] = None
    sync: Optional[Literal["lcm", "window"]] = None
    sync_granularity_s: Optional[float] = Field(None, gt=0)
    sync_max_s: Optional[float] = Field(None, gt=0)
    skew_limit_s: Optional[float] = Field(None, gt=0)
    cudnn_autotune: Optional[bool] = Field(None, description="mxnet: MXNET_CUDNN_AUTOTUNE_DEFAULT (P3 turned it off "
                                           "on the Nano); unset: MXNet's default (on)")
    hybridize: Optional[bool] = Field(None, description="mxnet: hybridise the Gluon net (default true)")
    # fresh: a new interpreter per run; forked: a child of a server that imported the runtime once (README).
    process: Optional[Literal["fresh", "forked"]] = None

    @field_validator("input_shape")
    @classmethod
    def _shape(cls, v: Optional[Shape]) -> Optional[Shape]:
        if v is None:
            return v
        dims = [v] if isinstance(v, int) else v
        if len(dims) not in (1, 3) or any(d < 1 for d in dims):
            raise ValueError("input_shape is H (square, 3 channels) or [C, H, W] of positive integers")
        return v

    @field_validator("cpuset")
    @classmethod
    def _cpuset(cls, v: Optional[str]) -> Optional[str]:
        if v is not None:
            cpuset_cpus(v)  # its ValueError names what was expected
        return v


CELL_KEYS = list(Cell.model_fields)


class Adaptive(BaseModel):
    """Repeat a cell until the CI of its median is within ci_share of the median, or max_repetitions."""

    model_config = ConfigDict(extra="forbid")
    ci_share: float = Field(0.05, gt=0, lt=1)
    confidence: float = Field(0.95, gt=0.5, lt=1)
    min_repetitions: int = Field(3, ge=2)
    max_repetitions: int = Field(10, ge=2)

    @model_validator(mode="after")
    def _order(self) -> "Adaptive":
        if self.max_repetitions < self.min_repetitions:
            raise ValueError("max_repetitions must be >= min_repetitions")
        return self


class Sweep(BaseModel):
    """P1's memory schedule: physical limit from start to end in `stages` steps, swap = budget - physical."""

    model_config = ConfigDict(extra="forbid")
    start_mb: float = Field(gt=0)
    end_mb: float = Field(gt=0)
    stages: int = Field(ge=1)
    budget_mb: float = Field(gt=0, description="physical + swap, fixed across stages")
    rounds: list[Literal["ascending", "descending", "ascending_again"]] = [
        "ascending", "descending", "ascending_again"]
    swappiness: Optional[int] = Field(10, ge=0, le=100)
    settle_s: float = Field(10.0, ge=0)

    @model_validator(mode="after")
    def _range(self) -> "Sweep":
        if self.end_mb <= self.start_mb:
            raise ValueError("end_mb must be greater than start_mb")
        if self.budget_mb < self.end_mb:
            raise ValueError("budget_mb must be at least end_mb (swap cannot be negative)")
        return self

    def points(self) -> list[tuple[str, int, float]]:
        """(round, stage index, physical MiB) in P1's order: ascending start..end, descending
        end-step..start, ascending again start+step..end."""
        step = (self.end_mb - self.start_mb) / self.stages
        values = [round(self.start_mb + i * step, 3) for i in range(self.stages + 1)]
        out: list[tuple[str, int, float]] = []
        for rnd in self.rounds:
            if rnd == "ascending":
                idx = list(range(0, self.stages + 1))
            elif rnd == "descending":
                idx = list(range(self.stages - 1, -1, -1))
            else:
                idx = list(range(1, self.stages + 1))
            out.extend((rnd, i, values[i]) for i in idx)
        return out


class Matrix(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    description: str = ""
    device: Optional[str] = None
    fixed: Cell = Cell()
    axes: dict[str, list[Any]] = {}
    include: list[Cell] = []
    exclude: list[dict[str, Any]] = []
    repetitions: int = Field(1, ge=1)
    order: Literal["cell-major", "repetition-major"] = "cell-major"
    # docker runner: a fresh container per run, or one per cell kept across its repetitions (limits updated
    # live between sweep stages); cli/runners/docker_reuse.py. Other runners ignore it.
    container: Literal["fresh", "reuse"] = "fresh"
    adaptive: Optional[Adaptive] = None
    sweep: Optional[Sweep] = None
    # A study across devices (P2, P3) lists frameworks some devices lack: "skip" leaves those cells out of the
    # plan (and says so) instead of refusing the matrix.
    unsupported: Literal["error", "skip"] = "error"
    ramp: Union[Ramp, list[Ramp], None] = None  # axes climbed until they fail (cli/ramp.py)

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if paths.name_problem(v):  # the name is the campaign's folder under the results root
            raise ValueError("not a campaign name: use %s" % paths.NAME_RULE)
        return v


def load(path: Union[str, Path]) -> Matrix:
    """Read and validate a matrix file; InputError naming file, line and key on any problem."""
    return load_with_node(path)[0]


def load_with_node(path: Union[str, Path]) -> tuple[Matrix, Optional[yaml.Node]]:
    """The matrix and its YAML node tree (for line numbers), from one read of the file."""
    path = Path(path)
    data, node = yamlfile.load(path)
    if not isinstance(data, dict):
        raise InputError(str(path), "", "expected a mapping of matrix keys at the top level")
    matrix = yamlfile.validate(Matrix, data, path, node)
    assert isinstance(matrix, Matrix)
    for key, values in matrix.axes.items():
        if key not in CELL_KEYS:
            raise InputError(str(path), "axes.%s" % key, "unknown axis; expected one of %s" % ", ".join(CELL_KEYS),
                             yamlfile.line_of(node, ["axes", key]))
        if not values:
            raise InputError(str(path), "axes.%s" % key, "empty axis; give at least one value",
                             yamlfile.line_of(node, ["axes", key]))
        for i, value in enumerate(values):
            try:
                Cell.model_validate({key: value})
            except ValidationError as e:
                raise yamlfile.error_from(e, path, node, ["axes", key, i], drop=1) from None
            if value is None and key in ("model", "framework"):
                raise InputError(str(path), "axes.%s[%d]" % (key, i), "must not be null",
                                 yamlfile.line_of(node, ["axes", key, i]))
    for i, rule in enumerate(matrix.exclude):
        for key in rule:
            if key not in CELL_KEYS:
                raise InputError(str(path), "exclude[%d].%s" % (i, key), "unknown key; expected one of %s"
                                 % ", ".join(CELL_KEYS), yamlfile.line_of(node, ["exclude", i, key]))
    check_ramp(matrix, path, node)
    return matrix, node


def node_of(path: Path) -> Optional[yaml.Node]:
    return yamlfile.load(path)[1]
