"""Result folders as pandas tables and Parquet, on real recorded campaigns (tests/data/results/README.md)."""

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from edgebench.cli.analysis.export import EXPORT_DIR, export, parquet_ready
from edgebench.cli.analysis.tables import load
from edgebench.cli.errors import InputError
from edgebench.cli.store import NO_VERDICT

DATA = Path(__file__).resolve().parent.parent / "data" / "results"
TINY = DATA / "tiny"
SWEEP = DATA / "sweep"


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@pytest.fixture
def tiny_copy(tmp_path: Path) -> Path:
    dst = tmp_path / "tiny"
    shutil.copytree(TINY, dst)
    return dst


def test_runs_table_has_one_row_per_run_with_fate_and_spec() -> None:
    t = load(TINY)
    assert len(t.runs) == 20 and t.damaged == [] and t.warnings == []
    assert t.runs["run_id"].is_unique
    assert t.runs["status"].value_counts().to_dict() == {"ok": 18, "oom": 2}
    oom = t.runs[t.runs["status"] == "oom"]
    assert set(oom["model"]) == {"resnet18"} and set(oom["framework"]) == {"torch"}
    assert set(oom["batch_size"]) == {2} and set(oom["limit_memory_mb"]) == {150.0}
    assert oom["expect"].eq("oom").all() and oom["as_expected"].all() and oom["oom_killed"].all()
    assert oom["exit_code"].eq(-9).all()  # SIGKILL from the kernel
    ok = t.runs[t.runs["status"] == "ok"]
    assert ok["n"].eq(5).all() and ok["inferences"].eq(5 * ok["batch_size"]).all()
    assert ok["kernel"].notna().all() and ok["cpu_model"].notna().all() and ok["runtime_version"].notna().all()
    assert ok["fell_back"].eq(False).all()


def test_p50_in_runs_table_is_the_median_of_that_runs_samples_file() -> None:
    t = load(TINY)
    for _, row in t.runs[t.runs["status"] == "ok"].iterrows():
        lat = [s["latency_s"] for s in _jsonl(TINY / row["run_id"] / "samples.jsonl") if s["phase"] == "measure"]
        assert len(lat) == 5
        assert row["p50_s"] == pytest.approx(float(np.median(lat)), rel=1e-12)
        assert row["max_s"] == pytest.approx(max(lat), rel=1e-12)
        assert row["throughput_ips"] == pytest.approx(row["inferences"] / row["measure_time_s"])


def test_samples_table_holds_every_warmup_and_timed_latency() -> None:
    t = load(TINY)
    assert len(t.samples) == 18 * (2 + 5)  # 2 warm-ups + 5 iterations per ok run; OOM runs wrote none
    per = t.samples.groupby(["run_id", "phase"]).size().unstack()
    assert per["warmup"].eq(2).all() and per["measure"].eq(5).all()
    one = t.runs[t.runs["status"] == "ok"].iloc[0]
    warm = t.samples[(t.samples["run_id"] == one["run_id"]) & (t.samples["phase"] == "warmup")]
    assert warm.sort_values("index")["latency_s"].iloc[0] == pytest.approx(one["warmup_s"])


def test_limits_asked_and_applied_come_from_inside_or_else_from_the_host() -> None:
    r = load(TINY).runs
    lim = r[(r["limit_memory_mb"] == 1024.0)]
    assert len(lim) == 2
    assert lim["applied_memory_mb"].eq(1024.0).all() and lim["limits_source"].eq("inside").all()
    assert lim["limits_match"].eq(True).all()
    # The OOM-killed runs died before reading their cgroup: the host's read-back is used, and said so.
    oom = r[r["status"] == "oom"]
    assert oom["applied_memory_mb"].eq(150.0).all() and oom["applied_memory_swap_mb"].eq(150.0).all()
    assert oom["limits_source"].eq("host").all() and oom["limits_match"].eq(True).all()
    free = r[r["limit_memory_mb"].isna()]
    assert free["applied_memory_mb"].isna().all()


def test_monitor_samples_are_tagged_with_the_phase_they_fell_in() -> None:
    t = load(TINY)
    for run_id in t.runs.loc[t.runs["status"] == "ok", "run_id"]:
        assert (t.monitor["run_id"] == run_id).sum() == len(_jsonl(TINY / run_id / "monitor.jsonl"))
    rid = t.runs.loc[(t.runs["status"] == "ok") & (t.runs["framework"] == "torch"), "run_id"].iloc[0]
    phases = {p["name"]: p for p in json.loads((TINY / rid / "result.json").read_text())["phases"]}
    mon = t.monitor[t.monitor["run_id"] == rid]
    assert {"import", "load"} <= set(mon["phase"])  # torch takes seconds to import and load
    for _, m in mon.iterrows():
        if m["phase"] in phases:
            p = phases[m["phase"]]
            assert p["start_mono"] <= m["t_mono"] <= p["end_mono"]
    assert mon["rss_mb"].notna().all() and mon["t_rel_s"].is_monotonic_increasing


def test_sweep_labels_become_columns() -> None:
    r = load(SWEEP).runs
    assert set(r["label_round"]) == {"ascending", "descending"}
    assert sorted(r["label_stage"]) == ["0", "0", "1", "1", "2"]
    assert r["limit_swappiness"].eq(10).all() and r["limit_memory_swap_mb"].eq(200.0).all()
    assert r.loc[r["status"] == "ok", "applied_swappiness"].eq(10).all()
    assert "run with --allow-no-swap" in r["limit_notes"].iloc[0]


def test_damaged_and_unfinished_folders_are_reported_and_left_out(tiny_copy: Path) -> None:
    broken, unfinished = "1b39c8617a1e", "e468329a3df4"
    path = tiny_copy / broken / "result.json"
    path.write_text(path.read_text()[:500])  # a crash mid-write without the atomic rename
    (tiny_copy / unfinished / "result.json").unlink()
    t = load(tiny_copy)
    assert [(p.name, why[:20]) for p, why in t.damaged] == [(broken, "damaged result.json:")]
    assert [(p.name, why) for p, why in t.incomplete] == [(unfinished, "no result.json (the run did not finish)")]
    assert len(t.runs) == 18
    for table in (t.runs, t.samples, t.monitor):
        assert not table["run_id"].isin([broken, unfinished]).any()


def test_a_result_without_the_host_verdict_is_incomplete_not_ok(tiny_copy: Path) -> None:
    """What a full disk or a SIGINT between the child's exit and the host's check leaves: the child's
    own result.json, status ok, no host part. It is not data."""
    rid = "1b39c8617a1e"
    path = tiny_copy / rid / "result.json"
    data = json.loads(path.read_text())
    assert data["status"] == "ok" and data["host"]
    data["host"] = {}
    path.write_text(json.dumps(data))
    t = load(tiny_copy)
    assert [(p.name, why) for p, why in t.incomplete] == [(rid, NO_VERDICT)] and t.damaged == []
    assert len(t.runs) == 19 and not t.runs["run_id"].eq(rid).any()
    assert not t.samples["run_id"].eq(rid).any() and not t.monitor["run_id"].eq(rid).any()


def test_a_missing_samples_file_is_reported_not_silently_replaced(tiny_copy: Path) -> None:
    rid = "1b39c8617a1e"
    (tiny_copy / rid / "samples.jsonl").unlink()
    t = load(tiny_copy)
    assert [(p.name, why) for p, why in t.warnings] == [
        (rid, "samples.jsonl is missing; latencies taken from result.json")]
    res = json.loads((TINY / rid / "result.json").read_text())
    got = t.samples[(t.samples["run_id"] == rid) & (t.samples["phase"] == "measure")]
    assert got.sort_values("index")["latency_s"].tolist() == res["latencies_s"]


def test_non_utf8_bytes_in_a_monitor_stream_skip_that_stream_with_file_line_and_offset(tiny_copy: Path) -> None:
    rid = "1b39c8617a1e"
    path = tiny_copy / rid / "monitor.jsonl"
    lines = path.read_bytes().splitlines(keepends=True)
    offset = len(lines[0]) + len(lines[1]) + 5
    path.write_bytes(lines[0] + lines[1] + lines[2][:5] + b"\xff\xfe" + lines[2][5:] + b"".join(lines[3:]))
    t = load(tiny_copy)
    assert [(p.name, why) for p, why in t.warnings] == [
        (rid, "monitor.jsonl line 3 is not UTF-8 (byte offset %d: b'\\xff'); monitor stream left out" % offset)]
    assert len(t.runs) == 20 and not t.monitor["run_id"].eq(rid).any()
    assert t.monitor["run_id"].nunique() == load(TINY).monitor["run_id"].nunique() - 1  # the others are kept


def test_non_utf8_bytes_in_result_json_make_the_folder_damaged(tiny_copy: Path) -> None:
    path = tiny_copy / "1b39c8617a1e" / "result.json"
    path.write_bytes(b"\xff" + path.read_bytes())
    t = load(tiny_copy)
    assert [p.name for p, _ in t.damaged] == ["1b39c8617a1e"] and "utf-8" in t.damaged[0][1]


def test_a_damaged_samples_file_is_reported_and_result_json_latencies_used(tiny_copy: Path) -> None:
    rid = "1b39c8617a1e"
    (tiny_copy / rid / "samples.jsonl").write_text('{"index": 0, "latency_s": 0.1, "pha')
    t = load(tiny_copy)
    assert [p.name for p, _ in t.warnings] == [rid]
    assert "samples.jsonl line 1 is not JSON" in t.warnings[0][1]
    res = json.loads((TINY / rid / "result.json").read_text())
    got = t.samples[(t.samples["run_id"] == rid) & (t.samples["phase"] == "measure")]
    assert got.sort_values("index")["latency_s"].tolist() == res["latencies_s"]


def test_missing_campaign_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such campaign folder"):
        load(tmp_path / "nope")


def test_parquet_export_round_trips(tiny_copy: Path, tmp_path: Path) -> None:
    t = load(tiny_copy)
    paths = export(tiny_copy, tmp_path / "out")
    assert [p.name for p in paths] == ["runs.parquet", "samples.parquet", "monitor.parquet"]
    back = {p.stem: pd.read_parquet(p) for p in paths}
    assert len(back["runs"]) == 20 and len(back["samples"]) == 126 and len(back["monitor"]) == len(t.monitor)
    assert list(back["runs"].columns) == list(t.runs.columns)
    a = back["runs"].set_index("run_id").sort_index()
    b = t.runs.set_index("run_id").sort_index()
    assert np.allclose(a["p50_s"], b["p50_s"], equal_nan=True)
    assert a["status"].tolist() == b["status"].tolist()
    assert [None if pd.isna(v) else bool(v) for v in a["fell_back"]] == [
        None if v is None else bool(v) for v in b["fell_back"]]
    assert a["fell_back"].isna().sum() == 2  # the OOM-killed runs never reported a placement
    # The default folder sits inside the campaign, and is not mistaken for a run folder afterwards.
    default = export(tiny_copy)
    assert default[0].parent == tiny_copy / EXPORT_DIR
    assert load(tiny_copy).damaged == []


def test_parquet_ready_gives_mixed_columns_one_type() -> None:
    df = pd.DataFrame({"flag": [True, None, False], "mixed": [1, "a", None], "empty": [None, None, None],
                       "nums": [1, None, 2.5]}, dtype=object)
    out = parquet_ready(df)
    assert str(out["flag"].dtype) == "boolean" and out["flag"].isna().tolist() == [False, True, False]
    assert out["mixed"].tolist()[:2] == ["1", "a"] and pd.isna(out["mixed"].iloc[2])
    assert str(out["nums"].dtype) == "float64"
