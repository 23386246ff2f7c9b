"""End what a dead orchestrator left behind in one campaign folder, before the campaign runs anything.

Each attempt is recorded in its run folder's host.json before it starts (runners/record.py). An attempt
not marked ended, whose orchestrator (pid + start time) is no longer alive, is an orphan: its process
group is killed if the recorded pid is still the same process (psutil start time, so a reused pid is
never touched), its recorded cgroups are emptied and removed, its container (found by its token label)
and volume removed. Only what this campaign folder recorded is touched, never anything else.
"""

import os
import signal
import time
from pathlib import Path
from typing import Any, Optional

from edgebench.suite import cgroup as reader

from ..cgroups import PARENT, RunCgroup
from . import record


def recorded_runs(campaign_dir: Path) -> list[Path]:
    """Run folders with a host record: the campaign's runs, and those in its _incomplete/_replays folders."""
    found = [p for pattern in ("*/", "_*/*/") for p in sorted(campaign_dir.glob(pattern + record.HOST_FILE))]
    return [p.parent for p in found if not p.is_symlink()]


def reap_orphans(campaign_dir: Path, docker_client: Any = None) -> list[str]:
    """End every orphan attempt of this campaign folder; one message per attempt ended."""
    messages: list[str] = []
    for run_dir in recorded_runs(campaign_dir):
        for a in record.read(run_dir).get("attempts", []):
            if not isinstance(a, dict) or a.get("ended") or a.get("reaped"):
                continue
            orch = a.get("orchestrator") or {}
            if record.alive(orch.get("pid"), orch.get("start")):
                continue  # its orchestrator still runs it (that is the lock's business, not ours)
            done = end_attempt(a, docker_client)
            record.update_attempt(run_dir, str(a.get("id")), reaped=time.time(), reap=done)
            messages.append("%s: attempt %s was left by a dead orchestrator (pid %s); %s" % (
                run_dir, a.get("id"), orch.get("pid"), "; ".join(done) or "nothing of it was still there"))
    return messages


def end_attempt(a: dict[str, Any], docker_client: Any = None) -> list[str]:
    done: list[str] = []
    pid, started = a.get("pid"), a.get("pid_start")
    if isinstance(pid, int) and record.alive(pid, started):
        try:
            os.killpg(pid, signal.SIGKILL) if os.getpgid(pid) == pid else os.kill(pid, signal.SIGKILL)
            done.append("killed process %d (and its group)" % pid)
        except (ProcessLookupError, PermissionError) as e:
            done.append("could not kill process %d: %s" % (pid, e))
    server = a.get("server") or {}  # a fork server (process: forked): it ends with its host, unless it hung
    spid = server.get("pid") if isinstance(server, dict) else None
    if isinstance(spid, int) and record.alive(spid, server.get("pid_start")):
        try:
            os.killpg(spid, signal.SIGKILL)
            done.append("killed fork server %d" % spid)
        except (ProcessLookupError, PermissionError) as e:
            done.append("could not kill fork server %d: %s" % (spid, e))
    dirs = [Path(d) for d in a.get("cgroup") or [] if _ours(str(d))]
    if dirs and any(d.is_dir() for d in dirs):
        cg = RunCgroup(dirs[0].name)
        cg.dirs = [d for d in dirs if d.is_dir()]
        cg.remove()  # kills what is left inside (only this run's cgroup), then removes it
        left = [str(d) for d in dirs if d.is_dir()]
        done.append("removed cgroup %s" % ", ".join(str(d) for d in dirs) if not left else
                    "cgroup %s could not be removed" % ", ".join(left))
    if a.get("token") or a.get("volume"):
        done.extend(_end_container(a, docker_client))
    return done


def _ours(path: str) -> bool:
    """A recorded cgroup path is only trusted when it is a run cgroup edgebench makes (root/*/edgebench/x)."""
    p = Path(os.path.normpath(path))
    root = Path(reader.CGROUP_ROOT)
    return p.parent.name == PARENT and root in p.parents and ".." not in Path(path).parts


def _end_container(a: dict[str, Any], client: Any) -> list[str]:
    from .docker import TOKEN

    try:
        if client is None:
            from ..images import client as make_client

            client = make_client(timeout=10)
        found = client.containers.list(all=True, filters={"label": "%s=%s" % (TOKEN, a.get("token"))})
    except Exception as e:  # no engine now: say so, the container is found next time
        return ["could not ask the Docker engine for its container: %s" % e]
    done = []
    for c in found:
        c.remove(force=True)
        done.append("removed container %s" % c.id[:12])
    volume: Optional[str] = a.get("volume")
    if volume:
        try:
            client.volumes.get(volume).remove(force=True)
            done.append("removed volume %s" % volume)
        except Exception:
            pass
    return done
