"""Target-side compilers: TensorRT engines from ONNX, and EdgeTPU models from INT8 TFLite.

Both only run where their tool is installed (a Jetson image, a host with edgetpu_compiler); elsewhere
they raise ToolMissing with what to install. Neither could be run where this was written (no GPU, no
Coral): the calls follow NVIDIA's TensorRT Python API (8.0 to 10.x) and Coral's compiler documentation.
"""

import os
import shutil
import subprocess
import time
from typing import Any, Dict, List, Optional, Tuple

import numpy as np


class ToolMissing(OSError):
    """The compiler this step needs is not installed here."""


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


def _edgetpu_mapped(log: str) -> Optional[Dict[str, int]]:
    """Operations mapped to the Edge TPU and to the CPU, from the compiler's summary lines."""
    found: Dict[str, int] = {}
    for line in log.splitlines():
        low = line.lower().strip()
        for key, text in (("edgetpu_ops", "number of operations that will run on edge tpu:"),
                          ("cpu_ops", "number of operations that will run on cpu:")):
            if low.startswith(text):
                try:
                    found[key] = int(low[len(text):].strip())
                except ValueError:
                    pass
    return found or None


def _trt() -> Any:
    try:
        import tensorrt as trt
    except ImportError:
        raise ToolMissing("TensorRT's Python package is not installed here; engines are built on the target, "
                          "inside its device image (JetPack ships it)") from None
    return trt


def _calib_batches(calib_dir: Optional[str], shape: Tuple[int, ...], batch: int, count: int = 8) -> List[np.ndarray]:
    from .. import inputs

    if calib_dir:
        paths = inputs.list_images(calib_dir)[:batch * count]
        imgs = np.stack([inputs.load_image(p, shape) for p in paths]).astype(np.float32)
        return [imgs[i:i + batch] for i in range(0, len(imgs) - batch + 1, batch)]
    rng = np.random.RandomState(0)
    return [rng.standard_normal((batch,) + tuple(shape)).astype(np.float32) for _ in range(count)]


def _calibrator(trt: Any, batches: List[np.ndarray], cache: str) -> Any:
    import torch  # device buffers: torch is in every Jetson image that runs TensorRT here

    class Calibrator(trt.IInt8EntropyCalibrator2):  # type: ignore[misc]
        def __init__(self) -> None:
            trt.IInt8EntropyCalibrator2.__init__(self)
            self.batches = list(batches)
            self.device: Any = None

        def get_batch_size(self) -> int:
            return int(batches[0].shape[0])

        def get_batch(self, names: Any, *rest: Any) -> Any:
            if not self.batches:
                return None
            self.device = torch.from_numpy(self.batches.pop(0)).cuda()
            return [int(self.device.data_ptr())]

        def read_calibration_cache(self, *rest: Any) -> Any:
            if os.path.exists(cache):
                with open(cache, "rb") as f:
                    return f.read()
            return None

        def write_calibration_cache(self, data: Any, *rest: Any) -> None:
            with open(cache, "wb") as f:
                f.write(bytes(data))

    return Calibrator()


def build_tensorrt(onnx_path: str, out_dir: str, precision: str = "fp32", shape: Tuple[int, ...] = (3, 224, 224),
                   batch_size: int = 1, calib_dir: Optional[str] = None, calib_cache: Optional[str] = None,
                   workspace_mb: int = 1024) -> Dict[str, Any]:
    """Build OUT/model-PRECISION-bBATCH.engine from an ONNX file; build time is P4's phase 2."""
    trt = _trt()
    if not os.path.isdir(out_dir):
        os.makedirs(out_dir)
    logger = trt.Logger(trt.Logger.WARNING)
    t0 = time.monotonic()
    builder = trt.Builder(logger)
    flag = getattr(trt.NetworkDefinitionCreationFlag, "EXPLICIT_BATCH", None)
    network = builder.create_network(1 << int(flag) if flag is not None else 0)
    parser = trt.OnnxParser(network, logger)
    with open(onnx_path, "rb") as f:
        if not parser.parse(f.read()):
            errors = [str(parser.get_error(i)) for i in range(parser.num_errors)]
            raise ValueError("TensorRT cannot parse %s: %s" % (onnx_path, "; ".join(errors)))
    config = builder.create_builder_config()
    if hasattr(config, "set_memory_pool_limit"):  # TensorRT >= 8.4
        config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, workspace_mb << 20)
    else:
        config.max_workspace_size = workspace_mb << 20
    profile = builder.create_optimization_profile()
    dims = (batch_size,) + tuple(shape)
    profile.set_shape(network.get_input(0).name, dims, dims, dims)
    config.add_optimization_profile(profile)
    cache = calib_cache or os.path.join(out_dir, "calibration-b%d.cache" % batch_size)
    if precision == "fp16":
        if not builder.platform_has_fast_fp16:
            raise ValueError("this GPU has no fast FP16; TensorRT would run FP32 kernels")
        config.set_flag(trt.BuilderFlag.FP16)
    elif precision == "int8":
        if not builder.platform_has_fast_int8:
            raise ValueError("this GPU has no fast INT8 (a Jetson Nano's Maxwell GPU has none)")
        config.set_flag(trt.BuilderFlag.INT8)
        config.int8_calibrator = _calibrator(trt, _calib_batches(calib_dir, shape, batch_size), cache)
        if hasattr(config, "set_calibration_profile"):
            config.set_calibration_profile(profile)
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise ValueError("TensorRT could not build an engine from %s at %s" % (onnx_path, precision))
    path = os.path.join(out_dir, "model-%s-b%d.engine" % (precision, batch_size))
    with open(path, "wb") as f:
        f.write(bytes(serialized))
    return {"format": "tensorrt", "file": path, "precision": precision, "batch_size": batch_size,
            "size_bytes": os.path.getsize(path), "build_s": time.monotonic() - t0,
            "calibration_cache": cache if precision == "int8" else None, "versions": {"tensorrt": trt.__version__}}
