"""The synthetic-night generator: determinism, truth consistency and the physics it promises."""

from __future__ import annotations

import gzip
import stat
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from detector.io.tables import read_events
from detector.sim.night import simulate_night, truth_path_for, write_simulation
from detector.sim.scenarios import SCENARIOS, SENSORS, Scenario


# ---- helpers (read the samples the way any user of the files would) ---------------------------

def rel_time(night) -> np.ndarray:
    """Sample times in seconds from the first timestamp (the truth's time base)."""
    ts = night.samples["timestamp"].to_numpy()
    return ts - ts[0]


def xyz(night) -> np.ndarray:
    return night.samples[["x", "y", "z"]].to_numpy()


def calibrated(night) -> np.ndarray:
    """Samples with the sensor's bias and gain error taken out (as a calibration would)."""
    return (xyz(night) - np.asarray(night.info["bias_g"])) / np.asarray(night.info["gain"])


def between(t: np.ndarray, a: float, b: float) -> np.ndarray:
    return (t >= a) & (t < b)


def overlaps(table: pd.DataFrame, a: float, b: float) -> bool:
    return bool(((table["start_s"] < b) & (table["end_s"] > a)).any()) if len(table) else False


def unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def angle_deg(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.degrees(np.arccos(np.clip(np.sum(unit(a) * unit(b), axis=-1), -1.0, 1.0)))


def quiet_windows(night, length_s: float) -> list[tuple[float, float]]:
    """Stretches of at least ``length_s`` with no event (+-3 s), vibration or gap (+-1 s)."""
    busy = [(s - 3, e + 3) for s, e in zip(night.truth["start_s"], night.truth["end_s"])]
    busy += [(s - 1, e + 1) for s, e in zip(night.vibrations["start_s"], night.vibrations["end_s"])]
    busy += [(s - 1, e + 1) for s, e in zip(night.gaps["start_s"], night.gaps["end_s"])]
    busy.sort()
    out, cursor = [], 1.0
    end = rel_time(night)[-1] - 1.0
    for s, e in busy + [(end, end)]:
        if s - cursor >= length_s:
            out.append((cursor, cursor + length_s))
        cursor = max(cursor, e)
    return out


@pytest.fixture(scope="module")
def plmd(simulated_night) -> object:
    return simulated_night("plmd", 1.0, 100.0, seed=4, sensor="int16_8g")


@pytest.fixture(scope="module")
def rls(simulated_night) -> object:
    return simulated_night("rls", 1.0, 50.0, seed=2)


# ---- determinism and arguments -----------------------------------------------------------------

def test_same_seed_gives_identical_output_and_another_seed_does_not():
    a = simulate_night("plmd", 0.25, 50.0, seed=7)
    b = simulate_night("plmd", 0.25, 50.0, seed=7)
    c = simulate_night("plmd", 0.25, 50.0, seed=8)
    pd.testing.assert_frame_equal(a.samples, b.samples)
    pd.testing.assert_frame_equal(a.truth, b.truth)
    pd.testing.assert_frame_equal(a.gaps, b.gaps)
    pd.testing.assert_frame_equal(a.vibrations, b.vibrations)
    assert not a.samples[["x", "y", "z"]].equals(c.samples[["x", "y", "z"]])


def test_scenarios_are_documented_and_bad_arguments_are_refused():
    assert {"healthy", "plmd", "twitchy", "rls", "noise"} <= set(SCENARIOS)
    assert all(len(s.description) > 20 for s in SCENARIOS.values())
    with pytest.raises(ValueError, match="healthy"):
        simulate_night("insomnia", 0.1)
    with pytest.raises(ValueError, match="leg"):
        simulate_night("plmd", 0.1, leg="both")
    with pytest.raises(ValueError, match="fs_hz"):
        simulate_night("plmd", 0.1, fs_hz=5.0)
    with pytest.raises(ValueError, match="10-90"):
        Scenario("bad", "intervals outside the WASM 2016 PLM range", imi_s=(5.0, 60.0))
    with pytest.raises(ValueError, match="4"):
        Scenario("bad", "series shorter than a PLM series", series_length=(2, 10))


def test_samples_look_like_a_sensor_file():
    night = simulate_night("healthy", 0.5, 50.0, seed=1, start_unix_s=1_650_000_000.0)
    s = night.samples
    assert list(s.columns) == ["timestamp", "x", "y", "z"]
    assert all(s[c].dtype == np.float64 for c in s.columns)
    assert abs(s["timestamp"].iloc[0] - 1_650_000_000.0) < 0.01
    dt = np.diff(s["timestamp"].to_numpy())
    assert (dt > 0).all()  # jitter never reorders samples
    steady = dt[dt < 0.05]  # outside gaps
    assert abs(np.median(steady) - 1 / 50.0) < 1e-4
    # timestamp jitter of a few ms, never more than 4 ms per sample (8 ms between two)
    assert 0.0005 < np.std(steady) < 0.004
    assert np.abs(steady - 1 / 50.0).max() <= 0.0081
    assert night.info["scenario"] == "healthy" and night.info["seed"] == 1
    # the night lasts what was asked, within the +-50 ppm clock error
    assert abs(rel_time(night)[-1] - 1800.0) < 1800.0 * 60e-6 + 0.1


# ---- truth ----------------------------------------------------------------------------------

@pytest.mark.parametrize("scenario,kinds", [
    ("healthy", {"twitch", "lm"}), ("plmd", {"lm", "twitch"}), ("twitchy", {"twitch", "lm"}),
    ("rls", {"lm", "twitch", "sustained"})])
def test_truth_has_the_scenario_kinds_apart_and_within_their_durations(scenario, kinds, request):
    night = (request.getfixturevalue(scenario) if scenario in ("plmd", "rls")
             else simulate_night(scenario, 0.5, 50.0, seed=3))
    tr = night.truth
    assert kinds <= set(tr["kind"]) <= {"twitch", "lm", "sustained"}
    assert list(tr.columns[:7]) == ["start_s", "end_s", "duration_s", "kind", "plm", "series",
                                    "leg"]
    assert (tr["leg"] == "left").all()
    assert tr["start_s"].is_monotonic_increasing
    # at least 2 s between one event's end and the next one's start
    assert (tr["start_s"].to_numpy()[1:] - tr["end_s"].to_numpy()[:-1] >= 2.0 - 1e-9).all()
    np.testing.assert_allclose(tr["end_s"] - tr["start_s"], tr["duration_s"], atol=1e-9)
    d = tr.groupby("kind")["duration_s"]
    assert d.min()["twitch"] >= 0.075 and d.max()["twitch"] <= 0.25  # EMG burst 75-250 ms
    assert d.min()["lm"] >= 0.5 and d.max()["lm"] <= 10.0  # WASM 2016 LM 0.5-10 s
    if "sustained" in kinds:
        assert d.min()["sustained"] > 10.0
    twitch_peak = tr.loc[tr["kind"] == "twitch", "peak_g"]
    assert twitch_peak.min() >= 0.025 and twitch_peak.max() <= 0.4  # tens to a few hundred mg
    assert (tr.loc[tr["kind"] == "lm", "peak_g"] < 1.0).all()  # no unphysical kicks
    assert (tr["tilt_deg"] <= tr["amplitude_deg"] + 1e-6).all()
    if scenario in ("healthy", "twitchy"):
        assert "series" not in set(tr["origin"])


def test_plm_labels_follow_the_wasm_series_definition(plmd):
    tr = plmd.truth
    assert tr["series"].dtype == "Int64" and tr["plm"].dtype == bool
    assert (tr["plm"] == tr["series"].notna()).all()
    for _, s in tr[tr["plm"]].groupby("series"):
        assert len(s) >= 4  # WASM 2016: at least 4 candidate LMs
        assert (s["kind"] == "lm").all()
        imi = np.diff(s["start_s"].to_numpy())
        assert ((imi >= 10.0 - 1e-6) & (imi <= 90.0 + 1e-6)).all()  # 10-90 s inclusive
    # the scenario promises a PLM index of about 30-60/h (some series cut by gaps/turns)
    hours = (rel_time(plmd)[-1] - plmd.gaps["duration_s"].sum()) / 3600.0
    assert 20.0 <= tr["plm"].sum() / hours <= 66.0


def test_rls_night_is_restless_while_settling_then_quieter(rls):
    tr = rls.truth
    settle_s = rls.info["settling_s"]
    assert 30 * 60 <= settle_s <= 45 * 60
    moving = tr[tr["kind"].isin(["lm", "sustained"])]
    early = (moving["start_s"] < settle_s).sum() / (settle_s / 3600)
    late = (moving["start_s"] >= settle_s).sum() / ((rel_time(rls)[-1] - settle_s) / 3600)
    assert early >= 1.5 * late
    assert (tr.loc[tr["start_s"] < settle_s, "kind"] == "sustained").sum() >= 2


def test_twitchy_night_has_many_twitches():
    night = simulate_night("twitchy", 0.5, 50.0, seed=6)
    n_twitch = (night.truth["kind"] == "twitch").sum()
    assert n_twitch / 0.5 >= 50.0  # 60-150/h, a few lost in gaps


def test_noise_night_has_an_empty_truth_but_a_busy_signal():
    night = simulate_night("noise", 1.0, 50.0, seed=9)
    assert len(night.truth) == 0
    assert list(night.truth.columns)[:6] == ["start_s", "end_s", "duration_s", "kind", "plm",
                                             "series"]
    assert len(night.vibrations) >= 1 and len(night.samples) > 0.9 * 3600 * 50


# ---- physics at rest ---------------------------------------------------------------------------

@pytest.mark.parametrize("sensor", ["int16_8g", "polar_mg"])
def test_at_rest_magnitude_is_one_g_and_noise_is_one_to_two_mg(sensor):
    night = simulate_night("noise", 0.5, 100.0, seed=12, sensor=sensor)
    t, a = rel_time(night), xyz(night)
    wins = quiet_windows(night, 30.0)
    assert len(wins) >= 3
    bias_g = np.linalg.norm(night.info["bias_g"])
    for lo, hi in wins[:3]:
        seg = a[between(t, lo, hi)]
        mag = np.linalg.norm(seg, axis=1).mean()
        assert abs(mag - 1.0) <= bias_g + 0.05  # 1 g, off by the bias, gain error and drift
        # white noise from first differences (heartbeat and drift are far slower)
        rms = np.diff(seg, axis=0).std(axis=0) / np.sqrt(2)
        assert ((rms >= 0.0009) & (rms <= 0.0021)).all(), rms
        lsb = SENSORS[sensor][1]
        expected = np.sqrt(night.info["noise_rms_g"] ** 2 + lsb**2 / 12)
        np.testing.assert_allclose(rms, expected, rtol=0.15)


def test_heartbeat_ripple_is_a_few_mg_near_one_hz():
    night = simulate_night("noise", 0.5, 100.0, seed=12, sensor="int16_8g")
    t, a = rel_time(night), xyz(night)
    lo, hi = quiet_windows(night, 60.0)[0]
    seg = a[between(t, lo, hi)]
    seg = seg - seg.mean(axis=0)
    spec = np.abs(np.fft.rfft(seg, axis=0)).sum(axis=1)
    f = np.fft.rfftfreq(len(seg), 1 / 100.0)
    band = (f > 0.2) & (f < 5.0)
    assert 0.6 <= f[band][np.argmax(spec[band])] <= 1.5  # 50-75 beats/min (or its harmonic)
    # low-passed ripple of a few mg along its direction
    ripple = np.convolve(seg @ np.asarray(night.info["heart_dir"]), np.ones(10) / 10, "valid")
    assert 0.001 <= (ripple.max() - ripple.min()) / 2 <= 0.006


@pytest.mark.parametrize("sensor", ["int16_8g", "polar_mg", "int16_2g"])
def test_quantisation_step_and_range(sensor):
    night = simulate_night("healthy", 0.25, 25.0, seed=5, sensor=sensor)
    range_g, lsb = SENSORS[sensor]
    a = xyz(night)
    codes = a / lsb
    assert np.abs(codes - np.round(codes)).max() < 1e-6
    steps = np.unique(np.abs(np.diff(a[:, 0])))
    assert steps[steps > 0].min() == pytest.approx(lsb, rel=1e-6)  # the step is visible
    assert a.max() <= range_g - lsb + 1e-12 and a.min() >= -range_g


def test_getting_up_clips_a_two_g_sensor():
    night = simulate_night("healthy", 1.0, 100.0, seed=20, sensor="int16_2g")
    assert "getup" in set(night.truth["origin"])  # precondition of this seed
    a = xyz(night)
    lsb = SENSORS["int16_2g"][1]
    assert ((a == -2.0) | (a == 2.0 - lsb)).sum() > 0  # heel strikes saturate the range


# ---- physics of movements -------------------------------------------------------------------

def test_leg_movement_swings_gravity_by_its_tilt_and_returns(plmd):
    t, a = rel_time(plmd), calibrated(plmd)
    tr = plmd.truth
    smooth = pd.DataFrame(a).rolling(15, center=True, min_periods=1).mean().to_numpy()
    checked = 0
    for ev in tr[(tr["kind"] == "lm") & (tr["tilt_deg"] >= 4.0)].itertuples():
        gravity_only = 2 * np.sin(np.radians(ev.tilt_deg) / 2)
        if ev.peak_g > 1.3 * gravity_only:  # mostly dynamic acceleration: skip
            continue
        lo, hi = ev.start_s - 1.3, ev.end_s + 1.3
        if overlaps(plmd.vibrations, lo - 1, hi + 1) or overlaps(plmd.gaps, lo - 1, hi + 1):
            continue
        before = a[between(t, lo, ev.start_s - 0.05)].mean(axis=0)
        after = a[between(t, ev.end_s + 0.05, hi)].mean(axis=0)
        ang = angle_deg(smooth[between(t, lo, hi)], before)
        assert abs(ang.max() - ev.tilt_deg) <= max(1.0, 0.25 * ev.tilt_deg), ev
        # the largest swing happens inside the truth interval (time base is the first sample)
        t_max = t[between(t, lo, hi)][np.argmax(ang)]
        assert ev.start_s <= t_max <= ev.end_s
        assert angle_deg(after, before) < 0.7  # and the leg comes back
        checked += 1
    assert checked >= 5


def test_twitch_is_a_short_transient_with_energy_at_10_to_20_hz(plmd):
    t, a = rel_time(plmd), xyz(plmd)
    tr = plmd.truth
    checked = 0
    for ev in tr[(tr["kind"] == "twitch") & (tr["peak_g"] >= 0.06)].itertuples():
        if overlaps(plmd.vibrations, ev.start_s - 2, ev.end_s + 2):
            continue
        seg = a[between(t, ev.start_s - 0.2, ev.end_s + 0.8)]
        seg = seg - a[between(t, ev.start_s - 1.5, ev.start_s - 0.1)].mean(axis=0)
        spec = np.abs(np.fft.rfft(seg * np.hanning(len(seg))[:, None], n=512, axis=0)).sum(1)
        f = np.fft.rfftfreq(512, 1 / 100.0)
        assert 8.0 <= f[np.argmax(spec)] <= 22.0
        # quickly damped: 0.8 s after the burst the transient has died down below 10 %
        dev = np.linalg.norm(seg, axis=1)
        late = np.linalg.norm(a[between(t, ev.end_s + 0.8, ev.end_s + 1.3)]
                              - a[between(t, ev.start_s - 1.5, ev.start_s - 0.1)].mean(axis=0),
                              axis=1)
        assert late.max() < 0.1 * dev.max() + 0.01
        checked += 1
    assert checked >= 2


def test_sustained_movement_changes_the_resting_orientation(rls):
    t, a = rel_time(rls), calibrated(rls)
    checked = 0
    for ev in rls.truth[rls.truth["kind"] == "sustained"].itertuples():
        lo, hi = ev.start_s - 1.3, ev.end_s + 1.3
        if overlaps(rls.vibrations, lo, hi) or overlaps(rls.gaps, lo - 1, hi + 1):
            continue
        before = a[between(t, lo, ev.start_s - 0.05)].mean(axis=0)
        after = a[between(t, ev.end_s + 0.05, hi)].mean(axis=0)
        change = angle_deg(after, before)
        assert change >= 15.0  # a new posture for good
        assert change == pytest.approx(ev.amplitude_deg, abs=2.0)  # thermal drift: ~1 deg
        checked += 1
    assert checked >= 2


def test_partner_vibration_is_small_and_does_not_tilt_the_leg():
    night = simulate_night("noise", 1.0, 100.0, seed=9, sensor="int16_8g")
    t, a = rel_time(night), xyz(night)
    for v in night.vibrations.itertuples():
        if overlaps(night.gaps, v.start_s - 2, v.end_s + 2):
            continue
        rest = a[between(t, v.start_s - 1.5, v.start_s)].mean(axis=0)
        seg = a[between(t, v.start_s, v.end_s)]
        dev = np.linalg.norm(seg - rest, axis=1)
        assert 0.002 <= dev.max() <= 0.02  # a few to ~10 mg (plus noise and ripple)
        assert angle_deg(seg.mean(axis=0), rest) < 0.5


# ---- gaps -------------------------------------------------------------------------------------

def test_gaps_remove_rows_and_no_event_touches_a_gap(plmd):
    t = rel_time(plmd)
    gaps = plmd.gaps
    assert len(gaps) >= 1
    assert len(plmd.samples) == plmd.info["n_samples_written"] < plmd.info["n_samples_generated"]
    assert (gaps["duration_s"] >= 0.9).all()  # blocks of lost packets, not single samples
    for g in gaps.itertuples():
        assert not between(t, g.start_s + 0.005, g.end_s - 0.005).any()
        before, after = t[t < g.start_s][-1], t[t >= g.end_s - 0.005][0]
        assert after - before == pytest.approx(g.duration_s + 0.01, abs=0.01)
        assert not overlaps(plmd.truth, g.start_s, g.end_s)
    dropped = plmd.info["n_events_dropped_in_gaps"]
    assert len(plmd.truth) + dropped == plmd.info["n_events_planned"]


# ---- files ------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["night.csv", "night.csv.gz", "night.parquet"])
def test_write_simulation_round_trip_and_private_files(tmp_path, name):
    night = simulate_night("plmd", 0.25, 25.0, seed=3)
    data, truth = write_simulation(night, tmp_path / name)
    assert data == tmp_path / name and truth == tmp_path / "night.truth.csv"
    for p in (data, truth):
        assert stat.S_IMODE(p.stat().st_mode) == 0o600
    if name.endswith(".parquet"):
        back = pd.read_parquet(data)
        pd.testing.assert_frame_equal(back, night.samples)
    else:
        if name.endswith(".gz"):
            with gzip.open(data, "rt") as fh:
                assert fh.readline().strip() == "timestamp,x,y,z"
        back = pd.read_csv(data)
        assert list(back.columns) == ["timestamp", "x", "y", "z"]
        np.testing.assert_allclose(back.to_numpy(), night.samples.to_numpy(), rtol=0,
                                   atol=1.01e-6)
    got = read_events(truth)
    assert len(got) == len(night.truth) > 0
    assert list(got["kind"]) == list(night.truth["kind"])
    assert list(got["plm"]) == list(night.truth["plm"])
    np.testing.assert_allclose(got["start_s"], night.truth["start_s"], atol=5e-4)


def test_truth_path_naming_and_bad_suffix(tmp_path):
    assert truth_path_for(Path("a/b.csv.gz")) == Path("a/b.truth.csv")
    assert truth_path_for("x.parquet") == Path("x.truth.csv")
    with pytest.raises(ValueError, match="csv"):
        write_simulation(simulate_night("noise", 0.05, 25.0), tmp_path / "night.txt")
