"""Per-layer latency of any PyTorch model with forward hooks (P5).

A pre-hook and a hook on every leaf module read the clock, each after synchronising the device, so a
layer's time is its own kernels and not the queue before it. The synchronisation itself slows the whole
pass a little; `total_s` is therefore measured in separate passes without hooks, and the share of it the
leaves account for is reported (the rest is work outside leaf modules: additions, reshapes, concats).
"""

import time
from typing import Any, Dict, List

import numpy as np


def _sync_for(device: Any) -> Any:
    import torch

    if getattr(device, "type", str(device)) == "cuda":
        return lambda: torch.cuda.synchronize(device)
    return lambda: None


def per_layer(net: Any, batch: Any, warmups: int = 2, iterations: int = 10) -> Dict[str, Any]:
    """Median seconds per leaf module over `iterations` hooked passes, after `warmups` passes.

    `batch` is a tensor already on the model's device and dtype.
    """
    import torch

    device = batch.device
    sync = _sync_for(device)
    names = {m: n for n, m in net.named_modules()}
    leaves = [m for m in net.modules() if not list(m.children())]
    starts: Dict[int, List[float]] = {}
    times: Dict[str, List[float]] = {}
    order: List[str] = []
    kinds: Dict[str, str] = {}
    recording = [False]

    def pre(module: Any, inp: Any) -> None:
        if recording[0]:
            sync()
            starts.setdefault(id(module), []).append(time.perf_counter())

    def post(module: Any, inp: Any, out: Any) -> None:
        if recording[0]:
            sync()
            t1 = time.perf_counter()
            name = names.get(module, "?")
            if name not in times:
                times[name] = []
                order.append(name)
                kinds[name] = type(module).__name__
            times[name].append(t1 - starts[id(module)].pop())

    handles = [m.register_forward_pre_hook(pre) for m in leaves] + [m.register_forward_hook(post) for m in leaves]
    grad = getattr(torch, "inference_mode", torch.no_grad)
    net.eval()
    try:
        with grad():
            for _ in range(warmups):
                net(batch)
            sync()
            plain = []
            for _ in range(iterations):
                t0 = time.perf_counter()
                net(batch)
                sync()
                plain.append(time.perf_counter() - t0)
            recording[0] = True
            for _ in range(iterations):
                net(batch)
    finally:
        recording[0] = False
        for h in handles:
            h.remove()
    # A module called k times per pass has k samples per pass: sum them per pass before the median.
    rows: List[Dict[str, Any]] = []
    for name in order:
        per_pass = np.asarray(times[name]).reshape(iterations, -1).sum(axis=1)
        rows.append({"name": name, "type": kinds[name], "calls_per_pass": len(times[name]) // iterations,
                     "median_s": float(np.median(per_pass))})
    total = float(np.median(plain))
    layers_s = float(sum(r["median_s"] for r in rows))
    for r in rows:
        r["share"] = r["median_s"] / layers_s if layers_s > 0 else 0.0
    return {"total_s": total, "layers_sum_s": layers_s, "batch_size": int(batch.shape[0]),
            "device": str(device), "iterations": iterations, "warmups": warmups, "layers": rows}
