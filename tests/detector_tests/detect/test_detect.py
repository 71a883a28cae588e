"""Detection on hand-built signals whose events are known exactly (see tests/synth.py)."""

from __future__ import annotations

import numpy as np
import pytest

from detector.config import Config
from detector.detect.events import merge_bouts, merge_bursts
from detector.detect.recipe import find_movements
from detector.io.recording import Recording
from detector.detect.thresholds import hysteresis, refine_edges
from synth import quantise, rest, rotate, turn_over, twitch, vibration

FS = 100.0

# (onset s, duration s, angle deg, rotation axes): leg movements 0.8-8 s, 3-15 degrees. Gravity
# starts on z, so each rotation involves z (a turn about the vertical is invisible to any
# accelerometer).
LMS = [(60, 2.0, 5, (0, 2)), (100, 0.8, 8, (1, 2)), (150, 8.0, 15, (0, 2)),
       (200, 1.5, 10, (1, 2)), (250, 4.0, 3, (0, 2))]
TWITCHES = [300, 320, 340]
TURN = (400, 15.0)
LM_AFTER_TURN = (450, 2.0, 6, (0, 1))


def night(fs: float = FS, seed: int = 0) -> np.ndarray:
    acc = rest(600, fs, seed)
    for t0, d, deg, axes in LMS:
        rotate(acc, fs, t0, d, deg, axes)
    for t0 in TWITCHES:  # a sensor's anti-alias filter keeps the transient below Nyquist
        twitch(acc, fs, t0, freq_hz=min(15.0, 0.3 * fs))
    turn_over(acc, fs, *TURN)
    t0, d, deg, axes = LM_AFTER_TURN
    rotate(acc, fs, t0, d, deg, axes)
    vibration(acc, fs, 500, 10)  # a bed partner moving: not an event
    return quantise(acc)


def kinds_and_onsets(events):
    return list(zip(events["kind"], events["start_s"]))


@pytest.mark.parametrize("fs", [100.0, 52.0, 25.0])
def test_every_planted_event_found_once_with_its_kind_and_onset(fs):
    det = find_movements(Recording.from_array(night(fs), fs))
    ev = det.events
    expected = ([("lm", t0, d) for t0, d, *_ in LMS] + [("twitch", t0, 0.15) for t0 in TWITCHES]
                + [("sustained", TURN[0], TURN[1]), ("lm", LM_AFTER_TURN[0], LM_AFTER_TURN[1])])
    expected.sort(key=lambda e: e[1])
    assert list(ev["kind"]) == [k for k, *_ in expected]
    # Onsets within 0.6 s (a sin^2 rotation starts imperceptibly); durations in the right class.
    np.testing.assert_allclose(ev["start_s"], [t for _, t, _ in expected], atol=0.6)
    lm = ev[ev["kind"] == "lm"]
    true_lm = sorted([(t0, d) for t0, d, *_ in LMS] + [LM_AFTER_TURN[:2]])
    # Measured durations are at least half the true ones and never longer than true + 1 s.
    for (t0, d), got in zip(true_lm, lm["duration_s"]):
        assert 0.5 * d <= got <= d + 1.0, (t0, d, got)


def test_rotation_angles_are_measured():
    ev = find_movements(Recording.from_array(night(), FS)).events
    lm = ev[ev["kind"] == "lm"].sort_values("start_s")
    true_deg = [deg for _, _, deg, _ in sorted(LMS + [LM_AFTER_TURN])]
    np.testing.assert_allclose(lm["rotation_deg"], true_deg, rtol=0.25, atol=0.5)


def test_an_hour_of_noise_with_partner_vibration_and_drift_has_no_events():
    fs = FS
    acc = rest(3600, fs, seed=5)
    acc[:, 0] += np.linspace(0, 0.05, acc.shape[0])  # 50 mg of thermal bias drift
    for k, t0 in enumerate(range(100, 3500, 300)):
        vibration(acc, fs, t0, 5 + k % 3 * 5, rms_g=0.004 + 0.002 * (k % 3), seed=k)
    det = find_movements(Recording.from_array(quantise(acc, 0.001), fs))  # Polar 1-mg steps
    assert len(det.events) == 0, det.events


def test_same_events_whatever_the_sensor_orientation():
    acc = night()
    base = find_movements(Recording.from_array(acc, FS)).events
    rot = np.array([[0, 0, 1], [0, 1, 0], [-1, 0, 0]], float)  # gravity now on x
    turned = find_movements(Recording.from_array(acc @ rot.T, FS)).events
    assert list(turned["kind"]) == list(base["kind"])
    np.testing.assert_allclose(turned["start_s"], base["start_s"], atol=0.05)


def test_no_event_across_a_gap_and_events_at_a_gap_are_flagged():
    acc = rest(300, FS, seed=3)
    rotate(acc, FS, 100, 4.0, 12)  # 100-104 s, cut by a gap from 102 to 130 s
    rotate(acc, FS, 200, 2.0, 8)   # untouched
    acc[int(102 * FS):int(130 * FS)] = np.nan
    rec = Recording.from_array(acc, FS)
    ev = find_movements(rec).events
    assert len(rec.gaps) == 1
    inside = (ev["end_s"] > 102.0) & (ev["start_s"] < 130.0)
    assert not inside.any(), "an event reaches into the gap"
    cut = ev[(ev["start_s"] > 99) & (ev["start_s"] < 102)]
    assert len(cut) == 1 and bool(cut["at_gap"].iloc[0]) and cut["end_s"].iloc[0] <= 102.0
    whole = ev[(ev["start_s"] > 199) & (ev["start_s"] < 201)]
    assert len(whole) == 1 and not bool(whole["at_gap"].iloc[0])


def test_envelope_is_nan_inside_gaps():
    acc = rest(120, FS)
    acc[3000:6000] = np.nan
    det = find_movements(Recording.from_array(acc, FS))
    assert np.isnan(det.envelope_g[3000:6000]).all()
    assert np.isfinite(det.envelope_g[:3000]).all() and np.isfinite(det.envelope_g[6000:]).all()


def test_raising_the_threshold_loses_the_small_movement_only():
    acc = night()
    cfg = Config().with_overrides(["envelope.min_on_g=0.07"])
    ev = find_movements(Recording.from_array(acc, FS), cfg).events
    lm_onsets = ev.loc[ev["kind"] == "lm", "start_s"].to_numpy()
    assert not np.any(np.abs(lm_onsets - 250) < 1), "the 3-degree movement peaks near 50 mg"
    assert np.any(np.abs(lm_onsets - 200) < 1)


def test_hysteresis_keeps_runs_above_off_that_reach_on():
    env = np.array([0, 2, 5, 2, 0, 2, 3, 2, 0, 6, 0], float)
    on = np.full(env.size, 4.0)
    off = np.full(env.size, 1.0)
    s, e = hysteresis(env, on, off)
    assert s.tolist() == [1, 9] and e.tolist() == [4, 10]


def test_merge_bursts_joins_gaps_shorter_than_the_limit():
    s, e = merge_bursts(np.array([0, 10, 30]), np.array([5, 20, 40]), max_gap=6)
    assert s.tolist() == [0, 30] and e.tolist() == [20, 40]
    s, e = merge_bursts(np.array([0, 10]), np.array([5, 20]), max_gap=5)
    assert s.tolist() == [0, 10], "a gap of exactly the limit is not merged"


def test_refine_edges_moves_out_to_the_noise_but_not_into_a_neighbour():
    env = np.array([0, 1, 2, 3, 5, 5, 3, 2, 1, 0, 2, 5, 2, 0], float)
    level = np.full(env.size, 0.5)
    s, e = refine_edges(env, np.array([4, 11]), np.array([6, 12]), level, max_shift=5)
    assert s.tolist() == [1, 10]
    assert e.tolist() == [9, 13]


def test_merge_bouts_joins_pauses_next_to_a_sustained_movement_only():
    # 0-3 (short), 5-20 (long: > 10), 22-25 (short), 40-43 (short), 45-48 (short); gap limit 3.
    s = np.array([0, 5, 22, 40, 45])
    e = np.array([3, 20, 25, 43, 48])
    ms, me = merge_bouts(s, e, long_min=10, max_gap=3)
    assert ms.tolist() == [0, 40, 45] and me.tolist() == [25, 43, 48]


def test_short_moving_windows_match_scipy_away_from_the_ends():
    from scipy.ndimage import maximum_filter1d, uniform_filter1d

    from detector.detect.envelope import shifted_window

    a = np.random.default_rng(0).random(500).astype(np.float32)
    for size in (2, 3, 4, 7):
        np.testing.assert_allclose(shifted_window(a, size, "max"), maximum_filter1d(a, size))
        np.testing.assert_allclose(shifted_window(a, size, "mean")[size:-size],
                                   uniform_filter1d(a, size)[size:-size], rtol=1e-6)


def test_a_busy_day_before_a_night_leaves_the_nights_events_as_they_are():
    # Which 1-s blocks are still is decided from the blocks around each (30 min), not from the
    # whole recording: 2 h of walking-like shaking before the night (most of the recording)
    # must not make the night's movements look still. The night is the planted one above,
    # after 20 min of rest; alone and after the busy 2 h it has the same events.
    fs = 25.0
    quiet = np.concatenate([quantise(rest(1200, fs, seed=3)), night(fs)])
    busy = rest(7200, fs, seed=4)
    vibration(busy, fs, 0, 7200, rms_g=0.08, seed=5)
    alone = find_movements(Recording.from_array(quiet, fs)).events
    after_day = find_movements(Recording.from_array(np.concatenate([busy, quiet]), fs)).events
    after_day = after_day[after_day["start_s"] >= 7200].reset_index(drop=True)
    assert len(alone) == len(LMS) + len(TWITCHES) + 2
    assert list(after_day["kind"]) == list(alone["kind"])
    np.testing.assert_allclose(after_day["start_s"] - 7200, alone["start_s"], atol=1e-6)
    np.testing.assert_allclose(after_day["duration_s"], alone["duration_s"], atol=1e-6)
