"""``legtwitch bench``: speed and memory figures on a synthetic night (a benchmark, not a test).

Prints, for an 8-hour 100-Hz 3-axis night by default:

- the bare CSV parse with ``pandas.read_csv`` alone (the yardstick),
- the whole analysis from CSV (load, clean, detect, score, metrics, events.csv + summary.json),
  and its ratio to the bare parse (target <= 1.5x),
- the whole analysis from Parquet (target < 1 s),
- report.html rendering on its own,
- the peak resident memory of one whole analysis with report, in a fresh process (target < 1 GB),
- the streaming (live) detector: throughput as a multiple of real time on one core for a 100-Hz
  sensor (target >= 1000x) and the latency from the end of a movement to its report, in signal
  seconds (target <= 2 s),
- the recorder's write path: raw log + decoding + Parquet parts per night, finalize and recover.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

__all__ = ["run_bench"]


def _median_time(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


_PEAK = """
import json, resource, sys
from detector.config import Config
from detector.load import load_recording
from detector.pipeline import analyze
from detector.output import write_outputs
rec = load_recording(sys.argv[1])
write_outputs(analyze(rec, Config()), sys.argv[2], report=True)
print(json.dumps({"peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def _rethreshold_rows(path: Path, repeat: int) -> list[tuple[str, str, str]]:
    """Time :meth:`MovementResults.rethreshold` as a notebook slider uses it.

    Each run alternates the on factor between two values (so nothing is a repeat of the previous
    call) and re-detects, re-classifies and re-scores the whole night.
    """
    from .tuning import detect_movements

    t = time.perf_counter()
    res = detect_movements(path)
    t_first = time.perf_counter() - t
    values = iter([4.5, 5.5] * (repeat + 2))
    t_threshold = _median_time(lambda: res.rethreshold(on_factor=next(values)), max(repeat, 5))
    rules = iter(["aasm2012", "wasm2016"] * (repeat + 2))
    t_rules = _median_time(lambda: res.rethreshold(rules=next(rules)), max(repeat, 5))
    return [
        ("detect_movements (notebook, first call)", f"{t_first:6.2f} s", "load + detect + score"),
        ("  rethreshold(on_factor=...)", f"{t_threshold:6.3f} s",
         f"{t_first / t_threshold:5.1f}x faster than the first call  (target < 0.3 s)"),
        ("  rethreshold(rules=...)", f"{t_rules:6.3f} s", ""),
    ]


def run_bench(hours: float = 8.0, fs_hz: float = 100.0, repeat: int = 3,
              keep: str | None = None) -> int:
    """Generate a night, time the steps and print the figures.

    Parameters
    ----------
    hours, fs_hz : float
        Size of the synthetic night.
    repeat : int
        Runs per timing; the median is printed.
    keep : str, optional
        Folder to keep the generated CSV and Parquet in (default: a temporary folder).
    """
    import pandas as pd

    from .config import Config
    from .load import load_recording
    from .output import write_outputs
    from .pipeline import analyze
    from .report import render_report
    from .simulate import simulate_night, write_simulation

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
    proc = subprocess.run([sys.executable, "-c", _PEAK, str(pq), str(work / "out_peak")],
                          capture_output=True, text=True, check=False)
    peak = json.loads(proc.stdout.strip().splitlines()[-1])["peak_mb"] if proc.returncode == 0 \
        else float("nan")

    rows = [
        ("pandas.read_csv alone (yardstick)", f"{t_parse:6.2f} s", ""),
        ("load + clean from CSV", f"{t_load:6.2f} s", f"{t_load / t_parse:5.2f}x parse"),
        ("whole analysis from CSV (no report)", f"{t_csv:6.2f} s",
         f"{t_csv / t_parse:5.2f}x parse  (target <= 1.50x)"),
        ("whole analysis from Parquet (no report)", f"{t_pq:6.2f} s", "(target < 1 s)"),
        ("report.html rendering", f"{t_report:6.2f} s", ""),
        ("peak memory, analysis + report", f"{peak:6.0f} MB", "(target < 1024 MB)"),
    ]
    rows += _rethreshold_rows(pq, repeat)
    from firmware_bridge.bench_record import record_benchmark

    from .stream import stream_benchmark

    live = stream_benchmark(hours=hours, fs_hz=fs_hz, packet=35, seed=1)
    recb = record_benchmark(hours=hours, fs_hz=fs_hz, per_packet=35, work=work)
    rows += [
        ("streaming detector, 35-sample packets", f"{live['cpu_s']:6.2f} s",
         f"{live['realtime_factor']:7.0f}x real time on one core  (target >= 1000x)"),
        ("  movement end -> event reported", f"{live['latency_p50_s']:6.2f} s",
         f"median; p95 {live['latency_p95_s']:.2f} s, max {live.get('latency_max_inside_s', live['latency_max_s']):.2f} s of "
         f"signal  (target <= 2 s; {live['latency_max_s']:.2f} s for a movement cut by a gap, "
         "known only when data resumes)"),
        ("recorder ingest (log, decode, parts)", f"{recb['ingest_s']:6.2f} s",
         f"{recb['ingest_realtime_factor']:7.0f}x real time, {recb['n_packets']:,} packets, "
         f"log {recb['log_mb']:.0f} MB"),
        ("recorder finalize -> recording.parquet", f"{recb['finalize_s']:6.2f} s",
         f"{recb['recording_mb']:.0f} MB"),
        ("recover from the raw log alone", f"{recb['recover_s']:6.2f} s", ""),
    ]
    width = max(len(r[0]) for r in rows)
    for name, value, note in rows:
        print(f"{name:<{width}}  {value}  {note}")
    from .batch import batch_benchmark, format_batch_benchmark

    print()
    print(format_batch_benchmark(batch_benchmark(n_nights=8, hours=0.5, workers=(1, 2))))
    return 0
