"""Concurrent model execution and dynamic placement on real runtimes (ORT, LiteRT, torch), small models."""

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest
from edgebench.suite import workloads
from edgebench.suite.harness import run
from edgebench.suite.spec import RunResult, RunSpec, StreamSpec
from edgebench.suite.workloads.base import available_cpus
from edgebench.suite.workloads.placement import lcm_interval

from tests.conftest import has_module, need
from tests.integration.conftest import make_artifact

pytestmark = pytest.mark.integration
SHAPE = (3, 64, 64)
TFLITE_SHAPE = (3, 96, 96)  # the smallest Keras MobileNetV3-Small input the artefact tests use
ITERS = 150  # timed iterations per copy in the CME test


@pytest.fixture(scope="module")
def arts(models_dir: Path) -> dict[str, Any]:
    need(has_module("torch") and has_module("onnxruntime") and has_module("onnx"), "torch, onnx, onnxruntime")
    return {"onnxruntime": make_artifact(models_dir, "onnx", "mobilenet_v3_small", "3,64,64"),
            "torch": make_artifact(models_dir, "torch", "mobilenet_v3_small", "3,64,64"), "models": models_dir}


@pytest.fixture(scope="module")
def tflite_art(arts: dict[str, Any]) -> str:
    need(has_module("tensorflow"), "tensorflow is not installed (pip install tensorflow-cpu)")
    need(has_module("ai_edge_litert") or has_module("tflite_runtime"), "no TFLite runtime (pip install ai-edge-litert)")
    from edgebench.cli import artifacts

    art = artifacts.Artifact("tflite", "mobilenet_v3_small", TFLITE_SHAPE, 1000, 0, "fp32")
    artifacts.ensure(art, arts["models"])
    return art.relpath


def _spec(framework: str, arts: dict[str, Any], tflite: str, **kw: Any) -> RunSpec:
    art = tflite if framework == "tflite" else arts[framework]
    shape = TFLITE_SHAPE if framework == "tflite" else SHAPE
    return RunSpec(model="mobilenet_v3_small", framework=framework, input_shape=shape, artifact=art, monitors=(),
                   **kw).validate()


def _drive(spec: RunSpec, models: Path) -> tuple[workloads.Workload, RunResult]:
    """The harness's phases in-process, so the copies' runtime objects can be looked at."""
    work = workloads.create(spec, str(models))
    for step in (work.create, work.load, work.build, work.warmup, work.measure):
        step()
    result = RunResult(run_id=spec.run_id, status="ok", spec=spec.to_dict())
    work.fill(result)
    return work, result


@pytest.mark.parametrize("framework", ["onnxruntime", "tflite", "torch"])
@pytest.mark.parametrize("copies", [2, 4])
def test_cme_copies_run_at_once_each_with_its_own_runtime(framework: str, copies: int, arts: dict[str, Any],
                                                          request: pytest.FixtureRequest) -> None:
    tflite = request.getfixturevalue("tflite_art") if framework == "tflite" else ""
    # Enough work per copy (~0.1 s and more) that a copy cannot finish before the scheduler starts the
    # last one: 4 copies share 2 cores here, and a thread may wait a few ms after the barrier opens.
    spec = _spec(framework, arts, tflite, workload="concurrent", copies=copies, batch_size=2, warmups=1,
                 iterations=ITERS)
    work, r = _drive(spec, arts["models"])
    objects = [c.loaded().runtime_object() for c in work.copies()]
    assert all(o is not None for o in objects) and len({id(o) for o in objects}) == copies
    (st,) = r.streams
    assert len(st.copies) == copies and [c.copy for c in st.copies] == list(range(copies))
    starts = [c.start_mono for c in st.copies]
    ends = [c.end_mono for c in st.copies]
    assert all(s is not None for s in starts) and all(e is not None for e in ends)
    assert max(starts) < min(ends)  # every copy was running while every other one was: really concurrent
    release = r.sync["release_mono"]
    assert release <= min(starts)
    assert r.measure_time_s == pytest.approx(max(ends) - release)
    assert r.inferences == copies * 2 * ITERS and all(c.inferences == 2 * ITERS for c in st.copies)
    assert r.throughput_ips == pytest.approx(copies * 2 * ITERS / (max(ends) - release))
    assert r.skew_s == pytest.approx(max(ends) - min(ends))
    threads = max(1, available_cpus() // copies)
    assert all(c.threads == threads for c in st.copies)
    assert st.placement["threads"]["per_copy"] == threads
    if framework == "onnxruntime":  # applied per runtime object: each session has its own intra-op pool size
        assert all(o.get_session_options().intra_op_num_threads == threads for o in objects)
    if framework == "torch":  # process-wide in torch: set once to the per-copy value, and recorded as such
        import torch

        assert torch.get_num_threads() == threads and st.placement["threads"]["scope"].startswith("process")
    assert all(len(c.latencies_s) == ITERS and len(c.warmup_latencies_s) == 1 for c in st.copies)
    assert len(r.latencies_s) == copies * ITERS  # top level pools every copy's latencies
    for c in st.copies:
        assert c.throughput_ips == pytest.approx(2 * ITERS / (c.end_mono - c.start_mono))


def test_cme_through_the_harness_writes_streams_and_samples(tmp_path: Path, arts: dict[str, Any]) -> None:
    spec = _spec("onnxruntime", arts, "", workload="concurrent", copies=2, threads=1, warmups=2, iterations=5)
    res = run(spec, str(tmp_path), str(arts["models"]))
    assert res.status == "ok", res.reason
    assert [p.name for p in res.phases] == ["import", "load", "build", "warmup", "measure"]
    measure = res.phase("measure")
    assert measure is not None
    for c in res.streams[0].copies:
        assert c.threads == 1 and measure.start_mono <= c.start_mono < c.end_mono <= measure.end_mono
    saved = RunResult.from_dict(json.loads((tmp_path / "result.json").read_text()))
    assert saved.workload == "concurrent" and len(saved.streams[0].copies) == 2
    rows = [json.loads(x) for x in (tmp_path / "samples.jsonl").read_text().splitlines()]
    assert {(r["stream"], r["copy"]) for r in rows} == {("0", 0), ("0", 1)}
    assert sum(1 for r in rows if r["phase"] == "measure") == 10 and len(rows) == 14
    assert res.summary is not None and res.summary.n == 10


def _dmp(arts: dict[str, Any], **kw: Any) -> RunSpec:
    torch_stream = StreamSpec(model="mobilenet_v3_small", framework="torch", input_shape=SHAPE,
                              artifact=arts["torch"], threads=1, placement=kw.pop("second", "cpu"))
    base: dict[str, Any] = dict(workload="placement", threads=1, warmups=1, streams=(torch_stream,),
                                sync_granularity_s=0.001, sync_min_s=0.4, sync_max_s=5.0)
    base.update(kw)
    return _spec("onnxruntime", arts, "", **base)


def test_dmp_runs_two_runtimes_for_the_lcm_interval(tmp_path: Path, arts: dict[str, Any]) -> None:
    res = run(_dmp(arts), str(tmp_path), str(arts["models"]))
    assert res.status == "ok", res.reason
    s = res.sync
    times = s["single_inference_s"]
    assert set(times) == {"0", "1"} and all(t > 0 for t in times.values())
    assert [st.single_inference_s for st in res.streams] == [times["0"], times["1"]]
    want = lcm_interval(times, 0.001, 0.4, 5.0)
    assert res.interval_s == res.measure_time_s == pytest.approx(want["interval_s"])
    assert s["lcm_s"] == pytest.approx(want["lcm_s"]) and s["capped"] == want["capped"]
    if not s["capped"]:
        assert res.interval_s >= 0.4
    counted = sum(st.inferences for st in res.streams)
    assert all(st.inferences > 0 for st in res.streams) and res.inferences == counted
    assert res.throughput_ips == pytest.approx(counted / res.interval_s)
    for st in res.streams:  # a stream counts only what finished inside the interval
        for c in st.copies:
            assert c.inferences <= len(c.latencies_s) and c.start_mono >= s["release_mono"]
    ends = s["stream_end_mono"]
    assert res.skew_s == pytest.approx(max(ends.values()) - min(ends.values()))
    assert res.valid == (res.skew_s <= 1.0)
    assert [st.framework for st in res.streams] == ["onnxruntime", "torch"]


def test_dmp_over_the_skew_limit_is_kept_and_marked_invalid(tmp_path: Path, arts: dict[str, Any]) -> None:
    res = run(_dmp(arts, skew_limit_s=1e-7), str(tmp_path), str(arts["models"]))
    assert res.status == "ok", res.reason
    assert res.skew_s is not None and res.skew_s > 1e-7
    assert res.valid is False and "skew_limit_s" in res.invalid_reason
    saved = json.loads((tmp_path / "result.json").read_text())
    assert saved["valid"] is False and saved["skew_s"] == res.skew_s
    assert all(st["copies"][0]["latencies_s"] for st in saved["streams"])  # the measurement is all there


def test_dmp_window_and_cpu_sets(tmp_path: Path, arts: dict[str, Any]) -> None:
    need(hasattr(os, "sched_getaffinity") and len(os.sched_getaffinity(0)) >= 2, "two CPUs to pin to")
    res = run(_dmp(arts, sync="window", sync_min_s=0.0, sync_max_s=0.5, placement="cpu:0", second="cpu:1"),
              str(tmp_path),
              str(arts["models"]))
    assert res.status == "ok", res.reason
    assert res.sync["method"] == "window" and res.interval_s == 0.5 and res.valid
    assert [st.copies[0].cpus for st in res.streams] == [[0], [1]]  # read back inside each stream's thread
    assert [st.copies[0].device for st in res.streams] == ["cpu:0", "cpu:1"]
    assert all(st.single_inference_s is None for st in res.streams)


def test_a_failing_stream_stops_the_others_and_the_run_is_kept(tmp_path: Path, arts: dict[str, Any]) -> None:
    # A real runtime error in a copy's thread: ORT refuses an input of the wrong shape (no warm-up, so the
    # first inference is in the measure phase).
    bad = StreamSpec(model="mobilenet_v3_small", framework="onnxruntime", input_shape=(3, 32, 32),
                     artifact=arts["onnxruntime"], threads=1)
    spec = _spec("onnxruntime", arts, "", workload="placement", threads=1, warmups=0, streams=(bad,),
                 sync="window", sync_min_s=0.0, sync_max_s=2.0)
    t0 = time.monotonic()
    res = run(spec, str(tmp_path), str(arts["models"]))
    assert time.monotonic() - t0 < 60  # no copy left waiting on a barrier
    assert res.status == "failed" and "INVALID_ARGUMENT" in res.reason.upper(), res.reason
    good, failed = res.streams
    assert "INVALID_ARGUMENT" in failed.copies[0].error.upper()
    assert good.copies[0].error.startswith("stopped")
    saved = json.loads((tmp_path / "result.json").read_text())
    assert saved["status"] == "failed" and len(saved["streams"]) == 2


def test_tables_and_parquet_keep_stream_and_copy(tmp_path: Path, arts: dict[str, Any]) -> None:
    """A CME run through the real local runner: the samples table and its Parquet export keep which copy
    each latency came from, read from samples.jsonl and, when that file is gone, from result.json."""
    import pandas as pd
    from edgebench.cli.analysis import export, tables
    from edgebench.cli.runners.local import LocalRunner

    spec = _spec("onnxruntime", arts, "", workload="concurrent", copies=2, threads=1, warmups=1, iterations=4)
    camp = tmp_path / "camp"
    res = LocalRunner().execute(spec, camp / spec.run_id, arts["models"])
    assert res.status == "ok", res.reason
    t = tables.load(camp)
    per_copy = t.samples[t.samples["phase"] == "measure"].groupby(["stream", "copy"]).size().to_dict()
    assert per_copy == {("0", 0): 4, ("0", 1): 4}
    paths = export.export(camp, tmp_path / "out", t)
    pq = pd.read_parquet(next(p for p in paths if p.name == "samples.parquet"))
    assert sorted(set(zip(pq["stream"], pq["copy"]))) == [("0", 0), ("0", 1)]
    (camp / spec.run_id / "samples.jsonl").unlink()
    again = tables.load(camp)
    assert sorted(set(zip(again.samples["stream"], again.samples["copy"]))) == [("0", 0), ("0", 1)]
    assert len(again.samples) == len(t.samples)
