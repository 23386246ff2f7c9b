"""A real campaign (local runner, real cgroups, ONNX Runtime) straight into the report and Parquet."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from edgebench.cli.analysis.export import export
from edgebench.cli.report import build_report, to_json
from edgebench.suite import cgroup as reader

from tests.conftest import is_root, need

MATRIX = """
name: rep
device: host-cpu
fixed: {model: mobilenet_v3_small, framework: onnxruntime, warmups: 1, iterations: 5, threads: 1, timeout_s: 120}
axes:
  batch_size: [1, 2]
include:
  # 40 MiB and no swap cannot hold ONNX Runtime and the model: the kernel must OOM-kill it.
  - {batch_size: 1, memory_mb: 40, memory_swap_mb: 40, expect: oom}
repetitions: 2
"""


def test_real_campaign_report_and_export(tmp_path: Path, models_dir: Path, onnx_mnv3: str) -> None:
    need(is_root(), "root, to make cgroups")
    need(reader.memory_version() is not None, "a memory cgroup controller")
    (tmp_path / "m.yaml").write_text(MATRIX)
    proc = subprocess.run([sys.executable, "-m", "edgebench.cli.app", "run", str(tmp_path / "m.yaml"),
                           "--results", str(tmp_path / "results"), "--models", str(models_dir), "--json"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    camp = tmp_path / "results" / "rep"
    rep = build_report(camp, tmp_path / "report")
    assert rep.counts == {"ok": 4, "oom": 2} and rep.damaged == []
    oom = rep.summary[rep.summary["limit_memory_mb"] == 40.0].iloc[0]
    assert oom["oom"] == 2 and oom["as_expected"] and "unexpected" not in oom["flags"]
    for batch in (1, 2):
        cell = rep.summary[(rep.summary["batch_size"] == batch) & rep.summary["limit_memory_mb"].isna()].iloc[0]
        p50s = []
        for rid in cell["run_ids"].split():
            rows = [json.loads(x) for x in (camp / rid / "samples.jsonl").read_text().splitlines()]
            lat = [r["latency_s"] for r in rows if r["phase"] == "measure"]
            assert len(lat) == 5
            p50s.append(float(np.median(lat)))
            assert rep.runs.set_index("run_id").loc[rid, "p50_s"] == pytest.approx(p50s[-1], rel=1e-12)
        assert cell["p50_ms_median_of_runs"] == pytest.approx(1000 * float(np.median(p50s)), rel=1e-9)
    assert sorted(p.name for p in rep.figures) == ["correlation_host-cpu.png", "latency_p50_by_framework_batch.png",
                                                   "latency_vs_memory_limit.png", "throughput_vs_batch.png",
                                                   "warmup_vs_steady.png"]
    json.dumps(to_json(rep), allow_nan=False)
    paths = export(camp, tmp_path / "parquet")
    back = {p.stem: pd.read_parquet(p) for p in paths}
    assert len(back["runs"]) == 6 and len(back["samples"]) == 4 * (1 + 5)
    assert set(back["monitor"]["run_id"]) <= set(back["runs"]["run_id"]) and len(back["monitor"]) > 0
