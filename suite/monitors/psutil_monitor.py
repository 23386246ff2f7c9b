"""CPU and memory of the benchmark process and of the system, from psutil and /proc.

Cost matters: this thread shares the CPU with the model. Measured on a 2-core x86 VM with torch
loaded (benchmarks/monitor_overhead.py): memory_full_info() (PSS/USS, a page-table walk via
smaps_rollup) costs ~7 ms of CPU per call and holds the address-space lock meanwhile; a 10 Hz
sample is cold every time (~0.4 ms with psutil's cpu_percent/memory_info, which open files and
build objects). So PSS/USS are read every `full_interval_s` (default 5 s; 0 turns them off; the
harness reads them once more after the measure phase), and the rest comes from files kept open and
re-read with pread: /proc/stat (system CPU), /proc/PID/statm (RSS), /proc/meminfo, the cgroup's
usage files (not cgroup.read_limits(), a dozen files); the process CPU from getrusage.
Settings (config or EDGEBENCH_PSUTIL_<KEY>): full_interval_s.
"""

import os
import re
import resource
import time
from typing import Any, Dict, List, Optional, Tuple

import psutil

from .. import cgroup
from .base import Monitor

MIB = float(1 << 20)


def process_memory(proc: "psutil.Process") -> Dict[str, float]:
    """RSS, PSS and USS in MiB (PSS/USS read smaps, so they cost more than RSS)."""
    info = proc.memory_full_info()
    return {"rss_mb": info.rss / MIB, "pss_mb": getattr(info, "pss", 0) / MIB, "uss_mb": info.uss / MIB}


def _own_cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


_MEMINFO = re.compile(r"^(MemTotal|MemAvailable|SwapTotal|SwapFree):\s+(\d+)", re.M)


def meminfo(text: str) -> Dict[str, int]:
    """/proc/meminfo as {key: bytes} for the four keys we use."""
    return {k: int(v) * 1024 for k, v in _MEMINFO.findall(text)}


def cpu_busy_total(stat_text: str) -> Tuple[int, int]:
    """(busy, total) jiffies from /proc/stat's first line; idle and iowait are not busy (as psutil counts)."""
    f = [int(v) for v in stat_text.split("\n", 1)[0].split()[1:]]
    total = sum(f[:8])  # user nice system idle iowait irq softirq steal (guest is inside user)
    return total - f[3] - (f[4] if len(f) > 4 else 0), total


class _Reader:
    """A file kept open and re-read from offset 0 (procfs, cgroupfs and sysfs regenerate on read)."""

    def __init__(self, path: str, size: int = 64) -> None:
        self.fd = os.open(path, os.O_RDONLY)
        self.size = size

    def read(self) -> str:
        return os.pread(self.fd, self.size, 0).decode("ascii", "replace")

    def close(self) -> None:
        os.close(self.fd)


def cgroup_usage_files(root: str = cgroup.CGROUP_ROOT) -> List[Tuple[str, str]]:
    """(key, path) of the files giving this process's cgroup memory and memory+swap (or swap) usage."""
    version, mdir = cgroup.memory_dir(root=root)
    if not mdir:
        return []
    if version == 1:
        names = [("cgroup_mem", "memory.usage_in_bytes"), ("cgroup_memsw", "memory.memsw.usage_in_bytes")]
    else:
        names = [("cgroup_mem", "memory.current"), ("cgroup_swap", "memory.swap.current")]
    return [(k, os.path.join(mdir, f)) for k, f in names if os.path.exists(os.path.join(mdir, f))]


class PsutilMonitor(Monitor):
    name = "psutil"

    def __init__(self, interval_s: float = 0.1, pid: Optional[int] = None,
                 config: Optional[Dict[str, Any]] = None) -> None:
        super().__init__(interval_s, pid, config)
        self.full_interval_s = float(self.setting("full_interval_s", 5.0))
        self.proc = psutil.Process(pid or os.getpid())
        self._own = self.proc.pid == os.getpid()
        self._page = os.sysconf("SC_PAGE_SIZE")
        self._last = (time.monotonic(), self._proc_cpu_s())
        self._next_full = 0.0
        linux = os.path.exists("/proc/stat")
        self._stat = _Reader("/proc/stat", 256) if linux else None
        self._statm = _Reader("/proc/%d/statm" % self.proc.pid, 128) if linux else None
        self._meminfo = _Reader("/proc/meminfo", 8192) if linux else None
        self._cg = [(k, _Reader(p)) for k, p in cgroup_usage_files()]
        self._sys_last = cpu_busy_total(self._stat.read()) if self._stat else None
        if self._stat is None:
            psutil.cpu_percent(None)

    def _proc_cpu_s(self) -> float:
        if self._own:
            return _own_cpu_s()
        t = self.proc.cpu_times()
        return t.user + t.system

    def sample(self) -> Dict[str, Any]:
        now, cpu = time.monotonic(), self._proc_cpu_s()
        dt = now - self._last[0]
        row: Dict[str, Any] = {
            # percent of one core, like psutil's Process.cpu_percent (may exceed 100)
            "proc_cpu_percent": 100.0 * (cpu - self._last[1]) / dt if dt > 0 else None,
            "sys_cpu_percent": self._sys_cpu_percent(),
            "rss_mb": (int(self._statm.read().split()[1]) * self._page if self._statm
                       else self.proc.memory_info().rss) / MIB,
        }
        self._last = (now, cpu)
        if self.full_interval_s > 0 and now >= self._next_full:
            full = process_memory(self.proc)
            row["pss_mb"] = full["pss_mb"]
            row["uss_mb"] = full["uss_mb"]
            self._next_full = now + self.full_interval_s
        row.update(self._system_memory())
        if self._cg:
            usage = {k: int(r.read().split()[0]) for k, r in self._cg}
            row["cgroup_mem_mb"] = usage["cgroup_mem"] / MIB if "cgroup_mem" in usage else None
            if "cgroup_memsw" in usage and "cgroup_mem" in usage:
                row["cgroup_swap_mb"] = max(0, usage["cgroup_memsw"] - usage["cgroup_mem"]) / MIB
            elif "cgroup_swap" in usage:
                row["cgroup_swap_mb"] = usage["cgroup_swap"] / MIB
        return row

    def _sys_cpu_percent(self) -> Optional[float]:
        """Busy share of all CPUs since the last sample, like psutil.cpu_percent(None)."""
        if self._stat is None or self._sys_last is None:
            return psutil.cpu_percent(None)
        busy, total = cpu_busy_total(self._stat.read())
        b0, t0 = self._sys_last
        self._sys_last = (busy, total)
        return 100.0 * (busy - b0) / (total - t0) if total > t0 else 0.0

    def _system_memory(self) -> Dict[str, float]:
        info = meminfo(self._meminfo.read()) if self._meminfo is not None else {}
        if len(info) == 4:
            return {"sys_mem_used_mb": (info["MemTotal"] - info["MemAvailable"]) / MIB,
                    "swap_used_mb": (info["SwapTotal"] - info["SwapFree"]) / MIB}
        vm, sw = psutil.virtual_memory(), psutil.swap_memory()
        return {"sys_mem_used_mb": (vm.total - vm.available) / MIB, "swap_used_mb": sw.used / MIB}

    def close(self) -> None:
        for r in [r for _, r in self._cg] + [self._meminfo, self._stat, self._statm]:
            if r is not None:
                r.close()
        self._cg, self._meminfo, self._stat, self._statm = [], None, None, None

    def aggregate(self) -> Dict[str, Any]:
        def col(key: str) -> List[float]:
            return [r[key] for r in self.samples if r.get(key) is not None]

        out: Dict[str, Any] = {}
        for key in ("rss_mb", "pss_mb", "uss_mb", "sys_mem_used_mb", "swap_used_mb", "cgroup_mem_mb",
                    "cgroup_swap_mb"):
            vals = col(key)
            out[key + "_max"] = max(vals) if vals else None
        for key in ("proc_cpu_percent", "sys_cpu_percent"):
            vals = col(key)
            out[key + "_mean"] = sum(vals) / len(vals) if vals else None
        out["full_interval_s"] = self.full_interval_s
        return out
