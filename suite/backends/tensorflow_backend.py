"""TensorFlow backend: a Keras application (a .keras artefact made from the zoo, or built here with random
BatchNorm-calibrated weights) or a SavedModel folder, run as one compiled `tf.function`.

XLA is off unless the spec sets jit_compile (P3 ran without it). fp16 is Keras' mixed_float16 policy: variables
stay float32, layers compute in float16 (on a CPU too, through TensorFlow's float16 kernels, which are slow
there), the output is cast back to float32 for comparisons. Threads: spec.threads intra-op, 1 inter-op, set
before TensorFlow's runtime starts; the values TensorFlow then reports are what the run records.
Placement "cuda[:N]" asks for /GPU:N with soft placement: without a GPU the ops run on the CPU, and the
output tensor's device (read back after every build) says so: fell_back is True.
"""

import os
from typing import Any, Dict, Optional

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import tensorflow as tf  # noqa: E402  (the log level must be set first)

from .. import placements  # noqa: E402
from ..nets import NetUnavailable, zoo  # noqa: E402
from .base import AnySpec, Backend, BackendUnavailable  # noqa: E402


def _device_kind(name: str) -> str:
    """"cpu" or "cuda" for a TensorFlow device string ("/job:localhost/replica:0/task:0/device:GPU:0")."""
    return "cuda" if ":GPU:" in name.upper() else "cpu"


class TensorflowBackend(Backend):
    name = "tensorflow"
    layout = "NHWC"

    def __init__(self, spec: AnySpec, models_dir: Optional[str] = None) -> None:
        super().__init__(spec, models_dir)
        self.kind = placements.kind(self.spec.placement)
        self.tf_device = "/CPU:0"
        self.model: Any = None
        self.fn: Any = None
        self.source = ""
        self.policy = "float32"
        self.threads: Dict[str, Any] = {}
        self.out_device = ""
        self.out_dtype = ""
        self._last: Any = None

    def versions(self) -> Dict[str, str]:
        out = {"tensorflow": str(tf.__version__)}
        try:
            import keras
            out["keras"] = str(keras.__version__)
        except ImportError:
            pass
        build = tf.sysconfig.get_build_info()
        for key in ("cuda_version", "cudnn_version"):
            if build.get(key):
                out[key.split("_")[0]] = str(build[key])
        return out

    def _set_threads(self) -> None:
        """Intra/inter-op pools are fixed when TensorFlow's runtime starts: set them first, then read back."""
        asked = {"intra_op": self.spec.threads or 0, "inter_op": 1 if self.spec.threads else 0}
        error = ""
        try:
            tf.config.threading.set_intra_op_parallelism_threads(asked["intra_op"])
            tf.config.threading.set_inter_op_parallelism_threads(asked["inter_op"])
        except RuntimeError as e:  # the runtime already started in this process (with other values)
            error = str(e)
        self.threads = {"asked": asked, "intra_op": tf.config.threading.get_intra_op_parallelism_threads(),
                        "inter_op": tf.config.threading.get_inter_op_parallelism_threads(),
                        "note": "0 means TensorFlow's own choice (all cores)"}
        if error:
            self.threads["error"] = error

    def _keras_model(self, path: Optional[str]) -> Any:
        import keras

        if self.spec.model not in zoo.KERAS:
            raise BackendUnavailable("tensorflow runs the zoo's Keras applications (%s), not %r"
                                     % (", ".join(sorted(zoo.KERAS)), self.spec.model))
        if self.spec.precision == "fp16" or not path:
            # mixed_float16 must be the policy while the layers are made: rebuild the architecture, then read
            # the weights of the artefact (or the spec's weights file) into it.
            from ..nets import keras_zoo

            self.source = "keras-zoo" if not (path or self.spec.weights) else "keras-zoo+weights"
            return keras_zoo.build(self.spec.model, tuple(self.spec.input_shape), self.spec.num_classes,
                                   self.spec.seed, path or self.spec.weights)
        if path.endswith(".keras") and int(str(keras.__version__).split(".")[0]) < 3:
            # JetPack 4's TensorFlow 2.7 (Keras 2) cannot read a Keras 3 file: same architecture and seed,
            # calibrated here, so its weights are not the artefact's (the record says so).
            self.source = "keras-zoo (Keras %s cannot read the .keras artefact)" % keras.__version__
            from ..nets import keras_zoo

            return keras_zoo.build(self.spec.model, tuple(self.spec.input_shape), self.spec.num_classes,
                                   self.spec.seed, self.spec.weights)
        self.source = "keras-file"
        return keras.models.load_model(path, compile=False)

    def load(self) -> None:
        if self.spec.precision not in self.precisions:
            raise BackendUnavailable("tensorflow backend runs %s, not %r"
                                     % ("/".join(self.precisions), self.spec.precision))
        if self.kind not in ("cpu", "cuda"):
            raise BackendUnavailable("tensorflow: unknown placement %r; use cpu[:CORES] or cuda[:N]"
                                     % self.spec.placement)
        self._set_threads()
        if self.kind == "cuda":
            tf.config.set_soft_device_placement(True)  # no GPU: TensorFlow runs it on the CPU, flagged below
            index = self.spec.placement.split(":", 1)[1] if ":" in self.spec.placement else "0"
            self.tf_device = "/GPU:%s" % index
        import keras

        path = self.artifact_path()
        saved = bool(path) and os.path.isdir(str(path))
        if saved and self.spec.precision == "fp16":
            raise BackendUnavailable("tensorflow fp16 is Keras' mixed_float16 policy, which a SavedModel's fixed "
                                     "graph cannot take; give a Keras model")
        self.policy = "mixed_float16" if self.spec.precision == "fp16" else "float32"
        keras.mixed_precision.set_global_policy(self.policy)
        try:
            with tf.device(self.tf_device):
                if saved:
                    self.source = "savedmodel"
                    self.model = tf.saved_model.load(str(path))
                    call = self.model.signatures.get("serving_default") if hasattr(self.model, "signatures") \
                        else None
                    fn = call if call is not None else self.model
                else:
                    self.model = self._keras_model(path)
                    fn = self.model
        except (NetUnavailable, ValueError, OSError) as e:
            raise BackendUnavailable("tensorflow could not load %s: %s" % (path or self.spec.model, e)) from e
        finally:
            keras.mixed_precision.set_global_policy("float32")  # the policy only shapes layers made under it
        try:
            self.fn = tf.function(self._caller(fn), jit_compile=bool(self.spec.jit_compile), reduce_retracing=True)
        except TypeError:  # TensorFlow < 2.9 (JetPack 4's 2.7) names it experimental_relax_shapes
            self.fn = tf.function(self._caller(fn), jit_compile=bool(self.spec.jit_compile),
                                  experimental_relax_shapes=True)

    @staticmethod
    def _caller(fn: Any) -> Any:
        def call(x: Any) -> Any:
            out = fn(x) if not hasattr(fn, "layers") else fn(x, training=False)
            if isinstance(out, dict):  # a SavedModel signature answers {name: tensor}
                out = out[sorted(out)[0]]
            return out
        return call

    def build(self) -> None:
        """Trace the graph for this batch shape (and, with jit_compile, let XLA compile it): one call."""
        c, h, w = self.spec.input_shape
        x = np.zeros((self.spec.batch_size, h, w, c), dtype=np.float32)
        self.infer(x)
        self.synchronize()

    def runtime_object(self) -> Any:
        return self.fn

    def infer(self, batch: np.ndarray) -> Any:
        assert self.fn is not None, "load() first"
        with tf.device(self.tf_device):
            out = self.fn(tf.constant(batch))
        if not self.out_device:
            self.out_device, self.out_dtype = str(out.device), out.dtype.name
        self._last = out
        return out

    def synchronize(self) -> None:
        # CPU kernels run before the call returns; on a GPU wait for every queued kernel.
        if self._last is not None and _device_kind(self.out_device) == "cuda":
            sync = getattr(getattr(tf.test, "experimental", None), "sync_devices", None)
            if sync is not None:
                sync()
            else:  # TensorFlow < 2.13: reading the last result back waits for the kernels that made it
                self._last.numpy()

    def placement(self) -> Dict[str, Any]:
        actual = _device_kind(self.out_device) if self.out_device else "unloaded"
        out: Dict[str, Any] = {"requested": self.spec.placement, "actual": actual,
                               "fell_back": actual != "unloaded" and actual != self.kind,
                               "device": self.out_device or None,
                               "gpus_visible": [d.name for d in tf.config.list_physical_devices("GPU")]}
        if out["fell_back"]:
            out["fell_back_reason"] = "TensorFlow sees no GPU (%s asked); the ops ran on the CPU" % self.tf_device
        out["tensorflow"] = {"source": self.source, "jit_compile": bool(self.spec.jit_compile),
                             "policy": self.policy, "output_dtype": self.out_dtype or None, "threads": self.threads}
        return out

    def is_oom(self, exc: BaseException) -> bool:
        return isinstance(exc, (MemoryError, tf.errors.ResourceExhaustedError)) or \
            "out of memory" in str(exc).lower()

    def output(self, batch: np.ndarray) -> np.ndarray:
        return np.asarray(self.infer(batch).numpy(), dtype=np.float32)
