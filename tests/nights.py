"""Simulated nights shared by the tests: each night is simulated (and, for :func:`scored`,
analysed and compared with its truth) once per test process, whichever test asks first.

Treat what these return as read-only: copy a table before changing it. The session fixtures in
``conftest.py`` (``simulated_night``, ``scored_night``) hand out the same objects."""

from __future__ import annotations

import functools
from collections.abc import Iterable

from detector.io.clean import clean
from detector.tuning.evaluate import compare_detection
from detector.analysis import analyze
from detector.sim.night import simulate_night

#: Length of the nights the tests analyse (h).
HOURS = 1.0


def _hashable(value):
    if isinstance(value, (list, tuple)):
        return tuple(_hashable(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _hashable(v)) for k, v in value.items()))
    return value


_NIGHTS: dict = {}


def night(scenario: str = "plmd", hours: float = 1.0, fs_hz: float = 100.0, seed: int = 0,
          **options):
    """:func:`detector.sim.simulate_night` with these arguments, made once per test process."""
    key = (scenario, float(hours), float(fs_hz), int(seed), _hashable(options))
    if key not in _NIGHTS:
        _NIGHTS[key] = simulate_night(scenario, hours=hours, fs_hz=fs_hz, seed=seed, **options)
    return _NIGHTS[key]


@functools.lru_cache(maxsize=None)
def scored(scenario: str, seed: int):
    """``(night, result, comparison)`` of one 1-h 100-Hz night; onsets matched within 1 s."""
    sim = night(scenario, hours=HOURS, fs_hz=100.0, seed=seed)
    s = sim.samples
    rec = clean(s["timestamp"].to_numpy(), s[["x", "y", "z"]].to_numpy(), source=scenario)
    result = analyze(rec)
    return sim, result, compare_detection(result.events, sim.truth, tolerance_s=1.0)


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
