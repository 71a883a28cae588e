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
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar, TypeVar

from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient, NotifyCallback
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData, BaseBleakScanner
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.exc import BleakDeviceNotFoundError, BleakError, BleakGATTProtocolError
from bumble import att, core, hci
from bumble.core import PhysicalTransport
from bumble.device import Advertisement, Connection
from bumble.gatt_client import CharacteristicProxy, ServiceProxy

from firmware_bridge.protocols.constants import DEFAULT_VIRTUAL_HOST, DEFAULT_VIRTUAL_PORT
from firmware_bridge.sim.bumble_host import (DISCONNECT_TIMEOUT_S, address_key, being_cancelled,
                                             bumble_uuid, get_host, Host, parse_ad, parse_address,
                                             property_names, quiet, uuid_str)

logger = logging.getLogger(__name__)

__all__ = ["bumble_backends", "DEFAULT_TRANSPORT"]

#: The HCI transport the virtual sensor serves (``legtwitch sensor-sim``).
DEFAULT_TRANSPORT = f"tcp-client:{DEFAULT_VIRTUAL_HOST}:{DEFAULT_VIRTUAL_PORT}"

#: ATT MTU requested on every connection, bytes (the largest that fits one LE data PDU).
REQUESTED_MTU = 247
#: Default ATT MTU before the exchange, bytes (Bluetooth Core Vol 3 Part F 3.2.8).
DEFAULT_ATT_MTU = 23
#: Time allowed for the create-connection cancel sent after a connect timed out, s.
CANCEL_TIMEOUT_S = 0.5

_T = TypeVar("_T")


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
        self._host: Host | None = None
        self._generation = 0
        self._merged: dict[str, dict[str, Any]] = {}

    async def start(self) -> None:
        if self._host is not None:
            return
        host = get_host(self.transport_spec)
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
        key = address_key(adv.address)
        merged = self._merged.setdefault(key, {})
        fields = parse_ad(adv.data.ad_structures)
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
        self._host: Host | None = None
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
        target = self._known_address or parse_address(self.address)
        host = get_host(self.transport_spec)
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

    def _check_not_taken(self, host: Host, target: hci.Address) -> None:
        wanted = bytes(target.address_bytes)
        for client in host.clients:
            connection = client._connection
            if connection is not None and bytes(connection.peer_address.address_bytes) == wanted:
                raise BleakError(f"{self._where()} is already connected by another client")

    async def _create_connection(self, host: Host, target: hci.Address) -> Connection:
        device = host.device
        if device is None:
            raise BleakError(f"the HCI transport {self.transport_spec!r} closed")
        host.connecting_to = bytes(target.address_bytes)
        try:
            return await device.connect(target, transport=PhysicalTransport.LE, timeout=None)
        except asyncio.CancelledError:
            if not being_cancelled():  # bumble aborts a pending connect when the transport closes
                raise BleakError(
                    f"the HCI transport {self.transport_spec!r} closed while connecting"
                ) from None
            if host.device is device:
                # Timed out: ask the controller to stop trying (best effort, see the module
                # docstring), and end a link that completed just as the timeout struck.
                await quiet(
                    device.host.send_command(hci.HCI_LE_Create_Connection_Cancel_Command()),
                    CANCEL_TIMEOUT_S,
                )
                late = device.find_connection_by_bd_addr(target, PhysicalTransport.LE)
                if late is not None and not any(c.owns(late) for c in host.clients):
                    await quiet(late.disconnect(), DISCONNECT_TIMEOUT_S)
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

    def _adopt(self, host: Host, connection: Connection) -> None:
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
            await quiet(connection.disconnect(), DISCONNECT_TIMEOUT_S)

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
        await quiet(connection.disconnect(), DISCONNECT_TIMEOUT_S)
        if self._connection is connection:  # no disconnection event came: the link is dead
            self._on_disconnection(hci.HCI_CONNECTION_TIMEOUT_ERROR)

    async def pair(self, *args: Any, **kwargs: Any) -> None:
        raise BleakError("pairing is not supported by the bumble backend")

    async def unpair(self) -> None:
        raise BleakError("pairing is not supported by the bumble backend")

    # -- discovery ----------------------------------------------------------------------------
    async def _discover(self, connection: Connection) -> BleakGATTServiceCollection:
        client = connection.gatt_client
        uuids = [bumble_uuid(u) for u in sorted(self._service_filter or ())]
        collection = BleakGATTServiceCollection()
        proxies: list[ServiceProxy] = await client.discover_services(uuids)
        for service in proxies:
            bleak_service = BleakGATTService(service, service.handle, uuid_str(service.uuid))
            collection.add_service(bleak_service)
            for char in await service.discover_characteristics():
                bleak_char = BleakGATTCharacteristic(
                    char, char.handle, uuid_str(char.uuid),
                    property_names(int(char.properties)),
                    lambda: self.mtu_size - 3, bleak_service,
                )
                collection.add_characteristic(bleak_char)
                for desc in await char.discover_descriptors():
                    collection.add_descriptor(
                        BleakGATTDescriptor(desc, desc.handle, uuid_str(desc.type), bleak_char)
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
