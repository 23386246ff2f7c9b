"""`edgebench compare` over recorded real campaigns (tests/data/results) and copies of them with a known
slowdown (tests/unit/scaled.py), through the real CLI; and the statistics on drawn data of known shape."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from edgebench.cli.analysis import compare as cmp
from edgebench.cli.analysis.tables import Tables, load

from tests.conftest import ROOT
from tests.unit.scaled import scaled_copy, set_runtime_version
from tests.unit.test_bad_input import one_line_error

TINY = ROOT / "tests" / "data" / "results" / "tiny"
SWEEP = ROOT / "tests" / "data" / "results" / "sweep"


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "edgebench.cli.app", *args], capture_output=True, text=True,
                          timeout=120)


def test_a_campaign_against_itself_is_the_same_everywhere() -> None:
    c = cmp.compare(load(TINY), load(TINY))
    assert len(c.cells) == 9 and not c.only_base and not c.only_other
    assert all(x.verdict == "same" and x.ratio == 1.0 and x.ci_lo < 1 < x.ci_hi for x in c.cells)
    assert c.geomean == 1.0
    # 2 runs a side: the exact test cannot reach 5 % (smallest two-sided p = 2 / C(4, 2) = 1/3), and says so
    assert all(not x.test_can_decide for x in c.cells) and cmp.min_p(2, 2) == pytest.approx(1 / 3)


def test_three_times_slower_is_found_and_gates_ci(tmp_path: Path) -> None:
    slow = scaled_copy(TINY, tmp_path / "slow", 3.0)
    proc = cli("compare", str(TINY), str(slow), "--fail-if-slower", "5%", "--json")
    assert proc.returncode == 1, proc.stderr
    data = json.loads(proc.stdout)
    comp = data["comparisons"][0]
    assert comp["geomean"] == pytest.approx(3.0)
    assert comp["geomean_ci"][0] > 1  # the summary's own CI excludes "no change"
    assert comp["counts"]["slower"] >= 7 and comp["counts"]["faster"] == 0
    assert {r["cell"] for r in data["regressions"]} == {c["name"] for c in comp["cells"] if c["verdict"] == "slower"}
    assert all(c["ratio"] == pytest.approx(3.0) and c["slowdown"] == pytest.approx(3.0) for c in comp["cells"])
    # a limit above the slowdown lets it pass; throughput sees the same cells from the other side
    assert cli("compare", str(TINY), str(slow), "--fail-if-slower", "250%").returncode == 0
    thr = cmp.compare(load(TINY), load(slow), "throughput")
    assert all(x.ratio == pytest.approx(1 / 3) for x in thr.cells)
    assert {x.verdict for x in thr.cells} <= {"slower", "same"}


def test_faster_and_the_baseline_first(tmp_path: Path) -> None:
    fast = scaled_copy(TINY, tmp_path / "fast", 1 / 3)
    proc = cli("compare", str(TINY), str(fast), "--fail-if-slower", "5%")
    assert proc.returncode == 0, proc.stderr
    assert "faster" in proc.stdout and "0 slower" in proc.stdout


def test_cells_only_on_one_side_are_listed(tmp_path: Path) -> None:
    part = tmp_path / "part"
    scaled_copy(TINY, part, 1.0)
    gone = [p for p in part.iterdir() if (p / "result.json").exists()
            and json.loads((p / "result.json").read_text())["spec"]["model"] == "resnet18"]
    for p in gone:
        for f in p.iterdir():
            f.unlink()
        p.rmdir()
    c = cmp.compare(load(TINY), load(part))
    assert len(c.cells) == 5 and len(c.only_base) == 4 and not c.only_other
    assert all(cell["model"] == "resnet18" for cell in c.only_base)
    proc = cli("compare", str(TINY), str(part))
    assert proc.returncode == 0 and proc.stdout.count("only in tiny:") == 4


def test_a_different_runtime_version_is_refused_unless_asked(tmp_path: Path) -> None:
    other = scaled_copy(TINY, tmp_path / "other", 1.0)
    set_runtime_version(other, "onnxruntime", "0.0.1")
    msg = one_line_error(cli("compare", str(TINY), str(other)), "tiny vs other", "environment",
                         "runtime_version differs", "0.0.1", "--allow-differences")
    assert "torch" not in msg.split("runtime_version differs")[1].split(";")[0]
    proc = cli("compare", str(TINY), str(other), "--allow-differences")
    assert proc.returncode == 0 and "allowed difference: runtime_version differs" in proc.stderr


def test_bad_input(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("not a run")
    empty = str(tmp_path / "empty")
    one_line_error(cli("compare", str(TINY), empty), empty, "no campaign folder here")
    one_line_error(cli("compare", str(TINY), str(tmp_path / "nowhere")), str(tmp_path / "nowhere"))
    # sweep: only memory-limited mobilenet_v3_small/onnxruntime runs, tiny has none of those limits
    one_line_error(cli("compare", str(TINY), str(SWEEP)), "tiny vs sweep", "no cell with ok runs on both sides")
    one_line_error(cli("compare", str(TINY)), "compare", "at least two campaigns")
    one_line_error(cli("compare", str(TINY), str(TINY), "--fail-if-slower", "lots"), "--fail-if-slower",
                   "expected a share")
    one_line_error(cli("compare", str(TINY), str(TINY), "--metric", "p42"), "--metric", "p50, p99, throughput")


def _drawn(rng: np.random.RandomState, name: str, runs: int, scale: float) -> Tables:
    """`runs` runs of one cell: each run's level drifts (lognormal 5 %), samples around it (lognormal 10 %)."""
    rows, samples = [], []
    for i in range(runs):
        level = scale * 0.010 * rng.lognormal(0, 0.05)
        lat = level * rng.lognormal(0, 0.10, 30)
        rid = "%s-%d" % (name, i)
        rows.append({"run_id": rid, "status": "ok", "model": "m", "framework": "f", "precision": "fp32",
                     "batch_size": 1, "p50_s": float(np.median(lat)), "p99_s": float(np.percentile(lat, 99)),
                     "throughput_ips": 1 / float(np.mean(lat)), "device": "d"})
        samples += [{"run_id": rid, "phase": "measure", "latency_s": float(v)} for v in lat]
    return Tables(name, pd.DataFrame(rows), pd.DataFrame(samples), pd.DataFrame())


def test_false_alarms_are_rare_and_a_real_shift_is_found() -> None:
    """Same distribution on both sides: 'same' in at least 90 % of 40 draws (the CI is 95 %); a 20 %
    shift with 8 runs a side: 'slower' in most draws, and the CI holds the true ratio."""
    rng = np.random.RandomState(7)
    alarms = sum(cmp.compare(_drawn(rng, "a", 8, 1.0), _drawn(rng, "b", 8, 1.0), seed=i).cells[0].verdict != "same"
                 for i in range(40))
    assert alarms <= 4
    found, covered = 0, 0
    for i in range(20):
        x = cmp.compare(_drawn(rng, "a", 8, 1.0), _drawn(rng, "b", 8, 1.2), seed=i).cells[0]
        found += x.verdict == "slower"
        covered += x.ci_lo <= 1.2 <= x.ci_hi
    assert found >= 16 and covered >= 17
