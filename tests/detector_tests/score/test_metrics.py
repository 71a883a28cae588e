"""Night metrics, periodicity index, IMI histograms and hourly counts on hand-built scorings."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from detector.config import RULES
from detector.score.metrics import (events_per_hour, imi_histogram, ln_imi_histogram, night_metrics,
                                    periodicity_index)
from detector.score.plm import score_plm
from detector.io.recording import InputError

WASM = RULES["wasm2016"]
AASM = RULES["aasm2012"]


def table(rows: list[tuple[float, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["start_s", "end_s"])


def night() -> pd.DataFrame:
    """A small night, kinds by duration (WASM 2016 bounds):

    * LMs (1 s) at 1000, 1020, 1040, 1060 (IMIs 20 s: one series of 4) and 5000 (IMI 3940 s);
    * twitches (0.2 s) at 10, 2000, 3000;
    * one sustained movement 6000-6030 s (30 s), after every LM.
    """
    lm = [(s, s + 1.0) for s in (1000, 1020, 1040, 1060, 5000)]
    tw = [(s, s + 0.2) for s in (10, 2000, 3000)]
    return table(lm + tw + [(6000.0, 6030.0)])


def test_night_metrics_counts_and_indices():
    # Recording 7230 s, no gaps, 30 s sustained -> rest 7200 s = 2 h exactly.
    m = night_metrics(score_plm(night()), recording_s=7230.0, gap_s=0.0)
    assert m["recording_h"] == pytest.approx(7230 / 3600)
    assert m["rest_h"] == pytest.approx(2.0)
    assert (m["n_twitch"], m["n_lm"], m["n_candidate"], m["n_plm"], m["n_sustained"],
            m["n_series"]) == (3, 5, 5, 4, 1, 1)
    assert m["plm_index"] == pytest.approx(4 / 2)
    assert m["lm_index"] == pytest.approx(5 / 2)
    assert m["twitch_index"] == pytest.approx(3 / 2)
    # Candidate IMIs: 20, 20, 20, 3940 -> median 20; the run of 3 in-range IMIs is periodic,
    # 3940 is not -> periodicity index 3/4.
    assert m["median_imi_s"] == 20.0
    assert m["periodicity_index"] == pytest.approx(0.75)
    assert m["mean_duration_s"]["lm"] == pytest.approx(1.0)
    assert m["mean_duration_s"]["twitch"] == pytest.approx(0.2)
    assert m["mean_duration_s"]["sustained"] == pytest.approx(30.0)
    assert "n_plm_without_resp" not in m and "plm_index_without_resp" not in m


def test_rest_time_subtracts_gaps_and_sustained_time():
    # 7230 s - 1800 s of gaps - 30 s sustained = 5400 s = 1.5 h.
    m = night_metrics(score_plm(night()), recording_s=7230.0, gap_s=1800.0)
    assert m["rest_h"] == pytest.approx(1.5) and m["gap_s"] == 1800.0
    assert m["plm_index"] == pytest.approx(4 / 1.5)
    # An explicit sustained time replaces the summed durations: 7230 - 0 - 3630 = 1 h.
    m = night_metrics(score_plm(night()), recording_s=7230.0, gap_s=0.0, sustained_s=3630.0)
    assert m["rest_h"] == pytest.approx(1.0)


def test_no_rest_time_gives_no_indices():
    m = night_metrics(score_plm(night()), recording_s=1800.0, gap_s=1800.0)
    assert m["rest_h"] == 0.0
    assert m["plm_index"] is None and m["lm_index"] is None and m["twitch_index"] is None


def test_empty_night():
    m = night_metrics(score_plm(pd.DataFrame()), recording_s=3600.0, gap_s=0.0)
    assert m["n_lm"] == 0 and m["plm_index"] == 0.0
    assert m["periodicity_index"] is None and m["median_imi_s"] is None
    assert m["mean_duration_s"] == {"twitch": None, "lm": None, "sustained": None}


def test_metrics_with_respiratory_events():
    # Respiratory event ending at 1038 s: WASM window 1036-1048.25 s holds the LM at 1040; with
    # it excluded the run is 1000,1020 | 1060,5000 -> 0 PLMs.
    resp = table([(1018.0, 1038.0)])
    m = night_metrics(score_plm(night(), WASM, resp), recording_s=7230.0, gap_s=0.0)
    assert m["n_plm"] == 4 and m["n_plm_without_resp"] == 0
    assert m["plm_index_without_resp"] == 0.0


def test_bad_times_are_rejected():
    with pytest.raises(InputError, match="recording_s"):
        night_metrics(score_plm(night()), recording_s=float("nan"), gap_s=0.0)
    with pytest.raises(InputError, match="gap_s"):
        night_metrics(score_plm(night()), recording_s=10.0, gap_s=-1.0)


# ----------------------------------------------------------------------------- periodicity

def test_periodicity_index_on_a_hand_built_sequence():
    # Runs of in-range (10-90 s) IMIs: [20, 20] (2: too short), 5 (out), [20, 20, 20, 20]
    # (4: periodic), 100 (out), [30, 30] (2) -> 4 periodic IMIs of 10.
    imi = [np.nan, 20, 20, 5, 20, 20, 20, 20, 100, 30, 30]
    assert periodicity_index(np.array(imi), WASM) == pytest.approx(0.4)
    # Under AASM (5-90 s) the 5-s IMI is in range: [20, 20, 5, 20, 20, 20, 20] is one run of 7
    # -> 7 of 10.
    assert periodicity_index(np.array(imi), AASM) == pytest.approx(0.7)


def test_periodicity_index_runs_stop_at_a_missing_interval():
    # NaN (after a non-candidate LM) splits [20, 20, 20] into [20, 20] and [20] -> 0 of 3;
    # exactly 3 in a row counts -> 3 of 3.
    assert periodicity_index(np.array([np.nan, 20, 20, np.nan, 20]), WASM) == 0.0
    assert periodicity_index(np.array([np.nan, 20, 20, 20]), WASM) == 1.0
    assert periodicity_index(np.array([np.nan]), WASM) is None


def test_periodicity_index_needs_two_candidates():
    m = night_metrics(score_plm(table([(0.0, 1.0)])), recording_s=3600.0, gap_s=0.0)
    assert m["periodicity_index"] is None
    m = night_metrics(score_plm(table([(0.0, 1.0), (200.0, 201.0)])), recording_s=3600.0,
                      gap_s=0.0)
    assert m["periodicity_index"] == 0.0  # one IMI of 200 s, not periodic


# ----------------------------------------------------------------------------- histograms

def imis_night(imis_s: list[float]) -> pd.DataFrame:
    onsets = np.concatenate([[0.0], np.cumsum(imis_s)])
    return table([(s, s + 0.6) for s in onsets])


def test_imi_histogram_bins():
    # IMIs 10 (bin 10-12), 11.9 (10-12), 20 (20-22), 90 (last bin 88-90, closed) and 95 (above
    # 90 s: not binned, counted in attrs).
    sc = score_plm(imis_night([10, 11.9, 20, 90, 95]))
    h = imi_histogram(sc)
    assert len(h) == 45  # 2-s bins from 0 to 90 s
    assert h["bin_start_s"].iloc[0] == 0.0 and h["bin_end_s"].iloc[-1] == 90.0
    assert h["count"].sum() + h.attrs["n_above_max"] == 5
    assert h.attrs["n_above_max"] == 1
    counts = dict(zip(h["bin_start_s"], h["count"]))
    assert counts[10.0] == 2 and counts[20.0] == 1 and counts[88.0] == 1
    # A wider range holds every IMI: the bins then sum to the number of IMIs.
    h = imi_histogram(sc, bin_s=5.0, max_s=100.0)
    assert h["count"].sum() == 5 and h.attrs["n_above_max"] == 0
    assert dict(zip(h["bin_start_s"], h["count"]))[95.0] == 1


def test_imi_histogram_excludes_intervals_across_non_candidates():
    # LMs at 0, 20 | sustained 25-40 s | 50, 70: IMIs 20 and 20 only (50 starts afresh).
    ev = pd.concat([imis_night([20]), table([(25.0, 40.0), (50.0, 51.0), (70.0, 71.0)])])
    h = imi_histogram(score_plm(ev))
    assert h["count"].sum() == 2
    assert h.loc[h["bin_start_s"] == 20.0, "count"].item() == 2


def test_ln_imi_histogram_bins():
    imis = [1.2, 20.0, 20.0, 45.0, 300.0]
    h = ln_imi_histogram(score_plm(imis_night(imis), AASM))
    assert h["count"].sum() == len(imis)
    # Edges are multiples of 0.1: first bin starts at floor(ln 0.5 / 0.1) * 0.1 = -0.7; the
    # last holds ln 300 = 5.7038 -> [5.7, 5.8).
    assert h["ln_imi_start"].iloc[0] == pytest.approx(-0.7)
    assert h["ln_imi_end"].iloc[-1] == pytest.approx(5.8)
    assert np.allclose(np.diff(h["ln_imi_start"]), 0.1)
    # ln 20 = 2.9957 -> bin [2.9, 3.0) holds the two 20-s IMIs; ln 1.2 = 0.18 -> [0.1, 0.2).
    by_start = dict(zip(np.round(h["ln_imi_start"], 1), h["count"]))
    assert by_start[2.9] == 2 and by_start[0.1] == 1 and by_start[3.8] == 1


def test_ln_imi_histogram_empty():
    h = ln_imi_histogram(score_plm(table([(0.0, 1.0)])))
    assert len(h) == 0 and list(h.columns) == ["ln_imi_start", "ln_imi_end", "count"]


# ----------------------------------------------------------------------------- per hour

def test_events_per_hour_counts():
    # Hour 0: twitch at 100 s, LM at 3599.9 s; hour 1: LM at 3600 s (PLM) and LM at 5000 s
    # (PLM); hour 2: sustained at 7300 s. Recording 3 h -> rows 0, 1, 2.
    ev = pd.DataFrame({
        "start_s": [100.0, 3599.9, 3600.0, 5000.0, 7300.0],
        "end_s": [100.2, 3600.9, 3601.0, 5001.0, 7320.0],
        "kind": ["twitch", "lm", "lm", "lm", "sustained"],
        "plm": [False, False, True, True, False],
    })
    h = events_per_hour(ev, 3 * 3600.0)
    assert h["hour"].tolist() == [0, 1, 2]
    assert h["n_twitch"].tolist() == [1, 0, 0]
    assert h["n_lm"].tolist() == [1, 2, 0]
    assert h["n_plm"].tolist() == [0, 2, 0]
    assert h["n_sustained"].tolist() == [0, 0, 1]


def test_events_per_hour_from_a_scoring_and_partial_last_hour():
    # 2.5 h recording -> 3 rows; the series of 4 LMs in hour 0 counts as 4 PLMs.
    sc = score_plm(night())
    h = events_per_hour(sc.events, 2.5 * 3600.0)
    assert len(h) == 3
    assert h["n_plm"].tolist() == [4, 0, 0]
    assert h["n_lm"].tolist() == [4, 1, 0]     # 1000-1060 s, and 5000 s
    assert h["n_twitch"].tolist() == [3, 0, 0]  # 10, 2000 and 3000 s
    assert h["n_sustained"].tolist() == [0, 1, 0]


def test_plm_clm_ratio_is_the_share_of_candidates_in_series():
    # Candidates at 0, 20, 40, 45, 60, 80, 100: the 5-s interval ends the first run (0, 20, 40:
    # only 3) and 45, 60, 80, 100 form a series of 4 -> 4 PLM of 7 candidates.
    sc = score_plm(table([(s, s + 1) for s in (0, 20, 40, 45, 60, 80, 100)]))
    m = night_metrics(sc, recording_s=3600.0, gap_s=0.0)
    assert m["n_plm"] == 4 and m["n_candidate"] == 7
    assert m["plm_clm_ratio"] == pytest.approx(4 / 7)
