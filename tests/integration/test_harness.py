"""The in-container harness, run for real as a child process on real runtimes."""

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from edgebench.suite.spec import RunSpec


def run_child(spec: RunSpec, out: Path, models_dir: Path) -> tuple[int, dict[str, Any]]:
    out.mkdir(parents=True, exist_ok=True)
    (out / "spec.json").write_text(json.dumps(spec.to_dict()))
    proc = subprocess.run([sys.executable, "-m", "edgebench.suite", "run", str(out / "spec.json"), str(out),
                           "--models", str(models_dir)], capture_output=True, text=True)
    assert proc.stdout == "", "the child must not write results to stdout"
    return proc.returncode, json.loads((out / "result.json").read_text())


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]


def test_torch_run_records_phases_samples_and_env(tmp_path: Path, models_dir: Path, torch_rn18: str) -> None:
    spec = RunSpec(model="resnet18", framework="torch", batch_size=2, warmups=2, iterations=6, threads=2,
                   artifact=torch_rn18, monitor_interval_s=0.05)
    rc, r = run_child(spec, tmp_path / "run", models_dir)
    assert rc == 0 and r["status"] == "ok", r["reason"]
    assert [p["name"] for p in r["phases"]] == ["import", "load", "build", "warmup", "measure"]
    for a, b in zip(r["phases"], r["phases"][1:]):
        assert a["end_mono"] <= b["start_mono"]
    lat = r["latencies_s"]
    assert len(lat) == 6 and len(r["warmup_latencies_s"]) == 2
    assert r["warmup_s"] == r["warmup_latencies_s"][0]
    assert r["summary"]["p50"] == pytest.approx(float(np.median(lat)))
    assert r["inferences"] == 12
    assert r["throughput_ips"] == pytest.approx(12 / r["measure_time_s"])
    # the measure phase's wall time bounds the sum of its timed iterations
    measure = r["phases"][4]
    assert sum(lat) <= measure["duration_s"] + 1e-6
    samples = lines(tmp_path / "run" / "samples.jsonl")
    assert [s["phase"] for s in samples] == ["warmup"] * 2 + ["measure"] * 6
    assert [s["latency_s"] for s in samples if s["phase"] == "measure"] == lat
    mon = lines(tmp_path / "run" / "monitor.jsonl")
    assert len(mon) >= 3 and all(m["monitor"] == "psutil" for m in mon)
    assert max(m["rss_mb"] for m in mon) > 50  # torch + resnet18 cannot fit in less
    assert r["placement"] == {"requested": "cpu", "actual": "cpu", "fell_back": False}
    env = r["env"]["start"]
    for key in ("python", "numpy", "kernel", "cpu_model", "memory_total_bytes", "swap_total_bytes", "cgroup"):
        assert env[key] is not None, key
    assert r["env"]["end"]["runtime"]["torch"].startswith("2.")
    assert r["memory"]["rss_mb"] > 50 and r["memory"]["uss_mb"] > 0
    assert (tmp_path / "run" / "env.json").exists()


def test_onnxruntime_reports_active_providers(tmp_path: Path, models_dir: Path, onnx_mnv3: str) -> None:
    spec = RunSpec(model="mobilenet_v3_small", framework="onnxruntime", batch_size=4, iterations=5,
                   artifact=onnx_mnv3, threads=1)
    rc, r = run_child(spec, tmp_path / "run", models_dir)
    assert rc == 0 and r["status"] == "ok", r["reason"]
    assert r["placement"]["providers_active"] == ["CPUExecutionProvider"]
    assert r["placement"]["fell_back"] is False
    assert "onnxruntime" in r["env"]["end"]["runtime"]


def test_cuda_asked_on_onnxruntime_without_it_is_flagged(tmp_path: Path, models_dir: Path, onnx_mnv3: str) -> None:
    import onnxruntime as ort

    has_cuda = "CUDAExecutionProvider" in ort.get_available_providers()
    spec = RunSpec(model="mobilenet_v3_small", framework="onnxruntime", placement="cuda", iterations=2,
                   artifact=onnx_mnv3)
    rc, r = run_child(spec, tmp_path / "run", models_dir)
    assert r["status"] == "ok"
    if has_cuda:  # this onnxruntime has CUDA: it ran where asked, and says so
        assert r["placement"]["fell_back"] is False and r["placement"]["actual"] == "CUDAExecutionProvider"
        return
    # It ran, but not where it was asked: the result says so instead of claiming CUDA.
    assert r["placement"]["fell_back"] is True
    assert r["placement"]["actual"] == "CPUExecutionProvider"


def test_missing_runtime_is_one_line(tmp_path: Path, models_dir: Path) -> None:
    spec = RunSpec(model="resnet18", framework="nosuchruntime", iterations=2)
    rc, r = run_child(spec, tmp_path / "run", models_dir)
    assert rc == 1 and r["status"] == "failed"
    assert "nosuchruntime" in r["reason"] and "\n" not in r["reason"]


def test_failure_keeps_what_was_measured(tmp_path: Path, models_dir: Path) -> None:
    # An artefact that does not exist fails at load: the result still holds phases and environment.
    spec = RunSpec(model="mobilenet_v3_small", framework="onnxruntime", artifact="missing/model.onnx")
    rc, r = run_child(spec, tmp_path / "run", models_dir)
    assert rc == 1 and r["status"] == "failed" and r["reason"]
    assert r["phases"][0]["name"] == "import" and r["env"]["start"]["kernel"]


def test_image_folder_input(tmp_path: Path, models_dir: Path, torch_rn18: str) -> None:
    from edgebench.suite import inputs
    from PIL import Image

    folder = tmp_path / "imgs" / "class_a"
    folder.mkdir(parents=True)
    Image.new("RGB", (320, 240), (255, 0, 0)).save(folder / "red.png")
    Image.new("RGB", (64, 64), (0, 0, 255)).save(folder / "blue.jpg")
    batch = inputs.from_folder(str(tmp_path / "imgs"), 3, (3, 224, 224))
    assert batch.shape == (3, 3, 224, 224)
    # sorted: blue.jpg, red.png, then blue again; a solid colour normalises to (v - mean) / std everywhere
    assert batch[1, 0].mean() == pytest.approx((1.0 - 0.485) / 0.229, abs=1e-3)
    assert batch[0, 2].mean() == pytest.approx((1.0 - 0.406) / 0.225, abs=2e-2)
    spec = RunSpec(model="resnet18", framework="torch", batch_size=2, iterations=2, artifact=torch_rn18,
                   input_dir=str(tmp_path / "imgs"))
    rc, r = run_child(spec, tmp_path / "run", models_dir)
    assert rc == 0 and r["status"] == "ok", r["reason"]
