"""The monitor interface: a thread with an Event; wait(interval), not sleep; stop() returns aggregates.

Rows are flat dicts (one JSON line each in monitor.jsonl) stamped with t_mono/t_wall. Monitors that
measure power write `power_w` (the board total they integrate to energy) and `rail_<NAME>_w` per rail;
their aggregate carries `power_source` and `power_estimate` so reports can label estimates.

Settings: each monitor reads its options from the config dict it is given (the matrix/spec), then
from the environment as EDGEBENCH_<MONITOR>_<KEY> (e.g. EDGEBENCH_INA219_ADDRESS=0x41), then defaults.
"""

import os
import resource
import threading
import time
from typing import Any, Callable, Dict, List, Optional

from .. import registry


class MonitorUnavailable(RuntimeError):
    """The monitor cannot run here (missing module, device or permission)."""


def setting(monitor: str, config: Optional[Dict[str, Any]], key: str, default: Any,
            cast: Optional[Callable[[Any], Any]] = None) -> Any:
    """config[key], else $EDGEBENCH_<MONITOR>_<KEY>, else default; cast to the default's type."""
    if config and config.get(key) is not None:
        value = config[key]
    else:
        env = os.environ.get("EDGEBENCH_%s_%s" % (monitor.upper(), key.upper()))
        if env is None or env == "":
            return default
        value = env
    try:
        return _cast(value, cast, default)
    except (TypeError, ValueError) as e:
        raise MonitorUnavailable("monitor %r: setting %r=%r is not valid (%s)" % (monitor, key, value, e)) from e


def _cast(value: Any, cast: Optional[Callable[[Any], Any]], default: Any) -> Any:
    if cast is not None:
        return cast(value)
    if isinstance(default, bool):
        if isinstance(value, str):
            if value.strip().lower() in ("1", "true", "yes", "on"):
                return True
            if value.strip().lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError("expected a boolean")
        return bool(value)
    if isinstance(default, int):
        return int(value, 0) if isinstance(value, str) else int(value)  # "0x41" works
    if isinstance(default, float):
        return float(value)
    return value


def thread_cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_THREAD)
    return r.ru_utime + r.ru_stime


class Monitor:
    name = "base"
    measures_power = False  # writes power_w rows; set from suite/registry.py for each monitor
    power_estimate = False  # power_w is a model's estimate, not a measurement; from the registry too

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        info = registry.MONITORS.get(cls.name)
        if info is not None:  # what a monitor measures is declared once, in the registry
            cls.measures_power, cls.power_estimate = info.power, info.estimate

    def __init__(self, interval_s: float = 0.1, pid: Optional[int] = None,
                 config: Optional[Dict[str, Any]] = None) -> None:
        self.interval_s = interval_s
        self.pid = pid
        self.config: Dict[str, Any] = dict(config or {})
        self.samples: List[Dict[str, Any]] = []
        self.cpu_time_s = 0.0  # this monitor's own thread CPU time (plus helper processes it started)
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self.error = ""

    @classmethod
    def unavailable_reason(cls, config: Optional[Dict[str, Any]] = None) -> Optional[str]:
        """None when this monitor can run here, else a one-line reason. Cheap: no sampling."""
        return None

    def setting(self, key: str, default: Any, cast: Optional[Callable[[Any], Any]] = None) -> Any:
        return setting(self.name, self.config, key, default, cast)

    def sample(self) -> Dict[str, Any]:
        raise NotImplementedError

    def aggregate(self) -> Dict[str, Any]:
        return {}

    def _record(self, row: Dict[str, Any]) -> None:
        row["t_mono"] = time.monotonic()
        row["t_wall"] = time.time()
        self.samples.append(row)

    def _run(self) -> None:
        """The sampling loop; monitors that read a stream (tegrastats, jtop) override this."""
        while True:
            self._record(self.sample())
            if self._stop.wait(self.interval_s):
                self._record(self.sample())  # a closing sample, so the stream covers the last phase's end
                break

    def _loop(self) -> None:
        start = thread_cpu_s()
        try:
            self._run()
        except Exception as e:  # a monitor must never take the run down with it
            self.error = "%s: %s" % (type(e).__name__, e)
        self.cpu_time_s += thread_cpu_s() - start

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="edgebench-%s" % self.name, daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Release what start() opened (a child process, a device); called after the thread ends."""

    def stop(self) -> Dict[str, Any]:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        try:
            self.close()
        except Exception as e:  # closing must not lose the samples
            self.error = self.error or "close: %s: %s" % (type(e).__name__, e)
        agg = self.aggregate()
        agg.update({"samples": len(self.samples), "interval_s": self.interval_s,
                    "monitor_cpu_s": self.cpu_time_s})
        if self.measures_power:
            agg.setdefault("power_estimate", self.power_estimate)
            agg.update(power_summary(self.samples))
        if self.error:
            agg["error"] = self.error
        return agg


def power_summary(rows: List[Dict[str, Any]]) -> Dict[str, Any]:
    """Mean and max of power_w over the rows (time-weighted energy is cli/analysis/energy.py's job)."""
    vals = [r["power_w"] for r in rows if r.get("power_w") is not None]
    if not vals:
        return {"power_w_mean": None, "power_w_max": None}
    return {"power_w_mean": sum(vals) / len(vals), "power_w_max": max(vals)}


def mean_max(rows: List[Dict[str, Any]], keys: List[str]) -> Dict[str, Any]:
    """key_mean and key_max for each key present in the rows."""
    out: Dict[str, Any] = {}
    for key in keys:
        vals = [r[key] for r in rows if r.get(key) is not None]
        if vals:
            out[key + "_mean"] = sum(vals) / len(vals)
            out[key + "_max"] = max(vals)
    return out
