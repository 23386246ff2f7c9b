"""The report's energy table from a real run whose CodeCarbon monitor estimated power."""

import csv
from pathlib import Path

from edgebench.cli.report import build_report
from edgebench.cli.runners.local import LocalRunner
from edgebench.suite.spec import RunSpec

from tests.conftest import has_module, need


def test_energy_csv_from_a_codecarbon_run(tmp_path: Path, models_dir: Path, onnx_mnv3: str) -> None:
    need(has_module("codecarbon"), "codecarbon (the monitors extra)")
    # CodeCarbon reads power once per measure_s (0.5 s here): pad the measure phase to 3 s so that
    # several readings fall inside it however fast this machine is.
    spec = RunSpec(model="mobilenet_v3_small", framework="onnxruntime", iterations=20, artifact=onnx_mnv3,
                   monitors=("psutil", "codecarbon"), monitor_config={"codecarbon": {"measure_s": 0.5}},
                   monitor_interval_s=0.1, min_measure_s=3.0, threads=1)
    camp = tmp_path / "camp"
    r = LocalRunner().execute(spec, camp / spec.run_id, models_dir)
    assert r.status == "ok", r.reason
    data = build_report(camp, tmp_path / "rep")
    path = tmp_path / "rep" / "energy.csv"
    assert path in data.files
    rows = list(csv.DictReader(path.open()))
    assert len(rows) == 1 and rows[0]["monitor"] == "codecarbon"
    assert rows[0]["estimate"] == "True"  # CodeCarbon models power; the table must say so
    assert float(rows[0]["energy_j_measure"]) > 0 and float(rows[0]["fps_per_w_measure"]) > 0
    assert any("CodeCarbon estimates" in n for n in data.notes)
