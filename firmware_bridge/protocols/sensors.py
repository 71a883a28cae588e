"""The supported sensor protocols, one :class:`Protocol` object each.

A protocol object holds everything the rest of the BLE side needs to know about a kind of
sensor: how it announces itself, its GATT characteristics, how its stream is started and
stopped, how its notifications decode, and what its packets carry (sample indices, or only
timestamps). The link, the assembler and the store pick the object once, by the name given on
the command line or kept in a recording (:func:`protocol_named`), and never test the name again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol as TypingProtocol

import numpy as np

from firmware_bridge.protocols import legaccel, legaccel_control, polar_control, polar_pmd
from firmware_bridge.protocols.base import SampleBlock, StreamError
from firmware_bridge.protocols.constants import (LEGACCEL_CONTROL_UUID, LEGACCEL_DATA_UUID,
                                                 LEGACCEL_SERVICE_UUID, PMD_CONTROL_UUID,
                                                 PMD_DATA_UUID, PMD_SERVICE_UUID)

__all__ = ["Protocol", "ControlLink", "LegAccelProtocol", "PolarProtocol", "LEGACCEL", "POLAR",
           "BY_NAME", "protocol_named", "protocol_of", "make_decoder"]


class ControlLink(TypingProtocol):
    """What a protocol needs of a connected link to start a stream (see
    :class:`firmware_bridge.client.SensorLink`)."""

    address: str
    fs_hz: float
    range_g: float

    async def read(self, uuid: str) -> bytes: ...

    async def write(self, uuid: str, data: bytes) -> None: ...

    async def subscribe(self, control_uuid: str, data_uuid: str) -> None: ...

    async def reply(self, what: str) -> bytes: ...


class Protocol:
    """One sensor protocol.

    Attributes
    ----------
    name : str
        Its name on the command line and in recordings (``legaccel``, ``polar``).
    title : str
        For people.
    service_uuid, data_uuid, control_uuid : str
        The GATT service, the data characteristic (notify) and the control point.
    name_prefix : str
        The advertised name of such a sensor starts with this.
    indexed : bool
        Packets number their samples (session id and sample index), so every lost sample is
        known exactly; otherwise samples are placed by the device's timestamps.
    self_describing : bool
        A packet decodes on its own; otherwise the decoder needs the started stream's settings
        (rate, range, factor from the start reply).
    default_fs_hz : float
        The sample rate asked for when none is given (the sensor's nearest is used).
    """

    name = ""
    title = ""
    service_uuid = ""
    data_uuid = ""
    control_uuid = ""
    name_prefix = ""
    indexed = False
    self_describing = False
    default_fs_hz = 100.0

    def announced_by(self, service_uuids: list[str] | tuple[str, ...], name: str | None) -> bool:
        """Whether an advertisement (its service UUIDs and local name) is of this protocol."""
        uuids = {u.lower() for u in service_uuids}
        return self.service_uuid in uuids or (name or "").startswith(self.name_prefix)

    def decoder(self, stream: Mapping[str, Any] | None = None) -> Callable[[bytes], SampleBlock]:
        """``decode(data: bytes) -> SampleBlock`` for one data notification; raises
        :class:`~firmware_bridge.protocols.base.PacketError` on bad input."""
        raise NotImplementedError

    def stop_command(self) -> bytes:
        """The control point write that stops the stream."""
        raise NotImplementedError

    async def start(self, link: ControlLink) -> dict[str, Any]:
        """Start the stream on a connected link; return the ``stream_started`` event's fields.

        Raises
        ------
        StreamError
            The sensor refused, or cannot stream acceleration.
        """
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<Protocol {self.name}>"


class LegAccelProtocol(Protocol):
    """LegAccel v1 (``firmware_bridge/PROTOCOL.md``): self-describing, indexed packets."""

    name = "legaccel"
    title = "LegAccel v1"
    service_uuid = LEGACCEL_SERVICE_UUID
    data_uuid = LEGACCEL_DATA_UUID
    control_uuid = LEGACCEL_CONTROL_UUID
    name_prefix = legaccel.NAME_PREFIX
    indexed = True
    self_describing = True

    def decoder(self, stream: Mapping[str, Any] | None = None) -> Callable[[bytes], SampleBlock]:
        def decode_legaccel(data: bytes) -> SampleBlock:
            return legaccel.to_block(legaccel.decode_packet(data))

        return decode_legaccel

    def stop_command(self) -> bytes:
        return legaccel_control.stop_command()

    async def start(self, link: ControlLink) -> dict[str, Any]:
        ctl = legaccel_control
        await link.subscribe(self.control_uuid, self.data_uuid)
        await link.write(self.control_uuid, ctl.info_command())
        status = ctl.decode_status(await link.reply("GET_INFO"))
        ctl.check_status(status, ctl.OP_GET_INFO)
        info = ctl.DeviceInfo.decode(status.payload)
        fs = min(info.rates_hz or (link.fs_hz,), key=lambda r: abs(r - link.fs_hz))
        rng = min(info.ranges_g or (link.range_g,), key=lambda r: abs(r - link.range_g))
        for attempt in range(2):
            await link.write(self.control_uuid, ctl.start_command(fs, rng))
            status = ctl.decode_status(await link.reply("START"))
            if status.status == ctl.STATUS_ALREADY and attempt == 0:
                # A stream left running from before the disconnect: restart it for a new session.
                await link.write(self.control_uuid, ctl.stop_command())
                await link.reply("STOP")
                continue
            ctl.check_status(status, ctl.OP_START)
            start = ctl.StartReply.decode(status.payload)
            return {"fs_hz": start.fs_hz, "range_g": start.range_g, "scale_g": start.scale_g,
                    "session_id": start.session_id, "device_time_us": start.device_time_us}
        raise StreamError(f"{link.address}: the stream did not start")  # pragma: no cover


class PolarProtocol(Protocol):
    """Polar Measurement Data (Verity Sense, H10): timestamped frames that need the started
    stream's settings to decode."""

    name = "polar"
    title = "Polar PMD"
    service_uuid = PMD_SERVICE_UUID
    data_uuid = PMD_DATA_UUID
    control_uuid = PMD_CONTROL_UUID
    name_prefix = "Polar "
    indexed = False
    self_describing = False
    #: Asked for; the nearest offered rate is used (a Verity Sense streams 52 Hz, an H10 50 Hz).
    default_fs_hz = 52.0

    def decoder(self, stream: Mapping[str, Any] | None = None) -> Callable[[bytes], SampleBlock]:
        """See :meth:`Protocol.decoder`; ``stream`` holds ``fs_hz`` (Hz, required), ``range_g``
        (+-g, default 0 = unknown) and ``factor`` (default 1.0, from the start reply).

        Raises
        ------
        ValueError
            A stream description without a positive ``fs_hz`` or factor.
        """
        stream = dict(stream or {})
        try:
            fs_hz = float(stream["fs_hz"])
            range_g = float(stream.get("range_g", 0.0) or 0.0)
            factor = float(stream["factor"]) if stream.get("factor") is not None else 1.0
        except KeyError:
            raise ValueError("polar decoder needs stream['fs_hz'] (the started sample rate, Hz)"
                             ) from None
        except (TypeError, ValueError):
            raise ValueError(f"polar stream description must hold numbers, got {stream!r}"
                             ) from None
        if not np.isfinite(fs_hz) or fs_hz <= 0:
            raise ValueError(f"polar stream fs_hz must be > 0 Hz, got {fs_hz!r}")
        if not np.isfinite(factor) or factor <= 0:
            raise ValueError(f"polar stream factor must be > 0, got {factor!r}")

        def decode_polar(data: bytes) -> SampleBlock:
            frame = polar_pmd.decode_acc_frame(data, factor=factor)
            return polar_pmd.to_block(frame, fs_hz, range_g=range_g)

        return decode_polar

    def stop_command(self) -> bytes:
        return polar_control.encode_stop(polar_pmd.MEAS_ACC)

    @staticmethod
    async def _reply(link: ControlLink, what: str) -> Any:
        """One control point reply, joined across indications flagged "more"."""
        ctl = polar_control
        parts = [ctl.decode_control_response(await link.reply(what))]
        while parts[-1].more:
            parts.append(ctl.decode_control_response(await link.reply(what)))
        return parts[0] if len(parts) == 1 else ctl.join_control_responses(parts)

    async def start(self, link: ControlLink) -> dict[str, Any]:
        ctl, acc = polar_control, polar_pmd.MEAS_ACC
        features = ctl.decode_features(await link.read(self.control_uuid))
        if acc not in features:
            raise StreamError(f"{link.address} does not offer an accelerometer stream "
                              f"(PMD features {sorted(features)})")
        await link.subscribe(self.control_uuid, self.data_uuid)
        await link.write(self.control_uuid, ctl.encode_get_settings(acc))
        settings = await self._reply(link, "get settings")
        if settings.error != 0:
            raise StreamError(f"{link.address}: settings query failed: "
                              f"{ctl.error_text(settings.error)}")
        rates = ([float(r) for r in settings.settings.get(ctl.SETTING_SAMPLE_RATE, [])]
                 or [link.fs_hz])
        ranges = [int(r) for r in settings.settings.get(ctl.SETTING_RANGE, [])] or [link.range_g]
        fs = min(rates, key=lambda r: abs(r - link.fs_hz))
        rng = min(ranges, key=lambda r: abs(r - link.range_g))
        channels = 3 if ctl.SETTING_CHANNELS in settings.settings else None
        request = ctl.encode_start(acc, int(fs), resolution=16, range_g=rng, channels=channels)
        for attempt in range(2):
            await link.write(self.control_uuid, request)
            reply = await self._reply(link, "start")
            if reply.error == ctl.ERROR_ALREADY_IN_STATE and attempt == 0:
                await link.write(self.control_uuid, ctl.encode_stop(acc))
                await link.reply("stop")
                continue
            if reply.error != 0:
                raise StreamError(f"{link.address}: start refused: {ctl.error_text(reply.error)}")
            factor = reply.settings.get(ctl.SETTING_FACTOR, [1.0])
            return {"fs_hz": fs, "range_g": rng, "factor": float(factor[0]) if factor else 1.0}
        raise StreamError(f"{link.address}: the stream did not start")  # pragma: no cover


LEGACCEL = LegAccelProtocol()
POLAR = PolarProtocol()
#: Every supported protocol by name, in the order advertisements are matched.
BY_NAME: dict[str, Protocol] = {p.name: p for p in (LEGACCEL, POLAR)}


def protocol_named(name: str | Protocol) -> Protocol:
    """The protocol object of a name (``legaccel`` or ``polar``); a Protocol is returned as is.

    Raises
    ------
    ValueError
        An unknown name.
    """
    if isinstance(name, Protocol):
        return name
    try:
        return BY_NAME[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown sensor protocol {name!r}; expected one of "
                         f"{', '.join(repr(p) for p in BY_NAME)}") from None


def protocol_of(service_uuids: list[str] | tuple[str, ...], name: str | None) -> Protocol | None:
    """Which supported protocol an advertisement announces, or None."""
    return next((p for p in BY_NAME.values() if p.announced_by(service_uuids, name)), None)


def make_decoder(protocol: str | Protocol,
                 stream: Mapping[str, Any] | None = None) -> Callable[[bytes], SampleBlock]:
    """The decoder of a protocol (by name or object); see :meth:`Protocol.decoder`."""
    return protocol_named(protocol).decoder(stream)
