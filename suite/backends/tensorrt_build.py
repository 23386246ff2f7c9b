"""TensorRT engine build from ONNX: used by the TensorRT backend inside its image (a run's build phase) and by
artefacts/compilers.build_tensorrt on a target host. tensorrt is imported per call (_trt), so importing this
module needs no TensorRT. Every TensorRT attribute used was checked to exist in the real 8.6.1, 10.3.0 and
10.16.1 Python bindings.
"""

import os
import time
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from ..fsutil import write_bytes
from .base import ToolMissing


class PrecisionUnsupported(ValueError):
    """The GPU, DLA or TensorRT version here cannot build the precision asked: never silently build another."""


def _trt() -> Any:
    try:
        import tensorrt as trt
    except ImportError:
        raise ToolMissing("TensorRT's Python package is not installed here; engines are built on the target, "
                          "inside its device image (JetPack ships it)") from None
    return trt


def trt_major(trt: Any) -> int:
    try:
        return int(str(trt.__version__).split(".")[0])
    except ValueError:
        return 0


def make_logger(trt: Any) -> Any:
    """A TensorRT logger that keeps errors and warnings, so a failed build says why (TensorRT only logs it)."""

    class Logger(trt.ILogger):  # type: ignore[misc]
        def __init__(self) -> None:
            trt.ILogger.__init__(self)
            self.errors: List[str] = []
            self.warnings: List[str] = []
            self.oom = False  # an allocation failed at any severity (10.x logs it as a warning, then fails)

        def log(self, severity: Any, msg: str) -> None:
            sev = trt.ILogger.Severity
            low = str(msg).lower()
            if "out of memory" in low or "could not be allocated" in low or "outofmemory" in low:
                self.oom = True
            if severity in (sev.INTERNAL_ERROR, sev.ERROR):
                self.errors.append(str(msg))
            elif severity == sev.WARNING and len(self.warnings) < 50:
                self.warnings.append(str(msg))

    return Logger()


def calib_batches(calib_dir: Optional[str], shape: Tuple[int, ...], batch: int, count: int = 8,
                  seed: int = 0) -> List[np.ndarray]:
    """Calibration batches (NCHW float32): images from a folder (cycled to fill a batch), else standard normal."""
    from .. import inputs

    if calib_dir:
        paths = inputs.list_images(calib_dir)[:batch * count]
        n = max(batch, len(paths) - len(paths) % batch)
        imgs = np.stack([inputs.load_image(paths[i % len(paths)], shape) for i in range(n)]).astype(np.float32)
        return [np.ascontiguousarray(imgs[i:i + batch]) for i in range(0, n, batch)]
    rng = np.random.RandomState(seed)
    return [rng.standard_normal((batch,) + tuple(shape)).astype(np.float32) for _ in range(count)]


def calibrator(trt: Any, batches: List[np.ndarray], cache: str, device: Any) -> Any:
    """An entropy calibrator (IInt8EntropyCalibrator2) feeding `batches` through one device buffer.

    `device` is a suite.backends.cudamem.Device (pycuda or cuda-python, whichever the image has)."""
    nbytes = max(b.nbytes for b in batches)
    dptr = device.alloc(nbytes)

    class Calibrator(trt.IInt8EntropyCalibrator2):  # type: ignore[misc]
        def __init__(self) -> None:
            trt.IInt8EntropyCalibrator2.__init__(self)
            self.left = list(batches)
            self.used = 0

        def get_batch_size(self) -> int:
            return int(batches[0].shape[0])

        def get_batch(self, names: Any) -> Any:
            if not self.left:
                return None  # calibration done
            device.htod(dptr, self.left.pop(0))
            device.sync()
            self.used += 1
            return [dptr] * len(names)

        def read_calibration_cache(self) -> Any:
            if os.path.exists(cache):
                with open(cache, "rb") as f:
                    return f.read()
            return None

        def write_calibration_cache(self, data: Any) -> None:
            try:
                write_bytes(cache, bytes(data))
            except OSError:
                pass  # a read-only or full cache folder costs a recalibration next time, nothing else

    return Calibrator()


def serialize_tensorrt(onnx_path: str, precision: str = "fp32", shape: Tuple[int, ...] = (3, 224, 224),
                       batch_size: int = 1, calib_dir: Optional[str] = None, calib_cache: Optional[str] = None,
                       workspace_mb: int = 1024, dla_core: Optional[int] = None, device: Any = None,
                       calib_seed: int = 0) -> Tuple[bytes, Dict[str, Any]]:
    """Build a serialized engine from an ONNX file for one batch size and input shape.

    API by version (checked against TensorRT 8.6, 10.3 and 10.16 bindings): explicit batch is a flag before 10
    (the default from 10 on); the workspace is `max_workspace_size` before 8.4, a memory pool after;
    `build_serialized_network` exists from 8.0 (`build_engine` is gone in 10); TensorRT 11 drops the FP16/INT8
    builder flags and the calibrators (strongly typed networks only), so fp16/int8 from an fp32 ONNX fail there.
    """
    trt = _trt()
    if precision not in ("fp32", "fp16", "int8"):
        raise PrecisionUnsupported("TensorRT precision must be fp32, fp16 or int8, not %r" % precision)
    logger = make_logger(trt)
    info: Dict[str, Any] = {"precision": precision, "batch_size": batch_size, "input_shape": list(shape),
                            "tensorrt": str(trt.__version__), "flags": [], "warnings": []}
    t0 = time.monotonic()
    builder = trt.Builder(logger)
    flags = 0
    if trt_major(trt) < 10:
        flags = 1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH)
    network = builder.create_network(flags)
    parser = trt.OnnxParser(network, logger)
    with open(onnx_path, "rb") as f:
        if not parser.parse(f.read()):
            errors = [str(parser.get_error(i)) for i in range(parser.num_errors)]
            raise ValueError("TensorRT cannot parse %s: %s" % (onnx_path, "; ".join(errors)))
    if network.num_inputs != 1:
        raise ValueError("%s has %d inputs; the suite feeds one image batch" % (onnx_path, network.num_inputs))
    inp = network.get_input(0)
    want = (batch_size,) + tuple(shape)
    have = tuple(inp.shape)
    if len(have) != len(want) or any(h not in (-1, w) for h, w in zip(have, want)):
        raise ValueError("%s takes input %s, the spec asks for %s" % (onnx_path, list(have), list(want)))

    config = builder.create_builder_config()
    if hasattr(config, "set_memory_pool_limit"):  # TensorRT >= 8.4
        config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, workspace_mb << 20)
    else:
        config.max_workspace_size = workspace_mb << 20
    if hasattr(trt, "ProfilingVerbosity"):  # >= 8.2: the engine inspector can then show each layer's precision
        config.profiling_verbosity = trt.ProfilingVerbosity.DETAILED
    profile = None
    if any(d < 0 for d in have):  # dynamic batch (the suite's ONNX export): pin it to this run's batch size
        profile = builder.create_optimization_profile()
        profile.set_shape(inp.name, want, want, want)
        config.add_optimization_profile(profile)

    has_flag = hasattr(trt.BuilderFlag, "FP16") and hasattr(trt.BuilderFlag, "INT8")
    if precision != "fp32" and not has_flag:
        raise PrecisionUnsupported("TensorRT %s builds strongly typed networks only: %s needs an ONNX already in "
                                   "that precision (Q/DQ for int8), not the fp32 export" % (trt.__version__, precision))
    if dla_core is not None:
        if builder.num_DLA_cores <= dla_core:
            raise PrecisionUnsupported("placement dla:%d asked, but this device has %d DLA core(s)"
                                       % (dla_core, builder.num_DLA_cores))
        if precision == "fp32":
            raise PrecisionUnsupported("the DLA runs fp16 or int8 only; fp32 on dla would run on the GPU")
        config.default_device_type = trt.DeviceType.DLA
        config.DLA_core = dla_core
        config.set_flag(trt.BuilderFlag.GPU_FALLBACK)  # layers the DLA lacks run on the GPU (placement says so)
        info["flags"].append("GPU_FALLBACK")
        info["dla_core"] = dla_core
    # The flags allow, not force, a precision: without fast kernels TensorRT picks FP16/FP32 ones. P1 built
    # "INT8" engines on the Nano (Maxwell, no fast INT8) this way, so build, and let the result say so.
    fast = {"fp16": builder.platform_has_fast_fp16, "int8": builder.platform_has_fast_int8}.get(precision, True)
    if not fast:
        info["no_fast_precision"] = ("this GPU has no fast %s (platform_has_fast_%s is False; a Jetson Nano's Maxwell "
                                     "GPU has no fast INT8): TensorRT chose other kernels" % (precision.upper(),
                                                                                              precision))
        info["warnings"].append(info["no_fast_precision"])
    if precision == "fp16":
        config.set_flag(trt.BuilderFlag.FP16)
        info["flags"].append("FP16")
    elif precision == "int8":
        config.set_flag(trt.BuilderFlag.INT8)
        info["flags"].append("INT8")
        if device is None:
            from .cudamem import open_device
            device = open_device()
        batches = calib_batches(calib_dir, shape, batch_size, seed=calib_seed)
        cache = calib_cache or os.path.splitext(onnx_path)[0] + "-b%d.calib" % batch_size
        info["calibration"] = {"source": calib_dir or "synthetic", "batches": len(batches), "cache": cache,
                               "cache_existed": os.path.exists(cache)}
        if not calib_dir:
            info["warnings"].append("int8 calibrated on synthetic (standard-normal) input: no input_dir/calib_dir "
                                    "given, so the ranges may not match real images")
        calib = calibrator(trt, batches, cache, device)  # kept referenced until the build returns
        config.int8_calibrator = calib
        if profile is not None:
            config.set_calibration_profile(profile)
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise ValueError("TensorRT could not build an engine from %s at %s%s: %s" % (
            onnx_path, precision, " (out of memory)" if logger.oom else "",
            "; ".join(logger.errors[-5:]) or "no error logged"))
    data = bytes(serialized)
    info.update({"build_s": time.monotonic() - t0, "size_bytes": len(data)})
    info["warnings"] += logger.warnings[-10:]
    return data, info
