"""The whole analysis on hand-built nights: bilateral merge, respiratory events, results object."""

from __future__ import annotations

import numpy as np
import pandas as pd

from detector.analysis import analyze
from detector.io.recording import Recording
from synth import rest, rotate

FS = 100.0


def legs(right_offset_s: float = 0.3, right_t0: float = 1000.0):
    """Left leg: five 2-s LMs 20 s apart from 60 s (a PLM series: 4+ LMs, IMI 20 s). Right leg:
    the first three, ``right_offset_s`` later."""
    left, right = rest(400, FS, seed=1), rest(400, FS, seed=2)
    for i in range(5):
        rotate(left, FS, 60 + 20 * i, 2.0, 8)
    shift = right_t0 - 1000.0
    for i in range(3):
        rotate(right, FS, 60 + right_offset_s + 20 * i - shift, 2.0, 8, (1, 2))
    return (Recording.from_array(left, FS, t0_unix_s=1000.0, leg="left"),
            Recording.from_array(right, FS, t0_unix_s=right_t0, leg="right"))


def test_two_legs_moving_together_are_one_bilateral_lm():
    left, right = legs()
    ev = analyze(left, other_leg=right).events
    assert list(ev["leg"]) == ["bilateral"] * 3 + ["left"] * 2
    assert ev["plm"].all() and set(ev["series"]) == {1}
    np.testing.assert_allclose(ev["start_s"], [60, 80, 100, 120, 140], atol=0.5)


def test_legs_are_aligned_on_wall_clock_time():
    # The right recording starts 7 s later; its movements are at the same wall-clock moments.
    left, right = legs(right_t0=1007.0)
    ev = analyze(left, other_leg=right).events
    assert list(ev["leg"]) == ["bilateral"] * 3 + ["left"] * 2


def test_respiratory_related_lm_is_flagged_and_plm_reported_both_ways():
    left, _ = legs()
    # Respiratory event ending at 79 s: the LM at 80 s lies in [77, 89.25] (WASM 2016 window).
    result = analyze(left, respiratory=pd.DataFrame({"start_s": [70.0], "end_s": [79.0]}))
    ev = result.events
    assert ev["respiratory"].tolist() == [False, True, False, False, False]
    assert result.metrics["n_plm"] == 5
    # Without it (removed, interval 60 -> 100 = 40 s measured across it): a series of 4.
    assert result.metrics["n_plm_without_resp"] == 4


def test_results_object_summary_and_plots():
    left, _ = legs()
    result = analyze(left)
    s = result.summary()
    assert s["n_plm"] == 5 and s["rules"] == "wasm2016" and s["fs_hz"] == FS
    assert s["config"]["rules"]["imi_min_s"] == 10.0
    per_s = result.envelope_per_second()
    assert len(per_s) == 400 and per_s["env_max_g"].max() > 0.1
    fig = result.plot_night()
    assert fig.axes


def test_summary_names_both_legs_when_two_were_analysed():
    left, right = legs()
    assert analyze(left, other_leg=right).summary()["leg"] == "left+right"
    assert analyze(left).summary()["leg"] == "left"


def _offset_legs(early_s: float = 600.0):
    """The right sensor starts ``early_s`` before the left one and stops when it does. Both legs
    move together five times 20 s apart from 60 s after the left start (wall clock); the right
    leg alone also moves three times while the left sensor is not yet recording."""
    left = rest(400, FS, seed=1)
    right = rest(400 + early_s, FS, seed=2)
    for i in range(5):
        rotate(left, FS, 60 + 20 * i, 2.0, 8)
        rotate(right, FS, early_s + 60.2 + 20 * i, 2.0, 8, (1, 2))
    for i in range(3):
        rotate(right, FS, 100 + 30 * i, 2.0, 8, (1, 2))
    return (Recording.from_array(left, FS, t0_unix_s=1000.0 + early_s, leg="left"),
            Recording.from_array(right, FS, t0_unix_s=1000.0, leg="right"))


def test_two_legs_started_ten_minutes_apart_in_either_order():
    left, right = _offset_legs()
    # The later-starting leg as the night's axis: the other's early movements are left out.
    res = analyze(left, other_leg=right)
    ev = res.events
    assert list(ev["leg"]) == ["bilateral"] * 5 and ev["plm"].all()
    np.testing.assert_allclose(ev["start_s"], [60, 80, 100, 120, 140], atol=0.5)
    assert res.info["other_leg_events_outside"] == 3
    assert res.info["other_leg_offset_s"] == -600.0
    assert (res.hourly["hour"] >= 0).all() and res.hourly["n_lm"].sum() == 5
    res.summary()
    # The earlier-starting leg as the axis: everything lies inside it.
    res = analyze(right, other_leg=left)
    ev = res.events
    assert list(ev["leg"]) == ["right"] * 3 + ["bilateral"] * 5
    np.testing.assert_allclose(ev["start_s"][3:], [660, 680, 700, 720, 740], atol=0.5)
    assert res.info["other_leg_events_outside"] == 0
    res.summary()
