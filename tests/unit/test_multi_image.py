"""Which image runs a run whose streams need several runtimes: the profile's multi image, chosen by the
plan and by the docker runner's image_ref alike; a run no image can hold is refused before it starts."""

from pathlib import Path

import pytest
from edgebench.cli import devices, images, multi_image
from edgebench.cli.runners.docker import DockerRunner
from edgebench.suite.spec import RunSpec, StreamSpec

from tests.conftest import docker_ok, need

LITE = StreamSpec(model="mobilenet_v3_small", framework="tflite", input_shape=(3, 64, 64), stream_id="1")
TORCH = StreamSpec(model="mobilenet_v3_small", framework="torch", input_shape=(3, 64, 64), stream_id="1")


def _dmp(other: StreamSpec, device: str = "host-cpu") -> RunSpec:
    return RunSpec(model="mobilenet_v3_small", framework="onnxruntime", workload="placement", streams=(other,),
                   device=device, input_shape=(3, 64, 64))


def test_single_runtime_runs_keep_their_framework_image() -> None:
    dev = devices.load("host-cpu")
    assert multi_image.image_key(dev, ["onnxruntime"]) == "onnxruntime"
    assert multi_image.key_of(_dmp(StreamSpec(model="resnet18", framework="onnxruntime"))) == "onnxruntime"


def test_a_dmp_of_two_runtimes_runs_in_the_multi_image() -> None:
    spec = _dmp(LITE)
    assert multi_image.frameworks_of(spec) == ["onnxruntime", "tflite"]
    assert multi_image.key_of(spec) == "multi"
    want = images.image_spec("host-cpu", "multi")
    assert want.repository == "edgebench-host-cpu-multi" and want.dockerfile.name == "multi.Dockerfile"
    assert DockerRunner(client=object()).image_ref(spec) == want.ref
    # the tag is the content hash of the multi Dockerfile, not of either single-runtime image
    assert want.tag != images.image_spec("host-cpu", "onnxruntime").tag


def test_no_image_holding_every_runtime_is_a_preflight_problem() -> None:
    with pytest.raises(LookupError, match="no image of device host-cpu holds every runtime"):
        multi_image.key_of(_dmp(TORCH))
    need(docker_ok(), "a Docker engine (the runner's preflight asks it)")
    problems = DockerRunner().preflight([_dmp(TORCH)])
    assert any("onnxruntime, torch" in p for p in problems), problems


def test_jetson_multi_image_is_attached_with_the_accelerator_and_edgetpus_add_up(tmp_path: Path) -> None:
    dev = devices.load("jetson-nano+coral-usb-x4")
    assert dev.edgetpu_count == 4 and dev.images["multi"].frameworks == ["torch", "tflite"]
    assert multi_image.image_key(dev, ["torch", "tflite"]) == "multi"
    assert devices.load("rpi4+coral-usb").edgetpu_count == 1 and devices.load("rpi4").edgetpu_count == 0
    assert devices.load("host-cpu@emulated").images["multi"].image == "edgebench-host-cpu-multi"
