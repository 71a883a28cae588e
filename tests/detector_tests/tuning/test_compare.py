"""compare_events: matched pairs, the table of misses and false alarms, scores and the error plot.

Every expected number below is worked out by hand from the matching rule: one-to-one, closest
onsets first, a match when the onsets are at most tolerance_s apart (inclusive); equally close
candidates go to the earlier reference onset, then to the earlier detected onset.
"""

from __future__ import annotations

import io
import math
from dataclasses import replace
from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from detector.tuning.compare import ERROR_COLUMNS, MATCH_COLUMNS, compare_events  # noqa: E402
from detector.analysis import analyze  # noqa: E402
from detector.report.plots import KIND_COLOURS  # noqa: E402
from detector.io.recording import InputError, Recording  # noqa: E402


def events(onsets, kind="lm", **cols) -> pd.DataFrame:
    kinds = [kind] * len(onsets) if isinstance(kind, str) else list(kind)
    return pd.DataFrame({"start_s": [float(x) for x in onsets], "kind": kinds, **cols})


def score(c, kind: str) -> pd.Series:
    return c.scores.set_index("kind").loc[kind]


def error_rows(c) -> list[tuple]:
    e = c.errors
    return list(zip(e["error"], e["kind"], e["start_s"].round(6), e["index"],
                    e["nearest_other_s"].round(6)))


# ---- matching -----------------------------------------------------------------------------

def test_two_detections_near_one_reference_give_one_hit_and_one_false_alarm():
    c = compare_events(events([9.8, 10.1]), events([10.0]))
    lm = score(c, "lm")
    assert (lm.tp, lm.fp, lm.fn) == (1, 1, 0)
    m = c.matches[c.matches["kind"] == "lm"]
    assert list(m["det_index"]) == [1] and list(m["ref_index"]) == [0]  # 10.1 is closer
    assert m["onset_error_s"].iloc[0] == pytest.approx(0.1)
    assert error_rows(c) == [("false_alarm", "lm", 9.8, 0, 10.0)]
    assert c.errors["nearest_other_kind"].iloc[0] == "lm"


def test_equidistant_candidates_go_to_the_earlier_onset_whatever_the_row_order():
    # one reference, detections 0.5 s either side (rows given late first): the earlier wins
    c = compare_events(events([10.5, 9.5]), events([10.0]))
    assert list(c.matches.query("kind == 'lm'")["det_index"]) == [1]
    assert c.matches.query("kind == 'lm'")["onset_error_s"].iloc[0] == pytest.approx(-0.5)
    assert error_rows(c) == [("false_alarm", "lm", 10.5, 0, 10.0)]
    # one detection between two references: the earlier reference takes it
    c = compare_events(events([10.0]), events([10.5, 9.5]))
    assert list(c.matches.query("kind == 'lm'")["ref_index"]) == [1]
    assert error_rows(c) == [("miss", "lm", 10.5, 0, 10.0)]
    # a chain of equal distances (ref 0, 2; det 1, 3; all 1 s apart), rows in reverse order:
    # earliest reference first takes det 1, then ref 2 takes det 3 -> two matches, no error
    c = compare_events(events([3.0, 1.0]), events([2.0, 0.0]))
    m = c.matches.query("kind == 'lm'")
    assert list(m["ref_start_s"]) == [0.0, 2.0] and list(m["det_start_s"]) == [1.0, 3.0]
    assert list(m["ref_index"]) == [1, 0] and list(m["det_index"]) == [1, 0]
    assert (score(c, "lm").tp, len(c.errors)) == (2, 0)
    # the nearest other event of an error, two equally close: the earlier one
    c = compare_events(events([10.5, 9.5], ["lm", "sustained"]), events([10.0], "twitch"))
    assert error_rows(c)[1] == ("miss", "twitch", 10.0, 0, 9.5)
    assert c.errors["nearest_other_kind"].iloc[1] == "sustained"


@pytest.mark.parametrize("ref_s, det_s, tol_s, tp", [
    (9.0, 10.0, 1.0, 1),   # exactly at the tolerance: matches
    (9.1, 10.1, 1.0, 1),   # decimal onsets 1 s apart (1.0000000000000009 in binary): matches
    (10.1, 9.1, 1.0, 1),   # the same, detected early
    (9.1, 10.11, 1.0, 0),  # just above
    (9.1, 8.0, 1.0, 0),    # 1.1 s early
    (5.0, 5.0, 0.0, 1),    # zero tolerance, same onset
    (5.0, 5.5, 0.25, 0),
])
def test_tolerance_edges(ref_s, det_s, tol_s, tp):
    c = compare_events(events([det_s]), events([ref_s]), tol_s)
    assert score(c, "lm").tp == tp == len(c.matches.query("kind == 'lm'"))
    # without a match: one miss and one false alarm, in onset order
    expected = [] if tp else (["miss", "false_alarm"] if ref_s < det_s else ["false_alarm", "miss"])
    assert list(c.errors["error"]) == expected
    assert c.tolerance_s == tol_s


def test_empty_sides():
    ref = events([20.0, 10.0])
    c = compare_events(pd.DataFrame(), ref)  # no events, not even a header
    lm = score(c, "lm")
    assert (lm.n_true, lm.n_detected, lm.tp, lm.fn) == (2, 0, 0, 2)
    assert math.isnan(lm.precision) and lm.recall == 0.0 and lm.f1 == 0.0
    assert score(c, "twitch")[["precision", "recall", "f1"]].isna().all()
    assert math.isnan(c.f1("twitch"))
    assert error_rows(c)[0][:4] == ("miss", "lm", 10.0, 1)
    assert error_rows(c)[1][:4] == ("miss", "lm", 20.0, 0)
    assert c.errors["nearest_other_s"].isna().all() and c.errors["nearest_other_kind"].isna().all()
    # nothing in the reference: every detection is a false alarm, recall undefined
    c = compare_events(events([5.0]), events([]))
    lm = score(c, "lm")
    assert lm.precision == 0.0 and math.isnan(lm.recall) and lm.f1 == 0.0
    assert error_rows(c)[0][:4] == ("false_alarm", "lm", 5.0, 0)
    # nothing at all
    c = compare_events(events([]), pd.DataFrame())
    assert c.scores[["precision", "recall", "f1"]].isna().all().all()
    assert list(c.errors.columns) == ERROR_COLUMNS and c.errors.empty
    assert list(c.matches.columns) == MATCH_COLUMNS and c.matches.empty


def test_a_true_lm_detected_as_a_twitch_is_an_lm_miss_and_a_twitch_false_alarm():
    ref = events([100.0], "lm", end_s=[101.5])
    det = events([100.1], "twitch", duration_s=[0.3])
    c = compare_events(det, ref)
    assert (score(c, "lm").fn, score(c, "lm").tp) == (1, 0)
    assert (score(c, "twitch").fp, score(c, "twitch").tp) == (1, 0)
    assert score(c, "all").tp == 1 and score(c, "all").mean_onset_error_s == pytest.approx(0.1)
    e = c.errors
    assert list(e["error"]) == ["miss", "false_alarm"] and list(e["kind"]) == ["lm", "twitch"]
    assert list(e["nearest_other_kind"]) == ["twitch", "lm"]
    assert e["nearest_other_s"].tolist() == pytest.approx([100.1, 100.0])
    assert e["end_s"].tolist() == pytest.approx([101.5, 100.4])
    assert e["duration_s"].tolist() == pytest.approx([1.5, 0.3])
    assert c.describe_error(0) == "lm miss at 100.00 s, nearest detected twitch at +0.10 s"
    assert c.describe_error(1) == "twitch false alarm at 100.10 s, nearest reference lm at -0.10 s"
    m = c.matches
    assert list(m["kind"]) == ["all"]
    assert m[["ref_duration_s", "det_duration_s"]].iloc[0].tolist() == pytest.approx([1.5, 0.3])


def plm_case():
    ref = events([10, 30, 50, 70, 200], plm=["true", "true", "true", "true", "false"])
    det = events([10.2, 30.0, 50.3, 90.0], plm=[True, True, False, True])
    return det, ref


def test_plm_rows_match_plm_events_and_list_their_errors():
    c = compare_events(*plm_case())
    plm, lm = score(c, "plm"), score(c, "lm")
    # true PLMs 10 30 50 70, detected PLMs 10.2 30 90: 10 and 30 match
    assert (plm.n_true, plm.n_detected, plm.tp, plm.fp, plm.fn) == (4, 3, 2, 1, 2)
    assert plm.f1 == pytest.approx(4 / 7) and plm.mean_onset_error_s == pytest.approx(0.1)
    # as LMs 10, 30 and 50 match; 70 and 200 are missed; 90 is a false alarm
    assert (lm.tp, lm.fp, lm.fn) == (3, 1, 2)
    assert error_rows(c) == [
        ("miss", "plm", 50.0, 2, 50.3),          # found, but not scored as a PLM
        ("miss", "lm", 70.0, 3, 50.3),           # 50.3 is 19.7 s away, 90 is 20 s away
        ("miss", "plm", 70.0, 3, 50.3),
        ("false_alarm", "lm", 90.0, 3, 70.0),
        ("false_alarm", "plm", 90.0, 3, 70.0),
        ("miss", "lm", 200.0, 4, 90.0),
    ]
    assert set(c.errors["event_kind"]) == {"lm"}
    assert list(c.matches.query("kind == 'plm'")["det_start_s"]) == [10.2, 30.0]


def test_error_times_and_indices_come_from_end_s_or_duration_s_of_unsorted_tables():
    ref = pd.DataFrame({"start_s": [40.0, 5.0, 20.0], "kind": ["lm", "sustained", "twitch"],
                        "end_s": [41.5, 20.0, np.nan], "duration_s": [np.nan, np.nan, 0.3]})
    det = events([60.0], end_s=[62.0])
    e = compare_events(det, ref).errors
    assert list(e["error"]) == ["miss", "miss", "miss", "false_alarm"]
    assert list(e["kind"]) == ["sustained", "twitch", "lm", "lm"]
    assert e["start_s"].tolist() == [5.0, 20.0, 40.0, 60.0]
    assert e["end_s"].tolist() == pytest.approx([20.0, 20.3, 41.5, 62.0])
    assert e["duration_s"].tolist() == pytest.approx([15.0, 0.3, 1.5, 2.0])
    assert list(e["index"]) == [1, 2, 0, 0]
    assert e["nearest_other_s"].tolist() == [60.0, 60.0, 60.0, 40.0]
    # no end at all: the times are unknown, not invented
    e = compare_events(det, events([30.0])).errors
    assert math.isnan(e["end_s"].iloc[0]) and math.isnan(e["duration_s"].iloc[0])


# ---- the object ---------------------------------------------------------------------------

def test_kinds_restrict_every_table_and_summary_f1_repr_agree():
    c = compare_events(*plm_case(), kinds=["LM", "plm"])
    assert list(c.scores["kind"]) == ["lm", "plm"]
    assert set(c.errors["kind"]) == {"lm", "plm"} and set(c.matches["kind"]) == {"lm", "plm"}
    assert c.f1("lm") == pytest.approx(2 * 3 / (2 * 3 + 1 + 2))
    assert list(c.summary().index) == ["lm", "plm"]
    assert c.summary().loc["plm", "precision"] == 0.667
    assert repr(c) == ("<EventComparison: tolerance 1 s; F1 lm 0.67, plm 0.57; 4 misses, "
                       "2 false alarms>")
    with pytest.raises(ValueError, match="twitch"):
        c.f1("twitch")
    c = compare_events(*plm_case(), kinds="all")
    assert list(c.scores["kind"]) == ["all"] and c.errors.empty and len(c.matches) == 3


def test_a_result_object_is_accepted_on_either_side():
    det, ref = plm_case()
    a = compare_events(SimpleNamespace(events=det), SimpleNamespace(events=ref))
    pd.testing.assert_frame_equal(a.scores, compare_events(det, ref).scores)


@pytest.mark.parametrize("det, ref, match", [
    ([1.0, 2.0], events([1.0]), "detected events: expected an events table"),
    (events([1.0]), pd.DataFrame({"start_s": [1.0]}),
     r"reference events: missing column\(s\) kind"),
    (events([1.0]), pd.DataFrame({"start_s": [1.0, "x"], "kind": ["lm", "lm"]}),
     "reference events, row 1: start_s 'x'"),
    (events([1.0]), events([1.0], end_s=["soon"]),
     "reference events, row 0, column 'end_s': 'soon'"),
    (events([1.0]), events([1.0], duration_s=[-1.0]), "row 0, column 'end_s' or 'duration_s'"),
    (events([1.0]), events([1.0, 2.0], ["lm", "arousal"]), "row 1, column 'kind': 'arousal'"),
    (events([1.0], plm=["maybe"]), events([1.0]), "detected events, row 0, column 'plm'"),
])
def test_bad_tables_are_refused_naming_the_column(det, ref, match):
    with pytest.raises(InputError, match=match):
        compare_events(det, ref)


def test_bad_tolerance_and_kinds_are_refused():
    with pytest.raises(ValueError, match="tolerance_s"):
        compare_events(events([1.0]), events([1.0]), -0.5)
    with pytest.raises(ValueError, match="kinds"):
        compare_events(events([1.0]), events([1.0]), kinds=["plms"])


onsets = st.lists(st.tuples(st.integers(0, 40).map(lambda k: k * 0.5),
                            st.sampled_from(["twitch", "lm", "sustained"]), st.booleans()),
                  max_size=25)


@settings(max_examples=30, deadline=None)
@given(onsets, onsets, st.sampled_from([0.0, 0.5, 1.0, 2.5]), st.randoms(use_true_random=False))
def test_errors_and_matches_agree_with_the_scores_whatever_the_row_order(d, r, tol_s, rnd):
    def table(rows):
        return pd.DataFrame(rows, columns=["start_s", "kind", "plm"]).astype({"plm": bool})
    det, ref = table(d), table(r)
    c = compare_events(det, ref, tol_s)
    for kind, s in c.scores.set_index("kind").iterrows():
        m = c.matches[c.matches["kind"] == kind]
        assert len(m) == s.tp and m["det_index"].is_unique and m["ref_index"].is_unique
        assert (m["onset_error_s"].abs() <= tol_s + 1e-9).all()
        assert np.allclose(det["start_s"].to_numpy()[m["det_index"].to_numpy(int)],
                           m["det_start_s"])
        if kind != "all":
            e = c.errors[c.errors["kind"] == kind]
            assert ((e["error"] == "miss").sum(), (e["error"] == "false_alarm").sum()) == (s.fn,
                                                                                          s.fp)
    assert c.errors["start_s"].is_monotonic_increasing
    d2, r2 = list(d), list(r)
    rnd.shuffle(d2)
    rnd.shuffle(r2)
    pd.testing.assert_frame_equal(compare_events(table(d2), table(r2), tol_s).scores, c.scores)


# ---- plot ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def night():
    rng = np.random.default_rng(3)
    fs_hz = 50.0
    acc = rng.normal(0.0, 0.002, (int(60 * fs_hz), 3))
    acc[:, 2] += 1.0
    return analyze(Recording.from_array(acc, fs_hz))


def test_plot_shows_the_error_window_and_the_onsets_around_it(night):
    ref = events([20.0, 23.0, 40.0], ["lm", "twitch", "lm"], end_s=[21.5, 23.2, 41.0])
    det = events([20.1, 35.0], ["twitch", "lm"], end_s=[20.4, 36.0])
    result = replace(night, events=det)  # a NightResult holding these detections
    c = compare_events(result, ref)
    assert c.errors.iloc[0][["error", "kind", "start_s"]].tolist() == ["miss", "lm", 20.0]
    fig = c.plot(result, 0)
    ax = fig.axes[0]
    # the window is the error (20-21.5 s) +- 5 s, in seconds from its onset (last sample 1/fs early)
    assert ax.get_xlim() == pytest.approx((-5.0, 6.5), abs=1.0 / 50 + 1e-9)
    ref_x = sorted(ln.get_xdata()[0] for ln in ax.lines if ln.get_gid() == "reference_onset")
    det_lines = [ln for ln in ax.lines if ln.get_gid() == "detected_onset"]
    assert ref_x == pytest.approx([0.0, 3.0])  # 40 s is outside
    assert [ln.get_xdata()[0] for ln in det_lines] == pytest.approx([0.1])  # 35 s is outside
    assert det_lines[0].get_color() == KIND_COLOURS["twitch"]
    assert "nearest detected twitch at +0.10 s" in ax.get_title(loc="left")
    fig.savefig(io.BytesIO(), format="png")
    with pytest.raises(IndexError):
        c.plot(result, len(c.errors))


def test_errors_say_which_detections_touch_a_gap():
    det = pd.DataFrame({"start_s": [10.0, 50.0, 90.0], "kind": ["lm", "lm", "lm"],
                        "at_gap": [False, True, False]})
    ref = pd.DataFrame({"start_s": [10.0, 130.0], "kind": ["lm", "lm"]})
    errors = compare_events(det, ref, tolerance_s=1.0).errors
    lm = errors[errors["kind"] == "lm"].set_index("start_s")
    assert lm.loc[50.0, "error"] == "false_alarm" and lm.loc[50.0, "at_gap"]
    assert lm.loc[90.0, "error"] == "false_alarm" and not lm.loc[90.0, "at_gap"]
    assert lm.loc[130.0, "error"] == "miss" and not lm.loc[130.0, "at_gap"]
