"""Write the tutorial notebooks (``notebooks/*.ipynb``) from the cells below, without outputs.

Edit the cells here, then run ``python notebooks/make_notebooks.py`` from the repository root, so
the notebooks stay reviewable as code and are committed stripped (tests/test_notebooks.py checks).
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent

#: First code cell of every notebook: inline plots, the repository folder, the sample night.
SETUP = '''\
%matplotlib inline
import sys
from pathlib import Path

# The repository folder (the one with pyproject.toml), found from where the notebook runs,
# so the notebook works from JupyterLab and from `pytest --nbmake` alike.
ROOT = Path.cwd().resolve()
while not (ROOT / "pyproject.toml").is_file():
    if ROOT == ROOT.parent:
        raise FileNotFoundError("open this notebook from inside the legtwitch folder")
    ROOT = ROOT.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # this checkout, even without `pip install -e .`

import numpy as np
import pandas as pd
import detector as lt

SAMPLE = ROOT / "datasets" / "sample_night.csv.gz"   # a synthetic 2-hour night at 50 Hz
OUT = ROOT / "notebooks" / "output"                   # what these notebooks write (not in git)
pd.set_option("display.max_columns", 30, "display.width", 160, "display.precision", 3)'''


def md(text: str) -> nbformat.NotebookNode:
    return new_markdown_cell(text.strip("\n"))


def code(text: str) -> nbformat.NotebookNode:
    return new_code_cell(text.strip("\n"))


QUICKSTART = [
    md("""
# Quickstart: one night, from raw acceleration to leg movements

This notebook analyses the bundled sample night, step by step:

1. detect the movements (`detect_movements`);
2. read the numbers (`summary()`, `event_summary()`);
3. look at the whole night (`plot_night()`), at single events (`plot_event(i)`) and at the
   average of each kind (`plot_average()`);
4. use the events in your own analysis (`get_mask()`, the events table);
5. save the results as the command line does.

The sample night is **synthetic** (made by `legtwitch simulate`, see `datasets/README.md`): it
shows how the tool works, not how well it works on real nights. Runs in about 10 s.
"""),
    code(SETUP),
    md("""
## 1. Detect the movements

`detect_movements` reads the file (a CSV with `timestamp, x, y, z` in g; also Parquet, a
DataFrame or an array with `fs=`), puts the samples on a uniform time grid and marks the gaps
where Bluetooth packets were lost. Then, for every sample, it measures how far the leg's
acceleration is from its resting posture (the *movement envelope*), estimates the background
noise over the surrounding minutes, and calls everything that rises well above that noise a
movement. Movements are classed by duration: **twitches** (< 0.5 s, or up to 1 s when the
leg's orientation does not change: a jerk), **leg movements (LMs)** (0.5-10 s, the scoring rules'
definition) and **sustained movements** (> 10 s, e.g. turning over). Finally the PLM rules (WASM 2016 by default) find **periodic limb movement (PLM)
series**: at least 4 LMs with 10-90 s between their onsets.

The object it returns holds everything: the events, the metrics, the settings and the signals.
"""),
    code("""
res = lt.detect_movements(SAMPLE, leg="left")
res
"""),
    md("""
## 2. The numbers

`summary()` is what `legtwitch analyze` writes to `summary.json`: counts, indices **per hour of
analysed rest** (the recording minus gaps and sustained movements: an accelerometer cannot tell
sleep from quiet wakefulness), the pattern of the plain-language article and every threshold
used. A few of its entries:
"""),
    code("""
summary = res.summary()
keys = ["rules", "recording_h", "rest_h", "gap_s", "n_twitch", "n_lm", "n_plm", "n_series",
        "n_sustained", "plm_index", "lm_index", "twitch_index", "periodicity_index",
        "category_title"]
pd.Series({k: summary[k] for k in keys}, name="sample night").to_frame()
"""),
    md("""
`event_summary()` gives one row per kind: how many, how many per hour, and their typical
duration, peak acceleration (g) and change of leg orientation (degrees). `plm` counts the LMs
that belong to a PLM series (they are also counted in `lm`).
"""),
    code("""
res.event_summary()
"""),
    md("""
## 3. The night at a glance

The grey trace is the movement envelope (its maximum in each second, in milli-g on a log
axis), the dashed line the on threshold, the markers the detected events at their peak, green
bands the PLM series and hatched bands the gaps.
"""),
    code("""
res.plot_night()
"""),
    md("""
### Single events

`plot_event(i)` draws event `i` of the events table with 5 s either side: the three raw axes
(minus their median), the envelope (grey area) and the on threshold (dashed). Here the first LM
of a PLM series, the first twitch shorter than 0.5 s and the first sustained movement.
"""),
    code("""
ev = res.events
first_plm_lm = int(np.flatnonzero((ev["kind"] == "lm") & ev["plm"])[0])
first_twitch = int(np.flatnonzero((ev["kind"] == "twitch") & (ev["duration_s"] < 0.5))[0])
first_sustained = int(np.flatnonzero(ev["kind"] == "sustained")[0])
ev.iloc[[first_plm_lm, first_twitch, first_sustained]][["start_time", "duration_s", "kind",
                                                       "plm", "peak_g", "rotation_deg"]]
"""),
    code("""
res.plot_event(first_plm_lm)
"""),
    md("""
A twitch is a short jerk: the sensor rings for a few tenths of a second and the leg's
orientation hardly changes.
"""),
    code("""
res.plot_event(first_twitch)
"""),
    md("""
A sustained movement (turning over, getting up) changes the resting posture: the raw axes end
at other values than they started.
"""),
    code("""
res.plot_event(first_sustained)
"""),
    md("""
### The average of each kind

`plot_average()` aligns every event of a kind on its onset and draws the median envelope with its
middle 50 %. A clean, tall median means the detector found real movements; a flat, low median
after lowering a threshold means it started to catch noise.
"""),
    code("""
res.plot_average()
"""),
    md("""
## 4. Use the events in your own analysis

`get_mask(kind)` marks the samples inside events of one kind (`twitch`, `lm`, `sustained`, or
`plm` for LMs in a series) on the recording's time grid: sample `k` is at `k / fs` seconds from the
first sample, and `res.recording.acc_g` holds the acceleration on the same grid.
"""),
    code("""
fs = res.recording.fs_hz
moving = res.get_mask()          # inside any event
in_series = res.get_mask("plm")  # inside LMs that belong to a PLM series
print(f"{moving.sum() / fs / 60:.1f} min of {res.recording.duration_s / 60:.0f} min were "
      f"movement; {in_series.sum() / fs / 60:.1f} min were LMs in PLM series")

# e.g. the share of each 10-minute block spent moving
block = (np.arange(len(moving)) // int(600 * fs)) * 10
share = pd.Series(moving).groupby(block).mean().rename("share of time moving")
share.index.name = "minutes from start"
share.to_frame().T.round(3)
"""),
    code("""
acc_during_lms = res.recording.acc_g[res.get_mask("lm")]   # (samples, 3) in g
acc_during_lms.shape
"""),
    md("""
### The events table

One row per event, the same table as `events.csv`: `start_s`/`end_s` (seconds from the first
sample), `start_time` (clock time, UTC), `duration_s`, `kind`, `plm` (in a PLM series), `series`
(its number), `peak_g` (largest envelope value), `leg`, `rotation_deg` (change of leg
orientation), `candidate` (counts for PLM series), `imi_s` (seconds since the previous candidate
LM's onset), `respiratory` (near a respiratory event, when those were given) and `at_gap` (touches
a gap, so it may be cut). `res.series` lists the PLM series.
"""),
    code("""
ev.head(8)
"""),
    code("""
res.series
"""),
    md("""
## 5. Save the results, and describe the method

`write_outputs` writes `events.csv` and `summary.json` (readable by you only, like every file
legtwitch writes) exactly as `legtwitch analyze` does; `report=True` adds the HTML report.
`describe()` writes a methods paragraph for a paper with every threshold and its citation.
"""),
    code("""
from detector.analysis import write_outputs

paths = write_outputs(res, OUT / "quickstart", report=False)
{name: str(path.relative_to(ROOT)) for name, path in paths.items()}
"""),
    code("""
print(res.describe())
"""),
    md("""
## What an accelerometer on one leg cannot see

- **Sleep.** Without EEG there are no sleep stages: the indices are per hour of rest (time in bed
  minus gaps and sustained movements), not per hour of sleep, so movements while awake in bed
  count too. A PLMS index from polysomnography is not the same number.
- **Muscle activity.** The scoring rules define an LM by the tibialis anterior EMG rising 8 µV
  above rest. Here movement of the leg stands in for it: a muscle contraction that hardly moves
  the leg can be missed, and a movement caused by something else (a bed partner, a blanket) can
  be counted when it shakes the leg.
- **Arousals and breathing.** Arousals are not seen at all, and LMs near apnoeas can only be
  excluded when you give the respiratory events (`respiratory=` or `--respiratory`).
- **The other leg.** The rules merge movements of both legs into bilateral LMs; with one sensor,
  movements of the other leg are missing. Record both legs (`--other-leg`) for the full picture.

The result describes movement patterns. It is **not a diagnosis**: periodic limb movement
disorder and restless legs syndrome are clinical diagnoses that need a sleep specialist.

Next: `02_threshold_tuning.ipynb` (adjust the thresholds with sliders), `03_validation.ipynb`
(compare with a reference scoring), `04_rules.ipynb` (WASM 2016 versus AASM 2012).
"""),
]


TUNING = [
    md("""
# Threshold tuning: sliders, a table, and a preset for the command line

The defaults suit a shin-worn sensor in most nights. When a night (or a sensor) differs, for
example a noisier sensor or a restless bed partner, the thresholds can be adjusted. This notebook:

1. opens a **panel of sliders** over the sample night: every change re-detects in a fraction of a
   second and redraws the night, the counts and what changed;
2. shows the same as a **table** over several values of one setting (works without widgets);
3. **exports** the chosen settings as a TOML preset and proves that
   `legtwitch analyze --config preset.toml` finds exactly the events shown here.

Runs in about 15 s (the sliders need a live Jupyter session; in a static view they do nothing).
"""),
    code(SETUP),
    code("""
from detector.tuning.explore import static_panel, threshold_panel

res = lt.detect_movements(SAMPLE, leg="left")
res
"""),
    md("""
## 1. The panel

What the sliders change (each re-detects from the starting settings; `configs/default.toml`
gives the source of every default):

| slider | what it does |
|---|---|
| `lowcut_hz`, `highcut_hz` | the band-pass filter. A high-pass (`lowcut_hz` > 0) removes slow drift but also part of slow movements; the low-pass keeps twitch energy up to 10-20 Hz. |
| `on_factor` | a movement starts where the envelope exceeds this many times the noise floor. Lower: more small movements, more false alarms. |
| `off_ratio` | it ends where the envelope falls below this share of the on level (hysteresis). |
| `min_on_g` | absolute floor of the on threshold (g), above mattress vibration from a bed partner. |
| `edge_factor` | onsets and offsets are moved out to where the envelope meets this many times the noise floor, so slow movements keep their true duration. |
| `min_duration_s` | shorter bursts are dropped as noise. |
| `twitch_max_s` | shorter events are twitches, longer ones LMs (the rules: 0.5 s). |
| `merge_gap_s` | bursts closer than this are one movement (WASM 2016: an LM ends after 0.5 s without activity). |
| `rules` | the PLM scoring rules: WASM 2016 or AASM 2012 (see `04_rules.ipynb`). |

*What changed* compares with the starting settings: counts per kind, and events **added** or
**removed** (no event of the same kind within 0.5 s on the other side). *show: window* zooms into
a few minutes, with the starting events as black bars on top. **Export preset** writes the TOML
and shows the command that repeats the analysis.
"""),
    code("""
panel = threshold_panel(res, export_path=OUT / "tuned.toml")
panel
"""),
    md("""
The panel's state is available to the next cells: `panel.results` is what it shows now,
`panel.overrides` the settings you changed. In a fresh run (and in the automated test of this
notebook) nobody moved a slider, so the next cell sets two values from code; when you have tuned
with the sliders, it keeps your choice.
"""),
    code("""
if not panel.overrides:
    panel.set(min_on_g=0.03, on_factor=6.0)  # as if these sliders had been moved
res_tuned = panel.results
print(panel.overrides)
panel.changes()
"""),
    md("""
## 2. The same without widgets: a table over one setting

`static_panel(results, setting, values)` re-detects for each value and returns a table and a
figure, so the effect of a setting can be shown in a report or on a machine without ipywidgets
(where `threshold_panel` falls back to it by itself).
"""),
    code("""
table, fig = static_panel(res, "on_factor", [3, 4, 5, 6, 8, 10])
table.round(1)
"""),
    code("""
fig
"""),
    md("""
On this night `on_factor` hardly matters below 8: the sensor is quiet (a noise floor of about
4 mg), so the absolute floor `min_on_g` (20 mg) sets the on threshold. On a noisier sensor it is
the other way round. The floor decides which small twitches count:
"""),
    code("""
table, fig = static_panel(res, "min_on_g", [0.01, 0.015, 0.02, 0.03, 0.05])
fig
"""),
    md("""
## 3. Export the preset, and check the command line finds the same events

`panel.export()` (or the **Export preset** button, or `res_tuned.config.to_toml(path)`) writes
every setting, each with its documentation, readable by you only.
"""),
    code("""
preset = panel.export(OUT / "tuned.toml")
print(panel.command(preset))
print()
print("\\n".join(preset.read_text().splitlines()[:12]))
"""),
    md("""
Now run the command line on the sample night with that preset, in a separate process exactly as
from a terminal (`python -m detector.cli` is the `legtwitch` command), and compare its
`events.csv` with what the panel showed.
"""),
    code("""
import io
import subprocess
import tempfile

from detector.io.outputs import events_csv_text

cols = ["start_s", "end_s", "kind", "plm"]
with tempfile.TemporaryDirectory(prefix="legtwitch-tuned-") as out_dir:
    cmd = [sys.executable, "-m", "detector.cli", "analyze", str(SAMPLE), "--leg", "left",
           "--config", str(preset), "--out", out_dir, "--no-report", "--quiet"]
    run = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    print(run.stdout or run.stderr)
    assert run.returncode == 0, run.stderr
    from_cli = pd.read_csv(Path(out_dir) / "events.csv")[cols]
# the panel's events, written as events.csv writes them (times to the millisecond)
from_panel = pd.read_csv(io.StringIO(events_csv_text(res_tuned.events)))[cols]
pd.testing.assert_frame_equal(from_cli, from_panel)
print(f"identical: {len(from_cli)} events, start_s/end_s/kind/plm equal")
"""),
    md("""
To analyse other nights with these settings:

```bash
legtwitch analyze night.csv --config notebooks/output/tuned.toml
```

Tune on a few nights with a reference scoring rather than on one night by eye:
`03_validation.ipynb` shows how.
"""),
]


RULES_NB = [
    md("""
# Scoring rules: WASM 2016 versus AASM 2012

Which leg movements (LMs) count as **periodic limb movements (PLM)** is decided by scoring rules,
and two sets are in use:

| | WASM/IRLSSG 2016 [1] (default) | AASM 2012 [2] |
|---|---|---|
| LM duration | 0.5-10 s | 0.5-10 s |
| interval between onsets in a PLM series (IMI) | **10-90 s** | **5-90 s** |
| fewest LMs in a series | 4 | 4 |
| LMs of the two legs are one bilateral LM when | they **overlap or the later onset follows the earlier offset by < 0.5 s** (at most 4 movements, up to 15 s) | their **onsets are < 5 s apart** (up to 10 s) |
| LMs excluded around a respiratory event | 2 s before to 10.25 s after its **end** | 0.5 s before its start to 0.5 s after its end |

The 2016 standard raised the shortest interval from 5 s to 10 s because intervals under 10 s
behave as a population of their own (a separate peak in the log-scale interval histogram below),
not as part of the periodic pattern [1, 3]. Under AASM 2012 such short intervals can extend or
link series, so for the LMs of one leg the PLM index comes out equal or higher. The bilateral
rule decides how many LMs two legs make: by onsets alone (AASM 2012) two movements of different
legs 3 s apart are one LM; by overlap (WASM 2016) they are one only if they overlap or nearly
touch.

This notebook scores **the same LM lists** under both rules: the detector's and the reference
scoring's (`datasets/sample_night.scoring.edf`) of the sample night, and the detector's of a
simulated restless night, whose irregular movements have short intervals. Runs in about 10 s.

[1] Ferri R, Fulda S, Allen RP, et al. World Association of Sleep Medicine (WASM) 2016 standards
for recording and scoring leg movements in polysomnograms developed by a joint task force from
the International and the European Restless Legs Syndrome Study Groups (IRLSSG and EURLSSG).
*Sleep Med* 2016;26:86-95.
[2] Berry RB, Brooks R, Gamaldo CE, et al. *The AASM Manual for the Scoring of Sleep and
Associated Events: Rules, Terminology and Technical Specifications*, Version 2.0. Darien, IL:
American Academy of Sleep Medicine; 2012.
[3] Ferri R, Zucconi M, Manconi M, et al. New approaches to the study of periodic leg movements
during sleep in restless legs syndrome. *Sleep* 2006;29:759-769.
"""),
    code(SETUP),
    code("""
from detector import score_plm
from detector.config import RULES
from detector.report.plots import plot_imi_histograms
from detector.score.reference import read_reference

res = lt.detect_movements(SAMPLE, leg="left")
ref = read_reference(ROOT / "datasets" / "sample_night.scoring.edf", recording=res)
# a restless night: many irregular movements while settling, then some PLM series
restless = lt.detect_movements(lt.simulate_night("rls", hours=1.0, fs_hz=50.0, seed=2),
                               leg="left")
# each LM list with the rest time (h) its index is computed over
lists = {"sample, detected": (res.events, res.metrics["rest_h"]),
         "sample, reference": (ref.events, res.metrics["rest_h"]),
         "restless, detected": (restless.events, restless.metrics["rest_h"])}
{name: len(table) for name, (table, _) in lists.items()}
"""),
    md("""
The rule numbers live in `RULES` (and in the presets `configs/default.toml` and
`configs/aasm2012.toml`); where they differ:
"""),
    code("""
rules_table = pd.DataFrame({name: r.to_dict() for name, r in RULES.items()})
rules_table[rules_table["wasm2016"] != rules_table["aasm2012"]]
"""),
    md("""
## The same LM lists under both rules

`score_plm(events, rules)` takes any LM list (start, end, kind, leg) and scores it. The detector's
lists include twitches, which are not LMs: they neither count nor interrupt a series. Indices are
per hour of the rest time the accelerometer measured.
"""),
    code("""
cols = ["start_s", "end_s", "kind", "leg"]
scored, rows = {}, []
for source, (events, rest_h) in lists.items():
    for name in RULES:
        s = score_plm(events[cols], RULES[name])
        scored[source, name] = s
        short = s.events["imi_s"].between(5.0, 10.0, inclusive="left")
        rows.append({"LM list": source, "rules": name, "candidate LMs": s.n_candidate,
                     "intervals 5-10 s": int(short.sum()), "PLMs": s.n_plm,
                     "series": s.n_series, "PLM index (/h)": round(s.n_plm / rest_h, 1)})
counts = pd.DataFrame(rows).set_index(["LM list", "rules"])
counts
"""),
    md("""
On the sample night the rules agree: its simulated series have intervals of 12-60 s, and no
interval between candidate LMs is shorter than 10 s, in the detector's list or in the reference.
On the restless night many intervals are 5-10 s: AASM 2012 lets them extend and link series, so
its PLM index is higher.

Re-detecting with `rules="aasm2012"` scores the detector's list in exactly the same way:
"""),
    code("""
restless_aasm = restless.rethreshold(rules="aasm2012")
assert restless.metrics["n_plm"] == scored["restless, detected", "wasm2016"].n_plm
assert restless_aasm.metrics["n_plm"] == scored["restless, detected", "aasm2012"].n_plm
keys = ["n_lm", "n_plm", "n_series", "plm_index", "periodicity_index", "median_imi_s"]
pd.DataFrame({"wasm2016": restless.metrics, "aasm2012": restless_aasm.metrics}).loc[keys]
"""),
    md("""
### The series of the restless night, side by side
"""),
    code("""
pd.concat({name: scored["restless, detected", name].series.set_index("series")
           for name in RULES}, names=["rules"]).round(1)
"""),
    md("""
### The LMs whose status differs

An LM is in a series under one rule set and not under the other only through the intervals:
one of 5-10 s (allowed by AASM 2012 only) either side of it, or a run that reaches 4 LMs only
with such an interval.
"""),
    code("""
def differing(source):
    w = scored[source, "wasm2016"].events.set_index("start_s")
    a = scored[source, "aasm2012"].events.set_index("start_s")
    both = w[["end_s", "kind", "imi_s"]].assign(plm_wasm2016=w["plm"], series_wasm2016=w["series"],
                                                plm_aasm2012=a["plm"], series_aasm2012=a["series"])
    return both[both["plm_wasm2016"] != both["plm_aasm2012"]]

print({source: len(differing(source)) for source in lists})
differing("restless, detected").head(12)
"""),
    md("""
## Interval histograms

Intervals between consecutive candidate LM onsets (IMI) of the restless night, as in [3]: left in
2-s bins, right on a log scale, where periodic movements form their own peak. The intervals are the
same for both rules; the shaded PLM range is 10-90 s under WASM 2016 and 5-90 s under AASM 2012, and
the short-interval peak below 10 s falls inside the latter.
"""),
    code("""
plot_imi_histograms(restless)
"""),
    code("""
plot_imi_histograms(restless_aasm)
"""),
    md("""
## The bilateral merge, on a hand-made example

With one sensor there is only one leg, so the bilateral rules change nothing above. With both
legs (`legtwitch analyze left.csv --other-leg right.csv`) they decide how many LMs there are. Two
movements, left at 100-102 s and right at 103-104 s:

- WASM 2016: the right one starts 1 s after the left one ended (not < 0.5 s): **two LMs**;
- AASM 2012: their onsets are 3 s apart (< 5 s): **one bilateral LM**.
"""),
    code("""
two_legs = pd.DataFrame({"start_s": [100.0, 103.0], "end_s": [102.0, 104.0],
                         "leg": ["left", "right"]})
pd.concat({name: score_plm(two_legs, RULES[name]).events[["start_s", "end_s", "leg", "n_parts"]]
           for name in RULES}, names=["rules"])
"""),
    md("""
## Which to use

Use **WASM 2016** (the default) for new work: it is the current standard of the IRLSSG and
EURLSSG. Use **AASM 2012**
(`--rules aasm2012`, `configs/aasm2012.toml`) to compare with clinical reports or older studies
scored by the AASM manual, and say which rules were used: the PLM index depends on it.
"""),
]


VALIDATION = [
    md("""
# Validation: detected events against a reference scoring

Before trusting a threshold, measure how the detections agree with a reference, on several
nights. This notebook:

1. compares the detections of **three synthetic nights** with their exact truth;
2. reads a **reference scoring** of the sample night as a PSG program exports it (EDF+
   annotations, `datasets/sample_night.scoring.edf`), compares, and **clicks through the errors**;
3. **sweeps** a grid of thresholds over all four nights and shows precision, recall, F1 and the
   PLM index error, to choose settings.

Events match when their onsets are at most 1 s apart (one-to-one, closest first). The sample
night's reference is itself synthetic (derived from the generator's truth with onset jitter and
two overlooked small LMs, see `datasets/README.md`), so this shows the workflow, not how well the
detector does on real nights: for that, use your own scored nights. Runs in about 20 s.
"""),
    code(SETUP),
    code("""
from detector.tuning.compare import compare_events
from detector.score.reference import read_reference
from detector.tuning.sweep import best_params, summarize_sweep, sweep
from detector.tuning.sweep_plots import plot_error_surface, plot_precision_recall
"""),
    md("""
## 1. Three synthetic nights with their truth

An hour each at 50 Hz: periodic limb movements (`plmd`), a restless settling period with
irregular movements (`rls`) and frequent twitches (`twitchy`). `night.truth` lists every event the
generator put in.
"""),
    code("""
nights = {name: lt.simulate_night(scenario, hours=1.0, fs_hz=50.0, seed=seed)
          for name, scenario, seed in [("plmd", "plmd", 11), ("restless", "rls", 2),
                                       ("twitchy", "twitchy", 3)]}
pd.DataFrame({name: night.truth["kind"].value_counts() for name, night in nights.items()}
             ).reindex(["twitch", "lm", "sustained"]).fillna(0).astype(int)
"""),
    md("""
`compare_events(detected, reference, tolerance_s)` scores each kind: precision (the share of
detections that are true), recall (the share of true events found) and F1 (their harmonic mean);
`plm` compares the LMs in PLM series on both sides.
"""),
    code("""
comparisons = {name: compare_events(lt.detect_movements(night), night.truth, tolerance_s=1.0)
               for name, night in nights.items()}
pd.concat({name: c.summary()[["n_true", "n_detected", "precision", "recall", "f1"]]
           for name, c in comparisons.items()}, names=["night"]).unstack("kind")["f1"]
"""),
    md("""
## 2. The sample night against a scorer's annotations

`read_reference` reads EDF+ annotations (or a CSV event list), sorts them into leg movements,
respiratory events and everything else (here *Lights Off* and *Lights On*, kept in `.other`),
takes the leg from the label (*Limb Movement (Left)*), the kind from the duration, and aligns the
onsets to the accelerometer by clock time (the PSG started 90 s earlier). The scorer marked no
PLM series, so `scored()` applies the WASM 2016 rules to the scorer's LMs.
"""),
    code("""
res = lt.detect_movements(SAMPLE, leg="left")
ref = read_reference(ROOT / "datasets" / "sample_night.scoring.edf", recording=res).scored()
summary = ref.summary()
{k: summary[k] for k in ("format", "start_time", "n_events", "kind", "n_plm", "n_series",
                         "other_labels")}
"""),
    md("""
Scorers do not mark twitches (the rules start at 0.5 s), so a twitch row would only count the
detector's twitches as false alarms: compare LMs, sustained movements and PLMs.
"""),
    code("""
cmp = compare_events(res, ref, tolerance_s=1.0, kinds=["lm", "sustained", "plm"])
cmp.summary()
"""),
    md("""
### Click through the errors

`cmp.errors` has one row per miss (a reference event without a detection) and per false alarm (a
detection without a reference event), with the closest event on the other side;
`cmp.plot(res, i)` draws error `i` over the signal, reference onsets dashed black, detected onsets
in colour.
"""),
    code("""
for i in range(len(cmp.errors)):
    print(i, cmp.describe_error(i))
cmp.errors
"""),
    code("""
first_miss = int(np.flatnonzero(cmp.errors["error"] == "miss")[0])
cmp.plot(res, first_miss)
"""),
    code("""
first_false_alarm = int(np.flatnonzero((cmp.errors["error"] == "false_alarm")
                                       & (cmp.errors["kind"] == "lm"))[0])
cmp.plot(res, first_false_alarm)
"""),
    md("""
A reference is not the truth either. Here the generator's truth is known, so each LM error can
be checked against it: is there a true movement at that time, and how large was it?
"""),
    code("""
truth = pd.read_csv(ROOT / "datasets" / "sample_night.truth.csv")
lm_errors = cmp.errors[cmp.errors["kind"] == "lm"]
nearest = [int(np.argmin(np.abs(truth["start_s"].to_numpy() - t))) for t in lm_errors["start_s"]]
lm_errors[["error", "start_s", "duration_s"]].assign(
    true_onset_s=truth["start_s"].to_numpy()[nearest],
    true_kind=truth["kind"].to_numpy()[nearest],
    true_peak_mg=(truth["peak_g"].to_numpy()[nearest] * 1000).round(0))
"""),
    md("""
Both LM false alarms are true leg movements that the reference left out (the scorer overlooked
them), and the miss is a true LM whose peak (about 17 mg) stays below the detector's absolute
floor `min_on_g` of 20 mg. A missing LM also breaks PLM runs: one LM that is in a series in the
detection is not in the reference's, only because its neighbour is missing there.

## 3. A sweep over thresholds, on all four nights

`sweep(recordings, references, grid)` detects each night once and re-thresholds it for every
combination of the grid (here the absolute floor `min_on_g` and `on_factor`, 12 combinations),
then compares with each reference. A reference of `None` uses a simulated night's truth. The
result is a tidy table: one row per night, combination and kind.
"""),
    code("""
recordings = {**nights, "sample": SAMPLE}
references = {**{name: None for name in nights}, "sample": ref}
grid = {"min_on_g": [0.01, 0.02, 0.03, 0.05], "on_factor": [3, 5, 8]}
df = sweep(recordings, references, grid, tolerance_s=1.0)
df[df["kind"] == "lm"].head(6)
"""),
    md("""
`summarize_sweep` pools the nights (sums the true positives, false positives and misses, as a
paper reports them) and ranks the combinations, best first; `best_params` returns the best
settings, ready for `rethreshold(**best)` or `Config().with_values(**best)`.
"""),
    code("""
summary = summarize_sweep(df, kind="lm")
summary[["min_on_g", "on_factor", "n_true", "tp", "fp", "fn", "precision", "recall", "f1",
         "plm_index_error"]].round(3)
"""),
    code("""
best = best_params(df, kind="lm")
best
"""),
    md("""
Pooled precision against recall, one point per combination, a line per `on_factor` (here the
lines lie on top of each other: `on_factor` hardly matters on these quiet sensors); the grey
curves are equal F1, the star the best combination.
"""),
    code("""
plot_precision_recall(df, kind="lm", vary="on_factor")
"""),
    code("""
plot_error_surface(df, "on_factor", "min_on_g", metric="f1", kind="lm")
"""),
    md("""
The PLM index is what most studies report: its error (detected minus reference, per hour,
averaged over the nights) over the same grid.
"""),
    code("""
plot_error_surface(df, "on_factor", "min_on_g", metric="plm_index_error", kind="lm")
"""),
    md("""
## What to pick

- **Rank by the kind your study is about**: pooled LM F1 for PLM work; check the PLM index error
  next to it.
- **Prefer a plateau to a peak.** Here the LM F1 barely moves between a `min_on_g` of 10 and
  20 mg and with `on_factor`, while 50 mg loses the small LMs; a setting in the middle of a
  plateau carries over to new nights better than the single best cell.
- **Tune and test on different nights.** Settings chosen on a set of nights look better on those
  nights than they will elsewhere; keep some scored nights out of the sweep and report the
  scores on them.
- **Synthetic nights test the method, not the sensor.** Sweep your own recordings with their
  scorings (paths and `read_reference(...)` results go straight into `sweep`).
- Report the tolerance (1 s here), the rules and the preset with the results.

The chosen settings as a preset for `legtwitch analyze --config`:
"""),
    code("""
from detector.fileio import make_private_dir

make_private_dir(OUT)  # readable by you only, like every file legtwitch writes
chosen = lt.Config().with_values(**best)
chosen.to_toml(OUT / "validated.toml")
print(f"legtwitch analyze night.csv --config {(OUT / 'validated.toml').relative_to(ROOT)}")
pd.DataFrame({"default": lt.Config().envelope.to_dict(), "chosen": chosen.envelope.to_dict()}
             ).loc[["on_factor", "min_on_g"]]
"""),
]


NOTEBOOKS = {
    "01_quickstart.ipynb": QUICKSTART,
    "02_threshold_tuning.ipynb": TUNING,
    "03_validation.ipynb": VALIDATION,
    "04_rules.ipynb": RULES_NB,
}


def build(cells: list[nbformat.NotebookNode]) -> nbformat.NotebookNode:
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)",
                                 "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    return nb


def main(names: list[str] | None = None) -> None:
    for name, cells in NOTEBOOKS.items():
        if names and name not in names:
            continue
        nb = build(cells)
        nbformat.validate(nb)
        path = HERE / name
        with path.open("w", encoding="utf-8") as fh:
            nbformat.write(nb, fh)
        print(f"wrote {path.relative_to(HERE.parent)}")


if __name__ == "__main__":
    main(sys.argv[1:] or None)
