"""Structured (channel) pruning with Torch-Pruning until a target share of FLOPs is removed (P5).

Each step removes a little more of every prunable layer's channels (uniform ratio, linear schedule),
ranked by magnitude (L2 norm of each channel group's weights) or first-order Taylor importance
(|weight * gradient|, gradients of the cross-entropy against the unpruned model's own predictions on
calibration data, since no labels exist for random weights). Steps repeat until the FLOPs counted by
flops.count() fall by at least the target share. The classifier's output layer is never pruned.
"""

import logging
from typing import Any, Dict, List, Optional, Tuple

from . import flops

log = logging.getLogger("edgebench.suite.models.prune")

MAX_RATIO = 0.95  # the channel share a layer may lose at the last scheduled step
STEPS = 40  # scheduled steps from 0 to MAX_RATIO; fine enough to stop within ~2.5% of the target


def _classifier_layers(net: Any, num_classes: int) -> List[Any]:
    import torch.nn as nn

    return [m for m in net.modules() if (isinstance(m, nn.Linear) and m.out_features == num_classes)
            or (isinstance(m, nn.Conv2d) and m.out_channels == num_classes)]


def library_version() -> str:
    """The installed torch-pruning distribution's version (its __version__ lags: 1.6.1 says "1.6.0")."""
    try:
        from importlib import metadata  # novermin (Python >= 3.8; older ones take the fallback)

        return metadata.version("torch-pruning")
    except Exception:  # older Python, or not installed as a distribution
        import torch_pruning as tp

        return str(getattr(tp, "__version__", "unknown"))


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


# A pruned torch artefact: Torch-Pruning's per-module state (tp.state_dict's layout) cut down to tensors and
# plain data. tp.state_dict itself pickles every module object (its `_modules`, hooks, classes), which
# torch.load refuses with weights_only=True (torch >= 2.6) and which ties the file to the exporting
# torch/torchvision; the cut-down state is restored onto a freshly built base net by tp.load_state_dict.
ARTIFACT_KIND = "edgebench.pruned-torch"
ARTIFACT_VERSION = 1


def _plain(value: Any) -> bool:
    if value is None or isinstance(value, (bool, int, float, str)):
        return True
    return isinstance(value, (tuple, list)) and all(_plain(v) for v in value)


def pruned_state(net: Any) -> Dict[str, Any]:
    """tp.state_dict(net) without module objects: each module's parameters, buffers and plain attributes."""
    import torch_pruning as tp

    full = tp.state_dict(net)
    state: Dict[str, Dict[str, Any]] = {}
    for name, attrs in full["full_state_dict"].items():
        kept = {k: v for k, v in attrs.items() if k != "training" and _plain(v)}
        kept["_parameters"] = dict(attrs["_parameters"])
        kept["_buffers"] = dict(attrs["_buffers"])
        state[name] = kept
    attributions = {name: {k: v for k, v in attrs.items() if k != "training" and _plain(v)}
                    for name, attrs in full["attributions"].items()}
    return {"full_state_dict": state, "attributions": attributions}


def save_pruned(net: Any, model: str, path: str, record: Dict[str, Any]) -> None:
    """Write a pruned net's structure and weights to `path` (torch.save of tensors and plain data only)."""
    import torch

    blob = {"kind": ARTIFACT_KIND, "version": ARTIFACT_VERSION, "model": model,
            "pruning": {k: v for k, v in record.items() if _plain(v)}, "torch_pruning": pruned_state(net)}
    torch.save(blob, path)


def read_pruned(path: str) -> Dict[str, Any]:
    """The saved blob; ValueError when `path` is not a pruned artefact."""
    import torch

    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except TypeError:  # torch < 1.13 has no weights_only
        blob = torch.load(path, map_location="cpu")
    if not isinstance(blob, dict) or blob.get("kind") != ARTIFACT_KIND:
        raise ValueError("%s is not a pruned torch artefact (made by edgebench models make --format torch)" % path)
    if blob.get("version") != ARTIFACT_VERSION:
        raise ValueError("%s: pruned artefact version %r, this suite reads %d" % (path, blob.get("version"),
                                                                                 ARTIFACT_VERSION))
    return blob


def load_pruned(net: Any, blob: Dict[str, Any]) -> Any:
    """Restore the pruned structure and weights of `blob` onto `net`, a fresh base net of the same architecture."""
    import torch_pruning as tp

    state = blob["torch_pruning"]
    names = {n for n, _ in net.named_modules()}
    missing = sorted(set(state["full_state_dict"]) - names)
    if missing:
        raise ValueError("pruned artefact of %s has modules the base net lacks: %s"
                         % (blob.get("model"), ", ".join(missing[:5])))
    tp.load_state_dict(net, state_dict=state)
    return net.eval()


def check_saved(net: Any, model: str, path: str, input_shape: Tuple[int, ...], num_classes: int,
                seed: int = 0) -> Dict[str, Any]:
    """Load a saved pruned artefact as the torch backend does; its outputs and MACs must equal `net`'s.

    Deletes `path` and raises ValueError when they differ.
    """
    import os

    import numpy as np
    import torch

    from ..backends.torch_backend import load_model
    from .export import RTOL, agreement

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
