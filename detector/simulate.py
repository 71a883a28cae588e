"""Synthetic nights with known events: the ground truth for tests, benchmarks and the sample night.

:func:`simulate_night` writes what a shin-worn 3-axis accelerometer would record during a night
of one of the :data:`SCENARIOS`, together with the events that really happened in it.

The physics (numbers in the module constants below, each with its unit):

* **Rest.** The sensor measures gravity (1 g, pointing up) rotated into its own frame by the
  posture of the shin and the way the sensor is strapped on, times a per-axis gain error, plus a
  per-axis bias of tens of mg that drifts slowly (warm-up to skin temperature and a random walk),
  white MEMS noise of 1-2 mg RMS and a ballistocardiographic heartbeat ripple of a few mg near
  1 Hz whose rate varies, in a fixed direction.
* **Leg movement (LM, 0.5-10 s, most 1-5 s).** A rotation of the shin about a joint axis by a
  few to tens of degrees with a minimum-jerk rise, an optional hold and a minimum-jerk return,
  with a little irregularity. The sensor, ``r`` = 0.30-0.40 m from the joint, sees gravity rotated
  by the joint angle plus the tangential (``r x alpha``) and centripetal (``r x omega^2``)
  acceleration computed from the same angle profile. Peak angular velocity (20-90 deg/s) and
  acceleration (2-15 rad/s^2) are limited, so a quick 20-degree movement gives tenths of a g of
  dynamic acceleration and a slow 5-degree one hundredths. The hinge is mostly a flexion axis
  and the sleeper lies supine, on either side or prone, so when the hinge points nearly up the
  gravity direction barely changes (the truth's ``tilt_deg`` says by how much). Some LMs start
  with a small EMG jerk. Truth: the start and end of the angle excursion.
* **Twitch (< 0.5 s).** An EMG burst of 75-250 ms drives a damped 10-20 Hz resonance of the
  soft tissue and strap (a sharp, quickly damped transient of tens to a few hundred mg) and
  tilts the leg by up to 1 degree. Truth: the burst, from its start to its end.
* **Sustained movement (> 10 s).** Turning over (12-40 s) or getting up and walking a few steps
  (30-60 s): large and broadband; the resting orientation afterwards is a new posture.
* **Bed-partner vibration (not an event).** 2-20 Hz shaking of a few to ~10 mg through the
  mattress, mostly vertical, with a slight tilt of the mattress, lasting seconds, a few per hour.
* **Real-world situations** (off unless a scenario sets them, each from its own random
  stream): posture steps while settling (2-3 shifts of 2-6 degrees within about 30 s, true LMs),
  LMs that leave the leg 1-2 degrees from where it was, a partner turning over on a spring
  mattress (60-75 mg shaking) or moving periodically, a loose strap ringing at 4-8 Hz for
  1-1.5 s after a twitch or slipping a few degrees over minutes, and LMs 1-3 s next to a
  turn-over.
* **Sensor.** int16 quantisation (0.244 mg/LSB at +-8 g) or 1-mg steps (Polar-style), clipping
  at the full-scale range, a sample clock off by up to +-50 ppm, timestamp jitter of a few ms,
  and BLE packet loss: blocks of 1-10 s removed a few times per hour, plus now and then a gap of
  minutes.

The truth table holds only what can be seen: events inside or touching a gap are dropped, and
its ``plm`` and ``series`` columns come from scoring it with the WASM 2016 rules
(:func:`detector.plm.score_plm`), not from how it was built.
"""

from __future__ import annotations

import bisect
import gzip
import math
import zlib
from dataclasses import dataclass, field, fields
from pathlib import Path
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import signal

from .recording import mask_runs

__all__ = ["Scenario", "SCENARIOS", "SimulatedNight", "SENSORS", "simulate_night",
           "write_simulation", "truth_path_for"]

#: Standard gravity, m/s^2 (converts r x alpha and r x omega^2 to g).
STANDARD_GRAVITY_M_S2 = 9.80665

# ---- timing of events --------------------------------------------------------------------------
#: Least time between the end of one truth event and the start of the next, in seconds.
MIN_SEPARATION_S = 2.0
#: No event starts in the first or ends in the last this many seconds of a night.
EDGE_S = 5.0
#: Isolated LMs keep this far (s) from the first and last LM of a PLM series, so that they never
#: cut a series with an interval shorter than the 10-s minimum (WASM 2016).
SERIES_CLEARANCE_S = 12.0
#: Least pause between two PLM series (s): longer than the 90-s maximum interval (WASM 2016) so
#: the series stay apart.
MIN_SERIES_PAUSE_S = 100.0

# ---- leg movements -----------------------------------------------------------------------------
#: Duration range of an LM (s): WASM 2016 / AASM 2012 leg movements last 0.5-10 s.
LM_DURATION_S = (0.5, 10.0)
#: Median LM duration (s) and the sigma of its log-normal spread: ~85 % last 1-5 s.
LM_MEDIAN_DURATION_S = 2.0
LM_DURATION_LOG_SIGMA = 0.55
#: Joint rotation of an LM (deg), log-uniform.
LM_AMPLITUDE_DEG = (3.0, 30.0)
#: Peak angular velocity (deg/s) and acceleration (rad/s^2) of an LM, log-uniform; they cap the
#: amplitude of short LMs. At r = 0.35 m, 2-15 rad/s^2 is 0.07-0.5 g of tangential acceleration.
LM_PEAK_VELOCITY_DEG_S = (20.0, 90.0)
LM_PEAK_ANGULAR_ACCEL_RAD_S2 = (2.0, 15.0)
#: Distance from the turning joint to the sensor (m).
LEVER_ARM_M = (0.30, 0.40)
#: Share of LMs that begin with a small EMG jerk, and its peak (g).
LM_ONSET_JERK_SHARE = 0.4
LM_ONSET_JERK_G = (0.01, 0.05)

# ---- twitches ----------------------------------------------------------------------------------
#: EMG burst of a twitch (s): myoclonic jerks last about 75-250 ms.
TWITCH_BURST_S = (0.075, 0.25)
#: Peak of the transient (g), log-uniform.
TWITCH_PEAK_G = (0.03, 0.30)
#: Resonance of soft tissue and strap (Hz) and its quality factor (decay time Q / (pi f)).
TWITCH_FREQ_HZ = (10.0, 20.0)
TWITCH_Q = (1.5, 3.0)
#: Small tilt of the leg that comes with a twitch (deg); its acceleration is the transient.
TWITCH_JERK_DEG = (0.1, 1.0)

# ---- sustained movements -----------------------------------------------------------------------
#: Turning over (s) and getting up for a few steps (s).
TURN_DURATION_S = (12.0, 40.0)
GETUP_DURATION_S = (30.0, 60.0)
#: Share of sustained movements that are getting up.
GETUP_SHARE = 0.25
#: Peak of the broadband acceleration while turning over (g).
TURN_PEAK_G = (0.1, 0.5)
#: Heel strike while walking (g, along the shin), stride rate (Hz) and shin swing (deg).
HEEL_STRIKE_G = (1.0, 3.0)
STRIDE_HZ = (0.8, 1.0)
SHIN_SWING_DEG = (15.0, 25.0)

# ---- bed partner -------------------------------------------------------------------------------
#: Partner vibration: duration (s), peak (g), band (Hz), mattress tilt (deg).
VIBRATION_DURATION_S = (2.0, 20.0)
VIBRATION_PEAK_G = (0.003, 0.012)
VIBRATION_BAND_HZ = (2.0, 20.0)
VIBRATION_TILT_DEG = (0.05, 0.4)

# ---- body and sensor at rest -------------------------------------------------------------------
#: White MEMS noise per axis (g RMS); 1-mg quantisation adds 0.29 mg RMS.
NOISE_RMS_G = (0.0010, 0.0018)
#: Per-axis bias magnitude (g) and gain error (fraction).
BIAS_G = (0.01, 0.05)
GAIN_ERROR = 0.01
#: Warm-up drift to skin temperature: amplitude per axis (g) and time constant (s).
WARMUP_G = 0.015
WARMUP_TAU_S = 600.0
#: Random-walk bias drift: standard deviation of the change per minute (g).
DRIFT_PER_MIN_G = 0.0005
#: Taking the sensor off the leg or putting it on: a handling movement this long (s).
HANDLING_S = 15.0

#: Heartbeat ripple: rate (beats/min) and peak (g).
HEART_RATE_BPM = (50.0, 75.0)
HEART_PEAK_G = (0.001, 0.004)

# ---- data path ---------------------------------------------------------------------------------
#: Sample-clock error (parts per million, uniform +-).
CLOCK_PPM = 50.0
#: Timestamp jitter: standard deviation and bound (s); the bound is also kept under 0.4 / fs so
#: that timestamps stay in order.
JITTER_SD_S = 0.0015
JITTER_MAX_S = 0.004
#: Lost BLE packets: blocks per hour (range) and block length (s), log-uniform.
PACKET_LOSS_PER_H = (2.0, 6.0)
PACKET_LOSS_S = (1.0, 10.0)
#: Long gaps (out of range, phone asleep): expected number per hour and length (s).
LONG_GAP_PER_H = 0.12
LONG_GAP_S = (60.0, 600.0)

#: Sensor models: full-scale range (g) and quantisation step (g).
SENSORS: dict[str, tuple[float, float]] = {
    "int16_8g": (8.0, 8.0 / 32768),   # 16-bit MEMS at +-8 g: 0.244 mg/LSB
    "polar_mg": (8.0, 0.001),         # integer milli-g output (Polar-style)
    "int16_2g": (2.0, 2.0 / 32768),   # +-2 g: heel strikes clip
}
#: Models drawn when ``sensor`` is not given.
DEFAULT_SENSORS = ("int16_8g", "polar_mg")


#: Real-world situations the detector must not be fooled by (issue "Detection where real nights
#: differ from the simulator"). Each is off unless a scenario switches it on, and draws from its
#: own random stream, so the other scenarios' nights stay the same.
#: A posture step while settling: a short shift of the leg (s) by a few degrees, 2-3 of them
#: within about 30 s, with the leg still in between (s).
STEP_DURATION_S = (0.6, 2.5)
STEP_AMPLITUDE_DEG = (2.0, 6.0)
STEP_REST_S = (3.0, 12.0)
#: A partner turning over on a spring mattress: 60-75 mg bursts of broadband shaking, tilting the
#: mattress by a few tenths of a degree.
PARTNER_BURST_S = (2.0, 8.0)
PARTNER_BURST_PEAK_G = (0.060, 0.075)
PARTNER_BURST_TILT_DEG = (0.2, 0.4)
#: A partner's own periodic movements: small bursts every 20-40 s (the mattress carries them).
PARTNER_SERIES_LENGTH = (8, 20)
PARTNER_SERIES_IMI_S = (20.0, 40.0)
PARTNER_SERIES_BURST_S = (0.5, 2.0)
#: A loose strap: after a twitch the sensor rings at 4-8 Hz for 1-1.5 s.
STRAP_RING_HZ = (4.0, 8.0)
STRAP_RING_S = (1.0, 1.5)
STRAP_RING_G = (0.02, 0.06)
#: ... and slips slowly round the leg: a few degrees over minutes (not an event).
STRAP_SLIP_DEG = (2.0, 5.0)
STRAP_SLIP_S = (60.0, 240.0)
#: An LM this close (s, gap between them) to a turn-over.
NEIGHBOUR_GAP_S = (1.0, 3.0)


# ================================================================================================
# Scenarios
# ================================================================================================

Range = tuple[float, float]


@dataclass(frozen=True)
class Scenario:
    """Event rates of one kind of night. Each ``(lo, hi)`` range is drawn uniformly once per night.

    Attributes
    ----------
    name, description : str
    twitch_rate_per_h : (float, float)
        Twitches per hour, placed at random over the whole night.
    lm_rate_per_h : (float, float)
        Isolated leg movements per hour (outside PLM series).
    sustained_rate_per_h : (float, float)
        Posture changes (turning over, getting up) per hour.
    plm_index_per_h : (float, float)
        LMs placed in periodic series per hour of the night after the settling period. The
        truth's PLM index comes from scoring, and is usually a little lower (series cut by a
        posture change or a gap).
    series_length : (int, int)
        LMs per series, log-uniform; the smallest PLM series has 4 (WASM 2016).
    imi_s : (float, float)
        Range of onset-to-onset intervals inside a series (s); kept within the WASM 2016 10-90 s.
    settling_min : (float, float)
        Length of a restless settling period at the start of the night (min); 0 for none.
    settling_lm_rate_per_h, settling_sustained_rate_per_h, settling_twitch_rate_per_h
        Extra LMs (irregular, often less than 10 s apart), posture changes and twitches per
        hour during the settling period.
    vibration_rate_per_h : (float, float)
        Bed-partner vibrations per hour (not events).
    lm_residual_deg : (float, float)
        Every LM leaves the leg this many degrees from where it started (it settles a little
        elsewhere); 0 for none.
    step_clusters_per_h, settling_step_clusters_per_h : (float, float)
        Clusters of 2-3 posture steps (a short shift of a few degrees, the leg still in between,
        all within about 30 s) per hour of the night after (during) the settling period. Each
        step is a true LM (origin ``step``).
    partner_burst_rate_per_h : (float, float)
        A restless partner turning over: 60-75 mg mattress shaking bursts per hour (not events).
    partner_series_per_h : (float, float)
        Series of a partner's periodic movements (small bursts every 20-40 s) per hour.
    strap_ring_share : (float, float)
        Share of twitches after which a loose strap rings at 4-8 Hz for 1-1.5 s.
    strap_slip_per_h : (float, float)
        Slow slips of the strap (2-5 degrees over 1-4 min, not events) per hour.
    turn_neighbour_share : (float, float)
        Share of turn-overs and getting-ups with an LM 1-3 s before or after them.
    """

    name: str
    description: str
    twitch_rate_per_h: Range = (5.0, 15.0)
    lm_rate_per_h: Range = (3.0, 8.0)
    sustained_rate_per_h: Range = (1.0, 3.0)
    plm_index_per_h: Range = (0.0, 0.0)
    series_length: tuple[int, int] = (4, 40)
    imi_s: Range = (12.0, 60.0)
    settling_min: Range = (0.0, 0.0)
    settling_lm_rate_per_h: Range = (0.0, 0.0)
    settling_sustained_rate_per_h: Range = (0.0, 0.0)
    settling_twitch_rate_per_h: Range = (0.0, 0.0)
    vibration_rate_per_h: Range = (1.0, 4.0)
    lm_residual_deg: Range = (0.0, 0.0)
    step_clusters_per_h: Range = (0.0, 0.0)
    settling_step_clusters_per_h: Range = (0.0, 0.0)
    partner_burst_rate_per_h: Range = (0.0, 0.0)
    partner_series_per_h: Range = (0.0, 0.0)
    strap_ring_share: Range = (0.0, 0.0)
    strap_slip_per_h: Range = (0.0, 0.0)
    turn_neighbour_share: Range = (0.0, 0.0)

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, tuple):
                lo, hi = value
                if not (0 <= lo <= hi):
                    raise ValueError(f"scenario {self.name!r}: {f.name}={value!r}; expected "
                                     "0 <= lo <= hi")
        if self.series_length[0] < 4:
            raise ValueError(f"scenario {self.name!r}: series_length must start at >= 4 LMs")
        if self.imi_s[0] < 10.0 or self.imi_s[1] > 90.0:
            raise ValueError(f"scenario {self.name!r}: imi_s must lie within 10-90 s "
                             "(WASM 2016 PLM interval)")


SCENARIOS: dict[str, Scenario] = {s.name: s for s in (
    Scenario(
        "healthy",
        "A quiet night: a few isolated leg movements and twitches, a few posture changes, "
        "no periodic series.",
        twitch_rate_per_h=(5.0, 15.0), lm_rate_per_h=(3.0, 8.0), sustained_rate_per_h=(1.0, 3.0)),
    Scenario(
        "plmd",
        "Periodic limb movements: series of 4-40 LMs 12-60 s apart (with jitter) making a PLM "
        "index of about 30-60/h, plus isolated LMs, twitches and posture changes.",
        plm_index_per_h=(30.0, 60.0)),
    Scenario(
        "twitchy",
        "Frequent twitches (60-150/h) with some isolated LMs; no periodic series.",
        twitch_rate_per_h=(60.0, 150.0), lm_rate_per_h=(8.0, 20.0)),
    Scenario(
        "rls",
        "Restless settling: for the first 30-45 min many irregular LMs, twitches and posture "
        "changes; then quieter, with some PLM series (10-25/h).",
        plm_index_per_h=(10.0, 25.0), sustained_rate_per_h=(1.0, 2.0), settling_min=(30.0, 45.0),
        settling_lm_rate_per_h=(60.0, 150.0), settling_sustained_rate_per_h=(6.0, 12.0),
        settling_twitch_rate_per_h=(10.0, 30.0)),
    Scenario(
        "noise",
        "No events at all: sensor noise, heartbeat, bias and drift, quantisation and frequent "
        "bed-partner vibration. The truth is empty.",
        twitch_rate_per_h=(0.0, 0.0), lm_rate_per_h=(0.0, 0.0), sustained_rate_per_h=(0.0, 0.0),
        vibration_rate_per_h=(3.0, 8.0)),
    Scenario(
        "restless_start",
        "Restless for the first 40-50 min before a PLMD night: irregular LMs, the leg shifting "
        "and settling in steps, rubbing the legs (bouts over 10 s); then periodic series "
        "(30-60/h).",
        plm_index_per_h=(30.0, 60.0), settling_min=(40.0, 50.0),
        settling_lm_rate_per_h=(40.0, 90.0), settling_sustained_rate_per_h=(4.0, 8.0),
        settling_twitch_rate_per_h=(10.0, 30.0), settling_step_clusters_per_h=(10.0, 20.0),
        step_clusters_per_h=(1.0, 3.0)),
    Scenario(
        "plm_shifts",
        "Periodic limb movements (30-60/h) after each of which the leg settles 1-2 degrees "
        "from where it was, plus a few settling steps.",
        plm_index_per_h=(30.0, 60.0), lm_residual_deg=(1.0, 2.0),
        step_clusters_per_h=(2.0, 4.0)),
    Scenario(
        "partner",
        "A restless bed partner: turning over on a spring mattress (60-75 mg bursts) several "
        "times an hour and periodic movements of their own every 20-40 s; this sleeper has "
        "some PLM series (10-25/h).",
        plm_index_per_h=(10.0, 25.0), partner_burst_rate_per_h=(6.0, 12.0),
        partner_series_per_h=(0.5, 1.5), vibration_rate_per_h=(2.0, 6.0)),
    Scenario(
        "loose_strap",
        "A loosely strapped sensor: most twitches ring on for 1-1.5 s at 4-8 Hz, and the "
        "sensor slips slowly round the leg now and then; frequent twitches, some PLM series "
        "(10-25/h).",
        twitch_rate_per_h=(40.0, 80.0), plm_index_per_h=(10.0, 25.0),
        strap_ring_share=(0.6, 0.9), strap_slip_per_h=(1.0, 2.0)),
    Scenario(
        "turnovers",
        "Dense PLMs (60-100/h) on a restless night with many turn-overs, often with an LM 1-3 s "
        "before or after the turn-over.",
        plm_index_per_h=(60.0, 100.0), sustained_rate_per_h=(4.0, 7.0),
        turn_neighbour_share=(0.6, 0.9), imi_s=(12.0, 40.0)),
)}


# ================================================================================================
# Result
# ================================================================================================

@dataclass(frozen=True, eq=False)
class SimulatedNight:
    """A synthetic night and what happened in it.

    Attributes
    ----------
    samples : DataFrame
        ``timestamp`` (unix seconds, float64), ``x``, ``y``, ``z`` (g) as the sensor writes them:
        quantised, clipped, jittered, with rows lost in gaps.
    truth : DataFrame
        One row per event, seconds from the first sample's timestamp: ``start_s``, ``end_s``,
        ``duration_s``, ``kind`` (twitch, lm, sustained), ``plm`` (bool) and ``series`` (Int64,
        <NA> outside series) from WASM 2016 scoring, ``leg``, ``amplitude_deg`` (joint rotation;
        for sustained movements the change of resting orientation), ``tilt_deg`` (largest change
        of the gravity direction the sensor sees), ``peak_g`` (largest deviation of the noise-free
        acceleration from the resting reading before the event), ``origin`` (how it was made:
        ``series``, ``isolated``, ``settling``, ``turn``, ``getup``; for diagnosis only).
    vibrations : DataFrame
        ``start_s``, ``end_s``, ``peak_g`` of bed-partner vibration (not events).
    gaps : DataFrame
        ``start_s``, ``end_s``, ``duration_s`` of lost rows (half-open: the first lost sample to
        the first sample after the gap).
    info : dict
        Scenario, seed, rates drawn, sensor model and every other parameter of the night.
    """

    samples: pd.DataFrame
    truth: pd.DataFrame
    vibrations: pd.DataFrame
    gaps: pd.DataFrame
    info: dict[str, Any] = field(default_factory=dict)


# ================================================================================================
# Small geometry helpers
# ================================================================================================

def _loguniform(rng: np.random.Generator, lo: float, hi: float, size: Any = None) -> Any:
    return np.exp(rng.uniform(np.log(lo), np.log(hi), size))


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def _random_rotation(rng: np.random.Generator) -> np.ndarray:
    """A uniformly random rotation matrix (from a random unit quaternion)."""
    w, x, y, z = _unit(rng.standard_normal(4))
    return np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                     [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                     [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]])


def _cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cross product of 3-vectors (``np.cross`` without its per-call overhead)."""
    return np.array([a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2],
                     a[0] * b[1] - a[1] * b[0]])


def _rotate(v: np.ndarray, axis: np.ndarray, angle_rad: np.ndarray) -> np.ndarray:
    """Rotate the vector ``v`` about the unit ``axis`` by each angle (Rodrigues): (m, 3)."""
    c = np.cos(angle_rad)[:, None]
    s = np.sin(angle_rad)[:, None]
    return v * c + _cross(axis, v) * s + axis * (axis @ v) * (1.0 - c)


def _angle_deg(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Angle between rows of ``a`` and the vector(s) ``b`` in degrees."""
    cos = np.sum(_unit(a) * _unit(b), axis=-1)
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def _slerp(a: np.ndarray, b: np.ndarray, s: np.ndarray) -> np.ndarray:
    """Great-circle interpolation between unit vectors ``a`` and ``b`` at fractions ``s``."""
    omega = float(np.arccos(np.clip(a @ b, -1.0, 1.0)))
    if omega < 1e-6:
        return np.repeat(a[None, :], len(s), axis=0)
    return (np.sin((1 - s) * omega)[:, None] * a + np.sin(s * omega)[:, None] * b) / np.sin(omega)


def _min_jerk(tau: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Minimum-jerk step 0 -> 1 on ``tau`` in [0, 1] and its first two derivatives (per tau)."""
    t = np.clip(tau, 0.0, 1.0)
    return (10 * t**3 - 15 * t**4 + 6 * t**5, 30 * t**2 - 60 * t**3 + 30 * t**4,
            60 * t - 180 * t**2 + 120 * t**3)


def _lm_profile(t_s: np.ndarray, rise_s: float, hold_s: float, fall_s: float
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Normalised joint angle (0 -> 1 -> 0) of an LM and its derivatives (1/s, 1/s^2)."""
    p, dp, ddp = (np.zeros_like(t_s) for _ in range(3))
    up = (t_s >= 0) & (t_s < rise_s)
    s, ds, dds = _min_jerk(t_s[up] / rise_s)
    p[up], dp[up], ddp[up] = s, ds / rise_s, dds / rise_s**2
    p[(t_s >= rise_s) & (t_s < rise_s + hold_s)] = 1.0
    down = (t_s >= rise_s + hold_s) & (t_s <= rise_s + hold_s + fall_s)
    s, ds, dds = _min_jerk((t_s[down] - rise_s - hold_s) / fall_s)
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
    grav = _rotate(g, axis, -theta)  # the body turns by +theta: gravity turns by -theta in it
    tangential = ddtheta[:, None] * _cross(axis, lever)
    centripetal = (dtheta**2)[:, None] * (axis * (axis @ lever) - lever)
    return grav + (tangential + centripetal) / STANDARD_GRAVITY_M_S2


def _band_noise(rng: np.random.Generator, m: int, fs_hz: float, lo_hz: float | None,
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
    y = y @ (_random_rotation(rng).T if basis is None else basis)
    peak = np.linalg.norm(y, axis=1).max()
    return y / (peak + 1e-12)


# ================================================================================================
# Event planning
# ================================================================================================

class _Timeline:
    """Non-overlapping intervals kept at least ``sep_s`` apart (sorted, bisect look-ups)."""

    def __init__(self, lo_s: float, hi_s: float, sep_s: float) -> None:
        self.lo_s, self.hi_s, self.sep_s = lo_s, hi_s, sep_s
        self.starts: list[float] = []
        self.ends: list[float] = []

    def fits(self, start_s: float, end_s: float) -> bool:
        if start_s < self.lo_s or end_s > self.hi_s:
            return False
        k = bisect.bisect_left(self.starts, start_s)
        if k > 0 and self.ends[k - 1] + self.sep_s > start_s:
            return False
        return not (k < len(self.starts) and end_s + self.sep_s > self.starts[k])

    def add(self, start_s: float, end_s: float) -> None:
        k = bisect.bisect_left(self.starts, start_s)
        self.starts.insert(k, start_s)
        self.ends.insert(k, end_s)


def _place(rng: np.random.Generator, timelines: list[_Timeline], duration_s: float,
           lo_s: float, hi_s: float, tries: int = 60) -> float | None:
    """Random start in [lo_s, hi_s - duration_s] that fits all timelines (added to the first)."""
    if hi_s - duration_s <= lo_s:
        return None
    for _ in range(tries):
        s = float(rng.uniform(lo_s, hi_s - duration_s))
        if all(tl.fits(s, s + duration_s) for tl in timelines):
            timelines[0].add(s, s + duration_s)
            return s
    return None


def _lm_duration(rng: np.random.Generator) -> float:
    d = LM_MEDIAN_DURATION_S * np.exp(rng.normal(0.0, LM_DURATION_LOG_SIGMA))
    return float(np.clip(d, *LM_DURATION_S))


def _rate(rng: np.random.Generator, rng_range: Range) -> float:
    return float(rng.uniform(*rng_range)) if rng_range[1] > 0 else 0.0


def _plan_series(rng: np.random.Generator, sc: Scenario, lo_s: float, hi_s: float,
                 occupied: _Timeline, reserved: _Timeline) -> tuple[list[dict], float]:
    """PLM series filling [lo_s, hi_s] at the scenario's rate; pauses split the rest at random."""
    rate = _rate(rng, sc.plm_index_per_h)
    target = int(round(rate * (hi_s - lo_s) / 3600.0))
    plans: list[np.ndarray] = []
    total = 0
    while total < target:
        n = int(np.floor(_loguniform(rng, sc.series_length[0], sc.series_length[1] + 1)))
        n = int(np.clip(min(n, max(target - total, sc.series_length[0])), *sc.series_length))
        lo_imi = max(14.0, sc.imi_s[0])
        base = rng.uniform(lo_imi, max(min(45.0, sc.imi_s[1]), lo_imi))
        imis = np.clip(base * np.exp(rng.normal(0.0, 0.12, n - 1)), *sc.imi_s)
        plans.append(imis)
        total += n
    spans = [float(imis.sum()) + LM_DURATION_S[1] for imis in plans]
    while plans and sum(spans) + (len(plans) + 1) * MIN_SERIES_PAUSE_S > hi_s - lo_s:
        plans.pop()
        spans.pop()
    events: list[dict] = []
    if not plans:
        return events, rate
    free = (hi_s - lo_s) - sum(spans) - (len(plans) + 1) * MIN_SERIES_PAUSE_S
    pauses = MIN_SERIES_PAUSE_S + rng.dirichlet(np.ones(len(plans) + 1)) * free
    cursor = lo_s
    for imis, span, pause in zip(plans, spans, pauses):
        cursor += pause
        onsets = cursor + np.concatenate(([0.0], np.cumsum(imis)))
        placed = []
        for k, s in enumerate(onsets):
            room = (onsets[k + 1] - s - MIN_SEPARATION_S) if k + 1 < len(onsets) else 10.0
            d = min(_lm_duration(rng), room)
            if occupied.fits(s, s + d):
                occupied.add(s, s + d)
                placed.append((s, s + d))
                events.append({"kind": "lm", "origin": "series", "start": float(s),
                               "end": float(s + d)})
        if placed:
            reserved.add(placed[0][0] - SERIES_CLEARANCE_S, placed[-1][1] + SERIES_CLEARANCE_S)
        cursor += span
    return events, rate


def _plan_events(rng: np.random.Generator, sc: Scenario, duration_s: float,
                 r_real: np.random.Generator | None = None) -> tuple[list[dict], dict[str, Any]]:
    """Times and kinds of every event of the night (true time, s from sample 0).

    ``r_real`` draws the real-world situations (posture steps, LMs next to turn-overs, strap
    ringing), after everything else, so that scenarios without them are unchanged."""
    lo, hi = EDGE_S, duration_s - EDGE_S
    occupied = _Timeline(lo, hi, MIN_SEPARATION_S)
    reserved = _Timeline(-np.inf, np.inf, 0.0)  # PLM series, kept clear of isolated LMs
    events: list[dict] = []
    info: dict[str, Any] = {}
    hours = duration_s / 3600.0
    settle_s = min(float(rng.uniform(*sc.settling_min)) * 60.0, hi) if sc.settling_min[1] else 0.0
    info["settling_s"] = settle_s

    def add_random(kind: str, count: int, lo_s: float, hi_s: float,
                   draw: Any, avoid_series: bool = False) -> None:
        for _ in range(count):
            d, origin = draw()
            tls = [occupied, reserved] if avoid_series else [occupied]
            s = _place(rng, tls, d, lo_s, hi_s)
            if s is not None:
                events.append({"kind": kind, "origin": origin, "start": s, "end": s + d})

    def sustained() -> tuple[float, str]:
        if rng.random() < GETUP_SHARE:
            return float(rng.uniform(*GETUP_DURATION_S)), "getup"
        return float(rng.uniform(*TURN_DURATION_S)), "turn"

    def twitch(origin: str) -> Any:
        return lambda: (float(rng.uniform(*TWITCH_BURST_S)), origin)

    settle_h = settle_s / 3600.0
    if settle_s > 0:
        info["settling_sustained_rate_per_h"] = r = _rate(rng, sc.settling_sustained_rate_per_h)
        add_random("sustained", rng.poisson(r * settle_h), lo, settle_s, sustained)
        # restless LMs come in irregular clusters: onsets often < 10 s apart
        info["settling_lm_rate_per_h"] = r = _rate(rng, sc.settling_lm_rate_per_h)
        n_lm = rng.poisson(r * settle_h)
        while n_lm > 0:
            d = _lm_duration(rng)
            s = _place(rng, [occupied], d, lo, settle_s)
            if s is None:
                break
            events.append({"kind": "lm", "origin": "settling", "start": s, "end": s + d})
            n_lm -= 1
            for _ in range(int(rng.integers(0, 4))):
                s, d = s + d + float(rng.uniform(MIN_SEPARATION_S, 6.0)), _lm_duration(rng)
                if n_lm <= 0 or s + d > settle_s or not occupied.fits(s, s + d):
                    break
                occupied.add(s, s + d)
                events.append({"kind": "lm", "origin": "settling", "start": s, "end": s + d})
                n_lm -= 1
        info["settling_twitch_rate_per_h"] = r = _rate(rng, sc.settling_twitch_rate_per_h)
        add_random("twitch", rng.poisson(r * settle_h), lo, settle_s, twitch("settling"))
    series, info["plm_index_target_per_h"] = _plan_series(
        rng, sc, max(lo, settle_s), hi, occupied, reserved)
    events += series
    info["sustained_rate_per_h"] = r = _rate(rng, sc.sustained_rate_per_h)
    add_random("sustained", rng.poisson(r * (hours - settle_h)), max(lo, settle_s), hi,
               sustained)
    info["lm_rate_per_h"] = r = _rate(rng, sc.lm_rate_per_h)
    add_random("lm", rng.poisson(r * hours), lo, hi, lambda: (_lm_duration(rng), "isolated"),
               avoid_series=True)
    info["twitch_rate_per_h"] = r = _rate(rng, sc.twitch_rate_per_h)
    add_random("twitch", rng.poisson(r * hours), lo, hi, twitch("isolated"))
    if r_real is not None:
        _plan_real_world(r_real, sc, events, info, occupied, reserved, lo, hi, settle_s)
    events.sort(key=lambda e: e["start"])
    return events, info


def _plan_step_cluster(rng: np.random.Generator, timelines: list[_Timeline], lo_s: float,
                       hi_s: float) -> list[dict]:
    """2-3 posture steps (short shifts of a few degrees) with the leg still in between."""
    durs = rng.uniform(*STEP_DURATION_S, int(rng.integers(2, 4)))
    rests = rng.uniform(*STEP_REST_S, len(durs) - 1)
    span = float(durs.sum() + rests.sum())
    s = _place(rng, timelines, span, lo_s, hi_s)
    if s is None:
        return []
    out, t = [], s
    for k, d in enumerate(durs):
        out.append({"kind": "lm", "origin": "step", "start": t, "end": t + float(d),
                    "step_deg": float(rng.uniform(*STEP_AMPLITUDE_DEG))})
        t += float(d) + (float(rests[k]) if k < len(rests) else 0.0)
    return out


def _plan_real_world(rng: np.random.Generator, sc: Scenario, events: list[dict],
                     info: dict[str, Any], occupied: _Timeline, reserved: _Timeline,
                     lo: float, hi: float, settle_s: float) -> None:
    """Posture steps, LMs next to turn-overs and ringing twitches (added to ``events``)."""
    hours = (hi - lo) / 3600.0
    settle_h = settle_s / 3600.0
    r = _rate(rng, sc.settling_step_clusters_per_h)
    for _ in range(rng.poisson(r * settle_h) if settle_s > 0 else 0):
        events += _plan_step_cluster(rng, [occupied], lo, settle_s)
    r = _rate(rng, sc.step_clusters_per_h)
    for _ in range(rng.poisson(r * max(hours - settle_h, 0.0))):
        events += _plan_step_cluster(rng, [occupied, reserved], max(lo, settle_s), hi)
    share = _rate(rng, sc.turn_neighbour_share)
    if share > 0:
        for bout in [e for e in events if e["kind"] == "sustained"]:
            if rng.random() >= share:
                continue
            gap, d = float(rng.uniform(*NEIGHBOUR_GAP_S)), min(_lm_duration(rng), 4.0)
            s = (bout["start"] - gap - d) if rng.random() < 0.5 else bout["end"] + gap
            if s < lo or s + d > hi or any(
                    e is not bout and e["start"] < s + d + MIN_SEPARATION_S
                    and e["end"] + MIN_SEPARATION_S > s for e in events):
                continue
            occupied.add(s, s + d)
            events.append({"kind": "lm", "origin": "neighbour", "start": s, "end": s + d})
    info["n_neighbour_lms"] = sum(e["origin"] == "neighbour" for e in events)
    info["n_steps"] = sum(e["origin"] == "step" for e in events)
    share = _rate(rng, sc.strap_ring_share)
    for e in events:
        if e["kind"] == "twitch" and share > 0 and rng.random() < share:
            e["ring"] = (float(rng.uniform(*STRAP_RING_HZ)), float(rng.uniform(*STRAP_RING_S)),
                         float(_loguniform(rng, *STRAP_RING_G)))
    if sc.lm_residual_deg[1] > 0:
        for e in events:
            if e["kind"] == "lm" and e["origin"] != "step":
                e["step_deg"] = float(rng.uniform(*sc.lm_residual_deg))


# ================================================================================================
# Signal synthesis
# ================================================================================================

def _draw_posture(rng: np.random.Generator) -> np.ndarray:
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


def _synth_lm(rng: np.random.Generator, ev: dict, g: np.ndarray, mount: np.ndarray,
              t_s: np.ndarray, fs_hz: float) -> np.ndarray:
    """Acceleration (g) during an LM on the samples ``t_s`` (s from the LM start)."""
    dur = ev["end"] - ev["start"]
    hold = 0.0 if rng.random() < 0.4 else dur * rng.uniform(0.1, 0.6)
    moving = dur - hold
    rise = moving * rng.uniform(0.3, 0.6)
    fall = moving - rise
    # min-jerk over T: peak velocity 1.875 A / T, peak acceleration 5.77 A / T^2
    v_max = _loguniform(rng, *LM_PEAK_VELOCITY_DEG_S)
    a_max = _loguniform(rng, *LM_PEAK_ANGULAR_ACCEL_RAD_S2)
    t_min = min(rise, fall)
    cap_deg = min(v_max * t_min / 1.875, np.degrees(a_max * t_min**2 / 5.77))
    amp_deg = float(np.clip(min(_loguniform(rng, *LM_AMPLITUDE_DEG), cap_deg), 2.0,
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
    ev["tilt_deg"] = float(_angle_deg(_rotate(g, axis, -theta), g).max())
    if rng.random() < LM_ONSET_JERK_SHARE:
        jerk = _transient(rng, fs_hz, rng.uniform(*TWITCH_BURST_S), rng.uniform(*TWITCH_FREQ_HZ),
                          rng.uniform(*TWITCH_Q)) * _loguniform(rng, *LM_ONSET_JERK_G)
        i0 = int(np.searchsorted(t_s, 0.0))
        m = min(len(jerk), len(t_s) - i0)
        out[i0:i0 + m] += jerk[:m]
    ev["amplitude_deg"] = float(np.degrees(np.abs(theta).max()))  # irregularity included
    return out


def _synth_twitch(rng: np.random.Generator, ev: dict, g: np.ndarray, mount: np.ndarray,
                  t_s: np.ndarray, fs_hz: float) -> np.ndarray:
    """Acceleration (g) of a twitch on ``t_s`` (s from the burst start): transient + leg jerk."""
    burst = ev["end"] - ev["start"]
    i0 = int(np.searchsorted(t_s, 0.0))
    tr = _transient(rng, fs_hz, burst, rng.uniform(*TWITCH_FREQ_HZ), rng.uniform(*TWITCH_Q))
    out = np.zeros((len(t_s), 3))
    m = min(len(tr), len(t_s) - i0)
    out[i0:i0 + m] = tr[:m] * _loguniform(rng, *TWITCH_PEAK_G)
    jerk_deg = float(rng.uniform(*TWITCH_JERK_DEG))
    p, _, _ = _lm_profile(t_s, burst, 0.0, rng.uniform(0.2, 0.4))
    axis = mount @ _draw_joint_axis(rng)
    tilted = _rotate(g, axis, -np.radians(jerk_deg) * p)
    out += tilted - g
    ev["tilt_deg"] = float(_angle_deg(tilted, g).max())
    ev["amplitude_deg"] = jerk_deg
    return out


def _synth_sustained(rng: np.random.Generator, ev: dict, g_old: np.ndarray, g_new: np.ndarray,
                     mount: np.ndarray, t_s: np.ndarray, fs_hz: float) -> np.ndarray:
    """Reading (g, gravity included) during a posture change on ``t_s`` (s from its start)."""
    dur = ev["end"] - ev["start"]
    tau = np.clip(t_s / dur, 0.0, 1.0)
    m = len(t_s)
    path = np.repeat(g_old[None, :], m, axis=0)
    envelope = np.zeros(m)
    if ev["origin"] == "getup":
        g_stand = mount @ _unit(np.array([1.0, *rng.normal(0.0, 0.1, 2)]))
        t_up, t_down = rng.uniform(3.0, 6.0), rng.uniform(3.0, 6.0)
        walk0, walk1 = t_up + rng.uniform(1.0, 3.0), dur - t_down - rng.uniform(1.0, 3.0)
        legs = [(0.0, t_up, g_old, g_stand), (dur - t_down, dur, g_stand, g_new)]
        for a, b, ga, gb in legs:
            sel = (t_s >= a) & (t_s <= b)
            s, _, _ = _min_jerk((t_s[sel] - a) / (b - a))
            path[sel] = _slerp(ga, gb, s)
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
            mid = _slerp(g_old, g_new, np.array([j / n_moves]))[0]
            kick = _unit(_cross(mid, rng.standard_normal(3)))
            waypoints.append(_rotate(mid, kick, np.radians([rng.uniform(10.0, 40.0)]))[0])
        waypoints.append(g_new)
        cuts = np.concatenate(([0.0], np.cumsum(rng.dirichlet(np.full(n_moves, 3.0))))) * dur
        for j in range(n_moves):
            a, b = cuts[j], cuts[j + 1]
            length = (b - a) * rng.uniform(0.6, 1.0)
            a = a if j == 0 else (b - length if j == n_moves - 1 else
                                  a + rng.uniform(0, (b - a) - length))
            b = a + length if j < n_moves - 1 else b
            sel = (t_s >= a) & (t_s <= b)
            s, _, _ = _min_jerk((t_s[sel] - a) / (b - a))
            path[sel] = _slerp(waypoints[j], waypoints[j + 1], s)
            path[t_s > b] = waypoints[j + 1]
            envelope[sel] = np.maximum(envelope[sel], np.sin(np.pi * (t_s[sel] - a) / (b - a)) ** 2)
        wobble = _band_noise(rng, m, fs_hz, None, 1.0) * rng.uniform(0.05, 0.15)
        path = _unit(path + wobble * (np.sin(np.pi * tau) ** 2)[:, None])
        kin_peak = rng.uniform(*TURN_PEAK_G)
    kin = _band_noise(rng, m, fs_hz, 0.5, 15.0) * envelope[:, None]
    kin *= kin_peak / (np.linalg.norm(kin, axis=1).max() + 1e-12)
    ev["amplitude_deg"] = float(_angle_deg(g_old, g_new))
    return path + kin


def _plan_slips(rng: np.random.Generator, sc: Scenario, events: list[dict],
                duration_s: float) -> list[dict]:
    """Slow slips of a loose strap round the leg (2-5 degrees over 1-4 min), clear of
    turn-overs; not events."""
    rate = _rate(rng, sc.strap_slip_per_h)
    out: list[dict] = []
    bouts = [(e["start"], e["end"]) for e in events if e["kind"] == "sustained"]
    for _ in range(rng.poisson(rate * duration_s / 3600.0) if rate > 0 else 0):
        d = float(rng.uniform(*STRAP_SLIP_S))
        s = float(rng.uniform(EDGE_S, max(duration_s - EDGE_S - d, EDGE_S)))
        if any(a < s + d and b > s for a, b in bouts + [(x["start"], x["end"]) for x in out]):
            continue
        out.append({"kind": "slip", "origin": "slip", "start": s, "end": s + d,
                    "step_deg": float(rng.uniform(*STRAP_SLIP_DEG))})
    return out


def _synth_step(rng: np.random.Generator, ev: dict, g_old: np.ndarray, g_new: np.ndarray,
                t_s: np.ndarray, fs_hz: float) -> np.ndarray:
    """Reading (g, gravity included) while the leg shifts from one resting posture to the next
    (a minimum-jerk turn with a little muscle noise)."""
    dur = ev["end"] - ev["start"]
    tau = np.clip(t_s / dur, 0.0, 1.0)
    path = _slerp(g_old, g_new, _min_jerk(tau)[0])
    kin = _band_noise(rng, len(t_s), fs_hz, 0.5, 15.0) * (np.sin(np.pi * tau) ** 2)[:, None]
    kin *= rng.uniform(0.005, 0.02) / (np.linalg.norm(kin, axis=1).max() + 1e-12)
    ev["amplitude_deg"] = ev["tilt_deg"] = float(_angle_deg(g_old, g_new))
    return path + kin


def _strap_ring(rng: np.random.Generator, ring: tuple[float, float, float], t_s: np.ndarray
                ) -> np.ndarray:
    """A loose strap ringing on after a twitch: a decaying ``freq`` Hz oscillation of the sensor
    (peak ``peak_g``) for ``length_s`` from ``t_s`` = 0 (the end of the burst)."""
    freq, length_s, peak_g = ring
    on = (t_s >= 0) & (t_s <= length_s)
    decay = np.exp(-3.0 * np.clip(t_s, 0, None) / length_s)   # down to 5 % at the end
    direction = _unit(rng.standard_normal(3))
    wave = np.sin(2 * np.pi * freq * t_s + rng.uniform(0, 2 * np.pi)) * decay * on * peak_g
    return wave[:, None] * direction


def _shake(rng: np.random.Generator, acc: np.ndarray, t_s: np.ndarray, fs_hz: float, s: float,
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
    up = _unit(acc[i0])
    horiz = _unit(_cross(up, rng.standard_normal(3)))
    other = _cross(up, horiz)
    noise = _band_noise(rng, m, fs_hz, *VIBRATION_BAND_HZ)
    env = np.sin(np.pi * tt / d) ** 2 * (0.6 + 0.4 * np.sin(2 * np.pi * tt
                                                            / rng.uniform(1.0, 4.0)) ** 2)
    shake = (noise[:, :1] * up + 0.4 * noise[:, 1:2] * horiz + 0.4 * noise[:, 2:] * other)
    shake *= env[:, None]
    peak = float(rng.uniform(*peak_g))
    shake *= peak / (np.linalg.norm(shake, axis=1).max() + 1e-12)
    tilt = np.radians(rng.uniform(*tilt_deg)) * np.sin(np.pi * tt / d) ** 2
    acc[i0:i1] += shake + tilt[:, None] * _cross(horiz, up)
    return peak


def _heartbeat(rng: np.random.Generator, t_s: np.ndarray, fs_hz: float) -> np.ndarray:
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


def _drift(rng: np.random.Generator, t_s: np.ndarray) -> np.ndarray:
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


def _plan_gaps(rng: np.random.Generator, duration_s: float) -> list[tuple[float, float]]:
    hours = duration_s / 3600.0
    out = []
    n_short = rng.poisson(rng.uniform(*PACKET_LOSS_PER_H) * hours)
    for d in _loguniform(rng, *PACKET_LOSS_S, n_short):
        s = rng.uniform(EDGE_S, max(duration_s - EDGE_S - d, EDGE_S))
        out.append((float(s), float(s + d)))
    for d in _loguniform(rng, *LONG_GAP_S, rng.poisson(LONG_GAP_PER_H * hours)):
        if d < duration_s - 4 * EDGE_S:
            s = rng.uniform(EDGE_S, duration_s - EDGE_S - d)
            out.append((float(s), float(s + d)))
    return out


def _empty_truth() -> pd.DataFrame:
    return pd.DataFrame({
        "start_s": pd.Series(dtype=float), "end_s": pd.Series(dtype=float),
        "duration_s": pd.Series(dtype=float), "kind": pd.Series(dtype=object),
        "plm": pd.Series(dtype=bool), "series": pd.Series(dtype="Int64"),
        "leg": pd.Series(dtype=object), "amplitude_deg": pd.Series(dtype=float),
        "tilt_deg": pd.Series(dtype=float), "peak_g": pd.Series(dtype=float),
        "origin": pd.Series(dtype=object)})


# ================================================================================================
# Public API
# ================================================================================================

def simulate_night(scenario: str = "plmd", hours: float = 8.0, fs_hz: float = 100.0,
                   seed: int = 0, *, leg: str = "left", start_unix_s: float = 1_700_000_000.0,
                   sensor: str | None = None, packet_loss: bool = True,
                   off_leg: Sequence[tuple[float, float]] = ()) -> SimulatedNight:
    """Simulate a night of shin-worn accelerometer data with known events.

    Parameters
    ----------
    scenario : str
        A key of :data:`SCENARIOS`: ``healthy``, ``plmd``, ``twitchy``, ``rls``, ``noise``, or one
        of the real-world situations ``restless_start``, ``plm_shifts``, ``partner``,
        ``loose_strap``, ``turnovers``.
    hours : float
        Length of the night in hours (0 < hours <= 24).
    fs_hz : float
        Nominal sampling rate in Hz (10-1000). The simulated sensor clock is off by up to
        +-50 ppm; timestamps are the true sample times plus jitter.
    seed : int
        Seed of every random choice: the same arguments give identical output.
    leg : str
        ``left`` or ``right``: the leg written in the truth's ``leg`` column.
    start_unix_s : float
        Unix time (s) of the first sample, before its jitter.
    sensor : str, optional
        A key of :data:`SENSORS`; by default one of ``int16_8g`` and ``polar_mg`` is drawn.
    packet_loss : bool
        Remove blocks of rows as lost BLE packets would (default). The virtual sensor streams a
        night without them and injects its own faults.
    off_leg : sequence of (start_s, end_s)
        Times (s from the start) when the sensor is off the leg, lying still on a table: gravity
        on its own axis, the sensor's bias, drift and noise, no heartbeat, no events. Taking it
        off and putting it on is a 15-s handling movement (a ``sustained`` truth event, origin
        ``handling``) where a span starts or ends inside the night. Leg events during the span
        are not seen (``n_events_off_leg``).

    Returns
    -------
    SimulatedNight
        Samples, truth events, partner vibrations, gaps and the parameters drawn.

    Raises
    ------
    ValueError
        On an unknown scenario, leg or sensor, or a length or rate out of range.
    """
    if scenario not in SCENARIOS:
        raise ValueError(f"scenario {scenario!r}: expected one of {', '.join(SCENARIOS)}")
    if not (0 < hours <= 24):
        raise ValueError(f"hours={hours!r}: expected 0 < hours <= 24")
    if not (10 <= fs_hz <= 1000):
        raise ValueError(f"fs_hz={fs_hz!r}: expected 10 to 1000 Hz")
    if leg not in ("left", "right"):
        raise ValueError(f"leg={leg!r}: expected 'left' or 'right'")
    if sensor is not None and sensor not in SENSORS:
        raise ValueError(f"sensor={sensor!r}: expected one of {', '.join(SENSORS)}")
    sc = SCENARIOS[scenario]
    # one independent stream per part of the model, keyed by seed and scenario
    root = np.random.SeedSequence([int(seed), zlib.crc32(scenario.encode())])
    (r_plan, r_pose, r_event, r_vib, r_body, r_noise, r_data) = (
        np.random.default_rng(s) for s in root.spawn(7))

    # ---- sensor and clock
    sensor = sensor or str(r_data.choice(DEFAULT_SENSORS))
    range_g, lsb_g = SENSORS[sensor]
    ppm = float(r_data.uniform(-CLOCK_PPM, CLOCK_PPM))
    fs_true = fs_hz * (1.0 + ppm * 1e-6)
    n = int(round(hours * 3600.0 * fs_hz))
    t_s = np.arange(n) / fs_true
    duration_s = n / fs_true

    # ---- events and postures
    r_real = np.random.default_rng([int(seed), zlib.crc32(scenario.encode()), 0x5EA1])
    events, plan_info = _plan_events(r_plan, sc, duration_s, r_real)
    mount = _random_rotation(r_pose)  # how the sensor sits on the shin: shin -> sensor frame
    slips = _plan_slips(r_real, sc, events, duration_s)
    # every change of the resting posture, in time order: turn-overs (a new posture), posture
    # steps and LMs that leave the leg a little elsewhere, and slow slips of the strap
    changes = sorted([e for e in events if e["kind"] == "sustained" or "step_deg" in e] + slips,
                     key=lambda e: e["end"])
    postures = [mount @ _draw_posture(r_pose)]
    for ch in changes:
        if ch["kind"] == "sustained":
            for _try in range(20):
                g_new = mount @ _draw_posture(r_pose)
                if _angle_deg(postures[-1], g_new) >= 20.0:
                    break
        else:
            axis = _unit(_cross(postures[-1], r_real.standard_normal(3)))
            g_new = _rotate(postures[-1], axis, np.radians([ch["step_deg"]]))[0]
        postures.append(g_new)
    ends = np.array([e["end"] for e in changes])
    pose_idx = np.searchsorted(ends, t_s, side="left")  # posture k after the k-th change
    acc = np.asarray(postures)[pose_idx]
    for slip in slips:  # the strap turns slowly round the leg: a smooth path, not an event
        k = int(np.searchsorted(ends, slip["start"], side="left"))
        i0 = int(np.ceil(slip["start"] * fs_true))
        i1 = min(int(np.floor(slip["end"] * fs_true)) + 1, n)
        tau = (t_s[i0:i1] - slip["start"]) / (slip["end"] - slip["start"])
        acc[i0:i1] = _slerp(postures[k], postures[k + 1], _min_jerk(tau)[0])

    # ---- events into the signal
    for ev in events:
        i0 = int(np.ceil(ev["start"] * fs_true))
        k = int(np.searchsorted(ends, ev["start"], side="left"))
        g = postures[k]
        if ev["kind"] == "sustained":
            i1 = min(int(np.floor(ev["end"] * fs_true)) + 1, n)
            g_old, g_new = g, postures[k + 1]
            seg = _synth_sustained(r_event, ev, g_old, g_new, mount, t_s[i0:i1] - ev["start"],
                                   fs_true)
            acc[i0:i1] = seg
            ev["tilt_deg"] = ev["amplitude_deg"]
            ev["peak_g"] = float(np.linalg.norm(seg - g_old, axis=1).max())
            continue
        if ev["origin"] == "step":
            i1 = min(int(np.floor(ev["end"] * fs_true)) + 1, n)
            seg = _synth_step(r_real, ev, g, postures[k + 1], t_s[i0:i1] - ev["start"], fs_true)
            acc[i0:i1] = seg
            ev["peak_g"] = float(np.linalg.norm(seg - g, axis=1).max())
            continue
        ring = ev.get("ring")
        # ringing after the burst / onset jerk
        tail_s = (ring[1] + 0.6 if ring else 0.6) if ev["kind"] == "twitch" else 0.3
        i1 = min(int(np.floor((ev["end"] + tail_s) * fs_true)) + 1, n)
        tt = t_s[i0:i1] - ev["start"]
        synth = _synth_twitch if ev["kind"] == "twitch" else _synth_lm
        delta = synth(r_event, ev, g, mount, tt, fs_true)
        if ring:
            delta += _strap_ring(r_real, ring, tt - (ev["end"] - ev["start"]))
        if "step_deg" in ev:  # the leg comes back a little elsewhere (during the last 40 %)
            dur = ev["end"] - ev["start"]
            ramp = _min_jerk((tt - 0.6 * dur) / (0.4 * dur))[0] * (tt <= dur)
            delta += ramp[:, None] * (postures[k + 1] - g)
        acc[i0:i1] += delta
        ev["peak_g"] = float(np.linalg.norm(delta, axis=1).max())

    # ---- bed-partner vibration (not events)
    hours_f = duration_s / 3600.0
    vib_rate = _rate(r_vib, sc.vibration_rate_per_h)
    vibrations = []
    for _ in range(r_vib.poisson(vib_rate * hours_f)):
        d = float(r_vib.uniform(*VIBRATION_DURATION_S))
        s = float(r_vib.uniform(0.0, max(duration_s - d, 0.0)))
        peak = _shake(r_vib, acc, t_s, fs_true, s, d, VIBRATION_PEAK_G, VIBRATION_TILT_DEG)
        if peak is not None:
            vibrations.append((s, s + d, peak))
    # a restless partner: turning over on a spring mattress, and periodic movements of their own
    for _ in range(r_real.poisson(_rate(r_real, sc.partner_burst_rate_per_h) * hours_f)):
        d = float(r_real.uniform(*PARTNER_BURST_S))
        s = float(r_real.uniform(0.0, max(duration_s - d, 0.0)))
        peak = _shake(r_real, acc, t_s, fs_true, s, d, PARTNER_BURST_PEAK_G,
                      PARTNER_BURST_TILT_DEG)
        if peak is not None:
            vibrations.append((s, s + d, peak))
    for _ in range(r_real.poisson(_rate(r_real, sc.partner_series_per_h) * hours_f)):
        m = int(r_real.integers(*PARTNER_SERIES_LENGTH))
        s = float(r_real.uniform(0.0, max(duration_s - m * PARTNER_SERIES_IMI_S[1], 0.0)))
        for _k in range(m):
            d = float(r_real.uniform(*PARTNER_SERIES_BURST_S))
            if s + d >= duration_s:
                break
            peak = _shake(r_real, acc, t_s, fs_true, s, d, VIBRATION_PEAK_G, VIBRATION_TILT_DEG)
            if peak is not None:
                vibrations.append((s, s + d, peak))
            s += float(r_real.uniform(*PARTNER_SERIES_IMI_S))
    vibrations.sort()

    # ---- the sensor off the leg (its own random stream: the rest of the night is unchanged)
    worn = np.ones(n, dtype=bool)
    handling: list[dict[str, Any]] = []
    if off_leg:
        r_off = np.random.default_rng([int(seed), 0x0FF1E6])
        table = _unit(np.array([0.0, 0.0, 1.0]) + r_off.normal(0.0, 0.03, 3))
        for a_s, b_s in off_leg:
            a_s, b_s = max(float(a_s), 0.0), min(float(b_s), duration_s)
            i0, i1 = int(np.ceil(a_s * fs_true)), int(np.ceil(b_s * fs_true))
            if i1 <= i0:
                continue
            worn[i0:i1] = False
            acc[i0:i1] = table
            for edge_s, into in ((a_s, True), (b_s, False)):
                if not HANDLING_S < edge_s < duration_s - HANDLING_S:
                    continue
                h0 = edge_s - HANDLING_S if into else edge_s
                j0, j1 = int(np.ceil(h0 * fs_true)), int(np.ceil((h0 + HANDLING_S) * fs_true))
                m = j1 - j0
                ramp = np.clip(np.arange(m) / max(m - 1, 1), 0, 1)[:, None]
                g_from, g_to = (acc[j0 - 1], table) if into else (table, acc[min(j1, n - 1)])
                shake = _band_noise(r_off, m, fs_true, 0.5, 12.0)
                shake *= 0.4 / (np.abs(shake).max() + 1e-12)
                acc[j0:j1] = (1 - ramp) * g_from + ramp * g_to + shake * np.sin(
                    np.pi * ramp) ** 0.5
                handling.append({"start": h0, "end": h0 + HANDLING_S, "kind": "sustained",
                                 "amplitude_deg": float("nan"), "tilt_deg": float("nan"),
                                 "peak_g": 0.4, "origin": "handling"})

    # ---- body and sensor at rest
    heart_dir = _unit(r_body.standard_normal(3))
    heart_g = float(r_body.uniform(*HEART_PEAK_G))
    acc += np.outer(_heartbeat(r_body, t_s, fs_true) * heart_g * worn, heart_dir)
    gain = 1.0 + r_body.uniform(-GAIN_ERROR, GAIN_ERROR, 3)
    bias = r_body.uniform(*BIAS_G, 3) * r_body.choice([-1.0, 1.0], 3)
    noise_rms = float(r_noise.uniform(*NOISE_RMS_G))
    acc *= gain
    acc += bias
    acc += _drift(r_body, t_s)
    acc += r_noise.standard_normal((n, 3)) * noise_rms
    # int16 or milli-g steps; the register saturates one step below +range
    top = round(range_g / lsb_g)
    codes = np.clip(np.rint(acc / lsb_g), -top, top - 1)
    n_clipped = int(np.count_nonzero((codes == -top) | (codes == top - 1)))
    acc = codes * lsb_g
    if lsb_g == 0.001:
        acc = np.round(acc, 3)  # exactly the decimal milli-g values such a sensor writes

    # ---- data path: gaps, jitter, timestamps
    gap_mask = np.zeros(n, dtype=bool)
    planned = _plan_gaps(r_data, duration_s)      # drawn either way: same night otherwise
    for s, e in (planned if packet_loss else []):
        gap_mask[int(np.ceil(s * fs_true)):int(np.ceil(e * fs_true))] = True
    gap_mask[0] = False
    jit_max = min(JITTER_MAX_S, 0.4 / fs_hz)
    jitter = np.clip(r_data.normal(0.0, JITTER_SD_S, n), -jit_max, jit_max)
    ts = start_unix_s + t_s + jitter
    shift = float(jitter[0])  # truth is in seconds from the FIRST timestamp
    g0, g1 = mask_runs(gap_mask)
    gap_start = t_s[g0] - shift
    gap_end = np.where(g1 < n, t_s[np.minimum(g1, n - 1)], n / fs_true) - shift
    keep = ~gap_mask
    samples = pd.DataFrame({"timestamp": ts[keep], "x": acc[keep, 0], "y": acc[keep, 1],
                            "z": acc[keep, 2]})
    gaps = pd.DataFrame({"start_s": gap_start, "end_s": gap_end, "duration_s": gap_end - gap_start})

    # ---- truth: visible events only, scored by the rules
    rows = []
    n_in_gap = n_off_leg = 0
    off = [(max(float(a), 0.0), min(float(b), duration_s)) for a, b in off_leg]

    def unseen(ev: dict[str, Any]) -> bool:  # while the sensor is off the leg or handled
        return (any(ev["start"] < b and ev["end"] > a - HANDLING_S for a, b in off)
                or any(ev["start"] < h["end"] and ev["end"] > h["start"] for h in handling))

    n_off_leg = sum(unseen(ev) for ev in events)
    events = [ev for ev in events if not unseen(ev)]
    for ev in events + handling:
        s, e = ev["start"] - shift, ev["end"] - shift
        if np.any((s <= gap_end) & (e >= gap_start)):
            n_in_gap += 1
            continue
        rows.append({"start_s": s, "end_s": e, "duration_s": ev["end"] - ev["start"],
                     "kind": ev["kind"], "leg": leg, "amplitude_deg": ev["amplitude_deg"],
                     "tilt_deg": ev["tilt_deg"], "peak_g": ev["peak_g"],
                     "origin": ev["origin"]})
    truth = _score_truth(pd.DataFrame(rows) if rows else _empty_truth())
    vib = pd.DataFrame(vibrations, columns=["start_s", "end_s", "peak_g"])
    vib[["start_s", "end_s"]] -= shift
    inside_gap = [bool(np.any((gap_start <= r.start_s) & (gap_end >= r.end_s)))
                  or any(r.start_s + shift < b and r.end_s + shift > a for a, b in off)
                  for r in vib.itertuples()]
    vib = vib[~np.asarray(inside_gap, dtype=bool)].reset_index(drop=True)

    info: dict[str, Any] = {
        "scenario": scenario, "description": sc.description, "seed": seed, "fs_hz": fs_hz,
        "fs_true_hz": fs_true, "clock_ppm": ppm, "hours": hours, "leg": leg,
        "start_unix_s": float(ts[0]), "sensor": sensor, "range_g": range_g, "lsb_g": lsb_g,
        "n_clipped_samples": n_clipped, "noise_rms_g": noise_rms, "bias_g": bias.tolist(),
        "gain": gain.tolist(), "heart_peak_g": heart_g, "heart_dir": heart_dir.tolist(),
        "vibration_rate_per_h": vib_rate, "n_samples_generated": n,
        "n_samples_written": int(keep.sum()), "gap_s": float(gaps["duration_s"].sum()),
        "n_events_planned": len(events), "n_events_dropped_in_gaps": n_in_gap,
        "n_postures": len(postures), "mount": mount.tolist(),
        "off_leg": [list(x) for x in off], "n_events_off_leg": n_off_leg,
    }
    info.update(plan_info)
    return SimulatedNight(samples, truth, vib, gaps, info)


def _score_truth(truth: pd.DataFrame) -> pd.DataFrame:
    """Sort the truth and label PLMs with the WASM 2016 rules (Ferri et al., Sleep Med 2016)."""
    from .config import RULES
    from .plm import score_plm

    truth = truth.sort_values("start_s", kind="stable").reset_index(drop=True)
    scored = score_plm(truth, RULES["wasm2016"]).events
    if len(scored) != len(truth) or not np.allclose(scored["start_s"], truth["start_s"]):
        raise RuntimeError("PLM scoring changed the event rows of a one-leg truth table")
    truth["plm"] = scored["plm"].to_numpy(dtype=bool)
    truth["series"] = pd.array(scored["series"], dtype="Int64")
    order = ["start_s", "end_s", "duration_s", "kind", "plm", "series", "leg", "amplitude_deg",
             "tilt_deg", "peak_g", "origin"]
    return truth[order]


def truth_path_for(path: str | Path) -> Path:
    """Where :func:`write_simulation` puts the truth for samples at ``path``: ``<stem>.truth.csv``
    (stem without ``.csv``, ``.csv.gz`` or ``.parquet``)."""
    path = Path(path)
    name = path.name
    for suffix in (".csv.gz", ".csv", ".parquet"):
        if name.lower().endswith(suffix):
            return path.with_name(name[: -len(suffix)] + ".truth.csv")
    raise ValueError(f"{path}: expected a name ending in .csv, .csv.gz or .parquet")


def write_simulation(night: SimulatedNight, path: str | Path) -> tuple[Path, Path]:
    """Write the samples (CSV, gzipped CSV or Parquet, by suffix) and the truth beside them.

    Both files are created readable by their owner only (0600).

    Parameters
    ----------
    night : SimulatedNight
    path : str or Path
        ``*.csv``, ``*.csv.gz`` or ``*.parquet``. Timestamps are written to the microsecond and
        accelerations to the micro-g in CSV; Parquet keeps them exactly.

    Returns
    -------
    samples_path, truth_path : Path
        The truth goes to ``<stem>.truth.csv`` in the same folder.
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    from .fileio import open_private, write_private
    from .output import events_csv_text

    path = Path(path)
    truth_path = truth_path_for(path)
    s = night.samples
    if path.name.lower().endswith(".parquet"):
        table = pa.Table.from_pandas(s, preserve_index=False)
        with open_private(path, "wb") as fh:
            pq.write_table(table, fh, compression="zstd")
    else:
        table = pa.table({"timestamp": np.round(s["timestamp"].to_numpy(), 6),
                          **{c: np.round(s[c].to_numpy(), 6) for c in ("x", "y", "z")}})
        opts = pacsv.WriteOptions(quoting_style="none", quoting_header="none")
        with open_private(path, "wb") as fh:
            if path.name.lower().endswith(".gz"):
                with gzip.GzipFile(fileobj=fh, mode="wb", compresslevel=6, mtime=0) as gz:
                    pacsv.write_csv(table, gz, opts)
            else:
                pacsv.write_csv(table, fh, opts)
    write_private(truth_path, events_csv_text(night.truth))
    return path, truth_path
