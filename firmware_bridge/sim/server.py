"""The virtual radio: one bumble link shared by the virtual sensors, served to centrals (the
recorder, tests) over a loopback TCP port as an HCI transport."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from firmware_bridge.protocols.constants import DEFAULT_VIRTUAL_HOST, DEFAULT_VIRTUAL_PORT
from firmware_bridge.sim.faults import FaultLog
from firmware_bridge.sim.legaccel_sensor import LegAccelSensor
from firmware_bridge.sim.polar_sensor import PolarSensor
from firmware_bridge.sim.source import VirtualSensorSpec
from firmware_bridge.sim.virtual_sensor import (LE_ACL_DATA_PACKET_LENGTH,
                                                REASON_CONNECTION_TIMEOUT, TICK_S, VirtualSensor)

__all__ = ["log", "SENSOR_CLASSES", "VirtualSensorServer", "run_virtual_sensors"]

log = logging.getLogger(__name__)

#: The virtual sensor of each protocol.
SENSOR_CLASSES = {"legaccel": LegAccelSensor, "polar": PolarSensor}


class _CentralPort(asyncio.Protocol):
    """One TCP client of the HCI port: a fresh central controller on the link."""

    def __init__(self, server: "VirtualSensorServer") -> None:
        self.server = server
        self.transport: asyncio.Transport | None = None
        self.controller: Any = None
        self.parser: Any = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        from bumble.controller import Controller
        from bumble.transport.common import PacketParser

        self.transport = transport  # type: ignore[assignment]
        self.server._central_count += 1
        k = self.server._central_count
        self.controller = Controller(f"central-{k}", link=self.server.link,
                                     public_address=f"CE:00:00:00:{(k >> 8) & 0xFF:02X}:"
                                                    f"{k & 0xFF:02X}")
        self.controller.le_acl_data_packet_length = LE_ACL_DATA_PACKET_LENGTH
        self.controller.host = self
        self.parser = PacketParser(self.controller)
        self.server._centrals.add(self)
        self.server._status(f"central connected to the HCI port "
                            f"({transport.get_extra_info('peername')})")

    def on_packet(self, packet: bytes) -> None:
        """Controller -> host: write the HCI packet to the TCP client."""
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(packet)

    def data_received(self, data: bytes) -> None:
        from bumble.core import InvalidPacketError

        try:
            self.parser.feed_data(data)
        except InvalidPacketError:
            log.warning("HCI port: invalid packet from the central, closing its connection")
            if self.transport is not None:
                self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        self.server._centrals.discard(self)
        n = self.drop_links()
        self.server._status(f"central left the HCI port; dropped {n} link(s)" if n
                            else "central left the HCI port")

    def drop_links(self) -> int:
        """Drop every link of this central as a supervision timeout would; remove it."""
        from bumble import ll

        c = self.controller
        if c is None:
            return 0
        self.controller = None
        n = 0
        for peer, conn in list(c.le_connections.items()):
            with contextlib.suppress(Exception):
                conn.send_ll_control_pdu(ll.TerminateInd(REASON_CONNECTION_TIMEOUT))
            c.le_connections.pop(peer, None)
            n += 1
        c.le_scan_enable = False
        c.pending_le_connection = None
        with contextlib.suppress(Exception):
            c.le_legacy_advertiser.stop()
        for adv in list(getattr(c, "advertising_sets", {}).values()):
            with contextlib.suppress(Exception):
                adv.stop()
        c.host = None
        with contextlib.suppress(KeyError, ValueError):
            self.server.link.remove_controller(c)
        return n


class VirtualSensorServer:
    """The link, the sensors on it and the HCI port for centrals; an async context manager.

    Parameters
    ----------
    sensors : sequence of VirtualSensorSpec
    host : str
        Address to serve the HCI port on (loopback unless asked otherwise).
    port : int
        TCP port; 0 picks a free one (read :attr:`port` after :meth:`start`).
    speed : float
        Source seconds per wall second.
    fault_log : Path, optional
        JSON-lines fault log (mode 0600); see :mod:`firmware_bridge.sim.faults`.
    on_status : callable, optional
        Receives one line per event ("<name>: advertising", "... connected to ...",
        "... streaming ...", "... fault: ...", "... source finished").
    """

    def __init__(self, sensors: Sequence[VirtualSensorSpec], *, host: str = DEFAULT_VIRTUAL_HOST,
                 port: int = DEFAULT_VIRTUAL_PORT, speed: float = 60.0,
                 fault_log: Path | None = None,
                 on_status: Callable[[str], None] | None = None) -> None:
        if not sensors:
            raise ValueError("no sensors to run")
        names = [s.name for s in sensors]
        addresses = [s.address.upper() for s in sensors]
        if len(set(names)) != len(names) or len(set(addresses)) != len(addresses):
            raise ValueError(f"sensor names and addresses must be unique, got {names} "
                             f"{addresses}")
        if not math.isfinite(speed) or speed <= 0:
            raise ValueError(f"speed must be > 0 (source seconds per wall second), got {speed!r}")
        if not 0 <= int(port) <= 65535:
            raise ValueError(f"port must be 0-65535, got {port!r}")
        self.specs = list(sensors)
        self.host = host
        self.port = int(port)
        self.speed = float(speed)
        self.fault_log_path = Path(fault_log) if fault_log is not None else None
        self._on_status = on_status
        self.log: FaultLog | None = None
        self.link: Any = None
        self.sensors: list[VirtualSensor] = []
        self.all_finished = asyncio.Event()
        self._server: asyncio.base_events.Server | None = None
        self._centrals: set[_CentralPort] = set()
        self._central_count = 0
        self._ticker: asyncio.Task[None] | None = None
        self._closed = False

    def _status(self, line: str) -> None:
        log.info("%s", line)
        if self._on_status is not None:
            with contextlib.suppress(Exception):
                self._on_status(line)

    async def start(self) -> "VirtualSensorServer":
        """Open the fault log, power the sensors on, advertise, and serve the HCI port."""
        from bumble.link import LocalLink

        self.log = FaultLog(self.fault_log_path)
        self.link = LocalLink()
        t_start = time.monotonic()
        for i, spec in enumerate(self.specs):
            sensor = SENSOR_CLASSES[spec.protocol](spec, i, self.link, self.speed, self.log,
                                                   self._status)
            self.sensors.append(sensor)
        for sensor in self.sensors:
            await sensor.start(t_start)
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: _CentralPort(self), self.host, self.port)
        self.port = int(self._server.sockets[0].getsockname()[1])
        self._ticker = asyncio.ensure_future(self._tick_loop())
        self._status(f"HCI port: tcp-server:{self.host}:{self.port} (connect with "
                     f"tcp-client:{self.host}:{self.port})")
        return self

    @property
    def transport_spec(self) -> str:
        """The bumble transport a central uses to reach the sensors."""
        return f"tcp-client:{self.host}:{self.port}"

    async def _tick_loop(self) -> None:
        while not self._closed:
            now = time.monotonic()
            for sensor in self.sensors:
                try:
                    sensor.tick(now)
                except Exception as exc:  # noqa: BLE001 - one bad tick must not stop the night
                    sensor.errors.append(f"{type(exc).__name__}: {exc}")
                    log.exception("%s: tick failed", sensor.name)
            if not self.all_finished.is_set() and all(s.finished.is_set() for s in self.sensors):
                self.all_finished.set()
            await asyncio.sleep(TICK_S)

    async def close(self) -> None:
        """Finish the ledgers (summary lines), drop the centrals and stop everything."""
        if self._closed:
            return
        self._closed = True
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._ticker
        now = time.monotonic()
        for sensor in self.sensors:
            sensor.stop(now)
            await sensor.close()
        for central in list(self._centrals):
            if central.transport is not None:
                central.transport.close()
            central.drop_links()
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2.0)
        await asyncio.sleep(0)
        if self.log is not None:
            self.log.close()

    async def __aenter__(self) -> "VirtualSensorServer":
        return await self.start()

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()


async def run_virtual_sensors(sensors: Sequence[VirtualSensorSpec], *,
                              host: str = DEFAULT_VIRTUAL_HOST, port: int = DEFAULT_VIRTUAL_PORT,
                              speed: float = 60.0, fault_log: Path | None = None,
                              stop: asyncio.Event | None = None,
                              on_status: Callable[[str], None] | None = None,
                              exit_when_done: bool = False,
                              ready: Callable[[VirtualSensorServer], None] | None = None
                              ) -> None:
    """Run virtual sensors until ``stop`` is set (or, with ``exit_when_done``, every source ends).

    Parameters
    ----------
    sensors : sequence of VirtualSensorSpec
    host : str
        Address of the HCI port; loopback by default.
    port : int
        TCP port of the HCI port; 0 picks a free one (reported by ``on_status`` and ``ready``).
    speed : float
        Source seconds per wall second (60: an 8-hour night in 8 minutes).
    fault_log : Path, optional
        JSON-lines log of every fault and the source samples it cost, ending with one
        ``summary`` line per sensor (mode 0600).
    stop : asyncio.Event, optional
        Set it to stop.
    on_status : callable, optional
        Receives status lines.
    exit_when_done : bool
        Return once every source has been streamed (the link stays up until then).
    ready : callable, optional
        Called with the running :class:`VirtualSensorServer` (its ``port``) once centrals can
        connect.
    """
    stop = stop or asyncio.Event()
    server = VirtualSensorServer(sensors, host=host, port=port, speed=speed,
                                 fault_log=fault_log, on_status=on_status)
    try:
        await server.start()
        if ready is not None:
            ready(server)
        waits = [asyncio.ensure_future(stop.wait())]
        if exit_when_done:
            waits.append(asyncio.ensure_future(server.all_finished.wait()))
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waits:
                w.cancel()
    finally:
        await server.close()
