"""A campaign: every run of a plan on one device, resumable, with progress and an ETA."""

import datetime
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from edgebench.suite import __version__
from edgebench.suite.fsutil import write_json
from edgebench.suite.spec import RunResult, RunSpec
from edgebench.suite.timing import median_ci
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from . import artifacts, ramp_campaign, store
from .errors import InputError
from .plan import Plan, PlannedRun, estimate
from .runners.base import Runner


@dataclass
class Outcome:
    dir: Path
    results: list[RunResult] = field(default_factory=list)
    resumed: int = 0  # finished in an earlier invocation, not run again
    set_aside: list[str] = field(default_factory=list)
    adaptive: dict[str, Any] = field(default_factory=dict)
    ramps: dict[str, Any] = field(default_factory=dict)  # per ramp group: levels, best, stop (ramps.json)
    findings: set[str] = field(default_factory=set)  # a ramp's stopping failures and skipped levels

    @property
    def unexpected(self) -> list[RunResult]:
        """Runs that did not end as their cell expected (ok, unless the cell says otherwise).
        In a P1 sweep an OOM at a low stage is a finding, not a failure; so is a ramp's stop."""
        return [r for r in self.results if r.status not in expected_statuses(r.spec) and r.run_id not in self.findings]


def expected_statuses(spec: dict[str, Any]) -> tuple[str, ...]:
    expect = spec.get("expect") or "ok"
    return (expect, "oom") if "round" in (spec.get("labels") or {}) else (expect,)


def write_campaign_file(plan: Plan, camp_dir: Path, runner: str) -> None:
    path = camp_dir / store.CAMPAIGN_FILE
    now = datetime.datetime.now(datetime.timezone.utc).isoformat()
    created = now
    if path.exists():
        import json

        try:
            created = json.loads(path.read_text()).get("created", now)
        except ValueError:
            pass
    write_json(str(path), {
        "name": camp_dir.name, "matrix_file": str(plan.path), "matrix_text": plan.path.read_text(),
        "matrix": plan.matrix.model_dump(), "device": plan.device.model_dump(), "runner": runner,
        "edgebench_version": __version__, "created": created, "updated": now,
        "run_ids": [r.run_id for r in plan.runs],
    })


def check_monitors(plan: Plan, runner: Runner) -> None:
    """A monitor asked for and not available stops the campaign before it starts, not after."""
    check = getattr(runner, "monitor_problems", None)
    names = sorted({m for r in plan.runs for m in r.spec.monitors})
    if check is None or names == ["psutil"]:
        return
    configs: dict[str, Any] = {}
    for r in plan.runs:
        configs.update(r.spec.monitor_config)
    problems = check(names, configs)
    if problems:
        raise InputError(str(plan.path), "monitors", "; ".join(problems))


@contextmanager
def _progress(console: Console, enabled: bool) -> Iterator[Optional[Progress]]:
    if not enabled:
        yield None
        return
    cols = [TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[done]}/{task.fields[runs]} runs"),
            TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn()]
    with Progress(*cols, console=console, transient=False) as prog:
        yield prog


def run(plan: Plan, runner: Runner, results_root: Path, models_dir: Path, console: Console,
        show_progress: bool = True, campaign: str = "") -> Outcome:
    check_monitors(plan, runner)
    camp_dir = results_root / (campaign or plan.matrix.name)
    camp_dir.mkdir(parents=True, exist_ok=True)
    write_campaign_file(plan, camp_dir, runner.name)
    outcome = Outcome(dir=camp_dir)
    with _progress(console, show_progress) as prog:
        arts = plan.artifacts()
        if arts:
            task = prog.add_task("models", total=len(arts), done=0, runs=len(arts)) if prog else None
            for i, art in enumerate(arts):
                artifacts.ensure(art, models_dir)
                if prog and task is not None:
                    prog.update(task, advance=1, done=i + 1)
        task = prog.add_task(camp_dir.name, total=plan.estimate_s, done=0, runs=len(plan.runs)) if prog else None
        walk = ramp_campaign.Walk(plan) if plan.matrix.ramp is not None else None
        for i, planned in enumerate(plan.runs):
            skip = walk.before(planned, camp_dir, outcome.results) if walk is not None else None
            if skip is not None:
                outcome.results.append(skip)
                console.log("[yellow]skipped[/] %s: %s" % (planned.run_id, skip.reason))
            else:
                _one(planned.spec, camp_dir, runner, models_dir, outcome, console)
            if prog and task is not None:
                prog.update(task, advance=planned.estimate_s, done=i + 1)
        if plan.matrix.adaptive is not None:
            _adaptive(plan, camp_dir, runner, models_dir, outcome, console)
    if walk is not None:
        outcome.ramps, outcome.findings = walk.finish(camp_dir, outcome.results), walk.findings
    if outcome.adaptive:
        write_json(str(camp_dir / "adaptive.json"), outcome.adaptive)
    return outcome


def _one(spec: RunSpec, camp_dir: Path, runner: Runner, models_dir: Path, outcome: Outcome,
         console: Console) -> RunResult:
    run_dir = camp_dir / spec.run_id
    stored = store.read_run(run_dir) if run_dir.exists() else None
    if stored is not None and stored.result is not None and stored.result.host:
        outcome.resumed += 1
        outcome.results.append(stored.result)
        return stored.result
    if run_dir.exists():
        outcome.set_aside.append(str(store.set_aside(run_dir)))
    t0 = time.monotonic()
    result = runner.execute(spec, run_dir, models_dir)
    outcome.results.append(result)
    expect = spec.expect or "ok"
    style = "green" if result.status == expect else "red"
    console.log("[%s]%s[/] %s %s %s b%d %s%s" % (
        style, result.status, spec.run_id, spec.framework, spec.model, spec.batch_size,
        "mem=%sMiB " % spec.limits.memory_mb if spec.limits.memory_mb else "",
        "(%.1fs)" % (time.monotonic() - t0)))
    return result


def _cell_key(spec: RunSpec) -> str:
    d = spec.to_dict()
    d["repetition"] = 0
    return RunSpec.from_dict(d).run_id


def _adaptive(plan: Plan, camp_dir: Path, runner: Runner, models_dir: Path, outcome: Outcome,
              console: Console) -> None:
    """Add repetitions to each cell until the CI of its median is within ci_share, or the cap."""
    ad = plan.matrix.adaptive
    assert ad is not None
    cells: dict[str, list[PlannedRun]] = {}
    for p in plan.runs:
        cells.setdefault(_cell_key(p.spec), []).append(p)
    for key, runs in cells.items():
        base = runs[0].spec
        n = len(runs)
        while True:
            medians = [r.summary.p50 for r in outcome.results
                       if r.summary is not None and r.status == "ok" and _cell_key_of(r) == key]
            if len(medians) >= max(ad.min_repetitions, 2):
                med, lo, hi = median_ci(medians, ad.confidence)
                share = (hi - lo) / 2 / med if med > 0 else float("inf")
                if share <= ad.ci_share:
                    reason = "ci_within_share"
                    break
            else:
                med, lo, hi, share = float("nan"), float("nan"), float("nan"), float("inf")
            if n >= ad.max_repetitions:
                reason = "max_repetitions"
                break
            d = base.to_dict()
            d["repetition"] = n
            spec = RunSpec.from_dict(d)
            _one(spec, camp_dir, runner, models_dir, outcome, console)
            n += 1
        outcome.adaptive[key] = {"model": base.model, "framework": base.framework, "batch_size": base.batch_size,
                                 "repetitions": n, "ok_repetitions": len(medians), "median_s": med,
                                 "ci": [lo, hi], "ci_half_share": share, "target_share": ad.ci_share,
                                 "stopped": reason}


def _cell_key_of(result: RunResult) -> str:
    return _cell_key(RunSpec.from_dict(result.spec))


__all__ = ["run", "estimate"]
