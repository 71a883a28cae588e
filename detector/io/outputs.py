"""The text of a night's output files: ``events.csv`` and ``summary.json`` (the contract other
tools read; :func:`detector.analysis.write_outputs` writes them, 0600)."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["events_csv_text", "summary_json_text", "to_jsonable"]


def to_jsonable(value: Any) -> Any:
    """Convert numpy/pandas scalars and NaN to plain JSON values (NaN and NA become null)."""
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return None if not math.isfinite(float(value)) else float(value)
    if value is pd.NA or value is None:
        return None
    return value


def events_csv_text(events: pd.DataFrame) -> str:
    """Render an event table as CSV: booleans as ``true``/``false``, empty cells for no series."""
    out = events.copy()
    for col in out.columns:
        if out[col].dtype == bool:
            out[col] = np.where(out[col], "true", "false")
    return out.to_csv(index=False, float_format="%.3f")


def summary_json_text(summary: dict[str, Any]) -> str:
    """Render the summary as indented JSON (NaN -> null)."""
    return json.dumps(to_jsonable(summary), indent=2, ensure_ascii=False) + "\n"


