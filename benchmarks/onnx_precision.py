"""ONNX fp16/int8 artefacts of zoo models: agreement with the fp32 ONNX, size ratio, build time, and what
ONNX Runtime's CPU provider really runs (int8 kernels; whether float16 weights survive its optimiser).

The figures here chose ONNX_TOLERANCES; a row over a limit is marked FAIL (the cache would refuse
that artefact). Random calibrated weights and synthetic calibration (nothing can be downloaded here), so
these are worst cases: trained weights and real calibration images agree more closely.

    .venv/bin/python benchmarks/onnx_precision.py [--models resnet18,mobilenet_v2] [--input 224] [--json]
"""

import argparse
import json
import logging
import sys
import tempfile
import time
from typing import Any

from edgebench.suite.artefacts import onnx_precision
from edgebench.suite.artefacts.agreement import ONNX_TOLERANCES
from edgebench.suite.nets import zoo

LOOSE = {"max_rel_diff": float("inf"), "rms_rel_diff": float("inf")}


def measure(model: str, precision: str, side: int, out: str) -> dict[str, Any]:
    shape = (3, side, side) if side else zoo.default_shape(model)
    t0 = time.perf_counter()
    man = onnx_precision.export_onnx_precision(model, out, shape, precision=precision, tolerances=LOOSE)
    c = man["check"]
    limits = ONNX_TOLERANCES[precision]
    return {"model": model, "precision": precision, "input": list(shape), "build_s": time.perf_counter() - t0,
            "max_rel_diff": c["max_rel_diff"], "rms_rel_diff": c["rms_rel_diff"],
            "top1_agreement": c["top1_agreement"], "size_vs_fp32": man["size_vs_fp32"],
            "size_bytes": man["size_bytes"], "quantize_linear": man["graph"]["quantize_linear"],
            "cpu_int8_kernels": man["ort_cpu"]["int8_kernels"], "cpu_float16_kept": man["ort_cpu"]["float16_kept"],
            "ok": all(c[k] <= v for k, v in limits.items())}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="resnet18,mobilenet_v2,mobilenet_v3_small,squeezenet1_1,densenet121")
    ap.add_argument("--input", type=int, default=224, help="square side; 0: each model's default shape")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    logging.disable(logging.WARNING)  # the synthetic-calibration warning, once per model
    rows = []
    for model in args.models.split(","):
        for precision in onnx_precision.PRECISIONS:
            with tempfile.TemporaryDirectory(prefix="edgebench-onnxprec-") as tmp:
                row = measure(model, precision, args.input, tmp)
            rows.append(row)
            sys.stderr.write("%-20s %s max %.4f rms %.4f top1 %.3f size %.3f %.1f s\n" % (
                model, precision, row["max_rel_diff"], row["rms_rel_diff"], row["top1_agreement"],
                row["size_vs_fp32"], row["build_s"]))
    if args.json:
        print(json.dumps({"tolerances": ONNX_TOLERANCES, "rows": rows}, indent=2))
        return 0
    print("%-20s %-5s %9s %9s %6s %7s %8s %6s %5s %4s" % ("model", "prec", "max_rel", "rms_rel", "top1", "size",
                                                          "build s", "int8k", "f16", "ok"))
    for r in rows:
        print("%-20s %-5s %9.4f %9.4f %6.3f %7.3f %8.1f %6d %5s %4s" % (
            r["model"], r["precision"], r["max_rel_diff"], r["rms_rel_diff"], r["top1_agreement"],
            r["size_vs_fp32"], r["build_s"], r["cpu_int8_kernels"], "yes" if r["cpu_float16_kept"] else "no",
            "ok" if r["ok"] else "FAIL"))
    return 0 if all(r["ok"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
