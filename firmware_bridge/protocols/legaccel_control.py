"""LegAccel v1 control point: commands (START, STOP, GET_INFO), status replies, the start reply and
the device information (byte layouts in ``firmware_bridge/PROTOCOL.md``). Pure encoding and
decoding, as :mod:`firmware_bridge.protocols.legaccel` is for data packets."""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from typing import Any, NamedTuple

from firmware_bridge.protocols.base import PacketError, check_uint
from firmware_bridge.protocols.legaccel import (U8_MAX, U16_MAX, U32_MAX, U64_MAX, VALID_RANGES_G,
                                                centihz)

__all__ = ["REPLY_CODE", "OP_START", "OP_STOP", "OP_GET_INFO", "OP_NAMES", "STATUS_OK",
           "STATUS_UNSUPPORTED_OP", "STATUS_INVALID_PARAMETER", "STATUS_ALREADY",
           "STATUS_INTERNAL_ERROR", "STATUS_TEXT", "Command", "CommandError", "encode_command",
           "decode_command", "start_command", "stop_command", "info_command", "Status",
           "encode_status", "decode_status", "StartReply", "encode_start_reply",
           "decode_start_reply", "DeviceInfo", "encode_device_info", "decode_device_info",
           "ControlError", "check_status"]

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


def _op_name(op: int | None) -> str:
    if op is None:
        return "<no op>"
    return f"{OP_NAMES.get(op, 'op')} (0x{op:02X})"


def _status_text(status: int) -> str:
    return STATUS_TEXT.get(status, f"unknown status {status}")


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
            fs_centihz = centihz(fs_hz)
        fs_centihz = check_uint("fs_centihz", fs_centihz, U16_MAX)
        if fs_hz is not None and centihz(fs_hz) != fs_centihz:
            raise ValueError(f"fs_hz={fs_hz!r} and fs_centihz={fs_centihz} disagree")
        if "range_g" not in params:
            raise ValueError("START needs range_g")
        range_g = check_uint("range_g", params.pop("range_g"), U8_MAX)
        spp = check_uint("samples_per_packet", params.pop("samples_per_packet", 0), U8_MAX)
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
    return encode_command(OP_START, fs_centihz=centihz(fs_hz), range_g=int(range_g),
                          samples_per_packet=samples_per_packet)


def stop_command() -> bytes:
    """STOP streaming."""
    return encode_command(OP_STOP)


def info_command() -> bytes:
    """GET_INFO: protocol version, supported rates and ranges, streaming state."""
    return encode_command(OP_GET_INFO)


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
    return bytes([REPLY_CODE, check_uint("op", op, U8_MAX),
                  check_uint("status", status, U8_MAX)]) + bytes(payload)


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
    return _START_REPLY.pack(check_uint("session_id", reply.session_id, U32_MAX),
                             check_uint("device_time_us", reply.device_time_us, U64_MAX),
                             centihz(reply.fs_hz), check_uint("range_g", reply.range_g, U8_MAX),
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
    rates = [centihz(r) for r in info.rates_hz]
    ranges = [check_uint("range_g", r, U8_MAX) for r in info.ranges_g]
    if len(rates) > U8_MAX or len(ranges) > U8_MAX:
        raise ValueError("at most 255 rates and 255 ranges")
    return (bytes([check_uint("version", info.version, U8_MAX), len(rates)])
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
