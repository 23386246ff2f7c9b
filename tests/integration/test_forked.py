"""Warm-import runs for real: a fork server per framework, real runtimes, real forks, real refusals.

What each runtime's import does to the process was measured on this host (torch 2.x, onnxruntime 1.x,
ai-edge-litert 2.x, tensorflow 2.x): torch and LiteRT start no thread that survives a fork; ONNX Runtime's
extension module starts one (a child forked after it aborts at exit: std::system_error), TensorFlow starts
several. The tests below check those facts, and what the runner does with them.
"""

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from edgebench.cli.runners import forked
from edgebench.cli.runners.local import LocalRunner
from edgebench.suite.spec import RunSpec

from tests.conftest import has_module, need


@pytest.fixture
def runner() -> Iterator[LocalRunner]:
    r = LocalRunner(process="forked")
    yield r
    r.close()


def blockers_after_import(module: str) -> str:
    """fork_blockers() in a fresh interpreter that imported `module` (as a server would)."""
    code = ("import sys, %s\nfrom edgebench.suite import forkserver\nsys.stdout.write(forkserver.fork_blockers(%r))"
            % (module, module))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def test_numpy_and_torch_imports_leave_nothing_that_blocks_a_fork() -> None:
    need(has_module("torch"), "torch")
    # numpy's OpenBLAS pool is a thread before the fork; its atfork handler stops it, so it does not count
    assert blockers_after_import("numpy") == ""
    assert blockers_after_import("torch") == ""


def test_onnxruntime_and_tensorflow_imports_block_a_fork() -> None:
    need(has_module("onnxruntime"), "onnxruntime")
    assert "survive a fork" in blockers_after_import("onnxruntime")
    if has_module("tensorflow"):
        assert "survive a fork" in blockers_after_import("tensorflow")


def test_runs_share_one_server_that_imported_once(tmp_path: Path, models_dir: Path, torch_rn18: str,
                                                  runner: LocalRunner) -> None:
    spec = RunSpec(model="resnet18", framework="torch", iterations=3, artifact=torch_rn18)
    first = runner.execute(spec, tmp_path / "a", models_dir)
    second = runner.execute(RunSpec(model="resnet18", framework="torch", iterations=3, artifact=torch_rn18,
                                    repetition=1), tmp_path / "b", models_dir)
    for r in (first, second):
        assert r.status == "ok", r.reason
        assert r.process["mode"] == "forked" and r.process["runtime_preloaded"] is True
        # the import was paid by the server: this run's import phase is a tiny share of it
        assert r.process["run_import_s"] < 0.25 * r.process["import_s"]
    assert first.process["server_pid"] == second.process["server_pid"]
    assert (first.process["served"], second.process["served"]) == (1, 2)
    # the same files as a fresh run, from the same path
    assert {"result.json", "samples.jsonl", "monitor.jsonl", "env.json", "log"} <= {
        p.name for p in (tmp_path / "a").iterdir()}
    assert "phase measure" in (tmp_path / "a" / "log").read_text()
    (pool,) = runner.pools.values()  # one interpreter: the host's
    server = pool.servers["torch"]
    runner.close()
    assert server.proc.returncode == 0, "the server ends by itself when the runner closes its connection"
    assert not Path(server.dir).exists()


def test_onnxruntime_runs_forked_without_the_runtime_in_the_server(tmp_path: Path, models_dir: Path,
                                                                   onnx_mnv3: str, runner: LocalRunner) -> None:
    spec = RunSpec(model="mobilenet_v3_small", framework="onnxruntime", iterations=3, artifact=onnx_mnv3)
    r = runner.execute(spec, tmp_path / "run", models_dir)
    assert r.status == "ok", r.reason
    assert r.process["mode"] == "forked" and r.process["runtime_preloaded"] is False
    assert any("survive a fork" in n for n in r.process["notes"]), r.process
    assert r.host["exit_code"] == 0, "the child imported ONNX Runtime itself, so it exits cleanly"


def test_accelerator_placement_falls_back_to_fresh_with_the_reason(tmp_path: Path, models_dir: Path,
                                                                   onnx_mnv3: str, runner: LocalRunner) -> None:
    spec = RunSpec(model="mobilenet_v3_small", framework="onnxruntime", iterations=3, artifact=onnx_mnv3,
                   placement="cuda:0")
    assert "placement 'cuda:0'" in forked.refusal(spec)
    r = runner.execute(spec, tmp_path / "run", models_dir)
    assert r.process["mode"] == "fresh" and r.process["requested"] == "forked"
    assert "placement 'cuda:0'" in r.process["fallback"]
    assert not any(p.servers for p in runner.pools.values()), "no server was started for it"


def test_a_dead_server_is_started_again(tmp_path: Path, models_dir: Path, onnx_mnv3: str,
                                        runner: LocalRunner) -> None:
    spec = RunSpec(model="mobilenet_v3_small", framework="onnxruntime", iterations=2, artifact=onnx_mnv3)
    first = runner.execute(spec, tmp_path / "a", models_dir)
    os.kill(first.process["server_pid"], signal.SIGKILL)
    time.sleep(0.2)
    second = runner.execute(spec, tmp_path / "b", models_dir)
    assert second.status == "ok", second.reason
    assert second.process["mode"] == "forked" and second.process["server_pid"] != first.process["server_pid"]
    assert any("had died" in n for n in second.process["notes"]), second.process


def test_the_server_kills_its_run_when_the_host_goes_away(tmp_path: Path, models_dir: Path, onnx_mnv3: str) -> None:
    """A host that dies mid-run leaves no run behind: the server sees its connection end, kills the child's
    group, and exits."""
    spec = RunSpec(model="mobilenet_v3_small", framework="onnxruntime", iterations=10 ** 7, artifact=onnx_mnv3)
    (tmp_path / "out").mkdir()
    (tmp_path / "spec.json").write_text(json.dumps(spec.to_dict()))
    srv = forked.ForkServer(sys.executable, "onnxruntime", runtime=False)
    pid = srv.start({"spec": str(tmp_path / "spec.json"), "outdir": str(tmp_path / "out"), "models": str(models_dir),
                     "log": str(tmp_path / "log"), "cgroup_procs": [], "env": {}})
    child = psutil.Process(pid)
    deadline = time.time() + 120
    while "phase measure" not in ((tmp_path / "log").read_text() if (tmp_path / "log").exists() else ""):
        assert time.time() < deadline, "the run never reached its measure phase"
        time.sleep(0.2)
    srv.sock.close()  # as the kernel does when the host process dies
    assert srv.proc.wait(timeout=10) == 0
    child.wait(timeout=10)
    assert not child.is_running()
    srv.close()


def test_a_runtime_that_is_missing_fails_as_in_a_fresh_run(tmp_path: Path, models_dir: Path,
                                                           runner: LocalRunner) -> None:
    """The child runs the normal `run` path: a framework not installed here is the same failed record."""
    need(not has_module("tensorrt"), "a host without TensorRT")
    spec = RunSpec(model="resnet18", framework="tensorrt", iterations=2)
    fresh = LocalRunner().execute(spec, tmp_path / "fresh", models_dir)
    r = runner.execute(spec, tmp_path / "forked", models_dir)
    assert r.process["mode"] == "forked" and r.process["runtime_preloaded"] is False
    assert (r.status, r.reason) == (fresh.status, fresh.reason) and "not installed" in r.reason


def test_a_fork_server_left_by_a_dead_host_is_reaped(tmp_path: Path) -> None:
    """The server ends with its host's connection; one that hung is ended by the next campaign (reap.py), from
    the record in its run's host.json, and only if its pid is still that very process."""
    from edgebench.cli.runners import record
    from edgebench.cli.runners.reap import reap_orphans

    run_dir = tmp_path / "camp" / "r1"
    run_dir.mkdir(parents=True)
    srv = forked.ForkServer(sys.executable, "onnxruntime", runtime=False)
    try:
        record.add_attempt(run_dir, {"id": "1-a", "server": srv.record()})
        assert reap_orphans(tmp_path / "camp") == [] and srv.alive(), "its host (this test) is alive"
        record.update_attempt(run_dir, "1-a", orchestrator={"pid": 1, "start": 1.0})
        msgs = reap_orphans(tmp_path / "camp")
        assert len(msgs) == 1 and "killed fork server %d" % srv.proc.pid in msgs[0], msgs
        assert srv.proc.wait(timeout=10) == -signal.SIGKILL
    finally:
        srv.close()
