"""host-cpu's multi-runtime image for real: built from its Dockerfile (when the engine lacks it), it holds
ONNX Runtime and LiteRT, and the docker runner picks it for a DMP cell of the two (preflight on a real
engine finds it; the single-runtime images stay with single-runtime cells)."""

import json
from pathlib import Path

import pytest
from edgebench.cli import images, plan
from edgebench.cli.runners.docker import DockerRunner

from tests.integration.test_docker_images import built

pytestmark = [pytest.mark.integration, pytest.mark.docker]

MATRIX = """name: dmp-image
device: host-cpu
fixed: {model: mobilenet_v3_small, framework: onnxruntime, input_shape: 64, iterations: 5}
include:
  - {workload: single}
  - workload: placement
    placement: "cpu:0"
    streams: [{model: mobilenet_v3_small, framework: tflite, input_shape: 64, placement: "cpu:1"}]
"""


def test_multi_image_holds_both_runtimes_and_is_picked_for_a_dmp_cell(tmp_path: Path) -> None:
    multi = built("host-cpu", "multi")
    out = images.client().containers.run(multi.ref, ["python", "-m", "edgebench.suite", "backends"], remove=True,
                                         network_mode="none")
    backends = json.loads(out)["backends"]
    assert backends["onnxruntime"] == "ok" and backends["tflite"] == "ok", backends
    (tmp_path / "m.yaml").write_text(MATRIX)
    single, dmp = plan.build(tmp_path / "m.yaml").runs
    runner = DockerRunner()
    assert runner.image_ref(dmp.spec) == multi.ref
    assert runner.image_ref(single.spec) == images.image_spec("host-cpu", "onnxruntime").ref
    assert not [p for p in runner.preflight([dmp.spec]) if multi.ref in p or "runtime" in p]
