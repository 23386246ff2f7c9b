"""Structured pruning with Torch-Pruning to a FLOPs target, exported to ONNX through the artefact cache."""

from pathlib import Path

import numpy as np
import pytest

from tests.conftest import has_module, need

pytestmark = pytest.mark.integration


def _need() -> None:
    need(has_module("torch") and has_module("torchvision"), "torch and torchvision are not installed")
    need(has_module("torch_pruning"), "torch-pruning is not installed (pip install torch-pruning)")


@pytest.mark.parametrize("model,importance,target", [("resnet18", "magnitude", 0.3),
                                                     ("mobilenet_v2", "taylor", 0.5)])
def test_prune_reaches_the_flops_target(model: str, importance: str, target: float) -> None:
    _need()
    import torch
    from edgebench.suite.artefacts import export, flops, prune

    shape = (3, 96, 96)
    net = export.calibrated_model(model, shape, num_classes=10)
    before = flops.count(net, shape)
    rec = prune.prune(net, shape, target, importance, num_classes=10)
    after = flops.count(net, shape)
    assert rec["achieved_flops_share"] == pytest.approx(1 - after["macs"] / before["macs"])
    # Crossed the target, and by less than a few schedule steps (each removes ~2.4% more channels).
    assert target <= rec["achieved_flops_share"] < target + 0.12, rec
    assert rec["params_after"] < rec["params_before"]
    assert net(torch.zeros(2, *shape)).shape == (2, 10)  # the classifier keeps its outputs
    fresh = export.calibrated_model(model, shape, num_classes=10)
    widths = [m.out_channels for m in net.modules() if isinstance(m, torch.nn.Conv2d)]
    fresh_widths = [m.out_channels for m in fresh.modules() if isinstance(m, torch.nn.Conv2d)]
    assert sum(widths) < sum(fresh_widths)  # channels were removed, not weights zeroed


def test_pruned_variant_through_the_cache(tmp_path: Path) -> None:
    _need()
    need(has_module("onnxruntime") and has_module("onnx"), "onnx and onnxruntime are not installed")
    import onnxruntime as ort
    from edgebench.cli import artifacts

    art = artifacts.Artifact("onnx", "resnet18+pruned-magnitude-40", (3, 64, 64), 10, 0)
    man = artifacts.ensure(art, tmp_path)
    p = man["pruning"]
    assert p["importance"] == "magnitude" and p["target_flops_share"] == 0.4
    assert p["achieved_flops_share"] >= 0.4 and p["macs_after"] < 0.6 * p["macs_before"]
    assert man["parameters"] == p["params_after"] and man["check"]["max_rel_diff"] <= 1e-4
    assert "torch-pruning" in man["versions"] and man["content_key"] == artifacts.content_key(art)
    sess = ort.InferenceSession(str(tmp_path / art.relpath), providers=["CPUExecutionProvider"])
    out = sess.run(None, {"input": np.zeros((3, 3, 64, 64), np.float32)})[0]
    assert out.shape == (3, 10)
    # Unchanged inputs never rebuild: the file is untouched by a second ensure.
    mtime = (tmp_path / art.relpath).stat().st_mtime_ns
    assert artifacts.ensure(art, tmp_path)["made_at"] == man["made_at"]
    assert (tmp_path / art.relpath).stat().st_mtime_ns == mtime
