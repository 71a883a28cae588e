"""LegAccel v1: the reference BLE protocol for a leg-worn 3-axis accelerometer.

Pure encoding and decoding (no BLE stack here); the byte layouts are documented for firmware
authors in ``firmware_bridge/PROTOCOL.md``. All multi-byte fields are little-endian.

Data notification (one packet per notification on ``LEGACCEL_DATA_UUID``)::

    off size  field
    0   1     version = 1
    1   1     flags (packets.FLAG_*)
    2   4     seq u32          packet number since the session's start (0 = first)
    6   4     session_id u32   random, new on every START
    10  4     first_index u32  index of the first sample since the session's start
    14  8     device_time_us u64  device clock of the first sample, us since device boot
    22  2     fs_centihz u16   sample rate in 0.01 Hz
    24  1     range_g u8       full scale +-g (2, 4, 8, 16)
    25  1     n_samples u8
    26  4     scale_g f32      g per count
    30  6n    int16 x, y, z interleaved

Control point (``LEGACCEL_CONTROL_UUID``): write with response ``[op][params]``; the reply is a
notification on the same characteristic ``[0xF0][op][status][payload]``.

Encoders write any value that fits its wire field, so tests and the virtual sensor can produce
packets that the decoders must reject; decoders validate everything and raise
:class:`~firmware_bridge.protocols.base.PacketError`.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass

import numpy as np

from firmware_bridge.protocols.base import PacketError, check_uint, SampleBlock

__all__ = ["VERSION", "NAME_PREFIX", "HEADER_SIZE", "SAMPLE_SIZE", "MIN_MTU", "ATT_HEADER_SIZE",
           "MAX_ATTRIBUTE_SIZE", "VALID_RANGES_G", "LegAccelPacket", "encode_packet",
           "decode_packet", "to_block", "max_samples_per_packet", "U8_MAX", "U16_MAX", "U32_MAX",
           "U64_MAX", "check_uint", "centihz"]

#: Protocol version carried in byte 0 of every data packet and in the GET_INFO reply.
VERSION = 1
#: Advertised local names start with this.
NAME_PREFIX = "LegAccel"
#: Bytes before the samples in a data packet.
HEADER_SIZE = 30
#: Bytes per sample (x, y, z int16).
SAMPLE_SIZE = 6
#: Smallest ATT MTU the protocol supports (5 samples per notification).
MIN_MTU = 64
#: ATT notification overhead: opcode (1) + handle (2).
ATT_HEADER_SIZE = 3
#: Largest attribute value ATT allows (Core Spec Vol 3 Part F 3.2.9), bytes.
MAX_ATTRIBUTE_SIZE = 512
#: Full-scale ranges a LegAccel sensor may report, +-g.
VALID_RANGES_G = (2, 4, 8, 16)

#: version, flags, seq, session_id, first_index, device_time_us, fs_centihz, range_g,
#: n_samples, scale_g (30 bytes).
_HEADER = struct.Struct("<BBIIIQHBBf")

U8_MAX, U16_MAX, U32_MAX, U64_MAX = 0xFF, 0xFFFF, 0xFFFF_FFFF, 0xFFFF_FFFF_FFFF_FFFF




def centihz(fs_hz: float) -> int:
    """Sample rate in Hz -> u16 in 0.01 Hz; ValueError if it does not fit."""
    try:
        fs_hz = float(fs_hz)
    except (TypeError, ValueError):
        raise ValueError(f"fs_hz must be a number, got {fs_hz!r}") from None
    if not math.isfinite(fs_hz) or fs_hz <= 0:
        raise ValueError(f"fs_hz must be > 0 Hz, got {fs_hz!r}")
    centihz = int(round(fs_hz * 100))
    if not 1 <= centihz <= U16_MAX:
        raise ValueError(f"fs_hz must be in 0.01..{U16_MAX / 100} Hz, got {fs_hz!r}")
    return centihz


# --------------------------------------------------------------------------------------------
# Data packets
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class LegAccelPacket:
    """One LegAccel v1 data notification.

    Attributes
    ----------
    seq : int
        Packet number since the session's start (u32, 0 = first).
    session_id : int
        Random u32, new on every START.
    first_index : int
        Index of ``counts[0]`` since the session's start (u32); counts samples the device
        dropped too, so the loss between two packets is exact.
    device_time_us : int
        Device clock of the first sample, microseconds since device boot (u64).
    fs_centihz : int
        Sample rate in 0.01 Hz (u16; 100 Hz = 10000).
    range_g : int
        Full scale, +-g (2, 4, 8 or 16).
    scale_g : float
        g per count (sent as float32).
    counts : ndarray, shape (n, 3), int16
        Raw x, y, z counts.
    flags : int
        ``packets.FLAG_*`` bits.
    version : int
        Protocol version (1).
    """

    seq: int
    session_id: int
    first_index: int
    device_time_us: int
    fs_centihz: int
    range_g: int
    scale_g: float
    counts: np.ndarray
    flags: int = 0
    version: int = VERSION

    @property
    def n_samples(self) -> int:
        """Number of samples in the packet."""
        return int(self.counts.shape[0])

    @property
    def fs_hz(self) -> float:
        """Sample rate, Hz."""
        return self.fs_centihz / 100.0

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, LegAccelPacket):
            return NotImplemented
        return (self.seq, self.session_id, self.first_index, self.device_time_us,
                self.fs_centihz, self.range_g, self.flags, self.version) == (
                other.seq, other.session_id, other.first_index, other.device_time_us,
                other.fs_centihz, other.range_g, other.flags, other.version) and (
                np.float32(self.scale_g) == np.float32(other.scale_g)
                or (math.isnan(self.scale_g) and math.isnan(other.scale_g))) and (
                np.shape(self.counts) == np.shape(other.counts)
                and bool(np.array_equal(self.counts, other.counts)))

    __hash__ = None  # type: ignore[assignment]


def encode_packet(p: LegAccelPacket) -> bytes:
    """Encode a data packet.

    Parameters
    ----------
    p : LegAccelPacket
        Any values that fit their wire fields (the decoder does the semantic checks).

    Returns
    -------
    bytes
        ``30 + 6 * n`` bytes.

    Raises
    ------
    ValueError
        A field does not fit its wire type, or ``counts`` is not (n <= 255, 3) int16 values.
    """
    counts = np.asarray(p.counts)
    if counts.ndim != 2 or counts.shape[1] != 3:
        raise ValueError(f"counts must have shape (n, 3), got {counts.shape}")
    if counts.shape[0] > U8_MAX:
        raise ValueError(f"at most 255 samples per packet, got {counts.shape[0]}")
    if counts.size and not np.issubdtype(counts.dtype, np.integer):
        raise ValueError(f"counts must be integers, got dtype {counts.dtype}")
    if counts.size and (counts.min() < -32768 or counts.max() > 32767):
        raise ValueError("counts must fit int16 (-32768..32767), got "
                         f"{counts.min()}..{counts.max()}")
    header = _HEADER.pack(
        check_uint("version", p.version, U8_MAX),
        check_uint("flags", p.flags, U8_MAX),
        check_uint("seq", p.seq, U32_MAX),
        check_uint("session_id", p.session_id, U32_MAX),
        check_uint("first_index", p.first_index, U32_MAX),
        check_uint("device_time_us", p.device_time_us, U64_MAX),
        check_uint("fs_centihz", p.fs_centihz, U16_MAX),
        check_uint("range_g", p.range_g, U8_MAX),
        counts.shape[0],
        float(p.scale_g),
    )
    return header + counts.astype("<i2").tobytes()


def decode_packet(data: bytes) -> LegAccelPacket:
    """Decode and validate one data notification.

    Parameters
    ----------
    data : bytes
        The notification's value.

    Returns
    -------
    LegAccelPacket

    Raises
    ------
    PacketError
        Shorter than the 30-byte header, version other than 1, length other than
        ``30 + 6 * n_samples``, no samples, ``fs_centihz`` 0, ``scale_g`` not finite and > 0,
        or ``range_g`` not one of 2, 4, 8, 16. The message names the field and byte offset.
    """
    data = bytes(data)
    if len(data) < HEADER_SIZE:
        raise PacketError(f"LegAccel packet too short: {len(data)} bytes, expected at least "
                          f"{HEADER_SIZE} (the header)")
    (version, flags, seq, session_id, first_index, device_time_us, fs_centihz, range_g,
     n_samples, scale_g) = _HEADER.unpack_from(data)
    if version != VERSION:
        raise PacketError(f"LegAccel packet: unsupported version {version}, expected {VERSION} "
                          "(byte 0)")
    expected = HEADER_SIZE + SAMPLE_SIZE * n_samples
    if len(data) != expected:
        raise PacketError(f"LegAccel packet length: n_samples (byte 25) = {n_samples} needs "
                          f"{expected} bytes, got {len(data)} bytes")
    if n_samples == 0:
        raise PacketError("LegAccel packet: n_samples (byte 25) = 0, expected at least 1")
    if fs_centihz == 0:
        raise PacketError("LegAccel packet: fs_centihz (bytes 22-23) = 0, expected > 0")
    if not math.isfinite(scale_g) or scale_g <= 0:
        raise PacketError(f"LegAccel packet: scale_g (bytes 26-29) = {scale_g!r}, expected a "
                          "finite number > 0 (g per count)")
    if range_g not in VALID_RANGES_G:
        raise PacketError(f"LegAccel packet: range_g (byte 24) = {range_g}, expected one of "
                          f"{', '.join(map(str, VALID_RANGES_G))}")
    counts = np.frombuffer(data, dtype="<i2", offset=HEADER_SIZE).reshape(n_samples, 3)
    return LegAccelPacket(seq=seq, session_id=session_id, first_index=first_index,
                          device_time_us=device_time_us, fs_centihz=fs_centihz, range_g=range_g,
                          scale_g=float(scale_g), counts=counts.astype(np.int16), flags=flags,
                          version=version)


def to_block(p: LegAccelPacket) -> SampleBlock:
    """Convert a decoded packet to the protocol-neutral :class:`SampleBlock`.

    Device times are seconds since device boot: the first sample at ``device_time_us / 1e6``,
    sample k at that plus ``k / fs_hz``.
    """
    fs_hz = p.fs_hz
    t0_s = p.device_time_us / 1e6
    n = p.n_samples
    return SampleBlock(
        protocol="legaccel",
        counts=np.asarray(p.counts, dtype=np.int32).reshape(n, 3),
        scale_g=float(p.scale_g),
        fs_hz=fs_hz,
        device_time_s=t0_s,
        device_time_end_s=t0_s + max(n - 1, 0) / fs_hz,
        session_id=int(p.session_id),
        seq=int(p.seq),
        first_index=int(p.first_index),
        flags=int(p.flags),
        range_g=float(p.range_g),
    )


def max_samples_per_packet(mtu: int) -> int:
    """Most samples one data notification can hold at this ATT MTU.

    Parameters
    ----------
    mtu : int
        Negotiated ATT MTU, bytes (>= 64).

    Returns
    -------
    int
        ``(mtu - 3 - 30) // 6``, capped by the 512-byte attribute limit and the u8 count.

    Raises
    ------
    ValueError
        MTU below 64.
    """
    mtu = int(mtu)
    if mtu < MIN_MTU:
        raise ValueError(f"LegAccel needs an ATT MTU of at least {MIN_MTU} bytes, got {mtu}")
    payload = min(mtu - ATT_HEADER_SIZE, MAX_ATTRIBUTE_SIZE)
    return min((payload - HEADER_SIZE) // SAMPLE_SIZE, U8_MAX)


# --------------------------------------------------------------------------------------------
# Control point: replies
# --------------------------------------------------------------------------------------------


