"""A campaign: every run of a plan on one device, resumable, with progress and an ETA.

`execute` is the one campaign path of `run` and `bench`: runner -> preflight -> monitor check ->
lock -> artefacts -> runs -> report -> exit code. One campaign per folder (cli/lock.py); a full
disk stops it with a message and the run it cut short is not counted.
"""

import datetime
import errno
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Optional

from edgebench.suite import __version__
from edgebench.suite.fsutil import write_json
from edgebench.suite.spec import RunResult, RunSpec
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from . import adaptive, artifacts, ramp_campaign, shards, store
from .console import EXIT_FAILED, EXIT_INPUT, EXIT_OK
from .errors import InputError
from .lock import CampaignLocked, hold
from .plan import Plan, check_before_run, estimate
from .runners import make_runner
from .runners.base import Runner
from .runners.reap import reap_orphans

if TYPE_CHECKING:
    from .report import ReportData

DISK_FULL = (errno.ENOSPC, errno.EDQUOT)


class Stop(Exception):
    """The campaign cannot go on (or start): `lines` say why, the command exits with `code`."""

    def __init__(self, lines: list[str], code: int) -> None:
        super().__init__("; ".join(lines))
        self.lines, self.code = lines, code


def disk_full(e: BaseException) -> bool:
    return isinstance(e, OSError) and e.errno in DISK_FULL


def disk_full_stop(e: OSError, what: str, where: Path) -> Stop:
    where = e.filename or where
    return Stop(["disk full (%s) writing %s: %s. Finished runs are saved; free some space and run the same "
                 "command again to resume" % (e.strerror or "no space left on device", where, what)], EXIT_FAILED)


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
    created = store.read_campaign_file(camp_dir).get("created", now) if path.exists() else now
    write_json(str(path), {
        "name": camp_dir.name, "matrix_file": str(plan.path), "matrix_text": plan.path.read_text(),
        "matrix": plan.matrix.model_dump(), "device": plan.device.model_dump(), "runner": runner,
        "edgebench_version": __version__, "created": created, "updated": now,
        "run_ids": [r.run_id for r in plan.runs], "shard": shards.record(plan),
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


@dataclass
class Finished:
    outcome: Outcome
    report: Optional["ReportData"] = None

    @property
    def code(self) -> int:
        return EXIT_FAILED if self.outcome.unexpected else EXIT_OK


def execute(plan: Plan, runner_name: str, allow_no_swap: bool, results_root: Path, models_dir: Path,
            console: Console, campaign: str = "", show_progress: bool = True, report: bool = True,
            after_runs: Optional[Callable[[Outcome], None]] = None) -> Finished:
    """The one campaign path of `run` and `bench`. Raises Stop (what to print, the exit code) when the
    plan cannot run here, another process holds the folder, or the disk is full."""
    runner = make_runner(runner_name, allow_no_swap, console)
    check_before_run(plan, runner.name, results_root, campaign)
    problems = runner.preflight([x.spec for x in plan.runs])
    if problems:
        raise Stop(["cannot run this plan here: %s" % msg for msg in problems], EXIT_INPUT)
    outcome = run(plan, runner, results_root, models_dir, console, show_progress=show_progress, campaign=campaign)
    try:
        if after_runs is not None:
            after_runs(outcome)
        if not report:
            return Finished(outcome)
        from .report import build_report

        return Finished(outcome, build_report(outcome.dir))
    except OSError as e:
        if disk_full(e):
            raise disk_full_stop(e, "the report (no partial _report/ is left)", outcome.dir) from None
        raise


def run(plan: Plan, runner: Runner, results_root: Path, models_dir: Path, console: Console,
        show_progress: bool = True, campaign: str = "") -> Outcome:
    """Every run of the plan into results_root/CAMPAIGN, holding the folder's lock."""
    check_monitors(plan, runner)
    camp_dir = results_root / (campaign or plan.matrix.name)
    outcome = Outcome(dir=camp_dir)
    if hasattr(runner, "container_mode"):  # the docker runner: one container per run, or per cell (reuse)
        runner.container_mode = plan.matrix.container
    try:
        camp_dir.mkdir(parents=True, exist_ok=True)
        with hold(camp_dir, lambda msg: console.print("[yellow]%s[/]" % msg, highlight=False)):
            try:
                _run_locked(plan, runner, camp_dir, models_dir, console, show_progress, outcome)
            finally:  # the campaign's end (Ctrl-C too): kept containers removed, fork servers ended
                close = getattr(runner, "close", None)
                if close is not None:
                    close()
    except CampaignLocked as e:
        raise Stop([str(e)], EXIT_INPUT) from None
    except OSError as e:
        if disk_full(e):
            raise disk_full_stop(e, "campaign stopped after %d run(s); the run it cut short is not counted"
                                 % len(outcome.results), camp_dir) from None
        raise
    return outcome


def _run_locked(plan: Plan, runner: Runner, camp_dir: Path, models_dir: Path, console: Console,
                show_progress: bool, outcome: Outcome) -> None:
    for msg in reap_orphans(camp_dir):  # what a dead orchestrator left, ended (inside the lock) before anything runs
        console.log(msg)
    if (camp_dir / store.CAMPAIGN_FILE).exists():
        shards.check_folder(store.read_campaign_file(camp_dir), plan, str(camp_dir))
    write_campaign_file(plan, camp_dir, runner.name)
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
        cells = adaptive.Cells.of(plan)
        for i, planned in enumerate(plan.runs):
            skip = walk.before(planned, camp_dir, outcome.results) if walk is not None else None
            if skip is not None:
                outcome.results.append(skip)
                console.log("[yellow]skipped[/] %s: %s" % (planned.run_id, skip.reason))
            result = skip or _one(planned.spec, camp_dir, runner, models_dir, outcome, console)
            if cells is not None:
                cells.add(cells.keys[i], result)
                key = cells.closed_by(i)
                if key is not None:  # cell-major: the cell's extra repetitions now, beside its planned ones
                    _adaptive(cells, key, camp_dir, runner, models_dir, outcome, console)
            if prog and task is not None:
                prog.update(task, advance=planned.estimate_s, done=i + 1)
        if cells is not None:  # repetition-major: the cells' extra repetitions after every round
            for key in cells.open_cells():
                _adaptive(cells, key, camp_dir, runner, models_dir, outcome, console)
    if walk is not None:
        outcome.ramps, outcome.findings = walk.finish(camp_dir, outcome.results), walk.findings
    if outcome.adaptive:
        write_json(str(camp_dir / adaptive.ADAPTIVE_FILE), outcome.adaptive)


def _one(spec: RunSpec, camp_dir: Path, runner: Runner, models_dir: Path, outcome: Outcome,
         console: Console) -> RunResult:
    run_dir = camp_dir / spec.run_id
    stored = store.read_run(run_dir) if run_dir.exists() else None
    if stored is not None and stored.checked and stored.result is not None:
        outcome.resumed += 1
        outcome.results.append(stored.result)
        return stored.result
    if run_dir.exists():
        outcome.set_aside.append(str(store.set_aside(run_dir)))
    t0 = time.monotonic()
    try:
        result = runner.execute(spec, run_dir, models_dir)
    except OSError as e:
        if disk_full(e):
            _set_aside_quietly(run_dir, outcome)
            if not e.filename:  # write_json and friends do not say which file
                raise OSError(e.errno, e.strerror, str(run_dir)) from e
        raise
    if "No space left on device" in (result.reason or ""):  # the child ran out of disk: not a finding
        _set_aside_quietly(run_dir, outcome)
        raise OSError(errno.ENOSPC, "No space left on device", str(run_dir))
    outcome.results.append(result)
    expect = spec.expect or "ok"
    style = "green" if result.status == expect else "red"
    console.log("[%s]%s[/] %s %s %s b%d %s%s" % (
        style, result.status, spec.run_id, spec.framework, spec.model, spec.batch_size,
        "mem=%sMiB " % spec.limits.memory_mb if spec.limits.memory_mb else "",
        "(%.1fs)" % (time.monotonic() - t0)))
    return result


def _set_aside_quietly(run_dir: Path, outcome: Outcome) -> None:
    """A run cut short by a full disk leaves the campaign's folders (a rename needs no space; where even
    that fails, the next start sets it aside, as it is not host-checked)."""
    try:
        if run_dir.exists():
            outcome.set_aside.append(str(store.set_aside(run_dir)))
    except OSError:
        pass


def _adaptive(cells: adaptive.Cells, key: str, camp_dir: Path, runner: Runner, models_dir: Path, outcome: Outcome,
              console: Console) -> None:
    """Repetitions of one cell until cli/adaptive.py decides; the decision into adaptive.json at once."""
    spec = cells.next_spec(key)
    while spec is not None:
        cells.add(key, _one(spec, camp_dir, runner, models_dir, outcome, console))
        spec = cells.next_spec(key)
    outcome.adaptive[key] = cells.decisions[key]
    adaptive.append_decision(camp_dir, key, cells.decisions[key])


__all__ = ["Finished", "Stop", "estimate", "execute", "run"]
