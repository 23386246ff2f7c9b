"""The tensorflow backend's start-up and steady state on this host: import time of TensorFlow in a fresh process,
then per model (Keras MobileNetV2 and ResNet50, 224x224, batch 1, .keras artefacts from the model cache) the
backend's load (read the file, make the tf.function), build (trace, and compile with XLA when asked) and the
p50 of timed inferences, at fp32, fp32 with jit_compile and fp16 (mixed_float16).

Every measurement is a fresh child process (TensorFlow fixes its thread pools at start-up), run with the same
thread count; rounds interleave the configurations so drift of this shared machine hits all alike. Figures are
medians over rounds; each configuration's p50 is also given as a ratio to the fp32 p50 of the same model in the
same round (median of the per-round ratios).

    .venv/bin/python benchmarks/tensorflow_backend.py [--rounds 3] [--threads 2] [--iterations 30] [--json]
"""

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

from edgebench.cli import artifacts

CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
import tensorflow  # noqa: F401
t_import = time.perf_counter() - t0
import numpy as np
from edgebench.suite.backends import get
from edgebench.suite.spec import RunSpec
model, art, models, precision, xla, threads, iters = sys.argv[1:8]
spec = RunSpec(model=model, framework="tensorflow", precision=precision, jit_compile=xla == "1",
               threads=int(threads), artifact=art)
b = get("tensorflow")(spec, models)
t0 = time.perf_counter(); b.load(); t_load = time.perf_counter() - t0
t0 = time.perf_counter(); b.build(); t_build = time.perf_counter() - t0
x = np.random.RandomState(0).standard_normal((1, 224, 224, 3)).astype(np.float32)
for _ in range(3):
    b.time_one(x)
lat = sorted(b.time_one(x) for _ in range(int(iters)))
print(json.dumps({"import_s": t_import, "load_s": t_load, "build_s": t_build, "p50_s": lat[len(lat) // 2]}))
"""

CONFIGS = [("fp32", False), ("fp32", True), ("fp16", False)]
MODELS = ["mobilenet_v2", "resnet50"]


def one(model: str, art: str, models: Path, precision: str, xla: bool, threads: int, iters: int) -> dict[str, Any]:
    out = subprocess.run([sys.executable, "-c", CHILD, model, art, str(models), precision, "1" if xla else "0",
                          str(threads), str(iters)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--iterations", type=int, default=30)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    models = artifacts.DEFAULT_DIR
    arts = {}
    for m in MODELS:
        a = artifacts.Artifact("keras", m, (3, 224, 224), 1000, 0)
        artifacts.ensure(a, models)
        arts[m] = a.relpath
    rows: dict[str, list[dict[str, Any]]] = {}
    for _ in range(args.rounds):
        for m in MODELS:
            base = None
            for precision, xla in CONFIGS:
                r = one(m, arts[m], models, precision, xla, args.threads, args.iterations)
                base = r["p50_s"] if base is None else base
                r["ratio_to_fp32"] = r["p50_s"] / base
                rows.setdefault("%s %s%s" % (m, precision, " xla" if xla else ""), []).append(r)
    table = {k: {f: statistics.median(r[f] for r in v) for f in v[0]} for k, v in rows.items()}
    if args.json:
        print(json.dumps(table, indent=1, sort_keys=True))
        return 0
    print("%-22s %9s %8s %8s %9s %9s" % ("model config", "import s", "load s", "build s", "p50 ms", "p50/fp32"))
    for k, v in table.items():
        print("%-22s %9.2f %8.2f %8.2f %9.1f %9.2f" % (k, v["import_s"], v["load_s"], v["build_s"], 1000 * v["p50_s"],
                                                       v["ratio_to_fp32"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
