"""torchvision architectures as edgebench builds them (random weights, nothing downloaded) and the net a torch
run measures: a state dict or a pruned artefact restored onto the base architecture. torch is imported when a
function is called, not at module import (nets import no runtime)."""

import sys
from typing import Any, Dict, Optional

from . import NetUnavailable


def build_model(name: str, num_classes: int = 1000) -> Any:
    """A torchvision architecture with random weights; nothing is downloaded."""
    import torch

    try:
        import torchvision
    except ImportError as e:
        raise NetUnavailable(
            "torch backend needs torchvision (it builds every net from torchvision.models) and this image has "
            "none: torch %s, Python %d.%d; see images/README.md, 'The torch images' (JetPack 6 needs a "
            "torchvision 0.20 built against NVIDIA's torch): %s" % (torch.__version__, sys.version_info[0],
                                                                    sys.version_info[1], e)) from e

    kwargs: Dict[str, Any] = {"num_classes": num_classes}
    if name == "inception_v3":
        kwargs.update(aux_logits=False, init_weights=True)
    if name.startswith("googlenet"):
        kwargs.update(aux_logits=False, init_weights=True)
    if hasattr(torchvision.models, "get_model"):
        try:
            return torchvision.models.get_model(name, weights=None, **kwargs)
        except ValueError as e:
            raise NetUnavailable("torchvision %s has no model %r (%s)" % (torchvision.__version__, name, e)) from e
    fn = getattr(torchvision.models, name, None)  # old torchvision (JetPack 4)
    if fn is None:
        raise NetUnavailable("torchvision %s has no model %r" % (torchvision.__version__, name))
    return fn(pretrained=False, **kwargs)


def load_model(name: str, num_classes: int = 1000, path: Optional[str] = None) -> Any:
    """The net a run measures, in eval mode: a zoo name's architecture with random weights, its state dict
    from `path` when given, or for a pruned name ("resnet18+pruned-magnitude-30") the base architecture with
    the pruned structure and weights of `path` restored by Torch-Pruning (pruned.save_pruned wrote it)."""
    import torch

    from . import zoo

    try:
        base, variant = zoo.parse(name)
    except ValueError as e:
        raise NetUnavailable(str(e)) from e
    model = build_model(base, num_classes)
    if variant is None:
        if path:
            model.load_state_dict(torch.load(path, map_location="cpu"))
        return model.eval()
    if not path:
        raise NetUnavailable("pruned model %r needs its artefact (edgebench models make %s --format torch)"
                                 % (name, name))
    try:
        import torch_pruning  # noqa: F401  (only pruned nets need it)
    except Exception as e:  # missing, or a release this Python/torch cannot import
        raise NetUnavailable(
            "pruned model %r needs torch-pruning to restore its structure: pip install torch-pruning==1.6.1 "
            "(it needs Python >= 3.7 and torch >= 2.0; this is Python %d.%d, torch %s): %s: %s"
            % (name, sys.version_info[0], sys.version_info[1], torch.__version__, type(e).__name__, e)) from e
    from . import pruned

    try:
        return pruned.load_pruned(model, pruned.read_pruned(path))
    except ValueError as e:
        raise NetUnavailable(str(e)) from e
