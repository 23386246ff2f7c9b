"""`edgebench images ...`: offline bases, builds, listing, in-image tests (images.py), push, save and load
(image_transfer.py, pinned in images/images.lock: image_lock.py)."""

from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from . import devices, image_lock, image_transfer, images
from .console import EXIT_FAILED, JsonOpt, emit_json, err, error, out
from .errors import InputError

images_app = typer.Typer(help="Build, list and test the device x framework images.", no_args_is_help=True)
DeviceOpt = Annotated[str, typer.Option("--device", "-d", help="device profile (images/DEVICE)")]
LockOpt = Annotated[Optional[Path], typer.Option(help="images lock file; default images/images.lock")]
FrameworkOpt = Annotated[Optional[str], typer.Option("--framework", "-f", help="one framework; default: all")]


def _fail(e: Exception) -> None:
    error(str(e))
    raise typer.Exit(EXIT_FAILED)


def _log(line: str) -> None:
    err.print(line, highlight=False, markup=False)


def _frameworks(device: str, framework: Optional[str]) -> list[str]:
    fws = [framework] if framework else images.buildable(device)
    if not fws:
        raise InputError(str(devices.profile_path(device)), "frameworks", "no framework names a Dockerfile")
    return fws


@images_app.command("bootstrap-base")
def bootstrap_base_cmd(arch: Annotated[str, typer.Option(help="amd64 or arm64")] = images.host_arch(),
                       force: Annotated[bool, typer.Option(help="make it again even if the engine has it")] = False,
                       as_json: JsonOpt = False) -> None:
    """Make edgebench/base-debian12:ARCH with debootstrap, without any registry (root; arm64 via QEMU)."""
    try:
        made = images.bootstrap_base(arch, images.client(), force=force, log=_log)
    except images.ImageError as e:
        _fail(e)
    if as_json:
        emit_json(made.to_dict())
    else:
        out.print("%s %s %.0f MiB %s" % (made.ref, made.id[:19], made.size_mb,
                                        "(already there)" if made.cached else "in %.0f s" % made.seconds))


@images_app.command("build")
def build_cmd(device: DeviceOpt, framework: FrameworkOpt = None,
              base: Annotated[Optional[str], typer.Option(help="FROM image; default: the bootstrapped base")] = None,
              force: Annotated[bool, typer.Option(help="build even if the tag exists")] = False,
              as_json: JsonOpt = False) -> None:
    """Build a device's images; versions from images/versions.lock, tagged by content hash."""
    cli = images.client()
    made = []
    for fw in _frameworks(device, framework):
        try:
            made.append(images.build(images.image_spec(device, fw), cli, base=base, force=force, log=_log).to_dict())
        except images.ImageError as e:
            _fail(e)
    if as_json:
        emit_json(made)
        return
    for m in made:
        out.print("%s %s %.0f MiB %s" % (m["ref"], m["id"][:19], m["size_mb"],
                                        "(already built)" if m["cached"] else "in %.0f s" % m["seconds"]))


@images_app.command("list")
def list_cmd(as_json: JsonOpt = False) -> None:
    """The edgebench images in the engine, their size and which profile uses each now."""
    try:
        rows = images.list_images(images.client())
    except images.ImageError as e:
        _fail(e)
    if as_json:
        emit_json(rows)
        return
    table = Table(title="edgebench images")
    for col in ("tags", "arch", "size MiB", "current for", "id"):
        table.add_column(col)
    for r in rows:
        table.add_row("\n".join(r["tags"]), str(r["arch"]), "%.0f" % r["size_mb"], ", ".join(r["current_for"]) or "-",
                      r["id"][7:19])
    out.print(table)


@images_app.command("test")
def test_cmd(device: DeviceOpt, framework: FrameworkOpt = None, as_json: JsonOpt = False) -> None:
    """Inside each image: import the runtime and report its versions (no network, read-only, non-root)."""
    cli = images.client()
    rows = []
    for fw in _frameworks(device, framework):
        try:
            rows.append(images.probe(images.image_spec(device, fw), cli))
        except images.ImageError as e:
            _fail(e)
    if as_json:
        emit_json(rows)
        return
    for r in rows:
        out.print("%s (%s, python %s): %s" % (r["image"], r["arch"], r["python"],
                                               ", ".join("%s=%s" % kv for kv in sorted(r["versions"].items()))))


@images_app.command("push")
def push_cmd(registry: Annotated[str, typer.Option(help="HOST[:PORT]/PREFIX to push to")],
             device: Annotated[Optional[str], typer.Option("--device", "-d", help="one device; default: every "
                                                           "device whose images are built here")] = None,
             framework: FrameworkOpt = None,
             lock: LockOpt = None,
             as_json: JsonOpt = False) -> None:
    """Push built images to REGISTRY and pin what it holds (manifest digest, image ID) in images/images.lock."""
    cli = images.client()
    pushed = []
    for dev in [device] if device else devices.names():
        for fw in _frameworks(dev, framework) if device else images.buildable(dev):
            spec = images.image_spec(dev, fw)
            if not device and images.find_image(cli, spec.ref) is None:
                continue  # every device: only what is built here
            try:
                pushed.append(image_transfer.push(spec, cli, registry))
            except images.ImageError as e:
                _fail(e)
    if not pushed:
        _fail(images.ImageError("nothing to push: build the images first (edgebench images build --device D)"))
    path = image_lock.write(pushed, lock)
    try:
        joined, notes = image_transfer.join_arches(pushed, image_lock.read(path))
    except images.ImageError as e:
        _fail(e)
    if joined:
        image_lock.write(joined, path)
        pushed = [next((j for j in joined if (j.repository, j.tag, j.arch) == (p.repository, p.tag, p.arch)), p)
                  for p in pushed]
    for note in notes:
        err.print(note, highlight=False)
    if as_json:
        emit_json({"lock": str(path), "pushed": [asdict(e) for e in pushed]})
        return
    for p in pushed:
        out.print("%s:%s %s (image %s)" % (p.remote, p.registry_tag, p.digest, p.image_id[7:19]), highlight=False)
    out.print("locked in %s" % path, highlight=False)


@images_app.command("lock")
def lock_cmd(registry: Annotated[str, typer.Option(help="HOST[:PORT]/PREFIX the images were pushed to")],
             device: Annotated[Optional[str], typer.Option("--device", "-d", help="one device; default: all")] = None,
             framework: FrameworkOpt = None, lock: LockOpt = None) -> None:
    """Pin what the registry holds for this checkout's tags (after `buildx bake --push`): nothing is pulled."""
    cli = images.client()
    entries = []
    for dev in [device] if device else devices.names():
        for fw in _frameworks(dev, framework) if device else images.buildable(dev):
            try:
                entries += image_transfer.lock_from_registry(images.image_spec(dev, fw), cli, registry)
            except images.ImageError as e:
                _fail(e)
    path = image_lock.write(entries, lock)
    for row in entries:
        out.print("%s:%s %s %s" % (row.remote, row.tag, row.arch, row.digest), highlight=False)
    out.print("locked in %s" % path, highlight=False)


@images_app.command("save")
def save_cmd(device: DeviceOpt, out_dir: Annotated[Path, typer.Option("--out", help="folder for the tarballs")],
             framework: FrameworkOpt = None,
             lock: LockOpt = None) -> None:
    """docker save each image to OUT/REPO_TAG.tar with its lock entry beside it (REPO_TAG.lock.json)."""
    cli = images.client()
    entries = image_lock.read(lock)
    for fw in _frameworks(device, framework):
        spec = images.image_spec(device, fw)
        try:
            tar = image_transfer.save(spec, cli, out_dir, image_lock.find(spec.repository, spec.tag, entries))
        except images.ImageError as e:
            _fail(e)
        out.print(str(tar), highlight=False)


@images_app.command("load")
def load_cmd(tarballs: list[Path]) -> None:
    """docker load each tarball and check its image ID against the lock entry beside it (refused if not)."""
    cli = images.client()
    for tar in tarballs:
        try:
            entry, what = image_transfer.load(tar, cli)
        except images.ImageError as e:
            _fail(e)
        out.print("%s:%s %s" % (entry.repository, entry.tag, what), highlight=False)
