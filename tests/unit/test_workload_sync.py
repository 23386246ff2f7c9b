"""P3's LCM interval of the placement workload, and EdgeTPU pinning bookkeeping.

There is no EdgeTPU on this project's machines: the pinning is tested against a list_edge_tpus() output in
pycoral's documented form (tests/data/recordings/list_edge_tpus.json, see its note), injected at the
tflite backend's delegate-loading boundary together with a stand-in for tflite's load_delegate; the
LiteRT runtime itself is real."""

import json
from pathlib import Path
from typing import Any

import pytest
from edgebench.suite.workloads.placement import lcm_interval

from tests.conftest import has_module, need

TPUS = json.loads((Path(__file__).resolve().parents[1] / "data" / "recordings" / "list_edge_tpus.json")
                  .read_text())["list_edge_tpus"]


def test_lcm_of_rounded_times_repeated_to_the_minimum() -> None:
    out = lcm_interval({"0": 0.0204, "1": 0.0296}, granularity_s=0.01, min_s=1.0, max_s=30.0)
    assert out["multiples"] == {"0": 2, "1": 3}
    assert out["lcm_s"] == pytest.approx(0.06)
    assert out["repeats"] == 17 and out["interval_s"] == pytest.approx(1.02) and not out["capped"]
    assert out["single_inference_s"] == {"0": 0.0204, "1": 0.0296}


def test_lcm_is_capped_and_says_so() -> None:
    out = lcm_interval({"0": 0.097, "1": 0.101, "2": 0.103}, granularity_s=0.001, min_s=0.0, max_s=5.0)
    assert out["multiples"] == {"0": 97, "1": 101, "2": 103}
    assert out["lcm_s"] == pytest.approx(97 * 101 * 103 * 0.001)  # three primes: their product, 1009 s
    assert out["capped"] and out["interval_s"] == 5.0
    tiny = lcm_interval({"0": 0.0001}, granularity_s=0.01, min_s=0.0, max_s=5.0)
    assert tiny["multiples"] == {"0": 1} and tiny["interval_s"] == pytest.approx(0.01)  # at least one step


def _need_litert() -> None:
    need(has_module("ai_edge_litert") or has_module("tflite_runtime"), "no TFLite runtime (pip install ai-edge-litert)")


class FakeLoadDelegate:
    """Stands in for tflite's load_delegate (libedgetpu cannot load without an accelerator)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict]] = []

    def __call__(self, lib: str, opts: dict) -> Any:
        self.calls.append((lib, dict(opts)))
        return object()


@pytest.mark.parametrize("placement, option, path", [
    ("edgetpu:2", ":2", "/dev/apex_0"), ("usb:1", "usb:1", "/sys/bus/usb/devices/2-3"),
    ("pci:0", "pci:0", "/dev/apex_0"), ("usb", "usb", "/sys/bus/usb/devices/3-1"),
    ("edgetpu", None, "/sys/bus/usb/devices/3-1")])
def test_delegate_is_pinned_to_the_named_accelerator(placement: str, option: Any, path: str) -> None:
    _need_litert()
    from edgebench.suite.backends.tflite_backend import TfliteBackend
    from edgebench.suite.spec import StreamSpec

    b = TfliteBackend(StreamSpec(model="m", framework="tflite", placement=placement))
    fake = FakeLoadDelegate()
    b.load_edgetpu_delegate(fake, lambda: TPUS)
    assert fake.calls == [("libedgetpu.so.1", {"device": option} if option else {})]
    assert b.edgetpu["edgetpu"]["path"] == path and b.edgetpu["device_option"] == option
    report = b.placement()
    assert report["edgetpu"]["edgetpu"]["path"] == path
    assert report["actual"] == "cpu" and report["fell_back"]  # nothing compiled ran here: said, not hidden


def test_an_accelerator_that_is_not_there_is_refused() -> None:
    _need_litert()
    from edgebench.suite.backends.base import BackendUnavailable
    from edgebench.suite.backends.tflite_backend import TfliteBackend
    from edgebench.suite.spec import StreamSpec

    b = TfliteBackend(StreamSpec(model="m", framework="tflite", placement="usb:2"))
    with pytest.raises(BackendUnavailable, match="usb EdgeTPU #2.*lists 2"):
        b.load_edgetpu_delegate(FakeLoadDelegate(), lambda: TPUS)


def test_concurrent_copies_spread_round_robin_and_are_recorded(monkeypatch: pytest.MonkeyPatch) -> None:
    _need_litert()
    from edgebench.suite import workloads
    from edgebench.suite.backends import edgetpu
    from edgebench.suite.spec import RunResult, RunSpec

    monkeypatch.setattr(edgetpu, "list_edge_tpus", lambda: TPUS)
    spec = RunSpec(model="m", framework="tflite", precision="int8", workload="concurrent", copies=3,
                   placement="edgetpu:0,edgetpu:1")
    work = workloads.create(spec.validate())
    work.create()
    fake = FakeLoadDelegate()
    for c in work.copies():
        c.loaded().load_edgetpu_delegate(fake)  # type: ignore[attr-defined]
    assert [o["device"] for _, o in fake.calls] == [":0", ":1", ":0"]
    result = RunResult(run_id=spec.run_id, status="ok", spec=spec.to_dict())
    work.fill(result)
    copies = result.streams[0].copies
    assert [c.device for c in copies] == ["edgetpu:0", "edgetpu:1", "edgetpu:0"]
    assert [c.placement["edgetpu"]["edgetpu"]["path"] for c in copies] == [
        "/sys/bus/usb/devices/3-1", "/sys/bus/usb/devices/2-3", "/sys/bus/usb/devices/3-1"]
    assert len({id(c.backend) for c in work.copies()}) == 3
