"""P3's answers from a campaign's saved runs: throughput against concurrency, what each ramp found
(maximum level, best level, the failure that stopped it), and dynamic placement (DMP) against each
processor alone and against P3's "ideal" sum of the separate CME maxima.

Reads result.json files (the spec inside each, so it works before and after the v2 runs table
carries workload/copies columns) and campaign.json's matrix (the ramps). Medians are over ok runs;
DMP runs marked invalid (`valid: false`, streams' ends too far apart) are counted, not used.
"""

import json
import statistics
from pathlib import Path
from typing import Any, Optional

import pandas as pd

from .. import ramp, store

KEYS = ["device", "model", "framework", "precision", "placement", "batch_size"]
CONC_COLUMNS = KEYS + ["copies", "throughput_ips", "runs_ok", "runs"]
RAMP_COLUMNS = ["axis", "group", "levels_ran", "max_level_ok", "best_level", "best_throughput_ips", "stopped_by",
                "stop_level", "stop_reason", "skipped"]
DMP_COLUMNS = ["device", "streams", "throughput_ips", "runs_ok", "runs_invalid", "runs", "alone_ips", "alone_sum_ips",
               "cme_max_ips", "ideal_ips", "share_of_ideal"]


def _streams(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """Stream 0 from the top-level fields, then the spec's other streams."""
    first = {k: spec.get(k) for k in ("model", "framework", "precision", "placement", "batch_size")}
    first["copies"] = spec.get("copies", 1)
    return [first] + [dict(s) for s in spec.get("streams") or []]


def _label(s: dict[str, Any]) -> str:
    return "%s/%s %s@%s x%s" % (s.get("model"), s.get("framework"), s.get("precision") or "fp32",
                                s.get("placement") or "cpu", s.get("copies", 1))


def records(campaign_dir: Path) -> pd.DataFrame:
    """One row per readable run: the keys, workload, copies, streams, status, throughput, validity."""
    rows = []
    for stored in store.iter_runs(campaign_dir):
        r = stored.result
        if r is None:
            continue
        spec = r.spec
        extra = json.loads((stored.path / "result.json").read_text()) if (stored.path / "result.json").exists() else {}
        row = {k: spec.get(k) for k in KEYS}
        row.update({"run_id": r.run_id, "status": r.status, "throughput_ips": r.throughput_ips,
                    "workload": spec.get("workload", "single"), "copies": spec.get("copies", 1),
                    "streams": " + ".join(_label(s) for s in _streams(spec)),
                    "valid": extra.get("valid", True) is not False, "spec": spec})
        rows.append(row)
    return pd.DataFrame(rows)


def _median(values: "pd.Series[Any]") -> Optional[float]:
    vals = [float(v) for v in values if v is not None and v == v]
    return statistics.median(vals) if vals else None


def concurrency(recs: pd.DataFrame) -> pd.DataFrame:
    """Median throughput per CME level (one line per batch size in the figure)."""
    if recs.empty:
        return pd.DataFrame(columns=CONC_COLUMNS)
    cme = recs[recs["workload"] == "concurrent"]
    out = []
    for key, g in cme.groupby(KEYS + ["copies"], dropna=False):
        ok = g[g["status"] == "ok"]
        out.append(dict(zip(KEYS + ["copies"], key), throughput_ips=_median(ok["throughput_ips"]), runs_ok=len(ok),
                        runs=len(g)))
    return pd.DataFrame(out, columns=CONC_COLUMNS)


def ramps(recs: pd.DataFrame, matrix: dict[str, Any]) -> pd.DataFrame:
    """Per ramp and group that climbed (two or more levels, or any skipped): what the climb found."""
    rps = ramp.from_matrix_dict(matrix)
    if recs.empty or not rps:
        return pd.DataFrame(columns=RAMP_COLUMNS)
    rec = [ramp.Record(r["run_id"], r["spec"], r["status"], r["throughput_ips"]) for _, r in recs.iterrows()]
    out = []
    for rp in rps:
        for group, levels in ramp.levels_of(rec, rp.axis).items():
            skipped = [x for x in rec if x.status == "skipped" and ramp.group_key(x.spec, rp.axis) == group]
            if len(levels) < 2:
                continue  # one level: nothing climbed on this axis
            g = json.loads(group)
            label = " ".join("%s=%s" % (k, g[k]) for k in ("model", "framework", "precision", "placement",
                                                            "batch_size", "copies") if k in g and k != rp.axis)
            row = ramp.summary(levels, rp)
            row.update(group=label, skipped=len(skipped), levels_ran="/".join(str(v) for v in row["levels_ran"]))
            out.append(row)
    return pd.DataFrame(out, columns=RAMP_COLUMNS)


def _match(recs: pd.DataFrame, s: dict[str, Any], workload: str) -> pd.DataFrame:
    """Ok runs of the stream's model on its processor: the same placement, else the same kind of
    processor (a DMP stream pinned to cpu:1 compares with the model's runs on the CPU)."""
    m = recs[(recs["workload"] == workload) & (recs["status"] == "ok")]
    for k in ("model", "framework"):
        m = m[m[k] == s.get(k)]
    m = m[m["precision"].fillna("fp32") == (s.get("precision") or "fp32")]
    m = m[m["batch_size"].fillna(1) == (s.get("batch_size") or 1)]
    placement = str(s.get("placement") or "cpu")
    same = m[m["placement"] == placement]
    return same if not same.empty else m[m["placement"].astype(str).str.split(":").str[0] == placement.split(":")[0]]


def _alone(recs: pd.DataFrame, s: dict[str, Any]) -> Optional[float]:
    """Single tenancy: the stream's single runs, else its one-copy CME runs (the same thing, P3's level 1)."""
    single = _match(recs, s, "single")
    if single.empty:
        single = _match(recs, s, "concurrent")
        single = single[single["copies"] == 1]
    return _median(single["throughput_ips"])


def _sum(values: list[Optional[float]]) -> Optional[float]:
    """The sum when every value is known (P3's ideal needs every stream's maximum)."""
    known = [v for v in values if v is not None]
    return sum(known) if len(known) == len(values) else None


def dmp(recs: pd.DataFrame) -> pd.DataFrame:
    """Per DMP configuration: its median throughput, each stream alone (single tenancy), each stream's CME
    maximum (best median over its concurrency levels) and P3's ideal (the sum of those maxima)."""
    if recs.empty:
        return pd.DataFrame(columns=DMP_COLUMNS)
    pl = recs[recs["workload"] == "placement"]
    out = []
    for (device, label), g in pl.groupby(["device", "streams"], dropna=False):
        good = g[(g["status"] == "ok") & g["valid"]]
        streams = _streams(g.iloc[0]["spec"])
        here = recs[recs["device"] == device]
        alone = [_alone(here, s) for s in streams]
        cme_max = []
        for s in streams:
            c = _match(here, s, "concurrent")
            meds = [_median(x["throughput_ips"]) for _, x in c.groupby("copies")]
            cme_max.append(max((m for m in meds if m is not None), default=None))
        thr = _median(good["throughput_ips"])
        ideal = _sum(cme_max)
        out.append({"device": device, "streams": label, "throughput_ips": thr, "runs_ok": len(good),
                    "runs_invalid": int((~g["valid"]).sum()), "runs": len(g),
                    "alone_ips": " / ".join("-" if v is None else "%.4g" % v for v in alone),
                    "alone_sum_ips": _sum(alone),
                    "cme_max_ips": " / ".join("-" if v is None else "%.4g" % v for v in cme_max),
                    "ideal_ips": ideal,
                    "share_of_ideal": thr / ideal if thr is not None and ideal else None})
    return pd.DataFrame(out, columns=DMP_COLUMNS)
