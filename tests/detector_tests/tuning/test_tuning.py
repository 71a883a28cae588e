"""The notebook API: one call for a night, exact re-thresholding, presets that round-trip."""

from __future__ import annotations

import os
import stat

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

import detector as lt
from detector.cli import main
from detector.config import RULES, Config, ConfigError, load_config
from detector.analysis import analyze
from detector.io.recording import InputError, Recording
from detector.sim.night import write_simulation
from detector.tuning.results import MovementResults
from synth import quantise, rest, rotate, twitch

FS = 50.0


@pytest.fixture(scope="module")
def night(simulated_night):
    return simulated_night("plmd", hours=0.5, fs_hz=FS, seed=11)


@pytest.fixture(scope="module")
def res(night) -> MovementResults:
    return lt.detect_movements(night)


def periodic_night(imi_s: float, n_lm: int = 5, fs: float = FS) -> np.ndarray:
    """Rest with ``n_lm`` 2-s leg movements (8 degrees) every ``imi_s`` seconds from 60 s, and
    three twitches after them."""
    dur = 60 + imi_s * n_lm + 120
    acc = rest(dur, fs, seed=3)
    for k in range(n_lm):
        rotate(acc, fs, 60 + k * imi_s, 2.0, 8, (0, 2) if k % 2 else (1, 2))
    end = 60 + imi_s * n_lm
    for t0 in (end + 20, end + 40, end + 60):
        twitch(acc, fs, t0, freq_hz=min(15.0, 0.3 * fs))
    return quantise(acc)


# --- exactness of the cache ---------------------------------------------------------------------

OVERRIDES = [
    {"on_factor": 7.0},
    {"off_ratio": 0.3, "min_on_g": 0.03},
    {"merge_gap_s": 0.2, "min_duration_s": 0.1},
    {"envelope__bout_merge_gap_s": 1.0, "edge_factor": 2.0},
    {"twitch_max_s": 0.4, "classify__lm_max_s": 8.0},
    {"rules": "aasm2012"},
    {"noise_quantile": 0.4},            # the noise floor is recomputed
    {"smooth_s": 0.1},                  # the envelope is recomputed
    {"highcut_hz": 8.0},                # the band-pass is recomputed
    {"lowcut_hz": 0.3, "on_factor": 4.0},
]


@pytest.mark.parametrize("overrides", OVERRIDES, ids=lambda o: ",".join(o))
def test_rethreshold_equals_a_fresh_analysis_with_the_same_settings(res, overrides):
    tuned = res.rethreshold(**overrides)
    fresh = analyze(res.recording, Config().with_values(**overrides))
    pd.testing.assert_frame_equal(tuned.events, fresh.events)
    pd.testing.assert_frame_equal(tuned.series, fresh.series)
    assert tuned.metrics == fresh.metrics
    np.testing.assert_array_equal(tuned.threshold_on_g, fresh.threshold_on_g)


def test_going_back_to_the_start_gives_the_start_again(res):
    back = res.rethreshold(on_factor=9.0).rethreshold(on_factor=Config().envelope.on_factor)
    pd.testing.assert_frame_equal(back.events, res.events)


def test_threshold_changes_reuse_the_filtered_signal_and_envelope(night):
    r = lt.detect_movements(night)
    hits = dict(r.cache.hits)
    r.rethreshold(on_factor=6.0, merge_gap_s=0.3, rules="aasm2012")
    assert r.cache.hits["filter"] == hits["filter"] + 1
    assert r.cache.hits["envelope"] == hits["envelope"] + 1
    assert r.cache.hits["floor"] == hits["floor"] + 1
    r.rethreshold(highcut_hz=10.0)          # a new band: nothing reused
    assert r.cache.hits["filter"] == hits["filter"] + 1


# --- known ground truth through the API
# ------------------------------------------------------------

def test_known_series_scored_under_each_rule_set():
    # Five LMs 7 s apart: a PLM series under AASM 2012 (IMI 5-90 s) but not WASM 2016 (10-90 s).
    acc = periodic_night(imi_s=7.0)
    res = lt.detect_movements(acc, fs=FS)
    lm = res.events[res.events["kind"] == "lm"]
    np.testing.assert_allclose(lm["start_s"], 60 + 7.0 * np.arange(5), atol=0.6)
    assert (res.events["kind"] == "twitch").sum() == 3
    assert res.metrics["n_plm"] == 0 and len(res.series) == 0
    aasm = res.rethreshold(rules="aasm2012")
    assert aasm.metrics["n_plm"] == 5 and len(aasm.series) == 1
    assert aasm.events.loc[aasm.events["kind"] == "lm", "plm"].all()
    assert aasm.config.rules == RULES["aasm2012"]


def test_raising_the_absolute_on_threshold_above_the_movements_removes_them():
    acc = periodic_night(imi_s=20.0)
    res = lt.detect_movements(acc, fs=FS)
    assert (res.events["kind"] == "lm").sum() == 5 and res.metrics["n_plm"] == 5
    lm_peak_g = res.events.loc[res.events["kind"] == "lm", "peak_g"].max()
    quiet = res.rethreshold(min_on_g=float(lm_peak_g) * 1.5)
    assert (quiet.events["kind"] == "lm").sum() == 0 and quiet.metrics["n_plm"] == 0


# --- inputs
# ------------------------------------------------------------------------------------------

def test_every_kind_of_input_gives_the_same_events(night, res, tmp_path):
    path = tmp_path / "night.csv"
    write_simulation(night, path)
    from_file = lt.detect_movements(path)
    from_frame = lt.detect_movements(night.samples)
    from_rec = lt.detect_movements(res.recording)
    arr = lt.detect_movements(res.recording.acc_g, fs=res.recording.fs_hz)
    cols = ["start_s", "end_s", "kind", "plm"]
    for other in (from_file, from_frame, from_rec):
        pd.testing.assert_frame_equal(other.events[cols], res.events[cols], atol=1e-6)
    pd.testing.assert_frame_equal(arr.events[cols], res.events[cols])


def test_a_frame_in_mg_with_iso_times_is_converted():
    fs = 25.0
    acc = periodic_night(20.0, fs=fs)
    t = pd.Timestamp("2026-01-02T23:00:00Z") + pd.to_timedelta(np.arange(len(acc)) / fs, "s")
    frame = pd.DataFrame({"time": t.strftime("%Y-%m-%dT%H:%M:%S.%f"), "acc_x_mg": acc[:, 0] * 1000,
                          "acc_y_mg": acc[:, 1] * 1000, "acc_z_mg": acc[:, 2] * 1000})
    res = lt.detect_movements(frame)
    assert res.recording.fs_hz == fs
    assert res.recording.start_time == t[0].to_pydatetime()
    assert (res.events["kind"] == "lm").sum() == 5


@pytest.mark.parametrize("data, fs, message", [
    (np.zeros((100, 3)), None, "fs="),
    (np.zeros((100, 4)), 50.0, "(n, 3)"),
    ([1, 2, 3], None, "cannot read a recording from list"),
    (pd.DataFrame({"a": [1.0], "b": [2.0]}), None, "missing a time column"),
])
def test_bad_inputs_say_what_was_expected(data, fs, message):
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        lt.detect_movements(data, fs=fs)


def test_a_recording_with_a_different_fs_is_refused(res):
    with pytest.raises(InputError, match="leave fs out"):
        lt.detect_movements(res.recording, fs=100.0)


# --- overrides -----------------------------------------------------------------------------------

def test_override_forms_agree():
    a = Config().with_values(on_factor=6, merge_gap_s=0.4)
    b = Config().with_values(envelope__on_factor=6.0, envelope__merge_gap_s=0.4)
    c = Config().with_values(envelope={"on_factor": 6, "merge_gap_s": 0.4})
    assert a == b == c
    assert a.envelope.on_factor == 6.0 and a.classify == Config().classify


def test_rules_name_then_rule_keys():
    cfg = Config().with_values(rules="aasm2012", imi_max_s=120.0)
    assert cfg.rules.imi_min_s == 5.0 and cfg.rules.imi_max_s == 120.0


@pytest.mark.parametrize("overrides, message", [
    ({"lm_max_s": 12.0}, "classify__lm_max_s or rules__lm_max_s"),
    ({"on_factr": 6.0}, "on_factr: unknown setting"),
    ({"envelope__nope": 1.0}, "unknown key envelope.nope"),
    ({"on_factor": 0.5}, "below the minimum"),
    ({"rules": "wasm2099"}, "expected one of wasm2016, aasm2012"),
    ({"envelope": 3}, "takes a dict"),
    ({"on_factor": float("nan")}, "not a finite number"),
    ({"min_on_g": float("inf")}, "not a finite number"),
])
def test_bad_overrides_raise_with_the_key(overrides, message):
    with pytest.raises(ConfigError, match=message):
        Config().with_values(**overrides)


def test_cleaning_settings_cannot_change_after_loading(res):
    with pytest.raises(ConfigError, match="while loading"):
        res.rethreshold(max_interp_s=1.0)


# --- presets -------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["default", "aasm2012", "sensitive"])
def test_every_preset_round_trips_through_toml(name, tmp_path):
    cfg = load_config(name).with_values(on_factor=6.125, merge_gap_s=0.3, min_on_g=0.0125)
    path = tmp_path / "p.toml"
    text = cfg.to_toml(path)
    assert path.read_text() == text
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert load_config(path) == cfg


def test_exported_preset_gives_the_notebook_events_in_legtwitch_analyze(night, res, tmp_path):
    tuned = res.rethreshold(on_factor=6.5, merge_gap_s=0.35, twitch_max_s=0.45,
                            rules="aasm2012")
    preset = tmp_path / "tuned.toml"
    tuned.config.to_toml(preset)
    rec_path = tmp_path / "night.csv"
    write_simulation(night, rec_path)
    out = tmp_path / "out"
    assert main(["analyze", str(rec_path), "--config", str(preset), "--out", str(out), "-q"]) == 0
    written = pd.read_csv(out / "events.csv")
    fs = res.recording.fs_hz
    assert len(written) == len(tuned.events)
    np.testing.assert_array_equal(np.round(written["start_s"] * fs),
                                  np.round(tuned.events["start_s"] * fs))
    np.testing.assert_array_equal(np.round(written["end_s"] * fs),
                                  np.round(tuned.events["end_s"] * fs))
    assert list(written["kind"]) == list(tuned.events["kind"])
    assert list(written["plm"]) == list(tuned.events["plm"])


# --- results object ------------------------------------------------------------------------------

def test_mask_covers_exactly_the_events_of_a_kind():
    acc = periodic_night(imi_s=20.0)
    res = lt.detect_movements(acc, fs=FS)
    lm = res.events[res.events["kind"] == "lm"]
    mask = res.get_mask("lm")
    assert mask.shape == (len(acc),) and mask.dtype == bool
    assert mask.sum() == int(np.round(lm["duration_s"] * FS).sum())
    for s, e in zip(lm["start_s"], lm["end_s"]):
        i0, i1 = int(round(s * FS)), int(round(e * FS))
        assert mask[i0:i1].all() and not mask[i0 - 1] and not mask[i1]
    assert (res.get_mask("plm") == mask).all()        # all five LMs are PLMs
    both = res.get_mask(["lm", "twitch"])
    assert both.sum() > mask.sum()
    with pytest.raises(ValueError, match="expected one of"):
        res.get_mask("jerk")


def test_event_summary_counts_each_kind(res):
    table = res.event_summary()
    ev = res.events
    assert list(table.index) == ["twitch", "lm", "plm", "sustained"]
    assert table.loc["lm", "count"] == (ev["kind"] == "lm").sum()
    assert table.loc["plm", "count"] == ev["plm"].sum() == res.metrics["n_plm"]
    assert table.loc["lm", "per_h"] == pytest.approx(
        (ev["kind"] == "lm").sum() / res.metrics["rest_h"], abs=0.01)


def test_plots(res):
    assert isinstance(res.plot_night(), Figure)
    fig = res.plot_event(0)
    assert isinstance(fig, Figure)
    assert isinstance(res.plot_event(float(res.events["start_s"].iloc[1])), Figure)
    assert isinstance(res.plot_event({"start_s": 100.0, "duration_s": 1.0, "kind": "lm"}), Figure)
    with pytest.raises(IndexError, match="events"):
        res.plot_event(len(res.events))
    fig = res.plot_average()
    kinds = [k for k in ("twitch", "lm", "sustained") if (res.events["kind"] == k).any()]
    assert len(fig.axes) == len(kinds)
    assert len(res.plot_average(["lm", "plm"]).axes) == 2


def test_repr_and_describe(res):
    assert "LMs" in repr(res) and "wasm2016" in repr(res)
    assert "Ferri" in res.describe() and f"{res.recording.fs_hz:g} Hz" in res.describe()


def test_summary_matches_the_pipeline(res):
    assert res.summary() == analyze(res.recording, res.config).summary()


def test_recording_is_unchanged_by_rethresholding(res):
    before = res.recording.acc_g.copy()
    res.rethreshold(highcut_hz=5.0)
    np.testing.assert_array_equal(res.recording.acc_g, before)
    assert isinstance(res.recording, Recording)


# --- bad input never crashes otherwise ----------------------------------------------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra.numpy import arrays  # noqa: E402


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(acc=arrays(np.float64, st.tuples(st.integers(0, 400), st.just(3)),
                  elements=st.one_of(st.floats(-20, 20), st.sampled_from([np.nan, np.inf]))),
       fs=st.sampled_from([10.0, 25.0, 100.0]))
def test_any_array_gives_results_or_a_clear_error(acc, fs):
    try:
        res = lt.detect_movements(acc, fs=fs)
    except InputError as exc:
        assert "array" in str(exc) or "fs" in str(exc)
        return
    assert set(res.events["kind"]) <= {"twitch", "lm", "sustained"}
    assert res.get_mask().shape == (len(acc),)
    assert len(res.rethreshold(on_factor=8.0).events) >= 0


@settings(max_examples=60, deadline=None)
@given(name=st.sampled_from(["on_factor", "min_on_g", "rules", "merge_gap_s", "imi_min_s",
                             "classify__twitch_max_s", "bogus", "lm_max_s", "envelope"]),
       value=st.one_of(st.floats(allow_nan=True), st.integers(-5, 500), st.text(max_size=8),
                       st.booleans(), st.none()))
def test_any_override_gives_a_config_or_a_config_error(name, value):
    try:
        cfg = Config().with_values(**{name: value})
    except ConfigError as exc:
        assert str(exc)
        return
    assert isinstance(cfg, Config)


def test_figures_show_themselves_in_jupyter_without_matplotlib_inline(res):
    """IPython displays an object with _repr_png_; figures built without pyplot have no backend
    that would register them."""
    for fig in (res.plot_night(), res.plot_event(0), res.plot_average()):
        assert fig._repr_png_()[:8] == b"\x89PNG\r\n\x1a\n"
    from IPython.core.formatters import DisplayFormatter

    data, _ = DisplayFormatter().format(res.plot_average("lm"))
    assert "image/png" in data


def test_results_pickle_and_rethreshold_after_unpickling(res):
    import pickle

    back = pickle.loads(pickle.dumps(res))
    pd.testing.assert_frame_equal(back.events, res.events)
    pd.testing.assert_frame_equal(back.rethreshold(on_factor=7.0).events,
                                  res.rethreshold(on_factor=7.0).events)
