"""Bytes moved to and from each USB device (P3: an EdgeTPU's USB bandwidth), from the kernel's usbmon.

sysfs has no per-device byte counters, so bytes come from usbmon's text interface
(/sys/kernel/debug/usb/usbmon/<bus>u: needs root, debugfs and `modprobe usbmon`); sysfs gives the
inventory: vendor:product, names and link speed (480 = USB 2.0, 5000 = USB 3.0), which decides P3's
USB 2 vs 3 comparison. A reader thread keeps the usbmon pipe drained (the kernel queues only a few
pages of text events and drops the rest); the sampling thread snapshots the counters every interval
into one row per device. Completed transfers count with their actual length; isochronous ('Z')
events are counted as events only.
Settings (config or EDGEBENCH_USB_<KEY>): bus (usbmon bus, 0 = all, default 0); devices
("18d1:9302,1a6e:089a" to keep only these vendor:product ids; default all).
"""

import os
import threading
import time
from typing import Any, Dict, List, Optional, Tuple

from ..fsutil import read_text
from .base import Monitor, setting, thread_cpu_s

SYS_USB = "/sys/bus/usb/devices"
USBMON = "/sys/kernel/debug/usb/usbmon"


_read = read_text


def list_devices(root: str = SYS_USB) -> List[Dict[str, Any]]:
    """USB devices (not interfaces, not root hubs) with ids, names and link speed in Mbit/s."""
    out: List[Dict[str, Any]] = []
    if not os.path.isdir(root):
        return out
    for name in sorted(os.listdir(root)):
        if ":" in name or name.startswith("usb"):
            continue
        d = os.path.join(root, name)
        bus, dev = _read(os.path.join(d, "busnum")), _read(os.path.join(d, "devnum"))
        if bus is None or dev is None:
            continue
        speed = _read(os.path.join(d, "speed"))
        out.append({"path": name, "bus": int(bus), "dev": int(dev),
                    "id": "%s:%s" % (_read(os.path.join(d, "idVendor")), _read(os.path.join(d, "idProduct"))),
                    "manufacturer": _read(os.path.join(d, "manufacturer")),
                    "product": _read(os.path.join(d, "product")),
                    "speed_mbps": float(speed) if speed else None,
                    "usb_version": _read(os.path.join(d, "version"))})
    return out


def parse_usbmon(line: str) -> Optional[Tuple[int, int, str, int]]:
    """(bus, dev, 'in'|'out', bytes) for a completion line of usbmon's text format, else None.

    `URB-tag timestamp C Bi:1:005:2 0 31 = ...`: the length of a completion is the actual length.
    """
    words = line.split()
    if len(words) < 6 or words[2] != "C":
        return None
    addr = words[3].split(":")
    if len(addr) != 4 or len(addr[0]) != 2:
        return None
    kind, direction = addr[0][0], addr[0][1]
    try:
        bus, dev = int(addr[1]), int(addr[2])
        length = 0 if kind == "Z" else int(words[5])
    except ValueError:
        return None
    return bus, dev, ("in" if direction == "i" else "out"), length


class UsbMonitor(Monitor):
    name = "usb"

    def __init__(self, interval_s: float = 0.1, pid: Optional[int] = None,
                 config: Optional[Dict[str, Any]] = None) -> None:
        super().__init__(interval_s, pid, config)
        self.bus = int(self.setting("bus", 0))
        wanted = str(self.setting("devices", "")).lower()
        self.wanted = [w.strip() for w in wanted.split(",") if w.strip()]
        self.devices = [d for d in list_devices() if not self.wanted or d["id"] in self.wanted]
        self._ids = {(d["bus"], d["dev"]): d for d in self.devices}
        self._bytes: Dict[Tuple[int, int, str], int] = {}
        self._events = 0
        self._lock = threading.Lock()
        self._reader: Optional[threading.Thread] = None
        self._reader_cpu = 0.0
        self._prev: Dict[Tuple[int, int, str], Tuple[float, int]] = {}

    @classmethod
    def unavailable_reason(cls, config: Optional[Dict[str, Any]] = None) -> Optional[str]:
        bus = setting(cls.name, config, "bus", 0)
        if not os.path.isdir(SYS_USB):
            return "no USB bus here (%s missing)" % SYS_USB
        path = os.path.join(USBMON, "%du" % bus)
        if not os.path.exists(path):
            return ("no usbmon at %s (needs root, debugfs mounted at /sys/kernel/debug and `modprobe usbmon`; "
                    "in a container: --privileged or -v /sys/kernel/debug:/sys/kernel/debug)" % path)
        if not os.access(path, os.R_OK):
            return "no read permission on %s (usbmon is root-only)" % path
        return None

    def start(self) -> None:
        f = open(os.path.join(USBMON, "%du" % self.bus), "rb")  # noqa: SIM115 - the reader thread closes it
        self._reader = threading.Thread(target=self._read_events, args=(f,), name="edgebench-usbmon", daemon=True)
        self._reader.start()
        super().start()

    def _read_events(self, f: Any) -> None:
        start = thread_cpu_s()
        try:
            for raw in f:  # blocks until the next USB event
                if self._stop.is_set():
                    break
                hit = parse_usbmon(raw.decode("ascii", "replace"))
                if hit is None:
                    continue
                bus, dev, direction, n = hit
                with self._lock:
                    self._events += 1
                    key = (bus, dev, direction)
                    self._bytes[key] = self._bytes.get(key, 0) + n
                if self._events % 256 == 0:
                    self._reader_cpu = thread_cpu_s() - start
        finally:
            self._reader_cpu = thread_cpu_s() - start
            f.close()

    def sample(self) -> Dict[str, Any]:
        raise NotImplementedError  # _run records one row per device

    def _run(self) -> None:
        while True:
            now = time.monotonic()
            with self._lock:
                counts = dict(self._bytes)
            for (bus, dev), info in sorted(self._ids.items()):
                row: Dict[str, Any] = {"device": info["id"], "bus": bus, "dev": dev}
                for direction in ("in", "out"):
                    total = counts.get((bus, dev, direction), 0)
                    t0, b0 = self._prev.get((bus, dev, direction), (now, total))
                    row["usb_%s_bytes" % direction] = total
                    row["usb_%s_mbps" % direction] = (total - b0) * 8 / 1e6 / (now - t0) if now > t0 else None
                    self._prev[(bus, dev, direction)] = (now, total)
                self._record(row)
            if self._stop.wait(self.interval_s):
                break

    def close(self) -> None:
        # the reader may sit in read() until the next USB event; it is a daemon and exits with the run
        self.cpu_time_s += self._reader_cpu

    def aggregate(self) -> Dict[str, Any]:
        with self._lock:
            counts = dict(self._bytes)
        per = {}
        for (bus, dev), info in self._ids.items():
            per["%s@%d.%d" % (info["id"], bus, dev)] = {
                "in_bytes": counts.get((bus, dev, "in"), 0), "out_bytes": counts.get((bus, dev, "out"), 0),
                "speed_mbps": info["speed_mbps"], "product": info["product"]}
        return {"devices": per, "usbmon_events": self._events, "usbmon_bus": self.bus}
