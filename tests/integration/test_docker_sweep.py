"""A short P1 memory sweep in containers: low stages OOM-killed, high stages fine, swap really used between.

The budget (memory + swap) is fixed across a P1 sweep, so the cgroup alone never makes the low stages fail:
the kernel swaps what does not fit. What runs out first is the swap device. The test therefore makes a
small swap file, sized from the model's measured footprint P (ResNet18 on ONNX Runtime, ~220 MiB here):
  - stage 10 MiB needs ~0.8 P of swap, more than the device holds (0.4 P): OOM-killed;
  - the middle stage (physical < footprint < physical + swap) runs with part of the model swapped out;
  - the top stage (1.2 P) holds the model in memory.
It needs a host without swap (CI's default) so that the swap device is the one it made.
"""

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from edgebench.cli import campaign, images, plan
from edgebench.cli.runners.docker import DockerRunner
from edgebench.suite.spec import RunSpec
from rich.console import Console

from tests.conftest import is_root, need
from tests.integration.conftest import make_artifact
from tests.integration.test_docker_images import built

pytestmark = [pytest.mark.integration, pytest.mark.docker]
SWAPFILE = Path("/var/tmp/edgebench-test.swap")
MIB = 1 << 20


def _swapoff_ours() -> None:
    if SWAPFILE.exists():
        active = Path("/proc/swaps").read_text()
        if str(SWAPFILE) in active:
            subprocess.run(["swapoff", str(SWAPFILE)], check=True)
        SWAPFILE.unlink()


@pytest.fixture(scope="module")
def tag() -> str:
    return built("host-cpu", "onnxruntime").tag


@pytest.fixture(scope="module")
def footprint_mb(models_dir: Path, tmp_path_factory: pytest.TempPathFactory, tag: str) -> float:
    """P: the cgroup's peak for one unconstrained run of the sweep's cell."""
    art = make_artifact(models_dir, "onnx", "resnet18")
    spec = RunSpec(model="resnet18", framework="onnxruntime", image="edgebench-host-cpu-onnxruntime", warmups=1,
                   iterations=5, threads=1, artifact=art, campaign="test-sweep-footprint")
    r = DockerRunner(image_tag=tag).execute(spec, tmp_path_factory.mktemp("footprint") / spec.run_id, models_dir)
    assert r.status == "ok", r.reason
    peak = r.host["oom_evidence"]["max_usage_bytes"] / float(MIB)
    assert 100 < peak < 1000, "ResNet18 on ONNX Runtime should need a few hundred MiB, measured %.0f" % peak
    return peak


@pytest.fixture(scope="module")
def small_swap(footprint_mb: float) -> Iterator[float]:
    need(is_root(), "root, to add a swap file")
    _swapoff_ours()  # left by an interrupted run
    need(psutil.swap_memory().total == 0, "a host without swap (this test sizes the swap device itself)")
    size_mb = int(0.4 * footprint_mb)
    subprocess.run(["dd", "if=/dev/zero", "of=%s" % SWAPFILE, "bs=1M", "count=%d" % size_mb], check=True,
                   capture_output=True)
    SWAPFILE.chmod(0o600)
    subprocess.run(["mkswap", str(SWAPFILE)], check=True, capture_output=True)
    subprocess.run(["swapon", str(SWAPFILE)], check=True)
    try:
        yield float(size_mb)
    finally:
        _swapoff_ours()


def test_sweep_low_stages_oom_high_stages_run_swap_used_between(models_dir: Path, footprint_mb: float,
                                                                 small_swap: float, tag: str, tmp_path: Path) -> None:
    top = round(1.2 * footprint_mb)
    mx = tmp_path / "sweep.yaml"
    mx.write_text("""name: sweep-docker
device: host-cpu
fixed: {model: resnet18, framework: onnxruntime, warmups: 1, iterations: 10, threads: 1, timeout_s: 240}
sweep: {start_mb: 10, end_mb: %d, stages: 2, budget_mb: %d, swappiness: 10, settle_s: 0.2}
repetitions: 1
""" % (top, 2 * top))
    p = plan.build(mx)
    stages = [r.spec.limits.memory_mb for r in p.runs]
    mid = stages[1]
    assert stages == [10, mid, top, mid, 10, mid, top]
    runner = DockerRunner(image_tag=tag)
    assert not runner.preflight([r.spec for r in p.runs]), "the host has swap now: the plan must be allowed"
    out = campaign.run(p, runner, tmp_path / "results", models_dir, Console(quiet=True), show_progress=False)
    got = [(r.spec["limits"]["memory_mb"], r.status) for r in out.results]
    assert [s for _, s in got] == ["oom", "ok", "ok", "ok", "oom", "ok", "ok"], got
    for r in out.results:
        lim = r.host["limits"]
        if r.status == "ok":
            assert lim["match"] is True, lim["mismatches"]  # read inside, compared with what was asked
        view = r.host["limits_applied"]  # read from the container's cgroup by the host, every run
        assert view["source"] == "cgroup"
        assert view["memory_limit_bytes"] == int(r.spec["limits"]["memory_mb"] * MIB)
        assert view["memory_swap_limit_bytes"] == 2 * top * MIB
        assert view["swappiness"] == 10
        assert r.spec["labels"]["round"] in ("ascending", "descending", "ascending_again")
    for r in out.results:
        if r.status == "oom":
            assert r.host["oom_evidence"].get("oom_kill") or r.host["oom_evidence"].get("oom_events")
            assert r.host["exit_code"] == 137
    middle = [r for r in out.results if r.spec["limits"]["memory_mb"] == mid]
    for r in middle:
        inside = r.monitor["psutil"]["cgroup_swap_mb_max"]  # sampled inside the container while it ran
        assert mid < footprint_mb < mid + (2 * top - mid), "the stage must be physical < footprint < physical + swap"
        assert inside is not None and inside > 5, "swap was not used in the middle stage (%s MiB)" % inside
        assert r.env["end"]["cgroup"]["memsw_peak_bytes"] > mid * MIB, "memory + swap must exceed the physical limit"
    top_runs = [r for r in out.results if r.spec["limits"]["memory_mb"] == top]
    assert all((r.monitor["psutil"]["cgroup_swap_mb_max"] or 0) < 5 for r in top_runs)
    leftovers = images.client().containers.list(all=True, filters={"label": "org.edgebench.campaign=sweep-docker"})
    assert not leftovers
    saved = json.loads((out.dir / out.results[0].run_id / "result.json").read_text())
    assert saved["status"] == "oom" and saved["host"]["runner"] == "docker"
