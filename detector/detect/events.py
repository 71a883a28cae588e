"""Step 4 of detection: bursts -> movement events with features, per contiguous segment.

Merging bursts into events and bouts, and each event's features; the recipe
(:mod:`detector.detect.recipe`) calls them on every gap-free segment of a recording, so that no
event is ever detected or interpolated across a gap.
"""

from __future__ import annotations


import numpy as np

from detector.detect.envelope import PostureTrack

__all__ = ["merge_bursts", "merge_bouts", "event_features", "short_burst_is_complete",
           "MIN_SEGMENT_S", "ROTATION_SMOOTH_S", "POSTURE_PROBE_S", "SAME_POSTURE_G"]

#: Segments shorter than this (seconds) between gaps are not analysed: too short for a posture
#: baseline, and any movement in them would be cut by the gaps.
MIN_SEGMENT_S = 2.0

#: Orientation is read from the acceleration averaged over this many seconds, so that the
#: oscillation of a jerk cancels out and only a real change of leg orientation remains.
ROTATION_SMOOTH_S = 0.5


def _crosses(barrier_cum: np.ndarray | None, ends: np.ndarray, next_starts: np.ndarray
             ) -> np.ndarray:
    """Whether a gap sample lies between each end and the following start."""
    if barrier_cum is None:
        return np.zeros(len(ends), bool)
    return barrier_cum[next_starts] - barrier_cum[ends] > 0


def merge_bursts(starts: np.ndarray, ends: np.ndarray, max_gap: int,
                 barrier_cum: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Merge bursts separated by fewer than ``max_gap`` samples (WASM 2016: an LM ends only after
    0.5 s below threshold), never across a gap.

    Parameters
    ----------
    barrier_cum : ndarray of int, optional
        Cumulative count of gap samples (length n + 1); bursts with a gap between them stay apart.

    Returns
    -------
    starts, ends : ndarray of int
    """
    if starts.size < 2:
        return starts, ends
    new = np.concatenate(([True], (starts[1:] - ends[:-1] >= max_gap)
                          | _crosses(barrier_cum, ends[:-1], starts[1:])))
    group = np.cumsum(new) - 1
    out_starts = starts[new]
    out_ends = np.zeros_like(out_starts)
    np.maximum.at(out_ends, group, ends)
    return out_starts, out_ends


#: The leg rests in the same posture when its mean reading differs by less than this (g, about
#: 3 degrees): a movement that returns there, or starts from there, is complete in itself.
SAME_POSTURE_G = 0.05

#: Seconds of signal averaged for the posture just before a bout and just after it.
POSTURE_PROBE_S = 0.5


def _mean_reading(acc_g: np.ndarray, a: int, b: int) -> np.ndarray | None:
    """Mean reading over samples ``[a, b)`` (None when empty or all in a gap)."""
    a, b = max(a, 0), min(b, len(acc_g))
    if b <= a:
        return None
    seg = acc_g[a:b]
    ok = np.isfinite(seg[:, 0])
    return seg[ok].mean(axis=0) if ok.any() else None


def short_burst_is_complete(acc_g: np.ndarray, start_i: int, end_i: int, start_j: int,
                            end_j: int, long_min: int, probe: int,
                            same_g: float = SAME_POSTURE_G) -> bool:
    """Whether the shorter of two bursts beside a sustained movement is a movement of its own.

    In the pause ``[end_i, start_j)`` between them the leg rests somewhere. When a burst of LM
    length (at most ``long_min`` samples) starts from that posture and comes back to it (the
    first burst began there, or the second ends there), it is a complete leg movement just
    before or after the bout (an LM beside a turn-over). A pause in a posture the short burst
    did not start from or return to (standing up, then walking) is a moment inside one bout.
    """
    gap = _mean_reading(acc_g, end_i, start_j)
    if gap is None:
        return False
    refs = []
    if end_i - start_i <= long_min:
        refs.append(_mean_reading(acc_g, start_i - probe, start_i))
    if end_j - start_j <= long_min:
        refs.append(_mean_reading(acc_g, end_j, end_j + probe))
    return any(ref is not None and float(np.linalg.norm(gap - ref)) < same_g for ref in refs)


def merge_bouts(starts: np.ndarray, ends: np.ndarray, long_min: int, max_gap: int,
                barrier_cum: np.ndarray | None = None, acc_g: np.ndarray | None = None,
                probe: int = 50) -> tuple[np.ndarray, np.ndarray]:
    """Join bursts separated by fewer than ``max_gap`` samples when either is a sustained movement
    (longer than ``long_min`` samples), never across a gap; repeated until nothing changes.

    With ``acc_g`` (the filtered reading, gravity included), a pause in which the leg rests
    where it was before the first burst or where it is after the second keeps them apart (see
    :func:`short_burst_is_complete`; ``probe`` samples on the far side of each burst give its
    resting posture): the rules keep movements more than 0.5 s apart separate, and only a pause
    in the middle of one bout (standing while getting up) is bridged.

    Returns
    -------
    starts, ends : ndarray of int
    """
    s, e = starts.tolist(), ends.tolist()
    i = 0
    while i < len(s) - 1:
        apart = barrier_cum is not None and barrier_cum[s[i + 1]] - barrier_cum[e[i]] > 0
        if (not apart and s[i + 1] - e[i] < max_gap
                and (e[i] - s[i] > long_min or e[i + 1] - s[i + 1] > long_min)
                and not (acc_g is not None and short_burst_is_complete(
                    acc_g, s[i], e[i], s[i + 1], e[i + 1], long_min, probe))):
            e[i] = max(e[i], e.pop(i + 1))
            s.pop(i + 1)
            i = max(i - 1, 0)
        else:
            i += 1
    return np.asarray(s, dtype=starts.dtype), np.asarray(e, dtype=ends.dtype)


def _moving_mean(cs: np.ndarray, pos: np.ndarray, half: int, lo: np.ndarray, hi: np.ndarray
                 ) -> np.ndarray:
    """Centred moving mean at positions ``pos`` from cumulative sums ``cs`` (length n + 1), with
    the window shrunk to stay inside ``[lo, hi)``."""
    a = np.maximum(pos - half, lo)
    b = np.minimum(pos + half + 1, hi)
    return (cs[b] - cs[a]) / (b - a)[:, None]


def event_features(acc_g: np.ndarray, posture: PostureTrack, envelope_g: np.ndarray,
                   starts: np.ndarray, ends: np.ndarray, fs_hz: float, context_s: float,
                   seg_lo: np.ndarray | None = None, seg_hi: np.ndarray | None = None
                   ) -> dict[str, np.ndarray]:
    """Per-event peak envelope, orientation change, surroundings and slowness (vectorised).

    Parameters
    ----------
    acc_g : ndarray, shape (n, 3)
        Band-passed acceleration in g (NaN in gaps).
    posture : PostureTrack
        Resting posture compared to at each sample (see :func:`movement_envelope`).
    envelope_g : ndarray, shape (n,)
    starts, ends : ndarray of int
        Half-open event ranges, sorted and non-overlapping.
    fs_hz : float
    context_s : float
        Seconds on each side whose envelope median is the event's surroundings.
    seg_lo, seg_hi : ndarray of int, optional
        Bounds of the gap-free segment holding each event (default: the whole array).

    Returns
    -------
    dict of ndarray
        ``peak_g`` (g), ``rotation_deg`` (largest angle between the slow acceleration direction,
        averaged over 0.5 s, and the resting posture at the event's start), ``context_g`` (median
        envelope within ``context_s`` around it), ``low_freq_share`` (share of the movement's RMS
        below about 3 Hz: near 1 for a limb's own motion, about 0.3 or less for broadband
        mattress vibration), ``peak_offset_s`` (s from the start to the envelope's peak),
        ``tail_ratio`` (largest envelope in the event's second half over its peak: small for
        a ring that dies away, near 1 for shaking or a movement).
    """
    k = len(starts)
    n = len(envelope_g)
    if k == 0:
        z = np.zeros(0, np.float32)
        return {"peak_g": z, "rotation_deg": z, "context_g": z, "low_freq_share": z,
                "peak_offset_s": z, "tail_ratio": z}
    starts = np.asarray(starts, np.int64)
    ends = np.asarray(ends, np.int64)
    lo_b = np.zeros(k, np.int64) if seg_lo is None else np.asarray(seg_lo, np.int64)
    hi_b = np.full(k, n, np.int64) if seg_hi is None else np.asarray(seg_hi, np.int64)
    length = ends - starts
    first = np.concatenate(([0], np.cumsum(length)[:-1]))        # offsets in the concatenation
    total = int(length.sum())
    owner = np.repeat(np.arange(k), length)
    idx = starts[owner] + (np.arange(total) - first[owner])     # every event sample

    env_in = envelope_g[idx]
    peak = np.maximum.reduceat(env_in, first)
    # where the peak lies: the first sample reaching it, in seconds from the start
    pos = np.where(env_in >= peak[owner], np.arange(total), total)
    first_at = np.minimum.reduceat(pos, first)
    first_at = np.where(first_at < total, first_at, first)
    peak_offset = (first_at - first) / fs_hz
    # how far it has died away: the largest envelope in the event's second half over its peak
    late = (np.arange(total) - first[owner]) >= (length[owner] // 2)
    late_peak = np.maximum.reduceat(np.where(late, env_in, -np.inf), first)
    tail_ratio = np.where(peak > 0, np.maximum(late_peak, 0.0) / np.where(peak > 0, peak, 1),
                          0.0)

    # Orientation: the acceleration averaged over 0.5 s (a jerk's oscillation cancels) against
    # the resting posture at the event's start. The average is taken over each event's own
    # samples and up to 0.25 s either side of it, inside its segment.
    half = int(round(ROTATION_SMOOTH_S * fs_hz)) // 2
    x0 = np.maximum(starts - half, lo_b)
    x1 = np.minimum(ends + half, hi_b)
    xlen = x1 - x0
    xfirst = np.concatenate(([0], np.cumsum(xlen)[:-1]))
    xowner = np.repeat(np.arange(k), xlen)
    xidx = x0[xowner] + (np.arange(int(xlen.sum())) - xfirst[xowner])
    cs = np.zeros((len(xidx) + 1, 3))
    np.cumsum(acc_g[xidx], axis=0, out=cs[1:])
    pos = xfirst[owner] + (idx - x0[owner])                    # event samples in that array
    slow = _moving_mean(cs, pos, half, xfirst[owner], (xfirst + xlen)[owner])
    pe = posture.at(starts)[owner]
    cos = np.einsum("ij,ij->i", slow, pe) / (
        np.linalg.norm(slow, axis=1) * np.linalg.norm(pe, axis=1) + 1e-12)
    rot = np.degrees(np.arccos(np.clip(np.minimum.reduceat(cos, first), -1.0, 1.0)))

    # Slowness: share of the deviation from the posture that a 1/3-s moving average keeps (its
    # first null is at 3 Hz), computed within each event.
    dev = acc_g[idx] - posture.at(idx)
    csd = np.zeros((total + 1, 3))
    np.cumsum(dev, axis=0, out=csd[1:])
    dev_low = _moving_mean(csd, np.arange(total), max(int(round(fs_hz / 3.0)), 1) // 2,
                           first[owner], (first + length)[owner])
    e_all = np.add.reduceat(np.einsum("ij,ij->i", dev, dev), first)
    e_low = np.add.reduceat(np.einsum("ij,ij->i", dev_low, dev_low), first)
    low = np.where(e_all > 0, np.sqrt(e_low / np.where(e_all > 0, e_all, 1)), 0.0)

    # Surroundings: the envelope within context_s before and after, inside the segment.
    c = max(int(round(context_s * fs_hz)), 1)
    off = np.arange(c)
    before = starts[:, None] - c + off
    after = ends[:, None] + off
    around = np.concatenate([before, after], axis=1)
    inside = (around >= lo_b[:, None]) & (around < hi_b[:, None])
    vals = np.sort(np.where(inside, envelope_g[np.clip(around, 0, n - 1)], np.nan), axis=1)
    cnt = np.isfinite(vals).sum(axis=1)                      # NaN sorts last
    rows = np.arange(k)
    lo_i, hi_i = np.maximum((cnt - 1) // 2, 0), np.maximum(cnt // 2, 0)
    ctx = np.where(cnt > 0, 0.5 * (vals[rows, lo_i] + vals[rows, hi_i]), 0.0)
    f32 = np.float32
    return {"peak_g": peak.astype(f32), "rotation_deg": rot.astype(f32),
            "context_g": ctx.astype(f32), "low_freq_share": low.astype(f32),
            "peak_offset_s": peak_offset.astype(f32), "tail_ratio": tail_ratio.astype(f32)}


