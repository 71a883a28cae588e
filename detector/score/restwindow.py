"""The rest window: the part of the recording that counts as the night (lights off to lights on).

Indices are per hour of rest inside this window; movements outside it are listed but not scored.
It is either given (``--start HH:MM --end HH:MM``, clock times in the zone of ``--tz``, by default
the computer's) or estimated: from when the sensor was put on to when it was taken off, i.e. the
recording without the non-wear periods that touch its ends (:mod:`detector.detect.nonwear`). Without
such periods the window is the whole recording. (Sleep-period detection from wrist actigraphy, e.g.
van Hees et al. 2018's HDCZA, looks for long stretches of little posture change; on a leg with
periodic limb movements those stretches are exactly what is fragmented, so it is not used here.)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Any

from detector.io.localtime import has_clock, local_zone
from detector.io.recording import InputError, Recording

__all__ = ["RestWindow", "parse_clock", "given_window", "estimated_window"]

_CLOCK = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*$")


@dataclass(frozen=True)
class RestWindow:
    """Seconds from the recording's first sample, and how the window was found.

    Attributes
    ----------
    start_s, end_s : float
        The window, clipped to the recording.
    source : {"given", "estimated", "whole recording"}
    how : str
        One plain sentence for the report.
    zone : tzinfo, optional
        The zone the clock times are written in (default: the computer's).
    """

    start_s: float
    end_s: float
    source: str
    how: str
    zone: tzinfo | None = None

    def as_dict(self, recording: Recording) -> dict[str, Any]:
        """``summary.json``'s ``rest_window``: ISO 8601 times with their offset (or seconds from
        the start for relative timestamps), the source and the sentence."""
        out: dict[str, Any] = {"start_s": round(self.start_s, 3), "end_s": round(self.end_s, 3),
                               "source": self.source, "how": self.how}
        if has_clock(recording):
            zone = self.zone or local_zone()
            for key, s in (("start_time", self.start_s), ("end_time", self.end_s)):
                t = datetime.fromtimestamp(recording.t0_unix_s + s, tz=timezone.utc)
                out[key] = t.astimezone(zone).isoformat(timespec="seconds")
        else:
            out["start_time"] = out["end_time"] = None
        return out


def parse_clock(text: str, what: str = "--start") -> tuple[int, int]:
    """``"23:40"`` -> ``(23, 40)``; raises :class:`InputError` with the expected form."""
    m = _CLOCK.match(str(text))
    if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        raise InputError(f"{what} {text!r}: expected a clock time HH:MM (e.g. 23:40)")
    return int(m.group(1)), int(m.group(2))


def given_window(recording: Recording, start: str, end: str,
                 tz: tzinfo | None = None) -> RestWindow:
    """The window from lights-off ``start`` to lights-on ``end`` (clock times ``HH:MM``).

    ``start`` is its first occurrence from 6 h before the recording's first sample on; ``end``
    the first occurrence after ``start``. Both are clipped to the recording.

    Raises
    ------
    InputError
        A time not of the form HH:MM, a recording with relative timestamps (no clock time), or a
        window that does not overlap the recording.
    """
    sh, sm = parse_clock(start, "--start")
    eh, em = parse_clock(end, "--end")
    if not has_clock(recording):
        raise InputError(f"{recording.source}: the timestamps are relative (no clock time), so "
                         "--start/--end cannot be placed; leave them out")
    zone = tz or local_zone()
    t0 = datetime.fromtimestamp(recording.t0_unix_s, tz=timezone.utc).astimezone(zone)
    base = t0 - timedelta(hours=6)
    lights_off = _next_clock(base, sh, sm, zone)
    lights_on = _next_clock(lights_off + timedelta(minutes=1), eh, em, zone)
    a = lights_off.timestamp() - recording.t0_unix_s
    b = lights_on.timestamp() - recording.t0_unix_s
    a, b = max(a, 0.0), min(b, recording.duration_s)
    if b <= a:
        raise InputError(f"--start {start} --end {end}: the window "
                         f"{lights_off:%Y-%m-%d %H:%M}-{lights_on:%H:%M} ({zone}) does not "
                         f"overlap the recording ({t0:%Y-%m-%d %H:%M} for "
                         f"{recording.duration_s / 3600:.1f} h)")
    return RestWindow(a, b, "given", f"given: lights off {start}, lights on {end} ({zone})",
                      zone)


def _next_clock(after: datetime, h: int, m: int, zone: tzinfo) -> datetime:
    """The first local time h:m at or after ``after`` (a zone-aware datetime)."""
    day = after.date()
    for k in range(3):
        naive = datetime(day.year, day.month, day.day, h, m) + timedelta(days=k)
        cand = naive.replace(tzinfo=zone)  # the zone gives that wall time's offset (DST too)
        if cand >= after:
            return cand
    raise AssertionError("unreachable")  # pragma: no cover


def estimated_window(recording: Recording, nonwear: list[tuple[float, float]]) -> RestWindow:
    """From when the sensor was put on to when it was taken off (non-wear at the recording's
    ends left out); the whole recording when neither end was off the leg."""
    a, b = 0.0, recording.duration_s
    slack = 1.0
    for s, e in nonwear:
        if s <= slack:
            a = max(a, e)
        if e >= recording.duration_s - slack:
            b = min(b, s)
    if b <= a:  # never worn: keep the whole recording (non-wear already leaves it out)
        return RestWindow(0.0, recording.duration_s, "whole recording",
                          "the whole recording (the sensor never seemed worn)")
    if a == 0.0 and b == recording.duration_s:
        return RestWindow(a, b, "whole recording",
                          "the whole recording (no --start/--end given; the sensor was on the "
                          "leg from start to end)")
    return RestWindow(a, b, "estimated",
                      "estimated: from when the sensor was put on to when it was taken off "
                      "(give --start/--end for lights off and on)")
