"""The environment of a run: software versions, kernel, CPU, memory, and the limits in force."""

import glob
import os
import platform
import socket
import sys
import time
from typing import Any, Dict, Optional

import numpy as np
import psutil

from . import __version__, cgroup, probes
from .fsutil import read_text

_ENV_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "OPENBLAS_CORETYPE",
             "CUDA_VISIBLE_DEVICES", "EDGEBENCH_IMAGE", "EDGEBENCH_IMAGE_DIGEST", "EDGEBENCH_DEVICE")


_read = read_text


def cpu_model() -> str:
    text = _read("/proc/cpuinfo") or ""
    for key in ("model name", "Hardware", "Model", "cpu model"):
        for line in text.splitlines():
            if line.startswith(key) and ":" in line:
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def governors() -> Dict[str, Any]:
    govs = {}
    freqs = {}
    for path in sorted(glob.glob("/sys/devices/system/cpu/cpu[0-9]*/cpufreq")):
        cpu = path.split("/")[-2]
        gov = _read(os.path.join(path, "scaling_governor"))
        if gov:
            govs[cpu] = gov
        cur = _read(os.path.join(path, "scaling_cur_freq"))
        if cur:
            freqs[cpu] = int(cur)
    distinct = sorted(set(govs.values()))
    return {"cpu_governor": distinct[0] if len(distinct) == 1 else (distinct or None),
            "cpu_governors": govs or None, "cpu_freq_khz": freqs or None}


def capture(runtime_versions: Optional[Dict[str, str]] = None) -> Dict[str, Any]:
    """Everything a reader needs to know where a number came from. Cheap: read once per phase."""
    vm = psutil.virtual_memory()
    sw = psutil.swap_memory()
    limits = cgroup.read_limits()
    env = {
        "time_wall": time.time(),
        "edgebench_version": __version__,
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "python_executable": sys.executable,
        "numpy": np.__version__,
        "psutil": psutil.__version__,
        "runtime": runtime_versions or {},
        "kernel": platform.release(),
        "os": platform.platform(),
        "machine": platform.machine(),
        "hostname": socket.gethostname(),
        "cpu_model": cpu_model(),
        "cpu_count_logical": psutil.cpu_count(logical=True),
        "cpu_count_physical": psutil.cpu_count(logical=False),
        "cpu_affinity": sorted(psutil.Process().cpu_affinity()) if hasattr(psutil.Process, "cpu_affinity") else None,
        "memory_total_bytes": vm.total,
        "memory_available_bytes": vm.available,
        "swap_total_bytes": sw.total,
        "swap_used_bytes": sw.used,
        "cgroup": limits,
        "in_container": os.path.exists("/.dockerenv") or os.path.exists("/run/.containerenv"),
        "device_tree_model": _read("/proc/device-tree/model"),
        "nv_tegra_release": _read("/etc/nv_tegra_release"),
        "env_vars": {k: os.environ[k] for k in _ENV_VARS if k in os.environ},
    }
    env.update(governors())
    # power mode, clocks, temperatures, throttle state: compared start vs end by probes.verdict()
    try:
        env["probes"] = probes.snapshot()
    except Exception as e:  # a probe must never cost the run its environment record
        env["probes"] = {"error": "%s: %s" % (type(e).__name__, e)}
    return env
