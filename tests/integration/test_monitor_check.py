"""The monitor check before a campaign, for both runners, for real: with `--runner docker` a monitor the
image cannot run stops the campaign before its first run, asked once per image; `monitors: []` means none."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from edgebench.cli import images
from edgebench.cli.runners.docker import DockerRunner
from edgebench.cli.runners.local import LocalRunner
from edgebench.suite.spec import RunSpec

from tests.conftest import ROOT
from tests.integration.test_docker_images import built

pytestmark = [pytest.mark.integration]


def spec(**kw: object) -> RunSpec:
    base: dict[str, object] = {"model": "mobilenet_v3_small", "framework": "onnxruntime", "device": "host-cpu",
                               "image": "edgebench-host-cpu-onnxruntime"}
    base.update(kw)
    return RunSpec(**base)  # type: ignore[arg-type]


def test_docker_asks_the_image_once_per_image(tmp_path: Path) -> None:
    image = built("host-cpu", "onnxruntime")
    runner = DockerRunner(image_tag=image.tag)
    assert runner.preflight([spec(), spec(batch_size=2)]) == []
    assert runner.monitor_problems(["psutil"], {}) == [] and runner.monitor_checks == 1
    problems = runner.monitor_problems(["psutil", "tegrastats"], {})
    assert len(problems) == 1 and "tegrastats" in problems[0] and image.ref in problems[0], problems
    again = runner.monitor_problems(["psutil", "tegrastats"], {})
    assert again == problems and runner.monitor_checks == 2, "the answer is cached per image and monitor set"
    assert runner.monitor_problems([], {}) == [] and runner.monitor_checks == 2
    assert not images.client().containers.list(all=True, filters={"label": "org.edgebench.run=monitor-check"})


def cli_run(mx: Path, runner: str, tmp_path: Path, models_dir: Path,
            tag: str = "") -> "subprocess.CompletedProcess[str]":
    env = dict(os.environ, EDGEBENCH_IMAGE_TAG=tag) if tag else dict(os.environ)
    return subprocess.run([sys.executable, "-m", "edgebench.cli.app", "run", str(mx), "--runner", runner,
                           "--results", str(tmp_path / "results"), "--models", str(models_dir), "--no-report",
                           "--json"], capture_output=True, text=True, cwd=str(ROOT), env=env, timeout=600)


def test_docker_campaign_with_a_monitor_the_image_lacks_stops_before_its_first_run(tmp_path: Path,
                                                                                   models_dir: Path) -> None:
    image = built("host-cpu", "onnxruntime")
    mx = tmp_path / "mon.yaml"
    mx.write_text("name: mon\ndevice: host-cpu\nfixed: {framework: onnxruntime, model: mobilenet_v3_small, "
                  "iterations: 2, monitors: [psutil, tegrastats]}\naxes:\n  batch_size: [1, 2]\n")
    out = cli_run(mx, "docker", tmp_path, models_dir, image.tag)
    assert out.returncode == 2, out.stderr[-2000:]
    assert "tegrastats" in out.stderr and image.ref in out.stderr and "Traceback" not in out.stderr
    camp = tmp_path / "results" / "mon"
    assert not camp.exists() or not [p for p in camp.iterdir() if p.is_dir()], "no run was started"


@pytest.mark.parametrize("runner", ["local", "docker"])
def test_an_empty_monitor_list_means_no_monitor(runner: str, tmp_path: Path, models_dir: Path,
                                                onnx_mnv3: str) -> None:
    tag = built("host-cpu", "onnxruntime").tag if runner == "docker" else ""
    mx = tmp_path / "nomon.yaml"
    mx.write_text("name: nomon\ndevice: host-cpu\nfixed: {framework: onnxruntime, model: mobilenet_v3_small, "
                  "iterations: 2, warmups: 1, monitors: []}\naxes:\n  batch_size: [1]\n")
    out = cli_run(mx, runner, tmp_path, models_dir, tag)
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads(out.stdout)["runs"] == 1
    run = next((tmp_path / "results" / "nomon").glob("*/result.json"))
    result = json.loads(run.read_text())
    assert result["status"] == "ok" and result["spec"]["monitors"] == []
    mon = run.parent / "monitor.jsonl"
    assert not mon.exists() or mon.read_text().strip() == ""


def test_local_runner_with_no_monitors_checks_nothing() -> None:
    assert LocalRunner().monitor_problems([], {}) == []
