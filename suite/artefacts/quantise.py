"""Checks that a reduced-precision TFLite artefact still computes what its FP32 source computes; the
tolerances and why they are what they are: agreement.TFLITE_TOLERANCES."""

import os
from typing import Any, Dict, Optional, Tuple

import numpy as np

from .agreement import TFLITE_TOLERANCES, agreement

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
    """stats plus ok and what failed, against TFLITE_TOLERANCES[precision]."""
    bounds = TFLITE_TOLERANCES[precision]
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
