"""Step 5 of detection: name each event by its duration, and drop mattress vibration."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .config import ClassifyConfig, RulesConfig
from .plm import kind_from_rules

__all__ = ["KINDS", "kind_from_duration", "classify_events"]

#: Event kinds, in the order of their duration classes.
KINDS = ("twitch", "lm", "sustained")


def kind_from_duration(duration_s: np.ndarray | pd.Series, twitch_max_s: float = 0.5,
                       lm_max_s: float = 10.0) -> np.ndarray:
    """Duration classes: ``twitch`` (< 0.5 s), ``lm`` (0.5-10 s inclusive), ``sustained`` (> 10 s).

    The LM bounds are the WASM 2016 / AASM 2012 leg-movement durations (0.5-10 s); the rule
    itself is :func:`detector.plm.kind_from_rules`, shared with PLM scoring.
    """
    d = np.asarray(duration_s, dtype=float)
    rules = RulesConfig(standard="custom", lm_min_s=twitch_max_s, lm_max_s=lm_max_s)
    return kind_from_rules(d, np.zeros(d.shape, bool), rules)


def classify_events(events: pd.DataFrame, config: ClassifyConfig | None = None
                    ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Add a ``kind`` column and separate bursts that are mattress vibration, not the leg.

    An event shorter than ``jerk_max_s`` whose orientation changes by less than
    ``min_rotation_deg`` is a twitch even when it measures 0.5 s or more: the accelerometer rings
    on after a jerk, while a leg movement is mostly a rotation.

    A bed partner's movement reaches the sensor through the mattress as small (a few to ~10 mg),
    broadband shaking lasting seconds. A burst whose peak stays under ``vibration_max_g`` is kept
    only if it stands out from its surroundings (peak >= ``context_factor`` x the median envelope
    within ``context_s``) and, when it lasts ``jerk_max_s`` or more, if the leg's orientation
    changes by at least ``min_rotation_deg`` (a leg movement is mostly a rotation; vibration barely
    tilts it) or its motion is slow (``low_freq_share`` >= ``vibration_max_low_share``: a leg
    turning about the vertical tilts little, but moves slowly, while vibration is broadband).

    Parameters
    ----------
    events : DataFrame
        ``duration_s``, ``peak_g``, ``rotation_deg``, ``context_g``, ``low_freq_share`` per burst.
    config : ClassifyConfig, optional

    Returns
    -------
    kept, rejected : DataFrame
        ``kept`` has a ``kind`` column; ``rejected`` has a ``reason`` column.
    """
    cfg = config or ClassifyConfig()
    ev = events.copy()
    ev["kind"] = kind_from_duration(ev["duration_s"], cfg.twitch_max_s, cfg.lm_max_s)
    flat = ev["rotation_deg"] < cfg.min_rotation_deg
    jerk = flat & (ev["duration_s"] >= cfg.twitch_max_s) & (ev["duration_s"] < cfg.jerk_max_s)
    ev.loc[jerk, "kind"] = "twitch"
    small = ev["peak_g"] < cfg.vibration_max_g
    blends_in = small & (ev["peak_g"] < cfg.context_factor * ev["context_g"])
    broadband = ev["low_freq_share"] < cfg.vibration_max_low_share
    no_tilt = small & flat & broadband & (ev["duration_s"] >= cfg.jerk_max_s)
    reject = blends_in | no_tilt
    rejected = ev[reject].copy()
    rejected["reason"] = np.where(blends_in[reject], "does not stand out from surroundings",
                                  "no change of leg orientation")
    return ev[~reject].reset_index(drop=True), rejected.reset_index(drop=True)
