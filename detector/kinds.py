"""Event kinds, legs and duration classes, shared by detection, scoring and every table reader.

Kinds: ``twitch`` (shorter than an LM), ``lm`` (a leg movement, 0.5-10 s under WASM 2016 and
AASM 2012) and ``sustained`` (longer). The bounds come from :class:`detector.config.RulesConfig`."""

from __future__ import annotations

from typing import Any, Callable, Iterable

import numpy as np

from detector.config import RulesConfig
from detector.errors import InputError

__all__ = ["TIME_EPS_S", "KINDS", "LEGS", "LEG_ALIASES", "normalise_labels", "kind_from_rules"]

#: Tolerance of every boundary comparison, in seconds. Times written in decimal seconds are not
#: exact in binary (``90.1 - 0.1 == 89.99999999999999``); 1 us is far below one sample at any
#: sampling rate, so it only makes the published inclusive/exclusive bounds behave as written.
TIME_EPS_S = 1e-6

KINDS = ("twitch", "lm", "sustained")

LEGS = ("left", "right", "bilateral", "unknown")

LEG_ALIASES = {"l": "left", "r": "right", "both": "bilateral", "bil": "bilateral",
                "": "unknown", "nan": "unknown", "none": "unknown"}


def normalise_labels(values: Iterable[Any], aliases: dict[str, str | None],
                     allowed: tuple[str, ...], what: str, where: Callable[[int], str]
                     ) -> list[str | None]:
    """Lower-case and check categorical values; ``None`` marks a missing value."""
    out: list[str | None] = []
    for k, raw in enumerate(values):
        text = "" if raw is None or (isinstance(raw, float) and np.isnan(raw)) else str(raw)
        text = text.strip().lower()
        text = aliases.get(text, text)  # type: ignore[assignment]
        if text is not None and text not in allowed:
            raise InputError(f"{where(k)}: {what} {raw!r} is not one of {', '.join(allowed)}")
        out.append(text)
    return out


def kind_from_rules(duration_s: np.ndarray, bilateral: np.ndarray,
                    rules: RulesConfig) -> np.ndarray:
    """Duration classes by the rules: < lm_min_s twitch, lm_min_s..max lm, above sustained.

    Parameters
    ----------
    duration_s : ndarray
        Event durations, in seconds.
    bilateral : ndarray of bool
        True for bilateral LMs.
    rules : RulesConfig
        ``lm_min_s``, ``lm_max_s``, ``bilateral_max_s``.

    Returns
    -------
    ndarray of str
        ``twitch``, ``lm`` or ``sustained`` per event.

    Notes
    -----
    Both bounds are inclusive (WASM 2016 / AASM 2012: an LM lasts 0.5-10 s). The upper bound is
    ``lm_max_s`` for one leg and ``bilateral_max_s`` for a bilateral LM (WASM 2016: 15 s).
    """
    upper = np.where(bilateral, rules.bilateral_max_s, rules.lm_max_s)
    return np.where(duration_s < rules.lm_min_s - TIME_EPS_S, "twitch",
                    np.where(duration_s <= upper + TIME_EPS_S, "lm", "sustained"))
