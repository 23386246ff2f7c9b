"""The monitor registry, settings, the pre-campaign check, and the psutil monitor on this machine."""

import json
import os
import subprocess
import sys
import time

import pytest
from edgebench.suite import monitors
from edgebench.suite.monitors import base
from edgebench.suite.monitors.psutil_monitor import PsutilMonitor, meminfo

from tests.conftest import need


def test_registry_knows_every_monitor() -> None:
    assert monitors.names() == ["codecarbon", "ina219", "jtop", "nvml", "psutil", "tegrastats", "usb"]


def test_check_lists_one_line_per_monitor_that_cannot_run() -> None:
    assert monitors.check(["psutil"]) == []
    problems = monitors.check(["psutil", "nope"])
    assert len(problems) == 1 and "unknown monitor 'nope'" in problems[0] and "psutil" in problems[0]


def test_a_missing_library_becomes_a_reason_not_a_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(monitors._REGISTRY, "ghost", ("edgebench.suite.monitors.no_such_module", "Ghost"))
    reason = monitors.probe("ghost")
    assert reason is not None and "not installed" in reason and "no_such_module" in reason


def test_check_command_prints_json_and_fails_when_a_monitor_cannot_run() -> None:
    cmd = [sys.executable, "-m", "edgebench.suite.monitors", "check", "psutil", "nope"]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert p.returncode == 1
    out = json.loads(p.stdout)
    assert out["checked"] == ["psutil", "nope"] and len(out["problems"]) == 1
    ok = subprocess.run(cmd[:-1], capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0 and json.loads(ok.stdout)["problems"] == []


def test_settings_come_from_config_then_environment_then_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDGEBENCH_DEMO_ADDRESS", "0x41")
    monkeypatch.setenv("EDGEBENCH_DEMO_ON", "no")
    assert base.setting("demo", None, "address", 0x40) == 0x41
    assert base.setting("demo", {"address": 0x44}, "address", 0x40) == 0x44
    assert base.setting("demo", None, "on", True) is False
    assert base.setting("demo", None, "missing", 2.5) == 2.5
    with pytest.raises(monitors.MonitorUnavailable, match="'address'='zz' is not valid"):
        base.setting("demo", {"address": "zz"}, "address", 0x40)


def test_meminfo_reads_the_four_fields() -> None:
    text = ("MemTotal:       16315260 kB\nMemFree: 1 kB\nMemAvailable:   12000000 kB\n"
            "SwapTotal: 2048 kB\nSwapFree: 1024 kB\n")
    assert meminfo(text) == {"MemTotal": 16315260 * 1024, "MemAvailable": 12000000 * 1024,
                             "SwapTotal": 2048 * 1024, "SwapFree": 1024 * 1024}


def test_psutil_monitor_process_cpu_adds_up_to_what_the_kernel_counted() -> None:
    import resource

    def used() -> float:
        r = resource.getrusage(resource.RUSAGE_SELF)
        return r.ru_utime + r.ru_stime

    mon = monitors.create("psutil", 0.05)
    mon.start()
    while not mon.samples:  # the count starts at the first sample: what the thread's start costs is not in it
        time.sleep(0.002)
    c0 = used()
    t_end = time.monotonic() + 1.0
    x = 0
    while time.monotonic() < t_end:  # keep the main thread busy
        x += 1
    stopped = time.monotonic()
    agg = mon.stop()
    c1 = used()
    rows = mon.samples
    # percent x interval, summed, is the CPU time the process used between the first and last sample
    est = sum(r["proc_cpu_percent"] / 100.0 * (r["t_mono"] - p["t_mono"]) for p, r in zip(rows, rows[1:]))
    assert est == pytest.approx(c1 - c0, rel=0.3, abs=0.03) and est > 0.02
    assert agg["samples"] >= 8
    assert agg["rss_mb_max"] > 10 and agg["sys_mem_used_mb_max"] > 0
    assert "pss_mb" in rows[0] and "pss_mb" not in rows[1]  # PSS/USS every full_interval_s only
    assert rows[-1]["t_mono"] >= stopped  # a closing sample covers the end of the last phase
    assert 0 < agg["monitor_cpu_s"] < c1 - c0 and agg["full_interval_s"] == 5.0  # its thread is part of the process


def test_psutil_full_memory_can_be_turned_off() -> None:
    mon = PsutilMonitor(0.05, config={"full_interval_s": 0})
    mon.start()
    time.sleep(0.2)
    mon.stop()
    assert all("pss_mb" not in r for r in mon.samples)


def test_psutil_cgroup_usage_matches_the_kernel_file_when_there_is_a_memory_cgroup() -> None:
    from edgebench.suite.monitors.psutil_monitor import cgroup_usage_files

    files = dict(cgroup_usage_files())
    need("cgroup_mem" in files, "a memory cgroup visible to this process")
    mon = PsutilMonitor(0.05)
    row = mon.sample()
    with open(files["cgroup_mem"]) as f:
        kernel_mb = int(f.read()) / float(1 << 20)
    assert row["cgroup_mem_mb"] == pytest.approx(kernel_mb, rel=0.2)
    mon.close()
    assert os.path.exists(files["cgroup_mem"])


def test_system_cpu_from_proc_stat_agrees_with_psutil() -> None:
    import psutil

    mon = PsutilMonitor(0.1, config={"full_interval_s": 0})
    psutil.cpu_percent(None)
    mon._sys_cpu_percent()  # both windows start here
    t_end = time.monotonic() + 0.4
    while time.monotonic() < t_end:
        pass
    ours, theirs = mon._sys_cpu_percent(), psutil.cpu_percent(None)
    mon.close()
    assert ours == pytest.approx(theirs, abs=8.0) and ours > 0
