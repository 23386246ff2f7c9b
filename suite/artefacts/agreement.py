"""How closely one model's outputs follow another's, and the tolerances every artefact check holds to.

One place for them: export (torch -> ONNX, torch state dicts), torch2keras (torch -> Keras), pruning (a
pruned artefact loaded back), quantise (TFLite fp32/fp16/int8 vs Keras) and onnx_precision (ONNX fp16/int8 vs
the fp32 ONNX) all compare with agreement() and read their limits here. numpy only.

TFLite tolerances (TFLITE_TOLERANCES; outputs of the same 8-sample batch, relative to the reference's
scale; see agreement()):
- fp32: max |diff| / max |ref| <= 1e-4 (conversion only reorders float arithmetic).
- fp16: weights stored as float16 (relative rounding 2**-11 ~ 4.9e-4 per weight): RMS error of the logits
  <= 3e-2 of their RMS and max error <= 5e-2 of the largest logit (measured on random-weight P1 models:
  0.002-0.012 RMS; deep random nets amplify rounding more than trained ones).
- int8: full-integer PTQ: RMS error <= 0.35 of the logits' RMS (measured 0.13-0.21 on random-weight
  MobileNetV2/V3-Small, DenseNet121, EfficientNetB0 with synthetic calibration). Top-1 agreement is
  reported, not bounded, here: on random weights the logits of different classes are near ties, so a
  small error flips the argmax; the accuracy test on a trained model (digits) bounds what matters, the accuracy drop.
"""

from typing import Dict

import numpy as np

# float32 exports (torch -> ONNX, torch -> Keras, a pruned net loaded back) agree with torch to ~1e-6 of the
# output scale; 1e-4 leaves room for kernel order. torch2keras, measured on every zoo.TORCHVISION net at its
# default shape (benchmarks/torch2keras_all.py): inception_v3 4.2e-5, resnet50 1.7e-5, all others <= 7e-6
# (float32 summation order differs between oneDNN and TF).
RTOL = 1e-4

TFLITE_TOLERANCES: Dict[str, Dict[str, float]] = {
    "fp32": {"max_rel_diff": 1e-4},
    "fp16": {"max_rel_diff": 5e-2, "rms_rel_diff": 3e-2},
    "int8": {"rms_rel_diff": 0.35},
}

# Each derived model's output vs the fp32 ONNX on the probe batch (agreement()): the largest and the
# RMS error, both relative to the fp32 output's scale. Measured with benchmarks/onnx_precision.py (random
# calibrated weights, synthetic calibration, default input shapes) on alexnet, squeezenet1_0/1_1, resnet18/50,
# densenet121/169, vgg16, inception_v3, mobilenet_v2, mobilenet_v3_small/large, efficientnet_b0/b1/b3, the worst
# were fp16 max 0.045 / RMS 0.042 (inception_v3; resnet50 0.028 / 0.021, most others < 0.01) and int8 max
# 0.38 / RMS 0.36 (efficientnet_b0; mobilenet_v2/v3 and inception_v3 0.24-0.30). Random nets are chaotic:
# rounding only inception_v3's weights to float16 with float32 arithmetic gives the same 0.042, and rounding
# only its input 0.017, so these figures are the nets' sensitivity, not conversion faults; trained weights do
# far better (the digits CNN: fp16 ~1e-3). The limits sit ~2x above the worst: a broken conversion (a wrong
# scale, a lost layer, an overflow to inf/NaN) drives the RMS error towards 1 (uncorrelated outputs ~1.4) and
# fails. Top-1 agreement is recorded, not limited: random weights on synthetic input give near ties (int8:
# 0.375-1.0 of 8 samples), so top-1 is tested on real data (digits, tests/integration/test_models_onnx_precision).
ONNX_TOLERANCES: Dict[str, Dict[str, float]] = {
    "fp16": {"max_rel_diff": 0.1, "rms_rel_diff": 0.1},
    "int8": {"max_rel_diff": 0.8, "rms_rel_diff": 0.6},
}


def agreement(ref: np.ndarray, got: np.ndarray) -> Dict[str, float]:
    """How closely `got` follows `ref` (outputs of one batch): relative max and RMS error, top-1 agreement."""
    ref = ref.astype(np.float64).reshape(ref.shape[0], -1)
    got = got.astype(np.float64).reshape(got.shape[0], -1)
    scale = max(float(np.max(np.abs(ref))), 1e-12)
    return {"max_rel_diff": float(np.max(np.abs(got - ref)) / scale),
            "rms_rel_diff": float(np.sqrt(np.mean((got - ref) ** 2)) / max(float(np.sqrt(np.mean(ref ** 2))), 1e-12)),
            "top1_agreement": float(np.mean(np.argmax(got, 1) == np.argmax(ref, 1)))}
