"""Reading accelerometer recordings from CSV (plain or gzip) and Parquet files.

:func:`load_recording` finds the time and x, y, z columns by name, converts timestamps (unix
seconds, milliseconds, microseconds or nanoseconds, ISO 8601 strings, or relative seconds) to
seconds and acceleration (g, mg or m/s^2) to g, then hands the samples to
:func:`detector.io.clean.clean`. Every problem with the file is reported as an
:class:`~detector.io.recording.InputError` naming the file, and the column and line where it
applies.
"""

from __future__ import annotations

import csv
import gzip
import json
import math
import re
import zlib
from dataclasses import dataclass, field
from datetime import tzinfo
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from detector.config import CleanConfig
from detector.io.clean import MAX_ABS_G, MAX_FS_HZ, MIN_FS_HZ, clean
from detector.io.columns import (POLAR_EPOCH_COLUMNS, POLAR_EPOCH_UNIX_S, TO_G,
                                 check_units_argument, detect_units, find_columns, looks_numeric,
                                 norm_name, normalize_units, numeric_times)
from detector.io.devices import is_device_file, read_device_file
from detector.io.recording import InputError, Recording

__all__ = ["read_table", "load_recording", "find_columns", "normalize_units", "TO_G",
           "detect_units", "numeric_times"]

_NULL_TOKENS = ["", "nan", "NaN", "NAN", "NA", "N/A", "n/a", "null", "NULL", "None", "-"]
_SNIFF_BYTES = 1 << 16
_GZIP_MAGIC = b"\x1f\x8b"
_PARQUET_MAGIC = b"PAR1"
_COMPRESSED_SUFFIXES = (".gz", ".bz2", ".lz4", ".zst", ".zstd")
#: Parquet key-value metadata that marks a recording written by ``legtwitch record``.
RECORDER_META_KEY = b"legtwitch"


@dataclass
class _Table:
    """A table read from a file, with what is needed to point at a line of it."""

    table: pa.Table
    first_line: int  # file line number of the first data row (header = line 1)
    is_csv: bool
    info: dict = field(default_factory=dict)
    csv_layout: tuple[Path, bool, str, int] | None = None  # path, gzip, delimiter, n_fields

    def where(self, row: int) -> str:
        """Describe data row ``row`` (0-based) as a file line (CSV) or a row number (Parquet)."""
        if not self.is_csv:
            return f"row {row + 1}"
        if self.csv_layout is not None:
            return f"line {_line_of_row(*self.csv_layout, self.first_line, row)}"
        return f"line {row + self.first_line}"


def _line_of_row(path: Path, gz: bool, delimiter: str, n_fields: int, first_line: int,
                 row: int) -> int:
    """File line number of data row ``row``, skipping empty lines and rows with the wrong number
    of fields as the CSV reader does. Only called to report an error."""
    opener = gzip.open if gz else open
    try:
        with opener(path, "rt", encoding="utf-8", errors="replace", newline="") as fh:
            count = -1
            for line_no, line in enumerate(fh, start=1):
                if line_no < first_line or not line.rstrip("\r\n"):
                    continue
                if len(next(csv.reader([line], delimiter=delimiter), [])) != n_fields:
                    continue
                count += 1
                if count == row:
                    return line_no
    except (OSError, EOFError, zlib.error):
        pass
    return row + first_line


# --- reading ----------------------------------------------------------------------------------

def _head_bytes(path: Path, source: str) -> tuple[bytes, bool]:
    """Return the first (decompressed) bytes of a file and whether it is gzip-compressed."""
    try:
        with open(path, "rb") as fh:
            magic = fh.read(4)
            fh.seek(0)
            if magic[:2] == _GZIP_MAGIC:
                with gzip.open(fh) as gz:
                    return gz.read(_SNIFF_BYTES), True
            return fh.read(_SNIFF_BYTES), False
    except FileNotFoundError:
        raise InputError(f"{source}: file not found") from None
    except IsADirectoryError:
        raise InputError(f"{source}: is a directory, expected a CSV or Parquet file") from None
    except PermissionError:
        raise InputError(f"{source}: permission denied") from None
    except (OSError, EOFError, zlib.error) as exc:
        raise InputError(f"{source}: cannot read the file ({exc}); a compressed file may be "
                         "damaged or cut short") from None


def _is_parquet(path: Path, head: bytes) -> bool:
    return path.suffix.lower() in (".parquet", ".pq") or head[:4] == _PARQUET_MAGIC


def _read_parquet(path: Path, source: str, pick: bool) -> _Table:
    try:
        if not pick:
            return _Table(pq.read_table(path), 1, is_csv=False, info={"n_malformed_rows": 0})
        names = pq.read_schema(path).names
        positions = _wanted(names, source)
        table = pq.read_table(path, columns=list(dict.fromkeys(names[i] for i in positions)))
        table = table.select([table.column_names.index(names[i]) for i in positions])
    except InputError:
        raise
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise InputError(f"{source}: cannot read as Parquet ({_short(exc)})") from None
    return _Table(table, 1, is_csv=False, info={"n_malformed_rows": 0})


def _wanted(names: list[str], source: str) -> list[int]:
    """Positions of the time, x, y and z columns, in that order."""
    time_i, _, axis_i, _ = find_columns(names, source)
    return [time_i, *axis_i]


def _sniff_csv(head: bytes, source: str) -> tuple[int, str, list[str]]:
    """Return (comment lines before the header, delimiter, header names) of a CSV file."""
    if not head.strip():
        raise InputError(f"{source}: empty file; expected a header line (e.g. timestamp,x,y,z) "
                         "followed by one row per sample")
    if b"\x00" in head:
        raise InputError(f"{source}: binary data, not a CSV text file or a Parquet file")
    cut = head.rfind(b"\n") if len(head) == _SNIFF_BYTES else len(head)
    try:
        text = head[:cut if cut > 0 else len(head)].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{source}: not UTF-8 text (byte {exc.start}); expected a CSV text file "
                         "or a Parquet file") from None
    lines = text.lstrip("\ufeff").splitlines()
    skip = 0
    while skip < len(lines) and (not lines[skip].strip() or lines[skip].lstrip().startswith("#")):
        skip += 1
    if skip == len(lines):
        raise InputError(f"{source}: no header line found; expected a header line such as "
                         "timestamp,x,y,z")
    header = lines[skip]
    delimiter = max((",", ";", "\t"), key=header.count)
    names = next(csv.reader([header], delimiter=delimiter))
    return skip, delimiter, names


_DECIMAL_COMMA = re.compile(r"^\s*[-+]?\d+,\d+(?:[eE][-+]?\d+)?\s*$")


def _decimal_point(head: bytes, skip: int, delimiter: str) -> str:
    """``","`` when the file writes numbers with a decimal comma (European spreadsheet and
    phyphox exports separate fields with ``;`` or tabs then), else ``"."``."""
    if delimiter == ",":
        return "."
    text = head.decode("utf-8", "replace").lstrip("\ufeff").splitlines()
    rows = [x for x in text[skip + 1:skip + 21] if x.strip() and not x.lstrip().startswith("#")]
    fields = [f for row in rows for f in row.split(delimiter)]
    comma = sum(bool(_DECIMAL_COMMA.match(f)) for f in fields)
    dot = sum(bool(re.match(r"^\s*[-+]?\d*\.\d+", f)) for f in fields)
    return "," if comma > dot else "."


def _read_csv(path: Path, source: str, head: bytes, gz: bool, pick: bool) -> _Table:
    skip, delimiter, names = _sniff_csv(head, source)
    decimal = _decimal_point(head, skip, delimiter)
    positions = _wanted(names, source) if pick else []
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
                null_values=_NULL_TOKENS, strings_can_be_null=True, decimal_point=decimal))
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
        raise InputError(f"{source}: cannot read as CSV ({_short(exc)})") from None
    except (OSError, EOFError, UnicodeDecodeError, zlib.error) as exc:
        raise InputError(f"{source}: cannot read the file ({_short(exc)})") from None
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
    return _Table(table, first_line=skip + 2, is_csv=True, info=info,
                  csv_layout=(path, gz, delimiter, len(names)))


def _read(path: str | Path, pick: bool) -> tuple[_Table, str]:
    """Read a file; with ``pick`` only its time, x, y, z columns, in that order."""
    p = Path(path)
    source = str(path)
    head, gz = _head_bytes(p, source)
    if not gz and _is_parquet(p, head):
        return _read_parquet(p, source, pick), source
    return _read_csv(p, source, head, gz, pick), source


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= 200 else text[:200] + "..."


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

def _first_bad(values: pa.ChunkedArray, parsed_ok: np.ndarray) -> int:
    """Index of the first non-null value that did not parse."""
    present = ~np.asarray(values.is_null().to_numpy(zero_copy_only=False), dtype=bool)
    bad = np.flatnonzero(present & ~parsed_ok)
    return int(bad[0]) if bad.size else -1


def _text(col: pa.ChunkedArray) -> pa.ChunkedArray:
    """Text column with surrounding whitespace removed and null tokens made null."""
    if pa.types.is_binary(col.type) or pa.types.is_large_binary(col.type):
        col = pa.chunked_array([pa.array([None if v is None else v.decode("utf-8", "replace")
                                          for v in chunk.to_pylist()], pa.string())
                                for chunk in col.chunks], pa.string())
    col = pc.utf8_trim_whitespace(col)
    return pc.if_else(pc.is_in(col, value_set=pa.array(_NULL_TOKENS)), None, col)


def _numbers(col: pa.ChunkedArray, tab: _Table, name: str, source: str, what: str,
             out: np.ndarray | None = None) -> np.ndarray:
    """Convert a column to float64 (nulls -> NaN), or raise naming the first value that is not a
    number. With ``out``, write the values there (converting to its type) and return it."""
    t = col.type
    if pa.types.is_floating(t) or pa.types.is_integer(t) or pa.types.is_decimal(t):
        if out is None:
            return pc.cast(col, pa.float64(), safe=False).to_numpy()
        start = 0
        for chunk in col.chunks:  # chunk by chunk: no concatenated intermediate copy
            if chunk.type != pa.float64():
                chunk = pc.cast(chunk, pa.float64(), safe=False)
            out[start:start + len(chunk)] = chunk.to_numpy(zero_copy_only=False)
            start += len(chunk)
        return out
    if out is not None:
        out[:] = _numbers(col, tab, name, source, what)
        return out
    if pa.types.is_null(t):
        return np.full(len(col), np.nan)
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_binary(t) or (
            pa.types.is_large_binary(t)):
        text = _text(col)
        try:
            return text.cast(pa.float64()).to_numpy()
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass
        raw = text.to_numpy(zero_copy_only=False)
        parsed = pd.to_numeric(pd.Series(raw, dtype=object), errors="coerce").to_numpy(float)
        row = _first_bad(text, ~np.isnan(parsed) | _nan_word(raw))
        if row < 0:
            return parsed
        raise InputError(f"{source}: column {name!r}, {tab.where(row)}: expected {what}, "
                         f"found {str(raw[row])[:40]!r}")
    row = 0
    raise InputError(f"{source}: column {name!r}: expected {what}, found values of type {t} "
                     f"(first: {str(col[row].as_py())[:40]!r})")


def _nan_word(raw: np.ndarray) -> np.ndarray:
    """True where a text value spells a number that pandas parses to NaN (e.g. ``nan``)."""
    return np.array([isinstance(v, str) and v.lower() in ("nan", "+nan", "-nan") for v in raw],
                    dtype=bool) if raw.size else np.zeros(0, bool)


def _times(col: pa.ChunkedArray, scale: float | None, tab: _Table, name: str, source: str
           ) -> tuple[np.ndarray, str]:
    """Convert the time column to seconds; return (seconds, description of the format)."""
    t = col.type
    if pa.types.is_timestamp(t):
        per_s = {"s": 1.0, "ms": 1e3, "us": 1e6, "ns": 1e9}[t.unit]
        ints = col.cast(pa.int64())
        out = pc.cast(ints, pa.float64(), safe=False).to_numpy() / per_s
        return out, "iso8601" if tab.is_csv else "datetime"
    if pa.types.is_date(t):
        raise InputError(f"{source}: column {name!r}: expected times, found dates without a time "
                         f"of day (first: {str(col[0].as_py())!r})")
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_binary(t) or (
            pa.types.is_large_binary(t)):
        text = _text(col)
        try:
            return numeric_times(text.cast(pa.float64()).to_numpy(), scale)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass
        raw = text.to_numpy(zero_copy_only=False)
        first = next((v for v in raw if v is not None), None)
        if first is not None and looks_numeric(first):
            values = _numbers(text, tab, name, source,
                              "a number (unix seconds, ms, us or ns) or an ISO 8601 time")
            return numeric_times(values, scale)
        stamps = pd.to_datetime(pd.Series(raw, dtype=object), utc=True, format="ISO8601",
                                errors="coerce")
        ok = stamps.notna().to_numpy()
        row = _first_bad(text, ok)
        if row >= 0:
            raise InputError(f"{source}: column {name!r}, {tab.where(row)}: expected an ISO 8601 "
                             f"time (e.g. 2024-05-01T23:10:00.125Z) or a number, found "
                             f"{str(raw[row])[:40]!r}")
        ns = pd.DatetimeIndex(stamps).as_unit("ns").asi8.astype(np.float64)
        ns[~ok] = np.nan
        return ns / 1e9, "iso8601"
    values = _numbers(col, tab, name, source,
                      "a number (unix seconds, ms, us or ns) or an ISO 8601 time")
    return numeric_times(values, scale)


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
        raise InputError(f"{source}: cannot read as Parquet ({_short(exc)})") from None
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
    table = tab.table
    names = table.column_names
    if table.num_rows == 0:
        raise InputError(f"{source}: no data rows after the header; expected one row per sample")
    _, scale, _, name_units = find_columns(names, source)
    time_name, axis_names = names[0], names[1:4]

    t_s, time_format = _times(table.column(0), scale, tab, time_name, source)
    if norm_name(time_name) in POLAR_EPOCH_COLUMNS and time_format == "unix_s":
        t_s = t_s + POLAR_EPOCH_UNIX_S
        time_format = "polar_epoch_ns"    # float32 (sensor data has at most 16 significant bits), column-major: one contiguous
    # array per axis, which is what the cleaning step works on.
    xyz = np.empty((table.num_rows, 3), dtype=np.float32, order="F")
    for i in range(3):
        _numbers(table.column(i + 1), tab, axis_names[i], source, "a number", out=xyz[:, i])

    if unit_arg is not None:
        unit, unit_from = unit_arg, "argument"
        if not force:
            check_units_argument(xyz, unit_arg, source)
    elif name_units is not None:
        unit, unit_from = name_units, "column name"
    else:
        detected = detect_units(xyz, source)
        unit, unit_from = (detected, "magnitude") if detected else ("g", "none")  # clean() reports
    if TO_G[unit] != 1.0:
        xyz *= np.float32(TO_G[unit])

    info = {"file": source, "n_rows_read": int(table.num_rows), "time_column": time_name,
            "axis_columns": list(axis_names), "time_format": time_format,
            "time_relative": time_format == "relative_s", "units": unit,
            "units_detected": unit_from in ("column name", "magnitude"), "units_from": unit_from,
            **tab.info}
    del table, tab  # the columns are copied out: give the file's memory back before resampling
    pa.default_memory_pool().release_unused()
    return clean(t_s, xyz, fs_hz=fs_hz, config=config, source=source, leg=leg, info=info,
                 force=force)
