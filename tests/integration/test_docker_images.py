"""Offline bases and images, for real: debootstrap -> base image -> the repo's Dockerfile -> runtime inside.

Slow the first time (amd64 base ~80 s, image ~40 s; arm64 base ~4-7 min and image ~2 min under QEMU); a
second run finds the images by their content-hash tags and rebuilds nothing.
"""

import json
import subprocess
from pathlib import Path

import pytest
from edgebench.cli import artifacts, images
from edgebench.cli.plan import _with
from edgebench.cli.runners.docker import DockerRunner
from edgebench.suite.spec import RunSpec

from tests.conftest import ROOT, docker_ok, is_root, need

pytestmark = [pytest.mark.integration, pytest.mark.docker]


def built(device: str, framework: str) -> images.ImageSpec:
    """The image of a profile, bootstrapping its base and building it only when the engine lacks them."""
    need(docker_ok(), "a Docker engine (sh scripts/setup-docker.sh)")
    spec = images.image_spec(device, framework)
    cli = images.client()
    if images.find_image(cli, spec.ref) is None:
        need(is_root(), "root, for debootstrap")
        why = images.can_run_arch(spec.arch)
        need(why is None, str(why))
        images.bootstrap_base(spec.arch, cli)
        images.build(spec, cli)
    return spec


@pytest.fixture(scope="module")
def amd64_ort() -> images.ImageSpec:
    return built("host-cpu", "onnxruntime")


@pytest.fixture(scope="module")
def arm64_ort() -> images.ImageSpec:
    return built("rpi4", "onnxruntime")


def test_base_is_offline_debian_with_python(amd64_ort: images.ImageSpec) -> None:
    cli = images.client()
    base = images.find_image(cli, images.base_ref("amd64"))
    assert base is not None, "the image was built, so its base must be there"
    assert base.attrs["Architecture"] == "amd64"
    out = cli.containers.run(images.base_ref("amd64"), ["sh", "-c", ". /etc/os-release; echo $VERSION_CODENAME; "
                                                         "python3 -c 'import venv, ssl; print(1)'"],
                             remove=True, network_mode="none")
    assert out.decode().split() == [images.read_lock()["DEBIAN_RELEASE"], "1"]


def test_amd64_image_has_the_locked_runtime(amd64_ort: images.ImageSpec) -> None:
    info = images.probe(amd64_ort, images.client())
    lock = images.read_lock()
    assert info["versions"]["onnxruntime"] == lock["ONNXRUNTIME_VERSION"]
    assert "CPUExecutionProvider" in info["versions"]["providers_available"]
    assert info["arch"] == "amd64"
    img = images.find_image(images.client(), amd64_ort.ref)
    labels = img.attrs["Config"]["Labels"]
    assert labels["org.edgebench.image-hash"] == amd64_ort.tag
    assert "onnxruntime=%s" % lock["ONNXRUNTIME_VERSION"] in labels["org.edgebench.versions"]
    assert img.attrs["Config"]["User"] == "65534:65534"


def test_build_again_is_a_cache_hit(amd64_ort: images.ImageSpec) -> None:
    made = images.build(amd64_ort, images.client())
    assert made.cached and made.ref == amd64_ort.ref


def test_list_shows_sizes_and_which_profile_uses_each(amd64_ort: images.ImageSpec) -> None:
    rows = images.list_images(images.client())
    mine = [r for r in rows if amd64_ort.ref in r["tags"]]
    assert len(mine) == 1
    assert mine[0]["current_for"] == ["host-cpu/onnxruntime"]
    assert 100 < mine[0]["size_mb"] < 1000, "a CPU ONNX Runtime image is a few hundred MB, not %s" % mine[0]["size_mb"]


def test_arm64_image_runs_one_cell_under_emulation(arm64_ort: images.ImageSpec, tmp_path: Path) -> None:
    info = images.probe(arm64_ort, images.client())
    assert info["arch"] == "arm64"
    assert info["versions"]["onnxruntime"] == images.read_lock()["ONNXRUNTIME_VERSION"]
    spec = RunSpec(model="mobilenet_v3_small", framework="onnxruntime", device="rpi4", image=arm64_ort.repository,
                   input_shape=(3, 96, 96), warmups=1, iterations=3, threads=2, timeout_s=300, campaign="test-arm64")
    art = artifacts.artifact_for(spec)
    assert art is not None
    artifacts.ensure(art, artifacts.DEFAULT_DIR)
    spec = _with(spec, artifact=art.relpath)
    result = DockerRunner(image_tag=arm64_ort.tag).execute(spec, tmp_path / spec.run_id, artifacts.DEFAULT_DIR)
    assert result.status == "ok", result.reason
    assert result.env["start"]["machine"] == "aarch64", "the cell must run as arm64 code"
    assert result.host["extra"]["image"]["arch"] == "arm64"
    assert len(result.latencies_s) == 3


def test_cli_build_list_test(amd64_ort: images.ImageSpec) -> None:
    from edgebench.cli.images_cmd import images_app
    from typer.testing import CliRunner

    cli = CliRunner()
    built_ = cli.invoke(images_app, ["build", "--device", "host-cpu", "--framework", "onnxruntime", "--json"])
    assert built_.exit_code == 0, built_.output
    assert json.loads(built_.stdout)[0] == {**json.loads(built_.stdout)[0], "ref": amd64_ort.ref, "cached": True}
    listed = cli.invoke(images_app, ["list", "--json"])
    assert any(amd64_ort.ref in r["tags"] for r in json.loads(listed.stdout))
    tested = cli.invoke(images_app, ["test", "--device", "host-cpu", "--framework", "onnxruntime", "--json"])
    assert tested.exit_code == 0, tested.output
    assert json.loads(tested.stdout)[0]["versions"]["onnxruntime"] == images.read_lock()["ONNXRUNTIME_VERSION"]
    bad = cli.invoke(images_app, ["test", "--device", "host-cpu", "--framework", "torch"])
    assert bad.exit_code == 1 and "edgebench images build" in bad.output


def test_setup_script_is_idempotent() -> None:
    need(docker_ok(), "a Docker engine")
    for _ in range(2):
        out = subprocess.run(["sh", str(ROOT / "scripts/setup-docker.sh")], capture_output=True, text=True,
                             timeout=120)
        assert out.returncode == 0, out.stderr
        assert "Docker engine answers" in out.stderr and "starting dockerd" not in out.stderr
