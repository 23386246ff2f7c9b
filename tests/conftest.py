"""Shared test helpers.

`need(ok, why)`: a test whose real dependency (a runtime, root for cgroups, dockerd) is missing
skips on a developer's machine but FAILS under CI=true, so CI can never pass by skipping.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def need(ok: bool, why: str) -> None:
    if ok:
        return
    if IN_CI:
        pytest.fail("required in CI but missing: %s" % why)
    pytest.skip(why)


def has_module(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


def is_root() -> bool:
    return os.geteuid() == 0


def docker_ok() -> bool:
    if shutil.which("docker") is None:
        return False
    return subprocess.run(["docker", "info"], capture_output=True).returncode == 0


@pytest.fixture
def edgebench_cmd() -> list[str]:
    return [sys.executable, "-m", "edgebench.cli.app"]


# torchvision imported after TensorFlow in one process segfaults (triton's libtriton.so): import it first,
# whatever order pytest runs the modules in.
if has_module("torchvision"):
    import torchvision  # noqa: F401
