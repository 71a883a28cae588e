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

__all__ = ["PostureTrack", "block_medians", "posture_baselines", "movement_envelope",
           "shifted_window"]


def shifted_window(a: np.ndarray, size: int, op: str) -> np.ndarray:
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


#: Two consecutive still blocks whose mean readings differ by more than this (g) belong to
#: different resting postures (about 0.3 degrees; a block's mean varies by ~1-2 mg with the
#: heartbeat, and a slow slip of the strap by a few degrees a minute moves it ~1.5 mg a second).
POSTURE_STEP_G = 0.005

#: A still stretch shorter than this (s) is not a resting posture: a movement pausing for a moment.
MIN_REST_S = 2.0

#: Resting posture inside a still stretch: median of its block means within this many blocks
#: before (and after) a block (follows a slow drift or a slipping strap with little lag).
REST_HALF_BLOCKS = 5


#: The spread a still block has (the sensor's noise on a resting leg) is taken from the blocks
#: within this many seconds around each block, so that it follows the sensor and the
#: recording around it and not the whole file: a night cut out of a week (with a margin of
#: more than half this) then finds the same still blocks as the week analysed whole.
STILL_WINDOW_S = 1800.0
#: ... as this quantile of their spreads: a leg at rest most of the time has blocks this low
#: even in a restless half hour (a median would be a moving block's once half the blocks move).
STILL_QUANTILE = 0.25


def still_spread(spread: np.ndarray, window_blocks: int = int(STILL_WINDOW_S)) -> np.ndarray:
    """A still block's spread around each 1-s block: the :data:`STILL_QUANTILE` of the
    spreads within a centred window of ``window_blocks`` blocks (NaN blocks left out; 0 where
    the window holds none)."""
    s = pd.Series(np.asarray(spread, dtype=np.float64))
    q = s.rolling(window_blocks, center=True, min_periods=1).quantile(STILL_QUANTILE)
    return np.nan_to_num(q.to_numpy(), nan=0.0)


def _nanmedian(a: np.ndarray) -> np.ndarray:
    """Median over axis 0 ignoring NaN; NaN where every value is NaN (without the warning that
    ``numpy.nanmedian`` gives there, which a context manager cannot silence across threads).

    The values ``numpy.nanmedian`` gives, about 6 times faster for the few rows here: a sort
    puts NaN last, so the median is the middle of each column's first ``n`` values.
    """
    ordered = np.sort(a, axis=0)
    n = np.isfinite(a).sum(axis=0)
    lo = np.take_along_axis(ordered, np.maximum((n - 1) // 2, 0)[None], axis=0)[0]
    hi = np.take_along_axis(ordered, (n // 2)[None], axis=0)[0]
    out = (lo + hi) / ordered.dtype.type(2)
    out[n == 0] = np.nan
    return out


def _stretches(mean: np.ndarray, still: np.ndarray, step_g: float) -> np.ndarray:
    """Label runs of consecutive still blocks whose mean reading changes by less than
    ``step_g`` from block to block: (m,) int, -1 for blocks that are not still."""
    m = mean.shape[1]
    jump = np.ones(m, bool)
    if m > 1:
        d = np.linalg.norm(np.diff(mean, axis=1), axis=0)
        jump[1:] = ~(d < step_g) | ~still[:-1]
    label = np.cumsum(jump & still) - 1
    return np.where(still, label, -1)


def _rest_postures(mean: np.ndarray, label: np.ndarray, min_blocks: int, hold_blocks: int
                   ) -> np.ndarray:
    """Which still stretches are resting postures (bool per label).

    A stretch of ``hold_blocks`` or more is always rest (longer than any leg movement's hold).
    A shorter one (but at least ``min_blocks``) is the held middle of a movement when the leg
    comes back from it: the postures before and after it are nearer each other than half its
    distance from them (an LM that holds a dorsiflexion for a few seconds). Otherwise the leg
    came to rest there: settling in steps, every step is a posture of its own.
    """
    n_lab = int(label.max()) + 1 if (label >= 0).any() else 0
    if n_lab == 0:
        return np.zeros(0, bool)
    blocks = np.flatnonzero(label >= 0)
    lab = label[blocks]
    first = np.searchsorted(lab, np.arange(n_lab))
    length = np.diff(np.append(first, len(lab)))
    posture = np.stack([np.median(mean[:, blocks[a:a + k]], axis=1)
                        for a, k in zip(first, length)])
    rest = length >= hold_blocks
    candidate = length >= min_blocks
    prev = None
    for j in range(n_lab):
        if candidate[j] and not rest[j]:
            nxt = next((k for k in range(j + 1, n_lab) if candidate[k]), None)
            if prev is None or nxt is None:
                rest[j] = True
            else:
                q = posture[j]
                away = min(np.linalg.norm(q - posture[prev]), np.linalg.norm(q - posture[nxt]))
                rest[j] = not (np.linalg.norm(posture[nxt] - posture[prev]) < 0.5 * away)
        if rest[j]:
            prev = j
    return rest


def posture_baselines(acc_axes: np.ndarray, fs_hz: float, window_s: float = 30.0,
                      still_factor: float = 4.0, still_min_g: float = 0.006,
                      max_hold_s: float = 10.0) -> tuple[np.ndarray, np.ndarray]:
    """Resting posture before and after each 1-s block of one contiguous segment.

    The leg rests in postures joined by movements. Still blocks (small spread) in a row, whose
    mean reading does not jump, form a still stretch; a stretch is a resting posture unless it
    is the short held middle of a movement that comes back (see :func:`_rest_postures`). Inside
    a resting posture the baselines are that posture itself: the median of its block means in
    the ``REST_HALF_BLOCKS`` before the block ("before") and after it ("after"), so a still leg
    is never a movement, whatever posture it holds. In a movement, "before" is the posture the
    leg rested in before it and "after" the one it comes to rest in.

    Parameters
    ----------
    acc_axes : ndarray, shape (3, n)
        Filtered acceleration in g (gravity included), axis-major; NaN in gaps.
    fs_hz : float
        Sampling rate in Hz.
    window_s : float
        Where a segment has no resting posture at all, the posture is the median of the
        blocks within this many seconds before (after) each block.
    still_factor, still_min_g : float
        A block is still when its spread (largest per-axis standard deviation) is below
        ``max(still_factor x a still block's spread around it, still_min_g)``
        (:func:`still_spread`).
    max_hold_s : float
        Longest still stretch that may be the held middle of a leg movement (s; the longest LM,
        WASM 2016: 10 s).

    Returns
    -------
    before, after : ndarray, shape (n_blocks, 3)
        Posture before and after each block; NaN in gaps.
    """
    block = max(int(round(fs_hz)), 1)
    xb = _blocks(acc_axes, block)                           # a view when n is whole blocks
    # A block that touches a gap has a NaN mean and spread: it is not still, and the posture
    # around it comes from its neighbours.
    mean = xb.mean(axis=2)                                  # (3, m): a still block's posture
    spread = xb.std(axis=2).max(axis=0)
    limit = np.maximum(still_factor * still_spread(spread), still_min_g)
    still = spread <= limit                                 # NaN (empty block) is not still
    m = mean.shape[1]
    label = _stretches(mean, still, POSTURE_STEP_G)
    rest_lab = _rest_postures(mean, label, max(int(round(MIN_REST_S)), 1),
                              max(int(round(max_hold_s)), 1))
    rest = (label >= 0) & rest_lab[np.maximum(label, 0)] if rest_lab.size else np.zeros(m, bool)
    # posture inside a resting stretch: median of the block means nearby within the stretch
    h = REST_HALF_BLOCKS
    shifted = np.full((2 * h + 1, 3, m), np.nan, np.float32)
    for k in range(-h, h + 1):
        if k and abs(k) >= m:
            continue
        src = slice(max(k, 0), m + min(k, 0))
        dst = slice(max(-k, 0), m + min(-k, 0))
        same = label[src] == label[dst]
        shifted[k + h][:, dst] = np.where(same & rest[src], mean[:, src], np.nan)
    local = _nanmedian(shifted)                             # (3, m)
    # inside the stretch, as for a movement, a posture on each side of the block (the blocks
    # before it, and after it): the envelope is the distance to the nearer
    prev_side = _nanmedian(shifted[:h])
    next_side = _nanmedian(shifted[h + 1:])
    local[:, ~rest] = np.nan
    # movements: the posture rested in before, and the one rested in after, within the segment
    # (a block partly in a gap belongs to the stretch of recording on its valid side: only a
    # block with no sample at all separates segments)
    empty = np.isnan(xb[0]).all(axis=1)
    segment = np.cumsum(empty)
    frame = pd.DataFrame(local.T)
    grouped = frame.groupby(segment)
    before, after = grouped.ffill(), grouped.bfill()
    before, after = before.fillna(after), after.fillna(before)

    # Segments with no resting posture (a long restless stretch): the median of the blocks
    # within window_s before and after. Blocks inside gaps stay NaN.
    missing = before.isna().any(axis=1).to_numpy() & ~empty
    if missing.any():
        means = pd.DataFrame(mean.T)
        w = max(int(round(window_s)), 1)
        b = means.rolling(w, min_periods=1).median().shift(1)
        a = means.iloc[::-1].rolling(w, min_periods=1).median().shift(1).iloc[::-1]
        plain_b, plain_a = b.fillna(a), a.fillna(b)
        valid = np.isfinite(xb)                          # a block partly in a gap: its samples
        n_valid = valid.sum(axis=2)
        valid_sum = np.where(valid, xb, 0.0).sum(axis=2)
        own_mean = pd.DataFrame(np.where(n_valid > 0, valid_sum / np.maximum(n_valid, 1),
                                         np.nan).T)
        before[missing] = plain_b[missing].fillna(own_mean[missing])
        after[missing] = plain_a[missing].fillna(own_mean[missing])
    before_a = np.array(before.to_numpy(np.float32))
    after_a = np.array(after.to_numpy(np.float32))
    prev_side = np.where(np.isfinite(prev_side), prev_side, next_side)
    next_side = np.where(np.isfinite(next_side), next_side, prev_side)
    in_rest = rest & np.isfinite(prev_side).all(axis=0)
    before_a[in_rest] = prev_side[:, in_rest].T
    after_a[in_rest] = next_side[:, in_rest].T
    return before_a, after_a


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
        env = shifted_window(shifted_window(np.where(gap, 0, env), size, "max"), size, "mean")
        env = env.astype(np.float32, copy=False)
        env[gap] = np.nan
    return env, PostureTrack(before, after, use_after, block)
