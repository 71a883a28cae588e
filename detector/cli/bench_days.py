"""``legtwitch bench``: a recording of several days, analysed night by night.

Simulates a 7-day 100-Hz recording (and a 3-day one, and one 8-h night) as Parquet, and runs
``legtwitch analyze`` on each in a fresh process (with reports, as a user runs it), reading the
process's peak resident memory: the week must fit in 1 GB and take no more memory than one night
plus a constant, and its time per recorded day must equal the 3-day recording's (time linear in
length).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

__all__ = ["analyze_process", "days_benchmark"]

#: Runs ``legtwitch analyze`` in this process and prints its peak resident memory (VmHWM, the
#: process's own: see ``PEAK_MB_CODE`` in :mod:`detector.cli.bench`).
_RUN = """
import json, sys, time
from detector.cli import main
t = time.perf_counter()
code = main(["analyze", sys.argv[1], "--out", sys.argv[2], "-q", "--tz", "UTC"])
print(json.dumps({"code": code, "s": time.perf_counter() - t, "peak_mb": peak_mb()}))
"""

def analyze_process(path: Path, out: Path, peak_code: str) -> dict:
    """``legtwitch analyze PATH --out OUT`` (with its report) in a fresh process: ``{"code",
    "s", "peak_mb"}``; ``peak_code`` defines the ``peak_mb()`` it calls."""
    proc = subprocess.run([sys.executable, "-c", peak_code + _RUN, str(path), str(out)],
                          capture_output=True, text=True, check=False)
    lines = proc.stdout.strip().splitlines()
    try:
        return json.loads(lines[-1])
    except (IndexError, ValueError):
        return {"code": proc.returncode, "s": float("nan"), "peak_mb": float("nan"),
                "error": proc.stderr.strip()[-300:]}


def days_benchmark(work: Path, days: int = 7, fs_hz: float = 100.0, *, peak_code: str = "",
                   one_night: dict | None = None) -> dict:
    """Peak memory (MB) and time (s) of ``legtwitch analyze`` on a ``days``-day recording, a
    3-day one and one 8-h night: ``{"week": run, "three": run, "one": run, "week_days": d,
    "three_days": d}``, each run ``{"peak_mb", "s", "code"}``; ``peak_code`` defines the
    ``peak_mb()`` the runs call. ``one_night``: the run of an 8-h night at ``fs_hz`` already
    measured (then it is not simulated and run again)."""
    from detector.sim.days import simulate_days
    from detector.sim.night import simulate_night, write_simulation

    out: dict = {"days": days}
    for key, n in (("week", days), ("three", 3)):
        path = work / f"bench_{n}days.parquet"
        print(f"simulating a {n}-day {fs_hz:g}-Hz recording (8-h nights) ...", flush=True)
        t = time.perf_counter()
        sim = simulate_days(path, n, night_hours=8.0, day_hours=16.0, edge_hours=4.0,
                            fs_hz=fs_hz, seed=1)
        span = (sim.end_unix_s - sim.start_unix_s) / 86400
        print(f"  {span:.1f} days, {path.stat().st_size / 1e6:.0f} MB, "
              f"{time.perf_counter() - t:.0f} s", flush=True)
        out[key] = analyze_process(path, work / f"out_{n}days", peak_code)
        out[f"{key}_days"] = span
    if one_night is None:
        night = work / "bench_one_night.parquet"
        write_simulation(simulate_night("plmd", 8.0, fs_hz, seed=1), night)
        one_night = analyze_process(night, work / "out_one_night", peak_code)
    out["one"] = one_night
    return out
