"""Signal synthesis: geometry of a leg and its sensor, and the acceleration of each kind of event
(leg movements, twitches, turn-overs, settling steps, a ringing strap, a partner's shaking),
heartbeat and drift."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import signal

from detector.sim.scenarios import (DRIFT_PER_MIN_G, HEART_RATE_BPM, HEEL_STRIKE_G, LEVER_ARM_M,
                                    LM_AMPLITUDE_DEG, LM_ONSET_JERK_G, LM_ONSET_JERK_SHARE,
                                    LM_PEAK_ANGULAR_ACCEL_RAD_S2, LM_PEAK_VELOCITY_DEG_S,
                                    SHIN_SWING_DEG, STANDARD_GRAVITY_M_S2, STRIDE_HZ, TURN_PEAK_G,
                                    TWITCH_BURST_S, TWITCH_FREQ_HZ, TWITCH_JERK_DEG, TWITCH_PEAK_G,
                                    TWITCH_Q, VIBRATION_BAND_HZ, WARMUP_G, WARMUP_TAU_S, Range)

__all__ = ["loguniform", "unit", "random_rotation", "cross", "rotate", "angle_deg", "slerp",
           "min_jerk", "band_noise", "draw_posture", "synth_lm", "synth_twitch", "synth_sustained",
           "synth_step", "strap_ring", "add_shaking", "heartbeat", "drift"]


def loguniform(rng: np.random.Generator, lo: float, hi: float, size: Any = None) -> Any:
    return np.exp(rng.uniform(np.log(lo), np.log(hi), size))


def unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def random_rotation(rng: np.random.Generator) -> np.ndarray:
    """A uniformly random rotation matrix (from a random unit quaternion)."""
    w, x, y, z = unit(rng.standard_normal(4))
    return np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                     [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                     [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]])


def cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cross product of 3-vectors (``np.cross`` without its per-call overhead)."""
    return np.array([a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2],
                     a[0] * b[1] - a[1] * b[0]])


def rotate(v: np.ndarray, axis: np.ndarray, angle_rad: np.ndarray) -> np.ndarray:
    """Rotate the vector ``v`` about the unit ``axis`` by each angle (Rodrigues): (m, 3)."""
    c = np.cos(angle_rad)[:, None]
    s = np.sin(angle_rad)[:, None]
    return v * c + cross(axis, v) * s + axis * (axis @ v) * (1.0 - c)


def angle_deg(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Angle between rows of ``a`` and the vector(s) ``b`` in degrees."""
    cos = np.sum(unit(a) * unit(b), axis=-1)
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def slerp(a: np.ndarray, b: np.ndarray, s: np.ndarray) -> np.ndarray:
    """Great-circle interpolation between unit vectors ``a`` and ``b`` at fractions ``s``."""
    omega = float(np.arccos(np.clip(a @ b, -1.0, 1.0)))
    if omega < 1e-6:
        return np.repeat(a[None, :], len(s), axis=0)
    return (np.sin((1 - s) * omega)[:, None] * a + np.sin(s * omega)[:, None] * b) / np.sin(omega)


def min_jerk(tau: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Minimum-jerk step 0 -> 1 on ``tau`` in [0, 1] and its first two derivatives (per tau)."""
    t = np.clip(tau, 0.0, 1.0)
    return (10 * t**3 - 15 * t**4 + 6 * t**5, 30 * t**2 - 60 * t**3 + 30 * t**4,
            60 * t - 180 * t**2 + 120 * t**3)


def _lm_profile(t_s: np.ndarray, rise_s: float, hold_s: float, fall_s: float
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Normalised joint angle (0 -> 1 -> 0) of an LM and its derivatives (1/s, 1/s^2)."""
    p, dp, ddp = (np.zeros_like(t_s) for _ in range(3))
    up = (t_s >= 0) & (t_s < rise_s)
    s, ds, dds = min_jerk(t_s[up] / rise_s)
    p[up], dp[up], ddp[up] = s, ds / rise_s, dds / rise_s**2
    p[(t_s >= rise_s) & (t_s < rise_s + hold_s)] = 1.0
    down = (t_s >= rise_s + hold_s) & (t_s <= rise_s + hold_s + fall_s)
    s, ds, dds = min_jerk((t_s[down] - rise_s - hold_s) / fall_s)
    p[down], dp[down], ddp[down] = 1.0 - s, -ds / fall_s, -dds / fall_s**2
    return p, dp, ddp


def _rigid_rotation(g: np.ndarray, axis: np.ndarray, lever: np.ndarray, theta: np.ndarray,
                    dtheta: np.ndarray, ddtheta: np.ndarray) -> np.ndarray:
    """What the accelerometer reads (g) while the limb turns by ``theta`` about a hinge.

    Parameters
    ----------
    g : ndarray (3,)
        Resting reading (gravity, pointing up) in the sensor frame, g.
    axis : ndarray (3,)
        Unit hinge axis in the sensor frame.
    lever : ndarray (3,)
        Joint-to-sensor vector in the sensor frame, m.
    theta, dtheta, ddtheta : ndarray (m,)
        Joint angle (rad), angular velocity (rad/s) and acceleration (rad/s^2).
    """
    grav = rotate(g, axis, -theta)  # the body turns by +theta: gravity turns by -theta in it
    tangential = ddtheta[:, None] * cross(axis, lever)
    centripetal = (dtheta**2)[:, None] * (axis * (axis @ lever) - lever)
    return grav + (tangential + centripetal) / STANDARD_GRAVITY_M_S2


def band_noise(rng: np.random.Generator, m: int, fs_hz: float, lo_hz: float | None,
                hi_hz: float | None) -> np.ndarray:
    """(m, 3) Gaussian noise band-limited to ``lo_hz``-``hi_hz`` (either may be None)."""
    x = rng.standard_normal((m, 3))
    nyq = 0.5 * fs_hz
    hi = None if hi_hz is None else min(hi_hz, 0.9 * nyq)
    if lo_hz is not None and hi is not None:
        sos = signal.butter(2, [lo_hz, hi], "bandpass", fs=fs_hz, output="sos")
    elif lo_hz is not None:
        sos = signal.butter(2, lo_hz, "highpass", fs=fs_hz, output="sos")
    else:
        sos = signal.butter(2, hi, "lowpass", fs=fs_hz, output="sos")
    y = signal.sosfilt(sos, x, axis=0)
    return y / (y.std(axis=0, keepdims=True) + 1e-12)


def _transient(rng: np.random.Generator, fs_hz: float, burst_s: float, freq_hz: float, q: float,
               weights: tuple[float, float, float] = (1.0, 0.5, 0.3),
               basis: np.ndarray | None = None) -> np.ndarray:
    """Damped resonance driven by an EMG-like burst: (m, 3), peak magnitude 1.

    The burst (Hann-windowed noise of ``burst_s``) excites a resonator at ``freq_hz`` (at most
    0.4 fs) with quality ``q`` (amplitude decay time ``q / (pi freq_hz)``); the output runs on for
    five decay times after the burst. Its three components, scaled by ``weights``, point along
    the rows of ``basis`` (default: a random orthonormal basis).
    """
    f0 = min(freq_hz, 0.4 * fs_hz)
    nb = max(int(round(burst_s * fs_hz)), 3)
    tail = int(np.ceil(5 * q / (np.pi * f0) * fs_hz))
    drive = np.zeros((nb + tail, 3))
    drive[:nb] = rng.standard_normal((nb, 3)) * np.hanning(nb + 2)[1:-1, None]
    b, a = signal.iirpeak(f0, q, fs=fs_hz)
    y = signal.lfilter(b, a, drive, axis=0) * np.asarray(weights)
    y = y @ (random_rotation(rng).T if basis is None else basis)
    peak = np.linalg.norm(y, axis=1).max()
    return y / (peak + 1e-12)


def draw_posture(rng: np.random.Generator) -> np.ndarray:
    """Resting reading (up direction) in the shin frame: x along the shin towards the knee,
    y medio-lateral, z anterior. Supine (50 %), either side (20 % each) or prone (10 %)."""
    roll = np.radians([0.0, 90.0, -90.0, 180.0][rng.choice(4, p=[0.5, 0.2, 0.2, 0.1])]
                      + rng.normal(0.0, 20.0))
    pitch = np.radians(np.clip(rng.normal(0.0, 10.0), -25.0, 25.0))
    return np.array([np.sin(pitch), np.cos(pitch) * np.sin(roll), np.cos(pitch) * np.cos(roll)])


def _draw_joint_axis(rng: np.random.Generator) -> np.ndarray:
    """Hinge axis of an LM in the shin frame: mostly medio-lateral (flexion), mixed with some
    rotation and abduction; random sign (direction of the movement)."""
    a = np.radians(rng.uniform(-45.0, 45.0))
    b = np.radians(rng.uniform(-15.0, 15.0))
    u = np.array([np.sin(b), np.cos(b) * np.cos(a), np.cos(b) * np.sin(a)])
    return u * rng.choice([-1.0, 1.0])


def synth_lm(rng: np.random.Generator, ev: dict, g: np.ndarray, mount: np.ndarray,
              t_s: np.ndarray, fs_hz: float) -> np.ndarray:
    """Acceleration (g) during an LM on the samples ``t_s`` (s from the LM start)."""
    dur = ev["end"] - ev["start"]
    hold = 0.0 if rng.random() < 0.4 else dur * rng.uniform(0.1, 0.6)
    moving = dur - hold
    rise = moving * rng.uniform(0.3, 0.6)
    fall = moving - rise
    # min-jerk over T: peak velocity 1.875 A / T, peak acceleration 5.77 A / T^2
    v_max = loguniform(rng, *LM_PEAK_VELOCITY_DEG_S)
    a_max = loguniform(rng, *LM_PEAK_ANGULAR_ACCEL_RAD_S2)
    t_min = min(rise, fall)
    cap_deg = min(v_max * t_min / 1.875, np.degrees(a_max * t_min**2 / 5.77))
    amp_deg = float(np.clip(min(loguniform(rng, *LM_AMPLITUDE_DEG), cap_deg), 2.0,
                            LM_AMPLITUDE_DEG[1]))
    amp = np.radians(amp_deg)
    p, dp, ddp = _lm_profile(t_s, rise, hold, fall)
    # irregularity: up to 4.5 % of the amplitude, a few slow sinusoids under a sin^2 window
    w = np.pi / dur
    win, dwin, ddwin = (np.sin(w * t_s) ** 2, w * np.sin(2 * w * t_s),
                        2 * w * w * np.cos(2 * w * t_s))
    wob, dwob, ddwob = (np.zeros_like(t_s) for _ in range(3))
    for _ in range(3):
        om, ph = 2 * np.pi * rng.uniform(0.3, 1.5), rng.uniform(0, 2 * np.pi)
        a_k = rng.uniform(-0.015, 0.015) * amp
        wob += a_k * np.sin(om * t_s + ph)
        dwob += a_k * om * np.cos(om * t_s + ph)
        ddwob -= a_k * om * om * np.sin(om * t_s + ph)
    theta = amp * p + win * wob
    dtheta = amp * dp + dwin * wob + win * dwob
    ddtheta = amp * ddp + ddwin * wob + 2 * dwin * dwob + win * ddwob
    inside = (t_s >= 0) & (t_s <= dur)
    theta, dtheta, ddtheta = theta * inside, dtheta * inside, ddtheta * inside
    axis = mount @ _draw_joint_axis(rng)
    lever = mount @ np.array([-rng.uniform(*LEVER_ARM_M), 0.0, 0.0])
    out = _rigid_rotation(g, axis, lever, theta, dtheta, ddtheta) - g
    ev["tilt_deg"] = float(angle_deg(rotate(g, axis, -theta), g).max())
    if rng.random() < LM_ONSET_JERK_SHARE:
        jerk = _transient(rng, fs_hz, rng.uniform(*TWITCH_BURST_S), rng.uniform(*TWITCH_FREQ_HZ),
                          rng.uniform(*TWITCH_Q)) * loguniform(rng, *LM_ONSET_JERK_G)
        i0 = int(np.searchsorted(t_s, 0.0))
        m = min(len(jerk), len(t_s) - i0)
        out[i0:i0 + m] += jerk[:m]
    ev["amplitude_deg"] = float(np.degrees(np.abs(theta).max()))  # irregularity included
    return out


def synth_twitch(rng: np.random.Generator, ev: dict, g: np.ndarray, mount: np.ndarray,
                  t_s: np.ndarray, fs_hz: float) -> np.ndarray:
    """Acceleration (g) of a twitch on ``t_s`` (s from the burst start): transient + leg jerk."""
    burst = ev["end"] - ev["start"]
    i0 = int(np.searchsorted(t_s, 0.0))
    tr = _transient(rng, fs_hz, burst, rng.uniform(*TWITCH_FREQ_HZ), rng.uniform(*TWITCH_Q))
    out = np.zeros((len(t_s), 3))
    m = min(len(tr), len(t_s) - i0)
    out[i0:i0 + m] = tr[:m] * loguniform(rng, *TWITCH_PEAK_G)
    jerk_deg = float(rng.uniform(*TWITCH_JERK_DEG))
    p, _, _ = _lm_profile(t_s, burst, 0.0, rng.uniform(0.2, 0.4))
    axis = mount @ _draw_joint_axis(rng)
    tilted = rotate(g, axis, -np.radians(jerk_deg) * p)
    out += tilted - g
    ev["tilt_deg"] = float(angle_deg(tilted, g).max())
    ev["amplitude_deg"] = jerk_deg
    return out


def synth_sustained(rng: np.random.Generator, ev: dict, g_old: np.ndarray, g_new: np.ndarray,
                     mount: np.ndarray, t_s: np.ndarray, fs_hz: float) -> np.ndarray:
    """Reading (g, gravity included) during a posture change on ``t_s`` (s from its start)."""
    dur = ev["end"] - ev["start"]
    tau = np.clip(t_s / dur, 0.0, 1.0)
    m = len(t_s)
    path = np.repeat(g_old[None, :], m, axis=0)
    envelope = np.zeros(m)
    if ev["origin"] == "getup":
        g_stand = mount @ unit(np.array([1.0, *rng.normal(0.0, 0.1, 2)]))
        t_up, t_down = rng.uniform(3.0, 6.0), rng.uniform(3.0, 6.0)
        walk0, walk1 = t_up + rng.uniform(1.0, 3.0), dur - t_down - rng.uniform(1.0, 3.0)
        legs = [(0.0, t_up, g_old, g_stand), (dur - t_down, dur, g_stand, g_new)]
        for a, b, ga, gb in legs:
            sel = (t_s >= a) & (t_s <= b)
            s, _, _ = min_jerk((t_s[sel] - a) / (b - a))
            path[sel] = slerp(ga, gb, s)
            envelope[sel] = np.sin(np.pi * (t_s[sel] - a) / (b - a)) ** 2
        path[(t_s > t_up) & (t_s < dur - t_down)] = g_stand
        # walking: the shin swings about the knee's flexion axis, a heel strike each stride
        sel = (t_s >= walk0) & (t_s <= walk1)
        tw = t_s[sel] - walk0
        f = rng.uniform(*STRIDE_HZ)
        taper = np.clip(np.minimum(tw, walk1 - walk0 - tw) / 1.0, 0.0, 1.0)
        theta = np.radians(rng.uniform(*SHIN_SWING_DEG)) * taper * np.sin(2 * np.pi * f * tw)
        dt = 1.0 / fs_hz
        dtheta = np.gradient(theta, dt)
        ddtheta = np.gradient(dtheta, dt)
        axis = mount @ np.array([0.0, 1.0, 0.0])
        lever = mount @ np.array([-0.4, 0.0, 0.0])
        path[sel] = _rigid_rotation(g_stand, axis, lever, theta, dtheta, ddtheta)
        basis = mount.T  # rows: the shin's axis, medio-lateral and anterior, in the sensor frame
        for t_hit in np.arange(0.5 / f, walk1 - walk0 - 0.5, 1.0 / f):
            k = int(np.searchsorted(t_s, walk0 + t_hit))
            hit = _transient(rng, fs_hz, 0.03, 25.0, 1.5, (1.0, 0.3, 0.3), basis)
            hit *= rng.uniform(*HEEL_STRIKE_G)
            n = min(len(hit), m - k)
            path[k:k + n] += hit[:n]
        kin_peak = rng.uniform(0.1, 0.3)
    else:
        n_moves = int(rng.integers(2, 5))
        waypoints = [g_old]
        for j in range(1, n_moves):
            mid = slerp(g_old, g_new, np.array([j / n_moves]))[0]
            kick = unit(cross(mid, rng.standard_normal(3)))
            waypoints.append(rotate(mid, kick, np.radians([rng.uniform(10.0, 40.0)]))[0])
        waypoints.append(g_new)
        cuts = np.concatenate(([0.0], np.cumsum(rng.dirichlet(np.full(n_moves, 3.0))))) * dur
        for j in range(n_moves):
            a, b = cuts[j], cuts[j + 1]
            length = (b - a) * rng.uniform(0.6, 1.0)
            a = a if j == 0 else (b - length if j == n_moves - 1 else
                                  a + rng.uniform(0, (b - a) - length))
            b = a + length if j < n_moves - 1 else b
            sel = (t_s >= a) & (t_s <= b)
            s, _, _ = min_jerk((t_s[sel] - a) / (b - a))
            path[sel] = slerp(waypoints[j], waypoints[j + 1], s)
            path[t_s > b] = waypoints[j + 1]
            envelope[sel] = np.maximum(envelope[sel], np.sin(np.pi * (t_s[sel] - a) / (b - a)) ** 2)
        wobble = band_noise(rng, m, fs_hz, None, 1.0) * rng.uniform(0.05, 0.15)
        path = unit(path + wobble * (np.sin(np.pi * tau) ** 2)[:, None])
        kin_peak = rng.uniform(*TURN_PEAK_G)
    kin = band_noise(rng, m, fs_hz, 0.5, 15.0) * envelope[:, None]
    kin *= kin_peak / (np.linalg.norm(kin, axis=1).max() + 1e-12)
    ev["amplitude_deg"] = float(angle_deg(g_old, g_new))
    return path + kin


def synth_step(rng: np.random.Generator, ev: dict, g_old: np.ndarray, g_new: np.ndarray,
                t_s: np.ndarray, fs_hz: float) -> np.ndarray:
    """Reading (g, gravity included) while the leg shifts from one resting posture to the next
    (a minimum-jerk turn with a little muscle noise)."""
    dur = ev["end"] - ev["start"]
    tau = np.clip(t_s / dur, 0.0, 1.0)
    path = slerp(g_old, g_new, min_jerk(tau)[0])
    kin = band_noise(rng, len(t_s), fs_hz, 0.5, 15.0) * (np.sin(np.pi * tau) ** 2)[:, None]
    kin *= rng.uniform(0.005, 0.02) / (np.linalg.norm(kin, axis=1).max() + 1e-12)
    ev["amplitude_deg"] = ev["tilt_deg"] = float(angle_deg(g_old, g_new))
    return path + kin


def strap_ring(rng: np.random.Generator, ring: tuple[float, float, float], t_s: np.ndarray
                ) -> np.ndarray:
    """A loose strap ringing on after a twitch: a decaying ``freq`` Hz oscillation of the sensor
    (peak ``peak_g``) for ``length_s`` from ``t_s`` = 0 (the end of the burst)."""
    freq, length_s, peak_g = ring
    on = (t_s >= 0) & (t_s <= length_s)
    decay = np.exp(-3.0 * np.clip(t_s, 0, None) / length_s)   # down to 5 % at the end
    direction = unit(rng.standard_normal(3))
    wave = np.sin(2 * np.pi * freq * t_s + rng.uniform(0, 2 * np.pi)) * decay * on * peak_g
    return wave[:, None] * direction


def add_shaking(rng: np.random.Generator, acc: np.ndarray, t_s: np.ndarray, fs_hz: float, s: float,
           d: float, peak_g: Range, tilt_deg: Range) -> float | None:
    """Add bed-partner vibration (2-20 Hz shaking, mostly vertical, and a slight tilt of the
    mattress) from ``s`` for ``d`` seconds to ``acc`` in place; returns its peak (g), or None
    when too short to place."""
    n = len(acc)
    i0, i1 = int(np.ceil(s * fs_hz)), min(int(np.floor((s + d) * fs_hz)) + 1, n)
    m = i1 - i0
    if m < 4:
        return None
    tt = t_s[i0:i1] - s
    up = unit(acc[i0])
    horiz = unit(cross(up, rng.standard_normal(3)))
    other = cross(up, horiz)
    noise = band_noise(rng, m, fs_hz, *VIBRATION_BAND_HZ)
    env = np.sin(np.pi * tt / d) ** 2 * (0.6 + 0.4 * np.sin(2 * np.pi * tt
                                                            / rng.uniform(1.0, 4.0)) ** 2)
    shake = (noise[:, :1] * up + 0.4 * noise[:, 1:2] * horiz + 0.4 * noise[:, 2:] * other)
    shake *= env[:, None]
    peak = float(rng.uniform(*peak_g))
    shake *= peak / (np.linalg.norm(shake, axis=1).max() + 1e-12)
    tilt = np.radians(rng.uniform(*tilt_deg)) * np.sin(np.pi * tt / d) ** 2
    acc[i0:i1] += shake + tilt[:, None] * cross(horiz, up)
    return peak


def heartbeat(rng: np.random.Generator, t_s: np.ndarray, fs_hz: float) -> np.ndarray:
    """Ballistocardiographic ripple (n,) of peak 1, float32 (rate varying slowly and with
    breathing)."""
    base = rng.uniform(*HEART_RATE_BPM) / 60.0
    t_c = np.arange(0.0, t_s[-1] + 0.2, 0.1)  # the rate changes slowly: integrate at 10 Hz
    slow = 0.08 * np.sin(2 * np.pi * t_c / rng.uniform(1200, 5400) + rng.uniform(0, 6.3))
    rsa = 0.03 * np.sin(2 * np.pi * t_c * rng.uniform(0.2, 0.3))
    phase_c = 2 * np.pi * np.concatenate(([0.0], np.cumsum(base * (1.0 + slow + rsa)[:-1]))) * 0.1
    phase = np.mod(np.interp(t_s, t_c, phase_c), 2 * np.pi).astype(np.float32)
    s1, c1 = np.sin(phase), np.cos(phase)  # float32 is plenty for a ripple of a few mg
    s2, c2 = 2 * s1 * c1, c1 * c1 - s1 * s1
    s3, c3 = s1 * (3 - 4 * s1 * s1), c1 * (4 * c1 * c1 - 3)
    # the pulse shape sin(p) + 0.45 sin(2p + 1.0) + 0.2 sin(3p + 2.1), scaled to peak 1
    wave = (s1 + 0.45 * (s2 * math.cos(1.0) + c2 * math.sin(1.0))
            + 0.2 * (s3 * math.cos(2.1) + c3 * math.sin(2.1)))
    grid = np.linspace(0, 2 * np.pi, 721)
    peak = np.abs(np.sin(grid) + 0.45 * np.sin(2 * grid + 1.0) + 0.2 * np.sin(3 * grid + 2.1)).max()
    return wave * np.float32(1.0 / peak)


def drift(rng: np.random.Generator, t_s: np.ndarray) -> np.ndarray:
    """Slow bias drift (n, 3), g: warm-up to skin temperature plus a smooth random walk."""
    knots = np.arange(0.0, t_s[-1] + 120.0, 60.0)
    walk = np.cumsum(rng.normal(0.0, DRIFT_PER_MIN_G, (len(knots), 3)), axis=0)
    warm = rng.uniform(-WARMUP_G, WARMUP_G, 3)
    fine = np.arange(0.0, t_s[-1] + 20.0, 10.0)  # both parts are smooth on a 10-s grid
    out = np.empty((len(t_s), 3))
    rise = 1.0 - np.exp(-fine / WARMUP_TAU_S)
    for k in range(3):
        out[:, k] = np.interp(t_s, fine, np.interp(fine, knots, walk[:, k]) + warm[k] * rise)
    return out
