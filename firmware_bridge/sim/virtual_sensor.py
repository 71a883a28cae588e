"""Virtual BLE accelerometers on a real BLE stack (bumble), with the faults of a real night.

``legtwitch sensor-sim`` runs :func:`run_virtual_sensors`: one in-process bumble
:class:`~bumble.link.LocalLink` (the "air") with one virtual controller and one bumble host per
sensor, and an HCI controller for the central served on a loopback TCP port
(``tcp-server:127.0.0.1:47330`` by default). ``legtwitch record --virtual`` connects a bumble host
to that port (``tcp-client:127.0.0.1:47330``) and sees the sensors as it would see real ones: it
scans their advertisements, connects, negotiates the ATT MTU, discovers services, subscribes and
writes commands.

Each :class:`VirtualSensor` speaks LegAccel v1 or Polar PMD (Verity Sense: compressed 0x81 ACC
frames; H10: raw int16 0x01 frames), serves Battery and Device Information, and re-advertises
after every disconnect until its night has been sent (then it stops advertising: a sensor that is
gone). It "measures" a :class:`SensorSource` (a night quantised to the sensor's counts): source
time starts with the first start command, as a real sensor's stream does, and from then on
advances with wall time x ``speed`` whether or not anyone listens. While a central is streaming,
samples are sent in packets as they occur, as many as fit the MTU. Samples produced while nobody
listens, or while a fault cuts the stream, are lost; :mod:`firmware_bridge.sim.faults` logs
exactly which. The battery drains with time from power-on.

Each TCP connection to the port gets a fresh central controller on the link. When that TCP
connection closes without the central disconnecting first (the recorder was killed), every link of
that controller is dropped as if by a supervision timeout, so the sensors advertise again and a
restarted recorder can connect.

The sensor's device clock (LegAccel) is source time since the virtual boot: sample ``j`` has
device time ``(j - boot_sample) / fs_hz``; a reboot sets ``boot_sample`` to the first sample after
it. Polar timestamps come from the sensor's real-time clock: ``t0_unix_s + j / fs_hz``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from firmware_bridge.protocols.constants import BATTERY_LEVEL_UUID, BATTERY_SERVICE_UUID
from firmware_bridge.sim.faults import (CORRUPT, CORRUPT_KINDS, DROP, DUPLICATE, HOLD,
                                        corrupt_packet, FaultLog, FaultPlan, PacketFaults,
                                        SampleLedger)
from firmware_bridge.sim.source import VirtualSensorSpec

if TYPE_CHECKING:
    pass

__all__ = ["VirtualSensorSpec", "VirtualSensor", "FaultPlan", "POLAR_FRAME_SAMPLES", "TICK_S"]

log = logging.getLogger(__name__)

#: Wall seconds between two looks at the source clock (samples are produced in between and
#: disposed of, sent or lost, at each look).
TICK_S = 0.01
#: Advertising interval of the virtual sensors, ms (short, so scans and reconnects are quick).
ADVERTISING_INTERVAL_MS = 50.0
#: Most samples in one Verity Sense compressed ACC frame (the real sensor sends ~71).
POLAR_FRAME_SAMPLES = 71
#: Largest LE ACL payload the virtual controllers take in one HCI packet, bytes (LE Data Length
#: Extension), so one notification at MTU 247 is one packet.
LE_ACL_DATA_PACKET_LENGTH = 251
#: HCI reason "connection timeout": what a central sees when a sensor's radio goes away.
REASON_CONNECTION_TIMEOUT = 0x08


# --------------------------------------------------------------------------------------------
# The source: what the virtual sensor measures
# --------------------------------------------------------------------------------------------


# --------------------------------------------------------------------------------------------
# One virtual sensor
# --------------------------------------------------------------------------------------------

@dataclass
class Session:
    """A running stream (LegAccel session or Polar ACC measurement)."""

    session_id: int | None
    first_sample: int          # source index of first_index 0
    buf_start: int             # first source sample not yet put in a packet
    spp: int                   # most samples per packet
    seq: int = 0
    reply_pending: bool = True  # nothing is sent before the start reply
    held: tuple[bytes, int, int, int] | None = None   # (payload, first, n, seq) of a reorder


class VirtualSensor:
    """A BLE peripheral streaming a :class:`SensorSource` to whoever starts it.

    Created and driven by :class:`VirtualSensorServer`; tests read :attr:`ledger`,
    :attr:`session_id`, :attr:`boot_sample`, :attr:`battery_pct` and :attr:`errors`.
    """

    def __init__(self, spec: VirtualSensorSpec, index: int, link: Any, speed: float,
                 fault_log: FaultLog | None, status: Callable[[str], None]) -> None:
        self.spec = spec
        self.index = index
        self.name = spec.name
        self.address = spec.address
        self.protocol = spec.protocol
        self.source = spec.source
        self.plan = spec.faults
        self.speed = float(speed)
        self.link = link
        self._status_cb = status
        self.ledger = SampleLedger(spec.name, spec.source.n_samples, fault_log)
        self.packet_faults = PacketFaults(spec.faults)
        self.errors: list[str] = []
        n = spec.source.n_samples
        self._n = n
        self._fs = float(spec.source.fs_hz)
        self._fs_centihz = int(round(self._fs * 100))
        self._t_start: float | None = None     # the source's start (the first start command)
        self._powered_on: float | None = None
        self._last_tick: float | None = None
        self.cursor = 0                       # source samples disposed of (sent, buffered, lost)
        self.boot_sample = 0
        self.boots = [0]                      # source index of sample 0 of each boot
        self.session: Session | None = None
        self.session_id: int | None = None    # last LegAccel session id handed out
        self.conn: Any = None
        self._dropping = False                # a fault is taking the link down
        self.stalled_until: float | None = None
        self.rebooting_until: float | None = None
        self._cause: tuple[str, dict[str, Any]] | None = ("not_streaming",
                                                         {"cause": "not started"})
        self._cause_sid: int | None = None
        self._fault_clock = {"reboot": 0.0, "disconnect": 0.0, "stall": 0.0}
        self._packet_fault_counts = {"dropped": 0, "duplicated": 0, "reordered": 0,
                                     "corrupted": 0}
        self._n_corrupted = 0
        self._packet_fault_report_at = 0.0
        self.battery_pct = self.plan.battery_pct(0.0)
        self.finished = asyncio.Event()
        self.closed = False
        self._tasks: set[asyncio.Task[Any]] = set()
        self._rng_sid = secrets.SystemRandom()
        # bumble objects (created in start())
        self.controller: Any = None
        self.device: Any = None
        self._adv_set: Any = None
        self._data_char: Any = None
        self._control_char: Any = None
        self._battery_char: Any = None

    # -- status --------------------------------------------------------------------------------
    def _status(self, text: str) -> None:
        with contextlib.suppress(Exception):
            self._status_cb(f"{self.name}: {text}")

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            exc = task.exception()
            self.errors.append(f"{type(exc).__name__}: {exc}")
            log.error("%s: %s", self.name, exc, exc_info=exc)

    # -- bumble setup ----------------------------------------------------------------------------
    async def start(self, t_start: float) -> None:
        """Create the controller, host and GATT server; power on and advertise."""
        from bumble import data_types, gatt, hci
        from bumble.controller import Controller
        from bumble.core import UUID, AdvertisingData
        from bumble.device import AdvertisingParameters, Device, DeviceConfiguration
        from bumble.host import Host
        from bumble.profiles.device_information_service import DeviceInformationService
        from bumble.transport.common import AsyncPipeSink

        # the source starts with the first start command (see _begin_session), as a real
        # sensor's stream does: nothing is produced, or lost, before a recorder subscribes
        self._last_tick = self._powered_on = t_start
        self.controller = Controller(f"sensor-{self.index}", link=self.link,
                                     public_address=f"5E:00:00:00:00:{self.index + 1:02X}")
        self.controller.le_acl_data_packet_length = LE_ACL_DATA_PACKET_LENGTH
        config = DeviceConfiguration(name=self.name, address=hci.Address(self.address))
        self.device = Device(config=config, host=Host(self.controller,
                                                      AsyncPipeSink(self.controller)))
        Char = gatt.Characteristic
        service_uuid, chars = self._gatt_chars(gatt)
        self._battery_char = Char(BATTERY_LEVEL_UUID, Char.Properties.READ | Char.Properties.NOTIFY,
                                  Char.READABLE,
                                  gatt.CharacteristicValue(read=self._on_battery_read))
        self.device.add_service(gatt.Service(service_uuid, chars))
        self.device.add_service(gatt.Service(BATTERY_SERVICE_UUID, [self._battery_char]))
        self.device.add_service(DeviceInformationService(**self._device_info()))
        self.device.on("connection", self._on_connection)
        await self.device.power_on()
        flags = (AdvertisingData.Flags.LE_GENERAL_DISCOVERABLE_MODE
                 | AdvertisingData.Flags.BR_EDR_NOT_SUPPORTED)
        adv = bytes(AdvertisingData([
            data_types.Flags(flags), data_types.CompleteLocalName(self.name),
            data_types.IncompleteListOf128BitServiceUUIDs([UUID(service_uuid)])]))
        # Name and 128-bit UUID do not fit the 31 bytes of a legacy advertisement: use an
        # extended (connectable, non-scannable) one, up to 254 bytes.
        params = AdvertisingParameters(primary_advertising_interval_min=ADVERTISING_INTERVAL_MS,
                                       primary_advertising_interval_max=ADVERTISING_INTERVAL_MS)
        self._adv_set = await self.device.create_advertising_set(
            advertising_parameters=params, advertising_data=adv, auto_start=False)
        await self._advertise()


    async def _advertise(self) -> None:
        if (self.closed or self.conn is not None or self.rebooting_until is not None
                or self.finished.is_set()):
            return              # a sensor whose source has finished is not there any more
        await self._adv_set.start()
        self._status("advertising")

    def stop(self, now: float) -> None:
        """The simulation stops: what is buffered is lost; write the summary line."""
        with contextlib.suppress(Exception):
            self._advance(now)
        if self.session is not None:
            self._end_session(flush=False, kind="not_streaming", cause="simulation stopped")
        self.ledger.finish(**self.summary_info())

    async def close(self) -> None:
        """Stop advertising and ticking; the server closes the link."""
        self.closed = True
        for task in list(self._tasks):
            task.cancel()
        if self._adv_set is not None:
            with contextlib.suppress(Exception):
                await self._adv_set.stop()

    # -- source clock ----------------------------------------------------------------------------
    def _produced(self, now: float) -> int:
        """Source samples that have occurred by wall time ``now`` (monotonic s)."""
        if self._t_start is None:
            return 0
        k = math.floor((now - self._t_start) * self.speed * self._fs + 1e-9)
        return max(0, min(self._n, k))

    # -- the state machine -----------------------------------------------------------------------
    def _collecting(self) -> bool:
        """True when produced samples go into packets (a stream runs and nothing cuts it)."""
        return (self.session is not None and self.conn is not None and not self._dropping
                and self.stalled_until is None and self.rebooting_until is None)

    def tick(self, now: float) -> None:
        """Advance to wall time ``now``: dispose of new samples, run timers and faults."""
        if self.closed:
            return
        dt = max(0.0, now - (self._last_tick or now))
        self._last_tick = now
        if self._collecting():
            for kind in self._fault_clock:
                self._fault_clock[kind] += dt
        self._advance(now)
        self._battery()
        self._report_packet_faults(now)
        if self.stalled_until is not None and now >= self.stalled_until:
            self._end_stall("stall over")
        if self.rebooting_until is not None and now >= self.rebooting_until:
            self._boot(now)
        if self._collecting() and not self.finished.is_set():
            plan, clock = self.plan, self._fault_clock
            if plan.reboot_every_s and clock["reboot"] >= plan.reboot_every_s:
                clock["reboot"] = 0.0
                self._link_fault("reboot", now)
            elif plan.disconnect_every_s and clock["disconnect"] >= plan.disconnect_every_s:
                clock["disconnect"] = 0.0
                self._link_fault("disconnect", now)
            elif plan.stall_every_s and clock["stall"] >= plan.stall_every_s:
                clock["stall"] = 0.0
                self._begin_stall(now)

    def _advance(self, now: float) -> None:
        """Dispose of the samples produced since the last call and send what is due."""
        produced = self._produced(now)
        if produced > self.cursor:
            first, n = self.cursor, produced - self.cursor
            self.cursor = produced
            if not self._collecting():
                self._lose(first, n)
                if self.session is not None:      # a stall: nothing is buffered meanwhile
                    self.session.buf_start = self.cursor
        if self._collecting() and not self.session.reply_pending:
            self._pump(flush=self.cursor >= self._n)
        s = self.session
        if (self.cursor >= self._n and not self.finished.is_set()
                and (s is None or (s.buf_start >= self._n and s.held is None)
                     or not self._collecting())):
            self._source_finished()

    def _lose(self, first: int, n: int, kind: str | None = None, **info: Any) -> None:
        if kind is None:
            cause = self._cause or ("not_streaming", {"cause": "not streaming"})
            kind, info = cause[0], dict(cause[1])
            sid = self._cause_sid
        else:
            sid = self.session.session_id if self.session is not None else self._cause_sid
        self.ledger.lost(first, n, kind, sid, **info)

    def summary_info(self) -> dict[str, Any]:
        """What the summary line says about the run besides the sample ranges."""
        return {"n_produced": self.cursor, "protocol": self.protocol, "fs_hz": self._fs,
                "speed": self.speed, "boots": list(self.boots), "faults": self.plan.to_dict()}

    def _source_finished(self) -> None:
        self.ledger.finish(**self.summary_info())
        self.finished.set()
        self._status("source finished; not advertising any more")
        if self._adv_set is not None and self.conn is None:
            self._spawn(self._stop_advertising())

    async def _stop_advertising(self) -> None:
        with contextlib.suppress(Exception):
            await self._adv_set.stop()

    # -- packets -------------------------------------------------------------------------------
    def _pump(self, flush: bool = False) -> None:
        """Send every full packet in the buffer (and a short last one when ``flush``)."""
        s = self.session
        while s is not None and s is self.session:
            avail = self.cursor - s.buf_start
            if avail <= 0 or (avail < s.spp and not flush):
                break
            first = s.buf_start
            payload, k = self._encode(s, first, min(avail, s.spp))
            s.buf_start += k
            self._emit(s, payload, first, k)
        if flush and s is not None and s.held is not None and self.conn is not None:
            held, s.held = s.held, None
            if self._notify(self._data_char, held[0]):
                self.ledger.sent(held[1], held[2])
            else:
                self._lose(held[1], held[2], "not_streaming",
                           cause="data notifications not enabled")


    def _emit(self, s: Session, payload: bytes, first: int, k: int) -> None:
        """Send one formed packet, applying the packet faults."""
        action = self.packet_faults.decide()
        seq = s.seq
        s.seq += 1
        info = self._packet_info(seq)
        if action == DROP:
            self._lose(first, k, "drop", **info)
            self._packet_fault_counts["dropped"] += 1
            return
        if action == CORRUPT:
            kinds = CORRUPT_KINDS[self.protocol]
            what = kinds[self._n_corrupted % len(kinds)]
            self._n_corrupted += 1
            if self._notify(self._data_char, corrupt_packet(self.protocol, payload, what)):
                self._lose(first, k, "corrupt", what=what, **info)
                self._packet_fault_counts["corrupted"] += 1
            else:
                self._lose(first, k, "not_streaming", cause="data notifications not enabled")
            return
        if action == HOLD and s.held is None:
            s.held = (payload, first, k, seq)
            return
        if not self._notify(self._data_char, payload):
            self._lose(first, k, "not_streaming", cause="data notifications not enabled")
            return
        self.ledger.sent(first, k)
        if action == DUPLICATE:
            self._notify(self._data_char, payload)
            self.ledger.duplicated(first, k, s.session_id, **info)
            self._packet_fault_counts["duplicated"] += 1
        if s.held is not None:
            held, s.held = s.held, None
            self._notify(self._data_char, held[0])
            self.ledger.sent(held[1], held[2])
            extra = self._reorder_info(held[3], seq)
            self.ledger.reordered(held[1], held[2], first, k, s.session_id, **extra)
            self._packet_fault_counts["reordered"] += 1

    def _report_packet_faults(self, now: float) -> None:
        """One status line per wall second at most for packet faults (they can be many)."""
        counts = self._packet_fault_counts
        if any(counts.values()) and now >= self._packet_fault_report_at:
            self._status("fault: " + ", ".join(f"{n} packet(s) {what}"
                                               for what, n in counts.items() if n))
            for what in counts:
                counts[what] = 0
            self._packet_fault_report_at = now + 1.0

    def _notify(self, char: Any, value: bytes) -> bool:
        """Send a notification now (synchronously, so the ledger is exact); False if the central
        has not subscribed or the link is gone."""
        from bumble import att

        conn = self.conn
        if conn is None:
            return False
        server = self.device.gatt_server
        cccd = server.subscribers.get(conn, {}).get(char.handle)
        if not cccd or len(cccd) != 2 or not cccd[0] & 0x01:
            return False
        if len(value) > conn.att_mtu - 3:
            raise RuntimeError(f"{self.name}: {len(value)}-byte notification does not fit MTU "
                               f"{conn.att_mtu}")
        pdu = att.ATT_Handle_Value_Notification(attribute_handle=char.handle,
                                                attribute_value=value)
        server.send_gatt_pdu(conn, bytes(pdu))
        return True

    # -- sessions --------------------------------------------------------------------------------
    def _begin_session(self, spp: int, session_id: int | None) -> Session:
        if self._t_start is None:
            self._t_start = self._last_tick if self._last_tick is not None else time.monotonic()
            wall = time.time() - (time.monotonic() - self._t_start)
            self.ledger.source_started(wall, session_id)
        self.session = Session(session_id=session_id, first_sample=self.cursor,
                                buf_start=self.cursor, spp=spp)
        self._cause = None
        self._cause_sid = session_id
        return self.session

    def _end_session(self, flush: bool, kind: str | None = None, **info: Any) -> None:
        """End the stream: send (``flush``) or lose (as ``kind``) what is buffered."""
        s = self.session
        if s is None:
            return
        if flush and self.conn is not None and self.stalled_until is None:
            self._pump(flush=True)
        else:
            if s.held is not None:
                self._lose(s.held[1], s.held[2], kind, **info)
                s.held = None
            if self.cursor > s.buf_start:
                self._lose(s.buf_start, self.cursor - s.buf_start, kind, **info)
            s.buf_start = self.cursor
        self.session = None

    def _stop_session(self) -> None:
        """STOP from the central: send what is buffered, then stop."""
        sid = self.session.session_id if self.session is not None else None
        self._end_session(flush=True, kind="not_streaming", cause="stopped by the central")
        self._cause, self._cause_sid = ("not_streaming", {"cause": "stopped by the central"}), sid
        self.stalled_until = None

    def _start_reply_sent(self, s: Session) -> None:
        s.reply_pending = False
        if s is self.session and self._collecting():
            self._pump(flush=self.cursor >= self._n)

    # -- faults ----------------------------------------------------------------------------------
    def _link_fault(self, kind: str, now: float) -> None:
        """Drop the link (``disconnect``) or reboot (``reboot``)."""
        self._advance(now)
        sid = self.session.session_id if self.session is not None else None
        self._end_session(flush=False, kind=kind)
        self._cause, self._cause_sid = (kind, {}), sid
        self._dropping = True
        if kind == "reboot":
            self.rebooting_until = now + self.plan.reboot_s
            self._status(f"fault: reboot ({self.plan.reboot_s:g} s)")
        else:
            self._status("fault: link dropped")
        self._spawn(self._drop_link())

    async def _drop_link(self) -> None:
        conn = self.conn
        if conn is None:
            self._dropping = False
            return
        with contextlib.suppress(Exception):
            await asyncio.wait_for(conn.drain(), 2.0)
        with contextlib.suppress(Exception):
            await conn.disconnect(REASON_CONNECTION_TIMEOUT)

    def _begin_stall(self, now: float) -> None:
        self._advance(now)
        s = self.session
        sid = s.session_id if s is not None else None
        if s is not None:
            if s.held is not None:
                self._lose(s.held[1], s.held[2], "stall")
                s.held = None
            if self.cursor > s.buf_start:
                self._lose(s.buf_start, self.cursor - s.buf_start, "stall")
            s.buf_start = self.cursor
        self._cause, self._cause_sid = ("stall", {}), sid
        self.stalled_until = now + self.plan.stall_s if self.plan.stall_s > 0 else math.inf
        self._status("fault: stall (link up, no data)")

    def _end_stall(self, why: str) -> None:
        self.stalled_until = None
        if self.session is not None:
            self.session.buf_start = self.cursor
            self._cause, self._cause_sid = None, self.session.session_id
        self._status(f"stall ended ({why})")

    def _boot(self, now: float) -> None:
        """The reboot is over: the device clock restarts at 0 with the next sample."""
        self._advance(now)
        self.rebooting_until = None
        self.boot_sample = self.cursor
        self.boots.append(self.cursor)
        if self._cause is not None and self._cause[0] == "reboot":
            # The reboot's line says where the new clock starts.
            self._cause = ("reboot", {**self._cause[1], "boot_sample": self.cursor})
            self.ledger.annotate(boot_sample=self.cursor)
        self._status("rebooted (device clock restarted)")
        if self.conn is None:
            self._spawn(self._advertise())

    def _battery(self) -> None:
        # the battery drains from power-on, streaming or not (in source time: x speed)
        on_s = 0.0 if self._powered_on is None or self._last_tick is None else (
            (self._last_tick - self._powered_on) * self.speed)
        level = self.plan.battery_pct(on_s)
        if level != self.battery_pct:
            self.battery_pct = level
            self._notify(self._battery_char, bytes([level]))

    # -- link events -----------------------------------------------------------------------------
    def _on_connection(self, conn: Any) -> None:
        if self.conn is not None or self.closed:
            self._spawn(conn.disconnect())
            return
        self._advance(time.monotonic())
        self.conn = conn
        conn.on("disconnection", lambda reason: self._on_disconnection(conn, reason))
        self._status(f"connected to {conn.peer_address}")

    def _on_disconnection(self, conn: Any, reason: int) -> None:
        if conn is not self.conn:
            return
        # The link is gone: what is buffered is lost, then whatever was produced since the last
        # tick (in that order, so the lost ranges stay contiguous).
        self.conn = None
        self._dropping = False
        sid = self.session.session_id if self.session is not None else self._cause_sid
        if self.stalled_until is not None:
            self.stalled_until = None
            self._end_session(flush=False, kind="stall")
            self._cause, self._cause_sid = ("stall", {}), sid
            self._status("stall ended (central disconnected)")
        elif self.session is not None:
            cause = f"link lost (HCI reason 0x{reason:02X})"
            self._end_session(flush=False, kind="not_streaming", cause=cause)
            self._cause, self._cause_sid = ("not_streaming", {"cause": cause}), sid
        self._advance(time.monotonic())
        self._status(f"disconnected (HCI reason 0x{reason:02X})")
        if self.rebooting_until is None:
            self._spawn(self._advertise())

    # -- what each protocol's sensor does its own way (LegAccelSensor, PolarSensor) ----------------
    def _gatt_chars(self, gatt: Any) -> tuple[str, list[Any]]:
        """The sensor's service UUID and its characteristics (sets ``_data_char`` and
        ``_control_char``)."""
        raise NotImplementedError

    def _device_info(self) -> dict[str, str]:
        """The Device Information Service's strings."""
        raise NotImplementedError

    def _encode(self, s: Session, first: int, k: int) -> tuple[bytes, int]:
        """Encode samples ``[first, first + k)`` into one packet; returns it and how many samples
        it holds (fewer when they would not fit)."""
        raise NotImplementedError

    def _packet_info(self, seq: int) -> dict[str, Any]:
        """What the fault ledger records of a lost or duplicated packet."""
        return {}

    def _reorder_info(self, held_seq: int, seq: int) -> dict[str, Any]:
        """What the fault ledger records of two packets sent out of order."""
        return {}

    def _send_reply(self, char: Any, value: bytes, then: Callable[[], None] | None) -> None:
        """Send a control point reply, then call ``then``."""
        raise NotImplementedError

    # -- GATT handlers ---------------------------------------------------------------------------
    def _on_battery_read(self, _conn: Any) -> bytes:
        return bytes([self.battery_pct])

    def _reply_later(self, char: Any, value: bytes, then: Callable[[], None] | None = None
                     ) -> None:
        """Send a control reply after the write response (the order of a real sensor)."""
        asyncio.get_running_loop().call_soon(self._send_reply, char, value, then)


# --------------------------------------------------------------------------------------------
# The link and its TCP port
# --------------------------------------------------------------------------------------------


