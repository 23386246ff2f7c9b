"""Ramps that stop (P3): an ascending axis climbed one level at a time per cell group, stopped at the
first level whose runs fail, optionally also at a throughput plateau.

Pure decision logic: what a matrix may say (`Ramp`), how a level's repetitions are judged
(`level_failure`), when a climb stops (`decide`) and the plan order a climb needs (`order`). The
campaign side (skipped records, resume) is in ramp_campaign.py.

A level fails when a MAJORITY of its repetitions ended in a `stop_on` status their cell did not
`expect` (`fail_when: majority`, the default). P3 climbs "until memory fails": at the border a model
fits in some repetitions and not in others (allocator and page-cache noise), and one OOM among 30
repetitions says the level mostly fits. `fail_when: any` stops at the first failed repetition (the
cautious choice on a device that must not be pushed twice), `all` only when nothing ran.
"""

import json
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Optional, TypeVar

from pydantic import BaseModel, ConfigDict, Field

RAMP_AXES = ("batch_size", "copies")
Stop = Literal["oom", "failed", "killed", "timeout"]
STOP_STATUSES: tuple[Stop, ...] = ("oom", "failed", "killed", "timeout")


class Plateau(BaseModel):
    """Stop when the best throughput of the last `levels` levels gains less than `min_gain` (a share)
    over the best of the levels before them."""

    model_config = ConfigDict(extra="forbid")
    levels: int = Field(3, ge=1)
    min_gain: float = Field(0.05, ge=0)


class Ramp(BaseModel):
    model_config = ConfigDict(extra="forbid")
    axis: Literal["batch_size", "copies"]
    stop_on: list[Stop] = list(STOP_STATUSES)
    fail_when: Literal["majority", "any", "all"] = "majority"
    plateau: Optional[Plateau] = None


@dataclass
class Level:
    """One level of one group as it ended: each repetition's status (with the statuses its cell
    counts as expected) and throughput."""

    value: Any
    statuses: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    throughputs: list[float] = field(default_factory=list)

    @property
    def throughput(self) -> Optional[float]:
        """Median throughput of the level's ok repetitions (P3 reports per configuration)."""
        return statistics.median(self.throughputs) if self.throughputs else None


@dataclass
class Decision:
    """Where a group's climb stopped: the index of the last level that runs (None: it never stopped),
    why, and the failing statuses at the stopping level."""

    stop_index: Optional[int] = None
    reason: str = ""
    kind: str = ""  # "failure" or "plateau"

    def skip_reason(self, index: int) -> str:
        """Why level `index` (of the levels decided on) is skipped; empty when it runs."""
        if self.stop_index is None or index <= self.stop_index:
            return ""
        return self.reason


def level_failure(level: Level, ramp: Ramp) -> str:
    """Why the level failed ('3 of 5 repetitions oom'), or empty when it did not."""
    bad = [st for st, expected in level.statuses if st in ramp.stop_on and st not in expected]
    n = len(level.statuses)
    if not bad or n == 0:
        return ""
    failed = {"any": len(bad) >= 1, "majority": 2 * len(bad) > n, "all": len(bad) == n}[ramp.fail_when]
    if not failed:
        return ""
    counts: dict[str, int] = {}
    for st in bad:
        counts[st] = counts.get(st, 0) + 1
    return "%d of %d repetitions %s" % (len(bad), n, ", ".join("%s" % s if c == len(bad) else "%d %s" % (c, s)
                                                                 for s, c in sorted(counts.items())))


def decide(levels: Sequence[Level], ramp: Ramp) -> Decision:
    """The first stop along ascending levels: a failing level (it ran; those above do not), else a
    plateau after a level (it ran; those above do not)."""
    for i, level in enumerate(levels):
        if level.statuses and all(st == "skipped" for st, _ in level.statuses):
            # skipped by another ramp (a larger batch at fewer copies failed): what is above it would be too
            return Decision(i, "above level %s, skipped by another ramp" % level.value, "skipped")
        why = level_failure(level, ramp)
        if why:
            return Decision(i, "above failing level %s (%s)" % (level.value, why), "failure")
        plateau = _plateau(levels[: i + 1], ramp.plateau)
        if plateau:
            return Decision(i, plateau, "plateau")
    return Decision()


def _plateau(levels: Sequence[Level], cfg: Optional[Plateau]) -> str:
    if cfg is None or len(levels) <= cfg.levels:
        return ""
    before = [lv.throughput for lv in levels[: -cfg.levels] if lv.throughput is not None]
    last = [lv.throughput for lv in levels[-cfg.levels:] if lv.throughput is not None]
    if not before or not last:
        return ""
    best_before, best_last = max(before), max(last)
    if best_before <= 0 or best_last >= best_before * (1 + cfg.min_gain):
        return ""
    return ("plateau: best of levels %s is %.4g inf/s, less than %.0f%% over %.4g inf/s before them"
            % ("/".join(str(lv.value) for lv in levels[-cfg.levels:]), best_last, 100 * cfg.min_gain, best_before))


# Spec fields that differ between the levels or repetitions of one climb without making another group.
_NOT_GROUP = ("repetition", "artifact", "expect", "timeout_s", "campaign", "schema_version", "image")


def group_key(spec: dict[str, Any], axis: str) -> str:
    """Specs that differ only in the ramp axis (and repetition) climb together."""
    return json.dumps({k: v for k, v in spec.items() if k != axis and k not in _NOT_GROUP},
                      sort_keys=True, default=str)


def level_of(spec: dict[str, Any], axis: str) -> Any:
    return spec.get(axis, 1)


def check_ascending(values: Sequence[Any]) -> str:
    """Why a ramp's values are not a strictly ascending list of numbers; empty when they are."""
    for i, v in enumerate(values):
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            return "ramp values must be numbers (item %d is %r)" % (i, v)
        if i and v <= values[i - 1]:
            return "ramp values must ascend (item %d, %r, is not above %r)" % (i, v, values[i - 1])
    return ""


T = TypeVar("T")


def order(runs: Sequence[T], spec_of: Callable[[T], dict[str, Any]], axes: Sequence[str]) -> list[T]:
    """Runs grouped by everything but the ramp axes (groups in first-appearance order); within a group
    the levels ascend (lexicographically over the ramp axes, so every ramp sees its lower levels
    first) and every repetition of a level runs before the next level."""
    groups: dict[str, list[T]] = {}
    for r in runs:
        spec = spec_of(r)
        groups.setdefault(group_key({k: v for k, v in spec.items() if k not in axes}, ""), []).append(r)
    out: list[T] = []
    for members in groups.values():
        out.extend(sorted(members, key=lambda r: tuple(level_of(spec_of(r), a) for a in axes)
                          + (spec_of(r).get("repetition", 0),)))
    return out


def ramps_of(matrix: Any) -> list[Ramp]:
    """A matrix's ramps: none, one, or a list (each on its own axis)."""
    rp = matrix.ramp
    return [] if rp is None else list(rp) if isinstance(rp, list) else [rp]


def expected_of(spec: dict[str, Any]) -> tuple[str, ...]:
    """The statuses a run's cell counts as expected (as campaign.expected_statuses: a P1 sweep's OOMs too)."""
    expect = spec.get("expect") or "ok"
    return (expect, "oom") if "round" in (spec.get("labels") or {}) else (expect,)


@dataclass
class Record:
    """What the ramp needs of one stored run."""

    run_id: str
    spec: dict[str, Any]
    status: str
    throughput_ips: Optional[float] = None


def levels_of(records: Sequence[Record], axis: str, group: Optional[str] = None) -> dict[str, list[Level]]:
    """Per group, its levels ascending, from the runs that ended or were skipped (`group`: the records
    are known to be of that one group)."""
    by: dict[str, dict[Any, Level]] = {}
    for r in records:
        value = level_of(r.spec, axis)
        lv = by.setdefault(group or group_key(r.spec, axis), {}).setdefault(value, Level(value))
        lv.statuses.append((r.status, expected_of(r.spec)))
        if r.status == "ok" and r.throughput_ips is not None:
            lv.throughputs.append(float(r.throughput_ips))
    return {g: [levels[v] for v in sorted(levels)] for g, levels in by.items()}


def summary(levels: Sequence[Level], ramp: Ramp) -> dict[str, Any]:
    """What the report names per group: the highest level that ran ok, the level that maximised
    throughput, and what stopped the climb."""
    d = decide(levels, ramp)
    stop = levels[d.stop_index] if d.stop_index is not None else None
    levels = [lv for lv in levels if not all(st == "skipped" for st, _ in lv.statuses)]
    ran_ok = [lv.value for lv in levels if any(st == "ok" for st, _ in lv.statuses) and not level_failure(lv, ramp)]
    best = max((lv for lv in levels if lv.throughput is not None), key=lambda lv: lv.throughput or 0.0, default=None)
    return {"axis": ramp.axis, "levels_ran": [lv.value for lv in levels], "max_level_ok": max(ran_ok, default=None),
            "best_level": best.value if best is not None else None,
            "best_throughput_ips": best.throughput if best is not None else None,
            "stopped_by": d.kind or "", "stop_level": stop.value if stop is not None else None,
            "stop_reason": (level_failure(stop, ramp) if d.kind == "failure" and stop is not None else d.reason)}


def check_matrix(matrix: Any, path: Any, node: Any) -> None:
    """Plan-time checks of a matrix's ramp: its axis is an axis of the matrix with ascending values,
    and nothing else in the matrix reorders or repeats runs behind the climb's back."""
    from . import yamlfile
    from .errors import InputError

    ramps = ramps_of(matrix)
    if not ramps:
        return
    seen: set[str] = set()
    for i, rp in enumerate(ramps):
        loc: list[Any] = ["ramp"] + ([i] if isinstance(matrix.ramp, list) else [])
        if rp.axis in seen:
            raise InputError(str(path), yamlfile.dotted(loc + ["axis"]), "two ramps on axis %s" % rp.axis,
                             yamlfile.line_of(node, loc + ["axis"]))
        seen.add(rp.axis)
        in_include = any(rp.axis in inc.model_fields_set for inc in matrix.include)
        if rp.axis not in matrix.axes and not in_include:
            raise InputError(str(path), yamlfile.dotted(loc + ["axis"]), "the ramp climbs axes.%s (ascending "
                             "values) or the %s values of include entries; the matrix sets neither"
                             % (rp.axis, rp.axis), yamlfile.line_of(node, loc + ["axis"]))
        if rp.axis in matrix.axes:
            values = matrix.axes[rp.axis]
            why = check_ascending(values)
            if why:
                bad = next(j for j in range(len(values)) if check_ascending(values[: j + 1]))
                raise InputError(str(path), "axes.%s[%d]" % (rp.axis, bad), why,
                                 yamlfile.line_of(node, ["axes", rp.axis, bad]))
    for key, what in (("adaptive", "adaptive repetitions"), ("sweep", "a memory sweep")):
        if getattr(matrix, key) is not None:
            raise InputError(str(path), key, "a ramp cannot be combined with %s (levels are decided after their "
                             "repetitions)" % what, yamlfile.line_of(node, [key]))
    if matrix.order != "cell-major":
        raise InputError(str(path), "order", "a ramp runs every repetition of a level before the next level: "
                         "use order: cell-major", yamlfile.line_of(node, ["order"]))


def findings(records: Sequence[Record], ramps: Sequence[Ramp]) -> set[str]:
    """Run ids that are a climb's findings, not failures: the skipped levels, and the stop_on runs of the
    level that stopped a climb (P3 climbs "until memory fails": that failure is the answer)."""
    out = {r.run_id for r in records if r.status == "skipped"}
    for rp in ramps:
        for group, levels in levels_of(records, rp.axis).items():
            d = decide(levels, rp)
            if d.kind != "failure" or d.stop_index is None:
                continue
            stop = levels[d.stop_index].value
            out.update(r.run_id for r in records if r.status in rp.stop_on and level_of(r.spec, rp.axis) == stop
                       and group_key(r.spec, rp.axis) == group)
    return out


def from_matrix_dict(matrix: dict[str, Any]) -> list[Ramp]:
    """The ramps of a matrix as campaign.json saved it (model_dump)."""
    rp = matrix.get("ramp")
    if not rp:
        return []
    return [Ramp.model_validate(x) for x in (rp if isinstance(rp, list) else [rp])]
