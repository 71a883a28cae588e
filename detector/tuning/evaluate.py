"""How well detected events match a reference (ground truth or a human scorer).

Events are matched one-to-one by onset: a detected and a true event match when their onsets are at
most ``tolerance_s`` apart (inclusive); among competing pairs the closest are matched first. The
table has one row per event kind (``twitch``, ``lm``, ``sustained``), one for PLMs (events with
``plm`` true on both sides, whatever their kind) and one for all events regardless of kind.
"""

from __future__ import annotations

from collections.abc import Collection

import math
from typing import Any

import numpy as np
import pandas as pd

from detector.io.tables import check_event_table, parse_bool

__all__ = ["compare_detection", "plm_index_error", "format_comparison",
           "match_onsets", "COMPARISON_COLUMNS"]

#: Columns of :func:`compare_detection`'s table.
COMPARISON_COLUMNS = ["kind", "n_true", "n_detected", "tp", "fp", "fn", "precision", "recall",
                      "f1", "mean_onset_error_s", "mean_abs_onset_error_s"]

#: Rows of the table, in order.
ROWS = ("twitch", "lm", "sustained", "plm", "all")
#: The rows that are event kinds.
KINDS_OF_ROWS = ("twitch", "lm", "sustained")

#: Slack on the tolerance, in seconds, so that onsets written in decimal seconds that are exactly
#: ``tolerance_s`` apart match (``10.1 - 9.1 > 1.0`` in binary floating point).
_EPS_S = 1e-9


def match_onsets(true_s: np.ndarray, detected_s: np.ndarray, tolerance_s: float
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Match onsets one-to-one within ``tolerance_s``, closest pairs first.

    Parameters
    ----------
    true_s, detected_s : ndarray of float
        Onsets in seconds (any order).
    tolerance_s : float
        Largest onset difference of a match, in seconds (inclusive).

    Returns
    -------
    true_idx, det_idx : ndarray of int
        Indices into ``true_s`` and ``detected_s`` of the matched pairs.
    """
    t = np.asarray(true_s, dtype=float)
    d = np.asarray(detected_s, dtype=float)
    if t.size == 0 or d.size == 0:
        return np.zeros(0, int), np.zeros(0, int)
    order = np.argsort(d, kind="stable")
    ds = d[order]
    lo = np.searchsorted(ds, t - tolerance_s - _EPS_S, side="left")
    hi = np.searchsorted(ds, t + tolerance_s + _EPS_S, side="right")
    counts = hi - lo
    ti = np.repeat(np.arange(t.size), counts)
    if ti.size == 0:
        return np.zeros(0, int), np.zeros(0, int)
    # positions lo[i] .. hi[i]-1 for every true onset i, without a Python loop
    starts = np.repeat(lo - np.concatenate(([0], np.cumsum(counts)[:-1])), counts)
    dj = order[starts + np.arange(ti.size)]
    dist = np.abs(d[dj] - t[ti])
    keep = dist <= tolerance_s + _EPS_S
    ti, dj, dist = ti[keep], dj[keep], dist[keep]
    by = np.lexsort((dj, ti, dist))  # closest first; ties by true then detected index
    used_t = np.zeros(t.size, bool)
    used_d = np.zeros(d.size, bool)
    out_t: list[int] = []
    out_d: list[int] = []
    for i, j in zip(ti[by].tolist(), dj[by].tolist()):
        if not used_t[i] and not used_d[j]:
            used_t[i] = used_d[j] = True
            out_t.append(i)
            out_d.append(j)
    return np.asarray(out_t, int), np.asarray(out_d, int)


def _stats(n_true: int, n_det: int, tp: int, errors: np.ndarray) -> dict[str, Any]:
    fp, fn = n_det - tp, n_true - tp
    return {
        "n_true": n_true, "n_detected": n_det, "tp": tp, "fp": fp, "fn": fn,
        "precision": tp / n_det if n_det else math.nan,
        "recall": tp / n_true if n_true else math.nan,
        "f1": 2 * tp / (2 * tp + fp + fn) if (2 * tp + fp + fn) else math.nan,
        "mean_onset_error_s": float(errors.mean()) if errors.size else math.nan,
        "mean_abs_onset_error_s": float(np.abs(errors).mean()) if errors.size else math.nan,
    }


def compare_detection(detected: pd.DataFrame, truth: pd.DataFrame, *, tolerance_s: float = 1.0,
                      scored_kinds: Collection[str] | None = None) -> pd.DataFrame:
    """Precision, recall and F1 of detected events against true ones, per kind.

    Parameters
    ----------
    detected, truth : DataFrame
        Event tables with ``start_s`` (onset, s) and ``kind`` (``twitch``, ``lm``,
        ``sustained``); optional ``plm`` (bool; missing means False). Both in seconds from the
        same origin.
    tolerance_s : float
        Largest onset difference (s, inclusive) at which a detected event matches a true one.
    scored_kinds : collection of str, optional
        The kinds the reference scores (default: all). A polysomnography scoring marks leg
        movements, not twitches: against it, a kind it does not score has no row and its
        detected events are left out of ``all`` (they would count as false alarms otherwise).

    Returns
    -------
    DataFrame
        One row per ``kind`` in ``twitch``, ``lm``, ``sustained``, ``plm`` (events with ``plm``
        true on both sides, matched whatever their kind) and ``all`` (matched regardless of
        kind); columns ``n_true``, ``n_detected``, ``tp``, ``fp``, ``fn``, ``precision``
        (tp / n_detected; NaN with nothing detected), ``recall`` (tp / n_true; NaN with nothing
        true), ``f1`` (2 tp / (2 tp + fp + fn); NaN when both sides are empty),
        ``mean_onset_error_s`` (mean detected - true onset of the matches: positive = late) and
        ``mean_abs_onset_error_s``.

    Raises
    ------
    InputError
        When a table lacks ``start_s`` or ``kind``, or has a non-numeric onset.
    ValueError
        When ``tolerance_s`` is negative or not finite.
    """
    if not (math.isfinite(tolerance_s) and tolerance_s >= 0):
        raise ValueError(f"tolerance_s={tolerance_s!r}: expected a finite number >= 0")
    det = check_event_table(detected, "detected events")
    tru = check_event_table(truth, "true events")
    if scored_kinds is not None:
        scored = set(scored_kinds)
        det = det[det["kind"].isin(scored)].reset_index(drop=True)
        tru = tru[tru["kind"].isin(scored)].reset_index(drop=True)
    rows = []
    for row in ROWS:
        if scored_kinds is not None and row in KINDS_OF_ROWS and row not in scored:
            continue
        if row == "all":
            dm, tm = np.ones(len(det), bool), np.ones(len(tru), bool)
        elif row == "plm":
            dm, tm = det["plm"].to_numpy(), tru["plm"].to_numpy()
        else:
            dm, tm = (det["kind"] == row).to_numpy(), (tru["kind"] == row).to_numpy()
        t_on = tru["start_s"].to_numpy()[tm]
        d_on = det["start_s"].to_numpy()[dm]
        ti, di = match_onsets(t_on, d_on, tolerance_s)
        rows.append({"kind": row, **_stats(int(tm.sum()), int(dm.sum()), len(ti),
                                           d_on[di] - t_on[ti])})
    return pd.DataFrame(rows, columns=COMPARISON_COLUMNS)


def plm_index_error(detected: pd.DataFrame, truth: pd.DataFrame, rest_h: float | None = None
                    ) -> dict[str, Any]:
    """How far the detected PLM count and index are from the true ones.

    Parameters
    ----------
    detected, truth : DataFrame
        Event tables with a ``plm`` column (missing means no PLMs).
    rest_h : float, optional
        Hours of rest (recording time minus gaps) the index is computed over. Without it the
        indices are None; the relative error does not need it.

    Returns
    -------
    dict
        ``n_plm_true``, ``n_plm_detected``, ``rest_h``, ``plm_index_true`` and
        ``plm_index_detected`` (PLMs per hour; None without ``rest_h``), ``relative_error``
        ((detected - true) / true; None when the truth has no PLM).
    """
    if rest_h is not None and not (math.isfinite(rest_h) and rest_h > 0):
        raise ValueError(f"rest_h={rest_h!r}: expected a positive number of hours")
    n_det = int(parse_bool(detected["plm"], column="plm",
                           where=lambda k: f"detected events, row {k}").sum()) \
        if "plm" in detected.columns else 0
    n_true = int(parse_bool(truth["plm"], column="plm", where=lambda k: f"true events, row {k}"
                            ).sum()) if "plm" in truth.columns else 0
    return {
        "n_plm_true": n_true,
        "n_plm_detected": n_det,
        "rest_h": rest_h,
        "plm_index_true": n_true / rest_h if rest_h else None,
        "plm_index_detected": n_det / rest_h if rest_h else None,
        "relative_error": (n_det - n_true) / n_true if n_true else None,
    }


def _fmt(value: Any, spec: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return format(value, spec)


def format_comparison(table: pd.DataFrame, plm_err: dict[str, Any]) -> str:
    """A plain-text table of :func:`compare_detection` and :func:`plm_index_error` results."""
    head = ["kind", "true", "found", "TP", "FP", "FN", "precision", "recall", "F1",
            "onset err s", "|onset err| s"]
    lines = []
    for r in table.itertuples(index=False):
        lines.append([r.kind, str(r.n_true), str(r.n_detected), str(r.tp), str(r.fp), str(r.fn),
                      _fmt(r.precision, ".3f"), _fmt(r.recall, ".3f"), _fmt(r.f1, ".3f"),
                      _fmt(r.mean_onset_error_s, "+.2f"),
                      _fmt(getattr(r, "mean_abs_onset_error_s", math.nan), ".2f")])
    widths = [max(len(h), *(len(x[k]) for x in lines)) if lines else len(h)
              for k, h in enumerate(head)]
    out = ["  ".join(h.ljust(w) if k == 0 else h.rjust(w)
                     for k, (h, w) in enumerate(zip(head, widths)))]
    out.append("  ".join("-" * w for w in widths))
    for x in lines:
        out.append("  ".join(v.ljust(w) if k == 0 else v.rjust(w)
                             for k, (v, w) in enumerate(zip(x, widths))))
    e = plm_err
    out.append("")
    out.append(f"PLMs: {e['n_plm_detected']} detected, {e['n_plm_true']} true"
               + (f" (relative error {e['relative_error']:+.1%})"
                  if e.get("relative_error") is not None else " (relative error undefined: "
                  "no true PLM)"))
    if e.get("plm_index_true") is not None:
        out.append(f"PLM index: {e['plm_index_detected']:.1f}/h detected, "
                   f"{e['plm_index_true']:.1f}/h true over {e['rest_h']:g} h of rest")
    else:
        out.append("PLM index: give the hours of rest to compute it")
    return "\n".join(out)
