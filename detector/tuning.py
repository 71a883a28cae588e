"""One call for a night in a notebook, and re-thresholding in a fraction of the time.

::

    import detector as lt
    res = lt.detect_movements("night.csv")              # or a DataFrame, array + fs, Recording
    res.summary(); res.events; res.plot_night(); res.plot_event(3); res.plot_average()
    res2 = res.rethreshold(on_factor=6, merge_gap_s=0.4)  # reuses the filtered signal
    res2.config.to_toml("tuned.toml")                     # legtwitch analyze --config tuned.toml

The filtered signal, envelope and noise floor are cached per recording; a change of the on/off
factors, edge, merge or duration settings, the classification or the rules repeats only the cheap
steps (thresholds, hysteresis, features, PLM scoring). A change of the band-pass or of the
envelope's smoothing or noise window recomputes what depends on it. The events are exactly those
:func:`detector.analyze` (and so ``legtwitch analyze --config``) finds with the same settings.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import pandas as pd

from .config import Config, ConfigError, load_config
from .events import Detection, SignalTrace, filter_segments, find_events, not_analysed_cum
from .envelope import movement_envelope
from .inputs import as_recording
from .pipeline import score_night
from .recording import Recording
from .results import NightResult
from .thresholds import noise_floor

__all__ = ["detect_movements", "MovementResults", "SignalCache", "as_config"]


class SignalCache:
    """The expensive steps of one recording's detection, keyed by the settings they depend on.

    Keeps the latest band-pass, envelope and noise floor, so that moving one slider back and
    forth recomputes only what that slider changes. Safe to share between threads.
    """

    def __init__(self, recording: Recording) -> None:
        self.recording = recording
        self._lock = threading.Lock()
        self._filtered: tuple[Any, Any] | None = None
        self._envelope: tuple[Any, Any] | None = None
        self._floor: tuple[Any, Any] | None = None
        self.hits = {"filter": 0, "envelope": 0, "floor": 0}

    def __getstate__(self) -> dict[str, Any]:
        """Pickle the recording only (results travel to worker processes light); the cached
        steps are recomputed there on first use."""
        return {"recording": self.recording}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["recording"])  # type: ignore[misc]

    def trace(self, config: Config) -> SignalTrace:
        """The :class:`SignalTrace` of the recording under ``config``."""
        bp, ev = config.bandpass, config.envelope
        rec = self.recording
        with self._lock:
            fkey = (bp.lowcut_hz, bp.highcut_hz, bp.order)
            if self._filtered is None or self._filtered[0] != fkey:
                filt, seg_lo, seg_hi, used = filter_segments(rec, bp)
                gap_cum = not_analysed_cum(filt)
                self._filtered = (fkey, (filt, seg_lo, seg_hi, used, gap_cum))
                self._envelope = self._floor = None
            else:
                self.hits["filter"] += 1
            filt, seg_lo, seg_hi, used, gap_cum = self._filtered[1]
            ekey = (fkey, bp.baseline_window_s, ev.smooth_s)
            if self._envelope is None or self._envelope[0] != ekey:
                self._envelope = (ekey, movement_envelope(filt, rec.fs_hz, bp.baseline_window_s,
                                                          ev.smooth_s))
                self._floor = None
            else:
                self.hits["envelope"] += 1
            env, posture = self._envelope[1]
            nkey = (ekey, ev.noise_window_s, ev.noise_quantile)
            if self._floor is None or self._floor[0] != nkey:
                self._floor = (nkey, noise_floor(env, rec.fs_hz, ev.noise_window_s,
                                                 ev.noise_quantile))
            else:
                self.hits["floor"] += 1
            return SignalTrace(filt, seg_lo, seg_hi, env, posture, self._floor[1], used, gap_cum)


def as_config(config: Config | str | Path | Mapping[str, Any] | None) -> Config:
    """A :class:`Config` from a Config, a preset name, a TOML path or nested ``{section: {key:
    value}}`` data; ``None`` is the default (WASM 2016) preset."""
    if config is None or isinstance(config, Config):
        return config or Config()
    if isinstance(config, (str, Path)):
        return load_config(config)
    if isinstance(config, Mapping):
        return Config.from_dict(config)
    raise ConfigError(f"config: expected a Config, a preset name, a TOML path or a dict, got "
                      f"{type(config).__name__}")


@dataclass(frozen=True, eq=False)
class MovementResults(NightResult):
    """A night's movements, YASA-style, that can be re-thresholded quickly.

    Everything a :class:`~detector.results.NightResult` has (``events``, ``series``,
    ``metrics``, ``summary()``, ``event_summary()``, ``plot_night()``, ``plot_event(i)``,
    ``plot_average()``, ``get_mask()``), plus:

    Attributes
    ----------
    detection : Detection
        The detector's own output: envelope, on and off thresholds, rejected vibration bursts.
    respiratory_events : DataFrame or None
        Respiratory events the PLM scoring excluded LMs around.
    cache : SignalCache
        The filtered signal, envelope and noise floor, shared by every re-thresholded result.
    """

    detection: Detection | None = field(default=None, repr=False)
    respiratory_events: pd.DataFrame | None = field(default=None, repr=False)
    cache: SignalCache | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        m = self.metrics
        return (f"<MovementResults {self.recording.source}: {self.recording.duration_s / 3600:.2f}"
                f" h at {self.recording.fs_hz:g} Hz; {len(self.events)} events "
                f"({m.get('n_twitch', 0)} twitches, {m.get('n_lm', 0)} LMs, "
                f"{m.get('n_plm', 0)} PLMs in {m.get('n_series', 0)} series); rules "
                f"{self.config.rules.standard}>")

    def rethreshold(self, config: Config | None = None, **overrides: Any) -> "MovementResults":
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
        MovementResults
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
        cache = self.cache or SignalCache(self.recording)
        return _results(self.recording, cfg, cache, self.respiratory_events)

    def compare(self, reference: Any, tolerance_s: float = 1.0) -> Any:
        """Compare with a reference scoring; see :func:`detector.compare.compare_events`."""
        from .compare import compare_events

        return compare_events(self, reference, tolerance_s=tolerance_s)

    def describe(self) -> str:
        """A methods paragraph for these settings; see :func:`detector.describe.describe`."""
        return self.config.describe(fs_hz=self.recording.fs_hz)


def _results(recording: Recording, cfg: Config, cache: SignalCache,
             respiratory: pd.DataFrame | None) -> MovementResults:
    det = find_events(recording, cache.trace(cfg), cfg)
    out = score_night(recording, cfg, det, det.events, respiratory=respiratory,
                      result_class=MovementResults, detection=det,
                      respiratory_events=respiratory,
                      cache=cache)
    return out  # type: ignore[return-value]


def detect_movements(data: Any, fs: float | None = None,
                     config: Config | str | Path | Mapping[str, Any] | None = None, *,
                     respiratory: pd.DataFrame | None = None, leg: str = "unknown",
                     **overrides: Any) -> MovementResults:
    """Detect twitches, leg movements, sustained movements and PLM series in one night.

    Parameters
    ----------
    data : str, Path, DataFrame, ndarray, Recording or SimulatedNight
        The night (see :func:`detector.inputs.as_recording`): a CSV/Parquet path, a table with a
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
    MovementResults
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
    return _results(recording, cfg, SignalCache(recording), respiratory)
