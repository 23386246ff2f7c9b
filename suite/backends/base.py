"""The backend interface every runtime implements. One synchronising timer per backend."""

import time
from typing import Any, Dict, Optional, Tuple, Union

import numpy as np

from .. import registry
from ..spec import RunSpec, StreamSpec

# A backend runs one StreamSpec; a RunSpec is taken as its stream 0 (single-model callers, e.g. accuracy).
AnySpec = Union[StreamSpec, RunSpec]


class ToolMissing(OSError):
    """The compiler or tool this step needs is not installed here."""


class BackendUnavailable(RuntimeError):
    """The runtime this backend needs is not installed, or cannot run the spec here."""


class Backend:
    name = "base"
    layout = "NCHW"  # input layout the model expects
    precisions: Tuple[str, ...] = ("fp32",)  # set from suite/registry.py for each framework
    placements: Tuple[str, ...] = ("cpu",)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        fw = registry.FRAMEWORKS.get(cls.name)
        if fw is not None:  # what a framework runs is declared once, in the registry
            cls.precisions, cls.placements = fw.precisions, fw.placements

    def __init__(self, spec: AnySpec, models_dir: Optional[str] = None) -> None:
        self.spec: StreamSpec = spec.stream_specs()[0] if isinstance(spec, RunSpec) else spec
        self.models_dir = models_dir

    def runtime_object(self) -> Any:
        """The runtime object inferences go through (session, interpreter, module, context): one per copy."""
        return None

    def artifact_path(self) -> Optional[str]:
        import os
        if self.spec.artifact is None:
            return None
        if os.path.isabs(self.spec.artifact) or not self.models_dir:
            return self.spec.artifact
        return os.path.join(self.models_dir, self.spec.artifact)

    def versions(self) -> Dict[str, str]:
        return {}

    def load(self) -> None:
        """Build or read the model and place it; everything before the first inference."""
        raise NotImplementedError

    def build(self) -> None:
        """Build or deserialize the inference engine (P4's phase 2), after load(). Most runtimes have none."""

    def infer(self, batch: np.ndarray) -> Any:
        """One inference on a host batch; host-to-device copy included where it applies."""
        raise NotImplementedError

    def synchronize(self) -> None:
        """Wait until queued device work is done. CPU backends return at once."""

    def time_one(self, batch: np.ndarray) -> float:
        """Seconds for one inference, with the device synchronised before each clock read."""
        self.synchronize()
        t0 = time.perf_counter()
        self.infer(batch)
        self.synchronize()
        return time.perf_counter() - t0

    def placement(self) -> Dict[str, Any]:
        """Where the model really runs, as the runtime reports it, and whether that is what was asked."""
        return {"requested": self.spec.placement, "actual": "cpu", "fell_back": False}

    def is_oom(self, exc: BaseException) -> bool:
        return isinstance(exc, MemoryError)

    def output(self, batch: np.ndarray) -> np.ndarray:
        """Model output as float32 numpy (for accuracy and cross-runtime checks)."""
        return np.asarray(self.infer(batch), dtype=np.float32)
