"""The Docker runner for real: containers of the repo's amd64 ONNX Runtime image on a real engine.

Fates (ok, oom, killed, timeout), the evidence behind each, the saved `docker run` line, Ctrl-C cleanup,
and an engine reached through a non-default socket with the copy transfer a remote engine uses.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from edgebench.cli import images
from edgebench.cli.runners.docker import LABEL, DockerRunner
from edgebench.suite.spec import Limits, RunSpec

from tests.conftest import ROOT, docker_ok, need
from tests.integration.conftest import make_artifact
from tests.integration.test_docker_images import built

pytestmark = [pytest.mark.integration, pytest.mark.docker]


@pytest.fixture(scope="module")
def image() -> images.ImageSpec:
    return built("host-cpu", "onnxruntime")


@pytest.fixture(scope="module")
def mnv3(models_dir: Path, onnx_mnv3: str) -> str:
    return onnx_mnv3


def spec_for(artifact: str, **kw: Any) -> RunSpec:
    base: dict[str, Any] = {"model": "mobilenet_v3_small", "framework": "onnxruntime",
                            "image": "edgebench-host-cpu-onnxruntime", "warmups": 1, "iterations": 5, "threads": 1,
                            "artifact": artifact, "campaign": "test-docker-runner", "timeout_s": 120}
    base.update(kw)
    return RunSpec(**base)


def containers_labelled(key: str, value: str) -> list[Any]:
    return images.client().containers.list(all=True, filters={"label": "%s=%s" % (key, value)})


def test_ok_run_records_image_limits_and_replayable_command(image: images.ImageSpec, models_dir: Path, mnv3: str,
                                                            tmp_path: Path) -> None:
    spec = spec_for(mnv3, limits=Limits(memory_mb=512, memory_swap_mb=512, swappiness=10, cpus=1.5))
    run_dir = tmp_path / spec.run_id
    r = DockerRunner(image_tag=image.tag).execute(spec, run_dir, models_dir)
    assert r.status == "ok", r.reason
    assert len(r.latencies_s) == 5 and r.summary is not None
    host = r.host
    assert host["runner"] == "docker" and host["exit_code"] == 0 and not host["oom_killed"]
    assert host["limits"]["match"] is True, host["limits"]["mismatches"]
    assert host["limits"]["applied"]["memory_mb"] == pytest.approx(512)
    assert host["limits"]["applied"]["memory_swap_mb"] == pytest.approx(512)
    assert host["limits"]["applied"]["cpus"] == pytest.approx(1.5)
    assert host["limits_applied"]["source"] == "cgroup"  # read from the container's cgroup by the host
    img = host["extra"]["image"]
    assert img["ref"] == image.ref and img["id"].startswith("sha256:")
    inside = r.env["start"]["env_vars"]
    assert inside["EDGEBENCH_IMAGE_DIGEST"] == img["digest"] and inside["EDGEBENCH_IMAGE"] == image.ref
    assert r.env["start"]["in_container"] is True
    assert r.env["start"]["cgroup"]["memory_limit_bytes"] == 512 << 20
    cmd = json.loads((run_dir / "command.json").read_text())
    assert cmd["runner"] == "docker" and cmd["image_id"] == img["id"]
    argv = cmd["argv"]
    for flag, value in (("--memory", str(512 << 20)), ("--memory-swap", str(512 << 20)), ("--network", "none"),
                        ("--memory-swappiness", "10"), ("--cpus", "1.5"), ("--user", "65534:65534")):
        assert argv[argv.index(flag) + 1] == value
    assert "--read-only" in argv and "no-new-privileges" in argv
    assert not any("docker.sock" in a for a in argv)
    assert "phase measure" in (run_dir / "log").read_text()
    assert not containers_labelled(LABEL, spec.run_id), "the container must be removed"
    assert os.stat(run_dir / "result.json").st_uid == os.geteuid(), "results belong to the caller again"

    # The saved line, run by hand, makes the same container and a new result in its own attempt folder.
    assert not (run_dir / "attempts").exists(), "the host took the outputs and removed the attempt folder"
    out = subprocess.run(["sh", str(run_dir / "command.sh")], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    cid = out.stdout.strip().splitlines()[-1]
    try:
        code = subprocess.run(["docker", "wait", cid], capture_output=True, text=True, timeout=120).stdout.strip()
    finally:
        subprocess.run(["docker", "rm", "-f", cid], capture_output=True)
    assert code == "0"
    again = json.loads(next((run_dir / "attempts").glob("*/result.json")).read_text())
    assert again["status"] == "ok" and again["env"]["start"]["cgroup"]["memory_limit_bytes"] == 512 << 20


def test_a_cpuset_pins_the_container_to_its_cpus(image: images.ImageSpec, models_dir: Path, mnv3: str,
                                                 tmp_path: Path) -> None:
    need(len(os.sched_getaffinity(0)) >= 2, "two CPUs, so that a cpuset of one is a real restriction")
    spec = spec_for(mnv3, limits=Limits(memory_mb=512, cpuset="0"))
    run_dir = tmp_path / spec.run_id
    r = DockerRunner(image_tag=image.tag).execute(spec, run_dir, models_dir)
    assert r.status == "ok", r.reason
    lim = r.host["limits"]
    assert lim["match"] is True, lim["mismatches"]
    assert lim["applied"]["cpuset"] == "0" and lim["applied"]["cpu_affinity"] == [0]
    assert r.env["start"]["cpu_affinity"] == [0]  # psutil's view, in env.json, agrees
    argv = json.loads((run_dir / "command.json").read_text())["argv"]
    assert argv[argv.index("--cpuset-cpus") + 1] == "0"


def test_oom_is_confirmed_by_the_cgroup_and_the_kernel(image: images.ImageSpec, models_dir: Path, mnv3: str,
                                                       tmp_path: Path) -> None:
    spec = spec_for(mnv3, limits=Limits(memory_mb=30, memory_swap_mb=30))  # no swap, far below the footprint
    r = DockerRunner(image_tag=image.tag).execute(spec, tmp_path / spec.run_id, models_dir)
    assert r.status == "oom", r.reason
    ev = r.host["oom_evidence"]
    assert ev.get("oom_kill") or ev.get("oom_events"), "the container's own cgroup must show the OOM: %s" % ev
    if os.geteuid() == 0:  # /dev/kmsg is readable by root only
        assert "Killed process" in ev["kernel_log"] or "oom_memcg" in ev["kernel_log"], ev
        assert any(r.host["extra"]["container_id"] in x for x in r.host["extra"]["kernel_log"])
    assert r.host["exit_code"] == 137
    assert not containers_labelled(LABEL, spec.run_id)


def test_plain_sigkill_is_killed_not_oom(image: images.ImageSpec, models_dir: Path, mnv3: str,
                                         tmp_path: Path) -> None:
    spec = spec_for(mnv3, iterations=100000, limits=Limits(memory_mb=1024, memory_swap_mb=1024))
    runner = DockerRunner(image_tag=image.tag)

    def killer() -> None:
        for _ in range(600):
            found = containers_labelled(LABEL, spec.run_id)
            if found and found[0].status == "running":
                time.sleep(1.5)  # past start-up, into the timed loop
                found[0].kill()  # SIGKILL: exit code 137, as an OOM kill would give
                return
            time.sleep(0.05)

    t = threading.Thread(target=killer)
    t.start()
    r = runner.execute(spec, tmp_path / spec.run_id, models_dir)
    t.join()
    assert r.host["exit_code"] == 137
    assert r.status == "killed", r.reason
    assert "no OOM kill" in r.reason
    assert r.host["oom_evidence"]["oom_kill"] == 0 and r.host["oom_evidence"]["docker_oomkilled"] is False


def test_timeout_stops_and_removes_the_container(image: images.ImageSpec, models_dir: Path, mnv3: str,
                                                 tmp_path: Path) -> None:
    spec = spec_for(mnv3, iterations=1000000, timeout_s=4)
    t0 = time.monotonic()
    r = DockerRunner(image_tag=image.tag).execute(spec, tmp_path / spec.run_id, models_dir)
    assert r.status == "timeout", r.reason
    assert time.monotonic() - t0 < 30
    assert r.host["timed_out"] is True
    assert r.latencies_s, "SIGTERM first: the suite keeps what it measured before the timeout"
    assert not containers_labelled(LABEL, spec.run_id)


def test_missing_image_is_a_clear_preflight_problem(models_dir: Path, mnv3: str) -> None:
    need(docker_ok(), "a Docker engine")
    spec = spec_for(mnv3)
    problems = DockerRunner(image_tag="no-such-tag").preflight([spec])
    assert any("edgebench-host-cpu-onnxruntime:no-such-tag" in p and "edgebench images build" in p for p in problems)


def test_swap_scenario_without_swap_is_refused(image: images.ImageSpec, mnv3: str) -> None:
    import psutil

    spec = spec_for(mnv3, limits=Limits(memory_mb=64, memory_swap_mb=256))
    problems = DockerRunner(image_tag=image.tag).preflight([spec])
    if psutil.swap_memory().total == 0:
        assert any("no swap" in p and "--allow-no-swap" in p for p in problems), problems
    assert not DockerRunner(allow_no_swap=True, image_tag=image.tag).preflight([spec])


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_ctrl_c_leaves_no_container(image: images.ImageSpec, models_dir: Path, mnv3: str, tmp_path: Path,
                                    sig: int) -> None:
    camp = "test-ctrl-c-%d-%d" % (os.getpid(), sig)
    mx = tmp_path / "long.yaml"
    mx.write_text("name: %s\ndevice: host-cpu\nfixed: {framework: onnxruntime, model: mobilenet_v3_small, "
                  "iterations: 1000000, timeout_s: 300, threads: 1}\n" % camp)
    proc = subprocess.Popen([sys.executable, "-m", "edgebench.cli.app", "run", str(mx), "--runner", "docker",
                             "--results", str(tmp_path / "results"), "--models", str(models_dir)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=str(ROOT),
                            env=dict(os.environ, EDGEBENCH_IMAGE_TAG=image.tag))
    try:
        for _ in range(1200):
            found = containers_labelled("org.edgebench.campaign", camp)
            if found and found[0].status == "running":
                break
            assert proc.poll() is None, proc.communicate()[1].decode()[-2000:]
            time.sleep(0.05)
        else:
            pytest.fail("no container started")
        proc.send_signal(sig)
        assert proc.wait(timeout=60) == 130
    finally:
        if proc.poll() is None:
            proc.kill()
    assert not containers_labelled("org.edgebench.campaign", camp), "Ctrl-C left a container behind"


def test_smoke_subset_through_the_cli(image: images.ImageSpec, models_dir: Path, mnv3: str, tmp_path: Path) -> None:
    make_artifact(models_dir, "onnx", "resnet18")
    mx = tmp_path / "smoke-docker.yaml"
    mx.write_text("name: smoke-docker\ndevice: host-cpu\nfixed: {framework: onnxruntime, warmups: 2, iterations: 10, "
                  "threads: 2, timeout_s: 120}\naxes:\n  model: [mobilenet_v3_small, resnet18]\n"
                  "  memory_mb: [null, 2048]\n")
    results = tmp_path / "results"
    out = subprocess.run([sys.executable, "-m", "edgebench.cli.app", "run", str(mx), "--runner", "docker",
                          "--results", str(results), "--models", str(models_dir), "--json"],
                         capture_output=True, text=True, cwd=str(ROOT), timeout=600,
                         env=dict(os.environ, EDGEBENCH_IMAGE_TAG=image.tag))
    assert out.returncode == 0, out.stderr[-3000:]
    summary = json.loads(out.stdout)
    assert summary["runs"] == 4 and not summary["unexpected"]
    runs = [json.loads(p.read_text()) for p in (results / "smoke-docker").glob("*/result.json")]
    assert len(runs) == 4
    for r in runs:
        assert r["status"] == "ok" and r["host"]["runner"] == "docker"
        assert r["host"]["extra"]["image"]["ref"] == image.ref
        assert r["host"]["limits"]["match"] is True
    # Replay one through the CLI: same runner (from command.json), same spec, a new folder.
    one = next(p.parent for p in (results / "smoke-docker").glob("*/result.json"))
    rep = subprocess.run([sys.executable, "-m", "edgebench.cli.app", "replay", str(one), "--models", str(models_dir),
                          "--json"], capture_output=True, text=True, cwd=str(ROOT), timeout=300,
                         env=dict(os.environ, EDGEBENCH_IMAGE_TAG=image.tag))
    assert rep.returncode == 0, rep.stderr[-2000:]
    replayed = Path(json.loads(rep.stdout)["run_dir"])
    assert json.loads((replayed / "result.json").read_text())["host"]["runner"] == "docker"


# ---- an engine behind another socket ------------------------------------------------------------------

class SocketRelay:
    """A second unix socket in front of the engine's (what an ssh tunnel or a second -H listener gives)."""

    def __init__(self, path: Path, target: str) -> None:
        self.path, self.target = path, target
        self.srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.srv.bind(str(path))
        self.srv.listen(16)
        self.connections = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                a, _ = self.srv.accept()
            except OSError:
                return
            self.connections += 1
            b = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            b.connect(self.target)
            for src, dst in ((a, b), (b, a)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        self.srv.close()


@pytest.fixture
def relay(tmp_path: Path) -> Iterator[SocketRelay]:
    need(docker_ok(), "a Docker engine")
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    need(host.startswith("unix://"), "the engine on a local unix socket, to put a relay in front of it")
    r = SocketRelay(tmp_path / "other-engine.sock", host[len("unix://"):])
    yield r
    r.close()


def test_engine_through_another_socket_with_copy_transfer(image: images.ImageSpec, models_dir: Path, mnv3: str,
                                                          tmp_path: Path, relay: SocketRelay,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix://%s" % relay.path)
    # What a remote engine gets: no bind mounts of our folders; inputs and results go through the API.
    runner = DockerRunner(transfer="copy", image_tag=image.tag)
    assert not runner.preflight([spec_for(mnv3)])
    spec = spec_for(mnv3, limits=Limits(memory_mb=30, memory_swap_mb=30), campaign="test-remote")
    oom = runner.execute(spec, tmp_path / "oom", models_dir)
    assert oom.status == "oom", oom.reason
    spec = spec_for(mnv3, campaign="test-remote")
    r = runner.execute(spec, tmp_path / "ok", models_dir)
    assert r.status == "ok", r.reason
    assert relay.connections > 0, "the runner must have gone through the relay socket"
    assert r.host["extra"]["transfer"] == "copy"
    for name in ("result.json", "samples.jsonl", "monitor.jsonl", "env.json", "log", "command.sh"):
        assert (tmp_path / "ok" / name).exists(), name
    assert len(r.latencies_s) == 5
    cli = images.client()
    assert not cli.volumes.list(filters={"label": "%s=%s" % (LABEL, spec.run_id)}), "the run's volume must go"
    assert not containers_labelled(LABEL, spec.run_id)
