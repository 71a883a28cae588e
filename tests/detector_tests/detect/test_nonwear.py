"""Non-wear: the sensor off the leg is found, left out of the rest time, drawn and reported; a
still worn leg, however still, is never called non-wear.

Nights come from the simulator with ``off_leg`` spans: the sensor lies on a table (gravity on
its own axis, the sensor's bias, drift and noise, no pulse, no events), with a 15-s handling
movement where it is taken off or put on.
"""

from __future__ import annotations

import json

import pytest

from detector.io.clean import clean
from detector.config import Config
from detector.detect.nonwear import find_nonwear
from detector.analysis import write_outputs
from detector.analysis import analyze
import nights


def recording(sim, until_s: float | None = None):
    s = sim.samples
    if until_s is not None:
        s = s[s["timestamp"] < s["timestamp"].iloc[0] + until_s]
    return clean(s["timestamp"].to_numpy(), s[["x", "y", "z"]].to_numpy())


@pytest.mark.parametrize("fs, seed", [(25.0, 1), (50.0, 2), (100.0, 3)])
def test_two_hours_on_a_table_at_the_end(fs, seed):
    off = nights.night("plmd", hours=6, fs_hz=fs, seed=seed, off_leg=[(4 * 3600, 6 * 3600)])
    worn = nights.night("plmd", hours=6, fs_hz=fs, seed=seed)
    res = analyze(recording(off))
    m = res.metrics
    assert abs(m["nonwear_s"] - 2 * 3600) <= 5 * 60, m["nonwear_periods"]
    (period,) = m["nonwear_periods"]
    assert abs(period[0] - 4 * 3600) <= 5 * 60 and period[1] >= 6 * 3600 - 60
    # The indices are those of the same night up to when the sensor came off.
    ref = analyze(recording(worn, until_s=4 * 3600)).metrics
    assert m["plm_index"] == pytest.approx(ref["plm_index"], rel=0.05)
    assert m["lm_index"] == pytest.approx(ref["lm_index"], rel=0.05)
    assert m["rest_h"] == pytest.approx(ref["rest_h"], abs=0.15)
    # Without the detection the two hours count as rest and dilute the index by a third.
    plain = analyze(recording(off), Config().with_values(nonwear={"enabled": False})).metrics
    assert plain["nonwear_s"] == 0 and plain["plm_index"] < 0.8 * ref["plm_index"]


def test_a_sensor_put_on_late_does_not_lower_the_indices_or_start_the_settling_window():
    off = nights.night("plmd", hours=5, fs_hz=50.0, seed=4, off_leg=[(0, 3600)])
    m = analyze(recording(off)).metrics
    (period,) = m["nonwear_periods"]
    assert period[0] == 0.0 and abs(period[1] - 3600) <= 5 * 60
    assert m["rest_h"] < 4.05
    # "Before sleep" is the first 30 min with the sensor on, not the hour on the table.
    assert m["settling_h"] == pytest.approx(0.5, abs=0.02)


@pytest.mark.parametrize("scenario", ["noise", "healthy", "rls", "twitchy"])
@pytest.mark.parametrize("fs", [25.0, 100.0])
def test_a_still_worn_leg_is_never_non_wear(scenario, fs):
    # "noise" has no events at all: hours of a perfectly still leg, with only its pulse.
    for seed in (11, 12):
        sim = nights.night(scenario, hours=3, fs_hz=fs, seed=seed)
        assert find_nonwear(recording(sim)) == [], (scenario, fs, seed)


def test_non_wear_is_drawn_reported_and_in_the_summary(tmp_path):
    off = nights.night("plmd", hours=3, fs_hz=25.0, seed=5, off_leg=[(2 * 3600, 3 * 3600)])
    res = analyze(recording(off))
    written = write_outputs(res, tmp_path)
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["nonwear_s"] == pytest.approx(3600, abs=300)
    assert len(summary["nonwear_periods"]) == 1
    html = (tmp_path / "report.html").read_text()
    assert "Sensor off the leg (not worn)" in html and "left out of the rest time" in html
    fig = res.plot_night()
    legend = fig.legends[0] if fig.legends else fig.axes[0].get_legend()
    labels = [t.get_text() for t in legend.get_texts()]
    assert any(x.startswith("sensor off the leg: ") for x in labels), labels
    assert written


def test_shorter_than_the_minimum_is_not_non_wear_and_the_minimum_is_a_setting():
    cfg = Config().with_values(nonwear={"min_s": 600.0})
    assert cfg.nonwear.min_s == 600.0 and Config().nonwear.pulse_min_corr == 0.3
    # 20 min on the table (a still leg could look like that for a while): not non-wear by
    # default (30 min), found with a 10-min minimum.
    off = nights.night("noise", hours=1.5, fs_hz=25.0, seed=6, off_leg=[(3600, 4800)])
    rec = recording(off)
    assert find_nonwear(rec) == []
    (period,) = find_nonwear(rec, cfg.nonwear)
    assert 3600 <= period[0] <= 3900 and 4500 <= period[1] <= 4800


def test_a_still_block_holding_movements_is_worn_even_without_a_visible_pulse():
    # A leg whose pulse ripple does not show (a noisy sensor, or many gaps filled in), tilting
    # 3.5 degrees and back over 3 s every 2 min: each 5-min block's standard deviation stays
    # near 6 mg, under the 13-mg stillness bound, and nothing repeats at a heartbeat's interval,
    # but the values span 67 mg, over van Hees et al. (2013)'s 50-mg range, so no block is
    # still and nothing is non-wear. Without the range test the hour is one non-wear period.
    import numpy as np

    from detector.config import NonwearConfig
    from detector.io.recording import Recording

    fs = 50.0
    n = int(3600 * fs)
    rng = np.random.default_rng(3)
    acc = np.tile(np.array([0.0, 0.0, 1.0], np.float32), (n, 1))
    acc += rng.normal(0, 0.001, (n, 3)).astype(np.float32)
    m = int(3.0 * fs)
    tilt = np.deg2rad(3.5) * (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(m) / m))
    for k in range(29):
        a = int((30 + 120 * k) * fs)
        acc[a:a + m, 1] += np.sin(tilt).astype(np.float32)
        acc[a:a + m, 2] -= (1 - np.cos(tilt)).astype(np.float32)
    rec = Recording.from_array(acc, fs, 1_700_000_000.0)
    assert find_nonwear(rec) == []
    assert find_nonwear(rec, NonwearConfig(still_range_g=1.0)) == [(0.0, 3600.0)]
