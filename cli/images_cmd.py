"""`edgebench images ...`: offline bases, builds, listing and in-image tests (the work is in images.py)."""

from typing import Annotated, Optional

import typer
from rich.table import Table

from . import devices, images
from .console import EXIT_FAILED, JsonOpt, emit_json, err, error, out
from .errors import InputError

images_app = typer.Typer(help="Build, list and test the device x framework images.", no_args_is_help=True)
DeviceOpt = Annotated[str, typer.Option("--device", "-d", help="device profile (images/DEVICE)")]
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
