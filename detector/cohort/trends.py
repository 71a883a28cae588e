"""Many nights at once: indices over time, a trend test, and how diary factors go with the indices.

Input is a results folder: one sub-folder per night with the ``summary.json`` that
``legtwitch analyze`` or ``legtwitch batch`` writes, or the ``nights.csv`` table that the batch
writes (used when present: it lists every night of the batch). Each night is dated by the evening
it started on (:func:`night_date`), and a diary line (:mod:`detector.io.diary`) is matched with the
night that starts on the evening of its date.

Statistics (all rank based, so one wild night does not dominate):

- Trend: Spearman's rho of each index against the night order, with its p-value and n.
- Each diary factor against each index: Spearman's rho over the nights that have both, a 95 %
  confidence interval by Fisher's z transform with the standard error 1.03/sqrt(n - 3) of
  Fieller, Hartley & Pearson (Biometrika 1957;44:470-481), as recommended for Spearman's rho by
  Bonett & Wright (Psychometrika 2000;65:23-28; their alternative, sqrt((1 + rho^2/2)/(n - 3)),
  is ``ci_method="bonett_wright"``), the p-value and a Holm-adjusted p-value over all factor-index
  pairs (many pairs are tested, so some look related by chance).
- Fewer than :data:`MIN_NIGHTS` paired nights: no claim at all ("too few nights").

The wording says what went together ("went with a higher twitch index"), never that one thing
brings about another: a diary cannot tell which way round it is, or whether a third thing (a bad
week) moved both. This is not a diagnosis.
"""

from __future__ import annotations

import json
import math
import warnings
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from detector.config import CategoryConfig
from detector.io.recording import InputError

__all__ = ["INDICES", "MIN_NIGHTS", "FACTOR_ARTICLE", "Trends", "night_date", "load_nights",
           "spearman_ci", "night_trends"]

#: The indices followed over time (events per hour of rest): column -> plain name.
INDICES: dict[str, str] = {"plm_index": "PLM index", "lm_index": "leg movement index",
                           "twitch_index": "twitch index"}
#: Fewest nights with both a diary value and an index before a correlation is reported. With 7
#: pairs a 95 % interval spans about 1.3 of rho's range of 2; fewer say next to nothing.
MIN_NIGHTS = 7
#: Nights in the rolling mean (one week).
WINDOW_NIGHTS = 7
#: Nights looked back over for "PLM index above the threshold on several nights".
RECENT_NIGHTS = 7
#: ...and how many of them (a pattern, not one bad night).
SEVERAL_NIGHTS = 3
#: Columns of the nights table kept from each summary (others are ignored).
NIGHT_COLUMNS = ("night", "source", "start_time", "plm_index", "lm_index", "twitch_index",
                 "rest_h", "recording_h", "gap_s", "n_plm", "n_lm", "n_twitch", "n_sustained",
                 "n_series", "periodicity_index", "median_imi_s", "category", "rules")

#: What the article says about each diary factor (quoted from it), for the factors that go with
#: an index.
FACTOR_ARTICLE: dict[str, tuple[str, str]] = {
    "caffeine_mg": ("Caffeine intake, known to stimulate muscle activity.",
                    "Also, watch how much caffeine and alcohol you drink. They can dry you out "
                    "and make muscles more irritable."),
    "alcohol_units": ("Watch how much caffeine and alcohol you drink.",
                      "They can dry you out and make muscles more irritable."),
    "stress_1_5": ("Fatigue and stress, often leading to muscle tension.",
                   "Stress-reducing activities like meditation or yoga can also help manage "
                   "symptoms."),
    "exercise_min": ("Overexertion during exercise.",
                     "Regular exercise makes muscles strong and less likely to twitch. Simple "
                     "moves like walking, stretching, or yoga help a lot."),
    "sleep_h": ("Poor sleep quality, resulting in muscle fatigue.",
                "Don\u2019t forget the importance of sleep. Not getting enough can make twitches "
                "worse."),
    "water_l": ("Dehydration, which can disrupt muscle function.",
                "Drinking enough water is also important. It keeps muscles working right and "
                "cuts down on twitching."),
}


@dataclass(frozen=True, eq=False)
class Trends:
    """Nights over time and how diary factors go with them.

    Attributes
    ----------
    nights : DataFrame
        One row per night, sorted by ``date`` (datetime64, the evening the night started):
        ``night``, ``start_time``, the indices (events per hour of rest), ``rest_h`` (hours),
        counts, ``category``, ``<index>_rolling`` (mean of the last :data:`WINDOW_NIGHTS`
        nights) and the diary columns matched by date (NaN where no diary line).
    trend : DataFrame
        One row per index: ``index``, ``n``, ``rho``, ``ci_low``, ``ci_high``, ``p_value``,
        ``claim`` (``rising``, ``falling``, ``no_clear_trend``, ``too_few_nights``,
        ``no_variation``) and ``sentence``.
    factors : DataFrame
        One row per diary factor and index: ``factor``, ``index``, ``n`` (paired nights),
        ``rho``, ``ci_low``, ``ci_high`` (95 %), ``p_value``, ``p_holm``, ``claim``
        (``goes_with_higher``, ``goes_with_lower``, ``no_clear_link``, ``too_few_nights``,
        ``no_variation``) and ``sentence``. Empty without a diary.
    advice : dict
        ``key`` (the article's table row that fits), ``consult_doctor`` (bool), ``reasons``
        (list of str) and ``factors`` (diary factors that went with a higher index).
    notes : list of str
        What loading and matching found (nights dropped, diary dates without a night ...).
    settings : dict
        ``min_nights``, ``window_nights``, ``plm_index_per_h``, ``alpha``, ``ci_method``,
        ``source``, ``diary_source``.
    """

    nights: pd.DataFrame
    trend: pd.DataFrame
    factors: pd.DataFrame
    advice: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def n_comparisons(self) -> int:
        """Factor-index pairs with a correlation computed (the multiple-comparison count)."""
        return int(self.factors["rho"].notna().sum()) if len(self.factors) else 0


# --------------------------------------------------------------------------- loading


def night_date(start_time: Any, tz: str | None = None) -> date:
    """The date of the evening a night started: the local start time minus 12 h, its date.

    A night that starts at 22:30 on 1 March and one that starts at 01:10 on 2 March are both
    the night of 1 March; a recording started at 11:00 counts for the day before.

    Parameters
    ----------
    start_time : str or Timestamp
        ISO 8601 start of the recording (``summary.json`` ``start_time``).
    tz : str, optional
        IANA time zone (``Europe/Berlin``) the clock time is converted to first. By default the
        offset written in ``start_time`` is used as is (UTC for ``legtwitch`` results).

    Returns
    -------
    datetime.date
    """
    ts = pd.Timestamp(start_time)
    if tz:
        ts = (ts if ts.tzinfo is not None else ts.tz_localize("UTC")).tz_convert(tz)
    return (ts - pd.Timedelta(hours=12)).date()


def _summary_row(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: cannot read this summary.json ({exc})") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected a JSON object with start_time, plm_index ...")
    row = {k: data.get(k) for k in NIGHT_COLUMNS if k != "night"}
    row["night"] = path.parent.name
    row["_file"] = str(path)
    return row


def load_nights(results: str | Path, tz: str | None = None) -> tuple[pd.DataFrame, list[str]]:
    """Read the nights of a results folder into a table, one row per night date.

    Parameters
    ----------
    results : str or Path
        A results folder holding ``nights.csv`` (written by ``legtwitch batch``; used when
        present) or ``*/summary.json`` (one sub-folder per night), or a ``nights.csv`` /
        ``nights.parquet`` file itself.
    tz : str, optional
        Time zone for the night dates (see :func:`night_date`).

    Returns
    -------
    nights : DataFrame
        :data:`NIGHT_COLUMNS` that exist plus ``date`` (datetime64), sorted by date. When two
        nights share a date, the one with the longest rest is kept.
    notes : list of str
        Nights left out and why.

    Raises
    ------
    InputError
        Nothing to read, a file that cannot be read, or a night without ``start_time``.
    """
    results = Path(results)
    notes: list[str] = []
    table: Path | None = None
    if results.is_file():
        table = results
    elif results.is_dir():
        for name in ("nights.csv", "nights.parquet"):
            if (results / name).is_file():
                table = results / name
                break
    else:
        raise InputError(f"{results}: no such folder; expected a results folder of nights "
                         "(*/summary.json or nights.csv)")
    if table is not None:
        df = _read_table(table)
        if "status" in df:
            failed = df["status"].astype(str) == "failed"
            if failed.any():
                notes.append(f"{int(failed.sum())} night(s) marked failed in {table.name} were "
                             "left out.")
            df = df[~failed]
        if "night" not in df:
            df["night"] = (df["source"].map(lambda s: Path(str(s)).stem) if "source" in df
                           else [f"night {i + 1}" for i in range(len(df))])
        df = df[[c for c in NIGHT_COLUMNS if c in df]].copy()
        df["_file"] = [f"{table}, row {i + 2}" for i in df.index]
        where = str(table)
    else:
        files = sorted(results.glob("*/summary.json"))
        if not files:
            raise InputError(f"{results}: no */summary.json and no nights.csv; expected one "
                             "folder per night as written by `legtwitch analyze --out` or "
                             "`legtwitch batch`")
        rows = []
        for f in files:
            try:
                rows.append(_summary_row(f))
            except InputError as exc:          # one unreadable night costs itself
                notes.append(f"{exc}; left out.")
        if not rows:
            raise InputError(f"{results}: no readable */summary.json (" + "; ".join(notes[-3:])
                             + ")")
        df = pd.DataFrame(rows)
        where = str(results)
    if "start_time" not in df:
        raise InputError(f"{where}: no start_time column; expected the fields of summary.json")
    if df.empty:
        raise InputError(f"{where}: no nights to read")
    dates = []
    undated = []
    for i, file, st in zip(df.index, df["_file"], df["start_time"]):
        # one night that cannot be dated costs itself: it is left out with a note naming it
        if st is None or (isinstance(st, float) and math.isnan(st)) or str(st) == "":
            undated.append(i)
            notes.append(f"{file}: no start_time, so the night cannot be dated; left out.")
            continue
        try:
            when = pd.Timestamp(st)
            d = night_date(st, tz)
        except (ValueError, TypeError) as exc:
            undated.append(i)
            notes.append(f"{file}: start_time {str(st)[:40]!r} is not an ISO 8601 time "
                         f"({exc}); left out.")
            continue
        if when.year < 1980:  # relative timestamps: seconds from the start, no date
            undated.append(i)
            notes.append(f"{df.loc[i, 'night']}: the recording has relative timestamps (no "
                         "date), so it cannot be placed in time and was left out.")
            continue
        dates.append(d)
    df = df.drop(index=undated)
    if df.empty:
        raise InputError(f"{where}: no night with a date (" + "; ".join(notes[-3:]) + ")")
    df["date"] = pd.to_datetime(pd.Series(dates, index=df.index))
    for col in ("plm_index", "lm_index", "twitch_index", "rest_h"):
        df[col] = pd.to_numeric(df[col], errors="coerce") if col in df else np.nan
    df = df.sort_values(["date", "rest_h"], ascending=[True, False], kind="stable",
                        na_position="last")
    dup = df["date"].duplicated(keep="first")
    for d, group in df[df["date"].duplicated(keep=False)].groupby("date"):
        kept = group.iloc[0]["night"]
        notes.append(f"{len(group)} nights start on the evening of {d:%Y-%m-%d} "
                     f"({', '.join(map(str, group['night']))}): kept {kept}, the longest rest.")
    df = df[~dup].drop(columns="_file").reset_index(drop=True)
    return df, notes


def _read_table(path: Path) -> pd.DataFrame:
    try:
        if path.suffix == ".parquet":
            return pd.read_parquet(path)
        return pd.read_csv(path)
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except Exception as exc:  # pandas raises many types for a malformed table
        raise InputError(f"{path}: cannot read the nights table ({exc}); expected the "
                         "nights.csv written by `legtwitch batch`") from None


# --------------------------------------------------------------------------- statistics


def spearman_ci(rho: float, n: int, *, level: float = 0.95, method: str = "fieller"
                ) -> tuple[float, float]:
    """Confidence interval of Spearman's rho by Fisher's z transform.

    Parameters
    ----------
    rho : float
        Spearman's rank correlation (-1 to 1).
    n : int
        Number of pairs (at least 4).
    level : float
        Coverage (0.95 = 95 %).
    method : str
        ``fieller``: standard error of z 1.03/sqrt(n - 3) (Fieller, Hartley & Pearson 1957);
        ``bonett_wright``: sqrt((1 + rho^2/2)/(n - 3)) (Bonett & Wright 2000).

    Returns
    -------
    (low, high) : tuple of float
    """
    if n < 4:
        raise ValueError(f"n = {n}: a confidence interval needs at least 4 pairs")
    if method == "fieller":
        se = 1.03 / math.sqrt(n - 3)
    elif method == "bonett_wright":
        se = math.sqrt((1.0 + rho * rho / 2.0) / (n - 3))
    else:
        raise ValueError(f"method {method!r}: expected fieller or bonett_wright")
    r = min(max(rho, -0.999999), 0.999999)
    z = math.atanh(r)
    q = stats.norm.ppf(0.5 + level / 2.0)
    return math.tanh(z - q * se), math.tanh(z + q * se)


def _spearman(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    if np.unique(x).size < 2 or np.unique(y).size < 2:
        return math.nan, math.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = stats.spearmanr(x, y)
    return float(res.statistic), float(res.pvalue)


def _holm(p: np.ndarray) -> np.ndarray:
    """Holm's step-down adjusted p-values (NaN stays NaN and is not counted)."""
    out = np.full(p.shape, np.nan)
    ok = np.flatnonzero(~np.isnan(p))
    m = ok.size
    if m == 0:
        return out
    order = ok[np.argsort(p[ok], kind="stable")]
    adj = np.minimum(1.0, np.maximum.accumulate(p[order] * (m - np.arange(m))))
    out[order] = adj
    return out


def factor_label(name: str) -> str:
    base = {"caffeine_mg": "caffeine", "alcohol_units": "alcohol", "stress_1_5": "stress",
            "exercise_min": "exercise", "sleep_h": "sleep the night before",
            "water_l": "water"}.get(name)
    return f"{base} ({name})" if base else name


def _rank_stats(x: np.ndarray, y: np.ndarray, min_nights: int, ci_method: str
                ) -> tuple[dict[str, Any], str | None]:
    """Spearman's rho of ``y`` on ``x`` over the nights where both are known, its 95 % interval
    and p-value (NaN when not computed), and why it was not: ``too_few_nights``,
    ``no_variation`` or None."""
    ok = ~(np.isnan(x) | np.isnan(y))
    n = int(ok.sum())
    stats: dict[str, Any] = {"n": n, "rho": math.nan, "ci_low": math.nan, "ci_high": math.nan,
                             "p_value": math.nan}
    if n < min_nights:
        return stats, "too_few_nights"
    rho, p = _spearman(x[ok], y[ok])
    if math.isnan(rho):
        return stats, "no_variation"
    lo, hi = spearman_ci(rho, n, method=ci_method)
    stats.update(rho=rho, ci_low=lo, ci_high=hi, p_value=p)
    return stats, None


def _trend_row(index: str, x: np.ndarray, y: np.ndarray, min_nights: int, alpha: float,
               ci_method: str) -> dict[str, Any]:
    name = INDICES[index]
    stats, why_not = _rank_stats(x, y, min_nights, ci_method)
    row: dict[str, Any] = {"index": index, **stats}
    n = stats["n"]
    if why_not == "too_few_nights":
        row.update(claim=why_not,
                   sentence=f"Too few nights to judge a trend in the {name}: {n} night"
                            f"{'s' if n != 1 else ''}, at least {min_nights} needed.")
        return row
    if why_not == "no_variation":
        row.update(claim=why_not,
                   sentence=f"The {name} was the same every night: no trend to test.")
        return row
    rho, lo, hi, p = stats["rho"], stats["ci_low"], stats["ci_high"], stats["p_value"]
    stat = (f"rho {rho:+.2f}, 95% CI {lo:+.2f} to {hi:+.2f}, "
            f"p {'< 0.001' if p < 0.001 else f'= {p:.3f}'}, {n} nights")
    if p < alpha and rho > 0:
        row.update(claim="rising", sentence=f"The {name} rose over the nights ({stat}).")
    elif p < alpha and rho < 0:
        row.update(claim="falling", sentence=f"The {name} fell over the nights ({stat}).")
    else:
        row.update(claim="no_clear_trend",
                   sentence=f"No clear rise or fall of the {name} over the nights ({stat}).")
    return row


def _factor_row(factor: str, index: str, x: np.ndarray, y: np.ndarray, min_nights: int,
                ci_method: str) -> dict[str, Any]:
    name, label = INDICES[index], factor_label(factor)
    stats, why_not = _rank_stats(x, y, min_nights, ci_method)
    row: dict[str, Any] = {"factor": factor, "index": index, **stats}
    n = stats["n"]
    if why_not == "too_few_nights":
        row.update(claim=why_not,
                   sentence=f"Too few nights to say: {n} night{'s' if n != 1 else ''} with "
                            f"both {label} and a {name}; at least {min_nights} needed.")
        return row
    if why_not == "no_variation":
        row.update(claim=why_not,
                   sentence=f"{label[0].upper() + label[1:]} or the {name} did not vary over "
                            f"the {n} nights, so there is nothing to compare.")
        return row
    rho, lo, hi = stats["rho"], stats["ci_low"], stats["ci_high"]
    stat = f"rho {rho:+.2f}, 95% CI {lo:+.2f} to {hi:+.2f}, {n} nights"
    if lo > 0:
        row.update(claim="goes_with_higher",
                   sentence=f"More {label} went with a higher {name} ({stat}).")
    elif hi < 0:
        row.update(claim="goes_with_lower",
                   sentence=f"More {label} went with a lower {name} ({stat}).")
    else:
        row.update(claim="no_clear_link",
                   sentence=f"No clear link between {label} and the {name}: the interval "
                            f"includes 0 ({stat}).")
    return row


def night_trends(nights: pd.DataFrame, diary: pd.DataFrame | None = None, *,
                 min_nights: int = MIN_NIGHTS, window_nights: int = WINDOW_NIGHTS,
                 alpha: float = 0.05, ci_method: str = "fieller",
                 category: CategoryConfig | None = None, notes: list[str] | None = None,
                 settings: dict[str, Any] | None = None) -> Trends:
    """Trends over nights and how each diary factor goes with each index.

    Parameters
    ----------
    nights : DataFrame
        One row per night with ``date`` (the evening it started, see :func:`night_date`) and
        ``plm_index``, ``lm_index``, ``twitch_index`` (per hour of rest), ``rest_h`` (hours);
        e.g. from :func:`load_nights`. Dates must be unique.
    diary : DataFrame, optional
        From :func:`detector.io.diary.read_diary`: ``date`` plus numeric factor columns. A diary
        line is matched with the night that starts on the evening of its date.
    min_nights : int
        Fewest paired nights for a correlation or trend (default :data:`MIN_NIGHTS`).
    window_nights : int
        Nights in the trailing rolling mean.
    alpha : float
        Level of the trend test and of the Holm-adjusted factor p-values.
    ci_method : str
        See :func:`spearman_ci`.
    category : CategoryConfig, optional
        ``plm_index_per_h`` (ICSD-3: 15/h in adults) for "PLM index high on several nights".
    notes : list of str, optional
        Notes to carry (e.g. from :func:`load_nights`).
    settings : dict, optional
        Extra settings to record (e.g. ``source``).

    Returns
    -------
    Trends
    """
    cat = category or CategoryConfig()
    notes = list(notes or [])
    if "date" not in nights:
        raise InputError("nights: no date column; expected the table from load_nights")
    df = nights.copy()
    df["date"] = pd.to_datetime(df["date"]).dt.normalize()
    if df["date"].duplicated().any():
        d = df.loc[df["date"].duplicated(), "date"].iloc[0]
        raise InputError(f"nights: two nights on {d:%Y-%m-%d}; expected one night per date")
    df = df.sort_values("date", kind="stable").reset_index(drop=True)
    for col in (*INDICES, "rest_h"):
        df[col] = pd.to_numeric(df[col], errors="coerce") if col in df else np.nan
        if col in INDICES:
            # a mean "of the last 7 nights" only once there are 7 nights to average
            df[f"{col}_rolling"] = df[col].rolling(window_nights, min_periods=window_nights).mean()
    factor_cols: list[str] = []
    if diary is not None:
        from detector.io.diary import TEXT_COLUMNS

        dia = diary.copy()
        dia["date"] = pd.to_datetime(dia["date"]).dt.normalize()
        factor_cols = [c for c in dia.columns if c != "date" and c not in TEXT_COLUMNS
                       and pd.api.types.is_numeric_dtype(dia[c])]
        clash = [c for c in dia.columns if c != "date" and c in df.columns]
        if clash:
            raise InputError(f"diary: column {clash[0]!r} is also a night measurement; rename it")
        unmatched = int((~dia["date"].isin(df["date"])).sum())
        if unmatched:
            first, last = df["date"].min(), df["date"].max()
            notes.append(f"{len(dia) - unmatched} of {len(dia)} diary days matched a night "
                         f"(a diary day goes with the night that starts that evening); the "
                         f"nights run from {first:%Y-%m-%d} to {last:%Y-%m-%d}.")
        no_entry = int((~df["date"].isin(dia["date"])).sum())
        if no_entry:
            notes.append(f"{no_entry} night(s) have no diary line.")
        df = df.merge(dia, on="date", how="left")
    order = np.arange(len(df), dtype=float)
    trend = pd.DataFrame([_trend_row(ix, order, df[ix].to_numpy(float), min_nights, alpha,
                                     ci_method) for ix in INDICES])
    rows = [_factor_row(f, ix, df[f].to_numpy(float), df[ix].to_numpy(float), min_nights,
                        ci_method) for f in factor_cols for ix in INDICES]
    factors = pd.DataFrame(rows, columns=["factor", "index", "n", "rho", "ci_low", "ci_high",
                                          "p_value", "claim", "sentence"])
    factors.insert(7, "p_holm", _holm(factors["p_value"].to_numpy(float)))
    factors = _adjusted_claims(factors, alpha)
    advice = _advice(df, trend, factors, cat)
    info = {"min_nights": min_nights, "window_nights": window_nights,
            "plm_index_per_h": cat.plm_index_per_h, "alpha": alpha, "ci_method": ci_method,
            "diary_factors": factor_cols}
    info.update(settings or {})
    return Trends(nights=df, trend=trend, factors=factors, advice=advice, notes=notes,
                  settings=info)


def _adjusted_claims(factors: pd.DataFrame, alpha: float) -> pd.DataFrame:
    """No link is claimed that does not survive Holm's correction for the number of factor-index
    pairs: a pair whose interval excludes 0 but whose adjusted p is above ``alpha`` reads "no
    clear link" (its numbers stay in the table)."""
    out = factors.copy()
    linked = out["claim"].isin(["goes_with_higher", "goes_with_lower"])
    weak = linked & ~(out["p_holm"].to_numpy(float) <= alpha)
    for i in np.flatnonzero(weak.to_numpy()):
        r = out.iloc[i]
        label, name = factor_label(str(r["factor"])), INDICES[str(r["index"])]
        direction = "higher" if r["claim"] == "goes_with_higher" else "lower"
        out.iloc[i, out.columns.get_loc("claim")] = "no_clear_link"
        out.iloc[i, out.columns.get_loc("sentence")] = (
            f"No clear link between {label} and the {name}: more {label} went with a "
            f"{direction} {name} on these nights (rho {r['rho']:+.2f}, {int(r['n'])} nights), "
            f"but with {len(out)} pairs compared that could be chance (adjusted p "
            f"{r['p_holm']:.3f}, above {alpha:g}).")
    return out


def _advice(df: pd.DataFrame, trend: pd.DataFrame, factors: pd.DataFrame,
            cat: CategoryConfig) -> dict[str, Any]:
    """Which row of the article's solution table fits these nights, and why."""
    recent = df.tail(RECENT_NIGHTS)
    limit = cat.plm_index_per_h
    n_recent = len(recent)
    # a night too short for a verdict (its own report gives none) is not counted against the
    # threshold either
    verdict = (recent["category"].astype(str) != "insufficient_data" if "category" in recent
               else pd.Series(True, index=recent.index))
    n_high = int(((recent["plm_index"] > limit) & verdict).sum())
    claims = dict(zip(trend["index"], trend["claim"]))
    doctor: list[str] = []
    if n_high >= SEVERAL_NIGHTS:
        doctor.append(f"The PLM index was above {limit:g}/h (the ICSD-3 threshold for adults) "
                      f"on {n_high} of the last {n_recent} nights.")
    if claims.get("plm_index") == "rising":
        doctor.append("The PLM index rose over the nights ("
                      + trend.set_index("index").loc["plm_index", "sentence"].split("(", 1)[1])
    cats = recent["category"].astype(str) if "category" in recent else pd.Series([], dtype=str)
    n_rls = int((cats == "restless_legs_like_pattern").sum())
    if n_rls >= SEVERAL_NIGHTS:
        doctor.append(f"{n_rls} of the last {n_recent} nights showed a restless-legs-like "
                      "pattern (much movement while settling).")
    higher = factors[factors["claim"] == "goes_with_higher"]
    lower = factors[factors["claim"] == "goes_with_lower"]
    linked = sorted(set(higher["factor"]) | set(lower["factor"]))
    reasons = list(doctor)
    if doctor:
        key = "when_to_see_a_doctor"
    else:
        n_freq = int((cats == "frequent_twitching").sum())
        rising = [INDICES[i] for i in ("lm_index", "twitch_index") if claims.get(i) == "rising"]
        if n_freq >= SEVERAL_NIGHTS:
            reasons.append(f"{n_freq} of the last {n_recent} nights showed frequent twitching.")
        if rising:
            reasons.append(f"The {' and the '.join(rising)} rose over the nights.")
        if linked:
            reasons.append("Diary factors went with the indices: "
                           + ", ".join(factor_label(f) for f in linked) + ".")
        key = "long_term_management" if reasons else "immediate_relief"
        if not reasons:
            reasons.append(f"The PLM index was above {limit:g}/h on {n_high} of the last "
                           f"{n_recent} nights and no index rose over the nights.")
    return {"key": key, "consult_doctor": bool(doctor), "reasons": reasons,
            "factors": sorted(set(higher["factor"])), "factors_lower": sorted(set(lower["factor"])),
            "n_high_recent": n_high, "n_recent": n_recent}


# --------------------------------------------------------------------------- the page


# --------------------------------------------------------------------------- command line

