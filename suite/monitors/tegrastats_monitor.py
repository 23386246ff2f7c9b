"""Jetson utilisation and power from `tegrastats --interval MS`, for images without the jtop service.

The line format differs across L4T releases (see tests/unit/test_monitors_tegrastats.py for
recordings from TX1/TX2/Nano/AGX Xavier/Xavier NX/Orin, L4T 28 to 36): CPU lists with per-core or
shared frequency, `EMC_FREQ`/`EMC`, `GR3D_FREQ 0%@[305,305]`, rails as `NAME cur/avg` in mW with or
without the `mW` suffix, an optional date prefix. Unknown fields are ignored, never fatal.

Total board power: VDD_IN (TX1/TX2/Xavier NX/Orin NX/Nano), POM_5V_IN (Nano), else the sum of all
rails (AGX Xavier, AGX Orin), as jetson-stats does; the aggregate says which.
Settings (config or EDGEBENCH_TEGRASTATS_<KEY>): path (default: tegrastats on PATH or /usr/bin).
"""

import os
import re
import shutil
import subprocess
from typing import Any, Dict, List, Optional, Tuple

from .base import Monitor, mean_max

_CPU = re.compile(r"\b(?:CPU|cpu) \[([^\]]*)\](?:@(\d+))?")
_RAM = re.compile(r"\bRAM (\d+)/(\d+)MB")
_SWAP = re.compile(r"\bSWAP (\d+)/(\d+)MB")
_EMC = re.compile(r"\bEMC(?:_FREQ)? (\d+)%(?:@(\d+))?")
_GPU = re.compile(r"\bGR3D(?:_FREQ)? (\d+)%(?:@\[?([\d,]+)\]?)?")
_TEMP = re.compile(r"(?:^|\s)([A-Za-z][\w-]*)@(-?\d+(?:\.\d+)?)C(?=\s|$)")
_RAIL = re.compile(r"(?:^|\s)([A-Z][A-Z0-9_]*) (\d+)(?:mW)?/(\d+)(?:mW)?(?=\s|$)")
TOTAL_RAILS = ("VDD_IN", "POM_5V_IN")
OFFLINE_TEMP = -256.0  # what a disconnected thermal zone reads


def _percent_at(item: str) -> Tuple[Optional[float], Optional[int]]:
    """'12%@1479' -> (12, 1479); '12%' -> (12, None); 'off' -> (None, None)."""
    util, _, freq = item.strip().partition("@")
    if not util.endswith("%"):
        return None, None
    return float(util[:-1]), (int(freq) if freq.isdigit() else None)


def parse(line: str) -> Dict[str, Any]:
    """One tegrastats line as a flat dict; rails in W under `rails_w`, total in `power_w`."""
    out: Dict[str, Any] = {}
    m = _RAM.search(line)
    if m:
        out["ram_used_mb"], out["ram_total_mb"] = float(m.group(1)), float(m.group(2))
    m = _SWAP.search(line)
    if m:
        out["swap_used_mb"], out["swap_total_mb"] = float(m.group(1)), float(m.group(2))
    m = _CPU.search(line)
    if m:
        cores = [_percent_at(c) for c in m.group(1).split(",")]
        online = [u for u, _ in cores if u is not None]
        freqs = [f for _, f in cores if f is not None] + ([int(m.group(2))] if m.group(2) else [])
        out["cpu_count"], out["cpu_online"] = len(cores), len(online)
        out["cpu_util_percent"] = sum(online) / len(online) if online else None
        out["cpu_freq_mhz_max"] = float(max(freqs)) if freqs else None
    m = _EMC.search(line)
    if m:
        out["emc_util_percent"] = float(m.group(1))
        out["emc_freq_mhz"] = float(m.group(2)) if m.group(2) else None
    m = _GPU.search(line)
    if m:
        out["gpu_util_percent"] = float(m.group(1))
        freqs = [int(f) for f in (m.group(2) or "").split(",") if f]
        out["gpu_freq_mhz"] = float(max(freqs)) if freqs else None
    for name, value in _TEMP.findall(line):
        if float(value) != OFFLINE_TEMP:
            out["temp_%s_c" % name.lower()] = float(value)
    rails: Dict[str, float] = {}
    for name, cur, _avg in _RAIL.findall(line):
        if name == "NC":  # not connected (AGX Orin prints two of them)
            continue
        rails[name] = int(cur) / 1000.0
    if rails:
        out["rails_w"] = rails
        total, how = total_power(rails)
        out["power_w"], out["power_total"] = total, how
    return out


def total_power(rails: Dict[str, float]) -> Tuple[float, str]:
    """The board total and how it was found: an input rail when there is one, else the sum."""
    for name in TOTAL_RAILS:
        if name in rails:
            return rails[name], name
    return sum(rails.values()), "sum of rails " + "+".join(sorted(rails))


def flatten(parsed: Dict[str, Any]) -> Dict[str, Any]:
    """parse() output as a monitor.jsonl row: rails become rail_<NAME>_w columns."""
    row = {k: v for k, v in parsed.items() if k not in ("rails_w", "power_total")}
    for name, watts in parsed.get("rails_w", {}).items():
        row["rail_%s_w" % name] = watts
    return row


def find_tegrastats(path: str = "") -> Optional[str]:
    if path:
        return path if os.access(path, os.X_OK) else None
    return shutil.which("tegrastats") or ("/usr/bin/tegrastats" if os.access("/usr/bin/tegrastats", os.X_OK)
                                          else None)


class TegrastatsMonitor(Monitor):
    name = "tegrastats"

    def __init__(self, interval_s: float = 0.1, pid: Optional[int] = None,
                 config: Optional[Dict[str, Any]] = None) -> None:
        super().__init__(interval_s, pid, config)
        self.path = find_tegrastats(self.setting("path", "")) or "tegrastats"
        self.power_total = ""
        self.unparsed = 0
        self._proc: Optional["subprocess.Popen[bytes]"] = None

    @classmethod
    def unavailable_reason(cls, config: Optional[Dict[str, Any]] = None) -> Optional[str]:
        from .base import setting
        path = setting(cls.name, config, "path", "")
        if find_tegrastats(path) is None:
            return ("no tegrastats executable (%s); mount it from the Jetson host, e.g. "
                    "-v /usr/bin/tegrastats:/usr/bin/tegrastats:ro" % (path or "not on PATH nor /usr/bin"))
        return None

    def command(self) -> List[str]:
        # tegrastats takes whole milliseconds; below ~10 ms it only burns CPU
        return [self.path, "--interval", str(max(10, int(round(self.interval_s * 1000))))]

    def start(self) -> None:
        self._proc = subprocess.Popen(self.command(), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                      stdin=subprocess.DEVNULL)
        super().start()

    def _run(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        for raw in self._proc.stdout:  # ends when close() kills the process
            if self._stop.is_set():
                break
            parsed = parse(raw.decode("utf-8", "replace"))
            if not parsed:
                self.unparsed += 1
                continue
            self.power_total = parsed.get("power_total", self.power_total)
            self._record(flatten(parsed))

    def stop(self) -> Dict[str, Any]:
        self._stop.set()
        self._kill()  # unblocks the reader, whose next line may be an interval away
        return super().stop()

    def _kill(self) -> None:
        proc = self._proc
        if proc is None or proc.poll() is not None:
            return
        self.cpu_time_s += _child_cpu_s(proc.pid)
        proc.terminate()
        try:
            proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def close(self) -> None:
        self._kill()
        if self._proc is not None and self._proc.stdout is not None:
            self._proc.stdout.close()

    def aggregate(self) -> Dict[str, Any]:
        keys = ["gpu_util_percent", "emc_util_percent", "cpu_util_percent", "ram_used_mb", "swap_used_mb"]
        out = mean_max(self.samples, keys)
        out.update({"power_source": "tegrastats %s" % (self.power_total or "(no rails)"),
                    "unparsed_lines": self.unparsed, "command": " ".join(self.command())})
        return out


def _child_cpu_s(pid: int) -> float:
    """CPU seconds a running child has used, from /proc/PID/stat (fields 14 and 15, in clock ticks)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / float(os.sysconf("SC_CLK_TCK"))
    except (OSError, IndexError, ValueError):
        return 0.0
