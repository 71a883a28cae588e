"""Turn whatever a researcher has in hand into a :class:`Recording`.

A path to a recording file, a table with a time column and x, y, z, an ``(n, 3)`` array with its
sampling rate, a simulated night, or a recording already cleaned.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from detector.io.clean import clean
from detector.config import CleanConfig
from detector.io.load import load_recording
from detector.io.columns import TO_G, detect_units, numeric_times, find_columns
from detector.io.recording import InputError, Recording

__all__ = ["as_recording"]


def _from_frame(frame: pd.DataFrame, fs_hz: float | None, config: CleanConfig, source: str,
                leg: str) -> Recording:
    """A table with a time column and x, y, z (any units the loader knows) -> Recording."""
    names = [str(c) for c in frame.columns]
    lowered = {n.strip().lower(): n for n in names}
    if fs_hz is not None and all(a in lowered for a in "xyz"):
        try:
            find_columns(names, source)
        except InputError:  # no time column: the rows are on a uniform grid at fs_hz
            xyz = frame[[lowered[a] for a in "xyz"]].to_numpy(np.float32)
            return Recording.from_array(xyz, fs_hz, source=source, leg=leg)
    try:
        ti, scale, axes, name_units = find_columns(names, source)
    except InputError as exc:
        raise InputError(f"{exc} (a table of x, y, z alone also works with fs=...)") from None
    col = frame.iloc[:, ti]
    if pd.api.types.is_datetime64_any_dtype(col):
        times = pd.to_datetime(col, utc=True)
        t_s = (times - pd.Timestamp(0, tz="UTC")).dt.total_seconds().to_numpy(float)
    else:
        numeric = pd.to_numeric(col, errors="coerce").to_numpy(float)
        if np.isfinite(numeric).all():
            t_s, _ = numeric_times(numeric, scale)
        else:
            times = pd.to_datetime(col, utc=True, errors="coerce", format="ISO8601")
            if times.isna().any():
                row = int(np.flatnonzero(times.isna().to_numpy())[0])
                raise InputError(f"{source}, row {row}, column {names[ti]!r}: {col.iloc[row]!r}; "
                                 "expected a time (unix seconds or an ISO date-time)")
            t_s = (times - pd.Timestamp(0, tz="UTC")).dt.total_seconds().to_numpy(float)
    xyz = np.empty((len(frame), 3), np.float32)
    for k, j in enumerate(axes):
        values = pd.to_numeric(frame.iloc[:, j], errors="coerce")
        bad = values.isna() & frame.iloc[:, j].notna()
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise InputError(f"{source}, row {row}, column {names[j]!r}: "
                             f"{frame.iloc[row, j]!r}; expected a number")
        xyz[:, k] = values.to_numpy(np.float32)
    unit = name_units or detect_units(xyz, source) or "g"
    if TO_G[unit] != 1.0:
        xyz *= np.float32(TO_G[unit])
    return clean(t_s, xyz, fs_hz=fs_hz, config=config, source=source, leg=leg,
                 info={"units": unit})


def as_recording(data: Any, fs_hz: float | None = None, *, config: CleanConfig = CleanConfig(),
                 leg: str = "unknown") -> Recording:
    """Make a cleaned :class:`Recording` from a path, table, array or simulated night.

    Parameters
    ----------
    data : str, Path, Recording, DataFrame, ndarray or SimulatedNight
        - a path to a CSV, CSV.gz or Parquet recording (see
        :func:`detector.io.load.load_recording`);
        - a :class:`Recording` (returned as it is);
        - a DataFrame with a time column (``timestamp``, ``time`` ... in unix seconds, or
          date-times) and x, y, z in g (columns named ``*_mg`` or ``*_ms2`` are converted); or
          just ``x``, ``y``, ``z`` on a uniform grid when ``fs_hz`` is given;
        - an ``(n, 3)`` array in g on a uniform grid (``fs_hz`` required; NaN rows are gaps);
        - a :class:`detector.sim.night.SimulatedNight` (its ``samples``).
    fs_hz : float, optional
        Sampling rate in Hz: required for arrays, otherwise inferred from the timestamps.
    config : CleanConfig
        Resampling and gap settings.
    leg : str
        ``left``, ``right`` or ``unknown``.

    Raises
    ------
    InputError
        When the data is of an unknown type, lacks columns, or an array has no ``fs_hz``.
    """
    if isinstance(data, Recording):
        if fs_hz is not None and abs(fs_hz - data.fs_hz) > 1e-9:
            raise InputError(f"{data.source}: the recording is at {data.fs_hz:g} Hz, not "
                             f"fs={fs_hz:g}; leave fs out for a Recording")
        return data
    if isinstance(data, (str, Path)):
        return load_recording(data, fs_hz=fs_hz, leg=leg, config=config)
    samples = getattr(data, "samples", None)
    if isinstance(samples, pd.DataFrame) and hasattr(data, "truth"):
        return _from_frame(samples, fs_hz, config, "<simulated night>",
                           str(getattr(data, "info", {}).get("leg", leg)))
    if isinstance(data, pd.DataFrame):
        return _from_frame(data, fs_hz, config, "<DataFrame>", leg)
    if isinstance(data, np.ndarray):
        if fs_hz is None:
            raise InputError("an array needs its sampling rate: pass fs=... (Hz)")
        if not (np.isfinite(fs_hz) and fs_hz > 0):
            raise InputError(f"fs={fs_hz!r}: expected a positive sampling rate in Hz")
        arr = data.T if data.ndim == 2 and data.shape[0] == 3 and data.shape[1] != 3 else data
        return Recording.from_array(arr, fs_hz, leg=leg, source="<array>")
    raise InputError(f"cannot read a recording from {type(data).__name__}; expected a file path, "
                     "a DataFrame (timestamp, x, y, z), an (n, 3) array with fs=..., a "
                     "Recording or a simulated night")
