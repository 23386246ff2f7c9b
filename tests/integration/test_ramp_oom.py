"""A batch ramp that stops at a real OOM: ONNX Runtime ResNet-18 in real cgroups (local runner).

The limit comes from a measured footprint on this machine (ORT 1.32, 1 thread, cgroup memory peak):
batch 1: 181 MiB, 2: 181, 4: 196, 8: 224, 16: 279, 32: 408. At 250 MiB (no swap) batch 1-8 fit and
16 is killed by the kernel; the test asserts the structure (the levels below the first failure ran
ok, the failing level is an OOM, every level above it is a `skipped` record with the reason), not
which level fails, so a neighbour's page cache cannot make it flaky.
"""

import json
from pathlib import Path

import pandas as pd
from edgebench.cli import campaign, plan
from edgebench.cli.report import build_report
from edgebench.cli.runners.local import LocalRunner
from edgebench.suite import cgroup as reader
from rich.console import Console

from tests.conftest import has_module, is_root, need

LEVELS = [1, 2, 4, 8, 16, 32]
MATRIX = """name: ramp-oom
device: host-cpu
fixed: {model: resnet18, framework: onnxruntime, warmups: 1, iterations: 2, threads: 1,
        memory_mb: 250, memory_swap_mb: 250, timeout_s: 300}
axes:
  batch_size: %s
ramp: {axis: batch_size, stop_on: [oom, failed, killed, timeout]}
""" % LEVELS


def test_batch_ramp_stops_at_a_real_oom_and_records_the_levels_above(tmp_path: Path, models_dir: Path) -> None:
    need(is_root(), "root, to make cgroups")
    need(reader.memory_version() is not None, "a memory cgroup controller")
    for mod in ("torch", "onnx", "onnxruntime"):
        need(has_module(mod), "%s (export and run ResNet-18)" % mod)
    path = tmp_path / "ramp-oom.yaml"
    path.write_text(MATRIX)
    p = plan.build(path)
    assert [r.spec.batch_size for r in p.runs] == LEVELS
    results = tmp_path / "results"
    log = (tmp_path / "console.log").open("w")
    quiet = Console(file=log)
    out = campaign.run(p, LocalRunner(), results, models_dir, quiet, show_progress=False)
    by_batch = {r.spec["batch_size"]: r for r in out.results}
    statuses = [by_batch[b].status for b in LEVELS]
    first_bad = next(i for i, st in enumerate(statuses) if st != "ok")
    assert first_bad >= 2, statuses  # batch 1 and 2 fit in 250 MiB
    stop = LEVELS[first_bad]
    assert statuses[first_bad] == "oom", (statuses, by_batch[stop].reason)
    for b in LEVELS[first_bad + 1:]:
        r = by_batch[b]
        assert r.status == "skipped"
        assert r.reason.startswith("batch_size: above failing level %d (1 of 1 repetitions oom)" % stop), r.reason
        stored = json.loads((out.dir / r.run_id / "result.json").read_text())
        assert stored["status"] == "skipped" and stored["reason"] == r.reason
        assert not (out.dir / r.run_id / "samples.jsonl").exists()  # nothing ran
    assert out.unexpected == []  # the stop is the ramp's finding, not a failure
    ramps = json.loads((out.dir / "ramps.json").read_text())
    (group,) = ramps["groups"]
    assert group["stop_level"] == stop and group["stopped_by"] == "failure"
    assert group["max_level_ok"] == LEVELS[first_bad - 1]
    # Resume: nothing runs again, the same levels are skipped (recomputed from the stored results).
    again = campaign.run(plan.build(path), LocalRunner(), results, models_dir, quiet, show_progress=False)
    assert again.resumed == first_bad + 1
    assert [r.status for r in sorted(again.results, key=lambda r: r.spec["batch_size"])] == statuses
    assert again.unexpected == []
    log.close()
    # The report names the climb: the highest level that ran ok, the best level, the failure that stopped it.
    data = build_report(out.dir)
    assert data.unexpected == 0  # the OOM that stopped the climb and the skipped levels are its answer
    (row,) = pd.read_csv(data.out_dir / "ramps.csv").to_dict("records")
    assert (row["axis"], row["stop_level"], row["max_level_ok"]) == ("batch_size", stop, LEVELS[first_bad - 1])
    assert row["best_level"] in LEVELS[:first_bad] and row["stop_reason"] == "1 of 1 repetitions oom"
    assert row["skipped"] == len(LEVELS) - first_bad - 1
    assert "## Ramps: maximum and best level" in (data.out_dir / "report.md").read_text()
