"""The results store: results/CAMPAIGN/RUN_ID/{spec.json, result.json, samples.jsonl, monitor.jsonl,
env.json, log, command.json, command.sh}. Readers use saved files only, and this module is the one
reader of a run folder: campaign resume, analysis and report all go through it.

Only host-checked runs are data: a result.json without the host's verdict (the child wrote it, then
the host was killed, interrupted or out of disk before it checked the run) is incomplete, never ok
or failed."""

import json
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from edgebench.suite.spec import RunResult, SchemaError

from . import paths
from .errors import InputError

CAMPAIGN_FILE = "campaign.json"
INCOMPLETE = "_incomplete"


NO_VERDICT = "result.json has no host verdict (the host never checked this run)"


@dataclass
class StoredRun:
    path: Path
    result: Optional[RunResult]  # readable result.json, host-checked or not
    problem: str = ""  # why the folder is not data: damaged, unfinished or not host-checked

    @property
    def checked(self) -> bool:
        """The run is data: readable and carrying the host's verdict."""
        return self.result is not None and bool(self.result.host)

    @property
    def incomplete(self) -> bool:
        """Not finished under the host (no result.json, or only the child's); damaged folders are not."""
        return not self.checked and (self.result is not None or not (self.path / "result.json").exists())


def read_run(run_dir: Path) -> StoredRun:
    path = run_dir / "result.json"
    if not path.exists():
        return StoredRun(run_dir, None, "no result.json (the run did not finish)")
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
        result = RunResult.from_dict(data, str(path))
    except (OSError, ValueError, SchemaError, TypeError) as e:  # UnicodeDecodeError is a ValueError
        return StoredRun(run_dir, None, "damaged result.json: %s" % e)
    return StoredRun(run_dir, result, "" if result.host else NO_VERDICT)


def is_complete(run_dir: Path) -> bool:
    """A run is done when its result.json is readable and carries the host's verdict."""
    return read_run(run_dir).checked


def read_jsonl(path: Path) -> tuple[list[dict[str, Any]], str]:
    """The objects of a JSON-lines stream, or none and the problem (file, line, byte offset): a stream
    damaged anywhere (not JSON, not objects, not UTF-8) is left out whole, never half-read."""
    rows: list[dict[str, Any]] = []
    try:
        data = path.read_bytes()
    except OSError as e:
        return [], "%s is unreadable (%s)" % (path.name, e)
    offset = 0
    for n, raw in enumerate(data.splitlines(keepends=True), 1):
        start, offset = offset, offset + len(raw)
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            return [], "%s line %d is not UTF-8 (byte offset %d: %r)" % (
                path.name, n, start + e.start, raw[e.start:e.start + 1])
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError as e:
            return [], "%s line %d is not JSON (%s)" % (path.name, n, e)
        if not isinstance(obj, dict):
            return [], "%s line %d is not a JSON object" % (path.name, n)
        rows.append(obj)
    return rows, ""


def read_env(run_dir: Path) -> dict[str, Any]:
    """env.json beside the result (older results kept the environment only there); {} when unreadable."""
    try:
        env = json.loads((run_dir / "env.json").read_bytes().decode("utf-8"))
    except (OSError, ValueError):
        return {}
    return env if isinstance(env, dict) else {}


def read_campaign_file(campaign_dir: Path) -> dict[str, Any]:
    """campaign.json, {} when absent or unreadable."""
    try:
        data = json.loads((campaign_dir / CAMPAIGN_FILE).read_bytes().decode("utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def set_aside(run_dir: Path) -> Path:
    """Move an unfinished run folder out of the way, so nothing in it is lost or overwritten."""
    dest = run_dir.parent / INCOMPLETE / ("%s-%d" % (run_dir.name, int(time.time() * 1000)))
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(run_dir), str(dest))
    return dest


def run_dirs(campaign_dir: Path) -> list[Path]:
    if not campaign_dir.is_dir():
        return []
    return sorted(p for p in campaign_dir.iterdir() if p.is_dir() and not p.name.startswith(("_", ".")))


def iter_runs(campaign_dir: Path) -> Iterator[StoredRun]:
    for d in run_dirs(campaign_dir):
        yield read_run(d)


def resolve_campaign(name_or_path: str, results_root: Path) -> Path:
    """A campaign given as a folder path (read where the user points), or as a name under the results root
    (a plain folder name whose folder, links followed, lies inside the root)."""
    p = Path(name_or_path)
    if (p / CAMPAIGN_FILE).exists() or (p.is_dir() and run_dirs(p)):
        return p
    if paths.name_problem(name_or_path):
        raise InputError(name_or_path, "", "no campaign folder here, and not a campaign name under %s: %s"
                         % (results_root, paths.NAME_RULE))
    return paths.campaign_dir(results_root, name_or_path, "CAMPAIGN")


@contextmanager
def staged(out: Path) -> Iterator[Path]:
    """A temporary folder beside `out` to write into; on success its files take their places in `out`
    (renames: no space needed), on any error it is removed. A full disk mid-way leaves `out` as it
    was, never half-written. Files of `out` the new set does not have are left alone."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / (".%s.partial-%d" % (out.name, os.getpid()))
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        tmp.mkdir()
        yield tmp
        if not out.exists():
            tmp.rename(out)
            return
        for entry in sorted(tmp.iterdir()):
            dest = out / entry.name
            if entry.is_dir() and dest.is_dir():
                shutil.rmtree(dest)
            os.replace(entry, dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
