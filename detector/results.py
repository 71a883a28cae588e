"""The result of analysing one night: events, PLM scoring, metrics, category and the traces behind them."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .config import Config
from .recording import Recording

__all__ = ["NightResult", "EVENT_COLUMNS"]

#: Columns of ``events.csv`` (a contract read by other tools: add, never rename).
EVENT_COLUMNS = ["start_s", "end_s", "start_time", "duration_s", "kind", "plm", "series", "peak_g",
                 "leg", "rotation_deg", "candidate", "imi_s", "respiratory", "at_gap"]


@dataclass(frozen=True, eq=False)
class NightResult:
    """Everything one analysis found, YASA-style: a table, a summary, and plots.

    Attributes
    ----------
    events : DataFrame
        One row per event, columns :data:`EVENT_COLUMNS` (seconds from the first sample).
    series : DataFrame
        One row per PLM series: ``series``, ``start_s``, ``end_s``, ``n_lm``, ``mean_imi_s``.
    metrics : dict
        Night metrics (indices per hour of rest time, counts, periodicity index ...).
    category : dict
        The article category that fits: ``id``, ``title``, ``explanation``, ``advice`` (the
        article's table row), ``reasons`` (measured numbers behind the choice), ``disclaimer``.
    config : Config
        Every threshold used.
    recording : Recording
        The cleaned recording (uniform grid, gaps).
    envelope_g : ndarray, shape (n,), float32
        Movement envelope on the recording grid, in g (NaN in gaps).
    threshold_on_g : ndarray, shape (n,), float32
        On threshold on the same grid, in g.
    imi_hist : DataFrame
        ``bin_start_s``, ``bin_end_s``, ``count`` (2-s bins up to 90 s).
    ln_imi_hist : DataFrame
        ``ln_imi_start``, ``ln_imi_end``, ``count`` (0.1-wide bins of ln(IMI/s)).
    hourly : DataFrame
        ``hour``, ``n_twitch``, ``n_lm``, ``n_plm``, ``n_sustained``.
    info : dict
        Loader/cleaning notes and timings.
    """

    events: pd.DataFrame
    series: pd.DataFrame
    metrics: dict[str, Any]
    category: dict[str, Any]
    config: Config
    recording: Recording
    envelope_g: np.ndarray
    threshold_on_g: np.ndarray
    imi_hist: pd.DataFrame
    ln_imi_hist: pd.DataFrame
    hourly: pd.DataFrame
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def legs(self) -> str:
        """The leg analysed, or both (``left+right``) when a second recording was merged in."""
        other = self.info.get("other_leg")
        return f"{self.recording.leg}+{other}" if other else self.recording.leg

    def summary(self) -> dict[str, Any]:
        """The ``summary.json`` content: metrics, category, advice and every threshold used."""
        rec = self.recording
        out: dict[str, Any] = {
            "rules": self.config.rules.standard,
            "source": rec.source,
            "leg": self.legs,
            "start_time": rec.start_time.isoformat(),
            "fs_hz": rec.fs_hz,
        }
        out.update(self.metrics)
        out["category"] = self.category["id"]
        out["category_title"] = self.category["title"]
        out["advice"] = self.category["advice"]
        out["category_reasons"] = self.category["reasons"]
        out["disclaimer"] = self.category["disclaimer"]
        out["warnings"] = list(self.info.get("warnings", []))
        out["cleaning"] = {k: v for k, v in rec.info.items() if k != "warnings"}
        out["config"] = self.config.to_dict()
        return out

    def envelope_per_second(self) -> pd.DataFrame:
        """Envelope reduced to 1-s resolution for plotting a whole night.

        Returns
        -------
        DataFrame
            ``t_s`` (second), ``env_max_g`` (maximum in that second, NaN in gaps),
            ``threshold_on_g`` (median in that second).
        """
        fs = self.recording.fs_hz
        n = len(self.envelope_g)
        step = max(int(round(fs)), 1)
        m = n // step
        env = self.envelope_g[: m * step].reshape(m, step)
        thr = self.threshold_on_g[: m * step].reshape(m, step)
        with warnings.catch_warnings():  # all-NaN seconds (gaps) give NaN, silently
            warnings.simplefilter("ignore", RuntimeWarning)
            env_max = np.nanmax(env, axis=1)
        thr_med = np.median(thr, axis=1)  # NaN in seconds that touch a gap
        return pd.DataFrame({"t_s": np.arange(m) * step / fs, "env_max_g": env_max,
                             "threshold_on_g": thr_med})

    def plot_night(self, ax: Any = None) -> Any:
        """Plot the night at a glance (envelope, events by kind, PLM series shaded)."""
        from .plots import plot_night

        return plot_night(self, ax=ax)

    def plot_events(self, kind: str = "lm", n: int = 4) -> Any:
        """Plot up to ``n`` example events of one kind (raw axes and envelope)."""
        from .plots import plot_examples

        return plot_examples(self, kind=kind, n=n)

    def event_row(self, event: Any) -> pd.Series:
        """An event as a row: ``i`` (position in :attr:`events`), a row of any event table with
        ``start_s`` (e.g. a miss from :func:`detector.compare.compare_events`), or a time in
        seconds from the first sample (shown as an instant)."""
        if isinstance(event, (int, np.integer)) and not isinstance(event, bool):
            n = len(self.events)
            if not -n <= int(event) < n:
                raise IndexError(f"event {event}: this night has {n} events (0 to {n - 1})")
            return self.events.iloc[int(event)]
        if isinstance(event, (float, np.floating)):
            t = float(event)
            return pd.Series({"start_s": t, "end_s": t, "duration_s": 0.0, "kind": "time"})
        row = pd.Series(event) if isinstance(event, dict) else event
        if not isinstance(row, pd.Series) or "start_s" not in row:
            raise TypeError("event: expected a position in events, a row with start_s, or a "
                            f"time in seconds; got {type(event).__name__}")
        row = row.copy()
        if "end_s" not in row or pd.isna(row["end_s"]):
            row["end_s"] = row["start_s"] + float(row.get("duration_s", 0.0) or 0.0)
        row["duration_s"] = float(row["end_s"]) - float(row["start_s"])
        return row

    def plot_event(self, event: Any = 0, ax: Any = None) -> Any:
        """Plot one event over its duration +- 5 s: raw axes, envelope, on threshold.

        Parameters
        ----------
        event : int, Series, dict or float
            See :meth:`event_row`.
        ax : matplotlib Axes, optional
        """
        from .plots import plot_event

        return plot_event(self, self.event_row(event), ax=ax)

    def plot_average(self, kind: str | list[str] | None = None) -> Any:
        """Average envelope of each kind aligned on the onsets, with its spread.

        See :func:`detector.plot_average.plot_average`.
        """
        from .plot_average import plot_average

        return plot_average(self, kind)

    def get_mask(self, kind: str | list[str] | None = None) -> np.ndarray:
        """Boolean mask on the recording grid: True inside events of the given kind(s).

        Parameters
        ----------
        kind : str or list of str, optional
            ``twitch``, ``lm``, ``sustained`` and/or ``plm`` (LMs in a PLM series); all events
            by default.

        Returns
        -------
        ndarray of bool, shape (n_samples,)
            Sample ``k`` is at ``k / fs_hz`` seconds from the first sample.
        """
        kinds = [kind] if isinstance(kind, str) else list(kind or ["twitch", "lm", "sustained"])
        known = {"twitch", "lm", "sustained", "plm"}
        bad = [k for k in kinds if k not in known]
        if bad:
            raise ValueError(f"kind {bad[0]!r}: expected one of {', '.join(sorted(known))}")
        ev = self.events
        sel = ev["kind"].isin([k for k in kinds if k != "plm"]).to_numpy().copy()
        if "plm" in kinds:
            sel |= ev["plm"].fillna(False).astype(bool).to_numpy()
        n = self.recording.n_samples
        fs = self.recording.fs_hz
        i0 = np.clip(np.round(ev["start_s"].to_numpy(float)[sel] * fs).astype(np.int64), 0, n)
        i1 = np.clip(np.round(ev["end_s"].to_numpy(float)[sel] * fs).astype(np.int64), 0, n)
        edges = np.zeros(n + 1, np.int64)
        np.add.at(edges, i0, 1)
        np.add.at(edges, i1, -1)
        return np.cumsum(edges[:n]) > 0

    def event_summary(self) -> pd.DataFrame:
        """One row per kind (``twitch``, ``lm``, ``plm``, ``sustained``): count, rate per hour
        of analysed rest, median duration (s), peak (g) and rotation (degrees)."""
        ev = self.events
        rest_h = max(float(self.metrics.get("rest_h") or 0.0), 1e-9)
        rows = []
        for kind in ("twitch", "lm", "plm", "sustained"):
            sel = (ev["plm"].fillna(False).astype(bool) if kind == "plm"
                   else ev["kind"] == kind).to_numpy()
            part = ev[sel]
            rows.append({"kind": kind, "count": int(sel.sum()),
                         "per_h": round(int(sel.sum()) / rest_h, 2),
                         "median_duration_s": part["duration_s"].median(),
                         "median_peak_g": part["peak_g"].median(),
                         "median_rotation_deg": part["rotation_deg"].median()})
        return pd.DataFrame(rows).set_index("kind")

    def compare_detection(self, truth: pd.DataFrame, tolerance_s: float = 1.0) -> pd.DataFrame:
        """Precision, recall and F1 per kind against a reference event table."""
        from .evaluate import compare_detection

        return compare_detection(self.events, truth, tolerance_s=tolerance_s)
