"""The campaign side of a ramp: before each run, decide from the results so far whether its level is
above a stop; if so write a `skipped` record with the reason instead of running it.

The decision is recomputed from stored results every time (never read back from an earlier verdict),
so a resumed campaign skips the same levels; a stale `skipped` record whose level now runs (the matrix
changed) is set aside, and a measured result is never overwritten by a skip.
"""

import json
from pathlib import Path
from typing import Any, Optional

from edgebench.suite.fsutil import write_json
from edgebench.suite.spec import RunResult

from . import ramp, store
from .plan import Plan, PlannedRun

RAMPS_FILE = "ramps.json"


def _record(r: RunResult) -> ramp.Record:
    return ramp.Record(r.run_id, r.spec, r.status, r.throughput_ips)


class Walk:
    """One campaign's climb over every group of its ramps (a run is skipped when any ramp says so)."""

    def __init__(self, plan: Plan) -> None:
        self.ramps = ramp.ramps_of(plan.matrix)
        assert self.ramps
        self.findings: set[str] = set()  # run ids that are the ramps' findings, not failures
        # Results indexed by (axis, group) as they arrive: the campaign's list only grows, and a long
        # campaign asks before every run (p3-batching: 4,320 times).
        self._index: dict[tuple[str, str], list[RunResult]] = {}
        self._indexed: list[RunResult] = []
        self._seen = 0

    def _in_group(self, results: list[RunResult], axis: str, group: str) -> list[RunResult]:
        if results is not self._indexed or len(results) < self._seen:
            self._index, self._indexed, self._seen = {}, results, 0
        for r in results[self._seen:]:
            for rp in self.ramps:
                self._index.setdefault((rp.axis, ramp.group_key(r.spec, rp.axis)), []).append(r)
        self._seen = len(results)
        return self._index.get((axis, group), [])

    def skip_reason(self, spec: dict[str, Any], results: list[RunResult]) -> str:
        """Why this run's level is above its group's stop on some ramp, from the levels below it."""
        for rp in self.ramps:
            group, value = ramp.group_key(spec, rp.axis), ramp.level_of(spec, rp.axis)
            below = [r for r in self._in_group(results, rp.axis, group) if ramp.level_of(r.spec, rp.axis) < value]
            levels = ramp.levels_of([_record(r) for r in below], rp.axis, group).get(group, [])
            why = ramp.decide(levels, rp).skip_reason(len(levels))
            if why:
                return "%s: %s" % (rp.axis, why)
        return ""

    def before(self, planned: PlannedRun, camp_dir: Path, results: list[RunResult]) -> Optional[RunResult]:
        """The skipped record (written) when the run must not run; None when it runs (or resumes)."""
        spec = planned.spec.to_dict()
        reason = self.skip_reason(spec, results)
        run_dir = camp_dir / planned.run_id
        stored = store.read_run(run_dir).result if run_dir.exists() else None
        if not reason:
            if stored is not None and stored.status == "skipped":
                store.set_aside(run_dir)
            return None
        if stored is not None and stored.status != "skipped" and stored.host:
            return None  # measured before the stop moved: kept, and resumed as it is
        axis = reason.split(":", 1)[0]
        result = RunResult(run_id=planned.run_id, status="skipped", spec=spec, reason=reason,
                           host={"runner": "ramp", "ramp": {"axis": axis, "level": ramp.level_of(spec, axis),
                                                            "reason": reason}})
        run_dir.mkdir(parents=True, exist_ok=True)
        write_json(str(run_dir / "spec.json"), spec)
        write_json(str(run_dir / "result.json"), result.to_dict())
        self.findings.add(planned.run_id)
        return result

    def finish(self, camp_dir: Path, results: list[RunResult]) -> dict[str, Any]:
        """ramps.json: per ramp and group, the levels that ran, the best, the stop and why. The runs at
        a failing level are findings of the climb (P3's "until memory fails"), not campaign failures;
        so are the skipped records."""
        out: dict[str, Any] = {}
        records = [_record(r) for r in results]
        self.findings |= ramp.findings(records, self.ramps)
        for rp in self.ramps:
            for group, levels in ramp.levels_of(records, rp.axis).items():
                if len(levels) < 2:
                    continue  # one level: nothing was climbed on this axis
                row = ramp.summary(levels, rp)
                row["skipped"] = sorted(r.run_id for r in results if r.status == "skipped"
                                        and ramp.group_key(r.spec, rp.axis) == group)
                row["group"] = json.loads(group)
                out["%s|%s" % (rp.axis, group)] = row
        write_json(str(camp_dir / RAMPS_FILE), {"ramps": [rp.model_dump() for rp in self.ramps],
                                                "groups": list(out.values()), "findings": sorted(self.findings)})
        return out


def plan_note(plan: Plan) -> dict[str, Any]:
    """What `edgebench plan` says of a ramp matrix: its count is the worst case (no level fails); how
    many groups climb how many levels, and the fewest runs (every group stopping at its first level)."""
    ramps = ramp.ramps_of(plan.matrix)
    if not ramps:
        return {}
    axes = [rp.axis for rp in ramps]
    groups: dict[str, set[tuple[Any, ...]]] = {}
    reps: dict[str, int] = {}
    for p in plan.runs:
        spec = p.spec.to_dict()
        g = ramp.group_key({k: v for k, v in spec.items() if k not in axes}, "")
        groups.setdefault(g, set()).add(tuple(ramp.level_of(spec, a) for a in axes))
        reps[g] = max(reps.get(g, 0), int(spec.get("repetition", 0)) + 1)
    fewest = sum(reps[g] for g in groups)
    text = ("ramp on %s: up to %d runs in %d group(s) of up to %d level(s); a group stops at its first failing "
            "level (levels above are recorded as skipped), so at least %d runs"
            % ("+".join(axes), len(plan.runs), len(groups), max(len(v) for v in groups.values()), fewest))
    return {"axes": axes, "worst_case_runs": len(plan.runs), "groups": len(groups), "fewest_runs": fewest,
            "text": text}
