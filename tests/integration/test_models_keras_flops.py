"""FLOPs/MACs/parameters of Keras applications (the TFLite models of P1), with flops.py's convention.

Checked three independent ways: against torchvision's counts of the same architectures (VGG16 and
MobileNetV2 have the same layers in both: equal MACs and trainable parameters), against TensorFlow's own
profiler (float_ops of the frozen graph, per op type), and against hand-computed figures on a small
model with every layer kind the counter knows.
"""

from typing import Any

import pytest
from typer.testing import CliRunner

from tests.conftest import has_module, need

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def kf() -> Any:
    need(has_module("tensorflow"), "tensorflow is not installed (pip install tensorflow-cpu)")
    if has_module("torchvision"):
        import torchvision  # noqa: F401  (before TensorFlow: the triton it loads segfaults after TF)
    from edgebench.suite.artefacts import keras_flops

    return keras_flops


def _by_type(info: dict, kind: str) -> int:
    return sum(r["flops"] for r in info["layers"] if r["type"] == kind)


@pytest.mark.parametrize("model", ["vgg16", "mobilenet_v2"])
def test_same_architecture_same_count_as_torchvision(kf: Any, model: str) -> None:
    need(has_module("torch") and has_module("torchvision"), "torch and torchvision are not installed")
    from edgebench.suite.artefacts import flops

    shape = (3, 224, 224)  # VGG16's classifier sees 7x7x512 here in both (torchvision pools adaptively)
    keras_info = kf.for_model(model, shape)
    torch_info = flops.for_model(model, shape)
    assert keras_info["macs"] == torch_info["macs"]
    assert keras_info["flops"] == 2 * keras_info["macs"]
    assert keras_info["params"] == torch_info["params"]  # trainable weights = torch's parameters()
    assert keras_info["source"] == "keras.applications." + ("VGG16" if model == "vgg16" else "MobileNetV2")
    if model == "vgg16":
        assert keras_info["macs"] == 15470264320  # torchvision publishes 15.47 "GFLOPS" (GMACs)
        assert keras_info["params_keras"] == keras_info["params"]  # no BatchNorm
    else:
        assert abs(keras_info["gmacs"] - 0.30) < 0.01  # torchvision publishes 0.30
        # Keras also counts BatchNorm's moving mean and variance (2 per channel; torch's buffers).
        bn = sum(r["output_shape"][-1] for r in keras_info["layers"] if r["type"] == "BatchNormalization")
        assert keras_info["params_keras"] == keras_info["params"] + 2 * bn


def test_agrees_with_tensorflow_profiler(kf: Any) -> None:
    from edgebench.suite.nets import keras_zoo

    shape = (3, 96, 96)
    net = keras_zoo.build("mobilenet_v2", shape, num_classes=10)
    info = kf.count(net, shape)
    prof = kf.profiler_flops(net, shape)
    assert prof["Conv2D"] == _by_type(info, "Conv2D")
    assert prof["DepthwiseConv2dNative"] == _by_type(info, "DepthwiseConv2D")
    assert prof["MatMul"] == _by_type(info, "Dense") == 2 * 1280 * 10
    assert info["flops"] == prof["Conv2D"] + prof["DepthwiseConv2dNative"] + prof["MatMul"]
    # What the convention leaves out (BatchNorm's arithmetic, biases, pooling) is small but not nothing.
    rest = sum(v for k, v in prof.items() if k not in ("Conv2D", "DepthwiseConv2dNative", "MatMul"))
    assert 0 < rest < 0.05 * info["flops"]
    assert info["params_keras"] == net.count_params()


def test_every_layer_kind_by_hand(kf: Any) -> None:
    import keras

    L = keras.layers
    x = inp = keras.Input((8, 8, 4), name="image")
    x = L.Conv2D(6, 3, padding="same", name="conv")(x)
    x = L.SeparableConv2D(5, 3, depth_multiplier=2, strides=2, padding="same", name="sep")(x)
    x = L.DepthwiseConv2D(3, depth_multiplier=3, name="dw")(x)
    x = L.Conv2DTranspose(3, 2, strides=2, name="convt")(x)
    x = L.Dense(7, name="dense_rows")(x)  # on a 4x4x3 map: one 3->7 product per position
    x = L.GlobalAveragePooling2D(name="pool")(x)
    x = L.Dense(2, name="head")(x)
    net = keras.Model(inp, x)
    info = kf.count(net, (4, 8, 8))
    macs = {r["name"]: r["macs"] for r in info["layers"]}
    assert macs == {"image": 0,
                    "conv": 3 * 3 * 4 * 6 * 8 * 8,
                    "sep": 3 * 3 * (6 * 2) * 4 * 4 + (6 * 2) * 5 * 4 * 4,  # depthwise + pointwise
                    "dw": 3 * 3 * (5 * 3) * 2 * 2,
                    "convt": 2 * 2 * 15 * 3 * 2 * 2,  # K * Cin * Cout * input positions
                    "dense_rows": 3 * 7 * 4 * 4, "pool": 0, "head": 7 * 2}
    prof = kf.profiler_flops(net, (4, 8, 8))
    assert info["flops"] == prof["Conv2D"] + prof["DepthwiseConv2dNative"] + prof["Conv2DBackpropInput"] \
        + prof["MatMul"]
    # Grouped convolutions (no zoo model has one; TF runs them as a function call the profiler cannot see).
    g = keras.Model(inp, L.Conv2D(6, 3, groups=2, padding="same", name="g")(inp))
    assert kf.count(g, (4, 8, 8))["macs"] == 3 * 3 * (4 // 2) * 6 * 8 * 8


def test_models_info_for_tflite_names_the_keras_source(kf: Any) -> None:
    import json

    from edgebench.cli.models_cmd import models_app

    res = CliRunner().invoke(models_app, ["info", "mobilenet_v3_small", "--framework", "tflite", "--input", "64",
                                          "--num-classes", "10", "--json", "--layers"])
    assert res.exit_code == 0, res.output
    info = json.loads(res.stdout)
    assert info["source"] == "keras.applications.MobileNetV3Small" and info["layout"] == "NHWC"
    assert info["input_shape"] == [3, 64, 64] and info["published_gmacs"] is None
    assert info["macs"] == sum(r["macs"] for r in info["layers"]) > 0
    kinds = {r["type"] for r in info["layers"] if r["macs"]}
    assert kinds == {"Conv2D", "DepthwiseConv2D"}  # Keras's MobileNetV3 head is 1x1 convolutions
    bad = CliRunner().invoke(models_app, ["info", "resnet18+pruned-magnitude-30", "--framework", "tflite"])
    assert bad.exit_code != 0 and "not on tflite" in str(bad.exception)
