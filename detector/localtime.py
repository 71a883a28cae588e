"""Clock times for people: which zone, by which name, and whether a recording has a clock at all.

Files keep UTC (and add a local time with its offset); what a person reads (the report, its
plots, the terminal) is in the zone of ``--tz``, by default the computer's, with its
daylight-saving rules.
"""

from __future__ import annotations

import os
from datetime import datetime, timezone, tzinfo
from typing import TYPE_CHECKING, Any

from .errors import InputError

if TYPE_CHECKING:
    from .recording import Recording

__all__ = ["local_zone", "zone_named", "zone_or_utc", "zone_name", "zone_label", "has_clock"]


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
            key = open("/etc/timezone", encoding="ascii").read().strip() or None
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
