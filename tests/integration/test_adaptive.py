"""Adaptive repetitions: repeat a cell until the CI of its median is tight enough, or the cap."""

import json
from pathlib import Path

from edgebench.cli import campaign, plan
from edgebench.cli.runners.local import LocalRunner
from rich.console import Console

MATRIX = """\
name: adaptive
fixed: {model: mobilenet_v3_small, framework: onnxruntime, iterations: 5, warmups: 1, threads: 1}
repetitions: 2
adaptive: {ci_share: %s, min_repetitions: 3, max_repetitions: %d}
"""


def run(tmp_path: Path, models_dir: Path, share: str, cap: int) -> dict:
    m = tmp_path / ("m%s.yaml" % cap)
    m.write_text(MATRIX % (share, cap))
    p = plan.build(m)
    out = campaign.run(p, LocalRunner(), tmp_path / ("res%s" % cap), models_dir, Console(quiet=True),
                       show_progress=False)
    decisions = json.loads((out.dir / "adaptive.json").read_text())
    assert len(decisions) == 1
    d = next(iter(decisions.values()))
    assert d["repetitions"] == len(out.results)
    return d


def test_stops_at_the_cap_when_the_target_is_unreachable(tmp_path: Path, models_dir: Path, onnx_mnv3: str) -> None:
    d = run(tmp_path, models_dir, "0.000001", 4)
    assert d["stopped"] == "max_repetitions" and d["repetitions"] == 4


def test_stops_early_when_the_interval_is_tight(tmp_path: Path, models_dir: Path, onnx_mnv3: str) -> None:
    d = run(tmp_path, models_dir, "0.9", 8)
    assert d["stopped"] == "ci_within_share" and d["repetitions"] == 3
    assert d["ci"][0] <= d["median_s"] <= d["ci"][1]


TWO_CELLS = """\
name: adaptive2
fixed: {model: mobilenet_v3_small, framework: onnxruntime, iterations: 5, warmups: 1, threads: 1}
axes: {batch_size: [1, 2]}
repetitions: 1
adaptive: {ci_share: 0.000001, min_repetitions: 2, max_repetitions: 3}
"""


def test_a_cells_extra_repetitions_run_beside_it_and_the_report_shows_them(tmp_path: Path, models_dir: Path,
                                                                           onnx_mnv3: str) -> None:
    from edgebench.cli.report import build_report

    m = tmp_path / "m.yaml"
    m.write_text(TWO_CELLS)
    p = plan.build(m)
    assert len(p.runs) == 2  # planned: one repetition per cell; the rest is adaptive
    out = campaign.run(p, LocalRunner(), tmp_path / "res", models_dir, Console(quiet=True), show_progress=False)
    order = [(r.spec["batch_size"], r.spec["repetition"]) for r in out.results]
    assert order == [(1, 0), (1, 1), (1, 2), (2, 0), (2, 1), (2, 2)]  # cell-major: extras before the next cell
    decisions = json.loads((out.dir / "adaptive.json").read_text())
    assert sorted(d["batch_size"] for d in decisions.values()) == [1, 2]
    assert all(d["stopped"] == "max_repetitions" and d["planned_repetitions"] == 1 for d in decisions.values())
    assert len((out.dir / "adaptive.jsonl").read_text().splitlines()) == 2
    md = (build_report(out.dir).out_dir / "report.md").read_text()
    assert "## Adaptive repetitions" in md and "3 of 3" in md
