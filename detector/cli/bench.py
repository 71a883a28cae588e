"""``legtwitch bench``: speed and memory figures on a synthetic night (a benchmark, not a test).

Prints, for an 8-hour 100-Hz 3-axis night by default, each figure with its target (:data:`TARGETS`)
and ``met`` or ``NOT MET`` on the same line, then how many targets were met:

- the bare CSV parse with ``pandas.read_csv`` alone (the yardstick) and the whole analysis from
  CSV (load, clean, detect, score, metrics, events.csv + summary.json) in this process, and the
  same as whole processes (``legtwitch analyze`` against ``python -c 'pandas.read_csv(...)'``,
  paired runs, target <= 2.0x: what a user waits for includes starting Python and importing),
- the whole analysis from Parquet (target <= 0.5 s) and report.html rendering (target <= 0.5 s),
- the peak resident memory of ``legtwitch analyze`` with its report, in a fresh process (target
  < 1 GB),
- re-thresholding in a notebook (target <= 0.3 s),
- the streaming (live) detector: throughput as a multiple of real time on one core for a 100-Hz
  sensor (target >= 1000x) and the latency from the end of a movement to its report, in signal
  seconds (target <= 2 s),
- the recorder's write path: raw log + decoding + Parquet parts per night, finalize and recover,
- a batch of short nights with 1 and 2 workers (target: 2 workers >= 1.8x the nights per minute),
- a 7-day recording analysed night by night (:mod:`detector.cli.bench_days`): peak memory
  (target <= 1 GB, and one night's plus a constant), time per recorded day (linear in length).

``--json FILE`` writes the same figures for scripts.
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, Callable, Mapping, NamedTuple, Sequence

import numpy as np
import pandas as pd

from detector.cli.bench_days import analyze_process, days_benchmark
from detector.cohort.batch import PRELOAD, run_batch
from detector.config import Config
from detector.fileio import make_private_dir
from detector.live.detector import StreamingDetector
from detector.live.events import LiveEvent, near_segment_edge
from detector.parallel import pool_context

__all__ = ["run_bench"]


def _median_time(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


#: The peak resident memory of this process (MB): VmHWM belongs to the process's own memory
#: map, while ``ru_maxrss`` of a child started by fork + exec can report its parent's size (a
#: large bench process would be measured instead of the analysis).
PEAK_MB_CODE = """
def peak_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
"""



class Figure(NamedTuple):
    """One benchmark figure: what was measured, its value and unit, and its target if it has one
    (``(">=" or "<=", number)``)."""

    name: str
    value: float
    unit: str
    text: str
    note: str = ""
    target: tuple[str, float] | None = None

    @property
    def met(self) -> bool | None:
        """Whether the target is met (None without a target or without a value)."""
        if self.target is None or not np.isfinite(self.value):
            return None
        op, limit = self.target
        return self.value <= limit if op == "<=" else self.value >= limit

    def line(self, width: int) -> str:
        """The printed line: name, value, note and, with a target, ``met`` or ``NOT MET``."""
        out = f"{self.name:<{width}}  {self.text}"
        if self.note:
            out += f"  {self.note}"
        if self.target is not None:
            op, limit = self.target
            verdict = {True: "met", False: "NOT MET", None: "not measured"}[self.met]
            out += f"  [target {op} {limit:g}{self.unit}: {verdict}]"
        return out

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name.strip(), "value": None if not np.isfinite(self.value)
                else float(self.value), "unit": self.unit.strip(), "note": self.note,
                "target": None if self.target is None else
                {"op": self.target[0], "value": self.target[1]}, "met": self.met}


#: Targets (issue "A week on the ankle"): whole analysis from CSV in at most 2x a bare pandas parse
#: (both as whole processes, as a user runs them),
#: from Parquet in 0.5 s, report.html in 0.5 s, peak memory under 1 GB, re-thresholding within a
#: slider's 0.3 s, live detection 1000x real time with a report within 2 s of a movement's end,
#: and a batch 1.8x faster with 2 workers than with 1.
TARGETS = {"csv_ratio": ("<=", 2.0),          # whole process over whole process
           "parquet_s": ("<=", 0.5), "report_s": ("<=", 0.5),
           "peak_mb": ("<=", 1024.0), "rethreshold_s": ("<=", 0.3),
           "realtime_factor": (">=", 1000.0), "latency_s": ("<=", 2.0),
           "batch_speedup": (">=", 1.8), "days_peak_mb": ("<=", 1024.0),
           # a long recording: at most one night's memory plus the batches being read (MB),
           # and time per recorded day within 25 % of a 3-day recording's (linear in length)
           "days_above_night_mb": ("<=", 200.0), "days_linear": ("<=", 1.25)}


def print_figures(figures: list[Figure]) -> tuple[int, list[str]]:
    """Print the figures, then how many targets were met; return (met, names not met)."""
    width = max(len(f.name) for f in figures)
    for f in figures:
        print(f.line(width))
    judged = [f for f in figures if f.met is not None]
    missed = [f.name.strip() for f in judged if not f.met]
    print(f"\n{len(judged) - len(missed)} of {len(judged)} targets met"
          + (f"; NOT MET: {', '.join(missed)}" if missed else ""))
    return len(judged) - len(missed), missed


def _paired_processes(a: list[str], b: list[str], repeat: int) -> tuple[float, float]:
    """Median wall time (s) of two commands run as fresh processes, alternating A, B, A, B ...
    so that both see the same machine."""
    times: dict[int, list[float]] = {0: [], 1: []}
    for _ in range(max(repeat, 3)):
        for k, cmd in enumerate((a, b)):
            t = time.perf_counter()
            subprocess.run(cmd, capture_output=True, check=False)
            times[k].append(time.perf_counter() - t)
    return statistics.median(times[0]), statistics.median(times[1])


def _rethreshold_rows(path: Path, repeat: int) -> list[Figure]:
    """Time :meth:`NightResult.rethreshold` as a notebook slider uses it.

    Each run alternates the on factor between two values (so nothing is a repeat of the previous
    call) and re-detects, re-classifies and re-scores the whole night.
    """
    from detector.tuning.results import detect_movements

    t = time.perf_counter()
    res = detect_movements(path)
    t_first = time.perf_counter() - t
    values = iter([4.5, 5.5] * (repeat + 2))
    t_threshold = _median_time(lambda: res.rethreshold(on_factor=next(values)), max(repeat, 5))
    rules = iter(["aasm2012", "wasm2016"] * (repeat + 2))
    t_rules = _median_time(lambda: res.rethreshold(rules=next(rules)), max(repeat, 5))
    return [
        Figure("detect_movements (notebook, first call)", t_first, " s", f"{t_first:6.2f} s",
               "load + detect + score"),
        Figure("  rethreshold(on_factor=...)", t_threshold, " s", f"{t_threshold:6.3f} s",
               f"{t_first / t_threshold:5.1f}x faster than the first call",
               TARGETS["rethreshold_s"]),
        Figure("  rethreshold(rules=...)", t_rules, " s", f"{t_rules:6.3f} s"),
    ]


def run_bench(hours: float = 8.0, fs_hz: float = 100.0, repeat: int = 3,
              keep: str | None = None, json_path: str | None = None, days: int = 7) -> int:
    """Generate a night, time the steps and print the figures.

    Parameters
    ----------
    hours, fs_hz : float
        Size of the synthetic night.
    repeat : int
        Runs per timing; the median is printed.
    keep : str, optional
        Folder to keep the generated CSV and Parquet in (default: a temporary folder).
    json_path : str, optional
        Also write every figure, its target and whether it was met there (0600).
    days : int
        Length of the multi-day recording analysed night by night (0: skip it).
    """

    from detector.config import Config
    from detector.io.load import load_recording
    from detector.analysis import write_outputs
    from detector.analysis import analyze
    from detector.report.night import render_report
    from detector.sim.night import simulate_night, write_simulation

    work = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="legtwitch-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    csv = work / "bench_night.csv"
    pq = work / "bench_night.parquet"
    print(f"generating a {hours:g}-h {fs_hz:g}-Hz 3-axis night in {work} ...", flush=True)
    night = simulate_night("plmd", hours, fs_hz, seed=1)
    if not csv.exists():
        write_simulation(night, csv)
    if not pq.exists():
        write_simulation(night, pq)
    n_rows = len(night.samples)
    del night
    print(f"{n_rows:,} rows; CSV {csv.stat().st_size / 1e6:.0f} MB, "
          f"Parquet {pq.stat().st_size / 1e6:.0f} MB; median of {repeat} runs\n", flush=True)

    cfg = Config()
    out = work / "out"

    def whole(path: Path) -> Callable[[], object]:
        return lambda: write_outputs(analyze(load_recording(path), cfg), out, report=False)

    t_parse = _median_time(lambda: pd.read_csv(csv), repeat)
    t_load = _median_time(lambda: load_recording(csv), repeat)
    t_csv = _median_time(whole(csv), repeat)
    t_pq = _median_time(whole(pq), repeat)
    result = analyze(load_recording(pq), cfg)
    t_report = _median_time(lambda: render_report(result), max(1, repeat - 1))
    # `legtwitch analyze` with its report in a fresh process; the multi-day figures compare
    # their peak with this one
    one_night = analyze_process(pq, work / "out_peak", PEAK_MB_CODE)
    peak = one_night["peak_mb"]

    p_parse, p_csv = _paired_processes(
        [sys.executable, "-c", "import sys, pandas; pandas.read_csv(sys.argv[1])", str(csv)],
        [sys.executable, "-m", "detector.cli", "analyze", str(csv), "--out", str(work / "out_p"),
         "--no-report", "-q"], repeat)
    figures = [
        Figure("pandas.read_csv alone (yardstick)", t_parse, " s", f"{t_parse:6.2f} s",
               "in this process"),
        Figure("load + clean from CSV", t_load, " s", f"{t_load:6.2f} s",
               f"{t_load / t_parse:5.2f}x parse, in this process"),
        Figure("whole analysis from CSV (no report)", t_csv, " s", f"{t_csv:6.2f} s",
               f"{t_csv / t_parse:5.2f}x parse, in this process"),
        Figure("  whole process: legtwitch analyze vs pandas", p_csv / p_parse, "x",
               f"{p_csv / p_parse:5.2f}x", f"{p_csv:.2f} s vs {p_parse:.2f} s (python -c "
               "'pandas.read_csv'), median of paired runs", TARGETS["csv_ratio"]),
        Figure("whole analysis from Parquet (no report)", t_pq, " s", f"{t_pq:6.2f} s", "",
               TARGETS["parquet_s"]),
        Figure("report.html rendering", t_report, " s", f"{t_report:6.2f} s", "",
               TARGETS["report_s"]),
        Figure("peak memory, analysis + report", peak, " MB", f"{peak:6.0f} MB",
               "whole process, one night", TARGETS["peak_mb"]),
    ]
    figures += _rethreshold_rows(pq, repeat)
    from firmware_bridge.bench_record import record_benchmark

    live = stream_benchmark(hours=hours, fs_hz=fs_hz, packet=35, seed=1)
    recb = record_benchmark(hours=hours, fs_hz=fs_hz, per_packet=35, work=work)
    worst = live.get("latency_max_inside_s", live["latency_max_s"])
    figures += [
        Figure("streaming detector, 35-sample packets", live["realtime_factor"], "x real time",
               f"{live['cpu_s']:6.2f} s", f"{live['realtime_factor']:7.0f}x real time on one core",
               TARGETS["realtime_factor"]),
        Figure("  movement end -> event reported", worst, " s", f"{live['latency_p50_s']:6.2f} s",
               f"median; p95 {live['latency_p95_s']:.2f} s, max {worst:.2f} s of signal "
               f"({live['latency_max_s']:.2f} s for a movement cut by a gap, known only when "
               "data resumes)", TARGETS["latency_s"]),
        Figure("recorder ingest (log, decode, parts)", recb["ingest_s"], " s",
               f"{recb['ingest_s']:6.2f} s", f"{recb['ingest_realtime_factor']:7.0f}x real time, "
               f"{recb['n_packets']:,} packets, log {recb['log_mb']:.0f} MB"),
        Figure("recorder finalize -> recording.parquet", recb["finalize_s"], " s",
               f"{recb['finalize_s']:6.2f} s", f"{recb['recording_mb']:.0f} MB"),
        Figure("recover from the raw log alone", recb["recover_s"], " s",
               f"{recb['recover_s']:6.2f} s"),
    ]
    batch = batch_benchmark(n_nights=8, hours=0.5, workers=(1, 2))
    print(format_batch_benchmark(batch) + "\n")
    figures.append(Figure("batch, 2 workers vs 1", batch["speedup"], "x",
                          f"{batch['speedup']:6.2f}x", "nights per minute",
                          TARGETS["batch_speedup"]))
    if days:
        figures += _days_rows(work, days, fs_hz, one_night if hours == 8.0 else None)
    print_figures(figures)
    if json_path:
        from detector.fileio import write_private

        data = {"hours": hours, "fs_hz": fs_hz, "repeat": repeat,
                "figures": [f.as_dict() for f in figures], "batch": batch}
        write_private(Path(json_path), json.dumps(data, indent=2, default=float) + "\n")
        print(f"figures written to {json_path}")
    return 0


def _days_rows(work: Path, days: int, fs_hz: float, one_night: dict | None) -> list[Figure]:
    """The figures of :func:`detector.cli.bench_days.days_benchmark` (``one_night``: the 8-h
    night's run when already measured)."""
    b = days_benchmark(work, days, fs_hz, peak_code=PEAK_MB_CODE, one_night=one_night)
    week, three, one = b["week"], b["three"], b["one"]
    per_day = week["s"] / b["week_days"]
    ratio = per_day / (three["s"] / b["three_days"])
    return [
        Figure(f"{days}-day recording, night by night", week["peak_mb"], " MB",
               f"{week['peak_mb']:6.0f} MB", f"whole process with reports; {week['s']:.0f} s, "
               f"{week['s'] / days:.1f} s per night", TARGETS["days_peak_mb"]),
        Figure("  above one 8-h night", week["peak_mb"] - one["peak_mb"], " MB",
               f"{week['peak_mb'] - one['peak_mb']:6.0f} MB",
               f"one night {one['peak_mb']:.0f} MB, 3 days {three['peak_mb']:.0f} MB",
               TARGETS["days_above_night_mb"]),
        Figure(f"  time per day, {days} days vs 3", ratio, "x", f"{ratio:6.2f}x",
               f"{per_day:.1f} s per recorded day", TARGETS["days_linear"]),
    ]


def batch_benchmark(n_nights: int = 8, hours: float = 0.5, workers: Sequence[int] = (1, 2), *,
                    fs_hz: float = 100.0, keep: str | Path | None = None) -> dict[str, Any]:
    """Nights per minute of a batch with 1 and 2 worker processes, against a single analysis.

    Simulated ``plmd`` nights (seeds 0..n-1) are written as CSV. The single analysis (load,
    analyze, write events.csv and summary.json, in this process, after a warm-up) is timed on
    each night; each batch runs without reports on a fresh local process pool whose workers are
    started first (their start-up is reported apart), three times, the median taken. The
    report's cost is timed separately on one night.

    Returns
    -------
    dict
        ``n_nights``, ``hours``, ``fs_hz``, ``single_analyze_s`` (median per night),
        ``report_s`` (writing one report.html), ``batch`` (``{workers: {"elapsed_s",
        "nights_per_min", "cost_per_night_s"}}``), ``speedup`` (nights/min of the largest
        worker count over the smallest) and ``cost_ratio`` (per-night cost of the one-worker
        batch over a single analysis).
    """
    import statistics

    from detector.io.load import load_recording
    from detector.analysis import write_outputs
    from detector.analysis import analyze
    from detector.report.night import write_report
    from detector.sim.night import simulate_night, write_simulation

    tmp = Path(keep) if keep is not None else Path(tempfile.mkdtemp(prefix="legtwitch-batch-"))
    make_private_dir(tmp)
    try:
        files = []
        for seed in range(n_nights):
            path = tmp / "nights" / f"night{seed:03d}.csv"
            make_private_dir(path.parent)
            write_simulation(simulate_night("plmd", hours, fs_hz, seed), path)
            files.append(path)
        cfg = Config()
        single = []
        for k, path in enumerate([files[0], *files]):
            t = time.perf_counter()
            result = analyze(load_recording(path, config=cfg.clean), cfg)
            write_outputs(result, tmp / "single" / f"{k}", report=False)
            if k:                                            # the first run is a warm-up
                single.append(time.perf_counter() - t)
        t = time.perf_counter()
        write_report(result, tmp / "single" / "report.html")
        report_s = time.perf_counter() - t
        batch: dict[int, dict[str, float]] = {}
        startup: dict[int, float] = {}
        for w in workers:
            out = tmp / f"batch-{w}"
            with ProcessPoolExecutor(max_workers=w, mp_context=pool_context(PRELOAD)) as pool:
                # start every worker first: the first pool of a process also starts the fork
                # server, which would otherwise count against whichever worker count ran first
                t = time.perf_counter()
                list(pool.map(time.sleep, [0.2] * w))
                startup[int(w)] = time.perf_counter() - t - 0.2
                # the median of 3 runs on the same pool (a run takes about a second: one
                # run is at the mercy of whatever else the machine is doing)
                runs = []
                for r in range(3):
                    t = time.perf_counter()
                    res = run_batch(files, out / f"run{r}", cfg, executor=pool, report=False)
                    runs.append(time.perf_counter() - t)
                elapsed = statistics.median(runs)
            if res.n_failed:
                raise RuntimeError(f"batch benchmark: {res.n_failed} nights failed: "
                                   f"{res.nights[0].get('error')}")
            batch[int(w)] = {"elapsed_s": elapsed, "nights_per_min": 60.0 * n_nights / elapsed,
                             "cost_per_night_s": elapsed * w / n_nights,
                             "pool_start_s": max(startup[int(w)], 0.0)}
        lo, hi = min(batch), max(batch)
        single_s = statistics.median(single)
        return {"n_nights": n_nights, "hours": hours, "fs_hz": fs_hz,
                "single_analyze_s": single_s, "report_s": report_s, "batch": batch,
                "speedup": batch[hi]["nights_per_min"] / batch[lo]["nights_per_min"],
                "cost_ratio": batch[lo]["cost_per_night_s"] / single_s}
    finally:
        if keep is None:
            shutil.rmtree(tmp, ignore_errors=True)


def format_batch_benchmark(bench: Mapping[str, Any]) -> str:
    """The lines ``legtwitch bench`` prints for :func:`batch_benchmark`."""
    lines = [f"batch of {bench['n_nights']} nights ({bench['hours']:g} h at {bench['fs_hz']:g} Hz, "
             "no reports, local process pool):"]
    for w, b in sorted(bench["batch"].items()):
        lines.append(f"  {w} worker{'s' if w > 1 else ' '}  {b['nights_per_min']:7.1f} nights/min "
                     f"({b['elapsed_s']:.1f} s; starting the pool took "
                     f"{b.get('pool_start_s', float('nan')):.1f} s more)")
    lines.append(f"  speed-up {bench['speedup']:.2f}x; cost per night {bench['cost_ratio']:.2f}x a "
                 f"single analyze ({bench['single_analyze_s']:.2f} s); report.html adds "
                 f"{bench['report_s']:.2f} s per night")
    return "\n".join(lines)


def stream_benchmark(hours: float = 8.0, fs_hz: float = 100.0, packet: int = 35, seed: int = 1,
                     scenario: str = "plmd") -> dict[str, Any]:
    """Time the streaming detector on a simulated night pushed in fixed-size packets.

    Parameters
    ----------
    hours : float
        Length of the simulated night, hours.
    fs_hz : float
        Sampling rate, Hz.
    packet : int
        Samples per packet.
    seed : int
        Seed of :func:`detector.sim.night.simulate_night`.
    scenario : str
        Simulated scenario.

    Returns
    -------
    dict
        ``signal_s`` (seconds of signal), ``cpu_s`` (process CPU time spent in ``push`` and
        ``finish``), ``realtime_factor`` (signal seconds per CPU second), ``n_events``
        (movements in the final table), ``n_packets``, and the delay from a movement's end to
        its first report, in signal seconds: ``latency_p50_s``, ``latency_p95_s``,
        ``latency_max_s`` over all movements, and ``latency_max_inside_s`` over those not ended
        by a gap (a gap is only known when the samples after it arrive) nor in the first 2 s of
        a segment (segments are analysed from 2 s on, as offline).
    """
    from detector.io.clean import clean
    from detector.sim.night import simulate_night

    night = simulate_night(scenario, hours=hours, fs_hz=fs_hz, seed=seed)
    s = night.samples
    rec = clean(s["timestamp"].to_numpy(), s[["x", "y", "z"]].to_numpy(), fs_hz=fs_hz)
    det = StreamingDetector(rec.fs_hz, t0_unix_s=rec.t0_unix_s)
    acc = rec.acc_g
    segments = rec.segments()
    packets = [(i, min(i + packet, b)) for a, b in segments for i in range(a, b, packet)]
    reported: list[LiveEvent] = []
    t = time.process_time()
    for a, b in packets:
        reported += det.push(acc[a:b], a)
    reported += det.finish()
    cpu = time.process_time() - t
    first = [r for r in reported if r.kind != "plm_series" and not r.revised]
    lat = np.array([r.detected_at_s - r.end_s for r in first])
    inside = np.array([not near_segment_edge(r, segments, rec.fs_hz) for r in first], bool)
    q = (lambda p: float(np.percentile(lat, p)) if lat.size else float("nan"))
    return {"signal_s": rec.duration_s, "cpu_s": cpu,
            "realtime_factor": rec.duration_s / cpu if cpu > 0 else float("inf"),
            "n_events": int(len(det.events())), "n_packets": len(packets),
            "latency_p50_s": q(50), "latency_p95_s": q(95),
            "latency_max_s": float(lat.max()) if lat.size else float("nan"),
            "latency_max_inside_s": float(lat[inside].max()) if inside.any() else float("nan")}
