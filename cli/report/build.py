"""`edgebench report CAMPAIGN`: tables, figures and report.md from a campaign's saved files."""

import datetime
from pathlib import Path
from typing import Any, Optional

import pandas as pd

from .. import store
from ..analysis import speed
from ..analysis.energy import energy_rows
from ..analysis.tables import Tables, load
from . import adaptive as adaptive_report
from . import ceilings, figures, html, markdown
from . import multi as p3_report
from . import p2 as p2_report
from .analyses import run_analyses
from .data import REPORT_DIR, ReportData
from .summary import cell_keys, summarize

ENV_KEYS = ("kernel", "os", "machine", "hostname", "cpu_model", "cpu_count", "cpu_governor", "memory_total_mb",
            "swap_total_mb", "in_container", "python", "numpy", "edgebench_version", "runner", "device")


def _text(v: Any) -> str:
    if isinstance(v, float):
        return "%d" % v if v.is_integer() else "%.1f" % v
    return str(v)


def environment(runs: pd.DataFrame, info: dict[str, Any]) -> dict[str, Any]:
    """Distinct values of each environment field over the runs (more than one is worth a look),
    the runtime version and image per framework, and the campaign file's own record."""
    env: dict[str, Any] = {}
    for k in ENV_KEYS:
        if k in runs:
            env[k] = sorted({_text(v) for v in runs[k].dropna()})
    fw: dict[str, Any] = {}
    if "framework" in runs:
        for name, g in runs.groupby("framework"):
            fw[str(name)] = {"version": sorted({str(v) for v in g.get("runtime_version", pd.Series()).dropna()}),
                             "image": sorted({str(v) for v in g.get("image", pd.Series()).dropna()}),
                             "image_lock": sorted({str(v) for v in g.get("image_lock", pd.Series()).dropna()})}
    env["frameworks"] = fw
    env["varies"] = [k for k in ENV_KEYS if len(env.get(k) or []) > 1 and k != "hostname"]
    env["campaign"] = {k: info.get(k) for k in ("name", "matrix_file", "runner", "created", "updated",
                                                "edgebench_version") if k in info}
    if isinstance(info.get("device"), dict):
        env["campaign"]["device"] = info["device"].get("name")
    return env


def _energy(data: ReportData) -> None:
    """energy.csv: energy, average power and FPS/W per phase, for runs whose monitors sampled power."""
    ok = data.runs[data.runs["status"] == "ok"] if not data.runs.empty else data.runs
    dirs = [data.campaign_dir / rid for rid in (ok["run_id"] if not ok.empty else [])]
    rows = [r for r in energy_rows(dirs) if "monitor" in r]
    if not rows:
        data.notes.append("energy: no run sampled power (add a power monitor: jtop, tegrastats, ina219, nvml "
                          "or the codecarbon estimate)")
        return
    path = data.out_dir / "energy.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    data.files.append(path)
    est = sum(1 for r in rows if r.get("estimate"))
    data.notes.append("energy: energy.csv has energy, average power and FPS/W per phase for %d run(s)%s"
                      % (len(rows), " (%d are CodeCarbon estimates, not measurements)" % est if est else ""))


def build_report(campaign_dir: Path, out_dir: Optional[Path] = None, show_emulated: bool = False) -> ReportData:
    """Read the campaign, group runs into cells, write summary.csv, runs.csv, PNG figures and report.md
    into out_dir (default CAMPAIGN/_report). Damaged and incomplete run folders are listed, never read
    as data. Everything is written into a temporary folder first (store.staged) and moved into out_dir
    only when complete: a full disk (OSError, ENOSPC) leaves the earlier report, or none, never half.
    Timings of emulated runs are marked, and functional (QEMU) ones left out unless `show_emulated`
    (analysis/speed.py)."""
    campaign_dir = Path(campaign_dir)
    t = load(campaign_dir)
    out = Path(out_dir) if out_dir is not None else campaign_dir / REPORT_DIR
    with store.staged(out) as tmp:
        data = _write(t, campaign_dir, tmp, show_emulated)
    return _moved(data, tmp, out)


def _write(t: Tables, campaign_dir: Path, out: Path, show_emulated: bool = False) -> ReportData:
    p3_report.mark_findings(t.runs, campaign_dir, t.info)  # a ramp's stop and skipped levels are its answer
    t.runs = speed.mark_runs(t.runs, show_emulated)  # QEMU timings out of every table and figure below
    summary = speed.mark_cells(summarize(t.runs), t.runs)
    data = ReportData(campaign=t.campaign, campaign_dir=campaign_dir, out_dir=out, runs=t.runs, summary=summary,
                      keys=cell_keys(t.runs) if not t.runs.empty else [], damaged=t.damaged,
                      incomplete=t.incomplete, warnings=t.warnings, environment=environment(t.runs, t.info),
                      speed_notes=speed.notes(t.runs, show_emulated))
    title = t.campaign
    if "emulation" in t.runs and (t.runs["emulation"] == speed.CEILING).any():
        title += " [timings: host CPU, ceiling emulation]"
    for name, df in (("summary.csv", summary), ("runs.csv", t.runs)):
        df.to_csv(out / name, index=False)
        data.files.append(out / name)
    for drawn in figures.draw_all(summary, t.runs, out, title):
        if isinstance(drawn, Path):
            data.figures.append(drawn)
            data.files.append(drawn)
        else:
            data.notes.append(drawn)
    _energy(data)
    data.analyses = run_analyses(t.runs, t.monitor, out, t.campaign)
    data.figures += data.analyses.figures
    data.files += data.analyses.files
    hidden = frozenset(t.runs.loc[t.runs["emulation"] == speed.FUNCTIONAL, "run_id"].astype(str)) if (
        "emulation" in t.runs and not show_emulated) else frozenset()
    data.p3 = p3_report.build(campaign_dir, t.runs, t.monitor, t.info, out, t.campaign, hidden)
    data.figures += data.p3.figures
    data.files += data.p3.files
    data.ceilings = ceilings.find(t.runs, data.p3.ramps, t.info)
    if data.ceilings is not None:
        data.files += ceilings.write_csv(data.ceilings, out)
    data.p2 = p2_report.build(t.runs, t.info, out)
    data.files += data.p2.files
    stamp = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    md = out / "report.md"
    md.write_text(markdown.write(data, stamp) + p3_report.markdown(data.p3) + ceilings.markdown(data.ceilings)
                  + adaptive_report.section(campaign_dir, out, data.files))
    data.files.append(md)
    data.pareto = _pareto(t, data.notes)
    page = out / "report.html"  # the same report, interactive and self-contained (report/html.py)
    page.write_text(html.report_html(data, stamp))
    data.files.append(page)
    return data


def _moved(data: ReportData, tmp: Path, out: Path) -> ReportData:
    """The paths a report lists, where they lie now that the folder is in place."""
    def move(paths: list[Path]) -> list[Path]:
        return [out / p.relative_to(tmp) if p.is_relative_to(tmp) else p for p in paths]

    data.out_dir = out
    data.files, data.figures = move(data.files), move(data.figures)
    if data.analyses is not None:
        data.analyses.files, data.analyses.figures = move(data.analyses.files), move(data.analyses.figures)
    if data.p3 is not None:
        data.p3.files, data.p3.figures = move(data.p3.files), move(data.p3.figures)
    if data.p2 is not None:
        data.p2.files = move(data.p2.files)
    return data


def _pareto(t: Tables, notes: list[str]) -> Optional[pd.DataFrame]:
    """The configurations of this campaign with their Pareto flags, for report.html (as `recommend` has them)."""
    from ..analysis import recommend

    try:
        return recommend.pareto(recommend.configurations([t]))
    except (KeyError, ValueError) as e:  # a figure must never lose the report
        notes.append("Pareto plots: %s" % e)
        return None

