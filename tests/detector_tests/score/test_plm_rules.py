"""PLM scoring rules on hand-built LM lists.

Every expected answer is derived from the published definitions, with the reasoning next to it:
WASM 2016 = Ferri et al., Sleep Med 2016;26:86-95; AASM 2012 = AASM Scoring Manual v2.0.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from detector.config import RULES
from detector.score.plm import merge_bilateral, score_plm
from detector.io.tables import read_lm_table, read_respiratory_events
from detector.io.recording import InputError

WASM = RULES["wasm2016"]
AASM = RULES["aasm2012"]


def lms(onsets, durations=1.0, **columns) -> pd.DataFrame:
    """LM table from onsets (s) and durations (s, scalar or list)."""
    on = np.asarray(onsets, dtype=float)
    dur = np.broadcast_to(np.asarray(durations, dtype=float), on.shape)
    return pd.DataFrame({"start_s": on, "end_s": on + dur, **columns})


def plm_flags(scoring) -> list[bool]:
    return scoring.events["plm"].tolist()


# ----------------------------------------------------------------------------- IMI boundaries

def test_imi_exactly_10_s_is_inside_a_series():
    # IMIs 10, 10, 10 s: the WASM range 10-90 s is inclusive -> one series of 4 PLMs.
    sc = score_plm(lms([0, 10, 20, 30]))
    assert sc.n_plm == 4 and sc.n_series == 1
    assert sc.events["imi_s"].tolist()[1:] == [10.0, 10.0, 10.0]


def test_imi_exactly_90_s_is_inside_a_series():
    # IMIs 90, 90, 90 s: upper bound inclusive -> 4 PLMs.
    sc = score_plm(lms([0, 90, 180, 270]))
    assert sc.n_plm == 4 and sc.n_series == 1


def test_imi_boundaries_survive_decimal_rounding():
    # 16.4 - 6.4 evaluates to 9.999999999999998 and 128.3 - 38.3 to 90.00000000000001 in binary
    # floating point; written in seconds they are exactly 10 s and 90 s, so both are inside.
    assert 16.4 - 6.4 < 10 and 128.3 - 38.3 > 90
    assert score_plm(lms([6.4, 16.4, 26.4, 36.4])).n_plm == 4
    assert score_plm(lms([38.3, 128.3, 218.3, 308.3])).n_plm == 4


def test_imi_9_99_s_ends_the_series():
    # IMIs 10, 10, 9.99: the third is below 10 s, so the run is 0,10,20 (3 LMs) and the 4th LM
    # starts a new run of 1 -> no series.
    sc = score_plm(lms([0, 10, 20, 29.99]))
    assert sc.n_plm == 0 and sc.n_series == 0
    assert sc.n_candidate == 4


def test_imi_90_01_s_ends_the_series():
    # IMIs 90, 90, 90.01: the third is above 90 s -> runs of 3 and 1 -> no series.
    sc = score_plm(lms([0, 90, 180, 270.01]))
    assert sc.n_plm == 0 and sc.n_series == 0


def test_short_imi_starts_a_new_run_with_the_later_lm():
    # IMIs 20, 20, 5, 20, 20, 20: the 5-s interval breaks the run after 3 LMs (0, 20, 40); the
    # LM at 45 starts a new run 45, 65, 85, 105 of 4 -> 4 PLMs, one series.
    sc = score_plm(lms([0, 20, 40, 45, 65, 85, 105]))
    assert plm_flags(sc) == [False, False, False, True, True, True, True]
    assert sc.events["series"].tolist()[3:] == [1, 1, 1, 1]


def test_three_lms_are_not_a_series_four_are():
    # WASM 2016 / AASM 2012: at least 4 consecutive candidate LMs.
    assert score_plm(lms([0, 20, 40])).n_plm == 0
    sc = score_plm(lms([0, 20, 40, 60]))
    assert sc.n_plm == 4 and sc.n_series == 1


def test_min_series_comes_from_the_rules():
    # With min_series = 3 the three LMs above form a series: the number is not hard-coded.
    rules = dataclasses.replace(WASM, standard="custom", min_series=3)
    assert score_plm(lms([0, 20, 40]), rules).n_plm == 3


def test_series_table_describes_each_series():
    # Two series: 0,20,40,60 (IMIs 20) and, after a 200-s gap, 260,290,320,350,380 (IMIs 30).
    sc = score_plm(lms([0, 20, 40, 60, 260, 290, 320, 350, 380], 2.0))
    s = sc.series
    assert s["series"].tolist() == [1, 2]
    assert s["start_s"].tolist() == [0.0, 260.0]
    assert s["end_s"].tolist() == [62.0, 382.0]
    assert s["n_lm"].tolist() == [4, 5]
    assert s["mean_imi_s"].tolist() == [20.0, 30.0]
    assert sc.events["series"].dtype == "Int64"
    assert sc.events["series"].tolist() == [1, 1, 1, 1, 2, 2, 2, 2, 2]


# ----------------------------------------------------------------------------- non-candidates

def test_sustained_movement_after_the_third_lm_splits_six_lms_into_3_plus_3():
    # 6 LMs, IMI 20 s, and a 12-s movement (> 10 s: not a candidate) between the 3rd and 4th.
    # A non-candidate LM ends the series: runs 0,20,40 and 60,80,100 -> no series of 4.
    ev = pd.concat([lms([0, 20, 40, 60, 80, 100]), lms([45], 12.0)])
    sc = score_plm(ev)
    assert sc.n_plm == 0 and sc.n_series == 0
    assert sc.n_candidate == 6
    row = sc.events.set_index("start_s")
    assert row.loc[45.0, "kind"] == "sustained" and not row.loc[45.0, "candidate"]
    # The IMI is not measured across the breaker: the LM at 60 starts afresh.
    assert np.isnan(row.loc[60.0, "imi_s"])


def test_sustained_movement_after_the_fourth_lm_leaves_one_series():
    # 0,20,40,60 | 12-s movement at 65 | 80,100: the first run of 4 is a series; 2 after.
    ev = pd.concat([lms([0, 20, 40, 60, 80, 100]), lms([65], 12.0)])
    sc = score_plm(ev)
    assert sc.n_plm == 4 and sc.n_series == 1
    assert sc.events.loc[sc.events["plm"], "start_s"].tolist() == [0, 20, 40, 60]


def test_twitch_inside_a_series_neither_counts_nor_breaks():
    # A 0.3-s twitch (< 0.5 s, not an LM) at 30 s between LMs at 20 and 40: the IMI of the LM
    # at 40 is still 20 s (from the LM at 20), and 0,20,40,60 is one series of 4.
    ev = pd.concat([lms([0, 20, 40, 60]), lms([30], 0.3)])
    sc = score_plm(ev)
    assert sc.n_plm == 4 and sc.n_series == 1
    row = sc.events.set_index("start_s")
    assert row.loc[30.0, "kind"] == "twitch"
    assert not row.loc[30.0, "candidate"] and not row.loc[30.0, "plm"]
    assert row.loc[40.0, "imi_s"] == 20.0


def test_lm_duration_bounds_are_inclusive():
    # Durations exactly 0.5 s and 10 s are LMs (WASM 2016 / AASM 2012: 0.5-10 s) -> 4 PLMs.
    sc = score_plm(lms([0, 20, 40, 60], [0.5, 10.0, 0.5, 10.0]))
    assert sc.events["kind"].tolist() == ["lm"] * 4
    assert sc.n_plm == 4
    # 0.7 - 0.2 is 0.49999999999999994 in floating point; written in seconds it is 0.5 s.
    sc = score_plm(pd.DataFrame({"start_s": [0.2], "end_s": [0.7]}))
    assert sc.events["kind"].tolist() == ["lm"] and sc.n_candidate == 1


def test_just_outside_the_duration_bounds():
    # 0.49 s is a twitch: the LM at 40 disappears, leaving 0,20,60 (IMIs 20, 40) -> 3 LMs, no
    # series. 10.01 s is sustained: a breaker -> runs 0,20 and 60 -> no series.
    sc = score_plm(lms([0, 20, 40, 60], [1, 1, 0.49, 1]))
    assert sc.events["kind"].tolist() == ["lm", "lm", "twitch", "lm"]
    assert sc.n_candidate == 3 and sc.n_plm == 0
    sc = score_plm(lms([0, 20, 40, 60], [1, 1, 10.01, 1]))
    assert sc.events["kind"].tolist() == ["lm", "lm", "sustained", "lm"]
    assert sc.n_candidate == 3 and sc.n_plm == 0


def test_given_kind_is_trusted():
    # A scorer marked the third LM sustained although it lasts 2 s: it breaks the series.
    ev = lms([0, 20, 40, 60, 80, 100, 120], kind=["lm", "lm", "sustained", "lm", "lm", "lm", "lm"])
    sc = score_plm(ev)
    assert sc.events.loc[sc.events["plm"], "start_s"].tolist() == [60, 80, 100, 120]


# ----------------------------------------------------------------------------- bilateral merge

def one_leg(start, end) -> pd.DataFrame:
    return pd.DataFrame({"start_s": np.asarray(start, float), "end_s": np.asarray(end, float)})


def test_overlapping_lms_of_the_two_legs_merge():
    # Left 0-2 s and right 1-3 s overlap -> one bilateral LM 0-3 s (first onset, last offset).
    m = merge_bilateral(one_leg([0], [2]), one_leg([1], [3]), WASM)
    assert len(m) == 1
    row = m.iloc[0]
    assert (row["start_s"], row["end_s"], row["duration_s"]) == (0.0, 3.0, 3.0)
    assert row["leg"] == "bilateral" and row["n_parts"] == 2 and row["legs"] == "left+right"


@pytest.mark.parametrize("gap_s, merged", [(0.49, True), (0.5, False), (0.51, False)])
def test_bilateral_merge_gap_is_strictly_below_half_a_second(gap_s, merged):
    # WASM 2016: LMs of the two legs separated by < 0.5 s (offset to onset) are one LM.
    m = merge_bilateral(one_leg([0], [2]), one_leg([2 + gap_s], [3 + gap_s]), WASM)
    if merged:
        assert len(m) == 1 and m["leg"].tolist() == ["bilateral"]
        assert m["end_s"].iloc[0] == 3 + gap_s
    else:
        # Not merged: both keep their own leg.
        assert m["leg"].tolist() == ["left", "right"]
        assert m["n_parts"].tolist() == [1, 1]


def test_same_leg_lms_closer_than_half_a_second_are_one_lm():
    # WASM 2016: an LM ends only at the start of >= 0.5 s without activity, so two left rows
    # 0.2 s apart are one left LM 0-3 s (not a bilateral one); 0.5 s apart they stay two.
    m = merge_bilateral(one_leg([0, 2.2], [2, 3]), one_leg([], []), WASM)
    assert m["leg"].tolist() == ["left"] and m["end_s"].tolist() == [3.0]
    m = merge_bilateral(one_leg([0, 2.2], [2, 3]), one_leg([30], [31]), WASM)
    assert m["leg"].tolist() == ["left", "right"]
    m = merge_bilateral(one_leg([0, 2.5], [2, 3]), one_leg([], []), WASM)
    assert m["leg"].tolist() == ["left", "left"]


def test_split_rows_of_one_lm_in_a_scorers_list_are_joined_before_scoring():
    # LMs at 0, 40, 60 plus one LM at 20 s exported as two rows 20-21 and 21.3-22 (0.3 s apart):
    # one 2-s LM at 20, so IMIs 20, 20, 20 -> a series of 4 (PLMScoRe gives 4 as well).
    sc = score_plm(one_leg([0, 20, 21.3, 40, 60], [1, 21, 22, 41, 61]), WASM)
    assert sc.n_plm == 4 and len(sc.events) == 4
    # Two 0.3-s pieces 0.2 s apart are one 0.8-s LM, not two twitches.
    sc = score_plm(one_leg([0, 20, 20.5, 40, 60], [1, 20.3, 20.8, 41, 61]), WASM)
    assert sc.n_plm == 4 and sc.events["kind"].tolist() == ["lm"] * 4


def test_twitches_are_not_merged():
    # A 0.2-s right twitch 0.1 s after a left LM is not an LM, so it is not a part.
    m = merge_bilateral(one_leg([0], [2]), one_leg([2.1], [2.3]), WASM)
    assert m["leg"].tolist() == ["left", "right"]
    assert m["kind"].tolist() == ["lm", "twitch"]


def test_chain_left_right_left_is_one_lm_of_three_parts():
    m = merge_bilateral(one_leg([0, 3.8], [2, 5]), one_leg([1.5], [4]), WASM)
    assert len(m) == 1
    assert m["legs"].iloc[0] == "left+right+left" and m["n_parts"].iloc[0] == 3
    assert m["end_s"].iloc[0] == 5.0


def alternating_parts(n: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """n overlapping 2.5-s parts, alternating legs, onsets 2 s apart (left first)."""
    on = np.arange(n) * 2.0
    left, right = on[0::2], on[1::2]
    return one_leg(left, left + 2.5), one_leg(right, right + 2.5)


def test_five_parts_make_a_non_candidate_that_breaks_the_series():
    # WASM 2016: a bilateral LM has at most 4 monolateral parts. 5 overlapping parts (0-10.5 s)
    # are kept as one LM that is not a candidate; placed between the 3rd and 4th of 6 LMs at
    # IMI 20 s it splits them 3 + 3 -> no series.
    left, right = alternating_parts(5)
    m = merge_bilateral(left, right, WASM)
    assert len(m) == 1 and m["n_parts"].iloc[0] == 5 and m["duration_s"].iloc[0] == 10.5
    shift = 60.0
    lm5 = m.assign(start_s=m["start_s"] + shift, end_s=m["end_s"] + shift)
    ev = pd.concat([lms([0, 20, 40, 80, 100, 120]), lm5], ignore_index=True)
    sc = score_plm(ev)
    assert sc.n_plm == 0
    assert not sc.events.loc[sc.events["leg"] == "bilateral", "candidate"].any()


def test_four_parts_are_a_candidate_that_continues_the_series():
    # The same with 4 parts (0-8.5 s): a candidate, so 0,20,40,60,80,100,120 is one series of 7.
    left, right = alternating_parts(4)
    m = merge_bilateral(left, right, WASM)
    assert m["n_parts"].iloc[0] == 4
    lm4 = m.assign(start_s=m["start_s"] + 60, end_s=m["end_s"] + 60)
    sc = score_plm(pd.concat([lms([0, 20, 40, 80, 100, 120]), lm4], ignore_index=True))
    assert sc.n_plm == 7 and sc.n_series == 1


@pytest.mark.parametrize("right_end_s, candidate", [(15.0, True), (15.5, False)])
def test_bilateral_duration_limit_is_15_s(right_end_s, candidate):
    # Left 0-8 s and right 7-15 (or 15.5) s: each part <= 10 s; merged 15 s is a bilateral
    # candidate (WASM 2016: up to 15 s), 15.5 s is not.
    m = merge_bilateral(one_leg([0], [8]), one_leg([7], [right_end_s]), WASM)
    assert m["duration_s"].iloc[0] == right_end_s
    sc = score_plm(m)
    assert sc.events["candidate"].tolist() == [candidate]
    assert sc.events["kind"].tolist() == ["lm" if candidate else "sustained"]


def test_bilateral_with_a_sustained_part_is_not_a_candidate():
    # Left 0-11 s (> 10 s, sustained) overlapped by right 5-7 s: merged 11 s <= 15 s, but a
    # part is not an LM of at most 10 s -> the merged LM is sustained, not a candidate.
    m = merge_bilateral(one_leg([0], [11]), one_leg([5], [7]), WASM)
    assert len(m) == 1 and m["kind"].iloc[0] == "sustained"
    assert score_plm(m).n_candidate == 0


def test_score_plm_merges_a_two_leg_table_and_merging_again_changes_nothing():
    # Left LMs at 0,20,40,60 and right LMs overlapping each of them: 4 bilateral LMs, IMI 20.
    ev = pd.concat([lms([0, 20, 40, 60], leg="left"), lms([0.5, 20.5, 40.5, 60.5], leg="right")])
    sc = score_plm(ev)
    assert len(sc.events) == 4 and (sc.events["leg"] == "bilateral").all()
    assert sc.events["end_s"].tolist() == [1.5, 21.5, 41.5, 61.5]
    assert sc.n_plm == 4
    again = score_plm(sc.events)
    assert again.events["start_s"].tolist() == sc.events["start_s"].tolist()
    assert again.events["n_parts"].tolist() == [2, 2, 2, 2]


def test_merge_keeps_other_columns_and_takes_the_largest_peak():
    left = one_leg([0], [2]).assign(peak_g=[0.1], at_gap=[False])
    right = one_leg([1], [3]).assign(peak_g=[0.3], at_gap=[True])
    m = merge_bilateral(left, right, WASM)
    assert m["peak_g"].iloc[0] == 0.3 and bool(m["at_gap"].iloc[0]) is True


# ----------------------------------------------------------------------------- AASM vs WASM

def test_imi_7_s_is_a_series_under_aasm_not_wasm():
    # IMIs of 7 s: inside AASM 2012 (5-90 s), outside WASM 2016 (10-90 s).
    ev = lms([0, 7, 14, 21])
    assert score_plm(ev, WASM).n_plm == 0
    assert score_plm(ev, AASM).n_plm == 4


# AASM Manual v2.0, VII Movement rules A.2.b: "the minimum period length between LMs (onset
# to onset) to include them as part of a PLM series is 5 s". The manual names no end of a series
# (WASM 2016 made an interval below its minimum end one): an LM less than 5 s after the previous
# one is not included, the series goes on, and the next interval is measured from the LM before.

def test_aasm_lm_under_5_s_after_the_previous_is_left_out_without_ending_the_series():
    # 0, 20, [23: 3 s after 20, left out], 40 (20 s after 20), 60 -> one series of 4 PLMs, the
    # LM at 23 s not among them. WASM 2016: 23 is 3 s after 20 (< 10 s) and ends the run 0, 20;
    # 23, 40, 60 is a run of 3 -> no series.
    ev = lms([0, 20, 23, 40, 60])
    a = score_plm(ev, AASM)
    assert plm_flags(a) == [True, True, False, True, True]
    assert a.n_plm == 4 and a.n_series == 1
    assert a.series["n_lm"].tolist() == [4] and a.series["mean_imi_s"].tolist() == [20.0]
    assert score_plm(ev, WASM).n_plm == 0


def test_aasm_interval_after_a_left_out_lm_is_measured_from_the_lm_before_it():
    # 0, 30, 60, [63 left out], 151: 151 is 91 s after 60 (> 90 s) -> the run 0, 30, 60 ends
    # with 3 LMs -> no series. Measured from 63 it would be 88 s and make a series of 4.
    assert score_plm(lms([0, 30, 60, 63, 151]), AASM).n_plm == 0
    # 0, 30, 60, [63], 149: 89 s after 60 -> one series of 4 (the 63-s LM not in it).
    sc = score_plm(lms([0, 30, 60, 63, 149]), AASM)
    assert plm_flags(sc) == [True, True, True, False, True]


def test_aasm_several_lms_left_out_in_a_row():
    # 0, 10, [12: 2 s after 10], [14: 4 s after 10], 20 (10 s after 10), 30 -> 4 PLMs in one
    # series; 12 and 14 are in no series. (Measured from the LM just before, 14 -> 20 would be
    # 6 s and 20 would be kept too, but 12 -> 14 is 2 s: the answer would be the same only by
    # chance, so the IMIs in the table are checked as well.)
    sc = score_plm(lms([0, 10, 12, 14, 20, 30]), AASM)
    assert plm_flags(sc) == [True, True, False, False, True, True]
    assert sc.n_series == 1 and sc.series["mean_imi_s"].tolist() == [10.0]
    # imi_s is the interval between consecutive candidate LMs (for IMI statistics).
    assert sc.events["imi_s"].tolist()[1:] == [10.0, 2.0, 2.0, 6.0, 10.0]


def test_aasm_lm_exactly_5_s_after_the_previous_is_included():
    # Rule 2.b's minimum is inclusive: 0, 5, 10, 15 -> 4 PLMs.
    assert score_plm(lms([0, 5, 10, 15]), AASM).n_plm == 4


def test_aasm_short_interval_is_a_rules_option():
    # The same rules with short_imi_breaks_series=True end the series at 23 s, as WASM does.
    rules = dataclasses.replace(AASM, short_imi_breaks_series=True)
    assert score_plm(lms([0, 20, 23, 40, 60]), rules).n_plm == 0


def test_aasm_bilateral_lm_has_no_part_limit():
    # AASM 2012 rule 2.d: LMs of the two legs with onsets < 5 s apart are one LM; it sets no
    # limit on parts (WASM 2016: at most 4). Left 0, 4, 8 s and right 2, 6 s (1 s each): each
    # onset is 2 s from one of the other leg -> one LM of 5 parts, 0-9 s (<= 10 s). Four such
    # clusters 20 s apart -> 4 PLMs. With a limit of 4 parts each is no candidate -> none.
    left = [c + d for c in (0, 20, 40, 60) for d in (0, 4, 8)]
    right = [c + d for c in (0, 20, 40, 60) for d in (2, 6)]
    ev = pd.concat([lms(left, leg="left"), lms(right, leg="right")])
    a = score_plm(ev, AASM)
    assert len(a.events) == 4 and a.events["n_parts"].tolist() == [5] * 4
    assert a.events["end_s"].tolist() == [9.0, 29.0, 49.0, 69.0]
    assert a.n_plm == 4
    assert score_plm(ev, dataclasses.replace(AASM, bilateral_max_parts=4)).n_plm == 0


@pytest.mark.parametrize("onset_gap_s, merged_aasm", [(4.0, True), (5.0, False)])
def test_legs_with_onsets_4_s_apart_merge_under_aasm_only(onset_gap_s, merged_aasm):
    # AASM 2012: LMs of the two legs with onsets < 5 s apart count as one LM. Left 0-1 s, right
    # 4-5 s: offset-to-onset 3 s, so WASM 2016 (< 0.5 s) keeps two LMs.
    left, right = one_leg([0], [1]), one_leg([onset_gap_s], [onset_gap_s + 1])
    a = merge_bilateral(left, right, AASM)
    w = merge_bilateral(left, right, WASM)
    assert len(w) == 2
    if merged_aasm:
        assert len(a) == 1 and a["start_s"].iloc[0] == 0.0 and a["end_s"].iloc[0] == 5.0
    else:
        assert len(a) == 2


def test_aasm_counts_merged_legs_once_in_a_series():
    # Left LMs every 20 s and right LMs 3 s after each: AASM merges each pair (onsets 3 s
    # apart) -> 4 LMs at IMI 20 -> 4 PLMs. WASM keeps 8 LMs with IMIs 3, 17, 3, ... -> none.
    ev = pd.concat([lms([0, 20, 40, 60], leg="left"), lms([3, 23, 43, 63], leg="right")])
    a, w = score_plm(ev, AASM), score_plm(ev, WASM)
    assert len(a.events) == 4 and a.n_plm == 4
    assert len(w.events) == 8 and w.n_plm == 0


# ----------------------------------------------------------------------------- respiratory

RESP_END_S = 100.0  # WASM window: [98.0, 110.25] s


def resp(end_s=RESP_END_S) -> pd.DataFrame:
    return pd.DataFrame({"start_s": [end_s - 20.0], "end_s": [end_s]})


@pytest.mark.parametrize("start_s, end_s, related", [
    (96.0, 97.99, False),   # ends 0.01 s before the window opens (-2.0 s)
    (96.0, 98.0, True),     # ends exactly at -2.0 s: inclusive
    (110.25, 111.0, True),  # starts exactly at +10.25 s: inclusive
    (110.26, 111.0, False),  # starts 0.01 s after the window closes
    (90.0, 120.0, True),    # spans the whole window
])
def test_wasm_respiratory_window_edges(start_s, end_s, related):
    sc = score_plm(one_leg([start_s], [end_s]), WASM, resp())
    assert sc.events["respiratory"].tolist() == [related]


@pytest.mark.parametrize("start_s, end_s, related", [
    (78.0, 79.49, False), (78.0, 79.5, True), (90.0, 91.0, True), (100.5, 101.0, True),
    (100.51, 101.0, False)])
def test_aasm_respiratory_window_edges(start_s, end_s, related):
    # AASM 2012: from 0.5 s before the respiratory event (80-100 s) to 0.5 s after it.
    sc = score_plm(one_leg([start_s], [end_s]), AASM, resp())
    assert sc.events["respiratory"].tolist() == [related]


def test_twitches_are_never_respiratory_related():
    sc = score_plm(one_leg([100.0], [100.2]), WASM, resp())
    assert sc.events["respiratory"].tolist() == [False]


def test_wasm_with_and_without_respiratory_lms():
    # 7 LMs at IMI 20 s; a respiratory event ends at 58 s (window 56-68.25 s) -> the LM at 60
    # is respiratory-related. With all LMs: one series of 7. Without it (WASM 2016 as PLMScoRe
    # scores it: the LM is removed and the interval measured across it, 40 -> 80 = 40 s):
    # one series of the other 6.
    ev = lms([0, 20, 40, 60, 80, 100, 120])
    sc = score_plm(ev, WASM, resp(58.0))
    assert sc.events["respiratory"].tolist() == [False, False, False, True, False, False, False]
    assert sc.n_plm == 7 and sc.events["candidate"].all()
    assert sc.n_plm_without_resp == 6
    wo = sc.events_without_resp
    assert wo["start_s"].tolist() == sc.events["start_s"].tolist()
    assert wo["plm"].tolist() == [True, True, True, False, True, True, True]
    assert wo["imi_s"].iloc[4] == 40.0


def test_a_long_movement_in_a_respiratory_window_still_ends_the_series():
    # WASM 2016: an LM longer than 10 s is no candidate and ends a series; the respiratory
    # exclusion takes candidate LMs out of the count without respiratory LMs, not the breakers
    # (PLMScoRe keeps them). Candidates every 20 s from 0 to 60, a 12-s movement at 70 s inside
    # the window of an apnoea ending at 72 s (70-82.25 s), candidates at 90, 110, 130:
    # with all LMs one series of 4 (0-60), the movement ends it, 90-130 are only 3.
    # Without respiratory LMs the same: no candidate is in the window, the movement still breaks.
    ev = lms([0, 20, 40, 60, 70, 90, 110, 130], [2, 2, 2, 2, 12, 2, 2, 2])
    sc = score_plm(ev, WASM, resp(72.0))
    assert sc.events["respiratory"].tolist() == [False] * 4 + [True] + [False] * 3
    assert sc.n_plm == 4
    assert sc.n_plm_without_resp == 4
    wo = sc.events_without_resp
    assert wo["plm"].tolist() == [True] * 4 + [False] * 4
    assert np.isnan(wo["imi_s"].iloc[5])          # not measured across the movement
    # a candidate in the same window is still removed and the interval measured across it
    ev2 = lms([0, 20, 40, 60, 75, 90, 110, 130], [2, 2, 2, 2, 2, 2, 2, 2])
    sc2 = score_plm(ev2, WASM, resp(72.0))
    assert sc2.n_plm == 8 and sc2.n_plm_without_resp == 7   # 75 out: 60 -> 90 is 30 s
    assert sc2.events_without_resp["imi_s"].iloc[5] == 30.0


def test_respiratory_lms_can_be_made_to_break_the_series():
    # With resp_breaks_series the respiratory LM at 60 is a non-candidate that ends the series:
    # runs 0,20,40 and 80,100,120 -> 0 PLMs without respiratory LMs.
    rules = dataclasses.replace(WASM, resp_breaks_series=True)
    sc = score_plm(lms([0, 20, 40, 60, 80, 100, 120]), rules, resp(58.0))
    assert sc.n_plm == 7 and sc.n_plm_without_resp == 0
    assert np.isnan(sc.events_without_resp["imi_s"].iloc[4])


def test_aasm_removes_respiratory_lms_without_breaking_the_series():
    # Same LMs; the event runs 40.2-60.2 s (AASM window 39.7-60.7 s) -> the LMs 40-41 and 60-61
    # are related. AASM 2012 does not score them: IMIs 20, 60 (20 -> 80), 20, 20 -> 5 PLMs.
    # AASM 2012 does not score it: the IMI from 40 to 80 is 40 s (in 5-90) -> 6 PLMs in one
    # series.
    sc = score_plm(lms([0, 20, 40, 60, 80, 100, 120]), AASM, resp(60.2))
    assert sc.events["respiratory"].tolist() == [False, False, True, True, False, False, False]
    assert sc.n_plm == 7 and sc.n_plm_without_resp == 5
    wo = sc.events_without_resp
    assert wo["plm"].tolist() == [True, True, False, False, True, True, True]
    assert wo["imi_s"].iloc[4] == 60.0
    assert wo["series"].iloc[4] == 1 and len(sc.series_without_resp) == 1


def test_without_respiratory_file_the_exclusion_fields_are_none():
    sc = score_plm(lms([0, 20, 40, 60]))
    assert sc.events_without_resp is None and sc.n_plm_without_resp is None
    assert not sc.events["respiratory"].any()


def test_respiratory_events_with_no_rows():
    sc = score_plm(lms([0, 20, 40, 60]), WASM, pd.DataFrame({"start_s": [], "end_s": []}))
    assert sc.n_plm_without_resp == 4


# ----------------------------------------------------------------------------- odd inputs

def test_empty_table():
    for ev in (pd.DataFrame(), pd.DataFrame({"start_s": [], "end_s": []})):
        sc = score_plm(ev)
        assert (sc.n_plm, sc.n_candidate, sc.n_series) == (0, 0, 0)
        assert {"candidate", "respiratory", "imi_s", "plm", "series"} <= set(sc.events.columns)
        assert list(sc.series.columns) == ["series", "start_s", "end_s", "n_lm", "mean_imi_s"]


def test_one_event_and_all_twitches():
    sc = score_plm(lms([5]))
    assert sc.n_candidate == 1 and sc.n_plm == 0 and np.isnan(sc.events["imi_s"].iloc[0])
    sc = score_plm(lms(np.arange(10) * 20.0, 0.2))
    assert sc.n_candidate == 0 and sc.n_plm == 0
    assert (sc.events["kind"] == "twitch").all()


def test_unsorted_input_is_sorted():
    sc = score_plm(lms([60, 0, 40, 20]))
    assert sc.events["start_s"].tolist() == [0, 20, 40, 60]
    assert list(sc.events.index) == [0, 1, 2, 3]
    assert sc.n_plm == 4


def test_nan_row_is_named():
    ev = lms([0, 20, 40])
    ev.loc[2, "end_s"] = np.nan
    with pytest.raises(InputError, match="row 2"):
        score_plm(ev)


def test_end_before_start_and_missing_columns_are_rejected():
    with pytest.raises(InputError, match="row 1.*before start_s"):
        score_plm(pd.DataFrame({"start_s": [0.0, 10.0], "end_s": [1.0, 9.0]}))
    with pytest.raises(InputError, match="missing column.*end_s"):
        score_plm(pd.DataFrame({"start_s": [0.0]}))
    with pytest.raises(InputError, match="leg 'middle'"):
        score_plm(lms([0], leg=["middle"]))


# ----------------------------------------------------------------------------- reading files

def write(tmp_path, text, name="lm.csv"):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_read_lm_table_start_end_sorted(tmp_path):
    p = write(tmp_path, "start_s,end_s,leg\n40,41,L\n0,1.5,right\n20,21,left\n")
    t = read_lm_table(p)
    assert t["start_s"].tolist() == [0, 20, 40]
    assert t["duration_s"].tolist() == [1.5, 1, 1]
    assert t["leg"].tolist() == ["right", "left", "left"]


def test_read_lm_table_aliases(tmp_path):
    a = read_lm_table(write(tmp_path, "Onset,Offset\n0,1\n20,21\n", "a.csv"))
    b = read_lm_table(write(tmp_path, "start;duration\n0;1,0\n20;1\n", "b.csv"))
    c = read_lm_table(write(tmp_path, "onset_s\toffset_s\n0\t1\n20\t21\n", "c.csv"))
    for t in (a, b, c):
        assert t["start_s"].tolist() == [0, 20] and t["end_s"].tolist() == [1, 21]


def test_read_lm_table_errors_name_file_line_and_column(tmp_path):
    p = write(tmp_path, "begin,stop\n0,1\n")
    with pytest.raises(InputError, match=r"lm\.csv, line 1: header has columns begin, stop"):
        read_lm_table(p)
    # Comment and blank lines keep their line numbers.
    p = write(tmp_path, "# exported\nstart_s,end_s\n\n0,1\n5,abc\n")
    with pytest.raises(InputError, match=r"line 5, column 'end_s': got 'abc'"):
        read_lm_table(p)
    p = write(tmp_path, "start_s,end_s\n0,1\n10,9\n")
    with pytest.raises(InputError, match=r"line 3: end 9 s is before start 10 s"):
        read_lm_table(p)
    p = write(tmp_path, "start_s,end_s\n0,nan\n")
    with pytest.raises(InputError, match=r"line 2, column 'end_s'"):
        read_lm_table(p)
    with pytest.raises(InputError, match="empty file"):
        read_lm_table(write(tmp_path, "\n# nothing\n"))
    with pytest.raises(InputError, match="not found"):
        read_lm_table(tmp_path / "missing.csv")


def test_read_respiratory_events_and_rescore(tmp_path):
    r = read_respiratory_events(write(tmp_path, "onset,duration\n38,20\n", "resp.csv"))
    assert r["end_s"].tolist() == [58.0]
    t = read_lm_table(write(tmp_path, "start_s,end_s\n" + "".join(
        f"{s},{s + 1}\n" for s in (0, 20, 40, 60, 80, 100, 120))))
    sc = score_plm(t, WASM, r)
    # The LM at 60 lies in 56-68.25 s; without it the IMI 40 -> 80 (40 s) keeps one series of 6.
    assert sc.n_plm == 7 and sc.n_plm_without_resp == 6



def test_read_lm_table_tolerates_trailing_empty_fields_and_rejects_extra_values(tmp_path):
    t = read_lm_table(write(tmp_path, "start_s,end_s\n0,1,\n20,21,\n"))
    assert t["end_s"].tolist() == [1, 21]
    with pytest.raises(InputError, match="line 3: 3 fields but the header has 2"):
        read_lm_table(write(tmp_path, "start_s,end_s\n0,1\n20,21,5\n"))
