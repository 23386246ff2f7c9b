"""Rebuild a small PyTorch nn.Sequential CNN as a Keras model with the same weights, so that a torch
model can be converted to TFLite by TensorFlow's own converter.

Why not a library: onnx2tf pins older numpy/onnx/onnxruntime/TensorFlow and litert-torch pulls jax and
transformers and an older pydantic (both measured with `pip install --dry-run` into this .venv). Torchvision
graphs with residual branches are out of scope here; the zoo's TFLite models come from Keras applications.

Supported layers (eval mode): Conv2d (any stride/dilation/symmetric padding, groups 1 or depthwise),
BatchNorm2d, ReLU, ReLU6, Sigmoid, Tanh, MaxPool2d/AvgPool2d (no padding), AdaptiveAvgPool2d(1),
Flatten, Linear, Dropout (dropped), nested nn.Sequential.
"""

from typing import Any, Dict, List, Tuple

import numpy as np

RTOL = 1e-4


def _flat(net: Any) -> List[Any]:
    import torch.nn as nn

    out: List[Any] = []
    for m in net.children() if isinstance(net, nn.Sequential) else [net]:
        out.extend(_flat(m) if isinstance(m, nn.Sequential) else [m])
    return out


def _np(p: Any) -> np.ndarray:
    return np.asarray(p.detach().cpu().numpy())


def _pair(v: Any) -> Tuple[int, int]:
    return (int(v), int(v)) if isinstance(v, int) else (int(v[0]), int(v[1]))


def convert(net: Any, input_shape: Tuple[int, ...]) -> Any:
    """A keras.Model computing what `net` computes, taking NHWC input of `input_shape` (C, H, W)."""
    import keras
    import torch
    import torch.nn as nn

    c, h, w = input_shape
    x = inp = keras.Input((h, w, c))
    spatial = True
    for m in _flat(net.eval()):
        if isinstance(m, nn.Conv2d):
            if isinstance(m.padding, str) or m.padding_mode != "zeros":
                raise ValueError("Conv2d with padding %r / mode %r is not supported" % (m.padding, m.padding_mode))
            ph, pw = _pair(m.padding)
            if ph or pw:
                x = keras.layers.ZeroPadding2D((ph, pw))(x)
            depthwise = m.groups > 1
            if depthwise and not (m.groups == m.in_channels == m.out_channels):
                raise ValueError("grouped Conv2d other than depthwise is not supported")
            kw: Dict[str, Any] = {"strides": _pair(m.stride), "dilation_rate": _pair(m.dilation),
                                  "use_bias": m.bias is not None}
            wt = _np(m.weight)
            if depthwise:
                layer = keras.layers.DepthwiseConv2D(_pair(m.kernel_size), **kw)
                weights = [wt.transpose(2, 3, 0, 1)]  # (C,1,kh,kw) -> (kh,kw,C,1)
            else:
                layer = keras.layers.Conv2D(m.out_channels, _pair(m.kernel_size), **kw)
                weights = [wt.transpose(2, 3, 1, 0)]  # (out,in,kh,kw) -> (kh,kw,in,out)
            x = layer(x)
            layer.set_weights(weights + ([_np(m.bias)] if m.bias is not None else []))
        elif isinstance(m, nn.BatchNorm2d):
            layer = keras.layers.BatchNormalization(epsilon=m.eps)
            x = layer(x)
            layer.set_weights([_np(m.weight), _np(m.bias), _np(m.running_mean), _np(m.running_var)])
        elif isinstance(m, (nn.MaxPool2d, nn.AvgPool2d)):
            if m.padding not in (0, (0, 0)) or getattr(m, "ceil_mode", False):
                raise ValueError("%s with padding or ceil_mode is not supported" % type(m).__name__)
            cls = keras.layers.MaxPooling2D if isinstance(m, nn.MaxPool2d) else keras.layers.AveragePooling2D
            x = cls(_pair(m.kernel_size), _pair(m.stride or m.kernel_size))(x)
        elif isinstance(m, nn.AdaptiveAvgPool2d):
            if _pair(m.output_size) != (1, 1):
                raise ValueError("AdaptiveAvgPool2d to other than 1x1 is not supported")
            x = keras.layers.GlobalAveragePooling2D(keepdims=True)(x)
        elif isinstance(m, nn.Flatten):
            if spatial:
                x = keras.layers.Permute((3, 1, 2))(x)  # NHWC -> NCHW so the flattened order is torch's
            x = keras.layers.Flatten()(x)
            spatial = False
        elif isinstance(m, nn.Linear):
            layer = keras.layers.Dense(m.out_features, use_bias=m.bias is not None)
            x = layer(x)
            layer.set_weights([_np(m.weight).T] + ([_np(m.bias)] if m.bias is not None else []))
        elif isinstance(m, (nn.ReLU, nn.ReLU6, nn.Sigmoid, nn.Tanh)):
            name = {nn.ReLU: "relu", nn.ReLU6: "relu6", nn.Sigmoid: "sigmoid", nn.Tanh: "tanh"}[type(m)]
            x = keras.layers.Activation(name)(x)
        elif isinstance(m, (nn.Dropout, nn.Identity)):
            continue
        else:
            raise ValueError("layer %s is not supported by torch2keras" % type(m).__name__)
    model = keras.Model(inp, x)
    probe = np.random.RandomState(0).standard_normal((2, c, h, w)).astype(np.float32)
    with torch.no_grad():
        want = net(torch.from_numpy(probe)).numpy()
    got = np.asarray(model(probe.transpose(0, 2, 3, 1), training=False))
    rel = float(np.max(np.abs(got - want)) / max(float(np.max(np.abs(want))), 1e-12))
    if rel > RTOL:
        raise ValueError("Keras rebuild disagrees with torch: max |diff| / max |out| = %.3g > %.g" % (rel, RTOL))
    return model
