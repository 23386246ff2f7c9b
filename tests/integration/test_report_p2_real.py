"""P2's tables from a real campaign (local runner, real cgroups, ONNX Runtime and torch) on a device profile
that has a price: the figures recomputed from the run folders' own result.json files."""

import json
import os
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

import pytest
from edgebench.cli import devices
from edgebench.cli.report import build_report, p2
from edgebench.suite import cgroup as reader

from tests.conftest import has_module, is_root, need

MATRIX = """
name: p2
device: host-cpu
fixed: {model: mobilenet_v3_small, warmups: 1, iterations: 5, threads: 1, timeout_s: 300}
axes:
  framework: [onnxruntime, torch]
  batch_size: [1]
repetitions: 2
"""


def test_real_campaign_p2_tables(tmp_path: Path, models_dir: Path, onnx_mnv3: str) -> None:
    need(is_root(), "root, to make cgroups")
    need(reader.memory_version() is not None, "a memory cgroup controller")
    need(has_module("torchvision"), "torchvision is not installed")
    images = tmp_path / "images"  # a lab's own profiles (EDGEBENCH_IMAGES_DIR): host-cpu with a price
    shutil.copytree(devices.IMAGES_DIR, images)
    profile = images / "host-cpu" / "device.yaml"
    text = profile.read_text()
    assert "price_usd: null\n" in text
    profile.write_text(text.replace("price_usd: null\n", "price_usd: 500\n").replace(
        "price_source: a host's price varies", "price_source: this lab's invoice (2026); a host's price varies"))
    (tmp_path / "m.yaml").write_text(MATRIX)
    env = dict(os.environ, EDGEBENCH_IMAGES_DIR=str(images))
    proc = subprocess.run([sys.executable, "-m", "edgebench.cli.app", "run", str(tmp_path / "m.yaml"),
                           "--results", str(tmp_path / "results"), "--models", str(models_dir), "--runner", "local",
                           "--json"], capture_output=True, text=True, timeout=900, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    camp = tmp_path / "results" / "p2"
    rep = build_report(camp, tmp_path / "report")
    assert rep.counts == {"ok": 4} and rep.p2 is not None
    assert rep.p2.price_usd == 500 and rep.p2.price_source.startswith("this lab's invoice")
    results = [json.loads(p.read_text()) for p in camp.glob("*/result.json")]
    for fw in ("onnxruntime", "torch"):
        runs = [r for r in results if r["spec"]["framework"] == fw]
        assert len(runs) == 2
        load = rep.p2.load[rep.p2.load["framework"] == fw].iloc[0]
        phase = {k: statistics.median(next(p["duration_s"] for p in r["phases"] if p["name"] == k) for r in runs)
                 for k in ("import", "load", "build")}
        p50 = statistics.median(r["summary"]["p50"] for r in runs)
        assert load["load_s"] == pytest.approx(phase["load"]) and load["import_s"] == pytest.approx(phase["import"])
        assert load["load_over_p50"] == pytest.approx(phase["load"] / p50) and load["load_s"] > 0
        cost = rep.p2.cost[rep.p2.cost["framework"] == fw].iloc[0]
        ips = statistics.median(r["throughput_ips"] for r in runs)
        assert cost["throughput_ips"] == pytest.approx(ips) and cost["ips_per_usd"] == pytest.approx(ips / 500)
    md = (tmp_path / "report" / "report.md").read_text()
    assert "Price: 500.00 USD for host-cpu (this lab's invoice (2026)" in md and "| no price |" not in md
    page = (tmp_path / "report" / "report.html").read_text()
    assert 'id="p2-cost"' in page and "500.00 USD for host-cpu" in page
    assert (tmp_path / "report" / p2.COST_CSV).is_file()
