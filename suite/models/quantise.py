"""Checks that a reduced-precision artefact still computes what its FP32 source computes.

Tolerances (outputs of the same 8-sample batch, relative to the reference's scale; see agreement()):
- fp32: max |diff| / max |ref| <= 1e-4 (conversion only reorders float arithmetic).
- fp16: weights stored as float16 (relative rounding 2**-11 ~ 4.9e-4 per weight): RMS error of the logits
  <= 3e-2 of their RMS and max error <= 5e-2 of the largest logit (measured on random-weight P1 models:
  0.002-0.012 RMS; deep random nets amplify rounding more than trained ones).
- int8: full-integer PTQ: RMS error <= 0.35 of the logits' RMS (measured 0.13-0.21 on random-weight
  MobileNetV2/V3-Small, DenseNet121, EfficientNetB0 with synthetic calibration). Top-1 agreement is
  reported, not bounded, here: on random weights the logits of different classes are near ties, so a
  small error flips the argmax; the accuracy test on a trained model (digits) bounds what matters, the accuracy drop.
"""

import os
from typing import Any, Dict, Optional, Tuple

import numpy as np

from .export import agreement

TOLERANCE: Dict[str, Dict[str, float]] = {
    "fp32": {"max_rel_diff": 1e-4},
    "fp16": {"max_rel_diff": 5e-2, "rms_rel_diff": 3e-2},
    "int8": {"rms_rel_diff": 0.35},
}
CHECK_BATCH = 8


def check_batch(input_shape: Tuple[int, ...], seed: int, calib_dir: Optional[str] = None) -> np.ndarray:
    """NCHW float32 batch the checks run on: images after the calibration ones, else synthetic."""
    from .. import inputs

    if calib_dir:
        paths = inputs.list_images(calib_dir)
        if len(paths) > 16:
            paths = paths[16:]
        return np.stack([inputs.load_image(paths[i % len(paths)], input_shape) for i in range(CHECK_BATCH)])
    return inputs.synthetic(CHECK_BATCH, input_shape, "NCHW", seed + 3)


def run_tflite(path: str, batch_nchw: np.ndarray, threads: Optional[int] = None) -> np.ndarray:
    """Outputs of a .tflite file through the suite's own TFLite backend (quantisation of int8 I/O included)."""
    from ..backends.tflite_backend import TfliteBackend
    from ..spec import RunSpec

    shape = tuple(int(v) for v in batch_nchw.shape[1:])
    spec = RunSpec(model="check", framework="tflite", batch_size=int(batch_nchw.shape[0]), input_shape=shape,
                   artifact=os.path.abspath(path), threads=threads)
    backend = TfliteBackend(spec)
    backend.load()
    return backend.output(np.ascontiguousarray(batch_nchw.transpose(0, 2, 3, 1)))


def within(stats: Dict[str, float], precision: str) -> Dict[str, Any]:
    """stats plus ok and what failed, against TOLERANCE[precision]."""
    bounds = TOLERANCE[precision]
    failed = ["%s %.3g > %.3g" % (k, stats[k], v) for k, v in sorted(bounds.items()) if stats[k] > v]
    out: Dict[str, Any] = dict(stats)
    out.update({"tolerance": bounds, "ok": not failed, "failed": "; ".join(failed)})
    return out


def check_tflite(keras_net: Any, path: str, input_shape: Tuple[int, ...], precision: str, seed: int = 0,
                 calib_dir: Optional[str] = None) -> Dict[str, Any]:
    """Compare a .tflite file with the Keras model it came from on one batch."""
    batch = check_batch(input_shape, seed, calib_dir).astype(np.float32)
    ref = np.asarray(keras_net(batch.transpose(0, 2, 3, 1), training=False))
    got = run_tflite(path, batch)
    out = within(agreement(ref, got), precision)
    out.update({"reference": "keras fp32", "batch": CHECK_BATCH, "input": "images" if calib_dir else "synthetic"})
    return out
