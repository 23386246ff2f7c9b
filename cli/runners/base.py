"""What every runner shares: the run's fate as data, turned into the final result.json.

A runner starts the child (`python -m edgebench.suite run spec.json OUTDIR`) its own way (a local
process in a cgroup, a container) and reports a Fate; `finalize` merges that with what the child
wrote, or makes a result from the fate alone when the child wrote nothing readable.
"""

import json
import shlex
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Optional, Protocol

import psutil
from edgebench.suite.fsutil import write_json
from edgebench.suite.spec import RunResult, RunSpec, SchemaError

# Moved to cli/limits.py (analysis reads them too); re-exported here for the runners.
from ..limits import MIB as MIB
from ..limits import compare_limits as compare_limits
from ..limits import docker_swap_total as docker_swap_total


@dataclass
class Fate:
    """What the host saw of one run, whatever the child managed to write."""

    runner: str
    exit_code: Optional[int] = None
    wall_s: float = 0.0
    timed_out: bool = False
    oom_killed: bool = False
    oom_evidence: dict[str, Any] = field(default_factory=dict)
    limits_applied: dict[str, Any] = field(default_factory=dict)  # as the host read them back
    limit_notes: list[str] = field(default_factory=list)  # what could not be applied, and why
    command: list[str] = field(default_factory=list)  # the exact command, replayable
    extra: dict[str, Any] = field(default_factory=dict)  # runner-specific (container id, image digest)
    error: str = ""  # the runner itself failed (could not start the run)


class Runner(Protocol):
    name: str

    def preflight(self, specs: list[RunSpec]) -> list[str]:
        """Problems that make the plan impossible here, each with how to fix it."""
        ...

    def execute(self, spec: RunSpec, run_dir: Path, models_dir: Path) -> RunResult:
        """Run one spec into run_dir; always returns the final result (also written to result.json)."""
        ...


def swap_problems(specs: list[RunSpec], allow_no_swap: bool, host_swap_bytes: Optional[int] = None) -> list[str]:
    """A swap scenario on a host without swap measures nothing honest: refuse it unless allowed.
    host_swap_bytes: the host's swap total (default: read now); tests pass 0 to reach the refusal."""
    wants = [s for s in specs if s.limits.swap_mb and s.limits.swap_mb > 0]
    if not wants or allow_no_swap:
        return []
    if (psutil.swap_memory().total if host_swap_bytes is None else host_swap_bytes) == 0:
        return ["%d run(s) ask for swap (memory_swap_mb > memory_mb) but this host has no swap. Add some, e.g. "
                "`fallocate -l 2G /swapfile && chmod 600 /swapfile && mkswap /swapfile && swapon /swapfile`, "
                "or pass --allow-no-swap to run them anyway, marked in every result." % len(wants)]
    return []


def read_child_result(run_dir: Path) -> tuple[Optional[RunResult], str]:
    path = run_dir / "result.json"
    if not path.exists():
        return None, "the run wrote no result.json"
    try:
        return RunResult.from_dict(json.loads(path.read_text()), str(path)), ""
    except (ValueError, SchemaError, TypeError) as e:
        return None, "result.json is unreadable: %s" % e


def killed_by(exit_code: Optional[int]) -> int:
    """The signal that ended a process: negative codes from subprocess, 128+N from shells and Docker."""
    if exit_code is None:
        return 0
    if exit_code < 0:
        return -exit_code
    return exit_code - 128 if 128 < exit_code < 160 else 0


def finalize(spec: RunSpec, run_dir: Path, fate: Fate) -> RunResult:
    """Merge the host's view into the child's result (or make one), and write result.json."""
    result, problem = read_child_result(run_dir)
    refused = [p for p in fate.extra.get("output_problems") or [] if p.startswith("result.json")]
    if result is None and refused:
        problem = "the run's result.json was refused: %s" % "; ".join(refused)
    if result is None:
        result = RunResult(run_id=spec.run_id, status="failed", spec=spec.to_dict(), reason=problem)
    # The host's verdict wins where it saw more than the child could.
    if fate.error:
        result.status, result.reason = "failed", fate.error
    elif fate.timed_out:
        result.status = "timeout"
        result.reason = "no result after %.0f s (timeout_s); killed" % spec.timeout_s
    elif fate.oom_killed:
        result.status = "oom"
        result.reason = "killed by the kernel's OOM killer (%s)" % ", ".join(
            "%s=%s" % kv for kv in sorted(fate.oom_evidence.items()))
    elif result.status == "ok" and fate.exit_code not in (0, None):
        result.status, result.reason = "failed", "exit code %s after writing a result" % fate.exit_code
    elif problem and killed_by(fate.exit_code):
        result.status = "killed"
        result.reason = "%s: killed by signal %d, and the cgroup shows no OOM kill" % (
            problem, killed_by(fate.exit_code))
    elif problem:
        result.reason = "%s (exit code %s)" % (problem, fate.exit_code)
    inside = (result.env.get("start") or {}).get("cgroup") or {}
    limits: dict[str, Any] = (compare_limits(spec, inside) if inside
                              else {"match": None, "mismatches": ["limits were not read inside the run"]})
    limits["notes"] = fate.limit_notes
    host = asdict(fate)
    host["limits"] = limits
    host["command_line"] = " ".join(shlex.quote(c) for c in fate.command)
    result.host = host
    write_json(str(run_dir / "result.json"), result.to_dict())
    return result
