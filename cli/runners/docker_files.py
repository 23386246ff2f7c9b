"""Files in and out of a run's container: bound folders handed to the run's user, the copy transfer's
archives (capped, no links followed), and the removal of a run's container and volume."""

import io
import os
import tarfile
import time
from pathlib import Path
from typing import Any, Optional

from .base import Fate

IN_SPEC, IN_MODELS, OUT = "/edgebench/in/spec.json", "/edgebench/in/models", "/edgebench/out"
VOLUME_AT = "/edgebench"
ENGINES_AT = "/edgebench/engines"
LABEL = "org.edgebench.run"
TOKEN = "org.edgebench.token"  # unique per container: finds one whose create was interrupted
CAMPAIGN_DIR = "org.edgebench.campaign_dir"  # the campaign folder that started it (orphans are found by it)
ATTEMPT = "org.edgebench.attempt"


def engines_dir(models_dir: Path, device: str) -> Path:
    """Where TensorRT engines built on `device` are kept between runs: beside the models cache."""
    return models_dir.resolve().parent / "engines" / device


def _give(attempt: Path, spec_path: Path, user: Optional[str]) -> None:
    """Hand the (new, empty) attempt folder to the container's user, as root, so a non-root run can write
    it; the spec is read through a read-only bind. The run folder itself stays the host's."""
    os.chmod(spec_path, 0o644)
    if os.geteuid() != 0 or not user or not user.split(":")[0].isdigit():
        return
    uid = int(user.split(":")[0])
    gid = int(user.split(":")[1]) if ":" in user and user.split(":")[1].isdigit() else uid
    os.chown(attempt, uid, gid, follow_symlinks=False)


def _share(models_dir: Path, artifact: Optional[str]) -> None:
    """Let a non-root run read its model: the models folder and the artefact's folder need o+rx, its
    files o+r (pytest and mkdtemp make 0700 folders). Model files are public data."""
    if not artifact or os.path.isabs(artifact):
        return
    folder = models_dir / Path(artifact).parts[0]
    paths = [models_dir, folder] + (list(folder.iterdir()) if folder.is_dir() else [])
    for p in paths:
        try:
            mode = os.stat(p).st_mode
            want = mode | (0o005 if p.is_dir() else 0o004)
            if want != mode:
                os.chmod(p, want)
        except OSError:
            pass


def _inputs_tar(spec_path: Path, models_dir: Path, artifact: Optional[str]) -> bytes:
    """in/spec.json, in/models/<the run's artefact folder>, and an empty out/ any user can write."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for name in ("in", "in/models", "out"):
            ti = tarfile.TarInfo(name)
            ti.type, ti.mode = tarfile.DIRTYPE, 0o777 if name == "out" else 0o755
            tf.addfile(ti)
        tf.add(str(spec_path), arcname="in/spec.json", filter=_readable)
        if artifact and not os.path.isabs(artifact):
            folder = models_dir / Path(artifact).parts[0]
            if folder.exists():
                tf.add(str(folder), arcname="in/models/%s" % Path(artifact).parts[0], filter=_readable)
    return buf.getvalue()


def _readable(ti: tarfile.TarInfo) -> tarfile.TarInfo:
    ti.uid = ti.gid = 0
    ti.uname = ti.gname = ""
    ti.mode = 0o755 if ti.isdir() else 0o644
    return ti


def _capped(stream: Any, cap: int) -> bytes:
    """The archive stream, refused past `cap` bytes (a container can fill its volume; we read no further)."""
    chunks, n = [], 0
    for chunk in stream:
        n += len(chunk)
        if n > cap:
            raise OSError("the run's output archive is over %d bytes; refused" % cap)
        chunks.append(chunk)
    return b"".join(chunks)


def _extract_out(data: bytes, out_dir: Path) -> None:
    """The archive of /edgebench/out: its top-level regular files only, into the (fresh) attempt folder.
    No links, devices or folders are made, no absolute or `..` names, each file created new (O_EXCL, no
    follow); the host then accepts from that folder as from a bind."""
    with tarfile.open(fileobj=io.BytesIO(data)) as tf:
        for m in tf.getmembers():
            parts = Path(m.name).parts
            if not m.isfile() or len(parts) != 2 or ".." in parts or os.path.isabs(m.name) or parts[1][0] == ".":
                continue
            src = tf.extractfile(m)
            if src is None:
                continue
            fd = os.open(str(out_dir / parts[1]), os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
            with os.fdopen(fd, "wb") as f:
                f.write(src.read())


def _remove(client: Any, container: Any, volume: Optional[str], fate: Fate) -> None:
    """Always remove the run's container (and volume); a failure is recorded, never hidden."""
    if container is not None:
        for attempt in range(3):
            try:
                container.remove(force=True)
                break
            except Exception as e:
                if "No such container" in str(e) or "404" in str(e):
                    break
                if attempt == 2:
                    fate.extra["remove_error"] = str(e)
                time.sleep(0.5)
    if volume:
        try:
            client.volumes.get(volume).remove(force=True)
        except Exception as e:
            fate.extra["volume_remove_error"] = str(e)
