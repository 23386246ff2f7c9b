"""The `make` dispatcher: one artefact of any format (torch, onnx at fp32/fp16/int8, tflite, edgetpu), the
entry point of `python -m edgebench.suite.artefacts make` and of the host's model cache (cli/artifacts.py)."""

from typing import Any, Dict, Optional, Tuple

from . import export
from .onnx_precision import export_onnx_precision


def make(fmt: str, model: str, out_dir: str, input_shape: Tuple[int, ...], num_classes: int = 1000, seed: int = 0,
         precision: str = "fp32", opset: int = export.DEFAULT_OPSET, calib_dir: Optional[str] = None,
         calib_samples: int = 16, weights: Optional[str] = None) -> Dict[str, Any]:
    """One artefact of any format; the entry point of `python -m edgebench.suite.artefacts make`."""
    if fmt == "torch":
        if precision != "fp32":
            raise ValueError("torch artefacts are fp32 state dicts (the torch backend casts at load)")
        return export.save_torch(model, out_dir, input_shape, num_classes, seed, weights, calib_dir)
    if fmt == "onnx":
        if precision != "fp32":  # fp16/int8 derived from a fresh fp32 export and checked against it
            return export_onnx_precision(model, out_dir, input_shape, num_classes, seed, precision, opset, weights,
                                         calib_dir, calib_samples)
        return export.export_onnx(model, out_dir, input_shape, num_classes, seed, opset, weights, calib_dir)
    if fmt == "tflite":
        return export.export_tflite(model, out_dir, input_shape, num_classes, seed, precision, calib_dir,
                                    calib_samples, weights)
    if fmt == "edgetpu":
        if precision != "int8":
            raise ValueError("the EdgeTPU runs full-integer INT8 models only, not %r" % precision)
        return export.export_edgetpu(model, out_dir, input_shape, num_classes, seed, calib_dir, calib_samples, weights)
    if fmt == "keras":
        if precision != "fp32":
            raise ValueError("keras artefacts are fp32 (the tensorflow backend applies mixed_float16 at load)")
        from .keras_export import export_keras

        return export_keras(model, out_dir, input_shape, num_classes, seed, weights)
    raise ValueError("unknown artefact format %r (torch, onnx, tflite, edgetpu, keras)" % fmt)
