"""RunSpec / RunResult: the versioned boundary between host and image."""

import json
from typing import Any

import pytest
from edgebench.suite import spec as specmod
from edgebench.suite.spec import Limits, RunResult, RunSpec, SchemaError


def test_round_trip_keeps_every_field() -> None:
    s = RunSpec(model="resnet18", framework="torch", batch_size=8, input_shape=(3, 160, 160),
                limits=Limits(memory_mb=512, memory_swap_mb=1024, swappiness=10), labels={"round": "ascending"})
    back = RunSpec.from_dict(json.loads(json.dumps(s.to_dict())))
    assert back == s
    assert back.run_id == s.run_id


def test_run_id_is_pinned() -> None:
    # Resume depends on ids staying the same across releases: a change here breaks every saved campaign.
    s = RunSpec(model="resnet18", framework="torch", batch_size=8)
    assert s.run_id == RunSpec.from_dict({"model": "resnet18", "framework": "torch", "batch_size": 8}).run_id
    assert len(s.run_id) == 12
    assert s.run_id == "703307827336", s.run_id


def test_run_id_follows_what_is_measured_only() -> None:
    base = RunSpec(model="resnet18", framework="torch")
    same = [RunSpec(model="resnet18", framework="torch", campaign="other", expect="ok", timeout_s=5)]
    differ = [RunSpec(model="resnet18", framework="torch", batch_size=2),
              RunSpec(model="resnet18", framework="torch", repetition=1),
              RunSpec(model="resnet18", framework="torch", limits=Limits(memory_mb=100)),
              RunSpec(model="resnet18", framework="torch", labels={"round": "descending"})]
    assert all(s.run_id == base.run_id for s in same)
    assert len({s.run_id for s in differ} | {base.run_id}) == len(differ) + 1


def test_a_cpuset_changes_the_id_and_a_bad_one_is_named() -> None:
    base = RunSpec(model="resnet18", framework="torch", limits=Limits(memory_mb=100))
    pinned = RunSpec(model="resnet18", framework="torch", limits=Limits(memory_mb=100, cpuset="0"))
    assert pinned.run_id != base.run_id and RunSpec.from_dict(pinned.to_dict()) == pinned
    with pytest.raises(SchemaError, match=r"spec.json: key 'limits.cpuset': expected a CPU list like '0-3'.*'3-1'"):
        RunSpec.from_dict({"model": "resnet18", "framework": "torch", "limits": {"cpuset": "3-1"}}, "spec.json")
    assert specmod.cpuset_cpus(" 0-2,5 ") == [0, 1, 2, 5]


def test_unknown_key_is_named() -> None:
    with pytest.raises(SchemaError, match="unknown key.*batchsize"):
        RunSpec.from_dict({"model": "resnet18", "framework": "torch", "batchsize": 4}, "spec.json")


def test_older_schema_is_upgraded(monkeypatch: pytest.MonkeyPatch) -> None:
    def v0_to_v1(d: dict) -> dict:
        d = dict(d)
        d["batch_size"] = d.pop("batch")
        return d

    monkeypatch.setattr(specmod, "SCHEMA_VERSION", 1)
    monkeypatch.setitem(specmod.SPEC_UPGRADES, 0, v0_to_v1)
    s = RunSpec.from_dict({"schema_version": 0, "model": "resnet18", "framework": "torch", "batch": 4})
    assert s.batch_size == 4 and s.schema_version == 1


def test_newer_schema_is_refused() -> None:
    with pytest.raises(SchemaError, match="newer than this edgebench"):
        RunSpec.from_dict({"schema_version": 99, "model": "m", "framework": "torch"}, "x.json")


def test_result_round_trip_and_bad_status() -> None:
    r = RunResult(run_id="abc", status="ok", spec={"model": "m"}, latencies_s=[0.1, 0.2],
                  phases=[specmod.Phase("load", 1.0, 2.5, 100.0, 101.5)])
    d = r.to_dict()
    assert d["phases"][0]["duration_s"] == pytest.approx(1.5)
    back = RunResult.from_dict(json.loads(json.dumps(d)))
    assert back.phases[0].duration_s == pytest.approx(1.5) and back.latencies_s == [0.1, 0.2]
    d["status"] = "great"
    with pytest.raises(SchemaError, match="status 'great'"):
        RunResult.from_dict(d, "result.json")


def test_limits_swap() -> None:
    assert Limits(memory_mb=100, memory_swap_mb=300).swap_mb == 200
    assert Limits(memory_mb=100).swap_mb is None


def _asdict_form(spec: RunSpec) -> dict[str, Any]:
    """What to_dict gave when it was dataclasses.asdict plus list conversions (kept fields' values)."""
    import dataclasses

    d = dataclasses.asdict(spec)
    d["input_shape"] = list(spec.input_shape)
    d["monitors"] = list(spec.monitors)
    d["streams"] = []
    for st in spec.streams:
        sd = dataclasses.asdict(st)
        sd["input_shape"] = list(st.input_shape)
        d["streams"].append(sd)
    return d


def test_to_dict_is_what_asdict_gave_and_copies_nested_values() -> None:
    from edgebench.suite.spec import Limits, StreamSpec

    spec = RunSpec(model="resnet18", framework="onnxruntime", limits=Limits(memory_mb=250, memory_swap_mb=300),
                   labels={"round": "ascending", "stage": "3"}, monitors=("psutil", "ina219"),
                   monitor_config={"ina219": {"bus": 1, "addr": [64]}}, workload="placement",
                   streams=(StreamSpec(model="mobilenet_v2", framework="tflite", placement="cpu:1"),))
    d = spec.to_dict()
    assert d == _asdict_form(spec)
    d["monitor_config"]["ina219"]["addr"].append(65)
    d["labels"]["round"] = "x"
    assert spec.monitor_config["ina219"]["addr"] == [64] and spec.labels["round"] == "ascending"
    assert RunSpec.from_dict(spec.to_dict()).run_id == spec.run_id
    assert RunSpec.from_dict(spec.to_dict()) == spec
