"""A bleak backend over bumble: unmodified bleak client code talks to a virtual BLE controller.

``bumble_backends(transport)`` returns a scanner class and a client class for
``BleakScanner(..., backend=S)`` and ``BleakClient(..., backend=C)``. Both run on one bumble
host (HCI, L2CAP, ATT, GATT) per transport spec per process, opened lazily on the running event
loop and shared by the scanner and every client, so two sensors are two connections from one
central. The HCI transport is any bumble transport spec; the virtual sensor serves a controller at
``tcp-client:127.0.0.1:47330``. Requires bumble 0.0.236 (pinned: its API changes between
releases) and Python >= 3.11 (bumble's own minimum).

Behaviour
---------
- Scanning is shared: the host scans while at least one scanner or connect is waiting for an
  advertisement. ``AdvertisementData`` carries local_name, service_uuids, service_data,
  manufacturer_data, tx_power (from the AD structures) and the RSSI the controller reports
  (bumble's virtual controller always reports -50 dBm). Fields missing from one report keep the
  value of an earlier report of the same scan. ``scanning_mode`` is ignored (always active).
- ``connect()`` first waits for an advertisement from the address (also when given a
  ``BLEDevice``), then creates the connection, exchanges the ATT MTU (247 requested) and discovers
  services, characteristics and descriptors, all within ``timeout`` (plus at most 0.5 s to
  cancel a connection request that timed out). It takes about two advertising intervals of the
  peripheral. Connects on one host are serialised (one LE connection may be pending at a time);
  the wait counts toward the timeout. A device that does not advertise within the timeout raises
  ``BleakDeviceNotFoundError``; every other failure raises ``BleakError`` naming the address,
  the transport and the stage that failed. Connecting by an address string without scanning
  works: a plain string is a random address (``/P`` suffix for a public one); the type seen in
  the advertisement wins.
- ``disconnected_callback`` fires exactly once per established connection when it ends, whatever
  the cause: the peripheral dropped the link, the HCI transport died (virtual sensor quit), or
  ``disconnect()`` (as bleak's BlueZ backend does). ``disconnect()`` is idempotent and returns
  within 2 s even on a dead link. GATT operations in flight when the link ends raise
  ``BleakError`` at once instead of waiting for the 30 s ATT timeout. ATT error responses raise
  ``BleakGATTProtocolError``.
- ``start_notify`` enables notifications, or indications when the characteristic only indicates
  (bumble confirms each indication); the callback receives ``bytearray`` values in arrival order.
  ``stop_notify`` on a dead link only forgets the callback.
- When the transport to the controller closes, every client gets its ``disconnected_callback``
  and the host is dropped; the next scan or connect re-opens it (a refused TCP connection raises
  ``BleakError`` at once), so a restarted virtual sensor is picked up without restarting Python.

What bumble 0.0.236's virtual controller does, and how this module copes
-----------------------------------------------------------------------
Checked against ``bumble.controller.Controller`` with a ``tcp-server`` transport:

1. When the central's process dies (or its socket closes) without an HCI disconnect, the
   controller keeps the link: the ``tcp-server`` transport only forgets its socket, and
   ``HCI_Reset`` from the next host is a no-op (it does not clear connections). The peripheral
   still believes it is connected, so it does not advertise, and a new central cannot connect.
   Real controllers drop all links on reset. To emulate that, each time this module opens a host it
   sends ``HCI_Disconnect`` for connection handles 1-8 (the virtual controller allocates the lowest
   free handle from 1); links left by a previous host on that controller are terminated, the
   peripheral is told, and it can advertise again. Handles that do not exist are ignored. The
   consequence: two central processes must not share one controller port (a second host ends the
   first one's links; bumble's ``tcp-server`` also redirects all events to the newest socket).
2. ``HCI_LE_Create_Connection_Cancel`` does not clear a pending connection in the virtual
   controller and no LE Connection Complete follows, so after one timed-out create every later
   create is refused with COMMAND_DISALLOWED until the connection completes (the device shows up)
   or the controller restarts. This is why ``connect()`` only sends a create after it has seen the
   device advertise: a missing device never leaves the controller in that state. If it happens
   anyway (the device fell silent between its advertisement and the create), connect times out
   with a ``BleakError``; when the device is heard again the stale request completes, and this
   module disconnects that unrequested link at once, so the next connect works. A connect to
   another device in the meantime is refused by the controller; its ``BleakError`` says why.
3. Scan response data is never delivered (reports carry the advertising data only), so a
   peripheral must put its name and service UUID in the advertising data.
4. It does not model radio effects (RSSI, supervision timeouts, throughput, lost packets).

Not implemented
---------------
Pairing and bonding (``pair=True`` is logged and ignored; ``pair()``/``unpair()`` raise
``BleakError``), ``use_cached`` reads of descriptors (always read from the device), passive
scanning, ``BleakAdapter`` (connected-device lookup), RSSI of a connection, EATT, several event
loops using one transport at once (the host belongs to the loop that opened it; a new loop opens a
new host).
"""

from __future__ import annotations

import asyncio
import logging
import re
import struct
import uuid as uuid_lib
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, ClassVar, TypeVar

from bleak.assigned_numbers import CHARACTERISTIC_PROPERTIES
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient, NotifyCallback
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData, BaseBleakScanner
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.exc import BleakDeviceNotFoundError, BleakError, BleakGATTProtocolError
from bleak.uuids import normalize_uuid_16, normalize_uuid_32, normalize_uuid_str
from bumble import att, core, hci
from bumble.core import PhysicalTransport
from bumble.device import Advertisement, Connection, Device
from bumble.gatt_client import CharacteristicProxy, ServiceProxy
from bumble.transport import open_transport
from bumble.transport.common import Transport

from firmware_bridge.constants import DEFAULT_VIRTUAL_HOST, DEFAULT_VIRTUAL_PORT

__all__ = ["bumble_backends", "close_bumble_host", "DEFAULT_TRANSPORT"]

logger = logging.getLogger(__name__)

#: The HCI transport the virtual sensor serves (``legtwitch sensor-sim``).
DEFAULT_TRANSPORT = f"tcp-client:{DEFAULT_VIRTUAL_HOST}:{DEFAULT_VIRTUAL_PORT}"

#: ATT MTU requested on every connection, bytes (the largest that fits one LE data PDU).
REQUESTED_MTU = 247
#: Default ATT MTU before the exchange, bytes (Bluetooth Core Vol 3 Part F 3.2.8).
DEFAULT_ATT_MTU = 23
#: Time allowed to open the transport and reset the controller, s.
OPEN_TIMEOUT_S = 5.0
#: Time allowed for a disconnect (or an unsubscribe) before the link is treated as dead, s.
DISCONNECT_TIMEOUT_S = 2.0
#: Time allowed for the create-connection cancel sent after a connect timed out, s.
CANCEL_TIMEOUT_S = 0.5
#: Connection handles probed for links left over by a previous host (see the module docstring).
STALE_HANDLES = range(1, 9)

#: Tail of the Bluetooth base UUID (Core Vol 3 Part B 2.5.1).
_BASE_UUID_TAIL = "-0000-1000-8000-00805f9b34fb"
_ADDRESS_RE = re.compile(r"^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}(/P)?$")
_T = TypeVar("_T")


# --------------------------------------------------------------------------------------------
# Advertisement parsing
# --------------------------------------------------------------------------------------------
def _uuid128_from_le(data: bytes) -> str:
    return str(uuid_lib.UUID(bytes=bytes(reversed(data))))


def _chunks(data: bytes, width: int) -> list[bytes]:
    return [data[i:i + width] for i in range(0, len(data) - width + 1, width)]


def _parse_ad(ad_structures: Iterable[tuple[int, bytes]]) -> dict[str, Any]:
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
            uuids += [_uuid128_from_le(c) for c in _chunks(data, 16)]
        elif ad_type == 0x16 and len(data) >= 2:
            service_data[normalize_uuid_16(int.from_bytes(data[:2], "little"))] = data[2:]
        elif ad_type == 0x20 and len(data) >= 4:
            service_data[normalize_uuid_32(int.from_bytes(data[:4], "little"))] = data[4:]
        elif ad_type == 0x21 and len(data) >= 16:
            service_data[_uuid128_from_le(data[:16])] = data[16:]
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


def _address_key(address: hci.Address) -> str:
    """bleak's spelling of a bumble address: upper-case, colon-separated, no type suffix."""
    return address.to_string(False).upper()


def _parse_address(text: str) -> hci.Address:
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
class _Host:
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
        self.clients: set[_BumbleClientBase] = set()
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
                await _quiet(transport.close(), DISCONNECT_TIMEOUT_S)
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
        task = self.loop.create_task(_quiet(connection.disconnect(), DISCONNECT_TIMEOUT_S))
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
                await _quiet(self.device.stop_scanning(), DISCONNECT_TIMEOUT_S)

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
            await _quiet(transport.close(), DISCONNECT_TIMEOUT_S)


_hosts: dict[str, _Host] = {}
_background_tasks: set[asyncio.Task[Any]] = set()


def _get_host(spec: str) -> _Host:
    """The host for ``spec`` on the running loop (a host left by another loop is replaced)."""
    loop = asyncio.get_running_loop()
    host = _hosts.get(spec)
    if host is None or host.loop is not loop or host.loop.is_closed():
        host = _hosts[spec] = _Host(spec, loop)
    return host


def _being_cancelled() -> bool:
    """True when the running task itself was cancelled (not an awaited future bumble aborted)."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


async def _quiet(awaitable: Awaitable[Any], timeout_s: float) -> None:
    """Await ``awaitable`` for at most ``timeout_s`` s, ignoring failures (best-effort cleanup)."""
    try:
        async with asyncio.timeout(timeout_s):
            await awaitable
    except asyncio.CancelledError:
        if _being_cancelled():
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


# --------------------------------------------------------------------------------------------
# Scanner
# --------------------------------------------------------------------------------------------
class _BumbleScannerBase(BaseBleakScanner):
    """bleak scanner backend; subclasses bind ``transport_spec`` (see :func:`bumble_backends`)."""

    transport_spec: ClassVar[str] = DEFAULT_TRANSPORT

    def __init__(
        self,
        detection_callback: Any = None,
        service_uuids: list[str] | None = None,
        scanning_mode: str = "active",
        **kwargs: Any,
    ) -> None:
        super().__init__(detection_callback, service_uuids)
        self._host: _Host | None = None
        self._generation = 0
        self._merged: dict[str, dict[str, Any]] = {}

    async def start(self) -> None:
        if self._host is not None:
            return
        host = _get_host(self.transport_spec)
        self.seen_devices = {}
        self._merged = {}
        host.adv_listeners.add(self._on_advertisement)
        try:
            self._generation = await host.acquire_scan()
        except BaseException:
            host.adv_listeners.discard(self._on_advertisement)
            raise
        self._host = host

    async def stop(self) -> None:
        host, self._host = self._host, None
        if host is None:
            return
        host.adv_listeners.discard(self._on_advertisement)
        await host.release_scan(self._generation)

    def _on_advertisement(self, adv: Advertisement) -> None:
        key = _address_key(adv.address)
        merged = self._merged.setdefault(key, {})
        fields = _parse_ad(adv.data.ad_structures)
        for name in ("local_name", "short_name", "tx_power"):
            if name in fields:
                merged[name] = fields[name]
        if "service_uuids" in fields:
            known = merged.setdefault("service_uuids", [])
            known += [u for u in fields["service_uuids"] if u not in known]
        for name in ("service_data", "manufacturer_data"):
            if name in fields:
                merged.setdefault(name, {}).update(fields[name])
        service_uuids = list(merged.get("service_uuids", []))
        if not self.is_allowed_uuid(service_uuids):
            return
        local_name = merged.get("local_name", merged.get("short_name"))
        tx_power = merged.get("tx_power")
        if tx_power is None and adv.tx_power != Advertisement.TX_POWER_NOT_AVAILABLE:
            tx_power = adv.tx_power
        adv_data = AdvertisementData(
            local_name=local_name,
            manufacturer_data=dict(merged.get("manufacturer_data", {})),
            service_data=dict(merged.get("service_data", {})),
            service_uuids=service_uuids,
            tx_power=tx_power,
            rssi=adv.rssi,
            platform_data=(adv,),
        )
        device = self.create_or_update_device(key, key, local_name, adv.address, adv_data)
        self.call_detection_callbacks(device, adv_data)


# --------------------------------------------------------------------------------------------
# Client
# --------------------------------------------------------------------------------------------
class _BumbleClientBase(BaseBleakClient):
    """bleak client backend; subclasses bind ``transport_spec`` (see :func:`bumble_backends`)."""

    transport_spec: ClassVar[str] = DEFAULT_TRANSPORT

    def __init__(
        self,
        address_or_ble_device: BLEDevice | str,
        *,
        disconnected_callback: Callable[[], None] | None = None,
        timeout: float = 10.0,
        services: set[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            address_or_ble_device, disconnected_callback=disconnected_callback, timeout=timeout
        )
        self._known_address: hci.Address | None = None
        self._device_name: str | None = None
        if isinstance(address_or_ble_device, BLEDevice):
            self._device_name = address_or_ble_device.name
            if isinstance(address_or_ble_device.details, hci.Address):
                self._known_address = address_or_ble_device.details
        self._service_filter = set(services) if services else None
        self._host: _Host | None = None
        self._connection: Connection | None = None
        self._link_lost: asyncio.Future[None] | None = None
        self._notify_callbacks: dict[int, NotifyCallback] = {}
        self._subscribers: dict[int, Callable[[bytes], None]] = {}

    # -- state --------------------------------------------------------------------------------
    def owns(self, connection: Connection) -> bool:
        return self._connection is connection

    @property
    def name(self) -> str:
        return self._device_name or self.address.replace(":", "-")

    @property
    def mtu_size(self) -> int:
        connection = self._connection
        return connection.att_mtu if connection is not None else DEFAULT_ATT_MTU

    @property
    def is_connected(self) -> bool:
        return self._connection is not None

    def _where(self) -> str:
        return f"{self.address} over {self.transport_spec!r}"

    # -- connect / disconnect -----------------------------------------------------------------
    async def connect(self, pair: bool = False, **kwargs: Any) -> None:
        """Connect, exchange the MTU and discover services within ``timeout`` s.

        Raises
        ------
        BleakDeviceNotFoundError
            The device did not advertise within the timeout.
        BleakError
            Already connected, transport unavailable, or the connection or discovery failed.
        """
        if self._connection is not None:
            raise BleakError(f"already connected to {self._where()}")
        if pair:
            logger.warning("pairing is not supported by the bumble backend; connecting without it")
        timeout_s = float(kwargs.get("timeout", self._timeout))
        target = self._known_address or _parse_address(self.address)
        host = _get_host(self.transport_spec)
        stage = "opening the HCI transport"
        try:
            async with asyncio.timeout(timeout_s):
                await host.ensure_open()
                stage = "waiting for another connect on this host to finish"
                async with host.connect_lock:
                    self._check_not_taken(host, target)
                    stage = "waiting for the device to advertise"
                    target = await host.wait_for_advertiser(target)
                    stage = "creating the connection"
                    connection = await self._create_connection(host, target)
                self._adopt(host, connection)
                stage = "exchanging the MTU and discovering services"
                try:
                    await self._run(connection.gatt_client.request_mtu(REQUESTED_MTU), stage)
                except BleakGATTProtocolError:
                    logger.warning("%s refused the MTU exchange; staying at 23 bytes", self.address)
                self.services = await self._run(self._discover(connection), stage)
        except TimeoutError as error:
            await self._abandon()
            if stage.startswith("waiting"):
                raise BleakDeviceNotFoundError(
                    self.address,
                    f"device {self._where()} was not found: no advertisement within "
                    f"{timeout_s:g} s (is it on, in range, and not connected to another central?)",
                ) from error
            raise BleakError(
                f"timed out after {timeout_s:g} s {stage} to {self._where()}"
            ) from error
        except BleakError:
            await self._abandon()
            raise
        except (core.BaseBumbleError, ConnectionError) as error:
            await self._abandon()
            raise BleakError(
                f"connecting to {self._where()} failed while {stage}: {error}"
            ) from error
        except BaseException:
            await self._abandon()
            raise

    def _check_not_taken(self, host: _Host, target: hci.Address) -> None:
        wanted = bytes(target.address_bytes)
        for client in host.clients:
            connection = client._connection
            if connection is not None and bytes(connection.peer_address.address_bytes) == wanted:
                raise BleakError(f"{self._where()} is already connected by another client")

    async def _create_connection(self, host: _Host, target: hci.Address) -> Connection:
        device = host.device
        if device is None:
            raise BleakError(f"the HCI transport {self.transport_spec!r} closed")
        host.connecting_to = bytes(target.address_bytes)
        try:
            return await device.connect(target, transport=PhysicalTransport.LE, timeout=None)
        except asyncio.CancelledError:
            if not _being_cancelled():  # bumble aborts a pending connect when the transport closes
                raise BleakError(
                    f"the HCI transport {self.transport_spec!r} closed while connecting"
                ) from None
            if host.device is device:
                # Timed out: ask the controller to stop trying (best effort, see the module
                # docstring), and end a link that completed just as the timeout struck.
                await _quiet(
                    device.host.send_command(hci.HCI_LE_Create_Connection_Cancel_Command()),
                    CANCEL_TIMEOUT_S,
                )
                late = device.find_connection_by_bd_addr(target, PhysicalTransport.LE)
                if late is not None and not any(c.owns(late) for c in host.clients):
                    await _quiet(late.disconnect(), DISCONNECT_TIMEOUT_S)
            raise
        except hci.HCI_Error as error:
            if error.error_code == hci.HCI_ErrorCode.COMMAND_DISALLOWED_ERROR:
                raise BleakError(
                    f"the controller at {self.transport_spec!r} refused to connect to "
                    f"{self.address}: an earlier connection attempt is still pending in it "
                    "(bumble's virtual controller never cancels one); close this host with "
                    "close_bumble_host() if the sensor gives each host a fresh controller, "
                    "or restart the virtual sensor"
                ) from error
            raise
        finally:
            host.connecting_to = None
            # bumble forgets the own-address type after a connect; a late completion needs it.
            device.connect_own_address_type = hci.OwnAddressType.RANDOM

    def _adopt(self, host: _Host, connection: Connection) -> None:
        self._host = host
        self._connection = connection
        self._link_lost = host.loop.create_future()
        self._notify_callbacks = {}
        self._subscribers = {}
        host.clients.add(self)
        connection.on(Connection.EVENT_DISCONNECTION, self._on_disconnection)

    async def _abandon(self) -> None:
        """Drop a half-made connection without firing ``disconnected_callback``."""
        connection = self._connection
        self._detach()
        if connection is not None:
            await _quiet(connection.disconnect(), DISCONNECT_TIMEOUT_S)

    def _detach(self) -> Connection | None:
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.remove_listener(Connection.EVENT_DISCONNECTION, self._on_disconnection)
        if self._link_lost is not None and not self._link_lost.done():
            self._link_lost.set_result(None)
        if self._host is not None:
            self._host.clients.discard(self)
        self._notify_callbacks = {}
        self._subscribers = {}
        self.services = None
        return connection

    def _on_disconnection(self, reason: int = 0) -> None:
        was_ready = self.services is not None
        self._detach()
        logger.info("link to %s ended (HCI reason 0x%02X)", self._where(), reason)
        if was_ready and self._disconnected_callback is not None:
            try:
                self._disconnected_callback()
            except Exception:  # the application's callback must not break bumble's dispatch
                logger.exception("disconnected_callback failed")

    async def disconnect(self) -> None:
        """Disconnect; a no-op when not connected, bounded by 2 s on a dead link."""
        connection = self._connection
        if connection is None:
            return
        await _quiet(connection.disconnect(), DISCONNECT_TIMEOUT_S)
        if self._connection is connection:  # no disconnection event came: the link is dead
            self._on_disconnection(hci.HCI_CONNECTION_TIMEOUT_ERROR)

    async def pair(self, *args: Any, **kwargs: Any) -> None:
        raise BleakError("pairing is not supported by the bumble backend")

    async def unpair(self) -> None:
        raise BleakError("pairing is not supported by the bumble backend")

    # -- discovery ----------------------------------------------------------------------------
    async def _discover(self, connection: Connection) -> BleakGATTServiceCollection:
        client = connection.gatt_client
        uuids = [_bumble_uuid(u) for u in sorted(self._service_filter or ())]
        collection = BleakGATTServiceCollection()
        proxies: list[ServiceProxy] = await client.discover_services(uuids)
        for service in proxies:
            bleak_service = BleakGATTService(service, service.handle, _uuid_str(service.uuid))
            collection.add_service(bleak_service)
            for char in await service.discover_characteristics():
                bleak_char = BleakGATTCharacteristic(
                    char, char.handle, _uuid_str(char.uuid),
                    _property_names(int(char.properties)),
                    lambda: self.mtu_size - 3, bleak_service,
                )
                collection.add_characteristic(bleak_char)
                for desc in await char.discover_descriptors():
                    collection.add_descriptor(
                        BleakGATTDescriptor(desc, desc.handle, _uuid_str(desc.type), bleak_char)
                    )
                char.descriptors_discovered = True
        return collection

    # -- GATT operations ----------------------------------------------------------------------
    async def _run(self, awaitable: Awaitable[_T], what: str) -> _T:
        """Run a GATT operation; map bumble's errors and end it at once if the link drops."""
        lost = self._link_lost
        if self._connection is None or lost is None or lost.done():
            raise BleakError(f"not connected to {self._where()} ({what})")
        task = asyncio.ensure_future(awaitable)
        try:
            await asyncio.wait({task, lost}, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            task.cancel()
            raise
        if not task.done():
            task.cancel()
            raise BleakError(f"{what}: the link to {self._where()} was lost")
        try:
            return task.result()
        except att.ATT_Error as error:
            protocol_error = BleakGATTProtocolError(error.error_code)
            protocol_error.add_note(f"while {what} on {self._where()}")
            raise protocol_error from error
        except asyncio.CancelledError as error:  # bumble cancels requests when the link ends
            raise BleakError(f"{what}: the link to {self._where()} was lost") from error
        except (TimeoutError, core.TimeoutError) as error:
            raise BleakError(f"{what}: no answer from {self._where()}") from error
        except (core.BaseBumbleError, ConnectionError) as error:
            raise BleakError(f"{what} on {self._where()} failed: {error}") from error

    def _proxy(self, characteristic: BleakGATTCharacteristic) -> CharacteristicProxy[bytes]:
        """This connection's proxy for ``characteristic`` (which may come from an earlier one)."""
        current = self.services.get_characteristic(characteristic.handle) if self.services else None
        proxy = (current or characteristic).obj
        if not isinstance(proxy, CharacteristicProxy):
            raise BleakError(f"characteristic {characteristic.uuid} is not from this backend")
        return proxy

    async def read_gatt_char(
        self, characteristic: BleakGATTCharacteristic, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        connection = self._connection
        if use_cached and connection is not None:
            cached = connection.gatt_client.cached_values.get(characteristic.handle)
            if cached is not None:
                return bytearray(cached[1])
        what = f"reading {characteristic.uuid}"
        if connection is None:
            raise BleakError(f"not connected to {self._where()} ({what})")
        value = await self._run(connection.gatt_client.read_value(characteristic.handle), what)
        return bytearray(value)

    async def read_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        what = f"reading descriptor {descriptor.handle}"
        connection = self._connection
        if connection is None:
            raise BleakError(f"not connected to {self._where()} ({what})")
        value = await self._run(connection.gatt_client.read_value(descriptor.handle), what)
        return bytearray(value)

    async def write_gatt_char(
        self, characteristic: BleakGATTCharacteristic, data: Any, response: bool
    ) -> None:
        what = f"writing {characteristic.uuid}"
        connection = self._connection
        if connection is None:
            raise BleakError(f"not connected to {self._where()} ({what})")
        await self._run(
            connection.gatt_client.write_value(
                characteristic.handle, bytes(data), with_response=bool(response)
            ),
            what,
        )

    async def write_gatt_descriptor(self, descriptor: BleakGATTDescriptor, data: Any) -> None:
        what = f"writing descriptor {descriptor.handle}"
        connection = self._connection
        if connection is None:
            raise BleakError(f"not connected to {self._where()} ({what})")
        await self._run(
            connection.gatt_client.write_value(descriptor.handle, bytes(data), with_response=True),
            what,
        )

    async def start_notify(
        self, characteristic: BleakGATTCharacteristic, callback: NotifyCallback, **kwargs: Any
    ) -> None:
        what = f"enabling notifications on {characteristic.uuid}"
        connection = self._connection
        if connection is None:
            raise BleakError(f"not connected to {self._where()} ({what})")
        proxy = self._proxy(characteristic)
        if not {"notify", "indicate"} & set(characteristic.properties):
            raise BleakError(f"{what}: the characteristic neither notifies nor indicates")
        if proxy.get_descriptor(core.UUID("2902")) is None:
            raise BleakError(f"{what}: the characteristic has no CCCD (0x2902)")
        handle = characteristic.handle
        subscriber = self._subscribers.setdefault(handle, self._make_subscriber(handle))
        self._notify_callbacks[handle] = callback
        try:
            await self._run(connection.gatt_client.subscribe(proxy, subscriber, True), what)
        except BaseException:
            self._notify_callbacks.pop(handle, None)
            raise

    def _make_subscriber(self, handle: int) -> Callable[[bytes], None]:
        def deliver(value: bytes) -> None:
            callback = self._notify_callbacks.get(handle)
            if callback is not None:
                callback(bytearray(value))

        return deliver

    async def stop_notify(self, characteristic: BleakGATTCharacteristic) -> None:
        handle = characteristic.handle
        self._notify_callbacks.pop(handle, None)
        connection = self._connection
        if connection is None:
            return
        proxy = self._proxy(characteristic)
        subscriber = self._subscribers.pop(handle, None)
        if subscriber is None:
            return
        try:
            await self._run(
                connection.gatt_client.unsubscribe(proxy, subscriber),
                f"disabling notifications on {characteristic.uuid}",
            )
        except BleakError:
            if self._connection is not None:
                raise


def _property_names(properties: int) -> list[str]:
    """bleak's names of the characteristic property bits, in bit order (Core Vol 3 G 3.3.1.1)."""
    return [name for bit, name in sorted(CHARACTERISTIC_PROPERTIES.items()) if properties & bit]


def _bumble_uuid(text: str) -> core.UUID:
    """A bumble UUID from bleak's 128-bit spelling, in its 16-bit form when it has one.

    Discovery by service UUID (Core Vol 3 Part G 4.4.2) sends the UUID as the attribute value to
    match; a 16-bit service is declared with a 2-byte value, so it is sent in that form.
    """
    if text.startswith("0000") and text.endswith(_BASE_UUID_TAIL):
        return core.UUID(text[4:8])
    return core.UUID(text)


def _uuid_str(value: core.UUID) -> str:
    """bleak's spelling of a bumble UUID: lower-case 128-bit with dashes."""
    return normalize_uuid_str(_uuid128_from_le(value.to_bytes(force_128=True)))


# --------------------------------------------------------------------------------------------
# Public entry point
# --------------------------------------------------------------------------------------------
_backend_classes: dict[str, tuple[type[BaseBleakScanner], type[BaseBleakClient]]] = {}


def bumble_backends(
    transport: str = DEFAULT_TRANSPORT,
) -> tuple[type[BaseBleakScanner], type[BaseBleakClient]]:
    """Scanner and client classes bound to one bumble host on ``transport``.

    Parameters
    ----------
    transport : str
        bumble HCI transport spec, e.g. ``tcp-client:127.0.0.1:47330`` (the virtual sensor serves
        a controller there). The host is opened on first use.

    Returns
    -------
    (type, type)
        Classes to pass as ``backend=`` to ``bleak.BleakScanner`` and ``bleak.BleakClient``; the
        same pair is returned for the same spec.
    """
    if not isinstance(transport, str) or ":" not in transport:
        raise ValueError(
            f"transport must be a bumble HCI transport spec such as {DEFAULT_TRANSPORT!r}, "
            f"got {transport!r}"
        )
    if transport not in _backend_classes:
        scanner = type("BumbleScanner", (_BumbleScannerBase,), {"transport_spec": transport})
        client = type("BumbleClient", (_BumbleClientBase,), {"transport_spec": transport})
        _backend_classes[transport] = (scanner, client)
    return _backend_classes[transport]
