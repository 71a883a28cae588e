"""Comparing detected events with true ones: matching, counts, rates and the event-file reader."""

from __future__ import annotations

import gzip
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from detector.tuning.evaluate import (compare_detection, format_comparison, match_onsets,
                                      plm_index_error)
from detector.io.tables import read_events
from detector.io.outputs import events_csv_text
from detector.io.recording import InputError


def table(onsets, kind="lm", plm=None) -> pd.DataFrame:
    kinds = [kind] * len(onsets) if isinstance(kind, str) else list(kind)
    out = pd.DataFrame({"start_s": [float(x) for x in onsets], "kind": kinds})
    out["end_s"] = out["start_s"] + 1.0
    if plm is not None:
        out["plm"] = list(plm)
    return out


def row(result: pd.DataFrame, kind: str) -> pd.Series:
    return result.set_index("kind").loc[kind]


# ---- matching -----------------------------------------------------------------------------

def test_counts_rates_and_onset_error_with_a_match_exactly_at_the_tolerance():
    truth = table([10, 20, 30])
    det = table([10.5, 21.0, 35.0])  # 0.5 s late, 1.0 s late (edge: matches), 5 s away
    r = row(compare_detection(det, truth, tolerance_s=1.0), "lm")
    assert (r.n_true, r.n_detected, r.tp, r.fp, r.fn) == (3, 3, 2, 1, 1)
    assert r.precision == pytest.approx(2 / 3) and r.recall == pytest.approx(2 / 3)
    assert r.f1 == pytest.approx(2 / 3)
    assert r.mean_onset_error_s == pytest.approx(0.75)
    assert r.mean_abs_onset_error_s == pytest.approx(0.75)


def test_tolerance_edge_is_inclusive_despite_decimal_rounding_and_exclusive_beyond():
    # 10.1 - 9.1 is 1.0000000000000009 in binary floating point: still "1 s apart"
    assert row(compare_detection(table([10.1]), table([9.1]), tolerance_s=1.0), "lm").tp == 1
    assert row(compare_detection(table([10.11]), table([9.1]), tolerance_s=1.0), "lm").tp == 0
    assert row(compare_detection(table([9.1]), table([9.1]), tolerance_s=0.0), "lm").tp == 1
    assert row(compare_detection(table([8.0]), table([9.1]), tolerance_s=1.0), "lm").tp == 0


def test_matching_is_one_to_one_and_closest_first():
    # two detections near one true onset: only the closer one matches
    r = row(compare_detection(table([9.8, 10.1]), table([10.0]), tolerance_s=1.0), "lm")
    assert (r.tp, r.fp, r.fn) == (1, 1, 0)
    assert r.mean_onset_error_s == pytest.approx(0.1)
    # one detection between two true onsets: it goes to the closer (11.0), early by 0.4 s
    r = row(compare_detection(table([10.6]), table([10.0, 11.0]), tolerance_s=1.0), "lm")
    assert (r.tp, r.fp, r.fn) == (1, 0, 1)
    assert r.mean_onset_error_s == pytest.approx(-0.4)
    assert r.mean_abs_onset_error_s == pytest.approx(0.4)


def test_mismatched_kinds_count_per_kind_but_match_in_all():
    truth = table([10, 50, 100], kind=["lm", "twitch", "sustained"])
    det = table([10.2, 50.1, 100.5], kind=["twitch", "twitch", "lm"])
    res = compare_detection(det, truth)
    assert list(res["kind"]) == ["twitch", "lm", "sustained", "plm", "all"]
    tw, lm, su, al = (row(res, k) for k in ("twitch", "lm", "sustained", "all"))
    assert (tw.n_true, tw.n_detected, tw.tp, tw.fp, tw.fn) == (1, 2, 1, 1, 0)
    assert (lm.n_true, lm.n_detected, lm.tp, lm.fp, lm.fn) == (1, 1, 0, 1, 1)
    assert (su.n_true, su.n_detected, su.tp, su.fp, su.fn) == (1, 0, 0, 0, 1)
    assert math.isnan(su.precision) and su.recall == 0.0 and su.f1 == 0.0
    assert (al.tp, al.fp, al.fn) == (3, 0, 0) and al.f1 == 1.0


def test_kind_spelling_is_normalised():
    r = row(compare_detection(table([5.0], kind=" LM "), table([5.0], kind="lm")), "lm")
    assert r.tp == 1


def test_plm_row_matches_events_with_plm_true_on_both_sides():
    truth = table([10, 40, 70, 100, 300], plm=[True, True, True, True, False])
    det = table([10.3, 40.2, 69.5, 300.0, 500.0], plm=[True, True, False, True, True])
    r = row(compare_detection(det, truth), "plm")
    # true PLMs 10, 40, 70, 100; detected PLMs 10.3, 40.2, 300, 500
    assert (r.n_true, r.n_detected, r.tp, r.fp, r.fn) == (4, 4, 2, 2, 2)
    assert r.mean_onset_error_s == pytest.approx(0.25)
    # without a plm column nothing is a PLM
    r = row(compare_detection(det.drop(columns="plm"), truth), "plm")
    assert (r.n_detected, r.tp, r.fn) == (0, 0, 4)


def test_empty_tables():
    empty = table([])
    res = compare_detection(empty, empty)
    assert (res[["n_true", "n_detected", "tp", "fp", "fn"]] == 0).all().all()
    assert res[["precision", "recall", "f1", "mean_onset_error_s"]].isna().all().all()
    r = row(compare_detection(empty, table([1, 2])), "lm")
    assert (r.tp, r.fn) == (0, 2) and r.recall == 0.0 and math.isnan(r.precision) and r.f1 == 0
    r = row(compare_detection(table([1, 2]), pd.DataFrame()), "all")  # no events, no header
    assert (r.n_true, r.fp) == (0, 2) and r.precision == 0.0 and math.isnan(r.recall)


def test_bad_tables_and_tolerance_are_refused():
    with pytest.raises(InputError, match="detected events.*kind.*found start_s"):
        compare_detection(pd.DataFrame({"start_s": [1.0]}), table([1]))
    with pytest.raises(InputError, match="true events, row 1"):
        compare_detection(table([1]), pd.DataFrame({"start_s": [1.0, "x"], "kind": ["lm", "lm"]}))
    with pytest.raises(ValueError, match="tolerance_s"):
        compare_detection(table([1]), table([1]), tolerance_s=-1.0)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0, 200, allow_nan=False), max_size=40),
       st.lists(st.floats(0, 200, allow_nan=False), max_size=40),
       st.floats(0.0, 5.0))
def test_matching_invariants(true_s, det_s, tol):
    t, d = np.array(true_s), np.array(det_s)
    ti, di = match_onsets(t, d, tol)
    assert len(set(ti.tolist())) == len(ti) and len(set(di.tolist())) == len(di)  # one-to-one
    assert (np.abs(d[di] - t[ti]) <= tol + 1e-9).all()
    # nothing left over could still be matched: every unmatched pair is farther than tol apart
    free_t = np.setdiff1d(np.arange(len(t)), ti)
    free_d = np.setdiff1d(np.arange(len(d)), di)
    if free_t.size and free_d.size:
        assert (np.abs(t[free_t][:, None] - d[free_d][None, :]) > tol + 1e-9).all()


def test_matching_thousands_of_events_finds_every_shifted_onset():
    rng = np.random.default_rng(0)
    t = np.cumsum(rng.uniform(3.0, 40.0, 5000))
    d = t + rng.uniform(-0.5, 0.5, t.size)  # every detection 0.5 s or less off, events >= 3 s apart
    ti, di = match_onsets(t, rng.permutation(d), 1.0)
    assert len(ti) == 5000


# ---- PLM index --------------------------------------------------------------------------------

def test_plm_index_error_arithmetic():
    truth = table(range(40), plm=[True] * 30 + [False] * 10)
    det = table(range(40), plm=[True] * 24 + [False] * 16)
    e = plm_index_error(det, truth, rest_h=2.0)
    assert e["n_plm_true"] == 30 and e["n_plm_detected"] == 24
    assert e["plm_index_true"] == pytest.approx(15.0)
    assert e["plm_index_detected"] == pytest.approx(12.0)
    assert e["relative_error"] == pytest.approx(-0.2)
    e = plm_index_error(det, truth)
    assert e["plm_index_true"] is None and e["relative_error"] == pytest.approx(-0.2)
    e = plm_index_error(det, table([1], plm=[False]), rest_h=1.0)
    assert e["relative_error"] is None and e["plm_index_detected"] == pytest.approx(24.0)
    assert plm_index_error(table([1]), table([1]))["n_plm_true"] == 0  # no plm column
    with pytest.raises(ValueError, match="rest_h"):
        plm_index_error(det, truth, rest_h=0.0)


# ---- reading event files ----------------------------------------------------------------------

def test_read_events_reads_our_events_csv(tmp_path):
    ev = table([1.5, 30.25, 61.0], kind=["twitch", "lm", "lm"], plm=[False, True, True])
    ev["series"] = pd.array([pd.NA, 1, 1], dtype="Int64")
    path = tmp_path / "events.csv"
    path.write_text(events_csv_text(ev))
    got = read_events(path)
    assert list(got["start_s"]) == [1.5, 30.25, 61.0]
    assert list(got["kind"]) == ["twitch", "lm", "lm"]
    assert got["plm"].dtype == bool and list(got["plm"]) == [False, True, True]
    assert "series" in got.columns


def test_read_events_plm_optional_and_spellings(tmp_path):
    path = tmp_path / "truth.csv.gz"
    with gzip.open(path, "wt") as fh:
        fh.write("start_s,kind,plm\n1,LM,TRUE\n2,lm,\n3,twitch,0\n4,lm,yes\n")
    got = read_events(path)
    assert list(got["plm"]) == [True, False, False, True] and list(got["kind"])[0] == "lm"
    plain = tmp_path / "scorer.csv"
    plain.write_text("start_s,end_s,kind\n1,2,lm\n")
    assert list(read_events(plain)["plm"]) == [False]


@pytest.mark.parametrize("text,pattern", [
    ("onset,kind\n1,lm\n", r"missing column\(s\) start_s; found onset, kind"),
    ("start_s,end_s\n1,2\n", r"missing column\(s\) kind; found start_s, end_s"),
    ("start_s,kind\n1,lm\nabc,lm\n", r"line 3, column 'start_s'"),
    ("start_s,kind\n1,lm\n2,\n", r"line 3, column 'kind'"),
    ("start_s,kind,plm\n1,lm,true\n2,lm,maybe\n", r"line 3, column 'plm'"),
    ("", r"empty"),
])
def test_read_events_errors_name_the_file_and_the_problem(tmp_path, text, pattern):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(InputError, match=pattern) as err:
        read_events(path)
    assert "bad.csv" in str(err.value)


def test_read_events_missing_file(tmp_path):
    with pytest.raises(InputError, match="not found"):
        read_events(tmp_path / "nope.csv")


# ---- terminal table ---------------------------------------------------------------------------

def test_format_comparison_shows_every_row_and_the_plm_line():
    truth = table([10, 40, 70, 100], plm=[True] * 4)
    det = table([10.2, 40.1, 300.0], plm=[True, True, False])
    text = format_comparison(compare_detection(det, truth),
                             plm_index_error(det, truth, rest_h=0.5))
    lines = text.splitlines()
    for kind in ("twitch", "lm", "sustained", "plm", "all"):
        assert any(line.startswith(kind) for line in lines)
    lm_line = next(line for line in lines if line.startswith("lm"))
    assert lm_line.split()[1:6] == ["4", "3", "2", "1", "2"]
    assert "0.667" in lm_line and "0.500" in lm_line
    twitch_line = next(line for line in lines if line.startswith("twitch"))
    assert twitch_line.split()[6:9] == ["-", "-", "-"]  # undefined rates shown as "-"
    assert "2 detected, 4 true" in text and "-50.0%" in text
    assert "4.0/h detected, 8.0/h true" in text
    assert "hours of rest" in format_comparison(compare_detection(det, truth),
                                                plm_index_error(det, truth))
