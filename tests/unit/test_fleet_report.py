"""`fleet merge` cost-performance on real recorded campaigns (tests/data/results), copied and given the
device profile a board's campaign would record (name, price_usd, price_source), then opened in Chromium."""

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from edgebench.cli.fleet_cmd import merge

from tests.browser import Chromium, chromium_path
from tests.conftest import has_module, need
from tests.unit.test_report_html import PLOTS_DRAWN, coloured

DATA = Path(__file__).resolve().parent.parent / "data" / "results"
BOARDS = {"board-a": (100.0, "list price of board A (2024)"), "board-b": (40.0, "shop price, 2025-06")}


def as_device(src: Path, dest: Path, name: str, price: object, source: str) -> None:
    shutil.copytree(src, dest)
    info = json.loads((dest / "campaign.json").read_text())
    info["device"].update(name=name, price_usd=price, price_source=source)
    (dest / "campaign.json").write_text(json.dumps(info))


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("fleet")
    for name, (usd, source) in BOARDS.items():
        as_device(DATA / "tiny", root / "in" / name / "tiny", name, usd, source)
    as_device(DATA / "sweep", root / "in" / "host" / "sweep", "host-cpu", None, "")
    merge([root / "in"], root / "out")
    return root / "out"


def test_throughput_per_dollar_with_price_source_and_date(fleet: Path) -> None:
    cp = pd.read_csv(fleet / "cost_performance.csv", dtype={"price_date": str})
    summary = pd.read_csv(fleet / "summary.csv")
    measured = summary[summary["throughput_ips_median_of_runs"].notna()]
    assert len(cp) == len(measured) == 2 * 9 + 3  # tiny: 9 cells with a throughput, sweep: 3; OOM cells left out
    a = cp[cp["device_profile"] == "board-a"]
    b = cp[cp["device_profile"] == "board-b"]
    assert list(a["ips_per_usd"]) == pytest.approx(list(a["throughput_ips_median_of_runs"] / 100.0))
    assert list(b["ips_per_usd"]) == pytest.approx(list(b["throughput_ips_median_of_runs"] / 40.0))
    assert len(a) == len(b) == 9
    assert set(a["price_date"]) == {"2024"} and set(b["price_date"]) == {"2025"}
    assert set(a["price_source"]) == {BOARDS["board-a"][1]}
    host = cp[cp["device_profile"] == "host-cpu"]
    assert len(host) == 3 and host["ips_per_usd"].isna().all()  # no price in the profile: no ratio made up
    assert cp["fps_per_w_measure"].isna().all()  # psutil only: no power was measured
    md = (fleet / "report.md").read_text()
    assert "## Cost-performance" in md and "list price of board A (2024)" in md


@pytest.fixture(scope="module")
def page(fleet: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chromium]:
    need(chromium_path() is not None, "chromium (bash scripts/setup-browser.sh)")
    need(has_module("websocket"), "websocket-client (the dev extra)")
    with Chromium(tmp_path_factory.mktemp("chromium-profile")) as b:
        b.open((fleet / "report.html").as_uri())
        b.wait_for(PLOTS_DRAWN)
        yield b


def test_fleet_page_shows_devices_side_by_side(page: Chromium, fleet: Path) -> None:
    assert page.errors() == []
    assert page.js("document.querySelectorAll('#cost tbody tr').length") == len(pd.read_csv(fleet /
                                                                                           "cost_performance.csv"))
    assert page.js("document.querySelectorAll('#devices tbody tr').length") == 3
    names = page.js("Array.prototype.map.call(document.querySelectorAll('.plot-wrap'), "
                    "function(w){return w.getAttribute('data-name');})")
    assert names == ["throughput_by_device", "throughput_per_usd"]
    assert "throughput_per_watt: no run sampled power" in page.js("document.body.innerText")
    for name in names:
        assert coloured(page.screenshot("#plot-%s .draglayer .nsewdrag" % name)) > 200, name
    # side by side: one bar trace per device with a value, in the same plot
    traces = page.js("document.getElementById('plot-throughput_by_device').data.map(function(t){return t.name;})")
    assert sorted(traces) == ["board-a", "board-b", "host-cpu"]
