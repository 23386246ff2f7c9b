"""edgetpu_compiler's summary, parsed. The compiler is x86-64 apt only and cannot be installed here (no
Google apt repository), so these logs are written in its printed format as Coral's documentation and
public compiler logs show it: the two "will run on" lines appear only when some operations stay on the CPU."""

from edgebench.suite.artefacts.compilers import _edgetpu_mapped

PARTLY = """\
Edge TPU Compiler version 16.0.384591198
Input: model.tflite
Output: model_edgetpu.tflite
On-chip memory used for caching model parameters: 4.21MiB
Off-chip memory used for streaming uncached model parameters: 0.00B
Number of Edge TPU subgraphs: 1
Total number of operations: 70
Model successfully compiled but not all operations are supported by the Edge TPU.
Number of operations that will run on Edge TPU: 67
Number of operations that will run on CPU: 3
"""

WHOLLY = """\
Edge TPU Compiler version 16.0.384591198
Number of Edge TPU subgraphs: 1
Total number of operations: 64
Model compiled successfully in 812 ms.
"""


def test_partly_mapped_model_counts_cpu_operations() -> None:
    m = _edgetpu_mapped(PARTLY)
    assert m is not None
    assert (m["edgetpu_ops"], m["cpu_ops"], m["total_ops"], m["subgraphs"]) == (67, 3, 70, 1)
    assert m["on_chip_cached"] == "4.21MiB" and m["off_chip_streamed"] == "0.00B"


def test_wholly_mapped_model_has_no_cpu_operations() -> None:
    assert _edgetpu_mapped(WHOLLY) == {"subgraphs": 1, "total_ops": 64, "edgetpu_ops": 64, "cpu_ops": 0}
    assert _edgetpu_mapped("edgetpu_compiler: error while loading shared libraries") is None
