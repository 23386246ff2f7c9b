"""Model artefacts a plan needs, made once into a cache folder and shared by every run.

Made by the suite itself (`python -m edgebench.suite export`) in a subprocess: the host process
never imports a runtime. A folder with a manifest.json is done; unchanged inputs never rebuild.
"""

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from edgebench.suite.models import zoo
from edgebench.suite.spec import RunSpec

from .errors import InputError


@dataclass(frozen=True)
class Artifact:
    """A model file a run needs, made before the campaign and shared by every run that reads it."""

    format: str  # "torch" or "onnx"
    model: str
    input_shape: tuple[int, ...]
    num_classes: int
    seed: int

    @property
    def key(self) -> str:
        c, h, w = self.input_shape
        return "%s-%s-%dx%dx%d-c%d-s%d" % (self.format, self.model, c, h, w, self.num_classes, self.seed)

    @property
    def relpath(self) -> str:
        return "%s/model.%s" % (self.key, "pt" if self.format == "torch" else "onnx")


def artifact_for(spec: RunSpec) -> Optional[Artifact]:
    """The artefact a run reads: a torch state dict for torch, an export for the others."""
    fmt = "torch" if spec.framework == "torch" else zoo.artifact_format(spec.framework)
    if not fmt:
        return None
    return Artifact(str(fmt), spec.model, tuple(spec.input_shape), spec.num_classes, spec.seed)


DEFAULT_DIR = Path(os.environ.get("EDGEBENCH_CACHE", Path.home() / ".cache" / "edgebench")) / "models"


def manifest(models_dir: Path, art: Artifact) -> Optional[dict[str, Any]]:
    path = models_dir / art.key / "manifest.json"
    if not path.exists() or not (models_dir / art.relpath).exists():
        return None
    try:
        data = json.loads(path.read_text())
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def export_command(art: Artifact, out: Path, python: Optional[str] = None) -> list[str]:
    return [python or sys.executable, "-m", "edgebench.suite", "export", "--format", art.format,
            "--model", art.model, "--input", ",".join(str(v) for v in art.input_shape),
            "--num-classes", str(art.num_classes), "--seed", str(art.seed), "--out", str(out)]


def ensure(art: Artifact, models_dir: Path, python: Optional[str] = None,
           prefix: Sequence[str] = ()) -> dict[str, Any]:
    """The artefact's manifest, making the artefact first when the cache lacks it."""
    found = manifest(models_dir, art)
    if found is not None:
        return found
    out = models_dir / art.key
    cmd = list(prefix) + export_command(art, out, python)
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-5:])
        raise InputError(art.key, "model", "could not make the artefact (exit %d):\n%s" % (proc.returncode, tail))
    made = manifest(models_dir, art)
    if made is None:
        raise InputError(art.key, "model", "the export wrote no manifest.json")
    return made
