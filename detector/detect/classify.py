"""Step 5 of detection: name each event by its duration, and drop mattress vibration."""

from __future__ import annotations

import numpy as np
import pandas as pd

from detector.config import ClassifyConfig, RulesConfig
from detector.kinds import kind_from_rules

__all__ = ["KINDS", "kind_from_duration", "kinds_from_features", "classify_events"]

#: Event kinds, in the order of their duration classes.
KINDS = ("twitch", "lm", "sustained")


def kind_from_duration(duration_s: np.ndarray | pd.Series, twitch_max_s: float = 0.5,
                       lm_max_s: float = 10.0) -> np.ndarray:
    """Duration classes: ``twitch`` (< 0.5 s), ``lm`` (0.5-10 s inclusive), ``sustained`` (> 10 s).

    The LM bounds are the WASM 2016 / AASM 2012 leg-movement durations (0.5-10 s); the rule
    itself is :func:`detector.score.plm.kind_from_rules`, shared with PLM scoring.
    """
    d = np.asarray(duration_s, dtype=float)
    rules = RulesConfig(standard="custom", lm_min_s=twitch_max_s, lm_max_s=lm_max_s)
    return kind_from_rules(d, np.zeros(d.shape, bool), rules)


def kinds_from_features(duration_s: np.ndarray, peak_g: np.ndarray, rotation_deg: np.ndarray,
                        context_g: np.ndarray, low_freq_share: np.ndarray,
                        peak_offset_s: np.ndarray | None = None,
                        tail_ratio: np.ndarray | None = None,
                        config: ClassifyConfig | None = None
                        ) -> tuple[np.ndarray, np.ndarray]:
    """The kind of each event from its features, or None for mattress vibration (the rule of
    :func:`classify_events`, on arrays).

    Returns
    -------
    kind : ndarray of object
        ``twitch``, ``lm``, ``sustained`` or None (dropped).
    reason : ndarray of object
        Why an event was dropped ("" when kept).
    """
    cfg = config or ClassifyConfig()
    dur = np.asarray(duration_s, float)
    peak = np.asarray(peak_g, float)
    low = np.asarray(low_freq_share, float)
    # without the shape of the envelope no event counts as a ringing jerk
    offset = (np.full(len(dur), np.inf) if peak_offset_s is None
              else np.asarray(peak_offset_s, float))
    tail = np.ones(len(dur)) if tail_ratio is None else np.asarray(tail_ratio, float)
    kind = np.asarray(kind_from_duration(dur, cfg.twitch_max_s, cfg.lm_max_s), object)
    flat = np.asarray(rotation_deg, float) < cfg.min_rotation_deg
    broadband = low < cfg.vibration_max_low_share
    jerk = flat & (dur >= cfg.twitch_max_s) & (dur < cfg.jerk_max_s)
    # a jerk after which a loose strap rings on: broadband, loudest at its start, dying away
    ring = (flat & broadband & (dur >= cfg.jerk_max_s) & (dur < cfg.ring_max_s)
            & (offset <= cfg.ring_peak_s) & (tail <= cfg.ring_tail_ratio))
    kind[jerk | ring] = "twitch"
    small = peak < cfg.vibration_max_g
    blends_in = small & (peak < cfg.context_factor * np.asarray(context_g, float))
    shaking = (flat & broadband & ~ring & (dur >= cfg.jerk_max_s)
               & (peak < cfg.shaking_max_g))
    reject = blends_in | shaking
    kind[reject] = None
    reason = np.where(blends_in, "does not stand out from surroundings",
                      np.where(shaking, "no change of leg orientation", "")).astype(object)
    return kind, reason


def classify_events(events: pd.DataFrame, config: ClassifyConfig | None = None
                    ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Add a ``kind`` column and separate bursts that are mattress vibration, not the leg.

    An event shorter than ``jerk_max_s`` whose orientation changes by less than
    ``min_rotation_deg`` is a twitch even when it measures 0.5 s or more: the accelerometer rings
    on after a jerk, while a leg movement is mostly a rotation. A loosely strapped sensor rings
    longer (4-8 Hz for 1-1.5 s): an event without tilt, with broadband motion, loudest within
    ``ring_peak_s`` of its start, dying away (its second half below ``ring_tail_ratio`` of the
    peak) and shorter than ``ring_max_s`` is a twitch too.

    A bed partner's movement reaches the sensor through the mattress as broadband shaking
    lasting seconds: a few to ~10 mg, and 60-75 mg when a partner turns over on a spring
    mattress. A burst whose peak stays under ``vibration_max_g`` is kept only if it stands out
    from its surroundings (peak >= ``context_factor`` x the median envelope within
    ``context_s``). A burst of ``jerk_max_s`` or more that is not a ringing jerk, peaks under
    ``shaking_max_g`` and neither tilts the leg (``min_rotation_deg``) nor moves slowly
    (``low_freq_share`` >= ``vibration_max_low_share``: a leg turning about the vertical tilts
    little, but moves slowly, while shaking is broadband) is dropped as shaking.

    Parameters
    ----------
    events : DataFrame
        ``duration_s``, ``peak_g``, ``rotation_deg``, ``context_g``, ``low_freq_share`` and
        optionally ``peak_offset_s`` (s from the start to the peak) and ``tail_ratio`` (largest
        envelope in the second half over the peak) per burst.
    config : ClassifyConfig, optional

    Returns
    -------
    kept, rejected : DataFrame
        ``kept`` has a ``kind`` column; ``rejected`` has a ``reason`` column.
    """
    ev = events.copy()
    kind, reason = kinds_from_features(
        ev["duration_s"].to_numpy(), ev["peak_g"].to_numpy(), ev["rotation_deg"].to_numpy(),
        ev["context_g"].to_numpy(), ev["low_freq_share"].to_numpy(),
        ev["peak_offset_s"].to_numpy() if "peak_offset_s" in ev else None,
        ev["tail_ratio"].to_numpy() if "tail_ratio" in ev else None, config)
    reject = np.array([k is None for k in kind], bool)
    ev["kind"] = kind
    rejected = ev[reject].copy()
    rejected["reason"] = reason[reject]
    return ev[~reject].reset_index(drop=True), rejected.reset_index(drop=True)
