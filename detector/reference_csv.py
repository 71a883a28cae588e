"""A reference scoring from CSV text: clock and ISO times, label columns, a start comment.

:func:`parse_reference_csv` rewrites the text line for line, in memory, into the seconds that
:func:`detector.plm.parse_interval_csv` reads, so every message names the file and the line;
:func:`detector.reference.read_reference` then sorts the rows into leg movements, respiratory
events and other annotations. :func:`format_reference_csv` writes a reference in this format.

Besides the columns of :func:`detector.plm.read_lm_table` (``start_s``/``end_s``,
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
  :func:`detector.reference.write_reference_csv` writes) that overrides the labels;
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
import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd

from .plm import DURATION_ALIASES, END_ALIASES, START_ALIASES, parse_interval_csv
from .recording import InputError

if TYPE_CHECKING:
    from .reference import Reference

__all__ = ["CsvRows", "parse_reference_csv", "format_reference_csv", "LABEL_COLUMNS",
           "parse_timezone", "unix_s", "parse_start", "recording_start_unix_s"]

#: Columns holding an annotation text (the first present wins).
LABEL_COLUMNS = ("label", "annotation", "event", "event_type", "description", "text", "name",
                 "type")
#: Clock-time columns, used when no start_s/onset/... (end_s/offset/...) column exists.
_CLOCK_START_COLUMNS = ("start_time", "onset_time", "start time", "onset time", "begin", "time",
                        "clock_time", "clock")
_CLOCK_END_COLUMNS = ("end_time", "offset_time", "end time", "offset time", "stop", "stop_time")
#: Column carrying each row's line number through :func:`detector.plm.parse_interval_csv`.
_LINE_COL = "__source_line"
_FILE_LINE_COL = "__file_source_line"
#: A clock time lies from 6 h before to 18 h after the start (a PSG may start before the
#: accelerometer; a night is shorter than 18 h).
_CLOCK_BEFORE_S = 6 * 3600.0
_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}(?:\.\d*)?))?$")
_START_COMMENT = re.compile(r"^\s*#\s*(start_unix_s|start_time)\s*[=:]\s*(\S+)\s*$")
_TZ_OFFSET = re.compile(r"^(?:UTC|GMT)?\s*([+-])(\d{1,2})(?::?(\d{2}))?$", re.IGNORECASE)
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
#: Columns :func:`format_reference_csv` writes, in this order, when present.
_WRITE_COLUMNS = ("start_s", "end_s", "duration_s", "category", "kind", "leg", "plm", "series",
                  "label", "annotation_index")


@dataclass(frozen=True)
class CsvRows:
    """A reference CSV read into seconds.

    Attributes
    ----------
    table : DataFrame
        :func:`detector.plm.parse_interval_csv`'s table (``start_s``, ``end_s``,
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
        start_unix_s = _comment_start(lines, tz, source)
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
        _clock_to_seconds(cells, body, header, clock_cols, (start_col, end_col), tz=tz,
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
    out[hi] = _csv_line(header + [_LINE_COL], sep)
    for i in body:
        out[i] = _csv_line(cells[i] + [str(i + 1)], sep)
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


def _clock_to_seconds(cells: dict[int, list[str]], body: list[int], header: list[str],
                      clock_cols: list[str], time_cols: tuple[str | None, str | None], *,
                      tz: tzinfo, t0: float | None, anchor: float | None, source: str,
                      header_line: int) -> None:
    """Replace clock or ISO times in ``cells`` by seconds from ``t0`` (in place); a clock
    time without a date is put on the day around ``anchor`` (default ``t0``)."""
    start_col, end_col = time_cols
    if end_col is not None and len(clock_cols) == 1:
        other = start_col if clock_cols[0] == end_col else end_col
        raise InputError(f"{source}, line {header_line}: column '{clock_cols[0]}' holds clock "
                         f"times but '{other}' does not; expected both as clock times or both "
                         "in seconds")
    if t0 is None:
        j = header.index(clock_cols[0])
        raise InputError(
            f"{source}, line {body[0] + 1}, column '{clock_cols[0]}': time "
            f"{cells[body[0]][j]!r} needs the start of the night to become seconds; pass "
            "recording= (a Recording with its start time), start='2024-03-01T22:00:00' "
            "(the wall-clock time of second 0), or a comment line '# start_time = "
            "2024-03-01T22:00:00' in the file")
    for col in clock_cols:
        j = header.index(col)
        for i in body:
            value = _parse_clock(cells[i][j], tz, t0 if anchor is None else anchor)
            if value is None:
                raise InputError(
                    f"{source}, line {i + 1}, column '{col}': got {cells[i][j]!r}; expected a "
                    "clock time like 22:31:05.250 or an ISO date-time like "
                    "2024-03-01T22:31:05.250, as on the other lines")
            cells[i][j] = repr(value - t0)


def _parse_clock(raw: str, tz: tzinfo, anchor_unix_s: float) -> float | None:
    """Unix seconds of a clock time or an ISO date-time; None when ``raw`` is neither."""
    text = raw.strip().replace(",", ".")
    m = _CLOCK.match(text)
    if m:
        h, mi, s = int(m.group(1)), int(m.group(2)), float(m.group(3) or 0.0)
        if h > 23 or mi > 59 or s >= 60:
            return None
        day = datetime.fromtimestamp(anchor_unix_s, tz=tz).date()
        for d in (-1, 0, 1):
            t = unix_s(datetime.combine(day + timedelta(days=d), time(h, mi))
                       + timedelta(seconds=s), tz)
            if anchor_unix_s - _CLOCK_BEFORE_S <= t < anchor_unix_s + 86400.0 - _CLOCK_BEFORE_S:
                return t
        return None
    if ":" not in text:
        return None
    try:
        return unix_s(datetime.fromisoformat(text), tz)
    except ValueError:
        return None


def _comment_start(lines: list[str], tz: tzinfo, source: str) -> float | None:
    """Second 0 from a ``# start_unix_s = ...`` (preferred) or ``# start_time = ...`` line."""
    found: float | None = None
    for n, line in enumerate(lines, start=1):
        m = _START_COMMENT.match(line)
        if not m:
            continue
        try:
            value = (float(m.group(2)) if m.group(1) == "start_unix_s"
                     else unix_s(datetime.fromisoformat(m.group(2)), tz))
        except ValueError:
            raise InputError(f"{source}, line {n}: {m.group(1)} {m.group(2)!r}; expected unix "
                             "seconds or an ISO date-time") from None
        if m.group(1) == "start_unix_s" or found is None:
            found = value
    return found


def format_reference_csv(ref: Reference) -> str:
    """The text :func:`detector.reference.write_reference_csv` writes (described there)."""
    ev = ref.events
    plm = (ev["plm"].astype("boolean") if "plm" in ev.columns
           else pd.Series(pd.NA, index=ev.index, dtype="boolean"))
    lm = ev.assign(category="lm",
                   plm=["" if v is pd.NA else ("true" if v else "false") for v in plm])
    if "series" in ev.columns:
        lm["series"] = ev["series"].astype("Int64")
    parts = [lm] + [t.assign(category=c) for t, c in ((ref.respiratory, "respiratory"),
                                                       (ref.other, "other"))]
    out = pd.concat([t for t in parts if len(t)] or [lm], ignore_index=True)
    out = out[[c for c in _WRITE_COLUMNS if c in out.columns]]
    if "annotation_index" in out.columns:
        out["annotation_index"] = out["annotation_index"].astype("Int64")
    out = out.iloc[np.argsort(out["start_s"].to_numpy(dtype=float), kind="stable")]
    lines = []
    if ref.start_unix_s is not None:
        lines.append(f"# start_unix_s = {ref.start_unix_s!r}")
        lines.append("# start_time = " + datetime.fromtimestamp(
            ref.start_unix_s, tz=timezone.utc).isoformat())
    lines.append(f"# reference scoring from {Path(ref.source).name}; times in seconds"
                 + (" from start_time" if ref.start_unix_s is not None else ""))
    return "\n".join(lines) + "\n" + out.to_csv(index=False, lineterminator="\n")


def _csv_line(fields: list[str], sep: str) -> str:
    buf = io.StringIO()
    csv.writer(buf, delimiter=sep, lineterminator="").writerow(fields)
    return buf.getvalue()


# --------------------------------------------------------------------------------------------
# Wall-clock times (also used for EDF+ header starts)
# --------------------------------------------------------------------------------------------

def parse_timezone(value: str | tzinfo | None) -> tzinfo:
    """A time zone from an IANA name (``"Europe/Berlin"``), an offset (``"+01:00"``), ``"UTC"``
    or a tzinfo; None is UTC."""
    if value is None:
        return timezone.utc
    if isinstance(value, tzinfo):
        return value
    text = str(value).strip()
    m = _TZ_OFFSET.match(text)
    if m:
        sign = -1 if m.group(1) == "-" else 1
        return timezone(sign * timedelta(hours=int(m.group(2)), minutes=int(m.group(3) or 0)))
    if text.upper() in ("UTC", "GMT", "Z"):
        return timezone.utc
    try:
        return ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise InputError(f"edf_timezone={value!r}: unknown time zone; expected an IANA name "
                         "like 'Europe/Berlin', an offset like '+01:00', or 'UTC'") from None


def unix_s(dt: datetime, tz: tzinfo) -> float:
    """Unix seconds of a datetime; a naive one is taken in ``tz``."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=tz)
    return (dt - _EPOCH).total_seconds()


def parse_start(start: datetime | str | float, tz: tzinfo) -> float:
    """A start given as a datetime, an ISO string or unix seconds, as unix seconds."""
    if isinstance(start, datetime):
        return unix_s(start, tz)
    if isinstance(start, (int, float)) and not isinstance(start, bool):
        if not math.isfinite(start):
            raise InputError(f"start={start!r}: expected a finite number of unix seconds")
        return float(start)
    if isinstance(start, str):
        try:
            return unix_s(datetime.fromisoformat(start.strip().replace(",", ".")), tz)
        except ValueError:
            pass
    raise InputError(f"start={start!r}: expected an ISO date-time like '2024-03-01T22:00:00', "
                     "a datetime, or unix seconds")


def recording_start_unix_s(recording: Any) -> float | None:
    """Unix start (s) of a recording; None when unknown (relative timestamps, or t0 = 0)."""
    if recording is None:
        return None
    if not hasattr(recording, "t0_unix_s"):
        raise InputError(f"recording={type(recording).__name__}: expected a Recording (with "
                         "t0_unix_s) or a result with .recording")
    info = getattr(recording, "info", None) or {}
    t0 = float(recording.t0_unix_s)
    if info.get("time_relative") or t0 == 0.0 or not math.isfinite(t0):
        return None
    return t0
