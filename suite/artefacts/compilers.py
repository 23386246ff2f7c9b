"""Target-side compilers: TensorRT engines from ONNX (the build itself is backends/tensorrt_build.py, which the
TensorRT backend also runs inside its image), and EdgeTPU models from INT8 TFLite.

Both only run where their tool is installed (a Jetson image, a host with edgetpu_compiler); elsewhere
they raise ToolMissing with what to install. Neither could be run where this was written (no GPU, no
Coral): the calls follow NVIDIA's TensorRT Python API (8.0 to 10.x) and Coral's compiler documentation; every
TensorRT attribute used was checked to exist in the real 8.6.1, 10.3.0 and 10.16.1 Python bindings.
"""

import os
import shutil
import subprocess
import time
from typing import Any, Dict, Optional, Tuple

from ..backends.base import ToolMissing
from ..backends.tensorrt_build import serialize_tensorrt
from ..fsutil import write_bytes

__all__ = ["ToolMissing", "build_tensorrt", "compile_edgetpu"]


def compile_edgetpu(tflite: str, out_dir: str, compiler: str = "edgetpu_compiler") -> Dict[str, Any]:
    """Run `edgetpu_compiler -s -o OUT MODEL`; the model must be full-integer INT8 (tflite int8 artefacts are)."""
    exe = shutil.which(compiler)
    if exe is None:
        raise ToolMissing("edgetpu_compiler is not installed here (Coral's apt package 'edgetpu-compiler', "
                          "x86-64 Debian/Ubuntu only); compile on such a host and copy the *_edgetpu.tflite")
    if not os.path.isdir(out_dir):
        os.makedirs(out_dir)
    t0 = time.monotonic()
    proc = subprocess.Popen([exe, "-s", "-o", out_dir, tflite], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            universal_newlines=True)
    log, _ = proc.communicate()
    stem = os.path.splitext(os.path.basename(tflite))[0]
    out = os.path.join(out_dir, stem + "_edgetpu.tflite")
    if proc.returncode != 0 or not os.path.exists(out):
        raise ValueError("edgetpu_compiler failed (exit %d): %s" % (proc.returncode, log.strip()[-2000:]))
    return {"format": "edgetpu-tflite", "file": out, "size_bytes": os.path.getsize(out),
            "compile_s": time.monotonic() - t0, "log": log, "mapped": _edgetpu_mapped(log)}


def _edgetpu_mapped(log: str) -> Optional[Dict[str, Any]]:
    """What the compiler's summary says: operations on the Edge TPU and on the CPU, subgraphs, parameter memory.

    The compiler prints the two "Number of operations that will run on ..." lines only when some operations
    stay on the CPU; when every operation maps, only "Total number of operations" appears."""
    found: Dict[str, Any] = {}
    keys = (("edgetpu_ops", "number of operations that will run on edge tpu:"),
            ("cpu_ops", "number of operations that will run on cpu:"),
            ("total_ops", "total number of operations:"),
            ("subgraphs", "number of edge tpu subgraphs:"),
            ("on_chip_cached", "on-chip memory used for caching model parameters:"),
            ("off_chip_streamed", "off-chip memory used for streaming uncached model parameters:"))
    for line in log.splitlines():
        low = line.lower().strip()
        for key, text in keys:
            if low.startswith(text):
                value = line.strip()[len(text):].strip()
                try:
                    found[key] = int(value)
                except ValueError:
                    found[key] = value  # a size such as "4.21MiB"
    if "total_ops" in found and "edgetpu_ops" not in found:
        found.update({"edgetpu_ops": found["total_ops"], "cpu_ops": 0})
    return found or None


def build_tensorrt(onnx_path: str, out_dir: str, precision: str = "fp32", shape: Tuple[int, ...] = (3, 224, 224),
                   batch_size: int = 1, calib_dir: Optional[str] = None, calib_cache: Optional[str] = None,
                   workspace_mb: int = 1024) -> Dict[str, Any]:
    """Build OUT/model-PRECISION-bBATCH.engine from an ONNX file; build time is P4's phase 2."""
    if not os.path.isdir(out_dir):
        os.makedirs(out_dir)
    cache = calib_cache or os.path.join(out_dir, "calibration-b%d.cache" % batch_size)
    data, info = serialize_tensorrt(onnx_path, precision, shape, batch_size, calib_dir, cache, workspace_mb)
    path = os.path.join(out_dir, "model-%s-b%d.engine" % (precision, batch_size))
    write_bytes(path, data)
    return {"format": "tensorrt", "file": path, "precision": precision, "batch_size": batch_size,
            "size_bytes": os.path.getsize(path), "build_s": info["build_s"], "flags": info["flags"],
            "warnings": info["warnings"], "calibration_cache": cache if precision == "int8" else None,
            "versions": {"tensorrt": info["tensorrt"]}}
