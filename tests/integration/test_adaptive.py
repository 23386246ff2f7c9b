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
