"""One sensor's BLE link, kept alive all night with bleak.

:class:`SensorLink` connects to a sensor, discovers its services, subscribes to its data and control
characteristics, starts the accelerometer stream and then watches the link. After any disconnect it
reconnects forever with capped exponential back-off, rediscovers services, re-subscribes and
restarts the stream; a watchdog treats a link that is connected but silent for ``watchdog_s`` as
lost.

The notification callbacks only put ``(label, kind, host_time_s, payload)`` on an
:class:`asyncio.Queue` (the advice of bleak's maintainers): decoding, loss accounting and storage
happen in the recorder's consumer. Link events (connected, disconnected with their cause, watchdog,
stream started with its parameters, battery level) go through the same queue, so the raw log holds
them in the order they happened.

bleak is used unmodified. ``backend`` is passed through to ``BleakScanner`` and ``BleakClient``:
``None`` (real hardware) selects bleak's own platform backend; the virtual sensor uses the
``(scanner, client)`` classes of :func:`firmware_bridge.sim.bumble_backend.bumble_backends`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from typing import Any

from firmware_bridge.protocols.base import StreamError
from firmware_bridge.protocols.constants import (BATTERY_LEVEL_UUID, FIRMWARE_REVISION_UUID,
                                                 MANUFACTURER_NAME_UUID, MODEL_NUMBER_UUID,
                                                 SERIAL_NUMBER_UUID)
from firmware_bridge.protocols.sensors import protocol_named
from firmware_bridge.protocols.sensors import protocol_of as announced_protocol

__all__ = ["LinkConfig", "SensorLink", "StreamError", "DATA", "CONTROL", "EVENT", "Backend",
           "scan_sensors", "protocol_of"]

log = logging.getLogger(__name__)

#: Kinds of queue items (the raw log's record kinds use the same numbers).
DATA, CONTROL, EVENT = 1, 2, 3

#: ``(scanner_class, client_class)`` for bleak's ``backend=``, or None for bleak's own.
Backend = "tuple[type, type] | None"


@dataclass(frozen=True)
class LinkConfig:
    """How one link is kept alive and which stream is asked for.

    Attributes
    ----------
    fs_hz : float
        Sample rate asked for; the nearest rate the sensor supports is used (Polar: read from the
        sensor's settings).
    range_g : int
        Full-scale range asked for, +-g.
    watchdog_s : float
        A link that is connected but delivers no data for this long is treated as lost.
    backoff_initial_s, backoff_max_s : float
        Reconnect delays double from the first to the cap; a stream that ran for
        ``backoff_reset_s`` resets them.
    connect_timeout_s : float
        Timeout of one scan-and-connect attempt.
    reply_timeout_s : float
        How long to wait for a control point reply.
    """

    fs_hz: float = 100.0
    range_g: int = 8
    watchdog_s: float = 10.0
    backoff_initial_s: float = 1.0
    backoff_max_s: float = 60.0
    backoff_reset_s: float = 30.0
    connect_timeout_s: float = 20.0
    reply_timeout_s: float = 5.0


def protocol_of(service_uuids: list[str] | tuple[str, ...], name: str | None) -> str | None:
    """Which supported protocol an advertisement announces: ``legaccel``, ``polar`` or None."""
    proto = announced_protocol(service_uuids, name)
    return None if proto is None else proto.name


async def scan_sensors(timeout_s: float = 5.0, backend: Any = None) -> list[dict[str, Any]]:
    """Scan for supported sensors.

    Returns
    -------
    list of dict
        ``name``, ``address``, ``rssi`` (dBm), ``protocol`` for each LegAccel or Polar device,
        strongest signal first.
    """
    from bleak import BleakScanner

    kw = {} if backend is None else {"backend": backend[0]}
    found = await BleakScanner.discover(timeout=timeout_s, return_adv=True, **kw)
    rows = []
    for device, adv in found.values():
        proto = protocol_of(list(adv.service_uuids or []), adv.local_name or device.name)
        if proto is None:
            continue
        rows.append({"name": adv.local_name or device.name or "", "address": device.address,
                     "rssi": adv.rssi, "protocol": proto})
    return sorted(rows, key=lambda r: -(r["rssi"] if r["rssi"] is not None else -999))


class SensorLink:
    """Keep one sensor streaming into a queue until told to stop.

    Parameters
    ----------
    address : str
        The sensor's address (macOS: the per-host UUID bleak reports).
    protocol : {"legaccel", "polar"}
    queue : asyncio.Queue
        Receives ``(label, kind, host_time_s, payload)``: kind DATA and CONTROL carry the
        notification's bytes, kind EVENT a dict (``{"event": "connected", ...}``).
    label : str
        Name of this sensor in the recording (``left``, ``right`` or ``sensor``).
    config : LinkConfig
    backend : tuple of classes, optional
        bleak scanner and client backend classes; None for bleak's own.
    """

    def __init__(self, address: str, protocol: str, queue: asyncio.Queue, *, label: str = "sensor",
                 config: LinkConfig | None = None, backend: Any = None) -> None:
        self.proto = protocol_named(protocol)
        self.address = address
        self.protocol = self.proto.name
        self.queue = queue
        self.label = label
        self.config = config or LinkConfig()
        self.backend = backend
        self.connects = 0
        self.last_rx_s = 0.0
        self._replies: asyncio.Queue = asyncio.Queue()
        self._lost = asyncio.Event()
        self._client: Any = None

    # -- callbacks: only enqueue -------------------------------------------------------------
    def _on_data(self, _char: Any, data: bytearray) -> None:
        now = time.time()
        self.last_rx_s = now
        self.queue.put_nowait((self.label, DATA, now, bytes(data)))

    def _on_control(self, _char: Any, data: bytearray) -> None:
        now = time.time()
        payload = bytes(data)
        self.queue.put_nowait((self.label, CONTROL, now, payload))
        self._replies.put_nowait(payload)

    def _on_battery(self, _char: Any, data: bytearray) -> None:
        if data:
            self._event("battery", percent=int(data[0]))

    def _on_disconnect(self, _client: Any) -> None:
        self._lost.set()

    def _event(self, event: str, /, **fields: Any) -> None:
        self.queue.put_nowait((self.label, EVENT, time.time(), {**fields, "event": event}))

    # -- the link ----------------------------------------------------------------------------
    async def run(self, stop: asyncio.Event) -> None:
        """Connect, stream and reconnect until ``stop`` is set; then stop the stream politely."""
        delay = self.config.backoff_initial_s
        while not stop.is_set():
            started = time.monotonic()
            cause = "disconnect"
            try:
                await self._connect_and_start()
                cause = await self._watch(stop)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - any failure of one attempt means "retry"
                cause = f"connect failed: {type(exc).__name__}: {exc}".rstrip(": ")
                log.debug("%s: %s", self.label, cause)
            finally:
                await self._close(polite=stop.is_set())
            if stop.is_set():
                break
            self._event("disconnected", cause=cause)
            if time.monotonic() - started >= self.config.backoff_reset_s:
                delay = self.config.backoff_initial_s
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=delay)
            delay = min(delay * 2.0, self.config.backoff_max_s)
        self._event("stopped")

    async def _watch(self, stop: asyncio.Event) -> str:
        """Wait until the link is lost, goes silent, or we are told to stop; say which."""
        wd = self.config.watchdog_s
        while True:
            if stop.is_set():
                return "stopped"
            if self._lost.is_set():
                return "disconnect"
            if time.time() - self.last_rx_s > wd:
                self._event("watchdog", silent_s=round(time.time() - self.last_rx_s, 3))
                return "stall (watchdog)"
            tick = min(0.25, wd / 4)
            waits = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._lost.wait())]
            try:
                await asyncio.wait(waits, timeout=tick, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for w in waits:
                    w.cancel()

    async def _connect_and_start(self) -> None:
        from bleak import BleakClient, BleakScanner

        cfg = self.config
        self._lost.clear()
        while not self._replies.empty():
            self._replies.get_nowait()
        scan_kw = {} if self.backend is None else {"backend": self.backend[0]}
        client_kw = {} if self.backend is None else {"backend": self.backend[1]}
        device = await BleakScanner.find_device_by_address(
            self.address, timeout=cfg.connect_timeout_s, **scan_kw)
        if device is None:
            raise ConnectionError(f"{self.address} not found (is it on, in range, and not "
                                  "connected to a phone?)")
        client = BleakClient(device, disconnected_callback=self._on_disconnect,
                             timeout=cfg.connect_timeout_s, **client_kw)
        self._client = client
        await client.connect()
        self.connects += 1
        self._event("connected", address=self.address, name=device.name or "",
                    mtu=int(getattr(client, "mtu_size", 23) or 23), attempt=self.connects)
        services = {s.uuid.lower() for s in client.services}
        want = self.proto.service_uuid
        if want not in services:
            raise StreamError(f"{self.address} has no {self.protocol} service ({want}); "
                              "is this the right device and protocol?")
        await self._device_info(client)
        self.last_rx_s = time.time()
        started = await self.proto.start(self)
        self._event("stream_started", protocol=self.protocol, **started)
        self.last_rx_s = time.time()

    async def _device_info(self, client: Any) -> None:
        info: dict[str, str] = {}
        for key, uuid in (("manufacturer", MANUFACTURER_NAME_UUID), ("model", MODEL_NUMBER_UUID),
                          ("serial", SERIAL_NUMBER_UUID), ("firmware", FIRMWARE_REVISION_UUID)):
            if client.services.get_characteristic(uuid) is not None:
                with contextlib.suppress(Exception):
                    info[key] = bytes(await client.read_gatt_char(uuid)).decode("utf-8", "replace")
        if info:
            self._event("device_info", **info)
        if client.services.get_characteristic(BATTERY_LEVEL_UUID) is not None:
            with contextlib.suppress(Exception):
                level = bytes(await client.read_gatt_char(BATTERY_LEVEL_UUID))
                if level:
                    self._event("battery", percent=int(level[0]))
            with contextlib.suppress(Exception):
                await client.start_notify(BATTERY_LEVEL_UUID, self._on_battery)

    async def reply(self, what: str) -> bytes:
        """The next control point reply (raises StreamError when none comes in time)."""
        try:
            while True:
                data = await asyncio.wait_for(self._replies.get(), self.config.reply_timeout_s)
                if data[:1] == b"\xf0":     # not e.g. Polar's own "measurement stopped"
                    return data
        except asyncio.TimeoutError:
            raise StreamError(f"{self.address}: no reply to {what} within "
                              f"{self.config.reply_timeout_s:g} s") from None

    # -- what a protocol's start needs of the link (see protocols.sensors.ControlLink) --------
    @property
    def fs_hz(self) -> float:
        """The sample rate asked for (Hz); the sensor's nearest is used."""
        return self.config.fs_hz

    @property
    def range_g(self) -> float:
        """The full scale asked for (+-g); the sensor's nearest is used."""
        return self.config.range_g

    async def read(self, uuid: str) -> bytes:
        """Read a characteristic of the connected sensor."""
        return bytes(await self._client.read_gatt_char(uuid))

    async def write(self, uuid: str, data: bytes) -> None:
        """Write a characteristic of the connected sensor, with response."""
        await self._client.write_gatt_char(uuid, data, response=True)

    async def subscribe(self, control_uuid: str, data_uuid: str) -> None:
        """Receive the control point's replies and the data notifications."""
        await self._client.start_notify(control_uuid, self._on_control)
        await self._client.start_notify(data_uuid, self._on_data)

    async def _close(self, polite: bool) -> None:
        """Stop the stream (when asked to stop) and drop the link; never raises."""
        client, self._client = self._client, None
        if client is None:
            return
        if polite and client.is_connected:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.write_gatt_char(
                    self.proto.control_uuid, self.proto.stop_command(), response=True), 2.0)
        for uuid in (self.proto.data_uuid,):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.stop_notify(uuid), 1.0)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(client.disconnect(), 5.0)
