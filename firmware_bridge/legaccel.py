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
:class:`~firmware_bridge.packets.PacketError`.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from firmware_bridge.packets import PacketError, SampleBlock

__all__ = [
    "VERSION", "NAME_PREFIX", "HEADER_SIZE", "SAMPLE_SIZE", "MIN_MTU", "ATT_HEADER_SIZE",
    "MAX_ATTRIBUTE_SIZE", "VALID_RANGES_G",
    "REPLY_CODE", "OP_START", "OP_STOP", "OP_GET_INFO", "OP_NAMES",
    "STATUS_OK", "STATUS_UNSUPPORTED_OP", "STATUS_INVALID_PARAMETER", "STATUS_ALREADY",
    "STATUS_INTERNAL_ERROR", "STATUS_TEXT",
    "LegAccelPacket", "encode_packet", "decode_packet", "to_block", "max_samples_per_packet",
    "Command", "CommandError", "encode_command", "decode_command",
    "start_command", "stop_command", "info_command",
    "Status", "encode_status", "decode_status",
    "StartReply", "encode_start_reply", "decode_start_reply",
    "DeviceInfo", "encode_device_info", "decode_device_info",
    "ControlError", "check_status",
]

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

#: First byte of every control-point reply.
REPLY_CODE = 0xF0
OP_START = 0x01
OP_STOP = 0x02
OP_GET_INFO = 0x03
OP_NAMES = {OP_START: "START", OP_STOP: "STOP", OP_GET_INFO: "GET_INFO"}

STATUS_OK = 0
STATUS_UNSUPPORTED_OP = 1
STATUS_INVALID_PARAMETER = 2
STATUS_ALREADY = 3
STATUS_INTERNAL_ERROR = 4
STATUS_TEXT = {
    STATUS_OK: "OK",
    STATUS_UNSUPPORTED_OP: "unsupported op",
    STATUS_INVALID_PARAMETER: "invalid parameter",
    STATUS_ALREADY: "already in that state",
    STATUS_INTERNAL_ERROR: "internal error",
}

_U8, _U16, _U32, _U64 = 0xFF, 0xFFFF, 0xFFFF_FFFF, 0xFFFF_FFFF_FFFF_FFFF


def _op_name(op: int | None) -> str:
    if op is None:
        return "<no op>"
    return f"{OP_NAMES.get(op, 'op')} (0x{op:02X})"


def _status_text(status: int) -> str:
    return STATUS_TEXT.get(status, f"unknown status {status}")


def _check_uint(name: str, value: Any, limit: int) -> int:
    """Return ``value`` as int if it is an integer in [0, limit], else raise ValueError."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    value = int(value)
    if not 0 <= value <= limit:
        raise ValueError(f"{name} must be in 0..{limit}, got {value}")
    return value


def _centihz(fs_hz: float) -> int:
    """Sample rate in Hz -> u16 in 0.01 Hz; ValueError if it does not fit."""
    try:
        fs_hz = float(fs_hz)
    except (TypeError, ValueError):
        raise ValueError(f"fs_hz must be a number, got {fs_hz!r}") from None
    if not math.isfinite(fs_hz) or fs_hz <= 0:
        raise ValueError(f"fs_hz must be > 0 Hz, got {fs_hz!r}")
    centihz = int(round(fs_hz * 100))
    if not 1 <= centihz <= _U16:
        raise ValueError(f"fs_hz must be in 0.01..{_U16 / 100} Hz, got {fs_hz!r}")
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
    if counts.shape[0] > _U8:
        raise ValueError(f"at most 255 samples per packet, got {counts.shape[0]}")
    if counts.size and not np.issubdtype(counts.dtype, np.integer):
        raise ValueError(f"counts must be integers, got dtype {counts.dtype}")
    if counts.size and (counts.min() < -32768 or counts.max() > 32767):
        raise ValueError("counts must fit int16 (-32768..32767), got "
                         f"{counts.min()}..{counts.max()}")
    header = _HEADER.pack(
        _check_uint("version", p.version, _U8),
        _check_uint("flags", p.flags, _U8),
        _check_uint("seq", p.seq, _U32),
        _check_uint("session_id", p.session_id, _U32),
        _check_uint("first_index", p.first_index, _U32),
        _check_uint("device_time_us", p.device_time_us, _U64),
        _check_uint("fs_centihz", p.fs_centihz, _U16),
        _check_uint("range_g", p.range_g, _U8),
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
    return min((payload - HEADER_SIZE) // SAMPLE_SIZE, _U8)


# --------------------------------------------------------------------------------------------
# Control point: commands
# --------------------------------------------------------------------------------------------

class Command(NamedTuple):
    """A decoded control-point write: ``op`` and its parameters by name."""

    op: int
    params: dict[str, Any]


class CommandError(PacketError):
    """A control-point write that the device must refuse.

    Attributes
    ----------
    op : int or None
        The op byte (None for an empty write).
    status : int
        The ``STATUS_*`` the device replies with.
    """

    def __init__(self, message: str, op: int | None, status: int) -> None:
        super().__init__(message)
        self.op = op
        self.status = status


_START_PARAMS = struct.Struct("<HBB")


def encode_command(op: int, **params: Any) -> bytes:
    """Encode a control-point write ``[op][params]``.

    Parameters
    ----------
    op : int
        ``OP_START``, ``OP_STOP`` or ``OP_GET_INFO``.
    **params
        START: ``fs_centihz`` (u16) or ``fs_hz`` (or both, if they agree), ``range_g`` (u8),
        ``samples_per_packet`` (u8, default 0 = as many as fit). STOP and GET_INFO: none.

    Raises
    ------
    ValueError
        Unknown op, missing, unexpected or out-of-range parameter.
    """
    if op == OP_START:
        params = dict(params)
        fs_hz = params.pop("fs_hz", None)
        fs_centihz = params.pop("fs_centihz", None)
        if fs_centihz is None and fs_hz is None:
            raise ValueError("START needs fs_centihz or fs_hz")
        if fs_centihz is None:
            fs_centihz = _centihz(fs_hz)
        fs_centihz = _check_uint("fs_centihz", fs_centihz, _U16)
        if fs_hz is not None and _centihz(fs_hz) != fs_centihz:
            raise ValueError(f"fs_hz={fs_hz!r} and fs_centihz={fs_centihz} disagree")
        if "range_g" not in params:
            raise ValueError("START needs range_g")
        range_g = _check_uint("range_g", params.pop("range_g"), _U8)
        spp = _check_uint("samples_per_packet", params.pop("samples_per_packet", 0), _U8)
        if params:
            raise ValueError(f"unexpected START parameters: {', '.join(sorted(params))}")
        return bytes([OP_START]) + _START_PARAMS.pack(fs_centihz, range_g, spp)
    if op in (OP_STOP, OP_GET_INFO):
        if params:
            raise ValueError(f"{OP_NAMES[op]} takes no parameters, got "
                             f"{', '.join(sorted(params))}")
        return bytes([op])
    raise ValueError(f"unknown LegAccel op {op!r}; expected one of "
                     f"{', '.join(f'0x{o:02X} {n}' for o, n in OP_NAMES.items())}")


def decode_command(data: bytes) -> Command:
    """Decode a control-point write (the device side).

    Only the structure is checked here; whether a rate or range is supported is the device's
    decision (it replies ``STATUS_INVALID_PARAMETER``).

    Returns
    -------
    Command
        ``op`` and ``params``; START params are ``fs_centihz``, ``fs_hz``, ``range_g``,
        ``samples_per_packet``.

    Raises
    ------
    CommandError
        Empty write, unknown op (``status`` = ``STATUS_UNSUPPORTED_OP``) or wrong length for
        the op (``STATUS_INVALID_PARAMETER``).
    """
    data = bytes(data)
    if not data:
        raise CommandError("LegAccel command: empty write, expected [op][params]", None,
                           STATUS_INVALID_PARAMETER)
    op = data[0]
    if op == OP_START:
        if len(data) != 1 + _START_PARAMS.size:
            raise CommandError(f"LegAccel START: {len(data)} bytes, expected "
                               f"{1 + _START_PARAMS.size} (op, fs_centihz u16, range_g u8, "
                               "samples_per_packet u8)", op, STATUS_INVALID_PARAMETER)
        fs_centihz, range_g, spp = _START_PARAMS.unpack_from(data, 1)
        return Command(op, {"fs_centihz": fs_centihz, "fs_hz": fs_centihz / 100.0,
                            "range_g": range_g, "samples_per_packet": spp})
    if op in (OP_STOP, OP_GET_INFO):
        if len(data) != 1:
            raise CommandError(f"LegAccel {OP_NAMES[op]}: {len(data)} bytes, expected 1 (op "
                               "only)", op, STATUS_INVALID_PARAMETER)
        return Command(op, {})
    raise CommandError(f"LegAccel command: unsupported op 0x{op:02X} (byte 0), expected one of "
                       f"{', '.join(f'0x{o:02X} {n}' for o, n in OP_NAMES.items())}",
                       op, STATUS_UNSUPPORTED_OP)


def start_command(fs_hz: float, range_g: int, samples_per_packet: int = 0) -> bytes:
    """START streaming at ``fs_hz`` Hz, +-``range_g`` g, ``samples_per_packet`` (0 = max).

    Raises
    ------
    ValueError
        ``range_g`` not one of 2, 4, 8, 16, or a value that does not fit its field.
    """
    if range_g not in VALID_RANGES_G:
        raise ValueError(f"range_g must be one of {', '.join(map(str, VALID_RANGES_G))}, "
                         f"got {range_g!r}")
    return encode_command(OP_START, fs_centihz=_centihz(fs_hz), range_g=int(range_g),
                          samples_per_packet=samples_per_packet)


def stop_command() -> bytes:
    """STOP streaming."""
    return encode_command(OP_STOP)


def info_command() -> bytes:
    """GET_INFO: protocol version, supported rates and ranges, streaming state."""
    return encode_command(OP_GET_INFO)


# --------------------------------------------------------------------------------------------
# Control point: replies
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Status:
    """A control-point reply ``[0xF0][op][status][payload]``."""

    op: int
    status: int
    payload: bytes = b""

    @property
    def ok(self) -> bool:
        """True when ``status`` is ``STATUS_OK``."""
        return self.status == STATUS_OK

    @property
    def text(self) -> str:
        """Human-readable status."""
        return _status_text(self.status)


def encode_status(op: int | Status, status: int = STATUS_OK, payload: bytes = b"") -> bytes:
    """Encode a reply: ``encode_status(op, status, payload)`` or ``encode_status(Status(...))``."""
    if isinstance(op, Status):
        op, status, payload = op.op, op.status, op.payload
    return bytes([REPLY_CODE, _check_uint("op", op, _U8),
                  _check_uint("status", status, _U8)]) + bytes(payload)


def decode_status(data: bytes) -> Status:
    """Decode a control-point reply.

    Raises
    ------
    PacketError
        Shorter than 3 bytes or first byte not 0xF0.
    """
    data = bytes(data)
    if len(data) < 3:
        raise PacketError(f"LegAccel reply: {len(data)} bytes, expected at least 3 "
                          "([0xF0][op][status])")
    if data[0] != REPLY_CODE:
        raise PacketError(f"LegAccel reply: byte 0 = 0x{data[0]:02X}, expected 0x{REPLY_CODE:02X}")
    return Status(op=data[1], status=data[2], payload=data[3:])


_START_REPLY = struct.Struct("<IQHBf")


@dataclass(frozen=True)
class StartReply:
    """Payload of a successful START reply.

    Attributes
    ----------
    session_id : int
        The new session's id (u32).
    device_time_us : int
        Device clock when the reply was sent, us since boot.
    fs_hz : float
        Sample rate actually used, Hz (sent in 0.01 Hz).
    range_g : int
        Full scale actually used, +-g.
    scale_g : float
        g per count (float32).
    """

    session_id: int
    device_time_us: int
    fs_hz: float
    range_g: int
    scale_g: float

    def encode(self) -> bytes:
        """Same as :func:`encode_start_reply`."""
        return encode_start_reply(self)

    @classmethod
    def decode(cls, payload: bytes) -> StartReply:
        """Same as :func:`decode_start_reply`."""
        return decode_start_reply(payload)


def encode_start_reply(reply: StartReply) -> bytes:
    """Encode the START payload: session_id u32, device_time_us u64, fs_centihz u16,
    range_g u8, scale_g f32 (19 bytes)."""
    return _START_REPLY.pack(_check_uint("session_id", reply.session_id, _U32),
                             _check_uint("device_time_us", reply.device_time_us, _U64),
                             _centihz(reply.fs_hz), _check_uint("range_g", reply.range_g, _U8),
                             float(reply.scale_g))


def decode_start_reply(payload: bytes) -> StartReply:
    """Decode the START payload (the bytes after ``[0xF0][op][status]``).

    Raises
    ------
    PacketError
        Not 19 bytes, fs 0, or scale_g not finite and > 0.
    """
    payload = bytes(payload)
    if len(payload) != _START_REPLY.size:
        raise PacketError(f"LegAccel START reply payload: {len(payload)} bytes, expected "
                          f"{_START_REPLY.size} (session_id u32, device_time_us u64, "
                          "fs_centihz u16, range_g u8, scale_g f32)")
    session_id, device_time_us, fs_centihz, range_g, scale_g = _START_REPLY.unpack(payload)
    if fs_centihz == 0:
        raise PacketError("LegAccel START reply: fs_centihz (payload bytes 12-13) = 0, "
                          "expected > 0")
    if not math.isfinite(scale_g) or scale_g <= 0:
        raise PacketError(f"LegAccel START reply: scale_g (payload bytes 15-18) = {scale_g!r}, "
                          "expected a finite number > 0")
    return StartReply(session_id=session_id, device_time_us=device_time_us,
                      fs_hz=fs_centihz / 100.0, range_g=range_g, scale_g=float(scale_g))


@dataclass(frozen=True)
class DeviceInfo:
    """Payload of a successful GET_INFO reply.

    Attributes
    ----------
    version : int
        Protocol version the device speaks.
    rates_hz : tuple of float
        Supported sample rates, Hz (sent in 0.01 Hz).
    ranges_g : tuple of int
        Supported full-scale ranges, +-g.
    streaming : bool
        Whether a session is running.
    """

    version: int
    rates_hz: tuple[float, ...]
    ranges_g: tuple[int, ...]
    streaming: bool

    def encode(self) -> bytes:
        """Same as :func:`encode_device_info`."""
        return encode_device_info(self)

    @classmethod
    def decode(cls, payload: bytes) -> DeviceInfo:
        """Same as :func:`decode_device_info`."""
        return decode_device_info(payload)


def encode_device_info(info: DeviceInfo) -> bytes:
    """Encode the GET_INFO payload: version u8, n_rates u8, rates u16 centihz each,
    n_ranges u8, ranges u8 each, streaming u8."""
    rates = [_centihz(r) for r in info.rates_hz]
    ranges = [_check_uint("range_g", r, _U8) for r in info.ranges_g]
    if len(rates) > _U8 or len(ranges) > _U8:
        raise ValueError("at most 255 rates and 255 ranges")
    return (bytes([_check_uint("version", info.version, _U8), len(rates)])
            + struct.pack(f"<{len(rates)}H", *rates)
            + bytes([len(ranges), *ranges, 1 if info.streaming else 0]))


def decode_device_info(payload: bytes) -> DeviceInfo:
    """Decode the GET_INFO payload.

    Raises
    ------
    PacketError
        Truncated or oversized for the counts it carries, or streaming not 0/1.
    """
    payload = bytes(payload)
    if len(payload) < 2:
        raise PacketError(f"LegAccel GET_INFO payload: {len(payload)} bytes, expected at least "
                          "2 (version, n_rates)")
    version, n_rates = payload[0], payload[1]
    off = 2 + 2 * n_rates
    if len(payload) < off + 1:
        raise PacketError(f"LegAccel GET_INFO payload: n_rates (byte 1) = {n_rates} needs "
                          f"{off + 1} bytes up to n_ranges, got {len(payload)}")
    rates = struct.unpack_from(f"<{n_rates}H", payload, 2)
    n_ranges = payload[off]
    expected = off + 1 + n_ranges + 1
    if len(payload) != expected:
        raise PacketError(f"LegAccel GET_INFO payload: n_rates = {n_rates}, n_ranges (byte "
                          f"{off}) = {n_ranges} need {expected} bytes, got {len(payload)}")
    ranges = tuple(payload[off + 1: off + 1 + n_ranges])
    streaming = payload[-1]
    if streaming not in (0, 1):
        raise PacketError(f"LegAccel GET_INFO payload: streaming (byte {expected - 1}) = "
                          f"{streaming}, expected 0 or 1")
    return DeviceInfo(version=version, rates_hz=tuple(r / 100.0 for r in rates),
                      ranges_g=ranges, streaming=bool(streaming))


class ControlError(Exception):
    """The device refused a command, or answered a different one.

    Attributes
    ----------
    op : int
        The command that failed.
    status : int or None
        The device's ``STATUS_*`` (None when the reply was for another op).
    """

    def __init__(self, message: str, op: int, status: int | None) -> None:
        super().__init__(message)
        self.op = op
        self.status = status


def check_status(reply: Status | bytes, op: int,
                 accept: tuple[int, ...] = (STATUS_OK,)) -> Status:
    """Return the reply if it answers ``op`` with an accepted status, else raise.

    Parameters
    ----------
    reply : Status or bytes
        The reply notification (decoded or raw).
    op : int
        The command that was written.
    accept : tuple of int
        Statuses that count as success (e.g. add ``STATUS_ALREADY`` for an idempotent STOP).

    Raises
    ------
    ControlError
        Reply for another op, or a status not in ``accept``; names the op and status text.
    PacketError
        ``reply`` given as bytes that are not a reply.
    """
    if not isinstance(reply, Status):
        reply = decode_status(reply)
    if reply.op != op:
        raise ControlError(f"LegAccel {_op_name(op)}: got a reply to {_op_name(reply.op)} "
                           "instead", op, None)
    if reply.status not in accept:
        raise ControlError(f"LegAccel {_op_name(op)} failed: {reply.text} (status "
                           f"{reply.status})", op, reply.status)
    return reply
