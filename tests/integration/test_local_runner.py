"""The local runner for real: fresh processes in real cgroups, real OOM kills, timeouts, resume.

The behaviour tests run in both process modes (`runner` fixture): a fresh interpreter per run, and a child
forked from a server that imported torch once (suite/forkserver.py); the same assertions hold in both."""

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from edgebench.cli import campaign, cgroups, plan
from edgebench.cli.runners.local import LocalRunner
from edgebench.suite import cgroup as reader
from edgebench.suite.spec import Limits, RunResult, RunSpec

from tests.conftest import is_root, need


def needs_cgroups() -> None:
    need(is_root(), "root, to make cgroups")
    need(reader.memory_version() is not None, "a memory cgroup controller")


@pytest.fixture(params=["fresh", "forked"])
def runner(request: pytest.FixtureRequest) -> Iterator[LocalRunner]:
    r = LocalRunner(process=request.param)
    yield r
    r.close()


def check_mode(r: RunResult, runner: LocalRunner) -> None:
    """The run really ran in the mode asked (a forked run that fell back to fresh would test nothing new)."""
    assert r.process.get("mode") == runner.process, r.process
    if runner.process == "forked":
        assert r.host["extra"]["process"]["server"]["pid"] > 0


def run_cgroups(run_id: str) -> list[Path]:
    """The run's memory cgroup folders where the detected hierarchy keeps them (v1: memory/, v2: unified)."""
    base = Path(reader.CGROUP_ROOT) / ("memory" if reader.memory_version() == 1 else "") / cgroups.PARENT
    return sorted(base.glob("%s-*" % run_id))


def test_limits_applied_equal_limits_asked(tmp_path: Path, models_dir: Path, torch_rn18: str,
                                          runner: LocalRunner) -> None:
    needs_cgroups()
    v1 = reader.memory_version() == 1  # cgroup v2 has no per-group swappiness: asked only on v1
    spec = RunSpec(model="resnet18", framework="torch", iterations=3, artifact=torch_rn18,
                   limits=Limits(memory_mb=1536, memory_swap_mb=1536, swappiness=10 if v1 else None, cpus=1.5))
    r = runner.execute(spec, tmp_path / "run", models_dir)
    assert r.status == "ok", r.reason
    check_mode(r, runner)
    lim = r.host["limits"]
    assert lim["match"] is True, lim["mismatches"]
    assert lim["applied"]["memory_mb"] == pytest.approx(1536)
    assert lim["applied"]["swappiness"] == (10 if v1 else None)
    assert lim["applied"]["cpus"] == pytest.approx(1.5)
    inside = r.env["start"]["cgroup"]
    assert inside["memory_limit_bytes"] == 1536 << 20
    # the cgroup is gone after the run
    assert not any(Path(p).exists() for p in r.host["extra"]["cgroup"])
    cmd = json.loads((tmp_path / "run" / "command.json").read_text())
    assert cmd["runner"] == "local" and "edgebench.suite" in cmd["argv"]
    assert ("memory.limit_in_bytes" if v1 else "memory.max") in (tmp_path / "run" / "command.sh").read_text()


def test_a_cpuset_pins_the_run_to_its_cpus(tmp_path: Path, models_dir: Path, torch_rn18: str,
                                           runner: LocalRunner) -> None:
    needs_cgroups()
    need(len(os.sched_getaffinity(0)) >= 2, "two CPUs, so that a cpuset of one is a real restriction")
    spec = RunSpec(model="resnet18", framework="torch", iterations=2, artifact=torch_rn18,
                   limits=Limits(memory_mb=1536, cpuset="0"))
    r = runner.execute(spec, tmp_path / "run", models_dir)
    assert r.status == "ok", r.reason
    check_mode(r, runner)
    lim = r.host["limits"]
    if reader.memory_version() == 2 and any("cpuset not applied" in n for n in lim["notes"]):
        need(False, "the cpuset controller enabled in this cgroup v2 tree")
    assert lim["match"] is True, lim["mismatches"]
    assert lim["applied"]["cpuset"] == "0" and lim["applied"]["cpu_affinity"] == [0]  # as the run saw itself
    assert r.env["start"]["cgroup"]["cpu_affinity"] == [0]
    assert r.host["limits_applied"]["cpuset"] == "0"  # as the host read the group back
    assert "cpuset.cpus" in (tmp_path / "run" / "command.sh").read_text()
    assert not any(Path(p).exists() for p in r.host["extra"]["cgroup"])


def test_oom_kill_is_recorded_as_oom(tmp_path: Path, models_dir: Path, torch_rn18: str, runner: LocalRunner) -> None:
    needs_cgroups()
    spec = RunSpec(model="resnet18", framework="torch", batch_size=8, iterations=3, artifact=torch_rn18,
                   limits=Limits(memory_mb=150, memory_swap_mb=150))
    r = runner.execute(spec, tmp_path / "run", models_dir)
    assert r.status == "oom", (r.status, r.reason)
    check_mode(r, runner)
    assert r.host["oom_killed"] is True and r.host["oom_evidence"]["oom_kill"] >= 1
    assert "OOM" in r.reason
    assert json.loads((tmp_path / "run" / "result.json").read_text())["status"] == "oom"


def test_plain_kill_is_not_an_oom(tmp_path: Path, models_dir: Path, torch_rn18: str, runner: LocalRunner) -> None:
    needs_cgroups()
    spec = RunSpec(model="resnet18", framework="torch", iterations=100000, artifact=torch_rn18,
                   limits=Limits(memory_mb=2048), timeout_s=120)
    killer_done = threading.Event()

    def kill_child() -> None:
        # find the run's process through its cgroup, and SIGKILL it as an outside agent would
        deadline = time.time() + 60
        while time.time() < deadline:
            for d in run_cgroups(spec.run_id):
                pids = (d / "cgroup.procs").read_text().split()
                if pids and (tmp_path / "run" / "log").exists() and "phase measure" in (
                        tmp_path / "run" / "log").read_text():
                    os.kill(int(pids[0]), signal.SIGKILL)
                    killer_done.set()
                    return
            time.sleep(0.2)

    t = threading.Thread(target=kill_child)
    t.start()
    r = runner.execute(spec, tmp_path / "run", models_dir)
    t.join()
    assert killer_done.is_set()
    assert r.status == "killed", (r.status, r.reason)
    check_mode(r, runner)
    assert "no OOM kill" in r.reason


def test_timeout_keeps_partial_samples(tmp_path: Path, models_dir: Path, torch_rn18: str, runner: LocalRunner) -> None:
    # 20 s: a fresh `import torch` plus ResNet18's load take ~15 s on this 2-core host when others run beside it
    spec = RunSpec(model="resnet18", framework="torch", iterations=100000, artifact=torch_rn18, timeout_s=20)
    t0 = time.monotonic()
    r = runner.execute(spec, tmp_path / "run", models_dir)
    assert time.monotonic() - t0 < 20 + 5 + 20  # the timeout, SIGTERM's grace, and slack for writing
    assert r.status == "timeout" and r.host["timed_out"] is True
    check_mode(r, runner)
    # SIGTERM first: the child wrote what it had measured before it stopped
    assert len(r.latencies_s) > 0


def test_swap_scenario_without_swap_is_refused_unless_allowed() -> None:
    spec = RunSpec(model="resnet18", framework="torch", limits=Limits(memory_mb=100, memory_swap_mb=300))
    problems = LocalRunner().preflight([spec])
    if psutil.swap_memory().total == 0:
        assert problems and "no swap" in problems[0] and "--allow-no-swap" in problems[0]
    else:
        assert problems == []
    assert LocalRunner(allow_no_swap=True).preflight([spec]) == []


MATRIX = """\
name: resume
fixed: {iterations: 3, warmups: 1, threads: 1}
axes:
  model: [mobilenet_v3_small]
  framework: [torch, onnxruntime]
"""


@pytest.mark.parametrize("mode", ["fresh", "forked"])
def test_campaign_resumes_and_never_overwrites(tmp_path: Path, models_dir: Path, mode: str) -> None:
    from rich.console import Console

    mfile = tmp_path / "m.yaml"
    mfile.write_text(MATRIX)
    p = plan.build(mfile)
    console = Console(stderr=True, quiet=True)
    first = campaign.run(p, LocalRunner(process=mode), tmp_path / "results", models_dir, console, show_progress=False)
    assert [r.status for r in first.results] == ["ok", "ok"], [r.reason for r in first.results]
    assert [r.process["mode"] for r in first.results] == [mode, mode]
    camp = tmp_path / "results" / "resume"
    mtimes = {d.name: (d / "result.json").stat().st_mtime_ns for d in camp.iterdir() if d.is_dir()}
    again = campaign.run(p, LocalRunner(process=mode), tmp_path / "results", models_dir, console, show_progress=False)
    assert again.resumed == 2
    assert mtimes == {d.name: (d / "result.json").stat().st_mtime_ns for d in camp.iterdir()
                      if d.is_dir() and not d.name.startswith("_")}
    # a run that crashed mid-way (no result.json) is set aside, not overwritten, and run again
    victim = camp / p.runs[0].run_id
    (victim / "result.json").unlink()
    third = campaign.run(p, LocalRunner(process=mode), tmp_path / "results", models_dir, console, show_progress=False)
    assert third.resumed == 1 and len(third.set_aside) == 1
    assert (Path(third.set_aside[0]) / "spec.json").exists()
    assert (victim / "result.json").exists()


def test_replay_runs_the_saved_command_into_a_new_folder(tmp_path: Path, models_dir: Path, torch_rn18: str) -> None:
    spec = RunSpec(model="resnet18", framework="torch", iterations=2, artifact=torch_rn18)
    run_dir = tmp_path / "camp" / spec.run_id
    LocalRunner().execute(spec, run_dir, models_dir)
    proc = subprocess.run([sys.executable, "-m", "edgebench.cli.app", "replay", str(run_dir), "--models",
                           str(models_dir), "--json"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    new = Path(out["run_dir"])
    assert new != run_dir and out["status"] == "ok"
    assert json.loads((new / "spec.json").read_text()) == json.loads((run_dir / "spec.json").read_text())
