"""The five CPU runtimes here on the same two nets: load time and steady-state latency (as ratios to torch),
and each runtime's import time in a fresh process.

Nets (resnet18 and mobilenet_v2, batch 1, 224x224, random weights), each runtime's own or closest definition:
torch and onnxruntime: torchvision's (ONNX: its export); tflite (LiteRT): resnet18 from torchvision through
torch2keras, mobilenet_v2 from Keras applications, as campaigns make them; tensorflow: the same Keras
models as one tf.function (XLA off), built with plain Keras in the worker (no tensorflow backend on this
branch); mxnet: Gluon resnet18_v1 and mobilenetv2_1.0 through the mxnet backend, in .venv-mxnet.

One persistent worker process per runtime (the runtime imported once, before any timing). A round visits
the runtimes in rotated order; each visit loads both nets afresh (load = construct + load + build, before
the first inference), warms up, and times --n inferences; per round each figure is divided by torch's of
the same round, and we report the median over rounds of those ratios (and the median absolute values).
Import time: per round and runtime a fresh interpreter imports it (numpy imported before the clock starts).
Every runtime gets --threads intra-op threads.

    .venv/bin/python benchmarks/runtimes.py [--rounds 5] [--n 30] [--threads 1] [--json out.json]
"""

import argparse
import importlib
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Optional

ROOT = Path(__file__).resolve().parent.parent
MXNET_PY = ROOT / ".venv-mxnet" / "bin" / "python"
RUNTIMES = ("torch", "onnxruntime", "tflite", "tensorflow", "mxnet")
MODELS = ("resnet18", "mobilenet_v2")
SHAPE = (3, 224, 224)
REPLY = "@@bench "  # worker replies start with this; anything else on stdout is a runtime's chatter
IMPORTS = {"torch": "import torch", "onnxruntime": "import onnxruntime", "tensorflow": "import tensorflow",
           "tflite": "from ai_edge_litert import interpreter", "mxnet": "import mxnet"}


# ---- worker side (runs in the runtime's interpreter; imports the suite only, never the host CLI) ----------

class SuiteNet:
    """A net through the suite's backend for `framework` (torch, onnxruntime, tflite, mxnet)."""

    def __init__(self, framework: str, model: str, artifact: Optional[str], models_dir: str, threads: int) -> None:
        from edgebench.suite import backends, inputs
        from edgebench.suite.spec import StreamSpec

        spec = StreamSpec(model=model, framework=framework, input_shape=SHAPE, threads=threads, artifact=artifact)
        self.backend = backends.get(framework)(spec, models_dir)
        self.backend.load()
        self.backend.build()
        self.batch = inputs.synthetic(1, SHAPE, self.backend.layout, 0)

    def once(self) -> float:
        return self.backend.time_one(self.batch)


class KerasNet:
    """A Keras model as one tf.function (XLA off), from the .keras file the worker made at start."""

    def __init__(self, path: str) -> None:
        import keras
        import numpy as np
        import tensorflow as tf

        model = keras.saving.load_model(path, compile=False)
        self.fn = tf.function(lambda x: model(x, training=False), jit_compile=False)
        c, h, w = SHAPE
        self.x = tf.constant(np.random.RandomState(0).rand(1, h, w, c).astype(np.float32))

    def once(self) -> float:
        t0 = time.perf_counter()
        self.fn(self.x).numpy()  # .numpy() waits for the result
        return time.perf_counter() - t0


def _keras_files(models_dir: str) -> dict[str, str]:
    """resnet18 (torchvision through torch2keras) and mobilenet_v2 (Keras applications) saved as .keras."""
    out = {}
    for model in MODELS:
        path = os.path.join(models_dir, "bench-runtimes-%s.keras" % model)
        if not os.path.exists(path):
            if model == "resnet18":
                import torchvision
                from edgebench.suite.artefacts import torch2keras

                net = torch2keras.convert(torchvision.models.resnet18(num_classes=1000), SHAPE)
            else:
                from edgebench.suite.nets import keras_zoo

                net = keras_zoo.build(model, SHAPE)
            net.save(path)
        out[model] = path
    return out


def worker(framework: str, models_dir: str, threads: int, artifacts: dict[str, Optional[str]]) -> None:
    os.environ["OMP_NUM_THREADS"] = str(threads)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    keras_files: dict[str, str] = {}
    if framework == "tensorflow":
        importlib.import_module("torchvision")  # before TensorFlow: tests/conftest.py, the other order segfaults
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(threads)  # before TensorFlow runs anything
        tf.config.threading.set_inter_op_parallelism_threads(1)
        keras_files = _keras_files(models_dir)
    elif framework == "mxnet":
        os.environ["OMP_NUM_THREADS"] = str(threads)
        import mxnet  # noqa: F401  (the import is not part of any timed load)
    else:
        from edgebench.suite import backends

        backends.get(framework)
    print(REPLY + json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        req = json.loads(line)
        model, n = req["model"], int(req["n"])
        t0 = time.perf_counter()
        net: Any = KerasNet(keras_files[model]) if framework == "tensorflow" else \
            SuiteNet(framework, model, artifacts.get(model), models_dir, threads)
        load_s = time.perf_counter() - t0
        for _ in range(3):
            net.once()
        lat = sorted(net.once() for _ in range(n))
        print(REPLY + json.dumps({"load_s": load_s, "p50_s": statistics.median(lat)}), flush=True)
        del net


# ---- parent side ------------------------------------------------------------------------------------------

class Worker:
    def __init__(self, framework: str, python: str, models_dir: Path, threads: int,
                 artifacts: dict[str, Optional[str]]) -> None:
        env = dict(os.environ, PYTHONPATH=str(ROOT / "benchmarks"))
        cmd = [python, str(Path(__file__).resolve()), "--worker", framework, "--models", str(models_dir),
               "--threads", str(threads), "--artifacts", json.dumps(artifacts)]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
        self.framework = framework
        self.read()

    def read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith(REPLY):
                return dict(json.loads(line[len(REPLY):]))
        raise RuntimeError("worker %s ended (exit %s)" % (self.framework, self.proc.wait()))

    def ask(self, model: str, n: int) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"model": model, "n": n}) + "\n")
        self.proc.stdin.flush()
        return self.read()

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait(timeout=60)


def _artifacts(models_dir: Path) -> dict[str, dict[str, Optional[str]]]:
    """The artefacts campaigns would make for each (runtime, model), made or found in the cache."""
    from edgebench.cli import artifacts

    out: dict[str, dict[str, Optional[str]]] = {fw: {m: None for m in MODELS} for fw in RUNTIMES}
    for fw, fmt in (("torch", "torch"), ("onnxruntime", "onnx"), ("tflite", "tflite")):
        for model in MODELS:
            art = artifacts.Artifact(fmt, model, SHAPE, 1000, 0)
            artifacts.ensure(art, models_dir)
            out[fw][model] = art.relpath
    return out


def import_times(python: dict[str, str], rounds: int) -> dict[str, float]:
    """Median seconds of `import RUNTIME` in a fresh interpreter, rounds interleaved."""
    got: dict[str, list[float]] = {fw: [] for fw in RUNTIMES}
    for r in range(rounds):
        order = RUNTIMES[r % len(RUNTIMES):] + RUNTIMES[:r % len(RUNTIMES)]
        for fw in order:
            code = "import time, numpy; t = time.perf_counter(); %s; print(time.perf_counter() - t)" % IMPORTS[fw]
            env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
            out = subprocess.run([python[fw], "-c", code], capture_output=True, text=True, env=env, check=True)
            got[fw].append(float(out.stdout.strip().splitlines()[-1]))
    return {fw: statistics.median(v) for fw, v in got.items()}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--n", type=int, default=30)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--models", default=None, help="models folder (default: the host's model cache)")
    ap.add_argument("--json", default=None, help="write the figures here too")
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--artifacts", default="{}", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(args.worker, args.models, args.threads, json.loads(args.artifacts))
        return 0
    from edgebench.cli import artifacts

    if not os.access(MXNET_PY, os.X_OK):
        print("no %s: make mxnet-env" % MXNET_PY, file=sys.stderr)
        return 2
    models_dir = Path(args.models) if args.models else artifacts.DEFAULT_DIR
    models_dir.mkdir(parents=True, exist_ok=True)
    python = {fw: sys.executable for fw in RUNTIMES}
    python["mxnet"] = str(MXNET_PY)
    arts = _artifacts(models_dir)
    workers = {fw: Worker(fw, python[fw], models_dir, args.threads, arts[fw]) for fw in RUNTIMES}
    raw: dict[tuple[str, str], dict[str, list[float]]] = {
        (fw, m): {"load_s": [], "p50_s": [], "load_ratio": [], "p50_ratio": []} for fw in RUNTIMES for m in MODELS}
    try:
        for r in range(args.rounds):
            order = RUNTIMES[r % len(RUNTIMES):] + RUNTIMES[:r % len(RUNTIMES)]
            this: dict[tuple[str, str], dict[str, Any]] = {}
            for fw in order:
                for m in MODELS:
                    this[(fw, m)] = workers[fw].ask(m, args.n)
            for (fw, m), got in this.items():
                base = this[("torch", m)]
                raw[(fw, m)]["load_s"].append(got["load_s"])
                raw[(fw, m)]["p50_s"].append(got["p50_s"])
                raw[(fw, m)]["load_ratio"].append(got["load_s"] / base["load_s"])
                raw[(fw, m)]["p50_ratio"].append(got["p50_s"] / base["p50_s"])
            print("round %d/%d done" % (r + 1, args.rounds), file=sys.stderr)
    finally:
        for w in workers.values():
            w.close()
    imports = import_times(python, args.rounds)
    rows = [{"runtime": fw, "model": m, **{k: statistics.median(v) for k, v in raw[(fw, m)].items()}}
            for m in MODELS for fw in RUNTIMES]
    print("%-12s %-13s %9s %9s %11s %10s" % ("runtime", "model", "load ms", "p50 ms", "load/torch", "p50/torch"))
    for row in rows:
        print("%-12s %-13s %9.1f %9.2f %11.2f %10.2f" % (row["runtime"], row["model"], row["load_s"] * 1e3,
                                                          row["p50_s"] * 1e3, row["load_ratio"], row["p50_ratio"]))
    print("\nimport time (fresh process, median of %d): %s" % (args.rounds, ", ".join(
        "%s %.2f s" % (fw, imports[fw]) for fw in RUNTIMES)))
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows, "import_s": imports, "rounds": args.rounds, "n": args.n,
                                               "threads": args.threads}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
