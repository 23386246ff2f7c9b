"""python -m edgebench.suite.artefacts make | info | layers | accuracy | edgetpu | tensorrt

The host's `edgebench models` runs these in a subprocess (the host never imports a runtime). Each writes
its JSON answer to --result FILE when given (runtimes print to stdout on their own), else to stdout.
"""

import argparse
import json
import logging
import sys
from typing import Any, List, Optional, Tuple

from ..fsutil import write_json

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2


def _shape(text: str) -> Tuple[int, ...]:
    values = tuple(int(v) for v in text.split(","))
    return (3, values[0], values[0]) if len(values) == 1 else values


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m edgebench.suite.artefacts")
    sub = p.add_subparsers(dest="cmd")

    def common(q: argparse.ArgumentParser) -> None:
        q.add_argument("--model", required=True)
        q.add_argument("--input", default="3,224,224", help="C,H,W or one side (square, 3 channels)")
        q.add_argument("--num-classes", type=int, default=1000)
        q.add_argument("--seed", type=int, default=0)
        q.add_argument("--result", default=None, help="write the JSON answer here")

    q = sub.add_parser("make", help="make one artefact (torch, onnx, tflite, edgetpu) with its manifest")
    common(q)
    q.add_argument("--format", choices=["torch", "onnx", "tflite", "edgetpu", "keras"], required=True)
    q.add_argument("--precision", choices=["fp32", "fp16", "int8"], default="fp32")
    q.add_argument("--out", required=True)
    q.add_argument("--opset", type=int, default=17)
    q.add_argument("--calib-dir", default=None, help="image folder for INT8 calibration / Taylor pruning")
    q.add_argument("--calib-samples", type=int, default=16)
    q.add_argument("--weights", default=None, help="local weights file instead of random weights")
    q.add_argument("--content-key", default=None, help="the cache's content key, recorded in the manifest")
    q.add_argument("--key-inputs", default=None, help="JSON of what the content key was computed from")

    q = sub.add_parser("info", help="FLOPs, MACs and parameters, in total and per layer")
    common(q)
    q.add_argument("--framework", default="torch", help="tensorflow/keras count the Keras application (tflite: the "
                   "one TFLite is made from); the others count the torchvision net")
    q.add_argument("--artifact", default=None, help="count this ONNX file itself instead of a definition")

    q = sub.add_parser("layers", help="per-layer latency with forward hooks (torch)")
    common(q)
    q.add_argument("--batch-size", type=int, default=1)
    q.add_argument("--device", default="cpu")
    q.add_argument("--iterations", type=int, default=10)
    q.add_argument("--warmups", type=int, default=2)
    q.add_argument("--threads", type=int, default=None)

    q = sub.add_parser("accuracy", help="top-1/top-5 of an artefact on an ImageFolder data set")
    common(q)
    q.add_argument("--framework", required=True)
    q.add_argument("--precision", default="fp32")
    q.add_argument("--artifact", default=None)
    q.add_argument("--data", required=True)
    q.add_argument("--batch-size", type=int, default=16)
    q.add_argument("--threads", type=int, default=None)
    q.add_argument("--placement", default="cpu")
    q.add_argument("--limit", type=int, default=None, help="images per class")

    q = sub.add_parser("edgetpu", help="compile an INT8 .tflite for the EdgeTPU (needs edgetpu_compiler)")
    q.add_argument("--tflite", required=True)
    q.add_argument("--out", required=True)
    q.add_argument("--result", default=None)

    q = sub.add_parser("tensorrt", help="build a TensorRT engine from ONNX on this device (needs tensorrt)")
    q.add_argument("--onnx", required=True)
    q.add_argument("--out", required=True)
    q.add_argument("--precision", choices=["fp32", "fp16", "int8"], default="fp32")
    q.add_argument("--input", default="3,224,224")
    q.add_argument("--batch-size", type=int, default=1)
    q.add_argument("--calib-dir", default=None)
    q.add_argument("--calib-cache", default=None)
    q.add_argument("--workspace-mb", type=int, default=1024)
    q.add_argument("--result", default=None)
    return p


def _run(args: Any) -> Any:
    if args.cmd == "make":
        from .make import make

        manifest = make(args.format, args.model, args.out, _shape(args.input), args.num_classes, args.seed,
                        args.precision, args.opset, args.calib_dir, args.calib_samples, args.weights)
        if args.content_key:
            import os

            manifest["content_key"] = args.content_key
            if args.key_inputs:
                manifest["key_inputs"] = json.loads(args.key_inputs)
            write_json(os.path.join(args.out, "manifest.json"), manifest)
        return manifest
    if args.cmd == "info":
        from ..nets import zoo
        from . import flops

        base, variant = zoo.parse(args.model)
        shape = _shape(args.input)
        if args.artifact:
            from . import onnx_flops

            info = onnx_flops.count_file(args.artifact, shape)
            info.update({"model": args.model, "num_classes": args.num_classes, "published_gmacs": None})
            return info
        keras_named = args.framework in ("tensorflow", "keras") or (
            args.framework == "tflite" and zoo.tflite_source(args.model) == "keras")
        if keras_named and variant is None:
            from . import keras_flops

            info = keras_flops.for_model(args.model, shape, args.num_classes, args.seed)
            info["published_gmacs"] = None  # torchvision's figures are for torchvision's nets
            return info
        if variant is None:
            info = flops.for_model(args.model, shape, args.num_classes)
            info["source"] = "torchvision.models.%s" % base
        else:
            from .export import build_torch

            net, done = build_torch(args.model, shape, args.num_classes, args.seed)
            info = flops.count(net, shape)
            info.update({"model": args.model, "num_classes": args.num_classes, "pruning": done["pruning"],
                         "source": "torchvision.models.%s pruned by torch-pruning" % base})
        published = zoo.PUBLISHED_GMACS.get(base) if variant is None else None
        at = zoo.PUBLISHED_INPUT.get(base, zoo.TORCHVISION.get(base))
        info["published_gmacs"] = published if published is not None and tuple(shape) == tuple(at or ()) else None
        return info
    if args.cmd == "layers":
        return _layers(args)
    if args.cmd == "accuracy":
        from .accuracy import evaluate

        return evaluate(args.framework, args.model, args.data, _shape(args.input), args.precision, args.artifact,
                        args.num_classes, args.batch_size, args.threads, args.placement, args.limit, args.seed)
    if args.cmd == "edgetpu":
        from .compilers import compile_edgetpu

        return compile_edgetpu(args.tflite, args.out)
    if args.cmd == "tensorrt":
        from .compilers import build_tensorrt

        return build_tensorrt(args.onnx, args.out, args.precision, _shape(args.input), args.batch_size,
                              args.calib_dir, args.calib_cache, args.workspace_mb)
    raise ValueError("no command given")


def _layers(args: Any) -> Any:
    import numpy as np
    import torch

    from . import layer_time
    from .export import build_torch

    if args.threads:
        torch.set_num_threads(args.threads)
    shape = _shape(args.input)
    net, _ = build_torch(args.model, shape, args.num_classes, args.seed)
    device = torch.device(args.device)
    x = torch.from_numpy(np.random.RandomState(args.seed).standard_normal((args.batch_size,) + shape)
                         .astype(np.float32)).to(device)
    out = layer_time.per_layer(net.to(device), x, args.warmups, args.iterations)
    out.update({"model": args.model, "input_shape": list(shape), "threads": torch.get_num_threads()})
    return out


def main(argv: Optional[List[str]] = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s")
    if not args.cmd:
        parser.print_help(sys.stderr)
        return EXIT_BAD_INPUT
    try:
        answer = _run(args)
    except (ValueError, OSError) as e:
        sys.stderr.write("edgebench.suite.artefacts %s: %s\n" % (args.cmd, e))
        return EXIT_BAD_INPUT if isinstance(e, ValueError) else EXIT_FAILED
    if args.result:
        write_json(args.result, answer)
    else:
        print(json.dumps(answer, indent=2, sort_keys=True, default=str))
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
