"""NVML (nvidia-ml-py). Where no NVIDIA driver is loaded (this machine, CI) the real library is asked to
start and its failure must come back as a one-line reason. On a CUDA machine the monitor samples the
real GPU; that part has NOT run in this repository's CI (no GPU): it is skipped, not required, there."""

import time

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


def test_nvml_samples_a_real_gpu_or_says_why_not_from_nvml_itself() -> None:
    need(has_module("pynvml"), "nvidia-ml-py (pip install nvidia-ml-py==13.615.71)")
    if not _gpu_here():  # no driver here (CI): the reason is NVML's own
        reason = monitors.probe("nvml")
        assert reason is not None and "NVML cannot start" in reason
        return
    assert monitors.probe("nvml") is None
    mon = monitors.create("nvml", 0.05)
    mon.start()
    time.sleep(0.5)
    agg = mon.stop()
    assert agg["samples"] >= 5 and agg["gpu_name"]
    row = mon.samples[-1]
    assert 0 <= row["gpu_util_percent"] <= 100 and row["gpu_mem_used_mb"] > 0
    assert row["power_w"] is None or 1 < row["power_w"] < 1500
