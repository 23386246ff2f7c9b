"""report.html on a real recorded campaign (tests/data/results/tiny), opened in a real headless Chromium.

The browser is Debian's chromium (scripts/setup-browser.sh installs it for `make test`), driven over the
DevTools protocol by tests/browser.py: no console error, nothing fetched from the network, one table row
per cell, a filter that narrows it, a sort that orders it, and every plot drawn (coloured pixels in a
screenshot of its axes, where an empty plot has none: the last test shows it, on a page of its own).
"""

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import pytest
from edgebench.cli.report import ReportData, build_report
from edgebench.cli.report.html import document, plots
from edgebench.cli.report.html_figures import Figure, report_figures
from edgebench.suite.spec import RunSpec

from tests.browser import Chromium, chromium_path
from tests.conftest import has_module, need

DATA = Path(__file__).resolve().parent.parent / "data" / "results"
TINY = DATA / "tiny"
# True once plotly has drawn an SVG into every plot of the page.
PLOTS_DRAWN = ("document.querySelectorAll('.plot-wrap').length > 0 && "
               "Array.prototype.every.call(document.querySelectorAll('.plot-wrap'), "
               "function(w){return w.querySelector('svg.main-svg') !== null;})")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> ReportData:
    return build_report(TINY, tmp_path_factory.mktemp("tiny-html"))


@pytest.fixture(scope="module")
def page(tiny: ReportData, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chromium]:
    need(chromium_path() is not None, "chromium (bash scripts/setup-browser.sh)")
    need(has_module("websocket"), "websocket-client (the dev extra)")
    with Chromium(tmp_path_factory.mktemp("chromium-profile")) as b:
        b.open((tiny.out_dir / "report.html").as_uri())
        b.wait_for(PLOTS_DRAWN)
        yield b


def coloured(img: object) -> int:
    """Pixels whose channels differ by more than 60: traces, bars, heatmap cells; not white, grey or text."""
    a = np.asarray(img).astype(int)
    return int(((a.max(axis=2) - a.min(axis=2)) > 60).sum())


def test_report_html_is_one_self_contained_file(tiny: ReportData) -> None:
    path = tiny.out_dir / "report.html"
    assert path in tiny.files
    text = path.read_text()
    assert not re.search(r"<script[^>]+src=|<link[^>]+href=|@import", text), "the page must not fetch anything"
    assert "plotly.js v" in text  # the library itself is inline
    assert text.count('<details class="run"') == len(tiny.runs) == 20
    assert text.count("edgebench replay ") == 20


def test_damaged_and_incomplete_folders_are_listed_in_the_page(tmp_path: Path) -> None:
    camp = tmp_path / "tiny"
    shutil.copytree(TINY, camp)
    (camp / "d816104fbf65" / "result.json").write_text("{")
    text = (build_report(camp, tmp_path / "rep").out_dir / "report.html").read_text()
    assert "damaged run folder <code>%s</code>" % (camp / "d816104fbf65") in text
    assert text.count('<details class="run"') == 19
    # No readable run at all (the one folder was never checked by the host): still a page, saying so.
    empty = (build_report(DATA / "fallback", tmp_path / "fb").out_dir / "report.html").read_text()
    assert "incomplete run folder <code>%s</code>" % (DATA / "fallback" / "b2fefdf082e5") in empty
    assert "<p>No runs.</p>" in empty and '<div class="plot-wrap"' not in empty


def test_page_loads_with_no_console_error_and_no_network(page: Chromium) -> None:
    assert page.errors() == []
    fetched = [u for u in page.requested() if not u.startswith(("file:", "data:", "blob:", "about:"))]
    assert fetched == []


def test_table_has_a_row_per_cell_and_the_filter_narrows_it(page: Chromium, tiny: ReportData) -> None:
    rows = "document.querySelectorAll('#summary tbody tr')"
    visible = "Array.prototype.filter.call(%s, function(r){return r.style.display !== 'none';}).length" % rows
    assert page.js(rows + ".length") == len(tiny.summary) == 10

    def typed(text: str) -> int:
        page.js("(function(){var i=document.getElementById('summary-filter');i.value=%r;"
                "i.dispatchEvent(new Event('input'));})()" % text)
        shown = page.js(visible)
        assert page.js("document.getElementById('summary-count').textContent") == str(shown)
        return int(shown)

    want = int(((tiny.summary["model"] == "resnet18") & (tiny.summary["framework"] == "torch")).sum())
    assert 0 < want < len(tiny.summary)
    assert typed("resnet18 torch") == want
    assert typed("no-such-cell") == 0
    assert typed("") == len(tiny.summary)


def test_a_header_click_sorts_numbers_as_numbers(page: Chromium, tiny: ReportData) -> None:
    col = page.js("Array.prototype.map.call(document.querySelectorAll('#summary thead th'), "
                  "function(h){return h.textContent;}).indexOf('p50_ms_median_of_runs')")
    assert col >= 0
    page.js("document.querySelectorAll('#summary thead th')[%d].click()" % col)
    got = page.js("Array.prototype.map.call(document.querySelectorAll('#summary tbody tr'), "
                  "function(r){return r.cells[%d].getAttribute('data-v');})" % col)
    nums = [float(v) for v in got if v != ""]
    assert nums == sorted(nums) and len(nums) == int(tiny.summary["p50_ms_median_of_runs"].notna().sum())
    assert got[len(nums):] == [""] * (len(got) - len(nums))  # cells with no latency (OOM) sort last


def test_every_plot_is_drawn(page: Chromium, tiny: ReportData) -> None:
    names = page.js("Array.prototype.map.call(document.querySelectorAll('.plot-wrap'), "
                    "function(w){return w.getAttribute('data-name');})")
    assert names == ["latency_vs_memory_limit", "throughput_vs_batch", "correlation_host-cpu", "warmup_vs_steady",
                     "pareto_throughput_ips", "pareto_memory_mb"]
    assert coloured(page.screenshot("h1")) == 0  # the check tells a page without a plot apart
    for name in names:
        img = page.screenshot("#plot-" + name)
        assert img.size == (900, 480), (name, img.size)
        # Inside the axes only (plotly's drag rectangle covers them): the legend alone does not count.
        area = page.screenshot("#plot-%s .draglayer .nsewdrag" % name)
        assert coloured(area) > 200, (name, coloured(area))


def test_each_run_environment_and_replay_are_one_click_away(page: Chromium, tiny: ReportData) -> None:
    rid = str(tiny.runs.iloc[0]["run_id"])
    sel = "document.getElementById('run-%s')" % rid
    assert page.js(sel + ".open") is False
    page.js(sel + ".querySelector('summary').click()")
    assert page.js(sel + ".open") is True
    text = page.js(sel + ".innerText")
    assert "edgebench replay %s" % (TINY / rid) in text and '"kernel"' in text


def test_an_empty_plot_has_no_coloured_pixels(page: Chromium, tmp_path: Path) -> None:
    """The control for test_every_plot_is_drawn: the same page parts with an empty figure (runs last: it
    navigates away from the report)."""
    empty = go.Figure().update_layout(template="plotly_white", width=900, height=480)
    path = tmp_path / "empty.html"
    path.write_text(document("empty", plots([Figure("empty", "empty", empty)])))
    page.open(path.as_uri())
    page.wait_for("document.querySelector('#plot-empty svg.main-svg') !== null")
    assert coloured(page.screenshot("#plot-empty .draglayer .nsewdrag")) == 0
    assert page.errors() == []


def test_throughput_vs_concurrency_has_a_line_per_runtime_and_workload(tmp_path: Path) -> None:
    """The P3 campaign of test_report_multi (results stored as a runner stores them): copies 1, 2, 4."""
    from tests.unit.test_report_multi import LITE, ORT, _store

    camp = tmp_path / "p3"
    camp.mkdir()
    (camp / "campaign.json").write_text(json.dumps({"name": "p3", "matrix": {"name": "p3"}}))
    _store(camp, RunSpec(**ORT), 100.0)  # type: ignore[arg-type]
    for copies, thr in ((1, 100.0), (2, 180.0), (4, 170.0)):
        _store(camp, RunSpec(**ORT, workload="concurrent", copies=copies), thr)  # type: ignore[arg-type]
        _store(camp, RunSpec(**LITE, workload="concurrent", copies=copies), thr / 2)  # type: ignore[arg-type]
    figs, _ = report_figures(build_report(camp))
    fig = next(f.figure for f in figs if f.name == "throughput_vs_copies")
    lines = {t.name: (list(t.x), list(t.y)) for t in fig.data}
    assert lines["mobilenet_v3_small onnxruntime fp32 concurrent"] == ([1, 2, 4], [100.0, 180.0, 170.0])
    assert lines["mobilenet_v3_small tflite fp32 concurrent"] == ([1, 2, 4], [50.0, 90.0, 85.0])


def test_pareto_plots_draw_recommends_fronts(tiny: ReportData) -> None:
    """The two Pareto plots show every configuration and, as a line, exactly those recommend.pareto puts on
    the front: no configuration off the line beats one on it on both axes."""
    figs = {f.name: f.figure for f in report_figures(tiny)[0]}
    assert tiny.pareto is not None
    for x, flag in (("throughput_ips", "pareto_throughput_latency"), ("memory_mb", "pareto_memory_latency")):
        points, front = figs["pareto_" + x].data
        measured = tiny.pareto[tiny.pareto[x].notna() & tiny.pareto["p99_ms"].notna()]  # an OOM cell has none
        on = measured[measured[flag].astype(bool)]
        assert len(measured) < len(tiny.pareto) and len(points.x) == len(measured)
        assert 0 < len(on) < len(measured) and sorted(front.x) == sorted(on[x])
        better = (lambda a, b: a > b) if x == "throughput_ips" else (lambda a, b: a < b)
        for _, f in on.iterrows():
            assert not any(better(r[x], f[x]) and r["p99_ms"] < f["p99_ms"] for _, r in measured.iterrows())
