"""The child's output folder, taken in by the host: nothing it made is followed, trusted or unbounded.

A run (container or local process) writes only into its own attempt folder, RUN_DIR/attempts/ID. When it
has ended, the host reads each regular file there without following links (O_NOFOLLOW, fstat), caps its
size, checks result.json against the schema (and that it is this spec's run), and writes accepted copies
into the run folder itself with an atomic rename. The run folder (spec.json, command files, host.json, the
verdict) is never writable by the container, and the attempt folder is removed afterwards, so a late write
by an orphan lands nowhere that counts.
"""

import errno
import json
import os
import shutil
import stat
import uuid
from pathlib import Path
from typing import Optional

from edgebench.suite.fsutil import write_bytes
from edgebench.suite.spec import RunResult, SchemaError

MIB = 1 << 20
ATTEMPTS = "attempts"
# What the host writes itself: a child's file of that name is never taken.
HOST_ONLY = frozenset({"spec.json", "command.json", "command.sh", "host.json", "log", ATTEMPTS})
# Per-file caps: generous for a long run's samples (one line per iteration), bounded against a flood.
CAPS = {"result.json": 64 * MIB, "env.json": 16 * MIB, "samples.jsonl": 512 * MIB, "monitor.jsonl": 512 * MIB}
OTHER_CAP = 64 * MIB
TOTAL_CAP = 1024 * MIB
MAX_FILES = 64  # the suite writes five; a flood of small files is not copied into the run folder
LOG_CAP = 64 * MIB  # container logs kept (the tail beyond this is dropped, and said so)


def new_attempt(run_dir: Path) -> Path:
    """A fresh, uniquely named attempt folder (a later attempt never reuses an orphan's path)."""
    parent = run_dir / ATTEMPTS
    parent.mkdir(exist_ok=True)
    n = sum(1 for _ in parent.iterdir()) + 1
    d = parent / ("%d-%s" % (n, uuid.uuid4().hex[:8]))
    d.mkdir()
    return d


def read_nofollow(dir_fd: int, name: str, cap: int) -> tuple[Optional[bytes], str]:
    """A regular file in the folder open as dir_fd, read without following a link; (None, why) if refused."""
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=dir_fd)
    except OSError as e:
        return None, "%s: not opened (%s)" % (name, "a symlink" if e.errno == errno.ELOOP else e.strerror)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return None, "%s: not a regular file" % name
        if st.st_size > cap:
            return None, "%s: %d bytes, over the %d byte cap" % (name, st.st_size, cap)
        chunks, left = [], cap + 1
        while left > 0:
            b = os.read(fd, min(left, MIB))
            if not b:
                break
            chunks.append(b)
            left -= len(b)
        data = b"".join(chunks)
        if len(data) > cap:
            return None, "%s: grew past the %d byte cap while read" % (name, cap)
        return data, ""
    finally:
        os.close(fd)


def check_result(data: bytes, run_id: str) -> str:
    """Why a child's result.json cannot be accepted ('' when it can)."""
    try:
        result = RunResult.from_dict(json.loads(data.decode("utf-8")), "result.json")
    except (ValueError, SchemaError, TypeError) as e:
        return "result.json does not match the schema: %s" % e
    if result.run_id != run_id:
        return "result.json is for run %r, not %r" % (result.run_id, run_id)
    return ""


def accept(attempt: Path, run_dir: Path, run_id: str) -> list[str]:
    """Copy the attempt's regular top-level files into run_dir (checked, capped); the problems found."""
    problems: list[str] = []
    try:
        dfd = os.open(str(attempt), os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as e:
        return ["the run's output folder is unreadable: %s" % e.strerror]
    total = taken = 0
    try:
        for name in sorted(os.listdir(dfd)):
            if taken >= MAX_FILES:
                problems.append("more than %d files; the rest not taken" % MAX_FILES)
                break
            if name in HOST_ONLY or name.startswith("."):
                if name not in (".", ".."):
                    problems.append("%s: a name the host writes itself; ignored" % name)
                continue
            st = os.stat(name, dir_fd=dfd, follow_symlinks=False)
            if not stat.S_ISREG(st.st_mode):
                kind = "symlink" if stat.S_ISLNK(st.st_mode) else "folder" if stat.S_ISDIR(st.st_mode) else "special"
                problems.append("%s: a %s; not taken" % (name, kind))
                continue
            data, why = read_nofollow(dfd, name, min(CAPS.get(name, OTHER_CAP), TOTAL_CAP - total))
            if data is None:
                problems.append(why)
                continue
            if name == "result.json":
                why = check_result(data, run_id)
                if why:
                    problems.append(why)
                    continue
            total += len(data)
            taken += 1
            write_bytes(str(run_dir / name), data)
    finally:
        os.close(dfd)
    return problems


def append_log(run_dir: Path, data: bytes) -> None:
    """Append to RUN_DIR/log as the host: never through a link (O_NOFOLLOW), capped."""
    if len(data) > LOG_CAP:
        data = data[:LOG_CAP] + b"\nedgebench: log cut at %d bytes\n" % LOG_CAP
    fd = os.open(str(run_dir / "log"), os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError("%s/log is not a regular file" % run_dir)
        os.write(fd, data)
    finally:
        os.close(fd)


def open_log(run_dir: Path) -> int:
    """RUN_DIR/log for a local child's output: created by the host, never through a link."""
    return os.open(str(run_dir / "log"), os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)


def discard(attempt: Path) -> None:
    """Remove the attempt folder; rmtree unlinks links, never follows them."""
    shutil.rmtree(str(attempt), ignore_errors=True)
    parent = attempt.parent
    try:
        parent.rmdir()  # only when no other attempt is left
    except OSError:
        pass
