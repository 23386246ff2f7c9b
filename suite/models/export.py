"""Make model artefacts: calibrated random weights (torch state dict) and ONNX exports checked
against torch's own outputs."""

import json
import os
import time
from typing import Any, Dict, Tuple

import numpy as np

from ..fsutil import write_json

DEFAULT_OPSET = 17
# float32 exports agree with torch to ~1e-6 of the output scale; 1e-4 leaves room for kernel order.
RTOL = 1e-4


def calibrated_model(model: str, input_shape: Tuple[int, ...], num_classes: int = 1000, seed: int = 0) -> Any:
    """A torchvision net with random weights whose BatchNorm statistics were measured on random input.

    Without this, eval-mode nets like MobileNet give outputs near 1e-9: checks of exports become
    meaningless and CPUs may slow down on denormal numbers, which real weights never produce.
    """
    import torch

    from ..backends.torch_backend import build_model

    torch.manual_seed(seed)
    net = build_model(model, num_classes)
    bns = [m for m in net.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    if bns:
        for m in bns:
            m.reset_running_stats()
            m.momentum = None  # cumulative average over the calibration batches
        net.train()
        rng = np.random.RandomState(seed + 1)
        with torch.no_grad():
            for _ in range(2):
                net(torch.from_numpy(rng.standard_normal((4,) + tuple(input_shape)).astype(np.float32)))
    return net.eval()


def save_torch(model: str, out_dir: str, input_shape: Tuple[int, ...], num_classes: int = 1000,
               seed: int = 0) -> Dict[str, Any]:
    """Write out_dir/model.pt (a state dict the torch backend loads) and out_dir/manifest.json."""
    import torch

    if not os.path.isdir(out_dir):
        os.makedirs(out_dir)
    net = calibrated_model(model, input_shape, num_classes, seed)
    path = os.path.join(out_dir, "model.pt")
    torch.save(net.state_dict(), path + ".tmp")
    os.replace(path + ".tmp", path)
    manifest = _manifest(model, "torch", path, input_shape, num_classes, seed, net)
    manifest["versions"] = {"torch": torch.__version__}
    write_json(os.path.join(out_dir, "manifest.json"), manifest)
    return manifest


def _manifest(model: str, fmt: str, path: str, input_shape: Tuple[int, ...], num_classes: int, seed: int,
              net: Any) -> Dict[str, Any]:
    return {
        "model": model, "format": fmt, "precision": "fp32", "file": os.path.basename(path),
        "input_shape": list(input_shape), "num_classes": num_classes, "seed": seed,
        "size_bytes": os.path.getsize(path), "size_mb": os.path.getsize(path) / 1e6,
        "parameters": int(sum(p.numel() for p in net.parameters())),
    }


def export_onnx(model: str, out_dir: str, input_shape: Tuple[int, ...], num_classes: int = 1000,
                seed: int = 0, opset: int = DEFAULT_OPSET) -> Dict[str, Any]:
    """Write out_dir/model.onnx (dynamic batch) and out_dir/manifest.json; returns the manifest."""
    import onnx
    import onnxruntime as ort
    import torch

    if not os.path.isdir(out_dir):
        os.makedirs(out_dir)
    net = calibrated_model(model, input_shape, num_classes, seed)
    x = torch.from_numpy(np.random.RandomState(seed).standard_normal((2,) + tuple(input_shape)).astype(np.float32))
    path = os.path.join(out_dir, "model.onnx")
    tmp = path + ".tmp"
    t0 = time.monotonic()
    torch.onnx.export(net, (x,), tmp, input_names=["input"], output_names=["logits"], opset_version=opset,
                      dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}}, dynamo=False)
    export_s = time.monotonic() - t0
    onnx.checker.check_model(tmp, full_check=True)
    with torch.no_grad():
        want = net(x).numpy()
    sess = ort.InferenceSession(tmp, providers=["CPUExecutionProvider"])
    got = sess.run(None, {"input": x.numpy()})[0]
    # Relative to the output's scale, so the check means the same for every architecture.
    rel = float(np.max(np.abs(got - want)) / max(float(np.max(np.abs(want))), 1e-12))
    if rel > RTOL:
        os.unlink(tmp)
        raise ValueError("ONNX export of %s disagrees with torch: max |diff| / max |out| = %.3g > %.g"
                         % (model, rel, RTOL))
    os.replace(tmp, path)
    manifest = _manifest(model, "onnx", path, input_shape, num_classes, seed, net)
    manifest.update({
        "opset": opset, "export_s": export_s,
        "check": {"reference": "torch", "max_rel_diff": rel, "rtol": RTOL},
        "versions": {"torch": torch.__version__, "onnx": onnx.__version__, "onnxruntime": ort.__version__},
    })
    write_json(os.path.join(out_dir, "manifest.json"), manifest)
    return manifest


def main_export(args: Any) -> int:
    shape = tuple(int(v) for v in args.input.split(","))
    if args.format == "torch":
        manifest = save_torch(args.model, args.out, shape, args.num_classes, args.seed)
    else:
        manifest = export_onnx(args.model, args.out, shape, args.num_classes, args.seed, args.opset)
    print(json.dumps(manifest, indent=2, sort_keys=True))
    return 0
