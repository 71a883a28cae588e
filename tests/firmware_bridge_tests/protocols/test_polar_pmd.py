"""Polar PMD: requests, replies and ACC frames, checked against bytes written from the protocol."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from firmware_bridge.protocols import polar_pmd as pmd
from firmware_bridge.protocols import polar_control as pc
from firmware_bridge.protocols.base import PacketError
from firmware_bridge.protocols.sensors import make_decoder

# ----- requests ---------------------------------------------------------------------------------


def test_verity_sense_start_request_bytes():
    # Start ACC at 52 Hz, 16 bit, +-8 g, 3 channels, as a Verity Sense is started.
    assert pc.encode_start(pmd.MEAS_ACC, 52) == bytes.fromhex(
        "02 02 00 01 34 00 01 01 10 00 02 01 08 00 04 01 03")


def test_h10_start_request_bytes_without_channels():
    assert pc.encode_start(pmd.MEAS_ACC, 200, channels=None) == bytes.fromhex(
        "02 02 00 01 C8 00 01 01 10 00 02 01 08 00")


def test_get_settings_and_stop_bytes():
    assert pc.encode_get_settings(pmd.MEAS_ACC) == b"\x01\x02"
    assert pc.encode_stop(pmd.MEAS_ACC) == b"\x03\x02"


def test_decode_hand_built_start_request():
    req = pc.decode_request(bytes.fromhex("02 02 00 01 34 00 01 01 10 00 02 01 08 00 04 01 03"))
    assert req.op == pc.OP_START and req.meas_type == pmd.MEAS_ACC
    assert req.settings == {pc.SETTING_SAMPLE_RATE: [52], pc.SETTING_RESOLUTION: [16],
                            pc.SETTING_RANGE: [8], pc.SETTING_CHANNELS: [3]}
    assert pc.decode_request(b"\x03\x02") == (pc.OP_STOP, pmd.MEAS_ACC, {})
    # SDK mode start carries no settings.
    assert pc.decode_request(b"\x02\x09") == (pc.OP_START, pmd.MEAS_SDK_MODE, {})


@pytest.mark.parametrize("data, error, match", [
    (b"", pc.ERR_INVALID_LENGTH, "0 bytes, expected at least 2"),
    (b"\x02", pc.ERR_INVALID_LENGTH, "1 bytes, expected at least 2"),
    (b"\x05\x02", pc.ERR_INVALID_OP_CODE, "op 0x05"),
    (b"\x01\x02\x00", pc.ERR_INVALID_LENGTH, "GET_SETTINGS request: 3 bytes, expected 2"),
    (bytes.fromhex("02 02 00 01 34"), pc.ERR_INVALID_PARAMETER,
     "SAMPLE_RATE at byte 2 has 1 values = 2 bytes, got 1"),
    (bytes.fromhex("02 02 07 01 34 00"), pc.ERR_INVALID_PARAMETER,
     "unknown setting type 7 at byte 2"),
    (bytes.fromhex("02 02 00"), pc.ERR_INVALID_PARAMETER, "setting header at byte 2"),
])
def test_decode_request_errors_carry_reply_code(data, error, match):
    with pytest.raises(pc.PmdRequestError, match=match) as info:
        pc.decode_request(data)
    assert isinstance(info.value, PacketError)
    assert info.value.error == error


@settings(max_examples=100, deadline=None)
@given(meas=st.integers(0, 255), rate=st.integers(0, 65535),
       res=st.one_of(st.none(), st.integers(0, 65535)),
       rng=st.one_of(st.none(), st.integers(0, 65535)),
       ch=st.one_of(st.none(), st.integers(0, 255)))
def test_request_round_trip(meas, rate, res, rng, ch):
    req = pc.decode_request(pc.encode_start(meas, rate, res, rng, ch))
    expected = {pc.SETTING_SAMPLE_RATE: [rate]}
    for key, value in ((pc.SETTING_RESOLUTION, res), (pc.SETTING_RANGE, rng),
                       (pc.SETTING_CHANNELS, ch)):
        if value is not None:
            expected[key] = [value]
    assert req == (pc.OP_START, meas, expected)
    assert pc.decode_request(pc.encode_stop(meas)) == (pc.OP_STOP, meas, {})
    assert pc.decode_request(pc.encode_get_settings(meas)) == (pc.OP_GET_SETTINGS, meas, {})


# ----- replies ----------------------------------------------------------------------------------

def test_decode_verity_start_reply():
    r = pc.decode_control_response(bytes.fromhex("F0 02 02 00 00"))
    assert (r.op, r.meas_type, r.error, r.more, r.settings) == (2, 2, 0, False, {})
    assert r.ok and r.factor == 1.0


def test_decode_start_reply_with_factor():
    # FACTOR setting (type 5, count 1) = float32 2**-12 = 0x39800000, little-endian.
    r = pc.decode_control_response(bytes.fromhex("F0 02 02 00 00 05 01 00 00 80 39"))
    assert r.factor == 2.0 ** -12
    assert r.settings == {pc.SETTING_FACTOR: [2.0 ** -12]}


def test_decode_h10_get_settings_reply():
    data = bytes.fromhex("F0 01 02 00 00"
                         "00 04 19 00 32 00 64 00 C8 00"    # rates 25, 50, 100, 200 Hz
                         "01 01 10 00"                      # resolution 16
                         "02 03 02 00 04 00 08 00"          # ranges 2, 4, 8 g
                         "03 01 A0 86 01 00")               # range 100000 milli-units (u32)
    r = pc.decode_control_response(data)
    assert r.settings == {pc.SETTING_SAMPLE_RATE: [25, 50, 100, 200],
                          pc.SETTING_RESOLUTION: [16], pc.SETTING_RANGE: [2, 4, 8],
                          pc.SETTING_RANGE_MILLIUNIT: [100000]}


def test_decode_error_reply():
    r = pc.decode_control_response(bytes.fromhex("F0 02 02 06 00"))
    assert not r.ok and r.error == pc.ERR_ALREADY_IN_STATE
    assert r.error_text == "already in state"
    assert pc.ERROR_TEXT[8] == "invalid sample rate" and pc.ERROR_TEXT[9] == "invalid range"
    assert pc.ERROR_TEXT[13] == "device in charger"
    assert pc.error_text(pc.ERROR_ALREADY_IN_STATE) == "already in state"
    assert pc.error_text(200) == "unknown error 200"


def test_constant_values():
    assert (pmd.ECG, pmd.PPG, pmd.ACC, pmd.PPI, pmd.GYRO, pmd.MAG, pmd.SDK_MODE) == (
        0, 1, 2, 3, 5, 6, 9)
    assert (pc.SAMPLE_RATE, pc.RESOLUTION, pc.RANGE, pc.RANGE_MILLIUNIT, pc.CHANNELS,
            pc.FACTOR) == (0, 1, 2, 3, 4, 5)
    assert (pc.OP_GET_SETTINGS, pc.OP_START, pc.OP_STOP) == (1, 2, 3)


def test_split_reply_is_joined():
    # A GET_SETTINGS reply split over two indications in the middle of the rate list.
    first = pc.decode_control_response(bytes.fromhex("F0 01 02 00 01 00 02 19 00"))
    continuation = bytes.fromhex("F0 01 02 00 00 32 00 01 01 10 00")
    with pytest.raises(PacketError):     # meaningless on its own
        pc.decode_control_response(continuation)
    second = pc.decode_control_response(continuation, parse_settings=False)
    assert first.more and first.settings == {}
    joined = pc.join_control_responses([first, second])
    assert joined.settings == {pc.SETTING_SAMPLE_RATE: [25, 50], pc.SETTING_RESOLUTION: [16]}


@pytest.mark.parametrize("data, match", [
    (bytes.fromhex("F0 02 02"), "3 bytes, expected at least 4"),
    (bytes.fromhex("0F 02 02 00"), "byte 0 = 0x0F, expected 0xF0"),
    (bytes.fromhex("01 02"), "measurement stopped"),
    (bytes.fromhex("F0 01 02 00 00 00 02 19 00"), "SAMPLE_RATE at byte 5 has 2 values"),
])
def test_decode_control_response_rejects(data, match):
    with pytest.raises(PacketError, match=match):
        pc.decode_control_response(data)


def test_measurement_stopped_indication():
    assert pc.decode_measurement_stopped(bytes.fromhex("01 02 00")) == {pmd.MEAS_ACC,
                                                                         pmd.MEAS_ECG}


settings_strategy = st.dictionaries(
    st.sampled_from([0, 1, 2, 3, 4, 5]), st.lists(st.integers(0, 255), min_size=1, max_size=5),
    max_size=6)


@settings(max_examples=100, deadline=None)
@given(op=st.integers(0, 255), meas=st.integers(0, 255), error=st.integers(0, 255),
       values=settings_strategy)
def test_control_response_round_trip(op, meas, error, values):
    data = pc.encode_control_response(op, meas, error, settings=values)
    r = pc.decode_control_response(data)
    assert (r.op, r.meas_type, r.error, r.more) == (op, meas, error, False)
    if error == 0 and op in (1, 2, 4):
        assert r.settings == {k: [float(v) for v in vs] if k == pc.SETTING_FACTOR else vs
                              for k, vs in values.items()}
    assert pc.encode_control_response(op, meas, error, params=r.params) == data


def test_features_hand_built():
    # PPG, ACC, PPI, GYRO, MAG (bits 1, 2, 3, 5, 6 = 0x6E) and SDK mode (bit 9 = bit 1 of byte 2).
    assert pc.decode_features(bytes.fromhex("0F 6E 02")) == {1, 2, 3, 5, 6, 9}
    # ECG and ACC (bits 0 and 2).
    assert pc.decode_features(bytes.fromhex("0F 05 00")) == {0, 2}
    assert pc.encode_features({0, 2}) == bytes.fromhex("0F 05 00")
    with pytest.raises(PacketError, match="byte 0 = 0xF0, expected 0x0F"):
        pc.decode_features(bytes.fromhex("F0 05"))


@given(st.sets(st.integers(0, 63)))
def test_features_round_trip(types):
    assert pc.decode_features(pc.encode_features(types)) == types


# ----- data frames ------------------------------------------------------------------------------

TS_1E9 = "00 CA 9A 3B 00 00 00 00"   # 1_000_000_000 ns = 0x3B9ACA00, u64 little-endian

# A compressed (0x81) frame packed by hand, bit by bit:
#   reference sample (1000, -2, -1000): E8 03 | FE FF | 18 FC
#   block 1: width 4, 2 samples, deltas (+1, -1, +7), (-8, 0, +3)
#            nibbles in order 0001 1111 0111 1000 0000 0011, low nibble first in each byte
#            -> F1 87 30
#   block 2: width 3, 1 sample, deltas (+3, -4, -1) = 011, 100, 111 LSB first
#            -> 3 | 4 << 3 | 7 << 6 = 0x1E3 -> E3 01 (7 padding bits)
#   block 3: width 5, 1 sample, deltas (-16, +15, +1) = 10000, 01111, 00001
#            -> 16 | 15 << 5 | 1 << 10 = 0x5F0 -> F0 05 (1 padding bit)
HAND_COMPRESSED = bytes.fromhex(
    "02" + TS_1E9 + "81"
    "E8 03 FE FF 18 FC"
    "04 02 F1 87 30"
    "03 01 E3 01"
    "05 01 F0 05")
HAND_COMPRESSED_COUNTS = [[1000, -2, -1000], [1001, -3, -993], [993, -3, -990],
                          [996, -7, -991], [980, 8, -990]]


def test_decode_hand_packed_compressed_frame():
    f = pmd.decode_acc_frame(HAND_COMPRESSED)
    assert f.frame_type == 0x81 and f.compressed and f.timestamp_ns == 1_000_000_000
    assert f.counts.dtype == np.int32
    assert f.counts.tolist() == HAND_COMPRESSED_COUNTS


def test_hand_packed_frame_to_block():
    block = make_decoder("polar", {"fs_hz": 52.0, "range_g": 8, "factor": 1.0})(HAND_COMPRESSED)
    # 1_000_000_000 ns after 2000-01-01 = unix 946684801 s; the timestamp is the LAST sample.
    assert block.device_time_end_s == 946684801.0
    assert block.device_time_s == pytest.approx(946684801.0 - 4 / 52.0, abs=1e-9)
    assert block.scale_g == 0.001      # compressed type 1 with factor 1: mG
    np.testing.assert_allclose(block.acc_g[0], [1.0, -0.002, -1.0], rtol=1e-6)
    assert (block.session_id, block.seq, block.first_index) == (None, None, None)
    assert block.range_g == 8.0 and block.fs_hz == 52.0


def test_factor_scales_compressed_frames():
    f = pmd.decode_acc_frame(HAND_COMPRESSED, factor=0.5)
    assert f.scale_g == 0.0005
    type0 = HAND_COMPRESSED[:9] + b"\x80" + HAND_COMPRESSED[10:]
    f0 = pmd.decode_acc_frame(type0, factor=2.44e-4)
    assert f0.counts.tolist() == HAND_COMPRESSED_COUNTS
    assert f0.scale_g == 2.44e-4       # compressed type 0: g x factor


def test_decode_hand_built_raw_int16_frame():
    data = bytes.fromhex("02 00 94 35 77 00 00 00 00 01"     # ts 2_000_000_000 ns, type 0x01
                         "F7 FF FF FF E7 03"                  # (-9, -1, 999) mG
                         "F8 FF FE FF E5 03")                 # (-8, -2, 997) mG
    f = pmd.decode_acc_frame(data, factor=3.0)
    assert f.timestamp_ns == 2_000_000_000 and not f.compressed
    assert f.counts.tolist() == [[-9, -1, 999], [-8, -2, 997]]
    assert f.scale_g == 0.001          # raw frames are mG; the factor is not applied


def test_decode_hand_built_raw_int8_and_int24_frames():
    f8 = pmd.decode_acc_frame(bytes.fromhex("02" + TS_1E9 + "00" "7F 80 01"))
    assert f8.counts.tolist() == [[127, -128, 1]]
    f24 = pmd.decode_acc_frame(bytes.fromhex("02" + TS_1E9 + "02" "01 00 80 FF FF FF 00 10 00"))
    assert f24.counts.tolist() == [[-8388607, -1, 4096]]


@pytest.mark.parametrize("data, match", [
    (bytes.fromhex("02 00 00 00"), "4 bytes, expected at least 10"),
    (bytes.fromhex("00" + TS_1E9 + "01 00 00 00 00 00 00"),
     r"measurement type \(byte 0\) = 0x00 \(ECG\), expected 0x02 \(ACC\)"),
    (bytes.fromhex("02" + TS_1E9 + "03 00 00 00"), r"frame type \(byte 9\) = 0x03"),
    (bytes.fromhex("02" + TS_1E9 + "01"), "0 sample bytes from byte 10"),
    (bytes.fromhex("02" + TS_1E9 + "01 00 00 00 00 00"), "5 sample bytes .* multiple of 6"),
    (HAND_COMPRESSED[:15], "5 bytes from byte 10, expected at least 6"),
    (HAND_COMPRESSED[:-1], r"delta block at byte 25 \(1 samples x 3 x 5 bits\) needs 2 bytes, "
                           "got 1"),
    (HAND_COMPRESSED + b"\x04", "delta block at byte 29 needs 2 header bytes"),
    (HAND_COMPRESSED[:16] + b"\x00\x02", "delta block at byte 16 has bit width 0"),
    (HAND_COMPRESSED[:16] + b"\x21\x01" + bytes(13), "bit width 33"),
    # reference x = 32767, then one 32-bit delta of +2**31 - 1: beyond int32.
    (bytes.fromhex("02" + TS_1E9 + "81" "FF 7F 00 00 00 00" "20 01" "FF FF FF 7F" + "00" * 8),
     "leave the int32 range"),
])
def test_decode_acc_frame_rejects(data, match):
    with pytest.raises(PacketError, match=match):
        pmd.decode_acc_frame(data)


def test_encoder_picks_smallest_width_per_block():
    counts = np.array([[0, 0, 0], [7, -8, 0], [15, -16, 0], [31, -16, 0]])
    data = pmd.encode_acc_frame(counts, 1, pmd.FRAME_COMPRESSED_TYPE1, block_samples=2)
    # deltas (7, -8, 0), (8, -8, 0) need 5 bits (8 > 7); delta (16, 0, 0) needs 6 bits.
    assert data[16:18] == bytes([5, 2])
    assert data[18 + 4: 20 + 4] == bytes([6, 1])   # 2 * 3 * 5 = 30 bits = 4 bytes
    assert pmd.decode_acc_frame(data).counts.tolist() == counts.tolist()


def test_encoder_reproduces_hand_packed_block():
    data = pmd.encode_acc_frame(np.array(HAND_COMPRESSED_COUNTS[:3]), 1_000_000_000,
                                pmd.FRAME_COMPRESSED_TYPE1, block_samples=2)
    # First block identical to the hand-packed one (width 4 is the smallest for its deltas).
    assert data[:21] == HAND_COMPRESSED[:21]


def _frames(min_value, max_value):
    return st.integers(1, 300).flatmap(
        lambda n: arrays(np.int64, (n, 3), elements=st.integers(min_value, max_value)))


@settings(max_examples=150, deadline=None)
@given(counts=st.sampled_from([2 ** 6, 2 ** 15, 2 ** 30]).flatmap(lambda b: _frames(-b, b - 1)),
       first=arrays(np.int64, 3,
                                                       elements=st.integers(-32768, 32767)),
       ts=st.integers(0, 2 ** 64 - 1), block=st.integers(1, 255),
       ftype=st.sampled_from([pmd.FRAME_COMPRESSED_TYPE0, pmd.FRAME_COMPRESSED_TYPE1]))
def test_compressed_round_trip(counts, first, ts, block, ftype):
    counts = counts.copy()
    counts[0] = first
    f = pmd.decode_acc_frame(pmd.encode_acc_frame(counts, ts, ftype, block_samples=block))
    assert (f.timestamp_ns, f.frame_type) == (ts, ftype)
    np.testing.assert_array_equal(f.counts, counts)


@settings(max_examples=100, deadline=None)
@given(data=st.data(), ftype=st.sampled_from([0x00, 0x01, 0x02]), ts=st.integers(0, 2 ** 64 - 1))
def test_raw_round_trip(data, ftype, ts):
    bits = {0x00: 8, 0x01: 16, 0x02: 24}[ftype]
    counts = data.draw(_frames(-(1 << (bits - 1)), (1 << (bits - 1)) - 1))
    f = pmd.decode_acc_frame(pmd.encode_acc_frame(counts, ts, ftype))
    assert f.frame_type == ftype and f.timestamp_ns == ts
    np.testing.assert_array_equal(f.counts, counts)


def test_encoder_rejects():
    with pytest.raises(ValueError, match="int16"):
        pmd.encode_acc_frame(np.array([[40000, 0, 0]]), 0, pmd.FRAME_RAW_INT16)
    with pytest.raises(ValueError, match="reference"):
        pmd.encode_acc_frame(np.array([[40000, 0, 0]]), 0, pmd.FRAME_COMPRESSED_TYPE1)
    with pytest.raises(ValueError, match="n >= 1"):
        pmd.encode_acc_frame(np.zeros((0, 3), int), 0)
    with pytest.raises(ValueError, match="timestamp_ns"):
        pmd.encode_acc_frame(np.zeros((1, 3), int), -1)
    with pytest.raises(ValueError, match="unknown ACC frame type 0x05"):
        pmd.encode_acc_frame(np.zeros((1, 3), int), 0, 0x05)


def test_pmd_epoch_conversions():
    assert pmd.PMD_EPOCH_UNIX_S == 946684800          # 2000-01-01T00:00:00Z
    assert pmd.pmd_ns_to_unix_s(0) == 946684800.0
    assert pmd.pmd_ns_to_unix_s(1_500_000_000) == 946684801.5
    assert pmd.unix_s_to_pmd_ns(946684801.5) == 1_500_000_000
    # 2024-01-01T00:00:00Z = unix 1704067200.
    ns = pmd.unix_s_to_pmd_ns(1704067200.0)
    assert ns == (1704067200 - 946684800) * 10 ** 9
    assert pmd.pmd_ns_to_unix_s(ns + 250_000_000) == 1704067200.25


def test_make_decoder_polar_uses_stream_settings():
    counts = np.array([[0, 0, 1000]] * 71)
    frame = pmd.encode_acc_frame(counts, pmd.unix_s_to_pmd_ns(1704067200.0))
    block = make_decoder("polar", {"fs_hz": 52.0, "range_g": 8, "factor": 2.0})(frame)
    assert block.n == 71 and block.scale_g == 0.002
    np.testing.assert_allclose(block.acc_g[:, 2], 2.0)
    assert block.device_time_end_s == 1704067200.0
    assert block.device_time_s == pytest.approx(1704067200.0 - 70 / 52.0, abs=1e-6)


def test_make_decoder_polar_rejects_non_acc_and_bad_stream():
    decode = make_decoder("polar", {"fs_hz": 52.0})
    ecg = bytes.fromhex("00" + TS_1E9 + "00 01 02 03")
    with pytest.raises(PacketError, match="ECG"):
        decode(ecg)
    with pytest.raises(ValueError, match="fs_hz"):
        make_decoder("polar", {})
    with pytest.raises(ValueError, match="fs_hz must be > 0"):
        make_decoder("polar", {"fs_hz": 0})
