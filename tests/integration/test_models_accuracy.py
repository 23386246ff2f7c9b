"""Accuracy for real: a small CNN trained here on scikit-learn's digits (1797 real 8x8 scans that the
package ships), exported to ONNX and to TFLite FP32/FP16/INT8, evaluated on held-out digits through the
suite's own backends. The bounds are on accuracy drops, so a broken export or quantisation fails them."""

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.conftest import has_module, need

pytestmark = pytest.mark.integration
SHAPE = (3, 32, 32)


def _need_all() -> None:
    for mod in ("torch", "sklearn", "PIL", "onnxruntime"):
        need(has_module(mod), "%s is not installed" % mod)


def _write_folder(root: Path, images: np.ndarray, labels: np.ndarray) -> None:
    from PIL import Image

    for i, (img, y) in enumerate(zip(images, labels)):
        d = root / ("%d" % y)
        d.mkdir(parents=True, exist_ok=True)
        Image.fromarray((img * 255.0 / 16.0).astype(np.uint8), "L").save(d / ("%04d.png" % i))


def _net() -> Any:
    import torch.nn as nn

    def block(cin: int, cout: int) -> list:
        return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]

    return nn.Sequential(*block(3, 16), nn.MaxPool2d(2), *block(16, 32), nn.MaxPool2d(2), *block(32, 64),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10))


@pytest.fixture(scope="module")
def digits(tmp_path_factory: pytest.TempPathFactory) -> dict:
    _need_all()
    import torch
    from edgebench.suite import inputs
    from edgebench.suite.models import accuracy
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    data = load_digits()
    xtr, xte, ytr, yte = train_test_split(data.images, data.target, test_size=0.3, random_state=0,
                                          stratify=data.target)
    root = tmp_path_factory.mktemp("digits")
    _write_folder(root / "train", xtr, ytr)
    _write_folder(root / "test", xte, yte)
    # Train on exactly what the backends will see: the suite's own image loader.
    _, samples = accuracy.image_folder(str(root / "train"))
    x = torch.from_numpy(np.stack([inputs.load_image(p, SHAPE) for p, _ in samples]))
    y = torch.tensor([lab for _, lab in samples])
    torch.manual_seed(0)
    net = _net()
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    for _ in range(12):
        net.train()
        for idx in torch.randperm(len(y)).split(64):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(net(x[idx]), y[idx]).backward()
            opt.step()
    net.eval()
    _, test = accuracy.image_folder(str(root / "test"))
    xt = torch.from_numpy(np.stack([inputs.load_image(p, SHAPE) for p, _ in test]))
    with torch.no_grad():
        torch_top1 = float((net(xt).argmax(1).numpy() == np.array([lab for _, lab in test])).mean())
    return {"root": root, "net": net, "torch_top1": torch_top1, "n_test": len(test)}


def test_trained_reference_is_good(digits: dict) -> None:
    assert digits["n_test"] == 540
    assert digits["torch_top1"] >= 0.90, "the small CNN did not learn digits: %.3f" % digits["torch_top1"]


def test_onnx_fp32_matches_torch_accuracy(digits: dict, tmp_path: Path) -> None:
    from edgebench.suite.models import accuracy, export

    man = export.export_onnx("digits_cnn", str(tmp_path), SHAPE, 10, net=digits["net"])
    res = accuracy.evaluate("onnxruntime", "digits_cnn", str(digits["root"] / "test"), SHAPE,
                            artifact=str(tmp_path / man["file"]), num_classes=10, batch_size=32)
    assert res["images"] == 540 and res["classes"] == 10
    assert abs(res["top1"] - digits["torch_top1"]) <= 1 / 540 + 1e-9  # at most one near-tie flips
    assert res["top5"] >= res["top1"]


def test_tflite_fp32_fp16_int8_accuracy(digits: dict, tmp_path: Path) -> None:
    need(has_module("tensorflow"), "tensorflow is not installed (converts to TFLite)")
    need(has_module("ai_edge_litert") or has_module("tflite_runtime"), "no TFLite runtime (ai-edge-litert)")
    from edgebench.suite.models import accuracy, export, torch2keras

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
