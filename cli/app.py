"""The `edgebench` command. Commands are thin; the work lives in plain modules.

Exit codes: 0 ok, 1 some runs did not end as expected, 2 bad input (cli/console.py).
"""

import json
import os
import signal
import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn, Optional

import typer
from rich.table import Table

from . import artifacts, campaign, plan, ramp_campaign, shards, store
from .console import EXIT_FAILED, EXIT_INPUT, EXIT_OK, JsonOpt, emit_json, err, error, out
from .errors import InputError

RESULTS_DIR = Path(os.environ.get("EDGEBENCH_RESULTS", "results"))

app = typer.Typer(help="Reproducible benchmarks of deep-learning inference on edge devices.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
results_app = typer.Typer(help="Work with saved results.", no_args_is_help=True)
app.add_typer(results_app, name="results")


def _mount() -> None:
    """Sub-apps that live in their own modules."""
    from . import answers_cmd, fleet_cmd
    from .images_cmd import images_app
    from .models_cmd import models_app

    app.add_typer(fleet_cmd.devices_app, name="devices")
    app.command("bench")(fleet_cmd.bench_cmd)
    app.add_typer(fleet_cmd.fleet_app, name="fleet")
    app.add_typer(images_app, name="images", help="Build, bootstrap, list and test device images.")
    app.add_typer(models_app, name="models", help="Make, inspect and check model artefacts.")
    answers_cmd.register(app)


_mount()
DeviceOpt = Annotated[Optional[str], typer.Option("--device", "-d", help="device profile (images/DEVICE)")]
ResultsOpt = Annotated[Path, typer.Option("--results", help="results root folder")]
ModelsOpt = Annotated[Path, typer.Option("--models", help="model artefact cache")]
MaxRunsOpt = Annotated[int, typer.Option("--max-runs", min=1, help="refuse a plan of more runs than this")]
ShardOpt = Annotated[Optional[str], typer.Option("--shard", metavar="I/N", help="run shard I of N (1-based): a "
                     "stable share of the cells, by cell id, for one of N identical devices")]


def stopped(e: campaign.Stop) -> NoReturn:
    """A campaign that could not go on: its reasons on stderr, its exit code."""
    for line in e.lines:
        error(line)
    raise typer.Exit(e.code)


def disk_full(e: OSError, where: Path, what: str) -> NoReturn:
    error("disk full (%s) writing %s: %s" % (e.strerror, e.filename or where, what))
    raise typer.Exit(EXIT_FAILED)


@app.command("plan")
def plan_cmd(matrix: Path, device: DeviceOpt = None, as_json: JsonOpt = False,
             max_runs: MaxRunsOpt = plan.MAX_RUNS, results: ResultsOpt = RESULTS_DIR,
             shard: ShardOpt = None) -> None:
    """Print the ordered plan of a matrix for a device (a dry run): runs, cells and estimated time, learnt from
    the device's finished runs under --results where there are any."""
    from . import estimates

    p = shards.apply(plan.build(matrix, device, max_runs=max_runs), shard)
    sources = estimates.learn(p, results)
    bounds = estimates.bounds(p)
    if as_json:
        emit_json({"matrix": str(matrix), "device": p.device.name, "runs": len(p.runs), "estimate_s": p.estimate_s,
                   "bounds": bounds.to_dict(), "estimate_sources": sources, "shard": shards.record(p),
                    "artifacts": [a.key for a in p.artifacts()],
                    "skipped": [{"cell": c, "why": why} for c, why in p.skipped],
                    "ramp": ramp_campaign.plan_note(p),
                    "plan": [{"run_id": r.run_id, "estimate_s": r.estimate_s, "cell": r.cell,
                              "spec": r.spec.to_dict()} for r in p.runs]})
        return
    keys: list[str] = []
    for r in p.runs:
        keys.extend(k for k in r.cell if k not in keys and k not in ("timeout_s",))
    varying = [k for k in keys if len({json.dumps(r.cell.get(k)) for r in p.runs}) > 1]
    table = Table(title="%s on %s: %d runs, about %.0f min" % (p.matrix.name, p.device.name, len(p.runs),
                                                              p.estimate_s / 60))
    for col in ["#", "run id"] + varying + ["rep", "est s"]:
        table.add_column(col)
    for i, r in enumerate(p.runs):
        table.add_row(str(i + 1), r.run_id, *[str(r.cell.get(k, "")) for k in varying],
                      str(r.spec.repetition), "%.1f" % r.estimate_s)
    out.print(table)
    _print_skipped(p)
    if p.matrix.ramp is not None:
        err.print("[yellow]%s[/]" % ramp_campaign.plan_note(p)["text"])
    out.print("estimate: %s" % estimates.text(bounds), highlight=False)
    for name, src in sorted(sources.items()):
        out.print("  %s: %s" % (name, src), highlight=False)


def _print_skipped(p: plan.Plan) -> None:
    whys: dict[str, int] = {}
    for _, why in p.skipped:
        whys[why] = whys.get(why, 0) + 1
    for why, n in sorted(whys.items()):
        err.print("[yellow]skipped %d cell(s):[/] %s (unsupported: skip)" % (n, why))


@app.command("run")
def run_cmd(matrix: Path, device: DeviceOpt = None,
            runner: Annotated[str, typer.Option(help="auto (docker if an engine answers), docker or local")] = "auto",
            results: ResultsOpt = RESULTS_DIR, models: ModelsOpt = artifacts.DEFAULT_DIR,
            name: Annotated[Optional[str], typer.Option("--campaign", help="campaign folder name")] = None,
            allow_no_swap: Annotated[bool, typer.Option(help="run swap scenarios on a host without swap")] = False,
            report: Annotated[bool, typer.Option(help="write the report when the campaign ends")] = True,
            as_json: JsonOpt = False, max_runs: MaxRunsOpt = plan.MAX_RUNS, shard: ShardOpt = None) -> None:
    """Run every cell of a matrix; re-running resumes (finished runs are kept, never overwritten)."""
    from . import estimates

    p = shards.apply(plan.build(matrix, device, name or "", max_runs=max_runs), shard)
    name = name or (shards.default_campaign(p.matrix.name, p) if p.shard else None)
    estimates.learn(p, results)  # the progress bar's ETA from this device's history, where it has one
    _print_skipped(p)
    try:
        done = campaign.execute(p, runner, allow_no_swap, results, models, err, campaign=name or "",
                                show_progress=True, report=report)
    except campaign.Stop as e:
        stopped(e)
    outcome, data = done.outcome, done.report
    summary = {"campaign": str(outcome.dir), "runs": len(outcome.results), "resumed": outcome.resumed,
               "unexpected": [{"run_id": x.run_id, "status": x.status, "expected": x.spec.get("expect") or "ok",
                               "reason": x.reason} for x in outcome.unexpected],
               "set_aside": outcome.set_aside}
    if data is not None:
        summary["report"] = str(data.out_dir)
    if as_json:
        emit_json(summary)
    else:
        from .report import render

        counts: dict[str, int] = {}
        for x in outcome.results:
            counts[x.status] = counts.get(x.status, 0) + 1
        out.print("campaign %s: %s (%d resumed)" % (outcome.dir, ", ".join("%d %s" % (v, k) for k, v in
                                                                            sorted(counts.items())), outcome.resumed))
        for x in outcome.unexpected:
            out.print("[red]unexpected[/] %s %s (expected %s): %s" % (x.run_id, x.status,
                                                                     x.spec.get("expect") or "ok", x.reason))
        if data is not None:
            out.print(render(data))
            out.print("report: %s" % (data.out_dir / "report.md"))
    raise typer.Exit(done.code)


@app.command("report")
def report_cmd(campaign_name: Annotated[str, typer.Argument(metavar="CAMPAIGN", help="campaign folder or name")],
               results: ResultsOpt = RESULTS_DIR,
               out_dir: Annotated[Optional[Path], typer.Option("--out", help="default: CAMPAIGN/_report")] = None,
               show_emulated_speed: Annotated[bool, typer.Option(
                   help="show functional emulation's QEMU timings in speed columns too (marked QEMU)")] = False,
               as_json: JsonOpt = False) -> None:
    """Summarise a campaign: table per cell, CSV, PNG figures and report.md, from saved files only."""
    from .report import build_report, render, to_json

    camp = store.resolve_campaign(campaign_name, results)
    if not camp.is_dir():
        raise InputError(str(camp), "", "no such campaign folder")
    try:
        data = build_report(camp, out_dir, show_emulated=show_emulated_speed)
    except OSError as e:
        if campaign.disk_full(e):
            disk_full(e, out_dir or camp / "_report", "no report written (no partial folder is left)")
        raise
    if as_json:
        emit_json(to_json(data))
        return
    out.print(render(data))
    for path, problem in data.damaged:
        err.print("skipped %s: %s" % (path, problem), highlight=False)
    for path, problem in data.incomplete:
        err.print("left out %s: incomplete, %s" % (path, problem), highlight=False)
    out.print("report: %s" % (data.out_dir / "report.md"))
    raise typer.Exit(EXIT_FAILED if data.unexpected else EXIT_OK)


@app.command("replay")
def replay_cmd(run_dir: Path, models: ModelsOpt = artifacts.DEFAULT_DIR,
               allow_no_swap: Annotated[bool, typer.Option()] = False, as_json: JsonOpt = False) -> None:
    """Run a saved run again, with its runner and exact spec, into a new folder beside it."""
    from .replay import replay

    dest, spec, result = replay(run_dir, models, allow_no_swap, err)
    if as_json:
        emit_json({"run_dir": str(dest), "status": result.status, "reason": result.reason})
    else:
        out.print("%s %s %s" % (dest, result.status, result.reason))
    raise typer.Exit(EXIT_OK if result.status == (spec.expect or "ok") else EXIT_FAILED)


@app.command("schema")
def schema_cmd(out_dir: Annotated[Path, typer.Option("--out")] = Path("schemas")) -> None:
    """Write the JSON Schemas of RunSpec and RunResult, generated from the code."""
    from .schema import write_schemas

    for path in write_schemas(out_dir):
        out.print(str(path))


@results_app.command("list")
def results_list(results: ResultsOpt = RESULTS_DIR, as_json: JsonOpt = False) -> None:
    """List campaigns and their runs by status."""
    rows: list[dict[str, Any]] = []
    for camp in sorted(p for p in results.iterdir() if p.is_dir()) if results.is_dir() else []:
        counts: dict[str, int] = {}
        for s in store.iter_runs(camp):
            k = s.result.status if s.checked and s.result else ("incomplete" if s.incomplete else "unreadable")
            counts[k] = counts.get(k, 0) + 1
        rows.append({"campaign": camp.name, "path": str(camp), "runs": counts})
    if as_json:
        emit_json(rows)
        return
    for r in rows:
        out.print("%s  %s" % (r["campaign"], ", ".join("%d %s" % (v, k) for k, v in sorted(r["runs"].items()))))


@results_app.command("export")
def results_export(campaign_name: Annotated[str, typer.Argument(metavar="CAMPAIGN")], results: ResultsOpt = RESULTS_DIR,
                   out_dir: Annotated[Optional[Path], typer.Option("--out", help="default: CAMPAIGN/_export")] = None,
                   as_json: JsonOpt = False) -> None:
    """Write one Parquet file per table (runs, samples, monitor)."""
    from .analysis.export import export
    from .analysis.tables import load

    camp = store.resolve_campaign(campaign_name, results)
    tables = load(camp)
    try:
        paths = export(camp, out_dir, tables=tables)
    except OSError as e:
        if campaign.disk_full(e):
            disk_full(e, out_dir or camp / "_export", "no export written (an earlier one is left as it was)")
        raise
    for path, why in tables.damaged:
        err.print("skipped %s: %s" % (path, why), highlight=False)
    for path, why in tables.incomplete:
        err.print("left out %s: incomplete, %s" % (path, why), highlight=False)
    for path, why in tables.warnings:
        err.print("%s: %s" % (path, why), highlight=False)
    if as_json:
        emit_json({"files": [str(p) for p in paths],
                   "rows": {"runs": len(tables.runs), "samples": len(tables.samples), "monitor": len(tables.monitor)},
                   "damaged": [{"path": str(p), "problem": w} for p, w in tables.damaged],
                   "incomplete": [{"path": str(p), "problem": w} for p, w in tables.incomplete],
                   "warnings": [{"path": str(p), "problem": w} for p, w in tables.warnings]})
    else:
        for p in paths:
            out.print(str(p))


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def main() -> None:
    # SIGTERM (a CI cancel, `kill`) stops the run in progress and removes its cgroup or container too.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        app()
    except InputError as e:
        sys.stderr.write("error: %s\n" % e)
        sys.exit(EXIT_INPUT)
    except KeyboardInterrupt:
        sys.stderr.write("interrupted: finished runs are saved; run the same command again to resume\n")
        sys.exit(130)


if __name__ == "__main__":
    main()
