"""One campaign per folder: an flock on CAMPAIGN/campaign.lock, with who holds it written inside.

The kernel releases an flock when its holder dies, however it dies; the file's text (pid, process
start time, host, command) is only there to say who holds it, or who held it and did not let go
cleanly (a kill -9: the file still names a pid, now gone). A clean release empties the file.
"""

import datetime
import errno
import fcntl
import json
import os
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Optional

import psutil

LOCK_FILE = "campaign.lock"


class CampaignLocked(Exception):
    """Another live process runs this campaign folder."""


def _holder() -> dict[str, Any]:
    me = psutil.Process()
    return {"pid": os.getpid(), "pid_start": me.create_time(), "host": socket.gethostname(),
            "since": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "command": " ".join(sys.argv)}


def _read(fd: int) -> dict[str, Any]:
    try:
        data = json.loads(os.pread(fd, 1 << 16, 0).decode("utf-8", "replace") or "{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def alive(holder: dict[str, Any]) -> bool:
    """The recorded process still runs: same pid and same start time (a reused pid is another process)."""
    try:
        p = psutil.Process(int(holder["pid"]))
        return abs(p.create_time() - float(holder.get("pid_start") or 0)) < 1.0
    except (KeyError, TypeError, ValueError, psutil.Error):
        return False


def describe(holder: dict[str, Any]) -> str:
    return "pid %s on %s since %s (%s)" % (holder.get("pid", "?"), holder.get("host", "?"),
                                          holder.get("since", "?"), holder.get("command") or "?")


@contextmanager
def hold(camp_dir: Path, say: Callable[[str], None]) -> Iterator[dict[str, Any]]:
    """Hold the campaign's lock for the block, or raise CampaignLocked naming the holder. A lock left by
    a dead process is taken over, and `say` is told so."""
    path = camp_dir / LOCK_FILE
    fd = os.open(str(path), os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            if e.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
                raise
            raise CampaignLocked("%s: campaign folder in use by %s; wait for it to end, or run into another "
                                 "folder (--campaign NAME)" % (camp_dir, describe(_read(fd)))) from None
        prev = _read(fd)
        if prev.get("pid"):
            gone = "is gone" if not alive(prev) else "did not release it (its lock was free)"
            say("%s: taking over the campaign lock: previous holder pid %s %s (%s)"
                % (camp_dir, prev.get("pid"), gone, describe(prev)))
        me = _holder()
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(me, sort_keys=True) + "\n").encode(), 0)
        os.fsync(fd)
        yield me
        try:
            os.ftruncate(fd, 0)  # released cleanly: nobody to take over from next time
        except OSError:
            pass
    finally:
        os.close(fd)  # releases the flock


def holder_of(camp_dir: Path) -> Optional[dict[str, Any]]:
    """Who the lock file names (a live or a dead holder), None when it names nobody."""
    try:
        fd = os.open(str(camp_dir / LOCK_FILE), os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return None
    try:
        got = _read(fd)
    finally:
        os.close(fd)
    return got or None
