"""The TensorRT backend's plain parts, importable without TensorRT: engine-cache keys and folders, the
choice between the two execution APIs, and the engine inspector's per-layer precisions."""

import hashlib
import json
import os
import tempfile
from typing import Any, Dict, Optional, Tuple

from ..fsutil import sha256_file
from .base import BackendUnavailable

ENGINE_RECIPE = 1  # bump when serialize_tensorrt's flags or profile change, so older cached engines are not reused
CALIB_BATCHES = 8
# CUDA's and TensorRT's words for it: "Cuda Runtime (out of memory)", "Requested amount of GPU memory (N bytes)
# could not be allocated" (NVIDIA/TensorRT#4258, 10.3), "OutOfMemory Error in allocate" (7.x on a Jetson Nano).
OOM_TEXT = ("out of memory", "cudaerrormemoryallocation", "could not be allocated", "outofmemory",
            "failed to allocate")


def engine_key(onnx_sha256: str, precision: str, batch_size: int, input_shape: Tuple[int, ...],
               tensorrt_version: str, gpu_name: str, compute_capability: str, placement: str = "cuda",
               calibration: Optional[str] = None) -> str:
    """Everything an engine depends on; a change in any of them means another engine."""
    blob = json.dumps({"onnx": onnx_sha256, "precision": precision, "batch": int(batch_size),
                       "shape": [int(v) for v in input_shape], "tensorrt": tensorrt_version, "gpu": gpu_name,
                       "cc": compute_capability, "placement": placement,
                       "calibration": calibration if precision == "int8" else None, "recipe": ENGINE_RECIPE},
                      sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:20]


def cache_root() -> str:
    return os.environ.get("EDGEBENCH_ENGINE_CACHE") or os.path.join(tempfile.gettempdir(), "edgebench-engines")


def fs_type(path: str, mounts: str = "/proc/mounts") -> Optional[str]:
    """The file system type of the mount holding `path` (longest mount point that prefixes it)."""
    real = os.path.realpath(path)
    best, kind = "", None
    try:
        with open(mounts) as f:
            for line in f:
                parts = line.split()
                if len(parts) < 3:
                    continue
                mnt = parts[1].replace("\\040", " ")
                if (real == mnt or real.startswith(mnt.rstrip("/") + "/")) and len(mnt) >= len(best):
                    best, kind = mnt, parts[2]
    except OSError:
        return None
    return kind


def calibration_id(input_dir: Optional[str], batch_size: int, seed: int) -> str:
    """What INT8 calibration reads: the content of the images used, or the synthetic generator's seed."""
    if not input_dir:
        return "synthetic-seed%d-n%d" % (seed, CALIB_BATCHES)
    from .. import inputs

    h = hashlib.sha256()
    for p in inputs.list_images(input_dir)[:batch_size * CALIB_BATCHES]:
        h.update(os.path.basename(p).encode("utf-8"))
        h.update(sha256_file(p).encode("ascii"))
    return "images-" + h.hexdigest()[:16]


def select_io_api(engine: Any, context: Any) -> str:
    """'v3' when the engine has named I/O tensors and the context execute_async_v3, else 'v2' (bindings)."""
    if hasattr(engine, "num_io_tensors") and hasattr(context, "execute_async_v3"):
        return "v3"
    if hasattr(engine, "num_bindings") and hasattr(context, "execute_async_v2"):
        return "v2"
    raise BackendUnavailable("TensorRT: the engine offers neither execute_async_v3 nor execute_async_v2")


def precision_of(fmt: str) -> str:
    """A layer's precision from the inspector's "Format/Datatype" text ("Row major linear FP16 format", "Int8")."""
    low = fmt.lower()
    for key, words in (("int8", ("int8",)), ("fp8", ("fp8",)), ("bf16", ("bf16", "bfloat16")),
                       ("fp16", ("fp16", "half")), ("fp32", ("fp32", "float")), ("int32", ("int32",))):
        if any(w in low for w in words):
            return key
    return "unknown"


def layer_precisions(engine_json: str) -> Optional[Dict[str, int]]:
    """Computing layers per output precision, from EngineInspector JSON built with ProfilingVerbosity.DETAILED.

    None when the engine holds layer names only (built without DETAILED). Reformat and no-op layers only move
    data between formats and are left out."""
    data = json.loads(engine_json)
    layers = data.get("Layers") if isinstance(data, dict) else None
    if not layers or not all(isinstance(x, dict) for x in layers):
        return None
    counts: Dict[str, int] = {}
    for layer in layers:
        if layer.get("LayerType") in ("Reformat", "NoOp"):
            continue
        outs = layer.get("Outputs") or []
        if not outs or not isinstance(outs[0], dict):
            continue
        p = precision_of(str(outs[0].get("Format/Datatype", "")))
        counts[p] = counts.get(p, 0) + 1
    return counts or None


def looks_like_oom(text: str) -> bool:
    """TensorRT and CUDA out-of-memory messages (TensorRT's own say "could not be allocated")."""
    low = text.lower()
    return any(s in low for s in OOM_TEXT)
