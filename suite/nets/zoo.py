"""The architectures edgebench knows, as plain data: the host validates matrices against it
without importing any runtime.

A model name is an architecture, optionally with a pruned variant: "resnet50+pruned-taylor-50" is
ResNet50 pruned (Torch-Pruning, Taylor importance) until at least 50% of its FLOPs are removed.
"""

from typing import Dict, List, Optional, Tuple

from .. import registry
from . import gluon_zoo

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

# torchvision measured its "GFLOPS" at its evaluation resolution, which differs from the paper's here.
PUBLISHED_INPUT: Dict[str, Tuple[int, int, int]] = {"efficientnet_b2": (3, 288, 288)}

# Keras applications (TFLite is made from these; P1 used them): name -> (keras.applications class,
# default input shape (C, H, W)). Same names as torchvision's where the architecture is the same family.
KERAS: Dict[str, Tuple[str, Tuple[int, int, int]]] = {
    "mobilenet_v1": ("MobileNet", (3, 224, 224)),
    "mobilenet_v2": ("MobileNetV2", (3, 224, 224)),
    "mobilenet_v3_small": ("MobileNetV3Small", (3, 224, 224)),
    "mobilenet_v3_large": ("MobileNetV3Large", (3, 224, 224)),
    "densenet121": ("DenseNet121", (3, 224, 224)),
    "densenet169": ("DenseNet169", (3, 224, 224)),
    "densenet201": ("DenseNet201", (3, 224, 224)),
    "efficientnet_b0": ("EfficientNetB0", (3, 224, 224)),
    "efficientnet_b1": ("EfficientNetB1", (3, 240, 240)),
    "efficientnet_b2": ("EfficientNetB2", (3, 260, 260)),
    "efficientnet_b3": ("EfficientNetB3", (3, 300, 300)),
    "efficientnet_b4": ("EfficientNetB4", (3, 380, 380)),
    "efficientnet_b5": ("EfficientNetB5", (3, 456, 456)),
    "resnet50": ("ResNet50", (3, 224, 224)),
    "vgg16": ("VGG16", (3, 224, 224)),
    "inception_v3": ("InceptionV3", (3, 299, 299)),
}

PRUNE_IMPORTANCES = ("magnitude", "taylor")
# Pruned nets are torch modules: torch loads them (Torch-Pruning's state dict), the others read their ONNX
# export. Which frameworks, and at which precisions each runs: suite/registry.py.
PRUNED_FRAMEWORKS = tuple(f.name for f in registry.FRAMEWORKS.values() if f.pruned)


def models(framework: str = "torch") -> List[str]:
    if framework == "mxnet":  # Gluon model-zoo nets (nets/gluon_zoo.py: which Gluon definition each name is)
        return gluon_zoo.names()
    if framework == "tflite":  # Keras applications, and torchvision nets rebuilt in Keras (torch2keras)
        return sorted(set(KERAS) | set(TORCHVISION))
    if framework == "tensorflow":  # the Keras applications themselves
        return sorted(KERAS)
    return sorted(TORCHVISION)


def tflite_source(model: str) -> str:
    """Where a TFLite model is converted from: "keras" (a Keras application, as P1 used) or "torchvision"
    (the torchvision net with its weights, rebuilt in Keras by torch2keras)."""
    return "keras" if model.split("+", 1)[0] in KERAS else "torchvision"


def parse(model: str) -> Tuple[str, Optional[Tuple[str, int]]]:
    """(architecture, (importance, percent of FLOPs to remove) or None); ValueError when malformed."""
    if "+" not in model:
        return model, None
    base, variant = model.split("+", 1)
    parts = variant.split("-")
    if len(parts) != 3 or parts[0] != "pruned" or parts[1] not in PRUNE_IMPORTANCES or not parts[2].isdigit() \
            or not 0 < int(parts[2]) < 100:
        raise ValueError("model %r: a variant reads NAME+pruned-IMPORTANCE-PERCENT with IMPORTANCE one of %s "
                         "and PERCENT in 1..99 (e.g. resnet50+pruned-taylor-50)" % (model, "/".join(PRUNE_IMPORTANCES)))
    return base, (parts[1], int(parts[2]))


def variant_name(model: str, importance: str, percent: int) -> str:
    return "%s+pruned-%s-%d" % (parse(model)[0], importance, percent)


def default_shape(model: str, framework: str = "torch") -> Tuple[int, int, int]:
    """The architecture's usual input shape (C, H, W) in the source that `framework` builds it from."""
    base = model.split("+", 1)[0]
    if framework == "mxnet" and base in gluon_zoo.GLUON:
        return gluon_zoo.GLUON[base].input_shape
    if base in KERAS and (framework in ("tflite", "tensorflow") or base not in TORCHVISION):
        return KERAS[base][1]
    return TORCHVISION.get(base, (3, 224, 224))


def can_run(framework: str, model: str, precision: str) -> str:
    """Empty when `framework` can run `model` at `precision`, else the reason it cannot."""
    if framework not in registry.FRAMEWORKS:
        return "unknown framework %r (known: %s)" % (framework, ", ".join(sorted(registry.FRAMEWORKS)))
    try:
        base, prune = parse(model)
    except ValueError as e:
        return "unknown model: %s" % e
    if base not in models(framework):
        return "unknown model %r for %s (known: %s)" % (base, framework, ", ".join(models(framework)))
    if prune is not None and framework not in PRUNED_FRAMEWORKS:
        return "pruned model %r runs on %s, not on %s" % (model, "/".join(PRUNED_FRAMEWORKS), framework)
    precisions = registry.FRAMEWORKS[framework].precisions
    if precision not in precisions:
        return "%s runs %s at %s, not %r" % (framework, model, "/".join(precisions), precision)
    return ""


def artifact_format(framework: str) -> Optional[str]:
    """The artefact format `framework` reads, None when it builds the model itself (torch)."""
    return registry.FRAMEWORKS[framework].artefact
