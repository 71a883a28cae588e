"""Event planning: when each twitch, leg movement, PLM series, turn-over, settling step, strap
slip and data gap of a simulated night happens."""

from __future__ import annotations

import bisect
from typing import Any

import numpy as np

from detector.sim.scenarios import (EDGE_S, GETUP_DURATION_S, GETUP_SHARE, LM_DURATION_LOG_SIGMA,
                                    LM_DURATION_S, LM_MEDIAN_DURATION_S, LONG_GAP_PER_H, LONG_GAP_S,
                                    MIN_SEPARATION_S, MIN_SERIES_PAUSE_S, NEIGHBOUR_GAP_S,
                                    PACKET_LOSS_PER_H, PACKET_LOSS_S, SERIES_CLEARANCE_S,
                                    STEP_AMPLITUDE_DEG, STEP_DURATION_S, STEP_REST_S, STRAP_RING_G,
                                    STRAP_RING_HZ, STRAP_RING_S, STRAP_SLIP_DEG, STRAP_SLIP_S,
                                    TURN_DURATION_S, TWITCH_BURST_S, Range, Scenario)
from detector.sim.synth import loguniform

__all__ = ["place", "draw_rate", "plan_events", "plan_slips", "plan_gaps"]


class _Timeline:
    """Non-overlapping intervals kept at least ``sep_s`` apart (sorted, bisect look-ups)."""

    def __init__(self, lo_s: float, hi_s: float, sep_s: float) -> None:
        self.lo_s, self.hi_s, self.sep_s = lo_s, hi_s, sep_s
        self.starts: list[float] = []
        self.ends: list[float] = []

    def fits(self, start_s: float, end_s: float) -> bool:
        if start_s < self.lo_s or end_s > self.hi_s:
            return False
        k = bisect.bisect_left(self.starts, start_s)
        if k > 0 and self.ends[k - 1] + self.sep_s > start_s:
            return False
        return not (k < len(self.starts) and end_s + self.sep_s > self.starts[k])

    def add(self, start_s: float, end_s: float) -> None:
        k = bisect.bisect_left(self.starts, start_s)
        self.starts.insert(k, start_s)
        self.ends.insert(k, end_s)


def place(rng: np.random.Generator, timelines: list[_Timeline], duration_s: float,
           lo_s: float, hi_s: float, tries: int = 60) -> float | None:
    """Random start in [lo_s, hi_s - duration_s] that fits all timelines (added to the first)."""
    if hi_s - duration_s <= lo_s:
        return None
    for _ in range(tries):
        s = float(rng.uniform(lo_s, hi_s - duration_s))
        if all(tl.fits(s, s + duration_s) for tl in timelines):
            timelines[0].add(s, s + duration_s)
            return s
    return None


def _lm_duration(rng: np.random.Generator) -> float:
    d = LM_MEDIAN_DURATION_S * np.exp(rng.normal(0.0, LM_DURATION_LOG_SIGMA))
    return float(np.clip(d, *LM_DURATION_S))


def draw_rate(rng: np.random.Generator, rng_range: Range) -> float:
    return float(rng.uniform(*rng_range)) if rng_range[1] > 0 else 0.0


def _plan_series(rng: np.random.Generator, sc: Scenario, lo_s: float, hi_s: float,
                 occupied: _Timeline, reserved: _Timeline) -> tuple[list[dict], float]:
    """PLM series filling [lo_s, hi_s] at the scenario's rate; pauses split the rest at random."""
    rate = draw_rate(rng, sc.plm_index_per_h)
    target = int(round(rate * (hi_s - lo_s) / 3600.0))
    plans: list[np.ndarray] = []
    total = 0
    while total < target:
        n = int(np.floor(loguniform(rng, sc.series_length[0], sc.series_length[1] + 1)))
        n = int(np.clip(min(n, max(target - total, sc.series_length[0])), *sc.series_length))
        lo_imi = max(14.0, sc.imi_s[0])
        base = rng.uniform(lo_imi, max(min(45.0, sc.imi_s[1]), lo_imi))
        imis = np.clip(base * np.exp(rng.normal(0.0, 0.12, n - 1)), *sc.imi_s)
        plans.append(imis)
        total += n
    spans = [float(imis.sum()) + LM_DURATION_S[1] for imis in plans]
    while plans and sum(spans) + (len(plans) + 1) * MIN_SERIES_PAUSE_S > hi_s - lo_s:
        plans.pop()
        spans.pop()
    events: list[dict] = []
    if not plans:
        return events, rate
    free = (hi_s - lo_s) - sum(spans) - (len(plans) + 1) * MIN_SERIES_PAUSE_S
    pauses = MIN_SERIES_PAUSE_S + rng.dirichlet(np.ones(len(plans) + 1)) * free
    cursor = lo_s
    for imis, span, pause in zip(plans, spans, pauses):
        cursor += pause
        onsets = cursor + np.concatenate(([0.0], np.cumsum(imis)))
        placed = []
        for k, s in enumerate(onsets):
            room = (onsets[k + 1] - s - MIN_SEPARATION_S) if k + 1 < len(onsets) else 10.0
            d = min(_lm_duration(rng), room)
            if occupied.fits(s, s + d):
                occupied.add(s, s + d)
                placed.append((s, s + d))
                events.append({"kind": "lm", "origin": "series", "start": float(s),
                               "end": float(s + d)})
        if placed:
            reserved.add(placed[0][0] - SERIES_CLEARANCE_S, placed[-1][1] + SERIES_CLEARANCE_S)
        cursor += span
    return events, rate


def plan_events(rng: np.random.Generator, sc: Scenario, duration_s: float,
                 r_real: np.random.Generator | None = None) -> tuple[list[dict], dict[str, Any]]:
    """Times and kinds of every event of the night (true time, s from sample 0).

    ``r_real`` draws the real-world situations (posture steps, LMs next to turn-overs, strap
    ringing), after everything else, so that scenarios without them are unchanged."""
    lo, hi = EDGE_S, duration_s - EDGE_S
    occupied = _Timeline(lo, hi, MIN_SEPARATION_S)
    reserved = _Timeline(-np.inf, np.inf, 0.0)  # PLM series, kept clear of isolated LMs
    events: list[dict] = []
    info: dict[str, Any] = {}
    hours = duration_s / 3600.0
    settle_s = min(float(rng.uniform(*sc.settling_min)) * 60.0, hi) if sc.settling_min[1] else 0.0
    info["settling_s"] = settle_s

    def add_random(kind: str, count: int, lo_s: float, hi_s: float,
                   draw: Any, avoid_series: bool = False) -> None:
        for _ in range(count):
            d, origin = draw()
            tls = [occupied, reserved] if avoid_series else [occupied]
            s = place(rng, tls, d, lo_s, hi_s)
            if s is not None:
                events.append({"kind": kind, "origin": origin, "start": s, "end": s + d})

    def sustained() -> tuple[float, str]:
        if rng.random() < GETUP_SHARE:
            return float(rng.uniform(*GETUP_DURATION_S)), "getup"
        return float(rng.uniform(*TURN_DURATION_S)), "turn"

    def twitch(origin: str) -> Any:
        return lambda: (float(rng.uniform(*TWITCH_BURST_S)), origin)

    settle_h = settle_s / 3600.0
    if settle_s > 0:
        info["settling_sustained_rate_per_h"] = r = draw_rate(rng, sc.settling_sustained_rate_per_h)
        add_random("sustained", rng.poisson(r * settle_h), lo, settle_s, sustained)
        # restless LMs come in irregular clusters: onsets often < 10 s apart
        info["settling_lm_rate_per_h"] = r = draw_rate(rng, sc.settling_lm_rate_per_h)
        n_lm = rng.poisson(r * settle_h)
        while n_lm > 0:
            d = _lm_duration(rng)
            s = place(rng, [occupied], d, lo, settle_s)
            if s is None:
                break
            events.append({"kind": "lm", "origin": "settling", "start": s, "end": s + d})
            n_lm -= 1
            for _ in range(int(rng.integers(0, 4))):
                s, d = s + d + float(rng.uniform(MIN_SEPARATION_S, 6.0)), _lm_duration(rng)
                if n_lm <= 0 or s + d > settle_s or not occupied.fits(s, s + d):
                    break
                occupied.add(s, s + d)
                events.append({"kind": "lm", "origin": "settling", "start": s, "end": s + d})
                n_lm -= 1
        info["settling_twitch_rate_per_h"] = r = draw_rate(rng, sc.settling_twitch_rate_per_h)
        add_random("twitch", rng.poisson(r * settle_h), lo, settle_s, twitch("settling"))
    series, info["plm_index_target_per_h"] = _plan_series(
        rng, sc, max(lo, settle_s), hi, occupied, reserved)
    events += series
    info["sustained_rate_per_h"] = r = draw_rate(rng, sc.sustained_rate_per_h)
    add_random("sustained", rng.poisson(r * (hours - settle_h)), max(lo, settle_s), hi,
               sustained)
    info["lm_rate_per_h"] = r = draw_rate(rng, sc.lm_rate_per_h)
    add_random("lm", rng.poisson(r * hours), lo, hi, lambda: (_lm_duration(rng), "isolated"),
               avoid_series=True)
    info["twitch_rate_per_h"] = r = draw_rate(rng, sc.twitch_rate_per_h)
    add_random("twitch", rng.poisson(r * hours), lo, hi, twitch("isolated"))
    if r_real is not None:
        _plan_real_world(r_real, sc, events, info, occupied, reserved, lo, hi, settle_s)
    events.sort(key=lambda e: e["start"])
    return events, info


def _plan_step_cluster(rng: np.random.Generator, timelines: list[_Timeline], lo_s: float,
                       hi_s: float) -> list[dict]:
    """2-3 posture steps (short shifts of a few degrees) with the leg still in between."""
    durs = rng.uniform(*STEP_DURATION_S, int(rng.integers(2, 4)))
    rests = rng.uniform(*STEP_REST_S, len(durs) - 1)
    span = float(durs.sum() + rests.sum())
    s = place(rng, timelines, span, lo_s, hi_s)
    if s is None:
        return []
    out, t = [], s
    for k, d in enumerate(durs):
        out.append({"kind": "lm", "origin": "step", "start": t, "end": t + float(d),
                    "step_deg": float(rng.uniform(*STEP_AMPLITUDE_DEG))})
        t += float(d) + (float(rests[k]) if k < len(rests) else 0.0)
    return out


def _plan_real_world(rng: np.random.Generator, sc: Scenario, events: list[dict],
                     info: dict[str, Any], occupied: _Timeline, reserved: _Timeline,
                     lo: float, hi: float, settle_s: float) -> None:
    """Posture steps, LMs next to turn-overs and ringing twitches (added to ``events``)."""
    hours = (hi - lo) / 3600.0
    settle_h = settle_s / 3600.0
    r = draw_rate(rng, sc.settling_step_clusters_per_h)
    for _ in range(rng.poisson(r * settle_h) if settle_s > 0 else 0):
        events += _plan_step_cluster(rng, [occupied], lo, settle_s)
    r = draw_rate(rng, sc.step_clusters_per_h)
    for _ in range(rng.poisson(r * max(hours - settle_h, 0.0))):
        events += _plan_step_cluster(rng, [occupied, reserved], max(lo, settle_s), hi)
    share = draw_rate(rng, sc.turn_neighbour_share)
    if share > 0:
        for bout in [e for e in events if e["kind"] == "sustained"]:
            if rng.random() >= share:
                continue
            gap, d = float(rng.uniform(*NEIGHBOUR_GAP_S)), min(_lm_duration(rng), 4.0)
            s = (bout["start"] - gap - d) if rng.random() < 0.5 else bout["end"] + gap
            if s < lo or s + d > hi or any(
                    e is not bout and e["start"] < s + d + MIN_SEPARATION_S
                    and e["end"] + MIN_SEPARATION_S > s for e in events):
                continue
            occupied.add(s, s + d)
            events.append({"kind": "lm", "origin": "neighbour", "start": s, "end": s + d})
    info["n_neighbour_lms"] = sum(e["origin"] == "neighbour" for e in events)
    info["n_steps"] = sum(e["origin"] == "step" for e in events)
    share = draw_rate(rng, sc.strap_ring_share)
    for e in events:
        if e["kind"] == "twitch" and share > 0 and rng.random() < share:
            e["ring"] = (float(rng.uniform(*STRAP_RING_HZ)), float(rng.uniform(*STRAP_RING_S)),
                         float(loguniform(rng, *STRAP_RING_G)))
    if sc.lm_residual_deg[1] > 0:
        for e in events:
            if e["kind"] == "lm" and e["origin"] != "step":
                e["step_deg"] = float(rng.uniform(*sc.lm_residual_deg))


def plan_slips(rng: np.random.Generator, sc: Scenario, events: list[dict],
                duration_s: float) -> list[dict]:
    """Slow slips of a loose strap round the leg (2-5 degrees over 1-4 min), clear of
    turn-overs; not events."""
    rate = draw_rate(rng, sc.strap_slip_per_h)
    out: list[dict] = []
    bouts = [(e["start"], e["end"]) for e in events if e["kind"] == "sustained"]
    for _ in range(rng.poisson(rate * duration_s / 3600.0) if rate > 0 else 0):
        d = float(rng.uniform(*STRAP_SLIP_S))
        s = float(rng.uniform(EDGE_S, max(duration_s - EDGE_S - d, EDGE_S)))
        if any(a < s + d and b > s for a, b in bouts + [(x["start"], x["end"]) for x in out]):
            continue
        out.append({"kind": "slip", "origin": "slip", "start": s, "end": s + d,
                    "step_deg": float(rng.uniform(*STRAP_SLIP_DEG))})
    return out


def plan_gaps(rng: np.random.Generator, duration_s: float) -> list[tuple[float, float]]:
    hours = duration_s / 3600.0
    out = []
    n_short = rng.poisson(rng.uniform(*PACKET_LOSS_PER_H) * hours)
    for d in loguniform(rng, *PACKET_LOSS_S, n_short):
        s = rng.uniform(EDGE_S, max(duration_s - EDGE_S - d, EDGE_S))
        out.append((float(s), float(s + d)))
    for d in loguniform(rng, *LONG_GAP_S, rng.poisson(LONG_GAP_PER_H * hours)):
        if d < duration_s - 4 * EDGE_S:
            s = rng.uniform(EDGE_S, duration_s - EDGE_S - d)
            out.append((float(s), float(s + d)))
    return out
