"""The collated table of a batch (or of a recording of several days): one row per night,
``OUT/nights.parquet`` and ``OUT/nights.csv``, and ``OUT/failures.csv`` when a night failed.

Columns: :data:`ID_COLUMNS` (``night``, ``file``, ``status``, ``error``, ``content_sha256``,
``skipped_this_run``) and every ``summary.json`` field, nested fields flattened with dotted
names (``config.envelope.on_factor``), lists as JSON text. ``legtwitch trends`` reads it.
"""

from __future__ import annotations

import io
import json
import math
from pathlib import Path
from typing import Any, Mapping, Sequence

import pandas as pd

from detector.fileio import write_private

__all__ = ["ID_COLUMNS", "flatten_summary", "collate", "write_tables"]

#: Columns of the collated table before the summary fields.
ID_COLUMNS = ["night", "file", "status", "error", "content_sha256", "skipped_this_run"]


def flatten_summary(summary: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Flatten nested dicts with dotted names; lists become JSON text.

    ``{"config": {"envelope": {"on_factor": 5.0}}, "reasons": ["a"]}`` ->
    ``{"config.envelope.on_factor": 5.0, "reasons": '["a"]'}``.
    """
    out: dict[str, Any] = {}
    for key, value in summary.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flatten_summary(value, f"{name}."))
        elif isinstance(value, (list, tuple)):
            out[name] = json.dumps(list(value), ensure_ascii=False)
        else:
            out[name] = value
    return out


def _parquet_safe(df: pd.DataFrame) -> pd.DataFrame:
    """Columns holding values of different kinds (text in one night, a number in another)
    become JSON text, so the table has one type per column."""
    out = df.copy()
    for col in out.columns:
        if out[col].dtype != object:
            continue
        values = [v for v in out[col] if v is not None and not (isinstance(v, float)
                                                                and math.isnan(v))]
        kinds = {bool if isinstance(v, bool)
                 else (float if isinstance(v, (int, float)) else type(v)) for v in values}
        if len(kinds) > 1:
            out[col] = [None if v is None or (isinstance(v, float) and math.isnan(v))
                        else (v if isinstance(v, str) else json.dumps(v)) for v in out[col]]
    return out


def collate(rows: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """One row per night: :data:`ID_COLUMNS` then the flattened summary fields (first-seen
    order). A summary field named like an id column is prefixed ``summary.``."""
    records = []
    for r in rows:
        rec: dict[str, Any] = {c: r.get(c) for c in ID_COLUMNS}
        rec["skipped_this_run"] = bool(r.get("skipped_this_run", False))
        for key, value in flatten_summary(r.get("summary") or {}).items():
            rec[f"summary.{key}" if key in ID_COLUMNS else key] = value
        records.append(rec)
    columns = list(dict.fromkeys([*ID_COLUMNS, *(k for rec in records for k in rec)]))
    return _parquet_safe(pd.DataFrame.from_records(records, columns=columns))


def write_tables(table: pd.DataFrame, out: Path) -> dict[str, Path]:
    """Write the collated table as ``nights.parquet`` and ``nights.csv``, and its failed rows, if
    any, as ``failures.csv`` (0600; a stale one from an earlier run is removed)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    buf = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(table, preserve_index=False), buf)
    failures = table.loc[table["status"] == "failed", ["night", "file", "error"]]
    written = {"parquet": write_private(out / "nights.parquet", buf.getvalue()),
               "csv": write_private(out / "nights.csv", table.to_csv(index=False))}
    stale = out / "failures.csv"
    if len(failures):
        written["failures"] = write_private(stale, failures.to_csv(index=False))
    elif stale.is_file():
        stale.unlink()                     # from an earlier run whose failures are now done
    return written
