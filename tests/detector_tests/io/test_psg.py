"""PSG scoring exports (RemLogic, NSRR XML, Compumedics Profusion XML) read to the same events as
the equivalent CSV, aligned by clock time, and rescored by the rules."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timezone

import numpy as np
import pytest

from detector.io.recording import InputError, Recording
from detector.score.reference import read_reference

#: The night: LMs (onset s, duration s, leg) on a scoring whose second 0 is 2013-08-13 23:00:00
#: UTC; an obstructive apnoea 140-158 s (WASM window 156-168.25 s: the LM at 160 s is related);
#: stages and an arousal (neither an LM nor respiratory).
LMS = [(100.0, 2.0, "left"), (120.0, 1.5, "left"), (140.0, 2.5, "right"), (160.0, 2.0, "left"),
       (180.0, 3.0, "left"), (200.0, 12.0, "left")]
APNEA = (140.0, 18.0)
T0 = datetime(2013, 8, 13, 23, 0, 0, tzinfo=timezone.utc)
LEG_TEXT = {"left": "Left", "right": "Right"}


def clock(seconds: float) -> str:
    t = datetime.fromtimestamp(T0.timestamp() + seconds, timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S.%f")


def remlogic_text() -> str:
    rows = [(0.0, "SLEEP-S0", 30.0, "SLEEP"), (30.0, "SLEEP-S2", 30.0, "SLEEP")]
    rows += [(on, "PLM-LM", dur, f"EMG.Tibialis-Leg.{LEG_TEXT[leg]}") for on, dur, leg in LMS]
    rows += [(APNEA[0], "APNEA-OBSTRUCTIVE", APNEA[1], "Resp.Flow"),
             (185.0, "AROUSAL-SPONT", 4.0, "EEG.C3-A2")]
    rows.sort()
    lines = ["RemLogic Event Export", "Patient:\tAnonymous", "Patient ID:\t0",
             "Recording Date:\t13/08/2013", "", "Events Included:", "SLEEP-S0", "SLEEP-S2",
             "PLM-LM", "APNEA-OBSTRUCTIVE", "AROUSAL-SPONT", "",
             "Sleep Stage\tPosition\tTime [hh:mm:ss.xxx]\tEvent\tDuration[s]\tLocation"]
    lines += [f"N2\tSupine\t{clock(on)}\t{ev}\t{dur:g}\t{loc}" for on, ev, dur, loc in rows]
    return "\n".join(lines) + "\n"


def nsrr_xml() -> str:
    ev = ['<ScoredEvent><EventType/><EventConcept>Recording Start Time</EventConcept>'
          '<Start>0</Start><Duration>0</Duration><ClockTime>00.00.00 23.00.00</ClockTime>'
          '</ScoredEvent>',
          '<ScoredEvent><EventType>Stages|Stages</EventType><EventConcept>Stage 2 sleep|2'
          '</EventConcept><Start>0</Start><Duration>30.0</Duration></ScoredEvent>']
    for on, dur, leg in LMS:
        ev.append('<ScoredEvent><EventType>Limb Movement|Limb Movement</EventType><EventConcept>'
                  f'Limb movement - {leg}|Limb Movement ({LEG_TEXT[leg]})</EventConcept>'
                  f'<Start>{on}</Start><Duration>{dur}</Duration></ScoredEvent>')
    ev.append('<ScoredEvent><EventType>Respiratory|Respiratory</EventType><EventConcept>'
              'Obstructive apnea|Obstructive Apnea</EventConcept>'
              f'<Start>{APNEA[0]}</Start><Duration>{APNEA[1]}</Duration></ScoredEvent>')
    return ('<?xml version="1.0" encoding="UTF-8"?><PSGAnnotation><SoftwareVersion>Compumedics'
            '</SoftwareVersion><EpochLength>30</EpochLength><ScoredEvents>' + "".join(ev)
            + '</ScoredEvents></PSGAnnotation>')


def profusion_xml() -> str:
    ev = [f'<ScoredEvent><Name>Limb Movement ({LEG_TEXT[leg]})</Name><Start>{on}</Start>'
          f'<Duration>{dur}</Duration><Input>Leg {leg[0].upper()}</Input></ScoredEvent>'
          for on, dur, leg in LMS]
    ev.append(f'<ScoredEvent><Name>Obstructive Apnea</Name><Start>{APNEA[0]}</Start>'
              f'<Duration>{APNEA[1]}</Duration><Input>Airflow</Input></ScoredEvent>')
    ev.append('<ScoredEvent><Name>Arousal (ASDA)</Name><Start>185</Start><Duration>4</Duration>'
              '</ScoredEvent>')
    return ('<?xml version="1.0"?><CMPStudyConfig><EpochLength>30</EpochLength><ScoredEvents>'
            + "".join(ev) + '</ScoredEvents><SleepStages><SleepStage>0</SleepStage>'
            '<SleepStage>2</SleepStage></SleepStages></CMPStudyConfig>')


def csv_text() -> str:
    lines = ["start_s,duration_s,label,leg"]
    lines += [f"{on},{dur},LM,{leg}" for on, dur, leg in LMS]
    lines.append(f"{APNEA[0]},{APNEA[1]},Obstructive apnea,")
    return "\n".join(lines) + "\n"


def table(ref) -> list[tuple]:
    ev = ref.events
    return [(round(a, 6), round(b, 6), leg, kind) for a, b, leg, kind in
            zip(ev["start_s"], ev["end_s"], ev["leg"], ev["kind"])]


@pytest.fixture
def files(tmp_path):
    out = {}
    for name, text in (("night.remlogic.txt", remlogic_text()), ("night.nsrr.xml", nsrr_xml()),
                       ("night.profusion.xml", profusion_xml()), ("night.csv", csv_text())):
        (tmp_path / name).write_text(text, encoding="utf-8")
        out[name.split(".")[1]] = tmp_path / name
    return out


@pytest.mark.parametrize("fmt", ["remlogic", "nsrr", "profusion"])
def test_each_export_reads_to_the_same_events_as_the_csv(files, fmt):
    want = read_reference(files["csv"])
    got = read_reference(files[fmt])
    assert table(got) == table(want)
    assert len(want.events) == len(LMS)
    assert table(want)[-1][3] == "sustained" and table(want)[2][2] == "right"
    assert got.respiratory[["start_s", "end_s"]].to_numpy().tolist() == [[140.0, 158.0]]
    # stages and the arousal are neither movements nor respiratory events
    assert not got.events["label"].str.contains("SLEEP|Stage|AROUSAL|Arousal").any()


def test_remlogic_and_nsrr_align_to_a_recording_by_clock_time(files):
    rec = Recording.from_array(np.zeros((400 * 10, 3), np.float32), 10.0,
                               T0.timestamp() - 60.0)      # the accelerometer started 1 min early
    for fmt in ("remlogic", "nsrr"):
        ref = read_reference(files[fmt], recording=rec)
        assert ref.events["start_s"].iloc[0] == pytest.approx(160.0), fmt
    with pytest.raises(InputError, match="does not say when its second 0 was"):
        read_reference(files["profusion"], recording=rec)
    ref = read_reference(files["profusion"], recording=rec, start=T0.isoformat())
    assert ref.events["start_s"].iloc[0] == pytest.approx(160.0)


def test_rescore_a_remlogic_export_counts_as_the_rules_say(files, tmp_path):
    # By the WASM 2016 rules: candidates at 100, 120, 140, 160, 180 (IMI 20 s) then a 12-s
    # movement (no candidate): one series of 5 PLMs. The apnoea (140-158 s) makes the LM at
    # 160 s respiratory-related: without it the interval 140 -> 180 is 40 s, still one series,
    # 4 PLMs.
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-m", "detector.cli", "rescore",
                           str(files["remlogic"]), "--out", str(out)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n_plm"] == 5 and summary["n_series"] == 1
    assert summary["n_plm_without_resp"] == 4


def test_a_damaged_export_gets_one_clear_line(tmp_path):
    bad = tmp_path / "bad.xml"
    bad.write_text("<?xml version='1.0'?><PSGAnnotation><ScoredEvents><ScoredEvent><EventConcept>"
                   "LM</EventConcept><Start>soon</Start></ScoredEvent></ScoredEvents>"
                   "</PSGAnnotation>")
    with pytest.raises(InputError, match=r"ScoredEvent 1, <Start>: 'soon'; expected seconds"):
        read_reference(bad)
    bomb = tmp_path / "bomb.xml"
    bomb.write_text('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><PSGAnnotation>&a;'
                    '</PSGAnnotation>')
    with pytest.raises(InputError, match="refused"):
        read_reference(bomb)
    edf_like = tmp_path / "scoring.edf"
    edf_like.write_bytes(b"0       " + b"x" * 3000)
    done = subprocess.run([sys.executable, "-m", "detector.cli", "rescore", str(edf_like)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and len(done.stderr) < 400, done.stderr


def test_rescore_reports_plms_and_plmw_from_the_scorings_stages(tmp_path):
    # Epochs of 30 s: W W N2 N2 N2 W N2 REM W. Sleep onset 60 s, last sleep ends 240 s:
    # TST 5 epochs (150 s), WASO the wake epoch 150-180 s (30 s; the one at 240 s is after the
    # last sleep). The series (found over the whole night) holds the PLMs at 100, 120, 140, 160,
    # 180 s: 100, 120, 140, 180 s in sleep (N2), 160 s in wake after sleep onset.
    stages = ["SLEEP-S0", "SLEEP-S0", "SLEEP-S2", "SLEEP-S2", "SLEEP-S2", "SLEEP-S0",
              "SLEEP-S2", "SLEEP-REM", "SLEEP-S0"]
    rows = [r for r in remlogic_text().splitlines()
            if not ("\tSLEEP-S" in r or "\tSLEEP-REM" in r)]
    rows += [f"N2\tSupine\t{clock(30.0 * k)}\t{s}\t30\tSLEEP" for k, s in enumerate(stages)]
    path = tmp_path / "staged.txt"
    path.write_text("\n".join(rows) + "\n")
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-m", "detector.cli", "rescore", str(path), "--out",
                           str(out)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    s = json.loads((out / "summary.json").read_text())
    assert s["tst_h"] == pytest.approx(150 / 3600) and s["waso_h"] == pytest.approx(30 / 3600)
    assert s["n_plm"] == 5 and s["n_plms"] == 4 and s["n_plmw"] == 1
    assert s["plms_index"] == pytest.approx(4 / (150 / 3600))
    assert s["plmw_index"] == pytest.approx(1 / (30 / 3600))
    assert s["plm_per_stage"] == {"W": 1, "N1": 0, "N2": 4, "N3": 0, "REM": 0}
    assert s["lm_per_stage"]["N2"] == 4 and s["n_lms"] == 4
    assert "PLMS 4" in done.stdout and "PLMW 1" in done.stdout


def test_stage_labels_of_the_usual_exports():
    from detector.score.sleep import stage_of_label

    cases = {"SLEEP-S0": "W", "SLEEP-S1": "N1", "SLEEP-S2": "N2", "SLEEP-S3": "N3",
             "SLEEP-S4": "N3", "SLEEP-REM": "REM", "Wake": "W", "Stage 1 sleep": "N1",
             "Stage 2 sleep": "N2", "Stage 3 sleep": "N3", "Stage 4 sleep": "N3",
             "REM sleep": "REM", "Sleep stage W": "W", "Sleep stage N2": "N2",
             "Sleep stage R": "REM", "PLM-LM": None, "AROUSAL-SPONT": None, "HYPOPNEA": None,
             "Limb movement - left": None}
    assert {k: stage_of_label(k) for k in cases} == cases


def test_analyze_with_a_hypnogram_aligned_by_clock_time(tmp_path):
    import nights

    from detector.analysis import analyze_file
    from detector.sim.night import write_simulation

    sim = nights.night("plmd", hours=0.5, fs_hz=50.0, seed=7, start_unix_s=T0.timestamp())
    night = tmp_path / "night.csv"
    write_simulation(sim, night)
    # The PSG started 2 min before the accelerometer; wake for its first 10 min, then N2.
    lines = ["RemLogic Event Export", "Recording Date:\t13/08/2013", "",
             "Time [hh:mm:ss.xxx]\tEvent\tDuration[s]\tLocation"]
    lines += [f"{clock(-120.0 + 30 * k)}\t{'SLEEP-S0' if k < 20 else 'SLEEP-S2'}\t30\tSLEEP"
              for k in range(70)]
    hyp = tmp_path / "psg.txt"
    hyp.write_text("\n".join(lines) + "\n")
    done = analyze_file(night, tmp_path / "out", hypnogram=hyp, tz=timezone.utc)
    m = done.result.metrics
    ev = done.result.events
    plm_on = ev.loc[ev["plm"].fillna(False).astype(bool), "start_s"].to_numpy(float)
    sleep_from = -120.0 + 20 * 30                 # on the recording's time axis
    assert m["n_plms"] == int((plm_on >= sleep_from).sum())
    assert m["n_plms"] + m["plm_per_stage"]["W"] == len(plm_on)
    assert m["tst_h"] == pytest.approx(50 * 30 / 3600)
    assert m["n_plmw"] == 0 and m["waso_h"] == 0.0   # no wake after sleep onset
    html = (tmp_path / "out" / "report.html").read_text()
    assert 'id="hypnogram"' in html and "PLMS index" in html
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert {"tst_h", "waso_h", "n_plms", "plms_index", "n_plmw", "plmw_index",
            "plm_per_stage", "lm_per_stage"} <= set(summary)
    with pytest.raises(InputError, match="no sleep stages"):
        analyze_file(night, None, hypnogram=files_without_stages(tmp_path), tz=timezone.utc)


def files_without_stages(tmp_path):
    path = tmp_path / "lms_only.txt"
    path.write_text(remlogic_text().replace("SLEEP-S0", "MARKER").replace("SLEEP-S2", "MARKER"))
    return path


def test_evaluate_against_a_remlogic_scoring_of_the_night(tmp_path):
    import nights

    from detector.analysis import analyze_file
    from detector.sim.night import write_simulation

    sim = nights.night("plmd", hours=0.5, fs_hz=50.0, seed=7, start_unix_s=T0.timestamp())
    night = tmp_path / "night.csv"
    write_simulation(sim, night)
    analyze_file(night, tmp_path / "out", report=False, tz=timezone.utc)
    # the scorer's export of the same night: its true LMs (and sustained movements) as PLM-LM
    # events on the tibialis channel, N2 throughout
    truth = sim.truth[sim.truth["kind"] != "twitch"]
    rows = [(0.0 + 30 * k, "SLEEP-S2", 30.0, "SLEEP") for k in range(60)]
    rows += [(float(r.start_s), "PLM-LM", float(r.duration_s), "EMG.Tibialis-Leg.Left")
             for r in truth.itertuples()]
    rows.sort()
    lines = ["RemLogic Event Export", "Recording Date:\t13/08/2013", "",
             "Time [hh:mm:ss.xxx]\tEvent\tDuration[s]\tLocation"]
    lines += [f"{clock(on)}\t{ev}\t{dur:.3f}\t{loc}" for on, ev, dur, loc in rows]
    scoring = tmp_path / "scoring.txt"
    scoring.write_text("\n".join(lines) + "\n")
    done = subprocess.run([sys.executable, "-m", "detector.cli", "evaluate",
                           str(tmp_path / "out" / "events.csv"), str(scoring)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    lm_row = next(line for line in done.stdout.splitlines() if line.split()[:1] == ["lm"])
    assert float(lm_row.split()[8]) > 0.9, done.stdout          # the F1 column
    assert "PLMS index detected" in done.stdout and "TST 0.50 h" in done.stdout


def test_rescore_takes_a_csv_with_clock_times_as_evaluate_does(tmp_path):
    # Scorers' CSVs often give clock times; rescore used to refuse them.
    path = tmp_path / "clock.csv"
    path.write_text("# start_time = 2013-08-13T23:00:00+00:00\nonset_time,duration_s,label\n"
                    + "".join(f"23:0{k // 3}:{(k % 3) * 20:02d}.000,1.5,LM\n" for k in range(6)))
    done = subprocess.run([sys.executable, "-m", "detector.cli", "rescore", str(path)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "LMs 6   PLMs 6 in 1 series" in done.stdout


def test_a_labs_own_labels_come_from_the_configuration(tmp_path):
    from detector.config import Config, ConfigError, load_config

    # a German lab scores leg movements as "Beinbewegung links/rechts"
    text = remlogic_text().replace("PLM-LM", "Beinbewegung")
    path = tmp_path / "lab.txt"
    path.write_text(text)
    preset = tmp_path / "lab.toml"
    cfg = Config.from_dict({"labels": {"^beinbewegung": "lm"}})
    cfg.to_toml(preset)
    assert load_config(preset) == cfg and cfg.to_dict()["labels"] == {"^beinbewegung": "lm"}
    assert "labels" not in Config().to_dict()          # summary.json unchanged by default

    def rescore(*extra):
        return subprocess.run([sys.executable, "-m", "detector.cli", "rescore", str(path), *extra],
                              capture_output=True, text=True, timeout=120)

    without, with_labels = rescore(), rescore("--config", str(preset))
    assert "LMs 0" in without.stdout, without.stdout + without.stderr
    assert "LMs 5   PLMs 5 in 1 series" in with_labels.stdout, with_labels.stderr
    with pytest.raises(ConfigError, match="class must be one of"):
        Config.from_dict({"labels": {"x": "movement"}})
    with pytest.raises(ConfigError, match="not a regular expression"):
        Config.from_dict({"labels": {"(": "lm"}})


def test_evaluate_the_sample_night_against_its_scoring_as_a_remlogic_export(tmp_path):
    # The bundled scorer's CSV of the sample night, written as a RemLogic export (ISO
    # date-times, PLM-LM on the left tibialis): evaluate gives the same table for both files.
    from repo import REPO

    from detector.analysis import analyze_file

    analyze_file(REPO / "datasets" / "sample_night.csv.gz", tmp_path / "out", report=False,
                 tz=timezone.utc)
    lines = ["RemLogic Event Export", "Recording Date:\t14/11/2023", "",
             "Time [hh:mm:ss.xxx]\tEvent\tDuration[s]\tLocation"]
    for row in (REPO / "datasets" / "sample_night.scoring.csv").read_text().splitlines():
        cells = row.split(",")
        if len(cells) == 3 and cells[2].startswith("Limb Movement"):
            day = "15" if cells[0] < "12" else "14"          # after midnight: the next day
            lines.append(f"2023-11-{day}T{cells[0]}\tPLM-LM\t{cells[1]}\tEMG.Tibialis-Leg.Left")
    export = tmp_path / "scoring.txt"
    export.write_text("\n".join(lines) + "\n")

    def evaluate(reference):
        done = subprocess.run([sys.executable, "-m", "detector.cli", "evaluate",
                               str(tmp_path / "out" / "events.csv"), str(reference)],
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return [line for line in done.stdout.splitlines() if line.split()[:1] in (
            ["lm"], ["plm"], ["sustained"])]

    csv_rows = evaluate(REPO / "datasets" / "sample_night.scoring.csv")
    assert len(csv_rows) == 3 and evaluate(export) == csv_rows
