"""The recipe of detection: every step called in one place, in the order the data flows.

1. :func:`filter_segments`: band-pass each gap-free segment (:mod:`detector.detect.filters`).
2. posture-relative envelope (:func:`detector.detect.envelope.movement_envelope`).
3. adaptive noise floor, then on/off thresholds and hysteresis (:mod:`detector.detect.thresholds`).
4. bursts -> events: edges, merging, bouts, features (:mod:`detector.detect.events`).
5. classes by duration and shape; vibration dropped (:mod:`detector.detect.classify`).

Steps 1-3a (:func:`signal_trace`) are most of the cost and do not depend on the thresholds;
:func:`find_events` runs 3b-5 on them. :class:`SignalCache` keeps the expensive part per
recording so that re-thresholding in a notebook repeats only the cheap steps.
:func:`find_movements` is both, for one recording and one configuration."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np
import pandas as pd

from detector.config import BandpassConfig, Config
from detector.detect.classify import classify_events
from detector.detect.envelope import PostureTrack, movement_envelope
from detector.detect.events import (MIN_SEGMENT_S, POSTURE_PROBE_S, event_features, merge_bouts,
                                    merge_bursts)
from detector.detect.filters import bandpass, design_bandpass
from detector.detect.thresholds import hysteresis, noise_floor, refine_edges, thresholds
from detector.io.recording import Recording

__all__ = ["Detection", "SignalTrace", "SignalCache", "signal_trace", "find_events",
           "find_movements", "filter_segments", "not_analysed_cum"]


@dataclass(frozen=True, eq=False)
class SignalTrace:
    """The threshold-independent part of detection: filtered signal, envelope and noise floor.

    Computing it is most of the cost of a detection (filtering, posture baselines, envelope).
    :func:`find_events` turns it into events for any thresholds, so re-thresholding a night only
    repeats the cheap steps (see :meth:`detector.tuning.results.NightResult.rethreshold`).

    Attributes
    ----------
    filtered_g : ndarray, shape (n, 3), float32
        Band-passed acceleration in g, NaN in gaps and in segments too short to analyse.
    seg_lo, seg_hi : ndarray of int
        Half-open sample ranges of the analysed gap-free segments.
    envelope_g : ndarray, shape (n,), float32
        Movement envelope in g (NaN where not analysed).
    posture : PostureTrack
        Resting posture each sample was compared to.
    floor_g : ndarray, shape (n_blocks,), float32
        Noise floor per 1-s block, in g.
    filter_used : tuple
        Corners actually used (after clamping to the sampling rate).
    gap_cum : ndarray of int, shape (n + 1,), optional
        Cumulative count of samples not analysed (computed when not given).
    """

    filtered_g: np.ndarray
    seg_lo: np.ndarray
    seg_hi: np.ndarray
    envelope_g: np.ndarray
    posture: PostureTrack
    floor_g: np.ndarray
    filter_used: Any = None
    gap_cum: np.ndarray | None = None

    def barrier_cum(self) -> np.ndarray:
        """Cumulative count of samples not analysed (length n + 1): events never join across."""
        return self.gap_cum if self.gap_cum is not None else not_analysed_cum(self.filtered_g)


def not_analysed_cum(filtered_g: np.ndarray) -> np.ndarray:
    """Cumulative count (length n + 1) of the samples left out of the analysis (NaN after
    filtering: gaps and segments too short to analyse)."""
    return np.concatenate(([0], np.cumsum(~np.isfinite(filtered_g[:, 0]))))


def filter_segments(recording: Recording, bp: BandpassConfig) -> tuple[np.ndarray, np.ndarray,
                                                                       np.ndarray, Any]:
    """Band-pass each gap-free segment of at least :data:`MIN_SEGMENT_S` on its own.

    Returns
    -------
    filtered_g : ndarray, shape (n, 3), float32
        NaN in gaps and in segments too short to analyse.
    seg_lo, seg_hi : ndarray of int
        The analysed segments.
    used : tuple
        The filter corners used.
    """
    fs = recording.fs_hz
    _, used = design_bandpass(fs, bp.lowcut_hz, bp.highcut_hz, bp.order)
    filt = np.full((recording.n_samples, 3), np.nan, np.float32)
    segs = [(i0, i1) for i0, i1 in recording.segments() if (i1 - i0) >= MIN_SEGMENT_S * fs]
    for i0, i1 in segs:
        filt[i0:i1] = bandpass(recording.acc_g[i0:i1], fs, bp.lowcut_hz, bp.highcut_hz, bp.order)
    seg_lo = np.array([a for a, _ in segs], dtype=np.int64)
    seg_hi = np.array([b for _, b in segs], dtype=np.int64)
    return filt, seg_lo, seg_hi, used


def signal_trace(recording: Recording, config: Config | None = None) -> SignalTrace:
    """Band-pass, envelope and noise floor of a recording (the expensive steps of detection).

    Parameters
    ----------
    recording : Recording
    config : Config, optional
        Only ``bandpass`` and the envelope's ``smooth_s``, ``noise_window_s`` and
        ``noise_quantile`` are used.

    Notes
    -----
    The steps are those of :meth:`SignalCache.trace`, run once on a cache of its own (the one
    place steps 1-3a are written).
    """
    return SignalCache(recording).trace(config or Config())


def find_events(recording: Recording, trace: SignalTrace, config: Config | None = None
                ) -> Detection:
    """Thresholds, hysteresis, merging, features and classes from a :class:`SignalTrace`.

    Uses ``envelope`` settings other than the trace's own (``on_factor``, ``min_on_g``,
    ``off_ratio``, ``min_off_g``, ``edge_factor``, ``max_edge_shift_s``, ``merge_gap_s``,
    ``min_duration_s``, ``bout_merge_gap_s``) and the ``classify`` section.

    Returns
    -------
    Detection
    """
    cfg = config or Config()
    fs = recording.fs_hz
    n = recording.n_samples
    ev, cl = cfg.envelope, cfg.classify
    filt, env, posture, floor = trace.filtered_g, trace.envelope_g, trace.posture, trace.floor_g
    gap_cum = trace.barrier_cum()
    on, off = thresholds(floor, n, fs, ev.on_factor, ev.min_on_g, ev.off_ratio, ev.min_off_g)
    starts, ends = hysteresis(env, on, off)
    level = np.repeat(ev.edge_factor * floor, max(int(round(fs)), 1))[:n]
    starts, ends = refine_edges(env, starts, ends, level, int(round(ev.max_edge_shift_s * fs)))
    starts, ends = merge_bursts(starts, ends, int(round(ev.merge_gap_s * fs)), gap_cum)
    starts, ends = merge_bouts(starts, ends, int(round(cl.lm_max_s * fs)),
                               int(round(ev.bout_merge_gap_s * fs)), gap_cum, filt,
                               max(int(round(POSTURE_PROBE_S * fs)), 1))
    keep = (ends - starts) >= max(ev.min_duration_s * fs, 1)
    starts, ends = starts[keep], ends[keep]
    seg_lo, seg_hi = trace.seg_lo, trace.seg_hi
    k = np.searchsorted(seg_lo, starts, side="right") - 1
    lo_b, hi_b = seg_lo[k], seg_hi[k]
    cols = event_features(filt, posture, env, starts, ends, fs, cl.context_s, lo_b, hi_b)
    not_analysed = ~np.isfinite(filt[:, 0])
    on[not_analysed] = np.nan
    off[not_analysed] = np.nan
    events = pd.DataFrame({
        "start_s": starts / fs,
        "end_s": ends / fs,
        "peak_g": cols["peak_g"].astype(float),
        "rotation_deg": cols["rotation_deg"].astype(float),
        "context_g": cols["context_g"].astype(float),
        "low_freq_share": cols["low_freq_share"].astype(float),
        "peak_offset_s": cols["peak_offset_s"].astype(float),
        "tail_ratio": cols["tail_ratio"].astype(float),
        "at_gap": (starts == lo_b) | (ends == hi_b),
    })
    events["duration_s"] = events["end_s"] - events["start_s"]
    events, rejected = classify_events(events, cl)
    events["leg"] = recording.leg
    t0 = datetime.fromtimestamp(recording.t0_unix_s, tz=timezone.utc)
    events["start_time"] = [(t0 + timedelta(seconds=float(s))).isoformat(timespec="milliseconds")
                            for s in events["start_s"]]
    order = ["start_s", "end_s", "start_time", "duration_s", "kind", "peak_g", "rotation_deg",
             "leg", "at_gap", "context_g", "low_freq_share"]
    info = {"filter": trace.filter_used, "n_segments_analysed": len(seg_lo),
            "n_rejected_vibration": int(len(rejected))}
    return Detection(events[order].reset_index(drop=True), env, on, off, rejected, info)


def find_movements(recording: Recording, config: Config | None = None) -> Detection:
    """Find and classify movement events in a cleaned recording (the pipeline's detection step).

    For notebooks, :func:`detector.detect_movements` wraps this in a results object that can be
    re-thresholded in a fraction of the time.

    Parameters
    ----------
    recording : Recording
        Acceleration on a uniform grid with its gaps (see :func:`detector.io.load.load_recording`).
    config : Config, optional
        Thresholds; defaults to ``Config()`` (``configs/default.toml``).

    Returns
    -------
    Detection
        Events (twitch / lm / sustained) with features, and the envelope and thresholds.
    """
    return find_events(recording, signal_trace(recording, config), config)


class SignalCache:
    """The expensive steps of one recording's detection, keyed by the settings they depend on.

    Keeps the latest band-pass, envelope and noise floor, so that moving one slider back and
    forth recomputes only what that slider changes. Safe to share between threads.
    """

    def __init__(self, recording: Recording) -> None:
        self.recording = recording
        self._lock = threading.Lock()
        self._filtered: tuple[Any, Any] | None = None
        self._envelope: tuple[Any, Any] | None = None
        self._floor: tuple[Any, Any] | None = None
        self.hits = {"filter": 0, "envelope": 0, "floor": 0}

    def __getstate__(self) -> dict[str, Any]:
        """Pickle the recording only (results travel to worker processes light); the cached
        steps are recomputed there on first use."""
        return {"recording": self.recording}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["recording"])  # type: ignore[misc]

    def trace(self, config: Config) -> SignalTrace:
        """The :class:`SignalTrace` of the recording under ``config``."""
        bp, ev = config.bandpass, config.envelope
        rec = self.recording
        with self._lock:
            fkey = (bp.lowcut_hz, bp.highcut_hz, bp.order)
            if self._filtered is None or self._filtered[0] != fkey:
                filt, seg_lo, seg_hi, used = filter_segments(rec, bp)
                gap_cum = not_analysed_cum(filt)
                self._filtered = (fkey, (filt, seg_lo, seg_hi, used, gap_cum))
                self._envelope = self._floor = None
            else:
                self.hits["filter"] += 1
            filt, seg_lo, seg_hi, used, gap_cum = self._filtered[1]
            ekey = (fkey, bp.baseline_window_s, ev.smooth_s)
            if self._envelope is None or self._envelope[0] != ekey:
                self._envelope = (ekey, movement_envelope(filt, rec.fs_hz, bp.baseline_window_s,
                                                          ev.smooth_s))
                self._floor = None
            else:
                self.hits["envelope"] += 1
            env, posture = self._envelope[1]
            nkey = (ekey, ev.noise_window_s, ev.noise_quantile)
            if self._floor is None or self._floor[0] != nkey:
                self._floor = (nkey, noise_floor(env, rec.fs_hz, ev.noise_window_s,
                                                 ev.noise_quantile))
            else:
                self.hits["floor"] += 1
            return SignalTrace(filt, seg_lo, seg_hi, env, posture, self._floor[1], used, gap_cum)


@dataclass(frozen=True, eq=False)
class Detection:
    """Events found in one recording, with the traces a researcher needs to inspect them.

    Attributes
    ----------
    events : DataFrame
        ``start_s``, ``end_s``, ``start_time``, ``duration_s``, ``kind``, ``peak_g``,
        ``rotation_deg``, ``leg``, ``at_gap`` (the event touches a gap or the recording's edge).
    envelope_g, on_g, off_g : ndarray, shape (n,), float32
        Envelope and thresholds on the recording grid (NaN in gaps).
    rejected : DataFrame
        Bursts dropped as mattress vibration, with the reason.
    info : dict
        Filter corners used, segment count, rejected counts.
    """

    events: pd.DataFrame
    envelope_g: np.ndarray
    on_g: np.ndarray
    off_g: np.ndarray
    rejected: pd.DataFrame
    info: dict[str, Any] = field(default_factory=dict)
