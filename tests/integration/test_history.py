"""Estimates that learn: after a real campaign with the local runner, `plan` estimates its runs from their
recorded phases and wall time (and says so), scales them to another batch, and keeps the model elsewhere."""

import json
import statistics
from pathlib import Path

from edgebench.cli import campaign, estimates, history, plan
from edgebench.cli.runners.local import LocalRunner
from rich.console import Console

MATRIX = """\
name: learn
fixed: {model: mobilenet_v3_small, framework: onnxruntime, iterations: 20, warmups: 2, threads: 1}
axes: {batch_size: [%s]}
repetitions: 2
"""


def test_plan_learns_from_the_devices_finished_runs(tmp_path: Path, models_dir: Path, onnx_mnv3: str) -> None:
    m = tmp_path / "m.yaml"
    m.write_text(MATRIX % "1")
    results = tmp_path / "results"
    out = campaign.run(plan.build(m), LocalRunner(), results, models_dir, Console(quiet=True), show_progress=False)
    assert [r.status for r in out.results] == ["ok", "ok"]
    walls = [r.host["wall_s"] for r in out.results]

    h = history.load(results, "host-cpu")
    assert h.runs == 2 and h.campaigns == ["learn"]
    assert history.load(results, "rpi4").runs == 0  # another device profile learns nothing from these

    p = plan.build(m)
    model_est = p.runs[0].estimate_s
    sources = estimates.learn(p, results)
    assert sources == {"onnxruntime mobilenet_v3_small": "history of 2 run(s) for 2 run(s)"}
    learnt = p.runs[0].estimate_s
    assert learnt != model_est
    # The parts add back up to the wall time they came from (same warm-ups and iterations): within 10 %.
    assert abs(learnt - statistics.median(walls)) <= 0.1 * statistics.median(walls), (learnt, walls)

    m.write_text(MATRIX % "1, 4")
    p = plan.build(m)
    sources = estimates.learn(p, results)
    assert sources["onnxruntime mobilenet_v3_small"] == ("history of 2 run(s) for 2 run(s), "
                                                         "history (scaled) of 2 run(s) for 2 run(s)")
    by_batch = {r.spec.batch_size: r.estimate_s for r in p.runs}
    assert by_batch[4] > by_batch[1]  # four images a batch take longer than one

    info = json.loads((out.dir / "campaign.json").read_text())
    assert info["shard"] is None
