"""The one reader of event and interval tables: scorers' LM lists, respiratory events, reference
scorings in CSV, and event tables (``events.csv``, ``*.truth.csv``).

Every table goes through :func:`parse_interval_csv` (seconds) or :func:`read_events` (event
tables with a kind), and every yes/no column through :func:`parse_bool`; every message names the
file, the line and the column.

A reference scoring from CSV text: clock and ISO times, label columns, a start comment.

:func:`parse_reference_csv` rewrites the text line for line, in memory, into the seconds that
:func:`parse_interval_csv` reads, so every message names the file and the line;
:func:`detector.score.reference.read_reference` then sorts the rows into leg movements, respiratory
events and other annotations. :func:`format_reference_csv` writes a reference in this format.

Besides the columns of :func:`read_lm_table` (``start_s``/``end_s``,
``onset``/``offset`` or a start and ``duration``; ``leg``, ``kind``; ``#`` comments;
``,``/``;``/tab separators; decimal commas with ``;`` or tab), a reference CSV may hold:

* onsets and offsets as clock times (``22:31:05.250``, put on the day that places them from
  6 h before to 18 h after the start) or ISO date-times (``2024-03-01T22:31:05.250``, with or
  without a UTC offset), also in a ``start_time``/``time``/``end_time`` column;
* a ``plm`` column (true/false, 1/0, yes/no);
* a label column (:data:`LABEL_COLUMNS`, e.g. EDFbrowser's ``Onset,Duration,Annotation``
  export): rows are sorted by the label table as EDF+ annotations are and an empty duration is
  a point annotation; a column none of whose texts is an LM or a respiratory event holds notes,
  and every row stays an LM;
* a ``category`` column (``lm``, ``plm``, ``respiratory``, ``other``, as
  :func:`detector.score.reference.write_reference_csv` writes) that overrides the labels;
* a comment line ``# start_unix_s = <unix seconds>`` or ``# start_time = <ISO>``: the
  wall-clock time of the file's second 0.

Without a label or category column every row is an LM. Times before second 0 (a scoring that
began before the recording) stay negative. A ``source_line`` column in the file is replaced by
the line numbers.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timezone, tzinfo
from pathlib import Path

import numpy as np
import pandas as pd

from detector.errors import InputError
from detector.io.localtime import clock_to_seconds, comment_start
from detector.kinds import KINDS, LEG_ALIASES, LEGS, normalise_labels

__all__ = ["TRUE_WORDS", "FALSE_WORDS", "parse_bool", "read_lm_table", "read_respiratory_events",
           "parse_interval_csv", "read_events", "check_event_table", "CsvRows",
           "parse_reference_csv", "LABEL_COLUMNS", "START_ALIASES", "END_ALIASES",
           "DURATION_ALIASES", "csv_line"]

#: Cell values read as true (lower-cased, stripped). ``plm`` is a scorer's way of marking a PLM in
#: a ``plm`` column.
TRUE_WORDS = frozenset({"true", "t", "yes", "y", "1", "1.0", "plm"})
#: Cell values read as false; an empty cell or NA is false too.
FALSE_WORDS = frozenset({"false", "f", "no", "n", "0", "0.0", "", "nan", "none", "<na>"})


def parse_bool(values: pd.Series, *, column: str, where: Callable[[int], str]) -> np.ndarray:
    """A yes/no column as bools: True/False, true/false, yes/no, y/n, 1/0 (and ``plm``); empty
    or NA is False.

    Parameters
    ----------
    values : Series
    column : str
        The column's name, for the error message.
    where : callable
        ``where(k)`` names row ``k`` for a person, e.g. ``"events.csv, line 5"``.

    Raises
    ------
    InputError
        On any other value, naming the row, the column and the value.
    """
    if values.dtype == bool:
        return values.to_numpy()
    out = np.zeros(len(values), bool)
    for k, v in enumerate(values.tolist()):
        if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
            continue
        if isinstance(v, (bool, np.bool_)):
            out[k] = bool(v)
            continue
        word = str(v).strip().lower()
        if word in TRUE_WORDS:
            out[k] = True
        elif word not in FALSE_WORDS:
            raise InputError(f"{where(k)}, column '{column}': {v!r}; expected true or false "
                             "(1/0, yes/no)")
    return out


START_ALIASES = ("start_s", "onset_s", "onset", "start")

END_ALIASES = ("end_s", "offset_s", "offset", "end")

DURATION_ALIASES = ("duration_s", "duration")


def read_lm_table(path: str | Path) -> pd.DataFrame:
    """Load a leg-movement table (e.g. exported by a PSG scorer) for rescoring.

    Parameters
    ----------
    path : str or Path
        CSV (comma, semicolon or tab separated; ``#`` lines and blank lines ignored) with
        ``start_s`` and ``end_s`` in seconds from the recording start. Accepted alternatives:
        ``onset_s``/``onset``/``start`` for the start, ``offset_s``/``offset``/``end`` for the end,
        or a start with ``duration_s``/``duration`` (seconds). Optional columns ``leg``
        (``left``, ``right``, ``bilateral``, ``unknown``), ``kind`` (``twitch``, ``lm``,
        ``sustained``) and any others are kept as text.

    Returns
    -------
    DataFrame
        ``start_s``, ``end_s``, ``duration_s`` (float seconds) and the other columns, sorted by
        ``start_s`` with the index reset.

    Raises
    ------
    InputError
        When the file is missing or empty, a time column is missing, a value is not a finite
        number of seconds, a start is negative or an end lies before its start, or a ``leg`` or
        ``kind`` value is unknown. The message names the file, the line and the column.
    """
    return _read_interval_csv(path, "leg movement")


def read_respiratory_events(path: str | Path) -> pd.DataFrame:
    """Load respiratory events (apnoeas, hypopnoeas ...) from a CSV.

    Parameters
    ----------
    path : str or Path
        CSV with the same time columns as :func:`read_lm_table` (``start_s``/``end_s`` or their
        aliases, or a start and a duration), in seconds from the recording start.

    Returns
    -------
    DataFrame
        ``start_s``, ``end_s``, ``duration_s`` and any other columns, sorted by ``start_s``.

    Raises
    ------
    InputError
        As :func:`read_lm_table`.
    """
    return _read_interval_csv(path, "respiratory event")


def _read_interval_csv(path: str | Path, what: str) -> pd.DataFrame:
    """Read a CSV of time intervals, checking every line; see :func:`read_lm_table`."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError(f"{path}: file not found; expected a CSV of {what}s") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: not a UTF-8 text file; expected a CSV of {what}s") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror})") from None
    return parse_interval_csv(text, str(path), what)


def parse_interval_csv(text: str, source: str, what: str = "leg movement", *,
                       allow_negative: bool = False) -> pd.DataFrame:
    """Parse the text of a CSV of time intervals, checking every line.

    Parameters
    ----------
    text : str
        The file's content (see :func:`read_lm_table` for the columns).
    source : str
        Name used in messages (the file).
    what : str
        What a row is, for messages ("leg movement", "respiratory event").
    allow_negative : bool
        Accept starts before second 0 (a reference scoring that began before the recording).

    Returns
    -------
    DataFrame
        As :func:`read_lm_table`.
    """
    path = source
    numbered = [(i + 1, line) for i, line in enumerate(text.splitlines())
                if line.strip() and not line.lstrip().startswith("#")]
    expected = ("expected a header line with start_s and end_s columns (or onset/offset, or "
                "start and duration), times in seconds from the recording start")
    if not numbered:
        raise InputError(f"{path}: empty file; {expected}")
    header_line = numbered[0][1]
    sep = max((",", ";", "\t"), key=header_line.count)
    if header_line.count(sep) == 0:
        sep = ","
    rows = list(csv.reader([line for _, line in numbered], delimiter=sep))
    header = [h.strip().lower() for h in rows[0]]
    line_no = np.array([n for n, _ in numbered[1:]], dtype=int)
    body = rows[1:]
    for n, row in zip(line_no, body):
        if len(row) > len(header) and any(f.strip() for f in row[len(header):]):
            raise InputError(f"{path}, line {n}: {len(row)} fields but the header has "
                             f"{len(header)}; expected one value per column ({sep!r} separated)")

    def column(name: str) -> list[str]:
        j = header.index(name)
        return [row[j].strip() if j < len(row) else "" for row in body]

    def pick(aliases: tuple[str, ...]) -> str | None:
        return next((a for a in aliases if a in header), None)

    start_col, end_col, dur_col = (pick(START_ALIASES), pick(END_ALIASES),
                                   pick(DURATION_ALIASES))
    if start_col is None or (end_col is None and dur_col is None):
        raise InputError(f"{path}, line {numbered[0][0]}: header has columns "
                         f"{', '.join(header) or '(none)'}; {expected}")
    decimal_comma = sep != ","

    def numbers(name: str) -> np.ndarray:
        out = np.empty(len(body))
        for k, (n, raw) in enumerate(zip(line_no, column(name))):
            value = raw.replace(",", ".") if decimal_comma else raw
            try:
                out[k] = float(value)
            except ValueError:
                raise InputError(f"{path}, line {n}, column '{name}': got {raw!r}; expected a "
                                 "number of seconds") from None
            if not np.isfinite(out[k]):
                raise InputError(f"{path}, line {n}, column '{name}': got {raw!r}; expected a "
                                 "finite number of seconds")
        return out

    start_s = numbers(start_col)
    if end_col is not None:
        end_s = numbers(end_col)
    else:
        duration_s = numbers(dur_col)  # type: ignore[arg-type]
        for k in np.flatnonzero(duration_s < 0)[:1]:
            raise InputError(f"{path}, line {line_no[k]}, column '{dur_col}': duration "
                             f"{duration_s[k]:g} s is negative; expected >= 0")
        end_s = start_s + duration_s
    for k in np.flatnonzero(start_s < 0)[:0 if allow_negative else 1]:
        raise InputError(f"{path}, line {line_no[k]}, column '{start_col}': start "
                         f"{start_s[k]:g} s is negative; expected seconds from the recording start")
    for k in np.flatnonzero(end_s < start_s)[:1]:
        raise InputError(f"{path}, line {line_no[k]}: end {end_s[k]:g} s is before start "
                         f"{start_s[k]:g} s; expected end >= start")
    table = pd.DataFrame({"start_s": start_s, "end_s": end_s, "duration_s": end_s - start_s})
    used = {start_col, end_col, dur_col}
    for name in header:
        if name in used or name in table or not name:
            continue
        values = column(name)
        if name == "leg":
            table["leg"] = normalise_labels(values, LEG_ALIASES, LEGS, "leg",
                                      lambda k: f"{path}, line {line_no[k]}, column 'leg'")
        elif name == "kind":
            table["kind"] = normalise_labels(values, {"": None}, KINDS, "kind",
                                       lambda k: f"{path}, line {line_no[k]}, column 'kind'")
        else:
            table[name] = values
    order = np.argsort(start_s, kind="stable")
    return table.iloc[order].reset_index(drop=True)


def check_event_table(events: pd.DataFrame, name: str) -> pd.DataFrame:
    """Onsets, kinds and PLM flags of an event table (missing ``plm`` -> False)."""
    if not isinstance(events, pd.DataFrame):
        raise InputError(f"{name}: expected a table of events, got {type(events).__name__}")
    missing = [c for c in ("start_s", "kind") if c not in events.columns]
    if missing and len(events) == 0:  # no events at all, not even a header
        return pd.DataFrame({"start_s": np.zeros(0), "kind": np.zeros(0, object),
                             "plm": np.zeros(0, bool)})
    if missing:
        raise InputError(f"{name}: missing column(s) {', '.join(missing)}; found "
                         f"{', '.join(map(str, events.columns)) or 'no columns'}")
    start = pd.to_numeric(events["start_s"], errors="coerce").to_numpy(dtype=float)
    bad = np.flatnonzero(~np.isfinite(start))
    if bad.size:
        raise InputError(f"{name}, row {bad[0]}: start_s {events['start_s'].iloc[bad[0]]!r}; "
                         "expected a finite number of seconds")
    kind = events["kind"].astype(str).str.strip().str.lower().to_numpy()
    plm = (parse_bool(events["plm"], column="plm", where=lambda k: f"{name}, row {k}")
           if "plm" in events.columns else np.zeros(len(events), bool))
    return pd.DataFrame({"start_s": start, "kind": kind, "plm": plm})


def read_events(path: str | Path) -> pd.DataFrame:
    """Read an event table (``events.csv`` from an analysis, or a ``*.truth.csv``).

    Parameters
    ----------
    path : str or Path
        CSV (optionally gzipped) with at least ``start_s`` and ``kind``; ``plm`` is optional
        (``true``/``false``, ``1``/``0``, ``yes``/``no``, or ``plm``; empty or missing means
        False; read by :func:`detector.io.tables.parse_bool`, as every event table is). Other
        columns are kept.

    Returns
    -------
    DataFrame
        The table with ``start_s`` as float, ``kind`` in lower case and ``plm`` as bool.

    Raises
    ------
    InputError
        When the file is missing, empty or not CSV, lacks a required column (the message names
        the columns found), or has a bad onset, kind or plm value (naming its line).
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: file not found")
    try:
        table = pd.read_csv(path, dtype={"kind": str, "plm": str}, keep_default_na=False,
                            na_values=[""])
    except pd.errors.EmptyDataError:
        raise InputError(f"{path}: the file is empty; expected a CSV header with start_s and "
                         "kind") from None
    except (pd.errors.ParserError, UnicodeDecodeError, OSError) as exc:
        raise InputError(f"{path}: not a readable CSV event table ({exc})") from None
    table.columns = [str(c).strip() for c in table.columns]
    missing = [c for c in ("start_s", "kind") if c not in table.columns]
    if missing:
        raise InputError(f"{path}: missing column(s) {', '.join(missing)}; found "
                         f"{', '.join(table.columns)}; an event table needs start_s (s) and kind "
                         "(twitch, lm, sustained)")
    start = pd.to_numeric(table["start_s"], errors="coerce")
    bad = np.flatnonzero(~np.isfinite(start.to_numpy(dtype=float)))
    if bad.size:
        raise InputError(f"{path}, line {bad[0] + 2}, column 'start_s': "
                         f"{table['start_s'].iloc[bad[0]]!r}; expected a number of seconds")
    table["start_s"] = start.astype(float)
    kind = table["kind"].fillna("").astype(str).str.strip().str.lower()
    empty = np.flatnonzero((kind == "").to_numpy())
    if empty.size:
        raise InputError(f"{path}, line {empty[0] + 2}, column 'kind': empty; expected twitch, "
                         "lm or sustained")
    table["kind"] = kind
    table["plm"] = (parse_bool(table["plm"], column="plm", where=lambda k: f"{path}, line {k + 2}")
                    if "plm" in table.columns else np.zeros(len(table), bool))
    return table


# --------------------------------------------------------------------------------------------
# Reference scorings from CSV: clock and ISO times, label columns, a start comment
# --------------------------------------------------------------------------------------------


#: Columns holding an annotation text (the first present wins).
LABEL_COLUMNS = ("label", "annotation", "event", "event_type", "description", "text", "name",
                 "type")
#: Clock-time columns, used when no start_s/onset/... (end_s/offset/...) column exists.
_CLOCK_START_COLUMNS = ("start_time", "onset_time", "start time", "onset time", "begin", "time",
                        "clock_time", "clock")
_CLOCK_END_COLUMNS = ("end_time", "offset_time", "end time", "offset time", "stop", "stop_time")
#: Column carrying each row's line number through :func:`detector.io.tables.parse_interval_csv`.
_LINE_COL = "__source_line"
_FILE_LINE_COL = "__file_source_line"

@dataclass(frozen=True)
class CsvRows:
    """A reference CSV read into seconds.

    Attributes
    ----------
    table : DataFrame
        :func:`detector.io.tables.parse_interval_csv`'s table (``start_s``, ``end_s``,
        ``duration_s`` in seconds from second 0 of the file, or from the recording start for
        clock times) plus ``source_line`` (1-based); ``duration_s`` is NaN for a point
        annotation of a label column.
    label_mode : bool
        The file has a label or ``category`` column.
    shift_s : float
        Seconds to add to ``table``'s times to count them from ``start_unix_s``.
    start_unix_s : float or None
        Unix time (s) of second 0 after the shift: the recording's start when known, else the
        file's.
    file_start_unix_s : float or None
        Unix time (s) of the file's second 0 (``start=`` or the start comment).
    clock_times : bool
        The times were clock times or ISO date-times.
    """

    table: pd.DataFrame
    label_mode: bool
    shift_s: float
    start_unix_s: float | None
    file_start_unix_s: float | None
    clock_times: bool


def parse_reference_csv(text: str, source: str, *, tz: tzinfo = timezone.utc,
                        start_unix_s: float | None = None,
                        recording_start_unix_s: float | None = None) -> CsvRows:
    """Parse the text of a reference CSV (see the module notes for the columns).

    Parameters
    ----------
    text : str
        The file's content.
    source : str
        The file name, for messages.
    tz : tzinfo
        Zone of clock times and ISO times without an offset.
    start_unix_s : float, optional
        Unix time (s) of the file's second 0; default the file's start comment, if any.
    recording_start_unix_s : float, optional
        Unix time (s) the output counts from; seconds are shifted by (file start - recording
        start) when both are known.

    Returns
    -------
    CsvRows

    Raises
    ------
    InputError
        Naming the file, the line and the column: a bad value, a row wider than the header,
        clock times without a known start, or clock times in only one of two time columns.
    """
    lines = text.splitlines()
    data = [i for i, ln in enumerate(lines) if ln.strip() and not ln.lstrip().startswith("#")]
    if not data:
        parse_interval_csv(text, source)  # raises "empty file", saying what is expected
        raise InputError(f"{source}: empty file")
    if start_unix_s is None:
        start_unix_s = comment_start(lines, tz, source)
    hi, body = data[0], data[1:]
    sep = max((",", ";", "\t"), key=lines[hi].count)
    sep = sep if lines[hi].count(sep) else ","
    rows = {i: next(csv.reader([lines[i]], delimiter=sep)) for i in data}
    header = [h.strip().lower() for h in rows[hi]]
    for i in body:
        row = rows[i]
        if len(row) > len(header) and any(f.strip() for f in row[len(header):]):
            raise InputError(f"{source}, line {i + 1}: {len(row)} fields but the header has "
                             f"{len(header)}; expected one value per column ({sep!r} separated)")
    if "source_line" in header:
        header[header.index("source_line")] = _FILE_LINE_COL

    def pick(names: tuple[str, ...]) -> str | None:
        return next((n for n in names if n in header), None)

    for aliases, clock_names, name in ((START_ALIASES, _CLOCK_START_COLUMNS, "start"),
                                       (END_ALIASES, _CLOCK_END_COLUMNS, "end")):
        clock_col = pick(clock_names)
        if pick(aliases) is None and clock_col is not None:
            header[header.index(clock_col)] = name
    start_col, end_col, dur_col = pick(START_ALIASES), pick(END_ALIASES), pick(DURATION_ALIASES)
    label_mode = pick(LABEL_COLUMNS) is not None or "category" in header
    cells = {i: (list(rows[i]) + [""] * len(header))[:len(header)] for i in body}

    t0 = recording_start_unix_s if recording_start_unix_s is not None else start_unix_s
    shift_s = 0.0
    clock_cols = [c for c in (start_col, end_col) if c is not None
                  and any(":" in cells[i][header.index(c)] for i in body)]
    if clock_cols:
        clock_to_seconds(cells, body, header, clock_cols, (start_col, end_col), tz=tz,
                          t0=t0, anchor=start_unix_s, source=source, header_line=hi + 1)
    elif start_unix_s is not None and recording_start_unix_s is not None:
        shift_s = start_unix_s - recording_start_unix_s
    point: list[int] = []
    if label_mode and end_col is None and dur_col is not None:
        j = header.index(dur_col)
        point = [i + 1 for i in body if not cells[i][j].strip()]
        for i in body:
            cells[i][j] = cells[i][j] if cells[i][j].strip() else "0"

    out = list(lines)
    out[hi] = csv_line(header + [_LINE_COL], sep)
    for i in body:
        out[i] = csv_line(cells[i] + [str(i + 1)], sep)
    try:
        table = parse_interval_csv("\n".join(out), source, allow_negative=True)
    except InputError as exc:  # a header listing names the helper column: drop it
        raise InputError(str(exc).replace(f", {_LINE_COL}", "")) from None
    table["source_line"] = table.pop(_LINE_COL).astype(int)
    table = table.drop(columns=[c for c in (_FILE_LINE_COL,) if c in table.columns])
    if point:
        table.loc[table["source_line"].isin(point).to_numpy(), "duration_s"] = np.nan
    return CsvRows(table=table, label_mode=label_mode, shift_s=shift_s, start_unix_s=t0,
                   file_start_unix_s=start_unix_s, clock_times=bool(clock_cols))


# --------------------------------------------------------------------------------------------
# Wall-clock times (also used for EDF+ header starts)
# --------------------------------------------------------------------------------------------


def csv_line(fields: list[str], sep: str) -> str:
    buf = io.StringIO()
    csv.writer(buf, delimiter=sep, lineterminator="").writerow(fields)
    return buf.getvalue()
