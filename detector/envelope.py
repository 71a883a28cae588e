"""Step 2 of detection: remove the posture (gravity) and measure how far the leg moves from it.

A leg movement seen from the shin is mostly a rotation: the gravity vector swings between the axes
and comes back, while the magnitude |a| barely changes. The envelope therefore looks at the whole
3-axis vector's distance from the resting posture rather than at |a|.

The resting posture is a running median of 1-s block medians, taken separately over the
``window_s`` *before* and *after* each second. The envelope is the smaller of the two distances:
for a movement that returns, both baselines are the resting posture; after turning over, the
"after" baseline is the new posture, so a change of posture shows only while the leg is moving and
never leaves a long tail (a plain high-pass filter rings for seconds after a posture step and cuts
the middle out of slow or held movements).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.ndimage import maximum_filter1d, uniform_filter1d

__all__ = ["block_medians", "block_spread", "posture_baselines", "movement_envelope"]


def block_medians(x: np.ndarray, block: int) -> np.ndarray:
    """Median of each whole block of ``block`` rows; a shorter tail block is included.

    Parameters
    ----------
    x : ndarray, shape (n,) or (n, k)
    block : int
        Block length in samples.

    Returns
    -------
    ndarray, shape (ceil(n / block),) or (ceil(n / block), k)
    """
    n = x.shape[0]
    m = n // block
    head = x[: m * block].reshape((m, block) + x.shape[1:])
    out = np.median(head, axis=1) if m else np.empty((0,) + x.shape[1:], dtype=x.dtype)
    if n > m * block:
        out = np.concatenate([out, np.median(x[m * block:], axis=0, keepdims=True)], axis=0)
    return out


def block_spread(x: np.ndarray, block: int) -> np.ndarray:
    """Largest per-axis standard deviation within each block of ``block`` rows (tail included)."""
    n = x.shape[0]
    m = n // block
    out = x[: m * block].reshape(m, block, -1).std(axis=1).max(axis=1) if m else np.empty(0)
    if n > m * block:
        out = np.concatenate([out, [x[m * block:].std(axis=0).max()]])
    return out.astype(np.float32)


def posture_baselines(acc_g: np.ndarray, fs_hz: float, window_s: float = 30.0,
                      still_factor: float = 4.0, still_min_g: float = 0.006
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Resting posture before and after each 1-s block of one contiguous segment.

    Parameters
    ----------
    acc_g : ndarray, shape (n, 3)
        Filtered acceleration in g (gravity included), no NaN.
    fs_hz : float
        Sampling rate in Hz.
    window_s : float
        How far back and forward the posture is looked for, in seconds.
    still_factor, still_min_g : float
        A block is still when its spread (largest per-axis standard deviation) is below
        ``max(still_factor x the segment's median spread, still_min_g)``. Only still blocks
        define the posture, so two turn-overs a few seconds apart never blend into a false one.

    Returns
    -------
    before, after : ndarray, shape (n_blocks, 3)
        Median posture over the still blocks in the ``window_s`` seconds before (after) each
        block, excluding the block itself. Where one side has no still block the other side is
        used; where neither has, the plain median of all blocks.
    """
    block = max(int(round(fs_hz)), 1)
    med_all = pd.DataFrame(block_medians(acc_g, block))
    spread = block_spread(acc_g, block)
    still = spread <= max(still_factor * float(np.median(spread)), still_min_g)
    med = med_all.where(np.repeat(still[:, None], med_all.shape[1], axis=1))
    w = max(int(round(window_s)), 1)
    before = med.rolling(w, min_periods=1).median().shift(1)
    after = med.iloc[::-1].rolling(w, min_periods=1).median().shift(1).iloc[::-1]
    before = before.fillna(after)
    after = after.fillna(before)
    both = before.isna().any(axis=1)
    if both.any():  # no still block in reach: fall back to all blocks
        plain_b = med_all.rolling(w, min_periods=1).median().shift(1)
        plain_a = med_all.iloc[::-1].rolling(w, min_periods=1).median().shift(1).iloc[::-1]
        before[both] = plain_b[both].fillna(plain_a[both]).fillna(med_all[both])
        after[both] = plain_a[both].fillna(plain_b[both]).fillna(med_all[both])
    return before.to_numpy(np.float32), after.to_numpy(np.float32)


def movement_envelope(acc_g: np.ndarray, fs_hz: float, window_s: float = 30.0,
                      smooth_s: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """Distance of the acceleration vector from the resting posture, smoothed.

    Parameters
    ----------
    acc_g : ndarray, shape (n, 3)
        Band-passed acceleration in g of one contiguous segment.
    fs_hz : float
        Sampling rate in Hz.
    window_s : float
        Posture baseline window on each side, in seconds.
    smooth_s : float
        Window of the moving maximum and then moving average of the envelope, in seconds.

    Returns
    -------
    envelope_g : ndarray, shape (n,), float32
        Movement envelope in g.
    posture_g : ndarray, shape (n, 3), float32
        The resting posture each sample was compared to (the nearer of the two baselines).
    """
    block = max(int(round(fs_hz)), 1)
    before, after = posture_baselines(acc_g, fs_hz, window_s)
    n = acc_g.shape[0]
    b = np.repeat(before, block, axis=0)[:n]
    a = np.repeat(after, block, axis=0)[:n]
    d_before = np.sqrt(np.einsum("ij,ij->i", acc_g - b, acc_g - b))
    d_after = np.sqrt(np.einsum("ij,ij->i", acc_g - a, acc_g - a))
    use_after = d_after < d_before
    env = np.where(use_after, d_after, d_before).astype(np.float32)
    posture = np.where(use_after[:, None], a, b)
    size = int(round(smooth_s * fs_hz))
    if size > 1:
        env = uniform_filter1d(maximum_filter1d(env, size, mode="nearest"), size, mode="nearest")
    return env, posture
