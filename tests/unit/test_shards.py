"""--shard I/N: parsing, a stable split that keeps ramp groups and adaptive cells whole, folder checks."""

from pathlib import Path

import pytest
from edgebench.cli import plan, shards
from edgebench.cli.errors import InputError

MATRIX = """\
name: sharded
fixed: {model: mobilenet_v3_small, framework: onnxruntime, iterations: 3, warmups: 1, threads: 1}
axes: {batch_size: [1, 2, 3, 4]}
"""
ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("bad", ["0/2", "3/2", "1", "a/b", "1/0", "-1/2"])
def test_bad_shards_are_refused(bad: str) -> None:
    with pytest.raises(InputError, match="--shard"):
        shards.parse(bad)


@pytest.mark.parametrize("name", ["p3-smoke", "memory-sweep", "p3-batching"])
def test_shards_split_the_plan_and_keep_what_runs_together(name: str) -> None:
    whole = plan.build(ROOT / "matrices" / ("%s.yaml" % name))
    parts = [shards.apply(plan.build(ROOT / "matrices" / ("%s.yaml" % name)), "%d/3" % i) for i in (1, 2, 3)]
    ids = [r.run_id for p in parts for r in p.runs]
    assert sorted(ids) == sorted(r.run_id for r in whole.runs)
    units: dict[str, set[int]] = {}
    for i, p in enumerate(parts):
        assert p.shard is not None and p.shard["plan_runs"] == len(whole.runs)
        for r in p.runs:
            units.setdefault(shards.unit_of(p, r.spec), set()).add(i)
    assert all(len(v) == 1 for v in units.values())  # a ramp group or a sweep's model is on one shard
    assert len(units) < len(whole.runs)  # ... and those units hold several runs


def test_a_folder_of_one_shard_is_not_resumed_as_another(tmp_path: Path) -> None:
    m = tmp_path / "m.yaml"
    m.write_text(MATRIX)
    p = shards.apply(plan.build(m), "2/2")
    shards.check_folder({"run_ids": [], "shard": {"index": 2, "count": 2}}, p, "f")
    for info in ({"run_ids": [], "shard": {"index": 1, "count": 2}}, {"run_ids": []}):
        try:
            shards.check_folder(info, p, "f")
        except InputError as e:
            assert "not shard 2/2" in str(e)
        else:
            raise AssertionError("resumed another shard's folder")
