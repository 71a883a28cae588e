"""Byte-for-byte check of every output file, for changes that must not change behaviour.

Runs the commands a user runs (analyze with report, rescore, evaluate, export, batch, trends,
methods) on the sample night and on seeded simulated nights, all inside one work folder, and
records the SHA-256 of every file they write and of what evaluate, rescore and methods print.
Run it before a restructuring and after it, in the same work folder (outputs name their input
files by path)::

    python tests/output_digest.py write /tmp/legtwitch-digest before.json
    ... restructure ...
    python tests/output_digest.py check /tmp/legtwitch-digest before.json

``check`` lists every file that differs, is new or is missing, and exits 1 if any does. Files
that record when they were written (a batch night's ``done.json``) are left out.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
#: Written by the commands but holding the time they ran, not a result.
TIME_BEARING = ("done.json",)
#: (scenario, hours, fs_hz, seed, suffix) of the simulated nights.
NIGHTS = (("plmd", 1.0, 100.0, 11, ".csv"), ("rls", 1.0, 50.0, 12, ".csv.gz"),
          ("restless_start", 1.0, 100.0, 13, ".parquet"), ("loose_strap", 0.5, 25.0, 14, ".csv"),
          ("partner", 0.5, 100.0, 15, ".csv"))


def _cli(*argv: str) -> str:
    from detector.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    if code != 0:
        raise SystemExit(f"legtwitch {' '.join(argv)}: exit {code}\n{err.getvalue()[-2000:]}")
    return out.getvalue()


def run_all(work: Path) -> None:
    """Write the inputs and every command's outputs into ``work`` (emptied first)."""
    from detector.sim.night import simulate_night, write_simulation

    if work.exists():
        shutil.rmtree(work)
    (work / "in").mkdir(parents=True)
    sample = work / "in" / "sample_night.csv.gz"
    shutil.copy(REPO / "datasets" / "sample_night.csv.gz", sample)
    for name in ("sample_night.scoring.csv", "sample_night.scoring.edf", "sample_night.truth.csv"):
        shutil.copy(REPO / "datasets" / name, work / "in" / name)
    nights = []
    for scenario, hours, fs, seed, suffix in NIGHTS:
        path = work / "in" / f"{scenario}_{int(fs)}hz{suffix}"
        write_simulation(simulate_night(scenario, hours=hours, fs_hz=fs, seed=seed), path)
        nights.append(path)
    out = work / "out"
    _cli("analyze", str(sample), "--out", str(out / "sample"))
    for path in nights:
        _cli("analyze", str(path), "--out", str(out / path.name.split(".")[0]), "--no-report")
    for ref in ("sample_night.truth.csv", "sample_night.scoring.csv", "sample_night.scoring.edf"):
        text = _cli("evaluate", str(out / "sample" / "events.csv"), str(work / "in" / ref))
        (out / f"evaluate_{ref}.txt").write_text(text, encoding="utf-8")
    text = _cli("rescore", str(work / "in" / "sample_night.truth.csv"), "--out",
                str(out / "rescore"))
    (out / "rescore.txt").write_text(text, encoding="utf-8")
    (out / "export").mkdir(parents=True)
    _cli("export", str(sample), "--edf", str(out / "export" / "sample.edf"),
         "--annotations", str(out / "export" / "sample.tsv"), "-q")
    _cli("batch", *map(str, nights[:3]), "--out", str(out / "batch"), "--workers", "1",
         "--no-report", "--quiet")
    _cli("trends", str(out / "batch"), "--tz", "UTC")
    (out / "methods.txt").write_text(_cli("methods"), encoding="utf-8")


def digest(work: Path) -> dict[str, str]:
    """``relative path -> sha256`` of every output file under ``work/out``."""
    base = work / "out"
    return {p.relative_to(base).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(base.rglob("*")) if p.is_file() and p.name not in TIME_BEARING}


def main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[0] not in ("write", "check"):
        print(__doc__, file=sys.stderr)
        return 2
    mode, work, manifest = argv[0], Path(argv[1]).resolve(), Path(argv[2])
    run_all(work)
    now = digest(work)
    if mode == "write":
        manifest.write_text(json.dumps({"work": str(work), "files": now}, indent=1) + "\n")
        print(f"{len(now)} files -> {manifest}")
        return 0
    before = json.loads(manifest.read_text())
    if before["work"] != str(work):
        print(f"run in {before['work']}: outputs name their inputs by path", file=sys.stderr)
        return 2
    old = before["files"]
    changed = sorted(k for k in old.keys() & now.keys() if old[k] != now[k])
    missing = sorted(old.keys() - now.keys())
    new = sorted(now.keys() - old.keys())
    for label, names in (("differs", changed), ("missing", missing), ("new", new)):
        for name in names:
            print(f"{label:8s} {name}")
    print(f"{len(now)} files: {len(changed)} differ, {len(missing)} missing, {len(new)} new")
    return 1 if changed or missing or new else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
