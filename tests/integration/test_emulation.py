"""Emulation checked against the real thing, in real containers on this host's dockerd (issue 18).

- ceiling mode: `bench --device rpi4 --emulate ceiling` runs this host's own ONNX Runtime image (host-cpu's)
  under the cell's limits tightened to the Pi's; its batch ramp of MobileNetV3-Small under 220 MiB without
  swap must stop at the same level, for the same reason (OOM), as the same image under the same limits run
  natively (`bench --device host-cpu`), pinned to the Pi's core count of this host's CPUs. Measured here:
  cgroup peaks about 88 MiB at batch 1, 158 at 16 and 370 at 64, so 64 is OOM-killed with wide margins on
  both sides and 128 is recorded as skipped.
- functional mode: `bench --device rpi4 --emulate functional` runs the Pi's own arm64 image through QEMU:
  the run says from inside that it ran as aarch64 code, and the report shows it as "ran: ok", never
  with QEMU's timings.
"""

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tests.conftest import docker_ok, has_module, is_root, need

pytestmark = [pytest.mark.integration]

RAMP = """name: ceiling-ramp
fixed: {model: mobilenet_v3_small, framework: onnxruntime, input_shape: 224, warmups: 1, iterations: 2,
        threads: 1, timeout_s: 300, memory_mb: 220, memory_swap_mb: 220, cpus: 1}
axes: {batch_size: [1, 16, 64, 128]}
ramp: {axis: batch_size}
"""
TINY = """name: functional-arm64
fixed: {model: mobilenet_v3_small, framework: onnxruntime, input_shape: 96, warmups: 1, iterations: 2,
        threads: 2, timeout_s: 600}
axes: {batch_size: [1]}
"""


def _needs() -> None:
    need(docker_ok(), "a Docker engine (sh scripts/setup-docker.sh)")
    need(is_root(), "root (debootstrap for the offline base)")
    need(has_module("torch") and has_module("onnx"), "torch and onnx (the model's ONNX export)")


def bench(args: list[str], cwd: Path) -> dict[str, Any]:
    res = subprocess.run([sys.executable, "-m", "edgebench.cli.fleet_cmd", "bench", *args, "--build", "--json",
                          "--results", "results"], capture_output=True, text=True, env=dict(os.environ), cwd=cwd,
                         timeout=1800)
    assert res.returncode == 0, res.stderr[-3000:]
    out: dict[str, Any] = json.loads(res.stdout)
    return out


def _runs(camp: Path) -> dict[int, dict[str, Any]]:
    return {json.loads(p.read_text())["spec"]["batch_size"]: json.loads(p.read_text())
            for p in sorted(camp.glob("*/result.json"))}


def test_ceiling_oom_level_equals_the_native_one(tmp_path: Path) -> None:
    _needs()
    (tmp_path / "m.yaml").write_text(RAMP)
    emu = bench(["--device", "rpi4", "--emulate", "ceiling", "--matrix", "m.yaml"], tmp_path)
    native = bench(["--device", "host-cpu", "--matrix", "m.yaml"], tmp_path)
    assert emu["device"] == "rpi4@ceiling" and emu["emulation"] == "ceiling" and native["emulated"] is False
    ce, na = Path(emu["campaign"]), Path(native["campaign"])
    ramps = [json.loads((c / "ramps.json").read_text())["groups"] for c in (ce, na)]
    (g_ce,), (g_na,) = ramps
    assert g_ce["stop_level"] == g_na["stop_level"] == 64, (g_ce, g_na)
    assert g_ce["max_level_ok"] == g_na["max_level_ok"] == 16
    assert "oom" in g_ce["stop_reason"] and "oom" in g_na["stop_reason"]
    r_ce, r_na = _runs(ce), _runs(na)
    assert {b: r["status"] for b, r in r_ce.items()} == {b: r["status"] for b, r in r_na.items()} == {
        1: "ok", 16: "ok", 64: "oom", 128: "skipped"}
    for b in (1, 16):  # the same image, under the same limits as the container's cgroup applied them
        a, n = r_ce[b], r_na[b]
        assert a["spec"]["image"] == n["spec"]["image"] == "edgebench-host-cpu-onnxruntime"
        assert a["host"]["extra"]["image"]["ref"] == n["host"]["extra"]["image"]["ref"]
        pinned = ("cpuset", "cpu_affinity")  # ceiling mode pins the run to the Pi's cores, native is unpinned
        assert ({k: v for k, v in a["host"]["limits"]["applied"].items() if k not in pinned}
                == {k: v for k, v in n["host"]["limits"]["applied"].items() if k not in pinned})
        cores = min(4, len(os.sched_getaffinity(0)))  # the Pi's 4 cores, as many of this host's as there are
        assert a["spec"]["limits"]["cpuset"] == "0-%d" % (cores - 1) and a["host"]["limits"]["match"]
        assert a["host"]["limits"]["applied"]["cpu_affinity"] == list(range(cores))
        assert a["host"]["limits"]["applied"]["memory_mb"] == 220 and a["host"]["limits"]["match"]
        assert a["spec"]["labels"] == {"emulated": "rpi4", "emulation": "ceiling"} and not n["spec"]["labels"]
    # the report states the ceiling as an answer, with what the emulation cannot see
    md = (ce / "_report" / "report.md").read_text()
    section = md[md.index("## Memory ceilings of rpi4"):]
    assert "| mobilenet_v3_small | onnxruntime | fp32 | 220 | 16 |" in section
    assert "1 of 1 oom" in section and "stopped at batch_size=64" in section
    assert "host CPU" in md and "cgroup accounts it" in section
    assert "Memory ceilings of rpi4" in (ce / "_report" / "report.html").read_text()
    assert "Memory ceilings" not in (na / "_report" / "report.md").read_text()


def test_functional_mode_runs_as_aarch64_and_shows_no_qemu_timing(tmp_path: Path) -> None:
    _needs()
    from edgebench.cli import images

    need(images.can_run_arch("arm64") is None, "QEMU's binfmt handler for arm64 (qemu-user-static)")
    (tmp_path / "m.yaml").write_text(TINY)
    out = bench(["--device", "rpi4", "--emulate", "functional", "--matrix", "m.yaml"], tmp_path)
    assert out["device"] == "rpi4@functional" and out["emulation"] == "functional"
    camp = Path(out["campaign"])
    (run,) = _runs(camp).values()
    assert run["status"] == "ok", run.get("reason")
    assert run["env"]["start"]["machine"] == "aarch64", "the cell must run as arm64 code"
    assert run["spec"]["image"] == "edgebench-rpi4-onnxruntime"
    assert run["spec"]["labels"] == {"emulated": "rpi4", "emulation": "functional"}
    assert run["summary"]["p50"] > 0  # measured, and kept in the run folder: only the report leaves it out
    summary = pd.read_csv(camp / "_report" / "summary.csv")
    assert summary["p50_ms_median_of_runs"].isna().all() and summary["throughput_ips_median_of_runs"].isna().all()
    assert list(summary["timing"]) == ["QEMU: not shown"]
    md = (camp / "_report" / "report.md").read_text()
    assert "| ran: ok |" in md and "timings are QEMU's" in md
