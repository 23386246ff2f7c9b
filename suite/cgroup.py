"""Read the memory and CPU limits that really apply to this process (cgroup v1 and v2).

Used inside the run (the limits as seen from inside) and by the host's local runner.
Sizes are bytes here; None means "no limit" or "not readable".
"""

import os
from typing import Any, Dict, List, Optional, Tuple

from .fsutil import read_text

CGROUP_ROOT = "/sys/fs/cgroup"
# cgroup v1 reports "no limit" as PAGE_COUNTER_MAX pages; anything this large is unlimited.
_V1_UNLIMITED = 1 << 60


_read = read_text


def _int(path: str) -> Optional[int]:
    text = _read(path)
    if text is None or text == "max":
        return None
    try:
        value = int(text.split()[0])
    except (ValueError, IndexError):
        return None
    return None if value >= _V1_UNLIMITED else value


def _kv(path: str) -> Dict[str, int]:
    out: Dict[str, int] = {}
    text = _read(path) or ""
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2:
            try:
                out[parts[0]] = int(parts[1])
            except ValueError:
                pass
    return out


def own_cgroups(pid: str = "self") -> List[Tuple[str, str, str]]:
    """(hierarchy id, controllers, path) for each line of /proc/PID/cgroup."""
    rows = []
    for line in (_read("/proc/%s/cgroup" % pid) or "").splitlines():
        parts = line.split(":", 2)
        if len(parts) == 3:
            rows.append((parts[0], parts[1], parts[2]))
    return rows


def memory_version(root: str = CGROUP_ROOT) -> Optional[int]:
    """1 or 2 for the hierarchy that holds the memory controller here, None without one."""
    if os.path.exists(os.path.join(root, "memory", "memory.limit_in_bytes")):
        return 1
    controllers = _read(os.path.join(root, "cgroup.controllers"))
    if controllers is not None and "memory" in controllers.split():
        return 2
    return None


def _dir_for(controller: str, version: int, pid: str, root: str) -> Optional[str]:
    """The folder of this process's cgroup for a controller. Inside a container with a cgroup
    namespace the path reads '/', so the mount root is the group itself."""
    for _, ctrls, path in own_cgroups(pid):
        if version == 1 and controller in ctrls.split(","):
            base = os.path.join(root, controller)
        elif version == 2 and ctrls == "":
            base = root
        else:
            continue
        full = os.path.join(base, path.lstrip("/"))
        return full if os.path.isdir(full) else base
    return None


def memory_dir(pid: str = "self", root: str = CGROUP_ROOT) -> Tuple[Optional[int], Optional[str]]:
    version = memory_version(root)
    if version is None:
        return None, None
    return version, _dir_for("memory", version, pid, root)


def read_limits(pid: str = "self", root: str = CGROUP_ROOT) -> Dict[str, Any]:
    """The limits of PID's cgroup as the kernel holds them, plus what it has used so far."""
    version, mdir = memory_dir(pid, root)
    out: Dict[str, Any] = {"cgroup_version": version, "cgroup_path": mdir}
    if mdir is None:
        out.update(read_cpu(pid, root))
        return out
    if version == 1:
        mem = _int(os.path.join(mdir, "memory.limit_in_bytes"))
        memsw = _int(os.path.join(mdir, "memory.memsw.limit_in_bytes"))
        oom = _kv(os.path.join(mdir, "memory.oom_control"))
        stat = _kv(os.path.join(mdir, "memory.stat"))
        out.update({
            "memory_limit_bytes": mem,
            "memory_swap_limit_bytes": memsw,
            "swap_accounting": os.path.exists(os.path.join(mdir, "memory.memsw.limit_in_bytes")),
            "swappiness": _int(os.path.join(mdir, "memory.swappiness")),
            "memory_usage_bytes": _int(os.path.join(mdir, "memory.usage_in_bytes")),
            "memory_peak_bytes": _int(os.path.join(mdir, "memory.max_usage_in_bytes")),
            "memsw_peak_bytes": _int(os.path.join(mdir, "memory.memsw.max_usage_in_bytes")),
            "swap_usage_bytes": stat.get("swap"),
            "failcnt": _int(os.path.join(mdir, "memory.failcnt")),
            "oom_kill": oom.get("oom_kill"),
            "under_oom": oom.get("under_oom"),
        })
    else:
        mem = _int(os.path.join(mdir, "memory.max"))
        swap = _int(os.path.join(mdir, "memory.swap.max"))
        events = _kv(os.path.join(mdir, "memory.events"))
        out.update({
            "memory_limit_bytes": mem,
            # v2 limits swap alone; report memory+swap like v1 and Docker do.
            "memory_swap_limit_bytes": (mem + swap) if (mem is not None and swap is not None) else None,
            "swap_limit_bytes": swap,
            "swap_accounting": os.path.exists(os.path.join(mdir, "memory.swap.max")),
            "swappiness": None,  # v2 has no per-group swappiness
            "memory_usage_bytes": _int(os.path.join(mdir, "memory.current")),
            "memory_peak_bytes": _int(os.path.join(mdir, "memory.peak")),
            "swap_usage_bytes": _int(os.path.join(mdir, "memory.swap.current")),
            "oom": events.get("oom"),
            "oom_kill": events.get("oom_kill"),
        })
    out.update(read_cpu(pid, root))
    return out


def read_cpu(pid: str = "self", root: str = CGROUP_ROOT) -> Dict[str, Any]:
    """CPU quota as a number of CPUs, and the cpuset, where a cgroup sets them."""
    out: Dict[str, Any] = {"cpus_quota": None, "cpuset": None, "cpu_affinity": affinity(pid)}
    version = memory_version(root)
    if version == 1:
        cdir = _dir_for("cpu", 1, pid, root)
        if cdir:
            quota = _read(os.path.join(cdir, "cpu.cfs_quota_us"))
            period = _read(os.path.join(cdir, "cpu.cfs_period_us"))
            if quota and period and int(quota) > 0:
                out["cpus_quota"] = int(quota) / float(period)
        sdir = _dir_for("cpuset", 1, pid, root)
        if sdir:
            out["cpuset"] = _read(os.path.join(sdir, "cpuset.effective_cpus")) or _read(
                os.path.join(sdir, "cpuset.cpus"))
    elif version == 2:
        cdir = _dir_for("cpu", 2, pid, root)
        text = _read(os.path.join(cdir, "cpu.max")) if cdir else None
        if text:
            quota, _, period = text.partition(" ")
            if quota != "max" and period:
                out["cpus_quota"] = int(quota) / float(period)
        if cdir:
            out["cpuset"] = _read(os.path.join(cdir, "cpuset.cpus.effective"))
    return out


def affinity(pid: str = "self") -> Optional[List[int]]:
    """The CPUs the process may run on, as the scheduler holds them (a cpuset shows here from inside)."""
    if not hasattr(os, "sched_getaffinity"):
        return None
    try:
        return sorted(os.sched_getaffinity(0 if pid == "self" else int(pid)))
    except (OSError, ValueError):
        return None


def mib(value: Optional[float]) -> Optional[float]:
    return None if value is None else value / float(1 << 20)
