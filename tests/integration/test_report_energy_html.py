"""Power in the HTML reports: a real run whose CodeCarbon monitor estimated power, merged with `fleet merge`
into FPS/W per device, and its campaign's report.html drawing energy per phase in a real Chromium."""

import csv
import json
from pathlib import Path

import pandas as pd
import pytest
from edgebench.cli.fleet_cmd import merge
from edgebench.cli.runners.local import LocalRunner
from edgebench.suite.spec import RunSpec

from tests.browser import Chromium, chromium_path
from tests.conftest import has_module, need
from tests.unit.test_report_html import PLOTS_DRAWN, coloured


def test_fps_per_watt_and_energy_plot_from_a_codecarbon_run(tmp_path: Path, models_dir: Path, onnx_mnv3: str) -> None:
    need(has_module("codecarbon"), "codecarbon (the monitors extra)")
    need(chromium_path() is not None, "chromium (bash scripts/setup-browser.sh)")
    # CodeCarbon reads power once per measure_s: pad the measure phase so several readings fall inside it.
    spec = RunSpec(model="mobilenet_v3_small", framework="onnxruntime", iterations=20, artifact=onnx_mnv3,
                   monitors=("psutil", "codecarbon"), monitor_config={"codecarbon": {"measure_s": 0.5}},
                   monitor_interval_s=0.1, min_measure_s=3.0, threads=1)
    camp = tmp_path / "in" / "camp"
    r = LocalRunner().execute(spec, camp / spec.run_id, models_dir)
    assert r.status == "ok", r.reason
    device = {"name": "board-c", "price_usd": 80.0, "price_source": "list price (2023)"}
    (camp / "campaign.json").write_text(json.dumps({"name": "camp", "device": device, "run_ids": [spec.run_id]}))
    merge([tmp_path / "in"], tmp_path / "out")

    energy = list(csv.DictReader((camp / "_report" / "energy.csv").open()))
    assert len(energy) == 1 and energy[0]["monitor"] == "codecarbon"
    cp = pd.read_csv(tmp_path / "out" / "cost_performance.csv")
    assert len(cp) == 1
    row = cp.iloc[0]
    assert row["fps_per_w_measure"] > 0
    assert row["fps_per_w_measure"] == pytest.approx(float(energy[0]["fps_per_w_measure"]))
    assert row["power_monitor"] == "codecarbon (estimate)"  # modelled power says so
    assert row["ips_per_usd"] == pytest.approx(row["throughput_ips_median_of_runs"] / 80.0)

    with Chromium(tmp_path / "profile") as b:
        for page, plot in ((camp / "_report" / "report.html", "energy_per_phase"),
                           (tmp_path / "out" / "report.html", "throughput_per_watt")):
            b.open(page.as_uri())
            b.wait_for(PLOTS_DRAWN)
            assert b.errors() == []
            assert coloured(b.screenshot("#plot-%s .draglayer .nsewdrag" % plot)) > 200, plot
