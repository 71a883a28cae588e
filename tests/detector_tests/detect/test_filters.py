"""The band-pass step equals scipy's zero-phase filter and keeps what it should."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal

from detector.detect.filters import bandpass, design_bandpass


@pytest.mark.parametrize("n", [40, 1_000, 250_000])
@pytest.mark.parametrize("low", [0.0, 0.3])
def test_bandpass_equals_scipy_sosfiltfilt(n, low):
    x = np.random.default_rng(n).normal(0, 0.05, (n, 3)).astype(np.float32) + [0, 0, 1]
    sos, _ = design_bandpass(100.0, low, 20.0, 4)
    expected = signal.sosfiltfilt(sos, x.astype(np.float64), axis=0)
    got = bandpass(x, 100.0, low, 20.0, 4)
    assert got.shape == x.shape and got.dtype == np.float32
    np.testing.assert_allclose(got, expected, atol=2e-5)


def test_high_corner_is_clamped_below_nyquist_for_slow_sensors():
    _, used = design_bandpass(25.0, 0.0, 20.0, 4)
    assert used["highcut_hz"] == pytest.approx(0.45 * 25.0)


def test_zero_phase_keeps_a_movement_in_place():
    fs = 100.0
    t = np.arange(2000) / fs
    bump = np.exp(-((t - 10) ** 2) / (2 * 0.3 ** 2))
    x = np.stack([bump, 0 * t, 1 + 0 * t], axis=1)
    y = bandpass(x, fs, 0.0, 20.0, 4)
    assert np.argmax(y[:, 0]) == np.argmax(bump)
    np.testing.assert_allclose(y[:, 2], 1.0, atol=1e-4)  # gravity passes a low-pass unchanged


def test_one_filter_thread_gives_the_same_result_as_several():
    # A batch worker filters in its own thread (the pool's workers share the cores): the signal
    # must not depend on it.
    from detector.detect.filters import set_filter_threads

    rng = np.random.default_rng(3)
    x = rng.normal(0.0, 0.05, (120_000, 3)).astype(np.float32)
    several = bandpass(x, 100.0, 0.0, 20.0)
    try:
        set_filter_threads(1)
        one = bandpass(x, 100.0, 0.0, 20.0)
    finally:
        set_filter_threads(None)
    assert np.array_equal(one, several)
