"""TFLite FP32/FP16/INT8 from a Keras application, through the artefact cache, run by the suite's harness
on the LiteRT backend."""

import json
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import has_module, need

pytestmark = pytest.mark.integration
SHAPE = (3, 96, 96)


def _need() -> None:
    need(has_module("tensorflow"), "tensorflow is not installed (pip install tensorflow-cpu)")
    need(has_module("ai_edge_litert") or has_module("tflite_runtime"), "no TFLite runtime (pip install ai-edge-litert)")


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> dict:
    _need()
    from edgebench.cli import artifacts

    models = tmp_path_factory.mktemp("models")
    arts = {p: artifacts.Artifact("tflite", "mobilenet_v3_small", SHAPE, 102, 0, p) for p in ("fp32", "fp16", "int8")}
    mans = {p: artifacts.ensure(a, models) for p, a in arts.items()}
    return {"models": models, "arts": arts, "mans": mans}


def test_precisions_agree_with_keras_and_shrink(made: dict) -> None:
    mans = made["mans"]
    for p, man in mans.items():
        assert man["check"]["ok"] and man["precision"] == p and man["layout"] == "NHWC"
        assert man["input_shape"] == list(SHAPE) and man["output_shape"] == [102]
        assert man["size_mb_decimal"] == pytest.approx(man["size_bytes"] / 1e6) and "size_mb" not in man
        assert man["size_mib"] == pytest.approx(man["size_bytes"] / 2 ** 20)
        assert {"tensorflow", "keras", "ai-edge-litert"} <= set(man["versions"]) or "tflite_runtime" in man["versions"]
    assert mans["fp32"]["check"]["max_rel_diff"] <= 1e-4
    assert mans["fp16"]["check"]["rms_rel_diff"] <= 3e-2
    assert mans["int8"]["check"]["rms_rel_diff"] <= 0.35
    assert mans["int8"]["calibration"]["source"] == "synthetic" and "warning" in mans["int8"]["calibration"]
    fp32 = mans["fp32"]["size_bytes"]
    assert 0.4 < mans["fp16"]["size_bytes"] / fp32 < 0.6  # float16 weights: half
    assert mans["int8"]["size_bytes"] / fp32 < 0.4  # int8 weights: a quarter plus quantisation parameters
    assert mans["fp32"]["parameters"] == mans["int8"]["parameters"]


def test_int8_backend_quantises_io(made: dict) -> None:
    from edgebench.suite.backends.tflite_backend import TfliteBackend
    from edgebench.suite.spec import RunSpec

    path = made["models"] / made["arts"]["int8"].relpath
    b = TfliteBackend(RunSpec(model="m", framework="tflite", batch_size=4, input_shape=SHAPE, artifact=str(path),
                              precision="int8", threads=1))
    b.load()
    assert b.inp["dtype"] == np.int8 and b.out["dtype"] == np.int8
    x = np.random.RandomState(5).standard_normal((4, 96, 96, 3)).astype(np.float32)
    out = b.output(x)
    assert out.dtype == np.float32 and out.shape == (4, 102)
    scale, zero = b.out["quantization"]
    steps = (out / scale) + zero  # dequantised values sit on the int8 grid
    assert np.allclose(steps, np.round(steps), atol=1e-3) and steps.min() >= -128 and steps.max() <= 127
    assert b.output(x[:1]).shape == (1, 102)  # batch resized on the fly


def test_harness_runs_tflite_cells(made: dict, tmp_path: Path) -> None:
    from edgebench.suite.harness import run
    from edgebench.suite.spec import RunSpec

    for p in ("fp32", "int8"):
        spec = RunSpec(model="mobilenet_v3_small", framework="tflite", precision=p, batch_size=2, input_shape=SHAPE,
                       num_classes=102, warmups=1, iterations=3, threads=1, artifact=made["arts"][p].relpath,
                       monitors=())
        res = run(spec, str(tmp_path / p), str(made["models"]))
        assert res.status == "ok", res.reason
        assert len(res.latencies_s) == 3 and all(t > 0 for t in res.latencies_s)
        assert res.placement["actual"] == "cpu" and not res.placement["fell_back"]
        saved = json.loads((tmp_path / p / "result.json").read_text())
        assert saved["status"] == "ok"
        runtime = saved["env"]["end"]["runtime"]
        assert runtime.get("ai-edge-litert") or runtime.get("tflite_runtime"), runtime


def test_edgetpu_placement_without_delegate_is_clear(made: dict) -> None:
    from edgebench.suite.backends.base import BackendUnavailable
    from edgebench.suite.backends.tflite_backend import TfliteBackend
    from edgebench.suite.spec import RunSpec

    path = made["models"] / made["arts"]["int8"].relpath
    b = TfliteBackend(RunSpec(model="m", framework="tflite", input_shape=SHAPE, artifact=str(path),
                              placement="edgetpu"))
    with pytest.raises(BackendUnavailable, match="EdgeTPU delegate"):
        b.load()


def test_cache_reuses_and_rebuilds_on_changed_tools(made: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    from edgebench.cli import artifacts

    art = made["arts"]["fp16"]
    path = made["models"] / art.relpath
    mtime = path.stat().st_mtime_ns
    assert artifacts.ensure(art, made["models"])["content_key"] == made["mans"]["fp16"]["content_key"]
    assert path.stat().st_mtime_ns == mtime  # cached: not rebuilt
    real = artifacts.tool_versions
    monkeypatch.setattr(artifacts, "tool_versions", lambda a: dict(real(a), keras="0.0-pretend"))
    again = artifacts.ensure(art, made["models"])
    assert again["content_key"] != made["mans"]["fp16"]["content_key"]
    assert again["key_inputs"]["versions"]["keras"] == "0.0-pretend"
    assert path.stat().st_mtime_ns != mtime and art.relpath == made["arts"]["fp16"].relpath
