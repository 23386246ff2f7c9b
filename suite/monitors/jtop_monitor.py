"""Jetson GPU/EMC utilisation, power rails, temperatures, nvpmodel and jetson_clocks via jetson-stats.

Needs the jtop service on the device and its socket in the container
(-v /run/jtop.sock:/run/jtop.sock). jtop pushes a reading each service interval; jtop.ok() blocks
until the next one, so the sampling rate is the service's, not ours (recorded as `jtop_interval_s`).
Readings are converted by row_from_jtop(), tested on a recorded jtop dump (tests/unit/).
"""

import os
from typing import Any, Dict, Optional

from .base import Monitor, mean_max

JTOP_SOCKET = "/run/jtop.sock"  # jtop.service.JTOP_PIPE in jetson-stats 4.x..7.x


def _num(v: Any) -> Optional[float]:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def row_from_jtop(stats: Dict[str, Any], power: Optional[Dict[str, Any]] = None,
                  gpu: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """jtop's `stats`, `power` and `gpu` properties as one flat row (W, MHz, %, deg C)."""
    row: Dict[str, Any] = {}
    cpus = [_num(v) for k, v in stats.items() if k.startswith("CPU") and k[3:].isdigit()]
    online = [c for c in cpus if c is not None]
    if cpus:
        row["cpu_count"], row["cpu_online"] = len(cpus), len(online)
        row["cpu_util_percent"] = sum(online) / len(online) if online else None
    if _num(stats.get("GPU")) is not None:
        row["gpu_util_percent"] = float(stats["GPU"])
    emc = _num(stats.get("EMC"))
    if emc is not None and 0 <= emc <= 100:  # jetson-stats 2.x put a memory size here
        row["emc_util_percent"] = emc
    ram = _num(stats.get("RAM"))
    if ram is not None and ram <= 1.0:  # jetson-stats >= 4 gives RAM as a used fraction
        row["ram_used_fraction"] = ram
    for key, value in stats.items():
        if key.startswith("Temp ") and _num(value) is not None and value != -256:
            row["temp_%s_c" % key[5:].lower().replace(" ", "_")] = float(value)
    rails = (power or {}).get("rail") or {}
    for name, rail in rails.items():
        if isinstance(rail, dict) and _num(rail.get("power")) is not None:
            row["rail_%s_w" % name] = rail["power"] / 1000.0
    tot = (power or {}).get("tot") or {}
    if _num(tot.get("power")) is not None:
        row["power_w"] = tot["power"] / 1000.0
    elif _num(stats.get("Power TOT")) is not None:
        row["power_w"] = stats["Power TOT"] / 1000.0
    elif _num(stats.get("power cur")) is not None:  # jetson-stats 2.x/3.x
        row["power_w"] = stats["power cur"] / 1000.0
    for g in (gpu or {}).values():
        freq = g.get("freq", {}) if isinstance(g, dict) else {}
        if _num(freq.get("cur")) is not None:
            row["gpu_freq_mhz"] = freq["cur"] / 1000.0  # kHz in jtop
        break
    return row


def power_source(power: Optional[Dict[str, Any]]) -> str:
    tot = (power or {}).get("tot") or {}
    name = tot.get("name")
    return "jtop %s" % name if name else "jtop total (sum of rails or tegrastats)"


class JtopMonitor(Monitor):
    name = "jtop"

    def __init__(self, interval_s: float = 0.1, pid: Optional[int] = None,
                 config: Optional[Dict[str, Any]] = None) -> None:
        super().__init__(interval_s, pid, config)
        self.info: Dict[str, Any] = {}
        self._jetson: Any = None

    @classmethod
    def unavailable_reason(cls, config: Optional[Dict[str, Any]] = None) -> Optional[str]:
        try:
            import jtop  # noqa: F401
        except ImportError:
            return "jetson-stats (module jtop) is not installed here: pip install jetson-stats in the image"
        if not os.path.exists(JTOP_SOCKET):
            return ("no jtop service socket at %s (install jetson-stats on the device and mount "
                    "-v %s:%s)" % (JTOP_SOCKET, JTOP_SOCKET, JTOP_SOCKET))
        return None

    def start(self) -> None:
        from jtop import jtop
        # jtop's service interval is shared by all clients; ask for ours, record what we got
        self._jetson = jtop(interval=max(self.interval_s, 0.1))
        self._jetson.start()
        self.info = _settings(self._jetson, "start")
        super().start()

    def _run(self) -> None:
        j = self._jetson
        while not self._stop.is_set() and j.ok():
            self._record(row_from_jtop(j.stats, j.power, j.gpu))
            self.info.setdefault("power_source", power_source(j.power))

    def close(self) -> None:
        if self._jetson is not None:
            self.info.update(_settings(self._jetson, "end"))
            self._jetson.close()
            self._jetson = None

    def aggregate(self) -> Dict[str, Any]:
        keys = ["gpu_util_percent", "emc_util_percent", "cpu_util_percent", "gpu_freq_mhz"]
        out: Dict[str, Any] = mean_max(self.samples, keys)
        out.update(self.info)
        return out


def _settings(j: Any, when: str) -> Dict[str, Any]:
    """nvpmodel, jetson_clocks and the service interval, as jtop reports them."""
    out: Dict[str, Any] = {}
    for key, attr in (("nvpmodel", "nvpmodel"), ("jetson_clocks", "jetson_clocks"), ("jtop_interval_s", "interval")):
        try:
            value = getattr(j, attr)
        except Exception as e:  # an attribute the board lacks must not stop the run
            value = "unavailable: %s" % e
        if key == "jetson_clocks" and value is not None and not isinstance(value, str):
            value = bool(value)  # jtop's JetsonClocks object is truthy when jetson_clocks is on
        out["%s_%s" % (key, when)] = value if isinstance(value, (int, float, str, type(None))) else str(value)
    return out
