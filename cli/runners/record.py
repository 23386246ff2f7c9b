"""host.json: what the host alone writes about a run folder, and checks before it trusts the folder again.

It holds the sha256 of spec.json and of the command files the host wrote (replay refuses a folder whose
files do not match), and one entry per attempt, written BEFORE the attempt starts: the orchestrator's pid
and start time, the attempt folder, cgroup dirs, the container's token label; then the child's pid and
start time once it runs, and `ended` when the host is done with it. A campaign that starts after a dead
orchestrator reads these entries to end what was left (runners/reap.py).
"""

import json
import os
import time
from pathlib import Path
from typing import Any, Optional

import psutil
from edgebench.suite.fsutil import sha256_file, write_json

HOST_FILE = "host.json"
SIGNED = ("spec.json", "command.json", "command.sh")


def process_start(pid: int) -> Optional[float]:
    """A process's start time (psutil create_time), so a reused pid is never mistaken for it."""
    try:
        return psutil.Process(pid).create_time()
    except (psutil.Error, ValueError):
        return None


def alive(pid: Optional[int], started: Optional[float]) -> bool:
    """True when `pid` is still the very process that started at `started`."""
    if not pid or started is None:
        return False
    now = process_start(pid)
    return now is not None and abs(now - started) < 0.05


def me() -> dict[str, Any]:
    pid = os.getpid()
    return {"pid": pid, "start": process_start(pid)}


def read(run_dir: Path) -> dict[str, Any]:
    path = run_dir / HOST_FILE
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write(run_dir: Path, data: dict[str, Any]) -> None:
    write_json(str(run_dir / HOST_FILE), data)


def sign(run_dir: Path, runner: str, run_id: str) -> None:
    """Record the hashes of the files the host just wrote (keeps earlier attempts)."""
    data = read(run_dir)
    data.update({"runner": runner, "run_id": run_id, "sha256": {
        n: sha256_file(str(run_dir / n)) for n in SIGNED if (run_dir / n).is_file()}})
    data.setdefault("attempts", [])
    _write(run_dir, data)


def add_attempt(run_dir: Path, entry: dict[str, Any]) -> None:
    data = read(run_dir)
    entry = dict(entry, orchestrator=me(), started=time.time(), ended=False)
    data.setdefault("attempts", []).append(entry)
    _write(run_dir, data)


def update_attempt(run_dir: Path, attempt_id: str, **fields: Any) -> None:
    data = read(run_dir)
    for a in data.get("attempts", []):
        if a.get("id") == attempt_id:
            a.update(fields)
    _write(run_dir, data)


def mismatches(run_dir: Path) -> list[str]:
    """Files of the run folder that differ from what the host recorded (or why nothing can be checked)."""
    data = read(run_dir)
    sums = data.get("sha256")
    if not isinstance(sums, dict) or "spec.json" not in sums:
        return ["%s has no host record of its files (host.json): it was not made by this version, or was "
                "altered" % run_dir]
    bad = []
    for name in SIGNED:
        path = run_dir / name
        want = sums.get(name)
        got = sha256_file(str(path)) if path.is_file() and not path.is_symlink() else None
        if want != got:
            bad.append("%s: sha256 %s, the host recorded %s" % (name, got, want))
    return bad
