"""ONNX FP16 and INT8 artefacts, derived from the checked fp32 export and checked against it.

fp16: onnxruntime's own converter (onnxruntime.transformers.float16) casts weights and activations to
float16 and keeps float32 inputs and outputs, so the harness feeds every precision the same batch.
int8: onnxruntime.quantization static post-training quantisation in QDQ form, per-channel symmetric int8
weights and symmetric int8 activations (zero point 0: what TensorRT and EdgeTPU-style compilers expect),
after ORT's recommended pre-processing (quant_pre_process). Calibration reads images from a folder with the
harness's preprocessing, or synthetic standard-normal data with a warning in the manifest.

onnx and onnxruntime are imported lazily: the suite imports without them.
"""

import logging
import os
import shutil
import tempfile
import time
from typing import Any, Dict, Optional, Tuple

import numpy as np

from ..fsutil import sha256_file, write_json
from ..nets.onnx_meta import META
from .agreement import ONNX_TOLERANCES, agreement

log = logging.getLogger(__name__)

PRECISIONS = ("fp16", "int8")
# ORT CPU kernels that compute in int8 besides QLinear* (what QDQ pairs around an op fuse into).
INT8_KERNELS = ("QGemm", "ConvInteger", "MatMulInteger", "MatMulIntegerToFloat", "DynamicQuantizeMatMul")
PROBE_BATCH = 8
CALIB_BATCH = 8  # samples per calibration inference (faster than one at a time; same ranges)


def calibration_data(calib_dir: Optional[str], input_shape: Tuple[int, ...], samples: int,
                     seed: int = 0) -> Tuple[np.ndarray, Dict[str, Any]]:
    """NCHW float32 calibration samples and a record of their source (as keras_zoo.representative)."""
    from .. import inputs

    if calib_dir:
        paths = inputs.list_images(calib_dir)[:samples]
        data = np.stack([inputs.load_image(p, input_shape) for p in paths]).astype(np.float32)
        info: Dict[str, Any] = {"source": "folder", "dir": os.path.abspath(calib_dir), "samples": len(paths)}
    else:
        data = np.random.RandomState(seed + 2).standard_normal((samples,) + tuple(input_shape)).astype(np.float32)
        info = {"source": "synthetic", "samples": samples,
                "warning": "INT8 calibrated on synthetic standard-normal input, not real images: ranges fit "
                           "synthetic benchmarks, not accuracy on real data (give a calibration image folder)"}
        log.warning(info["warning"])
    return data, info


def probe_batch(calib_dir: Optional[str], input_shape: Tuple[int, ...], skip: int, seed: int = 0) -> np.ndarray:
    """The batch the check runs: folder images after the `skip` used for calibration (the first ones when the
    folder has no more), else standard-normal data drawn apart from the calibration data."""
    from .. import inputs

    if calib_dir:
        paths = inputs.list_images(calib_dir)
        rest = paths[skip:skip + PROBE_BATCH] or paths[:PROBE_BATCH]
        return np.stack([inputs.load_image(p, input_shape) for p in rest]).astype(np.float32)
    return np.random.RandomState(seed + 3).standard_normal((PROBE_BATCH,) + tuple(input_shape)).astype(np.float32)


def to_fp16(src: str, dst: str) -> None:
    import onnx
    from onnxruntime.transformers.float16 import convert_float_to_float16
    from onnxruntime.transformers.onnx_model import OnnxModel

    model = OnnxModel(convert_float_to_float16(onnx.load(src), keep_io_types=True))
    model.topological_sort()  # the converter appends its input Casts last; onnx's checker wants order
    onnx.save(model.model, dst)


def to_int8(src: str, dst: str, data: np.ndarray, work: str) -> None:
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Reader(CalibrationDataReader):  # type: ignore[misc]
        def __init__(self) -> None:
            self.batches = iter([data[i:i + CALIB_BATCH] for i in range(0, len(data), CALIB_BATCH)])

        def get_next(self) -> Optional[Dict[str, np.ndarray]]:
            batch = next(self.batches, None)
            return None if batch is None else {"input": batch}

    pre = os.path.join(work, "pre.onnx")
    quant_pre_process(src, pre)
    quantize_static(pre, dst, Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QInt8, weight_type=QuantType.QInt8,
                    calibrate_method=CalibrationMethod.MinMax,
                    extra_options={"ActivationSymmetric": True, "WeightSymmetric": True})


def graph_precision(model: Any) -> Dict[str, Any]:
    """What an onnx ModelProto really holds: Q/DQ and Cast nodes, initialisers by element type."""
    import onnx

    ops: Dict[str, int] = {}
    for node in model.graph.node:
        ops[node.op_type] = ops.get(node.op_type, 0) + 1
    inits: Dict[str, int] = {}
    for t in model.graph.initializer:
        name = onnx.TensorProto.DataType.Name(t.data_type).lower()
        inits[name] = inits.get(name, 0) + 1
    return {"nodes": len(model.graph.node), "quantize_linear": ops.get("QuantizeLinear", 0),
            "dequantize_linear": ops.get("DequantizeLinear", 0), "cast": ops.get("Cast", 0),
            "initializers": dict(sorted(inits.items())), "op_types": dict(sorted(ops.items()))}


def ort_cpu_graph(path: str) -> Dict[str, Any]:
    """The graph ONNX Runtime's CPU provider really runs (optimised as the backend does, saved with
    optimized_model_filepath): its op types, initialiser types and how many ops are int8 kernels
    (QLinear*, QGemm...). Where the CPU provider lacks float16 kernels ORT casts to float32 at load."""
    import onnx
    import onnxruntime as ort

    with tempfile.TemporaryDirectory(prefix="edgebench-ortopt-") as tmp:
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.optimized_model_filepath = os.path.join(tmp, "opt.onnx")
        opts.log_severity_level = 3  # ORT warns that the saved graph is machine-specific: it is only read here
        ort.InferenceSession(path, sess_options=opts, providers=["CPUExecutionProvider"])
        opt = graph_precision(onnx.load(opts.optimized_model_filepath))
    ops = opt["op_types"]
    opt["int8_kernels"] = sum(n for op, n in ops.items() if op.startswith("QLinear") or op in INT8_KERNELS)
    # ORT 1.32's CPU provider folds a float16 graph's weights back to float32 (measured: no float16
    # initialiser is left), so on CPU fp16 saves file size and memory traffic at load, not arithmetic.
    opt["float16_kept"] = opt["initializers"].get("float16", 0) > 0
    return opt


def check(fp32_path: str, path: str, precision: str, probe: np.ndarray) -> Dict[str, Any]:
    """Agreement of the derived model with the fp32 ONNX on `probe`; `ok` when within ONNX_TOLERANCES."""
    import onnxruntime as ort

    def run(p: str) -> np.ndarray:
        sess = ort.InferenceSession(p, providers=["CPUExecutionProvider"])
        return np.asarray(sess.run(None, {sess.get_inputs()[0].name: probe})[0], dtype=np.float32)

    got = agreement(run(fp32_path), run(path))
    limits = ONNX_TOLERANCES[precision]
    failed = ["%s=%.4g > %.4g" % (k, got[k], v) for k, v in sorted(limits.items()) if not got[k] <= v]
    out: Dict[str, Any] = {"reference": "onnx fp32", "samples": int(probe.shape[0]), "tolerances": limits,
                           "ok": not failed, "failed": failed}
    out.update(got)
    return out


def _stamp(path: str, precision: str, graph: Dict[str, Any]) -> None:
    """Record the graph's precision in the model's own metadata, which onnxruntime reads without onnx."""
    import onnx

    model = onnx.load(path)
    fields = {"precision": precision, "quantize_linear": graph["quantize_linear"],
              "dequantize_linear": graph["dequantize_linear"], "cast": graph["cast"],
              "float16_initializers": graph["initializers"].get("float16", 0),
              "int8_initializers": graph["initializers"].get("int8", 0)}
    for k, v in fields.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = META + k, str(v)
    onnx.save(model, path)


def export_onnx_precision(model: str, out_dir: str, input_shape: Tuple[int, ...], num_classes: int = 1000,
                          seed: int = 0, precision: str = "int8", opset: int = 17, weights: Optional[str] = None,
                          calib_dir: Optional[str] = None, calib_samples: int = 16, net: Any = None,
                          tolerances: Optional[Dict[str, float]] = None) -> Dict[str, Any]:
    """Write out_dir/model.onnx at fp16 or int8 (from a fresh fp32 export) and its manifest.json.

    Raises ValueError, writing nothing, when the result disagrees with the fp32 ONNX beyond ONNX_TOLERANCES.
    `net` derives from that torch module (e.g. a small CNN trained elsewhere) instead of building `model`;
    `tolerances` replaces ONNX_TOLERANCES[precision] (for measuring them, not for artefacts of the cache).
    """
    import onnx
    import onnxruntime as ort

    from . import export

    if precision not in PRECISIONS:
        raise ValueError("ONNX %r: derived precisions are %s (fp32 is export.export_onnx)"
                         % (precision, "/".join(PRECISIONS)))
    if not os.path.isdir(out_dir):
        os.makedirs(out_dir)
    work = tempfile.mkdtemp(prefix="edgebench-onnx-%s-" % precision)
    try:
        fp32 = export.export_onnx(model, work, input_shape, num_classes, seed, opset, weights, calib_dir, net)
        src = os.path.join(work, "model.onnx")
        path = os.path.join(out_dir, "model.onnx")
        tmp = path + ".tmp"
        t0 = time.monotonic()
        calib = None
        if precision == "fp16":
            to_fp16(src, tmp)
        else:
            data, calib = calibration_data(calib_dir, input_shape, calib_samples, seed)
            to_int8(src, tmp, data, work)
        convert_s = time.monotonic() - t0
        try:
            onnx.checker.check_model(tmp, full_check=True)
            graph = graph_precision(onnx.load(tmp))
            skip = calib["samples"] if calib else 0
            result = check(src, tmp, precision, probe_batch(calib_dir, input_shape, skip, seed))
            if tolerances is not None:
                result["tolerances"] = tolerances
                result["failed"] = ["%s=%.4g > %.4g" % (k, result[k], v) for k, v in sorted(tolerances.items())
                                    if not result[k] <= v]
                result["ok"] = not result["failed"]
            if not result["ok"]:
                raise ValueError("ONNX %s of %s disagrees with its fp32 ONNX on %d probe samples: %s "
                                 "(max_rel_diff %.4g, rms_rel_diff %.4g, top-1 agreement %.3f)"
                                 % (precision, model, result["samples"], "; ".join(result["failed"]),
                                    result["max_rel_diff"], result["rms_rel_diff"], result["top1_agreement"]))
            if precision == "int8" and graph["quantize_linear"] == 0:
                raise ValueError("ONNX int8 of %s holds no QuantizeLinear node: nothing was quantised" % model)
            _stamp(tmp, precision, graph)
            cpu = ort_cpu_graph(tmp)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        os.replace(tmp, path)
        manifest = export._manifest(model, "onnx", path, input_shape, num_classes, seed, fp32["parameters"],
                                    precision)
        for key in ("pruning", "opset", "output_shape"):
            if key in fp32:
                manifest[key] = fp32[key]
        versions = dict(fp32["versions"])
        versions["onnxruntime"] = ort.__version__
        manifest.update({
            "export_s": fp32["export_s"] + convert_s, "convert_s": convert_s, "check": result, "graph": graph,
            "ort_cpu": cpu, "versions": versions,
            "method": ("onnxruntime.transformers.float16.convert_float_to_float16(keep_io_types=True)"
                       if precision == "fp16" else
                       "onnxruntime.quantization.quantize_static(QDQ, per-channel, int8 weights and activations, "
                       "symmetric, MinMax) after quant_pre_process"),
            "derived_from": {"precision": "fp32", "size_bytes": fp32["size_bytes"],
                             "size_mb_decimal": fp32["size_mb_decimal"],
                             "sha256": sha256_file(src), "check": fp32["check"]},
            "size_vs_fp32": manifest["size_bytes"] / float(fp32["size_bytes"]),
        })
        if calib is not None:
            manifest["calibration"] = calib
        write_json(os.path.join(out_dir, "manifest.json"), manifest)
        return manifest
    finally:
        shutil.rmtree(work, ignore_errors=True)
