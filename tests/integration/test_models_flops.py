"""FLOPs/MACs/params with forward hooks against torchvision's published figures and torch's own counter,
and per-layer latency with hooks."""

import json
import subprocess
import sys

import pytest

from tests.conftest import has_module, need

pytestmark = pytest.mark.integration

# Published GMACs are rounded to 2 decimals: allow 3% or half the last digit, whichever is larger.
REL_TOL = 0.03
ABS_TOL = 0.005


def _torch() -> None:
    need(has_module("torch") and has_module("torchvision"), "torch and torchvision are not installed")


@pytest.mark.parametrize("model", ["resnet18", "resnet50", "vgg16", "mobilenet_v2", "mobilenet_v3_small",
                                   "densenet121", "squeezenet1_1", "efficientnet_b0", "efficientnet_b2",
                                   "inception_v3", "alexnet"])
def test_macs_match_torchvision_published(model: str) -> None:
    _torch()
    from edgebench.suite.artefacts import flops
    from edgebench.suite.nets import zoo

    shape = zoo.PUBLISHED_INPUT.get(model, zoo.TORCHVISION[model])
    got = flops.for_model(model, shape)
    pub = zoo.PUBLISHED_GMACS[model]
    assert abs(got["gmacs"] - pub) <= max(REL_TOL * pub, ABS_TOL), (model, got["gmacs"], pub)
    assert got["flops"] == 2 * got["macs"]
    assert got["params"] == sum(r["params"] for r in got["layers"])


def test_counts_equal_torch_flop_counter_and_scale_with_input() -> None:
    _torch()
    import torch
    import torchvision
    from edgebench.suite.artefacts import flops
    from torch.utils.flop_counter import FlopCounterMode

    net = torchvision.models.mobilenet_v3_large(num_classes=10).eval()
    for side in (224, 160, 112):
        with FlopCounterMode(display=False) as fc, torch.no_grad():
            net(torch.zeros(1, 3, side, side))
        ours = flops.count(net, (3, side, side))
        assert ours["flops"] == fc.get_total_flops(), side  # conv + linear (addmm): the same convention
    small, big = flops.count(net, (3, 112, 112)), flops.count(net, (3, 224, 224))
    # Convolutions scale with the pixels; the classifier head does not: a little under 4x.
    assert 3.6 < big["macs"] / small["macs"] < 4.0


def test_layer_rows_use_the_stated_formulas() -> None:
    _torch()
    import torch.nn as nn
    from edgebench.suite.artefacts import flops

    net = nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.ReLU(),
                        nn.Conv2d(8, 8, 3, padding=1, groups=8), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                        nn.Linear(8, 5))
    rows = {r["name"]: r for r in flops.count(net, (3, 32, 32))["layers"]}
    assert rows["0"]["macs"] == 3 * 3 * 3 * 8 * 16 * 16 and rows["0"]["output_shape"] == [8, 16, 16]
    assert rows["2"]["macs"] == 3 * 3 * 1 * 8 * 16 * 16  # depthwise: Cin/groups = 1
    assert rows["5"]["macs"] == 8 * 5 and rows["5"]["flops"] == 80
    assert rows["1"]["macs"] == 0 and rows["5"]["params"] == 8 * 5 + 5


def test_per_layer_latency_hooks() -> None:
    _torch()
    import torch
    import torchvision
    from edgebench.suite.artefacts import layer_time

    net = torchvision.models.resnet18(num_classes=10)
    res = layer_time.per_layer(net, torch.randn(1, 3, 64, 64), warmups=1, iterations=3)
    names = [r["name"] for r in res["layers"]]
    assert names[0] == "conv1" and names[-1] == "fc"  # call order
    assert len(names) == len([m for m in net.modules() if not list(m.children())])
    assert abs(sum(r["share"] for r in res["layers"]) - 1.0) < 1e-9
    assert all(r["median_s"] > 0 for r in res["layers"])
    relu = next(r for r in res["layers"] if r["name"] == "layer1.0.relu")
    assert relu["calls_per_pass"] == 2  # BasicBlock calls its ReLU twice
    convs = sum(r["median_s"] for r in res["layers"] if r["type"] == "Conv2d")
    assert convs > 0.3 * res["layers_sum_s"]  # convolutions dominate a ResNet


def test_cli_info_json() -> None:
    _torch()
    cmd = [sys.executable, "-c", "from edgebench.cli.models_cmd import models_app; models_app()",
           "info", "vgg16", "--framework", "torch", "--input", "224", "--json", "--layers"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout)
    assert abs(info["gmacs"] - 15.47) < 0.01 and info["gflops"] == pytest.approx(2 * info["gmacs"])
    assert info["published_gmacs"] == 15.47 and info["params"] == 138357544
    assert sum(1 for r in info["layers"] if r["type"] == "Conv2d") == 13
    bad = subprocess.run(cmd[:3] + ["info", "vgg16", "--input", "2x2"], capture_output=True, text=True)
    assert bad.returncode != 0 and "--input" in bad.stderr + bad.stdout
