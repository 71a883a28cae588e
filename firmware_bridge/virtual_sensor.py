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
after every disconnect. It "measures" a :class:`SensorSource` (a night quantised to the sensor's
counts): source time advances with wall time x ``speed`` from the moment the simulation starts,
whether or not anyone listens. While a central is streaming, samples are sent in packets as they
occur, as many as fit the MTU. Samples produced while nobody listens, or while a fault cuts the
stream, are lost; :mod:`firmware_bridge.faults` logs exactly which.

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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from firmware_bridge import legaccel
from firmware_bridge import polar_pmd as pmd
from firmware_bridge.constants import (
    BATTERY_LEVEL_UUID, BATTERY_SERVICE_UUID, DEFAULT_VIRTUAL_HOST, DEFAULT_VIRTUAL_PORT,
    LEGACCEL_CONTROL_UUID, LEGACCEL_DATA_UUID, LEGACCEL_SERVICE_UUID, PMD_CONTROL_UUID,
    PMD_DATA_UUID, PMD_SERVICE_UUID, PROTOCOLS)
from firmware_bridge.faults import (CORRUPT, CORRUPT_KINDS, DROP, DUPLICATE, HOLD, FaultLog,
                                    FaultPlan, PacketFaults, SampleLedger, corrupt_packet)
from firmware_bridge.packets import FLAG_CLIPPING, FLAG_FIRST

if TYPE_CHECKING:
    from detector.recording import Recording

__all__ = ["SensorSource", "VirtualSensorSpec", "VirtualSensor", "VirtualSensorServer",
           "FaultPlan", "quantise_g", "run_virtual_sensors", "POLAR_FRAME_SAMPLES",
           "TICK_S"]

log = logging.getLogger(__name__)

#: Wall seconds between two looks at the source clock (samples are produced in between and
#: disposed of, sent or lost, at each look).
TICK_S = 0.01
#: Advertising interval of the virtual sensors, ms (short, so scans and reconnects are quick).
ADVERTISING_INTERVAL_MS = 50.0
#: Most samples in one Verity Sense compressed ACC frame (the real sensor sends ~71).
POLAR_FRAME_SAMPLES = 71
#: Polar ACC counts are mG.
POLAR_SCALE_G = 0.001
#: Largest LE ACL payload the virtual controllers take in one HCI packet, bytes (LE Data Length
#: Extension), so one notification at MTU 247 is one packet.
LE_ACL_DATA_PACKET_LENGTH = 251
#: HCI reason "connection timeout": what a central sees when a sensor's radio goes away.
REASON_CONNECTION_TIMEOUT = 0x08


# --------------------------------------------------------------------------------------------
# The source: what the virtual sensor measures
# --------------------------------------------------------------------------------------------

def quantise_g(acc_g: np.ndarray, scale_g: float, range_g: float | None = None) -> np.ndarray:
    """Acceleration in g -> the int16 counts a sensor would send.

    Rows with a NaN (gaps) hold the last valid row (leading gaps take the first valid row; an
    all-NaN input gives zeros). Counts are ``round(g / scale_g)``, clipped to the sensor's full
    scale ``+-range_g`` (when given) and to int16.

    Parameters
    ----------
    acc_g : ndarray, shape (n, 3)
        Acceleration, g.
    scale_g : float
        g per count (LegAccel: ``range_g / 32768``; Polar: 0.001, counts being mG).
    range_g : float, optional
        Full scale, +-g.

    Returns
    -------
    ndarray, shape (n, 3), int16
    """
    acc = np.asarray(acc_g, dtype=np.float64)
    if acc.ndim != 2 or acc.shape[1] != 3:
        raise ValueError(f"acc_g must have shape (n, 3), got {acc.shape}")
    if not math.isfinite(scale_g) or scale_g <= 0:
        raise ValueError(f"scale_g must be a finite number > 0 (g per count), got {scale_g!r}")
    n = acc.shape[0]
    valid = np.isfinite(acc).all(axis=1)
    if n and not valid.all():
        if not valid.any():
            acc = np.zeros_like(acc)
        else:
            idx = np.where(valid, np.arange(n), -1)
            idx = np.maximum.accumulate(idx)
            idx[idx < 0] = int(np.argmax(valid))
            acc = acc[idx]
    hi, lo = 32767.0, -32768.0
    if range_g is not None:
        hi = min(hi, math.floor(range_g / scale_g + 1e-9))
        lo = max(lo, -math.floor(range_g / scale_g + 1e-9))
    return np.clip(np.rint(acc / scale_g), lo, hi).astype(np.int16)


@dataclass(frozen=True, eq=False)
class SensorSource:
    """What the virtual sensor measures: a night as the sensor's counts on its sample clock.

    Attributes
    ----------
    counts : ndarray, shape (n, 3), int16
        Raw x, y, z counts, one row per sample.
    fs_hz : float
        Sample rate, Hz (the only rate the virtual sensor offers).
    scale_g : float
        g per count (LegAccel: ``range_g / 32768``; Polar: 0.001).
    range_g : int
        Full scale, +-g (the only range the virtual sensor offers).
    t0_unix_s : float
        Unix time (s) that sample 0 stands for (the Polar sensor's real-time clock).
    """

    counts: np.ndarray
    fs_hz: float
    scale_g: float
    range_g: int
    t0_unix_s: float = 0.0

    def __post_init__(self) -> None:
        counts = np.asarray(self.counts)
        if counts.ndim != 2 or counts.shape[1] != 3:
            raise ValueError(f"SensorSource.counts must have shape (n, 3), got {counts.shape}")
        if counts.dtype != np.int16:
            raise ValueError(f"SensorSource.counts must be int16, got {counts.dtype}")
        if not math.isfinite(self.fs_hz) or self.fs_hz <= 0:
            raise ValueError(f"SensorSource.fs_hz must be > 0 Hz, got {self.fs_hz!r}")
        if not math.isfinite(self.scale_g) or self.scale_g <= 0:
            raise ValueError(f"SensorSource.scale_g must be > 0 g per count, got {self.scale_g!r}")

    @property
    def n_samples(self) -> int:
        """Number of samples."""
        return int(self.counts.shape[0])

    @property
    def duration_s(self) -> float:
        """Length of the source, seconds of source time."""
        return self.n_samples / self.fs_hz

    @classmethod
    def from_recording(cls, rec: "Recording", protocol: str, range_g: int = 8) -> "SensorSource":
        """Quantise a recording the way the sensor of ``protocol`` would.

        Parameters
        ----------
        rec : detector.recording.Recording
            Acceleration in g on a uniform grid (NaN gaps hold the last value).
        protocol : {"legaccel", "polar"}
            LegAccel: ``scale_g = range_g / 32768``. Polar: counts in mG (``scale_g = 0.001``).
        range_g : int
            Full scale, +-g (LegAccel: 2, 4, 8 or 16).
        """
        if protocol not in PROTOCOLS:
            raise ValueError(f"unknown protocol {protocol!r}; expected one of {PROTOCOLS}")
        if protocol == "legaccel":
            if range_g not in legaccel.VALID_RANGES_G:
                raise ValueError(f"LegAccel range_g must be one of {legaccel.VALID_RANGES_G}, "
                                 f"got {range_g!r}")
            scale_g = range_g / 32768.0
        else:
            scale_g = POLAR_SCALE_G
        counts = quantise_g(rec.acc_g, scale_g, range_g)
        return cls(counts=counts, fs_hz=float(rec.fs_hz), scale_g=float(scale_g),
                   range_g=int(range_g), t0_unix_s=float(rec.t0_unix_s))


@dataclass(frozen=True)
class VirtualSensorSpec:
    """One virtual sensor to run.

    Attributes
    ----------
    protocol : {"legaccel", "polar"}
    source : SensorSource
    name : str
        Advertised local name, e.g. ``LegAccel-sim-1``, ``Polar Sense SIM00001``.
    address : str
        Random static BLE address, e.g. ``F0:F0:F0:F0:F0:01`` (top two bits set).
    faults : FaultPlan
    model : {"Sense", "H10"}
        Polar model to imitate: Verity Sense sends compressed 0x81 frames of up to 71 samples,
        H10 raw int16 0x01 frames. Ignored for LegAccel.
    """

    protocol: str
    source: SensorSource
    name: str
    address: str
    faults: FaultPlan = field(default_factory=FaultPlan)
    model: str = "Sense"

    def __post_init__(self) -> None:
        if self.protocol not in PROTOCOLS:
            raise ValueError(f"unknown protocol {self.protocol!r}; expected one of {PROTOCOLS}")
        if self.model not in ("Sense", "H10"):
            raise ValueError(f"model must be 'Sense' or 'H10', got {self.model!r}")
        if not self.name or len(self.name.encode()) > 29:
            raise ValueError(f"name must be 1-29 bytes, got {self.name!r}")
        src = self.source
        if self.protocol == "legaccel":
            if src.range_g not in legaccel.VALID_RANGES_G:
                raise ValueError(f"LegAccel source range_g must be one of "
                                 f"{legaccel.VALID_RANGES_G}, got {src.range_g!r}")
            if not 1 <= round(src.fs_hz * 100) <= 0xFFFF:
                raise ValueError(f"LegAccel sample rate must be 0.01-655.35 Hz, got {src.fs_hz}")
        else:
            if abs(src.scale_g - POLAR_SCALE_G) > 1e-12:
                raise ValueError(f"a Polar source must be in mG (scale_g 0.001), got "
                                 f"{src.scale_g!r}")
            if src.fs_hz != round(src.fs_hz):
                raise ValueError(f"Polar sample rates are whole Hz, got {src.fs_hz!r}")
            if src.t0_unix_s < pmd.PMD_EPOCH_UNIX_S:
                raise ValueError(f"Polar timestamps start in 2000: the source's t0_unix_s must be "
                                 f">= {pmd.PMD_EPOCH_UNIX_S}, got {src.t0_unix_s!r}")


# --------------------------------------------------------------------------------------------
# One virtual sensor
# --------------------------------------------------------------------------------------------

@dataclass
class _Session:
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
        self._t_start: float | None = None
        self._last_tick: float | None = None
        self.cursor = 0                       # source samples disposed of (sent, buffered, lost)
        self.boot_sample = 0
        self.boots = [0]                      # source index of sample 0 of each boot
        self.session: _Session | None = None
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

        self._t_start = self._last_tick = t_start
        self.controller = Controller(f"sensor-{self.index}", link=self.link,
                                     public_address=f"5E:00:00:00:00:{self.index + 1:02X}")
        self.controller.le_acl_data_packet_length = LE_ACL_DATA_PACKET_LENGTH
        config = DeviceConfiguration(name=self.name, address=hci.Address(self.address))
        self.device = Device(config=config, host=Host(self.controller,
                                                      AsyncPipeSink(self.controller)))
        Char = gatt.Characteristic
        if self.protocol == "legaccel":
            service_uuid = LEGACCEL_SERVICE_UUID
            self._data_char = Char(LEGACCEL_DATA_UUID, Char.Properties.NOTIFY, Char.READABLE, b"")
            self._control_char = Char(
                LEGACCEL_CONTROL_UUID, Char.Properties.WRITE | Char.Properties.NOTIFY,
                Char.WRITEABLE, gatt.CharacteristicValue(write=self._on_legaccel_write))
        else:
            service_uuid = PMD_SERVICE_UUID
            self._control_char = Char(
                PMD_CONTROL_UUID,
                Char.Properties.READ | Char.Properties.WRITE | Char.Properties.INDICATE,
                Char.READABLE | Char.WRITEABLE,
                gatt.CharacteristicValue(read=self._on_pmd_read, write=self._on_pmd_write))
            self._data_char = Char(PMD_DATA_UUID, Char.Properties.NOTIFY, Char.READABLE, b"")
        self._battery_char = Char(BATTERY_LEVEL_UUID, Char.Properties.READ | Char.Properties.NOTIFY,
                                  Char.READABLE,
                                  gatt.CharacteristicValue(read=self._on_battery_read))
        self.device.add_service(gatt.Service(service_uuid, [self._control_char, self._data_char]
                                             if self.protocol == "polar"
                                             else [self._data_char, self._control_char]))
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

    def _device_info(self) -> dict[str, str]:
        serial = self.name.split()[-1] if self.protocol == "polar" else (
            "LA" + self.address.replace(":", "")[-6:])
        if self.protocol == "legaccel":
            return {"manufacturer_name": "legtwitch", "model_number": "LegAccel v1 (virtual)",
                    "serial_number": serial, "firmware_revision": "virtual-1.0"}
        model = "Polar Sense" if self.spec.model == "Sense" else "Polar H10"
        return {"manufacturer_name": "Polar Electro Oy", "model_number": f"{model} (virtual)",
                "serial_number": serial, "firmware_revision": "virtual-1.0"}

    async def _advertise(self) -> None:
        if self.closed or self.conn is not None or self.rebooting_until is not None:
            return
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

    def _device_time_us(self, sample: int) -> int:
        """LegAccel device clock of source sample ``sample``, us since the virtual boot."""
        return int(round((sample - self.boot_sample) * 1e6 / self._fs))

    def _pmd_ns(self, sample: int) -> int:
        """Polar timestamp of source sample ``sample``, ns since 2000-01-01 UTC."""
        base = pmd.unix_s_to_pmd_ns(self.source.t0_unix_s)
        return base + int(round(sample * 1e9 / self._fs))

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
        self._status("source finished")

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

    def _encode(self, s: _Session, first: int, k: int) -> tuple[bytes, int]:
        """Encode samples ``[first, first + k)`` (fewer if a Polar frame would not fit)."""
        counts = self.source.counts[first:first + k]
        if self.protocol == "legaccel":
            lim = self._clip_limits()
            flags = FLAG_FIRST if s.seq == 0 else 0
            if counts.size and (counts.max() >= lim[1] or counts.min() <= lim[0]):
                flags |= FLAG_CLIPPING
            packet = legaccel.LegAccelPacket(
                seq=s.seq & 0xFFFF_FFFF, session_id=s.session_id or 0,
                first_index=(first - s.first_sample) & 0xFFFF_FFFF,
                device_time_us=self._device_time_us(first), fs_centihz=self._fs_centihz,
                range_g=int(self.source.range_g), scale_g=self.source.scale_g, counts=counts,
                flags=flags)
            return legaccel.encode_packet(packet), k
        frame_type = (pmd.FRAME_COMPRESSED_TYPE1 if self.spec.model == "Sense"
                      else pmd.FRAME_RAW_INT16)
        limit = self._max_payload()
        while True:
            data = pmd.encode_acc_frame(self.source.counts[first:first + k],
                                        self._pmd_ns(first + k - 1), frame_type)
            if len(data) <= limit or k == 1:
                return data, k
            k = min(k - 1, max(1, k * limit // len(data)))

    def _clip_limits(self) -> tuple[int, int]:
        hi = min(32767, math.floor(self.source.range_g / self.source.scale_g + 1e-9))
        lo = max(-32768, -math.floor(self.source.range_g / self.source.scale_g + 1e-9))
        return lo, hi

    def _max_payload(self) -> int:
        mtu = int(getattr(self.conn, "att_mtu", 23) or 23)
        return min(mtu - 3, 512)

    def _emit(self, s: _Session, payload: bytes, first: int, k: int) -> None:
        """Send one formed packet, applying the packet faults."""
        action = self.packet_faults.decide()
        seq = s.seq
        s.seq += 1
        info = {"seq": seq} if self.protocol == "legaccel" else {}
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
            extra = {"seq": [held[3], seq]} if self.protocol == "legaccel" else {}
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
    def _begin_session(self, spp: int, session_id: int | None) -> _Session:
        self.session = _Session(session_id=session_id, first_sample=self.cursor,
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

    def _start_reply_sent(self, s: _Session) -> None:
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
        level = self.plan.battery_pct(self.cursor / self._fs)
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

    # -- GATT handlers ---------------------------------------------------------------------------
    def _on_battery_read(self, _conn: Any) -> bytes:
        return bytes([self.battery_pct])

    def _reply_later(self, char: Any, value: bytes, then: Callable[[], None] | None = None
                     ) -> None:
        """Send a control reply after the write response (the order of a real sensor)."""
        def send() -> None:
            if self.protocol == "legaccel":
                self._notify(char, value)
                if then is not None:
                    then()
            else:
                self._spawn(self._indicate(char, value, then))

        asyncio.get_running_loop().call_soon(send)

    async def _indicate(self, char: Any, value: bytes, then: Callable[[], None] | None) -> None:
        conn = self.conn
        try:
            if conn is not None:
                await asyncio.wait_for(self.device.indicate_subscriber(conn, char, value), 5.0)
        except Exception as exc:  # noqa: BLE001
            # The link dropped or the central never confirmed: the stream goes on regardless.
            log.debug("%s: indication not confirmed: %s", self.name, exc)
        finally:
            if then is not None:
                then()

    def _on_legaccel_write(self, conn: Any, value: bytes) -> None:
        if conn is not self.conn or self._dropping:
            return
        now = time.monotonic()
        self._advance(now)
        try:
            cmd = legaccel.decode_command(bytes(value))
        except legaccel.CommandError as exc:
            self._reply_later(self._control_char,
                              legaccel.encode_status(exc.op or 0, exc.status))
            return
        op = cmd.op
        if op == legaccel.OP_GET_INFO:
            info = legaccel.DeviceInfo(version=legaccel.VERSION, rates_hz=(self._fs,),
                                       ranges_g=(int(self.source.range_g),),
                                       streaming=self.session is not None)
            self._reply_later(self._control_char,
                              legaccel.encode_status(op, legaccel.STATUS_OK, info.encode()))
        elif op == legaccel.OP_STOP:
            if self.session is None:
                self._reply_later(self._control_char,
                                  legaccel.encode_status(op, legaccel.STATUS_ALREADY))
                return
            self._stop_session()
            self._reply_later(self._control_char, legaccel.encode_status(op, legaccel.STATUS_OK))
            self._status("stopped")
        elif op == legaccel.OP_START:
            self._legaccel_start(cmd.params)

    def _legaccel_start(self, params: dict[str, Any]) -> None:
        op = legaccel.OP_START
        char = self._control_char
        if self.session is not None:
            self._reply_later(char, legaccel.encode_status(op, legaccel.STATUS_ALREADY))
            return
        if (params["fs_centihz"] != self._fs_centihz
                or params["range_g"] != int(self.source.range_g)):
            self._reply_later(char, legaccel.encode_status(op, legaccel.STATUS_INVALID_PARAMETER))
            return
        try:
            spp = legaccel.max_samples_per_packet(self.conn.att_mtu)
        except ValueError:
            # The ATT MTU is below the 64 bytes LegAccel needs (PROTOCOL.md).
            self._reply_later(char, legaccel.encode_status(op, legaccel.STATUS_INTERNAL_ERROR))
            return
        if params["samples_per_packet"]:
            spp = min(spp, int(params["samples_per_packet"]))
        sid = self._rng_sid.getrandbits(32)
        while sid == self.session_id:
            sid = self._rng_sid.getrandbits(32)
        self.session_id = sid
        s = self._begin_session(spp, sid)
        reply = legaccel.StartReply(session_id=sid,
                                    device_time_us=self._device_time_us(s.first_sample),
                                    fs_hz=self._fs, range_g=int(self.source.range_g),
                                    scale_g=self.source.scale_g)
        self._reply_later(char, legaccel.encode_status(op, legaccel.STATUS_OK, reply.encode()),
                          then=lambda: self._start_reply_sent(s))
        self._status(f"streaming (session 0x{sid:08X}, {spp} samples per packet)")

    # -- Polar PMD -------------------------------------------------------------------------------
    def _pmd_settings(self) -> dict[int, list[int]]:
        settings: dict[int, list[int]] = {pmd.SETTING_SAMPLE_RATE: [int(self._fs)],
                                          pmd.SETTING_RESOLUTION: [16],
                                          pmd.SETTING_RANGE: [int(self.source.range_g)]}
        if self.spec.model == "Sense":
            settings[pmd.SETTING_CHANNELS] = [3]
        return settings

    def _on_pmd_read(self, _conn: Any) -> bytes:
        return pmd.encode_features([pmd.MEAS_ACC])

    def _on_pmd_write(self, conn: Any, value: bytes) -> None:
        if conn is not self.conn or self._dropping:
            return
        self._advance(time.monotonic())
        char = self._control_char
        try:
            req = pmd.decode_request(bytes(value))
        except pmd.PmdRequestError as exc:
            self._reply_later(char, pmd.encode_control_response(exc.op or 0, exc.meas_type or 0,
                                                                exc.error))
            return
        op, mtype = req.op, req.meas_type
        if mtype != pmd.MEAS_ACC:
            self._reply_later(char, pmd.encode_control_response(op, mtype,
                                                                pmd.ERR_NOT_SUPPORTED))
            return
        if op == pmd.OP_GET_SETTINGS:
            self._reply_later(char, pmd.encode_control_response(
                op, mtype, pmd.ERR_SUCCESS, settings=self._pmd_settings()))
        elif op == pmd.OP_STOP:
            if self.session is None:
                self._reply_later(char, pmd.encode_control_response(op, mtype,
                                                                    pmd.ERR_ALREADY_IN_STATE))
                return
            self._stop_session()
            self._reply_later(char, pmd.encode_control_response(op, mtype, pmd.ERR_SUCCESS))
            self._status("stopped")
        else:
            self._pmd_start(op, mtype, req.settings)

    def _pmd_start(self, op: int, mtype: int, settings: dict[int, list[Any]]) -> None:
        char = self._control_char
        offered = self._pmd_settings()

        def refuse(error: int) -> None:
            self._reply_later(char, pmd.encode_control_response(op, mtype, error))

        if self.session is not None:
            return refuse(pmd.ERR_ALREADY_IN_STATE)
        checks = ((pmd.SETTING_SAMPLE_RATE, pmd.ERR_INVALID_SAMPLE_RATE),
                  (pmd.SETTING_RESOLUTION, pmd.ERR_INVALID_RESOLUTION),
                  (pmd.SETTING_RANGE, pmd.ERR_INVALID_RANGE),
                  (pmd.SETTING_CHANNELS, pmd.ERR_INVALID_NUMBER_OF_CHANNELS))
        if pmd.SETTING_SAMPLE_RATE not in settings:
            return refuse(pmd.ERR_INVALID_PARAMETER)
        for stype, error in checks:
            if stype in settings and (stype not in offered
                                      or list(settings[stype]) != offered[stype]):
                return refuse(error)
        mtu = int(self.conn.att_mtu)
        if self.spec.model == "Sense":
            spp = POLAR_FRAME_SAMPLES
        else:
            spp = (mtu - 3 - pmd.HEADER_SIZE) // 6
        if spp < 1 or mtu - 3 < pmd.HEADER_SIZE + 6:
            return refuse(pmd.ERR_INVALID_MTU)
        s = self._begin_session(spp, None)
        self._reply_later(char, pmd.encode_control_response(op, mtype, pmd.ERR_SUCCESS),
                          then=lambda: self._start_reply_sent(s))
        self._status(f"streaming (ACC {int(self._fs)} Hz, +-{self.source.range_g} g)")
        return None


# --------------------------------------------------------------------------------------------
# The link and its TCP port
# --------------------------------------------------------------------------------------------

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
        JSON-lines fault log (mode 0600); see :mod:`firmware_bridge.faults`.
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
            sensor = VirtualSensor(spec, i, self.link, self.speed, self.log, self._status)
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
