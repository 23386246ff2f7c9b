"""Fixtures that make real artefacts once per session (torch state dicts, ONNX exports)."""

import subprocess
import sys
from pathlib import Path

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
