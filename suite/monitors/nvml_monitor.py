"""GPU utilisation, memory, power, clocks and temperature of a CUDA host's GPU via NVML (nvidia-ml-py).

Board power here is the GPU's own (nvmlDeviceGetPowerUsage), not the host's: energy figures from
this monitor are GPU energy. Where the driver supports it (Volta and newer) the GPU's energy
counter is read at start and stop too, so the aggregate holds a counter-based energy to check the
integrated samples against.
Settings (config or EDGEBENCH_NVML_<KEY>): index (GPU index, default 0).
Not verified on real hardware in this repository's CI (no GPU); see tests/unit/test_monitors_nvml.py.
"""

from typing import Any, Dict, Optional

from .base import Monitor, mean_max, setting

MIB = float(1 << 20)


def _init() -> Any:
    import pynvml  # from nvidia-ml-py
    pynvml.nvmlInit()
    return pynvml


class NvmlMonitor(Monitor):
    name = "nvml"

    def __init__(self, interval_s: float = 0.1, pid: Optional[int] = None,
                 config: Optional[Dict[str, Any]] = None) -> None:
        super().__init__(interval_s, pid, config)
        self.index = int(self.setting("index", 0))
        self.info: Dict[str, Any] = {}
        self._nv: Any = None
        self._h: Any = None
        self._energy0: Optional[int] = None

    @classmethod
    def unavailable_reason(cls, config: Optional[Dict[str, Any]] = None) -> Optional[str]:
        import pynvml  # noqa: F401 - ImportError becomes MonitorUnavailable in the registry
        index = setting(cls.name, config, "index", 0)
        try:
            nv = _init()
        except Exception as e:  # NVMLError_LibraryNotFound / DriverNotLoaded: no NVIDIA driver here
            return "NVML cannot start (no NVIDIA driver?): %s" % e
        try:
            count = nv.nvmlDeviceGetCount()
            if index >= count:
                return "GPU index %d asked for, NVML sees %d GPU(s)" % (index, count)
        finally:
            nv.nvmlShutdown()
        return None

    def start(self) -> None:
        nv = self._nv = _init()
        self._h = nv.nvmlDeviceGetHandleByIndex(self.index)
        name = nv.nvmlDeviceGetName(self._h)
        self.info = {"gpu_name": name.decode() if isinstance(name, bytes) else name,
                     "driver": _str(nv.nvmlSystemGetDriverVersion()), "gpu_index": self.index}
        self._energy0 = self._energy_mj()
        super().start()

    def _energy_mj(self) -> Optional[int]:
        try:
            return int(self._nv.nvmlDeviceGetTotalEnergyConsumption(self._h))
        except Exception:  # NVMLError_NotSupported before Volta
            return None

    def sample(self) -> Dict[str, Any]:
        nv, h = self._nv, self._h
        util = nv.nvmlDeviceGetUtilizationRates(h)
        mem = nv.nvmlDeviceGetMemoryInfo(h)
        row: Dict[str, Any] = {"gpu_util_percent": float(util.gpu), "gpu_mem_util_percent": float(util.memory),
                               "gpu_mem_used_mb": mem.used / MIB}
        try:
            row["power_w"] = nv.nvmlDeviceGetPowerUsage(h) / 1000.0  # mW
        except Exception:
            row["power_w"] = None
        row["gpu_freq_mhz"] = float(nv.nvmlDeviceGetClockInfo(h, nv.NVML_CLOCK_SM))
        row["temp_gpu_c"] = float(nv.nvmlDeviceGetTemperature(h, nv.NVML_TEMPERATURE_GPU))
        return row

    def close(self) -> None:
        if self._nv is None:
            return
        end = self._energy_mj()
        if end is not None and self._energy0 is not None:
            self.info["energy_counter_j"] = (end - self._energy0) / 1000.0
        try:
            reasons = self._nv.nvmlDeviceGetCurrentClocksEventReasons(self._h)
        except Exception:
            reasons = None
        self.info["clocks_event_reasons_end"] = reasons
        self._nv.nvmlShutdown()
        self._nv = None

    def aggregate(self) -> Dict[str, Any]:
        out = mean_max(self.samples, ["gpu_util_percent", "gpu_mem_used_mb", "gpu_freq_mhz", "temp_gpu_c"])
        out.update(self.info)
        out["power_source"] = "NVML GPU board power (GPU only)"
        return out


def _str(v: Any) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)
