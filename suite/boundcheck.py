"""Did the memory limit really bound the model? What the cgroup saw against what the device used.

On Jetson boards CPU and GPU share one memory, and GPU allocations (nvmap / CUDA unified memory) are
made by the kernel driver outside the process's memory cgroup: a model can use far more than its
limit while the cgroup shows little. So a run takes a snapshot before the model exists and one while
it is still loaded, and compares
  - what the memory cgroup was charged (usage, peak),
  - what the device used: RAM in use system-wide (tegrastats' RAM figure, else /proc/meminfo),
  - the process's own nvmap allocations (debugfs iovmm/clients, root and a mounted debugfs only).
Allocations the cgroup did not see ("escaped") make the verdict `bounded: False`.

Usage (harness): before = snapshot(); ... load, warm up, measure ...; check(before, snapshot(), placement)
"""

import os
import re
from typing import Any, Dict, Optional

from . import cgroup

MIB = 1 << 20
NVMAP_CLIENTS = ("/sys/kernel/debug/nvmap/iovmm/clients", "/sys/kernel/debug/nvmap/clients")
# Allocations below this much outside the cgroup are noise (driver bookkeeping, other processes).
_TOLERANCE_MIB = 8.0
_TOLERANCE_SHARE = 0.02
_RAM = re.compile(r"\bRAM (\d+)/(\d+)([kMG]?)B")
_UNITS = {"": 1, "k": 1 << 10, "M": 1 << 20, "G": 1 << 30}


def _read(path: str) -> Optional[str]:
    try:
        with open(path) as f:
            return f.read()
    except (OSError, UnicodeDecodeError):
        return None


def unified_memory() -> bool:
    """True on a Jetson (Tegra): CPU and GPU share the same RAM."""
    if _read("/etc/nv_tegra_release") is not None:
        return True
    model = (_read("/proc/device-tree/model") or "").lower()
    return "jetson" in model or "tegra" in model


def parse_tegrastats_ram(line: str) -> Optional[int]:
    """Bytes of RAM in use from one tegrastats line ('RAM 1409/3964MB (lfb 28x4MB) ...'), or None."""
    m = _RAM.search(line or "")
    if not m:
        return None
    return int(m.group(1)) * _UNITS[m.group(3)]


def parse_nvmap_clients(text: str, pid: Optional[int] = None) -> Dict[str, Optional[int]]:
    """The nvmap debugfs `clients` table: 'CLIENT PROCESS PID SIZE' rows ('  181536K'), then 'total'.

    Returns bytes for `pid` (all its clients summed; None when it has none) and the device total."""
    total = None
    mine = None
    for line in (text or "").splitlines():
        parts = line.split()
        if not parts or parts[0] == "CLIENT" or not parts[-1].endswith("K"):
            continue
        try:
            size = int(parts[-1][:-1]) * 1024
        except ValueError:
            continue
        if parts[0] == "total":
            total = size
        elif pid is not None and len(parts) >= 4 and parts[-2] == str(pid):
            mine = (mine or 0) + size
    return {"pid_bytes": mine, "total_bytes": total}


def meminfo_used() -> Optional[int]:
    """System RAM in use (MemTotal - MemAvailable), bytes. Inside a container this is the host's."""
    fields = {}
    for line in (_read("/proc/meminfo") or "").splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[1].isdigit():
            fields[parts[0].rstrip(":")] = int(parts[1]) * 1024
    if "MemTotal" not in fields or "MemAvailable" not in fields:
        return None
    return fields["MemTotal"] - fields["MemAvailable"]


def snapshot(pid: Optional[int] = None, tegrastats_line: Optional[str] = None) -> Dict[str, Any]:
    """What the cgroup and the device say now. `tegrastats_line`: the latest line a monitor read."""
    pid = pid or os.getpid()
    limits = cgroup.read_limits()
    snap = {
        "cgroup_limit_bytes": limits.get("memory_limit_bytes"),
        "cgroup_usage_bytes": limits.get("memory_usage_bytes"),
        "cgroup_peak_bytes": limits.get("memory_peak_bytes"),
        "cgroup_version": limits.get("cgroup_version"),
        "device_used_bytes": None,
        "device_source": None,
        "nvmap_pid_bytes": None,
        "nvmap_total_bytes": None,
    }  # type: Dict[str, Any]
    ram = parse_tegrastats_ram(tegrastats_line) if tegrastats_line else None
    if ram is not None:
        snap["device_used_bytes"], snap["device_source"] = ram, "tegrastats"
    else:
        snap["device_used_bytes"], snap["device_source"] = meminfo_used(), "meminfo"
    for path in NVMAP_CLIENTS:
        text = _read(path)
        if text is not None:
            nv = parse_nvmap_clients(text, pid)
            # A readable table without this pid means: no nvmap allocations of ours.
            snap["nvmap_pid_bytes"] = nv["pid_bytes"] or 0
            snap["nvmap_total_bytes"] = nv["total_bytes"]
            snap["nvmap_source"] = path
            break
    return snap


def _delta(after: Dict[str, Any], before: Dict[str, Any], key: str) -> Optional[int]:
    a, b = after.get(key), before.get(key)
    return None if a is None or b is None else a - b


def _mib(v: Optional[float]) -> Optional[float]:
    return None if v is None else round(v / float(MIB), 1)


def check(before: Dict[str, Any], after: Dict[str, Any], placement: str = "cpu",
          unified: Optional[bool] = None) -> Dict[str, Any]:
    """The verdict: {"bounded": True/False/None, "reason": ..., and the figures (MiB) it rests on}."""
    unified = unified_memory() if unified is None else unified
    limit = after.get("cgroup_limit_bytes")
    cg_delta = _delta(after, before, "cgroup_usage_bytes")
    dev_delta = _delta(after, before, "device_used_bytes")
    nv_delta = _delta(after, before, "nvmap_pid_bytes")
    if nv_delta is not None:
        escaped, how = max(0, nv_delta), "nvmap allocations of this process"
    elif unified and dev_delta is not None and cg_delta is not None:
        escaped, how = max(0, dev_delta - cg_delta), "device RAM growth beyond the cgroup's (%s)" % after.get(
            "device_source")
    else:
        escaped, how = None, ""
    out = {
        "unified_memory": unified, "placement": placement,
        "limit_mb": _mib(limit), "cgroup_delta_mb": _mib(cg_delta),
        "cgroup_peak_mb": _mib(after.get("cgroup_peak_bytes")),
        "device_delta_mb": _mib(dev_delta), "device_source": after.get("device_source"),
        "nvmap_delta_mb": _mib(nv_delta), "escaped_mb": _mib(escaped), "escaped_from": how or None,
        "cgroup_version": after.get("cgroup_version"),
    }  # type: Dict[str, Any]
    gpu = placement.split(":")[0] not in ("cpu", "")
    if limit is None:
        out["bounded"], out["reason"] = None, "no memory limit in force"
    elif not unified and gpu:
        out["bounded"] = False
        out["reason"] = "a discrete GPU's memory is outside every cgroup: the limit bounds host memory only"
    elif not unified:
        out["bounded"] = True
        out["reason"] = "no shared GPU memory here: every allocation of the run is charged to its cgroup"
    elif escaped is None:
        out["bounded"] = None
        out["reason"] = "unified memory, but neither nvmap nor device RAM could be read: cannot tell"
    else:
        tol = max(_TOLERANCE_MIB * MIB, _TOLERANCE_SHARE * limit)
        out["bounded"] = escaped <= tol
        peak = after.get("cgroup_peak_bytes") or 0
        out["total_used_mb"] = _mib(peak + escaped)
        if out["bounded"]:
            out["reason"] = "%.0f MiB outside the cgroup (%s): within noise" % (escaped / float(MIB), how)
        else:
            out["reason"] = ("%.0f MiB allocated outside the cgroup (%s); the model used about %.0f MiB against a "
                             "%.0f MiB limit" % (escaped / float(MIB), how, (peak + escaped) / float(MIB),
                                                 limit / float(MIB)))
    return out
