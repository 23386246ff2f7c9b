"""Top-1 / top-5 accuracy of any artefact on any backend, over a local ImageFolder-style data set.

Layout: ROOT/CLASS/IMAGE; classes sorted by folder name give the label indices (torchvision's
ImageFolder rule, so an ImageNet validation folder sorted by WordNet id lines up with 1000-class models).
Images go through suite.inputs.load_image (resize, centre crop, ImageNet normalisation), as in runs.
"""

import os
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from .. import backends, inputs
from ..spec import RunSpec


def image_folder(root: str, limit: Optional[int] = None) -> Tuple[List[str], List[Tuple[str, int]]]:
    """(class names, [(image path, label)]) sorted; `limit` keeps the first N per class."""
    if not os.path.isdir(root):
        raise inputs.InputError("data set %r is not a folder" % root)
    classes = sorted(d for d in os.listdir(root) if os.path.isdir(os.path.join(root, d)))
    if not classes:
        raise inputs.InputError("data set %r has no class folders (ROOT/CLASS/IMAGE)" % root)
    samples: List[Tuple[str, int]] = []
    for label, name in enumerate(classes):
        paths = sorted(p for p in os.listdir(os.path.join(root, name)) if p.lower().endswith(inputs.IMAGE_EXTS))
        samples.extend((os.path.join(root, name, p), label) for p in paths[:limit])
    if not samples:
        raise inputs.InputError("data set %r holds no images (%s)" % (root, ", ".join(inputs.IMAGE_EXTS)))
    return classes, samples


def topk(logits: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """Per sample: is the label among the k largest outputs."""
    k = min(k, logits.shape[1])
    best = np.argsort(-logits, axis=1)[:, :k]
    return np.asarray(np.any(best == labels[:, None], axis=1))


def evaluate(framework: str, model: str, data_dir: str, input_shape: Tuple[int, ...], precision: str = "fp32",
             artifact: Optional[str] = None, num_classes: int = 1000, batch_size: int = 16,
             threads: Optional[int] = None, placement: str = "cpu", limit: Optional[int] = None,
             seed: int = 0) -> Dict[str, Any]:
    """Run every image of the data set through the backend; top-1/top-5 and counts."""
    classes, samples = image_folder(data_dir, limit)
    spec = RunSpec(model=model, framework=framework, precision=precision, batch_size=batch_size,
                   input_shape=tuple(input_shape), num_classes=num_classes, threads=threads, placement=placement,
                   artifact=os.path.abspath(artifact) if artifact else None, seed=seed)
    backend = backends.get(framework)(spec)
    backend.load()
    hit1: List[np.ndarray] = []
    hit5: List[np.ndarray] = []
    for i in range(0, len(samples), batch_size):
        chunk = samples[i:i + batch_size]
        batch = np.stack([inputs.load_image(p, input_shape) for p, _ in chunk]).astype(np.float32)
        if backend.layout == "NHWC":
            batch = np.ascontiguousarray(batch.transpose(0, 2, 3, 1))
        out = backend.output(batch).reshape(len(chunk), -1)
        labels = np.asarray([y for _, y in chunk])
        hit1.append(topk(out, labels, 1))
        hit5.append(topk(out, labels, 5))
    h1, h5 = np.concatenate(hit1), np.concatenate(hit5)
    return {"framework": framework, "model": model, "precision": precision, "artifact": artifact,
            "data_dir": os.path.abspath(data_dir), "classes": len(classes), "images": int(h1.size),
            "top1": float(h1.mean()), "top5": float(h5.mean()), "correct_top1": int(h1.sum()),
            "correct_top5": int(h5.sum()), "versions": backend.versions()}


def compare(results: List[Dict[str, Any]], max_drop: float) -> Dict[str, Any]:
    """P4's 'same accuracy after optimisation': every result's top-1 within max_drop of the first's."""
    base = results[0]["top1"]
    rows = [{"precision": r["precision"], "framework": r["framework"], "top1": r["top1"], "top5": r["top5"],
             "drop": base - r["top1"], "ok": base - r["top1"] <= max_drop} for r in results]
    return {"baseline_top1": base, "max_drop": max_drop, "ok": all(r["ok"] for r in rows), "rows": rows}
