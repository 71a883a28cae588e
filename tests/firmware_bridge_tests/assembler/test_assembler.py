"""Placing notifications on the night's grid: exact gaps and their causes, the clock fit.

Inputs are encoded packets with chosen host times; every expected count below follows from the
placement rules in ``firmware_bridge.assembler`` (sample numbers, device clock, host clock).
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from firmware_bridge.protocols import legaccel
from firmware_bridge.assembler import (CAUSE_DISCONNECT, CAUSE_OVERFLOW, CAUSE_PACKET_LOSS,
                                       CAUSE_REBOOT, CAUSE_STALL, Assembler, ClockFit, grid_times,
                                       index_times)
from firmware_bridge.protocols.base import FLAG_OVERFLOW
from packets import (FS, H0, POLAR_N, POLAR_START, POLAR_TRUE_HZ, SCALE, SPP, arrival, la,
                     polar_frame, values)


def feed(asm: Assembler, items) -> list:
    """Feed ("data", host_s, payload) / ("event", host_s, dict) items, then finish."""
    chunks = []
    for kind, host_s, x in items:
        chunks += asm.data(host_s, x) if kind == "data" else asm.event(host_s, x)
    return chunks + asm.finish()


def stream(seqs, sid=1, dev0_s=50.0, host0=H0, flags=None):
    flags = flags or {}
    return [("data", arrival(s, host0=host0), la(s, sid, dev0_s, flags=flags.get(s, 0)))
            for s in seqs]


def flat(chunks):
    idx = np.concatenate([np.arange(c.start_index, c.end_index) for c in chunks])
    counts = np.concatenate([c.counts for c in chunks])
    return idx, counts


def gaps_of(asm):
    return [(g.start_index, g.n_samples, g.cause, g.exact) for g in asm.gaps]


# --- LegAccel within a session ------------------------------------------------------------------

def test_clean_stream_is_contiguous_from_zero():
    asm = Assembler("legaccel")
    chunks = feed(asm, stream(range(20)))
    idx, counts = flat(chunks)
    assert np.array_equal(idx, np.arange(20 * SPP))
    assert np.array_equal(counts, values(idx))
    assert asm.gaps == [] and asm.counters.samples == 20 * SPP
    assert np.allclose(chunks[3].acc_g, values(idx[105:140]) * SCALE)
    assert all(c.gap_before is None and c.session == 0 for c in chunks)


def test_dropped_packets_are_exact_gaps():
    asm = Assembler("legaccel")
    chunks = feed(asm, stream([s for s in range(40) if s not in (5, 6, 20)]))
    assert gaps_of(asm) == [(5 * SPP, 2 * SPP, CAUSE_PACKET_LOSS, True),
                            (20 * SPP, SPP, CAUSE_PACKET_LOSS, True)]
    assert asm.counters.lost_samples == 3 * SPP
    assert asm.counters.samples == 37 * SPP
    idx, counts = flat(chunks)
    assert np.array_equal(counts, values(idx))  # every sample at its own index
    after = [c for c in chunks if c.gap_before is not None]
    assert [c.start_index for c in after] == [7 * SPP, 21 * SPP]


def test_duplicates_are_dropped_and_counted():
    items = stream(range(30))
    items.insert(4, items[3])                  # packet 3 twice in a row
    items.insert(14, ("data", arrival(12), la(10)))  # packet 10 again after packet 12
    asm = Assembler("legaccel")
    idx, counts = flat(feed(asm, items))
    assert asm.counters.duplicates == 2
    assert np.array_equal(idx, np.arange(30 * SPP)) and np.array_equal(counts, values(idx))
    assert asm.gaps == []


@pytest.mark.parametrize("order, n_reordered", [
    ([0, 1, 2, 4, 3] + list(range(5, 20)), 1),   # a swapped pair
    ([0, 3, 2, 1] + list(range(4, 20)), 2),      # 2 and 1 both arrive after a later packet
])
def test_swapped_packets_record_with_no_gap(order, n_reordered):
    asm = Assembler("legaccel")
    idx, counts = flat(feed(asm, stream(order)))
    assert asm.gaps == [] and asm.counters.reordered == n_reordered
    assert np.array_equal(idx, np.arange(20 * SPP)) and np.array_equal(counts, values(idx))


def test_reorder_buffer_is_released_after_one_host_second():
    asm = Assembler("legaccel")
    out = {s: asm.data(h, p) for _, h, p in stream([0, 1, 2, 3, 4, 6, 7, 8, 9, 10])
           for s in [legaccel.decode_packet(p).seq]}
    # Packets arrive every 0.35 s: packet 9 is the first record more than 1 s after packet 6.
    assert [len(out[s]) for s in (6, 7, 8)] == [0, 0, 0]
    assert [c.start_index for c in out[9]] == [6 * SPP, 7 * SPP, 8 * SPP, 9 * SPP]
    assert out[9][0].gap_before.n_samples == SPP and out[9][0].gap_before.start_index == 5 * SPP
    assert [c.start_index for c in out[10]] == [10 * SPP]


def test_reorder_buffer_is_released_beyond_eight_packets():
    asm = Assembler("legaccel")
    burst = [0, 1, 2, 3, 4] + list(range(6, 16))
    out = [asm.data(H0, la(s)) for s in burst]  # all at once: only the count rule applies
    sizes = [len(o) for o in out]
    # The night's first packets wait until CONFIRM_PACKETS (3) agree, then go out together.
    assert sizes[:5] == [0, 0, 3, 1, 1]
    assert sizes[5:13] == [0] * 8          # packets 6..13 wait for packet 5
    assert sizes[13] == 9                   # the 9th waiting packet releases them all
    assert out[13][0].gap_before.start_index == 5 * SPP


def test_a_packet_arriving_after_its_gap_was_declared_is_late():
    items = stream([0, 1, 2, 3, 4, 6, 7, 8, 9, 10]) + [("data", arrival(11), la(5))]
    asm = Assembler("legaccel")
    feed(asm, items)
    assert gaps_of(asm) == [(5 * SPP, SPP, CAUSE_PACKET_LOSS, True)]
    assert asm.counters.late == 1 and asm.counters.duplicates == 0


# --- sessions -----------------------------------------------------------------------------------

def test_restart_in_the_same_boot_is_exact_from_the_device_clock():
    dev_a = 50.0
    # Session B starts 1234 samples after session A's packet 9 would have ended; A's packets 8
    # and 9 never arrived, so 2 * 35 + 1234 samples are missing after A's packet 7.
    dev_b = dev_a + (10 * SPP + 1234) / FS
    # The count comes from the device clock; the host clock (0.3 s of extra latency here) only
    # confirms that the device clock did not restart.
    host_b = H0 + (dev_b - dev_a) + 0.3
    items = ([("event", H0, {"event": "connected"})] + stream(range(8), 1, dev_a)
             + [("event", H0 + 5, {"event": "disconnected", "cause": "disconnect"}),
                ("event", H0 + 90, {"event": "connected", "attempt": 2}),
                ("event", H0 + 95, {"event": "stream_started", "protocol": "legaccel"})]
             + stream(range(10), 2, dev_b, host0=host_b))
    asm = Assembler("legaccel")
    chunks = feed(asm, items)
    assert gaps_of(asm) == [(8 * SPP, 2 * SPP + 1234, CAUSE_DISCONNECT, True)]
    first_b = [c for c in chunks if c.session == 1][0]
    assert first_b.start_index == 10 * SPP + 1234
    assert asm.counters.sessions == 2 and asm.counters.reconnects == 1
    idx, counts = flat([c for c in chunks if c.session == 1])
    assert np.array_equal(counts, values(idx - first_b.start_index))


def test_reboot_gap_is_estimated_from_host_time_at_the_replay_rate():
    speed = 60.0  # a replay: 60 device seconds per host second
    dev_a = 100.0
    n_a = 200

    def host(dev_end_s):
        return H0 + dev_end_s / speed

    items = [("data", host(dev_a + ((s + 1) * SPP - 1) / FS), la(s, 1, dev_a))
             for s in range(n_a)]
    h_last = items[-1][1]
    items += [("event", h_last + 0.1, {"event": "disconnected"}),
              ("event", h_last + 0.2, {"event": "connected"}),
              ("event", h_last + 0.3, {"event": "stream_started", "protocol": "legaccel"}),
              ("data", h_last + 0.5, la(0, 2, dev0_s=0.5)),   # device clock restarted
              ("data", h_last + 0.5 + SPP / FS / speed, la(1, 2, dev0_s=0.5))]
    asm = Assembler("legaccel")
    chunks = feed(asm, items)
    # 0.5 host s x 60 device s per host s x 100 Hz, minus the packet's own 35 samples.
    expected = round(0.5 * speed * FS - SPP)
    assert gaps_of(asm) == [(n_a * SPP, expected, CAUSE_REBOOT, False)]
    assert chunks[n_a].start_index == n_a * SPP + expected
    assert asm.counters.estimated_gaps == 1
    tb = asm.timebase()
    assert tb.clock.replay and not tb.clock.drift_corrected
    assert tb.fs_hz == FS  # a replay is flagged, not taken for drift
    assert tb.clock.rate_ratio == pytest.approx(speed, rel=1e-6)


def test_reboot_soon_after_boot_is_caught_by_the_host_clock():
    # Session A started 1 s after boot; the device rebooted and was streaming again 10 s after
    # its new boot, 30 host seconds after A's last packet: its clock went forwards, by 2 s only.
    items = stream(range(20), 1, dev0_s=1.0)
    h_last = items[-1][1]
    items += [("event", h_last + 1, {"event": "disconnected"}),
              ("event", h_last + 29, {"event": "connected"}),
              ("data", h_last + 30.0, la(0, 2, dev0_s=10.0))]
    asm = Assembler("legaccel")
    feed(asm, items)
    # Estimated from the host clock: 30 s x 100 Hz, minus the packet's own 35 samples.
    assert gaps_of(asm) == [(20 * SPP, round(30.0 * FS - SPP), CAUSE_REBOOT, False)]


def test_overflow_flag_and_cause_precedence():
    seqs = [s for s in range(40) if s not in (6, 15, 25)]
    items = stream(seqs, flags={7: FLAG_OVERFLOW, 16: FLAG_OVERFLOW, 26: FLAG_OVERFLOW})
    pos16 = next(i for i, it in enumerate(items) if it[2] == la(16, flags=FLAG_OVERFLOW))
    items[pos16:pos16] = [("event", arrival(14) + 0.01, {"event": "disconnected"}),
                          ("event", arrival(14) + 0.02, {"event": "watchdog", "silent_s": 5})]
    pos26 = next(i for i, it in enumerate(items) if it[2] == la(26, flags=FLAG_OVERFLOW))
    items[pos26:pos26] = [("event", arrival(24) + 0.01, {"event": "disconnected"})]
    asm = Assembler("legaccel")
    feed(asm, items)
    assert gaps_of(asm) == [(6 * SPP, SPP, CAUSE_OVERFLOW, True),
                            (15 * SPP, SPP, CAUSE_STALL, True),
                            (25 * SPP, SPP, CAUSE_DISCONNECT, True)]


def test_bad_packets_are_counted_and_the_stream_goes_on():
    good = la(3)
    items = stream(range(3)) + [("data", arrival(3), b"\x01junk"),
                                ("data", arrival(3), good[:-4])] + stream(range(3, 6))
    asm = Assembler("legaccel")
    idx, _ = flat(feed(asm, items))
    assert asm.counters.bad_packets == 2
    assert np.array_equal(idx, np.arange(6 * SPP)) and asm.gaps == []
    errors = list(asm.bad_packet_errors)
    assert [e["packet"] for e in errors] == [4, 5]
    assert [e["bytes"] for e in errors] == [5, len(good) - 4]
    assert all(e["error"] for e in errors)


# --- Polar --------------------------------------------------------------------------------------


def test_polar_missing_frame_at_a_measured_off_nominal_rate():
    frames = [polar_frame(k) for k in range(20)]
    items = [("event", frames[0][0] - 1, POLAR_START)]
    for k, (h, f) in enumerate(frames):
        if k == 7:
            continue  # lost
        items.append(("data", h, f))
        if k == 10:
            items.append(("data", h + 0.01, f))  # sent twice
    asm = Assembler("polar")
    chunks = feed(asm, items)
    assert gaps_of(asm) == [(7 * POLAR_N, POLAR_N, CAUSE_PACKET_LOSS, True)]
    assert asm.counters.duplicates == 1
    assert asm.fs_device_hz == pytest.approx(POLAR_TRUE_HZ, abs=1e-6)
    idx, counts = flat(chunks)
    assert np.array_equal(counts, values(idx))
    assert idx.size == 19 * POLAR_N


def test_polar_gap_before_the_rate_is_measured_is_not_called_exact():
    frames = [polar_frame(k) for k in (0, 2, 3)]
    asm = Assembler("polar")
    feed(asm, [("event", frames[0][0] - 1, POLAR_START)] + [("data", h, f) for h, f in frames])
    (gap,) = asm.gaps
    # At the nominal 52 Hz the 142 samples between the frames' last samples look like 141.
    assert gap.n_samples == round(2 * POLAR_N * 52 / POLAR_TRUE_HZ) - POLAR_N
    assert not gap.exact


def test_polar_without_stream_start_counts_bad_frames():
    asm = Assembler("polar")
    h, f = polar_frame(0)
    assert asm.data(h, f) == []
    assert asm.counters.bad_packets == 1 and "stream_started" in asm.bad_packet_errors[0]["error"]


# --- clock --------------------------------------------------------------------------------------

def test_clock_fit_recovers_offset_and_drift_from_jittered_arrivals():
    rng = np.random.default_rng(7)
    dev = 3000.0 + np.arange(0.0, 2 * 3600.0, 0.35)
    offset = H0 + 12.345
    host = dev + offset + 40e-6 * (dev - dev[0]) + rng.exponential(0.03, dev.size)
    fit = ClockFit.fit(dev, host)
    assert fit.offset_s == pytest.approx(offset, abs=0.002)
    assert fit.drift_ppm == pytest.approx(40.0, abs=1.0)
    assert fit.drift_corrected and not fit.replay
    assert float(fit.to_host(dev[-1])) == pytest.approx(offset + dev[-1] + 40e-6 * 7200,
                                                        abs=0.003)


def test_timebase_corrects_the_grid_for_drift():
    rng = np.random.default_rng(3)
    spp, n_packets, dev0 = 100, 3600, 20.0
    offset = H0 + 0.5
    items = []
    for s in range(n_packets):
        dev_end = dev0 + ((s + 1) * spp - 1) / FS
        host = dev_end + offset + 40e-6 * (dev_end - dev0) + rng.exponential(0.03)
        items.append(("data", host, la(s, 1, dev0, spp=spp)))
    asm = Assembler("legaccel")
    feed(asm, items)
    tb = asm.timebase()
    assert tb.fs_hz == pytest.approx(FS / (1 + 40e-6), abs=2e-4)
    assert tb.t0_unix_s == pytest.approx(dev0 + offset, abs=0.003)
    # The last sample's grid time is where the host clock saw it (lower envelope).
    last = n_packets * spp - 1
    assert float(grid_times(last + 1, tb.t0_unix_s, tb.fs_hz)[-1]) == pytest.approx(
        dev0 + last / FS + offset + 40e-6 * last / FS, abs=0.003)


def test_replay_at_high_speed_is_flagged_not_corrected():
    dev = np.arange(0.0, 3600.0, 0.35)
    fit = ClockFit.fit(dev, H0 + dev / 60.0)
    assert fit.replay and not fit.drift_corrected
    assert fit.rate_ratio == pytest.approx(60.0, rel=1e-9)


def test_grid_times():
    assert np.allclose(grid_times(3, 10.0, 4.0), [10.0, 10.25, 10.5])
    assert np.allclose(index_times(np.array([0, 8]), 10.0, 4.0), [10.0, 12.0])


# --- state ----------------------------------------------------------------------------------

def test_state_round_trip_continues_exactly():
    items = (stream([0, 1, 2, 4, 3, 5, 6, 8, 9, 10, 11, 13, 12, 14], 1, 50.0)
             + [("event", arrival(14) + 1, {"event": "disconnected"}),
                ("event", arrival(14) + 2, {"event": "connected"})]
             + stream([1, 0, 2, 3, 5, 6], 2, 80.0, host0=arrival(14) + 3))
    ref = Assembler("legaccel")
    ref_chunks = feed(ref, items)
    for cut in range(len(items) + 1):
        a = Assembler("legaccel")
        chunks = []
        for kind, h, x in items[:cut]:
            chunks += a.data(h, x) if kind == "data" else a.event(h, x)
        state = json.loads(json.dumps(a.state()))
        b = Assembler.restore(state, a.gaps, *a.clock_points)
        chunks += feed(b, items[cut:])
        assert [(c.start_index, c.n, c.session) for c in chunks] == [
            (c.start_index, c.n, c.session) for c in ref_chunks]
        assert b.gaps == ref.gaps
        assert b.counters == ref.counters
        assert b.timebase() == ref.timebase()
