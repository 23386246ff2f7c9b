"""The architectures edgebench knows, as plain data: the host validates matrices against it
without importing any runtime."""

from typing import Dict, List, Tuple

# name -> default input shape (C, H, W). All are torchvision architectures with random weights.
TORCHVISION: Dict[str, Tuple[int, int, int]] = {
    "alexnet": (3, 224, 224),
    "squeezenet1_0": (3, 224, 224),
    "squeezenet1_1": (3, 224, 224),
    "resnet18": (3, 224, 224),
    "resnet50": (3, 224, 224),
    "densenet121": (3, 224, 224),
    "densenet161": (3, 224, 224),
    "densenet169": (3, 224, 224),
    "densenet201": (3, 224, 224),
    "vgg16": (3, 224, 224),
    "inception_v3": (3, 299, 299),
    "mobilenet_v2": (3, 224, 224),
    "mobilenet_v3_small": (3, 224, 224),
    "mobilenet_v3_large": (3, 224, 224),
    "efficientnet_b0": (3, 224, 224),
    "efficientnet_b1": (3, 240, 240),
    "efficientnet_b2": (3, 260, 260),
    "efficientnet_b3": (3, 300, 300),
    "efficientnet_b4": (3, 380, 380),
    "efficientnet_b5": (3, 456, 456),
}

# torchvision's published "GFLOPS" at the default input shape; they are multiply-accumulates (GMACs).
PUBLISHED_GMACS: Dict[str, float] = {
    "alexnet": 0.71, "squeezenet1_0": 0.82, "squeezenet1_1": 0.35, "resnet18": 1.81, "resnet50": 4.09,
    "densenet121": 2.83, "densenet161": 7.73, "densenet169": 3.36, "densenet201": 4.29, "vgg16": 15.47,
    "inception_v3": 5.71, "mobilenet_v2": 0.30, "mobilenet_v3_small": 0.06, "mobilenet_v3_large": 0.22,
    "efficientnet_b0": 0.39, "efficientnet_b1": 0.69, "efficientnet_b2": 1.09, "efficientnet_b3": 1.83,
    "efficientnet_b4": 4.39, "efficientnet_b5": 10.27,
}

# framework -> (artefact format it reads or None when it builds the model itself, precisions)
FRAMEWORKS: Dict[str, Tuple[object, Tuple[str, ...]]] = {
    "torch": (None, ("fp32", "fp16")),
    "onnxruntime": ("onnx", ("fp32",)),
}


def models() -> List[str]:
    return sorted(TORCHVISION)


def can_run(framework: str, model: str, precision: str) -> str:
    """Empty when `framework` can run `model` at `precision`, else the reason it cannot."""
    if framework not in FRAMEWORKS:
        return "unknown framework %r (known: %s)" % (framework, ", ".join(sorted(FRAMEWORKS)))
    if model not in TORCHVISION:
        return "unknown model %r for %s (known: %s)" % (model, framework, ", ".join(models()))
    precisions = FRAMEWORKS[framework][1]
    if precision not in precisions:
        return "%s runs %s at %s, not %r" % (framework, model, "/".join(precisions), precision)
    return ""


def artifact_format(framework: str) -> object:
    return FRAMEWORKS[framework][0]
