"""Clock times for people: which zone, by which name, and whether a recording has a clock at all.

Files keep UTC (and add a local time with its offset); what a person reads (the report, its
plots, the terminal) is in the zone of ``--tz``, by default the computer's, with its
daylight-saving rules.
"""

from __future__ import annotations

import math
import os
import re
from datetime import datetime, time, timedelta, timezone, tzinfo
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from detector.errors import InputError

#: A comment line giving the wall-clock time of a table's second 0.
START_COMMENT = re.compile(r"^\s*#\s*(start_unix_s|start_time)\s*[=:]\s*(\S+)\s*$")

if TYPE_CHECKING:
    from detector.io.recording import Recording

__all__ = ["local_zone", "zone_named", "zone_or_utc", "zone_name", "zone_label", "has_clock",
           "parse_timezone", "unix_s", "parse_start", "recording_start_unix_s", "clock_to_seconds",
           "comment_start", "parse_clock", "device_clock_offset_s"]


def local_zone() -> tzinfo:
    """The computer's time zone, with its daylight-saving rules: ``$TZ``, else
    ``/etc/localtime`` (named after ``/etc/timezone`` or the link's target), else today's fixed
    offset."""
    from zoneinfo import ZoneInfo

    name = os.environ.get("TZ", "").lstrip(":")
    if name:
        try:
            return ZoneInfo(name)
        except (ValueError, KeyError, OSError):
            pass
    try:
        key = None
        try:
            with open("/etc/timezone", encoding="ascii") as fh:
                key = fh.read().strip() or None
        except OSError:
            target = os.path.realpath("/etc/localtime")
            if "zoneinfo/" in target:
                key = target.split("zoneinfo/", 1)[1]
        if key:
            try:
                return ZoneInfo(key)
            except (ValueError, KeyError, OSError):
                pass
        with open("/etc/localtime", "rb") as fh:
            return ZoneInfo.from_file(fh, key="localtime")
    except (OSError, ValueError):
        zone = datetime.now().astimezone().tzinfo
        return zone if zone is not None else timezone.utc


def zone_named(name: str | None) -> tzinfo | None:
    """The zone a user named with ``--tz`` (None when not given: the computer's is meant).

    Raises
    ------
    InputError
        An unknown zone name, in one line with examples.
    """
    if not name:
        return None
    from zoneinfo import ZoneInfo

    try:
        return ZoneInfo(name)
    except (KeyError, ValueError, OSError):  # ZoneInfoNotFoundError is a KeyError
        raise InputError(f"--tz {name!r}: not a known time zone; use a name such as "
                         "Europe/Berlin, America/New_York or UTC") from None


def zone_or_utc(name: Any) -> tzinfo:
    """The zone of a name written in a result (``summary.json`` ``tz``); UTC when missing or
    unknown."""
    if name:
        try:
            from zoneinfo import ZoneInfo

            return ZoneInfo(str(name))
        except (KeyError, ValueError, OSError):
            pass
    return timezone.utc


def zone_name(zone: tzinfo | None) -> str:
    """The name of ``zone`` (the computer's zone when None), as ``summary.json`` ``tz``."""
    zone = zone or local_zone()
    return str(getattr(zone, "key", None) or zone)


def zone_label(zone: Any) -> str:
    """``UTC`` or the zone's name (``Europe/Berlin``), for a person."""
    name = str(getattr(zone, "key", None) or zone)
    return "UTC" if name in ("UTC", "Etc/UTC", "UTC+00:00") else name


def has_clock(recording: Recording) -> bool:
    """Whether the recording's times are clock times (not seconds from its start)."""
    return not recording.info.get("time_relative") and recording.t0_unix_s >= 1e8


#: A clock time lies from 6 h before to 18 h after the start (a PSG may start before the
#: accelerometer; a night is shorter than 18 h).
_CLOCK_BEFORE_S = 6 * 3600.0

_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}(?:\.\d*)?))?$")

_TZ_OFFSET = re.compile(r"^(?:UTC|GMT)?\s*([+-])(\d{1,2})(?::?(\d{2}))?$", re.IGNORECASE)

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def clock_to_seconds(cells: dict[int, list[str]], body: list[int], header: list[str],
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
            value = parse_clock(cells[i][j], tz, t0 if anchor is None else anchor)
            if value is None:
                raise InputError(
                    f"{source}, line {i + 1}, column '{col}': got {cells[i][j]!r}; expected a "
                    "clock time like 22:31:05.250 or an ISO date-time like "
                    "2024-03-01T22:31:05.250, as on the other lines")
            cells[i][j] = repr(value - t0)


def parse_clock(raw: str, tz: tzinfo, anchor_unix_s: float) -> float | None:
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


def comment_start(lines: list[str], tz: tzinfo, source: str) -> float | None:
    """Second 0 from a ``# start_unix_s = ...`` (preferred) or ``# start_time = ...`` line."""
    found: float | None = None
    for n, line in enumerate(lines, start=1):
        m = START_COMMENT.match(line)
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


def device_clock_offset_s(local_s: float, zone: tzinfo) -> float:
    """The zone's UTC offset (s) at a device-clock time (``local_s``: the device's zone-less
    clock read as if it were UTC). Subtracted from every time of a file, it puts the file on
    UTC: a device clock keeps the offset it was set up with (it does not follow daylight
    saving time), so the offset at the first sample serves the whole file."""
    off = zone.utcoffset(datetime.fromtimestamp(local_s, timezone.utc).replace(tzinfo=None))
    return off.total_seconds() if off is not None else 0.0


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
