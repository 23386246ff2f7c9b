"""P2's report tables (loading vs inference time, cost-performance) on real recorded campaigns
(tests/data/results/README.md): figures recomputed here from the run folders' own result.json files."""

import json
import shutil
import statistics
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from edgebench.cli.analysis.tables import load
from edgebench.cli.report import p2
from edgebench.cli.report.build import build_report

DATA = Path(__file__).resolve().parent.parent / "data" / "results"
TINY = DATA / "tiny"


def _results(campaign: Path) -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted(campaign.glob("*/result.json"))]


def _phase(res: dict[str, Any], name: str) -> float:
    return float(next(p["duration_s"] for p in res["phases"] if p["name"] == name))


def _cell(df: pd.DataFrame, **key: Any) -> "pd.Series[Any]":
    m = pd.Series(True, index=df.index)
    for k, v in key.items():
        m &= df[k].isna() if v is None else df[k] == v
    assert m.sum() == 1, df[m]
    return df[m].iloc[0]


def _ok(campaign: Path, model: str, framework: str, batch: int, memory: Any = None) -> list[dict[str, Any]]:
    return [r for r in _results(campaign) if r["status"] == "ok" and r["spec"]["model"] == model
            and r["spec"]["framework"] == framework and r["spec"]["batch_size"] == batch
            and (r["spec"].get("limits") or {}).get("memory_mb") == memory]


def _copy(tmp_path: Path) -> Path:
    dst = tmp_path / "tiny"
    shutil.copytree(TINY, dst)
    return dst


def test_load_vs_inference_from_the_phases(tmp_path: Path) -> None:
    t = load(TINY)
    res = p2.build(t.runs, t.info, tmp_path)
    assert len(res.load) == 9  # 10 cells, less the OOM-killed one (no ok run)
    for model, fw, batch in (("resnet18", "torch", 1), ("mobilenet_v3_small", "onnxruntime", 2)):
        runs = _ok(TINY, model, fw, batch)
        assert len(runs) == 2
        row = _cell(res.load, model=model, framework=fw, batch_size=batch, limit_memory_mb=None)
        load_s = statistics.median(_phase(r, "load") for r in runs)
        p50 = statistics.median(r["summary"]["p50"] for r in runs)
        assert row["load_s"] == pytest.approx(load_s) and row["p50_ms"] == pytest.approx(1e3 * p50)
        assert row["load_over_p50"] == pytest.approx(load_s / p50)
        assert row["first_inference_ms"] == pytest.approx(1e3 * statistics.median(r["warmup_s"] for r in runs))
        cold = [statistics.median(_phase(r, k) for r in runs) for k in ("import", "load", "build")]
        assert row["cold_start_s"] == pytest.approx(sum(cold) + row["first_inference_ms"] / 1e3)
        assert row["device"] == "host-cpu" and row["runs"] == 2
    # What the table is for: a torch load costs many more steady inferences than an ONNX Runtime one here.
    torch = _cell(res.load, model="mobilenet_v3_small", framework="torch", batch_size=1, limit_memory_mb=None)
    ort = _cell(res.load, model="mobilenet_v3_small", framework="onnxruntime", batch_size=1, limit_memory_mb=None)
    assert torch["load_s"] > ort["load_s"]
    assert (tmp_path / p2.LOAD_CSV).is_file() and (tmp_path / p2.COST_CSV).is_file()
    back = pd.read_csv(tmp_path / p2.LOAD_CSV)
    assert list(back.columns) == list(res.load.columns) and len(back) == len(res.load)


def test_cost_performance_without_and_with_a_price(tmp_path: Path) -> None:
    t = load(TINY)
    assert t.info["device"]["price_usd"] is None  # host-cpu: a host's price varies
    res = p2.build(t.runs, t.info, tmp_path)
    assert res.price_usd is None and (res.cost["price_source"] == p2.NO_PRICE).all()
    assert res.cost["ips_per_usd"].isna().all()
    md = "\n".join(p2.markdown(res))
    assert "has no price_usd" in md and "| no price | no price |" in md

    camp = _copy(tmp_path)
    info = json.loads((camp / "campaign.json").read_text())
    info["device"].update(price_usd=75, price_source="test price (2020)")
    (camp / "campaign.json").write_text(json.dumps(info))
    t = load(camp)
    res = p2.build(t.runs, t.info, tmp_path)
    runs = _ok(TINY, "resnet18", "onnxruntime", 1)
    ips = statistics.median(r["throughput_ips"] for r in runs)
    row = _cell(res.cost, model="resnet18", framework="onnxruntime", batch_size=1, limit_memory_mb=None)
    assert row["throughput_ips"] == pytest.approx(ips) and row["ips_per_usd"] == pytest.approx(ips / 75)
    assert row["price_source"] == "test price (2020)"
    md = "\n".join(p2.markdown(res))
    assert "Price: 75.00 USD for host-cpu (test price (2020))" in md and "no price" not in md


def test_emulated_runs_are_left_out(tmp_path: Path) -> None:
    """Until h6's is-this-device-speed helper lands, runs labelled `emulated` never reach the P2 tables."""
    camp = _copy(tmp_path)
    # Both ways emulated runs have been labelled: before emulation modes, and with them (cli/emulate.py).
    relabel = {("resnet18", 1): ({"emulated": "rpi4"}, "rpi4@emulated"),
               ("resnet18", 2): ({"emulated": "rpi4", "emulation": "ceiling"}, "rpi4@ceiling")}
    for (model, batch), (labels, device) in relabel.items():
        for r in _ok(camp, model, "torch", batch):
            path = camp / r["run_id"] / "result.json"
            data = json.loads(path.read_text())
            data["spec"]["labels"] = dict(data["spec"].get("labels") or {}, **labels)
            data["spec"]["device"] = device
            path.write_text(json.dumps(data))
    t = load(camp)
    assert t.runs["label_emulated"].notna().sum() == 4
    res = p2.build(t.runs, t.info, tmp_path)
    for df in (res.load, res.cost):
        assert set(df["device"]) == {"host-cpu"}
        assert not ((df["model"] == "resnet18") & (df["framework"] == "torch")).any()
        assert "label_emulated" not in df.columns and "label_emulation" not in df.columns
    assert len(res.load) == 7 and "4 emulated run(s) left out" in res.notes[0]


def test_report_md_and_html_have_the_sections(tmp_path: Path) -> None:
    data = build_report(TINY, tmp_path / "report")
    assert data.p2 is not None and (tmp_path / "report" / p2.LOAD_CSV) in data.files
    md = (tmp_path / "report" / "report.md").read_text()
    assert "## Loading time vs inference time (P2)" in md and "## Cost-performance (P2)" in md
    row = _cell(data.p2.load, model="resnet18", framework="torch", batch_size=2, limit_memory_mb=None)
    line = "| host-cpu | resnet18 | torch | fp32 | 2 | none | 2 | %.3f | %.3f |" % (row["import_s"], row["load_s"])
    assert line in md
    page = (tmp_path / "report" / "report.html").read_text()
    assert 'id="p2-load"' in page and 'id="p2-cost"' in page and ">no price<" in page
    assert "Loading time vs inference time (P2)" in page
