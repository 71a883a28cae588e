"""The whole analysis of a night, and of a file: load -> detect -> score -> write.

:func:`analyze` runs the recipe (:mod:`detector.detect.recipe`) and the scoring
(:mod:`detector.score.night`) on a recording in memory; :func:`analyze_file` also loads the
file and writes ``events.csv``, ``summary.json`` and ``report.html``. ``legtwitch analyze``,
``batch``, ``record`` (when the night ends) and ``export`` all call :func:`analyze_file`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pandas as pd

from detector.config import Config
from detector.detect.recipe import Detection, find_movements
from detector.errors import InputError
from detector.fileio import make_private_dir, write_private
from detector.io.outputs import events_csv_text, summary_json_text
from detector.io.recording import Recording
from detector.score.plm import merge_bilateral
from detector.tuning.results import NightResult, night_result

__all__ = ["analyze", "analyze_file", "write_outputs", "AnalysedFile", "RecordingTooShort"]

Progress = Callable[[str], None]


def _shift_events(det: Detection, offset_s: float) -> pd.DataFrame:
    ev = det.events.copy()
    ev["start_s"] += offset_s
    ev["end_s"] += offset_s
    return ev


def analyze(recording: Recording, config: Config | None = None, *,
            other_leg: Recording | None = None, respiratory: pd.DataFrame | None = None,
            progress: Progress | None = None, window: Any = None,
            tz: Any = None, hypnogram: pd.DataFrame | None = None) -> NightResult:
    """Analyse one night: events, PLM series, metrics, the article category.

    Parameters
    ----------
    recording : Recording
        The cleaned recording (see :func:`detector.io.load.load_recording`).
    config : Config, optional
        Thresholds and rules; ``Config()`` is the WASM 2016 default preset.
    other_leg : Recording, optional
        The other leg's recording. Its movements are aligned on wall-clock time and merged with
        this leg's into bilateral LMs by the rules' bilateral merge.
    respiratory : DataFrame, optional
        Respiratory events (``start_s``, ``end_s`` in seconds from this recording's first
        sample). LMs near their ends are flagged, and PLM is reported with and without them.
    progress : callable, optional
        Called with a short status line at each step.
    window : detector.score.restwindow.RestWindow, optional
        The rest window (lights off to lights on, e.g. from :func:`detector.score.restwindow.
        given_window`); estimated when None.
    tz : tzinfo, optional
        Zone clock times are shown in (``summary.json`` ``tz``); default: the window's zone,
        else the computer's.

    Returns
    -------
    NightResult
    """
    cfg = config or Config()
    say = progress or (lambda _msg: None)
    t = time.perf_counter()
    say(f"detecting movements in {recording.duration_s / 3600:.2f} h at {recording.fs_hz:g} Hz")
    det = find_movements(recording, cfg)
    events = det.events
    outside = 0
    offset_s = 0.0
    if other_leg is not None:
        det2 = find_movements(other_leg, cfg)
        offset_s = float(other_leg.t0_unix_s - recording.t0_unix_s)
        right = _shift_events(det2, offset_s)
        # This leg's recording is the night's time axis: the other leg's movements before its
        # first sample or after its last one (the sensors were started or stopped at different
        # times) cannot be scored against it; they are counted, not merged.
        inside = (right["start_s"] >= 0.0) & (right["end_s"] <= recording.duration_s)
        outside = int((~inside).sum())
        events = merge_bilateral(events, right[inside].reset_index(drop=True), cfg.rules)
    detect_s = time.perf_counter() - t
    say(f"scoring PLM series ({cfg.rules.standard})")
    result = night_result(recording, cfg, det, events, respiratory=respiratory, window=window,
                          tz=tz, hypnogram=hypnogram)
    result.info["timings"]["detect_s"] = detect_s
    if other_leg is not None:
        result.info["other_leg"] = other_leg.leg if other_leg.leg != recording.leg else "other"
        result.info["other_source"] = other_leg.source
        result.info["other_leg_offset_s"] = offset_s
        result.info["other_leg_events_outside"] = outside
    return result


def write_outputs(result: NightResult, out_dir: str | Path, *, report: bool = True
                  ) -> dict[str, Path]:
    """Write ``events.csv``, ``summary.json`` and (optionally) ``report.html`` into ``out_dir``.

    Files are created readable by their owner only (0600); a folder we create is 0700.

    Returns
    -------
    dict
        ``{"events": path, "summary": path, "report": path}``.
    """
    out = make_private_dir(out_dir)
    paths = {
        "events": write_private(out / "events.csv", events_csv_text(result.events)),
        "summary": write_private(out / "summary.json", summary_json_text(result.summary())),
    }
    if report:
        from detector.report.night import write_report

        paths["report"] = write_report(result, out / "report.html")
    return paths


class RecordingTooShort(InputError):
    """The recording is shorter than the analysis was asked to accept."""


@dataclass(frozen=True, eq=False)
class AnalysedFile:
    """What :func:`analyze_file` did: the result, and the files it wrote (name -> path)."""

    result: NightResult
    paths: dict[str, Path]


def analyze_file(path: str | Path, out: str | Path | None = None, config: Config | None = None,
                 *, other_leg: str | Path | None = None, report: bool = True,
                 leg: str = "unknown", other: str | None = None, fs_hz: float | None = None,
                 units: str | None = None, force: bool = False,
                 respiratory: str | Path | pd.DataFrame | None = None,
                 window: Any = None, tz: Any = None, strict_window: bool = True,
                 min_recording_s: float = 0.0, hypnogram: str | Path | None = None,
                 progress: Progress | None = None) -> AnalysedFile:
    """Load a recording file, analyse it, and write its outputs: the one path every command takes.

    Parameters
    ----------
    path : str or Path
        The recording (see :func:`detector.io.load.load_recording`).
    out : str or Path, optional
        Folder for ``events.csv``, ``summary.json`` and ``report.html`` (created 0700, files
        0600); nothing is written when None.
    config : Config, optional
        Default WASM 2016.
    other_leg : str or Path, optional
        The other leg's recording, merged in by the bilateral rules.
    report : bool
        Also write ``report.html``.
    leg : str
        This recording's leg (``left``, ``right``, ``unknown``).
    other : str, optional
        The other recording's leg (default: the opposite of ``leg``).
    fs_hz, units, force
        As :func:`detector.io.load.load_recording`.
    respiratory : str, Path or DataFrame, optional
        Respiratory events (a CSV read by :func:`detector.io.tables.read_respiratory_events`).
    window : RestWindow or (str, str), optional
        The rest window, or lights off and on as clock times (``"23:00"``, ``"07:00"``) read in
        ``tz``; estimated when None.
    tz : tzinfo, optional
        Zone of the clock times (default: the computer's).
    strict_window : bool
        When False, a window that does not fit the recording is reported through ``progress``
        and estimated instead of raising.
    min_recording_s : float
        Raise :class:`RecordingTooShort` for a shorter recording (nothing is written).
    hypnogram : str or Path, optional
        A PSG scoring of the same night with its sleep stages (EDF+, RemLogic, NSRR or
        Profusion XML, a CSV with stage labels), aligned by clock time (its own zone is ``tz``):
        ``summary.json`` adds PLMS and PLMW, the report shows the hypnogram.
    progress : callable, optional
        Called with a short status line at each step.

    Returns
    -------
    AnalysedFile
        ``result`` (:class:`~detector.tuning.results.NightResult`) and ``paths`` (empty when
        ``out`` is None).

    Raises
    ------
    InputError
        For a file that cannot be read, a bad window, or a recording that is too short.
    """
    from detector.io.tables import read_respiratory_events

    cfg = config or Config()
    say = progress or (lambda _msg: None)
    t = time.perf_counter()
    rec = _load(path, say, cfg, leg=leg, fs_hz=fs_hz, units=units, force=force, tz=tz)
    if rec.duration_s < min_recording_s:
        raise RecordingTooShort(f"{path}: {rec.duration_s:.0f} s recorded, less than the "
                                f"{min_recording_s:g} s needed")
    second = None
    if other_leg is not None:
        other = other or {"left": "right", "right": "left"}.get(leg, "unknown")
        second = _load(other_leg, say, cfg, leg=other, fs_hz=fs_hz, units=units, force=force,
                       tz=tz)
    load_s = time.perf_counter() - t
    resp = (read_respiratory_events(respiratory) if isinstance(respiratory, (str, Path))
            else respiratory)
    given = _given_window(rec, window, tz, strict_window, say)
    stages = _hypnogram(hypnogram, rec, tz, say) if hypnogram is not None else None
    result = analyze(rec, cfg, other_leg=second, respiratory=resp, progress=progress,
                     window=given, tz=tz, hypnogram=stages)
    result.info["timings"]["load_s"] = load_s
    paths: dict[str, Path] = {}
    if out is not None:
        t = time.perf_counter()
        names = "events.csv, summary.json" + (", report.html" if report else "")
        say(f"writing {names} to {out}")
        paths = write_outputs(result, out, report=report)
        result.info["timings"]["write_s"] = time.perf_counter() - t
    return AnalysedFile(result, paths)


def _load(path: str | Path, say: Progress, cfg: Config, **kwargs: Any) -> Recording:
    from detector.io.load import load_recording

    say(f"reading {path}")
    rec = load_recording(path, config=cfg.clean, **kwargs)
    info = rec.info
    say(f"{info.get('n_rows_read', rec.n_samples):,} rows, {rec.fs_hz:g} Hz"
        f"{' (inferred)' if not info.get('fs_given') else ''}, units {info.get('units', 'g')}, "
        f"{rec.duration_s / 3600:.2f} h, gaps {rec.gap_s:.0f} s")
    return rec


def _hypnogram(path: str | Path, rec: Recording, tz: Any, say: Progress) -> pd.DataFrame:
    """The sleep stages of a PSG scoring, on the recording's time axis."""
    from detector.score.reference import read_reference
    from detector.score.sleep import hypnogram_from_annotations

    say(f"reading the sleep stages of {path}")
    ref = read_reference(path, recording=rec, edf_timezone=tz)
    stages = hypnogram_from_annotations(ref.other)
    if not len(stages):
        raise InputError(f"{path}: no sleep stages in the scoring (expected labels such as "
                         "SLEEP-S2, Stage 2 sleep, Sleep stage N2, Wake, REM sleep)")
    return stages


def _given_window(rec: Recording, window: Any, tz: Any, strict: bool, say: Progress) -> Any:
    """The rest window: given as clock times, a RestWindow, or None (estimated)."""
    if window is None or not isinstance(window, (tuple, list)):
        return window
    from detector.score.restwindow import given_window

    try:
        return given_window(rec, window[0], window[1], tz)
    except InputError as exc:
        if strict:
            raise
        say(f"rest window not used ({exc}); it is estimated instead")
        return None
