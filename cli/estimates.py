"""What a plan will cost: runs and seconds at least and at most, with what each bound assumes.

- Adaptive repetitions: at least every cell stops at `min_repetitions` (its CI is tight at once, or all
  its runs end alike), at most every cell runs `max_repetitions`.
- Ramps: at least every group stops at its first level (it fails), at most no level fails (every level
  runs; a plateau stops earlier).
- Otherwise the plan's runs, fixed.

Per-run seconds come from the history of finished runs on the device profile where it has the cell's
framework and model (cli/history.py), else from plan.estimate; `learn` says which, per framework and model.
"""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import history, plan, ramp
from .adaptive import cell_key


@dataclass
class Bounds:
    runs_min: int
    runs_max: int
    s_min: float
    s_max: float
    assumes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"runs_min": self.runs_min, "runs_max": self.runs_max, "estimate_s_min": self.s_min,
                "estimate_s_max": self.s_max, "assumes": self.assumes}


def learn(p: plan.Plan, results_root: Path) -> dict[str, str]:
    """Each run's estimate from the device's history where it has one (in place); per 'framework model',
    the source its runs used ('model' or 'history of N run(s)', 'history (scaled) ...')."""
    h = history.load(results_root, p.device.name)
    seen: dict[str, dict[str, list[int]]] = {}  # framework model -> source -> the run counts it came from
    for r in p.runs:
        est, how = h.estimate(r.spec) if h.samples else (None, "")
        if est is not None:
            r.estimate_s = est
        kind, _, n = (how if est is not None else "model (cli/plan.py):0").rpartition(":")
        seen.setdefault("%s %s" % (r.spec.framework, r.spec.model), {}).setdefault(kind, []).append(int(n))
    return {name: ", ".join(_source(kind, ns) for kind, ns in sorted(srcs.items())) for name, srcs in seen.items()}


def _source(kind: str, counts: list[int]) -> str:
    """'history of 4 run(s)', 'history of 2-4 run(s)', or the model, with how many planned runs used it."""
    if kind.startswith("model"):
        return "%s for %d run(s)" % (kind, len(counts))
    lo, hi = min(counts), max(counts)
    return "%s of %s run(s) for %d run(s)" % (kind, "%d" % lo if lo == hi else "%d-%d" % (lo, hi), len(counts))


def bounds(p: plan.Plan) -> Bounds:
    ad = p.matrix.adaptive
    if ad is not None:
        cells: dict[str, list[float]] = {}
        for r in p.runs:
            cells.setdefault(cell_key(r.spec), []).append(r.estimate_s)
        lo = hi = 0
        s_lo = s_hi = 0.0
        for ests in cells.values():
            per = sum(ests) / len(ests)
            n_lo, n_hi = max(len(ests), ad.min_repetitions), max(len(ests), ad.max_repetitions)
            lo, hi, s_lo, s_hi = lo + n_lo, hi + n_hi, s_lo + per * n_lo, s_hi + per * n_hi
        return Bounds(lo, hi, s_lo, s_hi, [
            "adaptive repetitions: at least %d per cell (every CI within +-%.1f%% at once), at most %d"
            % (ad.min_repetitions, 100 * ad.ci_share, ad.max_repetitions)])
    axes = [rp.axis for rp in ramp.ramps_of(p.matrix)]
    total = sum(r.estimate_s for r in p.runs)
    if not axes:
        return Bounds(len(p.runs), len(p.runs), total, total, ["fixed repetitions"])
    first: dict[str, tuple[tuple[Any, ...], list[float]]] = {}
    for r in p.runs:
        spec = r.spec.to_dict()
        g = ramp.group_key({k: v for k, v in spec.items() if k not in axes}, "")
        level = tuple(ramp.level_of(spec, a) for a in axes)
        seen = first.get(g)
        if seen is None or level < seen[0]:
            first[g] = (level, [r.estimate_s])
        elif level == seen[0]:
            seen[1].append(r.estimate_s)
    return Bounds(sum(len(v[1]) for v in first.values()), len(p.runs), sum(sum(v[1]) for v in first.values()),
                  total, ["ramp on %s: at least every group stops at its first level, at most no level fails"
                          % "+".join(axes)])


def text(b: Bounds) -> str:
    if b.runs_min == b.runs_max:
        return "%d runs, about %s (%s)" % (b.runs_max, duration(b.s_max), "; ".join(b.assumes))
    return "%d to %d runs, about %s to %s (%s)" % (b.runs_min, b.runs_max, duration(b.s_min), duration(b.s_max),
                                                 "; ".join(b.assumes))


def duration(s: float) -> str:
    if s < 120:
        return "%.0f s" % s
    if s < 2 * 3600:
        return "%.0f min" % (s / 60)
    if s < 2 * 86400:
        return "%.1f h" % (s / 3600)
    return "%.1f days" % (s / 86400)
