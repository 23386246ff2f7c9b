"""TFLite backend: a .tflite artefact on LiteRT (`ai-edge-litert`), else `tflite_runtime`.

Input layout is NHWC. An INT8 model with integer input/output (full-integer PTQ, as the EdgeTPU needs) is
fed by quantising the float batch with the input's scale and zero point, and its output dequantised:
that work is part of each timed inference, as it is in an application. Placement "edgetpu" loads the
EdgeTPU delegate (libedgetpu) for a model compiled by edgetpu_compiler.
"""

import platform
from typing import Any, Dict, Optional

import numpy as np

from .. import placements
from . import edgetpu
from .base import AnySpec, Backend, BackendUnavailable

try:
    import ai_edge_litert as _pkg
    from ai_edge_litert import interpreter as _tfl

    RUNTIME = "ai-edge-litert"
except ImportError:
    import tflite_runtime as _pkg  # the ImportError raised here is the one the registry reports
    from tflite_runtime import interpreter as _tfl

    RUNTIME = "tflite_runtime"

EDGETPU_OP = b"edgetpu-custom-op"  # the custom op's name in a compiled model's flatbuffer
_EDGETPU_LIB = {"Linux": "libedgetpu.so.1", "Darwin": "libedgetpu.1.dylib", "Windows": "edgetpu.dll"}


def runtime_version() -> str:
    return str(getattr(_pkg, "__version__", "unknown"))


class TfliteBackend(Backend):
    name = "tflite"
    layout = "NHWC"

    def __init__(self, spec: AnySpec, models_dir: Optional[str] = None) -> None:
        super().__init__(spec, models_dir)
        self.interpreter: Any = None
        self.inp: Dict[str, Any] = {}
        self.out: Dict[str, Any] = {}
        self.delegate = ""
        self.edgetpu: Dict[str, Any] = {}  # which accelerator this interpreter is pinned to
        self.compiled = False
        self._batch = -1

    def versions(self) -> Dict[str, str]:
        return {RUNTIME: runtime_version()}

    def load(self) -> None:
        path = self.artifact_path()
        if not path:
            raise BackendUnavailable("tflite needs a .tflite artefact; the spec names none")
        delegates = []
        if placements.is_edgetpu(self.spec.placement):
            delegates.append(self.load_edgetpu_delegate())
            with open(path, "rb") as f:  # compiled models carry the custom op the delegate runs on the TPU
                self.compiled = EDGETPU_OP in f.read()
        elif placements.kind(self.spec.placement) != "cpu":
            raise BackendUnavailable("tflite: unknown placement %r; use cpu[:N], edgetpu[:N], usb[:N] or pci[:N]"
                                     % self.spec.placement)
        self.interpreter = _tfl.Interpreter(model_path=path, num_threads=self.spec.threads or None,
                                            experimental_delegates=delegates or None)
        self.inp = self.interpreter.get_input_details()[0]
        self.out = self.interpreter.get_output_details()[0]
        self._resize(self.spec.batch_size)

    def load_edgetpu_delegate(self, load_delegate: Any = None, list_tpus: Any = None) -> Any:
        """The EdgeTPU delegate pinned to this copy's accelerator; which one it is goes to self.edgetpu.
        load_delegate / list_tpus default to tflite's load_delegate and pycoral's list_edge_tpus."""
        lib = _EDGETPU_LIB.get(platform.system(), "libedgetpu.so.1")
        delegate, self.edgetpu = edgetpu.load(self.spec.placement, lib, load_delegate or _tfl.load_delegate,
                                              list_tpus)
        self.delegate = lib
        return delegate

    def _resize(self, batch: int) -> None:
        if batch != self._batch:
            if int(self.inp["shape"][0]) != batch:
                shape = [batch] + [int(v) for v in self.inp["shape"][1:]]
                self.interpreter.resize_tensor_input(self.inp["index"], shape)
            self.interpreter.allocate_tensors()
            self.inp = self.interpreter.get_input_details()[0]
            self.out = self.interpreter.get_output_details()[0]
            self._batch = batch

    def _quantise(self, batch: np.ndarray) -> np.ndarray:
        dtype = self.inp["dtype"]
        if dtype in (np.int8, np.uint8):
            scale, zero = self.inp["quantization"]
            info = np.iinfo(dtype)
            q = np.round(batch / scale + zero)
            return np.asarray(np.clip(q, info.min, info.max).astype(dtype))
        return np.asarray(batch.astype(dtype, copy=False))

    def runtime_object(self) -> Any:
        return self.interpreter

    def infer(self, batch: np.ndarray) -> Any:
        assert self.interpreter is not None, "load() first"
        self._resize(int(batch.shape[0]))
        self.interpreter.set_tensor(self.inp["index"], self._quantise(batch))
        self.interpreter.invoke()
        out = self.interpreter.get_tensor(self.out["index"])
        if self.out["dtype"] in (np.int8, np.uint8):
            scale, zero = self.out["quantization"]
            out = (out.astype(np.float32) - zero) * scale
        return out

    def placement(self) -> Dict[str, Any]:
        # The delegate runs only the custom op edgetpu_compiler makes; an uncompiled model runs wholly on the CPU.
        actual = "edgetpu" if self.delegate and self.compiled else "cpu"
        wanted = "edgetpu" if placements.is_edgetpu(self.spec.placement) else placements.kind(self.spec.placement)
        out: Dict[str, Any] = {"requested": self.spec.placement, "actual": actual,
                               "delegate": self.delegate or None, "fell_back": actual != wanted}
        if self.edgetpu:
            out["edgetpu"] = self.edgetpu
        if self.delegate and not self.compiled:
            out["fell_back_reason"] = "the model was not compiled by edgetpu_compiler: every op ran on the CPU"
        return out
