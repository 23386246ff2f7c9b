"""The `keras` artefact: a Keras application with random BatchNorm-calibrated weights (or a local weights
file) saved as a Keras v3 .keras file, which the tensorflow backend loads. The same build (model, shape,
classes, seed) is what the TFLite artefacts are converted from, so both runtimes see the same weights."""

import os
import time
from typing import Any, Dict, Optional, Tuple

import numpy as np

from ..fsutil import write_json
from ..nets import zoo
from .export import _manifest


def export_keras(model: str, out_dir: str, input_shape: Tuple[int, ...], num_classes: int = 1000, seed: int = 0,
                 weights: Optional[str] = None) -> Dict[str, Any]:
    """Write out_dir/model.keras and its manifest; the reloaded file must give the built model's outputs."""
    import keras

    from ..nets import keras_zoo

    if model not in zoo.KERAS:
        raise ValueError("no Keras application for %r; known: %s" % (model, ", ".join(sorted(zoo.KERAS))))
    if not os.path.isdir(out_dir):
        os.makedirs(out_dir)
    net = keras_zoo.build(model, input_shape, num_classes, seed, weights)
    path = os.path.join(out_dir, "model.keras")
    tmp = os.path.join(out_dir, "tmp.model.keras")  # Keras insists on the .keras suffix
    t0 = time.monotonic()
    net.save(tmp)
    export_s = time.monotonic() - t0
    c, h, w = input_shape
    x = np.random.RandomState(seed + 3).standard_normal((2, h, w, c)).astype(np.float32)
    again = keras.models.load_model(tmp, compile=False)
    diff = float(np.max(np.abs(np.asarray(net(x, training=False)) - np.asarray(again(x, training=False)))))
    if diff != 0.0:  # the same graph and weights: anything but identical is a broken file
        os.unlink(tmp)
        raise ValueError("the saved %s.keras reloads with different outputs (max |diff| %g)" % (model, diff))
    os.replace(tmp, path)
    manifest = _manifest(model, "keras", path, input_shape, num_classes, seed, int(net.count_params()))
    manifest.update({"export_s": export_s, "layout": "NHWC", "versions": keras_zoo.versions(),
                     "source": "keras.applications.%s" % zoo.KERAS[model][0],
                     "preprocessing_layers": keras_zoo.keras_preprocessing(net),
                     "check": {"reload_max_abs_diff": diff},
                     "output_shape": [int(v) for v in net.output_shape[1:]]})
    write_json(os.path.join(out_dir, "manifest.json"), manifest)
    return manifest
