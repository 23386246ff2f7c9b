"""NVML (nvidia-ml-py). Where no NVIDIA driver is loaded (this machine, CI) the real library is asked to
start and its failure must come back as a one-line reason. On a CUDA machine the monitor samples the
real GPU; that part has NOT run in this repository's CI (no GPU): it is skipped, not required, there."""

import time

import pytest
from edgebench.suite import monitors

from tests.conftest import has_module, need


def _gpu_here() -> bool:
    if not has_module("pynvml"):
        return False
    import pynvml

    try:
        pynvml.nvmlInit()
    except Exception:
        return False
    pynvml.nvmlShutdown()
    return True


def test_without_a_driver_the_reason_comes_from_nvml_itself() -> None:
    need(has_module("pynvml"), "nvidia-ml-py (pip install nvidia-ml-py==13.615.71)")
    if _gpu_here():
        pytest.skip("an NVIDIA driver is loaded here; see the sampling test")
    reason = monitors.probe("nvml")
    assert reason is not None and "NVML cannot start" in reason


def test_samples_a_real_gpu() -> None:
    if not _gpu_here():
        pytest.skip("no NVIDIA GPU/driver here (not a CI requirement)")
    mon = monitors.create("nvml", 0.05)
    mon.start()
    time.sleep(0.5)
    agg = mon.stop()
    assert agg["samples"] >= 5 and agg["gpu_name"]
    row = mon.samples[-1]
    assert 0 <= row["gpu_util_percent"] <= 100 and row["gpu_mem_used_mb"] > 0
    assert row["power_w"] is None or 1 < row["power_w"] < 1500
