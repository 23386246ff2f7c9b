"""The TensorRT backend's parts that can be checked on a machine with no GPU and no TensorRT.

A real engine cannot exist here: TensorRT builds and runs engines only on an NVIDIA GPU (none on this
machine or in CI). What runs for real: the engine-cache key and calibration id, the registry and the
`backends` command, a harness run of a tensorrt spec (a clear failure record, no crash), the inspector
JSON parser on NVIDIA's documented output format, and the compilers' ToolMissing path.
"""

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from edgebench.suite import backends
from edgebench.suite.artefacts import compilers
from edgebench.suite.backends import tensorrt_build
from edgebench.suite.backends.base import BackendUnavailable
from edgebench.suite.backends.tensorrt_support import (
    calibration_id,
    engine_key,
    fs_type,
    layer_precisions,
    looks_like_oom,
    precision_of,
    select_io_api,
)
from edgebench.suite.spec import RunSpec

from tests.conftest import has_module, need

BASE: dict[str, Any] = dict(onnx_sha256="a" * 64, precision="fp16", batch_size=1, input_shape=(3, 224, 224),
                            tensorrt_version="8.0.1.6", gpu_name="NVIDIA Tegra X1", compute_capability="5.3",
                            placement="cuda", calibration=None)


def test_engine_key_changes_with_every_input_it_depends_on() -> None:
    base = engine_key(**BASE)
    assert engine_key(**BASE) == base  # stable
    changes = {"onnx_sha256": "b" * 64, "precision": "fp32", "batch_size": 8, "input_shape": (3, 299, 299),
               "tensorrt_version": "10.3.0", "gpu_name": "Orin", "compute_capability": "8.7", "placement": "dla:0"}
    keys = {name: engine_key(**dict(BASE, **{name: value})) for name, value in changes.items()}
    assert base not in keys.values()
    assert len(set(keys.values())) == len(keys), keys  # each input moves the key somewhere else


def test_calibration_counts_for_int8_engines_only() -> None:
    int8 = dict(BASE, precision="int8")
    assert engine_key(**dict(int8, calibration="synthetic-seed0-n8")) != \
        engine_key(**dict(int8, calibration="images-0123456789abcdef"))
    # fp16 engines are not calibrated: the calibration source must not split their cache
    assert engine_key(**dict(BASE, calibration="synthetic-seed0-n8")) == engine_key(**BASE)


def test_calibration_id_follows_image_content_and_seed(tmp_path: Path) -> None:
    assert calibration_id(None, 1, 0) != calibration_id(None, 1, 1)
    folder = tmp_path / "imgs"
    folder.mkdir()
    (folder / "a.jpg").write_bytes(b"\xff\xd8first")
    (folder / "b.png").write_bytes(b"\x89PNGsecond")
    (folder / "notes.txt").write_text("not an image")
    first = calibration_id(str(folder), 2, 0)
    assert first.startswith("images-") and first == calibration_id(str(folder), 2, 0)
    (folder / "notes.txt").write_text("changed, but not an image")
    assert calibration_id(str(folder), 2, 0) == first
    (folder / "b.png").write_bytes(b"\x89PNGchanged")
    assert calibration_id(str(folder), 2, 0) != first


class _V2Engine:  # the attributes TensorRT 8.0-8.4 engines have (binding indices)
    num_bindings = 2


class _V2Context:
    def execute_async_v2(self, bindings: Any, stream_handle: int) -> bool:
        return True


class _V3Engine(_V2Engine):  # 8.5/8.6 engines have both; 10.x only the named-tensor one
    num_io_tensors = 2


class _V3Context(_V2Context):
    def execute_async_v3(self, stream_handle: int) -> bool:
        return True


def test_io_api_selection_from_what_the_engine_offers() -> None:
    # Only the selection logic: fake objects, because a real engine cannot be built without a GPU.
    assert select_io_api(_V2Engine(), _V2Context()) == "v2"  # JetPack 4.6, TensorRT 8.0.1
    assert select_io_api(_V3Engine(), _V3Context()) == "v3"  # 8.5+ prefers named tensors
    v10 = type("Engine10", (), {"num_io_tensors": 2})()
    ctx10 = type("Context10", (), {"execute_async_v3": lambda self, s: True})()
    assert select_io_api(v10, ctx10) == "v3"  # 10.x: num_bindings and execute_async_v2 are gone
    with pytest.raises(BackendUnavailable, match="neither execute_async_v3 nor execute_async_v2"):
        select_io_api(v10, _V2Context())


# Shaped like the kDETAILED example in NVIDIA's TensorRT developer guide ("Engine Inspector" section) and the
# "Row major linear FPxx format" strings that TensorRT 8.5+ prints for linear tensors.
_DETAILED = {"Layers": [
    {"Name": "Reformatting CopyNode for Input Tensor 0 to conv1", "LayerType": "Reformat",
     "Inputs": [{"Name": "input", "Format/Datatype": "Row major linear FP32"}],
     "Outputs": [{"Name": "conv1 in", "Format/Datatype": "Thirty-two wide channel vectorized row major Int8 format."}]},
    {"Name": "conv1 + relu1", "LayerType": "CaskConvolution",
     "Inputs": [{"Name": "conv1 in", "Format/Datatype": "Thirty-two wide channel vectorized row major Int8 format."}],
     "Outputs": [{"Name": "relu1", "Format/Datatype": "Thirty-two wide channel vectorized row major Int8 format."}]},
    {"Name": "conv2", "LayerType": "CaskConvolution",
     "Inputs": [{"Name": "relu1", "Format/Datatype": "Channel major FP16 format where channel % 8 == 0"}],
     "Outputs": [{"Name": "conv2 out", "Format/Datatype": "Channel major FP16 format where channel % 8 == 0"}]},
    {"Name": "fc", "LayerType": "CaskGemmConvolution",
     "Inputs": [{"Name": "pool", "Format/Datatype": "Row major linear FP32"}],
     "Outputs": [{"Name": "logits", "Format/Datatype": "Row major linear FP32"}]},
    {"Name": "shuffle", "LayerType": "NoOp", "Inputs": [], "Outputs": [{"Name": "x", "Format/Datatype": "Float"}]},
], "Bindings": ["input", "logits"]}


def test_layer_precisions_from_detailed_inspector_json() -> None:
    counts = layer_precisions(json.dumps(_DETAILED))
    assert counts == {"int8": 1, "fp16": 1, "fp32": 1}  # Reformat and NoOp layers move data, they do not compute
    # Built without ProfilingVerbosity.DETAILED, the inspector lists layer names only.
    assert layer_precisions(json.dumps({"Layers": ["conv1 + relu1", "fc"], "Bindings": ["input", "logits"]})) is None
    assert precision_of("Half") == "fp16" and precision_of("Float") == "fp32" and precision_of("Int8") == "int8"
    assert precision_of("N/A due to dynamic shapes") == "unknown"


def test_fs_type_takes_the_longest_mount_prefix(tmp_path: Path) -> None:
    mounts = tmp_path / "mounts"
    mounts.write_text("overlay / overlay ro,relatime 0 0\n"
                      "tmpfs /tmp tmpfs rw,nosuid,nodev,size=262144k 0 0\n"
                      "/dev/sda1 /tmp/engines ext4 rw 0 0\n")
    assert fs_type("/tmp/edgebench-engines", str(mounts)) == "tmpfs"  # a sibling, not under /tmp/engines
    assert fs_type("/tmp/engines/abc", str(mounts)) == "ext4"
    assert fs_type("/opt/x", str(mounts)) == "overlay"
    assert fs_type("/opt/x", str(tmp_path / "missing")) is None


def test_out_of_memory_messages_are_recognised() -> None:
    # Messages as TensorRT printed them: NVIDIA/TensorRT#4258 (10.3) and NVIDIA-AI-IOT/torch2trt#661 (Nano).
    assert looks_like_oom("[defaultAllocator.cpp::allocate::31] Error Code 1: Cuda Runtime (out of memory)")
    assert looks_like_oom("Requested amount of GPU memory (15485030400 bytes) could not be allocated.")
    assert looks_like_oom("../rtSafe/WeightsPtr.cpp (92) - OutOfMemory Error in allocate: 0")
    assert looks_like_oom("cudaMalloc(1024) failed: cudaErrorMemoryAllocation (out of memory)")
    assert not looks_like_oom("TensorRT cannot parse model.onnx: unsupported operator GridSample")


def test_tensorrt_is_registered_and_probe_says_why_not_in_one_line() -> None:
    assert "tensorrt" in backends.names()
    why = backends.probe("tensorrt")
    if has_module("tensorrt"):  # installed: the probe may only complain in one line (no GPU, say)
        assert why is None or ("\n" not in why and "tensorrt" in why)
        return
    assert why is not None and "\n" not in why
    assert "tensorrt" in why and "No module named 'tensorrt'" in why


def test_backends_command_reports_tensorrt_unavailable_without_traceback() -> None:
    proc = subprocess.run([sys.executable, "-m", "edgebench.suite", "backends"], capture_output=True, text=True)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr
    line = json.loads(proc.stdout)["backends"]["tensorrt"]
    if has_module("tensorrt"):  # installed: available, or one line saying why not
        assert line == "ok" or ("\n" not in line and "tensorrt" in line)
        return
    assert line.startswith("framework 'tensorrt'") and "No module named 'tensorrt'" in line


def test_harness_run_of_a_tensorrt_spec_records_a_clear_failure(tmp_path: Path) -> None:
    spec = RunSpec(model="mobilenet_v2", framework="tensorrt", precision="fp16", placement="cuda",
                   artifact="onnx-mobilenet_v2/model.onnx", iterations=3)
    out = tmp_path / "run"
    out.mkdir()
    (out / "spec.json").write_text(json.dumps(spec.to_dict()))
    proc = subprocess.run([sys.executable, "-m", "edgebench.suite", "run", str(out / "spec.json"), str(out),
                           "--models", str(tmp_path / "models")], capture_output=True, text=True)
    assert proc.stdout == ""
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    r = json.loads((out / "result.json").read_text())
    assert r["status"] == "failed" and r["latencies_s"] == []
    if not has_module("tensorrt"):
        assert r["reason"] == "framework 'tensorrt': its runtime is not installed here (No module named 'tensorrt')"
        assert [p["name"] for p in r["phases"]] == ["import"]
    else:  # TensorRT without a GPU, or without the artefact: it must still say so in one line
        assert "\n" not in r["reason"] and "tensorrt" in r["reason"]
    assert (out / "samples.jsonl").exists() and (out / "env.json").exists()


def test_building_without_tensorrt_says_what_to_install(tmp_path: Path) -> None:
    need(not has_module("tensorrt"), "a machine without TensorRT (CI has none)")
    with pytest.raises(compilers.ToolMissing, match="TensorRT's Python package is not installed"):
        compilers.build_tensorrt(str(tmp_path / "model.onnx"), str(tmp_path / "out"), "fp16")


def test_synthetic_calibration_batches_are_seeded_and_shaped() -> None:
    a = tensorrt_build.calib_batches(None, (3, 8, 8), batch=2, count=3, seed=0)
    b = tensorrt_build.calib_batches(None, (3, 8, 8), batch=2, count=3, seed=0)
    assert len(a) == 3 and all(x.shape == (2, 3, 8, 8) and x.dtype == np.float32 for x in a)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not np.array_equal(a[0], tensorrt_build.calib_batches(None, (3, 8, 8), 2, 3, seed=1)[0])
    assert all(x.flags["C_CONTIGUOUS"] for x in a)  # the calibrator copies them straight to the device


def test_engine_cache_folder_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from edgebench.suite.backends import tensorrt_support

    monkeypatch.setenv("EDGEBENCH_ENGINE_CACHE", str(tmp_path / "engines"))
    assert tensorrt_support.cache_root() == str(tmp_path / "engines")
    monkeypatch.delenv("EDGEBENCH_ENGINE_CACHE")
    assert tensorrt_support.cache_root().endswith(os.sep + "edgebench-engines")
