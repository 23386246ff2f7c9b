"""MXNet Gluon model-zoo nets (P2's MXNet models) under the zoo's common names, with random initialisation
or a Gluon .params file.

The mapping is plain data (the host validates matrices against it without MXNet); build() imports mxnet.
Which Gluon definition each name is, and how it differs from torchvision's / Keras's of the same name:
- resnet18 -> resnet18_v1 and resnet50 -> resnet50_v1: ResNet v1 (He et al. 2015), the stride-2 of a
  bottleneck's downsampling on its first 1x1 conv, as Keras ResNet50. torchvision's resnet50 is "v1.5" (stride
  on the 3x3), which Gluon names v1b (GluonCV only). Basic blocks (resnet18) are the same in v1 and v1.5.
- mobilenet_v1 -> mobilenet1.0 (MobileNet-V1, width 1.0; torchvision has none, Keras's MobileNet is the same).
- mobilenet_v2 -> mobilenetv2_1.0; inception_v3 -> inceptionv3 (299 x 299); squeezenet1_0 -> squeezenet1.0;
  alexnet, densenet161, vgg16: the same names (vgg16 without batch norm, as torchvision's vgg16).
"""

import json
import sys
from typing import Any, Dict, List, NamedTuple, Optional, Tuple

from . import NetUnavailable


class GluonNet(NamedTuple):
    gluon: str  # mxnet.gluon.model_zoo.vision name
    input_shape: Tuple[int, int, int]  # (C, H, W)
    note: str  # how it differs from the other frameworks' definition of the same zoo name, if it does


GLUON: Dict[str, GluonNet] = {
    "alexnet": GluonNet("alexnet", (3, 224, 224), ""),
    "densenet161": GluonNet("densenet161", (3, 224, 224), ""),
    "inception_v3": GluonNet("inceptionv3", (3, 299, 299), ""),
    "mobilenet_v1": GluonNet("mobilenet1.0", (3, 224, 224), "MobileNet-V1, width multiplier 1.0"),
    "mobilenet_v2": GluonNet("mobilenetv2_1.0", (3, 224, 224), "MobileNet-V2, width multiplier 1.0"),
    "resnet18": GluonNet("resnet18_v1", (3, 224, 224), "ResNet v1 (basic blocks: same as torchvision's)"),
    "resnet50": GluonNet("resnet50_v1", (3, 224, 224),
                         "ResNet v1 (stride on the bottleneck's 1x1, as Keras); torchvision's is v1.5 (Gluon v1b)"),
    "squeezenet1_0": GluonNet("squeezenet1.0", (3, 224, 224), ""),
    "vgg16": GluonNet("vgg16", (3, 224, 224), "no batch norm"),
}


def names() -> List[str]:
    return sorted(GLUON)


def gluon_name(model: str) -> str:
    if model not in GLUON:
        raise NetUnavailable("no Gluon model-zoo net for %r (known: %s)" % (model, ", ".join(names())))
    return GLUON[model].gluon


def build(model: str, num_classes: int, ctx: Any, seed: int = 0, weights: Optional[str] = None) -> Any:
    """The Gluon net for zoo name `model` on context `ctx`: He-normal random weights from `seed` (activations
    keep their scale through the depth, unlike MXNet's uniform default), or a .params file."""
    import mxnet as mx
    from mxnet.gluon.model_zoo import vision

    net = vision.get_model(gluon_name(model), pretrained=False, classes=num_classes)
    if weights:
        try:
            net.load_parameters(weights, ctx=ctx)
        except Exception as e:  # MXNetError, AssertionError, OSError: all mean "not this net's parameters"
            raise NetUnavailable("weights %s are not Gluon parameters of %s: %s" % (weights, model, e)) from e
        return net
    mx.random.seed(seed)
    net.initialize(mx.init.Xavier(rnd_type="gaussian", factor_type="in", magnitude=2), ctx=ctx)
    return net


def count_params(model: str, num_classes: int = 1000) -> int:
    """Trainable parameters of the Gluon definition (BatchNorm running statistics left out, as torch's
    parameters() and Keras's trainable weights leave them out)."""
    import mxnet as mx
    import numpy as np

    net = build(model, num_classes, mx.cpu())
    c, h, w = GLUON[model].input_shape
    net(mx.nd.zeros((1, c, h, w)))  # shapes are inferred on the first forward
    return int(sum(int(np.prod(p.shape)) for p in net.collect_params().values() if p.grad_req != "null"))


def count_macs(model: str, num_classes: int = 1000) -> int:
    """MACs per sample under suite/artefacts/flops.py's convention (Convolution: weight size x output positions;
    FullyConnected: weight size; nothing else), read from the hybridised net's graph with inferred shapes."""
    import mxnet as mx

    net = build(model, num_classes, mx.cpu())
    c, h, w = GLUON[model].input_shape
    net(mx.nd.zeros((1, c, h, w)))
    sym = net(mx.sym.var("data"))
    internals = sym.get_internals()
    _, out_shapes, _ = internals.infer_shape(data=(1, c, h, w))
    shape_of = dict(zip(internals.list_outputs(), out_shapes))
    params = {p.name: p.shape for p in net.collect_params().values()}
    nodes = json.loads(sym.tojson())["nodes"]
    macs = 0
    for node in nodes:
        if node["op"] not in ("Convolution", "FullyConnected"):
            continue
        weight = 1
        for d in params[nodes[node["inputs"][1][0]]["name"]]:
            weight *= int(d)
        positions = 1
        if node["op"] == "Convolution":
            for d in shape_of[node["name"] + "_output"][2:]:
                positions *= int(d)
        macs += weight * positions
    return macs


def main(argv: List[str]) -> int:
    """`python -m edgebench.suite.nets.gluon_zoo params NAME...`: one JSON object per net (Gluon name, input
    shape, trainable parameters, MACs per sample), for the host (which has no MXNet) to read through the
    MXNet interpreter."""
    if len(argv) < 2 or argv[0] != "params":
        print("usage: python -m edgebench.suite.nets.gluon_zoo params NAME...", file=sys.stderr)
        return 2
    for model in argv[1:]:
        net = GLUON.get(model)
        if net is None:
            print("unknown model %r (known: %s)" % (model, ", ".join(names())), file=sys.stderr)
            return 2
        print(json.dumps({"model": model, "gluon": net.gluon, "input_shape": list(net.input_shape),
                          "params": count_params(model), "macs": count_macs(model), "note": net.note}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
