"""Polar Measurement Data (PMD) protocol, the subset used to stream acceleration.

Pure encoding and decoding (no BLE stack here) for Polar sensors that expose the PMD service
(Verity Sense, H10). The layouts follow Polar's public BLE SDK (``polarofficial/polar-ble-sdk``,
Android sources ``BlePMDClient.kt``, ``PmdSetting.kt``, ``PmdControlPointResponse.kt``,
``PmdDataFrame.kt``, ``model/AccData.kt``, ``model/PmdTimeStampUtils.kt``). All multi-byte fields
are little-endian.

Control point (``PMD_CONTROL_UUID``): read returns ``[0x0F][feature bitmask...]``; requests are
written as ``[op][measurement type][settings...]``, each setting ``[type][count][values]``;
replies arrive as indications ``[0xF0][op][type][error][more][settings...]``.

Data (``PMD_DATA_UUID``, notify): ``[measurement type][timestamp u64 ns since
2000-01-01T00:00:00Z of the LAST sample][frame type][samples...]``. ACC frame types:

- raw 0x00 / 0x01 / 0x02: x, y, z as int8 / int16 / int24, in mG (the SDK applies no factor);
- compressed 0x81 (bit 7 set, type 1): a reference sample of 3 x int16, then blocks
  ``[bit width u8][sample count u8][packed deltas]``; deltas are signed (two's complement) of that
  width, packed least-significant bit first, channels interleaved, each sample = previous +
  delta; each block is padded to whole bytes. Values x factor are mG;
- compressed 0x80 (type 0): the same layout, values x factor are g.

Every decoding error raises :class:`~firmware_bridge.protocols.base.PacketError` naming the frame
type, the byte offset (from the start of the notification) and what was expected.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from typing import Union

import numpy as np

from firmware_bridge.protocols.base import PacketError, check_uint, SampleBlock

__all__ = ["PMD_EPOCH_UNIX_S", "MEAS_ECG", "MEAS_PPG", "MEAS_ACC", "MEAS_PPI", "MEAS_GYRO",
           "MEAS_MAG", "MEAS_SDK_MODE", "MEAS_NAMES", "ECG", "PPG", "ACC", "PPI", "GYRO", "MAG",
           "SDK_MODE", "FRAME_RAW_INT8", "FRAME_RAW_INT16", "FRAME_RAW_INT24",
           "FRAME_COMPRESSED_TYPE0", "FRAME_COMPRESSED_TYPE1", "COMPRESSED_BIT", "HEADER_SIZE",
           "PolarAccFrame", "decode_acc_frame", "encode_acc_frame", "frame_scale_g", "to_block",
           "pmd_ns_to_unix_s", "unix_s_to_pmd_ns", "Number", "check_uint"]

#: PMD timestamps count nanoseconds from 2000-01-01T00:00:00Z, which is this unix time (s).
PMD_EPOCH_UNIX_S = 946684800

MEAS_ECG = 0
MEAS_PPG = 1
MEAS_ACC = 2
MEAS_PPI = 3
MEAS_GYRO = 5
MEAS_MAG = 6
MEAS_SDK_MODE = 9
MEAS_NAMES = {MEAS_ECG: "ECG", MEAS_PPG: "PPG", MEAS_ACC: "ACC", MEAS_PPI: "PPI",
              MEAS_GYRO: "GYRO", MEAS_MAG: "MAG", MEAS_SDK_MODE: "SDK_MODE"}

# Short names for the same constants (measurement types, settings, errors).
ECG, PPG, ACC, PPI, GYRO, MAG, SDK_MODE = (MEAS_ECG, MEAS_PPG, MEAS_ACC, MEAS_PPI, MEAS_GYRO,
                                           MEAS_MAG, MEAS_SDK_MODE)

FRAME_RAW_INT8 = 0x00
FRAME_RAW_INT16 = 0x01
FRAME_RAW_INT24 = 0x02
FRAME_COMPRESSED_TYPE0 = 0x80
FRAME_COMPRESSED_TYPE1 = 0x81
#: Bit 7 of the frame-type byte marks a compressed (delta) frame.
COMPRESSED_BIT = 0x80
#: Measurement type (1) + timestamp (8) + frame type (1).
HEADER_SIZE = 10

_RAW_WIDTH_BYTES = {FRAME_RAW_INT8: 1, FRAME_RAW_INT16: 2, FRAME_RAW_INT24: 3}
#: Bits of the reference sample of compressed ACC frames (both types; ``AccData.kt``).
_COMPRESSED_REF_BITS = 16
_CHANNELS = 3
_MAX_DELTA_BITS = 32
_INT32_MIN, _INT32_MAX = -(1 << 31), (1 << 31) - 1
_U64 = 0xFFFF_FFFF_FFFF_FFFF

Number = Union[int, float]


def _frame_name(frame_type: int) -> str:
    return f"0x{frame_type:02X}"


def _meas_name(meas_type: int) -> str:
    return f"0x{meas_type:02X} ({MEAS_NAMES.get(meas_type & 0x3F, 'unknown')})"




# --------------------------------------------------------------------------------------------
# Data frames
# --------------------------------------------------------------------------------------------

def pmd_ns_to_unix_s(ns: int) -> float:
    """PMD timestamp (ns since 2000-01-01T00:00:00Z) -> unix time, s."""
    ns = int(ns)
    return PMD_EPOCH_UNIX_S + ns // 1_000_000_000 + (ns % 1_000_000_000) / 1e9


def unix_s_to_pmd_ns(s: float) -> int:
    """Unix time, s -> PMD timestamp (ns since 2000-01-01T00:00:00Z), rounded to 1 ns."""
    return int(round((float(s) - PMD_EPOCH_UNIX_S) * 1e9))


def frame_scale_g(frame_type: int, factor: float = 1.0) -> float:
    """g per count of an ACC frame type.

    Follows ``AccData.kt``: raw frames are mG and the factor is not applied; compressed type 1
    (0x81) is mG x factor; compressed type 0 (0x80) is g x factor.
    """
    if frame_type == FRAME_COMPRESSED_TYPE0:
        return float(factor)
    if frame_type == FRAME_COMPRESSED_TYPE1:
        return float(factor) / 1000.0
    return 1.0 / 1000.0


@dataclass(frozen=True, eq=False)
class PolarAccFrame:
    """One decoded PMD ACC data notification.

    Attributes
    ----------
    timestamp_ns : int
        PMD time of the LAST sample, ns since 2000-01-01T00:00:00Z.
    frame_type : int
        The frame-type byte (``FRAME_*``).
    counts : ndarray, shape (n, 3), int32
        Raw x, y, z values as sent (not multiplied by the factor).
    factor : float
        The stream's FACTOR setting (from the start reply; 1.0 when none).
    """

    timestamp_ns: int
    frame_type: int
    counts: np.ndarray
    factor: float = 1.0

    @property
    def n(self) -> int:
        """Number of samples."""
        return int(self.counts.shape[0])

    @property
    def compressed(self) -> bool:
        """True for delta-compressed frames."""
        return bool(self.frame_type & COMPRESSED_BIT)

    @property
    def scale_g(self) -> float:
        """g per count (see :func:`frame_scale_g`)."""
        return frame_scale_g(self.frame_type, self.factor)


def _sign_extend(values: np.ndarray, bits: int) -> np.ndarray:
    """Two's complement of ``bits`` bits held in non-negative int64 values."""
    return values - (((values >> (bits - 1)) & 1) << bits)


def _decode_raw(content: bytes, frame_type: int) -> np.ndarray:
    width = _RAW_WIDTH_BYTES[frame_type]
    step = width * _CHANNELS
    if not content or len(content) % step:
        raise PacketError(f"PMD ACC frame {_frame_name(frame_type)}: {len(content)} sample "
                          f"bytes from byte {HEADER_SIZE}, expected a positive multiple of "
                          f"{step} (3 x int{8 * width})")
    raw = np.frombuffer(content, dtype=np.uint8).reshape(-1, width).astype(np.int64)
    values = np.zeros(raw.shape[0], dtype=np.int64)
    for i in range(width):
        values |= raw[:, i] << (8 * i)
    return _sign_extend(values, 8 * width).reshape(-1, _CHANNELS).astype(np.int32)


def _decode_compressed(content: bytes, frame_type: int) -> np.ndarray:
    name = _frame_name(frame_type)
    ref_size = _CHANNELS * _COMPRESSED_REF_BITS // 8
    if len(content) < ref_size:
        raise PacketError(f"PMD ACC frame {name}: {len(content)} bytes from byte {HEADER_SIZE}, "
                          f"expected at least {ref_size} (reference sample 3 x int16)")
    ref = np.frombuffer(content, dtype="<i2", count=_CHANNELS).astype(np.int64)
    deltas = []
    off = ref_size
    while off < len(content):
        at = HEADER_SIZE + off
        if off + 2 > len(content):
            raise PacketError(f"PMD ACC frame {name}: delta block at byte {at} needs 2 header "
                              f"bytes (bit width, sample count), got {len(content) - off}")
        width, count = content[off], content[off + 1]
        if not 1 <= width <= _MAX_DELTA_BITS:
            raise PacketError(f"PMD ACC frame {name}: delta block at byte {at} has bit width "
                              f"{width}, expected 1..{_MAX_DELTA_BITS}")
        n_bits = count * _CHANNELS * width
        n_bytes = (n_bits + 7) // 8
        if off + 2 + n_bytes > len(content):
            raise PacketError(f"PMD ACC frame {name}: delta block at byte {at} ({count} samples "
                              f"x 3 x {width} bits) needs {n_bytes} bytes, got "
                              f"{len(content) - off - 2}")
        if count:
            block = np.frombuffer(content, dtype=np.uint8, count=n_bytes, offset=off + 2)
            bits = np.unpackbits(block, bitorder="little")[:n_bits]
            bits = bits.reshape(count * _CHANNELS, width).astype(np.int64)
            values = bits @ (np.int64(1) << np.arange(width, dtype=np.int64))
            deltas.append(_sign_extend(values, width).reshape(count, _CHANNELS))
        off += 2 + n_bytes
    n_deltas = sum(d.shape[0] for d in deltas)
    samples = np.empty((1 + n_deltas, _CHANNELS), dtype=np.int64)
    samples[0] = ref
    if n_deltas:
        np.cumsum(deltas[0] if len(deltas) == 1 else np.concatenate(deltas), axis=0,
                  out=samples[1:])
        samples[1:] += ref
        lo, hi = samples.min(), samples.max()
        if lo < _INT32_MIN or hi > _INT32_MAX:
            raise PacketError(f"PMD ACC frame {name}: decoded values leave the int32 range "
                              f"({lo}..{hi}); the deltas are corrupt")
    return samples.astype(np.int32)


def decode_acc_frame(data: bytes, factor: float = 1.0) -> PolarAccFrame:
    """Decode one PMD data notification carrying acceleration.

    Parameters
    ----------
    data : bytes
        The notification's value.
    factor : float
        The stream's FACTOR (from the start reply), kept on the frame for the unit.

    Returns
    -------
    PolarAccFrame

    Raises
    ------
    PacketError
        Shorter than the 10-byte header, not ACC (byte 0 != 2), a frame type other than raw
        0x00/0x01/0x02 or compressed 0x80/0x81, or sample bytes that do not fit the frame type.
    ValueError
        ``factor`` not finite and > 0.
    """
    factor = float(factor)
    if not math.isfinite(factor) or factor <= 0:
        raise ValueError(f"factor must be a finite number > 0, got {factor!r}")
    data = bytes(data)
    if len(data) < HEADER_SIZE:
        raise PacketError(f"PMD data frame: {len(data)} bytes, expected at least {HEADER_SIZE} "
                          "(measurement type, timestamp u64, frame type)")
    if data[0] != MEAS_ACC:
        raise PacketError(f"PMD data frame: measurement type (byte 0) = {_meas_name(data[0])}, "
                          f"expected 0x02 (ACC)")
    (timestamp_ns,) = struct.unpack_from("<Q", data, 1)
    frame_type = data[9]
    content = data[HEADER_SIZE:]
    if frame_type in _RAW_WIDTH_BYTES:
        counts = _decode_raw(content, frame_type)
    elif frame_type in (FRAME_COMPRESSED_TYPE0, FRAME_COMPRESSED_TYPE1):
        counts = _decode_compressed(content, frame_type)
    else:
        raise PacketError(f"PMD ACC frame: frame type (byte 9) = {_frame_name(frame_type)}, "
                          "expected raw 0x00, 0x01, 0x02 or compressed 0x80, 0x81")
    return PolarAccFrame(timestamp_ns=timestamp_ns, frame_type=frame_type, counts=counts,
                         factor=factor)


def _check_counts(counts: np.ndarray) -> np.ndarray:
    counts = np.asarray(counts)
    if counts.ndim != 2 or counts.shape[1] != _CHANNELS or counts.shape[0] < 1:
        raise ValueError(f"counts must have shape (n >= 1, 3), got {counts.shape}")
    if not np.issubdtype(counts.dtype, np.integer):
        raise ValueError(f"counts must be integers, got dtype {counts.dtype}")
    return counts.astype(np.int64)


def _check_range(counts: np.ndarray, bits: int, what: str) -> None:
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    if counts.min() < lo or counts.max() > hi:
        raise ValueError(f"{what} must fit int{bits} ({lo}..{hi}), got "
                         f"{counts.min()}..{counts.max()}")


def _pack_block(deltas: np.ndarray) -> bytes:
    """One block ``[width][count][packed]`` with the smallest width that holds every delta."""
    magnitude = int(np.max(np.where(deltas < 0, ~deltas, deltas)))
    width = magnitude.bit_length() + 1
    if width > _MAX_DELTA_BITS:
        raise ValueError(f"deltas need {width} bits, at most {_MAX_DELTA_BITS} allowed")
    values = (deltas.ravel() & ((1 << width) - 1)).astype(np.uint64)
    bits = ((values[:, None] >> np.arange(width, dtype=np.uint64)) & np.uint64(1))
    packed = np.packbits(bits.astype(np.uint8).ravel(), bitorder="little")
    return bytes([width, deltas.shape[0]]) + packed.tobytes()


def encode_acc_frame(counts: np.ndarray, timestamp_ns: int,
                     frame_type: int = FRAME_COMPRESSED_TYPE1, meas_type: int = MEAS_ACC,
                     block_samples: int = 255) -> bytes:
    """Encode an ACC data notification (the sensor side).

    Parameters
    ----------
    counts : array_like, shape (n >= 1, 3), integer
        Raw x, y, z values (raw frames: must fit the frame's int8/int16/int24; compressed:
        the first sample must fit int16).
    timestamp_ns : int
        PMD time of the LAST sample, ns since 2000-01-01T00:00:00Z (u64).
    frame_type : int
        ``FRAME_RAW_INT8``, ``FRAME_RAW_INT16``, ``FRAME_RAW_INT24``,
        ``FRAME_COMPRESSED_TYPE0`` or ``FRAME_COMPRESSED_TYPE1``.
    meas_type : int
        Byte 0 (``MEAS_ACC``; another value builds frames the ACC decoder must reject).
    block_samples : int
        Compressed frames: delta samples per block (1..255); each block uses the smallest bit
        width that holds its deltas.

    Raises
    ------
    ValueError
        Bad shape, values that do not fit, or an unknown frame type.
    """
    c = _check_counts(counts)
    header = bytes([check_uint("meas_type", meas_type, 0xFF)]) + struct.pack(
        "<Q", check_uint("timestamp_ns", timestamp_ns, _U64)) + bytes([frame_type & 0xFF])
    if frame_type in _RAW_WIDTH_BYTES:
        width = _RAW_WIDTH_BYTES[frame_type]
        _check_range(c, 8 * width, f"counts of raw frame {_frame_name(frame_type)}")
        values = (c.ravel() & ((1 << (8 * width)) - 1)).astype(np.uint32)
        raw = ((values[:, None] >> (8 * np.arange(width, dtype=np.uint32))) & 0xFF)
        return header + raw.astype(np.uint8).tobytes()
    if frame_type in (FRAME_COMPRESSED_TYPE0, FRAME_COMPRESSED_TYPE1):
        block_samples = check_uint("block_samples", block_samples, 0xFF)
        if block_samples < 1:
            raise ValueError("block_samples must be at least 1")
        _check_range(c[:1], _COMPRESSED_REF_BITS, "the reference (first) sample")
        out = [header, c[0].astype("<i2").tobytes()]
        deltas = np.diff(c, axis=0)
        for start in range(0, deltas.shape[0], block_samples):
            out.append(_pack_block(deltas[start:start + block_samples]))
        return b"".join(out)
    raise ValueError(f"unknown ACC frame type {_frame_name(frame_type)}; expected one of 0x00, "
                     "0x01, 0x02, 0x80, 0x81")


def to_block(frame: PolarAccFrame, fs_hz: float, factor: float | None = None,
             range_g: float = 0.0) -> SampleBlock:
    """Convert a decoded frame to the protocol-neutral :class:`SampleBlock`.

    Parameters
    ----------
    frame : PolarAccFrame
    fs_hz : float
        The started sample rate, Hz.
    factor : float, optional
        The stream's FACTOR; default ``frame.factor``.
    range_g : float
        The started full scale, +-g (0 = unknown).

    Returns
    -------
    SampleBlock
        Device times in unix seconds: the last sample at the frame's timestamp, the first
        ``(n - 1) / fs_hz`` earlier.

    Raises
    ------
    ValueError
        ``fs_hz`` or ``factor`` not finite and > 0.
    """
    fs_hz = float(fs_hz)
    if not math.isfinite(fs_hz) or fs_hz <= 0:
        raise ValueError(f"fs_hz must be > 0 Hz, got {fs_hz!r}")
    factor = frame.factor if factor is None else float(factor)
    if not math.isfinite(factor) or factor <= 0:
        raise ValueError(f"factor must be a finite number > 0, got {factor!r}")
    end_s = pmd_ns_to_unix_s(frame.timestamp_ns)
    return SampleBlock(
        protocol="polar",
        counts=np.asarray(frame.counts, dtype=np.int32),
        scale_g=frame_scale_g(frame.frame_type, factor),
        fs_hz=fs_hz,
        device_time_s=end_s - (frame.n - 1) / fs_hz,
        device_time_end_s=end_s,
        session_id=None,
        seq=None,
        first_index=None,
        flags=0,
        range_g=float(range_g or 0.0),
    )
