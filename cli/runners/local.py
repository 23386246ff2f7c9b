"""Local runner: each run is a fresh Python process, or a child forked from a server that imported the
runtime once (process: forked, runners/forked.py), placed in its own cgroup when root."""

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
from . import forked, outputs, record
from .base import Fate, finalize, swap_problems
from .forked import ForkServer
from .interpreters import interpreter

# The child joins its cgroup before exec, so the interpreter's own start-up is limited too.
_JOIN = 'for f in $EDGEBENCH_CGROUP_PROCS; do echo $$ > "$f" || exit 97; done; exec "$@"'
_TERM_GRACE_S = 5.0


class LocalRunner:
    name = "local"

    def __init__(self, python: Optional[str] = None, allow_no_swap: bool = False,
                 process: Optional[str] = None) -> None:
        """process: "fresh" or "forked" for every run; None: each spec's own `process`."""
        self.python = python or sys.executable
        self.allow_no_swap = allow_no_swap
        self.process = process
        self.pools: dict[str, forked.ServerPool] = {}  # per interpreter (runners/interpreters.py)

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
        try:
            mode = self.process or spec.process
            server, why = (None, "") if mode == "fresh" else self._server(spec)
            process: dict[str, Any] = {"mode": "forked"} if server is not None else {"mode": "fresh"}
            if mode == "forked" and server is None:
                process.update(requested="forked", fallback=why)
            pool = self.pools.get(interpreter(spec, self.python)[0])
            notes = pool.notes_for(spec.framework) if pool is not None else None
            if notes and server is not None:
                process["notes"] = notes
            if spec.settle_s:
                time.sleep(spec.settle_s)
            fate.extra["process"] = process
            if server is not None:
                process.update(server=server.record())
                self._forked(server, spec, fate, run_dir, attempt, models_dir, cg, env, process)
            else:
                env["EDGEBENCH_PROCESS"] = json.dumps(process, sort_keys=True)
                self._fresh(spec, fate, run_dir, attempt, cmd, cg, env)
            fate.oom_killed, fate.oom_evidence = cg.oom_killed()
            if fate.exit_code == 97:
                fate.error = "could not join the run's cgroup (exit 97)"
        finally:
            cg.remove()
            fate.extra["output_problems"] = outputs.accept(attempt, run_dir, spec.run_id)
            outputs.discard(attempt)
            record.update_attempt(run_dir, attempt.name, ended=True)
        result = finalize(spec, run_dir, fate)
        if not result.process:  # the child wrote nothing (killed before its result): the host's view
            result.process = dict(fate.extra.get("process") or {})
            write_json(str(run_dir / "result.json"), result.to_dict())
        return result

    def _fresh(self, spec: RunSpec, fate: Fate, run_dir: Path, attempt: Path, cmd: list[str], cg: RunCgroup,
               env: dict[str, str]) -> None:
        argv = ["sh", "-c", _JOIN, "edgebench-run"] + cmd if cg.procs_files else cmd
        log = outputs.open_log(run_dir)
        try:
            t0 = time.monotonic()
            fate.extra["start_wall"] = time.time()
            proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
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

    def _server(self, spec: RunSpec) -> "tuple[Optional[ForkServer], str]":
        """The fork server for this run, or (None, why it runs in a fresh process)."""
        why = forked.refusal(spec)
        if why:
            return None, why
        return self._pool(spec).get(spec.framework)

    def _pool(self, spec: RunSpec) -> forked.ServerPool:
        python = interpreter(spec, self.python)[0]
        if python not in self.pools:
            self.pools[python] = forked.ServerPool(python)
        return self.pools[python]

    def _forked(self, server: "ForkServer", spec: RunSpec, fate: Fate, run_dir: Path, attempt: Path,
                models_dir: Path, cg: RunCgroup, env: dict[str, str], process: dict[str, Any]) -> None:
        """The run as a child of the fork server: the same cgroup, log, attempt folder and timeout as fresh."""
        os.close(outputs.open_log(run_dir))  # made by the host, a regular file; the child appends to it
        request = {"process": {k: v for k, v in process.items() if k == "notes"},
                   "spec": str(run_dir / "spec.json"), "outdir": str(attempt), "models": str(models_dir),
                   "log": str(run_dir / "log"), "cgroup_procs": list(cg.procs_files),
                   "env": {"EDGEBENCH_DEVICE": spec.device}}
        record.update_attempt(run_dir, attempt.name, server=server.record())
        t0 = time.monotonic()
        fate.extra["start_wall"] = time.time()
        try:
            pid = server.start(request)
        except (forked.ServerGone, RuntimeError) as e:
            self._pool(spec).drop(spec.framework)
            fate.error = "the fork server could not start the run: %s" % e
            return
        record.update_attempt(run_dir, attempt.name, pid=pid, pid_start=record.process_start(pid))
        try:
            fate.exit_code, fate.timed_out = server.wait(pid, spec.timeout_s)
        except forked.ServerGone as e:
            _killpg(pid)
            self._pool(spec).drop(spec.framework)
            fate.error = "the fork server died during the run: %s" % e
        except BaseException:
            _killpg(pid)
            raise
        fate.wall_s = time.monotonic() - t0

    def close(self) -> None:
        """End the fork servers (the campaign calls this when it ends)."""
        for pool in self.pools.values():
            pool.close()
        self.pools = {}

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
                              "pids.max", "cpuset.mems", "cpuset.cpus"):
                    lines.append("echo %s > %s" % (shlex.quote(f.read_text().strip()), shlex.quote(str(f))))
            lines.append("echo $$ > %s" % shlex.quote(str(d / "cgroup.procs")))
        lines.append("exec " + " ".join(shlex.quote(c) for c in cmd))
        write_bytes(str(run_dir / "command.sh"), ("\n".join(lines) + "\n").encode())


def _killpg(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


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



