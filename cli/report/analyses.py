"""The P1/P3 analyses of a report: correlation.csv (+ a heatmap per device), ranking.csv,
warmup.csv (+ a figure) and utilisation.csv, with notes on what was left out."""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import pandas as pd

from ..analysis import correlation, per_model, ranking
from . import figures_analyses

FILES = ("correlation.csv", "ranking.csv", "warmup.csv", "utilisation.csv")


@dataclass
class Analyses:
    correlation: correlation.Correlation
    ranking: pd.DataFrame
    warmup: pd.DataFrame
    utilisation: pd.DataFrame
    left_out: dict[str, list[str]] = field(default_factory=dict)  # device -> variables left out, and why
    figures: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what was not drawn or computed, and why
    files: list[Path] = field(default_factory=list)


def run_analyses(runs: pd.DataFrame, monitor: Optional[pd.DataFrame], out_dir: Path, title: str) -> Analyses:
    c = correlation.correlate(runs, monitor)
    a = Analyses(c, ranking.rank(runs), per_model.warmup(runs), per_model.utilisation(runs),
                 left_out=correlation.left_out(c))
    for name, df in zip(FILES, (c.table, a.ranking, a.warmup, a.utilisation)):
        df.to_csv(out_dir / name, index=False)
        a.files.append(out_dir / name)
    if runs.empty:
        a.notes.append("analyses: no runs")
        return a
    if not c.p_values:
        a.notes.append("correlation: scipy is not installed, so correlation.csv has r without p-values")
    for drawn in figures_analyses.draw(c, a.warmup, out_dir, title):
        if isinstance(drawn, Path):
            a.figures.append(drawn)
            a.files.append(drawn)
        else:
            a.notes.append(drawn)
    return a
