"""Energy by phase on constructed power streams whose exact energy is known, and on a run folder written
the way the harness writes it (result.json phases + monitor.jsonl rows)."""

import json
from pathlib import Path

import pytest
from edgebench.cli.analysis.energy import energy_rows, integrate, run_energy


def grid(t0: float, t1: float, dt: float) -> list[float]:
    n = int(round((t1 - t0) / dt))
    return [round(t0 + i * dt, 9) for i in range(n + 1)]


def test_constant_5_w_over_a_2_s_phase_is_10_j() -> None:
    t = grid(0.0, 3.0, 0.1)
    r = integrate(t, [5.0] * len(t), 0.5, 2.5)
    assert r.energy_j == pytest.approx(10.0) and r.avg_power_w == pytest.approx(5.0)
    assert r.error_bound_j == 0 and r.coverage == pytest.approx(1.0) and not r.too_few_samples


def test_phase_edges_between_samples_take_only_their_part() -> None:
    t = [0.0, 1.0, 2.0, 3.0]
    r = integrate(t, [5.0] * 4, 0.25, 2.75)  # both edges cut an interval
    assert r.energy_j == pytest.approx(12.5) and r.samples == 2


def test_a_linear_ramp_is_integrated_exactly_even_across_edges() -> None:
    t = grid(0.0, 2.0, 0.5)
    r = integrate(t, list(t), 0.25, 1.75)  # P(t) = t W
    assert r.energy_j == pytest.approx((1.75 ** 2 - 0.25 ** 2) / 2)


@pytest.mark.parametrize("step_at", [0.9, 0.93, 0.97, 1.0])
def test_a_step_between_two_samples_stays_within_the_stated_bound(step_at: float) -> None:
    t = [0.0, 0.3, 0.6, 0.9, 1.0, 1.3, 1.6, 2.0]
    p = [2.0 if x < 0.95 else 6.0 for x in t]  # sampled: 2 W up to 0.9 s, 6 W from 1.0 s
    r = integrate(t, p, 0.0, 2.0)
    true = 2.0 * step_at + 6.0 * (2.0 - step_at)  # wherever in (0.9, 1.0] the step really was
    assert r.energy_j == pytest.approx(8.2)
    assert r.error_bound_j == pytest.approx(4.0 * 0.1 / 2)
    assert abs(r.energy_j - true) <= r.error_bound_j + 1e-12


def test_partial_coverage_and_short_phases_are_flagged() -> None:
    t = grid(1.0, 2.0, 0.5)
    r = integrate(t, [3.0] * len(t), 0.0, 2.0)
    assert r.coverage == pytest.approx(0.5) and r.energy_j == pytest.approx(3.0)
    short = integrate(t, [3.0] * len(t), 1.1, 1.2)
    assert short.too_few_samples and short.energy_j == pytest.approx(0.3)
    none = integrate(t, [3.0] * len(t), 5.0, 6.0)
    assert none.energy_j is None and none.coverage == 0


PHASES = [("import", 100.0, 101.0), ("load", 101.0, 102.0), ("build", 102.0, 102.5), ("warmup", 102.5, 103.0),
          ("measure", 103.0, 105.0)]


def write_run(folder: Path) -> Path:
    folder.mkdir()
    result = {"run_id": "abc123", "status": "ok", "spec": {"model": "resnet18", "framework": "torch",
                                                           "precision": "fp32", "batch_size": 1},
              "phases": [{"name": n, "start_mono": a, "end_mono": b, "start_wall": 0, "end_wall": 0}
                         for n, a, b in PHASES],
              "throughput_ips": 50.0, "inferences": 100,
              "monitor": {"tegrastats": {"power_source": "tegrastats VDD_IN", "power_estimate": False},
                          "codecarbon": {"power_source": "codecarbon ESTIMATE", "power_estimate": True}}}
    rows = []
    for t in grid(99.9, 105.1, 0.1):  # 3 W before the measure phase, 5 W in it (VDD_IN), a 1-2 W rail
        watts = 5.0 if 103.0 <= t <= 105.0 else 3.0
        rows.append({"monitor": "tegrastats", "t_mono": t, "power_w": watts, "rail_VDD_SOC_w": watts - 2.0})
        rows.append({"monitor": "codecarbon", "t_mono": t, "power_w": 20.0})
        rows.append({"monitor": "psutil", "t_mono": t, "rss_mb": 100.0})
    (folder / "result.json").write_text(json.dumps(result))
    (folder / "monitor.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return folder


def test_run_folder_gives_energy_per_phase_and_fps_per_watt(tmp_path: Path) -> None:
    figs = run_energy(write_run(tmp_path / "run"))
    assert [f["monitor"] for f in figs] == ["tegrastats", "codecarbon"]  # measured first, estimate last
    tg, cc = figs
    m = tg["phases"]["measure"]
    # the 3->5 W step sits between 102.9 and 103.0 s: the measure phase itself is flat 5 W
    assert m["energy_j"] == pytest.approx(10.0) and m["avg_power_w"] == pytest.approx(5.0)
    assert tg["fps_per_w_measure"] == pytest.approx(50.0 / 5.0)
    assert tg["energy_per_inference_j"] == pytest.approx(0.1)
    assert tg["phases"]["load"]["energy_j"] == pytest.approx(3.0)
    run = tg["run"]  # 100..105 s
    assert run["energy_j"] == pytest.approx(8.7 + 0.4 + 10.0)  # 3 W to 102.9 s, a ramp to 103 s, then 5 W
    assert run["error_bound_j"] == pytest.approx(2.0 * 0.1 / 2)
    assert tg["fps_per_w_run"] == pytest.approx(50.0 / (run["energy_j"] / 5.0))
    assert tg["energy_kwh_run"] == pytest.approx(run["energy_j"] / 3.6e6)
    assert tg["rails_measure_j"] == {"VDD_SOC": pytest.approx(6.0)}
    assert tg["sampling_interval_s"] == pytest.approx(0.1)
    assert cc["estimate"] is True and cc["phases"]["measure"]["avg_power_w"] == pytest.approx(20.0)


def test_energy_rows_flatten_for_a_table(tmp_path: Path) -> None:
    rows = energy_rows([write_run(tmp_path / "run"), tmp_path / "missing"])
    good = [r for r in rows if "problem" not in r]
    assert len(good) == 2 and good[0]["model"] == "resnet18" and good[0]["energy_j_measure"] == pytest.approx(10.0)
    assert good[0]["coverage_run"] == pytest.approx(1.0)
    assert [r for r in rows if "problem" in r][0]["run_dir"].endswith("missing")
