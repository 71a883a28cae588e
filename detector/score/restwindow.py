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

import numpy as np

from detector.io.localtime import has_clock, local_zone
from detector.io.recording import InputError, Recording, mask_runs

__all__ = ["RestWindow", "parse_clock", "given_window", "estimated_window", "NightWindow",
           "nights_from_clock", "nights_from_minutes"]

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


# --------------------------------------------------------------------------------------------
# The nights of a recording of several days
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class NightWindow:
    """One night's rest window in a long recording, in unix seconds, and how it was found."""

    start_unix_s: float
    end_unix_s: float
    source: str
    how: str


#: A rest stretch longer than this (hours) is not one night's rest.
MAX_NIGHT_H = 16.0
#: Walking minutes (before and after a minute) that give the shin's axis at that minute.
_AXIS_MINUTES = 15
#: A night's window shorter than this (minutes) is not a night (a nap, or the recording's edge).
MIN_NIGHT_OVERLAP_MIN = 30.0


def nights_from_clock(first_unix_s: float, last_unix_s: float, start: str, end: str,
                      zone: tzinfo | None = None) -> list[NightWindow]:
    """Every night from lights-off ``start`` to lights-on ``end`` (``HH:MM``, in ``zone``)
    that overlaps the recording by at least :data:`MIN_NIGHT_OVERLAP_MIN` minutes."""
    sh, sm = parse_clock(start, "--start")
    eh, em = parse_clock(end, "--end")
    zone = zone or local_zone()
    t = datetime.fromtimestamp(first_unix_s, tz=timezone.utc).astimezone(zone) - timedelta(
        days=1)
    out: list[NightWindow] = []
    while t.timestamp() < last_unix_s:
        off = _next_clock(t, sh, sm, zone)
        on = _next_clock(off + timedelta(minutes=1), eh, em, zone)
        a, b = max(off.timestamp(), first_unix_s), min(on.timestamp(), last_unix_s)
        if b - a >= MIN_NIGHT_OVERLAP_MIN * 60.0:
            out.append(NightWindow(a, b, "given",
                                   f"given: lights off {start}, lights on {end} ({zone})"))
        t = off + timedelta(hours=1)
    return out


def nights_from_minutes(minutes: Any, zone: tzinfo | None = None, *, min_rest_h: float = 3.0,
                        join_gap_min: float = 30.0, lying_deg: float = 60.0
                        ) -> tuple[list[NightWindow], list[str]]:
    """Each day's main rest period, from a :class:`detector.detect.minutes.MinuteSummary`.

    A shin is near vertical while its owner stands, walks or sits, and near horizontal while
    they lie. The shin's axis in the sensor's frame is the mean direction of gravity in minutes
    of walking (movement in at least half of the seconds): the 15 such minutes before a minute
    give one axis and the 15 after it another (the sensor may have been strapped on again in
    between), and a minute is lying when gravity is at least ``lying_deg`` from both. Lying
    stretches less than ``join_gap_min`` apart (a walk to the bathroom) are one; of the
    stretches of at least ``min_rest_h`` hours, the longest that ends in each noon-to-noon day
    (in ``zone``) is that day's night. Without minutes of
    walking to find the axis from, still minutes (movement in under a fifth of the seconds)
    stand in for lying, which counts sitting still as rest.

    Returns
    -------
    nights : list of NightWindow
    notes : list of str
        How the windows were found, for the user.
    """
    zone = zone or local_zone()
    n = minutes.n_samples
    valid = n > 0
    g = minutes.gravity_g
    moving = minutes.moving_share
    norm = np.linalg.norm(np.where(valid[:, None], g, 0.0), axis=1)
    unit = np.where((norm > 0)[:, None], g / np.where(norm > 0, norm, 1.0)[:, None], 0.0)
    walking = valid & (np.nan_to_num(moving) >= 0.5)
    notes: list[str] = []
    if walking.sum() >= 10:
        # The shin's axis from the walking minutes nearest before and after each minute (the
        # sensor may be strapped on again another way): lying is far from both.
        w = np.flatnonzero(walking)
        cum = np.vstack([np.zeros(3), np.cumsum(unit[w], axis=0)])
        pos = np.searchsorted(w, np.arange(len(n)))
        rest = valid.copy()
        for lo, hi in ((np.maximum(pos - _AXIS_MINUTES, 0), pos),
                       (pos, np.minimum(pos + _AXIS_MINUTES, len(w)))):
            has = hi > lo
            axis = cum[hi] - cum[lo]
            axis /= np.maximum(np.linalg.norm(axis, axis=1), 1e-9)[:, None]
            angle = np.degrees(np.arccos(np.clip((unit * axis).sum(axis=1), -1.0, 1.0)))
            rest &= ~has | (angle >= lying_deg)
        how = ("estimated from the shin's posture: lying (shin within "
               f"{90 - lying_deg:g} degrees of horizontal; give --start/--end for lights off "
               "and on)")
    else:
        rest = valid & (np.nan_to_num(moving, nan=1.0) < 0.2)
        how = ("estimated from stillness (no walking to tell lying from sitting; give "
               "--start/--end for lights off and on)")
        notes.append("No walking was seen to tell lying from sitting, so still time counts as "
                     "rest; give --start and --end for lights off and on.")
    runs = _runs(rest, int(round(join_gap_min)))
    best: dict[Any, tuple[int, int]] = {}
    for a, b in runs:
        if (b - a) < min_rest_h * 60.0:
            continue
        if (b - a) > MAX_NIGHT_H * 60.0:
            when = datetime.fromtimestamp(minutes.t0_unix_s + a * 60.0, tz=timezone.utc
                                          ).astimezone(zone)
            notes.append(f"{(b - a) / 60:.0f} h without getting up from {when:%Y-%m-%d %H:%M} "
                         "is not taken as a night (the sensor off the leg, or a day in bed); "
                         "give --start and --end to analyse it")
            continue
        end = datetime.fromtimestamp(minutes.t0_unix_s + b * 60.0, tz=timezone.utc
                                     ).astimezone(zone)
        day = (end - timedelta(hours=12)).date()
        if day not in best or (b - a) > best[day][1] - best[day][0]:
            best[day] = (a, b)
    out = []
    for day in sorted(best):
        a, b = best[day]
        start = max(minutes.t0_unix_s + a * 60.0, minutes.first_unix_s)
        stop = min(minutes.t0_unix_s + b * 60.0, minutes.last_unix_s)
        out.append(NightWindow(start, stop, "estimated", how))
    return out, notes


def _runs(flag: np.ndarray, join_gap: int) -> list[tuple[int, int]]:
    """Half-open runs of True, runs less than ``join_gap`` apart joined."""
    starts, ends = mask_runs(flag)
    out: list[tuple[int, int]] = []
    for a, b in zip(starts.tolist(), ends.tolist()):
        if out and a - out[-1][1] < join_gap:
            out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return out
