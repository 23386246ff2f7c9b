"""`edgebench models`: the artefact cache, FLOPs/MACs/parameters, making, pruning and accuracy checks.

Every command that needs a runtime runs `python -m edgebench.suite.artefacts` in a subprocess and reads the
JSON answer it writes to a file: the host process never imports torch or TensorFlow.
"""

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from edgebench.suite import registry
from edgebench.suite.nets import zoo
from rich.table import Table

from . import artifacts, model_defs, models_info
from .console import JsonOpt, err, out
from .console import emit_json as _emit
from .errors import InputError

models_app = typer.Typer(help="Model artefacts: cache, FLOPs, export, pruning, accuracy.", no_args_is_help=True,
                         pretty_exceptions_enable=False)
ModelsDir = Annotated[Path, typer.Option("--models", help="model artefact cache")]
InputOpt = Annotated[Optional[str], typer.Option("--input", help="input side (224) or C,H,W; default: the model's")]
ClassesOpt = Annotated[int, typer.Option("--num-classes", help="classifier outputs")]
SeedOpt = Annotated[int, typer.Option("--seed", help="random-weights seed")]


def _shape(text: Optional[str], model: str, framework: str = "torch") -> tuple[int, ...]:
    if text is None:
        return tuple(zoo.default_shape(model, framework))
    try:
        values = tuple(int(v) for v in text.split(","))
    except ValueError:
        raise InputError("--input", "input", "expected a side like 224 or C,H,W like 3,224,224, got %r"
                         % text) from None
    if len(values) == 1:
        values = (3, values[0], values[0])
    if len(values) != 3 or min(values) < 1:
        raise InputError("--input", "input", "expected a side like 224 or C,H,W like 3,224,224, got %r" % text)
    return values


def _check_model(model: str, framework: str, precision: str = "fp32") -> None:
    reason = zoo.can_run(framework, model, "fp32")
    if reason:
        raise InputError(model, "model", reason)
    reason = zoo.can_run(framework, model, precision)
    if reason:
        raise InputError("--precision", "precision", reason)


def suite_call(args: list[str]) -> dict[str, Any]:
    """Run `python -m edgebench.suite.artefacts ARGS --result FILE` and return the JSON it wrote."""
    with tempfile.TemporaryDirectory() as tmp:
        result = Path(tmp) / "result.json"
        proc = subprocess.run([sys.executable, "-m", "edgebench.suite.artefacts"] + args + ["--result", str(result)],
                              capture_output=True, text=True)
        if proc.returncode != 0 or not result.exists():
            lines = proc.stderr.strip().splitlines()
            mine = [ln for ln in lines if ln.startswith("edgebench.suite.artefacts")]
            raise InputError(" ".join(args[:3]), "model", "failed (exit %d): %s"
                             % (proc.returncode, "\n".join((mine or lines)[-5:])))
        data = json.loads(result.read_text())
    return data if isinstance(data, dict) else {"result": data}


def _mib(n: Any) -> str:
    return "%.2f" % (float(n) / 2 ** 20) if isinstance(n, (int, float)) else ""


@models_app.command("list")
def list_cmd(models: ModelsDir = artifacts.DEFAULT_DIR, as_json: JsonOpt = False) -> None:
    """The artefact cache: one row per artefact with size (bytes, MiB), parameters, shapes and versions."""
    rows = artifacts.cached(models)
    if as_json:
        _emit({"models_dir": str(models), "artifacts": rows})
        return
    table = Table(title="%s: %d artefacts" % (models, len(rows)))
    for col in ("key", "format", "precision", "bytes", "MiB", "params", "input", "output", "versions"):
        table.add_column(col, overflow="fold")
    for r in rows:
        versions = " ".join("%s=%s" % kv for kv in sorted((r.get("versions") or {}).items()))
        table.add_row(r["key"] + ("" if r["present"] else " (file missing)"), str(r.get("format", "")),
                      str(r.get("precision", "")), str(r.get("size_bytes", "")), _mib(r.get("size_bytes")),
                      str(r.get("parameters", "")), "x".join(str(v) for v in r.get("input_shape", [])),
                      "x".join(str(v) for v in r.get("output_shape", [])), versions)
    out.print(table)


@models_app.command("info")
def info_cmd(model: str, input: InputOpt = None, num_classes: ClassesOpt = 1000, seed: SeedOpt = 0,
             framework: Annotated[Optional[str], typer.Option(
                 "--framework", help="one of %s (keras, gluon: aliases); default: all side by side, each "
                                     "framework's own definition" % ", ".join(model_defs.FRAMEWORKS))] = None,
             layers: Annotated[bool, typer.Option("--layers", help="one row per layer (with --framework)")] = False,
             models: ModelsDir = artifacts.DEFAULT_DIR, as_json: JsonOpt = False) -> None:
    """FLOPs and MACs (both, labelled), parameters, per layer with --layers; P5's formulas.

    Without --framework: one row per framework, each counting its own definition (torchvision, Keras
    applications, Gluon model zoo), with the known differences in the notes column; onnxruntime's and
    TensorRT's count the ONNX file itself when the artefact cache (--models) has it at this shape."""
    shape = _shape(input, model) if input is not None else None
    if framework is None:
        if layers:
            raise InputError("--layers", "layers", "per-layer rows need one --framework")
        _print_side_by_side(models_info.side_by_side(model, shape, num_classes, seed, models), as_json)
        return
    fw = models_info.framework_of(framework)
    if fw in ("torch", "onnxruntime", "tensorrt") and "+" in model:
        _check_model(model, fw)
    info = models_info.single(model, fw, shape, num_classes, seed, models)
    if not layers:
        info.pop("layers", None)
    if as_json:
        _emit(info)
        return
    out.print("[bold]%s[/] on %s: %s (%s), input %s, %d classes" % (
        model, fw, info["definition"], info["how"], "x".join(map(str, info["input_shape"])), num_classes))
    out.print("  MACs   %.4f G  (multiply-accumulates = torchvision's \"GFLOPS\")" % info["gmacs"])
    out.print("  FLOPs  %.4f G  (= 2 x MACs)" % info["gflops"])
    out.print("  params %d (%.2f M)" % (info["params"], info["params"] / 1e6))
    if "params_keras" in info:
        out.print("  params %d with BatchNorm's moving statistics (Keras count_params)" % info["params_keras"])
    if "params_all" in info:
        out.print("  params %d with BatchNorm's running statistics (Gluon collect_params)" % info["params_all"])
    if info.get("published_gmacs") is not None:
        pub = info["published_gmacs"]
        out.print("  torchvision published %.2f GMACs (ours %+.1f%%)" % (pub, 100 * (info["gmacs"] / pub - 1)))
    if "pruning" in info:
        p = info["pruning"]
        out.print("  pruned (%s): %.1f%% of FLOPs removed (target %.0f%%)"
                  % (p["importance"], 100 * p["achieved_flops_share"], 100 * p["target_flops_share"]))
    if info.get("note"):
        out.print("  note: %s" % info["note"])
    out.print("  convention: %s" % info["convention"])
    if layers:
        table = Table()
        for col in ("layer", "type", "output", "MACs", "FLOPs", "params"):
            table.add_column(col)
        for r in info["layers"]:
            if r["macs"] or r["params"]:
                table.add_row(r["name"], r["type"], "x".join(map(str, r["output_shape"] or [])), str(r["macs"]),
                              str(r["flops"]), str(r["params"]))
        out.print(table)


def _print_side_by_side(res: dict[str, Any], as_json: bool) -> None:
    if as_json:
        _emit(res)
        return
    table = Table(title="%s: each framework's own definition, %d classes" % (res["model"], res["num_classes"]))
    for col in ("framework", "definition", "input", "GMACs", "GFLOPs", "params (M)", "vs torchvision", "notes"):
        table.add_column(col, overflow="fold")
    for r in res["rows"]:
        if not r["counted"]:
            table.add_row(r["framework"], r["definition"] or "-", "", "", "", "", "", r["note"])
            continue
        vs = r.get("vs_torchvision")
        table.add_row(r["framework"], "%s (%s)" % (r["definition"], r["how"]), "x".join(map(str, r["input_shape"])),
                      "%.3f" % r["gmacs"], "%.3f" % r["gflops"], "%.3f" % (r["params"] / 1e6),
                      "MACs %+.1f%%, params %+d" % (100 * vs["macs"], vs["params"]) if vs else "",
                      r["note"])
    out.print(table)
    out.print("params: trainable weights (torch's parameters()); convention: %s" % res["convention"])


FormatOpt = Annotated[str, typer.Option("--format", help="onnx, tflite, torch or edgetpu (INT8 TFLite compiled by "
                                                          "edgetpu_compiler)")]
PrecisionOpt = Annotated[str, typer.Option("--precision", help="fp32, fp16 or int8 (fp16/int8: onnx, tflite)")]
CalibOpt = Annotated[Optional[Path], typer.Option("--calib-dir", help="images for INT8 calibration / Taylor")]
WeightsOpt = Annotated[Optional[Path], typer.Option("--weights", help="local weights file (else random)")]

# artefact format -> the framework whose zoo and precisions a `models make` of it is checked against (onnx:
# onnxruntime, the first of the frameworks reading it; edgetpu: tflite).
_FRAMEWORK_OF = {fmt: registry.frameworks_reading(fmt)[0] for fmt in registry.FORMATS}


def _make(model: str, fmt: str, precision: str, input: Optional[str], num_classes: int, seed: int,
          calib_dir: Optional[Path], weights: Optional[Path],
          models: Path) -> tuple[artifacts.Artifact, dict[str, Any]]:
    if fmt not in _FRAMEWORK_OF:
        raise InputError("--format", "format", "expected onnx, tflite, torch or edgetpu, got %r" % fmt)
    fw = _FRAMEWORK_OF[fmt]
    _check_model(model, fw, precision)
    if fmt == "edgetpu" and precision != "int8":
        raise InputError("--precision", "precision", "the EdgeTPU runs full-integer INT8 models only: --precision int8")
    if fmt == "torch" and precision != "fp32":
        raise InputError("--precision", "precision", "torch artefacts are fp32 state dicts (the torch backend "
                         "casts at load; FP16/INT8 files come as onnx or tflite)")
    art = artifacts.Artifact(fmt, model, _shape(input, model, fw), num_classes, seed, precision,
                             str(calib_dir) if calib_dir else None, str(weights) if weights else None)
    before = artifacts.manifest(models, art)
    man = artifacts.ensure(art, models)
    man["cached"] = before is not None and before.get("content_key") == man.get("content_key")
    man["path"] = str(models / art.relpath)
    return art, man


def _print_made(man: dict[str, Any]) -> None:
    out.print("%s %s: %s (%d bytes, %.2f MiB, %d params)%s" % (
        "cached" if man["cached"] else "made", man["model"], man["path"], man["size_bytes"],
        man["size_bytes"] / 2.0 ** 20, man["parameters"],
        "" if man["cached"] else " in %.1f s" % man.get("export_s", 0.0)))
    check = man.get("check") or {}
    if check:
        out.print("  check vs %s: %s" % (check.get("reference"), ", ".join(
            "%s=%.3g" % (k, check[k]) for k in ("max_rel_diff", "rms_rel_diff", "top1_agreement") if k in check)))
    if (man.get("calibration") or {}).get("warning"):
        err.print("[yellow]warning:[/] %s" % man["calibration"]["warning"])


@models_app.command("make")
def make_cmd(model: str, fmt: FormatOpt = "onnx", precision: PrecisionOpt = "fp32", input: InputOpt = None,
             num_classes: ClassesOpt = 1000, seed: SeedOpt = 0, calib_dir: CalibOpt = None,
             weights: WeightsOpt = None, models: ModelsDir = artifacts.DEFAULT_DIR, as_json: JsonOpt = False) -> None:
    """Make (or find in the cache) one artefact; unchanged inputs never rebuild."""
    _, man = _make(model, fmt, precision, input, num_classes, seed, calib_dir, weights, models)
    if as_json:
        _emit(man)
    else:
        _print_made(man)


@models_app.command("prune")
def prune_cmd(model: str, target: Annotated[float, typer.Option(help="share of FLOPs to remove, 0..1")] = 0.5,
              importance: Annotated[str, typer.Option(help="magnitude or taylor")] = "magnitude",
              input: InputOpt = None, num_classes: ClassesOpt = 1000, seed: SeedOpt = 0, calib_dir: CalibOpt = None,
              models: ModelsDir = artifacts.DEFAULT_DIR, as_json: JsonOpt = False) -> None:
    """Prune with Torch-Pruning until TARGET of the FLOPs are gone; export to ONNX; record the achieved share.

    The result is the zoo model MODEL+pruned-IMPORTANCE-PERCENT, usable in matrices on onnxruntime.
    """
    pct = round(target * 100)
    if not 0 < target < 1 or abs(target * 100 - pct) > 1e-6:
        raise InputError("--target", "target", "expected a whole-percent share in (0, 1) like 0.5, got %r" % target)
    if importance not in zoo.PRUNE_IMPORTANCES:
        raise InputError("--importance", "importance", "expected magnitude or taylor, got %r" % importance)
    name = zoo.variant_name(model, importance, int(pct))
    _, man = _make(name, "onnx", "fp32", input, num_classes, seed, calib_dir, None, models)
    if as_json:
        _emit(man)
        return
    _print_made(man)
    p = man["pruning"]
    out.print("  %s importance: %.1f%% of FLOPs removed (target %d%%) in %d steps; MACs %.3f G -> %.3f G, "
              "params %.2f M -> %.2f M" % (p["importance"], 100 * p["achieved_flops_share"], pct, p["steps"],
                                           p["macs_before"] / 1e9, p["macs_after"] / 1e9,
                                           p["params_before"] / 1e6, p["params_after"] / 1e6))


@models_app.command("accuracy")
def accuracy_cmd(model: str, data: Annotated[Path, typer.Option("--data", help="ImageFolder: ROOT/CLASS/IMAGE")],
                 framework: Annotated[str, typer.Option(help="onnxruntime, tflite or torch")] = "onnxruntime",
                 precisions: Annotated[str, typer.Option("--precisions", help="comma list; first is baseline")]
                 = "fp32",
                 artifact: Annotated[Optional[Path], typer.Option(help="use this file instead of the cache")] = None,
                 max_drop: Annotated[float, typer.Option(help="allowed top-1 drop vs the first precision")] = 0.01,
                 input: InputOpt = None, num_classes: ClassesOpt = 1000, seed: SeedOpt = 0,
                 calib_dir: CalibOpt = None, weights: WeightsOpt = None,
                 batch_size: Annotated[int, typer.Option()] = 16,
                 threads: Annotated[Optional[int], typer.Option()] = None,
                 limit: Annotated[Optional[int], typer.Option(help="images per class")] = None,
                 models: ModelsDir = artifacts.DEFAULT_DIR, as_json: JsonOpt = False) -> None:
    """Top-1/top-5 per precision on a local data set; exits 1 when a precision loses more than --max-drop."""
    if not data.is_dir():
        raise InputError(str(data), "data", "the data set folder does not exist")
    if framework not in set(_FRAMEWORK_OF.values()):
        raise InputError("--framework", "framework", "expected %s, got %r"
                         % (", ".join(sorted(set(_FRAMEWORK_OF.values()))), framework))
    fmt = registry.format_of(framework)  # tflite: the plain TFLite artefact (not its EdgeTPU compilation)
    shape = _shape(input, model, framework)
    results = []
    for precision in [p.strip() for p in precisions.split(",") if p.strip()]:
        path = artifact
        if path is None:
            made_precision = "fp32" if fmt == "torch" else precision
            _, man = _make(model, fmt, made_precision, ",".join(map(str, shape)), num_classes, seed, calib_dir,
                           weights, models)
            path = Path(man["path"])
        args = ["accuracy", "--framework", framework, "--model", model, "--precision", precision, "--artifact",
                str(path), "--data", str(data), "--input", ",".join(map(str, shape)), "--num-classes",
                str(num_classes), "--batch-size", str(batch_size), "--seed", str(seed)]
        args += ["--threads", str(threads)] if threads else []
        args += ["--limit", str(limit)] if limit else []
        results.append(suite_call(args))
    base = results[0]["top1"]
    rows = [dict(r, drop=base - r["top1"], ok=base - r["top1"] <= max_drop) for r in results]
    verdict = {"model": model, "framework": framework, "max_drop": max_drop, "ok": all(r["ok"] for r in rows),
               "results": rows}
    if as_json:
        _emit(verdict)
    else:
        table = Table(title="%s on %s, %s (%d images)" % (model, framework, data, results[0]["images"]))
        for col in ("precision", "top-1", "top-5", "drop", "ok"):
            table.add_column(col)
        for r in rows:
            table.add_row(r["precision"], "%.4f" % r["top1"], "%.4f" % r["top5"], "%+.4f" % r["drop"],
                          "yes" if r["ok"] else "[red]NO[/]")
        out.print(table)
    raise typer.Exit(0 if verdict["ok"] else 1)


@models_app.command("layers")
def layers_cmd(model: str, input: InputOpt = None, num_classes: ClassesOpt = 1000,
               batch_size: Annotated[int, typer.Option()] = 1,
               device: Annotated[str, typer.Option(help="cpu or cuda[:N]")] = "cpu",
               iterations: Annotated[int, typer.Option()] = 10,
               threads: Annotated[Optional[int], typer.Option()] = None,
               top: Annotated[int, typer.Option(help="rows to show")] = 15, as_json: JsonOpt = False) -> None:
    """Per-layer latency of a PyTorch model with forward hooks (device synchronised around each layer)."""
    _check_model(model, "onnxruntime" if "+" in model else "torch")
    shape = _shape(input, model)
    args = ["layers", "--model", model, "--input", ",".join(map(str, shape)), "--num-classes", str(num_classes),
            "--batch-size", str(batch_size), "--device", device, "--iterations", str(iterations)]
    args += ["--threads", str(threads)] if threads else []
    res = suite_call(args)
    if as_json:
        _emit(res)
        return
    out.print("%s batch %d on %s: %.2f ms per pass without hooks; leaf layers sum to %.2f ms with hooks"
              % (model, batch_size, res["device"], 1e3 * res["total_s"], 1e3 * res["layers_sum_s"]))
    table = Table()
    for col in ("layer", "type", "ms", "share"):
        table.add_column(col)
    for r in sorted(res["layers"], key=lambda r: -r["median_s"])[:top]:
        table.add_row(r["name"], r["type"], "%.3f" % (1e3 * r["median_s"]), "%.1f%%" % (100 * r["share"]))
    out.print(table)
