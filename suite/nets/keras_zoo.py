"""Keras applications (the P1 models) with random, BatchNorm-calibrated weights, and their TFLite
conversions at FP32, FP16 (weights stored as float16) and INT8 (full-integer post-training quantisation,
int8 input and output, as the EdgeTPU compiler requires).

Needs TensorFlow (tensorflow or tensorflow-cpu); imported lazily, only on the host that makes artefacts.
"""

import logging
import os
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import numpy as np

from . import zoo

log = logging.getLogger(__name__)


def _tf() -> Any:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    return tf


def build(model: str, input_shape: Tuple[int, ...], num_classes: int = 1000, seed: int = 0,
          weights: Optional[str] = None) -> Any:
    """The Keras application `model` (a zoo.KERAS name) emitting logits, NHWC input of `input_shape` (C, H, W).

    Random weights with BatchNorm statistics measured on random input (as export.calibrated_model does
    for torch), unless `weights` names a Keras weights file.
    """
    tf = _tf()
    import keras

    if model not in zoo.KERAS:
        raise ValueError("no Keras application for %r; known: %s" % (model, ", ".join(sorted(zoo.KERAS))))
    cls_name = zoo.KERAS[model][0]
    c, h, w = input_shape
    if hasattr(keras.utils, "set_random_seed"):
        keras.utils.set_random_seed(seed)
    else:  # Keras < 2.7 (JetPack 4's TensorFlow 2.5): the three generators it seeds
        import random

        random.seed(seed)
        np.random.seed(seed)
        tf.random.set_seed(seed)
    kwargs = {"weights": None, "classes": num_classes, "input_shape": (h, w, c), "classifier_activation": None}
    if cls_name.startswith("MobileNetV3"):
        kwargs["include_preprocessing"] = False  # inputs are already ImageNet-normalised floats
    net = getattr(keras.applications, cls_name)(**kwargs)
    if weights:
        net.load_weights(weights)
        return net
    bns = [layer for layer in net.layers if isinstance(layer, keras.layers.BatchNormalization)]
    if bns:
        for layer in bns:
            layer.momentum = 0.0  # the moving statistics become those of the calibration batch
        x = np.random.RandomState(seed + 1).standard_normal((8, h, w, c)).astype(np.float32)
        net(tf.constant(x), training=True)
    return net


def keras_preprocessing(net: Any) -> List[str]:
    """Names of preprocessing layers built into the model (EfficientNet rescales and normalises inside)."""
    import keras

    kinds = (keras.layers.Rescaling, keras.layers.Normalization)
    return [layer.name for layer in net.layers if isinstance(layer, kinds)]


def representative(calib_dir: Optional[str], input_shape: Tuple[int, ...], samples: int,
                   seed: int = 0) -> Tuple[Callable[[], Iterator[List[np.ndarray]]], Dict[str, Any]]:
    """A representative-data generator for INT8 calibration (NHWC, batch 1) and a record of its source."""
    from .. import inputs

    if calib_dir:
        paths = inputs.list_images(calib_dir)[:samples]
        data = [inputs.load_image(p, input_shape).transpose(1, 2, 0)[None].astype(np.float32) for p in paths]
        info: Dict[str, Any] = {"source": "folder", "dir": os.path.abspath(calib_dir), "samples": len(data)}
    else:
        c, h, w = input_shape
        rng = np.random.RandomState(seed + 2)
        data = [rng.standard_normal((1, h, w, c)).astype(np.float32) for _ in range(samples)]
        info = {"source": "synthetic", "samples": samples,
                "warning": "INT8 calibrated on synthetic standard-normal input, not real images: ranges fit "
                           "synthetic benchmarks, not accuracy on real data (give a calibration image folder)"}
        log.warning(info["warning"])

    def gen() -> Iterator[List[np.ndarray]]:
        for x in data:
            yield [x]

    return gen, info


def convert(net: Any, precision: str, rep: Optional[Callable[[], Iterator[List[np.ndarray]]]] = None) -> bytes:
    """TFLite flatbuffer of a Keras model at fp32, fp16 or int8 (int8 needs `rep`)."""
    tf = _tf()
    conv = tf.lite.TFLiteConverter.from_keras_model(net)
    if precision == "fp16":
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
        conv.target_spec.supported_types = [tf.float16]
    elif precision == "int8":
        if rep is None:
            raise ValueError("INT8 conversion needs representative data")
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
        conv.representative_dataset = rep
        conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        conv.inference_input_type = tf.int8
        conv.inference_output_type = tf.int8
    elif precision != "fp32":
        raise ValueError("TFLite precision must be fp32, fp16 or int8, got %r" % precision)
    return conv.convert()


def versions() -> Dict[str, str]:
    tf = _tf()
    import keras

    return {"tensorflow": tf.__version__, "keras": keras.__version__}
