"""`bench` for real: it refuses a machine that is not the device, and emulates a small board in a real
container (functional mode: the board's own image, here the host-cpu ONNX Runtime one built from the
repository's Dockerfile on the offline base) under that board's memory and CPU limits, with every result
labelled emulated, down to an OOM ceiling. Ceiling mode is checked in test_emulation.py.

The emulated boards are profiles written into a temporary images folder (EDGEBENCH_IMAGES_DIR): a 1 GiB
single-core board and a 48 MiB one that cannot even load the runtime. Their framework points at the
host-cpu Dockerfile, so the image is the same one (same content hash) the Docker runner's tests build.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, docker_ok, has_module, is_root, need

pytestmark = [pytest.mark.integration]

BOARD = """name: {name}
description: a small amd64 board to emulate
kind: board
arch: amd64
memory_mb: {mem}
cpu_cores: 1
frameworks:
  onnxruntime:
    image: edgebench-host-cpu-onnxruntime
    dockerfile: host-cpu/onnxruntime.Dockerfile
    placements: [cpu]
detect:
  model: ["^Tiny Board$"]
  compatible: ["acme,tiny"]
price_usd: 10
"""
MATRIX = """name: fleet-emulated
fixed: {model: mobilenet_v3_small, framework: onnxruntime, warmups: 1, iterations: 5, threads: 1, timeout_s: 300}
axes: {batch_size: [1]}
"""


def bench(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "edgebench.cli.fleet_cmd", "bench", *args], capture_output=True,
                          text=True, env=env, cwd=cwd, timeout=1500)


def test_bench_refuses_a_machine_that_is_not_the_device(tmp_path: Path) -> None:
    res = bench(["--device", "jetson-nano", "--matrix", str(ROOT / "matrices/smoke.yaml")], dict(os.environ),
                tmp_path)
    assert res.returncode == 2, res.stderr
    text = " ".join(res.stderr.split())
    assert "refusing to bench jetson-nano" in text and "L4T" in text and "--emulate" in text
    assert not (tmp_path / "results").exists()  # nothing ran, nothing written


def test_emulating_a_gpu_board_is_refused_with_the_reason(tmp_path: Path) -> None:
    res = bench(["--device", "jetson-nano", "--emulate", "functional", "--matrix", str(ROOT / "matrices/smoke.yaml")],
                dict(os.environ), tmp_path)
    assert res.returncode == 2 and "nvidia runtime" in " ".join(res.stderr.split())


@pytest.fixture(scope="module")
def boards(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("images")
    shutil.copy2(ROOT / "images/versions.lock", root / "versions.lock")
    (root / "host-cpu").mkdir()
    shutil.copy2(ROOT / "images/host-cpu/onnxruntime.Dockerfile", root / "host-cpu/onnxruntime.Dockerfile")
    for name, mem in (("tiny-board", 1024), ("crumb-board", 48)):
        (root / name).mkdir()
        (root / name / "device.yaml").write_text(BOARD.format(name=name, mem=mem))
    return dict(os.environ, EDGEBENCH_IMAGES_DIR=str(root))


def _runs(results: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(results.rglob("result.json")) if "_report" not in p.parts]


def test_emulated_board_runs_under_its_limits_labelled_everywhere(boards: dict[str, str], tmp_path: Path) -> None:
    need(docker_ok(), "a Docker engine (sh scripts/setup-docker.sh)")
    need(is_root(), "root (debootstrap for the offline base)")
    need(has_module("torch") and has_module("onnx"), "torch and onnx (the model's ONNX export)")
    (tmp_path / "m.yaml").write_text(MATRIX)
    models = tmp_path / "models"
    res = bench(["--device", "tiny-board", "--emulate", "functional", "--build", "--matrix", "m.yaml",
                 "--results", "results",
                 "--models", str(models), "--json"], boards, tmp_path)
    assert res.returncode == 0, res.stderr[-3000:]
    summary = json.loads(res.stdout)
    assert summary["emulated"] is True and summary["device"] == "tiny-board@functional"
    camp = Path(summary["campaign"])
    assert camp.name == "fleet-emulated-tiny-board-functional"
    (run,) = _runs(tmp_path / "results")
    assert run["status"] == "ok"
    assert run["spec"]["device"] == "tiny-board@functional"
    assert run["spec"]["labels"] == {"emulated": "tiny-board", "emulation": "functional"}
    limits = run["host"]["limits"]
    assert limits["asked"]["memory_mb"] == 1024 and limits["asked"]["cpus"] == 1
    assert limits["applied"]["memory_mb"] == 1024 and limits["match"], limits
    assert json.loads((camp / "bench.json").read_text())["emulated"] is True
    assert json.loads((camp / "campaign.json").read_text())["device"]["emulates"] == "tiny-board"
    report = (camp / "_report" / "report.md").read_text()
    assert "emulated" in report


def test_emulation_shows_the_memory_ceiling_as_an_oom(boards: dict[str, str], tmp_path: Path) -> None:
    need(docker_ok(), "a Docker engine (sh scripts/setup-docker.sh)")
    need(is_root(), "root (debootstrap for the offline base)")
    need(has_module("torch") and has_module("onnx"), "torch and onnx (the model's ONNX export)")
    (tmp_path / "m.yaml").write_text(MATRIX)
    res = bench(["--device", "crumb-board", "--emulate", "functional", "--build", "--matrix", "m.yaml",
                 "--results", "results",
                 "--models", str(tmp_path / "models"), "--json"], boards, tmp_path)
    assert res.returncode == 1, res.stderr[-3000:]  # the run did not end ok: that is the finding
    (run,) = _runs(tmp_path / "results")
    assert run["status"] == "oom", (run["status"], run.get("reason"))
    # The child died before reading its limits; the host read them from the container's cgroup.
    applied = run["host"]["limits_applied"]
    assert applied["memory_limit_bytes"] == applied["memory_swap_limit_bytes"] == 48 << 20
    assert run["spec"]["labels"] == {"emulated": "crumb-board", "emulation": "functional"}
