"""Artefact build cost: wall time and peak memory to make each artefact of the smoke set, cold and cached.

The smoke set is every artefact `edgebench plan matrices/smoke.yaml` needs (torch state dicts and ONNX
exports), the ONNX fp16/int8 of those ONNX models, and the TFLite cells proposed for it (MobileNetV3-Small
fp32/fp16/int8, 1000 classes).
Each round, for each artefact in turn: a cold build into an empty cache folder (the export subprocess,
its peak RSS read with wait4, so each child's own peak and not the maximum over all children), then a
cached lookup of the same artefact (artifacts.ensure, which must find the manifest and content key and
start nothing). Rounds interleave artefacts so drift of this shared machine hits all alike; figures are
medians over rounds, and the cached/cold ratio is the median of per-round ratios.

    .venv/bin/python benchmarks/artifact_build.py [--rounds 3] [--only tflite] [--json]
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from edgebench.cli import artifacts, plan

ROOT = Path(__file__).resolve().parent.parent
TFLITE = [artifacts.Artifact("tflite", "mobilenet_v3_small", (3, 224, 224), 1000, 0, p)
          for p in ("fp32", "fp16", "int8")]


def smoke_set() -> list[artifacts.Artifact]:
    found: list[artifacts.Artifact] = plan.build(ROOT / "matrices" / "smoke.yaml").artifacts()
    # ONNX fp16/int8 of the smoke set's ONNX models (each derived from a fresh fp32 export, then checked).
    derived = [replace(a, precision=p) for a in found if a.format == "onnx" for p in ("fp16", "int8")]
    unique = {a.key: a for a in found + derived + TFLITE}  # smoke.yaml may list the TFLite cells itself
    return list(unique.values())


def cold(art: artifacts.Artifact, cache: Path) -> dict[str, Any]:
    """Build into an empty cache; time and the export child's own peak RSS (MiB)."""
    out = cache / art.key
    out.mkdir(parents=True)
    key = artifacts.content_key(art)
    cmd = artifacts.export_command(art, out, key=key)
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    stderr = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError("%s: export failed: %s" % (art.key, stderr.decode()[-500:]))
    man = artifacts.manifest(cache, art)
    assert man is not None and man.get("content_key") == key, art.key
    return {"wall_s": wall, "peak_rss_mib": usage.ru_maxrss / 1024.0, "size_bytes": man["size_bytes"]}


def cached(art: artifacts.Artifact, cache: Path) -> float:
    t0 = time.perf_counter()
    artifacts.ensure(art, cache)
    return time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--only", default=None, help="formats to include, comma list (torch,onnx,tflite)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    arts = [a for a in smoke_set() if not args.only or a.format in args.only.split(",")]
    rows: dict[str, dict[str, list[float]]] = {a.key: {"cold": [], "rss": [], "cached": [], "ratio": []} for a in arts}
    sizes: dict[str, int] = {}
    for r in range(args.rounds):
        order = arts if r % 2 == 0 else list(reversed(arts))
        for art in order:
            tmp = Path(tempfile.mkdtemp(prefix="edgebench-artbench-"))
            try:
                c = cold(art, tmp)
                hit = cached(art, tmp)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
            row = rows[art.key]
            row["cold"].append(c["wall_s"])
            row["rss"].append(c["peak_rss_mib"])
            row["cached"].append(hit)
            row["ratio"].append(hit / c["wall_s"])
            sizes[art.key] = c["size_bytes"]
            sys.stderr.write("round %d %-55s cold %6.2f s  %6.0f MiB  cached %.4f s\n"
                             % (r + 1, art.key, c["wall_s"], c["peak_rss_mib"], hit))
    report = {"rounds": args.rounds, "python": sys.version.split()[0], "cpus": os.cpu_count(), "artifacts": [
        {"key": k, "size_bytes": sizes[k], "cold_s_median": statistics.median(v["cold"]),
         "cold_peak_rss_mib_median": statistics.median(v["rss"]), "cached_s_median": statistics.median(v["cached"]),
         "cached_over_cold_median_ratio": statistics.median(v["ratio"])} for k, v in rows.items()]}
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print("%-55s %10s %9s %10s %9s %10s" % ("artefact", "bytes", "cold s", "peak MiB", "cached s", "ratio"))
        for a in report["artifacts"]:
            print("%-55s %10d %9.2f %10.0f %9.4f %10.5f" % (a["key"], a["size_bytes"], a["cold_s_median"],
                                                          a["cold_peak_rss_mib_median"], a["cached_s_median"],
                                                          a["cached_over_cold_median_ratio"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
