"""One container per cell, kept across its repetitions (matrix `container: reuse`); limits changed on it live.

The container's main process idles (`sleep infinity` under Docker's init, which reaps). Each run is a
`docker exec` of the normal run command, with its own spec file and its own attempt folder, and its own fate:
exit code of that exec; a timeout ends that process (and its children) only; the OOM verdict comes from the
container cgroup's counters, oom_kill taken before and after the run, its peaks and fail counts reset (and
the cgroup's leftover page cache reclaimed) before it starts, so each run starts as a fresh container would.

Between P1 stages the limits are changed with the engine's update (memory and memory+swap in one call;
runc writes them in the order the kernel accepts, lowering or raising) and read back from the cgroup; the
run itself reads them inside, as every run does. A run that kills the container, leaves a process behind,
or a limit that does not apply ends reuse: the container is removed and the next run gets a fresh one.

Layout: CAMPAIGN/_containers/TOKEN/{in,out,host.json}. in/ (bound read-only) holds each run's spec; out/
(the only writable bind, root-owned 0755) gets one attempt folder per run, made by the host just before the
run and handed to the run's user, taken in and removed after it. host.json records the container (its
token label) before it exists, so the orphan reaper (reap.py) removes it after a crash.

Not built yet: warm-import runs inside the container. The fork server (suite/forkserver.py) takes one
connection, so it needs a relay that lives with the container; until then `process: forked` specs run here
as fresh processes and record why (docker_process.py). Pool.MAIN and Pool._exec are where it would go.
"""

import hashlib
import json
import os
import shutil
import signal
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Optional

import psutil
from edgebench.suite import cgroup as reader
from edgebench.suite.fsutil import write_json
from edgebench.suite.spec import RunResult, RunSpec

from . import outputs, record
from .base import MIB, Fate, docker_swap_total, finalize
from .docker_files import ATTEMPT, CAMPAIGN_DIR, IN_MODELS, IN_SPEC, LABEL, OUT, TOKEN, _give, _remove, _share
from .docker_process import process_record, with_process
from .docker_watch import CgroupWatch, KernelLog

HOME = "_containers"
IN_RUNS = "/edgebench/in/runs"
_GRACE_S = 5
# /tmp is a tmpfs charged to the container's memory: each run starts with it empty, as in a fresh container.
_CLEAN_TMP = "rm -rf /tmp/* /tmp/.[!.]* /tmp/..?* 2>/dev/null; cd /tmp || exit 125; exec \"$@\""


class LimitError(Exception):
    """The engine refused a live limit change, or the cgroup does not show it afterwards."""


def refusal(runner: Any) -> str:
    """Why this runner cannot reuse containers here ('' when it can): it reads and resets the container's
    cgroup and ends a run's process itself, so it needs the engine's cgroups and processes, as root."""
    if runner.copy_mode:
        return "a remote engine (copy transfer): the host cannot see the container's cgroup or processes"
    if os.geteuid() != 0:
        return "not root: the host cannot reset the container's cgroup counters or end a run's process"
    if reader.memory_version() is None:
        return "no memory cgroup controller on this host"
    return ""


def cell_key(spec: RunSpec, image_id: str) -> str:
    """What one container serves: the spec without repetition, sweep labels, settle and memory values."""
    d = spec.to_dict()
    for k in ("repetition", "labels", "settle_s"):
        d.pop(k, None)
    lim = dict(d.pop("limits") or {})
    d["limits"] = {"memory": lim.get("memory_mb") is not None, "swappiness": lim.get("swappiness"),
                   "cpus": lim.get("cpus")}
    if lim.get("cpuset") is not None:  # which CPUs changes live (set_cpuset); dropping the pin cannot
        d["limits"]["cpuset"] = True
    d["image_id"] = image_id
    return hashlib.sha256(json.dumps(d, sort_keys=True, default=str).encode()).hexdigest()[:16]


def wanted_limits(spec: RunSpec) -> tuple[Optional[int], Optional[int]]:
    mem = spec.limits.memory_mb
    if mem is None:
        return None, None
    return int(mem * MIB), int((docker_swap_total(mem, spec.limits.memory_swap_mb) or 0) * MIB)


class Live:
    """The container kept for one cell, and what the host knows of it."""

    def __init__(self, key: str, container: Any, token: str, home: Path, cgroup: str, init_pids: set[int],
                 limits: tuple[Optional[int], Optional[int]]) -> None:
        self.key, self.container, self.token, self.home = key, container, token, home
        self.cgroup, self.init_pids, self.limits = cgroup, init_pids, limits
        self.cpuset: Optional[str] = None  # as the container was created or last updated
        self.runs = 0
        self.broken = ""  # why it must not serve another run


class Pool:
    """At most one live container (the current cell's: a cell's runs are consecutive in plan order)."""

    MAIN = ["sleep", "infinity"]  # the container's idle main process (Docker's init reaps what runs leave)

    def __init__(self, runner: Any) -> None:
        self.runner = runner
        self.live: Optional[Live] = None
        self.started = 0  # containers started in reuse mode (for the record and the tests)

    # ---- one run ----------------------------------------------------------------------------------

    def execute(self, spec: RunSpec, run_dir: Path, models_dir: Path) -> RunResult:
        r = self.runner
        run_dir.mkdir(parents=True, exist_ok=True)
        write_json(str(run_dir / "spec.json"), spec.to_dict())
        fate = Fate(runner=r.name)
        steps: dict[str, float] = {}
        info: dict[str, Any] = {"mode": "reuse"}
        fate.extra.update(timings=steps, container=info, process=process_record(spec, "reuse"))
        attempt: Optional[Path] = None
        live: Optional[Live] = None
        try:
            image, fate.error = r.image_info(spec)
            if fate.error:
                return with_process(finalize(spec, run_dir, fate), run_dir, fate)
            fate.extra.update(image=image, engine=str(r.client.api.base_url), transfer="bind")
            user = r._user(spec)
            models_dir.mkdir(parents=True, exist_ok=True)
            _share(models_dir, spec.artifact)
            live = self._live_for(spec, image, user, run_dir, models_dir, fate, steps, info)
            # The replay files describe the equivalent fresh container (`edgebench replay` runs one).
            name = "%s-%s" % (spec.run_id, uuid.uuid4().hex[:8])
            kw = r.container_kwargs(spec, image["ref"], run_dir, models_dir, user, image, None,
                                    run_dir / outputs.ATTEMPTS / name)
            r.emulate(kw, image, Fate(runner=r.name))
            r._save_command(run_dir, kw, image)
            record.sign(run_dir, r.name, spec.run_id)
            attempt = live.home / "out" / name
            in_spec = live.home / "in" / (name + ".json")
            shutil.copyfile(run_dir / "spec.json", in_spec)
            attempt.mkdir()
            _give(attempt, in_spec, user)
            record.add_attempt(run_dir, {"id": name, "runner": r.name, "dir": str(attempt), "token": live.token,
                                         "container_id": live.container.id, "reused_container": True,
                                         "engine": str(r.client.api.base_url)})
            live.runs += 1
            info.update(id=live.container.id, reused=live.runs > 1, runs_served=live.runs)
            fate.extra["container_id"] = live.container.id
            if spec.limits.swap_mb and r.allow_no_swap:
                fate.limit_notes.append("run with --allow-no-swap: the swap part of the limit may be unused")
            if spec.settle_s:
                time.sleep(spec.settle_s)  # P1: let memory settle after the stage's limits, before the model
            t0 = time.monotonic()
            info["reclaim"] = fresh_counters(live.cgroup)
            steps["reclaim_s"] = time.monotonic() - t0
            self._exec(spec, live, name, user, run_dir, fate, steps)
        except KeyboardInterrupt:
            fate.error = "interrupted (Ctrl-C)"
            self.close("interrupted (Ctrl-C)")
            raise
        except Exception as e:
            fate.error = fate.error or "docker (reused container): %s: %s" % (type(e).__name__, e)
            if live is not None:
                live.broken = live.broken or fate.error
        finally:
            if attempt is not None:
                fate.extra["output_problems"] = outputs.accept(attempt, run_dir, spec.run_id)
                shutil.rmtree(attempt, ignore_errors=True)  # not outputs.discard: out/ stays (it is bound)
                record.update_attempt(run_dir, attempt.name, ended=True)
                try:
                    (attempt.parent.parent / "in" / (attempt.name + ".json")).unlink()
                except OSError:
                    pass
            if live is not None and live.broken:
                info["ended_reuse"] = live.broken
                self.close(live.broken)
        return with_process(finalize(spec, run_dir, fate), run_dir, fate)

    def _live_for(self, spec: RunSpec, image: dict[str, Any], user: Optional[str], run_dir: Path, models_dir: Path,
                  fate: Fate, steps: dict[str, float], info: dict[str, Any]) -> Live:
        """The cell's container with the spec's limits: the one kept (limits updated live), else a new one."""
        key = cell_key(spec, image["id"])
        if self.live is not None and self.live.key != key:
            self.close("the next cell starts")
        want = wanted_limits(spec)
        if self.live is not None and self.live.limits != want:
            t0 = time.monotonic()
            before = self.live.limits
            try:
                set_limits(self.live, want)
                info["limits_updated"] = {"from_bytes": list(before), "to_bytes": list(want)}
            except LimitError as e:
                info["limits_update_failed"] = str(e)
                self.close("a live limit change failed: %s" % e)
            steps["update_s"] = time.monotonic() - t0
        if self.live is not None and spec.limits.cpuset is not None and self.live.cpuset != spec.limits.cpuset:
            before_set = self.live.cpuset
            try:
                set_cpuset(self.live, spec.limits.cpuset)
                info["cpuset_updated"] = {"from": before_set, "to": spec.limits.cpuset}
            except LimitError as e:
                info["cpuset_update_failed"] = str(e)
                self.close("a live cpuset change failed: %s" % e)
        if self.live is None:
            t0 = time.monotonic()
            self.live = self._start(spec, image, user, key, run_dir, models_dir, fate)
            steps["create_s"] = time.monotonic() - t0
        return self.live

    def _start(self, spec: RunSpec, image: dict[str, Any], user: Optional[str], key: str, run_dir: Path,
               models_dir: Path, fate: Fate) -> Live:
        r = self.runner
        camp_dir = run_dir.resolve().parent
        token = uuid.uuid4().hex
        home = camp_dir / HOME / token
        for sub in ("in", "out"):
            (home / sub).mkdir(parents=True)
            os.chmod(home / sub, 0o755)  # the run's user reads in/ and enters out/, creates nothing in either
        kw = r.container_kwargs(spec, image["ref"], run_dir, models_dir, user, image, None, home / "out")
        kw["volumes"] = [b for b in kw["volumes"] if not b.endswith(":%s:ro" % IN_SPEC)]
        kw["volumes"].append("%s:%s:ro" % (home / "in", IN_RUNS))
        r.emulate(kw, image, fate)
        kw.update(command=list(self.MAIN), init=True)
        kw["labels"].update({LABEL: "reuse", TOKEN: token, CAMPAIGN_DIR: str(camp_dir), ATTEMPT: "container"})
        # Recorded before the container exists: the reaper removes it (by token) if this process dies.
        record.add_attempt(home, {"id": "container", "runner": r.name, "token": token, "dir": str(home / "out"),
                                  "engine": str(r.client.api.base_url), "cell": key})
        container = None
        try:
            container = r.client.containers.create(**kw)
            record.update_attempt(home, "container", container_id=container.id)
            container.start()
            watch = CgroupWatch(container)
            watch.stop()
            if not watch.dir:
                raise LimitError("the container's memory cgroup was not found")
            pids = cgroup_pids(watch.dir)
        except BaseException:
            self._remove(container, home, "could not start: see the run's error")
            raise
        self.started += 1
        live = Live(key, container, token, home, watch.dir, pids, wanted_limits(spec))
        live.cpuset = spec.limits.cpuset
        return live

    def _exec(self, spec: RunSpec, live: Live, name: str, user: Optional[str], run_dir: Path, fate: Fate,
              steps: dict[str, float]) -> None:
        api = self.runner.client.api
        argv = ["python", "-m", "edgebench.suite", "run", "%s/%s.json" % (IN_RUNS, name), "%s/%s" % (OUT, name),
                "--models", IN_MODELS]
        fate.command = ["docker", "exec", "--user", str(user or ""), live.container.id, *argv]
        kmsg = KernelLog()
        watch = CgroupWatch(live.container)  # counters now: the baseline of this run's oom_kill
        before = dict(watch.counters)
        log = bytearray()
        t0 = time.monotonic()
        fate.extra["start_wall"] = time.time()
        # Per exec: the kept container's own environment is its first run's.
        env = {"EDGEBENCH_PROCESS": json.dumps(fate.extra.get("process") or {"mode": "fresh"}, sort_keys=True)}
        eid = api.exec_create(live.container.id, ["sh", "-c", _CLEAN_TMP, "sh", *argv], user=user or "",
                              workdir="/tmp", environment=env)["Id"]
        stream = api.exec_start(eid, stream=True)
        reader_t = threading.Thread(target=_drain, args=(stream, log), name="edgebench-exec-log", daemon=True)
        reader_t.start()
        pid = _exec_pid(api, eid)
        steps["start_s"] = time.monotonic() - t0
        if pid:
            record.update_attempt(run_dir, name, pid=pid, pid_start=record.process_start(pid))
        try:
            if not _wait(api, eid, pid, spec.timeout_s - (time.monotonic() - t0)):
                fate.timed_out = True
                _signal_tree(pid, live.container.id, signal.SIGTERM)  # the suite writes what it has
                if not _wait(api, eid, pid, _GRACE_S):
                    _signal_tree(pid, live.container.id, signal.SIGKILL)
                    _wait(api, eid, pid, 60)
            fate.exit_code = _exec_exit(api, eid)
            reader_t.join(5)  # the rest of its output
            fate.wall_s = steps["run_s"] = time.monotonic() - t0
        finally:
            watch.stop()
        outputs.append_log(run_dir, bytes(log))
        self._verdict(live, watch, before, kmsg, fate)
        live.broken = live.broken or self._health(live)

    def _verdict(self, live: Live, watch: Any, before: dict[str, Any], kmsg: Any, fate: Fate) -> None:
        """This run's OOM verdict from the (still living) cgroup: oom_kill after minus before; fail counts and
        peaks were reset before the run, so they are its own."""
        after = watch.counters
        ev: dict[str, Any] = {k: v for k, v in after.items() if v is not None}
        ev["oom_kill"] = (after.get("oom_kill") or 0) - (before.get("oom_kill") or 0)
        ev["docker_oomkilled"] = False  # the container lives on: Docker's flag is about its main process
        lines = kmsg.lines_for(live.container.id)
        if lines:
            fate.extra["kernel_log"] = lines[:4]
            killed = [x for x in lines if "Killed process" in x or "oom_memcg" in x]
            ev["kernel_log"] = killed[-1][:160] if killed else lines[-1][:160]
        fate.oom_killed = bool(ev["oom_kill"] > 0 or any("oom_memcg" in x for x in lines)
                               or (ev.get("oom_events") and fate.exit_code == 137))
        fate.oom_evidence = ev
        fate.limits_applied = dict(watch.limits, cgroup=watch.dir, source="cgroup")

    def _health(self, live: Live) -> str:
        """Why the container must not serve another run ('' when it may)."""
        try:
            live.container.reload()
        except Exception as e:
            return "the container is gone (%s)" % e
        if live.container.status != "running":
            return "the container stopped (%s)" % live.container.status
        left: set[int] = set()
        for _ in range(10):  # an exec'd process is reaped a moment after its exit code is known
            left = cgroup_pids(live.cgroup) - live.init_pids
            if not left:
                return ""
            time.sleep(0.05)
        return "the run left %d process(es) in the container" % len(left)

    # ---- the end of a container --------------------------------------------------------------------

    def close(self, reason: str) -> None:
        live, self.live = self.live, None
        if live is not None:
            record.update_attempt(live.home, "container", runs=live.runs, closing=reason)
            self._remove(live.container, live.home, reason)

    def _remove(self, container: Any, home: Path, reason: str) -> None:
        fate = Fate(runner=self.runner.name)
        _remove(self.runner.client, container, None, fate)
        if "remove_error" in fate.extra:  # kept on record: the reaper retries from host.json
            record.update_attempt(home, "container", remove_error=fate.extra["remove_error"])
            return
        record.update_attempt(home, "container", ended=True, closed=reason)
        shutil.rmtree(home, ignore_errors=True)
        try:
            home.parent.rmdir()  # _containers/, when it was the last
        except OSError:
            pass


# ---- the container's cgroup, from the host ---------------------------------------------------------

def cgroup_pids(cgroup: str) -> set[int]:
    try:
        with open(os.path.join(cgroup, "cgroup.procs")) as f:
            return {int(x) for x in f.read().split()}
    except OSError:
        return set()


def fresh_counters(cgroup: str) -> dict[str, Any]:
    """Before a run: reclaim what earlier runs left charged to the cgroup (page cache of the model file,
    tmpfs already emptied) and reset peaks and fail counts (v1), so the run's own figures start from zero."""
    done: dict[str, Any] = {"usage_before_bytes": _read_int(cgroup, "memory.usage_in_bytes", "memory.current")}
    if reader.memory_version() == 1:
        done["force_empty"] = _write(cgroup, "memory.force_empty", "0")
        for f in ("memory.max_usage_in_bytes", "memory.memsw.max_usage_in_bytes", "memory.failcnt",
                  "memory.memsw.failcnt"):
            _write(cgroup, f, "0")
    else:  # v2: memory.reclaim (5.19+); memory.peak resets per open file only, so peaks stay cumulative
        usage = done["usage_before_bytes"] or 0
        done["reclaim"] = _write(cgroup, "memory.reclaim", str(usage)) if usage else "nothing to reclaim"
        done["peaks"] = "cumulative over the container's runs (cgroup v2)"
    done["usage_after_bytes"] = _read_int(cgroup, "memory.usage_in_bytes", "memory.current")
    return done


def set_limits(live: Live, want: tuple[Optional[int], Optional[int]]) -> None:
    """Memory and memory+swap in one update (runc orders the writes); then read back from the cgroup."""
    mem, memsw = want
    if mem is None or memsw is None:
        raise LimitError("a live container cannot drop its memory limit")
    try:
        live.container.update(mem_limit=mem, memswap_limit=memsw)
    except Exception as e:  # APIError: e.g. the kernel refused to shrink below what it could reclaim
        raise LimitError("the engine refused %d/%d bytes: %s" % (mem, memsw, e)) from e
    got = (_read_int(live.cgroup, "memory.limit_in_bytes", "memory.max"),
           _read_int(live.cgroup, "memory.memsw.limit_in_bytes", ""))
    if reader.memory_version() != 1:
        swap = _read_int(live.cgroup, "", "memory.swap.max")
        got = (got[0], got[0] + swap if got[0] is not None and swap is not None else None)
    if got != (mem, memsw):
        raise LimitError("asked %s bytes, the cgroup shows %s" % ((mem, memsw), got))
    live.limits = want


def set_cpuset(live: Live, cpus: str) -> None:
    """A stage's cpuset on the live container (`docker update --cpuset-cpus`), then read back from the engine;
    the run checks its own affinity from inside."""
    try:
        live.container.update(cpuset_cpus=cpus)
        live.container.reload()
    except Exception as e:  # APIError: e.g. a CPU this host does not have
        raise LimitError("the engine refused cpuset %s: %s" % (cpus, e)) from e
    got = live.container.attrs.get("HostConfig", {}).get("CpusetCpus")
    if got != cpus:
        raise LimitError("asked cpuset %s, the engine shows %s" % (cpus, got))
    live.cpuset = cpus


def _read_int(cgroup: str, v1: str, v2: str) -> Optional[int]:
    name = v1 if reader.memory_version() == 1 else v2
    return reader._int(os.path.join(cgroup, name)) if name else None


def _write(cgroup: str, name: str, value: str) -> str:
    try:
        with open(os.path.join(cgroup, name), "w") as f:
            f.write(value)
        return "ok"
    except OSError as e:
        return e.strerror or str(e)


# ---- the exec'd process ----------------------------------------------------------------------------

def _drain(stream: Any, into: bytearray) -> None:
    try:
        for chunk in stream:
            if len(into) < outputs.LOG_CAP:
                into.extend(chunk[: outputs.LOG_CAP - len(into)])
    except Exception as e:  # the engine closed the stream: what was read is kept
        into.extend(("\nedgebench: exec output ended: %s\n" % e).encode())


def _exec_pid(api: Any, eid: str) -> int:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        got = api.exec_inspect(eid)
        if got.get("Pid") or not got.get("Running") and got.get("ExitCode") is not None:
            return int(got.get("Pid") or 0)
        time.sleep(0.01)
    return 0


def _wait(api: Any, eid: str, pid: int, timeout_s: float) -> bool:
    """True once the exec'd process has ended, False after timeout_s. Watched by its host pid (psutil polls
    a process that is not our child cheaply); by the engine's exec record when no pid was seen."""
    timeout_s = max(0.0, timeout_s)
    if pid:
        try:
            psutil.Process(pid).wait(timeout_s)
        except psutil.NoSuchProcess:
            pass
        except psutil.TimeoutExpired:
            return False
        return True
    deadline = time.monotonic() + timeout_s
    while api.exec_inspect(eid).get("Running"):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True


def _exec_exit(api: Any, eid: str) -> Optional[int]:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        got = api.exec_inspect(eid)
        if not got.get("Running"):
            code = got.get("ExitCode")
            return int(code) if code is not None else None
        time.sleep(0.02)
    return None


def _signal_tree(pid: int, container_id: str, sig: int) -> None:
    """Signal the run's process and its descendants, each only while it is still in this container."""
    if not pid:
        return
    try:
        top = psutil.Process(pid)
        procs = [top] + top.children(recursive=True)
    except psutil.Error:
        return
    for p in procs:
        try:
            with open("/proc/%d/cgroup" % p.pid) as f:
                if container_id not in f.read():
                    continue
            p.send_signal(sig)
        except (OSError, psutil.Error):
            pass
