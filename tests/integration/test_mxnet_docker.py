"""The host-cpu MXNet image for real: built from images/host-cpu/mxnet.Dockerfile on the offline base, its
runtime probed, and one cell run in a container by the docker runner (limits applied, settings recorded)."""

from pathlib import Path

import pytest
from edgebench.cli import images
from edgebench.cli.runners.docker import DockerRunner
from edgebench.suite.spec import Limits, RunSpec

from tests.conftest import docker_ok, is_root, need

pytestmark = [pytest.mark.integration, pytest.mark.docker]


@pytest.fixture(scope="module")
def image() -> images.ImageSpec:
    """host-cpu x mxnet, bootstrapping the base and building only when the engine lacks them (~80 s once)."""
    need(docker_ok(), "a Docker engine (sh scripts/setup-docker.sh)")
    spec = images.image_spec("host-cpu", "mxnet")
    cli = images.client()
    if images.find_image(cli, spec.ref) is None:
        need(is_root(), "root, for debootstrap")
        images.bootstrap_base(spec.arch, cli)
        images.build(spec, cli)
    return spec


def test_image_has_the_locked_mxnet_and_its_own_numpy(image: images.ImageSpec) -> None:
    info = images.probe(image, images.client())
    lock = images.read_lock()
    assert info["versions"]["mxnet"] == lock["MXNET_VERSION"]
    assert info["versions"]["numpy"] == lock["MXNET_NUMPY_VERSION"] != lock["NUMPY_VERSION"]
    assert "MKLDNN" in info["versions"]["mxnet_features"]
    labels = images.find_image(images.client(), image.ref).attrs["Config"]["Labels"]
    assert labels["org.edgebench.framework"] == "mxnet" and labels["org.edgebench.image-hash"] == image.tag


def test_one_cell_runs_in_a_container(image: images.ImageSpec, tmp_path: Path) -> None:
    spec = RunSpec(model="mobilenet_v1", framework="mxnet", device="host-cpu", threads=1, warmups=1, iterations=3,
                   cudnn_autotune=False, limits=Limits(memory_mb=1024, memory_swap_mb=1024, cpus=1.0),
                   campaign="test-mxnet-docker")
    r = DockerRunner(image_tag=image.tag).execute(spec, tmp_path / spec.run_id, tmp_path / "models")
    assert r.status == "ok", r.reason
    assert r.host["runner"] == "docker" and r.host["limits"]["match"] is True, r.host["limits"]
    assert r.env["start"]["in_container"] is True
    assert len(r.latencies_s) == 3
    mx = r.streams[0].placement["mxnet"]
    assert mx["hybridized"] is True and mx["env"]["OMP_NUM_THREADS"] == "1"
    assert mx["env"]["MXNET_CUDNN_AUTOTUNE_DEFAULT"] == "0"
    assert r.env["end"]["runtime"]["mxnet"] == "1.9.1"


def test_arm64_image_without_a_wheel_refuses_with_the_fix_named() -> None:
    """PyPI has no aarch64 mxnet wheel: the Raspberry Pi image stops at its first step and says which build
    arguments to set (the arm64 base under QEMU; the refusal comes before any download)."""
    need(docker_ok(), "a Docker engine (sh scripts/setup-docker.sh)")
    spec = images.image_spec("rpi5", "mxnet")
    cli = images.client()
    why = images.can_run_arch(spec.arch)
    need(why is None, str(why))
    if images.find_image(cli, images.base_ref(spec.arch)) is None:
        need(is_root(), "root, for debootstrap")
        images.bootstrap_base(spec.arch, cli)
    with pytest.raises(images.ImageError, match="MXNET_WHEEL_URL and MXNET_WHEEL_SHA256"):
        images.build(spec, cli)
    assert images.find_image(cli, spec.ref) is None
