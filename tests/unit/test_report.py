"""The campaign report on real recorded campaigns (tests/data/results/README.md)."""

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from edgebench.cli.analysis.tables import load
from edgebench.cli.report import ReportData, build_report, render, to_json
from edgebench.cli.report.build import REPORT_DIR
from edgebench.cli.runners.base import Fate, finalize
from edgebench.cli.store import NO_VERDICT
from edgebench.suite.spec import RunSpec
from rich.console import Console

DATA = Path(__file__).resolve().parent.parent / "data" / "results"
TINY, SWEEP, FALLBACK, REPS = DATA / "tiny", DATA / "sweep", DATA / "fallback", DATA / "reps"
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def tiny_report(tmp_path_factory: pytest.TempPathFactory) -> ReportData:
    """Built once: drawing the figures is the slow part."""
    return build_report(TINY, tmp_path_factory.mktemp("tiny-report"))


def _cell(summary: pd.DataFrame, **key: object) -> pd.Series:
    m = pd.Series(True, index=summary.index)
    for k, v in key.items():
        m &= summary[k].isna() if v is None else summary[k] == v
    rows = summary[m]
    assert len(rows) == 1, rows
    return rows.iloc[0]


def _p50_from_samples(run_dir: Path) -> float:
    rows = [json.loads(x) for x in (run_dir / "samples.jsonl").read_text().splitlines() if x.strip()]
    return float(np.median([r["latency_s"] for r in rows if r["phase"] == "measure"]))


def test_cells_counts_and_medians_over_repetitions(tiny_report: ReportData) -> None:
    rep = tiny_report
    s = rep.summary
    assert len(s) == 10 and rep.counts == {"ok": 18, "oom": 2} and rep.unexpected == 0
    assert list(s.columns[:6]) == ["model", "framework", "precision", "batch_size", "limit_memory_mb",
                                   "limit_memory_swap_mb"]
    c = _cell(s, model="resnet18", framework="torch", batch_size=1, limit_memory_mb=None)
    run_ids = c["run_ids"].split()
    assert len(run_ids) == 2 and c["ok"] == 2
    # p50 of the cell = median over the repetitions of each run's own p50, read here from samples.jsonl.
    want = 1000 * float(np.median([_p50_from_samples(TINY / r) for r in run_ids]))
    assert c["p50_ms_median_of_runs"] == pytest.approx(want, rel=1e-9)
    runs = rep.runs.set_index("run_id").loc[run_ids]
    assert c["p99_ms_median_of_runs"] == pytest.approx(1000 * runs["p99_s"].median())
    assert c["throughput_ips_median_of_runs"] == pytest.approx(runs["throughput_ips"].median())
    assert c["warmup_ms_median_of_runs"] == pytest.approx(1000 * runs["warmup_s"].median())
    assert c["peak_rss_mb_max_of_runs"] == pytest.approx(runs["ru_maxrss_mb"].max())


def test_cell_values_are_medians_not_means_over_five_repetitions(tmp_path: Path) -> None:
    rep = build_report(REPS, tmp_path / "rep")
    assert len(rep.summary) == 1 and rep.summary.iloc[0]["ok"] == 5
    p50s = [_p50_from_samples(d) for d in sorted(REPS.iterdir()) if d.is_dir()]
    assert abs(np.median(p50s) - np.mean(p50s)) > 1e-4  # this recording tells the two apart
    assert rep.summary.iloc[0]["p50_ms_median_of_runs"] == pytest.approx(1000 * float(np.median(p50s)), rel=1e-9)
    thr = rep.runs["throughput_ips"]
    assert rep.summary.iloc[0]["throughput_ips_median_of_runs"] == pytest.approx(float(np.median(thr)))


def test_expected_oom_counts_as_expected_and_unexpected_oom_is_flagged(tiny_report: ReportData,
                                                                         tmp_path: Path) -> None:
    s = tiny_report.summary
    oom = _cell(s, model="resnet18", framework="torch", batch_size=2, limit_memory_mb=150.0)
    assert (oom["runs"], oom["oom"], oom["ok"]) == (2, 2, 0)
    assert oom["as_expected"] and oom["status_check"] == "as expected" and "unexpected" not in oom["flags"]
    assert pd.isna(oom["p50_ms_median_of_runs"])
    # In the sweep no cell says `expect: oom`, so the 40 MiB OOM kills are unexpected.
    sw = build_report(SWEEP, tmp_path / "sweep").summary
    low = sw[sw["limit_memory_mb"] == 40.0]
    assert len(low) == 2 and not low["as_expected"].any()
    assert low["flags"].str.contains("unexpected").all()
    assert low["status_check"].eq("unexpected: 1 oom (expected ok)").all()
    assert sw.loc[sw["limit_memory_mb"] > 40.0, "as_expected"].all()


def test_an_ok_run_where_oom_was_expected_is_unexpected(tmp_path: Path) -> None:
    camp = tmp_path / "tiny"
    shutil.copytree(TINY, camp)
    path = camp / "1b39c8617a1e" / "result.json"  # resnet18/torch b1, repetition 0, ended ok
    data = json.loads(path.read_text())
    data["spec"]["expect"] = "oom"
    path.write_text(json.dumps(data))
    c = _cell(build_report(camp, tmp_path / "rep").summary, model="resnet18", framework="torch", batch_size=1,
              limit_memory_mb=None)
    assert not c["as_expected"] and c["unexpected_runs"] == 1 and "unexpected" in c["flags"]


def test_a_run_that_throttled_flags_its_cell(tmp_path: Path) -> None:
    camp = tmp_path / "tiny"
    shutil.copytree(TINY, camp)
    path = camp / "1b39c8617a1e" / "result.json"
    data = json.loads(path.read_text())
    data["throttled"] = True  # as probes.verdict_of_env would record it
    data["throttle"] = {"throttled": True, "evidence": ["cpu0 max freq fell 1479000 -> 921600 kHz"]}
    path.write_text(json.dumps(data))
    summary = build_report(camp, tmp_path / "rep").summary
    c = _cell(summary, model="resnet18", framework="torch", batch_size=1, limit_memory_mb=None)
    assert c["throttled"] and "throttled" in c["flags"]
    other = _cell(summary, model="resnet18", framework="torch", batch_size=2, limit_memory_mb=None)
    assert not other["throttled"]


def _host_checked(src: Path, dst: Path) -> Path:
    """A copy of a campaign recorded with the harness alone, with the host's verdict added by the runners'
    own finalize (what a runner does after the child exits 0)."""
    shutil.copytree(src, dst)
    for run in dst.iterdir():
        if (run / "spec.json").exists():
            spec = RunSpec.from_dict(json.loads((run / "spec.json").read_text()))
            finalize(spec, run, Fate(runner="local", exit_code=0))
    return dst


def test_placement_fallback_and_limit_notes_are_flagged(tmp_path: Path) -> None:
    fb = build_report(_host_checked(FALLBACK, tmp_path / "fallback"), tmp_path / "fb")
    c = fb.summary.iloc[0]
    assert c["fell_back"] and "fallback" in c["flags"] and c["placement_actual"] == "CPUExecutionProvider"
    assert "placement fell back: ran on CPUExecutionProvider" in (tmp_path / "fb" / "report.md").read_text()
    sw = build_report(SWEEP, tmp_path / "sweep").summary
    assert sw["flags"].str.contains("limits_note").all()  # every sweep run ran with --allow-no-swap


def test_noisy_means_the_run_to_run_ci_is_wider_than_the_threshold(tiny_report: ReportData) -> None:
    """The rule of cli/analysis/noise.py: a cell is noisy when the 95 % CI of its median p50 over runs is
    wider than +-10 % (a run's own IQR/median flag is a note). With two runs the bootstrap medians are
    a, (a+b)/2 and b, so the CI is [min, max] and its half-width |a-b|/(a+b)."""
    rep = tiny_report
    runs = rep.runs.set_index("run_id")
    seen = 0
    for _, c in rep.summary.iterrows():
        ok = runs.loc[c["run_ids"].split()]
        ok = ok[ok["status"] == "ok"]
        p50 = ok["p50_s"].to_numpy(dtype=float)
        if len(p50) != 2:
            continue
        seen += 1
        a, b = p50
        assert bool(c["noisy"]) == bool(abs(a - b) / (a + b) > 0.10), c["run_ids"]
        assert c["p50_ms_ci_lo"] == pytest.approx(1000 * min(a, b))
        assert c["p50_ms_ci_hi"] == pytest.approx(1000 * max(a, b))
        assert ("noisy" in c["flags"]) == bool(c["noisy"])
        if ok["noisy"].any():
            assert "IQR/median" in c["run_spread_notes"] or "CV" in c["run_spread_notes"]
    assert seen >= 8
    md = (rep.out_dir / "report.md").read_text()
    first = rep.summary.dropna(subset=["p50_ms_ci_lo"]).iloc[0]
    assert "p50 ms [95% CI]" in md and "[%.2f-%.2f]" % (first["p50_ms_ci_lo"], first["p50_ms_ci_hi"]) in md


def test_report_files_csv_png_and_markdown(tiny_report: ReportData) -> None:
    rep = tiny_report
    out = rep.out_dir
    names = sorted(p.name for p in rep.files)
    assert names == ["correlation.csv", "correlation_host-cpu.png", "latency_p50_by_framework_batch.png",
                     "latency_vs_memory_limit.png", "p2_cost_performance.csv", "p2_load_vs_inference.csv",
                     "ranking.csv", "report.html", "report.md", "runs.csv",
                     "summary.csv", "throughput_vs_batch.png", "utilisation.csv", "warmup.csv", "warmup_vs_steady.png"]
    for f in rep.figures:
        assert f.read_bytes()[:8] == PNG and f.stat().st_size > 10_000
    back = pd.read_csv(out / "summary.csv")
    assert len(back) == 10 and back["p50_ms_median_of_runs"].sum() == pytest.approx(
        rep.summary["p50_ms_median_of_runs"].sum())
    assert len(pd.read_csv(out / "runs.csv")) == 20
    md = (out / "report.md").read_text()
    for f in rep.figures:
        assert "](%s)" % f.name in md
    kernel = rep.runs["kernel"].dropna().iloc[0]
    assert "- kernel: %s" % kernel in md and "edgebench-host-cpu-torch" in md
    assert "| resnet18 | torch | fp32 | 2 | 150 MiB | 2 oom |" in md


def test_default_report_folder_is_not_read_as_a_run(tmp_path: Path) -> None:
    camp = tmp_path / "tiny"
    shutil.copytree(TINY, camp)
    first = build_report(camp)
    assert first.out_dir == camp / REPORT_DIR and (camp / REPORT_DIR / "report.md").exists()
    assert load(camp).damaged == [] and len(load(camp).runs) == 20


def test_damaged_run_is_listed_in_the_report_and_not_counted(tmp_path: Path) -> None:
    camp = tmp_path / "tiny"
    shutil.copytree(TINY, camp)
    (camp / "d816104fbf65" / "result.json").write_text("{")
    rep = build_report(camp, tmp_path / "rep")
    assert rep.counts == {"ok": 17, "oom": 2, "damaged": 1} and rep.unexpected == 1
    assert int(rep.summary["runs"].sum()) == 19
    j = to_json(rep)
    assert [d["path"] for d in j["damaged"]] == [str(camp / "d816104fbf65")]
    assert "damaged run folder `%s`" % (camp / "d816104fbf65") in (tmp_path / "rep" / "report.md").read_text()


def test_campaign_without_ok_runs_still_reports(tmp_path: Path) -> None:
    camp = tmp_path / "only-oom"
    camp.mkdir()
    for rid in ("47a6f4472ce3", "e22498412069"):
        shutil.copytree(TINY / rid, camp / rid)
    rep = build_report(camp, tmp_path / "rep")
    assert rep.counts == {"oom": 2} and len(rep.summary) == 1
    assert [f.name for f in rep.figures] == ["latency_vs_memory_limit.png"]  # OOM marks on the memory axis
    figure_notes = [n for n in rep.notes if not n.startswith("energy:")]
    assert any("no ok runs" in n for n in figure_notes) and len(figure_notes) == 2
    assert "not drawn: p50 latency bars: no ok runs" in (tmp_path / "rep" / "report.md").read_text()
    empty = tmp_path / "empty"
    empty.mkdir()
    rep = build_report(empty, tmp_path / "rep2")
    assert rep.counts == {} and rep.figures == [] and rep.notes[0] == "figures: no runs, nothing to draw"
    assert to_json(rep)["cells"] == []
    assert render(rep).row_count == 0


def test_render_and_json(tmp_path: Path) -> None:
    rep = build_report(SWEEP, tmp_path / "rep")
    table = render(rep)
    assert table.row_count == 5
    headers = [str(c.header) for c in table.columns]
    # One model, framework, precision and batch: those move to the title; what varies stays a column.
    assert headers == ["mem MiB", "round", "stage", "p50 ms", "p99 ms", "inf/s", "warm ms", "RSS MiB", "runs",
                       "flags"]
    assert "all cells: mobilenet_v3_small, onnxruntime, fp32, batch 1" in str(table.title)
    console = Console(record=True, width=250)
    console.print(table)
    text = console.export_text()
    assert "40+160sw" in text and "1 oom (expected ok)" in text
    j = to_json(rep)
    json.dumps(j, allow_nan=False)  # plain JSON: no NaN, no numpy types
    assert j["counts"] == {"ok": 3, "oom": 2} and len(j["cells"]) == 5 and j["unexpected"] == 2
    assert sorted(f["cell"]["limit_memory_mb"] for f in j["flagged"] if "unexpected" in f["flags"]) == [40.0, 40.0]
    assert j["environment"]["frameworks"]["onnxruntime"]["version"] == ["1.32.0"]
    assert j["environment"]["kernel"] and j["environment"]["varies"] == []


def test_a_run_the_host_never_checked_is_incomplete_and_left_out(tmp_path: Path) -> None:
    """The recorded fallback run has only the child's result.json (no host part): not data."""
    rep = build_report(FALLBACK, tmp_path / "rep")
    assert rep.runs.empty and rep.counts == {"incomplete": 1} and rep.unexpected == 1
    assert [(p.name, why) for p, why in rep.incomplete] == [("b2fefdf082e5", NO_VERDICT)]
    j = to_json(rep)
    assert j["incomplete"] == [{"path": str(FALLBACK / "b2fefdf082e5"), "problem": NO_VERDICT}]
    assert "incomplete run folder `%s`, left out" % (FALLBACK / "b2fefdf082e5") in (tmp_path / "rep" / "report.md"
                                                                                   ).read_text()


def test_report_and_export_commands_skip_a_non_utf8_stream_naming_file_and_offset(tmp_path: Path) -> None:
    import subprocess
    import sys

    camp = tmp_path / "tiny"
    shutil.copytree(TINY, camp)
    mon = camp / "1b39c8617a1e" / "monitor.jsonl"
    mon.write_bytes(b"\xc3\x28" + mon.read_bytes())  # an invalid 2-byte sequence at offset 0
    eb = [sys.executable, "-m", "edgebench.cli.app"]
    why = "monitor.jsonl line 1 is not UTF-8 (byte offset 0: b'\\xc3'); monitor stream left out"
    rep = subprocess.run(eb + ["report", str(camp), "--json"], capture_output=True, text=True, timeout=300)
    assert rep.returncode == 0 and "Traceback" not in rep.stderr, rep.stderr
    assert json.loads(rep.stdout)["warnings"] == [{"path": str(camp / "1b39c8617a1e"), "problem": why}]
    exp = subprocess.run(eb + ["results", "export", str(camp), "--json"], capture_output=True, text=True,
                         timeout=300)
    assert exp.returncode == 0 and "Traceback" not in exp.stderr, exp.stderr
    assert why in exp.stderr and json.loads(exp.stdout)["rows"]["runs"] == 20
