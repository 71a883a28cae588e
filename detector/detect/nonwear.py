"""Step 0b of analysis: find when the sensor was not on the leg.

A sensor put on late, taken off early, or left on the bedside table for a while must not count
as a leg at rest: those hours would lower every index per hour of rest. The approach is the one
actigraphy uses (van Hees et al. 2011, PLoS ONE 6:e22922; 2013, PLoS ONE 8:e61691; GGIR,
actipy): a long stretch in which the acceleration barely varies on every axis. On the wrist that
test alone works; a leg can lie perfectly still for long stretches of sleep, so it is adapted: a
worn shin still shows the body, a ballistocardiographic ripple of a few mg at the heart rate and
its harmonics (0.6-3.5 Hz), which repeats itself beat after beat; a sensor on a table shows only
its own noise, which does not.

A block (``block_s``, 5 min) is off the leg when on every axis its standard deviation is below
``still_sd_g`` (13 mg: no movement, van Hees et al. 2013) and its values span less than
``still_range_g`` (50 mg, the same paper's second criterion: a block holding a leg movement is not
still, even when the movement is too short to raise the standard deviation), and the
autocorrelation of its
0.6-3.5 Hz band-pass at lags of 0.5-1.6 s (37-120 beats per minute) stays below
``pulse_min_corr`` (0.3). Runs of such blocks lasting at least ``min_s`` (30 min) are non-wear.
Blocks that are mostly gap are neither. The test is about periodicity, not power, so it does not
depend on the sensor's noise level or on the low-pass effect of resampling jittered timestamps.

What it cannot see: a sensor strapped to something that pulses (a pet, another person) is
"worn"; a still leg whose pulse ripple is buried in a very noisy sensor's noise for 30 min or
more would be called non-wear (the data-quality section lists every period so that it can be
checked).
"""

from __future__ import annotations

import warnings
import weakref

import numpy as np

from detector.config import NonwearConfig
from detector.io.recording import Recording, mask_runs

__all__ = ["find_nonwear", "find_nonwear_cached", "nonwear_mask", "block_sd",
           "block_pulse", "block_ranges",
           "PULSE_BAND_HZ", "PULSE_LAG_S"]

#: Heartbeat ripple and its harmonics (up to the 3rd harmonic of 70 beats/min).
PULSE_BAND_HZ = (0.6, 3.5)
#: Beat-to-beat intervals looked at (120 down to 37 beats per minute).
PULSE_LAG_S = (0.5, 1.6)
#: Gap-free blocks whose pulse or range is computed in one call.
_PULSE_CHUNK = 64
#: A block with less valid data than this share is neither worn nor off.
_MIN_VALID_SHARE = 0.8


def block_sd(acc_g: np.ndarray, valid: np.ndarray, fs_hz: float, block_s: float
             ) -> tuple[np.ndarray, np.ndarray]:
    """Per block of ``block_s`` seconds: the largest per-axis standard deviation of its valid
    samples (g; NaN where not usable) and whether it has enough valid samples to be judged
    (see :func:`block_ranges` for the value range, :func:`block_pulse` for the pulse)."""
    n = int(round(block_s * fs_hz))
    m = acc_g.shape[0] // n
    # One (blocks x samples) view per axis: the recording keeps each axis contiguous, which a
    # (blocks x samples x 3) reshape would copy.
    cols = [acc_g[:m * n, a].reshape(m, n) for a in range(3)]
    share = valid[:m * n].reshape(m, n).mean(axis=1)
    usable = share >= _MIN_VALID_SHARE
    sd = np.full(m, np.nan)
    full = share == 1.0
    if full.any():  # the common case, without the cost of NaN handling
        sd[full] = np.max([c[full].std(axis=1) for c in cols], axis=0)
    part = usable & ~full
    if part.any():
        blocks = acc_g[:m * n].reshape(m, n, 3)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            sd[part] = np.nanstd(blocks[part], axis=1, dtype=np.float64).max(axis=1)
    return sd, usable


def block_pulse(acc_g: np.ndarray, valid: np.ndarray, fs_hz: float, block_s: float,
                which: np.ndarray) -> np.ndarray:
    """The largest per-axis autocorrelation of the 0.6-3.5 Hz band-pass at lags of
    :data:`PULSE_LAG_S` (a heartbeat's) of the blocks ``which`` selects (NaN for the others)."""
    from scipy.signal import butter

    n = int(round(block_s * fs_hz))
    m = min(acc_g.shape[0] // n, len(which))
    corr = np.full(len(which), np.nan)
    # The pulse band ends at 3.5 Hz: block means of ``dec`` samples (a boxcar, which keeps
    # white noise white) bring the rate down to 12.5-25 Hz before filtering.
    dec = max(1, int(fs_hz // 12.5))
    fs_d = fs_hz / dec
    high = min(PULSE_BAND_HZ[1], 0.45 * fs_d)
    sos = butter(4, [PULSE_BAND_HZ[0], high], btype="band", fs=fs_d, output="sos")
    lags = np.arange(int(PULSE_LAG_S[0] * fs_d), int(PULSE_LAG_S[1] * fs_d) + 1)
    cols = [acc_g[:m * n, a].reshape(m, n) for a in range(3)]
    full = valid[:m * n].reshape(m, n).all(axis=1)
    todo = which[:m]
    m_d = n // dec
    # Blocks without a gap (nearly all): decimated, filtered and autocorrelated together.
    whole = np.flatnonzero(todo & full)
    for c in range(0, whole.size, _PULSE_CHUNK):
        ks = whole[c:c + _PULSE_CHUNK]
        xd = np.stack([col[ks, :m_d * dec].reshape(len(ks), m_d, dec).mean(axis=2, dtype=float)
                       - col[ks].mean(axis=1, dtype=float)[:, None] for col in cols], axis=2)
        corr[ks] = _pulse_corr(xd, sos, lags)
    # Blocks with a gap: the gap filled with the block's mean first.
    for k in np.flatnonzero(todo & ~full):
        ok = valid[k * n:(k + 1) * n]
        x = acc_g[k * n:(k + 1) * n].astype(np.float64)
        mean = np.nanmean(x[ok], axis=0)
        x = np.where(ok[:, None], x, mean[None, :]) - mean[None, :]
        xd = x[:m_d * dec].reshape(1, m_d, dec, 3).mean(axis=2)
        corr[k] = _pulse_corr(xd, sos, lags)[0]
    return corr


def _in_long_runs(mask: np.ndarray, n_min: int) -> np.ndarray:
    """True inside runs of at least ``n_min`` consecutive True values."""
    out = np.zeros(len(mask), bool)
    for a, b in zip(*mask_runs(mask)):
        if b - a >= n_min:
            out[a:b] = True
    return out


def _pulse_corr(xd: np.ndarray, sos: np.ndarray, lags: np.ndarray) -> np.ndarray:
    """Per block of ``xd`` (blocks x samples x 3, mean removed, at the decimated rate): the
    largest autocorrelation of its pulse-band signal at ``lags``, over the three axes."""
    from scipy.signal import sosfiltfilt

    m_d = xd.shape[1]
    y = sosfiltfilt(sos, xd, axis=1)
    spec = np.fft.rfft(y, 2 * m_d, axis=1)
    ac = np.fft.irfft(np.abs(spec) ** 2, axis=1)[:, :m_d]
    zero = ac[:, 0]
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(zero > 0, ac[:, lags].max(axis=1) / zero, 0.0)
    return r.max(axis=1)


def block_ranges(acc_g: np.ndarray, valid: np.ndarray, fs_hz: float, block_s: float,
                 which: np.ndarray) -> np.ndarray:
    """The largest per-axis value range (maximum minus minimum of the valid samples, g) of the
    blocks ``which`` selects (a bool per block); NaN for the others."""
    n = int(round(block_s * fs_hz))
    out = np.full(len(which), np.nan)
    m = min(len(which), acc_g.shape[0] // n)
    cols = [acc_g[:m * n, a].reshape(m, n) for a in range(3)]
    full = valid[:m * n].reshape(m, n).all(axis=1)
    whole = np.flatnonzero(which[:m] & full)
    for c in range(0, whole.size, _PULSE_CHUNK):
        ks = whole[c:c + _PULSE_CHUNK]
        out[ks] = np.max([np.ptp(col[ks], axis=1) for col in cols], axis=0)
    for k in np.flatnonzero(which & np.r_[~full, np.ones(len(which) - m, bool)]):
        x = acc_g[k * n:(k + 1) * n][valid[k * n:(k + 1) * n]]
        if len(x):
            out[k] = float((x.max(axis=0) - x.min(axis=0)).max())
    return out


def find_nonwear(recording: Recording, config: NonwearConfig = NonwearConfig()
                 ) -> list[tuple[float, float]]:
    """Periods when the sensor was off the leg.

    Parameters
    ----------
    recording : Recording
    config : NonwearConfig

    Returns
    -------
    list of (start_s, end_s)
        Seconds from the recording's first sample, block-aligned, in order; empty when
        ``config.enabled`` is False.
    """
    if not config.enabled:
        return []
    fs = recording.fs_hz
    sd, usable = block_sd(recording.acc_g, recording.valid, fs, config.block_s)
    still = usable & (sd < config.still_sd_g)
    # the value range only where it can still decide (a still block on a night mostly moving)
    span = block_ranges(recording.acc_g, recording.valid, fs, config.block_s, still)
    still &= span < config.still_range_g
    n_min = int(np.ceil(config.min_s / config.block_s - 1e-9))
    # the pulse only where it can still decide: still blocks in a run (gaps bridging) long
    # enough to be a non-wear period
    corr = block_pulse(recording.acc_g, recording.valid, fs, config.block_s,
                       still & _in_long_runs(still | ~usable, n_min))
    off = still & (corr < config.pulse_min_corr)
    # A block that is mostly gap (the sensor out of radio range on its table, say) belongs to
    # a non-wear period when the usable blocks on both sides of it are off the leg.
    idx = np.flatnonzero(usable)
    if idx.size:
        for k in np.flatnonzero(~usable):
            before, after = idx[idx < k], idx[idx > k]
            if before.size and after.size and off[before[-1]] and off[after[0]]:
                off[k] = True
    periods: list[tuple[float, float]] = []
    for k, j in zip(*mask_runs(off)):
        if j - k >= n_min:
            start = k * config.block_s
            end = j * config.block_s
            # The last blocks of a recording that is off the leg run to its end.
            if j == off.size:
                end = max(end, recording.duration_s)
            periods.append((float(start), float(min(end, recording.duration_s))))
    return periods


def nonwear_mask(recording: Recording, periods: list[tuple[float, float]]) -> np.ndarray:
    """True for grid samples inside the non-wear periods."""
    mask = np.zeros(recording.n_samples, bool)
    fs = recording.fs_hz
    for a, b in periods:
        mask[int(round(a * fs)):int(round(b * fs))] = True
    return mask


_CACHE: dict[int, tuple[NonwearConfig, list[tuple[float, float]]]] = {}


def find_nonwear_cached(recording: Recording, config: NonwearConfig = NonwearConfig()
                        ) -> list[tuple[float, float]]:
    """:func:`find_nonwear`, computed once per recording and configuration (re-thresholding in
    a notebook scores the same recording many times)."""
    key = id(recording.acc_g)
    hit = _CACHE.get(key)
    if hit is not None and hit[0] == config:
        return list(hit[1])
    periods = find_nonwear(recording, config)
    if hit is None:
        weakref.finalize(recording.acc_g, _CACHE.pop, key, None)
    _CACHE[key] = (config, periods)
    return list(periods)
