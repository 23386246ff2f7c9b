"""Local runner: each run is a fresh Python process, placed in its own cgroup when root."""

import json
import os
import shlex
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any, Optional

from edgebench.suite.fsutil import write_bytes, write_json
from edgebench.suite.spec import RunResult, RunSpec

from ..cgroups import CgroupError, RunCgroup
from . import outputs, record
from .base import Fate, finalize, swap_problems
from .interpreters import interpreter

# The child joins its cgroup before exec, so the interpreter's own start-up is limited too.
_JOIN = 'for f in $EDGEBENCH_CGROUP_PROCS; do echo $$ > "$f" || exit 97; done; exec "$@"'
_TERM_GRACE_S = 5.0


class LocalRunner:
    name = "local"

    def __init__(self, python: Optional[str] = None, allow_no_swap: bool = False) -> None:
        self.python = python or sys.executable
        self.allow_no_swap = allow_no_swap

    def preflight(self, specs: list[RunSpec]) -> list[str]:
        found = {why for why in (interpreter(s, self.python)[1] for s in specs) if why}  # per-framework pythons
        return swap_problems(specs, self.allow_no_swap) + sorted(found)

    def monitor_problems(self, names: list[str], configs: dict[str, Any]) -> list[str]:
        """Ask the run environment (this Python) whether the monitors can run, before a campaign."""
        if not names:  # `monitors: []`: nothing to check
            return []
        proc = subprocess.run([self.python, "-m", "edgebench.suite.monitors", "check", *names, "--config",
                               json.dumps(configs)], capture_output=True, text=True)
        try:
            return list(json.loads(proc.stdout).get("problems", []))
        except ValueError:
            return ["monitor check failed (exit %d): %s" % (proc.returncode, proc.stderr.strip()[-300:])]

    def command(self, spec_path: Path, run_dir: Path, models_dir: Path, python: Optional[str] = None) -> list[str]:
        return [python or self.python, "-m", "edgebench.suite", "run", str(spec_path), str(run_dir), "--models",
                str(models_dir)]

    def execute(self, spec: RunSpec, run_dir: Path, models_dir: Path) -> RunResult:
        run_dir.mkdir(parents=True, exist_ok=True)
        spec_path = run_dir / "spec.json"
        write_json(str(spec_path), spec.to_dict())
        attempt = outputs.new_attempt(run_dir)  # the child writes only here; the host takes what it accepts
        cmd = self.command(spec_path, attempt, models_dir, interpreter(spec, self.python)[0])
        cg = RunCgroup("%s-%s" % (spec.run_id, uuid.uuid4().hex[:8]))
        fate = Fate(runner=self.name, command=cmd)
        try:
            cg.create(spec.limits)
        except CgroupError as e:
            fate.limit_notes.append("limits not applied: %s" % e)
            cg.remove()
        fate.limit_notes.extend(cg.notes)
        if spec.limits.swap_mb and self.allow_no_swap:
            fate.limit_notes.append("run with --allow-no-swap: the swap part of the limit may be unused")
        fate.limits_applied = cg.read()
        fate.extra["cgroup"] = [str(d) for d in cg.dirs]
        self._save_command(run_dir, cmd, cg)
        record.sign(run_dir, self.name, spec.run_id)
        # Recorded before the child starts: a later campaign can end it if this process dies.
        record.add_attempt(run_dir, {"id": attempt.name, "runner": self.name, "dir": str(attempt),
                                     "cgroup": [str(d) for d in cg.dirs]})
        env = dict(os.environ, EDGEBENCH_DEVICE=spec.device, EDGEBENCH_CGROUP_PROCS=" ".join(cg.procs_files))
        argv = ["sh", "-c", _JOIN, "edgebench-run"] + cmd if cg.procs_files else cmd
        try:
            if spec.settle_s:
                time.sleep(spec.settle_s)
            log = outputs.open_log(run_dir)
            try:
                t0 = time.monotonic()
                fate.extra["start_wall"] = time.time()
                proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env,
                                        start_new_session=True)
            finally:
                os.close(log)
            record.update_attempt(run_dir, attempt.name, pid=proc.pid, pid_start=record.process_start(proc.pid))
            try:
                fate.exit_code = proc.wait(timeout=spec.timeout_s)
            except subprocess.TimeoutExpired:
                fate.timed_out = True
                fate.exit_code = _stop(proc)
            except BaseException:
                _stop(proc, grace_s=1.0)
                raise
            fate.wall_s = time.monotonic() - t0
            fate.oom_killed, fate.oom_evidence = cg.oom_killed()
            if fate.exit_code == 97:
                fate.error = "could not join the run's cgroup (exit 97)"
        finally:
            cg.remove()
            fate.extra["output_problems"] = outputs.accept(attempt, run_dir, spec.run_id)
            outputs.discard(attempt)
            record.update_attempt(run_dir, attempt.name, ended=True)
        return finalize(spec, run_dir, fate)

    def _save_command(self, run_dir: Path, cmd: list[str], cg: RunCgroup) -> None:
        """command.json for replay; command.sh for a person (limits as cgroup writes, then the run)."""
        write_json(str(run_dir / "command.json"), {"runner": self.name, "argv": cmd,
                                                   "cgroup": [str(d) for d in cg.dirs], "limits": cg.read()})
        lines = ["#!/bin/sh", "# Replays this run by hand; `edgebench replay RUN_DIR` does the same.", "set -e"]
        for d in cg.dirs:
            lines.append("mkdir -p %s" % shlex.quote(str(d)))
            for f in sorted(d.iterdir()):
                if f.name in ("memory.limit_in_bytes", "memory.memsw.limit_in_bytes", "memory.swappiness",
                              "cpu.cfs_quota_us", "cpu.cfs_period_us", "memory.max", "memory.swap.max", "cpu.max",
                              "pids.max"):
                    lines.append("echo %s > %s" % (shlex.quote(f.read_text().strip()), shlex.quote(str(f))))
            lines.append("echo $$ > %s" % shlex.quote(str(d / "cgroup.procs")))
        lines.append("exec " + " ".join(shlex.quote(c) for c in cmd))
        write_bytes(str(run_dir / "command.sh"), ("\n".join(lines) + "\n").encode())


def _stop(proc: "subprocess.Popen[bytes]", grace_s: float = _TERM_GRACE_S) -> int:
    """SIGTERM the run's process group (the child writes what it has), then SIGKILL."""
    for sig, wait in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 10.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass
        try:
            return proc.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue
    return proc.wait()



