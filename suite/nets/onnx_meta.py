"""The precision stamp edgebench writes into an ONNX model's metadata (artefacts/onnx_precision.py writes it)
and its reader, which the onnxruntime backend runs inside its image. No runtime is imported: the reader takes
an onnxruntime session the backend already has."""

from typing import Any, Dict

META = "edgebench."  # prefix of the metadata_props artefacts/onnx_precision.py writes into the model


def read_evidence(session: Any) -> Dict[str, Any]:
    """The precision of the graph an onnxruntime session loaded, from the counts export_onnx_precision
    stamped into the model's metadata from its nodes. Read from the session, so nothing is parsed again:
    device images ship no onnx, and parsing a large graph in the benchmarked process would add to its
    load time and peak memory. A model without the stamp is a plain fp32 export (artefacts/export.export_onnx)."""
    meta = dict(session.get_modelmeta().custom_metadata_map)
    found: Dict[str, Any] = {k[len(META):]: int(v) if v.isdigit() else v for k, v in meta.items()
                             if k.startswith(META)}
    if not found:
        return {"source": "unstamped fp32 export", "precision": "fp32"}
    found["source"] = "model metadata (counted from the graph at export)"
    return found
