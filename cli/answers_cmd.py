"""`edgebench compare` and `edgebench recommend`: answers on top of the campaign tables.

Exit codes: 0 ok, 1 a regression beyond --fail-if-slower, 2 bad input (cli/console.py).
"""

import json
import os
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.table import Table

from . import store
from .analysis import compare as cmp
from .analysis import recommend as rec
from .analysis.tables import Tables, load
from .console import EXIT_FAILED, EXIT_OK, JsonOpt, emit_json, err, out
from .errors import InputError

RESULTS_DIR = Path(os.environ.get("EDGEBENCH_RESULTS", "results"))
ResultsOpt = Annotated[Path, typer.Option("--results", help="results root folder (for campaign names)")]


def register(app: typer.Typer) -> None:
    app.command("compare")(compare_cmd)
    app.command("recommend")(recommend_cmd)


def _load(name: str, results: Path) -> Tables:
    """A campaign folder with at least one run folder, else bad input."""
    camp = store.resolve_campaign(name, results)
    if not camp.is_dir():
        raise InputError(str(camp), "", "no such campaign folder")
    if not store.run_dirs(camp) and not (camp / store.CAMPAIGN_FILE).exists():
        raise InputError(str(camp), "", "not a campaign folder (no campaign.json and no run folders)")
    t = load(camp)
    for path, why in t.damaged + t.incomplete:
        err.print("left out %s: %s" % (path, why), highlight=False)
    return t


def _percent(text: Optional[str], opt: str) -> Optional[float]:
    """'5%' or '0.05' -> 0.05."""
    if text is None:
        return None
    try:
        v = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        raise InputError(opt, "", "expected a share such as 5%% or 0.05, got %r" % text) from None
    if v < 0:
        raise InputError(opt, "", "expected a share >= 0, got %r" % text)
    return v


def compare_cmd(campaigns: Annotated[list[str], typer.Argument(metavar="A B [C...]",
                                                                help="campaign folders or names; A is the baseline")],
                results: ResultsOpt = RESULTS_DIR,
                metric: Annotated[str, typer.Option(help="p50, p99 (latency) or throughput")] = "p50",
                fail_if_slower: Annotated[Optional[str], typer.Option(
                    "--fail-if-slower", help="exit 1 when a cell is significantly slower by more than this")] = None,
                allow_differences: Annotated[bool, typer.Option(
                    help="compare even where runtime version, loaded precision or applied limits differ")] = False,
                show_emulated_speed: Annotated[bool, typer.Option(
                    help="compare functional emulation's QEMU timings too (left out by default)")] = False,
                as_json: JsonOpt = False) -> None:
    """Per cell: ratio of medians over runs, its bootstrap CI, Mann-Whitney U, a verdict; geometric mean."""
    if len(campaigns) < 2:
        raise InputError("compare", "CAMPAIGN", "expected at least two campaigns, got %d" % len(campaigns))
    threshold = _percent(fail_if_slower, "--fail-if-slower")
    tables = [_load(c, results) for c in campaigns]
    comps = [cmp.compare(tables[0], t, metric, allow_differences=allow_differences,
                         show_emulated=show_emulated_speed) for t in tables[1:]]
    bad = [(c, x) for c in comps for x in (cmp.regressions(c, threshold) if threshold is not None else [])]
    if as_json:
        emit_json({"comparisons": [c.to_json() for c in comps], "fail_if_slower": threshold,
                   "regressions": [{"other": c.other, "cell": c.name(x.cell), "slowdown": x.slowdown}
                                   for c, x in bad]})
    else:
        for c in comps:
            _print_comparison(c)
        for c, x in bad:
            out.print("[red]regression[/] %s: %s is %.1f%% slower than %s (limit %.1f%%)" % (
                c.name(x.cell), c.other, 100 * (x.slowdown - 1), c.base, 100 * (threshold or 0)))
    raise typer.Exit(EXIT_FAILED if bad else EXIT_OK)


def _print_comparison(c: cmp.Comparison) -> None:
    unit = "inf/s" if c.metric == "throughput" else "ms"
    scale = 1.0 if c.metric == "throughput" else 1000.0
    table = Table(title="%s: %s vs %s (ratio %s/%s, 95 %% CI)" % (c.metric, c.other, c.base, c.other, c.base))
    marked = any(x.timing != "device" for x in c.cells)  # emulated: whose timings they are (analysis/speed.py)
    for head in ("cell", "runs", "%s %s" % (c.base, unit), "%s %s" % (c.other, unit), "ratio [CI]", "p", "verdict"):
        table.add_column(head)
    if marked:
        table.add_column("timings", no_wrap=True)
    colour = {"slower": "red", "faster": "green", "same": "white"}
    for x in c.cells:
        p = "%.3f" % x.p_value + ("" if x.test_can_decide else " (too few runs)")
        table.add_row(c.name(x.cell), "%d/%d" % (x.runs_a, x.runs_b), "%.3g" % (scale * x.median_a),
                      "%.3g" % (scale * x.median_b), "%.3f [%.3f-%.3f]" % (x.ratio, x.ci_lo, x.ci_hi), p,
                      "[%s]%s[/]" % (colour[x.verdict], x.verdict), *([x.timing] if marked else []))
    out.print(table)
    n = c.counts()
    lo, hi = c.geomean_ci
    out.print("geometric mean ratio %.3f [%.3f-%.3f] over %d cells: %d faster, %d slower, %d same within noise"
              % (c.geomean or 0, lo or 0, hi or 0, len(c.cells), n["faster"], n["slower"], n["same"]))
    for cell in c.only_base:
        out.print("only in %s: %s" % (c.base, c.name(cell)))
    for cell in c.only_other:
        out.print("only in %s: %s" % (c.other, c.name(cell)))
    for d in c.differences:
        err.print("[yellow]allowed difference:[/] %s" % d, highlight=False)
    for why in c.left_out:
        err.print("[yellow]left out:[/] %s" % why, highlight=False)


def recommend_cmd(campaigns: Annotated[list[str], typer.Argument(metavar="CAMPAIGN...")],
                  results: ResultsOpt = RESULTS_DIR,
                  max_p99_ms: Annotated[Optional[float], typer.Option(min=0)] = None,
                  max_memory_mb: Annotated[Optional[float], typer.Option(min=0, help="peak memory, MiB")] = None,
                  max_power_w: Annotated[Optional[float], typer.Option(min=0)] = None,
                  min_throughput: Annotated[Optional[float], typer.Option(min=0, help="inferences/s")] = None,
                  objective: Annotated[str, typer.Option(
                      help="throughput, latency, fps-per-watt or energy-per-inference")] = "throughput",
                  latency_share: Annotated[str, typer.Option(
                      help="memory limits: the smallest with p50 within this share of the unlimited one")] = "10%",
                  out_dir: Annotated[Optional[Path], typer.Option("--out", help="figure folder; default: "
                                                                  "FIRST_CAMPAIGN/_report/recommend")] = None,
                  as_json: JsonOpt = False) -> None:
    """The configurations that meet every constraint, ranked (overlapping CIs tie), Pareto figures, one sentence."""
    share = _percent(latency_share, "--latency-share") or 0.0
    constraints = {k: v for k, v in (("max_p99_ms", max_p99_ms), ("max_memory_mb", max_memory_mb),
                                     ("max_power_w", max_power_w), ("min_throughput", min_throughput)) if v is not None}
    tables = [_load(c, results) for c in campaigns]
    ans = rec.recommend(tables, constraints, objective)
    ans.memory_limits = rec.memory_limits(ans.configs, share)
    folder = out_dir or store.resolve_campaign(campaigns[0], results) / "_report" / "recommend"
    from .report.pareto import draw

    figure = draw(ans.configs[ans.configs["emulation"] == ""], folder / "pareto.png")  # never emulated timings
    ans.configs.to_csv(folder / "configurations.csv", index=False)
    if as_json:
        emit_json({"sentence": ans.sentence, "objective": objective, "constraints": constraints,
                   "closest": ans.closest, "figure": str(figure), "memory_limits": ans.memory_limits,
                   "recommended": _records(ans.feasible), "configurations": len(ans.configs)})
    else:
        _print_answer(ans)
        out.print("figure: %s" % figure)
    raise typer.Exit(EXIT_OK)


def _records(df: Any) -> list[dict[str, Any]]:
    return list(json.loads(df.to_json(orient="records", double_precision=15)))


def _print_answer(ans: rec.Answer) -> None:
    col, _, unit = rec.OBJECTIVES[ans.objective]
    table = Table(title="meets every constraint, by %s (%d of %d configurations)"
                  % (ans.objective, len(ans.feasible), len(ans.configs)))
    for head in ("rank", "device", "configuration", "inf/s [CI]", "p99 ms [CI]", "MiB", "W", ans.objective):
        table.add_column(head)
    for _, r in ans.feasible.iterrows():
        table.add_row(str(r["rank"]), str(r["device"]), rec.name(r),
                      "%.1f [%.1f-%.1f]" % (r["throughput_ips"], r["throughput_ips_ci_lo"], r["throughput_ips_ci_hi"]),
                      "%.2f [%.2f-%.2f]" % (r["p99_ms"], r["p99_ms_ci_lo"], r["p99_ms_ci_hi"]),
                      _n(r["memory_mb"], "%.0f"), _n(r["power_w"], "%.2f"), _n(r[col], "%.4g") + " " + unit)
    out.print(table)
    out.print(ans.sentence)
    for line in ans.closest[1:]:
        out.print(line)
    for m in ans.memory_limits:
        out.print("%s %s %s b%s: %s (unlimited p50 %.2f ms, limits tried %s)" % (
            m.get("model"), m.get("framework"), m.get("precision") or "fp32", m.get("batch_size"),
            "%g MiB is enough (p50 %.2f ms)" % (m["enough_mb"], m["p50_ms_at_enough"]) if m["enough_mb"] is not None
            else "no tried limit keeps p50 within %.0f%%" % (100 * m["share"]), m["unlimited_p50_ms"],
            ", ".join("%g" % v for v in m["limits_tried_mb"])))


def _n(v: Any, fmt: str) -> str:
    return "-" if v is None or (isinstance(v, float) and v != v) else str(fmt % v)
