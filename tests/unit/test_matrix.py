"""Matrix validation: every error names the file, the line and the key, and says what was expected."""

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from edgebench.cli import plan
from edgebench.cli.errors import InputError
from edgebench.cli.matrix import Sweep

ROOT = Path(__file__).resolve().parents[2]

GOOD = """\
name: t
fixed:
  iterations: 5
axes:
  model: [resnet18, mobilenet_v2]
  framework: [torch, onnxruntime]
  batch_size: [1, 8]
exclude:
  - {framework: onnxruntime, batch_size: 8}
include:
  - {model: resnet18, framework: torch, batch_size: 1, memory_mb: 100, expect: oom}
repetitions: 2
"""


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "m.yaml"
    p.write_text(text)
    return p


def error(tmp_path: Path, text: str) -> InputError:
    with pytest.raises(InputError) as info:
        plan.build(write(tmp_path, text))
    return info.value


def test_good_matrix_expands_in_order(tmp_path: Path) -> None:
    p = plan.build(write(tmp_path, GOOD))
    # 2 models x 2 frameworks x 2 batches - 2 excluded + 1 included = 7 cells, 2 repetitions each
    assert len(p.runs) == 14
    assert len({r.run_id for r in p.runs}) == 14
    first = p.runs[0].spec
    assert (first.model, first.framework, first.batch_size, first.repetition) == ("resnet18", "torch", 1, 0)
    assert p.runs[1].spec.repetition == 1
    assert not any(r.spec.framework == "onnxruntime" and r.spec.batch_size == 8 for r in p.runs)
    last = p.runs[-1].spec
    assert last.limits.memory_mb == 100 and last.expect == "oom"
    assert all(r.spec.iterations == 5 for r in p.runs)
    onnx = [r for r in p.runs if r.spec.framework == "onnxruntime"]
    assert onnx and all(r.spec.artifact and r.spec.artifact.endswith(".onnx") for r in onnx)


@pytest.mark.parametrize("text, line, key, expect", [
    (GOOD.replace("repetitions: 2", "repetitons: 2"), 12, "repetitons", "unknown key"),
    (GOOD.replace("batch_size: [1, 8]", "batch_size: [1, eight]"), 7, "axes.batch_size[1]:", "integer"),
    (GOOD.replace("batch_size: [1, 8]", "batch_size: []"), 7, "axes.batch_size", "empty axis"),
    (GOOD.replace("batch_size: [1, 8]", "batch_size: [1, -8]"), 7, "axes.batch_size[1]:", "greater than or equal to 1"),
    (GOOD.replace("model: [resnet18, mobilenet_v2]", "model: [resnet18, resnet1000]"), 5, "model", "unknown model"),
    (GOOD.replace("iterations: 5", "iterations: lots"), 3, "fixed.iterations", "integer"),
    (GOOD.replace("memory_mb: 100,", "memory_mb: 100, memory_swap_mb: 50,"), 11, "include[0].memory_swap_mb",
     ">= it"),
    (GOOD.replace("  batch_size: [1, 8]\n", "  batch_size: [1, 8]\n  colour: [red]\n"), 8, "axes.colour",
     "unknown axis"),
    (GOOD.replace("iterations: 5", "iterations: 5\n  cpuset: 0-"), 4, "fixed.cpuset", "a CPU list like '0-3'"),
])
def test_errors_name_file_line_key(tmp_path: Path, text: str, line: int, key: str, expect: str) -> None:
    e = error(tmp_path, text)
    msg = str(e)
    assert msg.startswith("%s:%d: " % (tmp_path / "m.yaml", line)), msg
    assert key in msg and expect in msg, msg


def test_precision_the_framework_cannot_run(tmp_path: Path) -> None:
    e = error(tmp_path, GOOD.replace("iterations: 5", "iterations: 5\n  precision: int8"))
    assert "torch runs" in str(e) and "int8" in str(e)


def test_not_yaml(tmp_path: Path) -> None:
    e = error(tmp_path, "name: [unclosed\n")
    assert "not valid YAML" in str(e) and e.line is not None


def test_p1_sweep_schedule_pi() -> None:
    sw = Sweep(start_mb=10, end_mb=510, stages=20, budget_mb=510)
    pts = sw.points()
    asc = [m for r, _, m in pts if r == "ascending"]
    desc = [m for r, _, m in pts if r == "descending"]
    again = [m for r, _, m in pts if r == "ascending_again"]
    assert asc[0] == 10 and asc[-1] == 510 and len(asc) == 21
    assert desc[0] == 485 and desc[-1] == 10 and len(desc) == 20
    assert again[0] == 35 and again[-1] == 510 and len(again) == 20
    assert [r for r, _, _ in pts] == ["ascending"] * 21 + ["descending"] * 20 + ["ascending_again"] * 20


def test_p1_sweep_in_plan(tmp_path: Path) -> None:
    text = """\
name: sweep
fixed: {model: mobilenet_v2, framework: torch, warmups: 1, iterations: 10}
repetitions: 5
sweep: {start_mb: 250, end_mb: 1500, stages: 50, budget_mb: 1500, settle_s: 10}
"""
    p = plan.build(write(tmp_path, text))
    assert len(p.runs) == (51 + 50 + 50) * 5
    s0 = p.runs[0].spec
    assert s0.limits.memory_mb == 250 and s0.limits.memory_swap_mb == 1500 and s0.limits.swap_mb == 1250
    assert s0.limits.swappiness == 10 and s0.settle_s == 10
    assert [r.spec.repetition for r in p.runs[:5]] == [0, 1, 2, 3, 4]
    # the same limit in two rounds is two different runs
    again = [r for r in p.runs if r.spec.labels["round"] == "ascending_again" and r.spec.limits.memory_mb == 275]
    first = [r for r in p.runs if r.spec.labels["round"] == "ascending" and r.spec.limits.memory_mb == 275]
    assert again[0].run_id != first[0].run_id


def test_cli_bad_matrix_exit_code_2(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace("batch_size: [1, 8]", "batch_size: [1, -8]"))
    proc = subprocess.run([sys.executable, "-m", "edgebench.cli.app", "plan", str(path), "--json"],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert "m.yaml:7" in proc.stderr and "batch_size" in proc.stderr


def test_cli_plan_json(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "edgebench.cli.app", "plan", str(write(tmp_path, GOOD)), "--json"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["runs"] == 14 and len(data["plan"]) == 14 and data["estimate_s"] > 0


def test_repo_matrices_are_valid() -> None:
    for path in sorted((ROOT / "matrices").glob("*.yaml")):
        p = plan.build(path)
        assert p.runs, path


def test_study_matrices_cover_their_protocols() -> None:
    p2 = plan.build(ROOT / "matrices/p2-heterogeneity.yaml", device="rpi4")
    cells = {(r.spec.model, r.spec.framework) for r in p2.runs}
    # P2's torchvision-only models reach LiteRT on the Pi (through torch2keras), next to ONNX Runtime.
    assert {("alexnet", "tflite"), ("squeezenet1_0", "tflite"), ("densenet161", "onnxruntime")} <= cells
    # TensorFlow runs the two P2 models Keras has, on the Pi's CPU; its GPU cells are skipped with the reason.
    assert {("resnet50", "tensorflow"), ("vgg16", "tensorflow")} <= cells and ("alexnet", "tensorflow") not in cells
    assert ("resnet18", "mxnet") in cells  # MXNet's Gluon nets, from the image its wheel builds
    assert {why for _, why in p2.skipped} == {"rpi4 has no torch image", "rpi4 runs tensorflow on cpu, not cuda",
                                           "rpi4 runs mxnet on cpu, not cuda"}
    p5 = plan.build(ROOT / "matrices/p5-pruning.yaml")
    assert {r.spec.input_shape for r in p5.runs} == {(3, s, s) for s in (224, 192, 160, 112)}
    assert "resnet50+pruned-taylor-50" in {r.spec.model for r in p5.runs}
    p4 = plan.build(ROOT / "matrices/p4-tensorrt.yaml")
    assert {(r.spec.framework, r.spec.precision) for r in p4.runs} == {
        ("tensorflow", "fp32"), ("torch", "fp32"), ("tensorrt", "fp32"), ("tensorrt", "fp16")}


def test_local_paths_resolve_against_the_matrix_folder(tmp_path: Path) -> None:
    (tmp_path / "calib").mkdir()
    with zipfile.ZipFile(tmp_path / "w.pt", "w") as z:  # torch.save writes a zip
        z.writestr("w/data.pkl", b"x")
    text = """\
name: paths
include:
  - {model: resnet18, framework: onnxruntime, precision: int8, calib_dir: calib}
  - {model: resnet18, framework: onnxruntime, precision: fp32, calib_dir: calib, weights: w.pt}
"""
    p = plan.build(write(tmp_path, text))  # an include-only matrix: exactly its two cells
    assert [r.spec.precision for r in p.runs] == ["int8", "fp32"]
    int8, fp32 = p.runs[0].spec, p.runs[1].spec
    assert int8.calib_dir == str((tmp_path / "calib").resolve()) and fp32.weights == str((tmp_path / "w.pt").resolve())
    # Calibration images change the int8 artefact (its key carries their hash), not the fp32 one; weights change both.
    assert "-int8-cal" in str(int8.artifact) and "-cal" not in str(fp32.artifact) and "-w" in str(fp32.artifact)
    e = error(tmp_path, text.replace("calib_dir: calib}", "calib_dir: nowhere}"))
    assert e.line == 3 and "include[0].calib_dir" in str(e) and "does not exist" in str(e)
    e = error(tmp_path, text.replace("weights: w.pt", "weights: calib"))
    assert "include[1].weights" in str(e) and "file" in str(e)


def test_cross_device_studies_skip_what_a_device_lacks(tmp_path: Path) -> None:
    text = """\
name: across
axes:
  model: [resnet18]
  framework: [torch, onnxruntime, tflite]
"""
    e = error(tmp_path, text.replace("name: across", "name: across\ndevice: rpi4"))
    assert "axes.framework" in str(e) and "rpi4 has no image for framework 'torch'" in str(e)
    p = plan.build(write(tmp_path, text + "unsupported: skip\n"), device="rpi4")
    assert sorted(r.spec.framework for r in p.runs) == ["onnxruntime", "tflite"]
    assert p.skipped == [({"model": "resnet18", "framework": "torch"}, "rpi4 has no torch image")]
    # Skipping is about the device only: a model the framework cannot run is still an error.
    e = error(tmp_path, text.replace("resnet18", "mobilenet_v1") + "unsupported: skip\n")
    assert "mobilenet_v1" in str(e)


def test_edgetpu_cells_must_be_int8(tmp_path: Path) -> None:
    text = """\
name: tpu
device: coral-usb
include:
  - {model: mobilenet_v2, framework: tflite, precision: fp16, placement: edgetpu}
"""
    e = error(tmp_path, text)
    assert "include[0].precision" in str(e) and "INT8 models only" in str(e)
    p = plan.build(write(tmp_path, text.replace("fp16", "int8")))
    assert [a.format for a in p.artifacts()] == ["edgetpu"]


def test_a_cpuset_axis_pins_each_cell(tmp_path: Path) -> None:
    axes = GOOD.replace("  batch_size: [1, 8]\n", "  batch_size: [1]\n  cpuset: ['0', '0-1']\n")
    p = plan.build(write(tmp_path, axes))
    assert {r.spec.limits.cpuset for r in p.runs} == {"0", "0-1", None}  # the include cell sets none
    assert len({r.run_id for r in p.runs}) == len(p.runs)
