"""The pruned-net artefact format: write it, read it, restore it onto a fresh base net (Torch-Pruning).
torch and torch_pruning are imported per function."""

from typing import Any, Dict

# A pruned torch artefact: Torch-Pruning's per-module state (tp.state_dict's layout) cut down to tensors and
# plain data. tp.state_dict itself pickles every module object (its `_modules`, hooks, classes), which
# torch.load refuses with weights_only=True (torch >= 2.6) and which ties the file to the exporting
# torch/torchvision; the cut-down state is restored onto a freshly built base net by tp.load_state_dict.
ARTIFACT_KIND = "edgebench.pruned-torch"
ARTIFACT_VERSION = 1


def library_version() -> str:
    """The installed torch-pruning distribution's version (its __version__ lags: 1.6.1 says "1.6.0")."""
    try:
        from importlib import metadata  # novermin (Python >= 3.8; older ones take the fallback)

        return metadata.version("torch-pruning")
    except Exception:  # older Python, or not installed as a distribution
        import torch_pruning as tp

        return str(getattr(tp, "__version__", "unknown"))


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
