"""images/images.lock: which exact images a checkout was measured with, and the checks against it.

`edgebench images push` writes one entry per image it pushed: device, framework, arch, repository, tag,
the registry it went to, `digest` (the registry's manifest digest, as RepoDigests reports it) and
`image_id` (the config digest, the engine's image ID), and when. `bench` pulls REPO@DIGEST, never the tag.

Which digest is checked when:
- after a pull: the manifest digest (RepoDigests holds REMOTE@DIGEST) and the image ID;
- after `images load`, or for an image already in the engine: the image ID, and the digest too where the
  engine's RepoDigests hold it (a loaded or locally built image has none).
"""

import datetime
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Optional

from . import devices, images
from .errors import InputError

LOCK_NAME = "images.lock"
LOCK_ENV = "EDGEBENCH_IMAGES_LOCK"  # bench --lock sets it, so the runner checks against the same file


def lock_path() -> Path:
    return Path(os.environ.get(LOCK_ENV) or devices.IMAGES_DIR / LOCK_NAME)


@dataclass(frozen=True)
class Entry:
    device: str
    framework: str
    arch: str
    repository: str
    tag: str
    registry: str
    digest: str  # sha256:... of the manifest (or manifest list) in the registry
    image_id: str  # sha256:... of the image config: the engine's image ID
    pushed_at: str
    # The tag in the registry when it is not `tag`: devices with several arches push TAG-ARCH per arch, and
    # a manifest list TAG over them (image_transfer.manifest_list), whose digest is `list_digest`.
    remote_tag: str = ""
    list_digest: str = ""

    @property
    def remote(self) -> str:
        return "%s/%s" % (self.registry.rstrip("/"), self.repository)

    @property
    def registry_tag(self) -> str:
        return self.remote_tag or self.tag


_FIELDS = tuple(f for f in Entry.__dataclass_fields__ if f not in ("remote_tag", "list_digest"))
_OPTIONAL = ("remote_tag", "list_digest")


def read(path: Optional[Path] = None) -> list[Entry]:
    """The lock's entries; none when the file does not exist. InputError names a bad entry."""
    path = path or lock_path()
    if not path.exists():
        return []
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise InputError(str(path), "", "cannot read the images lock as JSON: %s" % e) from None
    rows = data.get("images") if isinstance(data, dict) else None
    if not isinstance(rows, list):
        raise InputError(str(path), "images", "expected {\"images\": [entries]}")
    out = []
    for i, row in enumerate(rows):
        missing = [f for f in _FIELDS if not isinstance(row, dict) or not isinstance(row.get(f), str)]
        if missing:
            raise InputError(str(path), "images[%d].%s" % (i, missing[0]), "expected a string (every entry has %s)"
                             % ", ".join(_FIELDS))
        if not row["digest"].startswith("sha256:") or not row["image_id"].startswith("sha256:"):
            raise InputError(str(path), "images[%d].digest" % i, "expected sha256:... digests")
        bad = [f for f in _OPTIONAL if not isinstance(row.get(f, ""), str)]
        if bad:
            raise InputError(str(path), "images[%d].%s" % (i, bad[0]), "expected a string")
        out.append(Entry(**{f: row[f] for f in _FIELDS}, **{f: row.get(f, "") for f in _OPTIONAL}))
    return out


def write(entries: list[Entry], path: Optional[Path] = None) -> Path:
    """Replace entries of the same repository, tag and arch; keep the rest, sorted (a stable file to commit)."""
    path = path or lock_path()
    keep = {(e.repository, e.tag, e.arch): e for e in read(path)}
    for e in entries:
        keep[(e.repository, e.tag, e.arch)] = e
    rows = [asdict(e) for _, e in sorted(keep.items())]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps({"images": rows}, indent=1, sort_keys=True) + "\n")
    os.replace(tmp, path)
    return path


def find(repository: str, tag: str, entries: Optional[list[Entry]] = None,
         arch: Optional[str] = None) -> Optional[Entry]:
    """The entry of repository:tag; of `arch` where several arches are locked (default: this host's)."""
    found = [e for e in (read() if entries is None else entries) if e.repository == repository and e.tag == tag]
    if len(found) > 1:
        found = [e for e in found if e.arch == (arch or images.host_arch())] or found
    return found[0] if found else None


def now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def check(img: Any, entry: Optional[Entry], pulled: bool = False) -> tuple[bool, str]:
    """Does this engine image match the lock entry? (ok, what was compared). Pulled: digest and ID."""
    if entry is None:
        return False, "not in the lock"
    if img.id != entry.image_id:
        return False, "image ID %s, the lock pins %s" % (img.id, entry.image_id)
    # The registry may be another than the lock's (--registry): the digest is what must be there.
    has = any(d.endswith("@" + entry.digest) for d in img.attrs.get("RepoDigests") or [])
    if pulled and not has:
        return False, "RepoDigests %s lack %s" % (img.attrs.get("RepoDigests"), entry.digest)
    if has:
        return True, "matched the lock (digest %s and image ID)" % entry.digest
    return True, "matched the lock (image ID)"


def status(img: Any, ref: str) -> str:
    """For every result: whether the image that ran matches the lock ("matched ...", "differs: ...", or
    "not in the lock"); a bad lock file is said, not raised (the run itself is fine)."""
    repository, _, tag = ref.rpartition(":")
    try:
        entry = find(repository, tag, arch=img.attrs.get("Architecture"))
    except InputError as e:
        return "lock unreadable: %s" % e
    ok, what = check(img, entry)
    if entry is None:
        return what
    return what if ok else "differs: " + what
