"""Make model artefacts: calibrated random weights (torch state dict), ONNX exports checked against
torch's own outputs (pruned variants included), and TFLite FP32/FP16/INT8 from Keras applications
checked against Keras. Every artefact folder gets a manifest.json."""

import json
import os
import time
from typing import Any, Dict, Optional, Tuple

import numpy as np

from ..fsutil import write_json
from ..nets import zoo
from .agreement import RTOL, agreement

DEFAULT_OPSET = 17


def calibrated_model(model: str, input_shape: Tuple[int, ...], num_classes: int = 1000, seed: int = 0,
                     weights: Optional[str] = None) -> Any:
    """A torchvision net with random weights whose BatchNorm statistics were measured on random input.

    Without this, eval-mode nets like MobileNet give outputs near 1e-9: checks of exports become
    meaningless and CPUs may slow down on denormal numbers, which real weights never produce.
    With `weights` (a state dict file), those weights are loaded instead and nothing is calibrated.
    """
    import torch

    from ..nets.torchvision_nets import build_model

    torch.manual_seed(seed)
    net = build_model(model, num_classes)
    if weights:
        net.load_state_dict(torch.load(weights, map_location="cpu"))
        return net.eval()
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


def build_torch(model: str, input_shape: Tuple[int, ...], num_classes: int = 1000, seed: int = 0,
                weights: Optional[str] = None, calib_dir: Optional[str] = None) -> Tuple[Any, Dict[str, Any]]:
    """The net for a zoo name, pruned when the name says so; and what was done to it (for the manifest)."""
    base, variant = zoo.parse(model)
    net = calibrated_model(base, input_shape, num_classes, seed, weights)
    info: Dict[str, Any] = {}
    if variant is not None:
        from . import prune

        calib = None
        if calib_dir:
            import torch

            from .. import inputs

            paths = inputs.list_images(calib_dir)[:16]
            calib = torch.from_numpy(np.stack([inputs.load_image(p, input_shape) for p in paths]))
        info["pruning"] = prune.prune(net, input_shape, variant[1] / 100.0, variant[0], num_classes, calib, seed)
        net.eval()
    return net, info


def _manifest(model: str, fmt: str, path: str, input_shape: Tuple[int, ...], num_classes: int, seed: int,
              params: int, precision: str = "fp32") -> Dict[str, Any]:
    size = os.path.getsize(path)
    return {
        "model": model, "format": fmt, "precision": precision, "file": os.path.basename(path),
        "input_shape": list(input_shape), "num_classes": num_classes, "seed": seed,
        # Units rule (README, Development): *_mb is MiB; decimal megabytes only as *_mb_decimal.
        "size_bytes": size, "size_mib": size / float(1 << 20), "size_mb_decimal": size / 1e6, "parameters": int(params),
        "made_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def _torch_params(net: Any) -> int:
    return int(sum(p.numel() for p in net.parameters()))


def save_torch(model: str, out_dir: str, input_shape: Tuple[int, ...], num_classes: int = 1000,
               seed: int = 0, weights: Optional[str] = None, calib_dir: Optional[str] = None) -> Dict[str, Any]:
    """Write out_dir/model.pt and out_dir/manifest.json: a torchvision state dict, or for a pruned name the
    pruned structure and weights (nets/pruned.save_pruned), checked by loading it back onto a fresh base net."""
    import torch

    if not os.path.isdir(out_dir):
        os.makedirs(out_dir)
    net, info = build_torch(model, input_shape, num_classes, seed, weights, calib_dir)
    path = os.path.join(out_dir, "model.pt")
    t0 = time.monotonic()
    if "pruning" in info:
        from ..nets import pruned

        pruned.save_pruned(net, model, path + ".tmp", info["pruning"])
    else:
        torch.save(net.state_dict(), path + ".tmp")
    export_s = time.monotonic() - t0
    versions = _torch_versions()
    if "pruning" in info:
        from . import prune

        info["check"] = prune.check_saved(net, model, path + ".tmp", input_shape, num_classes, seed)
        versions["torch-pruning"] = info["pruning"]["library_version"]
    os.replace(path + ".tmp", path)
    manifest = _manifest(model, "torch", path, input_shape, num_classes, seed, _torch_params(net))
    manifest.update(info)
    manifest.update({"export_s": export_s, "output_shape": [num_classes], "versions": versions})
    write_json(os.path.join(out_dir, "manifest.json"), manifest)
    return manifest


def _torch_versions() -> Dict[str, str]:
    import torch
    import torchvision

    return {"torch": torch.__version__, "torchvision": torchvision.__version__}


def export_onnx(model: str, out_dir: str, input_shape: Tuple[int, ...], num_classes: int = 1000,
                seed: int = 0, opset: int = DEFAULT_OPSET, weights: Optional[str] = None,
                calib_dir: Optional[str] = None, net: Any = None) -> Dict[str, Any]:
    """Write out_dir/model.onnx (dynamic batch) and out_dir/manifest.json; returns the manifest.

    `net` exports that torch module (e.g. a small CNN trained elsewhere) instead of building `model`.
    """
    import onnx
    import onnxruntime as ort
    import torch

    if not os.path.isdir(out_dir):
        os.makedirs(out_dir)
    info: Dict[str, Any] = {}
    if net is None:
        net, info = build_torch(model, input_shape, num_classes, seed, weights, calib_dir)
    net.eval()
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
    rel = agreement(want, got)["max_rel_diff"]
    if rel > RTOL:
        os.unlink(tmp)
        raise ValueError("ONNX export of %s disagrees with torch: max |diff| / max |out| = %.3g > %.g"
                         % (model, rel, RTOL))
    os.replace(tmp, path)
    manifest = _manifest(model, "onnx", path, input_shape, num_classes, seed, _torch_params(net))
    manifest.update(info)
    versions = _torch_versions()
    versions.update({"onnx": onnx.__version__, "onnxruntime": ort.__version__})
    manifest.update({
        "opset": opset, "export_s": export_s, "output_shape": list(want.shape[1:]),
        "check": {"reference": "torch", "max_rel_diff": rel, "rtol": RTOL},
        "versions": versions,
    })
    if "pruning" in info:
        manifest["versions"]["torch-pruning"] = info["pruning"]["library_version"]
    write_json(os.path.join(out_dir, "manifest.json"), manifest)
    return manifest


def export_tflite(model: str, out_dir: str, input_shape: Tuple[int, ...], num_classes: int = 1000,
                  seed: int = 0, precision: str = "fp32", calib_dir: Optional[str] = None,
                  calib_samples: int = 16, weights: Optional[str] = None, net: Any = None) -> Dict[str, Any]:
    """Write out_dir/model.tflite and its manifest; the output is checked against Keras (agreement.TFLITE_TOLERANCES).

    Keras applications are built as they are; other zoo names are torchvision nets rebuilt in Keras by
    torch2keras (checked against torch, manifest "torch_check"). `net` converts that Keras model (e.g. one
    transferred from torch) instead of building `model`.
    """
    from ..nets import keras_zoo
    from . import quantise

    if not os.path.isdir(out_dir):
        os.makedirs(out_dir)
    built = net is None
    from_torch = built and zoo.tflite_source(model) == "torchvision"
    torch_net: Any = None
    torch_info: Dict[str, Any] = {}
    if from_torch:  # the torchvision net (its weights: calibrated random or `weights`), rebuilt in Keras
        from . import torch2keras

        torch_net, torch_info = build_torch(model, input_shape, num_classes, seed, weights, calib_dir)
        net, torch_check = torch2keras.rebuild(torch_net, input_shape, seed=seed)
        torch_info.update({"source": "torchvision.models.%s via edgebench torch2keras" % zoo.parse(model)[0],
                           "torch_check": torch_check})
    elif built:
        net = keras_zoo.build(model, input_shape, num_classes, seed, weights)
    rep, calib = (None, None)
    if precision == "int8":
        rep, calib = keras_zoo.representative(calib_dir, input_shape, calib_samples, seed)
    t0 = time.monotonic()
    blob = keras_zoo.convert(net, precision, rep)
    export_s = time.monotonic() - t0
    path = os.path.join(out_dir, "model.tflite")
    with open(path + ".tmp", "wb") as f:
        f.write(blob)
    check = quantise.check_tflite(net, path + ".tmp", input_shape, precision, seed, calib_dir)
    if not check["ok"]:
        os.unlink(path + ".tmp")
        raise ValueError("TFLite %s export of %s disagrees with Keras: %s" % (precision, model, check["failed"]))
    os.replace(path + ".tmp", path)
    # torch's count for torchvision nets (as in their ONNX manifests): Keras also counts BatchNorm statistics.
    params = _torch_params(torch_net) if from_torch else int(net.count_params())
    manifest = _manifest(model, "tflite", path, input_shape, num_classes, seed, params, precision)
    versions = keras_zoo.versions()
    if from_torch:
        versions.update(_torch_versions())
    from ..backends import tflite_backend

    versions[tflite_backend.RUNTIME] = tflite_backend.runtime_version()
    manifest.update({"export_s": export_s, "layout": "NHWC", "check": check, "versions": versions,
                     "output_shape": [int(v) for v in net.output_shape[1:]]})
    if from_torch:
        manifest.update(torch_info)
    elif built:
        manifest.update({"source": "keras.applications.%s" % zoo.KERAS[model][0],
                         "preprocessing_layers": keras_zoo.keras_preprocessing(net)})
    if calib is not None:
        manifest["calibration"] = calib
    write_json(os.path.join(out_dir, "manifest.json"), manifest)
    return manifest


def export_edgetpu(model: str, out_dir: str, input_shape: Tuple[int, ...], num_classes: int = 1000, seed: int = 0,
                   calib_dir: Optional[str] = None, calib_samples: int = 16,
                   weights: Optional[str] = None) -> Dict[str, Any]:
    """out_dir/model.tflite: the full-integer INT8 TFLite of `model`, compiled by edgetpu_compiler.

    The compiler is checked first (it is x86-64 Debian/Ubuntu only): without it nothing is converted."""
    import shutil

    from . import compilers

    if shutil.which("edgetpu_compiler") is None:
        raise compilers.ToolMissing(
            "edgetpu_compiler is not installed here (Coral's apt package 'edgetpu-compiler', x86-64 Debian/Ubuntu "
            "only): make this artefact on such a host (edgebench models make %s --format edgetpu) and copy its "
            "folder into this models cache" % model)
    work = os.path.join(out_dir, "int8")
    man = export_tflite(model, work, input_shape, num_classes, seed, "int8", calib_dir, calib_samples, weights)
    compiled = compilers.compile_edgetpu(os.path.join(work, "model.tflite"), work)
    path = os.path.join(out_dir, "model.tflite")
    os.replace(compiled["file"], path)
    mapped = compiled["mapped"] or {}
    size = os.path.getsize(path)
    man.update({"format": "edgetpu", "file": "model.tflite", "size_bytes": size, "size_mb_decimal": size / 1e6,
                "size_mib": size / float(1 << 20), "int8_size_bytes": man["size_bytes"],
                "edgetpu": {"compile_s": compiled["compile_s"], "mapped": mapped, "log": compiled["log"][-4000:]}})
    if mapped.get("cpu_ops"):
        man["warning"] = "%d of %d operations run on the CPU, not the EdgeTPU" % (
            mapped["cpu_ops"], mapped["cpu_ops"] + mapped.get("edgetpu_ops", 0))
    shutil.rmtree(work, ignore_errors=True)
    write_json(os.path.join(out_dir, "manifest.json"), man)
    return man


def main_export(args: Any) -> int:
    shape = tuple(int(v) for v in args.input.split(","))
    if args.format == "torch":
        manifest = save_torch(args.model, args.out, shape, args.num_classes, args.seed)
    else:
        manifest = export_onnx(args.model, args.out, shape, args.num_classes, args.seed, args.opset)
    print(json.dumps(manifest, indent=2, sort_keys=True))
    return 0
