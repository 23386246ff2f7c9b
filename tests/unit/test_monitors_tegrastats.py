"""The tegrastats parser and reader, on real tegrastats lines from TX1/TX2/Nano/AGX Xavier/Xavier NX/Orin
(L4T 28 to 36). Every line comes from tests/data/recordings/tegrastats.txt, where each one names its
public source (GitHub issues and DataDog's jetson check tests). tegrastats itself cannot run here (no
Jetson), so the reader test runs a stand-in executable that prints those recorded lines."""

import stat
import sys
import time
from pathlib import Path

import pytest
from edgebench.suite import monitors
from edgebench.suite.monitors.tegrastats_monitor import TegrastatsMonitor, flatten, parse

REC = Path(__file__).resolve().parent.parent / "data" / "recordings" / "tegrastats.txt"


def recordings() -> dict[str, str]:
    out, rid = {}, None
    for line in REC.read_text().splitlines():
        if line.startswith("# id:"):
            rid = line.split(":", 1)[1].strip()
        elif line and not line.startswith("#") and rid:
            out[rid] = line
            rid = None
    return out


LINES = recordings()

# Expected figures, read off each recorded line by hand: (power_w, total from, gpu %, gpu MHz, cpu online/count, cpu %)
EXPECTED = {
    "tx1_l4t28_1": (None, None, 3.0, 76.0, (4, 4), 16.0),
    "tx2_l4t28_sudo": (None, None, 5.0, 1275.0, (6, 6), 0.0),
    "tx2_2019": (3.140, "VDD_IN", 0.0, None, (6, 6), 60 / 6),
    "tx2_jp46_noroot": (None, None, 0.0, None, (4, 6), 5 / 4),
    "tx1_datadog": (2.532, "VDD_IN", 0.0, 76.0, (4, 4), 5 / 4),
    "tx2_datadog": (3.056, "VDD_IN", 0.0, 624.0, (4, 6), 1.0),
    "nano_datadog": (1.022, "POM_5V_IN", 0.0, 76.0, (4, 4), 25 / 4),
    "agx_xavier_datadog": (3.346, "sum of rails CPU+CV+GPU+SOC+SYS5V+VDDRQ", 0.0, 318.0, (4, 8), 0.5),
    "xavier_nx_datadog": (4.067, "VDD_IN", 62.0, 306.0, (6, 6), 38 / 6),
    "orin_nx_l4t35_datadog": (5.299, "VDD_IN", 0.0, 611.0, (4, 8), 9.0),
    "agx_orin_l4t36_datadog": (12.377, "sum of rails VDD_CPU_CV+VDD_GPU_SOC+VIN_SYS_5V0", 0.0, 305.0, (12, 12),
                               209 / 12),
    "agx_orin_datadog": (10.370, "sum of rails VDD_CPU_CV+VDD_GPU_SOC+VIN_SYS_5V0", 0.0, None, (12, 12), 0.0),
    "agx_orin_dated_nc": (7.056, "sum of rails VDDQ_VDD2_1V8AO+VDD_CPU_CV+VDD_GPU_SOC+VIN_SYS_5V0", 0.0, 0.0,
                          (12, 12), 0.0),
    "orin_jp6_dated": (17.946, "VDD_IN", 84.0, 713.0, (6, 6), 559 / 6),
}


def test_every_recording_has_an_expectation() -> None:
    assert sorted(LINES) == sorted(EXPECTED)


@pytest.mark.parametrize("rid", sorted(EXPECTED))
def test_parse_recorded_line(rid: str) -> None:
    power, total, gpu, gpu_mhz, (online, count), cpu = EXPECTED[rid]
    d = parse(LINES[rid])
    assert d.get("power_w") == (pytest.approx(power) if power is not None else None)
    assert d.get("power_total") == total
    assert d["gpu_util_percent"] == gpu
    assert d["gpu_freq_mhz"] == gpu_mhz
    assert (d["cpu_online"], d["cpu_count"]) == (online, count)
    assert d["cpu_util_percent"] == pytest.approx(cpu)
    assert d["ram_used_mb"] > 0 and d["ram_total_mb"] >= d["ram_used_mb"]


def test_rails_temperatures_and_memory_of_a_nano_line() -> None:
    d = parse(LINES["nano_datadog"])
    assert d["rails_w"] == {"POM_5V_IN": 1.022, "POM_5V_GPU": 0.0, "POM_5V_CPU": 0.204}
    assert d["temp_cpu_c"] == 36.5 and d["temp_thermal_c"] == 36.25 and d["temp_pmic_c"] == 100.0
    assert (d["ram_used_mb"], d["ram_total_mb"], d["swap_used_mb"], d["swap_total_mb"]) == (534, 3964, 5, 1982)
    assert (d["emc_util_percent"], d["emc_freq_mhz"]) == (0.0, 204.0)
    row = flatten(d)
    assert row["rail_POM_5V_CPU_w"] == 0.204 and "rails_w" not in row and "power_total" not in row


def test_offline_sensors_and_not_connected_rails_are_dropped() -> None:
    d = parse(LINES["agx_orin_dated_nc"])
    assert "temp_cv0_c" not in d and "temp_gpu_c" not in d  # read -256C: sensor offline
    assert d["temp_cpu_c"] == 44.562
    assert "NC" not in d["rails_w"] and len(d["rails_w"]) == 4


def test_rail_names_do_not_swallow_memory_fields() -> None:
    d = parse(LINES["tx1_datadog"])
    assert set(d["rails_w"]) == {"VDD_IN", "VDD_CPU", "VDD_GPU"}  # not RAM 1179/3983MB nor IRAM 0/252kB


def test_a_line_that_is_not_tegrastats_parses_to_nothing() -> None:
    assert parse("tegrastats: command not found") == {}


def _stand_in(tmp_path: Path, lines: list[str]) -> Path:
    """An executable that behaves like `tegrastats --interval MS`: one recorded line per interval."""
    data = tmp_path / "lines.txt"
    data.write_text("\n".join(lines) + "\n")
    script = tmp_path / "tegrastats"
    script.write_text(
        "#!%s\nimport sys, time\nargs = sys.argv[1:]\nms = int(args[args.index('--interval') + 1])\n"
        "open(%r, 'w').write(' '.join(args))\nlines = open(%r).read().splitlines()\ni = 0\n"
        "while True:\n    print(lines[i %% len(lines)], flush=True)\n    i += 1\n    time.sleep(ms / 1000.0)\n"
        % (sys.executable, str(tmp_path / "args.txt"), str(data)))
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


def test_reader_runs_tegrastats_with_the_interval_and_stops_it(tmp_path: Path) -> None:
    script = _stand_in(tmp_path, [LINES["orin_jp6_dated"], "garbage line"])
    mon = monitors.create("tegrastats", 0.05, {"path": str(script)})
    mon.start()
    deadline = time.monotonic() + 10
    while len(mon.samples) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    agg = mon.stop()
    assert (tmp_path / "args.txt").read_text() == "--interval 50"
    assert agg["samples"] >= 3 and agg["unparsed_lines"] >= 1
    assert agg["power_source"] == "tegrastats VDD_IN"
    assert mon.samples[0]["power_w"] == pytest.approx(17.946)
    assert mon.samples[0]["rail_VDD_SOC_w"] == pytest.approx(3.923)
    assert "t_mono" in mon.samples[0]
    assert isinstance(mon, TegrastatsMonitor) and mon._proc is not None and mon._proc.poll() is not None


def test_missing_tegrastats_is_a_clear_reason(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = str(tmp_path / "nope")
    problems = monitors.check(["tegrastats"], {"tegrastats": {"path": missing}})
    assert len(problems) == 1 and "no tegrastats executable" in problems[0] and missing in problems[0]
    monkeypatch.setenv("EDGEBENCH_TEGRASTATS_PATH", missing)  # the same setting from the environment
    assert missing in (monitors.probe("tegrastats") or "")
