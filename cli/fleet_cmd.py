"""The fleet: `devices` (list, detect), `bench` (make bench DEVICE=...), and `fleet bake-files|merge`.

`bench` is what a lab runs on a device: get the device's images (pull, or build with --build), make sure
this machine really is that device (arch, L4T release, memory, board, accelerator) or refuse, run the
matrix in containers, write the report. With --emulate it runs on any bigger host instead, the device's
memory and cores as limits and every result labelled emulated (cli/emulate.py).
"""

import datetime
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from edgebench.suite.fsutil import write_json
from rich.table import Table

from . import artifacts, campaign, detect, devices, emulate, image_lock, image_transfer, images, plan, shards, store
from .console import EXIT_FAILED, EXIT_INPUT, EXIT_OK, JsonOpt, emit_json, err, error, out
from .errors import InputError

DEFAULT_REGISTRY = "ghcr.io/edgebench"  # where images come from with neither --registry, the env nor a lock entry

devices_app = typer.Typer(help="Device profiles: list them, or find which one this machine is.")
fleet_app = typer.Typer(help="Images for every device (bake files) and cross-device reports.", no_args_is_help=True)


# ---- devices -------------------------------------------------------------------------------------------

@devices_app.callback(invoke_without_command=True)
def devices_list(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """List the device profiles (HOST+ACCELERATOR and NAME@emulated load too)."""
    if ctx.invoked_subcommand:
        return
    profiles = [devices.load(n) for n in devices.names()]
    if as_json:
        emit_json([d.model_dump() for d in profiles])
        return
    table = Table(title="device profiles")
    for col in ("name", "kind", "arch", "memory MiB", "cores", "L4T", "frameworks", "power modes", "monitors",
                "price USD"):
        table.add_column(col)
    for d in profiles:
        arch = ",".join(d.arches) if d.kind == "accelerator" else d.arch
        fws = ", ".join("%s(%s)" % (f, "/".join(i.placements)) for f, i in d.frameworks.items())
        modes = ", ".join("%d:%s%s" % (m.id, m.name, "*" if m.default else "") for m in d.power_modes)
        table.add_row(d.name, d.kind, arch, str(d.memory_mb or "-"), str(d.cpu_cores or "-"),
                      d.l4t.release if d.l4t else "-", fws, modes or "-", ", ".join(d.monitors),
                      "%g" % d.price_usd if d.price_usd is not None else "-")
    out.print(table)


@devices_app.command("detect")
def detect_cmd(as_json: JsonOpt = False,
               root: Annotated[str, typer.Option(help="root folder to read (a recorded board's files)")] = "/",
               machine: Annotated[Optional[str], typer.Option(help="uname -m of that board")] = None) -> None:
    """Which profile this machine is, and why (device tree, L4T release, CPU, memory, USB ids). Exit 1: none."""
    facts = detect.gather(root, machine)
    verdicts = detect.detect(facts)
    found = [v for v in verdicts if v.matches]
    if as_json:
        emit_json({"device": found[0].device if found else None, "facts": facts.to_dict(),
               "verdicts": [v.__dict__ for v in verdicts]})
        raise typer.Exit(EXIT_OK if found else EXIT_FAILED)
    if found:
        out.print("[bold]%s[/]" % found[0].device)
        for r in found[0].reasons:
            out.print("  because %s" % r, highlight=False)
        for v in found[1:]:
            out.print("also fits %s (%s)" % (v.device, "; ".join(v.reasons)), highlight=False)
    else:
        out.print("[red]no device profile fits this machine[/]")
        near = sorted(verdicts, key=lambda v: len(v.problems))[:3]
        for v in near:
            out.print("  not %s: %s" % (v.device, "; ".join(v.problems)), highlight=False)
    out.print("facts: arch %s, model %r, L4T %s, CPU %r x%d, %d MiB, USB %s" % (
        facts.arch, facts.model or "-", facts.l4t or "-", facts.cpu_model, facts.cpu_cores, facts.memory_mb,
        ", ".join(facts.usb_ids) or "-"), highlight=False)
    raise typer.Exit(EXIT_OK if found else EXIT_FAILED)


# ---- bench ---------------------------------------------------------------------------------------------

def ensure_image(spec: images.ImageSpec, cli: Any, build: bool, registry: Optional[str], base: Optional[str]) -> str:
    """The image in the engine: already there, pulled from a registry, or built (--build). Says which.

    With an entry in images/images.lock: an engine image whose ID is the locked one is used as it is; else
    REPO@DIGEST is pulled (never the tag) and checked (image_transfer.pull_locked). --registry or
    EDGEBENCH_REGISTRY choose where from; without them, the registry the lock names."""
    entry = image_lock.find(spec.repository, spec.tag)
    if build:
        if images.find_image(cli, spec.ref) is None:
            images.build(spec, cli, base=base, log=lambda line: err.print(line, markup=False, highlight=False))
            return "built"
        return "present"
    present = images.find_image(cli, spec.ref)
    if entry is not None:
        if present is not None and present.id == entry.image_id:
            return "present (%s)" % image_lock.check(present, entry)[1]
        return image_transfer.pull_locked(spec, entry, cli, registry or entry.registry)
    if present is not None:
        return "present (not in the lock)"
    where = registry or DEFAULT_REGISTRY
    remote = "%s/%s" % (where.rstrip("/"), spec.repository)
    try:
        img = cli.images.pull(remote, tag=spec.tag)
    except Exception as e:  # the SDK raises several kinds (not found, denied, no network)
        raise images.ImageError("cannot pull %s:%s (%s; images.lock has no entry for %s). Build it here instead: "
                                "make bench DEVICE=%s BUILD=1, or `edgebench images build --device %s --framework %s`"
                                % (remote, spec.tag, str(e).splitlines()[0][:200], spec.ref, spec.device, spec.device,
                                   spec.framework)) from None
    img.tag(spec.repository, spec.tag)
    return "pulled %s:%s by tag (not in the lock)" % (remote, spec.tag)


def power_mode() -> Optional[str]:
    """`nvpmodel -q` on a Jetson: the power mode the results were measured in (P3 wants it recorded)."""
    exe = shutil.which("nvpmodel") or ("/usr/sbin/nvpmodel" if os.path.exists("/usr/sbin/nvpmodel") else None)
    if exe is None:
        return None
    try:
        res = subprocess.run([exe, "-q"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=20,
                             text=True)
    except (OSError, subprocess.SubprocessError) as e:
        return "unreadable: %s" % e
    return res.stdout.strip()


def refuse(name: str, problems: list[str], facts: detect.Facts) -> None:
    err.print("[red]refusing to bench %s: this machine is not a %s[/]" % (name, name))
    for p in problems:
        err.print("  - %s" % p, highlight=False)
    best = detect.best(facts)
    err.print("This machine looks like %s. Run with DEVICE=%s, or pass --emulate (make bench EMULATE=1) to "
              "emulate %s here under its memory and CPU limits (ceiling mode; --emulate functional runs its own "
              "images under QEMU), labelled emulated."
              % (best.device if best else "no known profile", best.device if best else "...", name), highlight=False)
    raise typer.Exit(EXIT_INPUT)


def bench_cmd(device: Annotated[str, typer.Option("--device", "-d", help="device profile, e.g. jetson-nano, "
                                                  "rpi4+coral-usb")],
              matrix: Annotated[Path, typer.Option(help="matrix file")] = Path("matrices/smoke.yaml"),
              build: Annotated[bool, typer.Option(help="build the images here instead of pulling them")] = False,
              emulate_: Annotated[Optional[str], typer.Option(
                  "--emulate", metavar="ceiling|functional",
                  help="emulate DEVICE on this bigger host under its memory and CPU limits. ceiling (make bench "
                       "EMULATE=1): this host's own images, for memory ceilings and OOM levels (timings: host CPU); "
                       "functional: DEVICE's own images under QEMU, proving they run (timings: QEMU's, not shown as "
                       "speed)")
              ] = None,
              registry: Annotated[Optional[str], typer.Option(
                  envvar="EDGEBENCH_REGISTRY", help="where prebuilt images are pulled from (default: the registry "
                  "images.lock names, else %s)" % DEFAULT_REGISTRY)] = None,
              lock: Annotated[Optional[Path], typer.Option(help="images lock; default images/images.lock")] = None,
              runner: Annotated[str, typer.Option(help="docker (default) or local (no images)")] = "docker",
              results: Annotated[Path, typer.Option(help="results root folder")] = Path("results"),
              models: Annotated[Path, typer.Option(help="model artefact cache")] = artifacts.DEFAULT_DIR,
              name: Annotated[Optional[str], typer.Option("--campaign", help="campaign folder name")] = None,
              allow_no_swap: Annotated[bool, typer.Option(help="run swap scenarios without swap")] = False,
              as_json: JsonOpt = False,
              max_runs: Annotated[int, typer.Option("--max-runs", min=1, help="refuse a plan of more runs than this")
                                  ] = plan.MAX_RUNS,
              shard: Annotated[Optional[str], typer.Option("--shard", metavar="I/N", help="run shard I of N of the "
                               "plan (a stable share by cell id, for N identical devices)")] = None) -> None:
    """Run a matrix on this device in its pinned images and write the report (`make bench DEVICE=...`)."""
    facts = detect.gather()
    emu = None
    if emulate_:
        emu, problems = emulate.prepare(device, facts, emulate_)
        if emu is None:
            for msg in problems:
                err.print("[red]cannot emulate:[/] %s" % msg, highlight=False)
            raise typer.Exit(EXIT_INPUT)
        run_device = emu.device.name
        for note in emu.notes:
            err.print("[yellow]emulated:[/] %s" % note, highlight=False)
    else:
        problems = detect.check(devices.load(device), facts)
        if problems:
            refuse(device, problems, facts)
        run_device = device
    p = shards.apply(plan.build(matrix, run_device, max_runs=max_runs), shard)
    camp = name or shards.default_campaign("%s-%s" % (p.matrix.name, run_device.replace("@", "-")), p)
    if emu is not None:
        p = emulate.apply(p, emu)
    plan.check_before_run(p, runner, results, camp)  # before any image is pulled or built
    got: dict[str, str] = {}
    if lock is not None:
        os.environ[image_lock.LOCK_ENV] = str(lock.resolve())  # the runner checks every result against it
    if runner == "docker":
        cli = images.client()
        for fw in sorted({r.spec.framework for r in p.runs}):
            spec = images.image_spec(run_device, fw)
            base = p.device.frameworks[fw].base
            try:
                got[spec.ref] = ensure_image(spec, cli, build, registry, base)
            except images.ImageError as e:
                error(str(e))
                raise typer.Exit(EXIT_FAILED) from None
            err.print("image %s: %s" % (spec.ref, got[spec.ref]), highlight=False)
    def record(outcome: campaign.Outcome) -> None:
        write_json(str(outcome.dir / "bench.json"), {
            "device": device, "run_device": run_device, "emulated": emu is not None,
            "emulation": emu.mode if emu else None, "emulation_notes": emu.notes if emu else [],
            "facts": facts.to_dict(), "images": got,
            "power_mode": power_mode(), "matrix": str(matrix), "runner": runner})

    try:
        done = campaign.execute(p, runner, allow_no_swap, results, models, err, campaign=camp,
                                show_progress=not as_json, after_runs=record)
    except campaign.Stop as e:
        for line in e.lines:
            error(line)
        raise typer.Exit(e.code) from None
    outcome, report = done.outcome, done.report
    assert report is not None
    md = str(report.out_dir / "report.md")
    if as_json:
        emit_json({"campaign": str(outcome.dir.resolve()), "device": run_device, "emulated": emu is not None,
                   "emulation": emu.mode if emu else None, "runs": len(outcome.results),
                   "unexpected": len(outcome.unexpected), "report": md})
    else:
        from .report import render

        out.print(render(report))
        out.print("%s on %s%s: %d runs, %d unexpected; report %s" % (
            p.matrix.name, run_device, " (EMULATED, %s mode)" % emu.mode if emu else "", len(outcome.results),
            len(outcome.unexpected), md), highlight=False)
    raise typer.Exit(done.code)


# ---- bake files and merged reports ----------------------------------------------------------------------

def bake_targets() -> dict[str, images.ImageSpec]:
    """Every buildable image as a bake target named DEVICE-FRAMEWORK (accelerators: built per host arch)."""
    targets: dict[str, images.ImageSpec] = {}
    for dev in devices.names():
        for fw in images.buildable(dev):
            targets["%s-%s" % (dev, fw)] = images.image_spec(dev, fw)
    return targets


def platforms(device: str) -> list[str]:
    d = devices.load(device)
    return ["linux/%s" % a for a in (d.arches if d.kind == "accelerator" else [d.arch])]


def write_bake_files(out_dir: Path, registry: str) -> Path:
    """build/bake/context (Dockerfiles, suite, CA bundle) and overrides.json (tags, args from the lock)."""
    ctx = out_dir / "context"
    shutil.rmtree(ctx, ignore_errors=True)
    (ctx / "images").mkdir(parents=True)
    for df in images.IMAGES_DIR.glob("*/*.Dockerfile"):
        (ctx / "images" / df.parent.name).mkdir(exist_ok=True)
        shutil.copy2(df, ctx / "images" / df.parent.name / df.name)
    for path in images._suite_files(images.SUITE_DIR):
        dest = ctx / "suite" / path.relative_to(images.SUITE_DIR)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, dest)
    ca = images.HOST_CA.read_bytes() if images.HOST_CA.is_file() else b""
    (ctx / "build-ca.crt").write_bytes(ca)
    revision = images.source_revision()
    from edgebench.suite import __version__

    target: dict[str, Any] = {}
    for tname, spec in sorted(bake_targets().items()):
        args = dict(spec.args)
        args.update({"EDGEBENCH_VERSION": __version__, "SOURCE_REVISION": revision, "IMAGE_HASH": spec.tag})
        base = devices.load(spec.device).frameworks[spec.framework].base
        if base:
            args["BASE_IMAGE"] = base
        target[tname] = {"tags": ["%s/%s:%s" % (registry.rstrip("/"), spec.repository, spec.tag)], "args": args}
    path = out_dir / "overrides.json"
    write_json(str(path), {"target": target})
    return path


@fleet_app.command("bake-files")
def bake_files_cmd(out_dir: Annotated[Path, typer.Option("--out")] = Path("build/bake"),
                   registry: Annotated[str, typer.Option(envvar="EDGEBENCH_REGISTRY", help="registry prefix of tags")
                                       ] = DEFAULT_REGISTRY) -> None:
    """Write what `docker buildx bake -f images/docker-bake.hcl -f build/bake/overrides.json` needs."""
    path = write_bake_files(out_dir, registry)
    out.print(str(path))


@fleet_app.command("merge")
def merge_cmd(paths: list[Path], out_dir: Annotated[Path, typer.Option("--out")] = Path("build/fleet-report"),
              show_emulated_speed: Annotated[bool, typer.Option(
                  help="show functional emulation's QEMU timings in the throughput table too (marked QEMU)")
              ] = False) -> None:
    """One cross-device report from campaign folders (bench artifacts of several devices). The shards of one
    plan (`bench --shard I/N`) are first joined into one campaign and checked: a run no shard holds, or two
    do, is named and the command exits 1 (after the report)."""
    from . import shard_merge

    joined = shard_merge.join(campaigns_under(paths, shards_too=True), out_dir / "campaigns")
    for line in joined.lines:
        err.print(line, highlight=False)
    md = merge(paths + ([out_dir / "campaigns"] if joined.campaigns else []), out_dir,
               show_emulated=show_emulated_speed)
    out.print(str(md))
    if not joined.ok:
        error("the shards do not make the whole plan: %s" % "; ".join(
            "%s: %d missing, %d duplicated" % (n, len(joined.missing[n]), len(joined.duplicated[n]))
            for n in joined.missing if joined.missing[n] or joined.duplicated[n]))
        raise typer.Exit(EXIT_FAILED)


def campaigns_under(paths: list[Path], shards_too: bool = False) -> list[Path]:
    """Campaign folders under `paths`; a shard's only with shards_too (merge reports them joined)."""
    from .shard_merge import is_shard

    found: list[Path] = []
    for p in paths:
        found += sorted(c.parent for c in p.rglob("campaign.json") if "_report" not in c.parts)
    return sorted(c for c in set(found) if shards_too or not is_shard(c))


def _device_column(dev: str, table: Any, show_emulated: bool) -> str:
    """A device's column head in the throughput table: whose timings its numbers are."""
    from .analysis import speed

    mode = speed.mode_of({"device": dev})
    return dev if not mode else "%s (%s)" % (dev, speed.timing_text(mode, not speed.hidden(mode, show_emulated)))


def _throughput(table: Any, keys: list[str], value: str, show_emulated: bool) -> list[str]:
    """Throughput per cell and device; functional emulation's hidden QEMU timings read "ran: ok"."""
    pivot = table.pivot_table(index=keys, columns="device_profile", values=value, aggfunc="median", dropna=False)
    ok = table.pivot_table(index=keys, columns="device_profile", values="ok", aggfunc="sum", dropna=False)
    pivot = pivot.reindex(index=ok.index, columns=ok.columns)
    heads = [_device_column(str(c), table, show_emulated) for c in pivot.columns]
    lines = ["", "## Throughput (inferences/s, median of runs) per device", "",
             "Emulated devices are marked: NAME@ceiling numbers are this host's CPU, NAME@functional ones QEMU's "
             "(\"ran: ok\" unless --show-emulated-speed); neither is the device's speed.", "",
             "| %s | %s |" % (" | ".join(keys), " | ".join(heads)), "|%s" % ("---|" * (len(keys) + len(heads)))]
    for idx, row in pivot.iterrows():
        if row.isna().all() and not (ok.loc[idx] > 0).any():
            continue
        idx_t = idx if isinstance(idx, tuple) else (idx,)
        cells = ["%.2f" % v if v == v else ("ran: ok" if ok.loc[idx, c] > 0 else "-") for c, v in row.items()]
        lines.append("| %s | %s |" % (" | ".join(str(i) for i in idx_t), " | ".join(cells)))
    return lines


def merge(paths: list[Path], out_dir: Path, show_emulated: bool = False) -> Path:
    """Each campaign's own report, plus summary.csv of all cells with their device and report.md on top.
    Emulated campaigns' timings are marked (host CPU) or left out (QEMU), and never priced."""
    import pandas as pd

    from .analysis import speed
    from .report import build_report, fleet

    out_dir.mkdir(parents=True, exist_ok=True)
    frames, device_rows = [], []
    lines = ["# Cross-device report", "", "| device | campaign | runs | statuses | report |", "|---|---|---|---|---|"]
    for camp in campaigns_under(paths):
        info = store.read_campaign_file(camp)
        dev = (info.get("device") or {}).get("name") or "?"
        data = build_report(camp, show_emulated=show_emulated)
        s = data.summary.copy()
        s.insert(0, "campaign", camp.name)
        s.insert(0, "device_profile", dev)
        cost = fleet.price(info.get("device") or {})
        s = s.assign(price_usd=cost.usd, price_source=cost.source, price_date=cost.date)
        frames.append(s.join(fleet.power(s, data.out_dir / "energy.csv")))
        device_rows.append({"device_profile": dev, "campaign": camp.name, "runs": len(data.runs), "price_usd": cost.usd,
                            "price_source": cost.source, "price_date": cost.date, "report": str(data.out_dir)})
        counts = ", ".join("%d %s" % (v, k) for k, v in sorted(data.counts.items()))
        mode = speed.mode_of({"device": dev})
        lines.append("| %s%s | %s | %d | %s | %s |" % (dev, " (emulated, %s mode)" % mode if mode else "", camp.name,
                                                       len(data.runs), counts, data.out_dir / "report.md"))
    if not frames:
        raise InputError(", ".join(str(p) for p in paths), "", "no campaign folders (campaign.json) found")
    table = pd.concat(frames, ignore_index=True)
    table.to_csv(out_dir / "summary.csv", index=False)
    keys = [k for k in ("model", "framework", "precision", "batch_size") if k in table.columns]
    value = "throughput_ips_median_of_runs"
    if keys and value in table.columns:
        lines += _throughput(table, keys, value, show_emulated)
    real = [not speed.mode_of({"device": d}) for d in table["device_profile"]]
    cp = fleet.cost_performance(table[real])  # an emulated device has no speed of its own to price
    cp.to_csv(out_dir / "cost_performance.csv", index=False)
    lines += fleet.markdown(cp)
    stamp = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    (out_dir / "report.html").write_text(fleet.page(pd.DataFrame(device_rows), cp, stamp))
    md = out_dir / "report.md"
    md.write_text("\n".join(lines) + "\n")
    return md


def main_bench() -> None:
    """Entry for `python -m edgebench.cli.fleet_cmd` (Makefile's bench target until the lead mounts it)."""
    app = typer.Typer(pretty_exceptions_enable=False, add_completion=False)
    app.command("bench")(bench_cmd)
    app.command("detect")(detect_cmd)
    app.add_typer(fleet_app, name="fleet")
    try:
        app()
    except InputError as e:
        sys.stderr.write("error: %s\n" % e)
        sys.exit(EXIT_INPUT)


if __name__ == "__main__":
    main_bench()
