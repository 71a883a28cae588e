"""Step 3 of detection: an adaptive noise floor and hysteresis thresholds on the envelope."""

from __future__ import annotations

import numpy as np
import pandas as pd

from detector.detect.envelope import block_medians
from detector.io.recording import mask_runs

__all__ = ["noise_floor", "thresholds", "hysteresis", "refine_edges"]


def noise_floor(envelope_g: np.ndarray, fs_hz: float, window_s: float = 300.0,
                quantile: float = 0.25) -> np.ndarray:
    """Rolling noise floor of the envelope, per 1-s block.

    Parameters
    ----------
    envelope_g : ndarray, shape (n,)
        Movement envelope in g; NaN in gaps (blocks touching a gap are left out).
    fs_hz : float
        Sampling rate in Hz.
    window_s : float
        Centred window of the rolling quantile, in seconds. Leg movements occupy a small share of
        any few minutes of a night, so a low quantile of 1-s medians is the noise.
    quantile : float
        Quantile of the 1-s block medians taken as the floor.

    Returns
    -------
    ndarray, shape (n_blocks,), float32
        Noise floor in g for each 1-s block.
    """
    block = max(int(round(fs_hz)), 1)
    med = pd.Series(block_medians(envelope_g, block))
    w = max(int(round(window_s)), 1)
    return med.rolling(w, center=True, min_periods=1).quantile(quantile).to_numpy(np.float32)


def thresholds(floor_g: np.ndarray, n: int, fs_hz: float, on_factor: float, min_on_g: float,
               off_ratio: float, min_off_g: float) -> tuple[np.ndarray, np.ndarray]:
    """On and off thresholds per sample from the per-block noise floor.

    The on threshold is ``max(on_factor * floor, min_on_g)``; the off threshold is
    ``off_ratio`` times the *adaptive* part, ``max(off_ratio * on_factor * floor, min_off_g)``,
    never above the on threshold. Keeping the off level near the noise lets an event's edges reach
    the true onset and offset of a slow movement even when the absolute bound sets the on level.

    Returns
    -------
    on_g, off_g : ndarray, shape (n,), float32
    """
    block = max(int(round(fs_hz)), 1)
    on_b = np.maximum(on_factor * floor_g, min_on_g)
    off_b = np.minimum(np.maximum(off_ratio * on_factor * floor_g, min_off_g), on_b)
    return (np.repeat(on_b, block)[:n].astype(np.float32),
            np.repeat(off_b, block)[:n].astype(np.float32))


def hysteresis(envelope_g: np.ndarray, on_g: np.ndarray, off_g: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray]:
    """Runs where the envelope stays above the off threshold and somewhere exceeds the on one.

    Returns
    -------
    starts, ends : ndarray of int
        Half-open sample ranges ``[start, end)`` of the bursts, in order.
    """
    starts, ends = mask_runs(envelope_g > off_g)
    if starts.size == 0:
        return starts, ends
    # any sample above the on threshold inside each run: sums over [start, end) by reduceat on
    # the interleaved edges (an end at n is handled by the padding sample)
    above = np.concatenate((envelope_g > on_g, [False]))
    keep = np.logical_or.reduceat(above, np.ravel(np.column_stack((starts, ends))))[::2]
    return starts[keep], ends[keep]


def refine_edges(envelope_g: np.ndarray, starts: np.ndarray, ends: np.ndarray, level_g: np.ndarray,
                 max_shift: int) -> tuple[np.ndarray, np.ndarray]:
    """Move each burst's edges outward to where the envelope first meets the noise.

    A slow movement rises gradually from the noise, so the off threshold is crossed well after
    it began. Each start moves back (each end forward) by at most ``max_shift`` samples, to the
    nearest sample at or below ``level_g``, never into the neighbouring burst.

    Parameters
    ----------
    envelope_g : ndarray, shape (n,)
    starts, ends : ndarray of int
        Half-open burst ranges, sorted and non-overlapping.
    level_g : ndarray, shape (n,)
        Noise level per sample (e.g. 1.5 x the noise floor).
    max_shift : int
        Largest move in samples.

    Returns
    -------
    starts, ends : ndarray of int
    """
    n = len(envelope_g)
    quiet = (envelope_g <= level_g) | np.isnan(envelope_g)  # never walk into a gap
    new_s = starts.copy()
    new_e = ends.copy()
    prev_end = np.concatenate(([0], ends[:-1]))
    next_start = np.concatenate((starts[1:], [n]))
    for i in range(len(starts)):
        lo = max(starts[i] - max_shift, prev_end[i])
        q = np.flatnonzero(quiet[lo:starts[i]])
        new_s[i] = lo + q[-1] + 1 if q.size else lo
        hi = min(ends[i] + max_shift, next_start[i])
        q = np.flatnonzero(quiet[ends[i]:hi])
        new_e[i] = ends[i] + q[0] if q.size else hi
    return new_s, new_e
