"""Step 4 of detection: bursts -> movement events with features, per contiguous segment.

``detect_movements`` runs the named steps (band-pass, envelope, noise floor, hysteresis, merge,
minimum duration, features, classification) on every gap-free segment of a recording, so that no
event is ever detected or interpolated across a gap.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np
import pandas as pd
from scipy.ndimage import uniform_filter1d

from .classify import classify_events
from .config import Config
from .envelope import PostureTrack, movement_envelope
from .filters import bandpass, design_bandpass
from .recording import Recording
from .thresholds import hysteresis, noise_floor, refine_edges, thresholds

__all__ = ["Detection", "detect_movements", "merge_bursts", "merge_bouts", "event_features"]

#: Segments shorter than this (seconds) between gaps are not analysed: too short for a posture
#: baseline, and any movement in them would be cut by the gaps.
MIN_SEGMENT_S = 2.0

#: Orientation is read from the acceleration averaged over this many seconds, so that the
#: oscillation of a jerk cancels out and only a real change of leg orientation remains.
ROTATION_SMOOTH_S = 0.5


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


def _crosses(barrier_cum: np.ndarray | None, ends: np.ndarray, next_starts: np.ndarray
             ) -> np.ndarray:
    """Whether a gap sample lies between each end and the following start."""
    if barrier_cum is None:
        return np.zeros(len(ends), bool)
    return barrier_cum[next_starts] - barrier_cum[ends] > 0


def merge_bursts(starts: np.ndarray, ends: np.ndarray, max_gap: int,
                 barrier_cum: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Merge bursts separated by fewer than ``max_gap`` samples (WASM 2016: an LM ends only after
    0.5 s below threshold), never across a gap.

    Parameters
    ----------
    barrier_cum : ndarray of int, optional
        Cumulative count of gap samples (length n + 1); bursts with a gap between them stay apart.

    Returns
    -------
    starts, ends : ndarray of int
    """
    if starts.size < 2:
        return starts, ends
    new = np.concatenate(([True], (starts[1:] - ends[:-1] >= max_gap)
                          | _crosses(barrier_cum, ends[:-1], starts[1:])))
    group = np.cumsum(new) - 1
    out_starts = starts[new]
    out_ends = np.zeros_like(out_starts)
    np.maximum.at(out_ends, group, ends)
    return out_starts, out_ends


def merge_bouts(starts: np.ndarray, ends: np.ndarray, long_min: int, max_gap: int,
                barrier_cum: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Join bursts separated by fewer than ``max_gap`` samples when either is a sustained movement
    (longer than ``long_min`` samples), never across a gap; repeated until nothing changes.

    Returns
    -------
    starts, ends : ndarray of int
    """
    s, e = starts.tolist(), ends.tolist()
    i = 0
    while i < len(s) - 1:
        apart = barrier_cum is not None and barrier_cum[s[i + 1]] - barrier_cum[e[i]] > 0
        if (not apart and s[i + 1] - e[i] < max_gap
                and (e[i] - s[i] > long_min or e[i + 1] - s[i + 1] > long_min)):
            e[i] = max(e[i], e.pop(i + 1))
            s.pop(i + 1)
            i = max(i - 1, 0)
        else:
            i += 1
    return np.asarray(s, dtype=starts.dtype), np.asarray(e, dtype=ends.dtype)


def event_features(acc_g: np.ndarray, posture: PostureTrack, envelope_g: np.ndarray,
                   starts: np.ndarray, ends: np.ndarray, fs_hz: float, context_s: float,
                   seg_lo: np.ndarray | None = None, seg_hi: np.ndarray | None = None
                   ) -> dict[str, np.ndarray]:
    """Per-event peak envelope, orientation change, surroundings and slowness in one segment.

    Parameters
    ----------
    acc_g : ndarray, shape (n, 3)
        Band-passed acceleration in g.
    posture : PostureTrack
        Resting posture compared to at each sample (see :func:`movement_envelope`).
    envelope_g : ndarray, shape (n,)
    starts, ends : ndarray of int
        Half-open event ranges.
    fs_hz : float
    context_s : float
        Seconds on each side whose envelope median is the event's surroundings.
    seg_lo, seg_hi : ndarray of int, optional
        Bounds of the gap-free segment holding each event (default: the whole array).

    Returns
    -------
    dict of ndarray
        ``peak_g`` (g), ``rotation_deg`` (largest angle between the slow acceleration direction
        and the resting posture during the event), ``context_g`` (median envelope around it),
        ``low_freq_share`` (share of the movement's RMS below about 3 Hz: near 1 for a limb's
        own motion, about 0.3 or less for broadband mattress vibration).
    """
    k = len(starts)
    peak = np.zeros(k, np.float32)
    rot = np.zeros(k, np.float32)
    ctx = np.zeros(k, np.float32)
    low = np.zeros(k, np.float32)
    w_rot = max(int(round(ROTATION_SMOOTH_S * fs_hz)), 1)
    # A moving average over 1/3 s has its first null at 3 Hz: a cheap low-pass of the movement.
    w_low = max(int(round(fs_hz / 3.0)), 1)
    c = max(int(round(context_s * fs_hz)), 1)
    n = len(envelope_g)
    lo_b = np.zeros(k, int) if seg_lo is None else seg_lo
    hi_b = np.full(k, n) if seg_hi is None else seg_hi
    for i, (s, e) in enumerate(zip(starts.tolist(), ends.tolist())):
        peak[i] = envelope_g[s:e].max()
        pad = w_rot // 2 + 1
        lo, hi = max(s - pad, int(lo_b[i])), min(e + pad, int(hi_b[i]))
        slow = uniform_filter1d(acc_g[lo:hi], w_rot, axis=0, mode="nearest")[s - lo:e - lo]
        p = posture.at(s, s + 1)[0]
        cos = (slow @ p) / (np.linalg.norm(slow, axis=1) * np.linalg.norm(p) + 1e-12)
        rot[i] = np.degrees(np.arccos(np.clip(cos.min(), -1.0, 1.0)))
        dev = acc_g[s:e] - posture.at(s, e)
        dev_low = uniform_filter1d(dev, w_low, axis=0, mode="nearest")
        total = float(np.sqrt(np.mean(np.einsum("ij,ij->i", dev, dev))))
        low[i] = (np.sqrt(np.mean(np.einsum("ij,ij->i", dev_low, dev_low))) / total
                  if total > 0 else 0.0)
        around = np.concatenate([envelope_g[max(s - c, int(lo_b[i])):s],
                                 envelope_g[e:min(e + c, int(hi_b[i]))]])
        ctx[i] = np.median(around) if around.size else 0.0
    return {"peak_g": peak, "rotation_deg": rot, "context_g": ctx, "low_freq_share": low}


def detect_movements(recording: Recording, config: Config | None = None) -> Detection:
    """Find and classify movement events in a cleaned recording.

    Parameters
    ----------
    recording : Recording
        Acceleration on a uniform grid with its gaps (see :func:`detector.load.load_recording`).
    config : Config, optional
        Thresholds; defaults to ``Config()`` (``configs/default.toml``).

    Returns
    -------
    Detection
        Events (twitch / lm / sustained) with features, and the envelope and thresholds.
    """
    cfg = config or Config()
    fs = recording.fs_hz
    n = recording.n_samples
    bp, ev, cl = cfg.bandpass, cfg.envelope, cfg.classify
    _, used = design_bandpass(fs, bp.lowcut_hz, bp.highcut_hz, bp.order)
    # Band-pass each gap-free segment on its own; everything after runs once on the whole night,
    # with NaN in the gaps, so that a night with hundreds of lost packets costs no more.
    filt = np.full((n, 3), np.nan, np.float32)
    segs = [(i0, i1) for i0, i1 in recording.segments() if (i1 - i0) >= MIN_SEGMENT_S * fs]
    for i0, i1 in segs:
        filt[i0:i1] = bandpass(recording.acc_g[i0:i1], fs, bp.lowcut_hz, bp.highcut_hz, bp.order)
    analysed = np.zeros(n, bool)
    for i0, i1 in segs:
        analysed[i0:i1] = True
    gap_cum = np.concatenate(([0], np.cumsum(~analysed)))

    env, posture = movement_envelope(filt, fs, bp.baseline_window_s, ev.smooth_s)
    floor = noise_floor(env, fs, ev.noise_window_s, ev.noise_quantile)
    on, off = thresholds(floor, n, fs, ev.on_factor, ev.min_on_g, ev.off_ratio, ev.min_off_g)
    starts, ends = hysteresis(env, on, off)
    level = np.repeat(ev.edge_factor * floor, max(int(round(fs)), 1))[:n]
    starts, ends = refine_edges(env, starts, ends, level, int(round(ev.max_edge_shift_s * fs)))
    starts, ends = merge_bursts(starts, ends, int(round(ev.merge_gap_s * fs)), gap_cum)
    starts, ends = merge_bouts(starts, ends, int(round(cl.lm_max_s * fs)),
                               int(round(ev.bout_merge_gap_s * fs)), gap_cum)
    keep = (ends - starts) >= max(ev.min_duration_s * fs, 1)
    starts, ends = starts[keep], ends[keep]
    seg_lo = np.array([a for a, _ in segs], dtype=np.int64)
    seg_hi = np.array([b for _, b in segs], dtype=np.int64)
    k = np.searchsorted(seg_lo, starts, side="right") - 1 if starts.size else starts
    lo_b, hi_b = (seg_lo[k], seg_hi[k]) if starts.size else (starts, starts)
    cols = event_features(filt, posture, env, starts, ends, fs, cl.context_s, lo_b, hi_b)
    cols["start"], cols["end"] = starts, ends
    cols["at_gap"] = (starts == lo_b) | (ends == hi_b)
    on[~analysed] = np.nan
    off[~analysed] = np.nan
    env_all, on_all, off_all = env, on, off
    n_segments = len(segs)
    events = pd.DataFrame({
        "start_s": cols["start"] / fs,
        "end_s": cols["end"] / fs,
        "peak_g": cols["peak_g"].astype(float),
        "rotation_deg": cols["rotation_deg"].astype(float),
        "context_g": cols["context_g"].astype(float),
        "low_freq_share": cols["low_freq_share"].astype(float),
        "at_gap": cols["at_gap"].astype(bool),
    })
    events["duration_s"] = events["end_s"] - events["start_s"]
    events, rejected = classify_events(events, cl)
    events["leg"] = recording.leg
    t0 = datetime.fromtimestamp(recording.t0_unix_s, tz=timezone.utc)
    events["start_time"] = [(t0 + timedelta(seconds=float(s))).isoformat(timespec="milliseconds")
                            for s in events["start_s"]]
    order = ["start_s", "end_s", "start_time", "duration_s", "kind", "peak_g", "rotation_deg",
             "leg", "at_gap", "context_g", "low_freq_share"]
    info = {"filter": used, "n_segments_analysed": n_segments,
            "n_rejected_vibration": int(len(rejected))}
    return Detection(events[order].reset_index(drop=True), env_all, on_all, off_all, rejected, info)
