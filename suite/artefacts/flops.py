"""FLOPs, MACs and parameters of a PyTorch model, in total and per layer, counted with forward hooks.

Convention (P5's formulas, per sample, i.e. batch 1):
- Conv (1d/2d/3d): MACs = K1*K2*... * Cin/groups * Cout * Hout*Wout*...
- ConvTranspose:   MACs = K1*K2*... * Cin * Cout/groups * Hin*Win*...
- Linear:          MACs = Cin * Cout * (rows per sample: 1 for a classifier head)
- FLOPs = 2 * MACs (one multiply and one add per MAC). Biases, normalisation, activations, pooling and
  element-wise additions are not counted: they are well under 1% of these CNNs' work, and leaving them out
  is what makes torchvision's published "GFLOPS" (which are GMACs) comparable.
"""

from typing import Any, Dict, List, Tuple

CONVENTION = ("per sample; MACs of Conv (K*Cin/groups*Cout*output positions) and Linear (Cin*Cout*rows); "
              "FLOPs = 2*MACs; bias, norm, activation, pooling and additions not counted")


def _prod(values: Any) -> int:
    out = 1
    for v in values:
        out *= int(v)
    return out


def _layer_macs(module: Any, inp: Any, out: Any) -> int:
    import torch.nn as nn

    if isinstance(module, nn.modules.conv._ConvTransposeNd):
        x = inp[0]
        k = _prod(module.kernel_size)
        return k * module.in_channels * (module.out_channels // module.groups) * _prod(x.shape[2:])
    if isinstance(module, nn.modules.conv._ConvNd):
        k = _prod(module.kernel_size)
        return k * (module.in_channels // module.groups) * module.out_channels * _prod(out.shape[2:])
    if isinstance(module, nn.Linear):
        rows = _prod(out.shape[1:-1]) if out.dim() > 1 else 1
        return module.in_features * module.out_features * rows
    return 0


def count(net: Any, input_shape: Tuple[int, ...]) -> Dict[str, Any]:
    """Totals and per-layer rows (leaf modules, in call order) for one sample of `input_shape` (C, H, W)."""
    import torch

    rows: List[Dict[str, Any]] = []
    names = {m: n for n, m in net.named_modules()}

    def hook(module: Any, inp: Any, out: Any) -> None:
        macs = _layer_macs(module, inp, out)
        shape = list(out.shape[1:]) if isinstance(out, torch.Tensor) else None
        rows.append({"name": names.get(module, "?"), "type": type(module).__name__, "output_shape": shape,
                     "macs": macs, "flops": 2 * macs,
                     "params": int(sum(p.numel() for p in module.parameters(recurse=False)))})

    leaves = [m for m in net.modules() if not list(m.children())]
    handles = [m.register_forward_hook(hook) for m in leaves]
    was_training = net.training
    try:
        net.eval()
        with torch.no_grad():
            net(torch.zeros((1,) + tuple(input_shape)))
    finally:
        for h in handles:
            h.remove()
        net.train(was_training)
    macs = sum(r["macs"] for r in rows)
    return {"input_shape": list(input_shape), "macs": macs, "flops": 2 * macs,
            "gmacs": macs / 1e9, "gflops": 2 * macs / 1e9,
            "params": int(sum(p.numel() for p in net.parameters())), "convention": CONVENTION, "layers": rows}


def for_model(model: str, input_shape: Tuple[int, ...], num_classes: int = 1000) -> Dict[str, Any]:
    """count() for a zoo architecture (random weights: counts do not depend on them)."""
    from ..nets.torchvision_nets import build_model

    out = count(build_model(model, num_classes), input_shape)
    out.update({"model": model, "num_classes": num_classes})
    return out
