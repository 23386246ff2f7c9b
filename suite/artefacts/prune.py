"""Structured (channel) pruning with Torch-Pruning until a target share of FLOPs is removed (P5).

Each step removes a little more of every prunable layer's channels (uniform ratio, linear schedule),
ranked by magnitude (L2 norm of each channel group's weights) or first-order Taylor importance
(|weight * gradient|, gradients of the cross-entropy against the unpruned model's own predictions on
calibration data, since no labels exist for random weights). Steps repeat until the FLOPs counted by
flops.count() fall by at least the target share. The classifier's output layer is never pruned.
"""

import logging
from typing import Any, Dict, List, Optional, Tuple

from ..nets.pruned import library_version
from . import flops

__all__ = ["MAX_RATIO", "STEPS", "check_saved", "library_version", "prune"]

log = logging.getLogger(__name__)

MAX_RATIO = 0.95  # the channel share a layer may lose at the last scheduled step
STEPS = 40  # scheduled steps from 0 to MAX_RATIO; fine enough to stop within ~2.5% of the target


def _classifier_layers(net: Any, num_classes: int) -> List[Any]:
    import torch.nn as nn

    return [m for m in net.modules() if (isinstance(m, nn.Linear) and m.out_features == num_classes)
            or (isinstance(m, nn.Conv2d) and m.out_channels == num_classes)]


def prune(net: Any, input_shape: Tuple[int, ...], target_share: float, importance: str = "magnitude",
          num_classes: int = 1000, calib: Optional[Any] = None, seed: int = 0) -> Dict[str, Any]:
    """Prune `net` in place until at least `target_share` (0..1) of its FLOPs are gone; returns a record.

    `calib` is a float tensor batch (N, C, H, W) for Taylor importance; random normal when None.
    """
    import torch
    import torch_pruning as tp

    if not 0.0 < target_share < 1.0:
        raise ValueError("target share of FLOPs to remove must be in (0, 1), got %r" % target_share)
    if importance not in ("magnitude", "taylor"):
        raise ValueError("importance must be 'magnitude' or 'taylor', got %r" % importance)
    torch.manual_seed(seed)
    example = torch.zeros((1,) + tuple(input_shape))
    before = flops.count(net, input_shape)
    imp = tp.importance.MagnitudeImportance(p=2) if importance == "magnitude" else tp.importance.TaylorImportance()
    pruner = tp.pruner.MetaPruner(net, example, importance=imp, pruning_ratio=MAX_RATIO, iterative_steps=STEPS,
                                  ignored_layers=_classifier_layers(net, num_classes))
    if importance == "taylor":
        if calib is None:
            calib = torch.randn((8,) + tuple(input_shape), generator=torch.Generator().manual_seed(seed))
        net.eval()
        with torch.no_grad():
            labels = net(calib).argmax(dim=1)
    after = before
    steps = 0
    while steps < STEPS:
        if importance == "taylor":
            net.zero_grad()
            loss = torch.nn.functional.cross_entropy(net(calib), labels)
            loss.backward()
        pruner.step()
        steps += 1
        after = flops.count(net, input_shape)
        share = 1.0 - after["macs"] / float(before["macs"])
        log.info("prune step %d: %.1f%% of FLOPs removed", steps, 100 * share)
        if share >= target_share:
            break
    net.zero_grad()
    achieved = 1.0 - after["macs"] / float(before["macs"])
    if achieved < target_share:
        raise ValueError("pruning stopped at %.1f%% of FLOPs removed, short of the %.1f%% asked (max channel "
                         "ratio %.2f)" % (100 * achieved, 100 * target_share, MAX_RATIO))
    return {"library": "torch-pruning", "library_version": library_version(),
            "importance": importance, "target_flops_share": target_share, "achieved_flops_share": achieved,
            "steps": steps, "max_channel_ratio": MAX_RATIO, "scheduled_steps": STEPS,
            "macs_before": before["macs"], "macs_after": after["macs"],
            "flops_before": before["flops"], "flops_after": after["flops"],
            "params_before": before["params"], "params_after": after["params"]}


def check_saved(net: Any, model: str, path: str, input_shape: Tuple[int, ...], num_classes: int,
                seed: int = 0) -> Dict[str, Any]:
    """Load a saved pruned artefact as the torch backend does; its outputs and MACs must equal `net`'s.

    Deletes `path` and raises ValueError when they differ.
    """
    import os

    import numpy as np
    import torch

    from ..nets.torchvision_nets import load_model
    from .agreement import RTOL, agreement

    loaded = load_model(model, num_classes, path)
    x = torch.from_numpy(np.random.RandomState(seed).standard_normal((2,) + tuple(input_shape)).astype(np.float32))
    with torch.no_grad():
        rel = agreement(net(x).numpy(), loaded(x).numpy())["max_rel_diff"]
    macs = flops.count(loaded, input_shape)["macs"]
    want = flops.count(net, input_shape)["macs"]
    if rel > RTOL or macs != want:
        os.unlink(path)
        raise ValueError("pruned torch artefact of %s does not load back as saved: max |diff| / max |out| = %.3g, "
                         "MACs %d loaded vs %d pruned" % (model, rel, macs, want))
    return {"reference": "torch (the pruned net before saving)", "max_rel_diff": rel, "rtol": RTOL,
            "macs_loaded": macs}
