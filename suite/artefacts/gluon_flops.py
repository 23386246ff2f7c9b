"""FLOPs, MACs and parameters of a Gluon model-zoo net (MXNet 1.9.1), with flops.py's convention (P5's formulas,
per sample, i.e. batch 1), counted with forward hooks on the leaf blocks (and every Conv and Dense) of the
imperative (not hybridised) net:

- Conv1D/2D/3D:          MACs = prod(weight shape (Cout, Cin/groups, K...)) * output positions
- Conv1D/2D/3DTranspose: MACs = prod(weight shape (Cin, Cout/groups, K...)) * input positions
- Dense:                 MACs = in_units * units * rows (rows per sample: 1 when it flattens, a classifier head)
- FLOPs = 2 * MACs; bias, BatchNorm, activations, pooling and additions count 0.
- params: trainable parameters (grad_req != 'null', as torch's parameters()); params_all adds BatchNorm's
  running mean and variance (what Gluon's collect_params() holds).

A standalone script: MXNet needs numpy<1.24, so it runs under its own interpreter (`make mxnet-env` makes
.venv-mxnet at the repository root), never in the host's venv. It imports only the standard library and mxnet:

    .venv-mxnet/bin/python suite/artefacts/gluon_flops.py --model resnet18_v1 --input 3,224,224 [--layers]

prints one JSON object on stdout (or writes it to --result FILE).
"""

import argparse
import json
import sys
from typing import Any, Dict, List, Tuple

CONVENTION = ("per sample; MACs of Conv (K*Cin/groups*Cout*output positions) and Dense (Cin*Cout*rows); "
              "FLOPs = 2*MACs; bias, norm, activation, pooling and additions not counted")


def _prod(values: Any) -> int:
    out = 1
    for v in values:
        out *= int(v)
    return out


def layer_macs(block: Any, inp: Any, out: Any) -> int:
    """MACs of one leaf block for one sample (NCHW shapes with the batch dimension)."""
    from mxnet.gluon import nn

    kind = type(block).__name__
    weight = getattr(block, "weight", None)
    if weight is None or weight.shape is None:
        return 0
    if kind.startswith("Conv") and kind.endswith("Transpose"):
        return _prod(weight.shape) * _prod(inp.shape[2:])
    if kind in ("Conv1D", "Conv2D", "Conv3D"):
        return _prod(weight.shape) * _prod(out.shape[2:])
    if isinstance(block, nn.Dense):
        rows = 1 if block._flatten else _prod(out.shape[1:-1])
        return _prod(weight.shape) * rows
    return 0


def _size(params: Any, trainable: bool) -> int:
    return int(sum(_prod(p.shape) for p in params.values() if not trainable or p.grad_req != "null"))


def count(net: Any, input_shape: Tuple[int, ...]) -> Dict[str, Any]:
    """Totals and per-layer rows (leaf blocks, in call order) of an initialised Gluon net for one sample of
    `input_shape` (C, H, W)."""
    import mxnet as mx

    rows: List[Dict[str, Any]] = []

    def hook(block: Any, inp: Any, out: Any) -> None:
        x = inp[0] if isinstance(inp, (list, tuple)) else inp
        macs = layer_macs(block, x, out)
        shape = list(out.shape[1:]) if hasattr(out, "shape") else None
        rows.append({"name": block.name, "type": type(block).__name__, "output_shape": shape, "macs": macs,
                     "flops": 2 * macs, "params": _size(block._reg_params, True)})

    def leaves(block: Any) -> List[Any]:
        # A Conv or Dense built with activation=... holds its activation as a child: hook it too.
        kids = list(block._children.values())
        own = [block] if not kids or "weight" in block._reg_params else []
        return own + [leaf for k in kids for leaf in leaves(k)]

    handles = [b.register_forward_hook(hook) for b in leaves(net)]
    try:
        net(mx.nd.zeros((1,) + tuple(input_shape))).wait_to_read()
    finally:
        for h in handles:
            h.detach()
    macs = sum(r["macs"] for r in rows)
    params = net.collect_params()
    return {"input_shape": list(input_shape), "layout": "NCHW", "macs": macs, "flops": 2 * macs,
            "gmacs": macs / 1e9, "gflops": 2 * macs / 1e9, "params": _size(params, True),
            "params_all": _size(params, False), "convention": CONVENTION, "layers": rows}


def for_model(name: str, input_shape: Tuple[int, ...], num_classes: int = 1000) -> Dict[str, Any]:
    """count() for a Gluon model-zoo name (e.g. resnet18_v1, mobilenet1.0), randomly initialised (counts do not
    depend on the weights)."""
    import mxnet as mx
    from mxnet.gluon.model_zoo import vision

    net = vision.get_model(name, classes=num_classes)
    net.initialize(mx.init.Xavier())
    out = count(net, input_shape)
    out.update({"model": name, "num_classes": num_classes, "source": "mxnet.gluon.model_zoo.vision.%s" % name,
                "versions": {"mxnet": mx.__version__}})
    return out


def main(argv: Any = None) -> int:
    p = argparse.ArgumentParser(prog="gluon_flops.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--model", required=True, help="Gluon model-zoo name, e.g. resnet18_v1")
    p.add_argument("--input", default="3,224,224", help="C,H,W")
    p.add_argument("--num-classes", type=int, default=1000)
    p.add_argument("--layers", action="store_true", help="keep the per-layer rows")
    p.add_argument("--result", default=None, help="write the JSON here instead of stdout")
    args = p.parse_args(argv)
    shape = tuple(int(v) for v in args.input.split(","))
    try:
        info = for_model(args.model, shape, args.num_classes)
    except Exception as e:  # one line the host can show (unknown name, input too small for the net)
        sys.stderr.write("gluon_flops: %s: %s\n" % (type(e).__name__, (str(e).strip().splitlines() or [""])[0][:300]))
        return 1
    if not args.layers:
        info.pop("layers")
    text = json.dumps(info)
    if args.result:
        with open(args.result, "w") as f:
            f.write(text)
    else:
        sys.stdout.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
