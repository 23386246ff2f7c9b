"""Spec v2: streams, workloads, their bad input, and v1 records read through the upgrade path."""

import json
from pathlib import Path

import pytest
from edgebench.suite.spec import SCHEMA_VERSION, RunResult, RunSpec, SchemaError, StreamSpec

RESULTS = Path(__file__).resolve().parents[1] / "data" / "results" / "tiny"
BASE = {"model": "mobilenet_v3_small", "framework": "onnxruntime"}


def test_schema_is_v2_and_single_ids_do_not_move() -> None:
    assert SCHEMA_VERSION == 2
    s = RunSpec(model="resnet18", framework="torch", batch_size=8)
    assert s.run_id == "703307827336"  # the pinned id of tests/unit/test_spec.py, unchanged by v2
    assert RunSpec(model="resnet18", framework="torch", batch_size=8, workload="single", copies=1).run_id == s.run_id
    assert RunSpec(model="resnet18", framework="torch", batch_size=8, workload="concurrent", copies=2).run_id \
        != s.run_id


def test_streams_round_trip_and_stream_specs() -> None:
    s = RunSpec.from_dict(dict(BASE, workload="placement", threads=1, placement="cpu:0", limits={"memory_mb": 512},
                               streams=[{"model": "resnet18", "framework": "torch", "placement": "cpu:1",
                                         "copies": 2, "input_shape": [3, 64, 64]}]))
    back = RunSpec.from_dict(json.loads(json.dumps(s.to_dict())))
    assert back == s and back.run_id == s.run_id
    first, second = s.stream_specs()
    assert (first.stream_id, first.model, first.placement, first.threads) == ("0", BASE["model"], "cpu:0", 1)
    assert (second.stream_id, second.framework, second.copies, second.input_shape) == ("1", "torch", 2, (3, 64, 64))
    assert second.limits.memory_mb == 512 and second.device == s.device  # run-level values passed down


@pytest.mark.parametrize("extra, key", [
    ({"workload": "concurrent", "copies": 0}, "'copies'"),
    ({"workload": "bursty"}, "'workload'"),
    ({"copies": 2}, "'copies'"),  # single with two copies
    ({"workload": "placement"}, "'streams'"),  # one stream only
    ({"workload": "concurrent", "streams": [{"model": "m", "framework": "torch"}]}, "'streams'"),
    ({"workload": "placement", "placement": "usb:0",
      "streams": [{"model": "m", "framework": "tflite", "placement": "usb:0"}]}, r"streams\[0\].placement"),
    ({"workload": "placement", "streams": [{"model": "m", "framework": "torch", "copies": 0}]},
     r"streams\[0\].copies"),
    ({"workload": "placement", "sync": "never", "streams": [{"model": "m", "framework": "torch"}]}, "'sync'"),
    ({"workload": "concurrent", "copies": 2, "placement": "edgetpu:x"}, "'placement'"),
    ({"workload": "placement", "streams": [{"model": "m", "framework": "torch", "stream_id": "0x", "batch": 2}]},
     "unknown key.*batch"),
])
def test_bad_streams_name_the_key(extra: dict, key: str) -> None:
    with pytest.raises(SchemaError, match="spec.json: .*%s" % key):
        RunSpec.from_dict(dict(BASE, **extra), "spec.json")


def test_two_streams_on_different_accelerators_are_fine() -> None:
    s = RunSpec.from_dict(dict(BASE, framework="tflite", workload="placement", placement="usb:0",
                               streams=[{"model": "m", "framework": "tflite", "placement": "usb:1"}]))
    assert [st.placement for st in s.stream_specs()] == ["usb:0", "usb:1"]
    assert StreamSpec.from_dict({"model": "m", "framework": "torch"}).copies == 1


def test_v1_result_reads_as_one_stream() -> None:
    paths = sorted(RESULTS.glob("*/result.json"))
    assert paths
    for path in paths:
        raw = json.loads(path.read_text())
        assert raw["schema_version"] == 1
        r = RunResult.from_dict(raw, str(path))
        assert r.schema_version == 2 and r.workload == "single" and r.valid
        assert len(r.streams) == 1 and len(r.streams[0].copies) == 1
        st, c = r.streams[0], r.streams[0].copies[0]
        assert (st.stream_id, st.model, st.framework) == ("0", raw["spec"]["model"], raw["spec"]["framework"])
        assert c.latencies_s == raw["latencies_s"] and c.inferences == raw["inferences"] == st.inferences
        assert c.device == raw["spec"].get("placement", "cpu")
        back = RunResult.from_dict(json.loads(json.dumps(r.to_dict())))  # v2 round trip
        assert back.streams[0].copies[0].latencies_s == raw["latencies_s"]
        if raw["status"] == "ok":
            measure = [p for p in raw["phases"] if p["name"] == "measure"][0]
            assert c.start_mono == measure["start_mono"] and c.end_mono == measure["end_mono"]
        spec = RunSpec.from_dict(raw["spec"])  # the v1 spec inside it upgrades too, id unchanged
        assert spec.run_id == raw["run_id"]
