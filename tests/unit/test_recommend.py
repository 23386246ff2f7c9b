"""`edgebench recommend` over recorded real campaigns (tests/data/results), through the real CLI."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
from edgebench.cli.analysis import recommend as rec
from edgebench.cli.analysis.tables import load

from tests.conftest import ROOT
from tests.unit.scaled import scaled_copy
from tests.unit.test_bad_input import one_line_error

TINY = ROOT / "tests" / "data" / "results" / "tiny"


def cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "edgebench.cli.app", "recommend", *args, "--out",
                           str(tmp_path / "fig")], capture_output=True, text=True, timeout=120)


def test_the_best_under_a_latency_budget(tmp_path: Path) -> None:
    proc = cli(tmp_path, str(TINY), "--max-p99-ms", "50", "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    got = data["recommended"]
    assert got and all(r["p99_ms"] <= 50 and r["runs_ok"] == r["runs"] for r in got)
    configs = rec.configurations([load(TINY)])
    fit = configs[(configs["p99_ms"] <= 50) & (configs["runs_ok"] == configs["runs"])]
    assert len(got) == len(fit)
    best = fit.loc[fit["throughput_ips"].idxmax()]
    assert data["sentence"].startswith("On host-cpu, %s gives %.0f inf/s" % (rec.name(best), best["throughput_ips"]))
    assert "under max-p99-ms 50" in data["sentence"]
    # ranks: 1 + how many CIs lie wholly above; the best is rank 1 and so is all that overlaps it
    top = max(got, key=lambda r: r["throughput_ips"])
    assert top["rank"] == 1
    for r in got:
        above = sum(o["throughput_ips_ci_lo"] > r["throughput_ips_ci_hi"] for o in got)
        assert r["rank"] == 1 + above
    png = Path(data["figure"])
    assert png.stat().st_size > 10_000 and (tmp_path / "fig" / "configurations.csv").exists()


def test_nothing_fits_says_what_fails_closest(tmp_path: Path) -> None:
    proc = cli(tmp_path, str(TINY), "--max-p99-ms", "1", "--max-memory-mb", "4000")
    assert proc.returncode == 0, proc.stderr
    configs = rec.configurations([load(TINY)])
    ok = configs[configs["runs_ok"] == configs["runs"]]
    fastest = ok.loc[ok["p99_ms"].idxmin()]
    line = [x for x in proc.stdout.splitlines() if x.startswith("Nothing meets every constraint.")][0]
    assert "Closest: %s on host-cpu misses p99 latency" % rec.name(fastest) in line
    assert "> max 1 ms" in line


def test_memory_limit_enough_for_the_latency(tmp_path: Path) -> None:
    """P1's question on tiny: mobilenet_v3_small/onnxruntime b1 ran unlimited and at 1024 MiB."""
    configs = rec.configurations([load(TINY)])
    free = configs[(configs["model"] == "mobilenet_v3_small") & (configs["framework"] == "onnxruntime")
                   & (configs["batch_size"] == 1)]
    unlimited = float(free[free["limit_memory_mb"].isna()]["p50_ms"].iloc[0])
    at_1024 = float(free[free["limit_memory_mb"] == 1024]["p50_ms"].iloc[0])
    share = at_1024 / unlimited - 1
    loose = [m for m in rec.memory_limits(configs, share + 0.01) if m["model"] == "mobilenet_v3_small"
             and m["framework"] == "onnxruntime"]
    assert loose[0]["enough_mb"] == 1024
    tight = [m for m in rec.memory_limits(configs, share - 0.01) if m["model"] == "mobilenet_v3_small"
             and m["framework"] == "onnxruntime"]
    assert tight[0]["enough_mb"] is None
    oom = [m for m in rec.memory_limits(configs, 10.0) if m["model"] == "resnet18" and m["batch_size"] == 2]
    assert oom[0]["enough_mb"] is None  # 150 MiB was OOM-killed: never enough, however loose the share


def test_pareto_fronts_hold_only_undominated_configurations(tmp_path: Path) -> None:
    slow = scaled_copy(TINY, tmp_path / "slow", 2.0)
    p = rec.pareto(rec.configurations([load(TINY), load(slow)]))
    thr, p99, mem = (p[c].to_numpy(dtype=float) for c in ("throughput_ips", "p99_ms", "memory_mb"))
    for flag, better_x in (("pareto_throughput_latency", -thr), ("pareto_memory_latency", mem)):
        front = p[flag].to_numpy(dtype=bool)
        assert front.any()
        for i in range(len(p)):
            if np.isnan(p99[i]):
                continue
            dom = (better_x <= better_x[i]) & (p99 <= p99[i]) & ((better_x < better_x[i]) | (p99 < p99[i]))
            assert front[i] == (not dom.any()), (flag, i)
    assert not p[p["campaign"] == "slow"]["pareto_throughput_latency"].any()  # 2x slower everywhere: all beaten


def test_bad_input(tmp_path: Path) -> None:
    one_line_error(cli(tmp_path, str(TINY), "--max-power-w", "5"), "--max-power-w", "no run measured power")
    one_line_error(cli(tmp_path, str(TINY), "--objective", "fps-per-watt"), "--objective fps-per-watt",
                   "no run measured power")
    one_line_error(cli(tmp_path, str(TINY), "--objective", "cheapest"), "--objective", "throughput, latency")
    one_line_error(cli(tmp_path, str(tmp_path / "nowhere")), str(tmp_path / "nowhere"))
    one_line_error(cli(tmp_path, str(TINY), "--latency-share", "x"), "--latency-share", "expected a share")
