"""The model zoo's names and the artefact cache's keys: plain data, no runtime needed."""

import json
from pathlib import Path

import numpy as np
import pytest
from edgebench.cli import artifacts
from edgebench.suite import registry
from edgebench.suite.artefacts.accuracy import compare, topk
from edgebench.suite.artefacts.agreement import TFLITE_TOLERANCES as TOLERANCE
from edgebench.suite.artefacts.agreement import agreement
from edgebench.suite.artefacts.quantise import within
from edgebench.suite.nets import zoo
from edgebench.suite.spec import RunSpec


def test_variant_names_parse_and_reject() -> None:
    assert zoo.parse("resnet50") == ("resnet50", None)
    assert zoo.parse("resnet50+pruned-taylor-50") == ("resnet50", ("taylor", 50))
    assert zoo.variant_name("vgg16", "magnitude", 25) == "vgg16+pruned-magnitude-25"
    for bad in ("resnet50+pruned-taylor-0", "resnet50+pruned-random-50", "resnet50+quant-8", "resnet50+pruned-l1-x"):
        with pytest.raises(ValueError, match="NAME\\+pruned-IMPORTANCE-PERCENT"):
            zoo.parse(bad)


def test_can_run_per_framework() -> None:
    assert zoo.can_run("tflite", "mobilenet_v3_small", "int8") == ""
    assert zoo.can_run("tflite", "mobilenet_v1", "fp16") == ""
    assert zoo.can_run("tflite", "alexnet", "fp32") == ""  # torchvision, rebuilt in Keras
    assert "unknown model 'googlenet' for tflite" in zoo.can_run("tflite", "googlenet", "fp32")
    assert zoo.tflite_source("alexnet") == "torchvision" and zoo.tflite_source("densenet121") == "keras"
    assert zoo.can_run("onnxruntime", "resnet18", "int8") == ""
    assert "not 'int4'" in zoo.can_run("onnxruntime", "resnet18", "int4")
    assert "unknown model 'mobilenet_v1' for tensorrt" in zoo.can_run("tensorrt", "mobilenet_v1", "fp32")
    assert zoo.can_run("onnxruntime", "resnet50+pruned-taylor-50", "fp32") == ""
    assert zoo.can_run("torch", "resnet50+pruned-taylor-50", "fp32") == ""
    assert "runs on torch/onnxruntime/tensorrt, not on tflite" in zoo.can_run("tflite", "resnet50+pruned-taylor-50",
                                                                             "fp32")
    assert "unknown model" in zoo.can_run("onnxruntime", "resnet50+pruned-x-1", "fp32")
    assert registry.FRAMEWORKS["tflite"].artefact == "tflite" and zoo.artifact_format("torch") is None
    assert registry.FRAMEWORKS["tflite"].precisions == ("fp32", "fp16", "int8")


def test_default_shapes_follow_the_source() -> None:
    assert zoo.default_shape("inception_v3") == (3, 299, 299)
    assert zoo.default_shape("efficientnet_b5", "tflite") == (3, 456, 456)
    assert zoo.default_shape("mobilenet_v1", "tflite") == (3, 224, 224)
    assert zoo.default_shape("resnet50+pruned-magnitude-30") == (3, 224, 224)
    # Every P1 model has a Keras source for TFLite.
    for m in ("mobilenet_v3_small", "mobilenet_v3_large", "densenet121", "densenet169", "densenet201") + tuple(
            "efficientnet_b%d" % i for i in range(6)):
        assert m in zoo.KERAS


def test_artifact_keys_stay_stable_for_old_formats() -> None:
    # The run id includes spec.artifact: these relpaths must not change, or campaigns stop resuming.
    onnx = artifacts.artifact_for(RunSpec(model="resnet18", framework="onnxruntime"))
    torch = artifacts.artifact_for(RunSpec(model="resnet18", framework="torch", precision="fp16"))
    assert onnx is not None and onnx.relpath == "onnx-resnet18-3x224x224-c1000-s0/model.onnx"
    assert torch is not None and torch.relpath == "torch-resnet18-3x224x224-c1000-s0/model.pt"
    tfl = artifacts.artifact_for(RunSpec(model="densenet121", framework="tflite", precision="int8", num_classes=102))
    assert tfl is not None and tfl.relpath == "tflite-densenet121-3x224x224-c102-s0-int8/model.tflite"
    fp16 = artifacts.artifact_for(RunSpec(model="densenet121", framework="tflite", precision="fp16", num_classes=102))
    assert fp16 is not None and fp16.key != tfl.key
    # ONNX at fp16/int8 are their own files; TensorRT builds every precision from the fp32 ONNX.
    q = artifacts.artifact_for(RunSpec(model="resnet18", framework="onnxruntime", precision="int8"))
    assert q is not None and q.relpath == "onnx-resnet18-3x224x224-c1000-s0-int8/model.onnx"
    trt = artifacts.artifact_for(RunSpec(model="resnet18", framework="tensorrt", precision="int8", placement="cuda"))
    assert trt is not None and trt.relpath == onnx.relpath
    # The EdgeTPU delegate runs only compiled models: its own artefact, with the compiler's version in its key.
    tpu = artifacts.artifact_for(RunSpec(model="mobilenet_v2", framework="tflite", precision="int8",
                                         placement="edgetpu:usb:0"))
    assert tpu is not None and tpu.relpath == "edgetpu-mobilenet_v2-3x224x224-c1000-s0-int8/model.tflite"
    assert artifacts.tool_versions(tpu)["edgetpu_compiler"] == "absent"  # not installable here (x86-64 apt only)


def test_content_key_tracks_inputs_and_tool_versions(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    art = artifacts.Artifact("tflite", "mobilenet_v2", (3, 224, 224), 1000, 0, "int8")
    k1 = artifacts.content_key(art)
    assert artifacts.content_key(art) == k1
    assert artifacts.content_key(artifacts.Artifact("tflite", "mobilenet_v2", (3, 224, 224), 1000, 1, "int8")) != k1
    monkeypatch.setattr(artifacts, "tool_versions", lambda a: {"tensorflow": "0.0-other"})
    assert artifacts.content_key(art) != k1
    monkeypatch.undo()
    # Calibration images are part of the content: editing the folder changes the key, not the folder name.
    cal = tmp_path / "cal"
    (cal / "a").mkdir(parents=True)
    (cal / "a" / "x.png").write_bytes(b"1")
    with_cal = artifacts.Artifact("tflite", "mobilenet_v2", (3, 224, 224), 1000, 0, "int8", str(cal))
    k2 = artifacts.content_key(with_cal)
    (cal / "a" / "y.png").write_bytes(b"22")
    assert artifacts.content_key(with_cal) != k2
    assert with_cal.key.startswith("tflite-mobilenet_v2-3x224x224-c1000-s0-int8-cal")


def test_cached_lists_manifests(tmp_path: Path) -> None:
    d = tmp_path / "onnx-x-3x8x8-c2-s0"
    d.mkdir()
    (d / "model.onnx").write_bytes(b"abc")
    (d / "manifest.json").write_text(json.dumps({"file": "model.onnx", "size_bytes": 3}))
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "manifest.json").write_text("{not json")
    rows = artifacts.cached(tmp_path)
    assert [(r["key"], r["present"], r["size_bytes"]) for r in rows] == [("onnx-x-3x8x8-c2-s0", True, 3)]


def test_topk_and_compare() -> None:
    logits = np.array([[0.1, 0.9, 0.0], [0.5, 0.2, 0.3], [0.0, 0.1, 0.2]])
    labels = np.array([1, 2, 0])
    assert topk(logits, labels, 1).tolist() == [True, False, False]
    assert topk(logits, labels, 2).tolist() == [True, True, False]
    assert topk(logits, labels, 5).all()  # k larger than the class count means every class
    res = compare([{"framework": "f", "precision": "fp32", "top1": 0.9, "top5": 1.0},
                   {"framework": "f", "precision": "int8", "top1": 0.88, "top5": 1.0}], max_drop=0.01)
    assert not res["ok"] and res["rows"][1]["drop"] == pytest.approx(0.02)


def test_agreement_and_tolerances() -> None:
    ref = np.array([[1.0, 2.0, -4.0], [0.5, 0.0, 0.25]])
    same = agreement(ref, ref.copy())
    assert same["max_rel_diff"] == 0 and same["top1_agreement"] == 1.0
    off = agreement(ref, ref + np.array([[0.0, 0.0, 0.4], [0.0, 0.6, 0.0]]))
    assert off["max_rel_diff"] == pytest.approx(0.6 / 4.0)
    assert off["top1_agreement"] == 0.5
    assert within({"max_rel_diff": 2e-4}, "fp32")["ok"] is False
    assert within({"max_rel_diff": 0.01, "rms_rel_diff": 0.005}, "fp16")["ok"] is True
    assert "rms_rel_diff" in within({"rms_rel_diff": 0.5}, "int8")["failed"]
    assert set(TOLERANCE) == {"fp32", "fp16", "int8"}
