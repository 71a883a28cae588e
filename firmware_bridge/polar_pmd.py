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

Every decoding error raises :class:`~firmware_bridge.packets.PacketError` naming the frame type,
the byte offset (from the start of the notification) and what was expected.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple, Union

import numpy as np

from firmware_bridge.packets import PacketError, SampleBlock

__all__ = [
    "PMD_EPOCH_UNIX_S",
    "MEAS_ECG", "MEAS_PPG", "MEAS_ACC", "MEAS_PPI", "MEAS_GYRO", "MEAS_MAG", "MEAS_SDK_MODE",
    "MEAS_NAMES", "OP_GET_SETTINGS", "OP_START", "OP_STOP", "OP_NAMES",
    "SETTING_SAMPLE_RATE", "SETTING_RESOLUTION", "SETTING_RANGE", "SETTING_RANGE_MILLIUNIT",
    "SETTING_CHANNELS", "SETTING_FACTOR", "SETTING_NAMES",
    "ERR_SUCCESS", "ERR_INVALID_OP_CODE", "ERR_INVALID_MEASUREMENT_TYPE", "ERR_NOT_SUPPORTED",
    "ERR_INVALID_LENGTH", "ERR_INVALID_PARAMETER", "ERR_ALREADY_IN_STATE",
    "ERR_INVALID_RESOLUTION", "ERR_INVALID_SAMPLE_RATE", "ERR_INVALID_RANGE", "ERR_INVALID_MTU",
    "ERR_INVALID_NUMBER_OF_CHANNELS", "ERR_INVALID_STATE", "ERR_DEVICE_IN_CHARGER",
    "ERR_DISK_FULL", "ERROR_TEXT", "error_text",
    "ECG", "PPG", "ACC", "PPI", "GYRO", "MAG", "SDK_MODE",
    "SAMPLE_RATE", "RESOLUTION", "RANGE", "RANGE_MILLIUNIT", "CHANNELS", "FACTOR",
    "ERROR_SUCCESS", "ERROR_INVALID_OP_CODE", "ERROR_INVALID_MEASUREMENT_TYPE",
    "ERROR_NOT_SUPPORTED", "ERROR_INVALID_LENGTH", "ERROR_INVALID_PARAMETER",
    "ERROR_ALREADY_IN_STATE", "ERROR_INVALID_RESOLUTION", "ERROR_INVALID_SAMPLE_RATE",
    "ERROR_INVALID_RANGE", "ERROR_INVALID_MTU", "ERROR_INVALID_NUMBER_OF_CHANNELS",
    "ERROR_INVALID_STATE", "ERROR_DEVICE_IN_CHARGER", "ERROR_DISK_FULL",
    "CONTROL_RESPONSE_CODE", "FEATURES_CODE", "CP_MEASUREMENT_STOPPED",
    "FRAME_RAW_INT8", "FRAME_RAW_INT16", "FRAME_RAW_INT24", "FRAME_COMPRESSED_TYPE0",
    "FRAME_COMPRESSED_TYPE1", "COMPRESSED_BIT", "HEADER_SIZE",
    "encode_settings", "decode_settings",
    "encode_get_settings", "encode_start", "encode_stop", "PmdRequest", "PmdRequestError",
    "decode_request",
    "ControlResponse", "decode_control_response", "encode_control_response",
    "join_control_responses", "decode_measurement_stopped",
    "decode_features", "encode_features",
    "PolarAccFrame", "decode_acc_frame", "encode_acc_frame", "frame_scale_g", "to_block",
    "pmd_ns_to_unix_s", "unix_s_to_pmd_ns",
]

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

# Short names for the same constants (measurement types, settings, errors).
ECG, PPG, ACC, PPI, GYRO, MAG, SDK_MODE = (MEAS_ECG, MEAS_PPG, MEAS_ACC, MEAS_PPI, MEAS_GYRO,
                                           MEAS_MAG, MEAS_SDK_MODE)
SAMPLE_RATE, RESOLUTION, RANGE, RANGE_MILLIUNIT, CHANNELS, FACTOR = (
    SETTING_SAMPLE_RATE, SETTING_RESOLUTION, SETTING_RANGE, SETTING_RANGE_MILLIUNIT,
    SETTING_CHANNELS, SETTING_FACTOR)
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


def _uint(name: str, value: object, limit: int) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    value = int(value)
    if not 0 <= value <= limit:
        raise ValueError(f"{name} must be in 0..{limit}, got {value}")
    return value


# --------------------------------------------------------------------------------------------
# Settings
# --------------------------------------------------------------------------------------------

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
            values = [_uint(SETTING_NAMES[stype], v, limit) for v in values]
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


# --------------------------------------------------------------------------------------------
# Requests (client -> sensor)
# --------------------------------------------------------------------------------------------

def encode_get_settings(meas_type: int) -> bytes:
    """Request the settings a measurement type supports: ``[0x01][type]``."""
    return bytes([OP_GET_SETTINGS, _uint("meas_type", meas_type, 0xFF)])


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
    return bytes([OP_START, _uint("meas_type", meas_type, 0xFF)]) + encode_settings(settings)


def encode_stop(meas_type: int) -> bytes:
    """Request a measurement stop: ``[0x03][type]``."""
    return bytes([OP_STOP, _uint("meas_type", meas_type, 0xFF)])


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


# --------------------------------------------------------------------------------------------
# Replies (sensor -> client)
# --------------------------------------------------------------------------------------------

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
    return bytes([CONTROL_RESPONSE_CODE, _uint("op", op, 0xFF),
                  _uint("meas_type", meas_type, 0xFF), _uint("error", error, 0xFF),
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
        mask |= 1 << _uint("measurement type", t, 0xFF)
    n_bytes = max(2, (mask.bit_length() + 7) // 8)
    return bytes([FEATURES_CODE]) + mask.to_bytes(n_bytes, "little")


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
    header = bytes([_uint("meas_type", meas_type, 0xFF)]) + struct.pack(
        "<Q", _uint("timestamp_ns", timestamp_ns, _U64)) + bytes([frame_type & 0xFF])
    if frame_type in _RAW_WIDTH_BYTES:
        width = _RAW_WIDTH_BYTES[frame_type]
        _check_range(c, 8 * width, f"counts of raw frame {_frame_name(frame_type)}")
        values = (c.ravel() & ((1 << (8 * width)) - 1)).astype(np.uint32)
        raw = ((values[:, None] >> (8 * np.arange(width, dtype=np.uint32))) & 0xFF)
        return header + raw.astype(np.uint8).tobytes()
    if frame_type in (FRAME_COMPRESSED_TYPE0, FRAME_COMPRESSED_TYPE1):
        block_samples = _uint("block_samples", block_samples, 0xFF)
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
