"""Containers reused across a cell's repetitions, for real: the repo's amd64 ONNX Runtime image on a real engine.

One container serves a cell's runs (each a `docker exec` with its own spec, attempt folder and fate); a P1
sweep's limits are changed on the live container and read back inside each run; an OOM, a timeout and a
process left behind are each one run's fate; the container is removed at the campaign's end, on Ctrl-C,
and by the orphan reaper after kill -9 of the orchestrator.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from edgebench.cli import campaign, images, plan
from edgebench.cli.runners import docker_reuse, record
from edgebench.cli.runners.docker import TOKEN, DockerRunner
from edgebench.cli.runners.reap import reap_orphans
from edgebench.suite.spec import RunResult
from rich.console import Console

from tests.conftest import ROOT, is_root, need
from tests.integration.test_docker_images import built

pytestmark = [pytest.mark.integration, pytest.mark.docker]
MIB = 1 << 20


@pytest.fixture(scope="module")
def tag(onnx_mnv3: str) -> str:
    need(is_root(), "root (reuse resets the container's cgroup counters from the host)")
    return built("host-cpu", "onnxruntime").tag


def labelled(campaign_name: str) -> list[Any]:
    return images.client().containers.list(all=True, ignore_removed=True,
                                           filters={"label": "org.edgebench.campaign=%s" % campaign_name})


def run_matrix(tmp_path: Path, models_dir: Path, tag: str, text: str, allow_no_swap: bool = False
               ) -> tuple[list[RunResult], DockerRunner, Path]:
    mx = tmp_path / "m.yaml"
    mx.write_text(text)
    p = plan.build(mx)
    runner = DockerRunner(image_tag=tag, allow_no_swap=allow_no_swap)
    out = campaign.run(p, runner, tmp_path / "results", models_dir, Console(quiet=True), show_progress=False)
    return out.results, runner, out.dir


def exec_started(camp: Path) -> bool:
    """A run's exec'd process is recorded (its pid) in its run folder."""
    return any(a.get("pid") for h in camp.glob("*/host.json") for a in record.read(h.parent).get("attempts", []))


def cont(r: RunResult) -> dict[str, Any]:
    c = r.host["extra"]["container"]
    assert isinstance(c, dict)
    return c


def test_a_cells_repetitions_share_one_container_each_its_own_run(tmp_path: Path, models_dir: Path, tag: str) -> None:
    name = "reuse-reps-%d" % os.getpid()
    results, runner, camp = run_matrix(tmp_path, models_dir, tag, """name: %s
device: host-cpu
container: reuse
fixed: {model: mobilenet_v3_small, framework: onnxruntime, warmups: 1, iterations: 5, threads: 1,
        memory_mb: 512, memory_swap_mb: 512, timeout_s: 120}
axes: {batch_size: [1, 2]}
repetitions: 3
""" % name)
    assert [r.status for r in results] == ["ok"] * 6, [r.reason for r in results]
    info = [cont(r) for r in results]
    assert [c["mode"] for c in info] == ["reuse"] * 6
    assert [c["runs_served"] for c in info] == [1, 2, 3, 1, 2, 3]
    assert [c["reused"] for c in info] == [False, True, True, False, True, True]
    ids = [c["id"] for c in info]
    assert ids[0] == ids[1] == ids[2] != ids[3] == ids[4] == ids[5], "one container per cell"
    assert runner._pool is not None and runner._pool.started == 2
    for r in results:
        assert len(r.latencies_s) == 5 and r.host["exit_code"] == 0
        assert r.host["limits"]["match"] is True, r.host["limits"]["mismatches"]  # read inside, every run
        assert r.host["oom_evidence"]["oom_kill"] == 0
        assert r.host["oom_evidence"]["max_usage_bytes"] > 20 * MIB, "the cgroup's peak, reset for each run"
        assert r.host["extra"]["container"]["reclaim"]["force_empty"] == "ok"
        run_dir = camp / r.run_id
        assert "phase measure" in (run_dir / "log").read_text(), "each run's own output, in its own folder"
        assert record.read(run_dir)["attempts"][-1]["ended"] is True
        assert r.host["command"][:2] == ["docker", "exec"]
    assert not labelled(name), "removed at the campaign's end"
    assert not (camp / docker_reuse.HOME).exists()


def test_sweep_limits_change_on_the_live_container_and_oom_is_one_runs_fate(tmp_path: Path, models_dir: Path,
                                                                          tag: str) -> None:
    """30 MiB without swap kills the model (OOM), the stages above run, all in one container: the OOM verdict
    is each run's own (oom_kill after minus before), and each stage's limits are read back inside."""
    name = "reuse-sweep-%d" % os.getpid()
    results, _, _ = run_matrix(tmp_path, models_dir, tag, """name: %s
device: host-cpu
container: reuse
fixed: {model: mobilenet_v3_small, framework: onnxruntime, warmups: 1, iterations: 5, threads: 1, timeout_s: 120}
sweep: {start_mb: 30, end_mb: 530, stages: 2, budget_mb: 530, rounds: [ascending, descending], settle_s: 0}
repetitions: 1
""" % name, allow_no_swap=True)
    stages = [r.spec["limits"]["memory_mb"] for r in results]
    assert stages == [30, 280, 530, 280, 30]
    assert [r.status for r in results] == ["oom", "ok", "ok", "ok", "oom"], [r.reason for r in results]
    assert len({cont(r)["id"] for r in results}) == 1, "one container for the whole sweep"
    assert [cont(r)["runs_served"] for r in results] == [1, 2, 3, 4, 5]
    for r in results:
        assert r.host["limits_applied"]["memory_limit_bytes"] == int(r.spec["limits"]["memory_mb"] * MIB)
        assert r.host["limits_applied"]["memory_swap_limit_bytes"] == 530 * MIB
        assert r.host["oom_evidence"]["oom_kill"] == (1 if r.status == "oom" else 0), r.host["oom_evidence"]
        if r.status == "ok":
            assert r.host["limits"]["match"] is True, r.host["limits"]["mismatches"]
            assert r.env["start"]["cgroup"]["memory_limit_bytes"] == int(r.spec["limits"]["memory_mb"] * MIB)
        else:
            assert r.host["exit_code"] == 137
    for r in results[1:]:
        upd = cont(r)["limits_updated"]
        assert upd["to_bytes"][0] == int(r.spec["limits"]["memory_mb"] * MIB), upd
    assert not labelled(name)


def test_a_cpuset_changes_on_the_live_container_and_each_run_sees_its_own(tmp_path: Path, models_dir: Path,
                                                                          tag: str) -> None:
    need(len(os.sched_getaffinity(0)) >= 2, "two CPUs, so that a cpuset of one is a real restriction")
    name = "reuse-cpuset-%d" % os.getpid()
    results, _, _ = run_matrix(tmp_path, models_dir, tag, """name: %s
device: host-cpu
container: reuse
fixed: {model: mobilenet_v3_small, framework: onnxruntime, warmups: 1, iterations: 3, threads: 1,
        memory_mb: 512, memory_swap_mb: 512, timeout_s: 120}
axes: {cpuset: ['0', '0-1', '1']}
""" % name)
    assert [r.status for r in results] == ["ok"] * 3, [r.reason for r in results]
    assert len({cont(r)["id"] for r in results}) == 1, "one container, its cpuset updated live"
    assert [cont(r).get("cpuset_updated") for r in results] == [
        None, {"from": "0", "to": "0-1"}, {"from": "0-1", "to": "1"}]
    for r, cpus in zip(results, ([0], [0, 1], [1])):
        assert r.host["limits"]["match"] is True, r.host["limits"]["mismatches"]
        assert r.host["limits"]["applied"]["cpu_affinity"] == cpus  # as the exec'd run saw itself
    assert not labelled(name)


def test_a_timeout_ends_that_run_only(tmp_path: Path, models_dir: Path, tag: str) -> None:
    name = "reuse-timeout-%d" % os.getpid()
    results, _, _ = run_matrix(tmp_path, models_dir, tag, """name: %s
device: host-cpu
container: reuse
fixed: {model: mobilenet_v3_small, framework: onnxruntime, warmups: 1, iterations: 1000000, threads: 1,
        timeout_s: 5}
repetitions: 2
""" % name)
    assert [r.status for r in results] == ["timeout", "timeout"], [r.reason for r in results]
    assert all(r.latencies_s for r in results), "SIGTERM first: the suite keeps what it measured"
    assert cont(results[0])["id"] == cont(results[1])["id"], "the container outlived the timed-out run"
    assert "ended_reuse" not in cont(results[0])
    assert not labelled(name)


def test_a_process_left_behind_ends_reuse(tmp_path: Path, models_dir: Path, tag: str,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """A run that leaves a process in the container (it could write into the next run's folder) ends
    reuse: the container, and the process with it, is removed; the next run gets a fresh container."""
    attack = ("(sleep 600 &); mkdir /edgebench/out/planted && echo PLANTED; touch /edgebench/in/runs/x && "
              "echo WROTE-IN; ")
    monkeypatch.setattr(docker_reuse, "_CLEAN_TMP", attack + docker_reuse._CLEAN_TMP)
    name = "reuse-left-%d" % os.getpid()
    results, _, camp = run_matrix(tmp_path, models_dir, tag, """name: %s
device: host-cpu
container: reuse
fixed: {model: mobilenet_v3_small, framework: onnxruntime, warmups: 1, iterations: 2, threads: 1, timeout_s: 120}
repetitions: 2
""" % name)
    assert [r.status for r in results] == ["ok", "ok"], [r.reason for r in results]
    first, second = cont(results[0]), cont(results[1])
    assert "left 1 process" in first["ended_reuse"], first
    assert second["id"] != first["id"] and second["reused"] is False
    log = (camp / results[0].run_id / "log").read_text()
    assert "PLANTED" not in log and "WROTE-IN" not in log, "out/ and in/ take nothing from the run's user"
    assert not labelled(name)


def test_kill9_of_the_orchestrator_leaves_the_container_to_the_reaper(tmp_path: Path, models_dir: Path,
                                                                      tag: str) -> None:
    name = "reuse-orphan-%d" % os.getpid()
    mx = tmp_path / ("%s.yaml" % name)
    mx.write_text("name: %s\ndevice: host-cpu\ncontainer: reuse\nfixed: {framework: onnxruntime, model: "
                  "mobilenet_v3_small, warmups: 1, iterations: 100000, threads: 1, timeout_s: 300}\n" % name)
    results = tmp_path / "results"
    argv = [sys.executable, "-m", "edgebench.cli.app", "run", str(mx), "--runner", "docker", "--results",
            str(results), "--models", str(models_dir), "--no-report", "--json"]
    env = dict(os.environ, EDGEBENCH_IMAGE_TAG=tag)
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=str(ROOT), env=env)
    try:
        homes: list[Path] = []
        for _ in range(2400):
            homes = list((results / name / docker_reuse.HOME).glob("*/host.json"))
            if homes and exec_started(results / name):
                break
            assert proc.poll() is None, proc.communicate()[1].decode()[-2000:]
            time.sleep(0.05)
        else:
            pytest.fail("no run started in a reused container")
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    token = record.read(homes[0].parent)["attempts"][0]["token"]
    left = images.client().containers.list(all=True, filters={"label": "%s=%s" % (TOKEN, token)})
    assert len(left) == 1, "the kept container outlives its orchestrator"
    said = reap_orphans(results / name)
    assert any("removed container %s" % left[0].id[:12] in m for m in said), said
    assert not labelled(name), "the reaper removed the kept container"


def test_fresh_is_the_default_and_says_so(tmp_path: Path, models_dir: Path, tag: str) -> None:
    results, runner, camp = run_matrix(tmp_path, models_dir, tag, """name: reuse-default-%d
device: host-cpu
fixed: {model: mobilenet_v3_small, framework: onnxruntime, warmups: 1, iterations: 2, threads: 1, timeout_s: 120}
repetitions: 2
""" % os.getpid())
    info = [cont(r) for r in results]
    assert [c["mode"] for c in info] == ["fresh", "fresh"] and info[0]["id"] != info[1]["id"]
    assert runner._pool is None and not (camp / docker_reuse.HOME).exists()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_ctrl_c_removes_the_kept_container(tmp_path: Path, models_dir: Path, tag: str, sig: int) -> None:
    name = "reuse-ctrl-c-%d-%d" % (os.getpid(), sig)
    mx = tmp_path / "long.yaml"
    mx.write_text("name: %s\ndevice: host-cpu\ncontainer: reuse\nfixed: {framework: onnxruntime, model: "
                  "mobilenet_v3_small, iterations: 1000000, timeout_s: 300, threads: 1}\n" % name)
    proc = subprocess.Popen([sys.executable, "-m", "edgebench.cli.app", "run", str(mx), "--runner", "docker",
                             "--results", str(tmp_path / "results"), "--models", str(models_dir)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=str(ROOT),
                            env=dict(os.environ, EDGEBENCH_IMAGE_TAG=tag))
    try:
        for _ in range(2400):
            found = labelled(name)
            if found and found[0].status == "running" and exec_started(tmp_path / "results" / name):
                break
            assert proc.poll() is None, proc.communicate()[1].decode()[-2000:]
            time.sleep(0.05)
        else:
            pytest.fail("no run started in a reused container")
        proc.send_signal(sig)
        assert proc.wait(timeout=60) == 130
    finally:
        if proc.poll() is None:  # the test failed: kill -9, then let the reaper end what it left
            proc.kill()
            proc.wait(timeout=30)
            reap_orphans(tmp_path / "results" / name)
    assert not labelled(name), "Ctrl-C left the kept container behind"
