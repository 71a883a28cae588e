"""The bumble side of the bleak backend: one BLE host per transport (a virtual controller over TCP,
or a real one), shared by scanners and clients, and the advertisement and address parsing they
need."""

from __future__ import annotations

import asyncio
import logging
import re
import struct
import uuid as uuid_lib
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from bleak.assigned_numbers import CHARACTERISTIC_PROPERTIES
from bleak.exc import BleakError
from bleak.uuids import normalize_uuid_16, normalize_uuid_32, normalize_uuid_str
from bumble import core, hci
from bumble.device import Advertisement, Connection, Device
from bumble.transport import open_transport
from bumble.transport.common import Transport

__all__ = ["logger", "OPEN_TIMEOUT_S", "DISCONNECT_TIMEOUT_S", "STALE_HANDLES", "BASE_UUID_TAIL",
           "uuid128_from_le", "parse_ad", "address_key", "parse_address", "Host", "get_host",
           "being_cancelled", "quiet", "close_bumble_host", "property_names", "bumble_uuid",
           "uuid_str"]


logger = logging.getLogger(__name__)

#: Time allowed to open the transport and reset the controller, s.
OPEN_TIMEOUT_S = 5.0

#: Time allowed for a disconnect (or an unsubscribe) before the link is treated as dead, s.
DISCONNECT_TIMEOUT_S = 2.0

#: Connection handles probed for links left over by a previous host (see the module docstring).
STALE_HANDLES = range(1, 9)

_hosts: dict[str, Host] = {}

_background_tasks: set[asyncio.Task[Any]] = set()

#: Tail of the Bluetooth base UUID (Core Vol 3 Part B 2.5.1).
BASE_UUID_TAIL = "-0000-1000-8000-00805f9b34fb"

_ADDRESS_RE = re.compile(r"^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}(/P)?$")


# --------------------------------------------------------------------------------------------
# Advertisement parsing
# --------------------------------------------------------------------------------------------
def uuid128_from_le(data: bytes) -> str:
    return str(uuid_lib.UUID(bytes=bytes(reversed(data))))


def _chunks(data: bytes, width: int) -> list[bytes]:
    return [data[i:i + width] for i in range(0, len(data) - width + 1, width)]


def parse_ad(ad_structures: Iterable[tuple[int, bytes]]) -> dict[str, Any]:
    """Fields of one advertising report, in bleak's units and spelling.

    Parameters
    ----------
    ad_structures : iterable of (int, bytes)
        AD type and payload pairs (Bluetooth Core Supplement Part A).

    Returns
    -------
    dict
        Keys present only when the report has them: ``local_name``, ``short_name``,
        ``service_uuids`` (list of str), ``service_data`` (dict), ``manufacturer_data`` (dict),
        ``tx_power`` (dBm).
    """
    fields: dict[str, Any] = {}
    uuids: list[str] = []
    service_data: dict[str, bytes] = {}
    manufacturer_data: dict[int, bytes] = {}
    for ad_type, data in ad_structures:
        data = bytes(data)
        if ad_type == 0x09:
            fields["local_name"] = data.decode("utf-8", errors="replace")
        elif ad_type == 0x08:
            fields["short_name"] = data.decode("utf-8", errors="replace")
        elif ad_type in (0x02, 0x03):  # 16-bit service UUIDs, incomplete / complete list
            uuids += [normalize_uuid_16(int.from_bytes(c, "little")) for c in _chunks(data, 2)]
        elif ad_type in (0x04, 0x05):  # 32-bit
            uuids += [normalize_uuid_32(int.from_bytes(c, "little")) for c in _chunks(data, 4)]
        elif ad_type in (0x06, 0x07):  # 128-bit
            uuids += [uuid128_from_le(c) for c in _chunks(data, 16)]
        elif ad_type == 0x16 and len(data) >= 2:
            service_data[normalize_uuid_16(int.from_bytes(data[:2], "little"))] = data[2:]
        elif ad_type == 0x20 and len(data) >= 4:
            service_data[normalize_uuid_32(int.from_bytes(data[:4], "little"))] = data[4:]
        elif ad_type == 0x21 and len(data) >= 16:
            service_data[uuid128_from_le(data[:16])] = data[16:]
        elif ad_type == 0x0A and len(data) == 1:
            fields["tx_power"] = struct.unpack("<b", data)[0]
        elif ad_type == 0xFF and len(data) >= 2:
            manufacturer_data[int.from_bytes(data[:2], "little")] = data[2:]
    if uuids:
        fields["service_uuids"] = uuids
    if service_data:
        fields["service_data"] = service_data
    if manufacturer_data:
        fields["manufacturer_data"] = manufacturer_data
    return fields


def address_key(address: hci.Address) -> str:
    """bleak's spelling of a bumble address: upper-case, colon-separated, no type suffix."""
    return address.to_string(False).upper()


def parse_address(text: str) -> hci.Address:
    """A bumble address from ``AA:BB:CC:DD:EE:FF`` (random) or ``AA:BB:CC:DD:EE:FF/P`` (public)."""
    if not _ADDRESS_RE.match(text):
        raise BleakError(
            f"invalid Bluetooth address {text!r}: expected six hex bytes separated by colons, "
            "e.g. F0:F0:F0:F0:F0:01 (append /P for a public address)"
        )
    if text.endswith("/P"):
        return hci.Address(text[:-2], hci.Address.PUBLIC_DEVICE_ADDRESS)
    return hci.Address(text, hci.Address.RANDOM_DEVICE_ADDRESS)


# --------------------------------------------------------------------------------------------
# One bumble host per transport spec
# --------------------------------------------------------------------------------------------
class Host:
    """A bumble ``Device`` acting as central on one HCI transport, re-opened after it dies.

    ``generation`` counts openings; scan users hold the generation they acquired under, so a
    release after the transport died (and the host re-opened) does not touch the new scan.
    ``lost`` resolves when the current transport closes.
    """

    def __init__(self, spec: str, loop: asyncio.AbstractEventLoop) -> None:
        self.spec = spec
        self.loop = loop
        self.device: Device | None = None
        self.transport: Transport | None = None
        self.lost: asyncio.Future[None] = loop.create_future()
        self.generation = 0
        self.open_lock = asyncio.Lock()
        self.connect_lock = asyncio.Lock()
        self.scan_lock = asyncio.Lock()
        self.scan_users = 0
        self.adv_listeners: set[Callable[[Advertisement], None]] = set()
        self.clients: set[Any] = set()   # the bleak clients (bumble_backend) on this host
        self.connecting_to: bytes | None = None

    async def ensure_open(self) -> Device:
        """The live bumble device, opening the transport and resetting the controller if needed."""
        async with self.open_lock:
            if self.device is not None:
                return self.device
            try:
                async with asyncio.timeout(OPEN_TIMEOUT_S):
                    transport = await open_transport(self.spec)
            except (OSError, TimeoutError, core.BaseBumbleError, ValueError) as error:
                raise BleakError(
                    f"cannot open the HCI transport {self.spec!r}: {error or type(error).__name__}"
                    " (is the virtual sensor running? start it with `legtwitch sensor-sim`)"
                ) from error
            device = Device.with_hci(
                "legtwitch-central", hci.Address.generate_static_address(),
                transport.source, transport.sink,
            )
            try:
                async with asyncio.timeout(OPEN_TIMEOUT_S):
                    await device.power_on()
                    await self._end_stale_links(device)
            except BaseException as error:
                await quiet(transport.close(), DISCONNECT_TIMEOUT_S)
                if isinstance(error, (TimeoutError, core.BaseBumbleError, ConnectionError)):
                    raise BleakError(
                        f"the controller at {self.spec!r} did not answer the HCI reset: "
                        f"{error or type(error).__name__}"
                    ) from error
                raise
            device.on(Device.EVENT_ADVERTISEMENT, self._on_advertisement)
            device.on(Device.EVENT_CONNECTION, self._on_connection)
            transport.source.terminated.add_done_callback(
                lambda _fut, t=transport: self._on_transport_lost(t)
            )
            self.device, self.transport, self.scan_users = device, transport, 0
            self.lost = self.loop.create_future()
            self.generation += 1
            logger.debug("bumble host open on %s as %s", self.spec, device.random_address)
            return device

    async def _end_stale_links(self, device: Device) -> None:
        """Terminate links a previous host left in the controller (see the module docstring)."""
        for handle in STALE_HANDLES:
            await device.host.send_command(
                hci.HCI_Disconnect_Command(
                    connection_handle=handle,
                    reason=hci.HCI_REMOTE_USER_TERMINATED_CONNECTION_ERROR,
                ),
                check_result=False,
            )

    def _forget(self) -> Transport | None:
        transport, self.device, self.transport, self.scan_users = self.transport, None, None, 0
        if not self.lost.done():
            self.lost.set_result(None)
        return transport

    def _on_transport_lost(self, transport: Transport) -> None:
        if self.transport is transport:
            logger.warning("HCI transport %s closed; it is re-opened on next use", self.spec)
            self._forget()

    def _on_advertisement(self, advertisement: Advertisement) -> None:
        for listener in list(self.adv_listeners):
            try:
                listener(advertisement)
            except Exception:  # a listener's bug must not stop the host's event dispatch
                logger.exception("advertisement listener failed")

    def _on_connection(self, connection: Connection) -> None:
        """Disconnect a link that completed while nobody was connecting to it (late create)."""
        if connection.role != hci.Role.CENTRAL:
            return
        if bytes(connection.peer_address.address_bytes) == self.connecting_to:
            return
        if any(c.owns(connection) for c in self.clients):
            return
        logger.warning("disconnecting unrequested link to %s", connection.peer_address)
        task = self.loop.create_task(quiet(connection.disconnect(), DISCONNECT_TIMEOUT_S))
        _background_tasks.add(task)
        task.add_done_callback(_background_tasks.discard)

    async def acquire_scan(self) -> int:
        """Start scanning unless already on; return the generation to pass to release_scan."""
        device = await self.ensure_open()
        async with self.scan_lock:
            if self.device is not device:
                raise BleakError(f"the HCI transport {self.spec!r} closed")
            if self.scan_users == 0:
                try:
                    await device.start_scanning(active=True, filter_duplicates=False)
                except (core.BaseBumbleError, ConnectionError) as error:
                    raise BleakError(f"cannot start scanning on {self.spec!r}: {error}") from error
            self.scan_users += 1
            return self.generation

    async def release_scan(self, generation: int) -> None:
        async with self.scan_lock:
            if generation != self.generation or self.scan_users == 0:
                return
            self.scan_users -= 1
            if self.scan_users == 0 and self.device is not None:
                await quiet(self.device.stop_scanning(), DISCONNECT_TIMEOUT_S)

    async def wait_for_advertiser(self, address: hci.Address) -> hci.Address:
        """Scan until ``address`` advertises; return it with the type it advertised with."""
        wanted = bytes(address.address_bytes)
        seen: asyncio.Future[hci.Address] = self.loop.create_future()

        def listener(adv: Advertisement) -> None:
            if bytes(adv.address.address_bytes) == wanted and not seen.done():
                seen.set_result(adv.address)

        self.adv_listeners.add(listener)
        try:
            generation = await self.acquire_scan()
            try:
                await asyncio.wait({seen, self.lost}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                await self.release_scan(generation)
        finally:
            self.adv_listeners.discard(listener)
        if not seen.done():
            raise BleakError(f"the HCI transport {self.spec!r} closed while scanning")
        return seen.result()

    async def close(self) -> None:
        for client in list(self.clients):
            await client.disconnect()
        transport = self._forget()
        if transport is not None:
            await quiet(transport.close(), DISCONNECT_TIMEOUT_S)


def get_host(spec: str) -> Host:
    """The host for ``spec`` on the running loop (a host left by another loop is replaced)."""
    loop = asyncio.get_running_loop()
    host = _hosts.get(spec)
    if host is None or host.loop is not loop or host.loop.is_closed():
        host = _hosts[spec] = Host(spec, loop)
    return host


def being_cancelled() -> bool:
    """True when the running task itself was cancelled (not an awaited future bumble aborted)."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


async def quiet(awaitable: Awaitable[Any], timeout_s: float) -> None:
    """Await ``awaitable`` for at most ``timeout_s`` s, ignoring failures (best-effort cleanup)."""
    try:
        async with asyncio.timeout(timeout_s):
            await awaitable
    except asyncio.CancelledError:
        if being_cancelled():
            raise
    except Exception as error:  # cleanup on a link or transport that may already be gone
        logger.debug("ignored during cleanup: %r", error)


async def close_bumble_host(transport: str | None = None) -> None:
    """Disconnect every client and close the bumble host of ``transport`` (all hosts if None).

    Parameters
    ----------
    transport : str or None
        HCI transport spec given to :func:`bumble_backends`; None closes every host of the
        running event loop.
    """
    loop = asyncio.get_running_loop()
    specs = list(_hosts) if transport is None else [transport]
    for spec in specs:
        host = _hosts.get(spec)
        if host is None:
            continue
        if host.loop is loop:
            await host.close()
        del _hosts[spec]


def property_names(properties: int) -> list[str]:
    """bleak's names of the characteristic property bits, in bit order (Core Vol 3 G 3.3.1.1)."""
    return [name for bit, name in sorted(CHARACTERISTIC_PROPERTIES.items()) if properties & bit]


def bumble_uuid(text: str) -> core.UUID:
    """A bumble UUID from bleak's 128-bit spelling, in its 16-bit form when it has one.

    Discovery by service UUID (Core Vol 3 Part G 4.4.2) sends the UUID as the attribute value to
    match; a 16-bit service is declared with a 2-byte value, so it is sent in that form.
    """
    if text.startswith("0000") and text.endswith(BASE_UUID_TAIL):
        return core.UUID(text[4:8])
    return core.UUID(text)


def uuid_str(value: core.UUID) -> str:
    """bleak's spelling of a bumble UUID: lower-case 128-bit with dashes."""
    return normalize_uuid_str(uuid128_from_le(value.to_bytes(force_128=True)))
