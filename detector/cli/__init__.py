"""The ``legtwitch`` command line.

Every sub-command explains itself with ``--help``. Bad input ends with one clear line naming the
file and what was expected (exit code 2), never a traceback.
"""

from __future__ import annotations

import argparse
import sys
import warnings
import time
from pathlib import Path
from typing import Callable, Sequence

from detector.config import ConfigError, RULES, list_presets, preset_path
from detector.cli.common import add_config_args, add_input_args, config_from_args, start_time_arg
from detector.io.localtime import zone_named
from detector.errors import InputError

__all__ = ["main", "build_parser", "add_config_args", "add_input_args", "config_from_args"]

EPILOG = """examples:
  legtwitch demo                                   analyse the bundled sample night
  legtwitch analyze night.csv --out results/       analyse your own recording
  legtwitch analyze night.csv --config aasm2012 --set envelope.on_factor=6
  legtwitch rescore lm_events.csv --rules aasm2012 apply the PLM rules to a scorer's LM list
  legtwitch simulate --scenario plmd --hours 8 night.csv
  legtwitch evaluate results/events.csv night.truth.csv
  legtwitch evaluate results/events.csv scoring.edf   compare with a PSG scorer's EDF+ annotations
  legtwitch methods --config tuned.toml            a methods paragraph for a paper
  legtwitch batch "nights/*.csv" --out results/    analyse many nights (resumes; --dask-local N)
  legtwitch trends results/ --diary diary.csv      nights over time, and what goes with them
  legtwitch export night.csv --edf night.edf       EDF+ with every event annotated, for PSG viewers
  legtwitch presets                                list the bundled configuration presets
  legtwitch bench                                  speed and memory figures
  legtwitch scan                                   find nearby sensors
  legtwitch record --device ADDRESS --out night1   record a night over BLE, live
  legtwitch sensor-sim   (then, in another terminal:)  legtwitch record --virtual
  legtwitch recover night1                         rebuild a recording after a crash

legtwitch describes movement; it does not diagnose anything."""


class _Status:
    """Progress lines on stderr, with elapsed time, unless quiet."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.t0 = time.perf_counter()

    def __call__(self, msg: str) -> None:
        if not self.quiet:
            print(f"[{time.perf_counter() - self.t0:6.1f} s] {msg}", file=sys.stderr, flush=True)


def _add_recording_args(p: argparse.ArgumentParser) -> None:
    add_input_args(p)
    p.add_argument("--other-leg", metavar="FILE",
                   help="the other leg's recording: LMs of both legs are merged into bilateral "
                        "LMs by the rules (WASM 2016: overlapping or < 0.5 s apart)")
    p.add_argument("--respiratory", metavar="FILE",
                   help="CSV of respiratory events (start_s, end_s in seconds from the first "
                        "sample): LMs near them are flagged (WASM 2016: -2 to +10.25 s around "
                        "each event's end) and PLM is reported with and without them")
    p.add_argument("--start", metavar="HH:MM",
                   help="lights off (clock time): the rest window starts here; movements "
                        "outside the window are listed but not scored (default: estimated "
                        "from when the sensor was put on and taken off)")
    p.add_argument("--end", metavar="HH:MM", help="lights on (clock time): the rest window ends")
    p.add_argument("--tz", metavar="ZONE",
                   help="time zone of --start/--end, e.g. Europe/Berlin (default: this "
                        "computer's)")
    p.add_argument("--out", metavar="DIR", default="results",
                   help="folder for events.csv, summary.json and report.html (default: results)")
    p.add_argument("--no-report", action="store_true", help="skip report.html (faster)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress lines")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``legtwitch`` and its sub-commands."""
    parser = argparse.ArgumentParser(
        prog="legtwitch",
        description="Detect leg twitches, leg movements and periodic limb movement (PLM) series "
                    "in a leg-worn accelerometer recording, and write a night report.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    from detector.version import __version__

    parser.add_argument("--version", action="version", version=f"legtwitch {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("analyze", help="analyse a recorded night (CSV, Parquet, EDF+, device file)",
                       description="Analyse one recorded night. Input: columns timestamp "
                       "(unix seconds or ISO 8601) and x, y, z (g, mg or m/s^2; common aliases "
                       "such as time, ax/ay/az, acc_x are accepted), EDF+, or a research device "
                       "file: Axivity .cwa, GENEActiv .bin (pip install \"legtwitch[devices]\"), "
                       "ActiGraph .gt3x (pip install \"legtwitch[gt3x]\", GPL-3); a device's clock "
                       "is read in --tz. Writes events.csv, summary.json and report.html into "
                       "--out; a recording of several days, one folder per night.")
    p.add_argument("file", help="the recording: .csv, .csv.gz, .parquet, .edf, .cwa, .bin or "
                   ".gt3x")
    _add_recording_args(p)
    p.add_argument("--hypnogram", metavar="FILE",
                   help="a PSG scoring of the same night with its sleep stages (EDF+, RemLogic "
                        "export, NSRR or Profusion XML), aligned by clock time: adds PLMS and "
                        "PLMW (per hour of sleep and of wake after sleep onset) and the "
                        "hypnogram to the report")
    p.add_argument("--by-night", choices=("auto", "always", "never"), default="auto",
                   help="a recording of several days (CSV, Parquet, .cwa or .bin spanning more than 30 h) "
                        "is read in batches and analysed night by night into OUT/NIGHT-YYYY-MM-"
                        "DD/ folders and OUT/nights.csv, each night's window from --start/--end "
                        "or estimated from the shin's posture (default auto)")
    add_config_args(p)

    p = sub.add_parser("demo", help="analyse the bundled sample night",
                       description="Analyse the bundled sample night (datasets/) and write the "
                       "report into --out (default: demo-results).")
    p.add_argument("--out", metavar="DIR", default="demo-results", help="output folder")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress lines")

    p = sub.add_parser("rescore", help="apply the PLM rules to an existing LM list",
                       description="Score PLM series on a leg-movement list, e.g. from a PSG "
                       "scorer: a CSV with start_s and end_s (or onset/offset, or start/duration) "
                       "in seconds, optionally kind and leg; or a PSG scoring (EDF+ annotations, "
                       "RemLogic event export, NSRR or Profusion XML, a CSV with clock times or "
                       "labels), whose respiratory events are used and whose sleep stages give "
                       "PLMS and PLMW. Prints the PLM summary; with --out, writes the scored "
                       "events.csv and summary.json.")
    p.add_argument("file", help="CSV of leg movements, or a PSG scoring")
    p.add_argument("--other-leg", metavar="FILE", help="the other leg's LM list (bilateral merge)")
    p.add_argument("--respiratory", metavar="FILE", help="CSV of respiratory events")
    p.add_argument("--rest-h", type=float, metavar="HOURS",
                   help="rest (sleep) time in hours for the indices (default: first onset to "
                        "last offset)")
    p.add_argument("--out", metavar="DIR", help="write events.csv and summary.json here")
    add_config_args(p)

    p = sub.add_parser("simulate", help="write a synthetic night with its ground truth",
                       description="Write a synthetic night (timestamp, x, y, z in g) and its "
                       "ground truth (<name>.truth.csv). A test tool, not real data.")
    p.add_argument("out", help="output file: .csv, .csv.gz or .parquet")
    p.add_argument("--scenario", default="plmd", help="healthy, plmd, twitchy, rls or noise")
    p.add_argument("--hours", type=float, default=8.0, help="length in hours (default 8)")
    p.add_argument("--fs", type=float, default=100.0, help="sampling rate in Hz (default 100)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--leg", default="left", choices=["left", "right"], help="leg label")
    p.add_argument("--start", metavar="'YYYY-MM-DD HH:MM'",
                   help="clock time of the first sample (this computer's zone unless it ends in "
                        "an offset such as +01:00; default 2023-11-14 22:13 UTC), e.g. to make a "
                        "fortnight of nights for `legtwitch trends`")

    p = sub.add_parser("evaluate", help="compare detected events with a reference scoring",
                       description="Precision, recall and F1 per kind (onsets matched within "
                       "--tolerance-s) and the PLM-index error, events.csv against truth.csv.")
    p.add_argument("events", help="detected events.csv")
    p.add_argument("truth", help="reference events: a truth.csv (start_s, kind, plm), a scorer's "
                   "CSV of onsets and durations or clock times, or EDF+ annotations exported by "
                   "PSG software (aligned by clock time with the start_time of the summary.json "
                   "beside events.csv; PLM series scored by the rules when the file has none)")
    p.add_argument("--tolerance-s", type=float, default=1.0, help="onset tolerance (default 1 s)")
    p.add_argument("--rest-h", type=float,
                   help="rest hours for the PLM index (default: rest_h of the summary.json "
                        "beside events.csv)")
    p.add_argument("--rules", choices=sorted(RULES),
                   help="rules that score PLM series in a reference without PLM flags "
                        "(default: those in summary.json, else wasm2016)")

    p = sub.add_parser("methods", help="print a methods paragraph for a configuration",
                       description="Print the methods section of a paper for these settings: "
                       "every step and threshold with its unit, and the scoring rules with "
                       "citations (the text changes with every setting).")
    add_config_args(p)
    p.add_argument("--fs", type=float, metavar="HZ",
                   help="sampling rate of the recordings (states the filter corner actually used)")
    p.add_argument("--no-references", action="store_true",
                   help="cite inline instead of a numbered reference list")

    p = sub.add_parser("presets", help="list the bundled configuration presets",
                       description="List the bundled presets, or print one as TOML.")
    p.add_argument("--show", metavar="NAME", help="print this preset")

    p = sub.add_parser("bench", help="print speed and memory figures",
                       description="Benchmark on a synthetic 8-hour 100-Hz 3-axis night: bare "
                       "pandas CSV parse, the whole analysis from CSV and from Parquet, peak "
                       "memory, the notebook API's re-thresholding, the live (streaming) "
                       "detector's speed and latency, the recorder's write, finalize and "
                       "recover times; a batch of short nights with 1 and 2 workers; and a 7-day "
                       "recording analysed night by night (memory, time per day).")
    p.add_argument("--hours", type=float, help="night length (default 8; 2 with --quality)")
    p.add_argument("--fs", type=float, default=100.0, help="sampling rate (default 100)")
    p.add_argument("--repeat", type=int, default=3, help="runs per figure, median reported")
    p.add_argument("--keep", metavar="DIR", help="keep the generated files here")
    p.add_argument("--days", type=int, default=7,
                   help="also a recording of this many days analysed night by night: peak "
                        "memory and time per day (default 7; 0 skips it)")
    p.add_argument("--quality", action="store_true",
                   help="instead: detection quality on simulated nights of every scenario "
                   "(LM, PLM, twitch and sustained F1, false LMs per hour, PLM index error), "
                   "each figure against its target")
    p.add_argument("--seeds", metavar="N,N,...",
                   help="with --quality: seeds of the simulated nights (default 101,202,303)")
    p.add_argument("--scenario", action="append", metavar="NAME",
                   help="with --quality: only this scenario (repeatable)")
    p.add_argument("--json", metavar="FILE",
                   help="also write every figure, its target and whether it was met here")

    from detector.cli.ble import add_parsers

    add_parsers(sub, add_config_args)
    from detector.cli.many_nights import add_batch, add_export, add_trends

    add_batch(sub, add_config_args)
    add_trends(sub, add_config_args)
    add_export(sub, add_config_args)
    return parser


def _window(args: argparse.Namespace) -> tuple[str, str] | None:
    """Lights off and on of --start/--end (None: estimated by the analysis)."""
    start, end = getattr(args, "start", None), getattr(args, "end", None)
    if start is None and end is None:
        return None
    if start is None or end is None:
        raise InputError("give both --start (lights off) and --end (lights on), e.g. "
                         "--start 23:00 --end 07:00")
    return start, end


def _per_h(x: float | None) -> str:
    """An index per hour for the terminal, or n/a."""
    return "n/a" if x is None else f"{x:.1f}/h"


def _print_summary(summary: dict) -> None:
    def f(x, fmt="{:.1f}"):
        return "n/a" if x is None else fmt.format(x)

    print(f"rules {summary['rules']}   recording {f(summary['recording_h'], '{:.2f}')} h   "
          f"rest {f(summary['rest_h'], '{:.2f}')} h   gaps {f(summary['gap_s'], '{:.0f}')} s")
    print(f"twitches {summary['n_twitch']}   LMs {summary['n_lm']}   PLMs {summary['n_plm']} "
          f"in {summary.get('n_series', 0)} series   sustained {summary['n_sustained']}")
    print(f"PLM index {f(summary['plm_index'])}/h   LM index {f(summary['lm_index'])}/h   "
          f"twitch index {f(summary['twitch_index'])}/h   periodicity "
          f"{f(summary['periodicity_index'], '{:.2f}')}")
    if summary.get("n_plm_without_resp") is not None:
        print(f"without respiratory-related LMs: PLMs {summary['n_plm_without_resp']}, "
              f"PLM index {f(summary.get('plm_index_without_resp'))}/h")
    for warning in summary.get("warnings") or []:
        print(f"warning: {warning}")
    if "category_title" in summary:
        advice = summary.get("advice")
        print(f"pattern: {summary['category_title']}"
              + (f"  ->  {advice['row']}" if isinstance(advice, dict) else
                 f" ({'; '.join(summary.get('category_reasons') or [])})"))
        print("not a diagnosis: see the report for what an accelerometer cannot see.")


def cmd_analyze(args: argparse.Namespace, sample: Path | None = None) -> int:
    from detector.analysis import analyze_file

    from detector.cli.many_nights import run_by_night, wants_by_night

    say = _Status(args.quiet)
    cfg = config_from_args(args)
    if sample is None and wants_by_night(args, zone_named(getattr(args, "tz", None))):
        return run_by_night(args, cfg, say, _window(args), zone_named(getattr(args, "tz", None)))
    done = analyze_file(str(sample or args.file), args.out, cfg,
                        other_leg=getattr(args, "other_leg", None), report=not args.no_report,
                        leg=args.leg, fs_hz=args.fs, units=args.units,
                        force=getattr(args, "force", False),
                        respiratory=getattr(args, "respiratory", None), window=_window(args),
                        tz=zone_named(getattr(args, "tz", None)),
                        hypnogram=getattr(args, "hypnogram", None), progress=say)
    say("done")
    _print_summary(done.result.summary())
    for name, path in done.paths.items():
        print(f"{name:8s} {path}")
    return 0


def _sample_night(say: Callable[[str], None]) -> Path:
    """The bundled sample night; regenerated from its seed when the package was installed
    without the repository's datasets/ folder."""
    here = Path(__file__).resolve().parent.parent / "datasets" / "sample_night.csv.gz"
    if here.is_file():
        return here
    from detector.sim.night import simulate_night, write_simulation

    import tempfile
    tmp = Path(tempfile.mkdtemp(prefix="legtwitch-demo-")) / "sample_night.csv.gz"
    say("datasets/sample_night.csv.gz is not installed; regenerating it from its seed "
        "(see datasets/README.md)")
    write_simulation(simulate_night(**SAMPLE_NIGHT), tmp)
    return tmp


#: Rest needed for a verdict in ``legtwitch demo`` (h): the 2-h sample night holds 1.98 h.
DEMO_MIN_REST_H = 1.5

#: How datasets/sample_night.csv.gz is made (datasets/README.md).
SAMPLE_NIGHT = {"scenario": "plmd", "hours": 2.0, "fs_hz": 50.0, "seed": 2016, "leg": "left"}


def cmd_demo(args: argparse.Namespace) -> int:
    say = _Status(args.quiet)
    sample = _sample_night(say)
    # The sample night is 2 h long (small enough to ship): below the 4 h of rest a verdict
    # needs. The demo lowers that minimum, says so here and at the top of the report.
    print(f"the sample night is 2 h long: the demo lowers the rest needed for a verdict to "
          f"{DEMO_MIN_REST_H:g} h (a real night needs at least 4 h)")
    ns = argparse.Namespace(file=str(sample), fs=None, units=None, leg="left", other_leg=None,
                            respiratory=None, out=args.out, no_report=False, quiet=args.quiet,
                            config=None, overrides=[f"category.min_rest_h={DEMO_MIN_REST_H}"],
                            rules=None)
    code = cmd_analyze(ns)
    print(f"open {Path(args.out) / 'report.html'} in a browser to see the night report")
    return code


def cmd_rescore(args: argparse.Namespace) -> int:
    from detector.score.metrics import night_metrics
    from detector.io.outputs import summary_json_text, events_csv_text
    from detector.fileio import make_private_dir, write_private
    from detector.score.plm import merge_bilateral, score_plm
    from detector.io.tables import read_respiratory_events

    cfg = config_from_args(args)
    events, resp, hypnogram = _scored_movements(args.file, cfg)
    if args.other_leg:
        other, _, _ = _scored_movements(args.other_leg, cfg)
        events = merge_bilateral(events, other, cfg.rules)
    if args.respiratory:
        resp = read_respiratory_events(args.respiratory)
    scoring = score_plm(events, cfg.rules, resp)
    ev = scoring.events
    if args.rest_h is not None:
        if args.rest_h <= 0:
            raise InputError(f"--rest-h {args.rest_h}: expected a positive number of hours")
        span_s = args.rest_h * 3600.0
    else:
        span_s = float(ev["end_s"].max() - min(ev["start_s"].min(), 0.0)) if len(ev) else 0.0
    # A rest time given is the rest time: sustained movements are not taken off it again.
    metrics = night_metrics(scoring, recording_s=span_s, gap_s=0.0,
                            sustained_s=0.0 if args.rest_h is not None else None)
    if hypnogram is not None and len(hypnogram):
        from detector.score.sleep import sleep_metrics

        metrics.update(sleep_metrics(ev, hypnogram))
    summary = {"rules": cfg.rules.standard, "source": args.file, **metrics,
               "config": {"rules": cfg.rules.to_dict()}}
    _print_summary(summary)
    if summary.get("tst_h") is not None:
        print(f"sleep (from the scoring's stages): TST {summary['tst_h']:.2f} h, WASO "
              f"{summary['waso_h']:.2f} h; PLMS {summary['n_plms']} (index "
              f"{_per_h(summary['plms_index'])}), PLMW {summary['n_plmw']} (index "
              f"{_per_h(summary['plmw_index'])})")
    if args.rest_h is None:
        print("indices use first onset to last offset as rest time; give --rest-h for the real one")
    if args.out:
        out = make_private_dir(args.out)
        print(f"events   {write_private(out / 'events.csv', events_csv_text(ev))}")
        print(f"summary  {write_private(out / 'summary.json', summary_json_text(summary))}")
    return 0


def _scored_movements(path: str, cfg):
    """A scorer's leg movements, the respiratory events the file holds (or None) and its sleep
    stages (:func:`detector.score.sleep.hypnogram_from_annotations`; empty without): a CSV of
    seconds (:func:`detector.io.tables.read_lm_table`), else any scoring
    :func:`detector.score.reference.read_reference` reads (EDF+ annotations, a RemLogic event
    export, NSRR or Profusion XML, a CSV with clock times or labels)."""
    from detector.io.edf_read import edf_kind, file_head
    from detector.io.psg import psg_kind
    from detector.io.tables import read_lm_table
    from detector.score.reference import read_reference
    from detector.score.sleep import hypnogram_from_annotations

    head = file_head(Path(path))
    if edf_kind(head, Path(path)) is None and psg_kind(head) is None:
        try:
            return read_lm_table(path), None, None
        except InputError as first:
            try:
                ref = read_reference(path, rules=cfg.rules, labels=dict(cfg.labels) or None)
            except InputError:
                raise first from None
    else:
        ref = read_reference(path, rules=cfg.rules, labels=dict(cfg.labels) or None)
    cols = [c for c in ("start_s", "end_s", "duration_s", "leg", "kind") if c in ref.events]
    events = ref.events[cols].reset_index(drop=True)
    resp = (ref.respiratory[["start_s", "end_s"]].reset_index(drop=True)
            if len(ref.respiratory) else None)
    return events, resp, hypnogram_from_annotations(ref.other)


def cmd_simulate(args: argparse.Namespace) -> int:
    from detector.sim.night import simulate_night, write_simulation
    from detector.sim.scenarios import SCENARIOS

    if args.scenario not in SCENARIOS:
        raise InputError(f"--scenario {args.scenario!r}: expected one of {', '.join(SCENARIOS)}")
    if not (0 < args.hours <= 24):
        raise InputError(f"--hours {args.hours}: expected 0 < hours <= 24")
    if not (10 <= args.fs <= 1000):
        raise InputError(f"--fs {args.fs}: expected a rate between 10 and 1000 Hz")
    name = Path(args.out).name.lower()
    if not name.endswith((".csv", ".csv.gz", ".parquet")):
        raise InputError(f"{args.out}: the output file must end in .csv, .csv.gz or .parquet")
    start = {} if args.start is None else {"start_unix_s": start_time_arg(args.start)}
    say = _Status(False)
    say(f"simulating a {args.hours:g}-h {args.scenario} night at {args.fs:g} Hz (seed {args.seed})")
    night = simulate_night(args.scenario, args.hours, args.fs, args.seed, leg=args.leg, **start)
    data, truth = write_simulation(night, args.out)
    say("done")
    print(f"samples  {data}\ntruth    {truth}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from detector.tuning.evaluate import compare_detection, format_comparison, plm_index_error
    from detector.io.tables import read_events

    det = read_events(args.events)
    summary_path = Path(args.events).with_name("summary.json")
    summary: dict = {}
    if summary_path.is_file():
        import json

        try:
            summary = json.loads(summary_path.read_text(encoding="utf-8"))
        except (ValueError, OSError):
            summary = {}
    truth, hypnogram = _reference_events(args.truth, summary, args.rules)
    rest_h = args.rest_h
    if rest_h is None and summary.get("rest_h") is not None:
        rest_h = summary["rest_h"]
        print(f"rest time {rest_h:.2f} h from {summary_path}")
    scored = None
    if hypnogram is not None:     # a scoring (not an event table): it marks leg movements only
        scored = ("lm", "sustained")
        n_tw = int((det["kind"] == "twitch").sum())
        print(f"the reference is a scoring of leg movements: twitches (< 0.5 s, {n_tw} detected) "
              "are not scored in it, so they are not judged and are left out of 'all'")
    table = compare_detection(det, truth, tolerance_s=args.tolerance_s, scored_kinds=scored)
    print(format_comparison(table, plm_index_error(det, truth, rest_h=rest_h)))
    if hypnogram is not None and len(hypnogram):
        from detector.score.sleep import sleep_metrics

        d, r = sleep_metrics(det, hypnogram), sleep_metrics(truth, hypnogram)
        if d and r:
            print(f"with the reference's sleep stages (TST {r['tst_h']:.2f} h, WASO "
                  f"{r['waso_h']:.2f} h): PLMS index detected {_per_h(d['plms_index'])}, "
                  f"reference {_per_h(r['plms_index'])}; PLMW index detected "
                  f"{_per_h(d['plmw_index'])}, reference {_per_h(r['plmw_index'])}")
    return 0


def _is_event_table(path: Path) -> bool:
    """A CSV whose header has start_s and kind (an events.csv or truth.csv)."""
    import csv
    import gzip

    try:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt", encoding="utf-8-sig") as fh:  # type: ignore[operator]
            header = next((line for line in fh if line.strip() and not line.startswith("#")), "")
    except (OSError, UnicodeDecodeError, EOFError):
        return False
    names = {h.strip().lower() for h in next(csv.reader([header]), [])}
    return {"start_s", "kind"} <= names


def _reference_events(path_text: str, summary: dict, rules_name: str | None):
    """The reference events and its sleep stages (None for an event table): an event table as it
    is, else a scoring read with read_reference, aligned to the recording start in summary.json
    and scored by the rules when it has no PLMs."""
    from datetime import datetime
    from types import SimpleNamespace

    from detector.io.tables import read_events
    from detector.score.reference import read_reference

    from detector.score.sleep import hypnogram_from_annotations

    path = Path(path_text)
    if path.is_file() and _is_event_table(path):
        return read_events(path), None
    recording = None
    if summary.get("start_time"):
        t0 = datetime.fromisoformat(summary["start_time"]).timestamp()
        recording = SimpleNamespace(t0_unix_s=t0)
    name = rules_name or (summary.get("rules") if summary.get("rules") in RULES else "wasm2016")
    labels = (summary.get("config") or {}).get("labels") or None   # the analysis' own labels
    ref = read_reference(path, recording=recording, rules=RULES[name], labels=labels)
    if recording is None and ref.format.startswith(("edf", "bdf")):
        print("no summary.json beside the events: reference onsets are taken from the start of "
              f"{path.name}")
    scored = ref.scored(RULES[name])
    if scored.plm_from == "rules":
        print(f"{path.name}: {len(ref.events)} reference events; PLM series scored by {name}")
    return scored.events, hypnogram_from_annotations(ref.other)


def cmd_methods(args: argparse.Namespace) -> int:
    from detector.report.methods import describe

    print(describe(config_from_args(args), fs_hz=args.fs, references=not args.no_references))
    return 0


def cmd_presets(args: argparse.Namespace) -> int:
    if args.show:
        print(preset_path(args.show).read_text(encoding="utf-8"), end="")
        return 0
    for name, line in list_presets().items():
        print(f"{name:12s} {line}")
    print("\nuse with: legtwitch analyze FILE --config NAME   (print one: legtwitch presets --show NAME)")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    if args.quality:
        from detector.tuning.quality import QUALITY_SEEDS, run_quality
        from detector.sim.scenarios import SCENARIOS

        try:
            seeds = tuple(int(x) for x in args.seeds.split(",")) if args.seeds else QUALITY_SEEDS
        except ValueError:
            raise InputError(f"--seeds {args.seeds!r}: expected whole numbers separated by "
                             "commas, e.g. 101,202,303") from None
        for name in args.scenario or []:
            if name not in SCENARIOS:
                raise InputError(f"--scenario {name!r}: expected one of {', '.join(SCENARIOS)}")
        if args.hours is not None and not 0 < args.hours <= 24:
            raise InputError(f"--hours {args.hours:g}: expected more than 0 and at most 24 "
                             "hours per simulated night")
        if not 10 <= args.fs <= 1000:
            raise InputError(f"--fs {args.fs:g}: expected 10 to 1000 Hz")
        return run_quality(hours=args.hours or 2.0, fs_hz=args.fs, seeds=seeds,
                           scenarios=args.scenario,
                           json_path=args.json)
    from detector.cli.bench import run_bench

    return run_bench(hours=args.hours or 8.0, fs_hz=args.fs, repeat=args.repeat, keep=args.keep,
                     json_path=args.json, days=args.days)


COMMANDS = {"analyze": cmd_analyze, "demo": cmd_demo, "rescore": cmd_rescore,
            "simulate": cmd_simulate, "evaluate": cmd_evaluate, "presets": cmd_presets,
            "bench": cmd_bench, "methods": cmd_methods}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``legtwitch`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 2
    # numpy's RuntimeWarnings (an empty mean, a division in a flat stretch) are about numbers
    # that the analysis already handles: they are not for the terminal.
    warnings.filterwarnings("ignore", category=RuntimeWarning)
    try:
        if args.command in COMMANDS:
            return COMMANDS[args.command](args)
        if getattr(args, "func", None) is not None:   # commands of the many-nights modules
            return args.func(args)
        from detector.cli.ble import COMMANDS as BLE_COMMANDS

        if args.command in ("record", "recover"):
            return BLE_COMMANDS[args.command](args, config_from_args(args))
        return BLE_COMMANDS[args.command](args)
    except (InputError, ConfigError) as exc:
        print(f"legtwitch {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except FileNotFoundError as exc:
        print(f"legtwitch {args.command}: error: {exc.filename or exc}: file not found",
              file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"legtwitch {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"legtwitch {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
