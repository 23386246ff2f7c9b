"""The Python a local run's child starts with: the device profile's per-framework interpreter, else the host's.

A runtime that cannot share the host's environment (MXNet 1.9.1 needs numpy < 1.24) gets its own venv, named
in the device profile (`frameworks: mxnet: python: .venv-mxnet/bin/python`, relative to the repository root,
i.e. the folder holding images/), or by EDGEBENCH_PYTHON_<FRAMEWORK> (e.g. EDGEBENCH_PYTHON_MXNET).
"""

import os
from typing import Optional

from edgebench.suite.spec import RunSpec

from .. import devices


def _named(framework: str, device: str) -> tuple[Optional[str], str]:
    """(interpreter path, where it was named) for one framework, or (None, "") for the host's own."""
    env_key = "EDGEBENCH_PYTHON_" + framework.upper()
    if os.environ.get(env_key):
        return os.path.abspath(os.environ[env_key]), env_key
    try:
        fw = devices.load(device).frameworks.get(framework)
    except Exception:  # an unknown or broken profile is the plan's error to report, not the runner's
        return None, ""
    if fw is None or not fw.python:
        return None, ""
    # abspath, not resolve(): a venv's python is a symlink whose target has no venv around it.
    return os.path.abspath(devices.IMAGES_DIR.parent / fw.python), "device profile %s" % device


def interpreter(spec: RunSpec, default: str) -> tuple[str, str]:
    """(the python for this run, "" or why it cannot run): every stream's framework must agree on one."""
    chosen: dict[str, tuple[str, str]] = {}
    for st in spec.stream_specs():
        path, where = _named(st.framework, spec.device)
        if path is not None:
            chosen[st.framework] = (path, where)
    if not chosen:
        return default, ""
    paths = {p for p, _ in chosen.values()}
    plain = sorted({st.framework for st in spec.stream_specs()} - set(chosen))
    if len(paths) > 1 or plain:
        return default, "run %s mixes frameworks that need different interpreters (%s%s)" % (
            spec.run_id, "; ".join("%s: %s" % (f, p) for f, (p, _) in sorted(chosen.items())),
            "; %s: the host's" % ", ".join(plain) if plain else "")
    fw, (path, where) = sorted(chosen.items())[0]
    if not os.access(path, os.X_OK):
        hint = " (make it with `make mxnet-env`)" if fw == "mxnet" else ""
        return path, "framework %s runs with %s (named by %s), which is not an executable here%s" % (
            fw, path, where, hint)
    return path, ""
