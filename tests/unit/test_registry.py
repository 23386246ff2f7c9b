"""suite/registry.py is the one declaration of each framework and monitor: what reads it agrees with it, the
monitors' real (psutil) and recorded (tegrastats, jtop) rows hold only the columns it declares, and it
imports no runtime."""

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from edgebench.cli import artifacts, devices, plan
from edgebench.cli.analysis import correlation, energy
from edgebench.suite import backends, monitors, registry
from edgebench.suite.nets import zoo
from edgebench.suite.spec import RunSpec

from tests.conftest import need

SUITE = Path(registry.__file__).parent
DATA = Path(__file__).resolve().parent.parent / "data" / "recordings"
STAMPS = {"t_mono", "t_wall", "phase", "monitor"}


def _declared(name: str, column: str) -> bool:
    patterns = [re.escape(c).replace("NAME", "[A-Za-z0-9_]+") for c in registry.MONITORS[name].columns]
    return any(re.fullmatch(p, column) for p in patterns)


def test_backends_and_monitors_are_discovered_from_the_registry() -> None:
    assert backends.names() == sorted(registry.FRAMEWORKS)
    assert monitors.names() == sorted(registry.MONITORS)
    for fw in registry.FRAMEWORKS.values():
        module, cls = fw.backend.split(":")
        assert "class %s(Backend)" % cls in (SUITE / "backends" / (module + ".py")).read_text()
        assert fw.artefact in (None, "") or fw.artefact in registry.FORMATS  # "": builds its own net (mxnet)
        assert set(fw.precisions) <= set(registry.PRECISIONS) and fw.placements
    for m in registry.MONITORS.values():
        module, cls = m.module.split(":")
        assert "class %s(Monitor)" % cls in (SUITE / "monitors" / (module + ".py")).read_text()
        assert all(unit for unit in m.columns.values())
        assert not m.estimate or m.power


@pytest.mark.parametrize("name", ["torch", "onnxruntime", "tflite"])
def test_a_backend_class_takes_its_precisions_and_placements_from_the_registry(name: str) -> None:
    need(backends.probe(name) is None, "%s runtime not installed here: %s" % (name, backends.probe(name)))
    cls = backends.get(name)
    assert (cls.precisions, cls.placements) == (registry.FRAMEWORKS[name].precisions,
                                                registry.FRAMEWORKS[name].placements)


def test_monitor_classes_take_their_power_flags_from_the_registry() -> None:
    from edgebench.suite.monitors.codecarbon_monitor import CodecarbonMonitor
    from edgebench.suite.monitors.psutil_monitor import PsutilMonitor
    from edgebench.suite.monitors.tegrastats_monitor import TegrastatsMonitor

    assert (CodecarbonMonitor.measures_power, CodecarbonMonitor.power_estimate) == (True, True)
    assert (TegrastatsMonitor.measures_power, TegrastatsMonitor.power_estimate) == (True, False)
    assert PsutilMonitor.measures_power is False


def test_host_side_lists_are_the_registry() -> None:
    # What each of these held as its own literal before the registry, pinned: the registry reproduces it.
    assert energy.SOURCE_ORDER == ("ina219", "jtop", "tegrastats", "nvml", "codecarbon")
    assert energy.ESTIMATES == ("codecarbon",)
    assert correlation.VARS["power_w"].columns == tuple("mon_%s_power_w_mean" % m for m in energy.SOURCE_ORDER)
    assert set(devices.KNOWN_MONITORS) == set(registry.MONITORS) and devices.HOST_MONITORS == ("psutil", "codecarbon")
    assert artifacts.EXTENSIONS == {"torch": "pt", "onnx": "onnx", "tflite": "tflite", "edgetpu": "tflite",
                                    "keras": "keras"}
    assert artifacts.TOOLS["onnx"] == ("torch", "torchvision", "onnx", "onnxruntime")
    assert zoo.PRUNED_FRAMEWORKS == ("torch", "onnxruntime", "tensorrt")
    spec = RunSpec(model="resnet18", framework="torch")
    gap = plan.estimate(spec) - plan.estimate(RunSpec(model="resnet18", framework="onnxruntime"))
    assert gap == pytest.approx(registry.FRAMEWORKS["torch"].startup_s - registry.FRAMEWORKS["onnxruntime"].startup_s)
    assert registry.frameworks_reading("onnx") == ["onnxruntime", "tensorrt"]
    assert registry.frameworks_reading("edgetpu") == ["tflite"]


def test_a_real_psutil_row_holds_only_declared_columns() -> None:
    mon = monitors.create("psutil", 0.02)
    mon.start()
    time.sleep(0.15)
    mon.stop()
    cols = {k for row in mon.samples for k in row} - STAMPS
    assert {"rss_mb", "proc_cpu_percent"} <= cols
    assert [c for c in cols if not _declared("psutil", c)] == []


def test_recorded_tegrastats_and_jtop_rows_hold_only_declared_columns() -> None:
    # Recorded real output (no Jetson here): tests/data/recordings, as in test_monitors_tegrastats/_jtop.
    from edgebench.suite.monitors import tegrastats_monitor
    from edgebench.suite.monitors.jtop_monitor import row_from_jtop

    lines = [ln for ln in (DATA / "tegrastats.txt").read_text().splitlines() if ln and not ln.startswith("#")]
    cols = {k for ln in lines for k in tegrastats_monitor.flatten(tegrastats_monitor.parse(ln))}
    assert "power_w" in cols and any(c.startswith("rail_") for c in cols)
    assert [c for c in cols if not _declared("tegrastats", c)] == []
    rec = json.loads((DATA / "jtop.json").read_text())
    jcols = {k for r in rec.values() if isinstance(r, dict) and "stats" in r
             for k in row_from_jtop(r["stats"], r.get("power"), r.get("gpu"))}
    assert "power_w" in jcols
    assert [c for c in jcols if not _declared("jtop", c)] == []


def test_an_unknown_name_says_which_are_known() -> None:
    with pytest.raises(KeyError, match="known: " + ", ".join(sorted(registry.FRAMEWORKS))):
        registry.framework("paddle")
    with pytest.raises(KeyError, match="unknown monitor 'rapl'"):
        registry.monitor("rapl")


def test_the_registry_and_the_zoo_import_no_runtime() -> None:
    code = ("import sys; import edgebench.suite.registry, edgebench.suite.nets.zoo, edgebench.suite.backends, "
            "edgebench.suite.monitors; print([m for m in ('torch', 'onnxruntime', 'tensorflow', 'mxnet', 'numpy') "
            "if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    # numpy is the suite's own dependency (backends.base imports it); no runtime is imported.
    assert "torch" not in out.stdout and "onnxruntime" not in out.stdout and "tensorflow" not in out.stdout


def test_a_backend_whose_runtime_is_missing_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    # A registered framework whose module cannot import (as any runtime missing from an image).
    monkeypatch.setitem(backends._REGISTRY, "ghost", ("edgebench.suite.backends.ghost_backend", "GhostBackend"))
    reason = backends.probe("ghost")
    assert reason is not None and reason.startswith("framework 'ghost': its runtime is not installed here")
    assert "unknown framework 'paddle'" in str(backends.probe("paddle"))
