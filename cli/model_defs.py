"""Which definition of an architecture each framework runs, and the known differences between them (plain data).

Three families of definitions: torchvision's (torch runs it; onnxruntime and TensorRT run its ONNX export),
Keras applications (tensorflow runs them; LiteRT runs their TFLite conversion) and MXNet's Gluon model zoo
(mxnet). `edgebench models info NAME` counts each family's own definition and explains the differences with the
notes below; the figures in them were counted by suite/artefacts/{flops,keras_flops,gluon_flops}.py and are
checked by tests/integration/test_models_info.py.
"""

from typing import NamedTuple, Optional

from edgebench.suite.nets import gluon_zoo, zoo

TORCHVISION, KERAS, GLUON = "torchvision", "keras", "gluon"

# Gluon model-zoo names (mxnet.gluon.model_zoo.vision, MXNet 1.9.1) of the zoo's common names: the nets the
# mxnet backend runs (suite/nets/gluon_zoo.py, the one table). v1b (torchvision's v1.5) is GluonCV's, not MXNet's.
GLUON_NAMES = {name: net.gluon for name, net in gluon_zoo.GLUON.items()}

# Frameworks `models info --framework` takes, in table order; aliases name the same row.
FRAMEWORKS = ("torch", "onnxruntime", "tensorrt", "tensorflow", "tflite", "mxnet")
ALIASES = {"keras": "tensorflow", "gluon": "mxnet", "litert": "tflite"}

# (model, family) -> why its counts differ from (or equal) the other families'.
NOTES = {
    ("resnet50", TORCHVISION): "ResNet v1.5: a downsampling bottleneck strides on its 3x3 conv (more MACs than v1); "
                               "no conv biases",
    ("resnet50", KERAS): "ResNet v1 (the paper's): the stride is on the bottleneck's first 1x1 conv, so 3x3 convs "
                         "run at the lower resolution: 3.86 vs torchvision's 4.09 GMACs; every conv has a bias",
    ("resnet50", GLUON): "resnet50_v1: ResNet v1 like Keras (same MACs; v1b, torchvision's v1.5, is GluonCV's, not "
                         "MXNet's); biases on the bottleneck's 1x1 convs only",
    ("resnet18", GLUON): "resnet18_v1: basic blocks stride on their first 3x3 in v1 and v1.5 alike: the same net "
                         "as torchvision's",
    ("resnet18", KERAS): "keras.applications has no ResNet18",
    ("mobilenet_v1", TORCHVISION): "torchvision has no MobileNet-V1 (run it on tensorflow, tflite or mxnet)",
    ("mobilenet_v1", KERAS): "keras.applications.MobileNet (alpha 1.0); the classifier is a 1x1 conv with bias",
    ("mobilenet_v1", GLUON): "mobilenet1.0: the same layers as Keras's MobileNet (Dense classifier)",
    ("mobilenet_v2", KERAS): "Keras's last conv has 1280 channels at alpha 1.0 (it scales only for alpha > 1), "
                             "as torchvision's: the same net",
    ("mobilenet_v2", GLUON): "mobilenetv2_1.0: its first bottleneck (t=1) keeps a 1x1 expansion conv (32->32 at "
                             "112x112, +12.8 M MACs) that torchvision and Keras leave out; classifier a 1x1 conv "
                             "without bias",
    ("inception_v3", TORCHVISION): "input 299x299; built without the auxiliary classifier (unused at inference)",
    ("inception_v3", KERAS): "input 299x299; BatchNorm without scale (gamma): fewer parameters, same MACs",
    ("inception_v3", GLUON): "inceptionv3: input 299x299; the same net as torchvision's",
    ("vgg16", KERAS): "the same layers as torchvision's",
    ("vgg16", GLUON): "the same layers as torchvision's",
    ("alexnet", TORCHVISION): "the 'one weird trick' variant (64-192-384-256-256 channels)",
    ("alexnet", GLUON): "the same variant as torchvision's",
    ("squeezenet1_0", GLUON): "squeezenet1.0: the same net as torchvision's",
    ("densenet161", GLUON): "the same net as torchvision's",
}


class Row(NamedTuple):
    framework: str
    family: Optional[str]  # None: this framework has no definition of the model
    how: str  # how the framework gets its net from the family's definition


def family_name(family: str, model: str) -> str:
    """The definition's own name, e.g. keras.applications.ResNet50."""
    if family == KERAS:
        return "keras.applications.%s" % zoo.KERAS[model][0]
    if family == GLUON:
        return "mxnet.gluon.model_zoo.vision.%s" % GLUON_NAMES[model]
    return "torchvision.models.%s" % model


def has(family: str, model: str) -> bool:
    base = zoo.parse(model)[0]
    if family == TORCHVISION:
        return base in zoo.TORCHVISION
    if "+" in model:  # pruned variants are torch modules
        return False
    return model in (zoo.KERAS if family == KERAS else GLUON_NAMES)


def known(model: str) -> bool:
    return any(has(f, model) for f in (TORCHVISION, KERAS, GLUON))


def row(framework: str, model: str) -> Row:
    """Which definition `framework` runs for `model` (family None: none)."""
    if framework in ("torch", "onnxruntime", "tensorrt"):
        how = {"torch": "the torchvision net itself", "onnxruntime": "its ONNX export (same graph)",
               "tensorrt": "an engine built from its ONNX export"}[framework]
        return Row(framework, TORCHVISION if has(TORCHVISION, model) else None, how)
    if framework == "tensorflow":
        return Row(framework, KERAS if has(KERAS, model) else None, "the Keras application as a tf.function")
    if framework == "tflite":
        if has(KERAS, model):
            return Row(framework, KERAS, "converted from the Keras application")
        return Row(framework, TORCHVISION if has(TORCHVISION, model) and "+" not in model else None,
                   "the torchvision net rebuilt in Keras (torch2keras), then converted")
    return Row(framework, GLUON if has(GLUON, model) else None, "the Gluon net, hybridised")


def note(model: str, family: Optional[str]) -> str:
    if family is None:
        return ""
    return NOTES.get((model, family), "")


def missing(framework: str, model: str) -> str:
    """Why `framework` has no definition of `model`."""
    fam = {"tensorflow": KERAS, "mxnet": GLUON}.get(framework, TORCHVISION)
    if (model, fam) in NOTES:
        return NOTES[(model, fam)]
    if "+" in model:
        return "pruned model %r is a torch module: it runs on torch, onnxruntime and tensorrt, not on %s" \
            % (model, framework)
    where = {TORCHVISION: "torchvision.models", KERAS: "keras.applications",
             GLUON: "the Gluon model zoo (as the mxnet backend runs it)"}[fam]
    return "%s has no %s" % (where, model)
