"""The report's P3 part from stored results: throughput vs concurrency, the DMP comparison (each stream
alone, P3's ideal sum of CME maxima) and invalid DMP runs counted but not used. Results are written as a
runner stores them (the real CME/DMP runs come from the suite's workloads)."""

import json
from pathlib import Path
from typing import Any

import pandas as pd
from edgebench.cli.report import build_report
from edgebench.suite.spec import RunResult, RunSpec, StreamSpec

ORT = {"model": "mobilenet_v3_small", "framework": "onnxruntime", "input_shape": (3, 64, 64)}
LITE = {"model": "mobilenet_v3_small", "framework": "tflite", "input_shape": (3, 64, 64)}


def _store(camp: Path, spec: RunSpec, thr: float, status: str = "ok", **extra: Any) -> None:
    d = camp / spec.run_id
    d.mkdir(parents=True)
    r = RunResult(run_id=spec.run_id, status=status, spec=spec.to_dict(),
                  throughput_ips=thr if status == "ok" else None, host={"runner": "test"})
    (d / "result.json").write_text(json.dumps(dict(r.to_dict(), **extra)))


def test_concurrency_and_dmp_tables(tmp_path: Path) -> None:
    camp = tmp_path / "p3"
    camp.mkdir()
    (camp / "campaign.json").write_text(json.dumps({"name": "p3", "matrix": {"name": "p3"}}))
    _store(camp, RunSpec(**ORT), 100.0)  # type: ignore[arg-type]
    _store(camp, RunSpec(**LITE), 60.0)  # type: ignore[arg-type]
    for copies, ort, lite in ((1, 100.0, 60.0), (2, 180.0, 110.0), (4, 170.0, 90.0)):
        _store(camp, RunSpec(**ORT, workload="concurrent", copies=copies), ort)  # type: ignore[arg-type]
        _store(camp, RunSpec(**LITE, workload="concurrent", copies=copies), lite)  # type: ignore[arg-type]
    other = StreamSpec(model="mobilenet_v3_small", framework="tflite", input_shape=(3, 64, 64), stream_id="1")
    for rep, (thr, valid) in enumerate(((150.0, True), (160.0, True), (999.0, False))):
        _store(camp, RunSpec(**ORT, workload="placement", streams=(other,), repetition=rep), thr,  # type: ignore[arg-type]
               valid=valid)
    data = build_report(camp)
    conc = pd.read_csv(data.out_dir / "concurrency.csv")
    assert sorted(conc["copies"]) == [1, 1, 2, 2, 4, 4]
    best = conc.loc[conc["throughput_ips"].idxmax()]
    assert (best["framework"], best["copies"]) == ("onnxruntime", 2)
    (d,) = pd.read_csv(data.out_dir / "dmp.csv").to_dict("records")
    assert d["throughput_ips"] == 155.0  # the invalid run is counted, not used
    assert (d["runs_ok"], d["runs_invalid"], d["runs"]) == (2, 1, 3)
    assert d["alone_sum_ips"] == 160.0 and d["ideal_ips"] == 180.0 + 110.0
    assert abs(d["share_of_ideal"] - 155.0 / 290.0) < 1e-9
    assert (data.out_dir / "throughput_vs_concurrency.png").exists() and (data.out_dir / "dmp_comparison.png").exists()
    md = (data.out_dir / "report.md").read_text()
    assert "## Dynamic model placement" in md and "## Throughput vs concurrency" in md
