"""Host side: make a cgroup for one run, apply its limits, read them back and the OOM evidence.

cgroup v1 (memory + cpu hierarchies) and v2 (unified). Used by the local runner; needs root.
"""

import os
import time
from pathlib import Path
from typing import Any, Optional

from edgebench.suite import cgroup as reader
from edgebench.suite.spec import Limits

MIB = 1 << 20
PARENT = "edgebench"
PIDS_MAX = 4096  # the same task cap as a container's (runners/docker.py PIDS_LIMIT says why)


class CgroupError(RuntimeError):
    pass


def _write(path: Path, value: str) -> None:
    try:
        path.write_text(value)
    except OSError as e:
        raise CgroupError("cannot write %r to %s: %s" % (value, path, e.strerror)) from None


class RunCgroup:
    """One run's cgroup; `procs_files` are where the child writes its own pid before exec."""

    def __init__(self, name: str, root: str = reader.CGROUP_ROOT) -> None:
        self.root = Path(root)
        self.version = reader.memory_version(root)
        self.name = name
        self.dirs: list[Path] = []
        self.notes: list[str] = []

    @property
    def memory_dir(self) -> Optional[Path]:
        return self.dirs[0] if self.dirs else None

    @property
    def procs_files(self) -> list[str]:
        return [str(d / "cgroup.procs") for d in self.dirs]

    def create(self, limits: Limits) -> None:
        if os.geteuid() != 0:
            self.notes.append("limits not applied: not root, so no cgroup could be made")
            return
        if self.version is None:
            self.notes.append("limits not applied: no memory cgroup controller on this host")
            return
        if self.version == 1:
            self._create_v1(limits)
        else:
            self._create_v2(limits)

    def _mkdir(self, base: Path) -> Path:
        d = base / PARENT / self.name
        d.mkdir(parents=True, exist_ok=True)
        self.dirs.append(d)
        return d

    def _create_v1(self, limits: Limits) -> None:
        mem = self._mkdir(self.root / "memory")
        if limits.memory_mb is not None:
            _write(mem / "memory.limit_in_bytes", str(int(limits.memory_mb * MIB)))
            memsw = limits.memory_swap_mb if limits.memory_swap_mb is not None else 2 * limits.memory_mb
            if (mem / "memory.memsw.limit_in_bytes").exists():
                _write(mem / "memory.memsw.limit_in_bytes", str(int(memsw * MIB)))
            else:
                self.notes.append("memory+swap limit not applied: the kernel does not account swap "
                                  "(boot with swapaccount=1)")
        if limits.swappiness is not None:
            _write(mem / "memory.swappiness", str(limits.swappiness))
        if limits.cpus is not None:
            cpu = self._mkdir(self.root / "cpu")
            _write(cpu / "cpu.cfs_period_us", "100000")
            _write(cpu / "cpu.cfs_quota_us", str(int(limits.cpus * 100000)))
        if (self.root / "pids").is_dir():
            _write(self._mkdir(self.root / "pids") / "pids.max", str(PIDS_MAX))
        if limits.cpuset is not None:
            self._cpuset_v1(limits.cpuset)

    def _cpuset_v1(self, cpus: str) -> None:
        """v1 cpuset groups start empty and take no task until both cpuset.cpus and cpuset.mems are set,
        in the parent first: both copied from the level above, then the run's own CPUs."""
        base = self.root / "cpuset"
        if not (base / "cpuset.cpus").exists():
            self.notes.append("cpuset not applied: no cpuset cgroup controller on this host")
            return
        parent = base / PARENT
        parent.mkdir(exist_ok=True)
        for f in ("cpuset.cpus", "cpuset.mems"):
            if not (parent / f).read_text().strip():
                _write(parent / f, (base / f).read_text().strip())
        d = self._mkdir(base)
        _write(d / "cpuset.mems", (parent / "cpuset.mems").read_text().strip())
        _write(d / "cpuset.cpus", cpus)

    def _create_v2(self, limits: Limits) -> None:
        parent = self.root / PARENT
        parent.mkdir(exist_ok=True)
        for ctrl in ("memory", "cpu", "pids") + (("cpuset",) if limits.cpuset is not None else ()):
            try:
                _write(self.root / "cgroup.subtree_control", "+%s" % ctrl)
                _write(parent / "cgroup.subtree_control", "+%s" % ctrl)
            except CgroupError as e:
                self.notes.append(str(e))
        d = self._mkdir(self.root)
        if limits.memory_mb is not None:
            _write(d / "memory.max", str(int(limits.memory_mb * MIB)))
            memsw = limits.memory_swap_mb if limits.memory_swap_mb is not None else 2 * limits.memory_mb
            if (d / "memory.swap.max").exists():
                _write(d / "memory.swap.max", str(int((memsw - limits.memory_mb) * MIB)))
            else:
                self.notes.append("swap limit not applied: no memory.swap.max (swap accounting off)")
        if limits.swappiness is not None:
            self.notes.append("swappiness not applied: cgroup v2 has no per-group swappiness")
        if limits.cpus is not None:
            _write(d / "cpu.max", "%d 100000" % int(limits.cpus * 100000))
        if (d / "pids.max").exists():
            _write(d / "pids.max", str(PIDS_MAX))
        if limits.cpuset is not None:
            if (d / "cpuset.cpus").exists():
                _write(d / "cpuset.cpus", limits.cpuset)
            else:
                self.notes.append("cpuset not applied: the cpuset controller is not enabled in this cgroup v2 tree")

    def read(self) -> dict[str, Any]:
        """Limits and counters as the kernel holds them now (bytes)."""
        d = self.memory_dir
        if d is None:
            return {}
        if self.version == 1:
            def num(f: str) -> Optional[int]:
                v = reader._int(str(d / f))
                return v
            oom = reader._kv(str(d / "memory.oom_control"))
            return {"memory_limit_bytes": num("memory.limit_in_bytes"),
                    "memory_swap_limit_bytes": num("memory.memsw.limit_in_bytes"),
                    "swappiness": num("memory.swappiness"), "memory_peak_bytes": num("memory.max_usage_in_bytes"),
                    "memsw_peak_bytes": num("memory.memsw.max_usage_in_bytes"), "failcnt": num("memory.failcnt"),
                    "oom_kill": oom.get("oom_kill"), "under_oom": oom.get("under_oom"), "cpuset": self._cpuset()}
        ev = reader._kv(str(d / "memory.events"))
        return {"memory_limit_bytes": reader._int(str(d / "memory.max")),
                "swap_limit_bytes": reader._int(str(d / "memory.swap.max")),
                "memory_peak_bytes": reader._int(str(d / "memory.peak")),
                "oom": ev.get("oom"), "oom_kill": ev.get("oom_kill"), "cpuset": self._cpuset()}

    def _cpuset(self) -> Optional[str]:
        """The CPUs the group may use as the kernel holds them; None when no cpuset was set."""
        for d in self.dirs:
            for f in ("cpuset.effective_cpus", "cpuset.cpus.effective", "cpuset.cpus"):
                if (d / f).exists() and (self.version == 1 or (d / "cpuset.cpus").read_text().strip()):
                    return reader._read(str(d / f))
        return None

    def oom_killed(self) -> tuple[bool, dict[str, Any]]:
        """True when the kernel's OOM killer killed a task of this group; with the counters read."""
        info = self.read()
        evidence = {k: info.get(k) for k in ("oom_kill", "failcnt", "oom") if info.get(k) is not None}
        return bool(info.get("oom_kill")), evidence

    def remove(self) -> None:
        for d in reversed(self.dirs):
            for _ in range(50):  # the last task may take a moment to leave after it exits
                try:
                    d.rmdir()
                    break
                except OSError:
                    for pid in (d / "cgroup.procs").read_text().split() if d.exists() else []:
                        try:
                            os.kill(int(pid), 9)
                        except (ProcessLookupError, ValueError):
                            pass
                    time.sleep(0.1)
        self.dirs = []
