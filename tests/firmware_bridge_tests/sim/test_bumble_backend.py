"""bleak over the bumble backend, against in-process bumble peripherals on a virtual link.

Each test builds its own "air": a bumble ``LocalLink`` with one virtual controller served on a
loopback ``tcp-server`` port (the central side, reached by the backend through ``tcp-client``) and
one controller plus a bumble ``Device`` per peripheral, running a small GATT server.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import sys
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pytest
from bleak import BleakClient, BleakScanner
from bleak.exc import BleakDeviceNotFoundError, BleakError, BleakGATTProtocolError
from bumble import att
from bumble.controller import Controller
from bumble.core import UUID, AdvertisingData
from bumble.device import Connection, Device
from bumble.gatt import Characteristic, CharacteristicValue, Service
from bumble.hci import Address
from bumble.host import Host
from bumble.link import LocalLink
from bumble.transport import open_transport
from bumble.transport.common import AsyncPipeSink

from firmware_bridge.sim.bumble_backend import bumble_backends
from firmware_bridge.sim.bumble_host import close_bumble_host
from firmware_bridge.protocols.constants import (BATTERY_LEVEL_UUID, BATTERY_SERVICE_UUID,
                                                 LEGACCEL_CONTROL_UUID, LEGACCEL_DATA_UUID,
                                                 LEGACCEL_SERVICE_UUID, PMD_CONTROL_UUID,
                                                 PMD_SERVICE_UUID)
from repo import REPO

REPO_ROOT = REPO
#: Upper bound on any single wait in these tests, s (a guard against hangs, not a measurement).
GUARD_S = 5.0
#: Company identifier reserved for testing (Bluetooth SIG assigned numbers).
TEST_COMPANY_ID = 0xFFFF
MISSING_ADDRESS = "F0:F0:F0:F0:F0:99"

_T = TypeVar("_T")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def guard(awaitable: Awaitable[_T]) -> _T:
    return await asyncio.wait_for(awaitable, GUARD_S)


def run(coro: Awaitable[Any]) -> Any:
    return asyncio.run(coro)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# The other side: a peripheral with a tiny GATT server
# --------------------------------------------------------------------------------------------
class Peripheral:
    """A bumble peripheral: notify data, write+notify control, indicate, battery."""

    def __init__(self, link: LocalLink, address: str, name: str) -> None:
        self.address = address
        self.name = name
        self.controller = Controller(f"ctrl-{name}", link=link)
        self.device = Device(
            name=name, address=Address(address),
            host=Host(self.controller, AsyncPipeSink(self.controller)),
        )
        self.writes: list[bytes] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self.links_opened = 0
        self.links_closed = 0
        props = Characteristic.Properties
        self.data = Characteristic(LEGACCEL_DATA_UUID, props.NOTIFY, Characteristic.READABLE, b"")
        self.control = Characteristic(
            LEGACCEL_CONTROL_UUID, props.WRITE | props.WRITE_WITHOUT_RESPONSE | props.NOTIFY,
            Characteristic.WRITEABLE,
            CharacteristicValue(read=self._refuse_read, write=self._on_control_write),
        )
        self.indicated = Characteristic(
            PMD_CONTROL_UUID, props.READ | props.INDICATE, Characteristic.READABLE, b"\x0f\x04"
        )
        self.battery = Characteristic(
            BATTERY_LEVEL_UUID, props.READ | props.NOTIFY, Characteristic.READABLE, bytes([87])
        )
        self.device.add_services([
            Service(LEGACCEL_SERVICE_UUID, [self.data, self.control]),
            Service(PMD_SERVICE_UUID, [self.indicated]),
            Service(BATTERY_SERVICE_UUID, [self.battery]),
        ])
        # bumble's virtual controller never delivers scan response data, so the name, the service
        # and the manufacturer data all go in the advertising data (at most 31 bytes on a radio).
        self.device.advertising_data = bytes(AdvertisingData([
            (AdvertisingData.COMPLETE_LOCAL_NAME, name.encode()),
            (AdvertisingData.INCOMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
             bytes(UUID(LEGACCEL_SERVICE_UUID))),
            (AdvertisingData.MANUFACTURER_SPECIFIC_DATA,
             TEST_COMPANY_ID.to_bytes(2, "little") + b"\x01"),
        ]))
        self.device.on("connection", self._on_connection)
        self.connection: Connection | None = None

    def _on_connection(self, connection: Connection) -> None:
        self.connection = connection
        self.links_opened += 1

        def closed(_reason: int) -> None:
            self.links_closed += 1
            if self.connection is connection:
                self.connection = None

        connection.on("disconnection", closed)

    @staticmethod
    def _refuse_read(_connection: Connection) -> bytes:
        raise att.ATT_Error(att.ATT_READ_NOT_PERMITTED_ERROR)

    def _on_control_write(self, connection: Connection, value: bytes) -> None:
        self.writes.append(bytes(value))
        reply = b"\xf0" + bytes(value)
        task = asyncio.get_running_loop().create_task(
            self.device.notify_subscriber(connection, self.control, reply)
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def start(self) -> None:
        await self.device.power_on()
        await self.device.start_advertising(
            auto_restart=True, advertising_interval_min=20, advertising_interval_max=20
        )

    async def drop_link(self) -> None:
        assert self.connection is not None
        await self.connection.disconnect()


@dataclass
class World:
    port: int
    server: Any
    central_controller: Controller
    link: LocalLink
    peripherals: list[Peripheral] = field(default_factory=list)

    @property
    def spec(self) -> str:
        return f"tcp-client:127.0.0.1:{self.port}"

    def backends(self) -> tuple[type, type]:
        return bumble_backends(self.spec)

    def close_server(self) -> None:
        """What the central sees when the virtual sensor process quits: the socket closes."""
        self.server.server.close()
        if self.server.sink.transport is not None:
            self.server.sink.transport.close()


@contextlib.asynccontextmanager
async def virtual_air(n_peripherals: int = 1, port: int | None = None) -> AsyncIterator[World]:
    link = LocalLink()
    port = port or free_port()
    server = await open_transport(f"tcp-server:127.0.0.1:{port}")
    central = Controller("central", host_source=server.source, host_sink=server.sink, link=link)
    world = World(port, server, central, link)
    for i in range(n_peripherals):
        peripheral = Peripheral(link, f"F0:F0:F0:F0:F0:0{i + 1}", f"LA-{i + 1}")
        await peripheral.start()
        world.peripherals.append(peripheral)
    try:
        yield world
    finally:
        await close_bumble_host(world.spec)
        world.close_server()
        for peripheral in world.peripherals:
            await peripheral.device.stop_advertising()


class Notes:
    """Collects notifications per characteristic UUID and disconnect callbacks."""

    def __init__(self) -> None:
        self.values: dict[str, list[bytes]] = {}
        self.disconnects = 0
        self._changed = asyncio.Event()

    def on_value(self, char: Any, data: bytearray) -> None:
        assert isinstance(data, bytearray)
        self.values.setdefault(char.uuid, []).append(bytes(data))
        self._changed.set()

    def on_disconnect(self, _client: BleakClient) -> None:
        self.disconnects += 1
        self._changed.set()

    async def wait(self, predicate: Any) -> None:
        async def loop() -> None:
            while not predicate():
                self._changed.clear()
                await self._changed.wait()

        await guard(loop())


# --------------------------------------------------------------------------------------------
# Tests
# --------------------------------------------------------------------------------------------
def test_bumble_backends_binds_one_pair_per_transport() -> None:
    first = bumble_backends("tcp-client:127.0.0.1:1")
    assert bumble_backends("tcp-client:127.0.0.1:1") == first
    assert bumble_backends("tcp-client:127.0.0.1:2") != first
    with pytest.raises(ValueError, match="transport spec"):
        bumble_backends("127.0.0.1")


def test_scan_finds_the_peripheral_by_name_and_service_uuid() -> None:
    async def scenario() -> None:
        async with virtual_air(2) as world:
            scanner, _ = world.backends()
            found = await BleakScanner.discover(
                timeout=0.3, return_adv=True, service_uuids=[LEGACCEL_SERVICE_UUID], backend=scanner
            )
            assert set(found) == {"F0:F0:F0:F0:F0:01", "F0:F0:F0:F0:F0:02"}
            device, adv = found["F0:F0:F0:F0:F0:01"]
            assert device.name == adv.local_name == "LA-1"
            assert adv.service_uuids == [LEGACCEL_SERVICE_UUID]
            assert adv.manufacturer_data == {TEST_COMPANY_ID: b"\x01"}
            assert adv.rssi == -50  # what bumble's virtual controller reports for every packet

            other = await BleakScanner.discover(
                timeout=0.2, return_adv=True, service_uuids=[PMD_SERVICE_UUID], backend=scanner
            )
            assert other == {}

            by_name = await BleakScanner.find_device_by_name("LA-2", timeout=2, backend=scanner)
            assert by_name is not None and by_name.address == "F0:F0:F0:F0:F0:02"
            by_address = await BleakScanner.find_device_by_address(
                "f0:f0:f0:f0:f0:01", timeout=2, backend=scanner
            )
            assert by_address is not None and by_address.name == "LA-1"

    run(scenario())


def test_connect_by_address_discovers_services_reads_and_disconnects() -> None:
    async def scenario() -> None:
        async with virtual_air() as world:
            _, client_cls = world.backends()
            notes = Notes()
            client = BleakClient(
                "F0:F0:F0:F0:F0:01", notes.on_disconnect, backend=client_cls, timeout=GUARD_S
            )
            await client.connect()
            assert client.is_connected
            assert client.mtu_size == 247
            data = client.services.get_characteristic(LEGACCEL_DATA_UUID)
            control = client.services.get_characteristic(LEGACCEL_CONTROL_UUID)
            indicated = client.services.get_characteristic(PMD_CONTROL_UUID)
            battery = client.services.get_characteristic(BATTERY_LEVEL_UUID)
            assert data.properties == ["notify"]
            assert control.properties == ["write-without-response", "write", "notify"]
            assert indicated.properties == ["read", "indicate"]
            assert battery.properties == ["read", "notify"]
            assert data.service_uuid == control.service_uuid == LEGACCEL_SERVICE_UUID
            assert battery.service_uuid == BATTERY_SERVICE_UUID
            cccd = "00002902-0000-1000-8000-00805f9b34fb"
            assert [d.uuid for d in control.descriptors] == [cccd]
            assert control.max_write_without_response_size == 244

            assert await client.read_gatt_char(BATTERY_LEVEL_UUID) == bytearray([87])
            assert await client.read_gatt_char(PMD_CONTROL_UUID) == bytearray(b"\x0f\x04")
            with pytest.raises(BleakGATTProtocolError) as excinfo:
                await client.read_gatt_char(LEGACCEL_CONTROL_UUID)  # the peripheral refuses
            assert excinfo.value.code == 0x02  # ATT Read Not Permitted

            await client.disconnect()
            await client.disconnect()  # idempotent
            assert not client.is_connected
            assert notes.disconnects == 1  # fired once, as bleak's BlueZ backend does
            with pytest.raises(BleakError):
                await client.read_gatt_char(battery)

            filtered = BleakClient(
                "F0:F0:F0:F0:F0:01", services=[BATTERY_SERVICE_UUID, PMD_SERVICE_UUID],
                backend=client_cls, timeout=GUARD_S,
            )
            await filtered.connect()
            assert sorted(s.uuid for s in filtered.services) == [
                BATTERY_SERVICE_UUID, PMD_SERVICE_UUID
            ]
            assert await filtered.read_gatt_char(battery) == bytearray([87])  # an earlier object
            await filtered.disconnect()

    run(scenario())


def test_writes_replies_notifications_and_indications_arrive_in_order() -> None:
    async def scenario() -> None:
        async with virtual_air() as world:
            peripheral = world.peripherals[0]
            _, client_cls = world.backends()
            notes = Notes()
            async with BleakClient(
                "F0:F0:F0:F0:F0:01", backend=client_cls, timeout=GUARD_S
            ) as client:
                await client.start_notify(LEGACCEL_CONTROL_UUID, notes.on_value)
                await client.start_notify(LEGACCEL_DATA_UUID, notes.on_value)
                await client.start_notify(PMD_CONTROL_UUID, notes.on_value)

                await client.write_gatt_char(LEGACCEL_CONTROL_UUID, b"\x01\x10\x27", response=True)
                await client.write_gatt_char(
                    LEGACCEL_CONTROL_UUID, bytearray(b"\x02"), response=False
                )
                await notes.wait(lambda: len(notes.values.get(LEGACCEL_CONTROL_UUID, [])) == 2)
                assert peripheral.writes == [b"\x01\x10\x27", b"\x02"]
                assert notes.values[LEGACCEL_CONTROL_UUID] == [b"\xf0\x01\x10\x27", b"\xf0\x02"]

                packets = [bytes([k]) * 240 for k in range(60)]  # 240 B fits MTU 247 - 3
                for packet in packets:
                    await peripheral.device.notify_subscribers(peripheral.data, packet)
                indications = [bytes([0xF0, 0x02, k]) for k in range(5)]
                for value in indications:
                    await peripheral.device.indicate_subscribers(peripheral.indicated, value)
                await notes.wait(lambda: len(notes.values.get(LEGACCEL_DATA_UUID, [])) == 60)
                assert notes.values[LEGACCEL_DATA_UUID] == packets
                assert notes.values[PMD_CONTROL_UUID] == indications

                await client.stop_notify(LEGACCEL_DATA_UUID)
                await peripheral.device.notify_subscribers(peripheral.data, b"late")
                await peripheral.device.notify_subscribers(peripheral.control, b"\xf0\x09")
                await notes.wait(lambda: len(notes.values[LEGACCEL_CONTROL_UUID]) == 3)
                assert notes.values[LEGACCEL_DATA_UUID] == packets  # nothing after stop_notify

    run(scenario())


def test_peripheral_dropping_the_link_fires_disconnected_callback() -> None:
    async def scenario() -> None:
        async with virtual_air() as world:
            peripheral = world.peripherals[0]
            _, client_cls = world.backends()
            notes = Notes()
            client = BleakClient(
                "F0:F0:F0:F0:F0:01", notes.on_disconnect, backend=client_cls, timeout=GUARD_S
            )
            await client.connect()
            await client.start_notify(LEGACCEL_DATA_UUID, notes.on_value)
            await peripheral.drop_link()
            await notes.wait(lambda: notes.disconnects == 1)
            assert not client.is_connected
            with pytest.raises(BleakError):
                await client.write_gatt_char(LEGACCEL_CONTROL_UUID, b"\x02", response=True)
            await client.disconnect()  # tolerant of the dead link
            assert notes.disconnects == 1

    run(scenario())


def test_reconnects_ten_times() -> None:
    async def scenario() -> None:
        async with virtual_air() as world:
            peripheral = world.peripherals[0]
            _, client_cls = world.backends()
            notes = Notes()
            client = BleakClient(
                "F0:F0:F0:F0:F0:01", notes.on_disconnect, backend=client_cls, timeout=GUARD_S
            )
            for cycle in range(10):
                await client.connect()
                await client.start_notify(LEGACCEL_DATA_UUID, notes.on_value)
                await peripheral.device.notify_subscribers(peripheral.data, bytes([cycle]))
                await notes.wait(lambda: len(notes.values.get(LEGACCEL_DATA_UUID, [])) == cycle + 1)
                if cycle % 2:
                    await peripheral.drop_link()
                else:
                    await client.stop_notify(LEGACCEL_DATA_UUID)  # stale state must not matter
                    await client.disconnect()
                await notes.wait(lambda: notes.disconnects == cycle + 1)
            assert notes.values[LEGACCEL_DATA_UUID] == [bytes([k]) for k in range(10)]
            assert peripheral.links_opened == peripheral.links_closed == 10

    run(scenario())


def test_two_peripherals_connected_at_once() -> None:
    async def scenario() -> None:
        async with virtual_air(2) as world:
            left, right = world.peripherals
            _, client_cls = world.backends()
            notes = {p.address: Notes() for p in world.peripherals}
            clients = {
                p.address: BleakClient(
                    p.address, notes[p.address].on_disconnect, backend=client_cls, timeout=GUARD_S
                )
                for p in world.peripherals
            }
            await guard(asyncio.gather(*(c.connect() for c in clients.values())))
            for address, client in clients.items():
                await client.start_notify(LEGACCEL_DATA_UUID, notes[address].on_value)
            await left.device.notify_subscribers(left.data, b"left")
            await right.device.notify_subscribers(right.data, b"right")
            for address, expected in ((left.address, b"left"), (right.address, b"right")):
                note = notes[address]
                await note.wait(lambda note=note: LEGACCEL_DATA_UUID in note.values)
                assert note.values[LEGACCEL_DATA_UUID] == [expected]

            await left.drop_link()
            await notes[left.address].wait(lambda: notes[left.address].disconnects == 1)
            assert clients[right.address].is_connected
            assert notes[right.address].disconnects == 0
            assert await clients[right.address].read_gatt_char(BATTERY_LEVEL_UUID) == b"\x57"

            second = BleakClient(right.address, backend=client_cls, timeout=GUARD_S)
            with pytest.raises(BleakError, match="already connected"):
                await second.connect()

    run(scenario())


def test_missing_address_fails_clearly_and_leaves_the_host_usable() -> None:
    async def scenario() -> None:
        async with virtual_air() as world:
            _, client_cls = world.backends()
            missing = BleakClient(MISSING_ADDRESS, backend=client_cls, timeout=0.5)
            with pytest.raises(BleakDeviceNotFoundError, match=MISSING_ADDRESS) as excinfo:
                await guard(missing.connect())
            assert excinfo.value.identifier == MISSING_ADDRESS
            assert "no advertisement within 0.5 s" in str(excinfo.value)
            # No connection request reached the controller, so it is not left waiting for one.
            assert world.central_controller.pending_le_connection is None

            present = BleakClient("F0:F0:F0:F0:F0:01", backend=client_cls, timeout=GUARD_S)
            await guard(present.connect())
            assert present.is_connected

            with pytest.raises(BleakError, match="invalid Bluetooth address"):
                await BleakClient("not-an-address", backend=client_cls).connect()

    run(scenario())


def test_device_vanishing_during_connect_times_out_and_the_late_link_is_dropped() -> None:
    async def scenario() -> None:
        async with virtual_air() as world:
            peripheral = world.peripherals[0]
            central = world.central_controller
            complete = central.create_le_connection
            # The central saw the peripheral advertise, then hears nothing more from it: the
            # virtual controller keeps the connection request pending and never answers it.
            central.create_le_connection = lambda _address: None
            _, client_cls = world.backends()
            client = BleakClient(peripheral.address, backend=client_cls, timeout=0.5)
            with pytest.raises(BleakError, match="timed out after 0.5 s creating the connection"):
                await guard(client.connect())
            assert central.pending_le_connection is not None  # bumble ignores the cancel

            # The peripheral is heard again: the stale request completes. Nobody asked for that
            # link any more, so the backend ends it, and a new connect works.
            central.create_le_connection = complete

            async def late_link_dropped() -> None:
                while peripheral.links_closed < 1:
                    await asyncio.sleep(0.01)

            await guard(late_link_dropped())
            assert central.pending_le_connection is None
            await guard(client.connect(timeout=GUARD_S))  # per-call timeout
            assert client.is_connected
            assert peripheral.links_opened == 2

    run(scenario())


def test_transport_loss_disconnects_everyone_and_the_host_reopens() -> None:
    async def scenario() -> None:
        port = free_port()
        async with virtual_air(2, port=port) as world:
            _, client_cls = world.backends()
            notes = Notes()
            clients = [
                BleakClient(p.address, notes.on_disconnect, backend=client_cls, timeout=GUARD_S)
                for p in world.peripherals
            ]
            for client in clients:
                await client.connect()
            world.close_server()  # the virtual sensor quits
            await notes.wait(lambda: notes.disconnects == 2)
            assert not any(c.is_connected for c in clients)
            with pytest.raises(BleakError, match="cannot open the HCI transport"):
                await guard(clients[0].connect())

        async with virtual_air(1, port=port) as world:  # the virtual sensor is back
            await guard(clients[0].connect())
            assert await clients[0].read_gatt_char(BATTERY_LEVEL_UUID) == b"\x57"
            await clients[0].disconnect()

    run(scenario())


CHILD = """
import asyncio, sys
from bleak import BleakClient
from firmware_bridge.sim.bumble_backend import bumble_backends

async def main():
    _, client_cls = bumble_backends(sys.argv[1])
    client = BleakClient(sys.argv[2], backend=client_cls, timeout=5)
    await client.connect()
    print("connected", flush=True)
    await asyncio.sleep(60)

asyncio.run(main())
"""


def test_central_killed_without_disconnect_leaves_the_link_until_a_new_host_opens() -> None:
    """What the kill -9 recovery relies on (see the module docstring of bumble_backend)."""

    async def scenario() -> None:
        async with virtual_air() as world:
            peripheral = world.peripherals[0]
            child = await asyncio.create_subprocess_exec(
                sys.executable, "-c", CHILD, world.spec, peripheral.address,
                cwd=REPO_ROOT, stdout=asyncio.subprocess.PIPE,
            )
            try:
                assert (await asyncio.wait_for(child.stdout.readline(), 20)) == b"connected\n"
            finally:
                child.kill()
                await child.wait()

            async def socket_closed() -> None:
                while world.server.sink.transport is not None:
                    await asyncio.sleep(0.01)

            await guard(socket_closed())
            # bumble 0.0.236: the controller keeps the dead central's link, and the peripheral,
            # still connected, does not advertise, so no new central could find it.
            assert len(world.central_controller.le_connections) == 1
            assert peripheral.connection is not None
            assert not peripheral.controller.is_advertising

            # A new host ends links it did not make; the peripheral advertises again.
            _, client_cls = world.backends()
            client = BleakClient(peripheral.address, backend=client_cls, timeout=GUARD_S)
            await guard(client.connect())
            assert client.is_connected
            assert peripheral.links_opened == 2 and peripheral.links_closed == 1
            assert len(world.central_controller.le_connections) == 1

    run(scenario())
