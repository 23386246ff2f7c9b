"""jtop readings to monitor rows, on real jtop dumps (tests/data/recordings/jtop.json names each source:
an Orin Nano on JetPack 6.2 with jetson-stats >= 4, and a Xavier under jetson-stats 2.x). The jtop
service cannot run here (no Jetson), so the monitor's loop is driven by a client that replays the
recorded reading, with jtop's attribute names (stats, power, gpu, nvpmodel, jetson_clocks, interval)."""

import json
import sys
import types
from pathlib import Path
from typing import Any

import pytest
from edgebench.suite import monitors
from edgebench.suite.monitors.jtop_monitor import JtopMonitor, power_source, row_from_jtop

from tests.conftest import has_module

REC = json.loads((Path(__file__).resolve().parent.parent / "data" / "recordings" / "jtop.json").read_text())
ORIN = REC["orin_nano_jp62"]


def test_orin_nano_reading_becomes_a_row() -> None:
    row = row_from_jtop(ORIN["stats"], ORIN["power"], ORIN["gpu"])
    assert row["power_w"] == pytest.approx(5.133)  # power['tot'] is VDD_IN, the module input
    assert row["rail_VDD_CPU_GPU_CV_w"] == pytest.approx(1.064) and row["rail_VDD_SOC_w"] == pytest.approx(1.540)
    assert row["gpu_util_percent"] == 4.8 and row["gpu_freq_mhz"] == 306.0  # jtop gives kHz
    assert (row["cpu_online"], row["cpu_count"]) == (6, 6)
    assert row["cpu_util_percent"] == pytest.approx((18 + 39 + 9 + 9 + 5 + 3) / 6)
    assert row["emc_util_percent"] == 0 and row["ram_used_fraction"] == pytest.approx(0.4574, abs=1e-4)
    assert row["temp_cpu_c"] == 46.062 and row["temp_tj_c"] == 47.906
    assert "temp_cv0_c" not in row  # -256: offline sensor
    assert power_source(ORIN["power"]) == "jtop VDD_IN"


def test_old_jetson_stats_reading_uses_power_cur_and_ignores_sizes() -> None:
    old = REC["xavier_jetson_stats_2x"]["stats"]
    row = row_from_jtop(old)
    assert row["power_w"] == pytest.approx(4.859)
    assert (row["cpu_online"], row["cpu_count"]) == (8, 8) and row["cpu_util_percent"] == pytest.approx(43 / 8)
    assert "emc_util_percent" not in row and "ram_used_fraction" not in row  # sizes in KB there, not shares
    assert row["temp_tdiode_c"] == 49.25


class Replay:
    """jtop's client API, replaying one recorded reading `n` times."""

    def __init__(self, interval: float = 1.0, n: int = 3) -> None:
        self.asked_interval = interval
        self.left = n
        self.stats, self.power, self.gpu = ORIN["stats"], ORIN["power"], ORIN["gpu"]
        self.nvpmodel, self.interval = ORIN["nvpmodel"], ORIN["interval"]
        self.jetson_clocks = False
        self.closed = False

    def start(self) -> None:
        pass

    def ok(self) -> bool:
        self.left -= 1
        return self.left >= 0

    def close(self) -> None:
        self.closed = True


def test_monitor_loop_records_each_reading_and_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[Any] = []

    def factory(interval: float = 1.0) -> Replay:
        made.append(Replay(interval))
        return made[-1]

    monkeypatch.setitem(sys.modules, "jtop", types.SimpleNamespace(jtop=factory))
    mon = JtopMonitor(0.5)
    mon.start()
    mon._thread.join(timeout=5)  # the replay ends after three readings
    agg = mon.stop()
    assert made[0].asked_interval == 0.5 and made[0].closed
    assert agg["samples"] == 3 and all(r["power_w"] == pytest.approx(5.133) for r in mon.samples)
    assert agg["nvpmodel_start"] == "25W" and agg["jetson_clocks_end"] is False
    assert agg["jtop_interval_s_start"] == 1.0
    assert agg["power_source"] == "jtop VDD_IN" and agg["power_estimate"] is False
    assert agg["power_w_mean"] == pytest.approx(5.133)


def test_without_the_service_socket_the_reason_says_what_to_mount() -> None:
    reason = monitors.probe("jtop")
    assert reason is not None
    if has_module("jtop"):
        assert "/run/jtop.sock" in reason
    else:
        assert "not installed" in reason
