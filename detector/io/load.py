"""Reading accelerometer recordings from CSV (plain or gzip) and Parquet files.

:func:`load_recording` finds the time and x, y, z columns by name, converts timestamps (unix
seconds, milliseconds, microseconds or nanoseconds, ISO 8601 strings, or relative seconds) to
seconds and acceleration (g, mg or m/s^2) to g, then hands the samples to
:func:`detector.io.clean.clean`. Every problem with the file is reported as an
:class:`~detector.io.recording.InputError` naming the file, and the column and line where it
applies.
"""

from __future__ import annotations

import json
import math
import zlib
from datetime import tzinfo
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from detector.config import CleanConfig
from detector.io.clean import MAX_ABS_G, MAX_FS_HZ, MIN_FS_HZ, clean
from detector.io.columns import (TO_G, detect_units, find_columns, normalize_units,
                                 numeric_times)
from detector.io.devices import is_device_file, read_device_file
from detector.io.parse import (NULL_TOKENS, ParsedTable, decimal_point, head_bytes, in_order,
                               is_parquet, sample_columns, short_error, sniff_csv, table_samples)
from detector.io.recording import InputError, Recording

__all__ = ["read_table", "load_recording", "find_columns", "normalize_units", "TO_G",
           "detect_units", "numeric_times"]

_COMPRESSED_SUFFIXES = (".gz", ".bz2", ".lz4", ".zst", ".zstd")
#: Parquet key-value metadata that marks a recording written by ``legtwitch record``.
RECORDER_META_KEY = b"legtwitch"


# --- reading ----------------------------------------------------------------------------------


def _read_parquet(path: Path, source: str, pick: bool) -> ParsedTable:
    try:
        if not pick:
            return ParsedTable(pq.read_table(path), 1, is_csv=False, info={"n_malformed_rows": 0})
        names = pq.read_schema(path).names
        wanted = [names[i] for i in sample_columns(names, source)]
        table = in_order(pq.read_table(path, columns=list(dict.fromkeys(wanted))), wanted)
    except InputError:
        raise
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise InputError(f"{source}: cannot read as Parquet ({short_error(exc)})") from None
    return ParsedTable(table, 1, is_csv=False, info={"n_malformed_rows": 0})


def _read_csv(path: Path, source: str, head: bytes, gz: bool, pick: bool) -> ParsedTable:
    skip, delimiter, names = sniff_csv(head, source)
    decimal = decimal_point(head, skip, delimiter)
    positions = sample_columns(names, source) if pick else []
    include = [names[i] for i in positions]
    by_index = len(set(names)) != len(names)  # duplicated names: read all, select by position
    bad_rows: list[str] = []

    def on_bad_row(row: pacsv.InvalidRow) -> str:
        bad_rows.append(row.text)
        return "skip"

    def read(types: dict[str, pa.DataType]) -> pa.Table:
        options = dict(
            read_options=pacsv.ReadOptions(skip_rows=skip, use_threads=True),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, invalid_row_handler=on_bad_row),
            convert_options=pacsv.ConvertOptions(
                include_columns=[] if by_index else include, column_types=types,
                null_values=NULL_TOKENS, strings_can_be_null=True, decimal_point=decimal))
        if not gz and path.suffix.lower() not in _COMPRESSED_SUFFIXES:
            return pacsv.read_csv(str(path), **options)
        # Decompress what the magic bytes say, whatever the suffix says.
        with pa.input_stream(str(path), compression="gzip" if gz else None) as stream:
            return pacsv.read_csv(stream, **options)

    try:
        try:
            table = read({})
        except pa.ArrowInvalid as exc:
            if "conversion error" not in str(exc).lower():
                raise
            bad_rows.clear()  # a late value did not fit the inferred type: re-read as text
            table = read({name: pa.string() for name in include})
    except pa.ArrowException as exc:
        if "empty csv file" in str(exc).lower():  # a header line without a line break
            raise InputError(f"{source}: no data rows after the header; expected one row per "
                             "sample") from None
        raise InputError(f"{source}: cannot read as CSV ({short_error(exc)})") from None
    except (OSError, EOFError, UnicodeDecodeError, zlib.error) as exc:
        raise InputError(f"{source}: cannot read the file ({short_error(exc)})") from None
    if by_index and positions:
        if table.num_columns != len(names):
            raise InputError(f"{source}: the header has {len(names)} columns but the data "
                             f"{table.num_columns}")
        table = table.select(positions)
    n_rows = table.num_rows
    if bad_rows and len(bad_rows) > max(10, n_rows // 100):
        raise InputError(f"{source}: {len(bad_rows)} rows do not have the {len(names)} fields "
                         f"of the header (first: {bad_rows[0][:80]!r}); check the delimiter")
    info = {"n_malformed_rows": len(bad_rows)}
    if decimal == ",":
        info["decimal_comma"] = True
    if bad_rows:
        info["first_malformed_row"] = bad_rows[0][:80]
    return ParsedTable(table, first_line=skip + 2, is_csv=True, info=info,
                  csv_layout=(path, gz, delimiter, len(names)))


def _read(path: str | Path, pick: bool) -> tuple[ParsedTable, str]:
    """Read a file; with ``pick`` only its time, x, y, z columns, in that order."""
    p = Path(path)
    source = str(path)
    head, gz = head_bytes(p, source)
    if not gz and is_parquet(p, head):
        return _read_parquet(p, source, pick), source
    return _read_csv(p, source, head, gz, pick), source


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a CSV (plain or gzip) or Parquet file into a DataFrame, columns as in the file.

    Parameters
    ----------
    path : str or Path
        ``.csv``, ``.csv.gz`` (or gzip detected by its magic bytes), ``.parquet`` or ``.pq``.

    Returns
    -------
    DataFrame
        All columns, with types inferred by pyarrow.

    Raises
    ------
    InputError
        If the file is missing, empty or cannot be read as CSV or Parquet.
    """
    tab, _ = _read(path, pick=False)
    return tab.table.to_pandas()


# --- column conversion ------------------------------------------------------------------------


#: What the recorder counted about the packets, kept from a recording's metadata.
_RECORDER_COUNTS = ("records", "packets", "bad_packets", "implausible", "duplicates",
                    "reordered", "late", "sessions", "reconnects", "lost_samples", "gaps")


def _recorder_counts(meta_json: bytes | None) -> dict[str, int]:
    """The recorder's packet counts from its JSON metadata (empty when unreadable)."""
    try:
        meta = json.loads(meta_json or b"{}")
    except ValueError:
        return {}
    if not isinstance(meta, dict):
        return {}
    return {k: int(meta[k]) for k in _RECORDER_COUNTS
            if isinstance(meta.get(k), (int, float)) and math.isfinite(meta[k])}


def _recorder_rate(meta_fs: bytes | None, fs_hz: float | None, idx: np.ndarray,
                   times: np.ndarray, source: str) -> tuple[float, str]:
    """The grid rate of a recorder's file: given, else its metadata, else (metadata damaged)
    measured from ``sample_index`` and ``timestamp``. Every rate must be 5-2000 Hz."""
    if fs_hz is not None:
        fs = float(fs_hz)
        if not (math.isfinite(fs) and MIN_FS_HZ <= fs <= MAX_FS_HZ):
            raise InputError(f"{source}: sampling rate {fs_hz!r} Hz; expected {MIN_FS_HZ:g}-"
                             f"{MAX_FS_HZ:g} Hz")
        return fs, "given"
    try:
        fs = float((meta_fs or b"").decode("ascii", "replace"))
    except ValueError:
        fs = math.nan
    if math.isfinite(fs) and MIN_FS_HZ <= fs <= MAX_FS_HZ:
        return fs, "metadata"
    ok = np.isfinite(times)
    span_t = float(times[ok][-1] - times[ok][0]) if ok.sum() >= 2 else 0.0
    measured = float(idx[ok][-1] - idx[ok][0]) / span_t if span_t > 0 else math.nan
    if math.isfinite(measured) and MIN_FS_HZ <= measured <= MAX_FS_HZ:
        return measured, "timestamps"
    shown = (meta_fs or b"").decode("ascii", "replace")[:40]
    raise InputError(f"{source}: the recorder's metadata gives fs_hz={shown!r} and the "
                     f"timestamps do not give a rate of {MIN_FS_HZ:g}-{MAX_FS_HZ:g} Hz either; "
                     "give the sampling rate with --fs")


def _read_recorder_parquet(path: str | Path, fs_hz: float | None, leg: str) -> Recording | None:
    """A ``recording.parquet`` written by ``legtwitch record``, placed on its grid exactly.

    Its rows carry ``sample_index`` on a uniform grid at the rate in the file's metadata, so the
    samples are put where they belong with no resampling, and every missing index is a gap (the
    recorder lists each one in ``gaps.csv`` with its cause). Returns None for any other file.
    """
    p = Path(path)
    if p.suffix.lower() not in (".parquet", ".pq") or not p.is_file():
        return None
    try:
        schema = pq.read_schema(p)
    except (pa.ArrowException, OSError):
        return None                      # the generic reader reports what is wrong
    meta = schema.metadata or {}
    want = {"timestamp", "x", "y", "z", "sample_index"}
    if RECORDER_META_KEY not in meta or b"fs_hz" not in meta or not want <= set(schema.names):
        return None
    source = str(path)
    try:
        table = pq.read_table(p, columns=sorted(want))
    except (pa.ArrowException, OSError) as exc:
        raise InputError(f"{source}: cannot read as Parquet ({short_error(exc)})") from None
    if table.num_rows == 0:
        raise InputError(f"{source}: the recording holds no samples")
    idx = table.column("sample_index").to_numpy().astype(np.int64)
    if idx.min() < 0 or np.any(np.diff(idx) <= 0):
        raise InputError(f"{source}: column sample_index must increase strictly from >= 0")
    times = table.column("timestamp").to_numpy().astype(np.float64)
    fs, fs_from = _recorder_rate(meta.get(b"fs_hz"), fs_hz, idx, times, source)
    idx = idx - idx[0]
    # Memory follows the data: the grid may hold gaps, but not more than the samples themselves
    # plus two days (a stray sample_index, not a night, otherwise).
    limit = 2 * len(idx) + int(48 * 3600 * fs)
    if int(idx[-1]) + 1 > limit:
        row = int(np.argmax(np.diff(idx))) + 1
        jump = int(idx[row] - idx[row - 1]) - 1
        raise InputError(f"{source}: sample_index skips {jump:,} samples "
                         f"({jump / fs / 86400:,.1f} days at {fs:g} Hz) at row {row + 1} of "
                         f"{len(idx):,}: the file is damaged; `legtwitch recover` on its folder "
                         "rebuilds it from the raw packet log")
    n = int(idx[-1]) + 1
    acc = np.full((n, 3), np.nan, np.float32)
    for i, axis in enumerate("xyz"):
        acc[idx, i] = table.column(axis).to_numpy()
    bad = ~np.isfinite(acc[idx]).all(axis=1) | (np.abs(acc[idx]) > MAX_ABS_G).any(axis=1)
    n_bad = int(np.count_nonzero(bad))
    if n_bad:
        acc[idx[bad]] = np.nan
    finite = np.flatnonzero(np.isfinite(times))
    if finite.size == 0:
        raise InputError(f"{source}: no finite timestamp in the recording")
    t0 = float(times[finite[0]] - idx[finite[0]] / fs)
    if leg == "unknown":
        recorded = (meta.get(b"leg") or b"unknown").decode("utf-8", "replace")
        leg = recorded if recorded in ("left", "right") else "unknown"
    rec = Recording.from_array(acc, fs, t0, source=source, leg=leg)
    rec.info.update({"file": source, "n_rows_read": int(table.num_rows),
                     "time_column": "timestamp", "axis_columns": ["x", "y", "z"],
                     "time_format": "unix_s", "units": "g", "units_from": "recorder",
                     "fs_hz": fs, "fs_given": fs_hz is not None, "recorder_grid": True,
                     "fs_from": fs_from, "n_out_of_range_rows": n_bad,
                     "recorder": _recorder_counts(meta.get(RECORDER_META_KEY)),
                     "n_gaps": int(len(rec.gaps)), "gap_s": rec.gap_s})
    return rec


def load_recording(path: str | Path, *, fs_hz: float | None = None, units: str | None = None,
                   leg: str = "unknown", config: CleanConfig = CleanConfig(),
                   force: bool = False, tz: tzinfo | None = None) -> Recording:
    """Load a CSV, CSV.gz, Parquet or EDF+ recording, or a research device file (Axivity
    ``.cwa``, GENEActiv ``.bin``, ActiGraph ``.gt3x``: :mod:`detector.io.devices`), and clean it
    onto a uniform grid.

    Parameters
    ----------
    path : str or Path
        The recording: CSV, CSV.gz, Parquet, or EDF+ (``.edf``: accelerometer channels such as
        ``ACC_X``, read by :func:`detector.io.edf_read.read_edf_recording`). Columns
        (case-insensitive): a time column (``timestamp``, ``time``, ``t``, ``ts``, ``unix_time``,
        ``datetime``, ``time_s``, ``time_ms``) and x, y, z columns (``x``, ``ax``, ``acc_x``,
        ``accx``, ``accel_x``..., optionally with a unit suffix ``_g``, ``_mg``, ``_ms2``). Other
        columns are ignored.
    fs_hz : float, optional
        Sampling rate in Hz; inferred from the timestamps when None.
    units : str, optional
        ``g``, ``mg`` or ``m/s2`` (``m/s^2``, ``ms2``). When None, taken from the axis column
        names, else detected from the median magnitude (1 g at rest: ~1, ~1000 or ~9.81).
    leg : str
        ``left``, ``right`` or ``unknown``.
    config : CleanConfig
        Resampling and gap settings.
    force : bool
        Use ``units`` and ``fs_hz`` even when the data contradicts them (the median magnitude
        says other units; the timestamps another rate by more than 10 %); otherwise that is an
        :class:`InputError` showing both values.
    tz : tzinfo, optional
        Zone of a device file's clock (devices keep local time without a zone); default the
        computer's. Not used for other files.

    Returns
    -------
    Recording
        ``info`` holds ``file``, ``n_rows_read``, ``time_column``, ``axis_columns``,
        ``time_format`` (``unix_s``, ``unix_ms``, ``unix_us``, ``unix_ns``, ``iso8601``,
        ``datetime`` (a Parquet timestamp column), ``relative_s``), ``time_relative``,
        ``units``, ``units_detected``, ``units_from``
        (``argument``, ``column name`` or ``magnitude``), ``n_malformed_rows`` (CSV rows with
        the wrong number of fields, skipped), and everything :func:`detector.io.clean.clean` adds.

    Raises
    ------
    InputError
        On a missing, empty, header-only, binary or unreadable file, missing columns, text in a
        numeric column (naming the column and line), undetectable units, and everything
        :func:`detector.io.clean.clean` rejects.
    """
    if is_device_file(path):
        if units not in (None, "g"):
            raise InputError(f"{path}: a device file is read in g from its own calibration; "
                             f"leave --units out (got {units!r})")
        return read_device_file(path, fs_hz=fs_hz, leg=leg, config=config, tz=tz, force=force)
    if Path(path).suffix.lower() == ".edf":   # EDF+ (ours or a PSG's): rate and units from its header
        from detector.io.edf_read import read_edf_recording

        return read_edf_recording(path, leg=leg)
    unit_arg = normalize_units(units) if units is not None else None
    exact = _read_recorder_parquet(path, fs_hz, leg)
    if exact is not None:
        return exact
    tab, source = _read(path, pick=True)
    if tab.table.num_rows == 0:
        raise InputError(f"{source}: no data rows after the header; expected one row per sample")
    t_s, xyz, info = table_samples(tab, source, unit_arg, force)
    del tab  # the columns are copied out: give the file's memory back before resampling
    pa.default_memory_pool().release_unused()
    return clean(t_s, xyz, fs_hz=fs_hz, config=config, source=source, leg=leg, info=info,
                 force=force)
