"""The notebook tuning panel, driven headless: sliders, export, and the fallback without widgets."""

import importlib.util
import stat
import sys
from dataclasses import fields

import numpy as np
import pandas as pd
import pytest

import detector as lt
from detector.config import RULES, ConfigError, load_config
from detector.tuning.explore import changes_table, plot_window, static_panel, threshold_panel
from detector.score.night import EVENT_COLUMNS

needs_widgets = pytest.mark.skipif(importlib.util.find_spec("ipywidgets") is None,
                                   reason="ipywidgets is not installed (the notebooks extra)")


@pytest.fixture(scope="module")
def night(simulated_night):
    return simulated_night("plmd", hours=0.25, fs_hz=50.0, seed=3)


@pytest.fixture(scope="module")
def start(night):
    return lt.detect_movements(night)


def _events(res):
    return res.events[EVENT_COLUMNS].reset_index(drop=True)


def _kind_counts(events):
    return {k: int((events["kind"] == k).sum()) for k in ("twitch", "lm", "sustained")}


@needs_widgets
@pytest.mark.parametrize("name, section, value", [
    ("min_on_g", "envelope", 0.05),       # a higher absolute floor loses the smallest LMs
    ("twitch_max_s", "classify", 1.0),    # short LMs become twitches
    ("lowcut_hz", "bandpass", 0.5),       # a new band-pass: filtered signal recomputed
])
def test_slider_gives_the_events_of_a_fresh_detection(night, start, name, section, value):
    panel = threshold_panel(start)
    panel.controls[name].value = value
    assert getattr(getattr(panel.results.config, section), name) == value
    assert panel.overrides == {name: value}
    fresh = lt.detect_movements(night, **{name: value})
    pd.testing.assert_frame_equal(_events(panel.results), _events(fresh))
    # the setting matters on this night, so the comparison above is not the start again
    assert _kind_counts(panel.results.events) != _kind_counts(start.events)
    assert panel.start is start


@needs_widgets
def test_sliders_and_rules_accumulate(night, start):
    panel = threshold_panel(start)
    panel.controls["min_on_g"].value = 0.05
    panel.controls["merge_gap_s"].value = 1.0
    panel.controls["rules"].value = "aasm2012"
    assert panel.results.config.rules == RULES["aasm2012"]
    assert panel.overrides == {"min_on_g": 0.05, "merge_gap_s": 1.0, "rules": "aasm2012"}
    fresh = lt.detect_movements(night, min_on_g=0.05, merge_gap_s=1.0, rules="aasm2012")
    pd.testing.assert_frame_equal(_events(panel.results), _events(fresh))
    assert panel.results.metrics["n_plm"] == fresh.metrics["n_plm"]
    # back to the start: the starting events again, nothing overridden
    panel.set(min_on_g=0.02, merge_gap_s=0.5, rules="wasm2016")
    assert panel.overrides == {}
    pd.testing.assert_frame_equal(_events(panel.results), _events(start))


@needs_widgets
def test_set_moves_the_sliders_and_refuses_unknown_settings(start):
    panel = threshold_panel(start)
    panel.set(on_factor=30.0)  # beyond the slider's sensible range, within the field's
    assert panel.controls["on_factor"].value == 30.0
    assert panel.results.config.envelope.on_factor == 30.0
    with pytest.raises(ConfigError, match="smooth_s"):
        panel.set(smooth_s=0.1)


@needs_widgets
def test_invalid_combination_keeps_the_results_and_says_why(start):
    panel = threshold_panel(start)
    panel.controls["lowcut_hz"].value = 2.0
    before = panel.results
    panel.controls["highcut_hz"].value = 2.0  # band-pass corners must differ
    assert panel.message.startswith("not applied") and "lowcut_hz" in panel.message
    assert panel.results is before
    assert panel.controls["highcut_hz"].value == 20.0  # slider moved back


@needs_widgets
def test_slider_ranges_stay_within_each_field_and_below_nyquist(start):
    panel = threshold_panel(start)
    cfg = start.config
    meta = {f.name: f.metadata for s in ("bandpass", "envelope", "classify")
            for f in fields(getattr(cfg, s))}
    for name, (lo, hi, step) in panel.ranges.items():
        m = meta[name]
        assert m["lo"] is None or lo >= m["lo"], name
        assert m["hi"] is None or hi <= m["hi"], name
        assert lo <= panel.controls[name].value <= hi and step > 0, name
    # the filter clamps higher corners to 0.45 x fs, so the slider stops there
    assert panel.ranges["highcut_hz"][1] <= 0.45 * start.recording.fs_hz


def test_changes_table_counts_and_added_minus_removed(start):
    now = start.rethreshold(min_on_g=0.05)
    table = changes_table(start, now)
    for res, col in ((start, "start"), (now, "now")):
        counts = _kind_counts(res.events)
        for kind, n in counts.items():
            assert table.at[kind, col] == n
        assert table.at["plm", col] == int(res.events["plm"].sum())
        assert table.at["all", col] == len(res.events)
        assert table.at["series", col] == len(res.series)
    events = table.loc[["twitch", "lm", "plm", "sustained", "all"]]
    # events kept are matched on both sides, so the net change is added minus removed
    assert (events["change"] == events["added"] - events["removed"]).all()
    assert table.at["lm", "removed"] > 0
    assert table.loc[["series", "plm_index_per_h"], "added"].isna().all()


@needs_widgets
def test_export_button_writes_a_private_preset_that_loads_back(start, tmp_path):
    path = tmp_path / "presets" / "tuned.toml"
    panel = threshold_panel(start, export_path=path)
    panel.set(on_factor=6.5, merge_gap_s=0.4, rules="aasm2012")
    panel.export_button.click()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    loaded = load_config(path)
    assert loaded == panel.config
    assert loaded.envelope.on_factor == 6.5 and loaded.rules.standard == "aasm2012"
    assert f"--config {path}" in panel.export_html.value
    assert panel.command(path) == f"legtwitch analyze RECORDING --config {path}"


@needs_widgets
def test_window_view_draws_a_png(start):
    panel = threshold_panel(start)
    night_png = panel.image.value
    panel.window_start.value = 2.0
    panel.view.value = "window"
    assert panel.image.value[:8] == b"\x89PNG\r\n\x1a\n" and panel.image.value != night_png
    fig = plot_window(start, 120.0, 300.0, before=start)
    assert fig.axes[0].get_xlim() == (120.0, 420.0)


def test_static_panel_counts_equal_fresh_detections(night, start):
    values = [0.01, 0.05]
    table, fig = static_panel(start, "min_on_g", values)
    assert list(table["min_on_g"]) == values
    for row, v in zip(table.itertuples(), values):
        fresh = lt.detect_movements(night, min_on_g=v)
        counts = _kind_counts(fresh.events)
        assert (row.n_twitch, row.n_lm, row.n_sustained) == (
            counts["twitch"], counts["lm"], counts["sustained"])
        assert row.n_plm == int(fresh.events["plm"].sum())
    ax, right = fig.axes
    assert all(len(line.get_xdata()) == 2 for line in ax.get_lines()[:4])
    assert np.allclose(right.get_lines()[0].get_ydata(), table["plm_index"])
    rules_table, _ = static_panel(start, "rules", ["wasm2016", "aasm2012"])
    assert list(rules_table["rules"]) == ["wasm2016", "aasm2012"]


def test_falls_back_to_the_static_table_without_ipywidgets(night, start, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "ipywidgets", None)  # import ipywidgets -> ImportError
    panel = threshold_panel(start)
    assert "ipywidgets is not installed" in capsys.readouterr().out
    assert panel.widget is None
    table, _fig = panel.static
    assert "on_factor" in table.columns and 5.0 in set(table["on_factor"])
    panel.set(min_on_g=0.05)
    fresh = lt.detect_movements(night, min_on_g=0.05)
    pd.testing.assert_frame_equal(_events(panel.results), _events(fresh))
    assert panel.config.envelope.min_on_g == 0.05
