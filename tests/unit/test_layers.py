"""The suite's layers (nets <- backends <- artefacts | workloads, suite never -> cli) and the cli's rooms,
as `make lint` enforces them with
import-linter: the real contract file passes on the real tree, and a copy of the tree with one violating
import (function-level, as most of the suite's runtime imports are) fails it."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import has_module, need

ROOT = Path(__file__).resolve().parents[2]
LINT = Path(sys.executable).parent / "lint-imports"


def _tree(tmp: Path) -> Path:
    """A copy of edgebench (suite and cli) importable from `tmp`, with the repository's contract file. As in
    the editable install, edgebench itself is a namespace package (grimp takes its portions as roots)."""
    pkg = tmp / "edgebench"
    pkg.mkdir()
    for part in ("suite", "cli"):
        shutil.copytree(ROOT / part, pkg / part, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / ".importlinter", tmp / ".importlinter")
    return tmp


def _lint(cwd: Path) -> subprocess.CompletedProcess[str]:
    # PYTHONPATH first, so the copy shadows the editable install of the worktree.
    return subprocess.run([str(LINT), "--no-cache"], cwd=str(cwd), capture_output=True, text=True,
                          env={"PYTHONPATH": str(cwd), "PATH": "/usr/bin:/bin", "COLUMNS": "400"}, timeout=120)


def _add_import(path: Path, line: str) -> None:
    path.write_text(path.read_text() + "\n\ndef _violation() -> None:\n    %s\n" % line)


def test_the_tree_keeps_its_layers(tmp_path: Path) -> None:
    need(LINT.is_file(), "import-linter is not installed in this venv (pip install -e .[dev])")
    out = _lint(_tree(tmp_path))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "6 kept, 0 broken" in out.stdout


@pytest.mark.parametrize("path,line,contract", [
    ("suite/nets/zoo.py", "from ..backends import torch_backend  # noqa", "suite layers"),
    ("suite/backends/onnxruntime_backend.py", "from ..artefacts import onnx_precision  # noqa", "suite layers"),
    ("suite/harness.py", "from edgebench.cli import plan  # noqa", "never imports the host CLI"),
    ("suite/backends/base.py", "from ..workloads import single  # noqa", "suite layers"),
    ("cli/analysis/tables.py", "from ..runners import local  # noqa", "analysis and report"),
])
def test_a_forbidden_import_fails_lint(tmp_path: Path, path: str, line: str, contract: str) -> None:
    need(LINT.is_file(), "import-linter is not installed in this venv (pip install -e .[dev])")
    tree = _tree(tmp_path)
    _add_import(tree / "edgebench" / path, line)
    out = _lint(tree)
    assert out.returncode != 0, out.stdout
    broken = [ln for ln in out.stdout.splitlines() if ln.rstrip().endswith("BROKEN")]
    assert len(broken) == 1 and contract in broken[0], out.stdout


def test_the_suite_has_no_import_circle() -> None:
    need(has_module("grimp"), "grimp (import-linter's graph) is not installed in this venv")
    import grimp

    g = grimp.build_graph("edgebench.suite", cache_dir=None)
    circles = sorted((a, b) for a in g.modules for b in g.find_modules_directly_imported_by(a)
                     if g.chain_exists(importer=b, imported=a))
    assert circles == []
