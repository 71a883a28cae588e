"""Detected events against a reference scoring: scores, matched pairs and every error to inspect.

Events are matched one-to-one by onset with :func:`detector.tuning.evaluate.match_onsets` (closest
pairs first, ``tolerance_s`` inclusive) and scored with
:func:`detector.tuning.evaluate.compare_detection`. Both tables are put in onset order first, so
equally close candidates are resolved by time, not by row order: the earlier reference onset is
matched first, and of two detections equally far from it the earlier one is taken.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable

import numpy as np
import pandas as pd

from detector.tuning.evaluate import ROWS, compare_detection, match_onsets
from detector.io.tables import check_event_table
from detector.io.tables import parse_bool
from detector.io.recording import InputError

__all__ = ["compare_events", "EventComparison", "MATCH_COLUMNS", "ERROR_COLUMNS"]

#: Columns of :attr:`EventComparison.matches`.
MATCH_COLUMNS = ["kind", "ref_index", "det_index", "ref_start_s", "det_start_s", "onset_error_s",
                 "ref_duration_s", "det_duration_s"]
#: Columns of :attr:`EventComparison.errors`.
ERROR_COLUMNS = ["error", "kind", "event_kind", "start_s", "end_s", "duration_s", "index",
                 "nearest_other_s", "nearest_other_kind", "at_gap"]
_KINDS = ("twitch", "lm", "sustained")
#: Seconds shown either side of an error by :meth:`EventComparison.plot` (as ``plot_event``).
_PAD_S = 5.0


def _seconds(raw: pd.DataFrame, col: str, name: str, n: int) -> np.ndarray:
    """Optional column of seconds; empty cells are NaN, anything else non-numeric is refused."""
    if col not in raw.columns:
        return np.full(n, np.nan)
    values = pd.to_numeric(raw[col], errors="coerce").to_numpy(dtype=float)
    given = (raw[col].notna() & (raw[col].astype(str).str.strip() != "")).to_numpy()
    bad = np.flatnonzero(np.isinf(values) | (np.isnan(values) & given))
    if bad.size:
        raise InputError(f"{name}, row {bad[0]}, column '{col}': {raw[col].iloc[bad[0]]!r}; "
                         "expected a number of seconds")
    return values


def _table(obj: Any, name: str) -> pd.DataFrame:
    """``start_s``, ``kind``, ``plm``, ``end_s``, ``duration_s``, ``index`` in onset order."""
    raw = obj if isinstance(obj, pd.DataFrame) else getattr(obj, "events", None)
    if not isinstance(raw, pd.DataFrame):
        raise InputError(f"{name}: expected an events table (DataFrame with start_s and kind) or "
                         f"a result with .events, got {type(obj).__name__}")
    base = check_event_table(raw, name)
    bad = np.flatnonzero(~np.isin(base["kind"].to_numpy(), _KINDS))
    if bad.size:
        raise InputError(f"{name}, row {bad[0]}, column 'kind': {raw['kind'].iloc[bad[0]]!r}; "
                         f"expected {', '.join(_KINDS)}")
    start = base["start_s"].to_numpy()
    end, dur = _seconds(raw, "end_s", name, len(base)), _seconds(raw, "duration_s", name, len(base))
    end = np.where(np.isnan(end), start + dur, end)
    dur = np.where(np.isnan(dur), end - start, dur)
    neg = np.flatnonzero(dur < 0)
    if neg.size:
        raise InputError(f"{name}, row {neg[0]}, column 'end_s' or 'duration_s': the event ends "
                         f"before its start_s {start[neg[0]]:g}; expected end_s >= start_s")
    at_gap = (parse_bool(raw["at_gap"], column="at_gap", where=lambda k: f"{name}, row {k}")
              if "at_gap" in raw.columns else np.zeros(len(base), bool))
    out = base.assign(end_s=end, duration_s=dur, index=np.arange(len(base)), at_gap=at_gap)
    return out.sort_values("start_s", kind="mergesort").reset_index(drop=True)


def _mask(t: dict[str, np.ndarray], row: str) -> np.ndarray:
    """Positions of the events of one row (``twitch``, ``lm``, ``sustained``, ``plm``, ``all``)."""
    if row == "all":
        return np.arange(len(t["start_s"]))
    return np.flatnonzero(t["plm"] if row == "plm" else t["kind"] == row)


def _errors(t: dict[str, np.ndarray], pos: np.ndarray, error: str, row: str,
            other: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Error rows of the events at ``pos``, with the onset and kind of the closest other event
    (either side; the earlier one when both are as close)."""
    on_s, o = t["start_s"][pos], other["start_s"]
    if o.size:
        j = np.searchsorted(o, on_s)
        lo, hi = np.clip(j - 1, 0, o.size - 1), np.clip(j, 0, o.size - 1)
        pick = np.where(np.abs(o[hi] - on_s) < np.abs(on_s - o[lo]), hi, lo)
        near_s, near_kind = o[pick], other["kind"][pick].astype(object)
    else:
        near_s, near_kind = np.full(pos.size, np.nan), np.full(pos.size, None, dtype=object)
    return {"error": np.full(pos.size, error, dtype=object),
            "kind": np.full(pos.size, row, dtype=object), "event_kind": t["kind"][pos],
            "start_s": on_s, "end_s": t["end_s"][pos], "duration_s": t["duration_s"][pos],
            "index": t["index"][pos], "nearest_other_s": near_s, "nearest_other_kind": near_kind,
            "at_gap": t["at_gap"][pos]}


def _stack(parts: list[dict[str, np.ndarray]], columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame({c: np.concatenate([p[c] for p in parts]) for c in columns},
                        columns=columns)


@dataclass(frozen=True, eq=False)
class EventComparison:
    """Detected events against a reference scoring (see :func:`compare_events`).

    Attributes
    ----------
    scores : DataFrame
        :func:`detector.tuning.evaluate.compare_detection`'s table, one row per kind compared.
    matches : DataFrame
        One row per matched pair per kind row, columns :data:`MATCH_COLUMNS`; ``ref_index`` and
        ``det_index`` are row positions (``.iloc``) in the tables given; ``onset_error_s`` is
        detected minus reference onset (positive = late).
    errors : DataFrame
        One row per miss and per false alarm in the ``twitch``, ``lm``, ``sustained`` and ``plm``
        rows, in onset order, columns :data:`ERROR_COLUMNS`: ``error`` (``miss`` = a reference
        event without a match, ``false_alarm`` = a detected one without), ``kind`` (the row),
        ``event_kind`` (the event's own kind), ``start_s``, ``end_s``, ``duration_s`` (NaN when
        the reference gives neither end_s nor duration_s), ``index`` (row position in its own
        table), ``nearest_other_s`` (onset of the closest event of any kind on the other side,
        the earlier of two as close; NaN if none), ``nearest_other_kind`` (its kind, None
        if none) and ``at_gap`` (the event touches a gap in the recording, from the table's own
        ``at_gap`` column: such movements are only partly seen, and a reference that leaves
        out what touches a gap counts them as false alarms).
    tolerance_s : float
        Largest onset difference of a match, in seconds (inclusive).
    reference, detected : DataFrame
        Both tables as compared (onset order; ``index`` is the row position given).
    """

    scores: pd.DataFrame
    matches: pd.DataFrame
    errors: pd.DataFrame
    tolerance_s: float
    reference: pd.DataFrame
    detected: pd.DataFrame

    def summary(self) -> pd.DataFrame:
        """The scores indexed by kind, rates and onset errors rounded to 3 decimals."""
        return self.scores.set_index("kind").round(3)

    def f1(self, kind: str = "lm") -> float:
        """F1 of one row of the scores (``twitch``, ``lm``, ``sustained``, ``plm``, ``all``)."""
        hit = self.scores.loc[self.scores["kind"] == kind, "f1"]
        if hit.empty:
            raise ValueError(f"kind={kind!r}: not compared; rows are {', '.join(self.scores.kind)}")
        return float(hit.iloc[0])

    def __repr__(self) -> str:
        f1 = ", ".join(f"{r.kind} {'-' if math.isnan(r.f1) else format(r.f1, '.2f')}"
                       for r in self.scores.itertuples())
        n_miss = int((self.errors["error"] == "miss").sum())
        return (f"<EventComparison: tolerance {self.tolerance_s:g} s; F1 {f1}; {n_miss} misses, "
                f"{len(self.errors) - n_miss} false alarms>")

    def describe_error(self, i: int) -> str:
        """One line about error row ``i``, e.g. ``lm miss at 100.00 s, nearest detected twitch at
        +0.10 s``."""
        e = self.errors.iloc[i]
        side = "detected" if e.error == "miss" else "reference"
        text = f"{e.kind} {e.error.replace('_', ' ')} at {e.start_s:.2f} s"
        if pd.isna(e.nearest_other_kind):
            return f"{text}, no {side} event"
        return (f"{text}, nearest {side} {e.nearest_other_kind} at "
                f"{e.nearest_other_s - e.start_s:+.2f} s")

    def plot(self, results: Any, i: int) -> Any:
        """Draw error row ``i`` over the signal of ``results``, with the onsets around it.

        Parameters
        ----------
        results : NightResult
            The analysis whose recording the events come from.
        i : int
            Row position in :attr:`errors`.

        Returns
        -------
        Figure
            :func:`detector.report.event_plots.plot_event` of the error (x in seconds from its
            onset, from 5 s before to 5 s after it), with reference onsets in that window as black
            dashed lines and detected onsets as lines in the colour of their kind.
        """
        from matplotlib.lines import Line2D

        from detector.report.plots import KIND_COLOURS, new_figure
        from detector.report.event_plots import plot_event

        if not -len(self.errors) <= i < len(self.errors):
            raise IndexError(f"error row {i}: there are {len(self.errors)} errors")
        e = self.errors.iloc[i]
        start_s = float(e.start_s)
        end_s = float(e.end_s) if np.isfinite(e.end_s) else start_s
        row = pd.Series({"start_s": start_s, "end_s": end_s, "duration_s": end_s - start_s,
                         "kind": e.event_kind, "plm": e.kind == "plm"})
        # plot_event's layout, 1 in wider for the longer title
        fig = new_figure(6.0, 3.2, top_in=0.75, bottom_in=0.5, left_in=0.7, right_in=0.15)
        ax = fig.add_subplot()
        plot_event(results, row, ax=ax)
        ax.set_title(self.describe_error(i), fontsize=9, loc="left")
        lo, hi = start_s - _PAD_S, end_s + _PAD_S
        styles: dict[str, dict[str, Any]] = {}
        for table, side in ((self.reference, "reference"), (self.detected, "detected")):
            near = table[(table["start_s"] >= lo) & (table["start_s"] <= hi)]
            for on_s, kind in zip(near["start_s"], near["kind"]):
                label = "reference onset" if side == "reference" else f"detected {kind} onset"
                styles[label] = ({"color": "black", "linestyle": "--"} if side == "reference"
                                 else {"color": KIND_COLOURS.get(kind, "#999999"),
                                       "linestyle": "-"})
                ax.axvline(on_s - start_s, linewidth=1.2, gid=f"{side}_onset", **styles[label])
        first = ax.get_legend()  # plot_event's, kept next to the legend of the onsets
        if styles:
            ax.legend(handles=[Line2D([], [], linewidth=1.2, label=k, **v)
                               for k, v in styles.items()], fontsize=7, frameon=False,
                      loc="upper right")
            if first is not None:
                ax.add_artist(first)
        return fig


def compare_events(detected: Any, reference: Any, tolerance_s: float = 1.0, *,
                   kinds: Iterable[str] | None = None) -> EventComparison:
    """Compare detected events with a reference scoring, kind by kind.

    Parameters
    ----------
    detected : DataFrame or NightResult
        Event table (``start_s``, ``kind``; optional ``end_s``, ``duration_s``, ``plm``), or a
        result with such a table as ``.events``.
    reference : DataFrame or NightResult
        The reference scoring, the same way; times in seconds from the same origin.
    tolerance_s : float
        Largest onset difference of a match, in seconds (inclusive).
    kinds : iterable of str, optional
        Rows to compare among ``twitch``, ``lm``, ``sustained``, ``plm`` (events with ``plm``
        true on both sides, whatever their kind) and ``all`` (any kind); default all of them.
        ``all`` has scores and matches but no error rows.

    Returns
    -------
    EventComparison
        Precision is NaN for a row with nothing detected, recall NaN with no reference event,
        F1 NaN when both are empty.

    Raises
    ------
    InputError
        When a table lacks ``start_s`` or ``kind``, or has a bad onset, end, duration, kind or
        ``plm`` value (the message names the row and the column).
    ValueError
        When ``tolerance_s`` is negative or not finite, or ``kinds`` names an unknown row.
    """
    tol = float(tolerance_s) if isinstance(tolerance_s, (int, float, np.number)) else math.nan
    if not (math.isfinite(tol) and tol >= 0):
        raise ValueError(f"tolerance_s={tolerance_s!r}: expected a finite number >= 0")
    rows = list(ROWS) if kinds is None else [str(k).strip().lower() for k in
                                             ([kinds] if isinstance(kinds, str) else kinds)]
    unknown = [k for k in rows if k not in ROWS]
    if unknown or not rows:
        raise ValueError(f"kinds={kinds!r}: expected one or more of {', '.join(ROWS)}")
    det = _table(detected, "detected events")
    ref = _table(reference, "reference events")
    cols = ["start_s", "kind", "plm"]
    scores = compare_detection(det[cols], ref[cols], tolerance_s=tol)
    scores = scores[scores["kind"].isin(rows)].reset_index(drop=True)
    ra = {c: ref[c].to_numpy() for c in ref.columns}
    da = {c: det[c].to_numpy() for c in det.columns}
    ra["kind"], da["kind"] = ra["kind"].astype(object), da["kind"].astype(object)
    matches, errors = [], []
    for row in (r for r in ROWS if r in rows):
        rp, dp = _mask(ra, row), _mask(da, row)
        ti, di = match_onsets(ra["start_s"][rp], da["start_s"][dp], tol)
        a, b = rp[ti], dp[di]
        by = np.argsort(a)  # positions in onset order
        a, b = a[by], b[by]
        matches.append({"kind": np.full(a.size, row, dtype=object), "ref_index": ra["index"][a],
                        "det_index": da["index"][b], "ref_start_s": ra["start_s"][a],
                        "det_start_s": da["start_s"][b],
                        "onset_error_s": da["start_s"][b] - ra["start_s"][a],
                        "ref_duration_s": ra["duration_s"][a],
                        "det_duration_s": da["duration_s"][b]})
        if row != "all":
            errors.append(_errors(ra, np.setdiff1d(rp, a), "miss", row, da))
            errors.append(_errors(da, np.setdiff1d(dp, b), "false_alarm", row, ra))
    errors = errors or [_errors(ra, np.zeros(0, int), "miss", "lm", da)]  # kinds=["all"]
    error_table = _stack(errors, ERROR_COLUMNS).sort_values("start_s", kind="mergesort")
    return EventComparison(scores=scores, matches=_stack(matches, MATCH_COLUMNS),
                           errors=error_table.reset_index(drop=True), tolerance_s=tol,
                           reference=ref, detected=det)
