"""CPU and memory of the benchmark process and of the system, from psutil."""

import os
from typing import Any, Dict, List, Optional

import psutil

from .. import cgroup
from .base import Monitor

MIB = float(1 << 20)


def process_memory(proc: "psutil.Process") -> Dict[str, float]:
    """RSS, PSS and USS in MiB (PSS/USS read smaps, so they cost more than RSS)."""
    info = proc.memory_full_info()
    return {"rss_mb": info.rss / MIB, "pss_mb": getattr(info, "pss", 0) / MIB, "uss_mb": info.uss / MIB}


class PsutilMonitor(Monitor):
    name = "psutil"
    # PSS/USS walk the whole address space; sample them every Nth tick only.
    full_every = 5

    def __init__(self, interval_s: float = 0.1, pid: Optional[int] = None) -> None:
        super().__init__(interval_s, pid)
        self.proc = psutil.Process(pid or os.getpid())
        self.proc.cpu_percent(None)
        psutil.cpu_percent(None)
        self._tick = 0
        _, self._mdir = cgroup.memory_dir()

    def sample(self) -> Dict[str, Any]:
        row: Dict[str, Any] = {
            "proc_cpu_percent": self.proc.cpu_percent(None),
            "sys_cpu_percent": psutil.cpu_percent(None),
            "rss_mb": self.proc.memory_info().rss / MIB,
        }
        if self._tick % self.full_every == 0:
            full = process_memory(self.proc)
            row["pss_mb"] = full["pss_mb"]
            row["uss_mb"] = full["uss_mb"]
        self._tick += 1
        vm = psutil.virtual_memory()
        sw = psutil.swap_memory()
        row["sys_mem_used_mb"] = (vm.total - vm.available) / MIB
        row["swap_used_mb"] = sw.used / MIB
        if self._mdir:
            lim = cgroup.read_limits()
            row["cgroup_mem_mb"] = cgroup.mib(lim.get("memory_usage_bytes"))
            row["cgroup_swap_mb"] = cgroup.mib(lim.get("swap_usage_bytes"))
        return row

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
        return out
