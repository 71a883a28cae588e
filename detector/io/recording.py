"""The in-memory recording: acceleration on a uniform time grid, with its gaps."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import numpy as np
import pandas as pd

from detector.errors import InputError

__all__ = ["Recording", "InputError", "mask_runs", "gap_table"]


@dataclass(frozen=True, eq=False)
class Recording:
    """Three-axis acceleration resampled onto a uniform grid.

    Attributes
    ----------
    acc_g : ndarray, shape (n, 3), float32
        Acceleration in g on the grid ``t_s = arange(n) / fs_hz``. Rows inside gaps are NaN.
    fs_hz : float
        Sampling rate of the grid, in Hz.
    t0_unix_s : float
        Unix time (seconds, UTC) of grid sample 0.
    valid : ndarray, shape (n,), bool
        False inside gaps (lost packets, NaN rows): nothing is detected or interpolated there.
    gaps : DataFrame
        One row per gap, columns ``start_s``, ``end_s``, ``duration_s`` (seconds from sample 0).
    source : str
        Where the data came from (file name), used in messages and reports.
    leg : str
        Which leg the sensor was on (``left``, ``right`` or ``unknown``).
    info : dict
        What cleaning found and did: rows read, duplicates, NaN rows, out-of-order rows,
        units (given or detected), inferred sampling rate, clipped fraction, ...
    """

    acc_g: np.ndarray
    fs_hz: float
    t0_unix_s: float
    valid: np.ndarray
    gaps: pd.DataFrame
    source: str = "<memory>"
    leg: str = "unknown"
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def n_samples(self) -> int:
        """Number of grid samples."""
        return int(self.acc_g.shape[0])

    @property
    def duration_s(self) -> float:
        """Length of the grid in seconds (gaps included)."""
        return self.n_samples / self.fs_hz

    @property
    def gap_s(self) -> float:
        """Total time inside gaps, in seconds."""
        return float(self.gaps["duration_s"].sum()) if len(self.gaps) else 0.0

    @property
    def start_time(self) -> datetime:
        """Wall-clock time of sample 0 (UTC)."""
        return datetime.fromtimestamp(self.t0_unix_s, tz=timezone.utc)

    def segments(self) -> list[tuple[int, int]]:
        """Return ``[(i0, i1), ...]`` half-open index ranges of contiguous valid samples."""
        starts, ends = mask_runs(self.valid)
        return list(zip(starts.tolist(), ends.tolist()))

    @classmethod
    def from_array(cls, acc_g: np.ndarray, fs_hz: float, t0_unix_s: float = 0.0,
                   source: str = "<memory>", leg: str = "unknown") -> "Recording":
        """Wrap an already uniform ``(n, 3)`` array in g; NaN rows become gaps."""
        acc = np.asarray(acc_g, dtype=np.float32)
        if acc.ndim != 2 or acc.shape[1] != 3:
            raise InputError(f"{source}: expected an (n, 3) array of x, y, z, got {acc.shape}")
        valid = np.isfinite(acc).all(axis=1)
        return cls(acc, float(fs_hz), float(t0_unix_s), valid, gap_table(~valid, fs_hz), source,
                   leg, {})


def mask_runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Half-open index ranges ``[starts[k], ends[k])`` where ``mask`` is True, in order."""
    m = np.asarray(mask, bool)
    if m.size == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    edges = np.flatnonzero(m[1:] != m[:-1]) + 1      # every change, in order: start, end, ...
    if m[0]:
        edges = np.concatenate(([0], edges))
    if m[-1]:
        edges = np.concatenate((edges, [m.size]))
    return edges[0::2].astype(np.int64), edges[1::2].astype(np.int64)


def gap_table(gap_mask: np.ndarray, fs_hz: float) -> pd.DataFrame:
    """One row per run of gap samples: ``start_s``, ``end_s`` (half-open) and ``duration_s``."""
    starts, ends = mask_runs(gap_mask)
    start, end = starts / fs_hz, ends / fs_hz
    return pd.DataFrame({"start_s": start.astype(np.float64), "end_s": end.astype(np.float64),
                         "duration_s": (end - start).astype(np.float64)})
