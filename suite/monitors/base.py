"""The monitor interface: a thread with an Event; wait(interval), not sleep; stop() returns aggregates."""

import resource
import threading
import time
from typing import Any, Dict, List, Optional


class MonitorUnavailable(RuntimeError):
    """The monitor cannot run here (missing module, device or permission)."""


class Monitor:
    name = "base"

    def __init__(self, interval_s: float = 0.1, pid: Optional[int] = None) -> None:
        self.interval_s = interval_s
        self.pid = pid
        self.samples: List[Dict[str, Any]] = []
        self.cpu_time_s = 0.0  # this monitor's own thread CPU time
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self.error = ""

    @classmethod
    def unavailable_reason(cls) -> Optional[str]:
        return None

    def sample(self) -> Dict[str, Any]:
        raise NotImplementedError

    def aggregate(self) -> Dict[str, Any]:
        return {}

    def _loop(self) -> None:
        start = resource.getrusage(resource.RUSAGE_THREAD)
        try:
            while True:
                row = self.sample()
                row["t_mono"] = time.monotonic()
                row["t_wall"] = time.time()
                self.samples.append(row)
                if self._stop.wait(self.interval_s):
                    break
        except Exception as e:  # a monitor must never take the run down with it
            self.error = "%s: %s" % (type(e).__name__, e)
        end = resource.getrusage(resource.RUSAGE_THREAD)
        self.cpu_time_s = (end.ru_utime - start.ru_utime) + (end.ru_stime - start.ru_stime)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="edgebench-%s" % self.name, daemon=True)
        self._thread.start()

    def stop(self) -> Dict[str, Any]:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        agg = self.aggregate()
        agg.update({"samples": len(self.samples), "interval_s": self.interval_s,
                    "monitor_cpu_s": self.cpu_time_s})
        if self.error:
            agg["error"] = self.error
        return agg
