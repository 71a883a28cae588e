"""Step 0 of detection: put raw samples onto a uniform time grid and find the gaps.

Raw accelerometer streams are messy: rows with missing values, packets that arrive out of order or
twice, timestamps with jitter, minutes or hours of lost packets, and axes that saturate at the
sensor's full-scale range. :func:`clean` turns such a stream into a :class:`Recording`: samples on
the grid ``t0 + k / fs``, NaN and ``valid=False`` inside gaps, and an ``info`` dictionary that says
what was found and done.
"""

from __future__ import annotations

import math

import numpy as np

from detector.config import CleanConfig
from detector.io.recording import InputError, Recording, gap_table

__all__ = ["clean", "infer_fs", "snap_fs", "COMMON_RATES_HZ", "FULL_SCALE_RANGES_G"]

#: Output data rates of common accelerometers and wearables (Hz): the 12.5 x 2^k family (Bosch
#: MEMS, Axivity, Polar H10: 12.5-1600), the 13 x 2^k family (ST LSM6DS, Polar Verity Sense:
#: 26-1666) and the 30-100 Hz rates of actigraphs.
COMMON_RATES_HZ: tuple[float, ...] = (
    10.0, 12.5, 20.0, 25.0, 26.0, 30.0, 32.0, 40.0, 50.0, 52.0, 60.0, 64.0, 70.0, 80.0, 90.0,
    100.0, 104.0, 128.0, 200.0, 208.0, 250.0, 256.0, 400.0, 416.0, 500.0, 800.0, 833.0, 1000.0,
    1600.0, 1666.0)

#: Typical full-scale ranges of MEMS accelerometers, in g.
FULL_SCALE_RANGES_G: tuple[float, ...] = (2.0, 4.0, 8.0, 16.0)

SNAP_TOLERANCE = 0.02
"""A measured rate within this fraction of a common rate is taken to be that rate."""

MIN_FS_HZ, MAX_FS_HZ = 5.0, 2000.0
"""Plausible sampling rates (Hz); outside them the timestamps are probably in other units."""

FS_CONTRADICTION = 0.1
"""A given rate more than this fraction away from the timestamps' rate contradicts the data."""

MIN_VALID_S = 10.0
"""Shortest usable recording, in seconds of valid (non-gap) data."""

MAX_GRID_SAMPLES = 40_000_000
"""Largest uniform grid built (4.6 days at 100 Hz, 27 h at 416 Hz; 480 MB of float32): a longer
span almost always means a stray timestamp, not one recording."""

MAX_ABS_G = 20.0
"""A value further than this from zero (g) cannot come from a leg-worn accelerometer (the
largest ranges are +-16 g): such a row is a bad row, counted and left out."""

STRAY_TIME_S = 600.0
"""A row whose timestamp is more than this (s) away from both rows beside it in the file, while
those two are close to each other, holds a stray timestamp: a bad row, counted and left out."""

MIN_CLIPPED_SAMPLES = 5
"""An axis counts as clipped only when more than this many samples sit at its full-scale value."""

_BLOCK = 1 << 16
"""Grid points interpolated per block."""

_AT_SAMPLE_S = 1e-6
"""A grid point closer than this (s) to a raw sample takes its value, even at a gap edge."""


def snap_fs(fs_measured_hz: float, tolerance: float = SNAP_TOLERANCE) -> float:
    """Snap a measured sampling rate to the nearest common rate when it is close enough.

    Parameters
    ----------
    fs_measured_hz : float
        Measured rate in Hz.
    tolerance : float
        Largest relative difference (0.02 = 2 %) that still snaps.

    Returns
    -------
    float
        The nearest entry of :data:`COMMON_RATES_HZ` within ``tolerance``, otherwise the measured
        rate rounded to 0.01 Hz.
    """
    rates = np.asarray(COMMON_RATES_HZ)
    rel = np.abs(fs_measured_hz - rates) / rates
    best = int(np.argmin(rel))
    if rel[best] <= tolerance:
        return float(rates[best])
    return round(float(fs_measured_hz), 2)


def infer_fs(dt_s: np.ndarray) -> float:
    """Measure the sampling rate from positive inter-sample intervals.

    The rate is the reciprocal of the mean interval between 0.5 and 1.5 times the median
    interval. The window is symmetric about the median, so symmetric timestamp jitter (up to
    +-0.25 periods on each timestamp, and mostly beyond) cancels; intervals that hold lost
    samples (about 2 periods or more) and gaps fall outside it. The mean, unlike the median alone,
    also gets timestamps rounded to whole milliseconds right: a 416-Hz stream has intervals of 2
    and 3 ms, whose median says 500 or 333 Hz.

    Parameters
    ----------
    dt_s : ndarray
        Intervals between consecutive distinct timestamps, in seconds (all > 0).

    Returns
    -------
    float
        Measured rate in Hz (not snapped).
    """
    dt = np.asarray(dt_s, dtype=np.float64)
    median_s = float(np.median(dt[::max(1, dt.size // 200_000)]))  # a subsample sets the scale
    core = dt >= 0.5 * median_s
    core &= dt <= 1.5 * median_s
    return 1.0 / float(np.mean(dt, where=core))


def clean(t_unix_s: np.ndarray, xyz_g: np.ndarray, *, fs_hz: float | None = None,
          config: CleanConfig = CleanConfig(), source: str = "<memory>", leg: str = "unknown",
          info: dict | None = None, force: bool = False,
          grid_origin_unix_s: float | None = None) -> Recording:
    """Resample raw accelerometer samples onto a uniform grid, marking gaps and clipping.

    Parameters
    ----------
    t_unix_s : ndarray, shape (n,)
        Timestamps in seconds (unix time, or relative seconds), in file order.
    xyz_g : ndarray, shape (n, 3)
        Acceleration in g, in file order. float32 is used as is; other types are converted to
        float64. Column-major (Fortran-order) arrays are processed fastest.
    fs_hz : float, optional
        Sampling rate of the output grid in Hz. ``None`` infers it from the timestamps
        (:func:`infer_fs`) and snaps it to a common rate within 2 % (:func:`snap_fs`).
    config : CleanConfig
        ``max_interp_s``: longest hole between raw samples that is interpolated; grid points
        inside longer holes are gaps. ``clip_margin_g``: clipping tolerance.
    source : str
        Name of the data source, used in error messages and kept in the recording.
    leg : str
        ``left``, ``right`` or ``unknown``.
    info : dict, optional
        Facts already known (e.g. from the loader); kept in ``Recording.info``.
    force : bool
        Use ``fs_hz`` even when the timestamps give a rate more than
        :data:`FS_CONTRADICTION` away from it (otherwise an :class:`InputError` shows both).
    grid_origin_unix_s : float, optional
        First timestamp of a longer recording this stretch was cut out of (the night-by-night
        analysis of several days): the grid is then that recording's grid, ``origin + k / fs``,
        from its first whole second (``k`` a multiple of ``round(fs)``, the 1-s blocks the
        detector works in) at or after the first sample, so that the stretch is resampled onto
        the same points, in the same blocks, as the whole. Samples before the grid's start only
        serve the interpolation of its first points.

    Returns
    -------
    Recording
        ``acc_g`` float32 on the grid ``t0 + k / fs`` (``t0`` = first timestamp), NaN where
        ``valid`` is False. ``info`` gains ``n_nan_rows``, ``n_out_of_order`` (rows earlier than
        the row before them), ``n_duplicates`` (repeated timestamps; the first row is kept),
        ``n_rows_used``, ``n_out_of_range_rows`` (a value beyond :data:`MAX_ABS_G`),
        ``n_stray_times`` (see :data:`STRAY_TIME_S`), ``fs_inferred_hz``, ``fs_hz``,
        ``fs_given`` (``fs_hz`` passed, unless ``info`` says otherwise), ``n_gaps``, ``gap_s``,
        ``clipped_fraction`` (fraction of rows with a clipped axis; clipped samples are kept)
        and ``clip_range_g`` (full-scale range in g, or None).

    Raises
    ------
    InputError
        Wrong shapes, no usable rows, fewer than 2 samples, a bad ``fs_hz``, an implausible
        inferred rate, a time span too long for one recording, or less than 10 s of valid data.
    """
    out_info: dict = dict(info or {})
    t = np.asarray(t_unix_s, dtype=np.float64).ravel()
    xyz = np.asarray(xyz_g)
    if xyz.dtype != np.float32:  # float32 input (the loader's) is used as is: half the memory
        xyz = xyz.astype(np.float64, copy=False)
    if xyz.ndim != 2 or xyz.shape[1] != 3:
        raise InputError(f"{source}: expected an (n, 3) array of x, y, z, got shape {xyz.shape}")
    if xyz.shape[0] != t.shape[0]:
        raise InputError(f"{source}: {t.shape[0]} timestamps but {xyz.shape[0]} rows of x, y, z")
    if fs_hz is not None and not (np.isfinite(fs_hz) and fs_hz > 0):
        raise InputError(f"{source}: sampling rate must be a positive number of Hz, got {fs_hz!r}")
    if fs_hz is not None and not MIN_FS_HZ <= fs_hz <= MAX_FS_HZ:
        raise InputError(f"{source}: sampling rate {fs_hz:g} Hz; expected {MIN_FS_HZ:g}-"
                         f"{MAX_FS_HZ:g} Hz for a leg-worn accelerometer")

    # 1. Rows with a missing or infinite value (column-wise: reductions across the short axis
    # of an (n, 3) array are several times slower).
    finite = np.isfinite(t)
    for axis in range(3):
        finite &= np.isfinite(xyz[:, axis])
    n_nan = int(t.size - np.count_nonzero(finite))
    if n_nan:
        t, xyz = t[finite], np.compress(finite, xyz, axis=0)
    if t.size == 0:
        raise InputError(f"{source}: no usable rows (every row has a missing or non-finite "
                         "time or x, y, z value)")
    # 1b. Rows no accelerometer on a leg can produce, and single rows with a stray timestamp.
    bad = _out_of_range(xyz)
    n_range = int(np.count_nonzero(bad))
    stray = _stray_times(t)
    n_stray = int(np.count_nonzero(stray & ~bad))
    bad |= stray
    if n_range or n_stray:
        keep = ~bad
        t, xyz = t[keep], np.compress(keep, xyz, axis=0)
    if t.size == 0:
        raise InputError(f"{source}: no usable rows (every value is beyond +-{MAX_ABS_G:g} g: "
                         "check the units, e.g. --units mg or m/s2)")

    # 2. Rows out of time order: stable sort, so equal timestamps keep their file order.
    dt = np.diff(t)
    in_order = dt.size == 0 or float(dt.min()) > 0  # one pass for the common clean case
    n_back = 0 if in_order else int(np.count_nonzero(dt < 0))
    if n_back:
        order = np.argsort(t, kind="stable")
        t, xyz = t[order], np.take(xyz, order, axis=0)
        dt = np.diff(t)

    # 3. Repeated timestamps: keep the first row.
    dup = None if in_order else dt == 0
    n_dup = 0 if dup is None else int(np.count_nonzero(dup))
    if dup is not None and n_dup:
        keep = np.concatenate(([True], ~dup))
        t, xyz = t[keep], np.compress(keep, xyz, axis=0)
        dt = dt[~dup]
    if t.size < 2:
        raise InputError(f"{source}: fewer than 2 usable samples ({t.size}); "
                         f"expected at least {MIN_VALID_S:g} s of data")

    # 4. Sampling rate.
    fs_measured = infer_fs(dt)
    if fs_hz is None:
        if not MIN_FS_HZ <= fs_measured <= MAX_FS_HZ:
            raise InputError(_rate_message(source, fs_measured, float(np.median(dt))))
        fs_used = snap_fs(fs_measured)
    else:
        fs_used = float(fs_hz)
        if (not force and MIN_FS_HZ <= fs_measured <= MAX_FS_HZ
                and abs(fs_measured - fs_used) > FS_CONTRADICTION * fs_used):
            raise InputError(
                f"{source}: --fs {fs_used:g} but the timestamps give {fs_measured:.4g} Hz: the "
                f"samples would be resampled to {fs_used:g} Hz; leave --fs out, use --fs "
                f"{snap_fs(fs_measured):g}, or add --force to resample anyway")

    # 5. Uniform grid, interpolation and gaps.
    t0 = float(t[0])
    if grid_origin_unix_s is not None:
        t0, first = _grid_start(t, float(grid_origin_unix_s), fs_used)
        t, xyz, dt = t[first:], xyz[first:], dt[first:]
    tr = t - t0
    span_s = float(tr[-1])
    # Unix-second float64 times resolve ~2.4e-7 s: allow 1e-3 sample so the last sample of an
    # exact grid is never lost to rounding.
    n_float = span_s * fs_used
    n_grid = int(np.floor(n_float + 1e-3)) + 1 if n_float < 2.0 * MAX_GRID_SAMPLES else (
        2 * MAX_GRID_SAMPLES)
    if n_grid > MAX_GRID_SAMPLES:
        raise InputError(
            f"{source}: timestamps span {span_s / 3600:.1f} h ({t0:.3f} to {t[-1]:.3f}), which at "
            f"{fs_used:g} Hz is {n_grid} samples, more than one recording can hold "
            f"({MAX_GRID_SAMPLES}); check for a stray timestamp or timestamps in milliseconds")
    acc = _resample(tr, dt, xyz, fs_used, n_grid)
    gap_mask = _gap_mask(tr, dt, fs_used, n_grid, config.max_interp_s)
    if gap_mask.any():
        acc[gap_mask] = np.nan
    valid = ~gap_mask
    gaps = gap_table(gap_mask, fs_used)

    valid_s = np.count_nonzero(valid) / fs_used
    if valid_s < MIN_VALID_S:
        raise InputError(f"{source}: only {valid_s:.2f} s of valid data; expected at least "
                         f"{MIN_VALID_S:g} s of data")

    # 6. Clipping at a full-scale range (kept: clipped samples are real, large movements).
    clipped_fraction, clip_range_g = _clipping(xyz, config.clip_margin_g)

    out_info.update({
        "n_nan_rows": n_nan,
        "n_out_of_order": n_back,
        "n_duplicates": n_dup,
        "n_rows_used": int(t.size),
        "n_out_of_range_rows": n_range,
        "n_stray_times": n_stray,
        "fs_inferred_hz": round(fs_measured, 4),
        "fs_hz": fs_used,
        # a caller passing a device file's own rate says it was not given (info["fs_given"])
        "fs_given": bool(out_info.get("fs_given", fs_hz is not None)),
        "n_samples": n_grid,
        "n_gaps": int(len(gaps)),
        "gap_s": float(gaps["duration_s"].sum()) if len(gaps) else 0.0,
        "clipped_fraction": clipped_fraction,
        "clip_range_g": clip_range_g,
    })
    return Recording(acc_g=acc, fs_hz=fs_used, t0_unix_s=t0, valid=valid, gaps=gaps,
                     source=source, leg=leg, info=out_info)


def _grid_start(t: np.ndarray, origin: float, fs_hz: float) -> tuple[float, int]:
    """The first point of the grid ``origin + k / fs`` with ``k`` a whole number of 1-s blocks
    at or after the first sample, and the first raw sample to keep (the last one at or before
    that point, for the interpolation)."""
    block = max(int(round(fs_hz)), 1)
    k = max(math.ceil(((t[0] - origin) * fs_hz - 1e-3) / block), 0) * block
    t0 = origin + k / fs_hz
    return t0, max(int(np.searchsorted(t, t0, side="right")) - 1, 0)


def _out_of_range(xyz: np.ndarray) -> np.ndarray:
    """Rows with a value beyond +-:data:`MAX_ABS_G` on any axis."""
    bad = np.abs(xyz[:, 0]) > MAX_ABS_G
    for axis in (1, 2):
        bad |= np.abs(xyz[:, axis]) > MAX_ABS_G
    return bad


def _stray_times(t: np.ndarray) -> np.ndarray:
    """Rows (in file order) whose timestamp jumps away by more than :data:`STRAY_TIME_S` from
    both neighbours while the neighbours are close to each other (a corrupt time, not a gap)."""
    n = t.size
    stray = np.zeros(n, dtype=bool)
    if n < 3:
        return stray
    far = np.abs(np.diff(t)) > STRAY_TIME_S
    if not far.any():
        return stray
    close = np.abs(t[2:] - t[:-2]) <= STRAY_TIME_S
    stray[1:-1] = far[:-1] & far[1:] & close
    # The first and last rows have one neighbour: stray when it jumps away from a run of two.
    stray[0] = far[0] and not far[1]
    stray[-1] = far[-1] and not far[-2]
    return stray


def _rate_message(source: str, fs_measured_hz: float, median_dt: float) -> str:
    """Explain an implausible inferred sampling rate, guessing the timestamp unit if possible."""
    msg = (f"{source}: timestamps give a sampling rate of {fs_measured_hz:.4g} Hz (median "
           f"interval {median_dt:.6g}); expected {MIN_FS_HZ:g}-{MAX_FS_HZ:g} Hz")
    for unit, scale in (("milliseconds", 1e3), ("microseconds", 1e6), ("nanoseconds", 1e9)):
        if fs_measured_hz < MIN_FS_HZ and MIN_FS_HZ <= scale / median_dt <= MAX_FS_HZ:
            return msg + f"; timestamps look like {unit}? Convert them to seconds"
    return msg + "; give the sampling rate explicitly (--fs)"


def _resample(tr_s: np.ndarray, dt_s: np.ndarray, xyz: np.ndarray, fs_hz: float,
              n_grid: int) -> np.ndarray:
    """Linearly interpolate sorted, distinct samples onto ``arange(n_grid) / fs_hz`` (float32).

    Both time axes are sorted, so the left neighbour of every grid point comes from counting
    raw samples per grid cell (``bincount`` + ``cumsum``) instead of a binary search.
    """
    n = tr_s.size
    if n == n_grid and _on_grid(tr_s[::max(1, n // 1000)], fs_hz, max(1, n // 1000)) and (
            _on_grid(tr_s, fs_hz, 1)):
        # Already on the grid (to within 0.1 % of a sample period): copy, no interpolation.
        return np.array(xyz, dtype=np.float32, order="C")
    pos = tr_s * fs_hz
    pos -= 1e-9
    np.ceil(pos, out=pos)
    np.maximum(pos, 0.0, out=pos)  # samples before the grid's start (grid_origin_unix_s)
    counts = np.bincount(pos.astype(np.intp), minlength=n_grid)[:n_grid]
    del pos  # a night is 23 MB per float64 array: free temporaries early
    i0 = np.cumsum(counts)
    del counts
    i0 -= 1  # last raw sample at or before each grid point
    # Weights and values block by block: the temporaries stay in cache (about 30 % faster).
    dt_next = np.append(dt_s, np.inf)  # the last raw sample has no right neighbour: weight 0
    cols = [np.ascontiguousarray(xyz[:, axis]) for axis in range(3)]
    steps = [_step_to_next(col) for col in cols]
    out = np.empty((n_grid, 3), dtype=np.float32)
    for k0 in range(0, n_grid, _BLOCK):
        k1 = min(k0 + _BLOCK, n_grid)
        left = i0[k0:k1]
        w = np.arange(k0, k1, dtype=np.float64)
        w /= fs_hz
        w -= tr_s[left]
        w /= dt_next[left]
        np.clip(w, 0.0, 1.0, out=w)
        w = w.astype(xyz.dtype)
        for axis in range(3):
            value = cols[axis][left]
            change = steps[axis][left]
            change *= w
            value += change
            out[k0:k1, axis] = value
    return out


def _step_to_next(col: np.ndarray) -> np.ndarray:
    """``col[i + 1] - col[i]``, and 0 for the last sample."""
    step = np.empty_like(col)
    np.subtract(col[1:], col[:-1], out=step[:-1])
    step[-1] = 0
    return step


def _on_grid(tr_s: np.ndarray, fs_hz: float, stride: int) -> bool:
    """Whether ``tr_s[i]`` (taken every ``stride`` samples) lies within 0.1 % of a sample period
    of grid point ``i * stride``."""
    off = tr_s * fs_hz
    off -= np.arange(0, stride * tr_s.size, stride, dtype=np.float64)
    return max(float(off.max()), -float(off.min())) < 1e-3


def _gap_mask(tr_s: np.ndarray, dt_s: np.ndarray, fs_hz: float, n_grid: int,
              max_interp_s: float) -> np.ndarray:
    """Grid points strictly between two raw samples more than ``max_interp_s`` apart."""
    mask = np.zeros(n_grid, dtype=bool)
    holes = np.flatnonzero(dt_s > max_interp_s)
    if holes.size == 0:
        return mask
    ta, tb = tr_s[holes], tr_s[holes + 1]
    first = np.floor((ta + _AT_SAMPLE_S) * fs_hz).astype(np.int64) + 1
    stop = np.ceil((tb - _AT_SAMPLE_S) * fs_hz).astype(np.int64)
    first = np.clip(first, 0, n_grid)
    stop = np.clip(stop, 0, n_grid)
    if holes.size <= 10_000:  # the usual case: a loop over a few holes
        for a, b in zip(first.tolist(), stop.tolist()):
            mask[a:b] = True
        return mask
    keep = stop > first
    edges = np.zeros(n_grid + 1, dtype=np.int32)
    np.add.at(edges, first[keep], 1)
    np.add.at(edges, stop[keep], -1)
    return np.cumsum(edges[:-1]) > 0


def _clipping(xyz: np.ndarray, margin_g: float) -> tuple[float, float | None]:
    """Fraction of rows with an axis saturated at a typical full-scale range, and that range.

    An axis is clipped when its largest absolute value lies within ``margin_g`` of 2, 4, 8 or
    16 g and more than :data:`MIN_CLIPPED_SAMPLES` samples lie within ``margin_g`` of it.
    """
    ranges = np.asarray(FULL_SCALE_RANGES_G)
    clipped_rows: np.ndarray | None = None
    found: list[float] = []
    for axis in range(3):
        col = xyz[:, axis]
        peak_g = max(float(col.max()), -float(col.min()))
        near = np.abs(ranges - peak_g) <= margin_g
        if not near.any():
            continue
        at_peak = np.abs(col) >= peak_g - margin_g
        if np.count_nonzero(at_peak) > MIN_CLIPPED_SAMPLES:
            clipped_rows = at_peak if clipped_rows is None else clipped_rows | at_peak
            found.append(float(ranges[near][0]))
    if clipped_rows is None:
        return 0.0, None
    return float(np.count_nonzero(clipped_rows) / xyz.shape[0]), max(found)
