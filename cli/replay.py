"""`edgebench replay RUN_DIR`: run a saved run again, with its runner and exact spec, into a new folder.

Only a folder the host vouches for is replayed: spec.json, command.json and command.sh must have the
sha256 the host recorded in host.json when it wrote them, spec.json must be the spec of this run id,
and the saved command must be the one the runner makes from that spec. Anything else is refused (exit 2):
replay runs as the caller (root, often) and must never run what a run's child wrote.
"""

import json
from pathlib import Path
from typing import Any, Optional

from edgebench.suite.spec import RunResult, RunSpec, SchemaError
from rich.console import Console

from .errors import InputError
from .runners import make_runner, record
from .runners.docker import IN_MODELS, IN_SPEC, OUT

REPLAYS = "_replays"


def verified_spec(run_dir: Path) -> tuple[RunSpec, str]:
    """The run's spec and runner name, once the folder matches the host's record; else InputError."""
    spec_path = run_dir / "spec.json"
    bad = record.mismatches(run_dir)
    if bad:
        raise InputError(str(run_dir), "host.json", "refusing to replay: %s" % "; ".join(bad))
    try:
        spec = RunSpec.from_dict(json.loads(spec_path.read_text()), str(spec_path))
        command = json.loads((run_dir / "command.json").read_text())
    except (OSError, ValueError, SchemaError) as e:
        raise InputError(str(spec_path), "", "cannot read the run's spec: %s" % e) from None
    host = record.read(run_dir)
    runner = str(command.get("runner", ""))
    if spec.run_id != host.get("run_id") or runner != host.get("runner"):
        raise InputError(str(run_dir), "host.json", "refusing to replay: spec.json is run %s by %s, the host "
                         "recorded run %s by %s" % (spec.run_id, runner, host.get("run_id"), host.get("runner")))
    why = command_problem(command, run_dir)
    if why:
        raise InputError(str(run_dir / "command.json"), "argv", "refusing to replay: %s" % why)
    return spec, runner


def command_problem(command: dict[str, Any], run_dir: Path) -> str:
    """Why the saved command is not what the runner makes from a spec ('' when it is)."""
    argv = [str(a) for a in command.get("argv") or []]
    if command.get("runner") == "local":
        if len(argv) != 8 or argv[1:4] != ["-m", "edgebench.suite", "run"] or argv[6] != "--models" \
                or Path(argv[4]).name != "spec.json":
            return "the local command is not `python -m edgebench.suite run .../spec.json OUT --models DIR`: %s" % argv
        return ""
    if command.get("runner") == "docker":
        tail = ["python", "-m", "edgebench.suite", "run", IN_SPEC, OUT, "--models", IN_MODELS]
        create = command.get("create") or {}
        if argv[:2] != ["docker", "run"] or argv[-8:] != tail or list(create.get("command") or []) != tail:
            return "the docker command does not run the suite on the run's spec: %s" % argv[-8:]
        return ""
    return "unknown runner %r" % command.get("runner")


def new_folder(run_dir: Path) -> Path:
    """RUN_DIR's parent/_replays/NAME-replay-N, the first N free, made atomically (two replays never share)."""
    parent = run_dir.parent / REPLAYS
    parent.mkdir(parents=True, exist_ok=True)
    n = 1
    while True:
        dest = parent / ("%s-replay-%d" % (run_dir.name, n))
        try:
            dest.mkdir()
            return dest
        except FileExistsError:
            n += 1


def replay(run_dir: Path, models: Path, allow_no_swap: bool,
           console: Optional[Console] = None) -> tuple[Path, RunSpec, RunResult]:
    spec, runner_name = verified_spec(run_dir)
    runner = make_runner(runner_name, allow_no_swap, console)
    dest = new_folder(run_dir)
    return dest, spec, runner.execute(spec, dest, models)
