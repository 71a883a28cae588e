"""A recording of several days and nights, analysed night by night in bounded memory.

Research accelerometers record for a week or more (an Axivity AX3 at 100 Hz holds about 60
million samples a week). Such a file is read twice in batches (:class:`detector.io.stream.
SampleStream`), never whole:

1. minute by minute, where gravity points and how much the leg moved
   (:class:`detector.detect.minutes.MinuteSummary`); from that each night's rest window is
   found (:func:`detector.score.restwindow.nights_from_minutes`), or taken from lights-off and
   lights-on clock times (:func:`~detector.score.restwindow.nights_from_clock`);
2. each night's samples, with :data:`MARGIN_S` on each side for the filters, posture baselines
   and noise floor, are cleaned and analysed as one night (:func:`detector.analysis.analyze`)
   as soon as the file has passed them, then let go.

Memory is therefore that of one night plus a constant, whatever the length of the file. Each
night is written to ``OUT/NIGHT-YYYY-MM-DD/`` (``events.csv``, ``summary.json``,
``report.html``; the date is the evening's), and ``OUT/nights.csv`` / ``nights.parquet`` list
them as ``legtwitch batch`` does, so that ``legtwitch trends OUT`` reads a week as it reads a
batch. A night's results are exactly those of its samples cut out of the file (window and
margins), resampled onto the whole file's grid and analysed with the same window; within the
window they are those of the whole file analysed at once (no step of the detector looks
further than :data:`MARGIN_S` away).
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo
from pathlib import Path
from typing import Any, Callable

import numpy as np

from detector.config import Config
from detector.errors import InputError
from detector.fileio import make_private_dir

__all__ = ["MULTI_DAY_MIN_H", "MARGIN_S", "NightsResult", "analyze_nights", "recording_span_h"]

#: A recording spanning more than this many hours is analysed night by night.
MULTI_DAY_MIN_H = 30.0
#: Samples kept on each side of a night's window (s): more than the half window of the still
#: blocks' spread (900 s, :data:`detector.detect.envelope.STILL_WINDOW_S`), the noise floor's
#: (150 s) and the posture baseline (30 s), so the window's detection is that of the whole file.
MARGIN_S = 1200.0
#: A second pass lets go of a night once the file's times are this far past its end (s): rows
#: of a file may be a little out of order.
_SLACK_S = 60.0

Progress = Callable[[str], None]


@dataclass(frozen=True, eq=False)
class NightsResult:
    """What :func:`analyze_nights` did: one row per night (as ``nights.csv``), the folders and
    table files written, notes for the user, and the peak of the samples held at once."""

    rows: list[dict[str, Any]]
    paths: dict[str, Path]
    notes: list[str]
    max_samples_held: int


def recording_span_h(path: str | Path, tz: tzinfo | None = None) -> float | None:
    """Hours from the first to the last timestamp of a CSV, Parquet, ``.cwa`` or ``.bin``
    recording, read from its ends only; None when that cannot be told cheaply (then the file is
    read as one night)."""
    from detector.io.stream import can_stream, probe_span

    if not can_stream(path):
        return None
    span = probe_span(path, tz)
    return None if span is None else (span[1] - span[0]) / 3600.0


def _night_name(start_unix_s: float, zone: tzinfo) -> str:
    """``NIGHT-YYYY-MM-DD``, the date of the evening (a window starting after midnight and
    before noon belongs to the evening before)."""
    local = datetime.fromtimestamp(start_unix_s, tz=timezone.utc).astimezone(zone)
    day = local.date() if local.hour >= 12 else (local - timedelta(days=1)).date()
    return f"NIGHT-{day.isoformat()}"


def analyze_nights(path: str | Path, out: str | Path, config: Config | None = None, *,
                   window: tuple[str, str] | None = None, tz: tzinfo | None = None,
                   report: bool = True, leg: str = "unknown", fs_hz: float | None = None,
                   units: str | None = None, force: bool = False,
                   min_rest_h: float = 3.0, progress: Progress | None = None) -> NightsResult:
    """Analyse a recording of several days night by night, into ``OUT/NIGHT-YYYY-MM-DD/``.

    Parameters
    ----------
    path : str or Path
        A CSV (plain or gzip) or Parquet recording with clock timestamps, or an Axivity
        ``.cwa`` or GENEActiv ``.bin`` file.
    out : str or Path
        Results folder (0700; files 0600).
    config : Config, optional
    window : (str, str), optional
        Lights off and on (``"23:00"``, ``"07:00"``) for every night; estimated per day from the
        shin's posture when None.
    tz : tzinfo, optional
        Zone of the clock times and night dates (default: the computer's).
    report : bool
        Write each night's ``report.html``.
    leg, fs_hz, units, force
        As :func:`detector.io.load.load_recording`.
    min_rest_h : float
        Shortest estimated rest period taken as a night (hours).
    progress : callable, optional
        Called with a status line per step and per night.

    Returns
    -------
    NightsResult

    Raises
    ------
    InputError
        A file that cannot be read, relative timestamps, or no night found.
    """
    from detector.analysis import analyze, write_outputs
    from detector.cohort.nights_table import collate, write_tables
    from detector.detect.minutes import MinuteSummary
    from detector.io.clean import clean
    from detector.io.localtime import local_zone
    from detector.io.outputs import summary_json_text
    from detector.io.stream import SampleStream
    from detector.score.restwindow import RestWindow, nights_from_clock, nights_from_minutes

    cfg = config or Config()
    say = progress or (lambda _msg: None)
    zone = tz or local_zone()
    stream = SampleStream(path, units=units, force=force, tz=zone)
    say(f"reading {path} minute by minute to find the nights")
    minutes = MinuteSummary()
    for batch in stream:
        minutes.add(batch.t_s, batch.xyz_g)
    if stream.info.get("time_relative"):
        raise InputError(f"{path}: the timestamps are relative (no clock time), so the nights of "
                         "a recording of several days cannot be placed; give clock timestamps")
    if not math.isfinite(minutes.first_unix_s):
        raise InputError(f"{path}: no sample with a finite time and acceleration")
    if window is not None:
        nights = nights_from_clock(minutes.first_unix_s, minutes.last_unix_s, window[0],
                                   window[1], zone)
        notes: list[str] = []
    else:
        nights, notes = nights_from_minutes(minutes, zone, min_rest_h=min_rest_h)
    span_h = (minutes.last_unix_s - minutes.first_unix_s) / 3600.0
    if not nights:
        raise InputError(f"{path}: {span_h:.1f} h recorded but no night found (no rest period of "
                         f"{min_rest_h:g} h or more); give --start and --end for lights off and on")
    say(f"{span_h / 24:.1f} days, {len(nights)} night(s); analysing each with {MARGIN_S:g} s on "
        "either side")
    out = make_private_dir(out)
    names: list[str] = []
    seen: dict[str, int] = {}
    for w in nights:                         # two rest periods on one evening: -2, -3 ...
        name = _night_name(w.start_unix_s, zone)
        seen[name] = seen.get(name, 0) + 1
        names.append(name if seen[name] == 1 else f"{name}-{seen[name]}")
    bounds = [(w.start_unix_s - MARGIN_S, w.end_unix_s + MARGIN_S) for w in nights]
    parts: list[list[tuple[np.ndarray, np.ndarray]]] = [[] for _ in nights]
    held = peak = 0
    rows: list[dict[str, Any]] = []
    nxt = 0                              # first night not analysed yet

    def finish(k: int) -> None:
        nonlocal held
        held -= sum(len(p[0]) for p in parts[k])
        t0 = time.perf_counter()
        name, w = names[k], nights[k]
        row: dict[str, Any] = {"night": name, "file": str(path), "status": "failed",
                               "error": None, "content_sha256": None, "summary": None}
        try:
            if not parts[k]:
                raise InputError(f"{path}: no samples in {name}")
            t = np.concatenate([p[0] for p in parts[k]])
            xyz = np.concatenate([p[1] for p in parts[k]])
            n = len(t)
            parts[k] = []
            known = stream.info
            rate = fs_hz if fs_hz is not None else known.get("device_fs_hz")
            rec = clean(t, xyz, fs_hz=rate, config=cfg.clean, source=str(path), leg=leg,
                        info={**known, "n_rows_read": n, "fs_given": fs_hz is not None},
                        force=force, grid_origin_unix_s=minutes.first_unix_s)
            del t, xyz
            rest = RestWindow(max(w.start_unix_s - rec.t0_unix_s, 0.0),
                              min(w.end_unix_s - rec.t0_unix_s, rec.duration_s), w.source,
                              w.how, zone)
            result = analyze(rec, cfg, window=rest, tz=zone)
            result.info["timings"]["load_s"] = 0.0
            write_outputs(result, out / name, report=report)
            summary = result.summary()
            row.update(status="analysed", summary=json.loads(summary_json_text(summary)))
            say(f"{name}: {summary.get('n_plm', 0)} PLMs, {summary.get('n_lm', 0)} LMs in "
                f"{summary.get('rest_h', 0) or 0:.1f} h of rest "
                f"({time.perf_counter() - t0:.1f} s)")
        except Exception as exc:  # noqa: BLE001 - one bad night must not stop the others
            row["error"] = str(exc) if isinstance(exc, InputError) else (
                f"{type(exc).__name__}: {exc}")
            say(f"{name}: not analysed ({row['error']})")
        parts[k] = []
        rows.append(row)

    for batch in stream:
        t = batch.t_s
        if len(t) == 0:
            continue
        lo, hi = float(np.nanmin(t)), float(np.nanmax(t))
        for k in range(nxt, len(nights)):
            a, b = bounds[k]
            if a > hi:
                break
            if b < lo:
                continue
            sel = (t >= a) & (t < b)
            if sel.any():
                parts[k].append((t[sel], batch.xyz_g[sel]))
                held += int(sel.sum())
                peak = max(peak, held)
        while nxt < len(nights) and bounds[nxt][1] + _SLACK_S < lo:
            finish(nxt)
            nxt += 1
    for k in range(nxt, len(nights)):       # the nights the file ended in
        finish(k)
    table = collate(rows)
    paths = write_tables(table, out)
    return NightsResult(rows, paths, notes, peak)
