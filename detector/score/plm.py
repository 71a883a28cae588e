"""PLM scoring rules: candidate leg movements, bilateral merge, respiratory exclusion, PLM series.

Works on any table of leg movements (LMs), from this package's detector or from a
polysomnography scorer's CSV. Times are seconds from the start of the recording.

Rules implemented (numbers come from :class:`detector.config.RulesConfig`, never from here):

* WASM/IRLSSG 2016 (Ferri et al., Sleep Med 2016;26:86-95), ``RULES["wasm2016"]``: an LM lasts
  0.5-10 s on one leg; LMs of the two legs that overlap or are separated by < 0.5 s form one
  bilateral LM of at most 4 parts and at most 15 s; candidate LMs (CLMs) form a PLM series when
  >= 4 follow each other with onset-to-onset intervals (IMI) of 10-90 s inclusive; a
  non-candidate LM or an IMI outside 10-90 s ends a series; same-leg LMs less than 0.5 s apart are one LM; LMs
  overlapping -2.0 s to +10.25 s around the end of a respiratory event are respiratory-related
  and, for the PLM count without them, candidate LMs among them are removed with the interval
  measured across them, while a non-candidate movement (longer than 10 s) still ends the series
  (as the WASM 2016 reference implementation, PLMScoRe, does).
* AASM 2012 (AASM Manual for the Scoring of Sleep and Associated Events v2.0, VII Movement
  rules, A: rules 1.a-b, 2.a-d and note 1), ``RULES["aasm2012"]``: IMI 5-90 s; an LM less
  than 5 s after the previous one is left out of the series without ending it, and the next
  IMI is measured from the LM before it; LMs of the two legs with onsets < 5 s apart count as
  one LM (rule 2.d), of any number of parts, and rule 1.b's 10 s applies to it as to any LM;
  LMs from 0.5 s before a respiratory event to 0.5 s after it are not scored (note 1; removed,
  not series-breaking). Rule 2.b includes in a series only LMs at least 5 s after the previous
  one and, unlike WASM 2016, names no end of a series at a shorter interval: the LM is
  skipped, as scoring before WASM 2016 was practised. Sources for that reading: Ferri et al.
  2016 made an interval < 10 s end a series as a change; standard series could contain such
  LMs (Sleep Med 2015;16:1229-35, doi:10.1016/j.sleep.2015.05.019, whose "Alt2" index counts
  only series not interrupted by them); MATPLM (github.com/rlslabgit/MATPLM) scores the old
  rules by removing the LM and adding its interval to the next. The manual's text was checked
  as reproduced in the NSRR reading-centre manual, section 6.8.4; its page numbers were not.

Event kinds: ``twitch`` (< ``lm_min_s``: not an LM at all; neither counts nor breaks a series),
``lm`` and ``sustained`` (an LM longer than the candidate limit: a non-candidate that ends a
series).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from detector.config import RULES, RulesConfig
from detector.io.recording import InputError
from detector.kinds import KINDS, LEG_ALIASES, LEGS, TIME_EPS_S, kind_from_rules, normalise_labels

__all__ = ["PlmScoring", "SeriesWalk", "merge_bilateral", "score_plm", "walk_series"]

#: Columns that describe a merged bilateral LM by the largest value of its parts.
_MAX_OF_PARTS = ("peak_g", "rotation_deg")
#: Boolean columns that are true for a merged LM when true for any part.
_ANY_OF_PARTS = ("at_gap",)


@dataclass(frozen=True, eq=False)
class PlmScoring:
    """PLM scoring of one night.

    Attributes
    ----------
    events : DataFrame
        The input rows sorted by ``start_s`` (index reset; LMs of the two legs merged into
        bilateral LMs first, see :func:`score_plm`), with ``duration_s``, ``kind``, ``leg``,
        ``n_parts``, ``legs`` and the scoring of *all* LMs (no respiratory exclusion):
        ``candidate`` (bool, candidate LM), ``respiratory`` (bool, respiratory-related LM),
        ``imi_s`` (float, seconds from the previous candidate LM's onset; NaN for the first
        candidate and for the first candidate after a non-candidate LM), ``plm`` (bool) and
        ``series`` (nullable Int64, series number 1.. or <NA>).
    series : DataFrame
        One row per PLM series: ``series``, ``start_s`` (onset of its first LM), ``end_s``
        (latest offset of its LMs), ``n_lm``, ``mean_imi_s`` (mean IMI inside the series).
    rules : RulesConfig
        The rules used.
    n_plm, n_candidate, n_series : int
        PLMs, candidate LMs and PLM series in ``events``.
    events_without_resp : DataFrame or None
        Same rows and columns as ``events``, scored with respiratory-related LMs excluded;
        None when no respiratory events were given.
    n_plm_without_resp : int or None
        PLMs in ``events_without_resp``; None when no respiratory events were given.
    series_without_resp : DataFrame or None
        PLM series of ``events_without_resp``.
    run_start : ndarray of bool
        Per row of ``events``: the candidates that start a run (nothing before them can join a
        later series; :attr:`SeriesWalk.run_start`).
    """

    events: pd.DataFrame
    series: pd.DataFrame
    rules: RulesConfig
    n_plm: int
    n_candidate: int
    n_series: int
    events_without_resp: pd.DataFrame | None
    n_plm_without_resp: int | None
    series_without_resp: pd.DataFrame | None = None
    run_start: np.ndarray | None = None


# --------------------------------------------------------------------------------------------
# Reading LM and respiratory-event tables
# --------------------------------------------------------------------------------------------


# --------------------------------------------------------------------------------------------
# Event table checks
# --------------------------------------------------------------------------------------------


def _intervals(table: pd.DataFrame, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Check ``start_s``/``end_s`` of a table; return them as float arrays."""
    if not isinstance(table, pd.DataFrame):
        raise InputError(f"{name}: expected a DataFrame with start_s and end_s columns, got "
                         f"{type(table).__name__}")
    missing = [c for c in ("start_s", "end_s") if c not in table.columns]
    if missing:
        if len(table) == 0:
            return np.zeros(0), np.zeros(0)
        raise InputError(f"{name}: missing column(s) {', '.join(missing)}; expected start_s and "
                         f"end_s in seconds from the recording start (has: "
                         f"{', '.join(map(str, table.columns))})")
    start = pd.to_numeric(table["start_s"], errors="coerce").to_numpy(dtype=float)
    end = pd.to_numeric(table["end_s"], errors="coerce").to_numpy(dtype=float)
    bad = ~(np.isfinite(start) & np.isfinite(end))
    for k in np.flatnonzero(bad)[:1]:
        raise InputError(f"{name}, row {k} (index {table.index[k]!r}): start_s="
                         f"{table['start_s'].iloc[k]!r}, end_s={table['end_s'].iloc[k]!r}; "
                         "expected finite numbers of seconds")
    for k in np.flatnonzero(end < start)[:1]:
        raise InputError(f"{name}, row {k} (index {table.index[k]!r}): end_s {end[k]:g} is "
                         f"before start_s {start[k]:g}; expected end_s >= start_s")
    return start, end


def _prepare_events(events: pd.DataFrame, rules: RulesConfig, name: str) -> pd.DataFrame:
    """Checked copy of an event table, sorted by start, with every column scoring needs.

    Adds ``duration_s`` (= end - start), ``leg`` (``unknown`` when missing), ``kind`` (by
    duration when missing), ``n_parts`` (1, or 2 for a bilateral row without it) and ``legs``.
    """
    start, end = _intervals(events, name)
    df = events.copy() if len(events.columns) else pd.DataFrame(index=events.index)
    df["start_s"], df["end_s"], df["duration_s"] = start, end, end - start
    where = (lambda col: lambda k: f"{name}, row {k} (index {events.index[k]!r}), column '{col}'")
    legs = (normalise_labels(df["leg"], LEG_ALIASES, LEGS, "leg", where("leg"))
            if "leg" in df.columns else ["unknown"] * len(df))
    df["leg"] = np.array(legs, dtype=object)
    bilateral = (df["leg"] == "bilateral").to_numpy()
    by_duration = kind_from_rules(df["duration_s"].to_numpy(), bilateral, rules)
    if "kind" in df.columns:
        given = normalise_labels(df["kind"], {"": None, "nan": None, "none": None}, KINDS, "kind",
                           where("kind"))
        kind = np.array([g if g is not None else d for g, d in zip(given, by_duration)],
                        dtype=object)
    else:
        kind = by_duration.astype(object)
    df["kind"] = kind
    parts = (pd.to_numeric(df["n_parts"], errors="coerce").to_numpy(dtype=float)
             if "n_parts" in df.columns else np.full(len(df), np.nan))
    default_parts = np.where(bilateral, 2, 1)
    df["n_parts"] = np.where(np.isfinite(parts), parts, default_parts).astype(int)
    if "legs" in df.columns:
        given_legs = df["legs"].astype(object)
        df["legs"] = given_legs.where(given_legs.notna() & (given_legs.astype(str) != ""),
                                      df["leg"])
    else:
        df["legs"] = df["leg"]
    order = np.argsort(start, kind="stable")
    return df.iloc[order].reset_index(drop=True)


def _is_lm(df: pd.DataFrame, rules: RulesConfig) -> np.ndarray:
    """Rows that are leg movements at all (WASM 2016 / AASM 2012: >= 0.5 s; twitches are not)."""
    return ((df["kind"] != "twitch").to_numpy()
            & (df["duration_s"].to_numpy() >= rules.lm_min_s - TIME_EPS_S))


def _is_candidate(df: pd.DataFrame, rules: RulesConfig) -> np.ndarray:
    """Candidate LMs before respiratory exclusion.

    WASM 2016: a monolateral LM of 0.5-10 s, or a bilateral LM of 0.5-15 s made of at most 4
    monolateral LMs, none of them longer than 10 s (a longer part makes the merged LM
    ``sustained``). A row whose given ``kind`` is not ``lm`` is never a candidate.
    """
    dur = df["duration_s"].to_numpy()
    bilateral = (df["leg"] == "bilateral").to_numpy()
    upper = np.where(bilateral, rules.bilateral_max_s, rules.lm_max_s)
    parts_ok = ~bilateral | (rules.bilateral_max_parts == 0) | (
        df["n_parts"].to_numpy() <= rules.bilateral_max_parts)
    return ((df["kind"] == "lm").to_numpy() & (dur >= rules.lm_min_s - TIME_EPS_S)
            & (dur <= upper + TIME_EPS_S) & parts_ok)


# --------------------------------------------------------------------------------------------
# Bilateral merge
# --------------------------------------------------------------------------------------------

def merge_bilateral(left: pd.DataFrame, right: pd.DataFrame,
                    rules: RulesConfig = RULES["wasm2016"]) -> pd.DataFrame:
    """Merge the two legs' movements into bilateral LMs.

    Parameters
    ----------
    left, right : DataFrame
        Event tables of the two legs (``start_s``, ``end_s`` in seconds on a common time base).
        Rows are labelled ``left`` and ``right`` by argument, unless both tables already carry
        opposite ``left``/``right`` labels (then those are kept; the merge is symmetric).
    rules : RulesConfig
        ``bilateral_mode``, ``bilateral_gap_s``, ``bilateral_onset_s``, ``bilateral_max_s``,
        ``bilateral_max_parts``, ``lm_min_s``, ``lm_max_s``.

    Returns
    -------
    DataFrame
        All rows sorted by ``start_s``; merged LMs replace their parts, with ``leg`` =
        ``bilateral``, ``start_s`` = first onset, ``end_s`` = last offset, ``n_parts`` and
        ``legs`` (the parts' legs in onset order, e.g. ``left+right+left``). Other columns come
        from the earliest part, except ``peak_g``/``rotation_deg`` (largest of the parts) and
        ``at_gap`` (any part). Rows not merged keep their own leg, ``n_parts`` = 1.

    Notes
    -----
    Only LMs (>= ``lm_min_s``; twitches are not LMs) on different legs are linked; same-leg LMs
    are never linked to each other directly, but join the same bilateral LM when each is linked
    to an LM of the other leg in it (a chain left-right-left is one LM of 3 parts). Links:

    * ``overlap`` (WASM 2016): the two LMs overlap or the later onset follows the earlier
      offset by less than ``bilateral_gap_s`` (0.49 s merges, 0.5 s does not);
    * ``onset`` (AASM 2012): their onsets are less than ``bilateral_onset_s`` apart.

    Sustained movements (> ``lm_max_s``) take part in the merge, as in the WASM 2016 reference
    implementation (PLMScoRe). The merged LM's ``kind`` is ``lm`` when every part is an LM of at
    most ``lm_max_s`` and the merged duration is at most ``bilateral_max_s``, else
    ``sustained``. A merged LM of more than ``bilateral_max_parts`` parts (WASM 2016: 4) stays
    one LM (``kind`` ``lm`` if its duration allows) but is not a candidate, so it ends a series;
    it is not split into smaller LMs.
    """
    lt = _join_same_leg(_prepare_events(left, rules, "left-leg events"), rules)
    rt = _join_same_leg(_prepare_events(right, rules, "right-leg events"), rules)
    lset, rset = set(lt["leg"]), set(rt["leg"])
    keep = (lset | rset) <= {"left", "right"} and len(lset) == 1 and len(rset) == 1 \
        and lset != rset
    if not keep:
        lt["leg"], rt["leg"] = "left", "right"
        lt["legs"], rt["legs"] = "left", "right"
    frames = [f for f in (lt, rt) if len(f)]
    if not frames:
        return lt
    both = pd.concat(frames, ignore_index=True) if len(frames) == 2 else frames[0]
    both = both.iloc[np.argsort(both["start_s"].to_numpy(), kind="stable")]
    return _merge_legs(both.reset_index(drop=True), rules)


def _join_same_leg(df: pd.DataFrame, rules: RulesConfig) -> pd.DataFrame:
    """Join movements of the same leg less than ``rules.lm_join_gap_s`` apart (or overlapping)
    into one, before duration classes apply (WASM 2016: an LM ends only at the start of >= 0.5 s
    without activity; PLMScoRe joins before dropping LMs < 0.5 s). The joined movement keeps the
    first part's columns, the largest ``peak_g``/``rotation_deg``, ``at_gap`` of any part, and is
    ``sustained`` if a part was, else classed by its joined duration.
    """
    if len(df) < 2:
        return df
    start = df["start_s"].to_numpy(dtype=float)
    end = df["end_s"].to_numpy(dtype=float)
    legs = df["leg"].to_numpy()
    group = np.arange(len(df))
    for leg in np.unique(legs):
        if leg == "bilateral":
            continue
        rows = np.flatnonzero(legs == leg)           # already in onset order
        reach = np.maximum.accumulate(end[rows])
        new = np.concatenate(([True], start[rows[1:]]
                              >= reach[:-1] + rules.lm_join_gap_s - TIME_EPS_S))
        group[rows] = rows[np.flatnonzero(new)][np.cumsum(new) - 1]
    if (group == np.arange(len(df))).all():
        return df
    out = df.loc[np.unique(group)].copy()
    joined_end = pd.Series(end).groupby(group).max()
    multi = pd.Series(group).value_counts()
    multi = multi[multi > 1].index.to_numpy()
    out.loc[multi, "end_s"] = joined_end.loc[multi].to_numpy()
    out["duration_s"] = out["end_s"] - out["start_s"]
    kinds = df["kind"].to_numpy()
    any_sustained = pd.Series(kinds == "sustained").groupby(group).any()
    by_duration = kind_from_rules(out.loc[multi, "duration_s"].to_numpy(),
                                  np.zeros(len(multi), bool), rules)
    out.loc[multi, "kind"] = np.where(any_sustained.loc[multi].to_numpy(), "sustained",
                                      by_duration).astype(object)
    for col in _MAX_OF_PARTS:
        if col in df.columns:
            vals = pd.to_numeric(df[col], errors="coerce").groupby(group).max()
            out.loc[multi, col] = vals.loc[multi].to_numpy()
    for col in _ANY_OF_PARTS:
        if col in df.columns:
            vals = df[col].fillna(False).astype(bool).groupby(group).any()
            out.loc[multi, col] = vals.loc[multi].to_numpy()
    return out.reset_index(drop=True)


def _merge_legs(df: pd.DataFrame, rules: RulesConfig) -> pd.DataFrame:
    """Merge linked LMs of different legs in a prepared, sorted table (see merge_bilateral)."""
    legs = df["leg"].to_numpy()
    idx = np.flatnonzero(np.isin(legs, ("left", "right")) & _is_lm(df, rules))
    if len(set(legs[idx])) < 2:
        return df
    start = df["start_s"].to_numpy()[idx]
    end = df["end_s"].to_numpy()[idx]
    leg = legs[idx]
    if rules.bilateral_mode == "overlap":
        # WASM 2016: overlapping, or offset-to-onset < bilateral_gap_s (strict).
        limit = end + rules.bilateral_gap_s - TIME_EPS_S
    else:
        # AASM 2012: onsets < bilateral_onset_s apart (strict).
        limit = start + rules.bilateral_onset_s - TIME_EPS_S
    reach = np.searchsorted(start, limit, side="left")  # parts j with start[j] < limit[a]
    parent = np.arange(len(idx))

    def root(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = int(parent[a])
        return a

    for a in range(len(idx)):
        for j in range(a + 1, int(reach[a])):
            if leg[j] != leg[a]:
                ra, rj = root(a), root(j)
                if ra != rj:
                    parent[max(ra, rj)] = min(ra, rj)
    roots = np.array([root(a) for a in range(len(idx))])
    groups = [np.flatnonzero(roots == r) for r in np.unique(roots)]
    groups = [g for g in groups if len(g) > 1]
    if not groups:
        return df
    part_is_lm = ((df["kind"].to_numpy()[idx] == "lm")
                  & (end - start <= rules.lm_max_s + TIME_EPS_S))
    # Parts are in onset order, so a group's first member is its earliest part.
    merged = df.iloc[[idx[g[0]] for g in groups]].copy()
    s0 = np.array([start[g].min() for g in groups])
    s1 = np.array([end[g].max() for g in groups])
    merged["start_s"], merged["end_s"], merged["duration_s"] = s0, s1, s1 - s0
    merged["leg"] = "bilateral"
    merged["n_parts"] = [len(g) for g in groups]
    merged["legs"] = ["+".join(leg[g]) for g in groups]
    ok = np.array([part_is_lm[g].all() for g in groups]) & (
        s1 - s0 <= rules.bilateral_max_s + TIME_EPS_S)
    merged["kind"] = np.where(ok, "lm", "sustained").astype(object)
    for col in _MAX_OF_PARTS:
        if col in df.columns:
            values = pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=float)[idx]
            merged[col] = [np.nanmax(values[g]) if np.isfinite(values[g]).any() else np.nan
                           for g in groups]
    for col in _ANY_OF_PARTS:
        if col in df.columns:
            values = df[col].fillna(False).astype(bool).to_numpy()[idx]
            merged[col] = [bool(values[g].any()) for g in groups]
    drop = np.concatenate([idx[g] for g in groups])
    kept = df.drop(index=drop)
    out = pd.concat([kept, merged], ignore_index=True) if len(kept) else merged
    out = out.iloc[np.argsort(out["start_s"].to_numpy(dtype=float), kind="stable")]
    out = out.reset_index(drop=True)
    out["n_parts"] = out["n_parts"].astype(int)
    return out


# --------------------------------------------------------------------------------------------
# Respiratory-related LMs and PLM series
# --------------------------------------------------------------------------------------------

def _respiratory_flags(df: pd.DataFrame, is_lm: np.ndarray, respiratory: pd.DataFrame,
                       rules: RulesConfig) -> np.ndarray:
    """LMs whose [start_s, end_s] overlaps a respiratory event's window (edges inclusive).

    WASM 2016 (``resp_anchor="end"``): from ``resp_before_s`` (2.0 s) before to
    ``resp_after_s`` (10.25 s) after the event's end. AASM 2012 (``resp_anchor="event"``): from
    0.5 s before the event's start to 0.5 s after its end.
    """
    resp_start, resp_end = _intervals(respiratory, "respiratory events")
    if len(df) == 0 or len(resp_end) == 0:
        return np.zeros(len(df), dtype=bool)
    w0 = (resp_end if rules.resp_anchor == "end" else resp_start) - rules.resp_before_s
    w1 = resp_end + rules.resp_after_s
    order = np.argsort(w0)
    w0, w1 = w0[order], np.maximum.accumulate(w1[order])
    # Windows starting at or before an LM's end; the LM overlaps one iff the latest-reaching of
    # them ends at or after the LM's start.
    j = np.searchsorted(w0, df["end_s"].to_numpy() + TIME_EPS_S, side="right")
    reach = np.where(j > 0, w1[np.maximum(j - 1, 0)], -np.inf)
    return is_lm & (reach >= df["start_s"].to_numpy() - TIME_EPS_S)


@dataclass(frozen=True, eq=False)
class SeriesWalk:
    """The PLM series walk over LMs in onset order (see :func:`walk_series`).

    Attributes
    ----------
    imi_s : ndarray
        Onset-to-onset interval from the previous candidate LM, seconds (NaN for the first
        candidate, the first after a non-candidate LM, and rows that are not candidates).
    series_imi_s : ndarray
        The interval the rules judge: from the previous candidate kept in the run. It differs
        from ``imi_s`` only after a candidate left out (AASM 2012: less than ``imi_min_s`` after
        the previous one).
    runs : list of list of int
        Row positions of each PLM series (runs of at least ``rules.min_series`` candidates).
    run_start : ndarray of bool
        Candidates that start a new run (nothing before them can join a later series).
    """

    imi_s: np.ndarray
    series_imi_s: np.ndarray
    runs: list[list[int]]
    run_start: np.ndarray


def walk_series(start_s: np.ndarray, is_lm: np.ndarray, candidate: np.ndarray,
                removed: np.ndarray, rules: RulesConfig) -> SeriesWalk:
    """Find PLM series among candidate LMs given in onset order.

    A loop over events, not samples:

    * twitches (``~is_lm``) and ``removed`` LMs are skipped: they neither count nor break;
    * a non-candidate LM ends the current run, and the next candidate starts afresh (its IMI is
      NaN: the IMI is never measured across a non-candidate LM);
    * a candidate's IMI is the onset-to-onset interval from the previous candidate kept; an IMI
      above ``imi_max_s`` ends the run and the candidate starts a new one;
    * an IMI below ``imi_min_s`` does the same when ``rules.short_imi_breaks_series`` (WASM
      2016: 10 s); otherwise (AASM 2012: 5 s) the candidate is left out of the series, does not
      end it, and the next IMI is measured from the last candidate kept (AASM Manual v2.0, VII
      Movement rules A.2.b: only LMs at least 5 s apart are included in a series);
    * a run of at least ``min_series`` candidates (WASM 2016 / AASM 2012: 4) is a PLM series.

    Bounds are inclusive (10 s and 90 s are in range under WASM 2016).
    """
    n = len(start_s)
    imi = np.full(n, np.nan)
    gap = np.full(n, np.nan)
    run_start = np.zeros(n, dtype=bool)
    lo, hi = rules.imi_min_s - TIME_EPS_S, rules.imi_max_s + TIME_EPS_S
    runs: list[list[int]] = []
    current: list[int] = []
    prev_onset: float | None = None     # the last candidate kept
    last_onset: float | None = None     # the last candidate

    def close(run: list[int]) -> None:
        if len(run) >= rules.min_series:
            runs.append(run)

    for i in range(n):
        if not is_lm[i] or removed[i]:
            continue
        if not candidate[i]:
            close(current)
            current, prev_onset, last_onset = [], None, None
            continue
        if last_onset is not None:
            imi[i] = start_s[i] - last_onset
        last_onset = start_s[i]
        if prev_onset is not None:
            gap[i] = start_s[i] - prev_onset
            if gap[i] < lo and not rules.short_imi_breaks_series:
                continue                # left out of the series, which goes on
        if prev_onset is not None and lo <= gap[i] <= hi:
            current.append(i)
        else:
            close(current)
            current = [i]
            run_start[i] = True
        prev_onset = start_s[i]
    close(current)
    return SeriesWalk(imi, gap, runs, run_start)


def _score_series(df: pd.DataFrame, is_lm: np.ndarray, candidate: np.ndarray,
                  removed: np.ndarray, rules: RulesConfig
                  ) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    """Find PLM series among candidate LMs (:func:`walk_series`); return the scored copy, the
    series table and the walk's run starts."""
    start = df["start_s"].to_numpy()
    end = df["end_s"].to_numpy()
    walk = walk_series(start, is_lm, candidate, removed, rules)
    imi, runs = walk.imi_s, walk.runs
    series_no = np.zeros(len(df), dtype=int)

    rows = []
    for k, run in enumerate(runs, start=1):
        series_no[run] = k
        rows.append({"series": k, "start_s": float(start[run[0]]),
                     "end_s": float(end[run].max()), "n_lm": len(run),
                     "mean_imi_s": float(np.mean(walk.series_imi_s[run[1:]]))})
    series = pd.DataFrame(rows, columns=["series", "start_s", "end_s", "n_lm", "mean_imi_s"])
    series = series.astype({"series": int, "start_s": float, "end_s": float, "n_lm": int,
                            "mean_imi_s": float})
    out = df.copy()
    out["candidate"] = candidate & ~removed
    out["imi_s"] = imi
    out["plm"] = series_no > 0
    series_col = pd.array(series_no, dtype="Int64")
    series_col[series_no == 0] = pd.NA
    out["series"] = series_col
    return out, series, walk.run_start


def score_plm(events: pd.DataFrame, rules: RulesConfig = RULES["wasm2016"],
              respiratory: pd.DataFrame | None = None) -> PlmScoring:
    """Score candidate LMs and PLM series on an LM table, with and without respiratory LMs.

    Parameters
    ----------
    events : DataFrame
        ``start_s``, ``end_s`` (seconds from recording start); optional ``kind`` (``twitch``,
        ``lm``, ``sustained``; a given kind is trusted, a missing one comes from the duration by
        ``lm_min_s``/``lm_max_s``, both inclusive for an LM), ``leg``, ``n_parts``, and any other
        columns (kept). Unsorted input is sorted by ``start_s``.
    rules : RulesConfig
        ``RULES["wasm2016"]`` (default) or ``RULES["aasm2012"]`` or a custom set.
    respiratory : DataFrame, optional
        Respiratory events, ``start_s`` and ``end_s`` (WASM 2016 uses the end only).

    Returns
    -------
    PlmScoring
        ``events`` scores all LMs (respiratory-related LMs flagged but not excluded);
        ``events_without_resp`` scores them with respiratory-related LMs excluded: removed
        altogether, with IMIs measured across them (WASM 2016 as PLMScoRe implements it, and
        AASM 2012), or, with ``rules.resp_breaks_series``, as non-candidates that end a series.

    Raises
    ------
    InputError
        On a missing time column, a NaN or non-numeric time (naming the row), an end before its
        start, or an unknown ``leg``/``kind`` value.

    Notes
    -----
    When ``events`` holds LMs of both ``left`` and ``right`` legs they are first merged with the
    rules' bilateral merge (:func:`merge_bilateral`); rows already labelled ``bilateral`` are
    kept as they are, so scoring an already merged table merges nothing more.
    """
    df = _join_same_leg(_prepare_events(events, rules, "events"), rules)
    df = _merge_legs(df, rules)
    is_lm = _is_lm(df, rules)
    candidate = _is_candidate(df, rules) & is_lm
    resp = (_respiratory_flags(df, is_lm, respiratory, rules) if respiratory is not None
            else np.zeros(len(df), dtype=bool))
    df["respiratory"] = resp
    none = np.zeros(len(df), dtype=bool)
    scored, series, run_start = _score_series(df, is_lm, candidate, none, rules)
    without = series_without = n_without = None
    if respiratory is not None:
        if rules.resp_breaks_series:
            without, series_without, _ = _score_series(df, is_lm, candidate & ~resp, none,
                                                       rules)
        else:
            # Only candidate LMs are removed: a movement that is no candidate (longer than
            # lm_max_s) still ends the series around it, inside a respiratory window too, as
            # the WASM 2016 reference implementation (PLMScoRe) counts it.
            without, series_without, _ = _score_series(df, is_lm, candidate, resp & candidate,
                                                     rules)
        n_without = int(without["plm"].sum())
    return PlmScoring(
        events=scored,
        series=series,
        rules=rules,
        n_plm=int(scored["plm"].sum()),
        n_candidate=int(scored["candidate"].sum()),
        n_series=int(len(series)),
        events_without_resp=without,
        n_plm_without_resp=n_without,
        series_without_resp=series_without,
        run_start=run_start,
    )
