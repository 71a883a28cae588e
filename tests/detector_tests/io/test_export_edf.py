"""EDF+ export and reading it back: signals, start time, gaps, annotations, the command."""

from __future__ import annotations

import argparse
import os
import warnings
from datetime import datetime, timezone

import edfio
import numpy as np
import pandas as pd
import pytest

import detector.cli
from detector.cli.many_nights import add_export
from detector.config import RULES
from detector.io.edf import (GAP_TEXT, annotation_table, edf_scale, event_label, write_annotations,
                             write_edf)
from detector.io.edf_read import read_edf_recording
from detector.io.load import load_recording
from detector.analysis import analyze
from detector.io.recording import InputError, Recording
from detector.score.reference import read_reference
from detector.io.labels import classify_label, leg_from_label
import nights
from detector.sim.night import write_simulation


@pytest.fixture(scope="module")
def night(tmp_path_factory):
    """A 30-min PLMD night with two gaps, loaded (resampled) from CSV, and its analysis."""
    d = tmp_path_factory.mktemp("export")
    sim = nights.night("plmd", hours=0.5, fs_hz=100.0, seed=3)
    write_simulation(sim, d / "night.csv")
    rec = load_recording(d / "night.csv", leg="left")
    assert len(rec.gaps) >= 1                   # the round trip must carry gaps
    return d, rec, analyze(rec)


def _grid_recording(rec: Recording, step_g: float, fs_hz: float, t0: float) -> Recording:
    """``rec``'s samples put on a sensor grid (int16 LSB or milli-g), gaps kept."""
    codes = np.rint(rec.acc_g.astype(np.float64) / step_g) * step_g
    acc = np.where(rec.valid[:, None], codes, np.nan)
    return Recording.from_array(acc, fs_hz, t0, leg="left")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="command")
    add_export(sub, detector.cli.add_config_args)
    return p


def test_round_trip_of_a_resampled_night(night, tmp_path):
    _, rec, res = night
    info = write_edf(res, tmp_path / "n.edf")
    back = read_edf_recording(tmp_path / "n.edf")
    assert back.fs_hz == rec.fs_hz
    assert back.t0_unix_s == rec.t0_unix_s           # exact, not only to the second
    assert back.leg == "left"
    assert back.n_samples == rec.n_samples
    np.testing.assert_array_equal(back.valid, rec.valid)
    pd.testing.assert_frame_equal(back.gaps, rec.gaps)
    assert np.isnan(back.acc_g[~back.valid]).all()
    # off-grid data: int16 quantisation, at most half a step (plus float32 rounding)
    err = np.abs(back.acc_g[rec.valid].astype(float) - rec.acc_g[rec.valid].astype(float))
    assert info["grid"] == "none"
    assert err.max() <= info["step_g"] / 2 + 1e-6
    # the same events: same kinds, onsets within one sample
    again = analyze(back).events
    assert list(again["kind"]) == list(res.events["kind"])
    assert np.abs(again["start_s"].to_numpy() - res.events["start_s"].to_numpy()).max() \
        <= 1.0 / rec.fs_hz + 1e-9
    # An offset is where the envelope first falls to 1.5 x the noise floor: the quantisation
    # moves the floor by a few thousandths of a mg (seen: 1.6151 vs 1.6182 mg), which can move
    # an offset whose envelope hovers at that level (seen: 0.11 s). Onsets, where the envelope
    # rises steeply, stay within a sample.
    assert np.abs(again["end_s"].to_numpy() - res.events["end_s"].to_numpy()).max() <= 0.25
    assert os.stat(tmp_path / "n.edf").st_mode & 0o777 == 0o600


def test_int16_grid_reads_back_bit_identical_with_identical_events(night, tmp_path):
    _, rec, _ = night
    grid = _grid_recording(rec, 8.0 / 32768, rec.fs_hz, rec.t0_unix_s)
    res = analyze(grid)
    info = write_edf(res, tmp_path / "g.edf")
    assert info["grid"] == "binary" and info["step_g"] == 8.0 / 32768 and info["n_clipped"] == 0
    back = read_edf_recording(tmp_path / "g.edf")
    np.testing.assert_array_equal(back.acc_g, grid.acc_g)        # NaN rows in the same places
    pd.testing.assert_frame_equal(analyze(back).events, res.events)


def test_52_hz_milli_g_with_sub_second_start(night, tmp_path):
    _, rec, _ = night
    t0 = 1_700_000_000.123456789                     # finer than the EDF+ microsecond
    grid = _grid_recording(rec, 0.001, 52.0, t0)
    res = analyze(grid)
    info = write_edf(res, tmp_path / "m.edf")
    assert info["grid"] == "milli-g" and info["record_s"] == 1
    back = read_edf_recording(tmp_path / "m.edf")
    assert back.fs_hz == 52.0 and back.t0_unix_s == t0
    np.testing.assert_array_equal(back.acc_g, grid.acc_g)
    pd.testing.assert_frame_equal(analyze(back).events, res.events)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        edf = edfio.read_edf(tmp_path / "m.edf")
    # any EDF+ reader sees the start in UTC to the microsecond, anonymised patient
    assert edf.startdatetime == datetime(2023, 11, 14, 22, 13, 20, 123457)
    assert edf.local_patient_identification == "X X X X"
    assert [s.label for s in edf.signals] == ["ACC_X", "ACC_Y", "ACC_Z"]
    assert {s.physical_dimension for s in edf.signals} == {"g"}
    assert edf.signals[0].samples_per_data_record == 52


def test_rate_that_fits_no_record_is_refused(tmp_path):
    rec = Recording.from_array(np.zeros((2000, 3)) + [0, 0, 1], 100.0 + 1e-7, 1.7e9)
    with pytest.raises(InputError, match="whole number of samples"):
        write_edf(analyze(rec), tmp_path / "x.edf")


def test_annotations_read_by_read_reference_as_the_same_events(night, tmp_path):
    _, rec, res = night
    write_edf(res, tmp_path / "n.edf")
    ref = read_reference(tmp_path / "n.edf", recording=rec, rules=RULES["wasm2016"])
    ev = res.events
    assert (ev["kind"] == "twitch").any()
    assert len(ref.events) == len(ev) > 0                  # twitches come back as twitches too
    assert list(ref.events["kind"]) == list(ev["kind"])
    assert list(ref.events["leg"]) == ["left"] * len(ev)
    assert list(ref.events["plm"].astype(bool)) == list(ev["plm"].astype(bool))
    np.testing.assert_allclose(ref.events["start_s"], ev["start_s"], atol=1e-6)
    np.testing.assert_allclose(ref.events["duration_s"], ev["duration_s"], atol=1e-9)
    labels = ref.summary()["other_labels"]
    assert labels[GAP_TEXT] == len(rec.gaps)
    assert sum(v for k, v in labels.items() if k.startswith("PLM series")) == len(res.series)
    gaps = ref.other[ref.other["label"] == GAP_TEXT]
    np.testing.assert_allclose(gaps["start_s"], rec.gaps["start_s"], atol=1e-6)
    np.testing.assert_allclose(gaps["duration_s"], rec.gaps["duration_s"], atol=1e-9)


@pytest.mark.parametrize("kind, leg, plm, cls, want_leg", [
    ("lm", "left", False, "lm", "left"),
    ("lm", "right", True, "plm", "right"),
    ("sustained", "bilateral", False, "lm", "bilateral"),
    ("lm", "unknown", True, "plm", "unknown"),
    ("twitch", "left", False, "twitch", "left"),
])
def test_labels_map_to_reference_classes_and_legs(kind, leg, plm, cls, want_leg):
    text = event_label(kind, leg, plm)
    assert classify_label(text) == cls
    assert leg_from_label(text) == want_leg
    assert classify_label("PLM series 3") == "other" and classify_label(GAP_TEXT) == "other"


@pytest.mark.parametrize("suffix, sep", [(".csv", ","), (".tsv", "\t")])
def test_annotation_tables(night, tmp_path, suffix, sep):
    _, rec, res = night
    path = write_annotations(annotation_table(res), tmp_path / f"a{suffix}")
    assert os.stat(path).st_mode & 0o777 == 0o600
    table = pd.read_csv(path, sep=sep)
    # clock_time stays UTC (read by other tools); local_time is added, in the night's zone.
    assert list(table.columns) == ["onset_s", "duration_s", "annotation", "clock_time",
                                   "local_time"]
    local = [datetime.fromisoformat(x).timestamp() for x in table["local_time"]]
    utc = [datetime.fromisoformat(x).timestamp() for x in table["clock_time"]]
    assert np.allclose(local, utc, atol=1e-3)
    assert len(table) == len(res.events) + len(res.series) + len(rec.gaps)
    assert (np.diff(table["onset_s"]) >= 0).all()
    first = datetime.fromisoformat(table["clock_time"][0])
    want = datetime.fromtimestamp(rec.t0_unix_s + table["onset_s"][0], tz=timezone.utc)
    assert abs((first - want).total_seconds()) < 2e-3
    assert (table["annotation"] == GAP_TEXT).sum() == len(rec.gaps)
    ref = read_reference(path, recording=rec)
    assert len(ref.events) == len(res.events)
    assert int(ref.events["plm"].astype(bool).sum()) == int(res.events["plm"].sum())


def test_edf_plus_d_records_and_foreign_names(tmp_path):
    # 6 one-second records of 100 samples; records 3-5 then moved 4 s later (EDF+D)
    fs, t0 = 100.0, 1_700_000_000.0
    acc = np.tile(np.array([[0.0, 0.0, 1.0]]), (600, 1))
    acc[:, 0] = np.arange(600) * 2.0 ** -12
    rec = Recording.from_array(acc, fs, t0, leg="right")
    write_edf(analyze(rec), tmp_path / "c.edf")
    raw = bytearray((tmp_path / "c.edf").read_bytes())
    raw[192:197] = b"EDF+D"
    raw = raw.replace(b"legtwitch", b"otherkit_")                 # a foreign file: no marker
    for k, new in ((3, 7), (4, 8), (5, 9)):
        old = f"+{k}\x14\x14".encode()
        assert raw.count(old) == 1
        raw = raw.replace(old, f"+{new}\x14\x14".encode())
    (tmp_path / "d.edf").write_bytes(bytes(raw))
    back = read_edf_recording(tmp_path / "d.edf")
    assert back.info["format"] == "edf+d" and back.n_samples == 1000
    assert back.t0_unix_s == t0 and back.leg == "unknown"
    np.testing.assert_array_equal(back.valid, np.r_[np.ones(300, bool), np.zeros(400, bool),
                                                    np.ones(300, bool)])
    np.testing.assert_array_equal(back.acc_g[700:, 0], acc[300:, 0].astype(np.float32))
    assert list(back.gaps["duration_s"]) == [4.0]


def test_generic_edf_channel_names_and_units(tmp_path):
    n = 1000
    z_mg = np.full(n, 1000.0)
    sigs = [edfio.EdfSignal(np.zeros(n), 100, label="EEG Fpz-Cz", physical_dimension="uV",
                            physical_range=(-100, 100)),
            edfio.EdfSignal(np.zeros(n), 100, label="Accelerometer X", physical_dimension="mg",
                            physical_range=(-8000, 8000)),
            edfio.EdfSignal(np.full(n, 9.80665), 100, label="accY", physical_dimension="m/s^2",
                            physical_range=(-80, 80)),
            edfio.EdfSignal(z_mg, 100, label="Z", physical_dimension="mg",
                            physical_range=(-8000, 8000))]
    edf = edfio.Edf(sigs, starttime=datetime(2024, 1, 2, 23, 0, 5).time(),
                    recording=edfio.Recording(startdate=datetime(2024, 1, 2).date()))
    edf.write(tmp_path / "psg.edf")
    rec = read_edf_recording(tmp_path / "psg.edf", leg="left")
    assert rec.fs_hz == 100.0 and rec.leg == "left" and rec.valid.all()
    assert rec.t0_unix_s == datetime(2024, 1, 2, 23, 0, 5, tzinfo=timezone.utc).timestamp()
    np.testing.assert_allclose(rec.acc_g.mean(axis=0), [0.0, 1.0, 1.0], atol=2e-3)
    assert rec.info["channels"] == ["Accelerometer X", "accY", "Z"]


def test_bad_inputs_name_the_file(tmp_path):
    with pytest.raises(InputError, match="missing.edf: file not found"):
        read_edf_recording(tmp_path / "missing.edf")
    (tmp_path / "text.edf").write_text("timestamp,x,y,z\n")
    with pytest.raises(InputError, match="text.edf: not an EDF file"):
        read_edf_recording(tmp_path / "text.edf")
    edfio.Edf([edfio.EdfSignal(np.zeros(100), 100, label="EEG")]).write(tmp_path / "eeg.edf")
    with pytest.raises(InputError, match="eeg.edf: no X accelerometer channel"):
        read_edf_recording(tmp_path / "eeg.edf")
    sig = [edfio.EdfSignal(np.zeros(100), 100, label=f"ACC_{a}", physical_dimension="V",
                           physical_range=(-1, 1)) for a in "XYZ"]
    edfio.Edf(sig).write(tmp_path / "volts.edf")
    with pytest.raises(InputError, match="volts.edf, channel 'ACC_X'.*'V'"):
        read_edf_recording(tmp_path / "volts.edf")


def test_export_command(night, tmp_path):
    d, rec, res = night
    args = _parser().parse_args(["export", str(d / "night.csv"), "--edf",
                                 str(tmp_path / "o.edf"), "--annotations",
                                 str(tmp_path / "o.tsv"), "--leg", "left", "-q"])
    assert args.func(args) == 0
    for name in ("o.edf", "o.tsv"):
        assert os.stat(tmp_path / name).st_mode & 0o777 == 0o600
    back = read_edf_recording(tmp_path / "o.edf")
    assert back.t0_unix_s == rec.t0_unix_s and back.n_samples == rec.n_samples
    table = pd.read_csv(tmp_path / "o.tsv", sep="\t")
    assert len(table) == len(res.events) + len(res.series) + len(rec.gaps)
    # an exported EDF is itself a night to export
    args = _parser().parse_args(["export", str(tmp_path / "o.edf"), "--annotations",
                                 str(tmp_path / "again.csv"), "-q"])
    assert args.func(args) == 0
    assert len(pd.read_csv(tmp_path / "again.csv")) == len(table)


@pytest.mark.parametrize("argv, match", [
    (["export", "{d}/nope.csv", "--edf", "{t}/o.edf"], "nope.csv"),
    (["export", "{d}/night.csv", "--edf", "{t}/no/such/dir/o.edf"], "o.edf: cannot write"),
    (["export", "{d}/night.csv", "--annotations", "{t}/no/dir/o.csv"], "o.csv: cannot write"),
    (["export", "{d}/night.csv"], "--edf FILE and/or --annotations"),
    (["export", "{d}/night.csv", "--edf", "{t}/o.txt"], "o.txt: EDF output must end in .edf"),
])
def test_export_command_errors(night, tmp_path, argv, match):
    d, _, _ = night
    args = _parser().parse_args([a.format(d=d, t=tmp_path) for a in argv] + ["-q"])
    with pytest.raises(InputError, match=match):
        args.func(args)


def test_scale_choice():
    lsb = 8.0 / 32768
    s = edf_scale(np.array([[-8.0, 0.0, 32700 * lsb], [1.0, lsb, -lsb]], np.float32))
    assert (s.grid, s.step_g, s.physical_min_g, s.digital_min) == ("binary", lsb, -8.0, -32768)
    d, clipped = s.to_digital(np.array([[-8.0, lsb, 32767 * lsb]], np.float32))
    assert d[0, 0] == -32768 and d[0, 1] == s.digital_min + 32769 and clipped == 1
    assert edf_scale(np.array([[0.123, -1.5, 2.0]], np.float32)).grid == "milli-g"
    s = edf_scale(np.array([[0.1234567, 3.3, np.nan]], np.float32))
    assert (s.grid, s.physical_max_g) == ("none", 4.0)
