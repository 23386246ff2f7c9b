"""PyTorch backend: torchvision architectures (random weights unless a state dict is given) and their pruned
variants (Torch-Pruning artefacts), CPU or CUDA."""

import sys
from typing import Any, Dict, Optional

import numpy as np
import torch

from .base import AnySpec, Backend, BackendUnavailable


def build_model(name: str, num_classes: int = 1000) -> "torch.nn.Module":
    """A torchvision architecture with random weights; nothing is downloaded."""
    try:
        import torchvision
    except ImportError as e:
        raise BackendUnavailable(
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
            raise BackendUnavailable("torchvision %s has no model %r (%s)" % (torchvision.__version__, name, e)) from e
    fn = getattr(torchvision.models, name, None)  # old torchvision (JetPack 4)
    if fn is None:
        raise BackendUnavailable("torchvision %s has no model %r" % (torchvision.__version__, name))
    return fn(pretrained=False, **kwargs)


def load_model(name: str, num_classes: int = 1000, path: Optional[str] = None) -> "torch.nn.Module":
    """The net a run measures, in eval mode: a zoo name's architecture with random weights, its state dict
    from `path` when given, or for a pruned name ("resnet18+pruned-magnitude-30") the base architecture with
    the pruned structure and weights of `path` restored by Torch-Pruning (prune.save_pruned wrote it)."""
    from ..models import zoo

    try:
        base, variant = zoo.parse(name)
    except ValueError as e:
        raise BackendUnavailable(str(e)) from e
    model = build_model(base, num_classes)
    if variant is None:
        if path:
            model.load_state_dict(torch.load(path, map_location="cpu"))
        return model.eval()
    if not path:
        raise BackendUnavailable("pruned model %r needs its artefact (edgebench models make %s --format torch)"
                                 % (name, name))
    try:
        import torch_pruning  # noqa: F401  (only pruned nets need it)
    except Exception as e:  # missing, or a release this Python/torch cannot import
        raise BackendUnavailable(
            "pruned model %r needs torch-pruning to restore its structure: pip install torch-pruning==1.6.1 "
            "(it needs Python >= 3.7 and torch >= 2.0; this is Python %d.%d, torch %s): %s: %s"
            % (name, sys.version_info[0], sys.version_info[1], torch.__version__, type(e).__name__, e)) from e
    from ..models import prune

    try:
        return prune.load_pruned(model, prune.read_pruned(path))
    except ValueError as e:
        raise BackendUnavailable(str(e)) from e


class TorchBackend(Backend):
    name = "torch"
    precisions = ("fp32", "fp16")
    placements = ("cpu", "cuda")

    def __init__(self, spec: AnySpec, models_dir: Optional[str] = None) -> None:
        super().__init__(spec, models_dir)
        self.device = torch.device("cpu")
        self.dtype = torch.float16 if self.spec.precision == "fp16" else torch.float32
        self.model: Optional[torch.nn.Module] = None
        self.cuda = self.spec.placement.startswith("cuda")
        self._grad = getattr(torch, "inference_mode", torch.no_grad)

    def versions(self) -> Dict[str, str]:
        out = {"torch": str(torch.__version__)}
        try:
            import torchvision
            out["torchvision"] = str(torchvision.__version__)
        except ImportError:
            pass
        if "+" in self.spec.model:  # pruned nets are restored by Torch-Pruning
            try:
                from ..models.prune import library_version
                out["torch-pruning"] = library_version()
            except ImportError:
                pass
        if torch.version.cuda:
            out["cuda"] = str(torch.version.cuda)
        if torch.backends.cudnn.is_available():
            out["cudnn"] = str(torch.backends.cudnn.version())
        return out

    def load(self) -> None:
        if self.spec.precision not in self.precisions:
            raise BackendUnavailable("torch backend runs %s, not %r" % ("/".join(self.precisions), self.spec.precision))
        if self.spec.threads:  # process-wide: every copy of a concurrent run sets the same per-copy value
            torch.set_num_threads(self.spec.threads)
        if self.cuda:
            if not torch.cuda.is_available():
                raise BackendUnavailable("placement %r asked, but torch.cuda.is_available() is False"
                                         % self.spec.placement)
            self.device = torch.device(self.spec.placement)
        torch.manual_seed(self.spec.seed)
        model = load_model(self.spec.model, self.spec.num_classes, self.artifact_path())
        self.model = model.to(self.device, self.dtype)

    def runtime_object(self) -> Any:
        return self.model

    def infer(self, batch: np.ndarray) -> Any:
        assert self.model is not None, "load() first"
        with self._grad():
            x = torch.from_numpy(batch).to(self.device, self.dtype, non_blocking=False)
            return self.model(x)

    def synchronize(self) -> None:
        if self.cuda:
            torch.cuda.synchronize(self.device)

    def time_one(self, batch: np.ndarray) -> float:
        if not self.cuda:
            return super().time_one(batch)
        # CUDA events time the device work; synchronise before reading them.
        start = torch.cuda.Event(enable_timing=True)
        end = torch.cuda.Event(enable_timing=True)
        self.synchronize()
        start.record()
        self.infer(batch)
        end.record()
        end.synchronize()
        return start.elapsed_time(end) / 1000.0

    def placement(self) -> Dict[str, Any]:
        actual = "unloaded"
        if self.model is not None:
            devices = {str(p.device) for p in self.model.parameters()}
            actual = ",".join(sorted(devices))
        requested = self.spec.placement
        fell_back = actual != "unloaded" and not all(d.startswith(requested.split(":")[0]) for d in actual.split(","))
        out: Dict[str, Any] = {"requested": requested, "actual": actual, "fell_back": fell_back}
        if self.cuda and torch.cuda.is_available():
            out["device_name"] = torch.cuda.get_device_name(self.device)
        return out

    def is_oom(self, exc: BaseException) -> bool:
        oom = getattr(torch.cuda, "OutOfMemoryError", ())
        return isinstance(exc, MemoryError) or (bool(oom) and isinstance(exc, oom)) or \
            "out of memory" in str(exc).lower()

    def output(self, batch: np.ndarray) -> np.ndarray:
        out = self.infer(batch)
        return out.detach().float().cpu().numpy()
