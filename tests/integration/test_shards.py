"""Shards: real runs of a small matrix split over two shards with the local runner, joined by fleet merge,
and the check naming a run one shard lost and a run two shards hold."""

import json
import shutil
from pathlib import Path

from edgebench.cli import shard_merge
from edgebench.cli.app import app
from edgebench.cli.fleet_cmd import fleet_app
from typer.testing import CliRunner

MATRIX = """\
name: sharded
fixed: {model: mobilenet_v3_small, framework: onnxruntime, iterations: 3, warmups: 1, threads: 1}
axes: {batch_size: [1, 2, 3, 4]}
"""


def _json(args: list[str]) -> dict:  # type: ignore[type-arg]
    res = CliRunner().invoke(app, args + ["--json"])
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)


def test_shards_run_apart_join_whole_and_the_check_names_what_is_missing(tmp_path: Path, models_dir: Path,
                                                                         onnx_mnv3: str) -> None:
    m = tmp_path / "m.yaml"
    m.write_text(MATRIX)
    whole = [r["run_id"] for r in _json(["plan", str(m)])["plan"]]
    parts = [[r["run_id"] for r in _json(["plan", str(m), "--shard", "%d/2" % i])["plan"]] for i in (1, 2)]
    assert sorted(parts[0] + parts[1]) == sorted(whole) and not set(parts[0]) & set(parts[1])
    assert parts[0] and parts[1]  # this matrix's four runs do fall on both shards (a stable hash of the run id)
    results = tmp_path / "results"
    common = ["--runner", "local", "--results", str(results), "--models", str(models_dir), "--no-report"]
    for i in (1, 2):
        done = _json(["run", str(m), "--shard", "%d/2" % i] + common)
        assert done["runs"] == len(parts[i - 1]) and not done["unexpected"]
    again = _json(["run", str(m), "--shard", "1/2"] + common)  # a resumed shard keeps its runs
    assert again["resumed"] == len(parts[0])
    camps = [results / ("sharded-shard-%d-of-2" % i) for i in (1, 2)]
    info = json.loads((camps[1] / "campaign.json").read_text())
    assert info["shard"]["index"] == 2 and info["shard"]["plan_run_ids"] == whole and info["run_ids"] == parts[1]

    joined = shard_merge.join(camps, tmp_path / "joined")
    assert joined.ok, joined.lines
    dest = joined.campaigns[0]
    assert sorted(p.name for p in dest.iterdir() if p.is_dir()) == sorted(whole)
    assert "shard" not in json.loads((dest / "campaign.json").read_text())

    lost = parts[1][0]
    shutil.rmtree(camps[1] / lost)
    twice = parts[0][0]
    shutil.copytree(camps[0] / twice, camps[1] / twice)
    res = CliRunner().invoke(fleet_app, ["merge", str(results), "--out", str(tmp_path / "fleet")])
    assert res.exit_code == 1, res.output
    assert "missing %s (planned in shard 2/2" % lost in res.output
    assert "duplicated %s (in shard 1/2" % twice in res.output
    joined = shard_merge.join(camps, tmp_path / "joined")
    assert joined.missing["sharded"] == [lost] and joined.duplicated["sharded"] == [twice]
    assert (tmp_path / "fleet" / "report.md").is_file()  # the report of what there is, still written

