"""Parsing a table of samples read from a CSV or Parquet file: its time and x, y, z columns.

Shared by :mod:`detector.io.load` (a whole file) and :mod:`detector.io.stream` (a file read in
batches of rows), so that both read every value the same way: timestamps (unix seconds,
milliseconds, microseconds or nanoseconds, ISO 8601 strings, or relative seconds) to seconds,
numbers with their null tokens, and each problem named with its file, column and line.
"""

from __future__ import annotations

import csv
import gzip
import re
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from detector.io.columns import (POLAR_EPOCH_COLUMNS, POLAR_EPOCH_UNIX_S, TO_G,
                                 check_units_argument, detect_units, find_columns,
                                 looks_numeric, norm_name, numeric_times)
from detector.io.recording import InputError

__all__ = ["NULL_TOKENS", "ParsedTable", "head_bytes", "is_parquet", "sniff_csv", "decimal_point",
           "short_error", "text_column", "numbers", "times_column", "line_of_row", "table_samples",
           "sample_columns", "in_order"]

NULL_TOKENS = ["", "nan", "NaN", "NAN", "NA", "N/A", "n/a", "null", "NULL", "None", "-"]


SNIFF_BYTES = 1 << 16


GZIP_MAGIC = b"\x1f\x8b"


PARQUET_MAGIC = b"PAR1"


@dataclass
class ParsedTable:
    """A table read from a file, with what is needed to point at a line of it."""

    table: pa.Table
    first_line: int  # file line number of the first data row (header = line 1)
    is_csv: bool
    info: dict = field(default_factory=dict)
    csv_layout: tuple[Path, bool, str, int] | None = None  # path, gzip, delimiter, n_fields
    row_offset: int = 0  # data rows of the file before this table (a batch of a longer file)

    def where(self, row: int) -> str:
        """Describe data row ``row`` (0-based) as a file line (CSV) or a row number (Parquet)."""
        row += self.row_offset
        if not self.is_csv:
            return f"row {row + 1}"
        if self.csv_layout is not None:
            return f"line {line_of_row(*self.csv_layout, self.first_line, row)}"
        return f"line {row + self.first_line}"


def line_of_row(path: Path, gz: bool, delimiter: str, n_fields: int, first_line: int,
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


def head_bytes(path: Path, source: str) -> tuple[bytes, bool]:
    """Return the first (decompressed) bytes of a file and whether it is gzip-compressed."""
    try:
        with open(path, "rb") as fh:
            magic = fh.read(4)
            fh.seek(0)
            if magic[:2] == GZIP_MAGIC:
                with gzip.open(fh) as gz:
                    return gz.read(SNIFF_BYTES), True
            return fh.read(SNIFF_BYTES), False
    except FileNotFoundError:
        raise InputError(f"{source}: file not found") from None
    except IsADirectoryError:
        raise InputError(f"{source}: is a directory, expected a CSV or Parquet file") from None
    except PermissionError:
        raise InputError(f"{source}: permission denied") from None
    except (OSError, EOFError, zlib.error) as exc:
        raise InputError(f"{source}: cannot read the file ({exc}); a compressed file may be "
                         "damaged or cut short") from None


def is_parquet(path: Path, head: bytes) -> bool:
    return path.suffix.lower() in (".parquet", ".pq") or head[:4] == PARQUET_MAGIC


def sniff_csv(head: bytes, source: str) -> tuple[int, str, list[str]]:
    """Return (comment lines before the header, delimiter, header names) of a CSV file."""
    if not head.strip():
        raise InputError(f"{source}: empty file; expected a header line (e.g. timestamp,x,y,z) "
                         "followed by one row per sample")
    if b"\x00" in head:
        raise InputError(f"{source}: binary data, not a CSV text file or a Parquet file")
    cut = head.rfind(b"\n") if len(head) == SNIFF_BYTES else len(head)
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


def decimal_point(head: bytes, skip: int, delimiter: str) -> str:
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


def short_error(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= 200 else text[:200] + "..."


def _first_bad(values: pa.ChunkedArray, parsed_ok: np.ndarray) -> int:
    """Index of the first non-null value that did not parse."""
    present = ~np.asarray(values.is_null().to_numpy(zero_copy_only=False), dtype=bool)
    bad = np.flatnonzero(present & ~parsed_ok)
    return int(bad[0]) if bad.size else -1


def text_column(col: pa.ChunkedArray) -> pa.ChunkedArray:
    """Text column with surrounding whitespace removed and null tokens made null."""
    if pa.types.is_binary(col.type) or pa.types.is_large_binary(col.type):
        col = pa.chunked_array([pa.array([None if v is None else v.decode("utf-8", "replace")
                                          for v in chunk.to_pylist()], pa.string())
                                for chunk in col.chunks], pa.string())
    col = pc.utf8_trim_whitespace(col)
    return pc.if_else(pc.is_in(col, value_set=pa.array(NULL_TOKENS)), None, col)


def numbers(col: pa.ChunkedArray, tab: ParsedTable, name: str, source: str, what: str,
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
        out[:] = numbers(col, tab, name, source, what)
        return out
    if pa.types.is_null(t):
        return np.full(len(col), np.nan)
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_binary(t) or (
            pa.types.is_large_binary(t)):
        text = text_column(col)
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


def times_column(col: pa.ChunkedArray, scale: float | None, tab: ParsedTable, name: str, source: str
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
        text = text_column(col)
        try:
            return numeric_times(text.cast(pa.float64()).to_numpy(), scale)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass
        raw = text.to_numpy(zero_copy_only=False)
        first = next((v for v in raw if v is not None), None)
        if first is not None and looks_numeric(first):
            values = numbers(text, tab, name, source,
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
    values = numbers(col, tab, name, source,
                      "a number (unix seconds, ms, us or ns) or an ISO 8601 time")
    return numeric_times(values, scale)



def sample_columns(names: list[str], source: str) -> list[int]:
    """Positions of the time, x, y and z columns among ``names``, in that order."""
    time_i, _, axis_i, _ = find_columns(names, source)
    return [time_i, *axis_i]


def in_order(table: pa.Table, names: list[str]) -> pa.Table:
    """The columns ``names`` of ``table``, in that order (a name may appear twice)."""
    return table.select([table.column_names.index(n) for n in names])


def table_samples(tab: ParsedTable, source: str, unit_arg: str | None = None, force: bool = False,
                  *, unit_fixed: tuple[str, str] | None = None
                  ) -> tuple[np.ndarray, np.ndarray, dict]:
    """The samples of a table whose columns are time, x, y, z (in that order).

    Parameters
    ----------
    tab : ParsedTable
    source : str
        The file, for messages.
    unit_arg : str, optional
        Units given by the user (``g``, ``mg``, ``m/s2``); checked against the magnitude unless
        ``force``.
    unit_fixed : (unit, unit_from), optional
        Units already decided (by an earlier batch of the same file): used as they are.

    Returns
    -------
    t_s : ndarray, float64
        Seconds (unix, or relative for a relative time column).
    xyz : ndarray, shape (n, 3), float32, column-major
        Acceleration in g (sensor data has at most 16 significant bits; one contiguous array per
        axis is what the cleaning step works on).
    info : dict
        ``n_rows_read``, ``time_column``, ``axis_columns``, ``time_format``, ``time_relative``,
        ``units``, ``units_detected``, ``units_from`` and the reader's own counts.
    """
    table = tab.table
    names = table.column_names
    _, scale, _, name_units = find_columns(names, source)
    time_name, axis_names = names[0], names[1:4]

    t_s, time_format = times_column(table.column(0), scale, tab, time_name, source)
    if norm_name(time_name) in POLAR_EPOCH_COLUMNS and time_format == "unix_s":
        t_s = t_s + POLAR_EPOCH_UNIX_S
        time_format = "polar_epoch_ns"
    xyz = np.empty((table.num_rows, 3), dtype=np.float32, order="F")
    for i in range(3):
        numbers(table.column(i + 1), tab, axis_names[i], source, "a number", out=xyz[:, i])

    if unit_fixed is not None:
        unit, unit_from = unit_fixed
    elif unit_arg is not None:
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
    return t_s, xyz, info
