"""torch2keras on real torchvision nets: the Keras rebuild computes what torch computes, unsupported ops are
named, and a torchvision name becomes a checked INT8 TFLite artefact that the suite's TFLite backend runs.

Small inputs keep this fast (64x64: AlexNet's 1x1 final map then exercises AdaptiveAvgPool2d upsampling to
6x6, and its classifier the NHWC-flatten weight reordering). DenseNet121 stands in for DenseNet161.
"""

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.conftest import has_module, need

pytestmark = pytest.mark.integration
SHAPE = (3, 64, 64)


def _rel(want: np.ndarray, got: np.ndarray) -> float:
    return float(np.max(np.abs(got - want)) / np.max(np.abs(want)))


@pytest.fixture(scope="module")
def libs() -> Any:
    need(has_module("torchvision"), "torchvision is not installed")
    need(has_module("tensorflow"), "tensorflow is not installed (pip install tensorflow-cpu)")
    import torch
    import torchvision  # noqa: F401  (before TensorFlow: the triton it loads segfaults after TF)
    from edgebench.suite.artefacts import torch2keras

    torch.manual_seed(0)
    return torch2keras


def _agree(torch2keras: Any, net: Any, shape: tuple) -> float:
    """Agreement on an input other than the converter's own probe."""
    import torch

    keras_net, check = torch2keras.rebuild(net, shape)
    assert check["max_rel_diff"] <= torch2keras.RTOL and check["output_scale"] > 1e-3
    x = np.random.RandomState(7).standard_normal((3,) + tuple(shape)).astype(np.float32)
    with torch.no_grad():
        want = net(torch.from_numpy(x)).numpy()
    got = np.asarray(keras_net(x.transpose(0, 2, 3, 1), training=False))
    assert got.shape == want.shape
    return _rel(want, got)


@pytest.mark.parametrize("model", ["alexnet", "squeezenet1_1", "resnet18", "densenet121", "mobilenet_v3_small"])
def test_torchvision_net_matches_torch(libs: Any, model: str) -> None:
    from edgebench.suite.artefacts import export

    net, _ = export.build_torch(model, SHAPE, num_classes=10, seed=0)
    assert _agree(libs, net, SHAPE) <= libs.RTOL


def test_ops_outside_the_zoo_match_torch(libs: Any) -> None:
    """Rules no zoo net reaches at its default shape: signed max pooling with padding and ceil_mode (torch pads
    with -inf), avg pooling without padded cells in the count, grouped and 'same' convolutions, GELU, Hardtanh,
    LeakyReLU, scalar arithmetic, adaptive pooling to a size that does not divide the input."""
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 8, 3, stride=2, padding=1)
            self.bn = nn.BatchNorm2d(8)
            self.grouped = nn.Conv2d(8, 8, 3, padding="same", groups=2, bias=False)
            self.dw = nn.Conv2d(8, 16, 5, padding=2, groups=8)
            self.pool = nn.MaxPool2d(3, 2, padding=1, ceil_mode=True)
            self.avg = nn.AvgPool2d(3, 2, padding=1, ceil_mode=True, count_include_pad=False)
            self.adapt = nn.AdaptiveAvgPool2d((5, 3))
            self.fc = nn.Linear(16 * 5 * 3, 10)
            self.act = nn.Sequential(nn.LeakyReLU(0.1), nn.Hardtanh(-2.0, 2.0))

        def forward(self, x: Any) -> Any:
            x = self.pool(self.bn(self.conv(x)) - 1.0)  # every value may be negative
            x = F.gelu(self.grouped(x)) * 0.5 + F.avg_pool2d(x, 3, 1, 1, count_include_pad=False)
            x = self.avg(self.act(self.dw(x)))
            x = F.hardswish(x) - torch.sigmoid(x) / 2
            return F.relu(self.fc(torch.flatten(self.adapt(x), 1)))

    for side in (29, 32):  # odd and even maps: different ceil_mode overhangs
        net = Net()
        net.bn.running_mean.normal_()
        net.bn.running_var.uniform_(0.5, 2.0)
        assert _agree(libs, net, (3, side, side)) <= libs.RTOL


def test_unsupported_ops_are_named(libs: Any) -> None:
    import torch.nn as nn

    class Norm(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.ln = nn.LayerNorm(8)

        def forward(self, x: Any) -> Any:
            return self.ln(x)

    class View(nn.Module):
        def forward(self, x: Any) -> Any:
            return x.view(x.size(0), -1)

    with pytest.raises(ValueError, match="module LayerNorm"):
        libs.rebuild(Norm(), (3, 8, 8))
    with pytest.raises(ValueError, match=r"\.size\(\)"):
        libs.rebuild(View(), (3, 8, 8))


def test_make_int8_tflite_from_torchvision(libs: Any, tmp_path: Path) -> None:
    need(has_module("ai_edge_litert") or has_module("tflite_runtime"), "no TFLite runtime (ai-edge-litert)")
    import torch
    from edgebench.suite.artefacts import agreement, export
    from edgebench.suite.artefacts.make import make
    from edgebench.suite.backends.tflite_backend import TfliteBackend
    from edgebench.suite.spec import RunSpec

    man = make("tflite", "squeezenet1_1", str(tmp_path), SHAPE, num_classes=10, precision="int8")
    assert man["source"] == "torchvision.models.squeezenet1_1 via edgebench torch2keras"
    assert man["torch_check"]["reference"] == "torch" and man["torch_check"]["max_rel_diff"] <= libs.RTOL
    assert man["check"]["ok"] and man["check"]["rms_rel_diff"] <= agreement.TFLITE_TOLERANCES["int8"]["rms_rel_diff"]
    assert man["layout"] == "NHWC" and man["output_shape"] == [10] and {"torch", "torchvision"} <= set(man["versions"])
    net, _ = export.build_torch("squeezenet1_1", SHAPE, num_classes=10, seed=0)
    assert man["parameters"] == sum(p.numel() for p in net.parameters())
    # The suite's backend runs the artefact; its INT8 output follows torch's (not only Keras's) within tolerance.
    b = TfliteBackend(RunSpec(model="squeezenet1_1", framework="tflite", batch_size=4, input_shape=SHAPE,
                              artifact=str(tmp_path / "model.tflite"), precision="int8", threads=1))
    b.load()
    assert b.inp["dtype"] == np.int8
    x = np.random.RandomState(3).standard_normal((4,) + SHAPE).astype(np.float32)
    got = b.output(np.ascontiguousarray(x.transpose(0, 2, 3, 1)))
    with torch.no_grad():
        want = net(torch.from_numpy(x)).numpy()
    assert agreement.agreement(want, got)["rms_rel_diff"] <= agreement.TFLITE_TOLERANCES["int8"]["rms_rel_diff"]
