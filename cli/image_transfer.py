"""Images in and out of the engine: push (writing the lock), pull by digest (checked), save and load.

Multi-arch without buildx: the docker CLI has `docker manifest create/push`. A device with several arches
(an accelerator's `arches`) is pushed as one tag per arch (TAG-ARCH, each locked with its own digest and
image ID); once the lock has every arch, `manifest_list` joins them under TAG and records the list digest.
bench still pulls the per-arch digest of its host's arch, so its check stays exact.
"""

import dataclasses
import json
import subprocess
from pathlib import Path
from typing import Any, Optional

from . import devices, image_lock, images
from .image_lock import Entry
from .images import ImageError, ImageSpec

REGISTRY_TIMEOUT_S = 60  # a registry that does not answer is said within this, not waited on for ever


def _first_line(e: Exception) -> str:
    """The engine's own words (APIError.explanation: e.g. "dial tcp ...: connection refused"), not the URL."""
    text = str(getattr(e, "explanation", None) or e)
    return (text.splitlines() or [""])[0][:400]


def _stream(chunks: Any, what: str) -> dict[str, Any]:
    """Follow a push/pull stream; raise on an error chunk; return the last aux (push: Tag, Digest, Size)."""
    aux: dict[str, Any] = {}
    for chunk in chunks:
        if "error" in chunk:
            raise ImageError("%s failed: %s" % (what, chunk["error"].strip()))
        if "aux" in chunk:
            aux = chunk["aux"]
    return aux


def push(spec: ImageSpec, cli: Any, registry: str, tag: Optional[str] = None) -> Entry:
    """Push the built spec.ref to REGISTRY/REPOSITORY:TAG; the lock entry of what the registry now holds."""
    img = images.find_image(cli, spec.ref)
    if img is None:
        raise ImageError("%s is not in the engine; build it first: edgebench images build --device %s "
                         "--framework %s" % (spec.ref, spec.device, spec.framework))
    arch = str(img.attrs.get("Architecture") or spec.arch)
    several = len(devices.load(spec.device).arches) > 1
    tag = tag or ("%s-%s" % (spec.tag, arch) if several else spec.tag)
    remote = "%s/%s" % (registry.rstrip("/"), spec.repository)
    img.tag(remote, tag)
    try:
        aux = _stream(cli.api.push(remote, tag=tag, stream=True, decode=True), "push of %s:%s" % (remote, tag))
    except ImageError:
        raise
    except Exception as e:  # connection refused, timeouts: the SDK raises several kinds
        raise ImageError("cannot push %s:%s: %s" % (remote, tag, _first_line(e))) from None
    img.reload()
    digest = aux.get("Digest") or next((d.split("@", 1)[1] for d in img.attrs.get("RepoDigests") or []
                                        if d.startswith(remote + "@")), "")
    if not digest:
        raise ImageError("the registry did not report a digest for %s:%s" % (remote, tag))
    return Entry(spec.device, spec.framework, arch, spec.repository, spec.tag, registry.rstrip("/"), digest, img.id,
                 image_lock.now(), remote_tag="" if tag == spec.tag else tag)


def _loopback(registry: str) -> bool:
    host = registry.split("/", 1)[0].rsplit(":", 1)[0]
    return host in ("localhost", "[::1]") or host.startswith("127.")


def manifest_list(entries: list[Entry]) -> list[Entry]:
    """One manifest list REMOTE:TAG over the per-arch pushes of one image (`docker manifest`: no buildx needed);
    the entries again, each with the list's digest. Plain HTTP (--insecure) for a loopback registry only."""
    remote, tag = entries[0].remote, entries[0].tag
    insecure = ["--insecure"] if _loopback(entries[0].registry) else []
    refs = ["%s@%s" % (remote, e.digest) for e in entries]
    res = None
    for cmd in (["docker", "manifest", "create", *insecure, "--amend", "%s:%s" % (remote, tag), *refs],
                ["docker", "manifest", "push", *insecure, "--purge", "%s:%s" % (remote, tag)]):
        try:
            res = subprocess.run(cmd, capture_output=True, text=True, timeout=REGISTRY_TIMEOUT_S * 5)
        except (OSError, subprocess.TimeoutExpired) as e:
            raise ImageError("%s failed: %s" % (" ".join(cmd[:3]), e)) from None
        if res.returncode != 0:
            raise ImageError("%s failed: %s" % (" ".join(cmd[:3]), res.stderr.strip()[-500:]))
    assert res is not None
    digest = res.stdout.strip().splitlines()[-1] if res.stdout.strip() else ""
    if not digest.startswith("sha256:"):
        raise ImageError("docker manifest push of %s:%s printed no digest (%r)" % (remote, tag, res.stdout[-200:]))
    return [dataclasses.replace(e, list_digest=digest) for e in entries]


def join_arches(cli_entries: list[Entry], all_entries: list[Entry]) -> tuple[list[Entry], list[str]]:
    """For each multi-arch device x framework just pushed: a manifest list once the lock has every arch of the
    profile (pushed from hosts of each arch, or one host under QEMU). Returns updated entries and notes."""
    joined: list[Entry] = []
    notes: list[str] = []
    for key in sorted({(e.device, e.framework, e.repository, e.tag) for e in cli_entries if e.remote_tag}):
        want = list(devices.load(key[0]).arches)
        have = {e.arch: e for e in all_entries if (e.device, e.framework, e.repository, e.tag) == key}
        missing = [a for a in want if a not in have]
        if missing:
            notes.append("%s/%s: no manifest list yet; push the %s image too (edgebench images push on a host "
                         "of that arch, lock merged)" % (key[0], key[1], ", ".join(missing)))
            continue
        joined += manifest_list([have[a] for a in want])
        notes.append("%s/%s: manifest list %s:%s %s" % (key[0], key[1], joined[-1].remote, key[3],
                                                      joined[-1].list_digest))
    return joined, notes


def pull_locked(spec: ImageSpec, entry: Entry, cli: Any, registry: str) -> str:
    """Pull REGISTRY/REPOSITORY@DIGEST, check it against the lock and that the tag still names it, and tag it
    spec.ref. Refuses (ImageError) a missing digest, a mismatch or a re-pushed tag, naming both digests."""
    remote = "%s/%s" % (registry.rstrip("/"), spec.repository)
    build_hint = ("Build it here instead: make bench DEVICE=%s BUILD=1, or `edgebench images build --device %s "
                  "--framework %s`" % (spec.device, spec.device, spec.framework))
    try:
        img = cli.images.pull(remote, tag=entry.digest)
    except Exception as e:  # not found, denied, no network: the SDK raises several kinds
        raise ImageError("cannot pull %s@%s, the digest images.lock pins for %s (%s). %s"
                         % (remote, entry.digest, spec.ref, _first_line(e), build_hint)) from None
    img.reload()
    if img.id != entry.image_id:
        raise ImageError("refusing %s@%s: its image ID is %s but images.lock pins %s"
                         % (remote, entry.digest, img.id, entry.image_id))
    try:
        now_at = cli.images.get_registry_data("%s:%s" % (remote, entry.registry_tag)).id
    except Exception as e:
        raise ImageError("cannot read tag %s:%s from the registry: %s" % (remote, entry.registry_tag, _first_line(e))
                         ) from None
    if now_at not in (entry.digest, entry.list_digest):
        raise ImageError("refusing %s:%s: the registry's tag now points at %s but images.lock pins %s (the tag was "
                         "re-pushed with different contents). Push and lock again (edgebench images push), or %s"
                         % (remote, entry.registry_tag, now_at, entry.digest, build_hint[0].lower() + build_hint[1:]))
    img.tag(spec.repository, spec.tag)
    return "pulled %s@%s (%s)" % (remote, entry.digest, image_lock.check(img, entry, pulled=True)[1])


def save(spec: ImageSpec, cli: Any, out_dir: Path, entry: Optional[Entry]) -> Path:
    """OUT/REPOSITORY_TAG.tar (docker save) and .lock.json beside it (the lock entry, or one made here)."""
    img = images.find_image(cli, spec.ref)
    if img is None:
        raise ImageError("%s is not in the engine; pull or build it first" % spec.ref)
    if entry is not None and entry.image_id != img.id:
        raise ImageError("refusing to save %s: its image ID is %s but images.lock pins %s"
                         % (spec.ref, img.id, entry.image_id))
    out_dir.mkdir(parents=True, exist_ok=True)
    tar = out_dir / ("%s_%s.tar" % (spec.repository.replace("/", "_"), spec.tag))
    part = tar.with_name(tar.name + ".part")
    with open(part, "wb") as f:
        for chunk in cli.api.get_image(spec.ref):
            f.write(chunk)
    part.replace(tar)
    e = entry or Entry(spec.device, spec.framework, spec.arch, spec.repository, spec.tag, "", "", img.id,
                       image_lock.now())
    tar.with_suffix(".lock.json").write_text(json.dumps(e.__dict__, indent=1, sort_keys=True) + "\n")
    return tar


def load(tar: Path, cli: Any) -> tuple[Entry, str]:
    """Load a saved tarball; its image ID must be the one in the .lock.json beside it (refused otherwise)."""
    side = tar.with_suffix(".lock.json")
    try:
        entry = Entry(**json.loads(side.read_text()))
    except (OSError, ValueError, TypeError) as e:
        raise ImageError("%s: the lock entry beside the tarball is missing or bad (%s)" % (side, e)) from None
    ref = "%s:%s" % (entry.repository, entry.tag)
    try:
        with open(tar, "rb") as f:
            _stream(cli.api.load_image(f), "load of %s" % tar)
    except OSError as e:
        raise ImageError("cannot read %s: %s" % (tar, e.strerror)) from None
    img = images.find_image(cli, ref)
    if img is None:
        raise ImageError("%s held no image tagged %s (the lock entry beside it names that)" % (tar, ref))
    ok, what = image_lock.check(img, entry)
    if not ok:
        cli.images.remove(ref)  # the tag only: bench must not find and run it
        raise ImageError("refusing %s loaded from %s: %s" % (ref, tar, what))
    return entry, what


def lock_from_registry(spec: ImageSpec, cli: Any, registry: str) -> list[Entry]:
    """Lock entries of what REGISTRY/REPOSITORY:TAG holds now, without pulling (images.yml, after buildx bake
    --push): the tag's digest from the engine's registry lookup, each platform's manifest digest and config
    digest (= the image ID a pull gives) from `docker manifest inspect --verbose`. Attestation manifests
    (platform unknown) are left out. A manifest list gives one entry per arch, each with the list digest."""
    remote = "%s/%s" % (registry.rstrip("/"), spec.repository)
    ref = "%s:%s" % (remote, spec.tag)
    try:
        top = cli.images.get_registry_data(ref).id
    except Exception as e:
        raise ImageError("cannot read %s from the registry: %s" % (ref, _first_line(e))) from None
    cmd = ["docker", "manifest", "inspect", "--verbose", *(["--insecure"] if _loopback(registry) else []), ref]
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=REGISTRY_TIMEOUT_S * 2)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise ImageError("docker manifest inspect %s failed: %s" % (ref, e)) from None
    if res.returncode != 0:
        raise ImageError("docker manifest inspect %s failed: %s" % (ref, res.stderr.strip()[-500:]))
    data = json.loads(res.stdout)
    rows = data if isinstance(data, list) else [data]
    out = []
    for row in rows:
        desc = row.get("Descriptor") or {}
        arch = (desc.get("platform") or {}).get("architecture") or spec.arch
        manifest = row.get("SchemaV2Manifest") or row.get("OCIManifest") or {}
        config = (manifest.get("config") or {}).get("digest", "")
        if arch == "unknown" or not config:
            continue
        out.append(Entry(spec.device, spec.framework, arch, spec.repository, spec.tag, registry.rstrip("/"),
                         desc.get("digest", top), config, image_lock.now(),
                         list_digest=top if isinstance(data, list) else ""))
    if not out:
        raise ImageError("%s: the registry's manifest names no image config" % ref)
    return out
