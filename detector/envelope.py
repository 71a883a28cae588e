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

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.ndimage import maximum_filter1d, uniform_filter1d

__all__ = ["PostureTrack", "block_medians", "posture_baselines", "movement_envelope"]


def _shifted(a: np.ndarray, size: int, op: str) -> np.ndarray:
    """Moving maximum or mean over ``size`` samples (window ``[i - size//2, i + size - size//2)``
    like :mod:`scipy.ndimage`), from shifted views; the window shrinks at the ends.

    For the short windows used here (a few samples) this is several times faster than
    ``scipy.ndimage.maximum_filter1d`` / ``uniform_filter1d``; long windows use those.
    """
    if size > 32:
        f = maximum_filter1d if op == "max" else uniform_filter1d
        return f(a, size, mode="nearest")
    out = a.copy()
    count = np.ones(len(a), np.float32) if op == "mean" else None
    lo = -(size // 2)
    for k in range(lo, lo + size):
        if k == 0 or abs(k) >= len(a):
            continue
        dst, src = (out[-k:], a[:k]) if k < 0 else (out[:-k], a[k:])
        if op == "max":
            np.maximum(dst, src, out=dst)
        else:
            dst += src
            (count[-k:] if k < 0 else count[:-k])[...] += 1
    return out if op == "max" else out / count


@dataclass(frozen=True)
class PostureTrack:
    """The resting posture each sample of a segment is compared to, stored per 1-s block.

    Attributes
    ----------
    before_g, after_g : ndarray, shape (n_blocks, 3)
        Posture over the still blocks before and after each block.
    use_after : ndarray, shape (n,), bool
        Whether the sample is nearer the "after" posture.
    block : int
        Block length in samples.
    """

    before_g: np.ndarray
    after_g: np.ndarray
    use_after: np.ndarray
    block: int

    def at(self, idx: np.ndarray) -> np.ndarray:
        """Posture at sample indices ``idx``, shape ``(len(idx), 3)``, in g."""
        blk = idx // self.block
        return np.where(self.use_after[idx, None], self.after_g[blk], self.before_g[blk])


def _blocks(x_axes: np.ndarray, block: int) -> np.ndarray:
    """View ``(k, n)`` data as ``(k, n_blocks, block)``, padding the tail block with its edge."""
    k, n = x_axes.shape
    m = -(-n // block)
    if m * block != n:
        x_axes = np.pad(x_axes, ((0, 0), (0, m * block - n)), mode="edge")
    return x_axes.reshape(k, m, block)


def block_medians(x: np.ndarray, block: int) -> np.ndarray:
    """Median of each block of ``block`` samples of a 1-D signal (the tail block padded by its
    last value).

    Returns
    -------
    ndarray, shape (ceil(n / block),)
    """
    return np.median(_blocks(np.asarray(x)[None, :], block)[0], axis=1)


def posture_baselines(acc_axes: np.ndarray, fs_hz: float, window_s: float = 30.0,
                      still_factor: float = 4.0, still_min_g: float = 0.006
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Resting posture before and after each 1-s block of one contiguous segment.

    Parameters
    ----------
    acc_axes : ndarray, shape (3, n)
        Filtered acceleration in g (gravity included), axis-major; NaN in gaps.
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
    xb = _blocks(acc_axes, block)                           # a view when n is whole blocks
    # A block that touches a gap has a NaN mean and spread: it is not still, and the posture
    # around it comes from its neighbours.
    mean = xb.mean(axis=2)                                  # (3, m): a still block's posture
    spread = xb.std(axis=2).max(axis=0)
    limit = max(still_factor * float(np.nanmedian(spread)) if np.isfinite(spread).any() else 0.0,
                still_min_g)
    still = spread <= limit                                 # NaN (empty block) is not still
    means = pd.DataFrame(mean.T)
    med = means.where(np.repeat(still[:, None], 3, axis=1))
    w = max(int(round(window_s)), 1)

    def sides(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
        b = frame.rolling(w, min_periods=1).median().shift(1)
        a = frame.iloc[::-1].rolling(w, min_periods=1).median().shift(1).iloc[::-1]
        return b.fillna(a), a.fillna(b)

    before, after = sides(med)
    # Blocks with data but no still block in reach (e.g. a long restless stretch): fall back to
    # all blocks, then to the block itself. Blocks inside gaps stay NaN.
    missing = before.isna().any(axis=1).to_numpy() & np.isfinite(mean).all(axis=0)
    if missing.any():
        plain_b, plain_a = sides(means)
        before[missing] = plain_b[missing].fillna(means[missing])
        after[missing] = plain_a[missing].fillna(means[missing])
    return before.to_numpy(np.float32), after.to_numpy(np.float32)


def movement_envelope(acc_g: np.ndarray, fs_hz: float, window_s: float = 30.0,
                      smooth_s: float = 0.04) -> tuple[np.ndarray, PostureTrack]:
    """Distance of the acceleration vector from the resting posture, smoothed.

    Parameters
    ----------
    acc_g : ndarray, shape (n, 3)
        Band-passed acceleration in g on the recording grid, NaN in gaps.
    fs_hz : float
        Sampling rate in Hz.
    window_s : float
        Posture baseline window on each side, in seconds.
    smooth_s : float
        Window of the moving maximum and then moving average of the envelope, in seconds.

    Returns
    -------
    envelope_g : ndarray, shape (n,), float32
        Movement envelope in g (NaN in gaps).
    posture : PostureTrack
        The resting posture each sample was compared to (the nearer of the two baselines).
    """
    block = max(int(round(fs_hz)), 1)
    n = acc_g.shape[0]
    m = -(-n // block)
    x = np.full((3, m * block), np.nan, np.float32)         # axis-major, whole blocks (NaN tail)
    x[:, :n] = acc_g.T
    before, after = posture_baselines(x, fs_hz, window_s)
    xb = x.reshape(3, m, block)
    d_before = np.sqrt(((xb - before.T[:, :, None]) ** 2).sum(axis=0)).ravel()[:n]
    d_after = np.sqrt(((xb - after.T[:, :, None]) ** 2).sum(axis=0)).ravel()[:n]
    use_after = d_after < d_before
    env = np.minimum(d_after, d_before).astype(np.float32, copy=False)
    size = int(round(smooth_s * fs_hz))
    if size > 1:
        gap = ~np.isfinite(env)
        env = _shifted(_shifted(np.where(gap, 0, env), size, "max"), size, "mean")
        env = env.astype(np.float32, copy=False)
        env[gap] = np.nan
    return env, PostureTrack(before, after, use_after, block)
