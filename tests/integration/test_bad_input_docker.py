"""Docker's minimum memory limit, checked against a real engine, is refused at plan time by `run`."""

import io
import os
import subprocess
import sys
import tarfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from edgebench.cli.plan import DOCKER_MIN_MEMORY_MB

from tests.conftest import docker_ok, need

MIB = 1024 * 1024


@pytest.fixture
def empty_image() -> Iterator[str]:
    """A one-file image of our own (created, never started): the engine checks limits at creation."""
    need(docker_ok(), "a Docker engine")
    import docker

    client = docker.from_env()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo("empty")
        tar.addfile(info, io.BytesIO(b""))
    tag = "edgebench-test-empty:%s" % uuid.uuid4().hex[:12]
    subprocess.run(["docker", "import", "-", tag], input=buf.getvalue(), check=True, capture_output=True)
    try:
        yield tag
    finally:
        client.images.remove(tag, force=True)


def test_engine_minimum_is_the_plan_minimum(empty_image: str) -> None:
    import docker

    client = docker.from_env()
    with pytest.raises(docker.errors.APIError, match="[Mm]inimum memory limit"):
        client.containers.create(empty_image, command=["/empty"], mem_limit=int(DOCKER_MIN_MEMORY_MB * MIB) - 1)
    c = client.containers.create(empty_image, command=["/empty"], mem_limit=int(DOCKER_MIN_MEMORY_MB * MIB))
    c.remove(force=True)


@pytest.mark.parametrize("body, where", [
    ("include:\n  - {model: resnet18, framework: onnxruntime, memory_mb: 4}\n", "m.yaml:3: include[0].memory_mb"),
    ("fixed: {model: resnet18, framework: onnxruntime}\nsweep: {start_mb: 2, end_mb: 102, stages: 2, budget_mb: 200}\n",
     "m.yaml:3: sweep.start_mb"),
])
def test_run_with_docker_refuses_before_any_container(tmp_path: Path, body: str, where: str) -> None:
    need(docker_ok(), "a Docker engine")
    (tmp_path / "m.yaml").write_text("name: t\n" + body)
    env = dict(os.environ, EDGEBENCH_RESULTS=str(tmp_path / "results"))
    proc = subprocess.run([sys.executable, "-m", "edgebench.cli.app", "run", "m.yaml", "--runner", "docker"],
                          capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120)
    assert proc.returncode == 2, proc.stderr[-2000:]
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: " + where), proc.stderr
    assert "below Docker's minimum memory limit of 6 MiB" in lines[0]
    assert not (tmp_path / "results").exists()
