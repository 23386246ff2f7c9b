"""`edgebench models info`: parameters and FLOPs/MACs of each framework's own definition of a model, side by side.

Each family of definitions is counted once, in a subprocess with its own runtime (the host imports none):
torchvision and Keras by `python -m edgebench.suite.artefacts info` in this interpreter, Gluon by
suite/artefacts/gluon_flops.py under the MXNet interpreter (.venv-mxnet, made by `make mxnet-env`; MXNet needs
numpy<1.24, so it is not in the host's venv). The families are counted in parallel.
"""

import json
import os
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Optional

from edgebench.suite.nets import zoo

from . import artifacts
from . import model_defs as defs
from .errors import InputError

ROOT = Path(__file__).resolve().parent.parent
GLUON_SCRIPT = ROOT / "suite" / "artefacts" / "gluon_flops.py"
MXNET_ENV = "EDGEBENCH_MXNET_PYTHON"


class CountError(Exception):
    """A family could not be counted (its runtime missing or failing); the message says why, in one line."""


def mxnet_python() -> Path:
    """The interpreter that has MXNet: $EDGEBENCH_MXNET_PYTHON, else .venv-mxnet/bin/python at the repository root."""
    return Path(os.environ.get(MXNET_ENV) or ROOT / ".venv-mxnet" / "bin" / "python")


def default_shape(family: str, model: str) -> tuple[int, ...]:
    """The input the family's definition is usually run at (Inception: 299 in all three)."""
    if family == defs.KERAS:
        return tuple(zoo.KERAS[model][1])
    base = zoo.parse(model)[0]
    return tuple(zoo.TORCHVISION.get(base) or (zoo.KERAS[base][1] if base in zoo.KERAS else (3, 224, 224)))


def _json_from(cmd: list[str], what: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        result = Path(tmp) / "result.json"
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
        proc = subprocess.run(cmd + ["--result", str(result)], capture_output=True, text=True, env=env)
        if proc.returncode != 0 or not result.exists():
            lines = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()]
            mine = [ln for ln in lines if ln.startswith(("edgebench.suite.artefacts", "gluon_flops"))]
            raise CountError("%s failed (exit %d): %s" % (what, proc.returncode, " ".join((mine or lines)[-2:])))
        data = json.loads(result.read_text())
    return data if isinstance(data, dict) else {}


def count(family: str, model: str, shape: tuple[int, ...], num_classes: int, seed: int) -> dict[str, Any]:
    """The family's counts of `model` at `shape` (C, H, W), with per-layer rows."""
    text = ",".join(map(str, shape))
    if family == defs.GLUON:
        py = mxnet_python()
        if not py.exists():
            raise CountError("no MXNet interpreter at %s: run `make mxnet-env` (or set %s to a Python that has "
                             "mxnet 1.9.1)" % (py, MXNET_ENV))
        return _json_from([str(py), str(GLUON_SCRIPT), "--model", defs.GLUON_NAMES[model], "--input", text,
                           "--num-classes", str(num_classes), "--layers"], "the Gluon count")
    fw = "keras" if family == defs.KERAS else "torch"
    return _json_from([sys.executable, "-m", "edgebench.suite.artefacts", "info", "--model", model, "--input", text,
                       "--num-classes", str(num_classes), "--seed", str(seed), "--framework", fw],
                      "the %s count" % family)


def cached_onnx(model: str, shape: tuple[int, ...], num_classes: int, seed: int, models_dir: Path) -> Optional[Path]:
    """The fp32 ONNX artefact onnxruntime and TensorRT would run at this shape, when the cache has it."""
    art = artifacts.Artifact("onnx", model, shape, num_classes, seed)
    return models_dir / art.relpath if artifacts.manifest(models_dir, art) is not None else None


def count_onnx(path: Path, model: str, shape: tuple[int, ...], num_classes: int) -> dict[str, Any]:
    """The counts of the ONNX file itself (suite/artefacts/onnx_flops.py)."""
    return _json_from([sys.executable, "-m", "edgebench.suite.artefacts", "info", "--model", model, "--input",
                       ",".join(map(str, shape)), "--num-classes", str(num_classes), "--artifact", str(path)],
                      "the ONNX count")


def _onnx_note(info: dict[str, Any], ref: dict[str, Any], path: Path) -> str:
    macs = "equal torchvision's" if info["macs"] == ref.get("macs") else "%+.2f%% vs torchvision's" % (
        100 * (info["macs"] / ref["macs"] - 1)) if ref.get("macs") else "counted"
    params = info["params"] - ref["params"] if "params" in ref else 0
    return ("counted from the cached file %s: MACs %s; params %+d (the export folds BatchNorm into the convs)"
            % (path, macs, params))


def framework_of(name: str) -> str:
    """The framework a --framework value names (aliases: keras, gluon, litert); InputError for others."""
    fw = defs.ALIASES.get(name, name)
    if fw not in defs.FRAMEWORKS:
        raise InputError("--framework", "framework", "expected one of %s (or keras, gluon), got %r"
                         % (", ".join(defs.FRAMEWORKS), name))
    return fw


def check_model(model: str) -> None:
    try:
        zoo.parse(model)
    except ValueError as e:
        raise InputError(model, "model", str(e)) from None
    if not defs.known(model):
        names = sorted(set(zoo.TORCHVISION) | set(zoo.KERAS) | set(defs.GLUON_NAMES))
        raise InputError(model, "model", "no framework defines %r (known: %s)" % (model, ", ".join(names)))


def single(model: str, framework: str, shape: Optional[tuple[int, ...]], num_classes: int, seed: int,
           models_dir: Optional[Path] = None) -> dict[str, Any]:
    """One framework's counts (its definition's, or for onnxruntime and TensorRT the cached ONNX file's when
    `models_dir` has it), with `framework`, `definition`, `how` and `note` added."""
    check_model(model)
    r = defs.row(framework, model)
    if r.family is None:
        raise InputError(model, "model", "%s: %s" % (framework, defs.missing(framework, model)))
    shape = shape or default_shape(r.family, model)
    onnx = cached_onnx(model, shape, num_classes, seed, models_dir) \
        if models_dir is not None and framework in ("onnxruntime", "tensorrt") else None
    try:
        info = count_onnx(onnx, model, shape, num_classes) if onnx else count(r.family, model, shape, num_classes,
                                                                              seed)
    except CountError as e:
        raise InputError(model, "model", str(e)) from None
    info.update({"framework": framework, "definition": defs.family_name(r.family, model),
                 "how": r.how + (", counted from the file %s" % onnx if onnx else ""),
                 "note": defs.note(model, r.family)})
    return info


def side_by_side(model: str, shape: Optional[tuple[int, ...]], num_classes: int, seed: int,
                 models_dir: Optional[Path] = None) -> dict[str, Any]:
    """Every framework's row for `model`: the counts of its definition, or why it has none or was not counted.
    Each row also says how its MACs and parameters compare with torchvision's definition. onnxruntime's and
    TensorRT's rows count the ONNX file itself when `models_dir` holds the artefact at this shape."""
    check_model(model)
    rows = [defs.row(fw, model) for fw in defs.FRAMEWORKS]
    families = sorted({r.family for r in rows if r.family is not None})
    tv_shape = shape or default_shape(defs.TORCHVISION, model)
    onnx = cached_onnx(model, tv_shape, num_classes, seed, models_dir) \
        if models_dir is not None and defs.TORCHVISION in families else None
    with ThreadPoolExecutor(max_workers=len(families) + 1) as pool:
        futures = {f: pool.submit(_safe_count, f, model, shape or default_shape(f, model), num_classes, seed)
                   for f in families}
        onnx_future = pool.submit(_safe, count_onnx, onnx, model, tv_shape, num_classes) if onnx else None
        counted = {f: fut.result() for f, fut in futures.items()}
        onnx_info = onnx_future.result() if onnx_future else None
    ref = counted.get(defs.TORCHVISION) or {}
    out: list[dict[str, Any]] = []
    first: dict[str, str] = {}  # family -> the first framework shown with it (later rows point to it)
    for r in rows:
        row: dict[str, Any] = {"framework": r.framework, "definition": None, "how": r.how}
        if r.family is None:
            out.append(dict(row, counted=False, how="", note=defs.missing(r.framework, model)))
            continue
        info = counted[r.family]
        row.update(definition=defs.family_name(r.family, model), note=defs.note(model, r.family))
        if r.family in first:
            row["note"] = "the same definition as %s's" % first[r.family]
        first.setdefault(r.family, r.framework)
        if r.framework in ("onnxruntime", "tensorrt") and onnx is not None and onnx_info is not None:
            if "error" in onnx_info:
                row["note"] = "counts of torchvision's definition; the cached ONNX file was not counted: %s" \
                    % onnx_info["error"]
            else:
                info = onnx_info
                row.update(how=r.how + ", counted from the file", artifact=str(onnx),
                           note=_onnx_note(info, ref, onnx) if r.framework == "onnxruntime"
                           else "the same ONNX file as onnxruntime's")
        elif r.framework == "onnxruntime" and models_dir is not None:
            row["note"] = ("counts of torchvision's definition (no ONNX artefact at this shape in %s: `edgebench "
                           "models make %s` makes one, then this row counts the file)" % (models_dir, model))
        if "error" in info:
            out.append(dict(row, counted=False, note=info["error"]))
            continue
        row.update(counted=True, input_shape=info["input_shape"], layout=info.get("layout", "NCHW"),
                   macs=info["macs"], flops=info["flops"], gmacs=info["gmacs"], gflops=info["gflops"],
                   params=info["params"], params_all=info.get("params_keras", info.get("params_all")))
        if ref.get("macs") and r.family != defs.TORCHVISION and ref["input_shape"] == info["input_shape"]:
            row["vs_torchvision"] = {"macs": info["macs"] / ref["macs"] - 1, "params": info["params"] - ref["params"]}
        out.append(row)
    conventions = {i["convention"] for i in counted.values() if "convention" in i}
    return {"model": model, "input_shape": list(shape) if shape else None, "num_classes": num_classes,
            "convention": sorted(conventions)[0] if conventions else "", "rows": out}


def _safe_count(family: str, model: str, shape: tuple[int, ...], num_classes: int, seed: int) -> dict[str, Any]:
    return _safe(count, family, model, shape, num_classes, seed)


def _safe(fn: Any, *args: Any) -> dict[str, Any]:
    try:
        info: dict[str, Any] = fn(*args)
    except CountError as e:
        return {"error": str(e)}
    info.pop("layers", None)
    return info
