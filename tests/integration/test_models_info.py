"""`edgebench models info`: each framework's own definition counted side by side, for real (torchvision in this
venv, Keras applications in this venv, Gluon under the MXNet interpreter), against published figures, by hand,
and across frameworks, where every difference must be the explained one.

Published figures: torchvision's model table (resnet18: 11,689,512 params, "1.81 GFLOPS", which are GMACs;
ptflops' often quoted 1.82 GMac also counts BatchNorm, ReLU and pooling, which our convention leaves out),
Keras applications' model.summary() (ResNet50 25,636,712 params, MobileNet 4,253,864, MobileNetV2 3,538,984,
InceptionV3 23,851,784, all with BatchNorm's moving statistics).
"""

import json
import subprocess
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.conftest import has_module, need

pytestmark = pytest.mark.integration


def _mxnet() -> None:
    from edgebench.cli import models_info

    need(models_info.mxnet_python().exists(), "no MXNet interpreter at %s (make mxnet-env)"
         % models_info.mxnet_python())


def _torch_tf() -> None:
    need(has_module("torch") and has_module("torchvision"), "torch and torchvision are not installed")
    need(has_module("tensorflow"), "tensorflow is not installed")


def _gluon(model: str, shape: tuple[int, ...] = (3, 224, 224), classes: int = 1000) -> dict[str, Any]:
    from edgebench.cli import model_defs, models_info

    return models_info.count(model_defs.GLUON, model, shape, classes, 0)


def _info(args: list[str]) -> dict[str, Any]:
    from edgebench.cli.models_cmd import models_app

    res = CliRunner().invoke(models_app, ["info"] + args + ["--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="module")
def resnet50(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    _torch_tf()
    _mxnet()
    return _info(["resnet50", "--models", str(tmp_path_factory.mktemp("no-artefacts"))])


def _rows(res: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["framework"]: r for r in res["rows"]}


def test_gluon_counter_by_hand() -> None:
    """Every layer kind the counter knows, on a small net, against figures computed by hand."""
    _mxnet()
    from edgebench.cli import models_info

    code = """
import json, sys
sys.path.insert(0, %r)
import mxnet as mx
from mxnet.gluon import nn
import gluon_flops
net = nn.HybridSequential()
net.add(nn.Conv2D(6, 3, padding=1, activation="relu"), nn.BatchNorm(),
        nn.Conv2D(6, 3, strides=2, padding=1, groups=2, use_bias=False),
        nn.Conv2DTranspose(3, 2, strides=2), nn.Dense(7, flatten=False), nn.GlobalAvgPool2D(), nn.Dense(2))
net.initialize()
info = gluon_flops.count(net, (4, 8, 8))
print(json.dumps(info))
""" % str(models_info.GLUON_SCRIPT.parent)
    proc = subprocess.run([str(models_info.mxnet_python()), "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout.strip().splitlines()[-1])
    macs = [(r["type"], r["macs"]) for r in info["layers"] if r["macs"]]
    assert macs == [("Conv2D", 3 * 3 * 4 * 6 * 8 * 8),  # counted although its activation is a child block
                    ("Conv2D", 3 * 3 * (6 // 2) * 6 * 4 * 4),  # grouped: Cin/groups
                    ("Conv2DTranspose", 2 * 2 * 6 * 3 * 4 * 4),  # K * Cin * Cout/groups * input positions
                    ("Dense", 8 * 7 * (3 * 8)),  # flatten=False on (3, 8, 8): 3*8 rows of 8 -> 7
                    ("Dense", 3 * 2)]  # after global pooling: 3 -> 2
    assert info["macs"] == sum(m for _, m in macs) and info["flops"] == 2 * info["macs"]
    bn = 2 * 6  # gamma, beta (trainable); running mean and variance are not
    assert info["params"] == (3 * 3 * 4 * 6 + 6) + bn + 3 * 3 * 3 * 6 + (6 * 3 * 2 * 2 + 3) + (8 * 7 + 7) \
        + (3 * 2 + 2)
    assert info["params_all"] == info["params"] + 2 * 6


@pytest.mark.parametrize("model", ["resnet18", "vgg16", "inception_v3", "alexnet", "squeezenet1_0", "densenet161"])
def test_gluon_same_net_as_torchvision(model: str) -> None:
    """Where the notes say 'the same net as torchvision's', MACs and trainable parameters are equal."""
    _mxnet()
    need(has_module("torch") and has_module("torchvision"), "torch and torchvision are not installed")
    from edgebench.cli import model_defs
    from edgebench.suite.artefacts import flops
    from edgebench.suite.nets import zoo

    shape = zoo.TORCHVISION[model]
    g, t = _gluon(model, shape), flops.for_model(model, shape)
    assert (g["macs"], g["params"]) == (t["macs"], t["params"]), model
    assert g["source"] == "mxnet.gluon.model_zoo.vision.%s" % model_defs.GLUON_NAMES[model]
    if model == "resnet18":  # torchvision's published figures
        assert g["params"] == 11689512 and 1.81 <= g["gmacs"] < 1.82
        assert g["params_all"] == g["params"] + 2 * sum(r["output_shape"][0] for r in g["layers"]
                                                        if r["type"] == "BatchNorm")


def test_gluon_mobilenet_v2_keeps_the_first_expansion_conv() -> None:
    """The explained difference, exactly: one 32->32 1x1 conv (+BatchNorm) at 112x112, and no classifier bias."""
    _mxnet()
    need(has_module("torch") and has_module("torchvision"), "torch and torchvision are not installed")
    from edgebench.suite.artefacts import flops

    g, t = _gluon("mobilenet_v2"), flops.for_model("mobilenet_v2", (3, 224, 224))
    assert g["macs"] - t["macs"] == 32 * 32 * 112 * 112
    assert g["params"] - t["params"] == 32 * 32 + 2 * 32 - 1000


def test_resnet50_side_by_side(resnet50: dict[str, Any]) -> None:
    rows = _rows(resnet50)
    assert [r["framework"] for r in resnet50["rows"]] == ["torch", "onnxruntime", "tensorrt", "tensorflow",
                                                          "tflite", "mxnet"]
    assert all(r["counted"] for r in rows.values()), rows
    torch, keras, gluon = rows["torch"], rows["tensorflow"], rows["mxnet"]
    assert torch["definition"] == "torchvision.models.resnet50" and abs(torch["gmacs"] - 4.09) < 0.005
    assert torch["params"] == 25557032  # torchvision's table
    assert keras["definition"] == "keras.applications.ResNet50" and keras["params_all"] == 25636712
    assert gluon["definition"] == "mxnet.gluon.model_zoo.vision.resnet50_v1"
    # v1 (Keras, Gluon) vs v1.5 (torchvision): the stride moves; Keras and Gluon v1 have the same MACs.
    assert keras["macs"] == gluon["macs"] < torch["macs"]
    assert abs(keras["gmacs"] - 3.86) < 0.005 and -0.06 < keras["vs_torchvision"]["macs"] < -0.05
    assert "v1.5" in torch["note"] and "v1" in keras["note"] and "v1b" in gluon["note"]
    # Parameters differ by conv biases only: Keras has one on every conv, Gluon on the bottlenecks' 1x1s.
    blocks = {64: 3, 128: 4, 256: 6, 512: 3}  # bottleneck width -> blocks per stage
    one_by_one = sum(n * (w + 4 * w) for w, n in blocks.items())
    assert gluon["params"] - torch["params"] == one_by_one
    assert keras["params"] - torch["params"] == one_by_one + sum(n * w for w, n in blocks.items()) + 64 \
        + sum(4 * w for w in blocks)  # + the 3x3s, the stem conv and one shortcut conv per stage
    # Frameworks that run the same definition show the same counts and say so.
    for fw, same in (("onnxruntime", "torch"), ("tensorrt", "torch"), ("tflite", "tensorflow")):
        assert rows[fw]["macs"] == rows[same]["macs"] and rows[fw]["params"] == rows[same]["params"]
    assert rows["tensorrt"]["note"] == "the same definition as torch's"
    assert rows["tflite"]["note"] == "the same definition as tensorflow's"
    assert rows["onnxruntime"]["note"].startswith("counts of torchvision's definition (no ONNX artefact")


def test_mobilenet_v1_everywhere_it_is_defined() -> None:
    _torch_tf()
    _mxnet()
    from edgebench.suite import registry
    from edgebench.suite.nets import zoo

    rows = _rows(_info(["mobilenet_v1"]))
    for fw in ("torch", "onnxruntime", "tensorrt"):
        assert not rows[fw]["counted"] and "torchvision has no MobileNet-V1" in rows[fw]["note"]
    keras, gluon = rows["tensorflow"], rows["mxnet"]
    assert keras["definition"] == "keras.applications.MobileNet" and gluon["definition"].endswith("mobilenet1.0")
    assert keras["macs"] == gluon["macs"] == 568740352 and keras["params"] == gluon["params"] == 4231976
    assert keras["params_all"] == gluon["params_all"] == 4253864  # Keras's summary: 4,253,864
    assert rows["tflite"]["counted"] and rows["tflite"]["macs"] == keras["macs"]
    # In the zoo for the frameworks that run it (tensorflow, mxnet: once their backends are registered).
    for fw in ("tflite", "tensorflow", "mxnet"):
        if fw in registry.FRAMEWORKS:
            assert zoo.can_run(fw, "mobilenet_v1", "fp32") == "", fw
    assert zoo.can_run("torch", "mobilenet_v1", "fp32")  # and refused where there is no definition


def test_keras_published_parameters() -> None:
    _torch_tf()
    info = _info(["inception_v3", "--framework", "keras"])
    assert info["params_keras"] == 23851784 and info["input_shape"] == [3, 299, 299]
    assert info["definition"] == "keras.applications.InceptionV3" and "gamma" in info["note"]


def test_single_framework_and_bad_input(monkeypatch: pytest.MonkeyPatch, tmp_path: Any,
                                        edgebench_cmd: list[str]) -> None:
    from edgebench.cli.errors import InputError
    from edgebench.cli.models_cmd import models_app

    def refused(args: list[str], why: str) -> None:
        res = CliRunner().invoke(models_app, ["info"] + args)
        assert isinstance(res.exception, InputError) and why in str(res.exception), res.output

    refused(["resnet18", "--framework", "caffe"], "--framework")
    refused(["mobilenet_v1", "--framework", "torch"], "torchvision has no MobileNet-V1")
    refused(["resnet18", "--layers"], "need one --framework")
    monkeypatch.setenv("EDGEBENCH_MXNET_PYTHON", str(tmp_path / "missing" / "python"))
    refused(["resnet18", "--framework", "gluon"], "make mxnet-env")
    proc = subprocess.run(edgebench_cmd + ["models", "info", "nosuchnet"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "no framework defines 'nosuchnet'" in proc.stderr + proc.stdout


def test_side_by_side_without_mxnet_keeps_the_others(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    need(has_module("torch") and has_module("torchvision"), "torch and torchvision are not installed")
    monkeypatch.setenv("EDGEBENCH_MXNET_PYTHON", str(tmp_path / "python"))
    rows = _rows(_info(["squeezenet1_0", "--input", "64", "--models", str(tmp_path / "empty")]))  # no Keras one
    assert rows["torch"]["counted"] and rows["torch"]["input_shape"] == [3, 64, 64]
    assert not rows["mxnet"]["counted"] and "make mxnet-env" in rows["mxnet"]["note"]
    assert not rows["tensorflow"]["counted"] and rows["tensorflow"]["note"] == "keras.applications has no squeezenet1_0"
    assert "no ONNX artefact at this shape" in rows["onnxruntime"]["note"] and "artifact" not in rows["onnxruntime"]


def test_onnx_rows_count_the_cached_file(tmp_path: Any) -> None:
    """With the artefact in the cache, onnxruntime's and TensorRT's rows count the file the runs read: the same
    MACs as torchvision's net, and its parameters less BatchNorm's (folded into the convs by the export)."""
    need(has_module("torch") and has_module("onnx"), "torch and onnx are not installed")
    from edgebench.cli.models_cmd import models_app
    from edgebench.suite.artefacts import flops

    models = tmp_path / "models"
    made = CliRunner().invoke(models_app, ["make", "resnet18", "--format", "onnx", "--input", "64", "--models",
                                           str(models)])
    assert made.exit_code == 0, made.output
    rows = _rows(_info(["resnet18", "--input", "64", "--models", str(models)]))
    torch, ort, trt = rows["torch"], rows["onnxruntime"], rows["tensorrt"]
    assert ort["artifact"].startswith(str(models)) and ort["artifact"].endswith("model.onnx")
    assert ort["macs"] == torch["macs"] == flops.for_model("resnet18", (3, 64, 64))["macs"]
    net = flops.for_model("resnet18", (3, 64, 64))
    bn_channels = sum(r["output_shape"][0] for r in net["layers"] if r["type"] == "BatchNorm2d")
    assert ort["params"] == torch["params"] - bn_channels  # gamma + beta gone, one bias per folded conv
    assert "MACs equal torchvision's" in ort["note"] and "%+d" % -bn_channels in ort["note"]
    assert trt["macs"] == ort["macs"] and trt["note"] == "the same ONNX file as onnxruntime's"
    one = _info(["resnet18", "--input", "64", "--models", str(models), "--framework", "onnxruntime", "--layers"])
    assert one["macs"] == torch["macs"] and one["source"].startswith("ONNX file")
    assert sum(1 for r in one["layers"] if r["type"] == "Conv") == 20 and one["layers"][-1]["type"] == "Gemm"


def test_gluon_names_are_zoo_names() -> None:
    """The Gluon names counted here are the mxnet backend's, keyed by the zoo's common names."""
    from edgebench.cli import model_defs
    from edgebench.suite.nets import zoo

    assert set(model_defs.GLUON_NAMES) <= set(zoo.TORCHVISION) | set(zoo.KERAS)
    assert model_defs.GLUON_NAMES["resnet50"] == "resnet50_v1"
    assert model_defs.GLUON_NAMES["mobilenet_v1"] == "mobilenet1.0"
    assert len(model_defs.GLUON_NAMES) == 9
