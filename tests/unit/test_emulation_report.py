"""Timings of emulated runs never read as device speed, on every surface that shows speed (issue 18).

The campaigns are the recorded real ones of tests/data/results (tiny: 20 runs on this 2-core host; sweep:
a P1 memory sweep with real OOM kills), copied and relabelled as a ceiling-mode or functional-mode
emulation of rpi4 would have written them (device NAME@MODE, labels emulated/emulation, campaign.json's
device). Their timings are real timings of this host, which is exactly what a ceiling run's are; for a
functional run they stand in for QEMU's. Run ids keep their recorded values (the store does not re-hash).
"""

import json
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from edgebench.cli.analysis import compare as cmp
from edgebench.cli.analysis import recommend as rec
from edgebench.cli.analysis import speed
from edgebench.cli.analysis.tables import load
from edgebench.cli.errors import InputError
from edgebench.cli.report import build_report
from edgebench.cli.report.data import ReportData
from edgebench.cli.report.render import to_json

from tests.conftest import ROOT

DATA = ROOT / "tests" / "data" / "results"


def relabel(src: Path, dst: Path, target: str, mode: str) -> Path:
    """A copy of a recorded campaign as an emulation of `target` in `mode` would have recorded it."""
    shutil.copytree(src, dst)
    dev = "%s@%s" % (target, mode)

    def fix(spec: dict[str, Any]) -> None:
        spec["device"] = dev
        spec["labels"] = dict(spec.get("labels") or {}, emulated=target, emulation=mode)

    for p in dst.glob("*/spec.json"):
        d = json.loads(p.read_text())
        fix(d)
        p.write_text(json.dumps(d))
    for p in dst.glob("*/result.json"):
        d = json.loads(p.read_text())
        fix(d["spec"])
        p.write_text(json.dumps(d))
    info = json.loads((dst / "campaign.json").read_text())
    info["device"] = dict(info.get("device") or {}, name=dev, emulates=target, emulation=mode, memory_mb=8192,
                          price_usd=None)
    (dst / "campaign.json").write_text(json.dumps(info))
    return dst


@pytest.fixture(scope="module")
def camps(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("emulated")
    out = {"real": root / "tiny"}
    shutil.copytree(DATA / "tiny", out["real"])
    out["ceiling"] = relabel(DATA / "tiny", root / "tiny-ceiling", "rpi4", "ceiling")
    out["functional"] = relabel(DATA / "tiny", root / "tiny-functional", "rpi4", "functional")
    out["sweep"] = relabel(DATA / "sweep", root / "sweep-ceiling", "jetson-nano", "ceiling")
    return out


@pytest.fixture(scope="module")
def functional(camps: dict[str, Path]) -> ReportData:
    return build_report(camps["functional"])


@pytest.fixture(scope="module")
def ceiling(camps: dict[str, Path]) -> ReportData:
    return build_report(camps["ceiling"])


def test_modes_from_labels_and_device_names_older_results_too() -> None:
    assert speed.mode_of({"device": "rpi4@ceiling"}) == "ceiling"
    assert speed.mode_of({"device": "rpi4@functional"}) == "functional"
    assert speed.mode_of({"device": "rpi4@emulated"}) == "functional"  # before modes: always the device's images
    assert speed.mode_of({"device": "x", "label_emulated": "rpi4"}) == "functional"
    assert speed.mode_of({"device": "rpi4", "label_emulation": "ceiling"}) == "ceiling"
    assert speed.mode_of({"device": "host-cpu"}) is None and speed.mode_of({"device": float("nan")}) is None


def test_functional_cells_show_ran_ok_never_a_qemu_timing(functional: ReportData) -> None:
    s = functional.summary
    ok = s[s["ok"] > 0]
    assert len(ok) == 9 and ok["p50_ms_median_of_runs"].isna().all()
    assert ok["throughput_ips_median_of_runs"].isna().all()
    assert set(s["timing"]) == {"QEMU: not shown"}
    runs = pd.read_csv(functional.out_dir / "runs.csv")
    assert runs["p50_s"].isna().all() and runs["throughput_ips"].isna().all()
    assert runs["peak_rss_mb"].notna().sum() == 18  # memory is not a timing: kept
    md = (functional.out_dir / "report.md").read_text()
    cells = md[md.index("## Cells"):md.index("## Ranking")]
    assert cells.count("| ran: ok |") == 9 and "timings are QEMU's" in cells
    real_p50 = "%.2f" % (1000 * load(DATA / "tiny").runs["p50_s"].dropna().iloc[0])
    assert real_p50 not in cells
    assert not any("latency_p50" in f.name or "throughput_vs_batch" in f.name for f in functional.figures)
    assert any("no ok runs" in n for n in functional.notes)
    page = (functional.out_dir / "report.html").read_text()
    assert "QEMU: not shown" in page and "timings are QEMU&#x27;s" in page
    assert to_json(functional)["speed_notes"] == functional.speed_notes != []
    assert functional.analyses is not None and functional.analyses.ranking.empty  # nothing ranked on QEMU


def test_functional_timings_shown_only_when_asked_and_then_marked(camps: dict[str, Path], tmp_path: Path) -> None:
    data = build_report(camps["functional"], tmp_path / "shown", show_emulated=True)
    assert data.summary["p50_ms_median_of_runs"].notna().sum() == 9
    assert set(data.summary["timing"]) == {"QEMU"}
    assert "(QEMU) |" in (data.out_dir / "report.md").read_text()


def test_ceiling_timings_are_marked_host_cpu(ceiling: ReportData) -> None:
    s = ceiling.summary
    assert s["p50_ms_median_of_runs"].notna().sum() == 9 and set(s["timing"]) == {"host CPU"}
    md = (ceiling.out_dir / "report.md").read_text()
    cells = md[md.index("## Cells"):md.index("## Ranking")]
    assert cells.count("(host CPU) |") == 9 and "timings are this host's CPU" in cells
    page = (ceiling.out_dir / "report.html").read_text()
    assert "<h3>Throughput vs batch size [timings: host CPU, ceiling emulation]</h3>" in page


def test_compare_leaves_qemu_out_and_marks_host_cpu(camps: dict[str, Path]) -> None:
    fn, ce, real = load(camps["functional"]), load(camps["ceiling"]), load(camps["real"])
    with pytest.raises(InputError, match="functional-emulation run.*QEMU"):
        cmp.compare(fn, fn)
    shown = cmp.compare(fn, fn, show_emulated=True)
    assert {c.timing for c in shown.cells} == {"QEMU"}
    c = cmp.compare(ce, ce)
    assert len(c.cells) == 9 and {x.timing for x in c.cells} == {"host CPU"}
    with pytest.raises(InputError, match="no cell with ok runs on both sides"):  # emulated never meets real
        cmp.compare(real, ce)


def test_recommend_never_recommends_on_emulated_speed(camps: dict[str, Path]) -> None:
    tables = [load(camps[k]) for k in ("real", "ceiling", "functional")]
    ans = rec.recommend(tables, {"max_p99_ms": 1000.0})
    assert set(ans.feasible["device"]) == {"host-cpu"} and "On host-cpu" in ans.sentence
    emu = ans.configs[ans.configs["emulation"] != ""]
    assert len(emu) == 20 and not emu["meets"].any()
    assert emu["violations"].str.startswith("emulated (").all()
    # the fronts are computed over the real configurations alone; no emulated one is ever on them
    assert not emu["pareto_throughput_latency"].any() and not emu["pareto_memory_latency"].any()
    alone = rec.pareto(rec.configurations([tables[0]]))
    real = ans.configs[ans.configs["emulation"] == ""]
    assert int(real["pareto_throughput_latency"].sum()) == int(alone["pareto_throughput_latency"].sum()) > 0
    only = rec.recommend([tables[1]], {})
    assert only.feasible.empty and only.sentence.startswith("Nothing to recommend: every configuration is emulated")
    limits = rec.memory_limits(ans.configs, 0.1)
    assert not any(str(m["device"]).endswith("@functional") for m in limits)


def test_fleet_merge_marks_emulated_columns_and_prices_none(camps: dict[str, Path], tmp_path: Path) -> None:
    from edgebench.cli.fleet_cmd import merge

    md = merge([camps["real"], camps["ceiling"], camps["functional"]], tmp_path / "fleet").read_text()
    head = next(line for line in md.splitlines() if line.startswith("| model | framework"))
    assert head.endswith("| host-cpu | rpi4@ceiling (host CPU) | rpi4@functional (QEMU: not shown) |")
    row = next(line for line in md.splitlines() if line.startswith("| resnet18 | torch | fp32 | 1 |"))
    assert row.endswith("| ran: ok |")
    assert "rpi4@functional (emulated, functional mode)" in md
    cp = pd.read_csv(tmp_path / "fleet" / "cost_performance.csv")
    assert set(cp["device_profile"]) == {"host-cpu"}
    summary = pd.read_csv(tmp_path / "fleet" / "summary.csv")
    assert summary.groupby(["device_profile"]).size().to_dict() == {"host-cpu": 10, "rpi4@ceiling": 10,
                                                                     "rpi4@functional": 10}


def test_ceilings_answer_with_the_memory_limit_and_what_emulation_cannot_see(camps: dict[str, Path]) -> None:
    data = build_report(camps["sweep"])
    c = data.ceilings
    assert c is not None and c.device == "jetson-nano"
    (fit,) = c.fits.to_dict("records")
    assert fit["max_batch_ok"] == 1 and fit["memory_limit_mb"] == 120 and fit["stopped_by"] == "nothing failed"
    (mem,) = c.memory.to_dict("records")
    assert mem["limits_tried_mb"] == "40/80/120" and mem["fits_down_to_mb"] == 80
    assert mem["degrades_below_mb"] == 80 and mem["below_that"] == "at 40 MiB: 2 oom"
    assert any("GPU shares its RAM" in x for x in c.caveats) and any("accelerators absent" in x for x in c.caveats)
    md = (data.out_dir / "report.md").read_text()
    section = md[md.index("## Memory ceilings of jetson-nano"):]
    assert "| 40/80/120 |" in section and "at 40 MiB: 2 oom" in section and "GPU shares its RAM" in section
    page = (data.out_dir / "report.html").read_text()
    assert "Memory ceilings of jetson-nano" in page and "ceilings-memory" in page
    assert (data.out_dir / "ceilings_memory.csv").is_file()


def test_no_ceiling_section_without_ceiling_runs(functional: ReportData) -> None:
    assert functional.ceilings is None and "Memory ceilings" not in (functional.out_dir / "report.md").read_text()
