"""`edgebench results export`: one Parquet file per table (runs, samples, monitor)."""

import json
from pathlib import Path
from typing import Any, Optional

import pandas as pd

from .. import store
from .tables import Tables, load

EXPORT_DIR = "_export"  # inside the campaign; '_' keeps it out of the store's run folders
TABLES = ("runs", "samples", "monitor")


def parquet_ready(df: pd.DataFrame) -> pd.DataFrame:
    """Object columns that mix types (None, bool, numbers, text, lists) become one type Parquet accepts:
    all-bool columns stay boolean (nullable), everything else mixed becomes JSON text."""
    out = df.copy()
    for col in out.columns:
        s = out[col]
        if s.dtype != object:
            continue
        vals = [v for v in s if v is not None and not (isinstance(v, float) and v != v)]
        if not vals:
            out[col] = s.astype("string")
        elif all(isinstance(v, bool) for v in vals):
            out[col] = s.astype("boolean")
        elif all(isinstance(v, str) for v in vals):
            out[col] = s.astype("string")
        elif all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in vals):
            out[col] = pd.to_numeric(s, errors="coerce")
        else:
            out[col] = s.map(_json_text).astype("string")
    return out


def _json_text(v: Any) -> Optional[str]:
    if v is None or (isinstance(v, float) and v != v):
        return None
    return v if isinstance(v, str) else json.dumps(v, sort_keys=True)


def export(campaign_dir: Path, out_dir: Optional[Path] = None, tables: Optional[Tables] = None) -> list[Path]:
    """Write runs.parquet, samples.parquet and monitor.parquet; returns their paths.

    out_dir defaults to CAMPAIGN/_export. Damaged run folders are left out (see tables.load);
    `tables` lets a caller that already loaded them skip a second read.
    """
    campaign_dir = Path(campaign_dir)
    t = tables if tables is not None else load(campaign_dir)
    out = Path(out_dir) if out_dir is not None else campaign_dir / EXPORT_DIR
    with store.staged(out) as tmp:  # all three or none: a full disk leaves the earlier export whole
        for name in TABLES:
            df: pd.DataFrame = getattr(t, name)
            parquet_ready(df).to_parquet(tmp / (name + ".parquet"), engine="pyarrow", index=False)
    return [out / (name + ".parquet") for name in TABLES]
