"""Night metrics from a PLM scoring: counts, indices per hour of rest, periodicity, IMI histograms.

Rest time is the recording minus gaps (lost data) minus the time spent in sustained movements
(turning over, getting up): an accelerometer cannot see sleep, so indices are per hour of rest,
not per hour of sleep as in polysomnography.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from detector.config import RULES, RulesConfig
from detector.score.plm import PlmScoring
from detector.kinds import TIME_EPS_S, kind_from_rules
from detector.io.recording import InputError

__all__ = [
    "night_metrics",
    "periodicity_index",
    "imi_histogram",
    "ln_imi_histogram",
    "events_per_hour",
    "PERIODICITY_MIN_IMIS",
]

#: Ferri et al. 2006 (Sleep 29:759-769): an IMI counts toward the periodicity index when it
#: belongs to a run of at least 3 consecutive IMIs inside the PLM interval range.
PERIODICITY_MIN_IMIS = 3

_S_PER_H = 3600.0
#: The shortest LM (WASM 2016 / AASM 2012: 0.5 s) sets the lower end of the ln(IMI) axis.
_LN_IMI_FLOOR_S = 0.5


def _candidate_imis(scoring: PlmScoring) -> np.ndarray:
    """IMIs of the candidate LMs in onset order (NaN where a chain starts afresh)."""
    ev = scoring.events
    if len(ev) == 0:
        return np.zeros(0)
    return ev.loc[ev["candidate"].to_numpy(dtype=bool), "imi_s"].to_numpy(dtype=float)


def periodicity_index(imi_s: np.ndarray, rules: RulesConfig = RULES["wasm2016"]) -> float | None:
    """Periodicity index (Ferri et al., Sleep 2006;29:759-769).

    Parameters
    ----------
    imi_s : ndarray
        Onset-to-onset intervals of consecutive candidate LMs in onset order, in seconds. NaN
        marks a candidate with no interval (the first one, or the first after a non-candidate
        LM): it ends a run of intervals and is not an interval itself.
    rules : RulesConfig
        ``imi_min_s``/``imi_max_s``: the periodic interval range (inclusive; WASM 2016 10-90 s).

    Returns
    -------
    float or None
        Number of IMIs belonging to runs of >= 3 consecutive IMIs within the range, divided by
        the number of IMIs; None when there is no IMI.
    """
    imi = np.asarray(imi_s, dtype=float)
    total = int(np.isfinite(imi).sum())
    if total == 0:
        return None
    in_range = (np.isfinite(imi) & (imi >= rules.imi_min_s - TIME_EPS_S)
                & (imi <= rules.imi_max_s + TIME_EPS_S))
    periodic = 0
    run = 0
    for flag in in_range.tolist() + [False]:
        if flag:
            run += 1
            continue
        if run >= PERIODICITY_MIN_IMIS:
            periodic += run
        run = 0
    return periodic / total


def _per_hour(n: int | None, hours: float) -> float | None:
    return None if n is None or not hours > 0 else n / hours


def _mean_or_none(values: pd.Series) -> float | None:
    return float(values.mean()) if len(values) else None


def night_metrics(scoring: PlmScoring, *, recording_s: float, gap_s: float,
                  sustained_s: float | None = None, excluded_s: float = 0.0) -> dict[str, Any]:
    """Counts and rates of one night.

    Parameters
    ----------
    scoring : PlmScoring
        Result of :func:`detector.score.plm.score_plm`.
    recording_s : float
        Length of the recording, gaps included, in seconds.
    gap_s : float
        Total time without data (gaps), in seconds.
    sustained_s : float, optional
        Time spent in sustained movements, in seconds; by default the summed duration of the
        ``sustained`` events.
    excluded_s : float
        Time with data that is not rest time either, in seconds: the sensor off the leg
        (:mod:`detector.detect.nonwear`) and time outside the rest window; left out like a gap.

    Returns
    -------
    dict
        ``recording_h``; ``rest_h`` (recording minus gaps, ``excluded_s`` and sustained
        movements, hours); ``gap_s``; counts ``n_twitch``, ``n_lm`` (events of kind ``lm``: 0.5-10
        s, a bilateral LM counted once), ``n_candidate``, ``n_plm``, ``n_sustained``, ``n_series``;
        indices per hour of rest ``plm_index``, ``lm_index``, ``twitch_index`` (None when rest is
        0); ``periodicity_index`` (Ferri et al. 2006; None with fewer than 2 candidate LMs or no
        IMI); ``plm_clm_ratio`` (PLMs / candidate LMs, the "PI" of the WASM 2016 reference
        implementation PLMScoRe; None without candidates);
        ``mean_duration_s`` (``{kind: seconds or None}``); ``median_imi_s`` (of candidate IMIs,
        None without any). With respiratory events also ``n_plm_without_resp`` and
        ``plm_index_without_resp``.

    Raises
    ------
    InputError
        When ``recording_s``, ``gap_s`` or ``sustained_s`` is negative or not finite.
    """
    for name, value in (("recording_s", recording_s), ("gap_s", gap_s),
                        ("sustained_s", sustained_s), ("excluded_s", excluded_s)):
        if value is not None and not (math.isfinite(value) and value >= 0):
            raise InputError(f"night_metrics: {name}={value!r}; expected a finite number of "
                             "seconds >= 0")
    ev = scoring.events
    kind = ev["kind"] if len(ev) else pd.Series(dtype=object)
    duration = ev["duration_s"] if len(ev) else pd.Series(dtype=float)
    counts = {k: int((kind == k).sum()) for k in ("twitch", "lm", "sustained")}
    if sustained_s is None:
        sustained_s = float(duration[kind == "sustained"].sum())
    rest_h = max(recording_s - gap_s - excluded_s - sustained_s, 0.0) / _S_PER_H
    imis = _candidate_imis(scoring)
    finite_imis = imis[np.isfinite(imis)]
    out: dict[str, Any] = {
        "recording_h": recording_s / _S_PER_H,
        "rest_h": rest_h,
        "gap_s": float(gap_s),
        "n_twitch": counts["twitch"],
        "n_lm": counts["lm"],
        "n_candidate": int(scoring.n_candidate),
        "n_plm": int(scoring.n_plm),
        "n_sustained": counts["sustained"],
        "n_series": int(scoring.n_series),
        "plm_index": _per_hour(scoring.n_plm, rest_h),
        "lm_index": _per_hour(counts["lm"], rest_h),
        "twitch_index": _per_hour(counts["twitch"], rest_h),
        "periodicity_index": (periodicity_index(imis, scoring.rules)
                              if scoring.n_candidate >= 2 else None),
        # PLMScoRe's "PI": the share of candidate LMs that are in PLM series.
        "plm_clm_ratio": (scoring.n_plm / scoring.n_candidate if scoring.n_candidate else None),
        "mean_duration_s": {k: _mean_or_none(duration[kind == k])
                            for k in ("twitch", "lm", "sustained")},
        "median_imi_s": float(np.median(finite_imis)) if finite_imis.size else None,
    }
    if scoring.n_plm_without_resp is not None:
        out["n_plm_without_resp"] = int(scoring.n_plm_without_resp)
        out["plm_index_without_resp"] = _per_hour(scoring.n_plm_without_resp, rest_h)
    return out


def imi_histogram(scoring: PlmScoring, bin_s: float = 2.0, max_s: float = 90.0) -> pd.DataFrame:
    """Histogram of the intervals between consecutive candidate LMs, up to ``max_s``.

    All candidate IMIs count, not only those inside series (as in the PLMScoRe / Ferri IMI
    distribution analyses); intervals across a non-candidate LM do not exist (see
    :func:`detector.score.plm.score_plm`).

    Parameters
    ----------
    bin_s : float
        Bin width, in seconds.
    max_s : float
        End of the last bin, in seconds.

    Returns
    -------
    DataFrame
        ``bin_start_s``, ``bin_end_s``, ``count``: bins [start, end) from 0 s, the last one
        closed so that it holds IMIs equal to ``max_s`` (90 s: the upper PLM limit). Longer
        IMIs are not binned; their number is in ``attrs["n_above_max"]``, so
        ``count.sum() + attrs["n_above_max"]`` is the number of IMIs.
    """
    if not (bin_s > 0 and max_s > 0):
        raise ValueError(f"imi_histogram: bin_s={bin_s!r} and max_s={max_s!r} must be > 0")
    imis = _candidate_imis(scoring)
    imis = imis[np.isfinite(imis)]
    n_bins = max(int(math.ceil(max_s / bin_s - 1e-9)), 1)
    edges = np.minimum(np.arange(n_bins + 1) * bin_s, max_s)
    above = imis > max_s + TIME_EPS_S
    k = np.minimum(np.floor(imis[~above] / bin_s + 1e-9).astype(int), n_bins - 1)
    hist = pd.DataFrame({
        "bin_start_s": edges[:-1].astype(float),
        "bin_end_s": edges[1:].astype(float),
        "count": np.bincount(k, minlength=n_bins).astype(int),
    })
    hist.attrs["n_above_max"] = int(above.sum())
    return hist


def ln_imi_histogram(scoring: PlmScoring, bin_width: float = 0.1) -> pd.DataFrame:
    """Histogram of ln(IMI / 1 s) of consecutive candidate LMs (Ferri-style IMI analysis).

    Parameters
    ----------
    bin_width : float
        Bin width in ln units; bin edges are integer multiples of it.

    Returns
    -------
    DataFrame
        ``ln_imi_start``, ``ln_imi_end``, ``count`` for bins [start, end) from the multiple at
        or below ln(0.5) (or the smallest IMI, if shorter) up to the bin holding the longest IMI.
        Empty when there is no IMI. IMIs of 0 s (two candidates with the same onset) have no
        logarithm and are left out.
    """
    if not bin_width > 0:
        raise ValueError(f"ln_imi_histogram: bin_width={bin_width!r} must be > 0")
    imis = _candidate_imis(scoring)
    imis = imis[np.isfinite(imis) & (imis > 0)]
    if imis.size == 0:
        return pd.DataFrame({"ln_imi_start": pd.Series(dtype=float),
                             "ln_imi_end": pd.Series(dtype=float),
                             "count": pd.Series(dtype=int)})
    k = np.floor(np.log(imis) / bin_width + 1e-9).astype(int)
    k_lo = min(int(math.floor(math.log(_LN_IMI_FLOOR_S) / bin_width + 1e-9)), int(k.min()))
    k_hi = int(k.max())
    counts = np.bincount(k - k_lo, minlength=k_hi - k_lo + 1)
    ks = np.arange(k_lo, k_hi + 1)
    return pd.DataFrame({
        "ln_imi_start": np.round(ks * bin_width, 10),
        "ln_imi_end": np.round((ks + 1) * bin_width, 10),
        "count": counts.astype(int),
    })


def events_per_hour(events: pd.DataFrame, recording_s: float, *,
                    rules: RulesConfig = RULES["wasm2016"]) -> pd.DataFrame:
    """Events per clock hour of the recording, by the hour in which they start.

    Parameters
    ----------
    events : DataFrame
        ``start_s`` and ``kind`` (by duration with ``rules`` when missing), optional ``plm``.
    recording_s : float
        Recording length, in seconds; sets the number of hours (the last may be partial).
    rules : RulesConfig
        Only used to classify events that have no ``kind``.

    Returns
    -------
    DataFrame
        ``hour`` (0 = the first hour), ``n_twitch``, ``n_lm``, ``n_plm``, ``n_sustained``; one
        row per started hour of the recording (more if events start after its end).
    """
    if not (math.isfinite(recording_s) and recording_s >= 0):
        raise InputError(f"events_per_hour: recording_s={recording_s!r}; expected a finite "
                         "number of seconds >= 0")
    n = len(events)
    start = (events["start_s"].to_numpy(dtype=float) if n else np.zeros(0))
    if n and "kind" in events.columns:
        kind = events["kind"].to_numpy(dtype=object)
    elif n:
        dur = events["end_s"].to_numpy(dtype=float) - start
        leg = events["leg"].to_numpy(dtype=object) if "leg" in events.columns else None
        kind = kind_from_rules(dur, leg == "bilateral" if leg is not None
                                   else np.zeros(n, bool), rules)
    else:
        kind = np.zeros(0, dtype=object)
    plm = (events["plm"].fillna(False).to_numpy(dtype=bool) if n and "plm" in events.columns
           else np.zeros(n, dtype=bool))
    hour = np.floor(start / _S_PER_H).astype(int)
    n_hours = max(int(math.ceil(recording_s / _S_PER_H - 1e-12)),
                  int(hour.max()) + 1 if n else 0)
    out = {"hour": np.arange(n_hours)}
    for col, mask in (("n_twitch", kind == "twitch"), ("n_lm", kind == "lm"), ("n_plm", plm),
                      ("n_sustained", kind == "sustained")):
        out[col] = np.bincount(hour[mask], minlength=n_hours).astype(int)
    return pd.DataFrame(out)
