"""A recorded campaign copied with every latency scaled by a factor (throughput divided by it): a
known slowdown on real recorded runs, for compare and recommend tests. Nothing else changes."""

import json
import shutil
from pathlib import Path


def scaled_copy(src: Path, dst: Path, factor: float) -> Path:
    shutil.copytree(src, dst)
    for res in dst.glob("*/result.json"):
        d = json.loads(res.read_text())
        for k in ("mean", "std", "min", "p50", "p90", "p99", "max"):
            if d.get("summary") and d["summary"].get(k) is not None:
                d["summary"][k] *= factor
        for k in ("latencies_s", "warmup_latencies_s"):
            d[k] = [v * factor for v in d.get(k) or []]
        if d.get("throughput_ips"):
            d["throughput_ips"] /= factor
        res.write_text(json.dumps(d))
        s = res.parent / "samples.jsonl"
        if s.exists():
            rows = [json.loads(line) for line in s.read_text().splitlines() if line.strip()]
            s.write_text("".join(json.dumps(dict(r, latency_s=r["latency_s"] * factor)) + "\n" for r in rows))
    return dst


def set_runtime_version(campaign: Path, framework: str, version: str) -> None:
    """As if the runs had been made with another runtime release."""
    for res in campaign.glob("*/result.json"):
        d = json.loads(res.read_text())
        for when in ("start", "end"):
            rt = ((d.get("env") or {}).get(when) or {}).get("runtime")
            if rt is not None and framework in rt:
                rt[framework] = version
        res.write_text(json.dumps(d))
