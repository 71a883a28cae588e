"""Simulated nights analysed and compared with their truth, shared by the quality tests (each
night is simulated and analysed once per test process)."""

from __future__ import annotations

import functools
from collections.abc import Iterable

from detector.clean import clean
from detector.evaluate import compare_detection
from detector.pipeline import analyze
from detector.simulate import simulate_night

#: Length of the nights the tests analyse (h).
HOURS = 1.0


@functools.lru_cache(maxsize=None)
def scored(scenario: str, seed: int):
    """``(night, result, comparison)`` of one 1-h 100-Hz night; onsets matched within 1 s."""
    night = simulate_night(scenario, hours=HOURS, fs_hz=100.0, seed=seed)
    s = night.samples
    rec = clean(s["timestamp"].to_numpy(), s[["x", "y", "z"]].to_numpy(), source=scenario)
    result = analyze(rec)
    return night, result, compare_detection(result.events, night.truth, tolerance_s=1.0)


def counts(scenario: str, kind: str, seeds: Iterable[int]) -> tuple[int, int, int]:
    """True positives, false positives and misses of ``kind`` pooled over the nights."""
    tp = fp = fn = 0
    for seed in seeds:
        row = scored(scenario, seed)[2].set_index("kind").loc[kind]
        tp, fp, fn = tp + int(row["tp"]), fp + int(row["fp"]), fn + int(row["fn"])
    return tp, fp, fn


def pooled_f1(scenario: str, kind: str, seeds: Iterable[int]) -> tuple[float | None, int]:
    """F1 of ``kind`` pooled over the nights (None when nothing is true or found), and the number
    of true events."""
    tp, fp, fn = counts(scenario, kind, seeds)
    denom = 2 * tp + fp + fn
    return (2 * tp / denom if denom else None), tp + fn
