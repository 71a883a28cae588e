"""Reading a researcher's reference scoring: EDF+/BDF+ annotations and CSVs.

Every expected value follows from the file written in the test and the rule definitions
(WASM 2016 = Ferri et al., Sleep Med 2016;26:86-95; AASM 2012 = AASM Scoring Manual v2.0):
an LM lasts 0.5-10 s (both inclusive), a bilateral LM up to 15 s (WASM) or 10 s (AASM); shorter
is a twitch, longer sustained. Times use binary-exact fractions so they compare exactly.
"""

from __future__ import annotations

import builtins
import io
import os
import tempfile
from datetime import datetime, time, timezone

import edfio
import numpy as np
import pandas as pd
import pytest

from detector.config import RULES
from detector.io.recording import InputError, Recording
from detector.score.reference import Reference, read_reference, write_reference_csv
from detector.io.labels import classify_label, leg_from_label

EDF_START = datetime(2024, 3, 1, 22, 0, 0)
EDF_START_UNIX = EDF_START.replace(tzinfo=timezone.utc).timestamp()

# (onset s, duration s or None, text) -> expected (kind, leg, plm) for LMs
LM_ANNOTATIONS = [
    (10.0, 1.5, "LM", "lm", "unknown", False),
    (30.0, 2.0, "Limb Movement", "lm", "unknown", False),
    (50.0, 0.25, "Leg Movement", "twitch", "unknown", False),         # < 0.5 s
    (70.0, 12.0, "Leg movement - Left", "sustained", "left", False),  # > 10 s, one leg
    (90.0, 1.0, "LM (L)", "lm", "left", False),
    (110.0, 0.5, "LAT", "lm", "left", False),                         # 0.5 s: inclusive
    (130.0, 10.0, "RAT", "lm", "right", False),                       # 10 s: inclusive
    (150.0, 3.0, "Leg Mov", "lm", "unknown", False),
    (170.0, 1.0, "PLM", "lm", "unknown", True),
    (190.0, 1.0, "Periodic Limb Movement", "lm", "unknown", True),
    (210.0, 1.0, "PLMS", "lm", "unknown", True),
    (230.0, 1.0, "LM-L", "lm", "left", False),
    (250.0, 1.0, "LM-R", "lm", "right", False),
    (270.0, 12.0, "bilateral", "lm", "bilateral", False),             # bilateral: up to 15 s
    (290.0, 2.5, "Limb Movement (Left)", "lm", "left", False),
    (350.0, None, "LM", "twitch", "unknown", False),                  # no duration -> 0 s
]
RESP_ANNOTATIONS = [(300.0, 20.0, "Obstructive Apnea"), (400.0, 15.0, "Hypopnea")]
OTHER_ANNOTATIONS = [(0.0, 30.0, "Sleep stage W"), (320.0, 30.0, "Stage 2"),
                     (360.0, None, "Lights Off"), (420.0, 1.0, "Arousal (LM)")]


def write_edf(path, annotations, *, start=EDF_START, bdf=False, signal=True):
    """An EDF+ (or BDF+) file with one 10 Hz channel of 600 s and the given annotations."""
    anns = [edfio.EdfAnnotation(o, d, t) for o, d, t in annotations]
    rec = edfio.Recording(startdate=start.date())
    if bdf:
        sig = edfio.BdfSignal(np.zeros(6000), sampling_frequency=10, label="EMG LAT")
        edfio.Bdf([sig], recording=rec, starttime=start.time(), annotations=anns).write(path)
    else:
        sig = edfio.EdfSignal(np.zeros(6000), sampling_frequency=10, label="EMG LAT")
        edfio.Edf([sig], recording=rec, starttime=start.time(), annotations=anns).write(path)
    return path


@pytest.fixture
def psg_edf(tmp_path):
    anns = ([a[:3] for a in LM_ANNOTATIONS] + RESP_ANNOTATIONS + OTHER_ANNOTATIONS)
    return write_edf(tmp_path / "night.edf", anns)


def recording_at(t0_unix_s, seconds=600):
    return Recording.from_array(np.zeros((seconds * 10, 3)), 10.0, t0_unix_s, source="acc.csv")


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# ----------------------------------------------------------------------------- label table

@pytest.mark.parametrize("text, cls, leg", [
    ("LM", "lm", "unknown"), ("Limb Movement", "lm", "unknown"),
    ("Leg Movement", "lm", "unknown"), ("Leg movement - Left", "lm", "left"),
    ("LM (L)", "lm", "left"), ("LAT", "lm", "left"), ("RAT", "lm", "right"),
    ("Leg Mov", "lm", "unknown"), ("LM-L", "lm", "left"), ("LM-R", "lm", "right"),
    ("lm-r", "lm", "right"), ("bilateral", "lm", "bilateral"),
    ("Limb Movement (Left)", "lm", "left"), ("Limb Movement (Right)", "lm", "right"),
    ("Leg Movement - Left and Right", "lm", "bilateral"),
    ("PLM", "plm", "unknown"), ("PLMS", "plm", "unknown"), ("PLM (Right)", "plm", "right"),
    ("Periodic Limb Movement", "plm", "unknown"), ("periodic leg movement", "plm", "unknown"),
    ("Obstructive Apnea", "respiratory", None), ("Central Apnoea", "respiratory", None),
    ("Mixed Apnea", "respiratory", None), ("Hypopnea", "respiratory", None),
    ("RERA", "respiratory", None), ("Respiratory Effort Related Arousal", "respiratory", None),
    ("Stage 2", "other", None), ("Sleep stage W", "other", None), ("Arousal", "other", None),
    ("Arousal (LM)", "other", None), ("Lights Off", "other", None),
    ("PLM series", "other", None), ("Body Movement", "other", None),
    ("Desaturation", "other", None), ("Calm", "other", None),
])
def test_default_label_table(text, cls, leg):
    assert classify_label(text) == cls
    if leg is not None:
        assert leg_from_label(text) == leg


def test_edf_channel_suffix_names_the_leg_but_is_not_matched():
    # EDF+ channel-specific annotation "text@@signal": the text is classified, the channel
    # names the leg only when the text does not.
    assert classify_label("Movement@@LAT") == "other"
    assert leg_from_label("LM@@EMG RAT") == "right"
    assert leg_from_label("LM (L)@@EMG RAT") == "left"


# ----------------------------------------------------------------------------- EDF+

def test_edf_annotations_every_onset_duration_leg_and_kind(psg_edf):
    ref = read_reference(psg_edf)
    ev = ref.events
    assert ref.format == "edf+" and ref.start_unix_s == EDF_START_UNIX
    assert ev["start_s"].tolist() == [a[0] for a in LM_ANNOTATIONS]
    assert ev["duration_s"].tolist() == [a[1] or 0.0 for a in LM_ANNOTATIONS]
    assert ev["end_s"].tolist() == [a[0] + (a[1] or 0.0) for a in LM_ANNOTATIONS]
    assert ev["label"].tolist() == [a[2] for a in LM_ANNOTATIONS]
    assert ev["kind"].tolist() == [a[3] for a in LM_ANNOTATIONS]
    assert ev["leg"].tolist() == [a[4] for a in LM_ANNOTATIONS]
    # The file labels PLMs, so every LM has a flag (PLM labels true, the rest false).
    assert ref.plm_from == "file"
    assert ev["plm"].tolist() == [a[5] for a in LM_ANNOTATIONS]
    # annotation_index points into edfio's sorted Edf.annotations
    anns = edfio.read_edf(psg_edf).annotations
    assert [anns[i].text for i in ev["annotation_index"]] == ev["label"].tolist()

    assert ref.respiratory[["start_s", "end_s", "duration_s", "label"]].values.tolist() == [
        [300.0, 320.0, 20.0, "Obstructive Apnea"], [400.0, 415.0, 15.0, "Hypopnea"]]
    other = ref.other
    assert other["label"].tolist() == ["Sleep stage W", "Stage 2", "Lights Off", "Arousal (LM)"]
    assert other["start_s"].tolist() == [0.0, 320.0, 360.0, 420.0]
    assert other["duration_s"].iloc[[0, 1, 3]].tolist() == [30.0, 30.0, 1.0]
    assert np.isnan(other["duration_s"].iloc[2]) and other["end_s"].iloc[2] == 360.0

    s = ref.summary()
    assert s["n_events"] == 16 and s["n_plm"] == 3 and s["n_respiratory"] == 2
    assert s["kind"] == {"twitch": 2, "lm": 13, "sustained": 1}
    assert s["leg"] == {"left": 5, "right": 2, "bilateral": 1, "unknown": 8}
    assert s["n_other"] == 4 and s["other_labels"] == {
        "Sleep stage W": 1, "Stage 2": 1, "Lights Off": 1, "Arousal (LM)": 1}
    assert s["n_no_duration"] == 1 and s["start_time"] == "2024-03-01T22:00:00+00:00"


def test_bilateral_upper_bound_follows_the_rules(psg_edf):
    # The 12-s bilateral LM is an LM under WASM 2016 (<= 15 s) but sustained under AASM 2012
    # (bilateral_max_s 10 s); one-leg bounds are the same in both.
    wasm = read_reference(psg_edf)
    aasm = read_reference(psg_edf, rules="aasm2012")
    k = wasm.events["label"].tolist().index("bilateral")
    assert wasm.events["kind"].iloc[k] == "lm" and aasm.events["kind"].iloc[k] == "sustained"
    assert (wasm.events["kind"].drop(index=k) == aasm.events["kind"].drop(index=k)).all()


def test_bdf_plus_reads_the_same_way(tmp_path):
    path = write_edf(tmp_path / "night.bdf", [(5.0, 1.0, "LM-R"), (9.0, 4.0, "Central Apnea")],
                     bdf=True)
    ref = read_reference(path)
    assert ref.format == "bdf+"
    assert ref.events[["start_s", "end_s", "leg", "kind"]].values.tolist() == [
        [5.0, 6.0, "right", "lm"]]
    assert ref.respiratory["label"].tolist() == ["Central Apnea"]


def test_user_labels_come_first_and_can_ignore_defaults(tmp_path):
    path = write_edf(tmp_path / "n.edf", [(10.0, 1.0, "Beinbewegung links"), (20.0, 1.0, "LAT"),
                                          (30.0, 1.0, "LM-R"), (40.0, 5.0, "Schnarchen")])
    ref = read_reference(path, labels={r"beinbewegung": "lm", r"^lat$": "other"})
    assert ref.events["label"].tolist() == ["Beinbewegung links", "LM-R"]
    assert ref.events["start_s"].tolist() == [10.0, 30.0]
    assert ref.other["label"].tolist() == ["LAT", "Schnarchen"]
    # the defaults can be switched off altogether
    none = read_reference(path, labels={r"beinbewegung": "lm", ".*": "other"})
    assert none.events["label"].tolist() == ["Beinbewegung links"]
    with pytest.raises(InputError, match="class 'movement'"):
        read_reference(path, labels={"x": "movement"})
    with pytest.raises(InputError, match="not a valid regular expression"):
        read_reference(path, labels={"(": "lm"})


def test_no_plm_label_means_no_plm_flags(tmp_path):
    path = write_edf(tmp_path / "n.edf", [(10.0, 1.0, "LM"), (30.0, 1.0, "LM")])
    ref = read_reference(path)
    assert ref.plm_from is None and ref.events["plm"].isna().all()
    assert ref.summary()["n_plm"] is None


def test_twitch_labels_are_twitches_whatever_their_duration(tmp_path):
    """A jerk of 0.7 s is a twitch when the scorer (or legtwitch's export) says so; by its
    duration alone it would be an LM (>= 0.5 s, WASM 2016)."""
    path = write_edf(tmp_path / "t.edf", [(10.0, 0.7, "Twitch (Left)"), (30.0, 0.3, "Hypnic jerk"),
                                          (50.0, 0.7, "LM")])
    ref = read_reference(path)
    assert list(ref.events["kind"]) == ["twitch", "twitch", "lm"]
    assert list(ref.events["leg"]) == ["left", "unknown", "unknown"]
    scored = ref.scored(RULES["aasm2012"])
    assert list(scored.events["kind"]) == ["twitch", "twitch", "lm"]


# ----------------------------------------------------------------------------- alignment

def test_alignment_with_a_recording_starting_30_s_after_the_edf(psg_edf):
    rec = recording_at(EDF_START_UNIX + 30.0)
    ref = read_reference(psg_edf, recording=rec)
    assert ref.start_unix_s == EDF_START_UNIX + 30.0
    assert ref.events["start_s"].tolist() == [a[0] - 30.0 for a in LM_ANNOTATIONS]
    assert ref.respiratory["start_s"].tolist() == [270.0, 370.0]
    assert ref.other["start_s"].tolist() == [-30.0, 290.0, 330.0, 390.0]
    s = ref.summary()
    assert s["n_before_start"] == 1      # the LM at 10 s on the EDF clock is 20 s before it
    # offset_s is added last
    shifted = read_reference(psg_edf, recording=rec, offset_s=2.5)
    assert shifted.events["start_s"].tolist() == [a[0] - 27.5 for a in LM_ANNOTATIONS]
    assert shifted.info["shift_s"] == -27.5


def test_edf_start_is_utc_unless_a_timezone_is_given(psg_edf):
    # The EDF header says 22:00:00 (no zone). In Berlin on 1 March (CET, UTC+1) that is
    # 21:00:00 UTC; a recording starting 21:00:30 UTC therefore started 30 s after the EDF.
    rec = recording_at(datetime(2024, 3, 1, 21, 0, 30, tzinfo=timezone.utc).timestamp())
    local = read_reference(psg_edf, recording=rec, edf_timezone="Europe/Berlin")
    assert local.events["start_s"].iloc[0] == 10.0 - 30.0
    assert read_reference(psg_edf, recording=rec, edf_timezone="+01:00"
                          ).events["start_s"].iloc[0] == -20.0
    utc = read_reference(psg_edf, recording=rec)   # 22:00 UTC = 3570 s after the recording
    assert utc.events["start_s"].iloc[0] == 10.0 + 3570.0
    with pytest.raises(InputError, match="unknown time zone"):
        read_reference(psg_edf, edf_timezone="Mars/Olympus")


def test_anonymised_edf_start_needs_start_to_align(tmp_path):
    path = tmp_path / "anon.edf"
    sig = edfio.EdfSignal(np.zeros(600), sampling_frequency=10)
    edfio.Edf([sig], starttime=time(22, 0, 0),
              annotations=[edfio.EdfAnnotation(10.0, 1.0, "LM")]).write(path)  # Startdate X
    rec = recording_at(EDF_START_UNIX + 30.0)
    assert read_reference(path).start_unix_s is None
    with pytest.raises(InputError, match=r"anon\.edf: the EDF\+ start date is anonymised.*start="):
        read_reference(path, recording=rec)
    ref = read_reference(path, recording=rec, start="2024-03-01T22:00:00")
    assert ref.events["start_s"].tolist() == [-20.0]


def test_recording_with_relative_time_cannot_align_an_edf(psg_edf):
    with pytest.raises(InputError, match="recording's start time is unknown"):
        read_reference(psg_edf, recording=recording_at(0.0))


# ----------------------------------------------------------------------------- CSV

def test_csv_durations_legs_decimal_commas_and_line_numbers(tmp_path):
    path = write(tmp_path, "lm.csv", "# exported by a scorer\n"
                                     "start;duration;leg\n"
                                     "12,5;1,25;L\n"
                                     "40;0,375;r\n"
                                     "# a comment between rows\n"
                                     "70;11;both\n"
                                     "\n"
                                     "90;10,5;left\n")
    ref = read_reference(path)
    ev = ref.events
    assert ref.format == "csv" and ref.start_unix_s is None and ref.plm_from is None
    assert ev["start_s"].tolist() == [12.5, 40.0, 70.0, 90.0]
    assert ev["end_s"].tolist() == [13.75, 40.375, 81.0, 100.5]
    assert ev["duration_s"].tolist() == [1.25, 0.375, 11.0, 10.5]
    assert ev["leg"].tolist() == ["left", "right", "bilateral", "left"]
    # 0.375 s < 0.5 s twitch; 11 s bilateral <= 15 s LM (WASM 2016); 10.5 s one leg > 10 s
    assert ev["kind"].tolist() == ["lm", "twitch", "lm", "sustained"]
    assert ev["source_line"].tolist() == [3, 4, 6, 8]
    assert ref.respiratory.empty and ref.other.empty


def test_csv_clock_times_with_a_recording_cross_midnight(tmp_path):
    path = write(tmp_path, "clock.csv", "onset,end,leg\n"
                                        "22:31:05.250,22:31:06.750,left\n"
                                        "21:59:50,21:59:51.5,left\n"
                                        "23:59:59.5,00:00:01,right\n"
                                        "00:10:00,00:10:02.5,left\n")
    rec = recording_at(EDF_START_UNIX)            # 2024-03-01 22:00:00 UTC
    ref = read_reference(path, recording=rec)
    ev = ref.events
    # 21:59:50 is 10 s before the recording; 23:59:59.5 is 7199.5 s after it, 00:10:00
    # (next day) 7800 s.
    assert ev["start_s"].tolist() == [-10.0, 1865.25, 7199.5, 7800.0]
    assert ev["end_s"].tolist() == [-8.5, 1866.75, 7201.0, 7802.5]
    assert ev["source_line"].tolist() == [3, 2, 4, 5]
    assert ref.start_unix_s == EDF_START_UNIX and ref.info["clock_times"]
    assert ref.summary()["n_before_start"] == 1


def test_csv_clock_times_with_start_and_timezone(tmp_path):
    path = write(tmp_path, "clock.csv", "time;duration\n23:00:10,5;2\n")
    # start 22:00 Berlin time = 21:00 UTC; the onset 23:00:10.5 Berlin time is 3610.5 s later.
    ref = read_reference(path, start="2024-03-01T22:00:00", edf_timezone="Europe/Berlin")
    assert ref.events["start_s"].tolist() == [3610.5]
    assert ref.start_unix_s == datetime(2024, 3, 1, 21, tzinfo=timezone.utc).timestamp()


def test_csv_iso_datetimes_with_and_without_offset(tmp_path):
    path = write(tmp_path, "iso.csv", "start_time,end_time\n"
                                      "2024-03-01T23:00:10+01:00,2024-03-01T23:00:11+01:00\n"
                                      "2024-03-01 22:05:00,2024-03-01 22:05:00.5\n")
    ref = read_reference(path, recording=recording_at(EDF_START_UNIX))
    assert ref.events["start_s"].tolist() == [10.0, 300.0]
    assert ref.events["duration_s"].tolist() == [1.0, 0.5]


def test_csv_clock_times_without_a_start_say_how_to_give_it(tmp_path):
    path = write(tmp_path, "clock.csv", "# c\nonset,duration\n22:31:05.250,1\n")
    with pytest.raises(InputError, match=r"clock\.csv, line 3, column 'onset'.*start=") as err:
        read_reference(path)
    assert "recording=" in str(err.value)
    bad = write(tmp_path, "mixed.csv", "onset,duration\n22:31:05,1\n1200,1\n")
    with pytest.raises(InputError, match=r"mixed\.csv, line 3, column 'onset': got '1200'"):
        read_reference(bad, recording=recording_at(EDF_START_UNIX))


def test_csv_seconds_with_start_and_recording_are_shifted(tmp_path):
    path = write(tmp_path, "s.csv", "start_s,end_s\n100,101.5\n")
    rec = recording_at(EDF_START_UNIX + 30.0)
    # the file's seconds count from 22:00:00; the recording started at 22:00:30
    ref = read_reference(path, recording=rec, start="2024-03-01T22:00:00Z")
    assert ref.events["start_s"].tolist() == [70.0] and ref.events["end_s"].tolist() == [71.5]
    # without start= the seconds are taken as seconds from the recording start
    assert read_reference(path, recording=rec).events["start_s"].tolist() == [100.0]


def test_csv_plm_column_and_bad_plm_value(tmp_path):
    path = write(tmp_path, "p.csv", "start_s,end_s,plm\n0,1,true\n20,21,no\n40,41,\n")
    ref = read_reference(path)
    assert ref.plm_from == "file" and ref.events["plm"].tolist() == [True, False, False]
    bad = write(tmp_path, "bad.csv", "start_s,end_s,plm\n0,1,true\n20,21,maybe\n")
    with pytest.raises(InputError, match=r"bad\.csv, line 3, column 'plm': 'maybe'"):
        read_reference(bad)


def test_csv_with_annotation_texts_like_an_edfbrowser_export(tmp_path):
    path = write(tmp_path, "ann.csv", "Onset,Duration,Annotation\n"
                                      "+10.500000,1.250000,Limb Movement (Left)\n"
                                      "+20.000000,,Lights Off\n"
                                      "+30.000000,12.000000,Obstructive Apnea\n"
                                      "+40.000000,1.000000,PLM\n")
    ref = read_reference(path)
    assert ref.events[["start_s", "duration_s", "leg", "label"]].values.tolist() == [
        [10.5, 1.25, "left", "Limb Movement (Left)"], [40.0, 1.0, "unknown", "PLM"]]
    assert ref.events["plm"].tolist() == [False, True]
    assert ref.respiratory[["start_s", "end_s"]].values.tolist() == [[30.0, 42.0]]
    assert ref.other["label"].tolist() == ["Lights Off"]
    assert np.isnan(ref.other["duration_s"].iloc[0])


def test_bad_csv_line_names_the_file_and_line(tmp_path):
    path = write(tmp_path, "bad.csv", "start_s,duration_s\n# c\n1,2\nabc,3\n")
    with pytest.raises(InputError, match=r"bad\.csv, line 4, column 'start_s': got 'abc'"):
        read_reference(path)
    wide = write(tmp_path, "wide.csv", "start_s,end_s\n1,2\n3,4,5\n")
    with pytest.raises(InputError, match=r"wide\.csv, line 3: 3 fields but the header has 2"):
        read_reference(wide)
    # an LM table (no label column) must give every duration
    nodur = write(tmp_path, "nodur.csv", "start_s,duration_s\n1,2\n3,\n")
    with pytest.raises(InputError, match=r"nodur\.csv, line 3, column 'duration_s'"):
        read_reference(nodur)
    header = write(tmp_path, "header.csv", "when,how_long\n1,2\n")
    with pytest.raises(InputError, match=r"header\.csv, line 1: header has columns when, "
                                         r"how_long; expected"):
        read_reference(header)


def test_unknown_file_types_and_files_without_annotations(tmp_path):
    png = tmp_path / "scan.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64))
    with pytest.raises(InputError, match=r"scan\.png: unknown file type"):
        read_reference(png)
    plain = tmp_path / "plain.edf"
    edfio.Edf([edfio.EdfSignal(np.zeros(600), sampling_frequency=10)]).write(plain)
    with pytest.raises(InputError, match=r"plain\.edf: a plain EDF file .* no annotations"):
        read_reference(plain)
    empty = tmp_path / "empty.edf"
    edfio.Edf([edfio.EdfSignal(np.zeros(600), sampling_frequency=10)], annotations=[]
              ).write(empty)
    with pytest.raises(InputError, match=r"empty\.edf: the EDF\+ file has no annotations"):
        read_reference(empty)
    with pytest.raises(InputError, match=r"missing\.edf: file not found"):
        read_reference(tmp_path / "missing.edf")
    latin = tmp_path / "latin.csv"
    latin.write_bytes("start_s,end_s,label\n1,2,Beinbewegung f\xfcr\n".encode("latin-1"))
    with pytest.raises(InputError, match=r"latin\.csv: not a UTF-8 text file"):
        read_reference(latin)


def test_reading_a_csv_writes_no_file_anywhere(tmp_path, monkeypatch):
    # A CSV is rewritten (clock times, point annotations, negative starts) in memory only:
    # health data is never copied to a temporary file. Any file opened for writing, by open()
    # or os.open(), and anything left in the temporary directory fails the test.
    paths = [write(tmp_path, "neg.csv", "start_s;end_s;leg\n-12,5;-11;l\n3;4,5;r\n"),
             write(tmp_path, "clock.csv", "# start_time = 2024-03-01T22:00:00\n"
                                          "onset,end\n21:59:50,21:59:51.5\n22:00:20,22:00:21\n"),
             write(tmp_path, "ann.csv", "Onset,Duration,Annotation\n"
                                        "-2.5,1.25,LM\n20,,Lights Off\n")]
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    before = sorted(p.name for p in tmp_path.iterdir())
    writes = []
    real_open, real_os_open = io.open, os.open

    def watch_open(file, mode="r", *args, **kwargs):
        if any(c in mode for c in "wax+"):
            writes.append(file)
        return real_open(file, mode, *args, **kwargs)

    def watch_os_open(path, flags, *args, **kwargs):
        if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            writes.append(path)
        return real_os_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    monkeypatch.setattr(io, "open", watch_open)
    monkeypatch.setattr(builtins, "open", watch_open)
    monkeypatch.setattr(os, "open", watch_os_open)
    neg, clock, ann = (read_reference(p) for p in paths)
    monkeypatch.undo()
    assert writes == [] and list(scratch.iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    # Starts before second 0 stay negative (decimal commas with ';').
    assert neg.events[["start_s", "end_s"]].values.tolist() == [[-12.5, -11.0], [3.0, 4.5]]
    assert neg.events["source_line"].tolist() == [2, 3] and neg.summary()["n_before_start"] == 1
    # Clock times count from the start comment: 21:59:50 is 10 s before 22:00:00.
    assert clock.events["start_s"].tolist() == [-10.0, 20.0]
    assert clock.start_unix_s == EDF_START_UNIX
    assert ann.events["start_s"].tolist() == [-2.5]
    assert ann.other["label"].tolist() == ["Lights Off"]


def test_negative_csv_times_still_need_end_after_start(tmp_path):
    path = write(tmp_path, "neg.csv", "# c\nstart_s,end_s\n-5,-4\n-3,-3.5\n")
    with pytest.raises(InputError, match=r"neg\.csv, line 4: end -3\.5 s is before start -3 s"):
        read_reference(path)


# ----------------------------------------------------------------------------- round trip

def test_write_reference_csv_round_trip(psg_edf, tmp_path):
    rec = recording_at(EDF_START_UNIX + 30.0)
    ref = read_reference(psg_edf, recording=rec)
    out = write_reference_csv(ref, tmp_path / "ref.csv")
    assert os.stat(out).st_mode & 0o777 == 0o600
    back = read_reference(out)
    cols = ["start_s", "end_s", "duration_s", "kind", "leg", "plm", "label"]
    pd.testing.assert_frame_equal(back.events[cols], ref.events[cols])
    pd.testing.assert_frame_equal(back.respiratory[["start_s", "end_s", "duration_s", "label"]],
                                  ref.respiratory[["start_s", "end_s", "duration_s", "label"]])
    assert back.other["label"].tolist() == ref.other["label"].tolist()
    assert back.other["start_s"].tolist() == ref.other["start_s"].tolist()
    # second 0 travels in the comment line, so the file realigns to the same recording
    assert back.start_unix_s == ref.start_unix_s and back.plm_from == "file"
    again = read_reference(out, recording=rec)
    assert again.events["start_s"].tolist() == ref.events["start_s"].tolist()


# ----------------------------------------------------------------------------- scored()

def lms(onsets, duration_s=1.0, leg="left"):
    on = np.asarray(onsets, dtype=float)
    return pd.DataFrame({"start_s": on, "end_s": on + duration_s, "leg": leg})


def test_scored_marks_one_series_of_five_under_wasm():
    # 5 LMs of 1 s, onsets 20 s apart: IMIs 20 s are within 10-90 s and 5 >= 4 -> one series.
    ref = Reference.from_table(lms([0, 20, 40, 60, 80]))
    assert ref.plm_from is None
    sc = ref.scored()
    assert sc.plm_from == "rules"
    assert sc.events["plm"].tolist() == [True] * 5
    assert sc.series[["series", "n_lm"]].values.tolist() == [[1, 5]]
    assert sc.series["start_s"].iloc[0] == 0.0 and sc.series["end_s"].iloc[0] == 81.0
    assert sc.summary()["n_plm"] == 5 and sc.summary()["n_series"] == 1


def test_an_imi_of_8_s_breaks_the_series_under_wasm_but_not_aasm():
    # Onsets 0, 20, 40, 48, 68, 88: the IMI 40 -> 48 is 8 s. WASM 2016 (IMI >= 10 s) ends the
    # run there: 0,20,40 and 48,68,88 are runs of 3 (< 4) -> no PLM. AASM 2012 (IMI >= 5 s)
    # keeps all six in one series.
    ref = Reference.from_table(lms([0, 20, 40, 48, 68, 88]))
    wasm = ref.scored("wasm2016")
    assert wasm.events["plm"].tolist() == [False] * 6 and len(wasm.series) == 0
    aasm = ref.scored(RULES["aasm2012"])
    assert aasm.events["plm"].tolist() == [True] * 6
    assert aasm.series["n_lm"].tolist() == [6]


def test_scored_uses_the_respiratory_events():
    # WASM 2016: an LM overlapping -2.0 s .. +10.25 s around an apnoea's end is
    # respiratory-related. Apnoea 20-39 s: the LM at 40 s is in the window. Without it the
    # IMI is measured across it (20 -> 60 = 40 s), so 4 PLMs remain.
    ref = Reference.from_table(lms([0, 20, 40, 60, 80]),
                               respiratory=pd.DataFrame({"start_s": [20.0], "end_s": [39.0]}))
    sc = ref.scored()
    assert sc.events["respiratory"].tolist() == [False, False, True, False, False]
    assert sc.events["plm"].tolist() == [True] * 5
    assert sc.events["plm_without_resp"].tolist() == [True, True, False, True, True]
    assert sc.info["n_plm_without_resp"] == 4


def test_scored_keeps_the_scorers_flags_unless_forced(psg_edf):
    ref = read_reference(psg_edf)
    assert ref.scored() is ref
    forced = ref.scored(force=True)
    assert forced.plm_from == "rules"
    # By the rules (WASM 2016): LMs at 10 and 30 s are a run of 2, ended by the sustained
    # movement at 70 s (a non-candidate); the twitch at 50 s neither counts nor breaks. From 90
    # to 290 s every IMI is 20 s (the 0.5-s, 10-s and 12-s bilateral LMs are candidates), so
    # those 11 LMs are one series; the 0-s LM at 350 s is a twitch.
    assert forced.events.loc[forced.events["plm"], "start_s"].tolist() == [
        90.0, 110.0, 130.0, 150.0, 170.0, 190.0, 210.0, 230.0, 250.0, 270.0, 290.0]
    assert forced.series["n_lm"].tolist() == [11]


def test_a_csv_label_column_of_notes_keeps_every_row_an_lm(tmp_path):
    # No text in the column is a movement or a respiratory event: it holds notes.
    path = write(tmp_path, "notes.csv", "start_s,end_s,label\n0,1,strong\n20,21,\n")
    ref = read_reference(path)
    assert ref.events["start_s"].tolist() == [0.0, 20.0] and ref.other.empty
    assert ref.events["label"].tolist() == ["strong", ""]
