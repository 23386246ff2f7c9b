"""The campaign side of a ramp: before each run, decide from the results so far whether its level is
above a stop; if so write a `skipped` record with the reason instead of running it.

The decision is recomputed from stored results every time (never read back from an earlier verdict),
so a resumed campaign skips the same levels; a stale `skipped` record whose level now runs (the matrix
changed) is set aside, and a measured result is never overwritten by a skip.
"""

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
    """One campaign's climb over every group of its ramp."""

    def __init__(self, plan: Plan) -> None:
        assert plan.matrix.ramp is not None
        self.ramp: ramp.Ramp = plan.matrix.ramp
        self.axis = self.ramp.axis
        self.levels: dict[str, list[Any]] = {}
        for p in plan.runs:
            values = self.levels.setdefault(ramp.group_key(p.spec.to_dict(), self.axis), [])
            value = ramp.level_of(p.spec.to_dict(), self.axis)
            if value not in values:
                values.append(value)
        for values in self.levels.values():
            values.sort()
        self.findings: set[str] = set()  # run ids that are the ramp's findings, not failures

    def skip_reason(self, spec: dict[str, Any], results: list[RunResult]) -> str:
        """Why this run's level is above its group's stop, from the results of the levels below it."""
        group, value = ramp.group_key(spec, self.axis), ramp.level_of(spec, self.axis)
        below = [r for r in results if r.spec.get(self.axis, 1) < value
                 and ramp.group_key(r.spec, self.axis) == group]
        levels = ramp.levels_of([_record(r) for r in below], self.axis).get(group, [])
        return ramp.decide(levels, self.ramp).skip_reason([lv.value for lv in levels], len(levels))

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
        result = RunResult(run_id=planned.run_id, status="skipped", spec=spec, reason=reason,
                           host={"runner": "ramp", "ramp": {"axis": self.axis, "level": spec.get(self.axis, 1),
                                                            "reason": reason}})
        run_dir.mkdir(parents=True, exist_ok=True)
        write_json(str(run_dir / "spec.json"), spec)
        write_json(str(run_dir / "result.json"), result.to_dict())
        self.findings.add(planned.run_id)
        return result

    def finish(self, camp_dir: Path, results: list[RunResult]) -> dict[str, Any]:
        """ramps.json: per group, the levels that ran, the best, the stop and why; the runs at a failing
        level are findings of the climb (P3's "until memory fails"), not failures of the campaign."""
        records = [_record(r) for r in results]
        out: dict[str, Any] = {}
        for group, levels in ramp.levels_of(records, self.axis).items():
            row = ramp.summary(levels, self.ramp)
            d = ramp.decide(levels, self.ramp)
            if d.kind == "failure" and d.stop_index is not None:
                stop = levels[d.stop_index].value
                self.findings.update(r.run_id for r in results if r.status in self.ramp.stop_on
                                     and ramp.group_key(r.spec, self.axis) == group
                                     and ramp.level_of(r.spec, self.axis) == stop)
            row["skipped"] = sorted(r.run_id for r in results if r.status == "skipped"
                                    and ramp.group_key(r.spec, self.axis) == group)
            self.findings.update(row["skipped"])
            out[group] = row
        write_json(str(camp_dir / RAMPS_FILE), {"ramp": self.ramp.model_dump(), "groups": out,
                                                "findings": sorted(self.findings)})
        return out
