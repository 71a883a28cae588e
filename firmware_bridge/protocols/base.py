"""What every sensor protocol decodes to: a block of raw accelerometer samples with its clock.

A BLE notification from a sensor is turned into a :class:`SampleBlock` by the decoder of the
sensor's protocol (:meth:`firmware_bridge.protocols.sensors.Protocol.decoder`). Anything that
cannot be decoded raises :class:`PacketError` naming the field and what was expected.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


__all__ = [
    "FLAG_CLIPPING", "FLAG_OVERFLOW", "FLAG_FIRST", "KNOWN_FLAGS",
    "PacketError", "SampleBlock", "StreamError", "check_uint",
]

#: Some sample in this packet hit the sensor's range.
FLAG_CLIPPING = 0x01
#: The device's buffer overflowed before this packet: samples were lost on the device
#: (``first_index`` still counts them, so the loss is exact).
FLAG_OVERFLOW = 0x02
#: First packet after a start command.
FLAG_FIRST = 0x04
#: All flag bits defined by LegAccel v1; other bits are reserved (sent as 0, ignored on receipt).
KNOWN_FLAGS = FLAG_CLIPPING | FLAG_OVERFLOW | FLAG_FIRST


def check_uint(name: str, value: object, limit: int) -> int:
    """Return ``value`` as int if it is an integer in [0, limit], else raise ValueError (what an
    encoder checks before it packs a field)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    value = int(value)
    if not 0 <= value <= limit:
        raise ValueError(f"{name} must be in 0..{limit}, got {value}")
    return value


class PacketError(ValueError):
    """A notification cannot be decoded; the message says which field and what was expected."""


class StreamError(RuntimeError):
    """The sensor refused to start or answered the control point with an error."""


@dataclass(frozen=True, eq=False)
class SampleBlock:
    """Consecutive accelerometer samples from one notification.

    Attributes
    ----------
    protocol : str
        ``"legaccel"`` or ``"polar"``.
    counts : ndarray, shape (n, 3), int32
        Raw counts x, y, z as sent by the sensor.
    scale_g : float
        g per count (LegAccel: from the packet; Polar: factor / 1000, counts being mG).
    fs_hz : float
        Nominal sample rate, Hz.
    device_time_s : float
        Device clock of the first sample, s. LegAccel: seconds since device boot. Polar: unix
        seconds, the frame's timestamp (last sample) minus ``(n - 1) / fs_hz``.
    device_time_end_s : float
        Device clock of the last sample, s (Polar: straight from the frame).
    session_id : int or None
        LegAccel: random u32, new on every start. Polar: None.
    seq : int or None
        LegAccel: packet number since the session's start. Polar: None.
    first_index : int or None
        LegAccel: index of ``counts[0]`` since the session's start. Polar: None.
    flags : int
        ``FLAG_*`` bits.
    range_g : float
        Full scale of the sensor, +-g (0.0 when unknown).
    """

    protocol: str
    counts: np.ndarray
    scale_g: float
    fs_hz: float
    device_time_s: float
    device_time_end_s: float
    session_id: int | None
    seq: int | None
    first_index: int | None
    flags: int = 0
    range_g: float = 0.0

    @property
    def n(self) -> int:
        """Number of samples in the block."""
        return int(self.counts.shape[0])

    @property
    def acc_g(self) -> np.ndarray:
        """Acceleration in g, shape (n, 3), float32: ``counts * scale_g``."""
        return (self.counts * np.float64(self.scale_g)).astype(np.float32)
