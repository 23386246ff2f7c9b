"""Ramp decisions (cli/ramp.py) and the campaign walk's skipped records (cli/ramp_campaign.py).

Pure logic: results are RunResult records as a runner would store them; the real OOM climb is in
tests/integration/test_ramp_oom.py.
"""

import json
from pathlib import Path
from typing import Optional

import pytest
from edgebench.cli import plan, ramp, ramp_campaign, store
from edgebench.suite.spec import RunResult

OK, OOM = ("ok", ("ok",)), ("oom", ("ok",))


def lv(value: int, statuses: list[tuple[str, tuple[str, ...]]], thr: Optional[list[float]] = None) -> ramp.Level:
    return ramp.Level(value, statuses, thr if thr is not None else [10.0 * value] * sum(s == "ok" for s, _ in statuses))


def test_stops_at_the_first_failing_level() -> None:
    r = ramp.Ramp(axis="batch_size")
    d = ramp.decide([lv(1, [OK]), lv(2, [OK]), lv(4, [OOM]), lv(8, [OK])], r)
    assert (d.stop_index, d.kind) == (2, "failure")
    assert d.reason == "above failing level 4 (1 of 1 repetitions oom)"
    assert d.skip_reason(2) == "" and d.skip_reason(3) == d.reason


def test_majority_needs_more_than_half_any_needs_one() -> None:
    level = lv(64, [OOM, OK, OK])
    assert ramp.level_failure(level, ramp.Ramp(axis="batch_size")) == ""
    assert ramp.level_failure(level, ramp.Ramp(axis="batch_size", fail_when="any")) == "1 of 3 repetitions oom"
    two = lv(64, [OOM, ("killed", ("ok",)), OK])
    assert ramp.level_failure(two, ramp.Ramp(axis="batch_size")) == "2 of 3 repetitions 1 killed, 1 oom"
    assert ramp.level_failure(two, ramp.Ramp(axis="batch_size", fail_when="all")) == ""


def test_expected_statuses_and_statuses_not_stopped_on_do_not_fail_a_level() -> None:
    r = ramp.Ramp(axis="copies", stop_on=["oom"])
    assert ramp.level_failure(lv(4, [("oom", ("oom",))]), r) == ""  # the cell expects the OOM
    assert ramp.level_failure(lv(4, [("timeout", ("ok",))]), r) == ""
    assert ramp.decide([lv(1, [OK]), lv(2, [("timeout", ("ok",))])], r).stop_index is None


def test_plateau_stops_after_k_levels_without_gain() -> None:
    r = ramp.Ramp(axis="copies", plateau=ramp.Plateau(levels=2, min_gain=0.05))
    levels = [lv(1, [OK], [100.0]), lv(2, [OK], [190.0]), lv(3, [OK], [195.0]), lv(4, [OK], [196.0]),
              lv(5, [OK], [150.0])]
    d = ramp.decide(levels, r)
    assert (d.stop_index, d.kind) == (3, "plateau")
    assert d.reason.startswith("plateau: best of levels 3/4 is 196 inf/s, less than 5% over 190 inf/s")
    # still climbing: each level gains more than 5 %
    assert ramp.decide([lv(1, [OK], [100.0]), lv(2, [OK], [200.0]), lv(3, [OK], [300.0])], r).stop_index is None


def test_check_ascending() -> None:
    assert ramp.check_ascending([1, 2, 4]) == ""
    assert "item 2, 2, is not above 4" in ramp.check_ascending([1, 4, 2])
    assert "must be numbers" in ramp.check_ascending([1, None])


def test_summary_names_max_level_best_level_and_the_stop() -> None:
    r = ramp.Ramp(axis="batch_size")
    s = ramp.summary([lv(1, [OK], [50.0]), lv(2, [OK], [80.0]), lv(4, [OK], [70.0]), lv(8, [OOM])], r)
    assert s["max_level_ok"] == 4 and s["best_level"] == 2 and s["best_throughput_ips"] == 80.0
    assert (s["stopped_by"], s["stop_level"], s["stop_reason"]) == ("failure", 8, "1 of 1 repetitions oom")


MATRIX = """name: ramp-unit
device: host-cpu
fixed: {model: resnet18, framework: onnxruntime, iterations: 2}
axes:
  batch_size: [4, 1, 2]
  threads: [1, 2]
ramp: {axis: batch_size}
repetitions: 2
"""


def _result(p: plan.PlannedRun, status: str) -> RunResult:
    return RunResult(run_id=p.run_id, status=status, spec=p.spec.to_dict(),
                     throughput_ips=1.0 if status == "ok" else None, host={"runner": "test"})


def test_plan_orders_levels_ascending_per_group_with_repetitions_together(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(MATRIX.replace("[4, 1, 2]", "[1, 2, 4]"))
    p = plan.build(path)
    got = [(r.spec.threads, r.spec.batch_size, r.spec.repetition) for r in p.runs]
    assert got == [(t, b, rep) for t in (1, 2) for b in (1, 2, 4) for rep in (0, 1)]


def test_walk_writes_skipped_records_and_resume_recomputes_the_same_decision(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(MATRIX.replace("[4, 1, 2]", "[1, 2, 4]"))
    p = plan.build(path)
    camp = tmp_path / "camp"
    camp.mkdir()

    def walk_once() -> list[RunResult]:
        w = ramp_campaign.Walk(p)
        done: list[RunResult] = []
        for planned in p.runs:
            skip = w.before(planned, camp, done)
            if skip is not None:
                done.append(skip)
                continue
            stored = store.read_run(camp / planned.run_id).result
            if stored is None:  # "run" it: threads 1 fails at batch 2 (both repetitions), threads 2 never
                status = "oom" if planned.spec.threads == 1 and planned.spec.batch_size >= 2 else "ok"
                stored = _result(planned, status)
                (camp / planned.run_id).mkdir()
                (camp / planned.run_id / "result.json").write_text(json.dumps(stored.to_dict()))
            done.append(stored)
        w.finish(camp, done)
        return done

    first = walk_once()
    skipped = [r for r in first if r.status == "skipped"]
    assert [(r.spec["threads"], r.spec["batch_size"]) for r in skipped] == [(1, 4), (1, 4)]
    assert all(r.reason == "batch_size: above failing level 2 (2 of 2 repetitions oom)" for r in skipped)
    assert all(store.read_run(camp / r.run_id).result.status == "skipped" for r in skipped)  # type: ignore[union-attr]
    ramps = json.loads((camp / "ramps.json").read_text())
    assert sorted(g["stop_level"] for g in ramps["groups"] if g["stopped_by"]) == [2]
    assert set(ramps["findings"]) >= {r.run_id for r in skipped}
    second = walk_once()
    assert [(r.run_id, r.status, r.reason) for r in second] == [(r.run_id, r.status, r.reason) for r in first]


def test_a_stale_skipped_record_is_set_aside_when_its_level_now_runs(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(MATRIX.replace("[4, 1, 2]", "[1, 2, 4]"))
    p = plan.build(path)
    camp = tmp_path / "camp"
    top = p.runs[4]  # threads 1, batch 4, repetition 0
    (camp / top.run_id).mkdir(parents=True)
    stale = RunResult(run_id=top.run_id, status="skipped", spec=top.spec.to_dict(), reason="old",
                      host={"runner": "ramp"})
    (camp / top.run_id / "result.json").write_text(json.dumps(stale.to_dict()))
    below = [_result(r, "ok") for r in p.runs[:4]]
    assert ramp_campaign.Walk(p).before(top, camp, below) is None
    assert not (camp / top.run_id).exists() and list((camp / store.INCOMPLETE).iterdir())


@pytest.mark.parametrize("text, key", [
    (MATRIX, "axes.batch_size[1]"),  # [4, 1, 2] does not ascend
    (MATRIX.replace("ramp: {axis: batch_size}", "ramp: {axis: copies}"), "ramp.axis"),
    (MATRIX.replace("ramp: {axis: batch_size}", "ramp: [{axis: batch_size}, {axis: batch_size}]")
     .replace("[4, 1, 2]", "[1, 2]"), "ramp[1].axis"),
    (MATRIX.replace("repetitions: 2", "repetitions: 2\norder: repetition-major").replace("[4, 1, 2]", "[1, 2]"),
     "order"),
])
def test_bad_ramps_are_refused_with_the_key(tmp_path: Path, text: str, key: str) -> None:
    from edgebench.cli.errors import InputError

    path = tmp_path / "m.yaml"
    path.write_text(text)
    with pytest.raises(InputError) as e:
        plan.build(path)
    assert e.value.key == key and e.value.line is not None


TWO = """name: two-ramps
device: host-cpu
fixed: {model: mobilenet_v3_small, framework: onnxruntime, input_shape: 64, workload: concurrent}
axes:
  batch_size: [1, 2, 4]
  copies: [1, 2, 4]
ramp: [{axis: copies}, {axis: batch_size}]
"""


def test_two_ramps_each_see_their_lower_levels_first_and_either_can_skip(tmp_path: Path) -> None:
    path = tmp_path / "two.yaml"
    path.write_text(TWO)
    p = plan.build(path)
    order = [(r.spec.copies, r.spec.batch_size) for r in p.runs]
    assert order == [(c, b) for c in (1, 2, 4) for b in (1, 2, 4)]
    w = ramp_campaign.Walk(p)
    done: list[RunResult] = []
    for planned in p.runs:  # 2 copies x batch 2 fails (OOM); everything else that runs fits
        skip = w.before(planned, tmp_path, done)
        fails = (planned.spec.copies, planned.spec.batch_size) == (2, 2)
        done.append(skip or _result(planned, "oom" if fails else "ok"))
    got = {(r.spec["copies"], r.spec["batch_size"]): (r.status, r.reason) for r in done}
    assert got[(2, 2)] == ("oom", "") and got[(1, 4)] == ("ok", "") and got[(4, 1)] == ("ok", "")
    assert got[(2, 4)] == ("skipped", "batch_size: above failing level 2 (1 of 1 repetitions oom)")
    assert got[(4, 2)] == ("skipped", "copies: above failing level 2 (1 of 1 repetitions oom)")
    # above both: its lower levels on each axis were skipped, so it is too
    assert got[(4, 4)] == ("skipped", "copies: above level 2, skipped by another ramp")
