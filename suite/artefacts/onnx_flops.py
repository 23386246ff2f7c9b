"""FLOPs, MACs and parameters counted from an ONNX file itself (what onnxruntime and TensorRT really run), with
flops.py's convention (P5's formulas, per sample, i.e. batch 1):

- Conv:          MACs = prod(weight shape (Cout, Cin/groups, K...)) * output positions
- ConvTranspose: MACs = prod(weight shape (Cin, Cout/groups, K...)) * input positions
- Gemm, MatMul with a constant weight: MACs = prod(weight shape) * rows (1 per sample for a classifier head)
- FLOPs = 2 * MACs; everything else counts 0.
- params: the sizes of the graph's initializers. The torch export folds BatchNorm into the convs (constant
  folding in eval mode), so this is torch's count less BatchNorm's scale and shift plus one bias per folded conv.

Shapes come from ONNX shape inference with the batch dimension set to 1. Needs the onnx package.
"""

from typing import Any, Dict, List, Tuple

from .flops import _prod

CONVENTION = ("per sample; MACs of Conv (K*Cin/groups*Cout*output positions), ConvTranspose and Gemm/MatMul with "
              "a constant weight (Cin*Cout*rows); FLOPs = 2*MACs; the graph's other ops not counted")


def count_file(path: str, input_shape: Tuple[int, ...]) -> Dict[str, Any]:
    """Totals and per-node rows of the ONNX model at `path` for one sample of `input_shape` (C, H, W)."""
    import onnx
    from onnx import shape_inference

    model = onnx.load(path)
    inits = {t.name: [int(d) for d in t.dims] for t in model.graph.initializer}
    graph_in = [i for i in model.graph.input if i.name not in inits][0]
    dims = graph_in.type.tensor_type.shape.dim
    for d, v in zip(dims, (1,) + tuple(input_shape)):
        d.Clear()
        d.dim_value = int(v)
    model = shape_inference.infer_shapes(model)
    shapes: Dict[str, List[int]] = {}
    for vi in list(model.graph.value_info) + list(model.graph.output) + list(model.graph.input):
        shapes[vi.name] = [int(d.dim_value) for d in vi.type.tensor_type.shape.dim]
    rows: List[Dict[str, Any]] = []
    for node in model.graph.node:
        macs = 0
        weight = inits.get(node.input[1]) if len(node.input) > 1 else None
        if weight is not None and node.op_type == "Conv":
            macs = _prod(weight) * _prod(shapes[node.output[0]][2:])
        elif weight is not None and node.op_type == "ConvTranspose":
            macs = _prod(weight) * _prod(shapes[node.input[0]][2:])
        elif weight is not None and node.op_type in ("Gemm", "MatMul"):
            out = shapes.get(node.output[0], [1, 1])
            macs = _prod(weight) * (_prod(out[1:-1]) if len(out) > 2 else 1)
        rows.append({"name": node.name, "type": node.op_type, "output_shape": shapes.get(node.output[0], [])[1:],
                     "macs": macs, "flops": 2 * macs,
                     "params": sum(_prod(inits[i]) for i in node.input if i in inits)})
    macs = sum(r["macs"] for r in rows)
    return {"input_shape": list(input_shape), "layout": "NCHW", "macs": macs, "flops": 2 * macs,
            "gmacs": macs / 1e9, "gflops": 2 * macs / 1e9, "params": sum(_prod(v) for v in inits.values()),
            "convention": CONVENTION, "source": "ONNX file %s" % path, "opset": model.opset_import[0].version,
            "layers": rows}
