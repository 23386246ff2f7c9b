"""`process: forked` under the docker runner, for real (the repo's amd64 ONNX Runtime image, a real engine).

The docker runner starts every run as a fresh process inside its container; a spec that asked for forked
says so in result.process (mode fresh, requested forked, fallback: why), in both container modes, and the
record is the one the harness inside wrote (import_s measured), not only the host's.
"""

import os
from pathlib import Path

import pytest
from edgebench.cli import campaign, plan
from edgebench.cli.runners.docker import DockerRunner
from edgebench.suite.spec import RunResult
from rich.console import Console

from tests.conftest import is_root, need
from tests.integration.test_docker_images import built

pytestmark = [pytest.mark.integration, pytest.mark.docker]


@pytest.fixture(scope="module")
def tag(onnx_mnv3: str) -> str:
    return built("host-cpu", "onnxruntime").tag


def run(tmp_path: Path, models_dir: Path, tag: str, container: str, process: str) -> list[RunResult]:
    mx = tmp_path / "m.yaml"
    mx.write_text("""name: docker-process-%s-%d
device: host-cpu
container: %s
fixed: {model: mobilenet_v3_small, framework: onnxruntime, warmups: 1, iterations: 2, threads: 1,
        timeout_s: 120, process: %s}
repetitions: 2
""" % (container, os.getpid(), container, process))
    runner = DockerRunner(image_tag=tag)
    out = campaign.run(plan.build(mx), runner, tmp_path / "results", models_dir, Console(quiet=True),
                       show_progress=False)
    return out.results


@pytest.mark.parametrize("container", ["fresh", "reuse"])
def test_forked_asked_runs_fresh_and_says_why(tmp_path: Path, models_dir: Path, tag: str, container: str) -> None:
    if container == "reuse":
        need(is_root(), "root (reuse resets the container's cgroup counters from the host)")
    results = run(tmp_path, models_dir, tag, container, "forked")
    assert [r.status for r in results] == ["ok", "ok"], [r.reason for r in results]
    for r in results:
        assert r.host["extra"]["container"]["mode"] == container
        p = r.process
        assert p["mode"] == "fresh" and p["requested"] == "forked", p
        assert "docker runner (container: %s)" % container in p["fallback"], p
        assert p["import_s"] > 0, "written by the harness inside the container, not only by the host"
        assert r.host["extra"]["process"] == {k: p[k] for k in ("mode", "requested", "fallback")}


def test_fresh_asked_records_no_fallback(tmp_path: Path, models_dir: Path, tag: str) -> None:
    need(is_root(), "root (reuse resets the container's cgroup counters from the host)")
    results = run(tmp_path, models_dir, tag, "reuse", "fresh")
    assert [r.status for r in results] == ["ok", "ok"], [r.reason for r in results]
    for r in results:
        assert r.process["mode"] == "fresh" and "requested" not in r.process and "fallback" not in r.process


def test_a_run_that_never_started_still_says_why_it_was_not_forked(tmp_path: Path, models_dir: Path) -> None:
    """No image with that tag: the run fails before any container, and the host's record stands in."""
    results = run(tmp_path, models_dir, "no-such-tag-%d" % os.getpid(), "fresh", "forked")
    assert [r.status for r in results] == ["failed", "failed"], [r.reason for r in results]
    assert all(r.process["requested"] == "forked" and r.process["fallback"] for r in results), results[0].process
