"""Parameter sweeps: score a grid of settings on several nights with reference scorings.

::

    from detector.tuning.sweep import sweep, summarize_sweep, best_params
    df = sweep({"n1": "n1.csv", "n2": "n2.csv"}, {"n1": "n1.truth.csv", "n2": "n2.truth.csv"},
               {"on_factor": [3, 4, 5, 6], "envelope__merge_gap_s": [0.3, 0.5]})
    summarize_sweep(df, kind="lm")        # pooled precision / recall / F1 per combination
    best = best_params(df, kind="lm")     # {"on_factor": 5, "envelope__merge_gap_s": 0.5}
    Config().with_values(**best).to_toml("tuned.toml")

Each recording is loaded and its band-pass, envelope and noise floor computed once; every
combination is then applied with :meth:`detector.tuning.results.NightResult.rethreshold`, the
combinations that share those expensive settings one after the other so that the
:class:`detector.detect.recipe.SignalCache` serves them. Recordings run in parallel (one task each).

Figures of a sweep table are in :mod:`detector.tuning.sweep_plots`.

Detected events are matched to the reference by onset with
:func:`detector.tuning.evaluate.compare_detection`; a study reports precision, recall and F1 pooled
over its nights (summed true positives, false positives and false negatives), which
:func:`summarize_sweep` gives next to the per-night means.
"""

from __future__ import annotations

import itertools
import math
import os
from concurrent.futures import Executor, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from detector.parallel import pool_context
from detector.config import Config, ConfigError
from detector.tuning.evaluate import COMPARISON_COLUMNS, ROWS, compare_detection, plm_index_error
from detector.io.tables import read_events
from detector.io.recording import InputError, Recording
from detector.config import as_config
from detector.tuning.results import detect_movements

__all__ = ["sweep", "summarize_sweep", "best_params", "SWEEP_COLUMNS", "setting_columns",
           "KIND_NAMES", "lower_is_better", "plain_value", "is_missing"]

#: Result columns of :func:`sweep` after ``recording``, the setting columns and ``kind``.
SWEEP_COLUMNS = [c for c in COMPARISON_COLUMNS if c != "kind"] + [
    "plm_index_true", "plm_index_detected", "plm_index_error", "rest_h"]

#: Every column of a sweep table that is not a setting.
_NOT_SETTINGS = frozenset(["recording", "kind", "error", *SWEEP_COLUMNS])

Progress = Callable[[str], None]

KIND_NAMES = {"twitch": "Twitches", "lm": "Leg movements", "sustained": "Sustained movements",
               "plm": "PLMs (in a series on both sides)", "all": "All events"}


# --------------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------------

def _is_values(value: Any) -> bool:
    """A list of grid values (not a string, which is one value)."""
    return isinstance(value, (list, tuple, range, np.ndarray, pd.Series, pd.Index))


def _combinations(grid: Any) -> tuple[list[str], list[dict[str, Any]]]:
    """Setting names (first-seen order) and the combinations of a grid."""
    if isinstance(grid, Mapping):
        names = list(grid)
        values = [list(grid[n]) if _is_values(grid[n]) else [grid[n]] for n in names]
        empty = [n for n, v in zip(names, values) if not v]
        if empty:
            raise ConfigError(f"sweep grid: {empty[0]!r} has no values; give at least one")
        combos = [dict(zip(names, c)) for c in itertools.product(*values)]
    elif isinstance(grid, Sequence) and not isinstance(grid, (str, bytes)):
        if not grid:
            raise ConfigError("sweep grid: the list of combinations is empty")
        combos = []
        for k, c in enumerate(grid):
            if not isinstance(c, Mapping):
                raise ConfigError(f"sweep grid, combination {k}: expected a dict of settings, got "
                                  f"{type(c).__name__}")
            combos.append(dict(c))
        names = list(dict.fromkeys(n for c in combos for n in c))
    else:
        raise ConfigError("sweep grid: expected {setting: [values]} or a list of {setting: value} "
                          f"dicts, got {type(grid).__name__}")
    for name in names:
        if not isinstance(name, str):
            raise ConfigError(f"sweep grid: setting names are strings, got {name!r}")
        if name in _NOT_SETTINGS:
            raise ConfigError(f"sweep grid: {name!r} is a result column, not a setting")
    for c in combos:
        for name, value in c.items():
            if isinstance(value, Mapping):
                raise ConfigError(f"sweep grid: {name}={value!r}: give single values per setting "
                                  f"(e.g. {name}__{next(iter(value), 'key')}=[...]) rather than "
                                  "a section dict")
    seen: dict[tuple, int] = {}
    for k, c in enumerate(combos):
        key = tuple((n, repr(c[n])) for n in names if n in c)
        if key in seen:
            raise ConfigError(f"sweep grid: combination {k} {c} repeats combination {seen[key]}")
        seen[key] = k
    return names, combos


def _default_name(k: int, data: Any) -> str:
    if isinstance(data, (str, Path)):
        return Path(data).name
    info = getattr(data, "info", None)
    if hasattr(data, "truth") and isinstance(info, Mapping) and "scenario" in info:
        return f"{info['scenario']}-seed{info.get('seed', k)}"
    if isinstance(data, Recording) and not data.source.startswith("<"):
        return Path(data.source).name
    return f"recording{k}"


def _named(recordings: Any) -> list[tuple[Any, Any]]:
    """``[(name, data), ...]`` from a list or a ``{name: data}`` dict, names unique."""
    if isinstance(recordings, Mapping):
        pairs = list(recordings.items())
    elif isinstance(recordings, (list, tuple)):
        names = [_default_name(k, d) for k, d in enumerate(recordings)]
        dup = {n for n in names if names.count(n) > 1}
        names = [f"{n}#{k}" if n in dup else n for k, n in enumerate(names)]
        pairs = list(zip(names, recordings))
    else:
        raise InputError("sweep recordings: expected a list of recordings (paths, simulated "
                         "nights, Recordings, DataFrames) or a {name: recording} dict, got "
                         f"{type(recordings).__name__}")
    if not pairs:
        raise InputError("sweep recordings: no recording given")
    return pairs


@dataclass(frozen=True)
class _Truth:
    events: pd.DataFrame
    respiratory: pd.DataFrame | None


def _truth(name: Any, data: Any, ref: Any) -> _Truth:
    """A reference as an event table (and its respiratory events, if it carries them)."""
    where = f"sweep reference of recording {name!r}"
    if ref is None:
        truth = getattr(data, "truth", None)
        if not isinstance(truth, pd.DataFrame):
            raise InputError(f"{where}: none given, and the recording is not a simulated night "
                             "with a .truth table; give an event table or a path")
        return _Truth(truth, None)
    if isinstance(ref, (str, Path)):
        return _Truth(read_events(ref), None)
    if isinstance(ref, pd.DataFrame):
        events, resp = ref, None
    elif isinstance(getattr(ref, "events", None), pd.DataFrame):
        if getattr(ref, "plm_from", "file") is None and callable(getattr(ref, "scored", None)):
            ref = ref.scored()  # a scorer's LMs without PLM flags: series by the rules
        events = ref.events
        resp = getattr(ref, "respiratory", None)
        resp = resp if isinstance(resp, pd.DataFrame) and len(resp) else None
    else:
        raise InputError(f"{where}: expected an event table (DataFrame with start_s, kind and "
                         f"optional plm), a CSV path, a Reference or None, got "
                         f"{type(ref).__name__}")
    try:  # the same checks the scoring applies, before any detection runs
        compare_detection(events.iloc[:0], events)
    except InputError as exc:
        raise InputError(f"{where}: {exc}") from None
    return _Truth(events, resp)


def _references(pairs: list[tuple[Any, Any]], references: Any) -> list[Any]:
    """The references in the order of ``pairs``."""
    names = [n for n, _ in pairs]
    if references is None:
        return [None] * len(pairs)
    if isinstance(references, Mapping):
        missing = [n for n in names if n not in references]
        extra = [n for n in references if n not in names]
        if missing or extra:
            raise InputError("sweep references: the names must be those of the recordings; "
                             + (f"missing {missing}" if missing else f"unknown {extra}")
                             + f" (recordings: {names})")
        return [references[n] for n in names]
    if isinstance(references, (list, tuple)):
        if len(references) != len(pairs):
            raise InputError(f"sweep references: {len(references)} given for {len(pairs)} "
                             "recordings; give one per recording (None for a simulated night's "
                             "truth)")
        return list(references)
    raise InputError("sweep references: expected a list (one per recording) or a {name: "
                     f"reference}} dict, got {type(references).__name__}")


def _cache_key(cfg: Config) -> tuple:
    """The settings the expensive steps depend on (loading, band-pass, envelope, noise floor)."""
    bp, ev = cfg.bandpass, cfg.envelope
    return (tuple(cfg.clean.to_dict().items()), bp.lowcut_hz, bp.highcut_hz, bp.order,
            bp.baseline_window_s, ev.smooth_s, ev.noise_window_s, ev.noise_quantile)


def _run_order(configs: Sequence[Config]) -> tuple[int, ...]:
    """Combination indices grouped by :func:`_cache_key` (groups in first-seen order)."""
    groups: dict[tuple, list[int]] = {}
    for k, cfg in enumerate(configs):
        groups.setdefault(_cache_key(cfg), []).append(k)
    return tuple(k for ks in groups.values() for k in ks)


# --------------------------------------------------------------------------------------------
# One recording (runs in a worker)
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Task:
    index: int
    name: Any
    data: Any
    truth: _Truth
    configs: tuple[Config, ...]
    order: tuple[int, ...]
    tolerance_s: float


def _none_to_nan(value: Any) -> float:
    return math.nan if value is None else float(value)


def _score(events: pd.DataFrame, truth: pd.DataFrame, rest_h: float, tolerance_s: float
           ) -> pd.DataFrame:
    """Rows of one (recording, combination): the comparison per kind plus the PLM index."""
    table = compare_detection(events, truth, tolerance_s=tolerance_s)
    err = plm_index_error(events, truth, rest_h if rest_h > 0 else None)
    true_i, det_i = _none_to_nan(err["plm_index_true"]), _none_to_nan(err["plm_index_detected"])
    return table.assign(plm_index_true=true_i, plm_index_detected=det_i,
                        plm_index_error=det_i - true_i, rest_h=rest_h)


def _score_recording(task: _Task) -> tuple[int, pd.DataFrame | None, str | None]:
    """Detect once, re-threshold for every combination, score each against the reference.

    Returns ``(task index, rows with a 'combination' column, None)``, or ``(index, None,
    message)`` when the recording fails.
    """
    try:
        frames: list[pd.DataFrame] = []
        res = None
        for k in task.order:
            cfg = task.configs[k]
            if res is None or cfg.clean != res.config.clean:
                res = detect_movements(task.data, config=cfg, respiratory=task.truth.respiratory)
                out = res
            else:
                out = res.rethreshold(config=cfg)
            rest_h = float(out.metrics.get("rest_h") or 0.0)
            frames.append(_score(out.events, task.truth.events, rest_h, task.tolerance_s)
                          .assign(combination=k))
        rows = pd.concat(frames, ignore_index=True).sort_values("combination", kind="stable")
        return task.index, rows.reset_index(drop=True), None
    except Exception as exc:  # noqa: BLE001 - reported per recording, the others go on
        text = str(exc) if isinstance(exc, InputError) else f"{type(exc).__name__}: {exc}"
        return task.index, None, text


# --------------------------------------------------------------------------------------------
# The sweep
# --------------------------------------------------------------------------------------------

def sweep(recordings: Sequence[Any] | Mapping[Any, Any], references: Any,
          grid: Mapping[str, Any] | Sequence[Mapping[str, Any]], *,
          config: Config | str | Path | Mapping[str, Any] | None = None,
          tolerance_s: float = 1.0, executor: Executor | None = None,
          max_workers: int | None = None, progress: Progress | None = None,
          errors: str = "raise") -> pd.DataFrame:
    """Score every combination of settings on every recording against its reference.

    Parameters
    ----------
    recordings : list or dict
        Nights, anything :func:`detector.tuning.results.detect_movements` takes without a sampling
        rate (CSV/Parquet paths, :class:`detector.sim.night.SimulatedNight`, :class:`Recording`,
        DataFrames with a time column; wrap an array in ``Recording.from_array``), as a list
        (named by file name, ``<scenario>-seed<seed>`` for simulated nights, else
        ``recording<i>``; repeated names get ``#<i>``) or a ``{name: recording}`` dict.
    references : list, dict or None
        One reference scoring per recording (same order, or a dict with the same names): an
        event table (``start_s`` in seconds from the recording's first sample, ``kind`` in
        twitch/lm/sustained, optional ``plm``), a CSV path (read with
        :func:`detector.io.tables.read_events`), a :class:`detector.score.reference.Reference`
        (its ``events``, scored by its rules first when the file had no PLM flags; its
        respiratory events are given to the detection, so that respiratory-related LMs are
        excluded from PLM on both sides), or None to use a simulated night's ``truth``.
        ``references=None`` means None for every recording. All references are read and
        checked before any detection starts.
    grid : dict or list of dict
        ``{setting: [values]}`` (every combination: the Cartesian product; a single value
        that is not a list counts as one value) or a list of ``{setting: value}`` dicts (those
        combinations only; a setting missing from a dict keeps the value of ``config``, and its
        cell in the result is None). Setting names as in
        :meth:`detector.config.Config.with_values`: ``on_factor``, ``envelope__merge_gap_s``,
        ``rules`` (``"wasm2016"``, ``"aasm2012"``), ``imi_min_s``, ``clean__max_interp_s`` ...
        Every combination is checked before any work: an unknown name or a bad value raises.
    config : Config, str, Path or dict, optional
        Settings the combinations change (default WASM 2016 defaults).
    tolerance_s : float
        Largest onset difference (s, inclusive) at which a detected event matches a reference
        event.
    executor : concurrent.futures.Executor, optional
        Where the recordings run, one task each (``ThreadPoolExecutor``, ``ProcessPoolExecutor``,
        dask's ``client.get_executor()`` ...). It is not shut down. A process pool of your own
        should not fork (the Linux default before Python 3.14) a process that has analysed a
        night already: create it with
        ``mp_context=multiprocessing.get_context("forkserver")``.
    max_workers : int, optional
        Without ``executor``: processes of a ``ProcessPoolExecutor`` started by
        ``forkserver`` (``spawn`` on Windows), so a script needs the
        ``if __name__ == "__main__":`` guard; default ``min(len(recordings),
        os.cpu_count())``. 1 runs everything in this process (no pool, no guard needed).
    progress : callable, optional
        Called with a line of text as each recording finishes.
    errors : {"raise", "keep"}
        When a recording fails (unreadable file, bad data), the others still run. ``"raise"``
        (default) then raises :class:`InputError` naming the failed recordings and why; the
        other recordings' rows are on the exception's ``partial`` attribute. ``"keep"`` returns
        every row with an extra ``error`` column: the message on the failed recording's rows
        (whose numbers are NaN), None elsewhere.

    Returns
    -------
    DataFrame
        Tidy: one row per (recording, combination, kind), in recording, grid and kind order.
        Columns ``recording``, one per grid setting (named and valued as given), ``kind``
        (``twitch``, ``lm``, ``sustained``, ``plm`` = events flagged PLM on both sides,
        ``all`` = any kind), then ``n_true``, ``n_detected``, ``tp``, ``fp``, ``fn``,
        ``precision``, ``recall``, ``f1``, ``mean_onset_error_s``, ``mean_abs_onset_error_s``
        (see :func:`detector.tuning.evaluate.compare_detection`) and, the same on every kind row of
        a (recording, combination): ``plm_index_true``, ``plm_index_detected`` (PLMs per hour of
        ``rest_h``), ``plm_index_error`` (detected - true, per hour) and ``rest_h`` (hours
        analysed: recording minus gaps).

    Raises
    ------
    ConfigError
        Before any work, on an unknown setting, a bad value or a repeated combination.
    InputError
        Before any work, on a bad or missing reference; after all recordings ran, when one
        failed and ``errors="raise"``.
    RuntimeError
        When the worker processes of the default pool cannot start (see ``max_workers``).
    """
    if errors not in ("raise", "keep"):
        raise ValueError(f"errors={errors!r}: expected 'raise' or 'keep'")
    tol = float(tolerance_s) if isinstance(tolerance_s, (int, float, np.number)) else math.nan
    if not (math.isfinite(tol) and tol >= 0):
        raise ValueError(f"tolerance_s={tolerance_s!r}: expected a finite number of seconds >= 0")
    if max_workers is not None and (isinstance(max_workers, bool) or
                                    not isinstance(max_workers, (int, np.integer)) or
                                    max_workers < 1):
        raise ValueError(f"max_workers={max_workers!r}: expected a whole number >= 1")
    base = as_config(config)
    names, combos = _combinations(grid)
    configs = []
    for combo in combos:
        try:
            configs.append(base.with_values(**combo))
        except ConfigError as exc:
            raise ConfigError(f"sweep grid {combo}: {exc}") from None
    order = _run_order(configs)
    pairs = _named(recordings)
    refs = _references(pairs, references)
    truths = [_truth(n, d, r) for (n, d), r in zip(pairs, refs)]
    tasks = [_Task(k, n, d, t, tuple(configs), order, tol)
             for k, ((n, d), t) in enumerate(zip(pairs, truths))]

    outcomes: list[tuple[pd.DataFrame | None, str | None]] = [(None, None)] * len(tasks)
    say = progress or (lambda _msg: None)

    def collect(result: tuple[int, pd.DataFrame | None, str | None], done: int) -> None:
        k, rows, message = result
        outcomes[k] = (rows, message)
        status = f"failed: {message}" if message else f"{len(combos)} combinations scored"
        say(f"sweep: {tasks[k].name}: {status} ({done}/{len(tasks)})")

    workers = (int(max_workers) if max_workers is not None
               else max(1, min(len(tasks), os.cpu_count() or 1)))
    if executor is None and workers == 1:
        for done, task in enumerate(tasks, 1):
            collect(_score_recording(task), done)
    elif executor is not None:
        _run_all(executor, tasks, collect)
    else:
        try:
            context = pool_context([__name__])
            with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
                _run_all(pool, tasks, collect)
        except BrokenProcessPool as exc:
            raise RuntimeError(
                "sweep: the worker processes stopped before finishing. A script that calls "
                "sweep() must do so under `if __name__ == \"__main__\":` (the workers import "
                "it); otherwise pass max_workers=1 or executor=ThreadPoolExecutor()") from exc

    table = _assemble(pairs, names, combos, outcomes, keep_errors=errors == "keep")
    failed = [(tasks[k].name, m) for k, (_, m) in enumerate(outcomes) if m]
    if failed and errors == "raise":
        ok = len(tasks) - len(failed)
        exc = InputError("sweep: " + "; ".join(f"recording {n!r} failed: {m}" for n, m in failed)
                         + f" ({ok} other recording(s) scored: their rows are in this error's "
                         "'partial' attribute; pass errors='keep' to get every row with an "
                         "'error' column)")
        exc.partial = table  # type: ignore[attr-defined]
        raise exc
    return table


def _run_all(executor: Executor, tasks: list[_Task],
             collect: Callable[[tuple[int, pd.DataFrame | None, str | None], int], None]) -> None:
    futures = [executor.submit(_score_recording, t) for t in tasks]
    for done, fut in enumerate(as_completed(futures), 1):
        collect(fut.result(), done)


def _assemble(pairs: list[tuple[Any, Any]], names: list[str], combos: list[dict[str, Any]],
              outcomes: list[tuple[pd.DataFrame | None, str | None]], keep_errors: bool
              ) -> pd.DataFrame:
    """The tidy table: recording, settings, kind, scores (and ``error``)."""
    n_rows = len(ROWS)
    parts: list[pd.DataFrame] = []
    for (name, _), (rows, message) in zip(pairs, outcomes):
        if rows is None:
            if not keep_errors:
                continue
            rows = pd.DataFrame({"kind": list(ROWS) * len(combos),
                                 "combination": np.repeat(np.arange(len(combos)), n_rows)})
            rows = rows.reindex(columns=["kind", *SWEEP_COLUMNS, "combination"])
        rows = rows.assign(recording=name)
        if keep_errors:
            rows["error"] = pd.Series([message] * len(rows), index=rows.index, dtype=object)
        parts.append(rows)
    columns = ["recording", *names, "kind", *SWEEP_COLUMNS] + (["error"] if keep_errors else [])
    if not parts:
        return pd.DataFrame(columns=columns)
    table = pd.concat(parts, ignore_index=True)
    combo_of = table.pop("combination").to_numpy(int)
    for name in names:
        values = [combos[k].get(name) for k in combo_of]
        table[name] = pd.Series(values, dtype=object if any(v is None for v in values) else None)
    return table[columns]


# --------------------------------------------------------------------------------------------
# Summaries
# --------------------------------------------------------------------------------------------

def setting_columns(df: pd.DataFrame) -> list[str]:
    """The setting columns of a sweep table (every column that is not a result)."""
    return [c for c in df.columns if c not in _NOT_SETTINGS]


def lower_is_better(metric: str) -> bool:
    """Error metrics rank by their size (closest to 0 first); the others largest first."""
    return "error" in metric


def _ratio(num: pd.Series, den: pd.Series) -> pd.Series:
    num, den = num.astype(float), den.astype(float)
    return (num / den.where(den > 0)).astype(float)


def summarize_sweep(df: pd.DataFrame, kind: str = "lm", metric: str = "f1") -> pd.DataFrame:
    """One row per combination of a sweep, best first.

    Parameters
    ----------
    df : DataFrame
        A :func:`sweep` table (or one built by hand with ``kind``, ``tp``, ``fp``, ``fn`` and
        setting columns). Rows with an ``error`` are left out.
    kind : str
        ``twitch``, ``lm``, ``sustained``, ``plm`` or ``all``.
    metric : str
        Column of the summary to rank by. Error metrics (names containing ``error``) rank by
        absolute value, smallest first; the others largest first. NaN ranks last.

    Returns
    -------
    DataFrame
        The setting columns, then (those whose inputs are present) ``n_recordings``;
        summed ``n_true``, ``n_detected``, ``tp``, ``fp``, ``fn``; pooled ``precision``
        (tp / (tp + fp)), ``recall`` (tp / (tp + fn)) and ``f1`` (2 tp / (2 tp + fp + fn))
        from those sums, as a study reports them (NaN for a zero denominator);
        ``mean_precision``, ``mean_recall``, ``mean_f1`` (means over the recordings, NaN
        skipped); ``mean_onset_error_s`` (mean over all matched events: per-recording means
        weighted by tp); ``plm_index_error`` (mean over recordings of detected - true, per
        hour) and ``abs_plm_index_error`` (mean of its absolute value).

    Raises
    ------
    ValueError
        On an unknown ``kind``, a kind with no rows, or a ``metric`` the summary lacks.
    """
    if kind not in ROWS:
        raise ValueError(f"kind={kind!r}: expected one of {', '.join(ROWS)}")
    if "kind" not in df.columns:
        raise ValueError("sweep table: no 'kind' column; expected the table sweep() returns")
    rows = df[df["kind"] == kind]
    if "error" in rows.columns:
        rows = rows[rows["error"].isna()]
    if rows.empty:
        raise ValueError(f"sweep table: no rows of kind {kind!r} without an error")
    settings = setting_columns(df)
    extra: dict[str, Any] = {"_one": 1}
    if {"mean_onset_error_s", "tp"} <= set(rows.columns):
        err = rows["mean_onset_error_s"].astype(float)
        weight = rows["tp"].astype(float).where(err.notna(), 0.0)
        extra.update(_w=weight, _werr=err.fillna(0.0) * weight)
    if "plm_index_error" in rows.columns:
        extra["_abs_plm"] = rows["plm_index_error"].astype(float).abs()
    rows = rows.assign(**extra)
    groups = rows.groupby(settings or "_one", dropna=False, sort=False)
    out = groups.size().rename("n_recordings").to_frame()
    if "tp" in rows.columns:
        out["n_recordings"] = groups["tp"].count()
    for col in ("n_true", "n_detected", "tp", "fp", "fn"):
        if col in rows.columns:
            out[col] = groups[col].sum(min_count=1)
    if {"tp", "fp"} <= set(out.columns):
        out["precision"] = _ratio(out["tp"], out["tp"] + out["fp"])
    if {"tp", "fn"} <= set(out.columns):
        out["recall"] = _ratio(out["tp"], out["tp"] + out["fn"])
    if {"tp", "fp", "fn"} <= set(out.columns):
        out["f1"] = _ratio(2 * out["tp"], 2 * out["tp"] + out["fp"] + out["fn"])
    for col in ("precision", "recall", "f1"):
        if col in rows.columns:
            out[f"mean_{col}"] = groups[col].mean()
    if "_w" in rows.columns:
        out["mean_onset_error_s"] = _ratio(groups["_werr"].sum(), groups["_w"].sum())
    if "_abs_plm" in rows.columns:
        out["plm_index_error"] = groups["plm_index_error"].mean()
        out["abs_plm_index_error"] = groups["_abs_plm"].mean()
    out = out.reset_index()
    if not settings:
        out = out.drop(columns="_one")
    if metric not in out.columns or metric in settings:
        raise ValueError(f"metric={metric!r}: expected one of "
                         f"{', '.join(c for c in out.columns if c not in settings)}")
    key = out[metric].astype(float)
    key = key.abs() if lower_is_better(metric) else -key
    order = np.argsort(key.fillna(np.inf).to_numpy(), kind="stable")
    return out.iloc[order].reset_index(drop=True)


def plain_value(value: Any) -> Any:
    """numpy scalars -> Python values, so that :class:`Config` accepts them."""
    return value.item() if isinstance(value, np.generic) else value


def is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA


def best_params(df: pd.DataFrame, kind: str = "lm", metric: str = "f1") -> dict[str, Any]:
    """The settings of the best combination of a sweep.

    Parameters
    ----------
    df : DataFrame
        A :func:`sweep` table.
    kind, metric : str
        As :func:`summarize_sweep` (default: pooled F1 of leg movements).

    Returns
    -------
    dict
        ``{setting: value}``, ready for ``results.rethreshold(**best)`` and
        ``Config().with_values(**best)``; settings left at the base configuration (None in
        the table) are left out.

    Raises
    ------
    ValueError
        When no combination has a value of ``metric``.
    """
    summary = summarize_sweep(df, kind=kind, metric=metric)
    if is_missing(plain_value(summary[metric].iloc[0])):
        raise ValueError(f"sweep table: no combination has a {metric} for kind {kind!r}")
    top = {c: plain_value(summary[c].iloc[0]) for c in setting_columns(df)}  # column dtypes kept
    return {c: v for c, v in top.items() if not is_missing(v)}
