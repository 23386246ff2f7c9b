"""kill -9 of the orchestrator, for real: `edgebench run` in a subprocess, killed mid-run; what it left (the
run's process and cgroup, or its container) is still there; the next `edgebench run` of the campaign ends
it before running anything, redoes the run once, and a late write into the orphan's folder changes nothing."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

import pytest
from edgebench.cli import images
from edgebench.cli.runners import record
from edgebench.cli.runners.docker import TOKEN
from edgebench.suite import cgroup as reader

from tests.conftest import ROOT, docker_ok, is_root, need

pytestmark = [pytest.mark.integration]


def matrix(tmp_path: Path, name: str, extra: str = "") -> Path:
    mx = tmp_path / ("%s.yaml" % name)
    mx.write_text("name: %s\n%sfixed: {framework: onnxruntime, model: mobilenet_v3_small, warmups: 1, "
                  "iterations: 3000, threads: 1, timeout_s: 300}\naxes:\n  batch_size: [1]\n" % (name, extra))
    return mx


def edgebench_run(mx: Path, results: Path, models: Path, runner: str, env: dict[str, str]) -> "subprocess.Popen[str]":
    return subprocess.Popen([sys.executable, "-m", "edgebench.cli.app", "run", str(mx), "--runner", runner,
                             "--results", str(results), "--models", str(models), "--no-report", "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=str(ROOT), env=env)


def wait_for_attempt(camp: Path, key: str, proc: "subprocess.Popen[str]") -> tuple[Path, dict[str, Any]]:
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        for host in camp.glob("*/host.json"):
            attempts = record.read(host.parent).get("attempts") or []
            if attempts and attempts[-1].get(key):
                return host.parent, attempts[-1]
        if proc.poll() is not None:
            pytest.fail("the orchestrator ended before its run started: %s" % proc.communicate()[1][-2000:])
        time.sleep(0.1)
    pytest.fail("no attempt was recorded")


def kill9_then_rerun(mx: Path, tmp_path: Path, models: Path, runner: str, key: str, env: dict[str, str],
                     left_behind: Callable[[dict[str, Any]], None]
                     ) -> tuple[Path, dict[str, Any], "subprocess.CompletedProcess[str]"]:
    """Start `edgebench run`, kill -9 it once its attempt recorded `key`, check what it left, run again."""
    results = tmp_path / "results"
    first = edgebench_run(mx, results, models, runner, env)
    try:
        run_dir, attempt = wait_for_attempt(results / mx.stem, key, first)
        time.sleep(1.0)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
    finally:
        if first.poll() is None:
            first.kill()
    left_behind(attempt)
    again = subprocess.run([sys.executable, "-m", "edgebench.cli.app", "run", str(mx), "--runner", runner,
                            "--results", str(results), "--models", str(models), "--no-report", "--json"],
                           capture_output=True, text=True, cwd=str(ROOT), env=env, timeout=600)
    return run_dir, attempt, again


def check_redone_once(run_dir: Path, again: "subprocess.CompletedProcess[str]", attempt: dict[str, Any]) -> None:
    assert again.returncode == 0, again.stderr[-3000:]
    assert "left by a dead orchestrator" in again.stderr and attempt["id"] in again.stderr, again.stderr[-2000:]
    summary = json.loads(again.stdout)
    assert summary["runs"] == 1 and summary["resumed"] == 0 and len(summary["set_aside"]) == 1
    result = json.loads((run_dir / "result.json").read_text())
    assert result["status"] == "ok" and result["host"], result["reason"]
    attempts = record.read(run_dir)["attempts"]
    assert len(attempts) == 1 and attempts[0]["id"] != attempt["id"] and attempts[0]["ended"]
    aside = record.read(Path(summary["set_aside"][0]))["attempts"]
    assert aside[-1]["id"] == attempt["id"] and aside[-1]["reaped"], "the orphan's record says it was ended"


def late_write_changes_nothing(run_dir: Path, attempt: dict[str, Any], mx: Path, tmp_path: Path, models: Path,
                               runner: str, env: dict[str, str]) -> None:
    """The orphan's output path (a string it holds) is written after the redo, as a late orphan would."""
    before = (run_dir / "result.json").read_bytes()
    late = Path(attempt["dir"])
    late.mkdir(parents=True, exist_ok=True)
    forged = json.loads(before)
    forged.update(status="failed", reason="late write by an orphan", host={})
    (late / "result.json").write_text(json.dumps(forged))
    third = subprocess.run([sys.executable, "-m", "edgebench.cli.app", "run", str(mx), "--runner", runner,
                            "--results", str(tmp_path / "results"), "--models", str(models), "--no-report", "--json"],
                           capture_output=True, text=True, cwd=str(ROOT), env=env, timeout=300)
    assert third.returncode == 0 and json.loads(third.stdout)["resumed"] == 1, third.stderr[-2000:]
    assert (run_dir / "result.json").read_bytes() == before


def test_local_orphan_process_and_cgroup_are_ended_and_the_run_redone_once(tmp_path: Path, models_dir: Path,
                                                                         onnx_mnv3: str) -> None:
    need(is_root() and reader.memory_version() is not None, "root and a memory cgroup controller")

    def left_behind(a: dict[str, Any]) -> None:
        assert record.alive(a["pid"], a["pid_start"]), "the run outlives its orchestrator (its own session)"
        assert a["cgroup"] and all(Path(d).is_dir() for d in a["cgroup"]), "and so does its cgroup"

    mx = matrix(tmp_path, "orphan-local")
    env = dict(os.environ)
    run_dir, attempt, again = kill9_then_rerun(mx, tmp_path, models_dir, "local", "pid", env, left_behind)
    check_redone_once(run_dir, again, attempt)
    assert "killed process %d" % attempt["pid"] in again.stderr
    assert not record.alive(attempt["pid"], attempt["pid_start"]), "the orphan run process was killed"
    assert not any(Path(d).exists() for d in attempt["cgroup"]), "the orphan's cgroup was removed"
    late_write_changes_nothing(run_dir, attempt, mx, tmp_path, models_dir, "local", env)


def test_docker_orphan_container_is_removed_by_its_label(tmp_path: Path, models_dir: Path, onnx_mnv3: str) -> None:
    need(docker_ok(), "a Docker engine")
    from tests.integration.test_docker_images import built

    image = built("host-cpu", "onnxruntime")

    def labelled(a: dict[str, Any]) -> list[Any]:
        return list(images.client().containers.list(all=True, filters={"label": "%s=%s" % (TOKEN, a["token"])}))

    def left_behind(a: dict[str, Any]) -> None:
        assert [c.id for c in labelled(a)] == [a["container_id"]], "the container outlives its orchestrator"

    mx = matrix(tmp_path, "orphan-docker", "device: host-cpu\n")
    env = dict(os.environ, EDGEBENCH_IMAGE_TAG=image.tag)
    run_dir, attempt, again = kill9_then_rerun(mx, tmp_path, models_dir, "docker", "container_id", env, left_behind)
    check_redone_once(run_dir, again, attempt)
    assert "removed container %s" % attempt["container_id"][:12] in again.stderr
    assert labelled(attempt) == [], "the orphan container was removed"
    late_write_changes_nothing(run_dir, attempt, mx, tmp_path, models_dir, "docker", env)


def test_reap_leaves_a_live_orchestrators_run_alone_and_reaps_once(tmp_path: Path) -> None:
    """An attempt whose orchestrator is alive (here: this test) is not touched; a dead one's is ended once."""
    need(is_root() and reader.memory_version() is not None, "root and a memory cgroup controller")
    from edgebench.cli.runners.reap import reap_orphans

    run_dir = tmp_path / "camp" / "r1"
    run_dir.mkdir(parents=True)
    child = subprocess.Popen(["sleep", "300"], start_new_session=True)
    other = subprocess.Popen(["sleep", "300"], start_new_session=True)
    try:
        record.add_attempt(run_dir, {"id": "1-a", "pid": child.pid, "pid_start": record.process_start(child.pid)})
        assert reap_orphans(tmp_path / "camp") == [] and child.poll() is None, "its orchestrator (us) is alive"
        dead = {"pid": 1, "start": 1.0}  # pid 1 lives, but it is not the process that started at 1.0
        record.update_attempt(run_dir, "1-a", orchestrator=dead)
        # A recorded pid now held by another process (pid reuse) is never killed: its start time differs.
        record.add_attempt(run_dir, {"id": "2-b", "pid": other.pid, "pid_start": 1.0})
        record.update_attempt(run_dir, "2-b", orchestrator=dead)
        msgs = reap_orphans(tmp_path / "camp")
        assert len(msgs) == 2 and "killed process %d" % child.pid in msgs[0], msgs
        assert child.wait(timeout=10) == -signal.SIGKILL
        assert other.poll() is None, "a reused pid was left alone"
        assert reap_orphans(tmp_path / "camp") == [], "an attempt is reaped once"
    finally:
        for p in (child, other):
            if p.poll() is None:
                p.kill()
                p.wait()
