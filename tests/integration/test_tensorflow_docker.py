"""The tensorflow backend inside the host-cpu image built from images/host-cpu/tensorflow.Dockerfile on the
offline Debian base: one real cell, its threads and precision recorded from inside the container."""

from pathlib import Path

import pytest
from edgebench.cli import artifacts, images
from edgebench.cli.plan import _with
from edgebench.cli.runners.docker import DockerRunner
from edgebench.suite.spec import RunSpec

from tests.conftest import has_module, need
from tests.integration.test_docker_images import built

pytestmark = [pytest.mark.integration, pytest.mark.docker]


@pytest.fixture(scope="module")
def image() -> images.ImageSpec:
    return built("host-cpu", "tensorflow")


def test_image_has_the_locked_tensorflow(image: images.ImageSpec) -> None:
    info = images.probe(image, images.client())
    lock = images.read_lock()
    assert info["versions"]["tensorflow"] == lock["TENSORFLOW_VERSION"]
    assert info["versions"]["keras"] == lock["KERAS_VERSION"]


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
def test_cell_runs_in_the_container_with_threads_and_policy_recorded(image: images.ImageSpec, models_dir: Path,
                                                                     tmp_path: Path, precision: str) -> None:
    need(has_module("tensorflow"), "tensorflow on the host, to make the .keras artefact")
    spec = RunSpec(model="mobilenet_v1", framework="tensorflow", precision=precision, image=image.repository,
                   input_shape=(3, 96, 96), warmups=1, iterations=4, threads=2, timeout_s=300,
                   campaign="test-tensorflow-docker")
    art = artifacts.artifact_for(spec)
    assert art is not None and art.format == "keras" and art.precision == "fp32"  # fp16 is applied at load
    artifacts.ensure(art, models_dir)
    spec = _with(spec, artifact=art.relpath)
    r = DockerRunner(image_tag=image.tag).execute(spec, tmp_path / spec.run_id, models_dir)
    assert r.status == "ok", r.reason
    assert r.env["start"]["in_container"] is True and len(r.latencies_s) == 4
    tf_rec = r.placement["tensorflow"]
    assert tf_rec["threads"]["intra_op"] == 2 and tf_rec["threads"]["inter_op"] == 1
    assert tf_rec["policy"] == ("mixed_float16" if precision == "fp16" else "float32")
    assert r.placement["actual"] == "cpu" and r.placement["fell_back"] is False
    assert r.env["end"]["runtime"]["tensorflow"] == images.read_lock()["TENSORFLOW_VERSION"]
