"""Board power from an external INA219 on I2C (Pi, Odroid, Coral: boards without on-board sensors), via pi-ina219.

The INA219 sits in the board's supply line; bus voltage x current is the board's power.
Settings (config dict, or EDGEBENCH_INA219_<KEY> in the environment):
  bus         I2C bus number, /dev/i2c-<bus>           (default 1, the Pi header's bus)
  address     I2C address, "0x40".."0x4f" or an int    (default 0x40)
  shunt_ohms  shunt resistance in ohms                 (default 0.1, the Adafruit breakout's)
  max_amps    largest current expected, in A           (default: none, pi-ina219 picks the gain itself)
  voltage_range  16 or 32 V bus range                  (default 32)
The container needs the device: --device /dev/i2c-1.
"""

import os
from typing import Any, Dict, Optional

from .base import Monitor, mean_max, setting


def ina_settings(config: Optional[Dict[str, Any]]) -> Dict[str, Any]:
    max_amps = setting("ina219", config, "max_amps", None, float)
    return {"bus": setting("ina219", config, "bus", 1), "address": setting("ina219", config, "address", 0x40),
            "shunt_ohms": setting("ina219", config, "shunt_ohms", 0.1), "max_amps": max_amps,
            "voltage_range": setting("ina219", config, "voltage_range", 32)}


def open_sensor(s: Dict[str, Any]) -> Any:
    """A configured pi-ina219 INA219 object (continuous shunt+bus conversion, 12-bit)."""
    from ina219 import INA219
    ina = INA219(s["shunt_ohms"], s["max_amps"], busnum=s["bus"], address=s["address"])
    ina.configure(voltage_range=INA219.RANGE_16V if s["voltage_range"] == 16 else INA219.RANGE_32V)
    return ina


def read_sensor(ina: Any) -> Dict[str, Any]:
    """Bus voltage, current and power; the power register is the chip's own V x I product."""
    from ina219 import DeviceRangeError
    try:
        bus_v = ina.voltage()
        current_ma = ina.current()
        power_mw = ina.power()
        shunt_mv = ina.shunt_voltage()
    except DeviceRangeError as e:  # current beyond the gain even after auto-gain: mark, do not guess
        return {"overflow": True, "error": str(e)}
    return {"bus_v": bus_v, "current_a": current_ma / 1000.0, "power_w": power_mw / 1000.0,
            "shunt_mv": shunt_mv, "supply_v": bus_v + shunt_mv / 1000.0}


class Ina219Monitor(Monitor):
    name = "ina219"

    def __init__(self, interval_s: float = 0.1, pid: Optional[int] = None,
                 config: Optional[Dict[str, Any]] = None) -> None:
        super().__init__(interval_s, pid, config)
        self.settings = ina_settings(self.config)
        self._ina: Any = None

    @classmethod
    def unavailable_reason(cls, config: Optional[Dict[str, Any]] = None) -> Optional[str]:
        import ina219  # noqa: F401 - ImportError becomes MonitorUnavailable in the registry
        s = ina_settings(config)
        dev = "/dev/i2c-%d" % s["bus"]
        if not os.path.exists(dev):
            return "no I2C bus %s (enable I2C, pass --device %s, or set EDGEBENCH_INA219_BUS)" % (dev, dev)
        if not os.access(dev, os.R_OK | os.W_OK):
            return "no read/write permission on %s (add the i2c group or run as root)" % dev
        if not 0x40 <= s["address"] <= 0x4F:
            return "INA219 address 0x%02x is outside 0x40..0x4f" % s["address"]
        return None

    def start(self) -> None:
        self._ina = open_sensor(self.settings)  # an absent chip fails here, before the model loads
        super().start()

    def sample(self) -> Dict[str, Any]:
        return read_sensor(self._ina)

    def close(self) -> None:
        self._ina = None

    def aggregate(self) -> Dict[str, Any]:
        out = mean_max(self.samples, ["bus_v", "current_a"])
        s = self.settings
        out["power_source"] = "INA219 bus %d address 0x%02x shunt %g ohm" % (s["bus"], s["address"], s["shunt_ohms"])
        out["ina219"] = dict(s)
        out["overflows"] = sum(1 for r in self.samples if r.get("overflow"))
        return out
