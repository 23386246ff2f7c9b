"""The P1/P3 analyses of a report: correlation, ranking, warm-up and utilisation.

Small runs tables built here, with the runs table's real column names (checked against a real
recorded campaign in the first test), where the answer is known; then real recorded campaigns
(tests/data/results/README.md) through build_report.
"""

import importlib.util
import math
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from edgebench.cli.analysis.correlation import VARS, correlate, left_out, usb_rates
from edgebench.cli.analysis.per_model import utilisation, warmup
from edgebench.cli.analysis.ranking import rank
from edgebench.cli.analysis.tables import load
from edgebench.cli.report import ReportData, build_report, to_json
from edgebench.cli.report.analyses import run_analyses

DATA = Path(__file__).resolve().parent.parent / "data" / "results"
TINY, SWEEP = DATA / "tiny", DATA / "sweep"
PNG = b"\x89PNG\r\n\x1a\n"
CPU = "mon_psutil_proc_cpu_percent_mean"
JTOP_CPU = "mon_jtop_cpu_util_percent_mean"
HAS_SCIPY = importlib.util.find_spec("scipy") is not None


def _run(i: int, **over: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "run_id": "r%02d" % i, "status": "ok", "device": "pi4", "model": "m", "framework": "tflite",
        "precision": "fp32", "batch_size": 1, "limit_memory_mb": np.nan, "p50_s": 0.01, "warmup_s": 0.05,
        "throughput_ips": 100.0, "rss_mb": 50.0 + i, "pss_mb": 40.0 + i, "uss_mb": 30.0 + i,
        "peak_rss_mb": 55.0 + i, CPU: 90.0, "noisy": False}
    row.update(over)
    return row


def _row(table: pd.DataFrame, **key: Any) -> "pd.Series[Any]":
    m = pd.Series(True, index=table.index)
    for k, v in key.items():
        m &= table[k] == v
    assert int(m.sum()) == 1, table[m]
    return table[m].iloc[0]


@pytest.fixture(scope="module")
def tiny_report(tmp_path_factory: pytest.TempPathFactory) -> ReportData:
    return build_report(TINY, tmp_path_factory.mktemp("tiny-analyses"))


def test_the_columns_read_exist_in_a_real_runs_table() -> None:
    cols = set(load(TINY).runs.columns)
    for name in ("latency_ms", "throughput_ips", "memory_limit_mb", "rss_mb", "pss_mb", "uss_mb", "batch_size",
                 "peak_rss_mb", "cpu_percent"):
        assert VARS[name].columns[0] in cols, name
    assert {"warmup_s", "p50_s", "status", "device", "noisy", "run_id"} <= cols


def test_latency_linear_in_memory_limit_gives_r_1_and_failures_are_counted_not_used(tmp_path: Path) -> None:
    rows = [_run(i, limit_memory_mb=100.0 * (i + 1), p50_s=0.002 * (i + 1) + 0.001) for i in range(5)]
    rows.append(_run(9, status="oom", limit_memory_mb=10.0, p50_s=np.nan, throughput_ips=np.nan, rss_mb=np.nan,
                     pss_mb=np.nan, uss_mb=np.nan))
    # A failed run with a value that would wreck r = 1 if it were used.
    rows.append(_run(10, status="failed", limit_memory_mb=50.0, p50_s=9.0))
    runs = pd.DataFrame(rows)
    a = run_analyses(runs, None, tmp_path, "t")
    back = pd.read_csv(tmp_path / "correlation.csv", keep_default_na=False)
    mem = _row(back, device="pi4", y="latency_ms", x="memory_limit_mb")
    assert float(mem["r"]) == pytest.approx(1.0) and int(mem["n"]) == 5
    assert (int(mem["runs_ok"]), int(mem["runs_failed"])) == (5, 2) and mem["left_out"] == ""
    assert mem["x_source"] == "limit_memory_mb"
    # rss rises with i too, but the latencies are exactly linear in i: r = 1 there as well
    assert float(_row(back, y="latency_ms", x="rss_mb")["r"]) == pytest.approx(1.0)
    cpu = _row(back, y="latency_ms", x="cpu_percent")
    assert cpu["r"] == "" and cpu["left_out"] == "cpu_percent: constant (90 in all 5 runs)"
    gpu = _row(back, y="latency_ms", x="gpu_percent")
    assert gpu["r"] == "" and gpu["left_out"].startswith("gpu_percent: not measured")
    thr = _row(back, y="throughput_ips", x="batch_size")
    assert thr["left_out"] == "throughput_ips: constant (100 in all 5 runs)"
    if HAS_SCIPY:
        assert a.correlation.p_values and float(mem["p_value"]) == pytest.approx(0.0, abs=1e-9)
    else:
        assert not a.correlation.p_values and mem["p_value"] == ""
    gone = left_out(a.correlation)["pi4"]
    assert "cpu_percent: constant (90 in all 5 runs)" in gone and any(g.startswith("gpu_percent:") for g in gone)


def test_r_matches_numpy_and_is_per_device() -> None:
    rng = np.random.default_rng(7)
    rss = rng.uniform(50, 500, 12)
    lat = 0.001 * rss + rng.normal(0, 0.05, 12)
    rows = [_run(i, device="pi4" if i < 6 else "nano", rss_mb=rss[i], p50_s=lat[i], throughput_ips=1 / lat[i],
                 batch_size=1 + i % 3) for i in range(12)]
    rows[3]["rss_mb"] = math.inf  # not a number to correlate: left out of that pair only
    c = correlate(pd.DataFrame(rows))
    for dev, idx in (("pi4", [0, 1, 2, 4, 5]), ("nano", list(range(6, 12)))):
        got = _row(c.table, device=dev, y="latency_ms", x="rss_mb")
        assert got["n"] == len(idx)
        assert got["r"] == pytest.approx(float(np.corrcoef(rss[idx], 1000 * lat[idx])[0, 1]), rel=1e-9)
        b = [1 + i % 3 for i in range(12)]
        want = np.corrcoef(np.array(b)[(0 if dev == "pi4" else 6):][:6], (1 / lat)[(0 if dev == "pi4" else 6):][:6])
        assert _row(c.table, device=dev, y="throughput_ips", x="batch_size")["r"] == pytest.approx(want[0, 1])
    assert set(c.matrices) == {"nano", "pi4"}
    m = c.matrices["nano"]
    assert m.loc["rss_mb", "latency_ms"] == pytest.approx(_row(c.table, device="nano", x="rss_mb")["r"])
    assert "cpu_percent" not in m.columns  # constant: not in the heatmap either


def test_too_few_runs_and_power_source_order() -> None:
    rows = [_run(i, p50_s=0.01 * (i + 1), limit_memory_mb=200.0 if i < 2 else np.nan,
                 mon_codecarbon_power_w_mean=10.0 + i, mon_ina219_power_w_mean=(3.0 + i if i != 1 else np.nan),
                 throughput_ips=100.0 / (i + 1)) for i in range(4)]
    c = correlate(pd.DataFrame(rows))
    mem = _row(c.table, y="latency_ms", x="memory_limit_mb")
    assert mem["left_out"] == "fewer than 3 runs with both values (2)" and mem["n"] == 2
    pw = _row(c.table, y="throughput_ips", x="power_w")
    # a meter on the supply (ina219) wins over the CodeCarbon estimate, even with one reading missing
    assert pw["x_source"] == "mon_ina219_power_w_mean" and pw["n"] == 3
    assert pw["r"] == pytest.approx(float(np.corrcoef([3, 5, 6], [100, 100 / 3, 25])[0, 1]))


def test_usb_rate_is_the_measure_phase_mean_over_ticks_of_all_devices() -> None:
    mon = pd.DataFrame([
        {"run_id": "r00", "monitor": "usb", "phase": "load", "t_mono": 1.0, "usb_in_mbps": 900.0, "usb_out_mbps": 0.0},
        {"run_id": "r00", "monitor": "usb", "phase": "measure", "t_mono": 2.0, "usb_in_mbps": 10.0,
         "usb_out_mbps": 2.0},
        {"run_id": "r00", "monitor": "usb", "phase": "measure", "t_mono": 2.0, "usb_in_mbps": 5.0,
         "usb_out_mbps": 1.0},  # a second accelerator at the same tick
        {"run_id": "r00", "monitor": "usb", "phase": "measure", "t_mono": 2.1, "usb_in_mbps": 6.0,
         "usb_out_mbps": 0.0},
        {"run_id": "r00", "monitor": "psutil", "phase": "measure", "t_mono": 2.0},
    ])
    assert usb_rates(mon).to_dict() == {"r00": pytest.approx((18.0 + 6.0) / 2)}


def test_ranking_by_median_with_ties_noise_and_generous_limit() -> None:
    rows = []
    # a: 10, 11, 30 ms -> median 11 (a mean would put it behind b)
    for i, p in enumerate((0.010, 0.011, 0.030)):
        rows.append(_run(i, model="a", p50_s=p))
    for i, p in enumerate((0.0125, 0.0126)):
        rows.append(_run(10 + i, model="b", p50_s=p))
    # c: fast only when starved of nothing; its 100 MiB stage is slow and must not count
    rows += [_run(20, model="c", p50_s=0.050), _run(21, model="c", p50_s=0.051),
             _run(22, model="c", p50_s=0.500, limit_memory_mb=100.0),
             _run(23, model="c", status="oom", p50_s=np.nan, limit_memory_mb=20.0)]
    rows += [_run(30, model="d", p50_s=0.0505, noisy=True)]
    r = rank(pd.DataFrame(rows))
    assert list(r["model"]) == ["a", "b", "c", "d"]
    assert list(r["p50_ms"]) == pytest.approx([11.0, 12.55, 50.5, 50.5])
    # a's runs (10-30 ms) overlap b's: tied, same rank; c and d differ by < 2 %: tied
    assert list(r["rank"]) == [1, 1, 3, 3] and list(r["tied"]) == [True, True, True, True]
    assert list(r["noisy"]) == [True, False, False, True]  # a: p50 CV across runs; d: a noisy run
    assert r.iloc[3]["noise"] == "1 of 1 runs noisy"
    assert _row(r, model="c")["runs"] == 2 and pd.isna(_row(r, model="c")["memory_limit_mb"])
    assert _row(r, model="b")["x_fastest"] == pytest.approx(12.55 / 11.0)
    # separate rankings per precision; a clear gap is no tie
    two = rank(pd.DataFrame([_run(0, model="x", p50_s=0.01), _run(1, model="y", p50_s=0.02),
                             _run(2, model="x", precision="int8", p50_s=0.03)]))
    assert list(zip(two["precision"], two["model"], two["rank"], two["tied"])) == [
        ("fp32", "x", 1, False), ("fp32", "y", 2, False), ("int8", "x", 1, False)]


def test_warmup_at_smallest_batch_and_utilisation_over_all_ok_runs() -> None:
    rows = [_run(0, warmup_s=0.5, p50_s=0.01), _run(1, warmup_s=0.7, p50_s=0.02),
            _run(2, batch_size=8, warmup_s=9.0, p50_s=0.5, **{CPU: 150.0}),
            _run(3, status="oom", warmup_s=99.0, **{CPU: 1000.0}),
            _run(4, model="g", mon_nvml_gpu_util_percent_mean=40.0, **{CPU: np.nan, JTOP_CPU: 20.0}),
            _run(5, model="g", mon_nvml_gpu_util_percent_mean=60.0, **{CPU: np.nan, JTOP_CPU: 30.0})]
    w = warmup(pd.DataFrame(rows))
    m = _row(w, model="m")
    assert (m["batch_size"], m["runs"]) == (1, 2)
    assert m["warmup_ms"] == pytest.approx(600.0) and m["steady_p50_ms"] == pytest.approx(15.0)
    assert m["warmup_x_steady"] == pytest.approx(40.0)
    u = utilisation(pd.DataFrame(rows))
    um, ug = _row(u, model="m"), _row(u, model="g")
    assert um["cpu_percent_mean"] == pytest.approx((90 + 90 + 150) / 3) and um["runs"] == 3
    assert um["cpu_source"] == CPU and pd.isna(um["gpu_percent_mean"]) and um["gpu_source"] == ""
    assert ug["gpu_percent_mean"] == pytest.approx(50.0) and ug["gpu_source"] == "mon_nvml_gpu_util_percent_mean"
    assert ug["cpu_percent_mean"] == pytest.approx(25.0) and ug["cpu_source"] == JTOP_CPU


def test_real_campaign_heatmap_ranking_and_report(tiny_report: ReportData) -> None:
    rep = tiny_report
    out = rep.out_dir
    heat = out / "correlation_host-cpu.png"
    assert heat in rep.figures and heat.read_bytes()[:8] == PNG and heat.stat().st_size > 20_000
    warm = out / "warmup_vs_steady.png"
    assert warm in rep.figures and warm.read_bytes()[:8] == PNG and warm.stat().st_size > 10_000
    # r recomputed here from the runs table's ok rows
    ok = rep.runs[rep.runs["status"] == "ok"]
    corr = pd.read_csv(out / "correlation.csv", keep_default_na=False)
    got = _row(corr, y="latency_ms", x="uss_mb")
    want = np.corrcoef(ok["uss_mb"].to_numpy(float), ok["p50_s"].to_numpy(float))[0, 1]
    assert float(got["r"]) == pytest.approx(want, rel=1e-9)
    assert (int(got["n"]), int(got["runs_ok"]), int(got["runs_failed"])) == (18, 18, 2)
    # only the two 1024 MiB runs asked for a limit
    assert _row(corr, x="memory_limit_mb")["left_out"] == "fewer than 3 runs with both values (2)"
    # ranking: within each group, ascending median of the runs' p50 at the most generous limit
    r = pd.read_csv(out / "ranking.csv")
    assert len(r) == 8
    for _, g in r.groupby(["framework", "precision", "batch_size"]):
        assert list(g["p50_ms"]) == sorted(g["p50_ms"]) and list(g["rank"])[0] == 1
        for _, x in g.iterrows():
            base = ok[(ok["model"] == x["model"]) & (ok["framework"] == x["framework"])
                      & (ok["batch_size"] == x["batch_size"]) & ok["limit_memory_mb"].isna()]
            assert x["p50_ms"] == pytest.approx(1000 * base["p50_s"].median())
    md = (out / "report.md").read_text()
    for section in ("## Ranking by latency", "## Warm-up and utilisation per model", "## Correlation"):
        assert section in md
    assert "](correlation_host-cpu.png)" in md and "](warmup_vs_steady.png)" in md
    assert ("Left out: latency_ms vs memory_limit_mb: fewer than 3 runs with both values (2); "
            "gpu_percent: not measured") in md
    j = to_json(rep)["analyses"]
    assert len(j["ranking"]) == 8 and j["runs_failed"] == {"host-cpu": 2}


def test_only_failed_runs_give_no_heatmap_but_count(tmp_path: Path) -> None:
    camp = tmp_path / "only-oom"
    camp.mkdir()
    for rid in ("47a6f4472ce3", "e22498412069"):
        shutil.copytree(TINY / rid, camp / rid)
    rep = build_report(camp, tmp_path / "rep")
    a = rep.analyses
    assert a is not None and a.figures == [] and a.ranking.empty
    assert a.correlation.failed == {"host-cpu": 2} and (a.correlation.table["runs_ok"] == 0).all()
    assert any(n.startswith("correlation heatmap (host-cpu)") for n in a.notes)
    assert "No ok runs to rank." in (tmp_path / "rep" / "report.md").read_text()


def test_sweep_correlates_latency_with_the_limit_over_ok_stages(tmp_path: Path) -> None:
    rep = build_report(SWEEP, tmp_path / "rep")
    assert rep.analyses is not None
    got = _row(rep.analyses.correlation.table, y="latency_ms", x="memory_limit_mb")
    ok = rep.runs[rep.runs["status"] == "ok"]
    want = np.corrcoef(ok["limit_memory_mb"].to_numpy(float), ok["p50_s"].to_numpy(float))[0, 1]
    assert (got["n"], got["runs_failed"]) == (3, 2) and got["r"] == pytest.approx(want, rel=1e-9)
