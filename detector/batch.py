"""Cohort batches: analyse many nights with one configuration, resumably, on any executor.

::

    from detector.batch import run_batch
    res = run_batch(["nights/a.csv", "nights/b.csv"], "results", Config())
    res.table            # one row per night: every summary field, file, status, error
    res.exit_code        # 1 when a night failed, else 0

Each night is one pure task, :func:`analyze_night` (path in, ``OUT/<night>/events.csv``,
``summary.json`` and ``report.html`` out, summary row back), so the same tasks run in this
process, in a local process pool (the default, sized to the machine) or on a dask.distributed
cluster (``client.get_executor()``; ``legtwitch batch --scheduler tcp://HOST:PORT`` or
``--dask-local N``). Every worker must see the input files and ``OUT`` at the same paths.

Resuming. When a night's outputs are written, ``OUT/<night>/done.json`` is written last
(atomically). It holds a key: the SHA-256 of the file's bytes, of the canonical configuration
(:meth:`detector.config.Config.to_toml`) and the legtwitch version. A night whose ``done.json`` key
matches (and whose outputs are still there) is skipped, so a killed or extended batch redoes only
what is not finished, and a changed configuration or a changed file redoes that night.

Collated tables: ``OUT/nights.parquet`` and ``OUT/nights.csv``, one row per night with ``night``,
``file``, ``status`` (``analysed``, ``skipped``, ``failed``), ``error``, ``content_sha256`` and every
``summary.json`` field (nested fields flattened with dotted names, e.g.
``config.envelope.on_factor``; lists as JSON text). ``OUT/failures.csv`` lists the failed nights
and why. Every file is written readable by its owner only (0600).
"""

from __future__ import annotations

import contextlib
import csv
import glob
import hashlib
import io
import json
import math
import multiprocessing
import os
import shutil
import sys
import tempfile
import time
from concurrent.futures import Executor, Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence, TextIO

import pandas as pd

from .config import Config
from .fileio import make_private_dir, write_private
from .localtime import zone_named
from .recording import InputError

__all__ = ["run_batch", "analyze_night", "read_windows", "safe_name", "BatchResult",
           "BatchProgress", "ProgressBar", "expand_inputs", "night_names", "file_sha256",
           "config_sha256", "done_key", "flatten_summary", "collate", "batch_benchmark",
           "format_batch_benchmark", "dask_executor", "ID_COLUMNS", "STATUSES"]

#: Columns of the collated table before the summary fields.
ID_COLUMNS = ["night", "file", "status", "error", "content_sha256"]

#: Values of the ``status`` column.
STATUSES = ("analysed", "skipped", "failed")

#: Name of the marker written last in a finished night's folder.
DONE_FILE = "done.json"

#: Output files of a night (report.html only when reports are written).
_OUTPUTS = ("events.csv", "summary.json", "report.html")

#: Suffixes of recordings, longest first (stripped to name a night's folder).
_SUFFIXES = (".csv.gz", ".csv", ".parquet", ".pq", ".gz")

#: Files written by ``legtwitch simulate`` beside a night: not recordings.
_TRUTH_SUFFIX = ".truth.csv"

_CHUNK_BYTES = 1 << 20


# --------------------------------------------------------------------------------------------
# Keys
# --------------------------------------------------------------------------------------------

def _version() -> str:
    from . import __version__

    return str(__version__)


def file_sha256(path: str | Path) -> str:
    """SHA-256 (hex) of a file's bytes, read in 1-MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK_BYTES), b""):
            h.update(chunk)
    return h.hexdigest()


def config_sha256(config: Config) -> str:
    """SHA-256 (hex) of the canonical TOML text of a configuration."""
    return hashlib.sha256(config.to_toml().encode("utf-8")).hexdigest()


def done_key(content_sha256: str, config: Config, version: str | None = None) -> str:
    """The skip-if-done key of a night: file content, configuration and legtwitch version."""
    text = f"{content_sha256}\n{config_sha256(config)}\n{version or _version()}\n"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------------------------
# The task
# --------------------------------------------------------------------------------------------

def _error_text(path: str, exc: BaseException) -> str:
    """One line naming the file and what went wrong."""
    text = str(exc).strip() or type(exc).__name__
    if not isinstance(exc, (InputError, ValueError)):
        text = f"{type(exc).__name__}: {text}"
    if path not in text and Path(path).name not in text:
        text = f"{path}: {text}"
    return " ".join(text.split())


def _is_done(out: Path, key: str, report: bool) -> bool:
    try:
        done = json.loads((out / DONE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if not isinstance(done, dict) or done.get("key") != key:
        return False
    needed = _OUTPUTS if report else _OUTPUTS[:2]
    return all((out / name).is_file() for name in needed)


def _clear(out: Path) -> None:
    """Remove a previous run's marker first (so an interrupted redo is redone), then outputs."""
    for name in (DONE_FILE, *_OUTPUTS):
        with contextlib.suppress(FileNotFoundError):
            (out / name).unlink()


def analyze_night(path_str: str, out_subdir_str: str, config_dict: Mapping[str, Any], *,
                  report: bool = True, window: tuple[str, str] | None = None,
                  tz: str | None = None) -> dict[str, Any]:
    """Analyse one night into its own folder, unless it is done already (one batch task).

    Pure apart from its files: everything it needs is in its arguments (picklable), so it runs
    in a worker process or on a dask worker that sees the same paths. It never raises for a
    bad night: the failure comes back in the result.

    Parameters
    ----------
    path_str : str
        The recording (CSV, CSV.gz or Parquet; see :func:`detector.load.load_recording`).
    out_subdir_str : str
        The night's folder: ``events.csv``, ``summary.json``, ``report.html`` (when
        ``report``) and, written last, ``done.json``; created 0700, files 0600.
    config_dict : dict
        :meth:`detector.config.Config.to_dict` of the configuration.
    report : bool
        Also write the night report (about 1-2 s per night, more than the analysis itself).
    window : (str, str), optional
        Lights off and lights on (``HH:MM``) of this night (see
        :func:`detector.restwindow.given_window`); estimated when None.
    tz : str, optional
        Zone of the window's clock times and of the report (default: the computer's).

    Returns
    -------
    dict
        ``file``, ``night`` (folder name), ``content_sha256``, ``status`` (``analysed``,
        ``skipped`` or ``failed``), ``error`` (None unless failed), ``summary`` (the
        ``summary.json`` content, None when failed) and ``timings`` (seconds: ``hash_s``,
        ``load_s``, ``analyze_s``, ``write_s``, ``total_s``).
    """
    t0 = time.perf_counter()
    out = Path(out_subdir_str)
    row: dict[str, Any] = {"file": path_str, "night": out.name, "content_sha256": None,
                           "status": "failed", "error": None, "summary": None, "timings": {}}
    timings = row["timings"]
    try:
        cfg = Config.from_dict(config_dict)
        digest = file_sha256(path_str)
        row["content_sha256"] = digest
        timings["hash_s"] = time.perf_counter() - t0
        key = done_key(digest, cfg)
        if window is not None or tz:
            key = hashlib.sha256(f"{key}\n{window}\n{tz}".encode("utf-8")).hexdigest()
        if _is_done(out, key, report):
            try:
                row["summary"] = json.loads((out / "summary.json").read_text(encoding="utf-8"))
                row["status"] = "skipped"
                return row
            except (OSError, ValueError):
                pass                                   # unreadable summary: analyse again
        from .load import load_recording
        from .output import summary_json_text, write_outputs
        from .pipeline import analyze

        if out.is_dir():
            _clear(out)
        t = time.perf_counter()
        rec = load_recording(path_str, config=cfg.clean)
        timings["load_s"] = time.perf_counter() - t
        t = time.perf_counter()
        zone = zone_named(tz)
        given = None
        if window is not None:
            from .restwindow import given_window

            given = given_window(rec, window[0], window[1], zone)
        result = analyze(rec, cfg, window=given, tz=zone)
        timings["analyze_s"] = time.perf_counter() - t
        t = time.perf_counter()
        paths = write_outputs(result, out, report=report)
        summary_text = summary_json_text(result.summary())
        done = {"key": key, "file": path_str, "content_sha256": digest,
                "config_sha256": config_sha256(cfg), "version": _version(),
                "outputs": sorted(p.name for p in paths.values()),
                "finished_utc": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        write_private(out / DONE_FILE, json.dumps(done, indent=2) + "\n")
        timings["write_s"] = time.perf_counter() - t
        row["summary"] = json.loads(summary_text)
        row["status"] = "analysed"
    except Exception as exc:  # noqa: BLE001 - one bad night must not stop the batch
        row["status"] = "failed"
        row["error"] = _error_text(path_str, exc)
    finally:
        timings["total_s"] = time.perf_counter() - t0
    return row


# --------------------------------------------------------------------------------------------
# Inputs and folder names
# --------------------------------------------------------------------------------------------

def _has_magic(text: str) -> bool:
    return any(c in text for c in "*?[")


def _is_recording_name(name: str) -> bool:
    low = name.lower()
    return low.endswith(_SUFFIXES) and not low.endswith(_TRUTH_SUFFIX)


def expand_inputs(items: Sequence[str | Path]) -> list[Path]:
    """Expand glob patterns (``nights/*.csv``, ``**`` recursive), folders and plain file names.

    A pattern is expanded here, so quote it on the command line. Files ending ``.truth.csv``
    (written by ``legtwitch simulate`` beside a night) are left out of patterns and folders; a
    folder gives its ``.csv``, ``.csv.gz`` and ``.parquet`` files. A file named twice is
    analysed once. Order: as given, each pattern's matches sorted.

    Raises
    ------
    InputError
        When a pattern or folder matches no recording, or a named file does not exist.
    """
    if isinstance(items, (str, Path)):
        items = [items]
    found: list[Path] = []
    for item in items:
        text = str(item)
        if _has_magic(text):
            matches = [Path(m) for m in sorted(glob.glob(text, recursive=True))
                       if Path(m).is_file() and not m.lower().endswith(_TRUTH_SUFFIX)]
            if not matches:
                raise InputError(f"{text!r}: the pattern matched no recording file")
            found.extend(matches)
        elif Path(text).is_dir():
            matches = sorted(p for p in Path(text).iterdir()
                             if p.is_file() and _is_recording_name(p.name))
            if not matches:
                raise InputError(f"{text}: the folder holds no .csv, .csv.gz or .parquet "
                                 "recording")
            found.extend(matches)
        elif Path(text).is_file():
            found.append(Path(text))
        else:
            raise InputError(f"{text}: file not found")
    if not found:
        raise InputError("no recording given: name files, folders or quoted patterns "
                         "such as \"nights/*.csv\"")
    seen: set[Path] = set()
    unique = []
    for p in found:
        key = p.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(p)
    return unique


def _stem(path: Path) -> str:
    name = path.name
    for suffix in _SUFFIXES:
        if name.lower().endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return path.stem or name


#: Names a night folder may not take: the batch's own files in ``--out``.
_RESERVED_NAMES = {"nights.csv", "nights.parquet", "failures.csv", "trends.html", "done.json",
                   "batch.json", "diary.csv"}
_MAX_NAME_CHARS = 100


def safe_name(stem: str) -> str:
    """A folder name made from a file name that cannot leave, or take the place of, ``--out``'s
    own files.

    Separators, control characters and characters that Windows refuses become ``_``; leading
    dots and spaces and trailing dots and spaces are removed (no ``.``, ``..`` or hidden
    folder); an empty result becomes ``night``; a name of the batch's own files gets ``night-``
    in front; at most 100 characters.

    >>> safe_name("..")
    'night'
    >>> safe_name("../../etc/passwd")
    'etc_passwd'
    >>> safe_name("nights.csv")
    'night-nights.csv'
    """
    out = []
    for ch in stem:
        if ch in '/\\:*?"<>|' or ord(ch) < 32 or ord(ch) == 127:
            out.append("_")
        else:
            out.append(ch)
    name = "".join(out).strip(" .")
    while "__" in name:
        name = name.replace("__", "_")
    name = name.strip("_ .") or "night"
    if name.lower() in _RESERVED_NAMES:
        name = f"night-{name}"
    return name[:_MAX_NAME_CHARS]


def night_names(paths: Sequence[str | Path]) -> list[str]:
    """Folder name of each night: the file name without its suffix, made safe (:func:`safe_name`).

    Files whose names come out the same (``a/night1.csv``, ``b/night1.csv``; also names that
    differ only in letter case or in the characters :func:`safe_name` replaces) get ``-`` and
    the first 8 hex digits of the SHA-256 of their absolute path appended, so a name does not
    depend on the order or on the other files of the batch.
    """
    stems = [safe_name(_stem(Path(p))) for p in paths]
    counts: dict[str, int] = {}
    for s in stems:
        counts[s.lower()] = counts.get(s.lower(), 0) + 1
    names = []
    for p, s in zip(paths, stems):
        if counts[s.lower()] > 1:
            tag = hashlib.sha256(str(Path(p).resolve()).encode("utf-8")).hexdigest()[:8]
            s = f"{s}-{tag}"
        names.append(s)
    return names


def _night_folder(out: Path, name: str) -> Path:
    """``out / name``, checked to resolve to a folder directly inside ``out`` (not through a
    link to elsewhere)."""
    folder = out / name
    inside = folder.resolve().parent == out.resolve() and not folder.is_symlink()
    if not inside or name in ("", ".", ".."):
        raise InputError(f"{folder}: a night folder must lie inside {out}; rename the file "
                         "or remove the link")
    return folder


# --------------------------------------------------------------------------------------------
# Collating
# --------------------------------------------------------------------------------------------

def flatten_summary(summary: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Flatten nested dicts with dotted names; lists become JSON text.

    ``{"config": {"envelope": {"on_factor": 5.0}}, "reasons": ["a"]}`` ->
    ``{"config.envelope.on_factor": 5.0, "reasons": '["a"]'}``.
    """
    out: dict[str, Any] = {}
    for key, value in summary.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flatten_summary(value, f"{name}."))
        elif isinstance(value, (list, tuple)):
            out[name] = json.dumps(list(value), ensure_ascii=False)
        else:
            out[name] = value
    return out


def _parquet_safe(df: pd.DataFrame) -> pd.DataFrame:
    """Columns holding values of different kinds (text in one night, a number in another)
    become JSON text, so the table has one type per column."""
    out = df.copy()
    for col in out.columns:
        if out[col].dtype != object:
            continue
        values = [v for v in out[col] if v is not None and not (isinstance(v, float)
                                                                and math.isnan(v))]
        kinds = {bool if isinstance(v, bool)
                 else (float if isinstance(v, (int, float)) else type(v)) for v in values}
        if len(kinds) > 1:
            out[col] = [None if v is None or (isinstance(v, float) and math.isnan(v))
                        else (v if isinstance(v, str) else json.dumps(v)) for v in out[col]]
    return out


def collate(rows: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """One row per night: :data:`ID_COLUMNS` then the flattened summary fields (first-seen
    order). A summary field named like an id column is prefixed ``summary.``."""
    records = []
    for r in rows:
        rec: dict[str, Any] = {c: r.get(c) for c in ID_COLUMNS}
        for key, value in flatten_summary(r.get("summary") or {}).items():
            rec[f"summary.{key}" if key in ID_COLUMNS else key] = value
        records.append(rec)
    columns = list(dict.fromkeys([*ID_COLUMNS, *(k for rec in records for k in rec)]))
    return _parquet_safe(pd.DataFrame.from_records(records, columns=columns))


def _write_tables(table: pd.DataFrame, out: Path) -> dict[str, Path]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    buf = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(table, preserve_index=False), buf)
    failures = table.loc[table["status"] == "failed", ["night", "file", "error"]]
    return {"parquet": write_private(out / "nights.parquet", buf.getvalue()),
            "csv": write_private(out / "nights.csv", table.to_csv(index=False)),
            "failures": write_private(out / "failures.csv", failures.to_csv(index=False))}


# --------------------------------------------------------------------------------------------
# Progress
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class BatchProgress:
    """Where a batch is: given to ``progress`` at the start and after every night."""

    total: int
    done: int
    analysed: int
    skipped: int
    failed: int
    elapsed_s: float
    last: Mapping[str, Any] | None = None

    @property
    def nights_per_min(self) -> float:
        """Nights analysed (or failed) per minute of wall time; skipped nights excluded."""
        worked = self.analysed + self.failed
        return 60.0 * worked / self.elapsed_s if self.elapsed_s > 0 and worked else math.nan

    @property
    def eta_s(self) -> float:
        """Seconds left at the current rate (NaN before the first analysed night)."""
        rate = self.nights_per_min
        return 60.0 * (self.total - self.done) / rate if rate > 0 else math.nan


def _clock(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "?"
    s = int(round(seconds))
    return f"{s // 3600}h{s % 3600 // 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"


class ProgressBar:
    """Batch progress on a stream (stderr): one line rewritten in place on a terminal, a plain
    line per night otherwise. Failed nights are printed on their own line with the error."""

    def __init__(self, stream: TextIO | None = None, tty: bool | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.tty = bool(tty if tty is not None else getattr(self.stream, "isatty", lambda: False)())
        self._width = 0

    def line(self, p: BatchProgress) -> str:
        """The status text of ``p``."""
        rate = p.nights_per_min
        rate_text = f"{rate:.1f}" if math.isfinite(rate) else "-"
        return (f"{p.done}/{p.total} nights  analysed {p.analysed}  skipped {p.skipped}  "
                f"failed {p.failed}  {rate_text} nights/min  ETA {_clock(p.eta_s)}")

    def __call__(self, p: BatchProgress) -> None:
        last = p.last or {}
        if self.tty:
            if last.get("status") == "failed":
                self.stream.write("\r" + " " * self._width + "\r")
                self.stream.write(f"failed: {last.get('night')}: {last.get('error')}\n")
            text = "batch " + self.line(p)
            self.stream.write("\r" + text.ljust(self._width))
            self._width = len(text)
        else:
            head = (f"{last.get('night')} {last.get('status')}"
                    + (f": {last.get('error')}" if last.get("status") == "failed" else "")
                    + "; ") if last else ""
            self.stream.write(f"batch: {head}{self.line(p)}\n")
        self.stream.flush()

    def close(self) -> None:
        """End the in-place line."""
        if self.tty and self._width:
            self.stream.write("\n")
            self.stream.flush()
            self._width = 0


# --------------------------------------------------------------------------------------------
# The batch
# --------------------------------------------------------------------------------------------

@dataclass
class BatchResult:
    """What :func:`run_batch` did.

    Attributes
    ----------
    out_dir : Path
    table : DataFrame
        The collated table (as in ``nights.csv``), in input order.
    nights : list of dict
        The :func:`analyze_night` results, in input order (with their ``timings``).
    paths : dict
        ``{"parquet", "csv", "failures"}`` -> written files.
    elapsed_s : float
        Wall time of the batch.
    """

    out_dir: Path
    table: pd.DataFrame
    nights: list[dict[str, Any]]
    paths: dict[str, Path] = field(default_factory=dict)
    elapsed_s: float = 0.0

    def count(self, status: str) -> int:
        """Nights with this status (``analysed``, ``skipped``, ``failed``)."""
        return sum(1 for n in self.nights if n["status"] == status)

    @property
    def n_analysed(self) -> int:
        return self.count("analysed")

    @property
    def n_skipped(self) -> int:
        return self.count("skipped")

    @property
    def n_failed(self) -> int:
        return self.count("failed")

    @property
    def exit_code(self) -> int:
        """1 when any night failed, else 0."""
        return 1 if self.n_failed else 0


def _pool_context() -> Any:
    """Worker processes that do not inherit this process's threads (see
    :func:`detector.sweep._pool_context`): ``forkserver``, else ``spawn``."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    ctx = multiprocessing.get_context("forkserver")
    # imported once in the server rather than in every worker
    ctx.set_forkserver_preload([__name__, "detector.pipeline", "detector.load",
                                "detector.output"])
    return ctx


def _check_workers(max_workers: Any) -> None:
    if max_workers is not None and (isinstance(max_workers, bool) or
                                    not isinstance(max_workers, int) or max_workers < 1):
        raise ValueError(f"max_workers={max_workers!r}: expected a whole number >= 1")


def run_batch(paths: Sequence[str | Path] | str, out_dir: str | Path, config: Config | None = None,
              *, executor: Executor | None = None, max_workers: int | None = None,
              progress: Callable[[BatchProgress], None] | None = None,
              report: bool = True, windows: Mapping[str, tuple[str, str]] | None = None,
              tz: str | None = None) -> BatchResult:
    """Analyse every night with one configuration; skip the finished ones; collate the results.

    Parameters
    ----------
    paths : sequence of str or Path, or str
        Recordings, folders or glob patterns (see :func:`expand_inputs`).
    out_dir : str or Path
        ``OUT/<night>/`` per night (named by :func:`night_names`), then ``OUT/nights.parquet``,
        ``OUT/nights.csv`` and ``OUT/failures.csv``. Created 0700; files 0600.
    config : Config, optional
        Thresholds and rules (default ``Config()``, WASM 2016).
    executor : concurrent.futures.Executor, optional
        Where the nights run, one :func:`analyze_night` task each (``ThreadPoolExecutor``,
        ``ProcessPoolExecutor``, dask's ``client.get_executor()``). It is not shut down. A
        process pool of your own should not fork a process that has analysed a night
        already: give it ``mp_context=multiprocessing.get_context("forkserver")``.
    max_workers : int, optional
        Without ``executor``: processes of a local pool (``forkserver``, else ``spawn``; a
        script needs the ``if __name__ == "__main__":`` guard); default ``min(nights,
        os.cpu_count())``. 1 runs the nights one after the other in this process.
    progress : callable, optional
        Called with a :class:`BatchProgress` at the start and as each night finishes (a
        :class:`ProgressBar` draws it).
    report : bool
        Also write each night's ``report.html`` (default True; it costs more than the
        analysis of a short night, see :func:`batch_benchmark`).
    windows : mapping, optional
        Rest windows: night folder name, file name or file stem -> (lights off, lights on) as
        ``HH:MM`` (see :func:`read_windows`); other nights get an estimated window.
    tz : str, optional
        Zone of the windows and the reports (default: the computer's).

    Returns
    -------
    BatchResult
        ``exit_code`` is 1 when a night failed (its error is in ``failures.csv`` and the
        ``error`` column), else 0.

    Raises
    ------
    InputError
        When a pattern matches nothing or a named file does not exist (before any work).
    """
    _check_workers(max_workers)
    t0 = time.perf_counter()
    files = expand_inputs(paths)
    cfg = config if config is not None else Config()
    cfg_dict = cfg.to_dict()
    out = make_private_dir(out_dir)
    names = night_names(files)
    tasks = [(str(f), str(_night_folder(out, n))) for f, n in zip(files, names)]
    results: list[dict[str, Any] | None] = [None] * len(tasks)
    counts = {s: 0 for s in STATUSES}
    say = progress or (lambda _p: None)

    def status(last: Mapping[str, Any] | None) -> BatchProgress:
        return BatchProgress(len(tasks), sum(counts.values()), counts["analysed"],
                             counts["skipped"], counts["failed"], time.perf_counter() - t0, last)

    def collect(k: int, row: dict[str, Any]) -> None:
        results[k] = row
        counts[row["status"]] += 1
        say(status(row))

    def failed_row(k: int, exc: BaseException) -> dict[str, Any]:
        path, sub = tasks[k]
        return {"file": path, "night": Path(sub).name, "content_sha256": None,
                "status": "failed", "error": _error_text(path, exc), "summary": None,
                "timings": {}}

    def window_of(path: str, sub: str) -> tuple[str, str] | None:
        if not windows:
            return None
        p = Path(path)
        for key in (Path(sub).name, p.name, _stem(p)):
            if key in windows:
                return windows[key]
        return None

    def run_on(ex: Executor) -> None:
        futures: dict[Future, int] = {}
        for k, (path, sub) in enumerate(tasks):
            futures[ex.submit(analyze_night, path, sub, cfg_dict, report=report,
                              window=window_of(path, sub), tz=tz)] = k
        for fut in as_completed(futures):
            k = futures[fut]
            try:
                row = fut.result()
            except Exception as exc:  # noqa: BLE001 - a lost worker fails its night only
                row = failed_row(k, exc)
            collect(k, row)

    say(status(None))
    workers = max_workers if max_workers is not None else max(1, min(len(tasks),
                                                                      os.cpu_count() or 1))
    if executor is not None:
        run_on(executor)
    elif workers == 1 or len(tasks) == 1:
        for k, (path, sub) in enumerate(tasks):
            collect(k, analyze_night(path, sub, cfg_dict, report=report,
                                     window=window_of(path, sub), tz=tz))
    else:
        with ProcessPoolExecutor(max_workers=workers, mp_context=_pool_context()) as pool:
            run_on(pool)
    rows = [r for r in results if r is not None]
    table = collate(rows)
    written = _write_tables(table, out)
    return BatchResult(out_dir=out, table=table, nights=rows, paths=written,
                       elapsed_s=time.perf_counter() - t0)


# --------------------------------------------------------------------------------------------
# dask.distributed
# --------------------------------------------------------------------------------------------

@contextlib.contextmanager
def dask_executor(scheduler: str | None = None, n_local: int | None = None) -> Iterator[Executor]:
    """An executor on a dask.distributed cluster: an existing one at ``scheduler``
    (``tcp://HOST:PORT``) or a LocalCluster of ``n_local`` single-threaded worker processes
    listening on 127.0.0.1 only. Closed on exit.

    The local cluster serves no dashboard: dask's scheduler always opens an HTTP port (with
    ``dashboard_address=None`` it is 8787), so it is given a random loopback port and no routes
    (every request gets 404), and the workers serve none either."""
    try:
        import dask
        from distributed import Client, LocalCluster
    except ImportError as exc:
        raise InputError("--scheduler/--dask-local need dask.distributed, an optional part of "
                         "legtwitch: pip install \"legtwitch[cluster]\" (from a checkout: "
                         "pip install -e \".[cluster]\")") from exc
    cluster = None
    try:
        if n_local is not None:
            with dask.config.set({"distributed.scheduler.http.routes": [],
                                  "distributed.worker.http.routes": []}):
                cluster = LocalCluster(n_workers=n_local, threads_per_worker=1,
                                       processes=True, host="127.0.0.1",
                                       dashboard_address="127.0.0.1:0",
                                       scheduler_kwargs={"dashboard": False},
                                       worker_dashboard_address=None)
            client = Client(cluster)
        else:
            try:
                client = Client(scheduler, timeout="15s")
            except (OSError, TimeoutError) as exc:
                raise InputError(f"--scheduler {scheduler}: cannot reach a dask scheduler "
                                 f"there ({exc})") from None
        try:
            yield client.get_executor(pure=False)
        finally:
            client.close()
    finally:
        if cluster is not None:
            cluster.close()


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------

def read_windows(path: str | Path) -> dict[str, tuple[str, str]]:
    """A CSV of rest windows: ``night``, ``start``, ``end`` (``HH:MM``), one row per night.

    Raises
    ------
    InputError
        A missing file or column, or a time that is not ``HH:MM``, naming the line.
    """
    from .restwindow import parse_clock

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None
    rows = list(csv.reader(line for line in text.splitlines()
                           if line.strip() and not line.lstrip().startswith("#")))
    if not rows:
        raise InputError(f"{path}: empty; expected a header night,start,end")
    header = [h.strip().lower() for h in rows[0]]
    missing = [c for c in ("night", "start", "end") if c not in header]
    if missing:
        raise InputError(f"{path}: missing column(s) {', '.join(missing)}; expected a header "
                         "night,start,end (e.g. 2024-03-01,23:10,06:45)")
    i_n, i_s, i_e = (header.index(c) for c in ("night", "start", "end"))
    out: dict[str, tuple[str, str]] = {}
    for line_no, row in enumerate(rows[1:], start=2):
        if len(row) < len(header):
            raise InputError(f"{path}, line {line_no}: {len(row)} fields, expected "
                             f"{len(header)}")
        night, start, end = row[i_n].strip(), row[i_s].strip(), row[i_e].strip()
        for what, value in (("start", start), ("end", end)):
            try:
                parse_clock(value, what)
            except InputError as exc:
                raise InputError(f"{path}, line {line_no}: {exc}") from None
        out[night] = (start, end)
    return out


# --------------------------------------------------------------------------------------------
# Benchmark
# --------------------------------------------------------------------------------------------

def batch_benchmark(n_nights: int = 8, hours: float = 0.5, workers: Sequence[int] = (1, 2), *,
                    fs_hz: float = 100.0, keep: str | Path | None = None) -> dict[str, Any]:
    """Nights per minute of a batch with 1 and 2 worker processes, against a single analysis.

    Simulated ``plmd`` nights (seeds 0..n-1) are written as CSV. The single analysis (load,
    analyze, write events.csv and summary.json, in this process, after a warm-up) is timed on
    each night; each batch runs without reports on a fresh local process pool whose workers are
    started first (their start-up is reported apart). The report's cost is timed separately on
    one night.

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

    from .load import load_recording
    from .output import write_outputs
    from .pipeline import analyze
    from .report import write_report
    from .simulate import simulate_night, write_simulation

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
            with ProcessPoolExecutor(max_workers=w, mp_context=_pool_context()) as pool:
                # start every worker first: the first pool of a process also starts the fork
                # server, which would otherwise count against whichever worker count ran first
                t = time.perf_counter()
                list(pool.map(time.sleep, [0.2] * w))
                startup[int(w)] = time.perf_counter() - t - 0.2
                t = time.perf_counter()
                res = run_batch(files, out, cfg, executor=pool, report=False)
                elapsed = time.perf_counter() - t
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
