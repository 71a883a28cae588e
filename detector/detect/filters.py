"""Step 1 of detection: zero-phase band-pass filtering of each axis."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache

import numpy as np
from scipy import signal

__all__ = ["design_bandpass", "bandpass"]

#: The low-pass corner is clamped to this fraction of the sampling rate (below Nyquist, so the
#: design stays stable).
HIGHCUT_MAX_FRACTION = 0.45


@lru_cache(maxsize=32)
def design_bandpass(fs_hz: float, lowcut_hz: float, highcut_hz: float, order: int) -> tuple[
        np.ndarray, dict[str, float]]:
    """Design a Butterworth band-pass (or low-pass when ``lowcut_hz`` is 0) as second-order
    sections.

    Parameters
    ----------
    fs_hz : float
        Sampling rate in Hz.
    lowcut_hz, highcut_hz : float
        Corner frequencies in Hz. ``highcut_hz`` is clamped to 0.45 x ``fs_hz`` so that the filter
        stays valid on low-rate sensors (a 25-Hz Polar stream, a 40-Hz actigraph).
    order : int
        Filter order (the zero-phase pass doubles the effective order).

    Returns
    -------
    sos : ndarray
        Second-order sections for :func:`scipy.signal.sosfiltfilt`.
    used : dict
        The corners actually used: ``lowcut_hz``, ``highcut_hz``.
    """
    high = min(float(highcut_hz), HIGHCUT_MAX_FRACTION * fs_hz)
    if lowcut_hz > 0:
        if lowcut_hz >= high:
            raise ValueError(f"bandpass.lowcut_hz={lowcut_hz} must be below the high corner "
                             f"{high:.2f} Hz at fs={fs_hz:g} Hz")
        sos = signal.butter(order, [lowcut_hz, high], btype="bandpass", fs=fs_hz, output="sos")
    else:
        sos = signal.butter(order, high, btype="lowpass", fs=fs_hz, output="sos")
    return sos, {"lowcut_hz": float(lowcut_hz), "highcut_hz": high}


@lru_cache(maxsize=32)
def _design32(fs_hz: float, lowcut_hz: float, highcut_hz: float, order: int
              ) -> tuple[np.ndarray, np.ndarray, int]:
    """float32 SOS, their steady-state initial conditions and scipy's default pad length."""
    sos, _ = design_bandpass(fs_hz, lowcut_hz, highcut_hz, order)
    ntaps = 2 * len(sos) + 1 - min(int((sos[:, 2] == 0).sum()), int((sos[:, 5] == 0).sum()))
    return sos.astype(np.float32), signal.sosfilt_zi(sos).astype(np.float32), 3 * ntaps


def _filtfilt_rows(sos: np.ndarray, zi: np.ndarray, padlen: int, rows: np.ndarray) -> np.ndarray:
    """Forward-backward ``sosfilt`` of each row with odd extension, as
    :func:`scipy.signal.sosfiltfilt` does, but with the initial conditions computed once."""
    ext = np.concatenate([2 * rows[:, :1] - rows[:, padlen:0:-1], rows,
                          2 * rows[:, -1:] - rows[:, -2:-padlen - 2:-1]], axis=1)
    y, _ = signal.sosfilt(sos, ext, axis=-1, zi=zi[:, None, :] * ext[None, :, :1])
    y = y[:, ::-1]
    y, _ = signal.sosfilt(sos, y, axis=-1, zi=zi[:, None, :] * y[None, :, :1])
    return y[:, ::-1][:, padlen:-padlen]


def bandpass(acc_g: np.ndarray, fs_hz: float, lowcut_hz: float = 0.0, highcut_hz: float = 20.0,
             order: int = 4) -> np.ndarray:
    """Zero-phase band-pass of each axis of one contiguous segment (no gaps inside).

    Parameters
    ----------
    acc_g : ndarray, shape (n, 3)
        Acceleration in g on a uniform grid, without NaN.
    fs_hz : float
        Sampling rate in Hz.
    lowcut_hz, highcut_hz : float
        Corners in Hz; ``lowcut_hz = 0`` gives a low-pass.
    order : int
        Butterworth order.

    Returns
    -------
    ndarray, shape (n, 3), float32
        Filtered acceleration in g (the same result as ``scipy.signal.sosfiltfilt``). Segments
        too short for the forward-backward padding are returned unfiltered.
    """
    sos, zi, padlen = _design32(float(fs_hz), float(lowcut_hz), float(highcut_hz), int(order))
    x = np.asarray(acc_g, dtype=np.float32)
    if x.shape[0] <= padlen:
        return x.copy()
    rows = np.ascontiguousarray(x.T)
    if x.shape[0] >= _THREADED_MIN_SAMPLES and _THREADS != 1:
        # One axis per thread: scipy releases the GIL while filtering.
        parts = list(_pool().map(lambda r: _filtfilt_rows(sos, zi, padlen, r[None, :])[0], rows))
        y = np.stack(parts, axis=1)
    else:
        y = _filtfilt_rows(sos, zi, padlen, rows).T
    return np.ascontiguousarray(y, dtype=np.float32)


#: Segments shorter than this are filtered in the calling thread (threads cost more than they save).
_THREADED_MIN_SAMPLES = 50_000
_POOL: ThreadPoolExecutor | None = None


def _forget_pool_after_fork() -> None:
    """A forked child inherits the pool object but not its threads: start a new one there."""
    global _POOL
    _POOL = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool_after_fork)


#: Threads the band-pass may use (one axis each); None: up to 3, as many as there are cores.
_THREADS: int | None = None


def set_filter_threads(n: int | None) -> None:
    """Threads the band-pass uses for a long segment: ``1`` filters in the calling thread (a
    worker process of a batch, whose cores are shared with the other workers); None restores the
    default (one per axis, up to the number of cores)."""
    global _POOL, _THREADS
    if _POOL is not None:
        _POOL.shutdown(wait=True)
    _POOL, _THREADS = None, n


def _pool() -> ThreadPoolExecutor:
    global _POOL
    if _POOL is None:
        _POOL = ThreadPoolExecutor(max_workers=min(3, _THREADS or os.cpu_count() or 1),
                                   thread_name_prefix="legtwitch-filter")
    return _POOL
