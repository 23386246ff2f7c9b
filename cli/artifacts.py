"""Model artefacts a plan needs, made once into a cache folder and shared by every run.

Made by the suite itself (`python -m edgebench.suite.artefacts make`) in a subprocess: the host process
never imports a runtime. Each folder's manifest.json records a content key: a hash of everything that
decides the file's bytes (format, architecture, shape, classes, seed, precision, calibration data,
weights file, and the versions of the tools that make it). An artefact whose manifest carries the same
key is reused; a different key (e.g. TensorFlow was upgraded) rebuilds it in place. The folder name
(and so spec.artifact and every run id) depends only on model/shape/classes/seed/precision, so
campaigns resume across tool upgrades.
"""

import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, Optional

from edgebench.suite import registry
from edgebench.suite.fsutil import sha256_file
from edgebench.suite.nets import zoo
from edgebench.suite.spec import RunSpec

from .errors import InputError

# Per format (suite/registry.py FORMATS): the file suffix and the distributions whose versions change an
# artefact (what the exporter imports); an EdgeTPU artefact adds edgetpu_compiler's version.
EXTENSIONS = {name: f.suffix for name, f in registry.FORMATS.items()}
TOOLS = {name: f.tools for name, f in registry.FORMATS.items()}
PRUNE_TOOLS = registry.PRUNE_TOOLS
# Bump when the exporter's own logic changes what it writes.
EXPORTER_REVISION = 2


@dataclass(frozen=True)
class Artifact:
    """A model file a run needs, made before the campaign and shared by every run that reads it."""

    format: str  # "torch", "onnx" or "tflite"
    model: str  # a zoo name, pruned variants included ("resnet50+pruned-taylor-50")
    input_shape: tuple[int, ...]
    num_classes: int
    seed: int
    precision: str = "fp32"  # torch casts at load; TensorRT builds its precision from the fp32 ONNX
    calib_dir: Optional[str] = None  # INT8 calibration / Taylor pruning images; synthetic when None
    weights: Optional[str] = None  # a local weights file instead of random weights

    @property
    def key(self) -> str:
        c, h, w = self.input_shape
        key = "%s-%s-%dx%dx%d-c%d-s%d" % (self.format, self.model, c, h, w, self.num_classes, self.seed)
        if self.format in ("tflite", "edgetpu") or self.precision != "fp32":  # fp32 ONNX keys predate ONNX fp16/int8
            key += "-" + self.precision
        if self.calib_dir:
            key += "-cal" + hashlib.sha256(os.path.abspath(self.calib_dir).encode()).hexdigest()[:8]
        if self.weights:
            key += "-w" + _file_sha256(self.weights)[:8]
        return key

    @property
    def relpath(self) -> str:
        return "%s/model.%s" % (self.key, EXTENSIONS[self.format])


def artifact_for(spec: RunSpec) -> Optional[Artifact]:
    """The artefact a run reads: a torch state dict for torch, an export for the others."""
    fmt = registry.format_of(spec.framework)
    if not fmt:
        return None
    if fmt == "tflite" and spec.placement.startswith("edgetpu"):
        fmt = "edgetpu"  # the INT8 model compiled by edgetpu_compiler: the delegate runs nothing else
    precision = spec.precision if fmt in ("tflite", "edgetpu") or spec.framework == "onnxruntime" else "fp32"
    # TensorRT calibrates on the target, from the fp32 ONNX: its calibration images are not the artefact's.
    calib = spec.calib_dir if precision == "int8" or "+pruned-taylor" in spec.model else None
    return Artifact(str(fmt), spec.model, tuple(spec.input_shape), spec.num_classes, spec.seed, precision,
                    calib, spec.weights)


DEFAULT_DIR = Path(os.environ.get("EDGEBENCH_CACHE", Path.home() / ".cache" / "edgebench")) / "models"


def _file_sha256(path: str) -> str:
    try:
        return sha256_file(path)
    except OSError as e:
        raise InputError(path, "weights", "cannot read the weights file: %s" % e) from None


def _dir_digest(folder: str) -> str:
    """Names, sizes and modification times of a calibration folder's files (cheap; detects edits)."""
    h = hashlib.sha256()
    if not os.path.isdir(folder):
        raise InputError(folder, "calib_dir", "the calibration folder does not exist")
    for root, dirs, files in sorted(os.walk(folder)):
        dirs.sort()
        for name in sorted(files):
            st = os.stat(os.path.join(root, name))
            h.update(("%s|%d|%d\n" % (os.path.relpath(os.path.join(root, name), folder), st.st_size,
                                      int(st.st_mtime))).encode())
    return h.hexdigest()


def tool_versions(art: Artifact) -> dict[str, str]:
    """Versions of the distributions that make `art`, read from package metadata (nothing is imported)."""
    names = list(TOOLS[art.format])
    if art.format in ("tflite", "edgetpu") and zoo.tflite_source(art.model) == "torchvision":
        names += ["torch", "torchvision"]
    if "+" in art.model:
        names += list(PRUNE_TOOLS)
    found: dict[str, str] = {}
    for name in names:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    if art.format == "edgetpu":
        found["edgetpu_compiler"] = edgetpu_compiler_version()
    return found


def edgetpu_compiler_version() -> str:
    """`edgetpu_compiler --version`'s answer ("Edge TPU Compiler version 16.0.384591198"), or "absent"."""
    exe = shutil.which("edgetpu_compiler")
    if exe is None:
        return "absent"
    try:
        proc = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as e:
        return "unreadable: %s" % e
    text = (proc.stdout or proc.stderr).strip()
    return text.splitlines()[-1] if text else "unknown"


def key_inputs(art: Artifact) -> dict[str, Any]:
    return {"format": art.format, "model": art.model, "input_shape": list(art.input_shape),
            "num_classes": art.num_classes, "seed": art.seed, "precision": art.precision,
            "calibration": _dir_digest(art.calib_dir) if art.calib_dir else "synthetic",
            "weights": _file_sha256(art.weights) if art.weights else "random",
            "versions": tool_versions(art), "exporter_revision": EXPORTER_REVISION}


def content_key(art: Artifact) -> str:
    blob = json.dumps(key_inputs(art), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def manifest(models_dir: Path, art: Artifact) -> Optional[dict[str, Any]]:
    path = models_dir / art.key / "manifest.json"
    if not path.exists() or not (models_dir / art.relpath).exists():
        return None
    try:
        data = json.loads(path.read_text())
    except ValueError:
        return None
    return upgrade_manifest(data) if isinstance(data, dict) else None


def upgrade_manifest(data: dict[str, Any]) -> dict[str, Any]:
    """A manifest in today's names. Before the units rule (`*_mb` is MiB) manifests held the file size in
    decimal megabytes as `size_mb` (top level and in `derived_from`): it is `size_mb_decimal` now."""
    for part in (data, data.get("derived_from")):
        if isinstance(part, dict) and "size_mb" in part:
            part.setdefault("size_mb_decimal", part.pop("size_mb"))
    return data


def export_command(art: Artifact, out: Path, python: Optional[str] = None, key: Optional[str] = None,
                   result: Optional[Path] = None) -> list[str]:
    cmd = [python or sys.executable, "-m", "edgebench.suite.artefacts", "make", "--format", art.format,
           "--model", art.model, "--input", ",".join(str(v) for v in art.input_shape),
           "--num-classes", str(art.num_classes), "--seed", str(art.seed), "--precision", art.precision,
           "--out", str(out)]
    if art.calib_dir:
        cmd += ["--calib-dir", os.path.abspath(art.calib_dir)]
    if art.weights:
        cmd += ["--weights", os.path.abspath(art.weights)]
    if key:
        cmd += ["--content-key", key, "--key-inputs", json.dumps(key_inputs(art), sort_keys=True)]
    if result:
        cmd += ["--result", str(result)]
    return cmd


def ensure(art: Artifact, models_dir: Path, python: Optional[str] = None,
           prefix: Sequence[str] = ()) -> dict[str, Any]:
    """The artefact's manifest, making the artefact first when the cache lacks it or its inputs changed.

    The content key is computed from this interpreter's package metadata, so it is exact when the export
    runs with this interpreter (the default) and a best effort with another `python`.
    """
    key = content_key(art)
    found = manifest(models_dir, art)
    if found is not None and found.get("content_key") == key:
        return found
    out = models_dir / art.key
    out.mkdir(parents=True, exist_ok=True)
    cmd = list(prefix) + export_command(art, out, python, key)
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        if not any(out.iterdir()):
            out.rmdir()  # nothing half-made stays in the cache
        lines = [ln for ln in proc.stderr.strip().splitlines() if "edgebench.suite.artefacts" in ln or "Error" in ln]
        tail = "\n".join((lines or proc.stderr.strip().splitlines())[-5:])
        raise InputError(art.key, "model", "could not make the artefact (exit %d):\n%s" % (proc.returncode, tail))
    made = manifest(models_dir, art)
    if made is None or made.get("content_key") != key:
        raise InputError(art.key, "model", "the export wrote no manifest.json with content key %s" % key)
    return made


def cached(models_dir: Path) -> list[dict[str, Any]]:
    """Every manifest in the cache, with its folder name as `key`."""
    rows: list[dict[str, Any]] = []
    if not models_dir.is_dir():
        return rows
    for path in sorted(models_dir.glob("*/manifest.json")):
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(data, dict):
            data = upgrade_manifest(data)
            data["key"] = path.parent.name
            data["present"] = (path.parent / str(data.get("file", ""))).exists()
            rows.append(data)
    return rows
