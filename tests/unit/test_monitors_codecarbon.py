"""CodeCarbon for real (offline mode, on this machine's CPU): it must run, produce a kWh figure and
label every figure as an estimate, with the model it used."""

import time

from edgebench.suite import monitors

from tests.conftest import has_module, need


def test_codecarbon_estimates_energy_and_says_it_is_an_estimate() -> None:
    need(has_module("codecarbon"), "codecarbon (pip install codecarbon==3.3.2)")
    mon = monitors.create("codecarbon", 0.1, {"measure_s": 0.2})
    mon.start()
    time.sleep(1.0)
    agg = mon.stop()
    assert agg["power_estimate"] is True and "ESTIMATE" in agg["power_source"]
    assert agg["energy_kwh"] > 0 and abs(agg["energy_j"] - agg["energy_kwh"] * 3.6e6) < 1e-9
    assert agg["models"], "CodeCarbon names the model it used (RAPL, TDP, CPU load...)"
    powered = [r["power_w"] for r in mon.samples if r.get("power_w")]
    assert powered and all(p > 0 for p in powered)
