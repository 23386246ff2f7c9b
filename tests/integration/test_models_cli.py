"""`edgebench models make | list | prune` end to end, in a fresh process each (as a user runs them)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import has_module, need

pytestmark = pytest.mark.integration
# The lead mounts models_app under `edgebench models`; until then run the sub-app as edgebench's main does.
CLI = [sys.executable, "-c", "import sys\nfrom edgebench.cli.errors import InputError\n"
       "from edgebench.cli.models_cmd import models_app\ntry:\n    models_app()\n"
       "except InputError as e:\n    sys.stderr.write('error: %s\\n' % e)\n    sys.exit(2)"]


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(CLI + list(args), capture_output=True, text=True, timeout=600)


def test_make_list_prune(tmp_path: Path) -> None:
    need(has_module("torch") and has_module("onnxruntime"), "torch and onnxruntime are not installed")
    need(has_module("torch_pruning"), "torch-pruning is not installed")
    models = str(tmp_path / "cache")
    first = _cli("make", "resnet18", "--format", "onnx", "--input", "64", "--num-classes", "10",
                 "--models", models, "--json")
    assert first.returncode == 0, first.stderr
    made = json.loads(first.stdout)
    assert made["cached"] is False and made["path"].endswith("onnx-resnet18-3x64x64-c10-s0/model.onnx")
    again = json.loads(_cli("make", "resnet18", "--format", "onnx", "--input", "64", "--num-classes", "10",
                            "--models", models, "--json").stdout)
    assert again["cached"] is True and again["made_at"] == made["made_at"]

    pruned = _cli("prune", "resnet18", "--target", "0.3", "--importance", "magnitude", "--input", "64",
                  "--num-classes", "10", "--models", models, "--json")
    assert pruned.returncode == 0, pruned.stderr
    p = json.loads(pruned.stdout)["pruning"]
    assert p["achieved_flops_share"] >= 0.3 and p["target_flops_share"] == 0.3

    listed = json.loads(_cli("list", "--models", models, "--json").stdout)
    rows = {r["key"]: r for r in listed["artifacts"]}
    assert set(rows) == {"onnx-resnet18-3x64x64-c10-s0", "onnx-resnet18+pruned-magnitude-30-3x64x64-c10-s0"}
    plain, small = rows["onnx-resnet18-3x64x64-c10-s0"], rows["onnx-resnet18+pruned-magnitude-30-3x64x64-c10-s0"]
    assert small["size_bytes"] < plain["size_bytes"] and small["parameters"] < plain["parameters"]
    assert plain["input_shape"] == [3, 64, 64] and plain["output_shape"] == [10]


def test_bad_requests_name_the_problem(tmp_path: Path) -> None:
    bad = _cli("make", "resnet18", "--format", "torch", "--precision", "int8", "--models", str(tmp_path))
    assert bad.returncode == 2 and "torch runs resnet18 at fp32/fp16, not 'int8'" in bad.stderr
    bad = _cli("make", "resnet18", "--format", "onnx", "--precision", "int4", "--models", str(tmp_path))
    assert bad.returncode == 2 and "onnxruntime runs resnet18 at fp32/fp16/int8, not 'int4'" in bad.stderr
    bad = _cli("make", "mobilenet_v2", "--format", "edgetpu", "--models", str(tmp_path))
    assert bad.returncode == 2 and "INT8 models only" in bad.stderr
    # No edgetpu_compiler here (x86-64 apt only): said before anything is converted, nothing left in the cache.
    bad = _cli("make", "mobilenet_v2", "--format", "edgetpu", "--precision", "int8", "--models", str(tmp_path))
    assert bad.returncode == 2 and "edgetpu_compiler is not installed here" in bad.stderr, bad.stderr
    bad = _cli("prune", "resnet18", "--target", "0.333", "--models", str(tmp_path))
    assert bad.returncode == 2 and "whole-percent" in bad.stderr
    assert not list(tmp_path.iterdir())  # nothing half-made
