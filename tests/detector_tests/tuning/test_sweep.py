"""Parameter sweeps: the tidy table, its agreement with a direct detection, parallel back-ends,
up-front validation, rule sets in the grid, pooled summaries and the sweep figures.

Expected scores come from an independent path (``detect_movements(...).rethreshold(**combo)``
then ``compare_detection``), from the WASM 2016 / AASM 2012 series rules applied by hand to a
signal with planted movements, or from hand-built tp/fp/fn numbers.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

import synth  # noqa: E402
import detector.tuning.sweep as sweep_mod  # noqa: E402
import detector.detect.recipe as tuning  # noqa: E402
from detector.config import Config, ConfigError  # noqa: E402
from detector.tuning.evaluate import compare_detection  # noqa: E402
from detector.io.recording import InputError, Recording  # noqa: E402
from detector.score.reference import Reference  # noqa: E402
from detector.tuning.sweep import SWEEP_COLUMNS, best_params, summarize_sweep, sweep  # noqa: E402
from detector.tuning.sweep_plots import plot_error_surface, plot_precision_recall  # noqa: E402
from detector.tuning.results import detect_movements

KINDS = ["twitch", "lm", "sustained", "plm", "all"]
#: Two settings that change what is found on these nights (checked in the test that uses them).
GRID = {"min_on_g": [0.02, 0.1], "twitch_max_s": [0.5, 1.5]}
COUNTS = ["n_true", "n_detected", "tp", "fp", "fn"]
RATIOS = ["precision", "recall", "f1", "mean_onset_error_s"]


@pytest.fixture(scope="module")
def nights(simulated_night):
    return [simulated_night("plmd", hours=0.25, seed=1), simulated_night("rls", hours=0.25, seed=3)]


@pytest.fixture(scope="module")
def swept(nights):
    return sweep(nights, None, GRID, max_workers=1)


def rows_of(df: pd.DataFrame, recording: str, combo: dict) -> pd.DataFrame:
    sel = df["recording"] == recording
    for key, value in combo.items():
        sel &= df[key] == value
    return df[sel].set_index("kind").loc[KINDS]


# ------------------------------------------------------------------------------------------------
# The table
# ------------------------------------------------------------------------------------------------

def test_tidy_table_one_row_per_recording_combination_and_kind(swept):
    assert list(swept.columns) == ["recording", "min_on_g", "twitch_max_s", "kind", *SWEEP_COLUMNS]
    for col in ("plm_index_true", "plm_index_detected", "plm_index_error", "rest_h", "f1",
                "mean_onset_error_s"):
        assert col in swept.columns
    assert len(swept) == 2 * 4 * 5
    # list input: named <scenario>-seed<seed>; recording, then grid order, then kind order
    assert swept["recording"].unique().tolist() == ["plmd-seed1", "rls-seed3"]
    combos = list(zip(swept["min_on_g"], swept["twitch_max_s"]))[::5]
    assert combos == [(0.02, 0.5), (0.02, 1.5), (0.1, 0.5), (0.1, 1.5)] * 2
    assert swept["kind"].tolist() == KINDS * 8
    # the PLM index columns describe the (recording, combination): the same on its five rows
    per_block = swept.groupby(["recording", "min_on_g", "twitch_max_s"])
    for col in ("plm_index_true", "plm_index_detected", "plm_index_error", "rest_h"):
        assert (per_block[col].nunique() == 1).all()


def test_scores_equal_a_direct_detection_and_comparison(swept, nights):
    names = ["plmd-seed1", "rls-seed3"]
    combos = [{"min_on_g": 0.1, "twitch_max_s": 0.5}, {"min_on_g": 0.02, "twitch_max_s": 1.5}]
    for night, name in zip(nights, names):
        first = detect_movements(night)
        expected = []
        for combo in combos:
            res = first.rethreshold(**combo)
            want = compare_detection(res.events, night.truth).set_index("kind").loc[KINDS]
            expected.append(want)
            got = rows_of(swept, name, combo)
            assert got[COUNTS].astype(int).equals(want[COUNTS].astype(int)), (name, combo)
            np.testing.assert_allclose(got[RATIOS].to_numpy(float), want[RATIOS].to_numpy(float),
                                       rtol=0, atol=1e-12, equal_nan=True)
            rest_h = res.metrics["rest_h"]
            n_det, n_true = int(res.events["plm"].sum()), int(night.truth["plm"].sum())
            np.testing.assert_allclose(got["rest_h"], rest_h)
            np.testing.assert_allclose(got["plm_index_detected"], n_det / rest_h)
            np.testing.assert_allclose(got["plm_index_true"], n_true / rest_h)
            np.testing.assert_allclose(got["plm_index_error"], (n_det - n_true) / rest_h)
        # the two combinations really differ here, so a mix-up of rows would be caught
        assert not expected[0][COUNTS].equals(expected[1][COUNTS])


def test_process_pool_thread_pool_and_in_process_agree(swept, nights):
    lines: list[str] = []
    pooled = sweep(nights, None, GRID, max_workers=2, progress=lines.append)
    pd.testing.assert_frame_equal(pooled, swept)
    assert sorted(line.split(":")[1].strip() for line in lines) == ["plmd-seed1", "rls-seed3"]
    with ThreadPoolExecutor(max_workers=2) as ex:
        threaded = sweep(nights, None, GRID, executor=ex)
    pd.testing.assert_frame_equal(threaded, swept)


def test_max_workers_1_runs_in_this_process(nights, monkeypatch):
    class NoPool:
        def __init__(self, *a, **k):
            raise AssertionError("a process pool was started")

    monkeypatch.setattr(sweep_mod, "ProcessPoolExecutor", NoPool)
    df = sweep({"a": nights[0], "b": nights[1]}, None, {"on_factor": [5.0]}, max_workers=1)
    assert df["recording"].unique().tolist() == ["a", "b"]
    # one recording: the default needs no pool either
    assert len(sweep([nights[0]], None, {"on_factor": [5.0]})) == 5


def test_combinations_sharing_the_band_pass_run_together(nights, monkeypatch):
    calls = []
    real = tuning.filter_segments

    def counting(rec, bp):
        calls.append(bp.highcut_hz)
        return real(rec, bp)

    monkeypatch.setattr(tuning, "filter_segments", counting)
    grid = [{"highcut_hz": 10.0, "on_factor": 4.0}, {"highcut_hz": 20.0, "on_factor": 4.0},
            {"highcut_hz": 10.0, "on_factor": 6.0}, {"highcut_hz": 20.0, "on_factor": 6.0}]
    df = sweep([nights[0]], None, grid, max_workers=1)
    assert sorted(calls) == [10.0, 20.0]  # in grid order it would filter four times
    assert df["highcut_hz"].tolist()[::5] == [10.0, 20.0, 10.0, 20.0]  # rows stay in grid order


# ------------------------------------------------------------------------------------------------
# Validation before any work
# ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("grid, named", [
    ({"on_factor": [4.0], "on_facter": [5.0]}, "on_facter"),
    ([{"on_factor": 4.0}, {"on_factor": 5.0}, {"merge_gap": 0.3}], "merge_gap"),
    ({"on_factor": [4.0, -1.0]}, "on_factor"),
    ({"lm_max_s": [8.0]}, "lm_max_s"),  # in two sections: ambiguous
    ({"rules": ["wasm2016", "aasm2013"]}, "aasm2013"),
    ({"envelope": [{"on_factor": 4.0}]}, "envelope"),
    ({"on_factor": [4.0, 4.0]}, "repeats"),
    ({"on_factor": []}, "on_factor"),
])
def test_bad_grid_raises_before_any_detection(nights, monkeypatch, grid, named):
    calls = []
    monkeypatch.setattr(sweep_mod, "detect_movements", lambda *a, **k: calls.append(a))
    with pytest.raises(ConfigError, match=named):
        sweep(nights, None, grid, max_workers=1)
    assert calls == []


def test_bad_references_raise_before_any_detection(nights, monkeypatch, tmp_path):
    calls = []
    monkeypatch.setattr(sweep_mod, "detect_movements", lambda *a, **k: calls.append(a))
    rec = Recording.from_array(np.zeros((1000, 3)), 100.0)
    with pytest.raises(InputError, match="'bare'.*simulated night"):
        sweep({"bare": rec}, None, {"on_factor": [5.0]})
    with pytest.raises(InputError, match="missing.csv"):
        sweep(nights, [None, tmp_path / "missing.csv"], {"on_factor": [5.0]})
    with pytest.raises(InputError, match="start_s"):
        sweep(nights, [None, pd.DataFrame({"onset": [1.0], "kind": ["lm"]})], {"on_factor": [5.0]})
    with pytest.raises(InputError, match="2 recordings"):
        sweep(nights, [None], {"on_factor": [5.0]})
    assert calls == []


# ------------------------------------------------------------------------------------------------
# Rules in the grid, references in every form, failing recordings
# ------------------------------------------------------------------------------------------------

def six_lms_7s_apart() -> tuple[Recording, pd.DataFrame]:
    """6 minutes of rest with six 2-s, 20-degree leg movements whose onsets are 7 s apart."""
    fs = 100.0
    acc = synth.rest(360.0, fs, seed=3)
    onsets = [100.0 + 7.0 * k for k in range(6)]
    for t0 in onsets:
        synth.rotate(acc, fs, t0, 2.0, 20.0)
    # WASM 2016: intervals of 7 s are below 10 s, so the reference has no PLM
    truth = pd.DataFrame({"start_s": onsets, "end_s": [t + 2.0 for t in onsets],
                          "kind": "lm", "plm": False})
    return Recording.from_array(acc, fs, source="six_lms.csv"), truth


def test_rule_sets_in_the_grid():
    rec, truth = six_lms_7s_apart()
    grid = [{"rules": "wasm2016"}, {"rules": "aasm2012"}, {"rules": "aasm2012", "imi_min_s": 8.0},
            {"imi_min_s": 5.0}]
    df = sweep([rec], [truth], grid)
    assert df["recording"].unique().tolist() == ["six_lms.csv"]
    assert df["rules"].tolist()[::5] == ["wasm2016", "aasm2012", "aasm2012", None]
    plm = df[df["kind"] == "plm"]
    # a series needs >= 4 LMs with onset intervals inside the rule's range (inclusive):
    # WASM 2016 10-90 s -> none; AASM 2012 5-90 s -> all six; 8-90 s -> none; 5-90 s -> six
    assert plm["n_detected"].tolist() == [0, 6, 0, 6]
    assert plm["fp"].tolist() == [0, 6, 0, 6]
    np.testing.assert_allclose(plm["rest_h"], 0.1)  # 360 s without gaps
    np.testing.assert_allclose(plm["plm_index_detected"], [0.0, 60.0, 0.0, 60.0])
    np.testing.assert_allclose(plm["plm_index_error"], [0.0, 60.0, 0.0, 60.0])
    lm = df[df["kind"] == "lm"]
    assert lm["tp"].tolist() == [6, 6, 6, 6] and lm["fp"].tolist() == [0, 0, 0, 0]
    best = best_params(df, kind="plm", metric="plm_index_error")
    assert best == {"rules": "wasm2016"}  # error 0 first; a tie keeps grid order
    Config().with_values(**best)


def test_reference_as_path_table_or_reference_object(nights, tmp_path):
    night = nights[0]
    path = tmp_path / "plmd.truth.csv"
    night.truth.to_csv(path, index=False)
    ref = Reference.from_table(night.truth[["start_s", "end_s", "kind", "plm", "leg"]])
    grid = {"min_on_g": [0.02, 0.1]}
    want = sweep({"n": night}, None, grid, max_workers=1)
    for reference in (path, str(path), night.truth, ref):
        got = sweep({"n": night}, {"n": reference}, grid, max_workers=1)
        pd.testing.assert_frame_equal(got, want)


def test_a_failing_recording_is_reported_and_the_others_kept(nights, tmp_path):
    bad = tmp_path / "lost.csv"
    recordings = {"good": nights[0], "lost": bad}
    references = {"good": None, "lost": nights[0].truth}
    grid = {"min_on_g": [0.02, 0.1]}
    alone = sweep({"good": nights[0]}, None, grid, max_workers=1)
    with pytest.raises(InputError, match="'lost' failed.*lost.csv") as info:
        sweep(recordings, references, grid, max_workers=1)
    pd.testing.assert_frame_equal(info.value.partial, alone)

    kept = sweep(recordings, references, grid, max_workers=1, errors="keep")
    assert list(kept.columns) == [*alone.columns, "error"]
    assert len(kept) == 2 * 2 * 5
    good, lost = kept[kept["recording"] == "good"], kept[kept["recording"] == "lost"]
    assert good["error"].isna().all()
    assert lost["error"].str.contains("lost.csv").all()
    assert lost[["tp", "f1", "plm_index_error"]].isna().all().all()
    assert lost["kind"].tolist() == KINDS * 2 and lost["min_on_g"].tolist()[::5] == [0.02, 0.1]
    np.testing.assert_array_equal(good["tp"].to_numpy(float), alone["tp"].to_numpy(float))
    assert (summarize_sweep(kept)["n_recordings"] == 1).all()


# ------------------------------------------------------------------------------------------------
# Summaries (hand-built numbers)
# ------------------------------------------------------------------------------------------------

def table(rows: list[dict]) -> pd.DataFrame:
    out = pd.DataFrame(rows)
    tp, fp, fn = out["tp"], out["fp"], out["fn"]
    out["precision"] = tp / (tp + fp)
    out["recall"] = tp / (tp + fn)
    out["f1"] = 2 * tp / (2 * tp + fp + fn)
    return out


def two_nights() -> pd.DataFrame:
    """Pooled F1 prefers on_factor 4; the mean of the per-night F1s prefers 6."""
    return table([
        # on_factor 4: F1 16/18 and 2/11 (mean 0.535); pooled 9, 2, 9 -> 18/29 = 0.621
        {"recording": "a", "on_factor": 4.0, "kind": "lm", "tp": 8, "fp": 2, "fn": 0},
        {"recording": "b", "on_factor": 4.0, "kind": "lm", "tp": 1, "fp": 0, "fn": 9},
        # on_factor 6: F1 10/13 and 10/20 (mean 0.635); pooled 10, 5, 8 -> 20/33 = 0.606
        {"recording": "a", "on_factor": 6.0, "kind": "lm", "tp": 5, "fp": 0, "fn": 3},
        {"recording": "b", "on_factor": 6.0, "kind": "lm", "tp": 5, "fp": 5, "fn": 5},
        # another kind, which must not leak into the lm summary
        {"recording": "a", "on_factor": 6.0, "kind": "twitch", "tp": 50, "fp": 0, "fn": 0},
    ])


def test_summary_pools_counts_over_recordings():
    s = summarize_sweep(two_nights(), kind="lm")
    assert s["on_factor"].tolist() == [4.0, 6.0]
    top = s.iloc[0]
    assert (top["tp"], top["fp"], top["fn"], top["n_recordings"]) == (9, 2, 9, 2)
    assert top["precision"] == pytest.approx(9 / 11)
    assert top["recall"] == pytest.approx(9 / 18)
    assert top["f1"] == pytest.approx(18 / 29)
    assert top["mean_f1"] == pytest.approx((16 / 18 + 2 / 11) / 2)
    assert s.iloc[1]["f1"] == pytest.approx(20 / 33)
    assert summarize_sweep(two_nights(), metric="mean_f1")["on_factor"].tolist() == [6.0, 4.0]
    assert best_params(two_nights()) == {"on_factor": 4.0}
    assert best_params(two_nights(), metric="mean_f1") == {"on_factor": 6.0}
    with pytest.raises(ValueError, match="kind='leg'"):
        summarize_sweep(two_nights(), kind="leg")
    with pytest.raises(ValueError, match="metric='auc'"):
        summarize_sweep(two_nights(), metric="auc")


def grid_3x2() -> pd.DataFrame:
    """One night, on_factor x rules; pooled F1 is largest at on_factor 5 with aasm2012."""
    f1_counts = {  # (on_factor, rules): (tp, fp, fn)
        (3, "wasm2016"): (6, 6, 2), (3, "aasm2012"): (6, 4, 2),
        (5, "wasm2016"): (7, 2, 1), (5, "aasm2012"): (8, 1, 0),
        (7, "wasm2016"): (0, 0, 8), (7, "aasm2012"): (4, 0, 4),
    }
    plm_error = {3: 3.0, 5: -0.5, 7: 1.0}
    rows = [{"recording": "n1", "on_factor": k[0], "rules": k[1], "kind": "lm", "tp": v[0],
             "fp": v[1], "fn": v[2],
             "plm_index_error": plm_error[k[0]] + 1.5 * (k[1] == "wasm2016")}
            for k, v in f1_counts.items()]
    return table(rows)


def test_best_params_is_the_argmax_in_plain_python_values():
    best = best_params(grid_3x2())
    assert best == {"on_factor": 5, "rules": "aasm2012"}
    assert type(best["on_factor"]) is int  # not numpy.int64, which Config refuses
    cfg = Config().with_values(**best)
    assert cfg.envelope.on_factor == 5.0 and cfg.rules.standard == "aasm2012"
    # errors rank by size: -0.5 (on_factor 5, aasm2012) is the smallest |error|
    assert best_params(grid_3x2(), metric="plm_index_error") == {"on_factor": 5,
                                                                 "rules": "aasm2012"}
    # all-numeric settings: an int setting stays int (a row of the table would be all float)
    numeric = grid_3x2().assign(min_series=lambda d: np.where(d["rules"] == "wasm2016", 3, 4))
    best = best_params(numeric.drop(columns="rules"))
    assert best == {"on_factor": 5, "min_series": 4} and type(best["min_series"]) is int
    # a setting left at the base configuration (None) is not part of the answer
    df = grid_3x2().assign(lm_max_s=None)
    assert best_params(df) == {"on_factor": 5, "rules": "aasm2012"}


# ------------------------------------------------------------------------------------------------
# Figures
# ------------------------------------------------------------------------------------------------

def artists(fig: Figure, gid: str) -> list:
    ax = fig.axes[0]
    return [a for a in [*ax.lines, *ax.collections, *ax.texts] if a.get_gid() == gid]


def test_precision_recall_plot_has_one_point_per_combination():
    df = grid_3x2()
    fig = plot_precision_recall(df)
    assert isinstance(fig, Figure)
    (points,) = artists(fig, "combinations")
    assert len(points.get_offsets()) == 5  # (7, wasm2016) detected nothing: no precision
    (best,) = artists(fig, "best")
    assert (best.get_xdata()[0], best.get_ydata()[0]) == pytest.approx((1.0, 8 / 9))
    assert len(artists(fig, "iso-f1")) == 5

    fig = plot_precision_recall(df, vary="rules")
    lines = artists(fig, "vary")
    assert [ln.get_label() for ln in lines] == ["rules=aasm2012", "rules=wasm2016"]
    assert [len(ln.get_xdata()) for ln in lines] == [3, 2]
    # along a line the points follow the other setting: on_factor 3, 5, 7
    np.testing.assert_allclose(lines[0].get_xdata(), [6 / 8, 8 / 8, 4 / 8])
    with pytest.raises(ValueError, match="vary='speed'"):
        plot_precision_recall(df, vary="speed")


def test_error_surface_has_one_annotated_cell_per_pair():
    df = grid_3x2()
    fig = plot_error_surface(df, "on_factor", "rules")
    assert isinstance(fig, Figure)
    image = fig.axes[0].images[0].get_array()
    assert image.shape == (2, 3)  # rules (aasm2012, wasm2016) x on_factor (3, 5, 7)
    np.testing.assert_allclose(image[0], [12 / 18, 16 / 17, 8 / 12])  # 2 tp / (2 tp + fp + fn)
    np.testing.assert_allclose(image[1], [12 / 20, 14 / 17, 0.0])
    cells = artists(fig, "cell")
    assert len(cells) == 6 and "0.94" in [t.get_text() for t in cells]

    fig = plot_error_surface(df, "on_factor", "rules", metric="plm_index_error")
    im = fig.axes[0].images[0]
    assert im.get_cmap().name == "RdBu_r"
    lo, hi = im.get_clim()
    assert lo == -hi == -4.5  # centred on 0, reaching the largest |error| (3 + 1.5)
    with pytest.raises(ValueError, match="x='speed'"):
        plot_error_surface(df, "speed", "rules")


def test_error_surface_fixes_other_settings_at_their_best():
    base = grid_3x2()
    # a third setting: merge_gap_s 0.5 is better everywhere (one more true positive)
    other = base.assign(merge_gap_s=0.3)
    better = base.assign(merge_gap_s=0.5, tp=base["tp"] + 1, fn=(base["fn"] - 1).clip(lower=0))
    df = pd.concat([other, better], ignore_index=True)
    fig = plot_error_surface(df, "on_factor", "rules")
    image = fig.axes[0].images[0].get_array()
    assert image.shape == (2, 3)
    # (on_factor 5, aasm2012) at merge_gap_s 0.5: tp 9, fp 1, fn 0 -> 18/19
    assert image[0, 1] == pytest.approx(18 / 19)
    assert "merge_gap_s=0.5" in fig.axes[0].get_title()
