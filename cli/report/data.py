"""ReportData: what a report holds, apart from the code that builds or prints it (no import circle)."""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import pandas as pd

from .analyses import Analyses
from .multi import P3
from .p2 import P2

REPORT_DIR = "_report"  # inside the campaign; '_' keeps it out of the store's run folders


@dataclass
class ReportData:
    campaign: str
    campaign_dir: Path
    out_dir: Path
    runs: pd.DataFrame  # one row per readable run (analysis.tables)
    summary: pd.DataFrame  # one row per cell (report.summary)
    keys: list[str]  # the columns that make a cell
    damaged: list[tuple[Path, str]] = field(default_factory=list)  # folders skipped, and why
    incomplete: list[tuple[Path, str]] = field(default_factory=list)  # not host-checked: skipped, and why
    warnings: list[tuple[Path, str]] = field(default_factory=list)  # runs kept with a stream unreadable
    environment: dict[str, Any] = field(default_factory=dict)
    figures: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # figures not drawn, and why
    files: list[Path] = field(default_factory=list)  # everything written
    analyses: Optional[Analyses] = None  # correlation, ranking, warm-up, utilisation (P1/P3)
    p3: Optional[P3] = None  # ramps, throughput vs concurrency, DMP (report/multi.py)
    pareto: Optional[pd.DataFrame] = None  # configurations with their Pareto flags (analysis/recommend.py)
    speed_notes: list[str] = field(default_factory=list)  # what emulated runs' timings are (analysis/speed.py)
    ceilings: Any = None  # ceiling emulation's answer (report/ceilings.py), None without ceiling-mode runs
    p2: Optional[P2] = None  # loading vs inference time, cost-performance (report/p2.py)

    @property
    def counts(self) -> dict[str, int]:
        c = {str(k): int(v) for k, v in self.runs["status"].value_counts().items()} if not self.runs.empty else {}
        if self.damaged:
            c["damaged"] = len(self.damaged)
        if self.incomplete:
            c["incomplete"] = len(self.incomplete)
        return c

    @property
    def unexpected(self) -> int:
        """Runs that did not end as their cell expected, plus damaged and incomplete folders (exit code)."""
        n = int(self.summary["unexpected_runs"].sum()) if not self.summary.empty else 0
        return n + len(self.damaged) + len(self.incomplete)

    @property
    def flagged(self) -> pd.DataFrame:
        if self.summary.empty:
            return self.summary
        return self.summary[self.summary["flags"] != ""]
