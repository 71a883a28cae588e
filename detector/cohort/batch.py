"""Cohort batches: analyse many nights with one configuration, resumably, on any executor.

::

    from detector.cohort.batch import run_batch
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
``file``, ``status`` (``analysed``, ``skipped``, ``failed``), ``error``, ``content_sha256`` and
every ``summary.json`` field (nested fields flattened with dotted names, e.g.
``config.envelope.on_factor``; lists as JSON text). ``OUT/failures.csv`` lists the failed nights
and why. Every file is written readable by its owner only (0600).
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import json
import os
import time
from concurrent.futures import Executor, Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence

import pandas as pd

from detector.config import Config
from detector.parallel import pool_context
from detector.fileio import make_private_dir, write_private
from detector.io.localtime import zone_named
from detector.io.recording import InputError
from detector.cohort.nights import expand_inputs, night_folder, night_names, stem
from detector.cohort.nights_table import ID_COLUMNS, collate, flatten_summary, write_tables
from detector.cohort.progress import BatchProgress

__all__ = ["run_batch", "analyze_night", "read_windows", "BatchResult", "BatchProgress",
           "expand_inputs", "night_names", "file_sha256", "config_sha256", "done_key",
           "flatten_summary", "collate", "write_tables", "dask_executor", "ID_COLUMNS", "STATUSES"]

#: Values of the ``status`` column.
STATUSES = ("analysed", "done", "failed")
#: ``done``: analysed by an earlier run (its results were complete and are kept; the row says
#: ``skipped_this_run`` = true). The word ``skipped`` read as "not analysed".

#: Name of the marker written last in a finished night's folder.
DONE_FILE = "done.json"

#: Output files of a night (report.html only when reports are written).
_OUTPUTS = ("events.csv", "summary.json", "report.html")

_CHUNK_BYTES = 1 << 20


# --------------------------------------------------------------------------------------------
# Keys
# --------------------------------------------------------------------------------------------

def _version() -> str:
    from detector.version import __version__

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


def _share_cores(threads: int | None) -> None:
    """In a worker process: use ``threads`` threads for the band-pass and for reading files, so
    that the workers of a pool share the cores instead of each taking all of them."""
    import multiprocessing

    if threads is None or multiprocessing.parent_process() is None:
        return
    import pyarrow as pa

    from detector.detect.filters import set_filter_threads

    set_filter_threads(threads)
    pa.set_cpu_count(threads)


def analyze_night(path_str: str, out_subdir_str: str, config_dict: Mapping[str, Any], *,
                  report: bool = True, window: tuple[str, str] | None = None,
                  tz: str | None = None, threads: int | None = None) -> dict[str, Any]:
    """Analyse one night into its own folder, unless it is done already (one batch task).

    Pure apart from its files: everything it needs is in its arguments (picklable), so it runs
    in a worker process or on a dask worker that sees the same paths. It never raises for a
    bad night: the failure comes back in the result.

    Parameters
    ----------
    path_str : str
        The recording (CSV, CSV.gz, Parquet or a device file; see
        :func:`detector.io.load.load_recording`). One spanning more than
        :data:`detector.cohort.multiday.MULTI_DAY_MIN_H` hours fails with a line saying to
        analyse it night by night.
    out_subdir_str : str
        The night's folder: ``events.csv``, ``summary.json``, ``report.html`` (when
        ``report``) and, written last, ``done.json``; created 0700, files 0600.
    config_dict : dict
        :meth:`detector.config.Config.to_dict` of the configuration.
    report : bool
        Also write the night report (about 1-2 s per night, more than the analysis itself).
    window : (str, str), optional
        Lights off and lights on (``HH:MM``) of this night (see
        :func:`detector.score.restwindow.given_window`); estimated when None.
    tz : str, optional
        Zone of the window's clock times and of the report (default: the computer's).
    threads : int, optional
        In a worker process, the threads this night may use (the cores divided among the
        workers); None: as many as it likes.

    Returns
    -------
    dict
        ``file``, ``night`` (folder name), ``content_sha256``, ``status`` (``analysed``,
        ``skipped`` or ``failed``), ``error`` (None unless failed), ``summary`` (the
        ``summary.json`` content, None when failed) and ``timings`` (seconds: ``hash_s``,
        ``load_s``, ``analyze_s``, ``write_s``, ``total_s``).
    """
    t0 = time.perf_counter()
    _share_cores(threads)
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
                row["status"] = "done"
                row["skipped_this_run"] = True
                return row
            except (OSError, ValueError):
                pass                                   # unreadable summary: analyse again
        from detector.analysis import analyze_file
        from detector.cohort.multiday import MULTI_DAY_MIN_H, recording_span_h
        from detector.io.outputs import summary_json_text

        span_h = recording_span_h(path_str, zone_named(tz))
        if span_h is not None and span_h > MULTI_DAY_MIN_H:
            # read whole, a week would need gigabytes: that file alone fails, not the batch
            raise InputError(f"{path_str}: spans {span_h / 24:.1f} days, and a batch takes one "
                             "night per file; analyse it with `legtwitch analyze FILE --out "
                             "DIR`, which goes night by night")
        if out.is_dir():
            _clear(out)
        done_file = analyze_file(path_str, out, cfg, report=report, window=window,
                                 tz=zone_named(tz))
        result, paths = done_file.result, done_file.paths
        took = result.info["timings"]
        timings["load_s"] = took["load_s"]
        timings["analyze_s"] = took["detect_s"] + took["score_s"]
        t = time.perf_counter()
        summary_text = summary_json_text(result.summary())
        done = {"key": key, "file": path_str, "content_sha256": digest,
                "config_sha256": config_sha256(cfg), "version": _version(),
                "outputs": sorted(p.name for p in paths.values()),
                "finished_utc": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        write_private(out / DONE_FILE, json.dumps(done, indent=2) + "\n")
        timings["write_s"] = took["write_s"] + time.perf_counter() - t
        row["summary"] = json.loads(summary_text)
        row["status"] = "analysed"
    except Exception as exc:  # noqa: BLE001 - one bad night must not stop the batch
        row["status"] = "failed"
        row["error"] = _error_text(path_str, exc)
    finally:
        timings["total_s"] = time.perf_counter() - t0
    return row


# --------------------------------------------------------------------------------------------
# Collating
# --------------------------------------------------------------------------------------------

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
        """Nights with this status (``analysed``, ``done``: by an earlier run, ``failed``)."""
        return sum(1 for n in self.nights if n["status"] == status)

    @property
    def n_analysed(self) -> int:
        return self.count("analysed")

    @property
    def n_skipped(self) -> int:
        """Nights whose results an earlier run made (status ``done``)."""
        return self.count("done")

    @property
    def n_failed(self) -> int:
        return self.count("failed")

    @property
    def exit_code(self) -> int:
        """1 when any night failed, else 0."""
        return 1 if self.n_failed else 0


#: Modules a batch's worker server imports once.
PRELOAD = ("detector.cohort.batch", "detector.analysis", "detector.io.load")


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
    tasks = [(str(f), str(night_folder(out, n))) for f, n in zip(files, names)]
    results: list[dict[str, Any] | None] = [None] * len(tasks)
    counts = {s: 0 for s in STATUSES}
    say = progress or (lambda _p: None)

    def status(last: Mapping[str, Any] | None) -> BatchProgress:
        return BatchProgress(len(tasks), sum(counts.values()), counts["analysed"],
                             counts["done"], counts["failed"], time.perf_counter() - t0, last)

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
        for key in (Path(sub).name, p.name, stem(p)):
            if key in windows:
                return windows[key]
        return None

    def run_on(ex: Executor) -> None:
        # A process pool's workers share this machine's cores (a dask cluster's may not).
        n = getattr(ex, "_max_workers", None) if isinstance(ex, ProcessPoolExecutor) else None
        threads = max(1, (os.cpu_count() or 1) // n) if n else None
        futures: dict[Future, int] = {}
        for k, (path, sub) in enumerate(tasks):
            futures[ex.submit(analyze_night, path, sub, cfg_dict, report=report,
                              window=window_of(path, sub), tz=tz, threads=threads)] = k
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
        with ProcessPoolExecutor(max_workers=workers, mp_context=pool_context(PRELOAD)) as pool:
            run_on(pool)
    rows = [r for r in results if r is not None]
    table = collate(rows)
    written = write_tables(table, out)
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
    from detector.score.restwindow import parse_clock

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


