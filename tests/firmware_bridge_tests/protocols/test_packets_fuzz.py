"""Fuzzing: whatever bytes arrive, every decoder returns or raises PacketError, nothing else.

A notification handler in the recorder catches PacketError, logs the bad packet and goes on; any
other exception (IndexError, struct.error, numpy errors) would end a night's recording.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from firmware_bridge.protocols import legaccel as la
from firmware_bridge.protocols import legaccel_control as lc
from firmware_bridge.protocols import polar_pmd as pmd
from firmware_bridge.protocols import polar_control as pc
from firmware_bridge.protocols.base import PacketError, SampleBlock
from firmware_bridge.protocols.sensors import make_decoder

DECODERS: dict[str, Callable[[bytes], object]] = {
    "legaccel.decode_packet": la.decode_packet,
    "legaccel.decode_command": lc.decode_command,
    "legaccel.decode_status": lc.decode_status,
    "legaccel.decode_start_reply": lc.decode_start_reply,
    "legaccel.decode_device_info": lc.decode_device_info,
    "make_decoder(legaccel)": make_decoder("legaccel"),
    "pmd.decode_acc_frame": pmd.decode_acc_frame,
    "pmd.decode_request": pc.decode_request,
    "pmd.decode_control_response": pc.decode_control_response,
    "pmd.decode_features": pc.decode_features,
    "pmd.decode_measurement_stopped": pc.decode_measurement_stopped,
    "pmd.decode_settings": pc.decode_settings,
    "make_decoder(polar)": make_decoder("polar", {"fs_hz": 52.0, "range_g": 8, "factor": 1.0}),
}


def _only_packet_errors(name: str, data: bytes) -> object | None:
    """Run one decoder; PacketError is fine, any other exception fails the test."""
    try:
        return DECODERS[name](data)
    except PacketError:
        return None


# ----- valid inputs to mutate -------------------------------------------------------------------

legaccel_packets = st.builds(
    la.LegAccelPacket,
    seq=st.integers(0, 2 ** 32 - 1), session_id=st.integers(0, 2 ** 32 - 1),
    first_index=st.integers(0, 2 ** 32 - 1), device_time_us=st.integers(0, 2 ** 64 - 1),
    fs_centihz=st.integers(1, 65535), range_g=st.sampled_from(la.VALID_RANGES_G),
    scale_g=st.sampled_from([2.0 ** -14, 2.0 ** -12, 0.001]),
    counts=st.integers(1, 40).flatmap(
        lambda n: arrays(np.int16, (n, 3), elements=st.integers(-32768, 32767))),
    flags=st.integers(0, 7),
).map(la.encode_packet)

pmd_frames = st.tuples(
    st.integers(1, 120).flatmap(
        lambda n: arrays(np.int64, (n, 3), elements=st.integers(-32768, 32767))),
    st.integers(0, 2 ** 64 - 1),
    st.sampled_from([0x01, 0x80, 0x81]),
).map(lambda a: pmd.encode_acc_frame(a[0], a[1], a[2]))

control_bytes = st.one_of(
    st.just(lc.start_command(100, 8)), st.just(lc.stop_command()), st.just(lc.info_command()),
    st.just(lc.encode_status(lc.OP_START, 0, lc.StartReply(1, 2, 100.0, 8, 0.5).encode())),
    st.just(lc.encode_status(lc.OP_GET_INFO, 0,
                             lc.DeviceInfo(1, (25.0, 50.0), (2, 4, 8), True).encode())),
    st.just(pc.encode_start(pmd.MEAS_ACC, 52)),
    st.just(pc.encode_control_response(pc.OP_GET_SETTINGS, pmd.MEAS_ACC, settings={
        0: [25, 50, 100, 200], 1: [16], 2: [2, 4, 8], 3: [100000], 4: [3], 5: [0.5]})),
    st.just(pc.encode_features({1, 2, 3, 5, 6, 9})),
)

valid_inputs = st.one_of(legaccel_packets, pmd_frames, control_bytes)


@pytest.mark.parametrize("name", sorted(DECODERS))
@settings(max_examples=100, deadline=None)
@given(data=st.binary(max_size=600))
def test_random_bytes(name, data):
    _only_packet_errors(name, data)


@pytest.mark.parametrize("name", sorted(DECODERS))
@settings(max_examples=40, deadline=None)
@given(data=valid_inputs, cut=st.integers(0, 2000))
def test_truncated(name, data, cut):
    _only_packet_errors(name, data[: cut % (len(data) + 1)])


@pytest.mark.parametrize("name", sorted(DECODERS))
@settings(max_examples=40, deadline=None)
@given(data=valid_inputs, extra=st.binary(min_size=1, max_size=300))
def test_oversized(name, data, extra):
    _only_packet_errors(name, data + extra)


@pytest.mark.parametrize("name", sorted(DECODERS))
@settings(max_examples=40, deadline=None)
@given(data=valid_inputs, flips=st.lists(st.tuples(st.integers(0, 10 ** 6), st.integers(0, 7)),
                                         min_size=1, max_size=8))
def test_bit_flips(name, data, flips):
    buf = bytearray(data)
    for pos, bit in flips:
        buf[pos % len(buf)] ^= 1 << bit
    _only_packet_errors(name, bytes(buf))


@settings(max_examples=100, deadline=None)
@given(data=legaccel_packets, version=st.integers(0, 255).filter(lambda v: v != 1))
def test_wrong_version_is_named(data, version):
    with pytest.raises(PacketError, match=f"unsupported version {version}, expected 1"):
        la.decode_packet(bytes([version]) + data[1:])


@settings(max_examples=100, deadline=None)
@given(data=legaccel_packets, cut=st.integers(1, 5))
def test_truncated_legaccel_is_always_rejected(data, cut):
    # A lost tail must never be decoded as a shorter packet.
    with pytest.raises(PacketError):
        la.decode_packet(data[:-cut])


@settings(max_examples=100, deadline=None)
@given(data=pmd_frames, cut=st.integers(1, 5))
def test_truncated_raw_pmd_is_rejected(data, cut):
    # Raw int16 frames: any tail that is not a whole sample is an error. (A compressed frame cut
    # at a block boundary is indistinguishable from a shorter frame, as on the wire.)
    if data[9] == 0x01 and cut % 6:
        with pytest.raises(PacketError):
            pmd.decode_acc_frame(data[:-cut])


@settings(max_examples=100, deadline=None)
@given(data=st.one_of(legaccel_packets, pmd_frames))
def test_decoded_blocks_are_well_formed(data):
    protocol = "legaccel" if data[0] == la.VERSION else "polar"
    block = make_decoder(protocol, {"fs_hz": 52.0})(data)
    assert isinstance(block, SampleBlock)
    assert block.n >= 1 and block.counts.shape == (block.n, 3)
    assert block.counts.dtype == np.int32 and block.acc_g.dtype == np.float32
    assert block.device_time_end_s >= block.device_time_s
