"""Environment probes and the throttling verdict, on sysfs trees built in a temporary folder (this VM has
no cpufreq, thermal zones, Jetson or Pi) from recorded values:
- Jetson TX1 with jetson_clocks on: every CPU at MinFreq=MaxFreq=CurrentFreq=1734000 kHz and the GPU at
  998400000 Hz, from `jetson_clocks.sh --show` in github.com/hordiales/jetson-tx1-dev SCRIPTS.md;
- `nvpmodel -q` printing "NV Power Mode: MAXN" then "0" (the format jetson-stats parses in
  rbonghi/jetson_stats jtop/core/nvpmodel.py; the text as recorded on a Nano in a public note);
- Raspberry Pi `vcgencmd get_throttled` = throttled=0x50005, recorded on a Pi 3 B+ (public note), bits
  as documented by Raspberry Pi (0 under-voltage, 2 throttled now; 16, 18 the same since boot);
- TX2 thermal zone names BCPU-therm/MCPU-therm/GPU-therm from the boot log in
  https://github.com/OE4T/meta-tegra/issues/216.
The "end of run" states (a clock under the pinned floor, a counter that rose) are constructed from those
and say so."""

from pathlib import Path
from typing import Optional

from edgebench.suite import env, probes


def write(root: Path, rel: str, text: str) -> None:
    p = root / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text + "\n")


def tx1_tree(root: Path, cur_khz: int = 1734000) -> None:
    write(root, "etc/nv_tegra_release", "# R28 (release), REVISION: 1.0")
    for i in range(4):
        base = "sys/devices/system/cpu/cpu%d/cpufreq/" % i
        write(root, base + "scaling_governor", "interactive")
        write(root, base + "scaling_min_freq", "1734000")
        write(root, base + "scaling_max_freq", "1734000")
        write(root, base + "cpuinfo_max_freq", "1734000")
        write(root, base + "scaling_cur_freq", str(cur_khz))
    gpu = "sys/class/devfreq/57000000.gpu/"
    for name, v in (("min_freq", "998400000"), ("max_freq", "998400000"), ("cur_freq", "998400000"),
                    ("available_frequencies", "76800000 998400000"), ("governor", "nvhost_podgov")):
        write(root, gpu + name, v)
    for i, (kind, milli) in enumerate((("BCPU-therm", "42500"), ("MCPU-therm", "42500"), ("GPU-therm", "-256000"))):
        write(root, "sys/class/thermal/thermal_zone%d/type" % i, kind)
        write(root, "sys/class/thermal/thermal_zone%d/temp" % i, milli)


def nvpmodel_q(cmd: list[str]) -> Optional[str]:
    return "NV Power Mode: MAXN\n0\n" if cmd == ["nvpmodel", "-q"] else None


def test_jetson_snapshot_reads_power_mode_clocks_and_temperatures(tmp_path: Path) -> None:
    tx1_tree(tmp_path)
    s = probes.snapshot(str(tmp_path), nvpmodel_q)
    assert s["nvpmodel"] == {"name": "MAXN", "id": 0}
    assert s["jetson_clocks"] is True
    assert s["cpus"]["cpu0"]["governor"] == "interactive" and s["cpus"]["cpu3"]["max_khz"] == 1734000
    assert s["devfreq"]["57000000.gpu"]["top_hz"] == 998400000
    assert s["thermal"]["temps_c"] == {"BCPU-therm": 42.5, "MCPU-therm": 42.5}  # -256 C: sensor offline
    assert s["pi_throttled"] is None
    v = probes.verdict(s, s)
    assert v == {"throttled": False, "evidence": [], "checked": ["cpufreq limits", "jetson_clocks floor"]}


def test_a_clock_below_the_jetson_clocks_floor_is_throttling(tmp_path: Path) -> None:
    tx1_tree(tmp_path / "start")
    tx1_tree(tmp_path / "end", cur_khz=1224000)  # constructed: a thermal cap pulled cpu clocks down
    v = probes.verdict(probes.snapshot(str(tmp_path / "start"), nvpmodel_q),
                       probes.snapshot(str(tmp_path / "end"), nvpmodel_q))
    assert v["throttled"] is True
    assert "cpu0 at 1224000 kHz, below the 1734000 kHz jetson_clocks pinned" in v["evidence"]


def test_pi_firmware_bits(tmp_path: Path) -> None:
    write(tmp_path, "proc/device-tree/model", "Raspberry Pi 3 Model B Plus Rev 1.3\x00")

    def vcgencmd(value: str):
        return lambda cmd: ("throttled=%s\n" % value) if cmd == ["vcgencmd", "get_throttled"] else None

    clean = probes.snapshot(str(tmp_path), vcgencmd("0x0"))
    hot = probes.snapshot(str(tmp_path), vcgencmd("0x50005"))
    assert clean["pi_throttled"] == 0 and hot["pi_throttled"] == 0x50005
    assert probes.verdict(clean, clean)["throttled"] is False
    v = probes.verdict(clean, hot)
    assert v["throttled"] is True and v["checked"] == ["vcgencmd get_throttled"]
    assert any("under-voltage at run end" in e for e in v["evidence"])
    assert any("throttled occurred during the run" in e for e in v["evidence"])


def test_x86_thermal_throttle_counters_that_rise(tmp_path: Path) -> None:
    for root, n in ((tmp_path / "a", "3"), (tmp_path / "b", "5")):  # constructed counter values
        write(root, "sys/devices/system/cpu/cpu0/thermal_throttle/core_throttle_count", n)
        write(root, "sys/devices/system/cpu/cpu0/thermal_throttle/package_throttle_count", "0")
    a, b = probes.snapshot(str(tmp_path / "a")), probes.snapshot(str(tmp_path / "b"))
    v = probes.verdict(a, b)
    assert v["throttled"] is True and v["evidence"] == ["cpu0 core_throttle_count rose 3 -> 5"]
    assert probes.verdict(a, a)["throttled"] is False


def test_cooling_devices_count_but_fans_do_not(tmp_path: Path) -> None:
    write(tmp_path, "sys/class/thermal/cooling_device0/type", "pwm-fan")
    write(tmp_path, "sys/class/thermal/cooling_device0/cur_state", "3")
    write(tmp_path, "sys/class/thermal/cooling_device0/max_state", "10")
    write(tmp_path, "sys/class/thermal/cooling_device1/type", "thermal-cpufreq-0")
    write(tmp_path, "sys/class/thermal/cooling_device1/cur_state", "0")
    write(tmp_path, "sys/class/thermal/cooling_device1/max_state", "4")
    calm = probes.snapshot(str(tmp_path))
    assert probes.verdict(calm, calm) == {"throttled": False, "evidence": [], "checked": ["cooling devices"]}
    write(tmp_path, "sys/class/thermal/cooling_device1/cur_state", "2")
    v = probes.verdict(calm, probes.snapshot(str(tmp_path)))
    assert v["throttled"] is True and v["evidence"] == ["cooling_device1 (thermal-cpufreq-0) at state 2/4 at run end"]


def test_nothing_to_check_gives_no_verdict_and_env_carries_probes() -> None:
    v = probes.verdict({}, {})
    assert v == {"throttled": None, "evidence": [], "checked": []}
    e = env.capture()
    assert "probes" in e and "cpus" in e["probes"]
    assert probes.verdict_of_env(e, e)["throttled"] in (None, False)
