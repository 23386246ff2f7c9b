"""The tensorflow backend for real: tensorflow-cpu in the main venv, random-weight Keras applications made by
the suite's own exporter, each run in a fresh child process (TensorFlow fixes its thread pools at start-up)."""

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from edgebench.suite.spec import RunSpec

from tests.conftest import has_module, need
from tests.integration.test_harness import run_child

pytestmark = [pytest.mark.integration]

SHAPE = (3, 96, 96)  # small inputs keep every run a second or two on 2 cores


def make(models_dir: Path, fmt: str, model: str, precision: str = "fp32") -> str:
    """A real artefact from `python -m edgebench.suite.artefacts make`; its path relative to models_dir."""
    c, h, w = SHAPE
    key = "%s-%s-%dx%dx%d-c1000-s0-%s" % (fmt, model, c, h, w, precision)
    rel = "%s/model.%s" % (key, fmt)
    if not (models_dir / rel).exists():
        subprocess.run([sys.executable, "-m", "edgebench.suite.artefacts", "make", "--format", fmt, "--model", model,
                        "--input", "%d,%d,%d" % SHAPE, "--precision", precision, "--out", str(models_dir / key)],
                       check=True, capture_output=True)
    return rel


@pytest.fixture(scope="module")
def keras_mnv1(models_dir: Path) -> str:
    need(has_module("tensorflow"), "tensorflow (tensorflow-cpu)")
    return make(models_dir, "keras", "mobilenet_v1")


def spec(artifact: str, **kw: Any) -> RunSpec:
    base: dict[str, Any] = {"model": "mobilenet_v1", "framework": "tensorflow", "input_shape": SHAPE,
                            "warmups": 2, "iterations": 8, "threads": 1, "artifact": artifact}
    base.update(kw)
    return RunSpec(**base)


def test_fp32_run_records_threads_graph_and_device(tmp_path: Path, models_dir: Path, keras_mnv1: str) -> None:
    rc, r = run_child(spec(keras_mnv1, batch_size=2), tmp_path / "run", models_dir)
    assert rc == 0 and r["status"] == "ok", r["reason"]
    assert [p["name"] for p in r["phases"]] == ["import", "load", "build", "warmup", "measure"]
    assert len(r["latencies_s"]) == 8 and r["summary"]["p50"] > 0
    pl = r["placement"]
    assert pl["requested"] == "cpu" and pl["actual"] == "cpu" and pl["fell_back"] is False
    assert pl["device"].endswith("device:CPU:0")
    tf_rec = pl["tensorflow"]
    assert tf_rec["source"] == "keras-file" and tf_rec["jit_compile"] is False
    assert tf_rec["policy"] == "float32" and tf_rec["output_dtype"] == "float32"
    # what TensorFlow itself reports after the pools were set, not the spec echoed back
    assert tf_rec["threads"]["intra_op"] == 1 and tf_rec["threads"]["inter_op"] == 1
    assert "error" not in tf_rec["threads"]
    assert r["env"]["end"]["runtime"]["tensorflow"].startswith("2.")


def test_threads_left_to_tensorflow_read_back_as_its_default(tmp_path: Path, models_dir: Path,
                                                             keras_mnv1: str) -> None:
    rc, r = run_child(spec(keras_mnv1, threads=None, iterations=3), tmp_path / "run", models_dir)
    assert rc == 0, r["reason"]
    threads = r["placement"]["tensorflow"]["threads"]
    assert threads["asked"] == {"intra_op": 0, "inter_op": 0} and threads["intra_op"] == 0


def test_fp16_runs_mixed_float16_and_stays_close_to_fp32(tmp_path: Path, models_dir: Path, keras_mnv1: str) -> None:
    rc, r = run_child(spec(keras_mnv1, precision="fp16", iterations=3), tmp_path / "run", models_dir)
    assert rc == 0 and r["status"] == "ok", r["reason"]
    tf_rec = r["placement"]["tensorflow"]
    assert tf_rec["policy"] == "mixed_float16" and tf_rec["output_dtype"] == "float16"
    assert tf_rec["source"] == "keras-zoo+weights"  # rebuilt under the policy, weights read from the artefact


def test_gpu_request_without_a_gpu_falls_back_flagged(tmp_path: Path, models_dir: Path, keras_mnv1: str) -> None:
    rc, r = run_child(spec(keras_mnv1, placement="cuda:0", iterations=3), tmp_path / "run", models_dir)
    assert rc == 0 and r["status"] == "ok", r["reason"]
    pl = r["placement"]
    if pl["gpus_visible"]:
        assert pl["actual"] == "cuda" and pl["fell_back"] is False
    else:  # tensorflow-cpu here: soft placement puts every op on the CPU, and the run says so
        assert pl["actual"] == "cpu" and pl["fell_back"] is True and "no GPU" in pl["fell_back_reason"]


def test_keras_in_tensorflow_agrees_with_its_litert_fp32_conversion(models_dir: Path, keras_mnv1: str) -> None:
    """Same model, same seed: the .keras file in TensorFlow and the .tflite LiteRT runs, on one batch."""
    need(has_module("ai_edge_litert"), "ai-edge-litert")
    from edgebench.suite.artefacts.agreement import TFLITE_TOLERANCES, agreement
    from edgebench.suite.backends import get

    tfl = make(models_dir, "tflite", "mobilenet_v1")
    x = np.random.RandomState(7).standard_normal((4,) + SHAPE[1:] + SHAPE[:1]).astype(np.float32)
    outs = []
    for fw, art in (("tensorflow", keras_mnv1), ("tflite", tfl)):
        b = get(fw)(spec(art, framework=fw, batch_size=4), str(models_dir))
        b.load()
        outs.append(b.output(x))
    assert outs[0].shape == outs[1].shape == (4, 1000)
    found = agreement(outs[0], outs[1])
    assert found["max_rel_diff"] <= TFLITE_TOLERANCES["fp32"]["max_rel_diff"], found
    assert float(np.std(outs[0])) > 1e-3  # real logits, not a constant both runtimes would agree on


def test_xla_and_savedmodel_give_the_keras_outputs(tmp_path: Path, models_dir: Path, keras_mnv1: str) -> None:
    """jit_compile=True is recorded and computes the same function; a SavedModel folder loads and agrees."""
    script = """
import json, sys
import numpy as np, keras, tensorflow as tf
from edgebench.suite.backends import get
from edgebench.suite.spec import RunSpec
art, saved = sys.argv[1], sys.argv[2]
tf.saved_model.save(keras.models.load_model(art, compile=False), saved)
x = np.random.RandomState(3).standard_normal((2, 96, 96, 3)).astype(np.float32)
out, rec = [], []
for a, xla in ((art, False), (art, True), (saved, False)):
    b = get("tensorflow")(RunSpec(model="mobilenet_v1", framework="tensorflow", input_shape=(3, 96, 96),
                                  batch_size=2, artifact=a, jit_compile=xla))
    b.load(); b.build()
    out.append(b.output(x)); rec.append(b.placement()["tensorflow"])
ref = np.abs(out[0]).max()
print(json.dumps({"xla": float(np.abs(out[1] - out[0]).max() / ref),
                  "saved": float(np.abs(out[2] - out[0]).max() / ref), "rec": rec}))
"""
    proc = subprocess.run([sys.executable, "-c", script, str(models_dir / keras_mnv1), str(tmp_path / "saved")],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    assert [r["jit_compile"] for r in got["rec"]] == [False, True, False]
    assert [r["source"] for r in got["rec"]] == ["keras-file", "keras-file", "savedmodel"]
    assert got["xla"] <= 1e-4 and got["saved"] <= 1e-5, got


def test_a_model_outside_the_keras_zoo_is_refused_with_the_reason(tmp_path: Path, models_dir: Path) -> None:
    need(has_module("tensorflow"), "tensorflow (tensorflow-cpu)")
    rc, r = run_child(RunSpec(model="resnet18", framework="tensorflow", iterations=2), tmp_path / "run", models_dir)
    assert r["status"] != "ok" and "Keras applications" in r["reason"], r["reason"]
