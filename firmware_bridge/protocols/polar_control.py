"""Polar Measurement Data (PMD) control point: settings, start and stop requests, their replies,
and the feature list (the subset used to stream acceleration). Pure encoding and decoding; the
data frames are in :mod:`firmware_bridge.protocols.polar_pmd`."""

from __future__ import annotations

import struct
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from firmware_bridge.protocols.base import PacketError, check_uint
from firmware_bridge.protocols.polar_pmd import Number

__all__ = ["OP_GET_SETTINGS", "OP_START", "OP_STOP", "OP_NAMES", "SETTING_SAMPLE_RATE",
           "SETTING_RESOLUTION", "SETTING_RANGE", "SETTING_RANGE_MILLIUNIT", "SETTING_CHANNELS",
           "SETTING_FACTOR", "SETTING_NAMES", "ERR_SUCCESS", "ERR_INVALID_OP_CODE",
           "ERR_INVALID_MEASUREMENT_TYPE", "ERR_NOT_SUPPORTED", "ERR_INVALID_LENGTH",
           "ERR_INVALID_PARAMETER", "ERR_ALREADY_IN_STATE", "ERR_INVALID_RESOLUTION",
           "ERR_INVALID_SAMPLE_RATE", "ERR_INVALID_RANGE", "ERR_INVALID_MTU",
           "ERR_INVALID_NUMBER_OF_CHANNELS", "ERR_INVALID_STATE", "ERR_DEVICE_IN_CHARGER",
           "ERR_DISK_FULL", "ERROR_TEXT", "ERROR_SUCCESS", "ERROR_INVALID_OP_CODE",
           "ERROR_INVALID_MEASUREMENT_TYPE", "ERROR_NOT_SUPPORTED", "ERROR_INVALID_LENGTH",
           "ERROR_INVALID_PARAMETER", "ERROR_ALREADY_IN_STATE", "ERROR_INVALID_RESOLUTION",
           "ERROR_INVALID_SAMPLE_RATE", "ERROR_INVALID_RANGE", "ERROR_INVALID_MTU",
           "ERROR_INVALID_NUMBER_OF_CHANNELS", "ERROR_INVALID_STATE", "ERROR_DEVICE_IN_CHARGER",
           "ERROR_DISK_FULL", "error_text", "CONTROL_RESPONSE_CODE", "FEATURES_CODE",
           "CP_MEASUREMENT_STOPPED", "encode_settings", "decode_settings", "encode_get_settings",
           "encode_start", "encode_stop", "PmdRequest", "PmdRequestError", "decode_request",
           "ControlResponse", "decode_control_response", "encode_control_response",
           "join_control_responses", "decode_measurement_stopped", "decode_features",
           "encode_features", "SAMPLE_RATE", "RESOLUTION", "RANGE", "RANGE_MILLIUNIT", "CHANNELS",
           "FACTOR"]

OP_GET_SETTINGS = 1

OP_START = 2

OP_STOP = 3

OP_NAMES = {OP_GET_SETTINGS: "GET_SETTINGS", OP_START: "START", OP_STOP: "STOP"}

SETTING_SAMPLE_RATE = 0

SETTING_RESOLUTION = 1

SETTING_RANGE = 2

SETTING_RANGE_MILLIUNIT = 3

SETTING_CHANNELS = 4

SETTING_FACTOR = 5

SETTING_NAMES = {SETTING_SAMPLE_RATE: "SAMPLE_RATE", SETTING_RESOLUTION: "RESOLUTION",
                 SETTING_RANGE: "RANGE", SETTING_RANGE_MILLIUNIT: "RANGE_MILLIUNIT",
                 SETTING_CHANNELS: "CHANNELS", SETTING_FACTOR: "FACTOR"}

#: Wire format of one value of each setting (``PmdSetting.typeToFieldSize`` in the SDK).
_SETTING_FORMAT = {SETTING_SAMPLE_RATE: "H", SETTING_RESOLUTION: "H", SETTING_RANGE: "H",
                   SETTING_RANGE_MILLIUNIT: "I", SETTING_CHANNELS: "B", SETTING_FACTOR: "f"}

# Error codes of control-point replies (PmdControlPointResponseCode in the SDK).
ERR_SUCCESS = 0

ERR_INVALID_OP_CODE = 1

ERR_INVALID_MEASUREMENT_TYPE = 2

ERR_NOT_SUPPORTED = 3

ERR_INVALID_LENGTH = 4

ERR_INVALID_PARAMETER = 5

ERR_ALREADY_IN_STATE = 6

ERR_INVALID_RESOLUTION = 7

ERR_INVALID_SAMPLE_RATE = 8

ERR_INVALID_RANGE = 9

ERR_INVALID_MTU = 10

ERR_INVALID_NUMBER_OF_CHANNELS = 11

ERR_INVALID_STATE = 12

ERR_DEVICE_IN_CHARGER = 13

ERR_DISK_FULL = 14

ERROR_TEXT = {
    ERR_SUCCESS: "success",
    ERR_INVALID_OP_CODE: "invalid op code",
    ERR_INVALID_MEASUREMENT_TYPE: "invalid measurement type",
    ERR_NOT_SUPPORTED: "not supported",
    ERR_INVALID_LENGTH: "invalid length",
    ERR_INVALID_PARAMETER: "invalid parameter",
    ERR_ALREADY_IN_STATE: "already in state",
    ERR_INVALID_RESOLUTION: "invalid resolution",
    ERR_INVALID_SAMPLE_RATE: "invalid sample rate",
    ERR_INVALID_RANGE: "invalid range",
    ERR_INVALID_MTU: "invalid MTU",
    ERR_INVALID_NUMBER_OF_CHANNELS: "invalid number of channels",
    ERR_INVALID_STATE: "invalid state",
    ERR_DEVICE_IN_CHARGER: "device in charger",
    ERR_DISK_FULL: "disk full",
}

ERROR_SUCCESS = ERR_SUCCESS

ERROR_INVALID_OP_CODE = ERR_INVALID_OP_CODE

ERROR_INVALID_MEASUREMENT_TYPE = ERR_INVALID_MEASUREMENT_TYPE

ERROR_NOT_SUPPORTED = ERR_NOT_SUPPORTED

ERROR_INVALID_LENGTH = ERR_INVALID_LENGTH

ERROR_INVALID_PARAMETER = ERR_INVALID_PARAMETER

ERROR_ALREADY_IN_STATE = ERR_ALREADY_IN_STATE

ERROR_INVALID_RESOLUTION = ERR_INVALID_RESOLUTION

ERROR_INVALID_SAMPLE_RATE = ERR_INVALID_SAMPLE_RATE

ERROR_INVALID_RANGE = ERR_INVALID_RANGE

ERROR_INVALID_MTU = ERR_INVALID_MTU

ERROR_INVALID_NUMBER_OF_CHANNELS = ERR_INVALID_NUMBER_OF_CHANNELS

ERROR_INVALID_STATE = ERR_INVALID_STATE

ERROR_DEVICE_IN_CHARGER = ERR_DEVICE_IN_CHARGER

ERROR_DISK_FULL = ERR_DISK_FULL


def error_text(error: int) -> str:
    """Human-readable text of a control-point error code (``ERROR_TEXT``, or "unknown error N")."""
    return ERROR_TEXT.get(error, f"unknown error {error}")


#: First byte of a control-point reply.
CONTROL_RESPONSE_CODE = 0xF0

#: First byte of the control-point read (feature bitmask).
FEATURES_CODE = 0x0F

#: First byte of a device-initiated control-point indication: measurement(s) stopped.
CP_MEASUREMENT_STOPPED = 0x01


def encode_settings(settings: Mapping[int, Number | Sequence[Number]]) -> bytes:
    """Encode settings as ``[type][count][values]...`` in the mapping's order.

    Parameters
    ----------
    settings : mapping
        ``SETTING_*`` -> one value or a sequence of values (u16; RANGE_MILLIUNIT u32;
        CHANNELS u8; FACTOR float32).

    Raises
    ------
    ValueError
        Unknown setting type, more than 255 values, or a value that does not fit.
    """
    out = bytearray()
    for stype, values in settings.items():
        if stype not in _SETTING_FORMAT:
            raise ValueError(f"unknown PMD setting type {stype!r}; expected one of "
                             f"{sorted(_SETTING_FORMAT)}")
        if isinstance(values, (int, float, np.integer, np.floating)):
            values = [values]
        values = list(values)
        if len(values) > 0xFF:
            raise ValueError(f"at most 255 values per setting, got {len(values)}")
        fmt = _SETTING_FORMAT[stype]
        if fmt != "f":
            limit = {"B": 0xFF, "H": 0xFFFF, "I": 0xFFFF_FFFF}[fmt]
            values = [check_uint(SETTING_NAMES[stype], v, limit) for v in values]
        else:
            values = [float(v) for v in values]
        out += bytes([stype, len(values)]) + struct.pack(f"<{len(values)}{fmt}", *values)
    return bytes(out)


def decode_settings(data: bytes, base_offset: int = 0,
                    what: str = "PMD settings") -> dict[int, list[Number]]:
    """Decode ``[type][count][values]...``.

    Parameters
    ----------
    data : bytes
        The settings bytes only.
    base_offset : int
        Offset of ``data`` in the notification, for error messages.
    what : str
        What is being decoded, for error messages.

    Returns
    -------
    dict
        ``SETTING_*`` -> list of values (ints; floats for FACTOR). A type that appears twice
        has its values appended.

    Raises
    ------
    PacketError
        Unknown setting type or truncated values.
    """
    data = bytes(data)
    settings: dict[int, list[Number]] = {}
    off = 0
    while off < len(data):
        if off + 2 > len(data):
            raise PacketError(f"{what}: setting header at byte {base_offset + off} needs 2 bytes "
                              f"(type, count), got {len(data) - off}")
        stype, count = data[off], data[off + 1]
        if stype not in _SETTING_FORMAT:
            raise PacketError(f"{what}: unknown setting type {stype} at byte "
                              f"{base_offset + off}, expected one of {sorted(_SETTING_FORMAT)}")
        fmt = f"<{count}{_SETTING_FORMAT[stype]}"
        size = struct.calcsize(fmt)
        if off + 2 + size > len(data):
            raise PacketError(f"{what}: setting {SETTING_NAMES[stype]} at byte "
                              f"{base_offset + off} has {count} values = {size} bytes, got "
                              f"{len(data) - off - 2}")
        values = struct.unpack_from(fmt, data, off + 2)
        settings.setdefault(stype, []).extend(
            float(v) if stype == SETTING_FACTOR else int(v) for v in values)
        off += 2 + size
    return settings


def encode_get_settings(meas_type: int) -> bytes:
    """Request the settings a measurement type supports: ``[0x01][type]``."""
    return bytes([OP_GET_SETTINGS, check_uint("meas_type", meas_type, 0xFF)])


def encode_start(meas_type: int, sample_rate_hz: int, resolution: int | None = 16,
                 range_g: int | None = 8, channels: int | None = 3) -> bytes:
    """Request a measurement start: ``[0x02][type][settings]``.

    Settings are written in the order sample rate, resolution, range, channels; a None
    setting is left out (the H10 takes no channels setting).

    Parameters
    ----------
    meas_type : int
        ``MEAS_*`` (``MEAS_ACC`` for acceleration).
    sample_rate_hz : int
        Sample rate, Hz (u16).
    resolution : int or None
        Bits per sample (u16).
    range_g : int or None
        Full scale, +-g (u16).
    channels : int or None
        Number of channels (u8).

    Examples
    --------
    >>> encode_start(MEAS_ACC, 52).hex(" ")
    '02 02 00 01 34 00 01 01 10 00 02 01 08 00 04 01 03'
    """
    settings: dict[int, int] = {SETTING_SAMPLE_RATE: sample_rate_hz}
    if resolution is not None:
        settings[SETTING_RESOLUTION] = resolution
    if range_g is not None:
        settings[SETTING_RANGE] = range_g
    if channels is not None:
        settings[SETTING_CHANNELS] = channels
    return bytes([OP_START, check_uint("meas_type", meas_type, 0xFF)]) + encode_settings(settings)


def encode_stop(meas_type: int) -> bytes:
    """Request a measurement stop: ``[0x03][type]``."""
    return bytes([OP_STOP, check_uint("meas_type", meas_type, 0xFF)])


class PmdRequest(NamedTuple):
    """A decoded control-point write."""

    op: int
    meas_type: int
    settings: dict[int, list[Number]]


class PmdRequestError(PacketError):
    """A control-point write the sensor must refuse.

    Attributes
    ----------
    op, meas_type : int or None
        What could be read of the request (None when missing).
    error : int
        The ``ERR_*`` code to reply with.
    """

    def __init__(self, message: str, op: int | None, meas_type: int | None,
                 error: int) -> None:
        super().__init__(message)
        self.op = op
        self.meas_type = meas_type
        self.error = error


def decode_request(data: bytes) -> PmdRequest:
    """Decode a control-point write (the sensor side).

    Only the structure is checked; whether the type or a setting is supported is the sensor's
    decision. ``meas_type`` is the byte as written (bit 7 would mark an offline recording).

    Returns
    -------
    PmdRequest
        ``(op, meas_type, settings)``; settings as in :func:`decode_settings` (empty unless
        START).

    Raises
    ------
    PmdRequestError
        Shorter than 2 bytes (``ERR_INVALID_LENGTH``), an op other than GET_SETTINGS, START,
        STOP (``ERR_INVALID_OP_CODE``), bytes after a GET_SETTINGS or STOP
        (``ERR_INVALID_LENGTH``), or START settings that cannot be decoded
        (``ERR_INVALID_PARAMETER``).
    """
    data = bytes(data)
    op = data[0] if data else None
    meas_type = data[1] if len(data) > 1 else None
    if len(data) < 2:
        raise PmdRequestError(f"PMD request: {len(data)} bytes, expected at least 2 (op, "
                              "measurement type)", op, meas_type, ERR_INVALID_LENGTH)
    if op not in OP_NAMES:
        raise PmdRequestError(f"PMD request: op 0x{op:02X} (byte 0) not supported, expected "
                              f"one of {', '.join(f'{o} {n}' for o, n in OP_NAMES.items())}",
                              op, meas_type, ERR_INVALID_OP_CODE)
    if op in (OP_GET_SETTINGS, OP_STOP):
        if len(data) != 2:
            raise PmdRequestError(f"PMD {OP_NAMES[op]} request: {len(data)} bytes, expected 2",
                                  op, meas_type, ERR_INVALID_LENGTH)
        return PmdRequest(op, meas_type, {})
    try:
        settings = decode_settings(data[2:], base_offset=2, what="PMD START request")
    except PacketError as exc:
        raise PmdRequestError(str(exc), op, meas_type, ERR_INVALID_PARAMETER) from None
    return PmdRequest(op, meas_type, settings)


@dataclass(frozen=True)
class ControlResponse:
    """A control-point reply ``[0xF0][op][type][error][more][params]``.

    Attributes
    ----------
    op : int
        The request's op.
    meas_type : int
        The request's measurement type.
    error : int
        ``ERR_*`` (0 = success).
    more : bool
        More reply indications follow (join them with :func:`join_control_responses`).
    settings : dict
        Decoded settings (GET_SETTINGS: the supported values; START: e.g. the FACTOR); empty
        when ``more`` is set, on error, and for other ops.
    params : bytes
        The raw bytes after the ``more`` byte.
    """

    op: int
    meas_type: int
    error: int
    more: bool = False
    settings: dict[int, list[Number]] = field(default_factory=dict)
    params: bytes = b""

    @property
    def ok(self) -> bool:
        """True when ``error`` is ``ERR_SUCCESS``."""
        return self.error == ERR_SUCCESS

    @property
    def error_text(self) -> str:
        """Human-readable error."""
        return error_text(self.error)

    @property
    def factor(self) -> float:
        """The FACTOR setting, or 1.0 when the reply carries none."""
        values = self.settings.get(SETTING_FACTOR)
        return float(values[0]) if values else 1.0


#: Ops whose reply parameters are settings (4 = SDK-mode settings).
_SETTINGS_OPS = (OP_GET_SETTINGS, OP_START, 4)


def _response_settings(op: int, error: int, more: bool, params: bytes,
                       what: str) -> dict[int, list[Number]]:
    if error != ERR_SUCCESS or more or op not in _SETTINGS_OPS:
        return {}
    return decode_settings(params, base_offset=5, what=what)


def decode_control_response(data: bytes, parse_settings: bool = True) -> ControlResponse:
    """Decode a control-point indication that answers a request.

    Parameters
    ----------
    data : bytes
        The indication's value.
    parse_settings : bool
        Decode the parameters as settings (GET_SETTINGS and START replies). Pass False for the
        continuation parts of a reply split over several indications (the previous part had
        ``more`` set): their parameters only make sense joined, see
        :func:`join_control_responses`.

    Raises
    ------
    PacketError
        Shorter than 4 bytes, first byte not 0xF0 (a device-initiated "measurement stopped"
        indication starts with 0x01: see :func:`decode_measurement_stopped`), or settings
        that cannot be decoded.
    """
    data = bytes(data)
    if data[:1] == bytes([CP_MEASUREMENT_STOPPED]):
        raise PacketError("PMD control point: byte 0 = 0x01 is a 'measurement stopped' "
                          "indication from the device, not a reply (expected 0xF0)")
    if len(data) < 4:
        raise PacketError(f"PMD control reply: {len(data)} bytes, expected at least 4 "
                          "(0xF0, op, type, error)")
    if data[0] != CONTROL_RESPONSE_CODE:
        raise PacketError(f"PMD control reply: byte 0 = 0x{data[0]:02X}, expected 0xF0")
    op, meas_type, error = data[1], data[2], data[3]
    more = error == ERR_SUCCESS and len(data) > 4 and data[4] != 0
    params = data[5:]
    name = OP_NAMES.get(op, f"op {op}")
    settings = (_response_settings(op, error, more, params, f"PMD {name} reply")
                if parse_settings else {})
    return ControlResponse(op=op, meas_type=meas_type, error=error, more=more,
                           settings=settings, params=params)


def encode_control_response(op: int, meas_type: int, error: int = ERR_SUCCESS,
                            more: bool = False,
                            settings: Mapping[int, Number | Sequence[Number]] | None = None,
                            params: bytes | None = None) -> bytes:
    """Encode a control-point reply ``[0xF0][op][type][error][more][params]``.

    ``params`` (raw) or ``settings`` (encoded with :func:`encode_settings`), not both.
    """
    if params is not None and settings:
        raise ValueError("give settings or raw params, not both")
    body = bytes(params) if params is not None else encode_settings(settings or {})
    return bytes([CONTROL_RESPONSE_CODE, check_uint("op", op, 0xFF),
                  check_uint("meas_type", meas_type, 0xFF), check_uint("error", error, 0xFF),
                  1 if more else 0]) + body


def join_control_responses(parts: Sequence[ControlResponse]) -> ControlResponse:
    """Join a reply split over several indications (all but the last have ``more`` set).

    Raises
    ------
    PacketError
        No parts, parts for different requests, or joined settings that cannot be decoded.
    """
    if not parts:
        raise PacketError("PMD control reply: no parts to join")
    first = parts[0]
    for p in parts[1:]:
        if (p.op, p.meas_type) != (first.op, first.meas_type):
            raise PacketError(f"PMD control reply parts disagree: op/type {p.op}/{p.meas_type} "
                              f"after {first.op}/{first.meas_type}")
    params = b"".join(p.params for p in parts)
    error = next((p.error for p in parts if p.error != ERR_SUCCESS), ERR_SUCCESS)
    more = parts[-1].more
    name = OP_NAMES.get(first.op, f"op {first.op}")
    settings = _response_settings(first.op, error, more, params, f"PMD {name} reply (joined)")
    return ControlResponse(op=first.op, meas_type=first.meas_type, error=error, more=more,
                           settings=settings, params=params)


def decode_measurement_stopped(data: bytes) -> set[int]:
    """Decode a device-initiated ``[0x01][type...]`` indication: the measurements it stopped.

    Raises
    ------
    PacketError
        First byte not 0x01.
    """
    data = bytes(data)
    if data[:1] != bytes([CP_MEASUREMENT_STOPPED]):
        raise PacketError("PMD 'measurement stopped' indication: byte 0 = "
                          f"{('0x%02X' % data[0]) if data else 'missing'}, expected 0x01")
    return {b & 0x3F for b in data[1:]}


def decode_features(data: bytes) -> set[int]:
    """Decode the control-point read ``[0x0F][bitmask...]``: supported measurement types.

    Bit n of the little-endian bitmask is measurement type n.

    Raises
    ------
    PacketError
        Shorter than 2 bytes or first byte not 0x0F.
    """
    data = bytes(data)
    if len(data) < 2:
        raise PacketError(f"PMD features: {len(data)} bytes, expected at least 2 (0x0F, "
                          "bitmask)")
    if data[0] != FEATURES_CODE:
        raise PacketError(f"PMD features: byte 0 = 0x{data[0]:02X}, expected 0x0F")
    mask = int.from_bytes(data[1:], "little")
    return {i for i in range(mask.bit_length()) if mask >> i & 1}


def encode_features(types: Iterable[int]) -> bytes:
    """Encode the control-point read value for these measurement types (at least 2 mask bytes)."""
    mask = 0
    for t in types:
        mask |= 1 << check_uint("measurement type", t, 0xFF)
    n_bytes = max(2, (mask.bit_length() + 7) // 8)
    return bytes([FEATURES_CODE]) + mask.to_bytes(n_bytes, "little")

SAMPLE_RATE, RESOLUTION, RANGE, RANGE_MILLIUNIT, CHANNELS, FACTOR = (
    SETTING_SAMPLE_RATE, SETTING_RESOLUTION, SETTING_RANGE, SETTING_RANGE_MILLIUNIT,
    SETTING_CHANNELS, SETTING_FACTOR)
