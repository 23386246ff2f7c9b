"""ONNX Runtime backend: an exported .onnx artefact on the execution providers asked for."""

from typing import Any, Dict, List, Optional

import numpy as np
import onnxruntime as ort

from ..spec import RunSpec
from .base import Backend, BackendUnavailable

_PROVIDERS = {
    "cpu": ["CPUExecutionProvider"],
    "cuda": ["CUDAExecutionProvider", "CPUExecutionProvider"],
    "tensorrt": ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"],
}


class OnnxRuntimeBackend(Backend):
    name = "onnxruntime"
    precisions = ("fp32", "fp16", "int8")
    placements = ("cpu", "cuda", "tensorrt")

    def __init__(self, spec: RunSpec, models_dir: Optional[str] = None) -> None:
        super().__init__(spec, models_dir)
        self.session: Optional[ort.InferenceSession] = None
        self.input_name = ""
        self.input_dtype: Any = np.float32

    def versions(self) -> Dict[str, str]:
        return {"onnxruntime": ort.__version__, "providers_available": ",".join(ort.get_available_providers())}

    def requested_providers(self) -> List[str]:
        key = self.spec.placement.split(":")[0]
        if key not in _PROVIDERS:
            raise BackendUnavailable("onnxruntime: unknown placement %r; use one of %s"
                                     % (self.spec.placement, ", ".join(sorted(_PROVIDERS))))
        return _PROVIDERS[key]

    def load(self) -> None:
        path = self.artifact_path()
        if not path:
            raise BackendUnavailable("onnxruntime needs an .onnx artefact; the spec names none")
        opts = ort.SessionOptions()
        if self.spec.threads:
            opts.intra_op_num_threads = self.spec.threads
            opts.inter_op_num_threads = 1
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        wanted = self.requested_providers()
        available = set(ort.get_available_providers())
        self.session = ort.InferenceSession(path, sess_options=opts,
                                            providers=[p for p in wanted if p in available] or ["CPUExecutionProvider"])
        inp = self.session.get_inputs()[0]
        self.input_name = inp.name
        self.input_dtype = np.float16 if inp.type == "tensor(float16)" else np.float32

    def infer(self, batch: np.ndarray) -> Any:
        assert self.session is not None, "load() first"
        return self.session.run(None, {self.input_name: batch.astype(self.input_dtype, copy=False)})[0]

    def placement(self) -> Dict[str, Any]:
        wanted = self.requested_providers()
        active = self.session.get_providers() if self.session is not None else []
        # The first provider asked is where the model should run; anything else is a fallback.
        return {"requested": self.spec.placement, "actual": active[0] if active else "unloaded",
                "providers_requested": wanted, "providers_active": active,
                "fell_back": bool(active) and active[0] != wanted[0]}
