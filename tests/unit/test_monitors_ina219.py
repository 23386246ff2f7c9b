"""The INA219 path through the real pi-ina219 library, on register values whose conversions pi-ina219's
own tests fix (github.com/chrisb2/pi_ina219 tests/test_read.py: bus 0x2592 = 4.808 V, current -0x4d52 =
-241.4 mA, power 0x1ea9 = 1914 mW, shunt 0x7d0 = 20 mV, all with a 0.1 ohm shunt and 0.4 A expected).
There is no I2C bus here, so the boundary is the I2C device object pi-ina219 gets from
Adafruit_GPIO.I2C.get_i2c_device: a register file that answers like the chip."""

from typing import Any

import pytest
from edgebench.suite import monitors

from tests.conftest import has_module, need


@pytest.fixture(autouse=True)
def _pi_ina219() -> None:
    need(has_module("ina219") and has_module("Adafruit_GPIO"), "pi-ina219 (pip install pi-ina219==1.4.1)")


class Registers:
    """An INA219 on the bus: 16-bit big-endian registers; writes land, reads return what is held."""

    def __init__(self, regs: dict[int, int], opened: list[Any], address: int, busnum: int) -> None:
        self.regs = dict(regs)
        opened.append((address, busnum, self))

    def writeList(self, register: int, data: list[int]) -> None:  # noqa: N802 - Adafruit_GPIO's name
        self.regs[register] = (data[0] << 8) | data[1]

    def readU16BE(self, register: int) -> int:  # noqa: N802
        return self.regs.get(register, 0) & 0xFFFF

    def readS16BE(self, register: int) -> int:  # noqa: N802
        v = self.regs.get(register, 0) & 0xFFFF
        return v - 0x10000 if v & 0x8000 else v


RECORDED = {0x01: 0x7D0, 0x02: 0x2592, 0x03: 0x1EA9, 0x04: (-0x4D52) & 0xFFFF}


@pytest.fixture
def bus(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    import Adafruit_GPIO.I2C as I2C

    opened: list[Any] = []
    monkeypatch.setattr(I2C, "get_i2c_device", lambda address, busnum=None, **kw: Registers(RECORDED, opened,
                                                                                            address, busnum))
    return opened


def test_register_values_become_volts_amps_watts(bus: list[Any]) -> None:
    from edgebench.suite.monitors.ina219_monitor import ina_settings, open_sensor, read_sensor

    ina = open_sensor(ina_settings({"max_amps": 0.4}))
    r = read_sensor(ina)
    assert r["bus_v"] == pytest.approx(4.808)
    assert r["current_a"] == pytest.approx(-0.2414, abs=1e-4)
    assert r["power_w"] == pytest.approx(1.914, abs=1e-3)
    assert r["shunt_mv"] == pytest.approx(20.0)
    assert r["supply_v"] == pytest.approx(4.828)
    address, busnum, dev = bus[0]
    assert (address, busnum) == (0x40, 1)  # defaults: the Pi header's bus, the breakout's address
    assert dev.regs[0x05] != 0  # calibration register written before reading


def test_bus_address_and_shunt_come_from_config_or_environment(bus: list[Any],
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from edgebench.suite.monitors.ina219_monitor import Ina219Monitor

    monkeypatch.setenv("EDGEBENCH_INA219_ADDRESS", "0x41")
    monkeypatch.setenv("EDGEBENCH_INA219_BUS", "3")
    mon = Ina219Monitor(0.05, config={"shunt_ohms": 0.05, "max_amps": 0.8})
    assert mon.settings["address"] == 0x41 and mon.settings["bus"] == 3 and mon.settings["shunt_ohms"] == 0.05
    mon.start()
    mon._stop.wait(0.2)
    agg = mon.stop()
    assert bus[0][:2] == (0x41, 3)
    assert agg["samples"] >= 2 and agg["power_estimate"] is False
    assert "address 0x41" in agg["power_source"] and "shunt 0.05 ohm" in agg["power_source"]
    # 0.05 ohm halves the current LSB's resistance: same power register, the library rescales
    assert all(row["power_w"] is not None for row in mon.samples)


def test_current_overflow_is_marked_not_guessed(monkeypatch: pytest.MonkeyPatch) -> None:
    import Adafruit_GPIO.I2C as I2C
    from edgebench.suite.monitors.ina219_monitor import ina_settings, open_sensor, read_sensor

    opened: list[Any] = []
    overflow = {**RECORDED, 0x02: 0xFA1}  # OVF bit set on every read: past even the 320 mV gain
    monkeypatch.setattr(I2C, "get_i2c_device", lambda address, busnum=None, **kw: Registers(overflow, opened,
                                                                                            address, busnum))
    r = read_sensor(open_sensor(ina_settings({"max_amps": 0.4})))
    assert r["overflow"] is True and "power_w" not in r


def test_missing_bus_or_bad_address_is_a_clear_reason() -> None:
    reason = monitors.probe("ina219", {"bus": 97})
    assert reason is not None and "/dev/i2c-97" in reason
    assert "not valid" in (monitors.probe("ina219", {"bus": "one"}) or "")
