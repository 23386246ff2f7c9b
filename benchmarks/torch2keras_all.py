"""torch2keras on every torchvision architecture of the zoo: does it convert, how closely the Keras rebuild
follows torch, how long it takes, and what the TFLite file weighs.

Per model, in its own process (a crash or memory blow-up hits one row only): the calibrated random-weight
torchvision net (export.build_torch), torch2keras.rebuild (fx trace + Keras build + its own probe check),
then TFLite at each --precisions through keras_zoo.convert and quantise.check_tflite (the suite's TFLite
backend against Keras, same tolerances as `edgebench models make`). Columns:
  convert_s   torch2keras.rebuild without the probe (trace + Keras layers + weights)
  torch_rel   max |keras - torch| / max |torch| on 2 standard-normal inputs (bound: agreement.RTOL)
  tflite_s    TensorFlow's TFLite conversion; MB its size; tfl_rel/tfl_rms the check against Keras
Default shapes are the zoo's (inception_v3 299, efficientnet_b1..b5 240..456); --input S uses SxS for all.

    .venv/bin/python benchmarks/torch2keras_all.py [--input 64] [--models alexnet,resnet18]
        [--precisions fp32,int8] [--json]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from typing import Any

from edgebench.suite.nets import zoo


def one(model: str, shape: tuple[int, int, int], precisions: list[str]) -> dict[str, Any]:
    import torchvision  # noqa: F401  (before TensorFlow: the triton it loads segfaults after TF)
    from edgebench.suite.artefacts import export, quantise, torch2keras
    from edgebench.suite.nets import keras_zoo

    keras_zoo.versions()  # imports TensorFlow and Keras outside the timed conversion

    row: dict[str, Any] = {"model": model, "input": list(shape)}
    net, _ = export.build_torch(model, shape, 1000, 0)
    keras_net, check = torch2keras.rebuild(net, shape)
    row.update({"convert_s": check["convert_s"], "torch_rel": check["max_rel_diff"], "ok": True})
    for p in precisions:
        rep = keras_zoo.representative(None, shape, 16, 0)[0] if p == "int8" else None
        t0 = time.monotonic()
        blob = keras_zoo.convert(keras_net, p, rep)
        row["tflite_s_" + p] = time.monotonic() - t0
        with tempfile.NamedTemporaryFile(suffix=".tflite") as f:
            f.write(blob)
            f.flush()
            res = quantise.check_tflite(keras_net, f.name, shape, p)
        row.update({"mb_" + p: len(blob) / 1e6, "tfl_rel_" + p: res["max_rel_diff"],
                    "tfl_rms_" + p: res["rms_rel_diff"]})
        row["ok"] = row["ok"] and bool(res["ok"])
    return row


def run_child(model: str, shape: tuple[int, int, int], precisions: list[str]) -> dict[str, Any]:
    cmd = [sys.executable, os.path.abspath(__file__), "--one", model, "--input", ",".join(map(str, shape)),
           "--precisions", ",".join(precisions)]
    t0 = time.monotonic()
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.run(cmd, capture_output=True, env=env)
    wall = time.monotonic() - t0
    lines = [ln for ln in proc.stdout.decode().splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        err = [ln for ln in proc.stderr.decode().splitlines() if ln.strip()]
        return {"model": model, "input": list(shape), "ok": False, "wall_s": wall,
                "error": (err[-1] if err else "exit %d" % proc.returncode)[:160]}
    row: dict[str, Any] = json.loads(lines[-1])
    row["wall_s"] = wall
    return row


def table(rows: list[dict[str, Any]], precisions: list[str]) -> str:
    head = "%-20s %-11s %9s %10s" % ("model", "input", "convert_s", "torch_rel")
    for p in precisions:
        head += " %9s %9s %9s %9s" % ("MB_" + p, "tflite_s", "tfl_rel", "tfl_rms")
    out = [head + "  %7s  ok" % "wall_s"]
    for r in rows:
        line = "%-20s %-11s " % (r["model"], "x".join(map(str, r["input"])))
        if "error" in r:
            out.append(line + "FAIL %s" % r["error"])
            continue
        line += "%9.2f %10.2e" % (r["convert_s"], r["torch_rel"])
        for p in precisions:
            line += " %9.2f %9.1f %9.2e %9.2e" % (r["mb_" + p], r["tflite_s_" + p], r["tfl_rel_" + p],
                                                  r["tfl_rms_" + p])
        out.append(line + "  %7.1f  %s" % (r["wall_s"], "ok" if r["ok"] else "FAIL"))
    return "\n".join(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--input", help="side S (SxS) or C,H,W for every model; default: each model's own")
    ap.add_argument("--models", help="comma list (default: every zoo.TORCHVISION name)")
    ap.add_argument("--precisions", default="fp32", help="comma list of fp32, fp16, int8")
    ap.add_argument("--json", action="store_true", help="print the rows as JSON")
    ap.add_argument("--one", help=argparse.SUPPRESS)
    args = ap.parse_args()
    precisions = [p for p in args.precisions.split(",") if p]
    models = args.models.split(",") if args.models else list(zoo.TORCHVISION)

    def shape_of(model: str) -> tuple[int, int, int]:
        if not args.input:
            return zoo.TORCHVISION[model]
        v = [int(s) for s in args.input.split(",")]
        return (3, v[0], v[0]) if len(v) == 1 else (v[0], v[1], v[2])

    if args.one:
        print(json.dumps(one(args.one, shape_of(args.one), precisions)))
        return 0
    rows = []
    for m in models:
        rows.append(run_child(m, shape_of(m), precisions))
        print("%s done in %.0f s" % (m, rows[-1]["wall_s"]), file=sys.stderr, flush=True)
    print(json.dumps(rows, indent=1) if args.json else table(rows, precisions))
    return 0 if all(r["ok"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
