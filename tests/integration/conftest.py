"""Fixtures that make real artefacts once per session (torch state dicts, ONNX exports)."""

import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.conftest import has_module, need


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("models")


def make_artifact(models_dir: Path, fmt: str, model: str, shape: str = "3,224,224") -> str:
    """A real artefact made by the suite's own exporter; returns its path relative to models_dir."""
    c, h, w = shape.split(",")
    key = "%s-%s-%sx%sx%s-c1000-s0" % (fmt, model, c, h, w)
    out = models_dir / key
    rel = "%s/model.%s" % (key, "pt" if fmt == "torch" else "onnx")
    if not (models_dir / rel).exists():
        subprocess.run([sys.executable, "-m", "edgebench.suite", "export", "--format", fmt, "--model", model,
                        "--input", shape, "--out", str(out)], check=True, capture_output=True)
    return rel


@pytest.fixture(scope="session")
def torch_rn18(models_dir: Path) -> str:
    need(has_module("torch") and has_module("torchvision"), "torch and torchvision")
    return make_artifact(models_dir, "torch", "resnet18")


@pytest.fixture(scope="session")
def onnx_mnv3(models_dir: Path) -> str:
    need(has_module("torch") and has_module("onnxruntime") and has_module("onnx"), "torch, onnx, onnxruntime")
    return make_artifact(models_dir, "onnx", "mobilenet_v3_small")


# The digits CNN: trained once per session on scikit-learn's real digits (accuracy tests of every runtime).
DIGITS_SHAPE = (3, 32, 32)


def _need_digits() -> None:
    for mod in ("torch", "sklearn", "PIL", "onnxruntime"):
        need(has_module(mod), "%s is not installed" % mod)


def write_digit_folder(root: Path, images: np.ndarray, labels: np.ndarray) -> None:
    from PIL import Image

    for i, (img, y) in enumerate(zip(images, labels)):
        d = root / ("%d" % y)
        d.mkdir(parents=True, exist_ok=True)
        Image.fromarray((img * 255.0 / 16.0).astype(np.uint8), "L").save(d / ("%04d.png" % i))


def digits_net() -> Any:
    import torch.nn as nn

    def block(cin: int, cout: int) -> list:
        return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]

    return nn.Sequential(*block(3, 16), nn.MaxPool2d(2), *block(16, 32), nn.MaxPool2d(2), *block(32, 64),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10))


@pytest.fixture(scope="session")
def digits(tmp_path_factory: pytest.TempPathFactory) -> dict:
    _need_digits()
    import torch
    from edgebench.suite import inputs
    from edgebench.suite.artefacts import accuracy
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    data = load_digits()
    xtr, xte, ytr, yte = train_test_split(data.images, data.target, test_size=0.3, random_state=0,
                                          stratify=data.target)
    root = tmp_path_factory.mktemp("digits")
    write_digit_folder(root / "train", xtr, ytr)
    write_digit_folder(root / "test", xte, yte)
    # Train on exactly what the backends will see: the suite's own image loader.
    _, samples = accuracy.image_folder(str(root / "train"))
    x = torch.from_numpy(np.stack([inputs.load_image(p, DIGITS_SHAPE) for p, _ in samples]))
    y = torch.tensor([lab for _, lab in samples])
    torch.manual_seed(0)
    net = digits_net()
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    for _ in range(12):
        net.train()
        for idx in torch.randperm(len(y)).split(64):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(net(x[idx]), y[idx]).backward()
            opt.step()
    net.eval()
    _, test = accuracy.image_folder(str(root / "test"))
    xt = torch.from_numpy(np.stack([inputs.load_image(p, DIGITS_SHAPE) for p, _ in test]))
    with torch.no_grad():
        torch_top1 = float((net(xt).argmax(1).numpy() == np.array([lab for _, lab in test])).mean())
    return {"root": root, "net": net, "torch_top1": torch_top1, "n_test": len(test)}
