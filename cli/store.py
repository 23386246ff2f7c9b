"""The results store: results/CAMPAIGN/RUN_ID/{spec.json, result.json, samples.jsonl, monitor.jsonl,
env.json, log, command.json, command.sh}. Readers use saved files only."""

import json
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from edgebench.suite.spec import RunResult, SchemaError

from . import paths
from .errors import InputError

CAMPAIGN_FILE = "campaign.json"
INCOMPLETE = "_incomplete"


@dataclass
class StoredRun:
    path: Path
    result: Optional[RunResult]
    problem: str = ""  # why the folder is not readable as a result


def read_run(run_dir: Path) -> StoredRun:
    path = run_dir / "result.json"
    if not path.exists():
        return StoredRun(run_dir, None, "no result.json (the run did not finish)")
    try:
        data = json.loads(path.read_text())
        return StoredRun(run_dir, RunResult.from_dict(data, str(path)))
    except (ValueError, SchemaError, TypeError) as e:
        return StoredRun(run_dir, None, "damaged result.json: %s" % e)


def is_complete(run_dir: Path) -> bool:
    """A run is done when its result.json is readable and carries the host's verdict."""
    stored = read_run(run_dir)
    return stored.result is not None and bool(stored.result.host)


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
