"""ONNX Runtime backend: an exported .onnx artefact (fp32, or fp16/int8 from suite/artefacts/onnx_precision.py) on
the execution providers asked for. fp16 and int8 graphs keep float32 inputs and outputs."""

import os
import tempfile
from typing import Any, Dict, List, Optional, Union

import numpy as np
import onnxruntime as ort

from .base import AnySpec, Backend, BackendUnavailable

_PROVIDERS = {
    "cpu": ["CPUExecutionProvider"],
    "cuda": ["CUDAExecutionProvider", "CPUExecutionProvider"],
    "tensorrt": ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"],
}


class OnnxRuntimeBackend(Backend):
    name = "onnxruntime"

    def __init__(self, spec: AnySpec, models_dir: Optional[str] = None) -> None:
        super().__init__(spec, models_dir)
        self.session: Optional[ort.InferenceSession] = None
        self.input_name = ""
        self.input_dtype: Any = np.float32
        self.graph: Dict[str, Any] = {}
        self.trt_cached: List[str] = []

    def versions(self) -> Dict[str, str]:
        return {"onnxruntime": ort.__version__, "providers_available": ",".join(ort.get_available_providers())}

    def requested_providers(self) -> List[str]:
        key = self.spec.placement.split(":")[0]
        if key not in _PROVIDERS:
            raise BackendUnavailable("onnxruntime: unknown placement %r; use one of %s"
                                     % (self.spec.placement, ", ".join(sorted(_PROVIDERS))))
        return _PROVIDERS[key]

    def trt_cache_dir(self) -> str:
        """Where the TensorRT EP keeps its engines: EDGEBENCH_TRT_CACHE, else a per-artefact folder in /tmp
        (engines are not portable across devices or TensorRT versions, so they never go into the model cache)."""
        root = os.environ.get("EDGEBENCH_TRT_CACHE") or os.path.join(tempfile.gettempdir(), "edgebench-trt")
        name = os.path.basename(os.path.dirname(self.artifact_path() or "")) or "model"
        return os.path.join(root, "%s-%s" % (name, self.spec.precision))

    def trt_options(self) -> Dict[str, Any]:
        """TensorRT EP options for spec.precision (option names from ONNX Runtime's TensorRT EP docs).

        fp16 lets TensorRT choose float16 kernels; int8 enables INT8 for the QDQ graph (explicit quantisation:
        the scales come from the graph, so no calibration table). Not run on this project's CI (no GPU)."""
        return {"device_id": int(self.spec.placement.split(":")[1]) if ":" in self.spec.placement else 0,
                "trt_fp16_enable": self.spec.precision in ("fp16", "int8"),  # int8: fp16 where not quantised
                "trt_int8_enable": self.spec.precision == "int8",
                "trt_engine_cache_enable": True, "trt_engine_cache_path": self.trt_cache_dir()}

    def provider_list(self) -> List[Union[str, Any]]:
        """Providers to ask for, those this build has, with options for TensorRT."""
        available = set(ort.get_available_providers())
        out: List[Union[str, Any]] = []
        for p in self.requested_providers():
            if p not in available:
                continue
            if p == "TensorrtExecutionProvider":
                opts = self.trt_options()
                if not os.path.isdir(opts["trt_engine_cache_path"]):
                    os.makedirs(opts["trt_engine_cache_path"])
                self.trt_cached = sorted(os.listdir(opts["trt_engine_cache_path"]))
                out.append((p, opts))
            else:
                out.append(p)
        return out or ["CPUExecutionProvider"]

    def load(self) -> None:
        path = self.artifact_path()
        if not path:
            raise BackendUnavailable("onnxruntime needs an .onnx artefact; the spec names none")
        opts = ort.SessionOptions()
        if self.spec.threads:
            opts.intra_op_num_threads = self.spec.threads
            opts.inter_op_num_threads = 1
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(path, sess_options=opts, providers=self.provider_list())
        inp = self.session.get_inputs()[0]
        self.input_name = inp.name
        self.input_dtype = np.float16 if inp.type == "tensor(float16)" else np.float32
        self.graph = self._graph_evidence()

    def _graph_evidence(self) -> Dict[str, Any]:
        """The precision the loaded graph really has (Q/DQ nodes, float16 initialisers), and whether it is
        the precision the spec asked for."""
        from ..nets.onnx_meta import read_evidence

        try:
            found = read_evidence(self.session)
        except Exception as e:  # evidence is metadata: never fail a run over it
            return {"error": "%s: %s" % (type(e).__name__, e)}
        found["input_type"] = self.session.get_inputs()[0].type if self.session is not None else ""
        if "precision" in found:
            found["matches_spec"] = found["precision"] == self.spec.precision
        return found

    def runtime_object(self) -> Any:
        return self.session

    def infer(self, batch: np.ndarray) -> Any:
        assert self.session is not None, "load() first"
        return self.session.run(None, {self.input_name: batch.astype(self.input_dtype, copy=False)})[0]

    def placement(self) -> Dict[str, Any]:
        wanted = self.requested_providers()
        active = self.session.get_providers() if self.session is not None else []
        # The first provider asked is where the model should run; anything else is a fallback.
        out: Dict[str, Any] = {"requested": self.spec.placement, "actual": active[0] if active else "unloaded",
                               "providers_requested": wanted, "providers_active": active,
                               "fell_back": bool(active) and active[0] != wanted[0], "graph": self.graph}
        if "TensorrtExecutionProvider" in active and self.session is not None:
            opts = self.session.get_provider_options().get("TensorrtExecutionProvider", {})
            trt: Dict[str, Any] = {k: opts.get(k) for k in sorted(self.trt_options())}
            # Engines already cached before load: the load phase then read them instead of building them.
            trt["engines_cached_before_load"] = len(self.trt_cached)
            out["tensorrt"] = trt
        return out
