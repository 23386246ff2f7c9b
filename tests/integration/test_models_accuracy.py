"""Accuracy for real: a small CNN trained here on scikit-learn's digits (1797 real 8x8 scans that the
package ships), exported to ONNX and to TFLite FP32/FP16/INT8, evaluated on held-out digits through the
suite's own backends. The bounds are on accuracy drops, so a broken export or quantisation fails them."""

from pathlib import Path

import pytest

from tests.conftest import has_module, need
from tests.integration.conftest import DIGITS_SHAPE

pytestmark = pytest.mark.integration
SHAPE = DIGITS_SHAPE


def test_trained_reference_is_good(digits: dict) -> None:
    assert digits["n_test"] == 540
    assert digits["torch_top1"] >= 0.90, "the small CNN did not learn digits: %.3f" % digits["torch_top1"]


def test_onnx_fp32_matches_torch_accuracy(digits: dict, tmp_path: Path) -> None:
    from edgebench.suite.artefacts import accuracy, export

    man = export.export_onnx("digits_cnn", str(tmp_path), SHAPE, 10, net=digits["net"])
    res = accuracy.evaluate("onnxruntime", "digits_cnn", str(digits["root"] / "test"), SHAPE,
                            artifact=str(tmp_path / man["file"]), num_classes=10, batch_size=32)
    assert res["images"] == 540 and res["classes"] == 10
    assert abs(res["top1"] - digits["torch_top1"]) <= 1 / 540 + 1e-9  # at most one near-tie flips
    assert res["top5"] >= res["top1"]


def test_tflite_fp32_fp16_int8_accuracy(digits: dict, tmp_path: Path) -> None:
    need(has_module("tensorflow"), "tensorflow is not installed (converts to TFLite)")
    need(has_module("ai_edge_litert") or has_module("tflite_runtime"), "no TFLite runtime (ai-edge-litert)")
    from edgebench.suite.artefacts import accuracy, export, torch2keras

    keras_net = torch2keras.convert(digits["net"], SHAPE)
    top1 = {}
    sizes = {}
    for precision in ("fp32", "fp16", "int8"):
        out = tmp_path / precision
        man = export.export_tflite("digits_cnn", str(out), SHAPE, 10, precision=precision,
                                   calib_dir=str(digits["root"] / "train"), calib_samples=64, net=keras_net)
        assert man["check"]["ok"], man["check"]
        sizes[precision] = man["size_bytes"]
        res = accuracy.evaluate("tflite", "digits_cnn", str(digits["root"] / "test"), SHAPE, precision=precision,
                                artifact=str(out / "model.tflite"), num_classes=10, batch_size=32, threads=1)
        top1[precision] = res["top1"]
    cmp = accuracy.compare([{"framework": "tflite", "precision": p, "top1": top1[p], "top5": 0.0}
                            for p in ("fp32", "fp16", "int8")], max_drop=0.03)
    print("digits top-1: torch %.4f, tflite %s; sizes %s" % (digits["torch_top1"], top1, sizes))
    assert abs(top1["fp32"] - digits["torch_top1"]) <= 1 / 540 + 1e-9
    assert abs(top1["fp16"] - top1["fp32"]) <= 2 / 540 + 1e-9
    assert top1["fp32"] - top1["int8"] <= 0.03, top1  # INT8 PTQ calibrated on real digits
    assert cmp["ok"]
    # FP16 halves the weights; INT8 quarters them (plus quantisation parameters).
    assert sizes["fp16"] < 0.7 * sizes["fp32"] and sizes["int8"] < 0.5 * sizes["fp32"]
