"""Shards: one campaign split over N identical devices (`--shard I/N`), each running a stable share.

A run belongs to shard 1 + (sha256 of its unit) mod N, where the unit is what must stay on one device:
- a ramp's group (every level of a climb, since a level runs only if the ones below it did not fail);
- a memory sweep's model (P1's rounds are one sequence of limits, each stage after the one before);
- an adaptive cell (its extra repetitions are decided from its own runs and run beside them);
- else the run itself (its run id).
The unit is a hash of the spec, never of a position in the plan, so a resumed shard keeps its runs and a
shard of an edited matrix keeps the runs it still has. campaign.json records the shard and every run id
of the whole plan, which is what `fleet merge` checks the joined shards against (cli/shard_merge.py).
"""

import hashlib
import re
from dataclasses import replace
from typing import Any, Optional

from edgebench.suite.spec import RunSpec

from . import plan, ramp
from .adaptive import cell_key
from .errors import InputError

_SHARD = re.compile(r"^([0-9]+)/([0-9]+)$")


def parse(text: str) -> tuple[int, int]:
    """'I/N' -> (I, N) with 1 <= I <= N; InputError naming --shard otherwise."""
    m = _SHARD.match(text.strip())
    if not m or not 1 <= int(m.group(1)) <= int(m.group(2)):
        raise InputError("--shard", "", "expected I/N with 1 <= I <= N (e.g. 2/4), got %r" % text)
    return int(m.group(1)), int(m.group(2))


def unit_of(p: plan.Plan, spec: RunSpec) -> str:
    """What must run on one device with this run (see the module's note), as a string to hash."""
    axes = [rp.axis for rp in ramp.ramps_of(p.matrix)]
    if axes:
        d = spec.to_dict()
        return "ramp:" + ramp.group_key({k: v for k, v in d.items() if k not in axes}, "")
    if p.matrix.sweep is not None:
        base = replace(spec, repetition=0, labels={}, limits=type(spec.limits)(), settle_s=0.0)
        return "sweep:" + base.run_id
    if p.matrix.adaptive is not None:
        return "cell:" + cell_key(spec)
    return "run:" + spec.run_id


def unit_name(p: plan.Plan) -> str:
    if ramp.ramps_of(p.matrix):
        return "ramp group"
    return "sweep model" if p.matrix.sweep is not None else "adaptive cell" if p.matrix.adaptive else "run"


def shard_of(unit: str, count: int) -> int:
    return 1 + int(hashlib.sha256(unit.encode("utf-8")).hexdigest()[:16], 16) % count


def apply(p: plan.Plan, text: Optional[str]) -> plan.Plan:
    """The plan cut to shard I/N (the whole plan's run ids kept for campaign.json); unchanged without one."""
    if not text:
        return p
    index, count = parse(text)
    p.shard = {"index": index, "count": count, "unit": unit_name(p), "plan_runs": len(p.runs),
               "plan_run_ids": [r.run_id for r in p.runs]}
    p.runs = [r for r in p.runs if shard_of(unit_of(p, r.spec), count) == index]
    return p


def record(p: plan.Plan) -> Optional[dict[str, Any]]:
    """What campaign.json says of the shard (None: the whole plan)."""
    return dict(p.shard) if p.shard else None


def default_campaign(name: str, p: plan.Plan) -> str:
    """A shard's folder name when none is given: NAME-shard-I-of-N (the shards of one plan never share one)."""
    if not p.shard:
        return name
    return "%s-shard-%d-of-%d" % (name, p.shard["index"], p.shard["count"])


def check_folder(info: dict[str, Any], p: plan.Plan, folder: str) -> None:
    """A folder that holds another shard of the plan (or the whole plan) is not resumed as this one."""
    if not info:
        return
    had, now = info.get("shard"), record(p)

    def key(s: Optional[dict[str, Any]]) -> Optional[tuple[int, int]]:
        return (int(s["index"]), int(s["count"])) if s else None

    def what(s: Optional[dict[str, Any]]) -> str:
        return "shard %d/%d" % (s["index"], s["count"]) if s else "the whole plan"

    if "run_ids" in info and key(had) != key(now):
        raise InputError(folder, "shard", "this campaign folder holds %s, not %s: give --campaign another name"
                         % (what(had), what(now)))
