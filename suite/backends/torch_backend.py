"""PyTorch backend: torchvision architectures (random weights unless a state dict is given) and their pruned
variants (Torch-Pruning artefacts), CPU or CUDA."""

from typing import Any, Dict, Optional

import numpy as np
import torch

from ..nets import NetUnavailable
from ..nets.torchvision_nets import load_model
from .base import AnySpec, Backend, BackendUnavailable


class TorchBackend(Backend):
    name = "torch"

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
                from ..nets.pruned import library_version
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
        try:
            model = load_model(self.spec.model, self.spec.num_classes, self.artifact_path())
        except NetUnavailable as e:  # the run record keeps the reason, as for any other backend refusal
            raise BackendUnavailable(str(e)) from e
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
