"""One sensor's BLE link, kept alive all night with bleak.

:class:`SensorLink` connects to a sensor, discovers its services, subscribes to its data and control
characteristics, starts the accelerometer stream and then watches the link. After any disconnect it
reconnects forever with capped exponential back-off, rediscovers services, re-subscribes and restarts
the stream; a watchdog treats a link that is connected but silent for ``watchdog_s`` as lost.

The notification callbacks only put ``(label, kind, host_time_s, payload)`` on an
:class:`asyncio.Queue` (the advice of bleak's maintainers): decoding, loss accounting and storage
happen in the recorder's consumer. Link events (connected, disconnected with their cause, watchdog,
stream started with its parameters, battery level) go through the same queue, so the raw log holds
them in the order they happened.

bleak is used unmodified. ``backend`` is passed through to ``BleakScanner`` and ``BleakClient``:
``None`` (real hardware) selects bleak's own platform backend; the virtual sensor uses the
``(scanner, client)`` classes of :func:`firmware_bridge.bumble_backend.bumble_backends`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from typing import Any

from .constants import (BATTERY_LEVEL_UUID, FIRMWARE_REVISION_UUID, LEGACCEL_CONTROL_UUID,
                        LEGACCEL_DATA_UUID, LEGACCEL_SERVICE_UUID, MANUFACTURER_NAME_UUID,
                        MODEL_NUMBER_UUID, PMD_CONTROL_UUID, PMD_DATA_UUID, PMD_SERVICE_UUID,
                        SERIAL_NUMBER_UUID)

__all__ = ["LinkConfig", "SensorLink", "StreamError", "DATA", "CONTROL", "EVENT", "Backend",
           "scan_sensors", "protocol_of"]

log = logging.getLogger(__name__)

#: Kinds of queue items (the raw log's record kinds use the same numbers).
DATA, CONTROL, EVENT = 1, 2, 3

#: ``(scanner_class, client_class)`` for bleak's ``backend=``, or None for bleak's own.
Backend = "tuple[type, type] | None"


class StreamError(RuntimeError):
    """The sensor refused to start or answered the control point with an error."""


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
    uuids = {u.lower() for u in service_uuids}
    if LEGACCEL_SERVICE_UUID in uuids or (name or "").startswith("LegAccel"):
        return "legaccel"
    if PMD_SERVICE_UUID in uuids or (name or "").startswith("Polar "):
        return "polar"
    return None


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
        if protocol not in ("legaccel", "polar"):
            raise ValueError(f"unknown protocol {protocol!r}: expected legaccel or polar")
        self.address = address
        self.protocol = protocol
        self.queue = queue
        self.label = label
        self.config = config or LinkConfig()
        self.backend = backend
        self.connects = 0
        self.last_rx_s = 0.0
        self._replies: asyncio.Queue = asyncio.Queue()
        self._lost = asyncio.Event()
        self._client: Any = None
        self._polar_factor = 1.0

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
        want = LEGACCEL_SERVICE_UUID if self.protocol == "legaccel" else PMD_SERVICE_UUID
        if want not in services:
            raise StreamError(f"{self.address} has no {self.protocol} service ({want}); "
                              "is this the right device and protocol?")
        await self._device_info(client)
        self.last_rx_s = time.time()
        if self.protocol == "legaccel":
            await self._start_legaccel(client)
        else:
            await self._start_polar(client)
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

    async def _reply(self, what: str) -> bytes:
        try:
            while True:
                data = await asyncio.wait_for(self._replies.get(), self.config.reply_timeout_s)
                if data[:1] == b"\xf0":     # not e.g. Polar's own "measurement stopped"
                    return data
        except asyncio.TimeoutError:
            raise StreamError(f"{self.address}: no reply to {what} within "
                              f"{self.config.reply_timeout_s:g} s") from None

    async def _polar_reply(self, what: str) -> Any:
        """One PMD control point reply, joined across indications flagged "more"."""
        from . import polar_pmd as pmd

        parts = [pmd.decode_control_response(await self._reply(what))]
        while parts[-1].more:
            parts.append(pmd.decode_control_response(await self._reply(what)))
        return parts[0] if len(parts) == 1 else pmd.join_control_responses(parts)

    async def _start_legaccel(self, client: Any) -> None:
        from . import legaccel

        cfg = self.config
        await client.start_notify(LEGACCEL_CONTROL_UUID, self._on_control)
        await client.start_notify(LEGACCEL_DATA_UUID, self._on_data)
        await client.write_gatt_char(LEGACCEL_CONTROL_UUID, legaccel.info_command(),
                                     response=True)
        status = legaccel.decode_status(await self._reply("GET_INFO"))
        legaccel.check_status(status, legaccel.OP_GET_INFO)
        info = legaccel.DeviceInfo.decode(status.payload)
        fs = min(info.rates_hz or (cfg.fs_hz,), key=lambda r: abs(r - cfg.fs_hz))
        rng = min(info.ranges_g or (cfg.range_g,), key=lambda r: abs(r - cfg.range_g))
        for attempt in range(2):
            await client.write_gatt_char(LEGACCEL_CONTROL_UUID,
                                         legaccel.start_command(fs, rng), response=True)
            status = legaccel.decode_status(await self._reply("START"))
            if status.status == legaccel.STATUS_ALREADY and attempt == 0:
                # A stream left running from before the disconnect: restart it for a new session.
                await client.write_gatt_char(LEGACCEL_CONTROL_UUID, legaccel.stop_command(),
                                             response=True)
                await self._reply("STOP")
                continue
            legaccel.check_status(status, legaccel.OP_START)
            start = legaccel.StartReply.decode(status.payload)
            self._event("stream_started", protocol="legaccel", fs_hz=start.fs_hz,
                        range_g=start.range_g, scale_g=start.scale_g,
                        session_id=start.session_id, device_time_us=start.device_time_us)
            return

    async def _start_polar(self, client: Any) -> None:
        from . import polar_pmd as pmd

        cfg = self.config
        features = pmd.decode_features(bytes(await client.read_gatt_char(PMD_CONTROL_UUID)))
        if pmd.MEAS_ACC not in features:
            raise StreamError(f"{self.address} does not offer an accelerometer stream "
                              f"(PMD features {sorted(features)})")
        await client.start_notify(PMD_CONTROL_UUID, self._on_control)
        await client.start_notify(PMD_DATA_UUID, self._on_data)
        await client.write_gatt_char(PMD_CONTROL_UUID, pmd.encode_get_settings(pmd.MEAS_ACC),
                                     response=True)
        settings = await self._polar_reply("get settings")
        if settings.error != 0:
            raise StreamError(f"{self.address}: settings query failed: "
                              f"{pmd.error_text(settings.error)}")
        rates = [float(r) for r in settings.settings.get(pmd.SETTING_SAMPLE_RATE, [])] or [cfg.fs_hz]
        ranges = [int(r) for r in settings.settings.get(pmd.SETTING_RANGE, [])] or [cfg.range_g]
        fs = min(rates, key=lambda r: abs(r - cfg.fs_hz))
        rng = min(ranges, key=lambda r: abs(r - cfg.range_g))
        channels = 3 if pmd.SETTING_CHANNELS in settings.settings else None
        request = pmd.encode_start(pmd.MEAS_ACC, int(fs), resolution=16, range_g=rng, channels=channels)
        for attempt in range(2):
            await client.write_gatt_char(PMD_CONTROL_UUID, request, response=True)
            reply = await self._polar_reply("start")
            if reply.error == pmd.ERROR_ALREADY_IN_STATE and attempt == 0:
                await client.write_gatt_char(PMD_CONTROL_UUID, pmd.encode_stop(pmd.MEAS_ACC),
                                             response=True)
                await self._reply("stop")
                continue
            if reply.error != 0:
                raise StreamError(f"{self.address}: start refused: {pmd.error_text(reply.error)}")
            factor = reply.settings.get(pmd.SETTING_FACTOR, [1.0])
            self._polar_factor = float(factor[0]) if factor else 1.0
            self._event("stream_started", protocol="polar", fs_hz=fs, range_g=rng,
                        factor=self._polar_factor)
            return

    async def _close(self, polite: bool) -> None:
        """Stop the stream (when asked to stop) and drop the link; never raises."""
        client, self._client = self._client, None
        if client is None:
            return
        if polite and client.is_connected:
            with contextlib.suppress(Exception):
                if self.protocol == "legaccel":
                    from . import legaccel
                    await asyncio.wait_for(client.write_gatt_char(
                        LEGACCEL_CONTROL_UUID, legaccel.stop_command(), response=True), 2.0)
                else:
                    from . import polar_pmd as pmd
                    await asyncio.wait_for(client.write_gatt_char(
                        PMD_CONTROL_UUID, pmd.encode_stop(pmd.MEAS_ACC), response=True), 2.0)
        for uuid in (LEGACCEL_DATA_UUID, PMD_DATA_UUID):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.stop_notify(uuid), 1.0)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(client.disconnect(), 5.0)
