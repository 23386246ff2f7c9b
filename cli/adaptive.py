"""Adaptive repetitions: a cell repeats until the CI of its median latency is within `ci_share` of the
median (PTS's 2.5 % in the seed matrices), or its runs all ended the same way without an ok one (the
answer is known: it does not fit, it fails), or it reached `max_repetitions` (the protocol's count).

In a cell-major campaign a cell's extra repetitions run right after its planned ones, so they see the same
neighbours (a P1 stage's settle after the stage before it) and a shard that owns the cell runs them; in a
repetition-major campaign they run at the end, after every round. Each decision is recorded per cell in
the campaign's adaptive.json as it is taken.
"""

import json
import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Optional

from edgebench.suite.spec import RunResult, RunSpec
from edgebench.suite.timing import median_ci

from .matrix import Adaptive
from .plan import Plan

ADAPTIVE_FILE = "adaptive.json"  # every cell's decision, written when the campaign ends
DECISIONS_FILE = "adaptive.jsonl"  # one line per decision as it is taken (an interrupted campaign keeps them)


def cell_key(spec: RunSpec) -> str:
    """A cell's key: the run id of its repetition 0 (what every repetition of the cell shares)."""
    return spec.run_id if spec.repetition == 0 else replace(spec, repetition=0).run_id


@dataclass
class Verdict:
    """After a cell's runs so far: stop (and why) or run one more; the CI of the median of ok runs."""

    stop: str  # "" to run another repetition; else ci_within_share, max_repetitions or no_ok_repetitions
    median_s: float = math.nan
    ci: tuple[float, float] = (math.nan, math.nan)
    share: float = math.inf


def judge(results: list[RunResult], ad: Adaptive) -> Verdict:
    """The decision for one cell from its ended runs (in any order)."""
    medians = [r.summary.p50 for r in results if r.status == "ok" and r.summary is not None]
    v = Verdict("")
    if len(medians) >= max(ad.min_repetitions, 2):
        med, lo, hi = median_ci(medians, ad.confidence)
        v = Verdict("", med, (lo, hi), (hi - lo) / 2 / med if med > 0 else math.inf)
        if v.share <= ad.ci_share:
            v.stop = "ci_within_share"
            return v
    statuses = {r.status for r in results}
    if len(results) >= ad.min_repetitions and "ok" not in statuses and len(statuses) == 1:
        v.stop = "no_ok_repetitions"  # every run ended the same non-ok way: more would say the same
    elif len(results) >= ad.max_repetitions:
        v.stop = "max_repetitions"
    return v


@dataclass
class Cells:
    """One campaign's cells under adaptive repetitions: which planned run closes a cell, each cell's
    results as they arrive, and the decisions taken."""

    plan: Plan
    ad: Adaptive
    keys: list[str] = field(default_factory=list)  # per planned run, its cell's key
    base: dict[str, RunSpec] = field(default_factory=dict)  # per cell, its first planned spec
    last: dict[str, int] = field(default_factory=dict)  # per cell, the index of its last planned run
    results: dict[str, list[RunResult]] = field(default_factory=dict)
    decisions: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def of(cls, plan: Plan) -> Optional["Cells"]:
        if plan.matrix.adaptive is None:
            return None
        c = cls(plan, plan.matrix.adaptive)
        for i, p in enumerate(plan.runs):
            key = cell_key(p.spec)
            c.keys.append(key)
            c.base.setdefault(key, p.spec)
            c.last[key] = i
        return c

    def add(self, key: str, result: RunResult) -> None:
        self.results.setdefault(key, []).append(result)

    def closed_by(self, index: int) -> Optional[str]:
        """The cell whose planned runs end at plan.runs[index], when its decision is due now (cell-major)."""
        key = self.keys[index]
        if self.plan.matrix.order == "cell-major" and self.last[key] == index:
            return key
        return None

    def open_cells(self) -> list[str]:
        return [k for k in self.base if k not in self.decisions]

    def next_spec(self, key: str) -> Optional[RunSpec]:
        """The cell's next repetition, or None once it is decided (the decision is recorded)."""
        got = self.results.get(key, [])
        v = judge(got, self.ad)
        if not v.stop:
            return replace(self.base[key], repetition=max(r.spec.get("repetition", 0) for r in got) + 1
                           if got else 0)
        b = self.base[key]
        self.decisions[key] = {
            "model": b.model, "framework": b.framework, "precision": b.precision, "batch_size": b.batch_size,
            "memory_mb": b.limits.memory_mb, "labels": dict(b.labels), "repetitions": len(got),
            "planned_repetitions": sum(1 for k in self.keys if k == key),
            "ok_repetitions": sum(1 for r in got if r.status == "ok"), "median_s": v.median_s, "ci": list(v.ci),
            "ci_half_share": v.share, "target_share": self.ad.ci_share, "confidence": self.ad.confidence,
            "min_repetitions": self.ad.min_repetitions, "max_repetitions": self.ad.max_repetitions,
            "stopped": v.stop, "run_ids": [r.run_id for r in got]}
        return None


def append_decision(camp_dir: Path, key: str, decision: dict[str, Any]) -> None:
    with open(str(camp_dir / DECISIONS_FILE), "a") as f:
        f.write(json.dumps(dict(decision, cell=key)) + "\n")


def read_decisions(camp_dir: Path) -> dict[str, dict[str, Any]]:
    """Per cell, its decision: adaptive.json of a finished campaign, else the lines of an unfinished one
    (the last line of a cell wins: a resumed campaign decides again)."""
    path = camp_dir / ADAPTIVE_FILE
    try:
        if path.is_file():
            data = json.loads(path.read_text())
            return data if isinstance(data, dict) else {}
        out: dict[str, dict[str, Any]] = {}
        lines = (camp_dir / DECISIONS_FILE).read_text().splitlines() if (camp_dir / DECISIONS_FILE).is_file() else []
        for line in lines:
            try:
                d = json.loads(line)
            except ValueError:
                continue  # a line cut short by a crash
            if isinstance(d, dict) and isinstance(d.get("cell"), str):
                out[d["cell"]] = d
        return out
    except (OSError, ValueError):
        return {}
