"""The result of one night, and the notebook call that makes it: re-thresholding in a fraction of
the time.

::

    import detector as lt
    res = lt.detect_movements("night.csv")              # or a DataFrame, array + fs, Recording
    res.summary(); res.events; res.plot_night(); res.plot_event(3); res.plot_average()
    res2 = res.rethreshold(on_factor=6, merge_gap_s=0.4)  # reuses the filtered signal
    res2.config.to_toml("tuned.toml")                     # legtwitch analyze --config tuned.toml

:func:`detector.analyze` and :func:`detect_movements` return the same :class:`NightResult`.
The filtered signal, envelope and noise floor are cached per recording
(:class:`detector.detect.recipe.SignalCache`); a change of the on/off factors, edge, merge or
duration settings, the classification or the rules repeats only the cheap steps (thresholds,
hysteresis, features, PLM scoring). A change of the band-pass or of the envelope's smoothing or
noise window recomputes what depends on it. The events are exactly those
:func:`detector.analyze` (and so ``legtwitch analyze --config``) finds with the same settings.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd

from detector.config import Config, ConfigError, as_config
from detector.detect.recipe import Detection, SignalCache, find_events
from detector.io.inputs import as_recording
from detector.io.recording import Recording
from detector.score.night import EVENT_COLUMNS, score_detection

__all__ = ["NightResult", "NightResult", "EVENT_COLUMNS", "night_result", "detect_movements"]


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
    detection: Detection | None = field(default=None, repr=False)
    respiratory_events: pd.DataFrame | None = field(default=None, repr=False)
    cache: SignalCache | None = field(default=None, repr=False)
    window: Any = field(default=None, repr=False)
    tz: Any = field(default=None, repr=False)
    hypnogram: pd.DataFrame | None = field(default=None, repr=False)

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
        from detector.report.plots import plot_night

        return plot_night(self, ax=ax)

    def plot_events(self, kind: str = "lm", n: int = 4) -> Any:
        """Plot up to ``n`` example events of one kind (raw axes and envelope)."""
        from detector.report.event_plots import plot_examples

        return plot_examples(self, kind=kind, n=n)

    def event_row(self, event: Any) -> pd.Series:
        """An event as a row: ``i`` (position in :attr:`events`), a row of any event table with
        ``start_s`` (e.g. a miss from :func:`detector.tuning.compare.compare_events`), or a time in
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
        from detector.report.event_plots import plot_event

        return plot_event(self, self.event_row(event), ax=ax)

    def plot_average(self, kind: str | list[str] | None = None) -> Any:
        """Average envelope of each kind aligned on the onsets, with its spread.

        See :func:`detector.report.plot_average.plot_average`.
        """
        from detector.report.plot_average import plot_average

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
        from detector.tuning.evaluate import compare_detection

        return compare_detection(self.events, truth, tolerance_s=tolerance_s)

    def __repr__(self) -> str:
        m = self.metrics
        return (f"<NightResult {self.recording.source}: {self.recording.duration_s / 3600:.2f}"
                f" h at {self.recording.fs_hz:g} Hz; {len(self.events)} events "
                f"({m.get('n_twitch', 0)} twitches, {m.get('n_lm', 0)} LMs, "
                f"{m.get('n_plm', 0)} PLMs in {m.get('n_series', 0)} series); rules "
                f"{self.config.rules.standard}>")

    def rethreshold(self, config: Config | None = None, **overrides: Any) -> "NightResult":
        """Detect again with other settings, reusing the cached filtered signal and envelope.

        Parameters
        ----------
        config : Config, optional
            Settings to start from (default: this result's).
        **overrides
            As :meth:`detector.config.Config.with_values`: ``on_factor=6``,
            ``classify__lm_max_s=12``, ``envelope={"merge_gap_s": 0.4}``, ``rules="aasm2012"``.

        Returns
        -------
        NightResult
            Exactly what :func:`detect_movements` would give for the new settings.

        Raises
        ------
        ConfigError
            On an unknown key or value, or a ``clean`` setting (those apply when loading: call
            :func:`detect_movements` on the file again).
        """
        cfg = (config or self.config).with_values(**overrides) if overrides else (
            config or self.config)
        if cfg.clean != self.config.clean:
            raise ConfigError("clean.* settings apply while loading the recording; call "
                              "detect_movements(path, clean={...}) instead of rethreshold")
        if self.info.get("other_leg") is not None:
            raise ConfigError("rethreshold re-detects one recording, and this night merged a "
                              "second leg in: call detector.analyze(recording, config, "
                              "other_leg=...) with the new settings instead")
        cache = self.cache or SignalCache(self.recording)
        det = find_events(self.recording, cache.trace(cfg), cfg)
        return night_result(self.recording, cfg, det, det.events,
                            respiratory=self.respiratory_events, window=self.window, tz=self.tz,
                            cache=cache, hypnogram=self.hypnogram)

    def compare(self, reference: Any, tolerance_s: float = 1.0) -> Any:
        """Compare with a reference scoring; see :func:`detector.tuning.compare.compare_events`."""
        from detector.tuning.compare import compare_events

        return compare_events(self, reference, tolerance_s=tolerance_s)

    def describe(self) -> str:
        """A methods paragraph for these settings; see :func:`detector.report.methods.describe`."""
        from detector.report.methods import describe

        return describe(self.config, fs_hz=self.recording.fs_hz)


#: The name this class had in notebooks written before analyze and detect_movements shared it.
MovementResults = NightResult


def night_result(recording: Recording, cfg: Config, det: Detection, events: pd.DataFrame, *,
                 respiratory: pd.DataFrame | None = None, window: Any = None, tz: Any = None,
                 cache: SignalCache | None = None, hypnogram: pd.DataFrame | None = None
                 ) -> NightResult:
    """Score detected movements (:func:`detector.score.night.score_detection`) into a result.

    Parameters
    ----------
    recording : Recording
    cfg : Config
    det : Detection
        The detection the events came from.
    events : DataFrame
        Its events, or the bilateral merge of both legs' events.
    respiratory, window, tz
        See :func:`detector.analyze`.
    cache : SignalCache, optional
        The recording's cached signal steps, kept for :meth:`NightResult.rethreshold`.
    hypnogram : DataFrame, optional
        Sleep stages (``start_s``, ``end_s``, ``stage``) from a PSG scoring of the same night.
    """
    fields = score_detection(recording, cfg, det, events, respiratory=respiratory, window=window,
                             tz=tz, hypnogram=hypnogram)
    return NightResult(**fields, detection=det, respiratory_events=respiratory, cache=cache,
                       window=window, tz=tz, hypnogram=hypnogram)


def detect_movements(data: Any, fs: float | None = None,
                     config: Config | str | Path | Mapping[str, Any] | None = None, *,
                     respiratory: pd.DataFrame | None = None, leg: str = "unknown",
                     **overrides: Any) -> NightResult:
    """Detect twitches, leg movements, sustained movements and PLM series in one night.

    Parameters
    ----------
    data : str, Path, DataFrame, ndarray, Recording or SimulatedNight
        The night (see :func:`detector.io.inputs.as_recording`): a CSV/Parquet path, a table with a
        time column and x, y, z, an ``(n, 3)`` array in g with ``fs``, ...
    fs : float, optional
        Sampling rate in Hz (needed for arrays; otherwise inferred from the timestamps).
    config : Config, str, Path or dict, optional
        Starting settings: a Config, a preset name (``default``, ``aasm2012``, ``sensitive``), a
        TOML preset path or nested dict; default WASM 2016.
    respiratory : DataFrame, optional
        Respiratory events (``start_s``, ``end_s``) for the respiratory exclusion of LMs.
    leg : str
        ``left``, ``right`` or ``unknown``.
    **overrides
        Settings changed on top of ``config``, e.g. ``on_factor=6`` or ``rules="aasm2012"``
        (see :meth:`detector.config.Config.with_values`).

    Returns
    -------
    NightResult
        Its ``events`` equal those of ``legtwitch analyze --config`` with the same settings.

    Examples
    --------
    >>> import detector as lt
    >>> res = lt.detect_movements(lt.simulate_night("plmd", hours=0.5, seed=1))  # doctest: +SKIP
    >>> res.rethreshold(on_factor=6).event_summary()  # doctest: +SKIP
    """
    cfg = as_config(config)
    if overrides:
        cfg = cfg.with_values(**overrides)
    recording = as_recording(data, fs, config=cfg.clean, leg=leg)
    cache = SignalCache(recording)
    det = find_events(recording, cache.trace(cfg), cfg)
    return night_result(recording, cfg, det, det.events, respiratory=respiratory, cache=cache)
