"""FLOPs, MACs and parameters of a Keras model (the Keras applications TFLite is made from), in total and
per layer, with the same convention as flops.py (P5's formulas, per sample, i.e. batch 1):

- Conv1D/2D/3D:         MACs = K1*K2*... * Cin/groups * Cout * output positions
- DepthwiseConv1D/2D:   MACs = K1*K2*... * Cout * output positions (Cout = Cin * depth_multiplier; Cin/groups = 1)
- SeparableConv1D/2D:   the depthwise part as above plus the pointwise part, Cin*depth_multiplier * Cout * positions
- ConvNDTranspose:      MACs = K1*K2*... * Cin * Cout * input positions (Keras has no grouped transposed conv)
- Dense:                MACs = Cin * Cout * rows (rows per sample: 1 for a classifier head)
- params: trainable weights (what torch's parameters() counts); params_keras: Keras's count_params().
- FLOPs = 2 * MACs. Bias, normalisation (BatchNormalization, Rescaling, Normalization), activations,
  pooling, padding and element-wise layers (Add, Multiply of squeeze-excitation) count 0, as in flops.py;
  they are listed as rows with 0 MACs. A nested model's layers are walked into.

Needs TensorFlow/Keras; imported lazily.
"""

from typing import Any, Dict, List, Tuple

from ..nets import zoo
from .flops import _prod

CONVENTION = ("per sample; MACs of Conv/DepthwiseConv/SeparableConv (K*Cin/groups*Cout*output positions) and "
              "Dense (Cin*Cout*rows); FLOPs = 2*MACs; bias, norm, activation, pooling and additions not counted")
# Keras counts BatchNormalization's moving mean and variance as (non-trainable) weights; torch keeps them as
# buffers, outside parameters(). "params" is the trainable count, comparable with flops.py's.
PARAMS_NOTE = ("params: trainable weights (as torch's parameters()); params_keras: model.count_params(), which "
               "adds non-trainable weights such as BatchNorm's moving mean and variance")



def _size(weights: Any) -> int:
    return int(sum(_prod(w.shape) for w in weights))


def _shapes(tensors: Any) -> List[Tuple[int, ...]]:
    """Per-sample shapes (batch dimension dropped) of a layer's input or output tensor(s)."""
    items = tensors if isinstance(tensors, (list, tuple)) else [tensors]
    return [tuple(int(v) for v in t.shape[1:]) for t in items]


def layer_macs(layer: Any, in_shape: Tuple[int, ...], out_shape: Tuple[int, ...]) -> int:
    """MACs of one Keras layer for one sample; channels-last shapes without the batch dimension."""
    import keras

    L = keras.layers
    if isinstance(layer, (L.Conv1DTranspose, L.Conv2DTranspose, L.Conv3DTranspose)):
        return _prod(layer.kernel_size) * in_shape[-1] * out_shape[-1] * _prod(in_shape[:-1])
    if isinstance(layer, (L.SeparableConv1D, L.SeparableConv2D)):
        mid = in_shape[-1] * layer.depth_multiplier
        return _prod(layer.kernel_size) * mid * _prod(out_shape[:-1]) + mid * out_shape[-1] * _prod(out_shape[:-1])
    if isinstance(layer, (L.DepthwiseConv1D, L.DepthwiseConv2D)):
        return _prod(layer.kernel_size) * out_shape[-1] * _prod(out_shape[:-1])
    if isinstance(layer, (L.Conv1D, L.Conv2D, L.Conv3D)):
        groups = int(getattr(layer, "groups", 1) or 1)
        return _prod(layer.kernel_size) * (in_shape[-1] // groups) * out_shape[-1] * _prod(out_shape[:-1])
    if isinstance(layer, L.Dense):
        return in_shape[-1] * out_shape[-1] * _prod(out_shape[:-1])
    return 0


def _walk(net: Any, prefix: str, rows: List[Dict[str, Any]]) -> None:
    import keras

    for layer in net.layers:
        name = prefix + layer.name
        if isinstance(layer, keras.Model):  # a nested model: count its own layers
            _walk(layer, name + "/", rows)
            continue
        outs = _shapes(layer.output)
        ins = _shapes(layer.input) if not isinstance(layer, keras.layers.InputLayer) else outs
        macs = layer_macs(layer, ins[0], outs[0]) if ins and outs else 0
        rows.append({"name": name, "type": type(layer).__name__, "output_shape": list(outs[0]) if outs else None,
                     "macs": macs, "flops": 2 * macs, "params": _size(layer.trainable_weights),
                     "params_keras": int(layer.count_params())})


def count(net: Any, input_shape: Tuple[int, ...]) -> Dict[str, Any]:
    """Totals and per-layer rows (in the model's layer order) of a built Keras model; `input_shape` is (C, H, W)
    as recorded (the model itself takes NHWC)."""
    rows: List[Dict[str, Any]] = []
    _walk(net, "", rows)
    macs = sum(r["macs"] for r in rows)
    return {"input_shape": list(input_shape), "layout": "NHWC", "macs": macs, "flops": 2 * macs,
            "gmacs": macs / 1e9, "gflops": 2 * macs / 1e9, "params": _size(net.trainable_weights),
            "params_keras": int(net.count_params()), "params_note": PARAMS_NOTE, "convention": CONVENTION,
            "layers": rows}


def for_model(model: str, input_shape: Tuple[int, ...], num_classes: int = 1000, seed: int = 0) -> Dict[str, Any]:
    """count() for a zoo.KERAS architecture (random weights: counts do not depend on them)."""
    from ..nets import keras_zoo

    out = count(keras_zoo.build(model, input_shape, num_classes, seed), input_shape)
    out.update({"model": model, "num_classes": num_classes, "source": "keras.applications.%s" % zoo.KERAS[model][0]})
    return out


def profiler_flops(net: Any, input_shape: Tuple[int, ...]) -> Dict[str, int]:
    """An independent count: TensorFlow's profiler float_ops of the frozen inference graph (batch 1), summed
    per op type. Conv2D, DepthwiseConv2dNative and MatMul are 2*MACs there; it also counts BatchNorm's
    Mul/AddV2/Rsqrt, BiasAdd and Mean, which this module's convention leaves out."""
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    c, h, w = input_shape
    fn = tf.function(lambda x: net(x, training=False)).get_concrete_function(tf.TensorSpec((1, h, w, c), tf.float32))
    graph = convert_variables_to_constants_v2(fn).graph
    types = {op.name: op.type for op in graph.get_operations()}
    opts = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
    opts["output"] = "none"
    # The "scope" view has one node per graph node (nested by name); its op type comes from the graph. Ops
    # whose input shapes are unknown (e.g. after a grouped convolution, a function call in TF) count nothing.
    prof = tf.compat.v1.profiler.profile(graph=graph, run_meta=tf.compat.v1.RunMetadata(), cmd="scope", options=opts)
    out: Dict[str, int] = {}
    stack = [prof]
    while stack:
        node = stack.pop()
        stack.extend(node.children)
        if node.float_ops:
            kind = types.get(node.name, "?")
            out[kind] = out.get(kind, 0) + int(node.float_ops)
    return out
