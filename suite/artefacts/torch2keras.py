"""Rebuild a PyTorch CNN as a Keras model (NHWC) with the same weights, so that TensorFlow's own converter
can make TFLite FP32/FP16/INT8 of torchvision nets.

Why not a library: onnx2tf pins older numpy/onnx/onnxruntime/TensorFlow and litert-torch pulls jax and
transformers and an older pydantic (both measured with `pip install --dry-run` into this .venv).

How: torch.fx.symbolic_trace the module in eval mode and walk its graph, one Keras layer or keras.ops call per
node. Every torchvision classifier in zoo.TORCHVISION traces and converts. Tensors keep torch's meaning with
NHWC layout: a torch dim of a 4-D tensor maps to a Keras axis by _AXIS. Supported nodes (anything else raises
ValueError naming the op):
- modules: Conv2d (any stride/dilation/padding, groups 1, depthwise or grouped), BatchNorm2d/1d,
  ReLU/ReLU6/Hardtanh/LeakyReLU/SiLU/GELU/Sigmoid/Tanh/Hardsigmoid/Hardswish/Softmax, MaxPool2d and
  AvgPool2d (padding, ceil_mode, count_include_pad, divisor_override), AdaptiveAvgPool2d (any output size),
  Flatten, Linear, Dropout/Dropout2d/Identity and torchvision's StochasticDepth (identity in eval);
- functions and methods: the same activations and pools from torch.nn.functional, torch.flatten, torch.cat,
  add/sub/mul/div (operator and torch forms, tensors or scalars, with broadcasting),
  torchvision.ops.stochastic_depth and F.dropout (eval only).
Shape-dependent code (x.shape, x.size(), view/reshape) is not supported: it would freeze the probe's shape.
"""

import operator
from typing import Any, Callable, Dict, List, Optional, Set, Tuple

import numpy as np

from .agreement import RTOL

_AXIS = {0: 0, 1: 3, 2: 1, 3: 2}  # torch NCHW dim -> Keras NHWC axis


def _np(p: Any) -> np.ndarray:
    return np.asarray(p.detach().cpu().numpy())


def _pair(v: Any) -> Tuple[int, int]:
    if isinstance(v, (list, tuple)):
        return (int(v[0]), int(v[-1]))
    return (int(v), int(v))


def _arg(node: Any, i: int, name: str, default: Any = None) -> Any:
    return node.args[i] if len(node.args) > i else node.kwargs.get(name, default)


def _pool_pads(size: int, k: int, s: int, p: int, ceil: bool) -> Tuple[int, int, int]:
    """(output size, left pad, right pad) that make a 'valid' pool compute torch's pooling along one axis."""
    span = size + 2 * p - k
    out = (-(-span // s) if ceil else span // s) + 1
    if ceil and (out - 1) * s >= size + p:  # torch: the last window must start inside the input or left pad
        out -= 1
    return out, p, max(0, (out - 1) * s + k - size - p)


def _window_counts(size: int, k: int, s: int, left: int, lo: int, hi: int, out: int) -> np.ndarray:
    """How many cells of each pooling window lie in [lo, hi) (input coordinates)."""
    starts = np.arange(out) * s - left
    return (np.minimum(starts + k, hi) - np.maximum(starts, lo)).astype(np.float32)


def _slice(x: Any, axis: int, a: int, b: int) -> Any:
    """x[..., a:b, ...] along a spatial axis (a StridedSlice, which every TFLite delegate runs)."""
    return x[:, a:b] if axis == 1 else x[:, :, a:b]


class _Builder:
    def __init__(self, gm: Any, input_shape: Tuple[int, ...]) -> None:
        import keras
        import torch.nn as nn

        self.k = keras
        self.nn = nn
        self.gm = gm
        self.mods = dict(gm.named_modules())
        self.input_shape = input_shape
        self.env: Dict[str, Any] = {}
        self.nonneg: Set[str] = set()  # nodes known >= 0: zero padding is then exact for max pooling
        # Flattened NHWC values -> (h, w, c): the next Linear reorders its weights instead of transposing.
        self.flat: Dict[str, Tuple[int, int, int]] = {}

    # values -------------------------------------------------------------------------------------------
    def val(self, a: Any, keep_flat: bool = False) -> Any:
        """The Keras value of an fx argument (python values pass through)."""
        import torch.fx as fx

        if isinstance(a, (list, tuple)):
            return type(a)(self.val(v) for v in a)
        if not isinstance(a, fx.Node):
            return a
        if a.name in self.flat and not keep_flat:
            h, w, c = self.flat.pop(a.name)
            x = self.k.ops.transpose(self.k.ops.reshape(self.env[a.name], (-1, h, w, c)), (0, 3, 1, 2))
            self.env[a.name] = self.k.ops.reshape(x, (-1, h * w * c))
        return self.env[a.name]

    def same_as(self, node: Any, src: Any, nonneg: Optional[bool] = None) -> None:
        """node's value is computed elementwise from src's: layout tags carry over."""
        if src.name in self.flat:
            self.flat[node.name] = self.flat[src.name]
        if nonneg if nonneg is not None else src.name in self.nonneg:
            self.nonneg.add(node.name)

    # graph walk ---------------------------------------------------------------------------------------
    def run(self) -> Any:
        inputs: List[Any] = []
        out = None
        for node in self.gm.graph.nodes:
            if node.op == "placeholder":
                if inputs:
                    raise ValueError("torch2keras converts nets with one input; %r is a second" % node.name)
                c, h, w = self.input_shape
                self.env[node.name] = self.k.Input((h, w, c))
                inputs.append(self.env[node.name])
            elif node.op == "output":
                out = node.args[0]
                if isinstance(out, (list, tuple)):
                    if len(out) != 1:
                        raise ValueError("torch2keras converts nets with one output, this one has %d" % len(out))
                    out = out[0]
                out = self.val(out)
            elif node.op == "call_module":
                self.env[node.name] = self.module(node, self.mods[node.target])
            elif node.op in ("call_function", "call_method"):
                self.env[node.name] = self.function(node)
            else:  # get_attr: a parameter or buffer used outside a module
                raise ValueError("torch2keras: %s %r (a tensor used outside a module) is not supported"
                                 % (node.op, node.target))
        return self.k.Model(inputs[0], out)

    def module(self, node: Any, m: Any) -> Any:
        import torch.nn as nn
        import torchvision.ops as tvops

        x = node.args[0]
        if isinstance(m, (nn.Dropout, nn.Dropout2d, nn.Identity, tvops.StochasticDepth)):
            self.same_as(node, x)
            return self.val(x, keep_flat=True)
        act = self.activation(m)
        if act is not None:
            fn, nonneg = act
            self.same_as(node, x, nonneg or None)
            return fn(self.val(x, keep_flat=True))
        if isinstance(m, nn.Conv2d):
            return self.conv(m, self.val(x))
        if isinstance(m, (nn.BatchNorm2d, nn.BatchNorm1d)):
            return self.batchnorm(m, self.val(x))
        if isinstance(m, nn.Linear):
            return self.linear(m, x)
        if isinstance(m, nn.MaxPool2d):
            if _pair(m.dilation) != (1, 1) or m.return_indices:
                raise ValueError("torch2keras: MaxPool2d with dilation or return_indices is not supported")
            return self.max_pool(node, x, m.kernel_size, m.stride, m.padding, m.ceil_mode)
        if isinstance(m, nn.AvgPool2d):
            return self.avg_pool(node, x, m.kernel_size, m.stride, m.padding, m.ceil_mode, m.count_include_pad,
                                 m.divisor_override)
        if isinstance(m, nn.AdaptiveAvgPool2d):
            return self.adaptive_avg(node, x, m.output_size)
        if isinstance(m, nn.Flatten):
            return self.flatten(node, x, m.start_dim, m.end_dim)
        raise ValueError("torch2keras: module %s (%s) is not supported" % (type(m).__name__, node.target))

    def activation(self, m: Any) -> Optional[Tuple[Callable[[Any], Any], bool]]:
        """(Keras function, output is >= 0) for an activation module, else None."""
        import torch.nn as nn

        ops = self.k.ops
        simple: Dict[type, Tuple[Callable[[Any], Any], bool]] = {
            nn.ReLU: (ops.relu, True), nn.ReLU6: (ops.relu6, True), nn.SiLU: (ops.silu, False),
            nn.Sigmoid: (ops.sigmoid, True), nn.Tanh: (ops.tanh, False), nn.Hardsigmoid: (ops.hard_sigmoid, True),
            nn.Hardswish: (ops.hard_silu, False)}
        if type(m) in simple:
            return simple[type(m)]
        if isinstance(m, nn.Hardtanh):
            return self.hardtanh(float(m.min_val), float(m.max_val))
        if isinstance(m, nn.LeakyReLU):
            return (lambda t: ops.leaky_relu(t, float(m.negative_slope))), False
        if isinstance(m, nn.GELU):
            return (lambda t: ops.gelu(t, approximate=m.approximate == "tanh")), False
        if isinstance(m, nn.Softmax):
            return (lambda t: ops.softmax(t, axis=self.axis(t, m.dim))), True
        return None

    def hardtanh(self, lo: float, hi: float) -> Tuple[Callable[[Any], Any], bool]:
        if (lo, hi) == (0.0, 6.0):
            return self.k.ops.relu6, True
        return (lambda t: self.k.ops.clip(t, lo, hi)), lo >= 0

    def axis(self, t: Any, dim: Any) -> int:
        rank = len(t.shape)
        if dim is None:
            raise ValueError("torch2keras: an implicit dim (dim=None) is not supported")
        d = int(dim) + rank if int(dim) < 0 else int(dim)
        return _AXIS[d] if rank == 4 else d

    # layers -------------------------------------------------------------------------------------------
    def conv(self, m: Any, x: Any) -> Any:
        layers = self.k.layers
        if m.padding_mode != "zeros":
            raise ValueError("torch2keras: Conv2d padding_mode %r is not supported" % m.padding_mode)
        (kh, kw), (sh, sw), (dh, dw) = _pair(m.kernel_size), _pair(m.stride), _pair(m.dilation)
        if m.padding == "valid":
            pads = ((0, 0), (0, 0))
        elif m.padding == "same":
            th, tw = dh * (kh - 1), dw * (kw - 1)
            pads = ((th // 2, th - th // 2), (tw // 2, tw - tw // 2))
        else:
            ph, pw = _pair(m.padding)
            pads = ((ph, ph), (pw, pw))
        # Keras "same" equals torch's symmetric padding only at stride 1 with odd effective kernels.
        same = (sh, sw) == (1, 1) and pads == ((dh * (kh - 1) // 2,) * 2, (dw * (kw - 1) // 2,) * 2) \
            and (dh * (kh - 1)) % 2 == 0 and (dw * (kw - 1)) % 2 == 0
        if pads != ((0, 0), (0, 0)) and not same:
            x = layers.ZeroPadding2D(pads)(x)
        kw_: Dict[str, Any] = {"strides": (sh, sw), "dilation_rate": (dh, dw), "use_bias": m.bias is not None,
                               "padding": "same" if same else "valid"}
        wt = _np(m.weight)
        if m.groups > 1 and m.groups == m.in_channels:
            mult = m.out_channels // m.in_channels
            layer = layers.DepthwiseConv2D((kh, kw), depth_multiplier=mult, **kw_)
            # (C*mult, 1, kh, kw) -> (kh, kw, C, mult): output channel c*mult+j in both
            weights = [wt.reshape(m.in_channels, mult, kh, kw).transpose(2, 3, 0, 1)]
        else:
            layer = layers.Conv2D(m.out_channels, (kh, kw), groups=m.groups, **kw_)
            weights = [wt.transpose(2, 3, 1, 0)]  # (out, in/groups, kh, kw) -> (kh, kw, in/groups, out)
        y = layer(x)
        layer.set_weights(weights + ([_np(m.bias)] if m.bias is not None else []))
        return y

    def batchnorm(self, m: Any, x: Any) -> Any:
        if not m.track_running_stats or m.running_mean is None:
            raise ValueError("torch2keras: %s without running statistics is not supported" % type(m).__name__)
        if len(x.shape) != (4 if isinstance(m, self.nn.BatchNorm2d) else 2):
            raise ValueError("torch2keras: %s of a %d-D tensor is not supported" % (type(m).__name__, len(x.shape)))
        layer = self.k.layers.BatchNormalization(epsilon=m.eps, center=m.affine, scale=m.affine)
        y = layer(x)
        stats = [_np(m.running_mean), _np(m.running_var)]
        layer.set_weights(([_np(m.weight), _np(m.bias)] if m.affine else []) + stats)
        return y

    def linear(self, m: Any, x_node: Any) -> Any:
        x = self.val(x_node, keep_flat=True)
        if len(x.shape) != 2:
            raise ValueError("torch2keras: Linear on a %d-D tensor is not supported" % len(x.shape))
        wt = _np(m.weight)
        if x_node.name in self.flat:  # the input was flattened in NHWC order: reorder torch's (c, h, w) columns
            h, w, c = self.flat[x_node.name]
            wt = wt.reshape(-1, c, h, w).transpose(0, 2, 3, 1).reshape(wt.shape[0], -1)
        layer = self.k.layers.Dense(m.out_features, use_bias=m.bias is not None)
        y = layer(x)
        layer.set_weights([wt.T] + ([_np(m.bias)] if m.bias is not None else []))
        return y

    def flatten(self, node: Any, x_node: Any, start: int, end: int) -> Any:
        x = self.val(x_node, keep_flat=True)
        rank = len(x.shape)
        if (start, end % rank if rank else end) != (1, rank - 1):
            raise ValueError("torch2keras: flatten(start_dim=%s, end_dim=%s) is not supported (only 1, -1)"
                             % (start, end))
        self.same_as(node, x_node)
        if rank == 2:
            return x
        if rank != 4:
            raise ValueError("torch2keras: flatten of a %d-D tensor is not supported" % rank)
        h, w = self._spatial(x, "flatten")
        c = int(x.shape[3])
        if h * w > 1:
            self.flat[node.name] = (h, w, c)
        # A constant target shape: Keras's Flatten computes it from the batch size at run time (SHAPE, PACK),
        # which the EdgeTPU compiler does not map.
        return self.k.ops.reshape(x, (-1, h * w * c))

    def _spatial(self, x: Any, what: str) -> Tuple[int, int]:
        if len(x.shape) != 4:
            raise ValueError("torch2keras: %s of a %d-D tensor is not supported" % (what, len(x.shape)))
        return int(x.shape[1]), int(x.shape[2])

    def _edge_pad(self, x: Any, pads: Tuple[Tuple[int, int], Tuple[int, int]]) -> Any:
        """Pad by repeating edge rows/columns: max pooling then equals torch's -inf padding (a window that
        covers a padded cell also covers the edge cell it copies), and it quantises like any activation."""
        for axis, (lo, hi) in ((1, pads[0]), (2, pads[1])):
            if lo or hi:
                n = int(x.shape[axis])
                parts = [_slice(x, axis, 0, 1)] * lo + [x] + [_slice(x, axis, n - 1, n)] * hi
                x = self.k.ops.concatenate(parts, axis=axis)
        return x

    def _pool_geometry(self, x: Any, k: Any, s: Any, p: Any, ceil: bool, op: str) -> Tuple[Any, ...]:
        """Kernel, stride, output size and (top, bottom), (left, right) pads of a torch pool on `x`."""
        h, w = self._spatial(x, op)
        (kh, kw), (ph, pw) = _pair(k), _pair(p)
        sh, sw = _pair(s) if s else (kh, kw)
        oh, top, bottom = _pool_pads(h, kh, sh, ph, ceil)
        ow, left, right = _pool_pads(w, kw, sw, pw, ceil)
        return (kh, kw), (sh, sw), (oh, ow), ((top, bottom), (left, right))

    def max_pool(self, node: Any, x_node: Any, k: Any, s: Any, p: Any, ceil: bool) -> Any:
        x = self.val(x_node)
        (kh, kw), (sh, sw), (oh, ow), pads = self._pool_geometry(x, k, s, p, ceil, "max_pool2d")
        nonneg = x_node.name in self.nonneg
        if pads != ((0, 0), (0, 0)):
            x = self.k.layers.ZeroPadding2D(pads)(x) if nonneg else self._edge_pad(x, pads)
        y = self.k.layers.MaxPooling2D((kh, kw), (sh, sw))(x)
        self._check_shape(y, oh, ow, "max_pool2d")
        if nonneg:
            self.nonneg.add(node.name)
        return y

    def avg_pool(self, node: Any, x_node: Any, k: Any, s: Any, p: Any, ceil: bool, include_pad: bool,
                 divisor: Optional[int]) -> Any:
        x = self.val(x_node)
        h, w = self._spatial(x, "avg_pool2d")
        ph, pw = _pair(p)
        (kh, kw), (sh, sw), (oh, ow), pads = self._pool_geometry(x, k, s, p, ceil, "avg_pool2d")
        (top, bottom), (left, right) = pads
        if pads != ((0, 0), (0, 0)):
            x = self.k.layers.ZeroPadding2D(pads)(x)
        y = self.k.layers.AveragePooling2D((kh, kw), (sh, sw))(x)  # sum / (kh*kw)
        self._check_shape(y, oh, ow, "avg_pool2d")
        # torch divides by the cells inside the padded input (count_include_pad) or inside the input.
        lo_h, hi_h = (-ph, h + ph) if include_pad else (0, h)
        lo_w, hi_w = (-pw, w + pw) if include_pad else (0, w)
        counts = np.outer(_window_counts(h, kh, sh, top, lo_h, hi_h, oh),
                          _window_counts(w, kw, sw, left, lo_w, hi_w, ow))
        scale = kh * kw / (float(divisor) if divisor else counts)
        if not np.allclose(scale, 1.0):
            y = self.k.ops.multiply(y, np.broadcast_to(scale, (oh, ow)).reshape(1, oh, ow, 1).astype(np.float32))
        if x_node.name in self.nonneg:
            self.nonneg.add(node.name)
        return y

    def _check_shape(self, y: Any, oh: int, ow: int, what: str) -> None:
        if (int(y.shape[1]), int(y.shape[2])) != (oh, ow):
            raise ValueError("torch2keras: %s gives %s, torch %s (internal error)"
                             % (what, tuple(y.shape[1:3]), (oh, ow)))

    def adaptive_avg(self, node: Any, x_node: Any, size: Any) -> Any:
        x = self.val(x_node)
        h, w = self._spatial(x, "adaptive_avg_pool2d")
        sz = size if isinstance(size, (list, tuple)) else (size, size)
        oh, ow = (h if sz[0] is None else int(sz[0])), (w if sz[-1] is None else int(sz[-1]))
        if x_node.name in self.nonneg:
            self.nonneg.add(node.name)
        if (oh, ow) == (h, w):
            return x
        if (oh, ow) == (1, 1):
            return self.k.layers.GlobalAveragePooling2D(keepdims=True)(x)
        if h % oh == 0 and w % ow == 0:
            return self.k.layers.AveragePooling2D((h // oh, w // ow))(x)
        # torch's windows [floor(i*n/o), ceil((i+1)*n/o)) per axis: slices, means, concatenation.
        ops = self.k.ops
        for axis, n, o in ((1, h, oh), (2, w, ow)):
            parts = []
            for i in range(o):
                a, b = (i * n) // o, -(-((i + 1) * n) // o)
                part = _slice(x, axis, a, b)
                parts.append(part if b - a == 1 else ops.mean(part, axis=axis, keepdims=True))
            x = ops.concatenate(parts, axis=axis) if o > 1 else parts[0]
        return x

    # functions and methods ----------------------------------------------------------------------------
    def function(self, node: Any) -> Any:
        import torch
        import torch.nn.functional as F
        import torchvision.ops as tvops

        t = node.target
        ops = self.k.ops
        x = node.args[0] if node.args else None
        name = t if isinstance(t, str) else getattr(t, "__name__", str(t))
        if node.op == "call_method":
            t = {"relu": F.relu, "sigmoid": torch.sigmoid, "tanh": torch.tanh, "flatten": torch.flatten,
                 "add": torch.add, "mul": torch.mul, "sub": torch.sub, "div": torch.div}.get(t, t)
            if isinstance(t, str):
                raise ValueError("torch2keras: method .%s() (node %s) is not supported" % (name, node.name))
        if t is getattr:
            raise ValueError("torch2keras: getattr(%s, %r) is not supported (shape-dependent code)"
                             % (x, node.args[1]))
        if t in (F.dropout, F.dropout2d, tvops.stochastic_depth):
            if _arg(node, 3 if t is tvops.stochastic_depth else 2, "training", t is not tvops.stochastic_depth):
                raise ValueError("torch2keras: %s in training mode; call net.eval() first" % name)
            self.same_as(node, x)
            return self.val(x, keep_flat=True)
        unary: Dict[Any, Tuple[Callable[[Any], Any], bool]] = {
            F.relu: (ops.relu, True), torch.relu: (ops.relu, True), F.relu6: (ops.relu6, True),
            F.silu: (ops.silu, False), torch.sigmoid: (ops.sigmoid, True), F.sigmoid: (ops.sigmoid, True),
            torch.tanh: (ops.tanh, False), F.tanh: (ops.tanh, False), F.hardsigmoid: (ops.hard_sigmoid, True),
            F.hardswish: (ops.hard_silu, False)}
        if t in unary or t in (F.hardtanh, F.gelu, F.leaky_relu):
            if t is F.hardtanh:
                fn, nonneg = self.hardtanh(float(_arg(node, 1, "min_val", -1.0)), float(_arg(node, 2, "max_val", 1.0)))
            elif t is F.gelu:
                fn, nonneg = (lambda v: ops.gelu(v, approximate=node.kwargs.get("approximate") == "tanh")), False
            elif t is F.leaky_relu:
                slope = float(_arg(node, 1, "negative_slope", 0.01))
                fn, nonneg = (lambda v: ops.leaky_relu(v, slope)), False
            else:
                fn, nonneg = unary[t]
            self.same_as(node, x, nonneg or None)
            return fn(self.val(x, keep_flat=True))
        if t is torch.flatten:
            return self.flatten(node, x, int(_arg(node, 1, "start_dim", 0)), int(_arg(node, 2, "end_dim", -1)))
        if t is F.adaptive_avg_pool2d:
            return self.adaptive_avg(node, x, _arg(node, 1, "output_size"))
        if t is F.max_pool2d:
            if _pair(_arg(node, 4, "dilation", 1)) != (1, 1) or _arg(node, 6, "return_indices", False):
                raise ValueError("torch2keras: max_pool2d with dilation or return_indices is not supported")
            return self.max_pool(node, x, _arg(node, 1, "kernel_size"), _arg(node, 2, "stride"),
                                 _arg(node, 3, "padding", 0), bool(_arg(node, 5, "ceil_mode", False)))
        if t is F.avg_pool2d:
            return self.avg_pool(node, x, _arg(node, 1, "kernel_size"), _arg(node, 2, "stride"),
                                 _arg(node, 3, "padding", 0), bool(_arg(node, 4, "ceil_mode", False)),
                                 bool(_arg(node, 5, "count_include_pad", True)), _arg(node, 6, "divisor_override"))
        if t in (torch.cat, torch.concat):
            return self.cat(node, list(_arg(node, 0, "tensors")), int(_arg(node, 1, "dim", 0)))
        binary = {operator.add: ops.add, operator.iadd: ops.add, torch.add: ops.add,
                  operator.sub: ops.subtract, operator.isub: ops.subtract, torch.sub: ops.subtract,
                  operator.mul: ops.multiply, operator.imul: ops.multiply, torch.mul: ops.multiply,
                  operator.truediv: ops.divide, operator.itruediv: ops.divide, torch.div: ops.divide}
        if t in binary:
            return self.binary(node, binary[t], name)
        raise ValueError("torch2keras: function %s (node %s) is not supported" % (name, node.name))

    def binary(self, node: Any, fn: Callable[[Any, Any], Any], name: str) -> Any:
        import torch.fx as fx

        if node.kwargs.get("alpha", 1) != 1 or node.kwargs.get("rounding_mode") is not None:
            raise ValueError("torch2keras: %s with alpha/rounding_mode is not supported" % name)
        a, b = node.args[0], node.args[1]
        va, vb = self.val(a), self.val(b)
        if not all(isinstance(v, (int, float)) or hasattr(v, "shape") for v in (va, vb)):
            raise ValueError("torch2keras: %s of %s and %s is not supported" % (name, type(va).__name__,
                                                                               type(vb).__name__))
        ranks = sorted({len(v.shape) for v in (va, vb) if hasattr(v, "shape")})
        if len(ranks) > 1:  # torch aligns trailing dims, which differ between NCHW and NHWC
            raise ValueError("torch2keras: %s of tensors of different ranks %s is not supported" % (name, ranks))

        def nonneg(v: Any) -> bool:
            return isinstance(v, fx.Node) and v.name in self.nonneg or isinstance(v, (int, float)) and v >= 0

        if name in ("add", "iadd", "mul", "imul") and nonneg(a) and nonneg(b):
            self.nonneg.add(node.name)
        return fn(va, vb)

    def cat(self, node: Any, parts: List[Any], dim: int) -> Any:
        vals = [self.val(p) for p in parts]
        if all(p.name in self.nonneg for p in parts):
            self.nonneg.add(node.name)
        if len(vals) == 1:
            return vals[0]
        return self.k.layers.Concatenate(axis=self.axis(vals[0], dim))(vals)


def rebuild(net: Any, input_shape: Tuple[int, ...], probe_batch: int = 2, seed: int = 0) -> Tuple[Any, Dict[str, Any]]:
    """(keras.Model computing what `net` computes on NHWC input of `input_shape` (C, H, W), agreement record).

    Raises ValueError naming the op that has no Keras rule, or when the rebuild disagrees with torch by more
    than RTOL of the output scale on a standard-normal probe.
    """
    import time

    import torch
    import torch.fx as fx
    import torchvision  # noqa: F401  (before TensorFlow: triton, which it loads, segfaults after TF)

    t0 = time.monotonic()
    net = net.eval()
    try:
        gm = fx.symbolic_trace(net)
    except Exception as e:  # torch raises TraceError and others on data-dependent control flow
        raise ValueError("torch2keras: torch.fx cannot trace %s: %s" % (type(net).__name__, e)) from e
    gm.graph.eliminate_dead_code()  # e.g. an unused x.shape
    model = _Builder(gm, tuple(input_shape)).run()
    convert_s = time.monotonic() - t0
    c, h, w = input_shape
    probe = np.random.RandomState(seed).standard_normal((probe_batch, c, h, w)).astype(np.float32)
    with torch.no_grad():
        want = net(torch.from_numpy(probe)).numpy()
    got = np.asarray(model(probe.transpose(0, 2, 3, 1), training=False))
    if want.ndim == 4:  # feature-map outputs stay NHWC
        want = want.transpose(0, 2, 3, 1)
    if got.shape != want.shape:
        raise ValueError("torch2keras: Keras output shape %s differs from torch's %s" % (got.shape, want.shape))
    scale = max(float(np.max(np.abs(want))), 1e-12)
    rel = float(np.max(np.abs(got.astype(np.float64) - want)) / scale)
    check = {"reference": "torch", "max_rel_diff": rel, "rtol": RTOL, "convert_s": convert_s,
             "probe": "%d standard-normal inputs" % probe_batch, "output_scale": scale}
    if not rel <= RTOL:  # also catches NaN
        raise ValueError("Keras rebuild of %s disagrees with torch: max |diff| / max |out| = %.3g > %.g"
                         % (type(net).__name__, rel, RTOL))
    return model, check


def convert(net: Any, input_shape: Tuple[int, ...]) -> Any:
    """A keras.Model computing what `net` computes, taking NHWC input of `input_shape` (C, H, W); checked."""
    return rebuild(net, input_shape)[0]
