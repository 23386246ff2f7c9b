"""A hostile container against the real Docker runner: nothing it plants is followed, trusted or obeyed.

Each test runs the repo's amd64 ONNX Runtime image through DockerRunner.execute (the real code path:
bind mounts, labels, limits, log and output collection, clean-up); only the container's command is
replaced, by a subclass, with the attack. The victims are host files outside the run folder.
"""

import json
import os
from pathlib import Path
from typing import Any, Optional

import pytest
from edgebench.cli import images
from edgebench.cli.runners import record
from edgebench.cli.runners.docker import PIDS_LIMIT, DockerRunner
from edgebench.suite.spec import Limits, RunSpec

from tests.conftest import is_root, need
from tests.integration.test_docker_images import built

pytestmark = [pytest.mark.integration, pytest.mark.docker]


@pytest.fixture(scope="module")
def image() -> images.ImageSpec:
    return built("host-cpu", "onnxruntime")


class Hostile(DockerRunner):
    """The real runner, whose container runs `script` (sh) instead of the suite."""

    def __init__(self, script: str, **kw: Any) -> None:
        super().__init__(**kw)
        self.script = script

    def container_kwargs(self, spec: RunSpec, ref: str, run_dir: Path, models_dir: Path, user: Optional[str],
                         image: dict[str, Any], volume: Optional[str], out_dir: Optional[Path] = None
                         ) -> dict[str, Any]:
        kw = super().container_kwargs(spec, ref, run_dir, models_dir, user, image, volume, out_dir)
        kw["command"] = ["sh", "-c", self.script]
        return kw


def spec_for(**kw: Any) -> RunSpec:
    base: dict[str, Any] = {"model": "mobilenet_v3_small", "framework": "onnxruntime",
                            "image": "edgebench-host-cpu-onnxruntime", "warmups": 1, "iterations": 1,
                            "campaign": "test-docker-security", "timeout_s": 120}
    base.update(kw)
    return RunSpec(**base)


def victim(path: Path) -> tuple[bytes, int, int, int, float]:
    st = os.lstat(path)
    return path.read_bytes(), st.st_uid, st.st_gid, st.st_mode, st.st_mtime


def test_links_planted_in_the_output_are_never_followed(image: images.ImageSpec, tmp_path: Path) -> None:
    need(is_root(), "root (the attack is on a root host)")
    target = tmp_path / "victim"
    target.write_bytes(b"host secret\n")
    os.chmod(target, 0o600)
    before = victim(target)
    folder = tmp_path / "victim-dir"
    folder.mkdir()
    out = "/edgebench/out"
    script = "; ".join([
        "ln -s %s %s/log" % (target, out), "ln -s %s %s/result.json" % (target, out),
        "ln -s %s %s/samples.jsonl" % (target, out), "ln -s %s %s/sub" % (folder, out),
        "ln -s / %s/root" % out, "mkdir %s/real && ln -s %s %s/real/env.json" % (out, target, out),
        "echo '{\"runner\": \"local\"}' > %s/command.json" % out, "echo 'rm -rf /' > %s/command.sh" % out,
        "echo '{}' > %s/spec.json" % out, "echo hostile output"])
    spec = spec_for()
    run_dir = tmp_path / "camp" / spec.run_id
    r = Hostile(script, image_tag=image.tag).execute(spec, run_dir, tmp_path / "models")
    assert victim(target) == before, "the host wrote, chmod-ed or chowned a file through a planted link"
    assert list(folder.iterdir()) == []
    assert r.status == "failed" and "result.json" in r.reason
    refused = r.host["extra"]["output_problems"]
    assert any(p.startswith("result.json") and "symlink" in p for p in refused), refused
    assert any(p.startswith("sub") for p in refused) and any(p.startswith("command.json") for p in refused)
    names = sorted(p.name for p in run_dir.iterdir())
    assert names == ["command.json", "command.sh", "host.json", "log", "result.json", "spec.json"], names
    assert not any(p.is_symlink() for p in run_dir.rglob("*"))
    assert b"hostile output" in (run_dir / "log").read_bytes()
    assert json.loads((run_dir / "command.json").read_text())["runner"] == "docker"
    assert record.mismatches(run_dir) == [], "the files the host trusts are as it wrote them"


def test_the_run_folder_is_out_of_the_containers_reach(image: images.ImageSpec, tmp_path: Path) -> None:
    """The container sees its spec read-only and an empty output folder; nothing else of the run folder."""
    need(is_root(), "root")
    script = ("ls -a /edgebench/out; echo x >> /edgebench/in/spec.json && echo SPEC-WRITABLE; "
              "ls /edgebench/in; id -u")
    spec = spec_for()
    run_dir = tmp_path / spec.run_id
    r = Hostile(script, image_tag=image.tag).execute(spec, run_dir, tmp_path / "models")
    log = (run_dir / "log").read_text()
    assert "SPEC-WRITABLE" not in log and "cannot create /edgebench/in/spec.json" in log
    # stdout only: the engine copies stdout and stderr separately, so the shell's error may come first
    listed = [line for line in log.split("\n") if not line.startswith("sh: ")]
    assert "command.json" not in log and "host.json" not in log, log
    assert listed[:2] == [".", ".."] and "65534" in listed, log
    assert record.mismatches(run_dir) == []
    assert r.host["runner"] == "docker"


def test_a_fork_bomb_stops_at_the_pids_limit(image: images.ImageSpec, tmp_path: Path) -> None:
    """Threads count as tasks: the container cannot hold more than PIDS_LIMIT, and the host is untouched."""
    need(is_root(), "root")
    script = ("python3 -c \"import threading, time\nthreading.stack_size(64 * 1024)\nn = 0\ne = threading.Event()\n"
              "try:\n    while n < %d:\n        threading.Thread(target=e.wait, daemon=True).start(); n += 1\n"
              "except RuntimeError as x:\n    print('stopped at', n, x)\nprint('threads', n)\"" % (PIDS_LIMIT * 2))
    spec = spec_for(limits=Limits(memory_mb=1024))
    run_dir = tmp_path / spec.run_id
    r = Hostile(script, image_tag=image.tag).execute(spec, run_dir, tmp_path / "models")
    log = (run_dir / "log").read_text()
    assert "stopped at" in log, log[-500:]
    n = int(log.split("threads")[-1].split()[0])
    assert 100 < n < PIDS_LIMIT, "tasks stopped at the limit, with the interpreter's own few below it"
    argv = r.host["command"]
    assert argv[argv.index("--pids-limit") + 1] == str(PIDS_LIMIT)
    pid = os.fork()  # the host itself still forks
    if pid == 0:
        os._exit(0)
    assert os.waitpid(pid, 0)[1] == 0
