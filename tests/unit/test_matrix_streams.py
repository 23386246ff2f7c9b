"""Plan-time bad input of P3's runs (ramps, copies, streams, placements, images), through the real CLI:
`python -m edgebench.cli.app plan FILE` exits 2 with 'FILE:LINE: key: what was expected'."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from edgebench.cli import devices, plan, ramp_campaign

HEAD = """name: bad
device: %s
fixed: {model: mobilenet_v3_small, framework: onnxruntime, input_shape: 64}
"""

CASES = {
    "ramp-not-ascending": ("host-cpu", "axes:\n  batch_size: [1, 4, 2]\nramp: {axis: batch_size}\n",
                           5, "axes.batch_size[2]", "ramp values must ascend (item 2, 2, is not above 4)"),
    "ramp-axis-missing": ("host-cpu", "axes:\n  batch_size: [1, 2]\nramp: {axis: copies}\n",
                          6, "ramp.axis", "the ramp climbs axes.copies"),
    "copies-below-one": ("host-cpu", "include:\n  - {workload: concurrent, copies: 0}\n",
                         5, "include[0].copies", "greater than or equal to 1"),
    "same-accelerator": ("host-cpu", "include:\n  - workload: placement\n    placement: 'cpu:0'\n    streams:\n"
                         "      - {model: mobilenet_v3_small, framework: tflite, placement: 'cpu:0'}\n",
                         8, "include[0].streams", "streams 0 and 1 both name accelerator cpu:0"),
    "edgetpu-index": ("host-cpu+coral-usb", "include:\n  - {framework: tflite, precision: int8, "
                      "placement: 'edgetpu:2'}\n", 5, "include[0].placement",
                      "EdgeTPU 2 is not on device host-cpu+coral-usb (its profile has 1"),
    "dmp-one-stream": ("host-cpu", "include:\n  - {workload: placement, placement: 'cpu:0'}\n",
                       5, "include[0].workload", "a placement (DMP) run needs at least two streams"),
    "no-image-holds-both": ("host-cpu", "include:\n  - workload: placement\n    streams:\n"
                            "      - {model: mobilenet_v3_small, framework: torch}\n",
                            7, "include[0].streams", "no image of device host-cpu holds every runtime"),
    "stream-unknown-key": ("host-cpu", "include:\n  - workload: placement\n    streams:\n"
                           "      - {model: mobilenet_v3_small, framework: tflite, colour: red}\n",
                           7, "include[0].streams[0].colour", "unknown key"),
    "workload-unknown": ("host-cpu", "axes:\n  workload: [single, swarm]\n", 5, "axes.workload[1]",
                         "Input should be 'single', 'concurrent' or 'placement'"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_is_a_clear_error_with_file_line_and_key(tmp_path: Path, case: str) -> None:
    device, body, line, key, needle = CASES[case]
    path = tmp_path / ("%s.yaml" % case)
    path.write_text(HEAD % device + body)
    proc = subprocess.run([sys.executable, "-m", "edgebench.cli.app", "plan", str(path)], capture_output=True,
                          text=True, env=dict(os.environ, COLUMNS="400"))
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    msg = " ".join(proc.stderr.split())
    assert "%s:%d: %s:" % (path, line, key) in msg, msg
    assert needle in msg, msg


def test_good_p3_matrices_plan(tmp_path: Path) -> None:
    """The P3 matrices plan on their devices; the DMP cells carry their streams, each with an artefact,
    and host-cpu's DMP cell runs in the multi image."""
    root = Path(__file__).resolve().parents[2] / "matrices"
    for name in ("p3-batching", "p3-cme", "p3-edgetpu-cluster", "p3-dmp", "p3-smoke"):
        assert plan.build(root / ("%s.yaml" % name)).runs, name
    smoke = plan.build(root / "p3-smoke.yaml")
    (dmp,) = [r for r in smoke.runs if r.spec.workload == "placement"]
    assert [s.framework for s in dmp.spec.stream_specs()] == ["onnxruntime", "tflite"]
    assert dmp.spec.image == devices.load("host-cpu").images["multi"].image
    assert dmp.spec.streams[0].artifact and dmp.stream_artifacts
    assert {a.key for a in smoke.artifacts()} >= {a.key for a in dmp.stream_artifacts}
    batching = plan.build(root / "p3-batching.yaml")
    note = ramp_campaign.plan_note(batching)
    # 16 torch groups (8 models x cpu/cuda) and 8 tensorflow ones (its 4 Keras models x cpu/cuda) x 9 batch
    # sizes x 30 repetitions in the worst case, plus 2 MobileNet-V1 tensorflow groups at batch 1 only; a group
    # that fails at batch 1 runs its 30 repetitions of batch 1 only
    assert (note["worst_case_runs"], note["groups"], note["fewest_runs"]) == (4320 + 2160 + 60, 26, 780)
    cluster = plan.build(root / "p3-edgetpu-cluster.yaml")
    assert {r.spec.placement for r in cluster.runs} >= {"edgetpu:0,edgetpu:1,edgetpu:2,edgetpu:3"}
