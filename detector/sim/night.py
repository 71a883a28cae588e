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
(:func:`detector.score.plm.score_plm`), not from how it was built.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from detector.io.recording import mask_runs
from detector.sim.plan import draw_rate, plan_events, plan_gaps, plan_slips
from detector.sim.scenarios import (BIAS_G, CLOCK_PPM, DEFAULT_SENSORS, GAIN_ERROR, HANDLING_S,
                                    HEART_PEAK_G, JITTER_MAX_S, JITTER_SD_S, NOISE_RMS_G,
                                    PARTNER_BURST_PEAK_G, PARTNER_BURST_S, PARTNER_BURST_TILT_DEG,
                                    PARTNER_SERIES_BURST_S, PARTNER_SERIES_IMI_S,
                                    PARTNER_SERIES_LENGTH, SCENARIOS, SENSORS, VIBRATION_DURATION_S,
                                    VIBRATION_PEAK_G, VIBRATION_TILT_DEG)
from detector.sim.synth import (add_shaking, angle_deg, band_noise, cross, draw_posture, drift,
                                heartbeat, min_jerk, random_rotation, rotate, slerp, strap_ring,
                                synth_lm, synth_step, synth_sustained, synth_twitch, unit)

__all__ = ["SimulatedNight", "simulate_night", "write_simulation", "truth_path_for"]


# ================================================================================================
# Scenarios
# ================================================================================================


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


# ================================================================================================
# Event planning
# ================================================================================================


# ================================================================================================
# Signal synthesis
# ================================================================================================


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
    events, plan_info = plan_events(r_plan, sc, duration_s, r_real)
    mount = random_rotation(r_pose)  # how the sensor sits on the shin: shin -> sensor frame
    slips = plan_slips(r_real, sc, events, duration_s)
    # every change of the resting posture, in time order: turn-overs (a new posture), posture
    # steps and LMs that leave the leg a little elsewhere, and slow slips of the strap
    changes = sorted([e for e in events if e["kind"] == "sustained" or "step_deg" in e] + slips,
                     key=lambda e: e["end"])
    postures = [mount @ draw_posture(r_pose)]
    for ch in changes:
        if ch["kind"] == "sustained":
            for _try in range(20):
                g_new = mount @ draw_posture(r_pose)
                if angle_deg(postures[-1], g_new) >= 20.0:
                    break
        else:
            axis = unit(cross(postures[-1], r_real.standard_normal(3)))
            g_new = rotate(postures[-1], axis, np.radians([ch["step_deg"]]))[0]
        postures.append(g_new)
    ends = np.array([e["end"] for e in changes])
    pose_idx = np.searchsorted(ends, t_s, side="left")  # posture k after the k-th change
    acc = np.asarray(postures)[pose_idx]
    for slip in slips:  # the strap turns slowly round the leg: a smooth path, not an event
        k = int(np.searchsorted(ends, slip["start"], side="left"))
        i0 = int(np.ceil(slip["start"] * fs_true))
        i1 = min(int(np.floor(slip["end"] * fs_true)) + 1, n)
        tau = (t_s[i0:i1] - slip["start"]) / (slip["end"] - slip["start"])
        acc[i0:i1] = slerp(postures[k], postures[k + 1], min_jerk(tau)[0])

    # ---- events into the signal
    for ev in events:
        i0 = int(np.ceil(ev["start"] * fs_true))
        k = int(np.searchsorted(ends, ev["start"], side="left"))
        g = postures[k]
        if ev["kind"] == "sustained":
            i1 = min(int(np.floor(ev["end"] * fs_true)) + 1, n)
            g_old, g_new = g, postures[k + 1]
            seg = synth_sustained(r_event, ev, g_old, g_new, mount, t_s[i0:i1] - ev["start"],
                                   fs_true)
            acc[i0:i1] = seg
            ev["tilt_deg"] = ev["amplitude_deg"]
            ev["peak_g"] = float(np.linalg.norm(seg - g_old, axis=1).max())
            continue
        if ev["origin"] == "step":
            i1 = min(int(np.floor(ev["end"] * fs_true)) + 1, n)
            seg = synth_step(r_real, ev, g, postures[k + 1], t_s[i0:i1] - ev["start"], fs_true)
            acc[i0:i1] = seg
            ev["peak_g"] = float(np.linalg.norm(seg - g, axis=1).max())
            continue
        ring = ev.get("ring")
        # ringing after the burst / onset jerk
        tail_s = (ring[1] + 0.6 if ring else 0.6) if ev["kind"] == "twitch" else 0.3
        i1 = min(int(np.floor((ev["end"] + tail_s) * fs_true)) + 1, n)
        tt = t_s[i0:i1] - ev["start"]
        synth = synth_twitch if ev["kind"] == "twitch" else synth_lm
        delta = synth(r_event, ev, g, mount, tt, fs_true)
        if ring:
            delta += strap_ring(r_real, ring, tt - (ev["end"] - ev["start"]))
        if "step_deg" in ev:  # the leg comes back a little elsewhere (during the last 40 %)
            dur = ev["end"] - ev["start"]
            ramp = min_jerk((tt - 0.6 * dur) / (0.4 * dur))[0] * (tt <= dur)
            delta += ramp[:, None] * (postures[k + 1] - g)
        acc[i0:i1] += delta
        ev["peak_g"] = float(np.linalg.norm(delta, axis=1).max())

    # ---- bed-partner vibration (not events)
    hours_f = duration_s / 3600.0
    vib_rate = draw_rate(r_vib, sc.vibration_rate_per_h)
    vibrations = []
    for _ in range(r_vib.poisson(vib_rate * hours_f)):
        d = float(r_vib.uniform(*VIBRATION_DURATION_S))
        s = float(r_vib.uniform(0.0, max(duration_s - d, 0.0)))
        peak = add_shaking(r_vib, acc, t_s, fs_true, s, d, VIBRATION_PEAK_G, VIBRATION_TILT_DEG)
        if peak is not None:
            vibrations.append((s, s + d, peak))
    # a restless partner: turning over on a spring mattress, and periodic movements of their own
    for _ in range(r_real.poisson(draw_rate(r_real, sc.partner_burst_rate_per_h) * hours_f)):
        d = float(r_real.uniform(*PARTNER_BURST_S))
        s = float(r_real.uniform(0.0, max(duration_s - d, 0.0)))
        peak = add_shaking(r_real, acc, t_s, fs_true, s, d, PARTNER_BURST_PEAK_G,
                      PARTNER_BURST_TILT_DEG)
        if peak is not None:
            vibrations.append((s, s + d, peak))
    for _ in range(r_real.poisson(draw_rate(r_real, sc.partner_series_per_h) * hours_f)):
        m = int(r_real.integers(*PARTNER_SERIES_LENGTH))
        s = float(r_real.uniform(0.0, max(duration_s - m * PARTNER_SERIES_IMI_S[1], 0.0)))
        for _k in range(m):
            d = float(r_real.uniform(*PARTNER_SERIES_BURST_S))
            if s + d >= duration_s:
                break
            peak = add_shaking(r_real, acc, t_s, fs_true, s, d, VIBRATION_PEAK_G, VIBRATION_TILT_DEG)
            if peak is not None:
                vibrations.append((s, s + d, peak))
            s += float(r_real.uniform(*PARTNER_SERIES_IMI_S))
    vibrations.sort()

    # ---- the sensor off the leg (its own random stream: the rest of the night is unchanged)
    worn = np.ones(n, dtype=bool)
    handling: list[dict[str, Any]] = []
    if off_leg:
        r_off = np.random.default_rng([int(seed), 0x0FF1E6])
        table = unit(np.array([0.0, 0.0, 1.0]) + r_off.normal(0.0, 0.03, 3))
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
                shake = band_noise(r_off, m, fs_true, 0.5, 12.0)
                shake *= 0.4 / (np.abs(shake).max() + 1e-12)
                acc[j0:j1] = (1 - ramp) * g_from + ramp * g_to + shake * np.sin(
                    np.pi * ramp) ** 0.5
                handling.append({"start": h0, "end": h0 + HANDLING_S, "kind": "sustained",
                                 "amplitude_deg": float("nan"), "tilt_deg": float("nan"),
                                 "peak_g": 0.4, "origin": "handling"})

    # ---- body and sensor at rest
    heart_dir = unit(r_body.standard_normal(3))
    heart_g = float(r_body.uniform(*HEART_PEAK_G))
    acc += np.outer(heartbeat(r_body, t_s, fs_true) * heart_g * worn, heart_dir)
    gain = 1.0 + r_body.uniform(-GAIN_ERROR, GAIN_ERROR, 3)
    bias = r_body.uniform(*BIAS_G, 3) * r_body.choice([-1.0, 1.0], 3)
    noise_rms = float(r_noise.uniform(*NOISE_RMS_G))
    acc *= gain
    acc += bias
    acc += drift(r_body, t_s)
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
    planned = plan_gaps(r_data, duration_s)      # drawn either way: same night otherwise
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
    from detector.config import RULES
    from detector.score.plm import score_plm

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

    from detector.fileio import open_private, write_private
    from detector.io.outputs import events_csv_text

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
