"""Atomic file writes (a reader never sees half a result) and file hashes."""

import hashlib
import json
import os
import tempfile
from typing import IO, Any, Callable, Optional


def read_text(path: str) -> Optional[str]:
    """A small sysfs/procfs file, stripped (device-tree strings end in NUL); None when unreadable."""
    try:
        with open(path) as f:
            return f.read().strip().strip("\x00")
    except OSError:
        return None


def _atomic(path: str, write: Callable[[IO[Any]], object], mode: str = "w") -> None:
    """Write to a temp file in the same folder, fsync, then rename over `path`."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=folder)
    try:
        with os.fdopen(fd, mode) as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_json(path: str, data: Any) -> None:
    def write(f: IO[Any]) -> None:
        json.dump(data, f, indent=2, sort_keys=True, default=str)
        f.write("\n")

    _atomic(path, write)


def write_jsonl(path: str, rows: Any) -> None:
    """One JSON object per line, atomically."""
    def write(f: IO[Any]) -> None:
        for row in rows:
            f.write(json.dumps(row, sort_keys=True, default=str))
            f.write("\n")

    _atomic(path, write)


def write_bytes(path: str, data: bytes) -> None:
    _atomic(path, lambda f: f.write(data), "wb")


def sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
