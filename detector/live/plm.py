"""Live PLM series: re-score only the tail of the night that can still change.

The PLM scoring (:func:`detector.score.plm.score_plm`, WASM 2016 / AASM 2012 rules) walks the leg
movements in onset order; a series ends at a non-candidate LM (e.g. a sustained movement) or at an
onset-to-onset interval outside ``rules.imi_min_s``-``rules.imi_max_s``. Everything before the
first LM of the current run of candidate LMs is therefore settled, so only the rows from there on
are scored again when a movement is added or revised. Series are numbered in onset order, as in
the final scoring.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from detector.config import RulesConfig
from detector.kinds import TIME_EPS_S
from detector.score.plm import score_plm, walk_series

__all__ = ["SeriesUpdate", "LivePlm"]


@dataclass(frozen=True)
class SeriesUpdate:
    """A PLM series that formed, grew or was revised.

    Attributes
    ----------
    series : int
        Series number (1-based, onset order, as in the final scoring).
    start_s, end_s : float
        Onset of its first LM and latest offset of its LMs, seconds from sample 0.
    n_lm : int
        LMs in the series now (below ``rules.min_series`` when a revision dissolved it).
    revised : bool
        True when LMs announced in it earlier are no longer part of it.
    """

    series: int
    start_s: float
    end_s: float
    n_lm: int
    revised: bool


@dataclass
class LivePlm:
    """Incremental PLM series over a growing list of movement rows.

    Parameters
    ----------
    rules : RulesConfig
        Scoring rules.
    """

    rules: RulesConfig
    base_s: float = -np.inf          # rows starting at or after this are re-scored
    series_before: int = 0           # series settled before ``base_s``
    announced: dict[int, tuple[tuple[float, ...], float]] = field(default_factory=dict)
    membership: dict[Any, int] = field(default_factory=dict)   # row key -> series number

    def update(self, rows: list[dict[str, Any]], first_pending_s: float
               ) -> list[SeriesUpdate]:
        """Re-score the tail after a change and report new, grown and revised series.

        Parameters
        ----------
        rows : list of dict
            All movement rows in onset order (``start_s``, ``end_s``, ``kind``, ``leg`` and a
            unique ``key``), settled and pending.
        first_pending_s : float
            Onset of the earliest row that may still be revised (inf when none): the settled
            part never moves past it.

        Returns
        -------
        list of SeriesUpdate
        """
        starts = np.fromiter((r["start_s"] for r in rows), float, len(rows))
        i0 = int(np.searchsorted(starts, self.base_s - TIME_EPS_S, side="left"))
        tail = rows[i0:]
        for key in [k for k, s in self.membership.items() if s > self.series_before]:
            del self.membership[key]
        if not tail:
            return self._dissolve(set())
        df = {"start_s": np.array([r["start_s"] for r in tail], float),
              "end_s": np.array([r["end_s"] for r in tail], float),
              "kind": np.array([r["kind"] for r in tail], object),
              "leg": np.array([r["leg"] for r in tail], object)}
        keys = [r["key"] for r in tail]
        walked = _walk(df, self.rules)
        if walked is None:      # rows the rules would first join: the full scoring
            scored = score_plm(pd.DataFrame(df), self.rules)
            ev, table = scored.events, scored.series
            walked = (ev["start_s"].to_numpy(float),
                      ev["series"].to_numpy(dtype=float, na_value=np.nan),
                      scored.run_start,
                      [(int(r.series), float(r.start_s), float(r.end_s), int(r.n_lm))
                       for r in table.itertuples()])
        onset, series, fresh, table = walked
        # A row joined with the next keeps its onset, so onsets find the rows' keys.
        pos = np.searchsorted(df["start_s"], onset - TIME_EPS_S, side="left")
        out: list[SeriesUpdate] = []
        seen: set[int] = set()
        for number, start_s, end_s, n_lm in table:
            g = self.series_before + number
            members = np.flatnonzero(series == number)
            onsets = tuple(float(onset[m]) for m in members)
            for m in members:
                self.membership[keys[pos[m]]] = g
            seen.add(g)
            old = self.announced.get(g)
            if old is not None and old[0] == onsets:
                continue
            revised = old is not None and onsets[:len(old[0])] != old[0]
            self.announced[g] = (onsets, end_s)
            out.append(SeriesUpdate(g, start_s, end_s, n_lm, revised))
        out.extend(self._dissolve(seen))
        # Settle everything before the first LM of the last run of candidates.
        run_start = (float(onset[np.flatnonzero(fresh)[-1]]) if fresh.any()
                     else float(onset[-1]) + TIME_EPS_S)
        # The base is always the first LM of a run, so a series is never split by it.
        if self.base_s < run_start <= first_pending_s:
            self.series_before += sum(1 for row in table if row[1] < run_start - TIME_EPS_S)
            self.base_s = run_start
        return out

    def _dissolve(self, seen: set[int]) -> list[SeriesUpdate]:
        """Series announced in the tail that no longer exist."""
        out = []
        for g in sorted(k for k in self.announced if k > self.series_before and k not in seen):
            onsets, end_s = self.announced.pop(g)
            out.append(SeriesUpdate(g, onsets[0], end_s, 0, True))
        return out


def _walk(rows: dict[str, np.ndarray], rules: RulesConfig
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                     list[tuple[int, float, float, int]]] | None:
    """The series walk of :func:`detector.score.plm.score_plm` on one leg's rows in onset order.

    Returns None when the rules would first change the rows (two movements of the same leg
    closer than ``rules.lm_join_gap_s``, or more than one leg): the caller then runs
    :func:`~detector.score.plm.score_plm` itself.

    Returns
    -------
    onset, series, run_start, table
        Onsets (s); series number per row (NaN outside series); candidates that start a run
        (nothing before them can join a later series); one ``(series, start_s, end_s, n_lm)``
        per series.
    """
    start, end, kind = rows["start_s"], rows["end_s"], rows["kind"]
    n = len(start)
    if len(set(rows["leg"].tolist())) > 1 or "bilateral" in set(rows["leg"].tolist()):
        return None
    if n > 1:
        reach = np.maximum.accumulate(end)[:-1]
        if (start[1:] < reach + rules.lm_join_gap_s - TIME_EPS_S).any():
            return None
    dur = end - start
    is_lm = (kind != "twitch") & (dur >= rules.lm_min_s - TIME_EPS_S)
    cand = (kind == "lm") & (dur >= rules.lm_min_s - TIME_EPS_S) & (
        dur <= rules.lm_max_s + TIME_EPS_S)
    walk = walk_series(start, is_lm, cand, np.zeros(n, dtype=bool), rules)
    series = np.full(n, np.nan)
    table = []
    for k, run in enumerate(walk.runs, start=1):
        series[run] = k
        table.append((k, float(start[run[0]]), float(end[run].max()), len(run)))
    return start, series, walk.run_start, table
