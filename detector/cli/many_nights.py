"""Sub-commands for many nights and other tools: ``batch``, ``trends``, ``export``.

The argument parsers need argparse alone, so that ``legtwitch --help`` answers at once; each
command imports the library functions it calls when it runs.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path
from typing import Any, Callable

from detector.errors import InputError

__all__ = ["add_batch", "add_trends", "add_export", "cmd_batch", "cmd_trends", "cmd_export",
           "wants_by_night", "run_by_night",
           "TRENDS_MIN_NIGHTS"]

#: Default of ``trends --min-nights``: :data:`detector.cohort.trends.MIN_NIGHTS` (a test keeps the
#: two equal; importing the trends module here would load scipy before ``--help``).
TRENDS_MIN_NIGHTS = 7

BATCH_EXAMPLES = """examples:
  legtwitch batch "nights/*.csv" --out results/          every night, local process pool
  legtwitch batch night1.csv night2.csv.gz --out results/ a list of files
  legtwitch batch "study/**/*.parquet" --out results/ --config aasm2012 --no-report
  legtwitch batch "nights/*.csv" --out results/ --dask-local 4
  legtwitch batch "nights/*.csv" --out results/ --scheduler tcp://10.0.0.5:8786

Run the same command again to resume: nights whose results are complete for this file content,
configuration and legtwitch version are kept (status "done", skipped_this_run true). Exit code 0
when every night was analysed now or before, 1 when a night failed (see OUT/failures.csv), 2 on
bad arguments."""


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a whole number >= 1") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a whole number >= 1")
    return value


def add_batch(sub: Any, add_config_args: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add ``legtwitch batch`` to the command line's sub-parsers."""
    p = sub.add_parser(
        "batch", help="analyse many nights with one configuration (resumable, parallel)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Analyse every night with one configuration: OUT/<night>/ gets events.csv, "
        "summary.json and report.html, then OUT/nights.parquet and OUT/nights.csv collate one "
        "row per night (every summary field, the file, status and error). Nights run in "
        "parallel on a local process pool (sized to the machine) or on a dask.distributed "
        "cluster. A finished night is skipped when the batch is run again; a night that fails "
        "is reported and the others continue.",
        epilog=BATCH_EXAMPLES)
    p.add_argument("inputs", nargs="+", metavar="FILE|PATTERN|DIR",
                   help="recordings: files, folders or quoted glob patterns (\"nights/*.csv\", "
                        "** for sub-folders); *.truth.csv files are left out of patterns")
    p.add_argument("--out", metavar="DIR", default="results",
                   help="output folder (default: results)")
    add_config_args(p)
    where = p.add_mutually_exclusive_group()
    where.add_argument("--workers", type=_positive_int, metavar="N",
                       help="local worker processes (default: one per CPU; 1 = no pool)")
    where.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                       help="run the nights on this existing dask.distributed scheduler")
    where.add_argument("--dask-local", type=_positive_int, metavar="N",
                       help="start a dask LocalCluster of N worker processes on 127.0.0.1")
    p.add_argument("--no-report", action="store_true",
                   help="skip the per-night report.html (much faster for short nights)")
    p.add_argument("--windows", metavar="CSV",
                   help="rest windows per night: a CSV with columns night (the night's file "
                        "name, its name without suffix, or its folder name), start and end "
                        "(lights off and on, HH:MM); nights not listed get an estimated window")
    p.add_argument("--tz", metavar="ZONE",
                   help="time zone of the windows and the reports, e.g. Europe/Berlin "
                        "(default: this computer's)")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    p.set_defaults(func=cmd_batch)


TRENDS_EXAMPLES = """examples:
  legtwitch trends results/                         indices over time, trend, advice
  legtwitch trends results/ --diary diary.csv       ...and how the diary went with them
  legtwitch trends results/ --diary diary.csv --out weeks.html --tz Europe/Berlin
  legtwitch trends --template diary.csv             write a diary template to fill in

Nights are dated by the evening they start (start time minus 12 h); a diary line goes with the
night that starts on the evening of its date. Correlations need at least 7 nights with both."""


def add_trends(sub: Any, add_config_args: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add ``legtwitch trends`` to the command line's sub-parsers."""
    p = sub.add_parser(
        "trends", help="indices over many nights, and how a lifestyle diary goes with them",
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=TRENDS_EXAMPLES,
        description="Read a results folder of nights (*/summary.json from `legtwitch analyze` "
                    "or nights.csv from `legtwitch batch`) and write one page: PLM, LM and "
                    "twitch indices per night over time, rest hours, a trend test and, with a "
                    "diary, how each factor (caffeine_mg, alcohol_units, stress_1_5, "
                    "exercise_min, sleep_h, water_l or your own numeric columns) went with the "
                    "indices (Spearman's rho, 95% interval, number of nights). Not a diagnosis.")
    p.add_argument("results", nargs="?", help="results folder (or a nights.csv file)")
    p.add_argument("--diary", metavar="CSV", help="lifestyle diary: date plus numeric columns")
    p.add_argument("--out", metavar="HTML", help="page to write (default: RESULTS/trends.html)")
    p.add_argument("--tz", metavar="ZONE", help="time zone for night dates, e.g. Europe/Berlin "
                   "(default: this computer's zone)")
    p.add_argument("--min-nights", type=int, default=TRENDS_MIN_NIGHTS,
                   help=f"fewest paired nights for a correlation (default {TRENDS_MIN_NIGHTS})")
    p.add_argument("--template", metavar="CSV", help="write a diary template here and stop")
    add_config_args(p)
    p.set_defaults(func=cmd_trends)


def add_export(sub: Any, add_config_args: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add ``legtwitch export`` to the command line's sub-parsers."""
    p = sub.add_parser(
        "export", help="write a night as EDF+ (signals and events) or an annotation table",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Analyse a recording and write it for PSG viewers and scoring software: "
        "an EDF+C file with channels ACC_X, ACC_Y, ACC_Z (g) and every twitch, leg movement, "
        "PLM, sustained movement, PLM series and gap as an annotation (start time in UTC), "
        "and/or the annotations alone as CSV or TSV (onset_s, duration_s, annotation, "
        "clock_time in UTC). Files are readable by their owner only.",
        epilog="examples:\n"
        "  legtwitch export night.csv --edf night.edf\n"
        "  legtwitch export night.csv --edf night.edf --annotations night.tsv --leg left\n"
        "  legtwitch export night1/left/recording.parquet --annotations events.csv\n"
        "  legtwitch analyze night.edf          (an EDF+ written here reads back)")
    p.add_argument("night", help="the recording: .csv, .csv.gz, .parquet or .edf")
    p.add_argument("--edf", metavar="FILE", help="write EDF+ here (.edf)")
    p.add_argument("--tz", metavar="ZONE",
                   help="zone of the annotation table's local_time column, e.g. Europe/Berlin "
                        "(default: this computer's; clock_time stays UTC)")
    p.add_argument("--annotations", metavar="FILE",
                   help="write the annotations here (.csv or .tsv)")
    from detector.cli.common import add_input_args

    add_input_args(p)
    p.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    add_config_args(p)
    p.set_defaults(func=cmd_export)


def cmd_batch(args: argparse.Namespace) -> int:
    """Run ``legtwitch batch``; 0 when every night is analysed or skipped, 1 when one failed."""
    from detector.cohort.batch import dask_executor, read_windows, run_batch
    from detector.cohort.progress import ProgressBar
    from detector.cohort.nights import expand_inputs
    from detector.io.localtime import zone_named
    from detector.textsafe import printable
    from detector.cli.common import config_from_args

    cfg = config_from_args(args)
    files = expand_inputs(args.inputs)              # a bad pattern fails before a cluster starts
    zone_named(args.tz)                             # and so does an unknown --tz
    bar = None if args.quiet else ProgressBar(sys.stderr)
    ctx: contextlib.AbstractContextManager[Any]
    if args.scheduler or args.dask_local:
        ctx = dask_executor(args.scheduler, args.dask_local)
    else:
        ctx = contextlib.nullcontext(None)
    try:
        with ctx as executor:
            res = run_batch(files, args.out, cfg, executor=executor, max_workers=args.workers,
                            progress=bar, report=not args.no_report,
                            windows=read_windows(args.windows) if args.windows else None,
                            tz=args.tz)
    finally:
        if bar is not None:
            bar.close()
    print(f"{len(res.nights)} nights: {res.n_analysed} analysed, {res.n_skipped} done by an "
          f"earlier run (kept), {res.n_failed} failed in {res.elapsed_s:.1f} s")
    for n in res.nights:
        if n["status"] == "failed":
            print(f"failed   {printable(n['night'])}: {printable(n['error'], 300)}")
    for name, path in res.paths.items():
        print(f"{name:8s} {path}")
    return res.exit_code


def cmd_trends(args: argparse.Namespace) -> int:
    """Run ``legtwitch trends``: print the findings and write the page. Returns 0."""
    from detector.io.diary import read_diary, write_diary_template
    from detector.io.localtime import local_zone, zone_named
    from detector.cohort.trends import load_nights, night_trends
    from detector.cohort.trends_page import write_trends
    from detector.cli.common import config_from_args

    if args.template:
        if Path(args.template).exists():
            raise InputError(f"{args.template}: already exists; not overwriting a diary")
        write_diary_template(args.template)
        print(f"wrote a diary template to {args.template}")
        return 0
    if not args.results:
        raise InputError("trends: give a results folder (or --template FILE)")
    if args.min_nights < 4:
        raise InputError(f"--min-nights {args.min_nights}: expected at least 4")
    zone_named(args.tz)  # an unknown zone is one line before any work
    cfg = config_from_args(args)
    nights, notes = load_nights(args.results, tz=args.tz or local_zone())
    diary = read_diary(args.diary) if args.diary else None
    tr = night_trends(nights, diary, min_nights=args.min_nights, category=cfg.category,
                      notes=notes, settings={"source": str(args.results),
                                             "diary_source": args.diary})
    results = Path(args.results)
    out = Path(args.out) if args.out else (results if results.is_dir() else results.parent
                                           ) / "trends.html"
    write_trends(tr, out)
    d = tr.nights["date"]
    print(f"{len(tr.nights)} nights, {d.min():%Y-%m-%d} to {d.max():%Y-%m-%d}")
    for s in tr.trend["sentence"]:
        print(f"  {s}")
    for _, r in tr.factors[tr.factors["claim"].isin(["goes_with_higher",
                                                     "goes_with_lower"])].iterrows():
        print(f"  {r['sentence']}")
    if tr.advice["consult_doctor"]:
        print("  worth showing to a doctor: " + " ".join(tr.advice["reasons"]))
    for n in tr.notes:
        print(f"  note: {n}")
    print(f"wrote {out}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """Run ``legtwitch export``: analyse ``args.night`` and write ``--edf``/``--annotations``."""
    from detector.analysis import analyze_file
    from detector.cli.common import config_from_args
    from detector.io.edf import annotation_table, write_annotations, write_edf
    from detector.io.localtime import zone_named

    if not args.edf and not args.annotations:
        raise InputError("export: give --edf FILE and/or --annotations FILE")
    if args.edf and Path(args.edf).suffix.lower() != ".edf":
        raise InputError(f"{args.edf}: EDF output must end in .edf")
    if args.annotations and Path(args.annotations).suffix.lower() not in (".csv", ".tsv", ".txt"):
        raise InputError(f"{args.annotations}: annotations file must end in .csv or .tsv")
    cfg = config_from_args(args)
    say = (lambda _m: None) if args.quiet else (lambda m: print(m, file=sys.stderr, flush=True))
    night = Path(args.night)
    say(f"reading {night}")
    result = analyze_file(night, None, cfg, leg=args.leg, fs_hz=args.fs, units=args.units,
                          force=args.force, tz=zone_named(args.tz)).result
    if args.edf:
        info = write_edf(result, args.edf)
        grid = {"binary": "the sensor's own steps kept exactly",
                "milli-g": "the milli-g steps kept exactly"}.get(
            info["grid"], "values rounded to the nearest step")
        say(f"wrote {info['path']} ({info['n_annotations']} annotations, step "
            f"{info['step_g'] * 1000:.4f} mg: {grid})")
        if info["n_clipped"]:
            say(f"note: {info['n_clipped']} values beyond the EDF physical range were clipped")
    if args.annotations:
        out = write_annotations(annotation_table(result), args.annotations)
        say(f"wrote {out}")
    return 0


def wants_by_night(args: argparse.Namespace, tz: Any = None) -> bool:
    """Whether ``analyze`` reads this file night by night: ``--by-night always``, or ``auto``
    and a CSV, Parquet, ``.cwa`` or ``.bin`` recording spanning more than
    :data:`detector.cohort.multiday.MULTI_DAY_MIN_H` hours (told from the file's ends; ``tz``:
    the zone of a device's clock)."""
    mode = getattr(args, "by_night", "auto")
    if mode == "never":
        return False
    from detector.cohort.multiday import MULTI_DAY_MIN_H, recording_span_h
    from detector.io.stream import can_stream

    if not can_stream(args.file):
        if mode == "always":
            raise InputError(f"{args.file}: --by-night reads CSV, Parquet, .cwa and .bin files "
                             "in batches; .gt3x and EDF+ files are read whole (leave --by-night "
                             "out)")
        return False
    if mode == "always":
        return True
    span = recording_span_h(args.file, tz)
    return span is not None and span > MULTI_DAY_MIN_H


def run_by_night(args: argparse.Namespace, cfg: Any, say: Callable[[str], None],
                 window: tuple[str, str] | None, tz: Any) -> int:
    """``legtwitch analyze`` on a recording of several days: one folder per night."""
    from detector.cohort.multiday import analyze_nights

    for flag, given in (("--other-leg", "other_leg"), ("--respiratory", "respiratory"),
                        ("--hypnogram", "hypnogram")):
        if getattr(args, given, None):
            raise InputError(f"{flag} is for one night; a recording of several days is "
                             "analysed night by night without it (or give --by-night never)")
    done = analyze_nights(args.file, args.out, cfg, window=window, tz=tz,
                          report=not args.no_report, leg=args.leg, fs_hz=args.fs,
                          units=args.units, force=getattr(args, "force", False), progress=say)
    say("done")
    for note in done.notes:
        print(f"note: {note}")
    n_ok = sum(r["status"] == "analysed" for r in done.rows)
    print(f"{n_ok} of {len(done.rows)} nights analysed, one folder each in {args.out}")
    for row in done.rows:
        s = row.get("summary") or {}
        line = (f"{row['night']}  PLM index {s.get('plm_index') or 0:.1f}/h  rest "
                f"{s.get('rest_h') or 0:.1f} h  {s.get('category_title', '')}"
                if row["status"] == "analysed" else f"{row['night']}  failed: {row['error']}")
        print(line)
    print(f"nights   {done.paths['csv']}")
    print(f"next: legtwitch trends {args.out}")
    return 0 if n_ok == len(done.rows) else 1
