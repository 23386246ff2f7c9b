"""ONNX fp16 and int8 artefacts for real: a zoo model (MobileNetV2 at 3x96x96, random calibrated weights) made
by `edgebench models make` and by the suite's exporter, checked by onnx's checker, run in onnxruntime and
through the harness; and the digits CNN of test_models_accuracy (trained here on scikit-learn's real digits)
at fp32/fp16/int8 with int8 calibrated on real digit images, its top-1 compared across precisions."""

import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.conftest import has_module, need
from tests.integration.conftest import DIGITS_SHAPE

pytestmark = pytest.mark.integration
MODEL = "mobilenet_v2"
SHAPE = (3, 96, 96)


def _need() -> None:
    for mod in ("torch", "torchvision", "onnx", "onnxruntime"):
        need(has_module(mod), "%s is not installed" % mod)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """fp32 by the exporter, fp16 by make.make, int8 by the CLI into a model cache."""
    _need()
    from edgebench.suite.artefacts import export
    from edgebench.suite.artefacts.make import make

    root = tmp_path_factory.mktemp("onnxprec")
    fp32 = export.export_onnx(MODEL, str(root / "fp32"), SHAPE)
    fp16 = make("onnx", MODEL, str(root / "fp16"), SHAPE, precision="fp16")
    cache = root / "cache"
    cmd = [sys.executable, "-m", "edgebench.cli.app", "models", "make", MODEL, "--format", "onnx", "--precision",
           "int8", "--input", "96", "--models", str(cache), "--json"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    int8 = json.loads(proc.stdout)
    again = subprocess.run(cmd, capture_output=True, text=True)
    return {"root": root, "cache": cache, "cmd_again": again,
            "manifest": {"fp32": fp32, "fp16": fp16, "int8": int8},
            "path": {"fp32": root / "fp32" / "model.onnx", "fp16": root / "fp16" / "model.onnx",
                     "int8": Path(int8["path"])}}


def _run(path: Path, x: np.ndarray) -> np.ndarray:
    import onnxruntime as ort

    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert sess.get_inputs()[0].type == "tensor(float)" and sess.get_outputs()[0].type == "tensor(float)"
    return np.asarray(sess.run(None, {"input": x})[0])


def test_fp16_int8_are_valid_smaller_and_agree_with_fp32(made: dict[str, Any]) -> None:
    import onnx
    from edgebench.suite.artefacts.agreement import ONNX_TOLERANCES as TOLERANCES
    from edgebench.suite.artefacts.agreement import agreement

    paths, mans = made["path"], made["manifest"]
    for p in ("fp16", "int8"):
        onnx.checker.check_model(str(paths[p]), full_check=True)
        assert mans[p]["precision"] == p and mans[p]["check"]["ok"], mans[p]["check"]
        assert mans[p]["derived_from"]["size_bytes"] == paths["fp32"].stat().st_size
        # The same seed gives the same weights: the artefact names the very fp32 file it came from.
        assert mans[p]["derived_from"]["sha256"] == _sha256(paths["fp32"])
    ratio = {p: paths[p].stat().st_size / paths["fp32"].stat().st_size for p in ("fp16", "int8")}
    assert 0.45 <= ratio["fp16"] <= 0.55, ratio  # every weight in 2 bytes instead of 4
    assert 0.22 <= ratio["int8"] <= 0.33, ratio  # 1 byte per weight, plus per-channel scales and int32 biases
    # Agreement on a batch the exporter never saw, within the tolerances the module states.
    x = np.random.RandomState(7).standard_normal((4,) + SHAPE).astype(np.float32)
    ref = _run(paths["fp32"], x)
    assert ref.shape == (4, 1000)
    for p in ("fp16", "int8"):
        got = agreement(ref, _run(paths[p], x))
        for key, limit in TOLERANCES[p].items():
            assert got[key] <= limit, (p, got)
    # fp16 is much closer than int8: a swapped or unconverted artefact would not be.
    assert agreement(ref, _run(paths["fp16"], x))["rms_rel_diff"] < 0.1 * \
        agreement(ref, _run(paths["int8"], x))["rms_rel_diff"]


def test_graphs_hold_what_their_precision_says(made: dict[str, Any]) -> None:
    import onnx
    from edgebench.suite.artefacts.onnx_precision import graph_precision

    g8 = graph_precision(onnx.load(str(made["path"]["int8"])))
    assert g8["quantize_linear"] > 20 and g8["dequantize_linear"] >= g8["quantize_linear"]
    assert g8["initializers"].get("int8", 0) > 20  # weights stored as int8
    g16 = graph_precision(onnx.load(str(made["path"]["fp16"])))
    assert g16["quantize_linear"] == 0 and g16["initializers"].get("float16", 0) > 20
    assert g16["initializers"].get("float", 0) == 0  # no weight left in float32
    man8 = made["manifest"]["int8"]
    assert man8["ort_cpu"]["int8_kernels"] > 0  # ORT's CPU provider fused QDQ into int8 kernels
    assert man8["calibration"]["source"] == "synthetic" and "synthetic" in man8["calibration"]["warning"]
    assert man8["versions"]["onnxruntime"] and man8["parameters"] == made["manifest"]["fp32"]["parameters"]


def _scale_classifier(src: Path, dst: Path, factor: float) -> None:
    """A copy whose classifier weights (the Gemm's, through its DequantizeLinear when quantised) are scaled:
    the kind of fault a wrong scale in a conversion makes."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(src))
    producer = {o: n for n in model.graph.node for o in n.output}
    gemm = [n for n in model.graph.node if n.op_type == "Gemm"][-1]
    name = gemm.input[1]
    if name in producer and producer[name].op_type == "DequantizeLinear":
        name = producer[name].input[1]  # the weight's scale
    init = next(t for t in model.graph.initializer if t.name == name)
    a = numpy_helper.to_array(init)
    init.CopyFrom(numpy_helper.from_array((a * factor).astype(a.dtype), name))
    onnx.save(model, str(dst))


def test_tolerances_catch_a_wrong_scale(made: dict[str, Any], tmp_path: Path) -> None:
    from edgebench.suite.artefacts.onnx_precision import check

    x = np.random.RandomState(9).standard_normal((4,) + SHAPE).astype(np.float32)
    for p, factor in (("fp16", 1.5), ("int8", 2.0)):
        assert check(str(made["path"]["fp32"]), str(made["path"][p]), p, x)["ok"]
        broken = tmp_path / ("%s.onnx" % p)
        _scale_classifier(made["path"][p], broken, factor)
        got = check(str(made["path"]["fp32"]), str(broken), p, x)
        assert not got["ok"] and any(f.startswith("rms_rel_diff") for f in got["failed"]), got


def test_cache_reuses_the_int8_artefact(made: dict[str, Any]) -> None:
    again = made["cmd_again"]
    assert again.returncode == 0, again.stderr[-2000:]
    man = json.loads(again.stdout)
    assert man["cached"] is True and man["content_key"] == made["manifest"]["int8"]["content_key"]
    assert Path(man["path"]).name == "model.onnx" and man["path"].endswith("-int8/model.onnx")


def test_harness_records_int8_graph_evidence(made: dict[str, Any], tmp_path: Path) -> None:
    from edgebench.suite.spec import RunSpec

    rel = str(made["path"]["int8"].relative_to(made["cache"]))
    spec = RunSpec(model=MODEL, framework="onnxruntime", precision="int8", batch_size=2, input_shape=SHAPE,
                   warmups=1, iterations=3, threads=1, artifact=rel)
    out = tmp_path / "run"
    out.mkdir()
    (out / "spec.json").write_text(json.dumps(spec.to_dict()))
    proc = subprocess.run([sys.executable, "-m", "edgebench.suite", "run", str(out / "spec.json"), str(out),
                           "--models", str(made["cache"])], capture_output=True, text=True)
    r = json.loads((out / "result.json").read_text())
    assert proc.returncode == 0 and r["status"] == "ok", r["reason"]
    graph = r["placement"]["graph"]
    assert graph["precision"] == "int8" and graph["matches_spec"] is True, graph
    assert graph["quantize_linear"] == made["manifest"]["int8"]["graph"]["quantize_linear"] > 0
    assert graph["int8_initializers"] > 0 and graph["input_type"] == "tensor(float)"


def test_refuses_an_artefact_outside_its_tolerance(tmp_path: Path) -> None:
    _need()
    from edgebench.suite.artefacts.onnx_precision import export_onnx_precision

    with pytest.raises(ValueError, match=r"rms_rel_diff=[0-9.e-]+ > 1e-06"):
        export_onnx_precision("squeezenet1_1", str(tmp_path), (3, 64, 64), precision="int8",
                              tolerances={"rms_rel_diff": 1e-6})
    assert not (tmp_path / "model.onnx").exists() and not (tmp_path / "manifest.json").exists()


def test_digits_fp32_fp16_int8_accuracy(digits: dict, tmp_path: Path) -> None:
    _need()
    from edgebench.suite.artefacts import accuracy, onnx_precision
    from edgebench.suite.artefacts.export import export_onnx

    test_dir, train_dir = str(digits["root"] / "test"), str(digits["root"] / "train")
    paths = {"fp32": str(tmp_path / "fp32" / "model.onnx")}
    export_onnx("digits_cnn", str(tmp_path / "fp32"), DIGITS_SHAPE, 10, net=digits["net"])
    mans = {}
    for p in ("fp16", "int8"):
        mans[p] = onnx_precision.export_onnx_precision("digits_cnn", str(tmp_path / p), DIGITS_SHAPE, 10,
                                                       precision=p, calib_dir=train_dir, calib_samples=64,
                                                       net=digits["net"])
        paths[p] = str(tmp_path / p / "model.onnx")
    assert mans["int8"]["calibration"] == {"source": "folder", "dir": train_dir, "samples": 64}
    print("digits check vs onnx fp32: %s" % {p: {k: round(mans[p]["check"][k], 5) for k in
                                                 ("max_rel_diff", "rms_rel_diff", "top1_agreement")}
                                             for p in mans})
    top1 = {}
    for p in ("fp32", "fp16", "int8"):
        res = accuracy.evaluate("onnxruntime", "digits_cnn", test_dir, DIGITS_SHAPE, precision=p,
                                artifact=paths[p], num_classes=10, batch_size=64, threads=1)
        assert res["images"] == 540
        top1[p] = res["top1"]
    print("digits top-1: torch %.4f, onnxruntime %s" % (digits["torch_top1"], top1))
    assert top1["fp32"] >= 0.90 and abs(top1["fp32"] - digits["torch_top1"]) <= 1 / 540 + 1e-9
    assert abs(top1["fp16"] - top1["fp32"]) <= 0.005, top1  # half a point: two images of 540
    assert top1["fp32"] - top1["int8"] <= 0.02, top1  # INT8 PTQ calibrated on real digits


def test_tensorrt_placement_asks_for_the_spec_precision(made: dict[str, Any], tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """The TensorRT EP's options follow spec.precision. No GPU here: ORT falls back to CPU and says so; the
    TensorRT path itself runs only on a device with onnxruntime-gpu and TensorRT."""
    import onnxruntime as ort
    from edgebench.suite.backends.onnxruntime_backend import OnnxRuntimeBackend
    from edgebench.suite.spec import RunSpec

    monkeypatch.setenv("EDGEBENCH_TRT_CACHE", str(tmp_path / "trt"))
    opts = {}
    for p in ("fp32", "fp16", "int8"):
        spec = RunSpec(model=MODEL, framework="onnxruntime", precision=p, input_shape=SHAPE, placement="tensorrt:1",
                       artifact=str(made["path"][p]))
        opts[p] = OnnxRuntimeBackend(spec).trt_options()
    assert [(opts[p]["trt_fp16_enable"], opts[p]["trt_int8_enable"]) for p in ("fp32", "fp16", "int8")] == \
        [(False, False), (True, False), (True, True)]
    assert all(o["device_id"] == 1 and o["trt_engine_cache_enable"] for o in opts.values())
    assert opts["int8"]["trt_engine_cache_path"].startswith(str(tmp_path / "trt"))
    assert len({o["trt_engine_cache_path"] for o in opts.values()}) == 3  # engines never shared across precisions
    has_trt = "TensorrtExecutionProvider" in ort.get_available_providers()
    spec = RunSpec(model=MODEL, framework="onnxruntime", precision="int8", input_shape=SHAPE, placement="tensorrt",
                   artifact=str(made["path"]["int8"]))
    backend = OnnxRuntimeBackend(spec)
    backend.load()
    where = backend.placement()
    if has_trt:  # this onnxruntime has TensorRT: no fallback to show, and none may be claimed
        assert where["fell_back"] is False and where["actual"] == "TensorrtExecutionProvider"
        return
    assert where["fell_back"] is True and where["actual"] == "CPUExecutionProvider" and "tensorrt" not in where
    assert where["graph"]["precision"] == "int8"
