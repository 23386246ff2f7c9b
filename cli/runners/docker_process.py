"""The process record of a docker run: every run starts as a fresh process inside its container, so a spec
that asked for `process: forked` records {mode: fresh, requested: forked, fallback: why}, as the local
runner's fallbacks do (runners/local.py). The harness inside writes it into result.process (from
EDGEBENCH_PROCESS); the host's copy stands in when the run wrote no result."""

import json
from pathlib import Path
from typing import Any

from edgebench.suite.fsutil import write_json
from edgebench.suite.spec import RunResult, RunSpec

from . import forked
from .base import Fate


def process_record(spec: RunSpec, container_mode: str) -> dict[str, Any]:
    """How a docker run's process starts: always fresh here; a spec that asked for forked says why not."""
    if spec.process != "forked":
        return {"mode": "fresh"}
    why = forked.refusal(spec) or (
        "the docker runner (container: %s) starts each run as a fresh process: forked runs inside a container "
        "are not supported yet" % container_mode)
    return {"mode": "fresh", "requested": "forked", "fallback": why}


def process_env(spec: RunSpec, container_mode: str) -> dict[str, str]:
    """EDGEBENCH_PROCESS for the run inside (the harness records it in result.process), when forked was asked."""
    if spec.process != "forked":
        return {}
    return {"EDGEBENCH_PROCESS": json.dumps(process_record(spec, container_mode), sort_keys=True)}


def with_process(result: RunResult, run_dir: Path, fate: Fate) -> RunResult:
    """The host's process record when the run wrote none (killed before its result, or never started)."""
    if not result.process and fate.extra.get("process"):
        result.process = dict(fate.extra["process"])
        write_json(str(run_dir / "result.json"), result.to_dict())
    return result
