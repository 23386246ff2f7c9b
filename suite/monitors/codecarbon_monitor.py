"""An ENERGY ESTIMATE from CodeCarbon, for devices where nothing measures power (P5 reports kWh).

CodeCarbon models power: RAPL where the CPU exposes it, otherwise CPU load x a TDP table (or 4 W
per thread for an unknown CPU), plus a RAM model and NVML for NVIDIA GPUs. Every figure from this
monitor is labelled `power_estimate: true` with the model CodeCarbon chose (e.g. "CPU(Cpu Load)").
Offline mode only (no network on devices). CodeCarbon measures on its own timer threads every
`measure_s`; our thread copies its running figures each interval (through attributes that are not
public API in codecarbon 3.3; missing attributes leave power_w empty and keep the final kWh).
monitor_cpu_s counts our thread only, not CodeCarbon's timers (benchmarks/monitor_overhead.py
measures the whole cost).
Settings (config or EDGEBENCH_CODECARBON_<KEY>): measure_s (default 1.0), country (ISO3, default
USA: only the CO2 figure depends on it), tracking_mode (machine|process, default machine).
"""

from typing import Any, Dict, Optional

from .base import Monitor


def _watts(obj: Any, attr: str) -> Optional[float]:
    p = getattr(obj, attr, None)
    w = getattr(p, "W", None)
    return float(w) if isinstance(w, (int, float)) else None


class CodecarbonMonitor(Monitor):
    name = "codecarbon"

    def __init__(self, interval_s: float = 0.1, pid: Optional[int] = None,
                 config: Optional[Dict[str, Any]] = None) -> None:
        super().__init__(interval_s, pid, config)
        self.measure_s = float(self.setting("measure_s", 1.0))
        self.country = str(self.setting("country", "USA"))
        self.tracking_mode = str(self.setting("tracking_mode", "machine"))
        self.final: Dict[str, Any] = {}
        self._tracker: Any = None

    @classmethod
    def unavailable_reason(cls, config: Optional[Dict[str, Any]] = None) -> Optional[str]:
        import codecarbon  # noqa: F401 - ImportError becomes MonitorUnavailable in the registry
        return None

    def start(self) -> None:
        from codecarbon import OfflineEmissionsTracker
        self._tracker = OfflineEmissionsTracker(
            country_iso_code=self.country, measure_power_secs=self.measure_s, output_methods=[],
            log_level="error", tracking_mode=self.tracking_mode, allow_multiple_runs=True)
        self._tracker.start()
        super().start()

    def sample(self) -> Dict[str, Any]:
        t = self._tracker
        parts = [_watts(t, "_cpu_power"), _watts(t, "_ram_power"), _watts(t, "_gpu_power")]
        known = [p for p in parts if p is not None]
        energy = getattr(getattr(t, "_total_energy", None), "kWh", None)
        return {"power_w": sum(known) if known else None, "cpu_power_w": parts[0], "ram_power_w": parts[1],
                "gpu_power_w": parts[2], "energy_kwh": energy}

    def close(self) -> None:
        t = self._tracker
        if t is None:
            return
        self._tracker = None
        t.stop()
        d = getattr(t, "final_emissions_data", None)
        if d is None:
            return
        self.final = {"energy_kwh": d.energy_consumed, "energy_j": d.energy_consumed * 3.6e6,
                      "cpu_energy_kwh": d.cpu_energy, "ram_energy_kwh": d.ram_energy, "gpu_energy_kwh": d.gpu_energy,
                      "cpu_power_w": d.cpu_power, "ram_power_w": d.ram_power, "gpu_power_w": d.gpu_power,
                      "duration_s": d.duration, "cpu_model": d.cpu_model, "tracking_mode": d.tracking_mode,
                      "emissions_kg_co2eq": d.emissions, "country": self.country,
                      "models": [str(h) for h in getattr(t, "_hardware", [])]}

    def aggregate(self) -> Dict[str, Any]:
        out = dict(self.final)
        out["power_source"] = "codecarbon ESTIMATE (%s)" % ", ".join(out.get("models") or ["model unknown"])
        out["measure_s"] = self.measure_s
        return out
