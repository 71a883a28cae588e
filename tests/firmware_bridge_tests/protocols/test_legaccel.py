"""LegAccel v1: packets and control point, checked against hand-written bytes from the spec."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from firmware_bridge.protocols import legaccel as la
from firmware_bridge.protocols import legaccel_control as lc
from firmware_bridge.protocols.base import (FLAG_CLIPPING, FLAG_FIRST, FLAG_OVERFLOW, PacketError,
                                            SampleBlock)
from firmware_bridge.protocols.sensors import make_decoder

# The worked example of PROTOCOL.md, written byte by byte from the layout table:
# version 1, flags FIRST, seq 0, session 0x1234ABCD, first_index 0, device time 5 s,
# 100 Hz, +-8 g, 2 samples, scale 2**-12 g/count, samples (0, 0, 4096), (-1, 256, -4096).
EXAMPLE_PACKET = bytes.fromhex(
    "01"                   # version
    "04"                   # flags = FLAG_FIRST
    "00000000"             # seq 0
    "CDAB3412"             # session_id 0x1234ABCD
    "00000000"             # first_index 0
    "404B4C0000000000"     # device_time_us 5_000_000
    "1027"                 # fs_centihz 10000
    "08"                   # range_g 8
    "02"                   # n_samples 2
    "00008039"             # scale_g float32 2**-12
    "000000000010"         # (0, 0, 4096)
    "FFFF000100F0"         # (-1, 256, -4096)
)


def test_decode_hand_built_packet():
    p = la.decode_packet(EXAMPLE_PACKET)
    assert (p.version, p.flags, p.seq, p.session_id, p.first_index) == (1, FLAG_FIRST, 0,
                                                                        0x1234ABCD, 0)
    assert p.device_time_us == 5_000_000
    assert p.fs_centihz == 10000 and p.fs_hz == 100.0
    assert p.range_g == 8 and p.scale_g == 2.0 ** -12
    assert p.counts.tolist() == [[0, 0, 4096], [-1, 256, -4096]]


def test_hand_built_packet_to_block_times_and_g():
    block = make_decoder("legaccel")(EXAMPLE_PACKET)
    assert isinstance(block, SampleBlock)
    assert block.protocol == "legaccel" and block.n == 2
    assert block.counts.dtype == np.int32
    assert block.acc_g.dtype == np.float32
    np.testing.assert_array_equal(block.acc_g, [[0, 0, 1.0], [-2.0 ** -12, 0.0625, -1.0]])
    assert block.device_time_s == 5.0
    assert block.device_time_end_s == pytest.approx(5.01, abs=1e-12)
    assert (block.session_id, block.seq, block.first_index) == (0x1234ABCD, 0, 0)
    assert block.flags == FLAG_FIRST and block.range_g == 8.0 and block.fs_hz == 100.0


def test_encoder_reproduces_hand_built_packet():
    p = la.LegAccelPacket(seq=0, session_id=0x1234ABCD, first_index=0, device_time_us=5_000_000,
                          fs_centihz=10000, range_g=8, scale_g=2.0 ** -12,
                          counts=np.array([[0, 0, 4096], [-1, 256, -4096]]), flags=FLAG_FIRST)
    assert la.encode_packet(p) == EXAMPLE_PACKET


def test_header_constants_match_layout():
    assert la.HEADER_SIZE == 30 and la.SAMPLE_SIZE == 6
    assert (FLAG_CLIPPING, FLAG_OVERFLOW, FLAG_FIRST) == (1, 2, 4)


packet_strategy = st.builds(
    la.LegAccelPacket,
    seq=st.integers(0, 2 ** 32 - 1),
    session_id=st.integers(0, 2 ** 32 - 1),
    first_index=st.integers(0, 2 ** 32 - 1),
    device_time_us=st.one_of(st.integers(0, 2 ** 48), st.integers(0, 2 ** 64 - 1)),
    fs_centihz=st.integers(1, 2 ** 16 - 1),
    range_g=st.sampled_from(la.VALID_RANGES_G),
    scale_g=st.floats(min_value=2.0 ** -100, max_value=2.0 ** 100, width=32),
    counts=st.integers(1, 80).flatmap(
        lambda n: arrays(np.int16, (n, 3), elements=st.integers(-32768, 32767))),
    flags=st.integers(0, 255),
)


@settings(max_examples=200, deadline=None)
@given(packet_strategy)
def test_packet_round_trip(p):
    data = la.encode_packet(p)
    assert len(data) == 30 + 6 * p.n_samples
    q = la.decode_packet(data)
    assert q == p
    block = la.to_block(q)
    assert block.first_index == p.first_index and block.n == p.n_samples
    assert block.device_time_s == p.device_time_us / 1e6
    if p.device_time_us < 2 ** 48:  # about 9 years of uptime: float64 keeps 0.1 us there
        assert block.device_time_end_s - block.device_time_s == pytest.approx(
            (p.n_samples - 1) / p.fs_hz, abs=1e-6)


def _with(data: bytes, offset: int, value: bytes) -> bytes:
    return data[:offset] + value + data[offset + len(value):]


@pytest.mark.parametrize("data, match", [
    (EXAMPLE_PACKET[:29], "too short: 29 bytes, expected at least 30"),
    (_with(EXAMPLE_PACKET, 0, b"\x02"), "unsupported version 2, expected 1"),
    (EXAMPLE_PACKET[:-1], "n_samples .* = 2 needs 42 bytes, got 41 bytes"),
    (EXAMPLE_PACKET + b"\x00" * 6, "n_samples .* = 2 needs 42 bytes, got 48 bytes"),
    (_with(EXAMPLE_PACKET, 22, b"\x00\x00"), "fs_centihz .* = 0"),
    (_with(EXAMPLE_PACKET, 24, b"\x03"), "range_g .* = 3, expected one of 2, 4, 8, 16"),
    (_with(EXAMPLE_PACKET, 26, bytes.fromhex("0000C07F")), "scale_g .* expected a finite"),
    (_with(EXAMPLE_PACKET, 26, bytes.fromhex("000080BF")), "scale_g .* = -1.0"),
    (_with(EXAMPLE_PACKET, 26, bytes(4)), "scale_g .* = 0.0"),
    (_with(EXAMPLE_PACKET, 25, b"\x00")[:30], "n_samples .* = 0, expected at least 1"),
])
def test_decode_rejects(data, match):
    with pytest.raises(PacketError, match=match):
        la.decode_packet(data)


def test_encoder_rejects_values_that_do_not_fit():
    base = dict(seq=0, session_id=0, first_index=0, device_time_us=0, fs_centihz=100,
                range_g=8, scale_g=1.0, counts=np.zeros((1, 3), np.int16))
    with pytest.raises(ValueError, match="seq must be in 0..4294967295"):
        la.encode_packet(la.LegAccelPacket(**{**base, "seq": 2 ** 32}))
    with pytest.raises(ValueError, match="int16"):
        la.encode_packet(la.LegAccelPacket(**{**base, "counts": np.array([[0, 0, 40000]])}))
    with pytest.raises(ValueError, match="shape"):
        la.encode_packet(la.LegAccelPacket(**{**base, "counts": np.zeros((2, 2), int)}))
    with pytest.raises(ValueError, match="at most 255"):
        la.encode_packet(la.LegAccelPacket(**{**base, "counts": np.zeros((256, 3), int)}))


@pytest.mark.parametrize("mtu, n", [(64, 5), (247, 35), (185, 25), (517, 80)])
def test_max_samples_per_packet(mtu, n):
    # (MTU - 3 ATT bytes - 30 header bytes) // 6, and never beyond the 512-byte attribute limit.
    assert la.max_samples_per_packet(mtu) == n
    assert la.HEADER_SIZE + la.SAMPLE_SIZE * n <= min(mtu - 3, 512)


def test_max_samples_per_packet_needs_mtu_64():
    with pytest.raises(ValueError, match="at least 64 bytes, got 23"):
        la.max_samples_per_packet(23)


# ----- control point --------------------------------------------------------------------------

def test_start_command_bytes():
    # [0x01][fs_centihz u16][range_g u8][samples_per_packet u8]
    assert lc.start_command(100, 8) == bytes.fromhex("01 1027 08 00")
    assert lc.start_command(52.5, 16, samples_per_packet=20) == bytes.fromhex("01 8214 10 14")
    assert lc.stop_command() == b"\x02"
    assert lc.info_command() == b"\x03"


def test_start_command_rejects_bad_values():
    with pytest.raises(ValueError, match="range_g must be one of"):
        lc.start_command(100, 3)
    with pytest.raises(ValueError, match="fs_hz must be > 0"):
        lc.start_command(0, 8)
    with pytest.raises(ValueError, match="fs_hz must be in"):
        lc.start_command(1000, 8)
    with pytest.raises(ValueError, match="samples_per_packet"):
        lc.start_command(100, 8, samples_per_packet=256)


def test_decode_hand_built_commands():
    op, params = lc.decode_command(bytes.fromhex("01 C409 04 00"))
    assert op == lc.OP_START
    assert params == {"fs_centihz": 2500, "fs_hz": 25.0, "range_g": 4, "samples_per_packet": 0}
    assert lc.decode_command(b"\x02") == (lc.OP_STOP, {})
    assert lc.decode_command(b"\x03") == (lc.OP_GET_INFO, {})


@pytest.mark.parametrize("data, op, status, match", [
    (b"", None, lc.STATUS_INVALID_PARAMETER, "empty write"),
    (b"\x07", 7, lc.STATUS_UNSUPPORTED_OP, "unsupported op 0x07"),
    (bytes.fromhex("01 1027 08"), 1, lc.STATUS_INVALID_PARAMETER, "START: 4 bytes, expected 5"),
    (bytes.fromhex("02 00"), 2, lc.STATUS_INVALID_PARAMETER, "STOP: 2 bytes, expected 1"),
])
def test_decode_command_errors_carry_reply_status(data, op, status, match):
    with pytest.raises(lc.CommandError, match=match) as info:
        lc.decode_command(data)
    assert isinstance(info.value, PacketError)
    assert (info.value.op, info.value.status) == (op, status)


@settings(max_examples=100, deadline=None)
@given(fs_centihz=st.integers(1, 65535), range_g=st.integers(0, 255),
       spp=st.integers(0, 255), op=st.sampled_from([lc.OP_STOP, lc.OP_GET_INFO]))
def test_command_round_trip(fs_centihz, range_g, spp, op):
    data = lc.encode_command(lc.OP_START, fs_centihz=fs_centihz, range_g=range_g,
                             samples_per_packet=spp)
    dec_op, params = lc.decode_command(data)
    assert lc.encode_command(dec_op, **params) == data
    assert params["fs_hz"] * 100 == pytest.approx(fs_centihz)
    other_op, other_params = lc.decode_command(lc.encode_command(op))
    assert lc.encode_command(other_op, **other_params) == bytes([op])


def test_encode_command_rejects_unknown_and_extra():
    with pytest.raises(ValueError, match="unknown LegAccel op"):
        lc.encode_command(9)
    with pytest.raises(ValueError, match="takes no parameters"):
        lc.encode_command(lc.OP_STOP, range_g=8)
    with pytest.raises(ValueError, match="disagree"):
        lc.encode_command(lc.OP_START, fs_hz=100, fs_centihz=5000, range_g=8)


def test_decode_hand_built_start_reply():
    data = bytes.fromhex("F0 01 00" "CDAB3412" "404B4C0000000000" "1027" "08" "00008039")
    reply = lc.check_status(lc.decode_status(data), lc.OP_START)
    start = lc.decode_start_reply(reply.payload)
    assert start == lc.StartReply(session_id=0x1234ABCD, device_time_us=5_000_000,
                                  fs_hz=100.0, range_g=8, scale_g=2.0 ** -12)
    assert lc.encode_status(lc.OP_START, lc.STATUS_OK, start.encode()) == data


def test_decode_hand_built_device_info():
    data = bytes.fromhex("F0 03 00" "01" "03" "C409" "8813" "1027" "02" "0408" "00")
    reply = lc.check_status(data, lc.OP_GET_INFO)
    info = lc.decode_device_info(reply.payload)
    assert info == lc.DeviceInfo(version=1, rates_hz=(25.0, 50.0, 100.0), ranges_g=(4, 8),
                                 streaming=False)
    assert lc.encode_device_info(info) == reply.payload


@pytest.mark.parametrize("payload, match", [
    (bytes.fromhex("01 02 C409"), "n_rates .* = 2 needs 7 bytes"),
    (bytes.fromhex("01 01 C409 02 04"), "n_ranges .* = 2 need 8 bytes, got 6"),
    (bytes.fromhex("01 01 C409 01 04 02"), "streaming .* = 2"),
])
def test_device_info_rejects(payload, match):
    with pytest.raises(PacketError, match=match):
        lc.decode_device_info(payload)


def test_start_reply_rejects_wrong_length_and_bad_scale():
    good = lc.StartReply(1, 2, 100.0, 8, 0.5).encode()
    with pytest.raises(PacketError, match="18 bytes, expected 19"):
        lc.decode_start_reply(good[:-1])
    with pytest.raises(PacketError, match="scale_g"):
        lc.decode_start_reply(good[:-4] + bytes(4))


@settings(max_examples=100, deadline=None)
@given(st.builds(lc.StartReply, session_id=st.integers(0, 2 ** 32 - 1),
                 device_time_us=st.integers(0, 2 ** 64 - 1),
                 fs_hz=st.integers(1, 65535).map(lambda c: c / 100),
                 range_g=st.integers(0, 255),
                 scale_g=st.floats(min_value=2.0 ** -100, max_value=2.0 ** 100, width=32)),
       st.builds(lc.DeviceInfo, version=st.integers(0, 255),
                 rates_hz=st.lists(st.integers(1, 65535).map(lambda c: c / 100), max_size=20)
                 .map(tuple),
                 ranges_g=st.lists(st.integers(0, 255), max_size=20).map(tuple),
                 streaming=st.booleans()),
       st.integers(0, 255), st.integers(0, 255), st.binary(max_size=40))
def test_reply_round_trips(start, info, op, status, payload):
    assert lc.decode_start_reply(lc.encode_start_reply(start)) == start
    assert lc.StartReply.decode(start.encode()) == start
    assert lc.decode_device_info(lc.encode_device_info(info)) == info
    assert lc.DeviceInfo.decode(info.encode()) == info
    assert lc.decode_status(lc.encode_status(op, status, payload)) == lc.Status(op, status,
                                                                                payload)


def test_check_status_errors_name_op_and_status():
    with pytest.raises(lc.ControlError, match=r"START \(0x01\) failed: invalid parameter") as e:
        lc.check_status(lc.Status(lc.OP_START, lc.STATUS_INVALID_PARAMETER), lc.OP_START)
    assert e.value.status == lc.STATUS_INVALID_PARAMETER and e.value.op == lc.OP_START
    with pytest.raises(lc.ControlError, match=r"reply to STOP") as e:
        lc.check_status(lc.Status(lc.OP_STOP, lc.STATUS_OK), lc.OP_START)
    assert e.value.status is None
    with pytest.raises(lc.ControlError, match="already in that state"):
        lc.check_status(lc.Status(lc.OP_STOP, lc.STATUS_ALREADY), lc.OP_STOP)
    ok = lc.check_status(lc.Status(lc.OP_STOP, lc.STATUS_ALREADY), lc.OP_STOP,
                         accept=(lc.STATUS_OK, lc.STATUS_ALREADY))
    assert ok.status == lc.STATUS_ALREADY
    with pytest.raises(lc.ControlError, match="unknown status 9"):
        lc.check_status(bytes.fromhex("F0 01 09"), lc.OP_START)


def test_decode_status_rejects():
    with pytest.raises(PacketError, match="expected at least 3"):
        lc.decode_status(b"\xF0\x01")
    with pytest.raises(PacketError, match="byte 0 = 0x01, expected 0xF0"):
        lc.decode_status(b"\x01\x01\x00")


def test_make_decoder_unknown_protocol_names_choices():
    with pytest.raises(ValueError, match="'legaccel', 'polar'"):
        make_decoder("movesense")
