"""TensorRT backend: the fp32 ONNX artefact built (or read back) into an engine on the target, run on one CUDA stream.

load() reads the ONNX file's hash and opens the GPU; build() (the harness's "build" phase, P4's phase 2)
deserializes a cached engine built for the same ONNX, precision, batch, input shape, TensorRT version and
GPU, or builds one (tensorrt_build.serialize_tensorrt) and caches it. infer() = host-to-device copy, execute,
device-to-host copy, all on the stream. Two API generations, chosen by what the engine has:
  v2: binding indices + execute_async_v2 (TensorRT 8.0-8.4, e.g. JetPack 4.6's 8.0.1);
  v3: named tensors + set_tensor_address + execute_async_v3 (8.5 and later; the only one from 10).
Engine cache: EDGEBENCH_ENGINE_CACHE, else TMPDIR/edgebench-engines. Docker runs have a read-only root and
models folder and a small tmpfs /tmp, so a persistent cache needs a writable mount named by that variable.
"""

import json
import os
import time
from typing import Any, Dict, List, Optional, Tuple

import numpy as np
import tensorrt as trt

from ..fsutil import sha256_file, write_bytes
from . import cudamem, tensorrt_build
from .base import AnySpec, Backend, BackendUnavailable
from .tensorrt_support import (
    cache_root,
    calibration_id,
    engine_key,
    fs_type,
    layer_precisions,
    looks_like_oom,
    select_io_api,
)

if not cudamem.libraries():
    raise ImportError("the TensorRT backend needs pycuda or cuda-python for device buffers; neither is installed")

class _IO:
    def __init__(self, name: str, index: int, is_input: bool, dtype: Any) -> None:
        self.name, self.index, self.is_input, self.dtype = name, index, is_input, dtype
        self.shape: Tuple[int, ...] = ()
        self.host: Any = None
        self.device = 0


class TensorRTBackend(Backend):
    name = "tensorrt"

    def __init__(self, spec: AnySpec, models_dir: Optional[str] = None) -> None:
        super().__init__(spec, models_dir)
        self.kind, self.index = self._parse_placement(self.spec.placement)
        self.onnx = ""
        self.onnx_sha256 = ""
        self.gpu: Dict[str, Any] = {}
        self.dev: Optional[cudamem.Device] = None
        self.logger: Any = None
        self.engine: Any = None
        self.context: Any = None
        self.api = ""
        self.io: List[_IO] = []
        self.bindings: List[int] = []
        self.events: Tuple[Any, Any] = (None, None)
        self.engine_info: Dict[str, Any] = {}
        self.build_info: Dict[str, Any] = {}
        self.layers: Optional[Dict[str, int]] = None
        self.layers_error = ""
        self._key = ""
        self._runtime: Any = None

    @staticmethod
    def _parse_placement(placement: str) -> Tuple[str, int]:
        kind, _, idx = placement.partition(":")
        if kind not in ("cuda", "dla") or (idx and not idx.isdigit()):
            raise BackendUnavailable("tensorrt runs on placement cuda[:N] or dla[:N], not %r" % placement)
        return kind, int(idx or 0)

    def versions(self) -> Dict[str, str]:
        out = {"tensorrt": str(trt.__version__)}
        if self.dev is not None:
            out["cuda_buffers"] = self.dev.library
        return out

    # ---- load: the ONNX file and the GPU ----------------------------------------------------------

    def load(self) -> None:
        if self.spec.precision not in self.precisions:
            raise BackendUnavailable("tensorrt runs %s, not %r" % ("/".join(self.precisions), self.spec.precision))
        path = self.artifact_path()
        if not path:
            raise BackendUnavailable("tensorrt builds its engine from the fp32 .onnx artefact; the spec names none")
        if not os.path.isfile(path):
            raise BackendUnavailable("tensorrt: ONNX artefact %s does not exist" % path)
        self.onnx = path
        self.onnx_sha256 = sha256_file(path)
        try:
            self.dev = cudamem.open_device(0 if self.kind == "dla" else self.index)
            self.gpu = self.dev.info()
        except cudamem.CudaError as e:
            if e.oom:
                raise
            raise BackendUnavailable("tensorrt: no usable CUDA device: %s" % e) from e
        self.logger = tensorrt_build.make_logger(trt)

    # ---- build: the engine, from the cache or built here ------------------------------------------

    def key(self) -> str:
        if not self._key:
            calib = calibration_id(self.spec.calib_dir or self.spec.input_dir, self.spec.batch_size, self.spec.seed) \
                if self.spec.precision == "int8" else None
            self._key = engine_key(self.onnx_sha256, self.spec.precision, self.spec.batch_size, self.spec.input_shape,
                                   str(trt.__version__), str(self.gpu.get("name")),
                                   str(self.gpu.get("compute_capability")),
                                   "dla:%d" % self.index if self.kind == "dla" else "cuda", calib)
        return self._key

    def build(self) -> None:
        assert self.dev is not None, "load() first"
        key = self.key()
        folder = os.path.join(cache_root(), key)
        plan = os.path.join(folder, "engine.plan")
        info: Dict[str, Any] = {"key": key, "cache_dir": folder, "from_cache": False, "build_s": None}
        self.engine_info = info
        runtime = trt.Runtime(self.logger)
        engine = None
        if os.path.isfile(plan):
            t0 = time.monotonic()
            with open(plan, "rb") as f:
                data = f.read()
            engine = runtime.deserialize_cuda_engine(data)
            info["deserialize_s"] = time.monotonic() - t0
            if engine is None:  # truncated file, or another build of TensorRT: rebuild
                info["cache_rejected"] = "; ".join(self.logger.errors[-3:]) or "deserialize returned None"
            else:
                info["from_cache"] = True
                info["size_bytes"] = len(data)
                info["built"] = _read_json(os.path.join(folder, "build.json"))
        if engine is None:
            data = self._build_engine(folder)
            t0 = time.monotonic()
            engine = runtime.deserialize_cuda_engine(data)
            info["deserialize_s"] = time.monotonic() - t0
            if engine is None:
                raise RuntimeError("TensorRT could not deserialize the engine it just built: %s"
                                   % "; ".join(self.logger.errors[-3:]))
            info["cache_write"] = self._store(folder, data)
        self.engine = engine
        self._runtime = runtime  # the engine must not outlive its runtime
        self._prepare()

    def _build_engine(self, folder: str) -> bytes:
        calib_cache = os.path.join(cache_root(), "calib-%s.cache" % self.key())
        try:
            data, built = tensorrt_build.serialize_tensorrt(
                self.onnx, self.spec.precision, self.spec.input_shape, self.spec.batch_size,
                calib_dir=self.spec.calib_dir or self.spec.input_dir,
                calib_cache=calib_cache if _writable_dir(cache_root()) else None,
                dla_core=self.index if self.kind == "dla" else None, device=self.dev, calib_seed=self.spec.seed)
        except tensorrt_build.PrecisionUnsupported as e:
            raise BackendUnavailable("tensorrt %s on %s: %s" % (self.spec.precision, self.gpu.get("name"), e)) from e
        self.build_info = built
        self.engine_info.update({"build_s": built["build_s"], "size_bytes": built["size_bytes"],
                                 "flags": built["flags"], "warnings": built["warnings"]})
        if "calibration" in built:
            self.engine_info["calibration"] = built["calibration"]
        return data

    def _store(self, folder: str, data: bytes) -> str:
        """Write the engine into the cache; a failure costs a rebuild next time, never the run."""
        kind = fs_type(cache_root()) or fs_type(os.path.dirname(cache_root()))
        if kind == "tmpfs" and self.spec.limits.memory_mb is not None and "EDGEBENCH_ENGINE_CACHE" not in os.environ:
            return ("skipped: %s is tmpfs, whose pages count against this run's memory limit; set "
                    "EDGEBENCH_ENGINE_CACHE to a disk folder" % cache_root())
        try:
            if not os.path.isdir(folder):
                os.makedirs(folder)
            write_bytes(os.path.join(folder, "engine.plan"), data)
            meta = {k: v for k, v in self.build_info.items() if k != "warnings"}
            meta.update({"gpu": self.gpu, "onnx_sha256": self.onnx_sha256, "created": time.time()})
            write_bytes(os.path.join(folder, "build.json"),
                                    json.dumps(meta, sort_keys=True, default=str).encode("utf-8"))
        except OSError as e:
            return "failed: %s" % e
        return "ok"

    def _prepare(self) -> None:
        """Execution context, the input shape, pinned host and device buffers for every I/O tensor."""
        assert self.dev is not None
        ctx = self.engine.create_execution_context()
        if ctx is None:
            raise RuntimeError("TensorRT could not create an execution context: %s"
                               % ("; ".join(self.logger.errors[-3:]) or "out of memory?"))
        self.context = ctx
        self.api = select_io_api(self.engine, ctx)
        self.io = self._io_tensors()
        inputs = [t for t in self.io if t.is_input]
        if len(inputs) != 1:
            raise BackendUnavailable("tensorrt: the engine has %d inputs; the suite feeds one" % len(inputs))
        want = (self.spec.batch_size,) + tuple(self.spec.input_shape)
        if self.api == "v3":
            accepted = ctx.set_input_shape(inputs[0].name, want)
        elif any(d < 0 for d in self.engine.get_binding_shape(inputs[0].index)):
            accepted = ctx.set_binding_shape(inputs[0].index, want)
        else:  # a static v2 engine: its shape was checked against the spec when it was built
            accepted = True
        if not accepted:
            raise BackendUnavailable("tensorrt: the engine does not accept input shape %s" % list(want))
        for t in self.io:
            shape = ctx.get_tensor_shape(t.name) if self.api == "v3" else ctx.get_binding_shape(t.index)
            t.shape = tuple(int(d) for d in shape)
            if any(d < 0 for d in t.shape):
                raise BackendUnavailable("tensorrt: tensor %s still has a dynamic shape %s" % (t.name, list(t.shape)))
            t.host = self.dev.pinned(t.shape, t.dtype)
            t.device = self.dev.alloc(t.host.nbytes)
            if self.api == "v3":
                ctx.set_tensor_address(t.name, t.device)
        self.bindings = [t.device for t in sorted(self.io, key=lambda t: t.index)]
        self.events = (self.dev.event(), self.dev.event())
        self._inspect()

    def _io_tensors(self) -> List[_IO]:
        e = self.engine
        out = []
        if self.api == "v3":
            for i in range(e.num_io_tensors):
                name = e.get_tensor_name(i)
                out.append(_IO(name, i, e.get_tensor_mode(name) == trt.TensorIOMode.INPUT,
                               trt.nptype(e.get_tensor_dtype(name))))
        else:
            for i in range(e.num_bindings):
                out.append(_IO(e.get_binding_name(i), i, bool(e.binding_is_input(i)),
                               trt.nptype(e.get_binding_dtype(i))))
        return out

    def _inspect(self) -> None:
        """The precision each layer really runs in (TensorRT >= 8.2, engines built with DETAILED verbosity)."""
        if not hasattr(self.engine, "create_engine_inspector"):
            self.layers_error = "no engine inspector before TensorRT 8.2"
            return
        try:
            insp = self.engine.create_engine_inspector()
            for attr in ("execution_context", "context"):  # 10.x / 8.x; with it, formats are concrete
                if hasattr(insp, attr):
                    setattr(insp, attr, self.context)
                    break
            self.layers = layer_precisions(insp.get_engine_information(trt.LayerInformationFormat.JSON))
            if self.layers is None:
                self.layers_error = "engine built without detailed profiling verbosity"
        except Exception as e:  # metadata only: never fail a run over it
            self.layers_error = "%s: %s" % (type(e).__name__, e)

    # ---- inference --------------------------------------------------------------------------------

    def _enqueue(self, batch: np.ndarray) -> None:
        assert self.dev is not None and self.context is not None, "build() first"
        dev = self.dev
        for t in self.io:
            if t.is_input:
                np.copyto(t.host, batch.reshape(t.shape), casting="same_kind")
                dev.htod(t.device, t.host)
        if self.api == "v3":
            ok = self.context.execute_async_v3(dev.stream_handle)
        else:
            ok = self.context.execute_async_v2(self.bindings, dev.stream_handle)
        if not ok:
            raise RuntimeError("TensorRT execute failed: %s"
                               % ("; ".join(self.logger.errors[-3:]) or "no error logged"))
        for t in self.io:
            if not t.is_input:
                dev.dtoh(t.host, t.device)

    def runtime_object(self) -> Any:
        return self.context  # one execution context per copy

    def infer(self, batch: np.ndarray) -> Any:
        assert self.dev is not None
        self._enqueue(batch)
        self.dev.sync()
        return next(t.host for t in self.io if not t.is_input)

    def synchronize(self) -> None:
        if self.dev is not None:
            self.dev.sync()

    def time_one(self, batch: np.ndarray) -> float:
        # CUDA events on the stream bracket copy in, execute and copy out (the host-side staging copy too).
        assert self.dev is not None
        start, end = self.events
        self.dev.sync()
        self.dev.record(start)
        self._enqueue(batch)
        self.dev.record(end)
        return self.dev.elapsed_s(start, end)

    def output(self, batch: np.ndarray) -> np.ndarray:
        return np.array(self.infer(batch), dtype=np.float32, copy=True)

    def is_oom(self, exc: BaseException) -> bool:
        if isinstance(exc, MemoryError) or (isinstance(exc, cudamem.CudaError) and exc.oom):
            return True
        return looks_like_oom(str(exc))

    # ---- what the engine really is -----------------------------------------------------------------

    def placement(self) -> Dict[str, Any]:
        actual = "unloaded"
        if self.engine is not None:
            actual = "dla:%d" % self.index if self.kind == "dla" else "cuda:%d" % self.index
        out: Dict[str, Any] = {"requested": self.spec.placement, "actual": actual, "fell_back": False,
                               "tensorrt": str(trt.__version__), "precision_requested": self.spec.precision,
                               "io_api": self.api or None, "engine": self.engine_info}
        if self.gpu:
            out.update({"device_name": self.gpu.get("name"), "compute_capability": self.gpu.get("compute_capability"),
                        "integrated": self.gpu.get("integrated"), "buffers": self.gpu.get("library")})
        flags = self.engine_info.get("flags")
        if flags is None and isinstance(self.engine_info.get("built"), dict):
            flags = self.engine_info["built"].get("flags")
        out["precision_flags"] = flags
        if self.layers:
            out["layer_precisions"] = self.layers
            out["precision_source"] = "engine inspector"
            # Asked for fp16/int8 but not one layer runs in it: TensorRT chose fp32 kernels everywhere.
            if self.spec.precision != "fp32" and not self.layers.get(self.spec.precision):
                out["fell_back"] = True
                out["fell_back_reason"] = "no layer runs in %s" % self.spec.precision
        built = self.engine_info.get("built")
        slow = self.build_info.get("no_fast_precision") or (built or {}).get("no_fast_precision")
        if slow:  # built as P1 did on the Nano, but the result must say the GPU has no fast kernels for it
            out["fell_back"] = True
            out.setdefault("fell_back_reason", slow)
        else:
            out["precision_source"] = "builder flags"
            out["layer_precisions_unavailable"] = self.layers_error or None
        return out


def _writable_dir(path: str) -> bool:
    try:
        if not os.path.isdir(path):
            os.makedirs(path)
        return os.access(path, os.W_OK)
    except OSError:
        return False


def _read_json(path: str) -> Optional[Dict[str, Any]]:
    try:
        with open(path) as f:
            data = json.load(f)
        return data if isinstance(data, dict) else None
    except (OSError, ValueError):
        return None
