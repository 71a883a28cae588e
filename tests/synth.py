"""Small hand-built signals with exactly known events, for detector tests.

Independent of ``detector.sim.night`` on purpose: these tests check the detector against the
physics (a rotation of gravity, a damped transient), not against our own generator.
"""

from __future__ import annotations

import numpy as np
from scipy import signal


def rest(duration_s: float, fs_hz: float = 100.0, seed: int = 0, noise_g: float = 0.0015,
         heart_g: float = 0.003, bias_g: tuple[float, float, float] = (0.03, -0.02, 0.01)
         ) -> np.ndarray:
    """Still leg: gravity on z plus bias, white noise and a 1.1-Hz heartbeat ripple on x."""
    rng = np.random.default_rng(seed)
    n = int(round(duration_s * fs_hz))
    t = np.arange(n) / fs_hz
    acc = np.zeros((n, 3))
    acc[:, 2] = 1.0
    acc += np.asarray(bias_g) + rng.normal(0.0, noise_g, (n, 3))
    acc[:, 0] += heart_g * np.sin(2 * np.pi * 1.1 * t)
    return acc


def rotate(acc: np.ndarray, fs_hz: float, t0_s: float, duration_s: float, angle_deg: float,
           axes: tuple[int, int] = (0, 2)) -> None:
    """A leg movement: the gravity vector swings by ``angle_deg`` (sin^2 profile) and returns."""
    i0 = int(round(t0_s * fs_hz))
    m = int(round(duration_s * fs_hz))
    th = np.radians(angle_deg) * np.sin(np.pi * np.arange(m) / m) ** 2
    a, b = axes
    u, v = acc[i0:i0 + m, a].copy(), acc[i0:i0 + m, b].copy()
    acc[i0:i0 + m, a] = u * np.cos(th) - v * np.sin(th)
    acc[i0:i0 + m, b] = u * np.sin(th) + v * np.cos(th)


def twitch(acc: np.ndarray, fs_hz: float, t0_s: float, amplitude_g: float = 0.15,
           freq_hz: float = 15.0, decay_s: float = 0.05, axis: int = 1) -> None:
    """A twitch: a sharp, quickly damped oscillation."""
    i0 = int(round(t0_s * fs_hz))
    m = int(round(0.4 * fs_hz))
    tt = np.arange(m) / fs_hz
    acc[i0:i0 + m, axis] += amplitude_g * np.exp(-tt / decay_s) * np.sin(2 * np.pi * freq_hz * tt)


def turn_over(acc: np.ndarray, fs_hz: float, t0_s: float, duration_s: float, seed: int = 1
              ) -> None:
    """Turning over: a 90-degree roll over ``duration_s`` with large shaking; the new posture
    stays."""
    rng = np.random.default_rng(seed)
    i0 = int(round(t0_s * fs_hz))
    m = int(round(duration_s * fs_hz))
    rest_n = acc.shape[0] - i0
    th = np.concatenate([np.linspace(0, np.pi / 2, m), np.full(rest_n - m, np.pi / 2)])
    u, v = acc[i0:, 1].copy(), acc[i0:, 2].copy()
    acc[i0:, 1] = u * np.cos(th) - v * np.sin(th)
    acc[i0:, 2] = u * np.sin(th) + v * np.cos(th)
    acc[i0:i0 + m] += rng.normal(0, 0.05, (m, 3))


def vibration(acc: np.ndarray, fs_hz: float, t0_s: float, duration_s: float, rms_g: float = 0.007,
              seed: int = 2) -> None:
    """A bed partner moving: broadband 2-20 Hz shaking of the mattress, ``rms_g`` per axis."""
    rng = np.random.default_rng(seed)
    i0 = int(round(t0_s * fs_hz))
    m = int(round(duration_s * fs_hz))
    sos = signal.butter(4, [2, min(20, 0.45 * fs_hz)], "bandpass", fs=fs_hz, output="sos")
    v = signal.sosfilt(sos, rng.normal(0, 1, (m + 200, 3)), axis=0)[200:]
    acc[i0:i0 + m] += v / v.std(axis=0) * rms_g


def quantise(acc: np.ndarray, lsb_g: float = 8.0 / 32768) -> np.ndarray:
    """int16 quantisation of a +-8 g sensor."""
    return np.round(acc / lsb_g) * lsb_g


def shift(acc: np.ndarray, fs_hz: float, t0_s: float, duration_s: float, angle_deg: float,
          axes: tuple[int, int] = (0, 2)) -> None:
    """The leg shifts to a new resting posture: gravity turns by ``angle_deg`` (minimum-jerk
    profile over ``duration_s``) and stays turned for the rest of the signal."""
    i0 = int(round(t0_s * fs_hz))
    m = int(round(duration_s * fs_hz))
    tau = np.clip(np.arange(acc.shape[0] - i0) / m, 0.0, 1.0)
    th = np.radians(angle_deg) * (10 * tau**3 - 15 * tau**4 + 6 * tau**5)
    a, b = axes
    u, v = acc[i0:, a].copy(), acc[i0:, b].copy()
    acc[i0:, a] = u * np.cos(th) - v * np.sin(th)
    acc[i0:, b] = u * np.sin(th) + v * np.cos(th)


def ring(acc: np.ndarray, fs_hz: float, t0_s: float, duration_s: float, freq_hz: float = 6.0,
         amplitude_g: float = 0.04, axis: int = 0) -> None:
    """A loose strap ringing on: a ``freq_hz`` oscillation decaying to 5 % over ``duration_s``."""
    i0 = int(round(t0_s * fs_hz))
    m = int(round(duration_s * fs_hz))
    tt = np.arange(m) / fs_hz
    acc[i0:i0 + m, axis] += (amplitude_g * np.exp(-3.0 * tt / duration_s)
                             * np.sin(2 * np.pi * freq_hz * tt))


def shake(acc: np.ndarray, fs_hz: float, t0_s: float, duration_s: float, peak_g: float,
          tilt_deg: float = 0.3, seed: int = 3) -> None:
    """A partner turning over on a spring mattress: 2-20 Hz shaking swelling and fading
    (sin^2) to ``peak_g``, and the mattress tilting the leg by ``tilt_deg`` and back."""
    rng = np.random.default_rng(seed)
    i0 = int(round(t0_s * fs_hz))
    m = int(round(duration_s * fs_hz))
    sos = signal.butter(4, [2, min(20, 0.45 * fs_hz)], "bandpass", fs=fs_hz, output="sos")
    v = signal.sosfilt(sos, rng.normal(0, 1, (m + 200, 3)), axis=0)[200:]
    v *= (np.sin(np.pi * np.arange(m) / m) ** 2)[:, None]
    v *= peak_g / np.linalg.norm(v, axis=1).max()
    acc[i0:i0 + m] += v
    rotate(acc, fs_hz, t0_s, duration_s, tilt_deg, axes=(1, 2))
