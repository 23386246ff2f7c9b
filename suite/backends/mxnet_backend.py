"""MXNet backend: Gluon model-zoo nets (nets/gluon_zoo.py), hybridised by default, on a CPU or GPU context.

MXNet 1.9.1 is the last release (the project is in the Apache Attic) and needs numpy < 1.24: it runs in its
own image or interpreter (`make mxnet-env`), never beside the other runtimes. Its engine is asynchronous, so
every clock read waits for the output (wait_to_read) and synchronize() waits for all work (waitall).
Settings MXNet reads once, at import (OMP_NUM_THREADS, MXNET_CUDNN_AUTOTUNE_DEFAULT), are set before mxnet is
imported and recorded with the placement; in a process that imported it already they are recorded as not
applied.
"""

import importlib.util
import os
import sys
from typing import Any, Dict, Optional, Tuple

import numpy as np

from ..nets import NetUnavailable, gluon_zoo
from .base import AnySpec, Backend, BackendUnavailable

if importlib.util.find_spec("mxnet") is None:  # backends.get turns this into "its runtime is not installed here"
    raise ImportError("No module named 'mxnet'")

# Environment MXNet reads at import, recorded for every run (unset: MXNet's own default).
_RECORDED_ENV = ("OMP_NUM_THREADS", "MXNET_CPU_WORKER_NTHREADS", "MXNET_ENGINE_TYPE", "MXNET_CUDNN_AUTOTUNE_DEFAULT",
                 "MXNET_USE_OPERATOR_TUNING", "MXNET_MKLDNN_ENABLED")


def _wanted_env(spec: Any) -> Dict[str, str]:
    env: Dict[str, str] = {}
    if spec.threads:
        env["OMP_NUM_THREADS"] = str(spec.threads)
    if spec.cudnn_autotune is not None:
        env["MXNET_CUDNN_AUTOTUNE_DEFAULT"] = "1" if spec.cudnn_autotune else "0"
    return env


def _import(env: Dict[str, str]) -> Tuple[Any, Dict[str, str]]:
    """mxnet, imported after `env` is set; and the settings that could not apply (mxnet was already imported
    with other values) with why."""
    missed: Dict[str, str] = {}
    if "mxnet" in sys.modules:
        for k, v in env.items():
            if os.environ.get(k) != v:
                missed[k] = "mxnet was imported before this run set %s=%s (it has %r)" % (k, v, os.environ.get(k))
    else:
        os.environ.update(env)
    import mxnet

    return mxnet, missed


class MxnetBackend(Backend):
    name = "mxnet"

    def __init__(self, spec: AnySpec, models_dir: Optional[str] = None) -> None:
        super().__init__(spec, models_dir)
        # Imported here, in the run's import phase, with the settings MXNet reads only at import already set.
        self.mx, self.missed = _import(_wanted_env(self.spec))
        self.net: Any = None
        self.ctx: Any = None
        self.dtype = "float16" if self.spec.precision == "fp16" else "float32"
        self.fell_back = ""  # why a GPU request runs on the CPU
        self.settings: Dict[str, Any] = {}

    def versions(self) -> Dict[str, str]:
        out = {"mxnet": str(self.mx.__version__), "numpy": str(np.__version__)}
        feats = self.mx.runtime.Features()
        out["mxnet_features"] = ",".join(f for f in ("CUDA", "CUDNN", "MKLDNN", "OPENMP", "TENSORRT")
                                         if feats.is_enabled(f))
        return out

    def load(self) -> None:
        if self.spec.precision not in self.precisions:
            raise BackendUnavailable("mxnet backend runs %s, not %r" % ("/".join(self.precisions), self.spec.precision))
        self.ctx = self._context()
        if self.dtype == "float16" and self.ctx.device_type != "gpu":
            raise BackendUnavailable("mxnet runs fp16 on a GPU context only (its CPU float16 kernels are reference "
                                     "code, not what P2 measured); this run is on %s%s"
                                     % (self.ctx, " (%s)" % self.fell_back if self.fell_back else ""))
        weights = self.spec.weights
        if weights and self.models_dir and not os.path.isabs(weights):
            weights = os.path.join(self.models_dir, weights)
        try:
            net = gluon_zoo.build(self.spec.model, self.spec.num_classes, self.ctx, self.spec.seed, weights)
        except NetUnavailable as e:
            raise BackendUnavailable(str(e)) from e
        if self.dtype == "float16":
            net.cast("float16")
        if self.spec.hybridize:  # a static graph with memory planned once (P2 ran hybridised nets)
            net.hybridize(static_alloc=True, static_shape=True)
        self.net = net
        self.settings = {
            "hybridized": bool(self.spec.hybridize),
            "static_alloc": bool(self.spec.hybridize),
            "cudnn_autotune": self.spec.cudnn_autotune,
            "env": {k: os.environ.get(k) for k in _RECORDED_ENV},  # None: unset, MXNet's default
            "not_applied": self.missed,
            "threads_scope": "process (OMP_NUM_THREADS, read when mxnet is imported)",
            "gluon": gluon_zoo.gluon_name(self.spec.model),
            "dtype": self.dtype,
        }
        self.mx.nd.waitall()

    def _context(self) -> Any:
        mx = self.mx
        place = self.spec.placement
        if not place.startswith("cuda"):
            return mx.cpu()
        index = int(place.split(":", 1)[1]) if ":" in place else 0
        gpus = mx.context.num_gpus()  # 0 on a CPU-only build of mxnet as well as on a host without a GPU
        if index < gpus:
            return mx.gpu(index)
        built = mx.runtime.Features().is_enabled("CUDA")
        self.fell_back = "placement %r asked, but %s" % (
            place, "mxnet sees %d GPU(s)" % gpus if built else "this mxnet is built without CUDA")
        return mx.cpu()

    def runtime_object(self) -> Any:
        return self.net

    def infer(self, batch: np.ndarray) -> Any:
        """One inference, host-to-device copy included, waited for: MXNet's engine returns before it computes."""
        assert self.net is not None, "load() first"
        out = self.net(self.mx.nd.array(batch, ctx=self.ctx, dtype=self.dtype))
        out.wait_to_read()
        return out

    def synchronize(self) -> None:
        self.mx.nd.waitall()

    def placement(self) -> Dict[str, Any]:
        actual = "unloaded" if self.ctx is None else ("cuda:%d" % self.ctx.device_id if self.ctx.device_type == "gpu"
                                                      else "cpu")
        out: Dict[str, Any] = {"requested": self.spec.placement, "actual": actual, "fell_back": bool(self.fell_back)}
        if self.fell_back:
            out["reason"] = self.fell_back
        if self.ctx is not None:
            out["context"] = str(self.ctx)
        if self.settings:
            out["mxnet"] = dict(self.settings)
        return out

    def is_oom(self, exc: BaseException) -> bool:
        text = str(exc).lower()
        return isinstance(exc, MemoryError) or "out of memory" in text or "std::bad_alloc" in text

    def output(self, batch: np.ndarray) -> np.ndarray:
        return np.asarray(self.infer(batch).asnumpy(), dtype=np.float32)
