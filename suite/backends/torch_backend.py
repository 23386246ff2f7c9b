"""PyTorch backend: torchvision architectures (random weights unless a state dict is given), CPU or CUDA."""

from typing import Any, Dict, Optional

import numpy as np
import torch

from ..spec import RunSpec
from .base import Backend, BackendUnavailable


def build_model(name: str, num_classes: int = 1000) -> "torch.nn.Module":
    """A torchvision architecture with random weights; nothing is downloaded."""
    import torchvision

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


class TorchBackend(Backend):
    name = "torch"
    precisions = ("fp32", "fp16")
    placements = ("cpu", "cuda")

    def __init__(self, spec: RunSpec, models_dir: Optional[str] = None) -> None:
        super().__init__(spec, models_dir)
        self.device = torch.device("cpu")
        self.dtype = torch.float16 if spec.precision == "fp16" else torch.float32
        self.model: Optional[torch.nn.Module] = None
        self.cuda = spec.placement.startswith("cuda")
        self._grad = getattr(torch, "inference_mode", torch.no_grad)

    def versions(self) -> Dict[str, str]:
        out = {"torch": str(torch.__version__)}
        try:
            import torchvision
            out["torchvision"] = str(torchvision.__version__)
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
        if self.spec.threads:
            torch.set_num_threads(self.spec.threads)
        if self.cuda:
            if not torch.cuda.is_available():
                raise BackendUnavailable("placement %r asked, but torch.cuda.is_available() is False"
                                         % self.spec.placement)
            self.device = torch.device(self.spec.placement)
        torch.manual_seed(self.spec.seed)
        model = build_model(self.spec.model, self.spec.num_classes)
        path = self.artifact_path()
        if path:
            model.load_state_dict(torch.load(path, map_location="cpu"))
        self.model = model.eval().to(self.device, self.dtype)

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
