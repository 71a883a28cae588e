"""What a simulated night can hold: the physical ranges every event is drawn from (each with its
source), the sensor models, and the scenarios (event rates of one kind of night)."""

from __future__ import annotations

from dataclasses import dataclass, fields

__all__ = ["STANDARD_GRAVITY_M_S2", "MIN_SEPARATION_S", "EDGE_S", "SERIES_CLEARANCE_S",
           "MIN_SERIES_PAUSE_S", "LM_DURATION_S", "LM_MEDIAN_DURATION_S", "LM_DURATION_LOG_SIGMA",
           "LM_AMPLITUDE_DEG", "LM_PEAK_VELOCITY_DEG_S", "LM_PEAK_ANGULAR_ACCEL_RAD_S2",
           "LEVER_ARM_M", "LM_ONSET_JERK_SHARE", "LM_ONSET_JERK_G", "TWITCH_BURST_S",
           "TWITCH_PEAK_G", "TWITCH_FREQ_HZ", "TWITCH_Q", "TWITCH_JERK_DEG", "TURN_DURATION_S",
           "GETUP_DURATION_S", "GETUP_SHARE", "TURN_PEAK_G", "HEEL_STRIKE_G", "STRIDE_HZ",
           "SHIN_SWING_DEG", "VIBRATION_DURATION_S", "VIBRATION_PEAK_G", "VIBRATION_BAND_HZ",
           "VIBRATION_TILT_DEG", "NOISE_RMS_G", "BIAS_G", "GAIN_ERROR", "WARMUP_G", "WARMUP_TAU_S",
           "DRIFT_PER_MIN_G", "HANDLING_S", "HEART_RATE_BPM", "HEART_PEAK_G", "CLOCK_PPM",
           "JITTER_SD_S", "JITTER_MAX_S", "PACKET_LOSS_PER_H", "PACKET_LOSS_S", "LONG_GAP_PER_H",
           "LONG_GAP_S", "SENSORS", "DEFAULT_SENSORS", "STEP_DURATION_S", "STEP_AMPLITUDE_DEG",
           "STEP_REST_S", "PARTNER_BURST_S", "PARTNER_BURST_PEAK_G", "PARTNER_BURST_TILT_DEG",
           "PARTNER_SERIES_LENGTH", "PARTNER_SERIES_IMI_S", "PARTNER_SERIES_BURST_S",
           "STRAP_RING_HZ", "STRAP_RING_S", "STRAP_RING_G", "STRAP_SLIP_DEG", "STRAP_SLIP_S",
           "NEIGHBOUR_GAP_S", "Range", "Scenario", "SCENARIOS"]

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
