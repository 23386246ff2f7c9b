"""recommend's power objectives and budget on real power samples: two runs whose CodeCarbon monitor
estimated power (the only power source on this machine: an estimate, and labelled so), ranked by FPS/W and
by energy per inference, and a power budget that nothing meets, answered with the closest miss."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from edgebench.cli.analysis import energy
from edgebench.cli.runners.local import LocalRunner
from edgebench.suite.spec import RunSpec

from tests.conftest import has_module, need


@pytest.fixture(scope="module")
def camp(tmp_path_factory: pytest.TempPathFactory, models_dir: Path, onnx_mnv3: str) -> Path:
    need(has_module("codecarbon"), "codecarbon (the monitors extra)")
    root = tmp_path_factory.mktemp("power") / "camp"
    for batch in (1, 4):  # CodeCarbon reads power once per measure_s: pad the measure phase past several
        spec = RunSpec(model="mobilenet_v3_small", framework="onnxruntime", batch_size=batch, iterations=20,
                       artifact=onnx_mnv3, monitors=("psutil", "codecarbon"), threads=1, min_measure_s=3.0,
                       monitor_config={"codecarbon": {"measure_s": 0.5}}, monitor_interval_s=0.1)
        r = LocalRunner().execute(spec, root / spec.run_id, models_dir)
        assert r.status == "ok", r.reason
    return root


def _recommend(camp: Path, *args: str) -> dict:
    res = subprocess.run([sys.executable, "-m", "edgebench.cli.app", "recommend", str(camp), "--json", *args],
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


@pytest.mark.parametrize("objective,col,best", [("fps-per-watt", "fps_per_w", max),
                                                ("energy-per-inference", "energy_per_inference_j", min)])
def test_power_objectives_rank_by_the_measured_figures(camp: Path, objective: str, col: str, best: object) -> None:
    ans = _recommend(camp, "--objective", objective)
    rec = ans["recommended"]
    assert len(rec) == 2 and all(r[col] > 0 for r in rec)
    top = [r for r in rec if r["rank"] == 1]
    assert top and top[0][col] == best(x[col] for x in rec)  # type: ignore[operator]
    # the figure is the energy report's own: measure-phase power of the run's most direct power stream
    for r in rec:
        figs = energy.run_energy(camp / r["run_ids"].split()[0])  # one run per configuration here
        assert figs and figs[0]["monitor"] == "codecarbon"
        assert r["power_w"] == pytest.approx(figs[0]["phases"]["measure"]["avg_power_w"])


def test_a_power_budget_nothing_meets_names_the_closest_miss(camp: Path) -> None:
    ans = _recommend(camp, "--max-power-w", "0.001")
    assert ans["recommended"] == []
    assert ans["closest"] and all("misses power" in c and "> max 0.001 W" in c for c in ans["closest"])
