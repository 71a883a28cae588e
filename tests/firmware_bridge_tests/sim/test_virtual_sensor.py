"""The virtual sensor, seen from a real BLE central (bumble over the loopback HCI port).

Each link test starts a :class:`VirtualSensorServer` on a free port and connects a bumble host to
it through ``tcp-client``, exactly as ``legtwitch record --virtual`` does. Received notifications
are decoded with the protocol decoders and compared, sample for sample, with the source and with
what the fault log says each fault cost. No assertion depends on how fast anything ran: waits
are on conditions (with a guard timeout against hangs), sources last far longer than the setup
before a start, and the comparisons hold for whatever timing happened.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import stat
import time
from collections.abc import Awaitable, Callable
from typing import Any

import numpy as np
import pytest
from bumble import hci
from bumble.core import UUID, AdvertisingData
from bumble.device import Device, Peer
from bumble.transport import open_transport

from detector.io.recording import Recording
from firmware_bridge.protocols import legaccel
from firmware_bridge.protocols import legaccel_control
from firmware_bridge.protocols import polar_pmd as pmd
from firmware_bridge.protocols import polar_control as pc
from firmware_bridge.protocols.constants import (BATTERY_LEVEL_UUID, FIRMWARE_REVISION_UUID,
                                                 LEGACCEL_CONTROL_UUID, LEGACCEL_DATA_UUID,
                                                 LEGACCEL_SERVICE_UUID, MANUFACTURER_NAME_UUID,
                                                 MODEL_NUMBER_UUID, PMD_CONTROL_UUID, PMD_DATA_UUID,
                                                 PMD_SERVICE_UUID, SERIAL_NUMBER_UUID)
from firmware_bridge.sim.faults import (DROP, DUPLICATE, HOLD, SEND, FaultLog, FaultPlan,
                                        PacketFaults, SampleLedger)
from firmware_bridge.protocols.base import FLAG_CLIPPING, FLAG_FIRST
from firmware_bridge.sim.server import VirtualSensorServer, run_virtual_sensors
from firmware_bridge.sim.source import SensorSource, VirtualSensorSpec, quantise_g

#: Upper bound on any single wait, s: a guard against hangs, never a measurement.
GUARD_S = 10.0
FS_HZ = 100.0
T0_UNIX_S = 1_700_000_000.0
NAME = "LegAccel-sim-1"
ADDRESS = "F0:F0:F0:F0:F0:01"


def run(coro: Awaitable[Any]) -> Any:
    async def guarded() -> Any:
        return await asyncio.wait_for(coro, 4 * GUARD_S)
    return asyncio.run(guarded())


async def until(cond: Callable[[], bool], what: str) -> None:
    """Wait until ``cond()`` holds (checked every 5 ms), failing after GUARD_S."""
    deadline = time.monotonic() + GUARD_S
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.005)


def night(n: int, seed: int = 0, clip_every: int = 0) -> Recording:
    """A seeded (n, 3) signal in g; every ``clip_every``-th row beyond +-8 g."""
    rng = np.random.default_rng(seed)
    acc = rng.normal(0.0, 0.6, (n, 3))
    if clip_every:
        acc[::clip_every, 0] = 9.5
    return Recording.from_array(acc.astype(np.float32), FS_HZ, t0_unix_s=T0_UNIX_S)


def legaccel_spec(n: int = 20000, faults: FaultPlan | None = None, **kw: Any) -> VirtualSensorSpec:
    src = SensorSource.from_recording(night(n, **kw), "legaccel")
    return VirtualSensorSpec("legaccel", src, NAME, ADDRESS, faults or FaultPlan())


def ranges_of(indices: np.ndarray) -> list[tuple[int, int]]:
    """Sorted unique indices -> [(first, n), ...] of consecutive runs."""
    if indices.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(indices) != 1)
    starts = np.concatenate(([indices[0]], indices[breaks + 1]))
    ends = np.concatenate((indices[breaks], [indices[-1]]))
    return [(int(a), int(b - a + 1)) for a, b in zip(starts, ends)]


def lines_of(server: VirtualSensorServer, kind: str) -> list[dict[str, Any]]:
    assert server.log is not None
    return [ln for ln in server.log.lines if ln["kind"] == kind]


def check_log_accounts_for_every_sample(server: VirtualSensorServer) -> None:
    """After close: for each sensor, the sent ranges and the loss lines tile [0, n_produced)
    with no overlap and no hole."""
    assert server.log is not None
    for summary in lines_of(server, "summary"):
        name = summary["sensor"]
        pieces = [tuple(r) for r in summary["sent_ranges"]] + [
            (ln["first_sample"], ln["first_sample"] + ln["n_samples"])
            for ln in server.log.lines if ln["sensor"] == name
            and ln["kind"] in ("drop", "disconnect", "stall", "reboot", "not_streaming")]
        pieces.sort()
        if summary["n_produced"] == 0:      # never started: the source produced nothing
            assert pieces == [], name
            continue
        assert pieces[0][0] == 0 and pieces[-1][1] == summary["n_produced"], name
        for (_, end), (start, _) in zip(pieces, pieces[1:]):
            assert start == end, f"{name}: samples {end}..{start} counted twice or not at all"


# --------------------------------------------------------------------------------------------
# A bumble central on the HCI port
# --------------------------------------------------------------------------------------------
class Link:
    """One connection to a virtual sensor with its characteristics subscribed."""

    def __init__(self, conn: Any, protocol: str) -> None:
        self.conn = conn
        self.protocol = protocol
        self.peer = Peer(conn)
        self.packets: list[bytes] = []
        self.battery: list[int] = []
        self.replies: asyncio.Queue[bytes] = asyncio.Queue()
        self.disconnected = asyncio.Event()
        conn.on("disconnection", lambda _reason: self.disconnected.set())

    def char(self, uuid: str) -> Any:
        return self.peer.get_characteristics_by_uuid(UUID(uuid))[0]

    async def setup(self) -> None:
        await self.peer.request_mtu(247)
        await self.peer.discover_services()
        await self.peer.discover_characteristics()
        data = LEGACCEL_DATA_UUID if self.protocol == "legaccel" else PMD_DATA_UUID
        control = LEGACCEL_CONTROL_UUID if self.protocol == "legaccel" else PMD_CONTROL_UUID
        self.data, self.control = self.char(data), self.char(control)
        await self.control.subscribe(lambda v: self.replies.put_nowait(bytes(v)))
        await self.data.subscribe(lambda v: self.packets.append(bytes(v)))
        await self.char(BATTERY_LEVEL_UUID).subscribe(lambda v: self.battery.append(bytes(v)[0]))

    async def command(self, payload: bytes) -> bytes:
        """Write to the control point and return the reply (notification or indication)."""
        await self.control.write_value(payload, with_response=True)
        return await asyncio.wait_for(self.replies.get(), GUARD_S)

    async def read(self, uuid: str) -> bytes:
        return bytes(await self.char(uuid).read_value())

    def legaccel_packets(self) -> list[legaccel.LegAccelPacket]:
        return [legaccel.decode_packet(p) for p in self.packets]


class Central:
    """A bumble host connected to the virtual sensor's HCI port."""

    def __init__(self, transport: Any, device: Device) -> None:
        self.transport = transport
        self.device = device

    @classmethod
    async def open(cls, server: VirtualSensorServer, address: str = "C0:C0:C0:C0:C0:01"
                   ) -> "Central":
        transport = await open_transport(server.transport_spec)
        device = Device.with_hci("test-central", hci.Address(address), transport.source,
                                 transport.sink)
        await device.power_on()
        return cls(transport, device)

    async def find(self, name: str) -> Any:
        found: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

        def on_adv(adv: Any) -> None:
            if (adv.data.get(AdvertisingData.COMPLETE_LOCAL_NAME) == name
                    and not found.done()):
                found.set_result(adv)

        self.device.on("advertisement", on_adv)
        await self.device.start_scanning(filter_duplicates=False)
        try:
            return await asyncio.wait_for(found, GUARD_S)
        finally:
            self.device.remove_listener("advertisement", on_adv)
            await self.device.stop_scanning()

    async def link(self, name: str = NAME, protocol: str = "legaccel") -> Link:
        adv = await self.find(name)
        conn = await asyncio.wait_for(self.device.connect(adv.address), GUARD_S)
        link = Link(conn, protocol)
        await link.setup()
        return link

    async def close(self) -> None:
        await self.transport.close()


async def start_legaccel(link: Link, fs_hz: float = FS_HZ, range_g: int = 8
                         ) -> legaccel_control.StartReply:
    reply = legaccel_control.decode_status(await link.command(legaccel_control.start_command(fs_hz, range_g)))
    legaccel_control.check_status(reply, legaccel_control.OP_START)
    return legaccel_control.decode_start_reply(reply.payload)


def source_index(p: legaccel.LegAccelPacket, boot_sample: int = 0) -> int:
    """Source index of a packet's first sample from its device clock (us since boot)."""
    return boot_sample + round(p.device_time_us * FS_HZ / 1e6)


def check_samples(packets: list[legaccel.LegAccelPacket], src: SensorSource,
                  boot_sample: int = 0) -> np.ndarray:
    """Every packet holds exactly the source samples its device clock names; return the
    (sorted, unique) source indices received."""
    got = []
    for p in packets:
        i0 = source_index(p, boot_sample)
        np.testing.assert_array_equal(p.counts, src.counts[i0:i0 + p.n_samples])
        got.append(np.arange(i0, i0 + p.n_samples))
    return np.unique(np.concatenate(got)) if got else np.zeros(0, int)


# --------------------------------------------------------------------------------------------
# Pure parts: quantisation, fault plan, ledger
# --------------------------------------------------------------------------------------------
def test_quantise_g_holds_gaps_rounds_and_clips():
    acc = np.array([[np.nan, 0, 0], [0.001, -0.0004, 1.0], [np.nan, np.nan, np.nan],
                    [20.0, -20.0, 0.0015]])
    got = quantise_g(acc, 0.001, range_g=8)
    # Leading gap takes the first valid row; a later gap holds the row before it.
    np.testing.assert_array_equal(got, [[1, 0, 1000], [1, 0, 1000], [1, 0, 1000],
                                        [8000, -8000, 2]])
    assert got.dtype == np.int16
    full = quantise_g(np.array([[8.0, -8.0, 7.9999]]), 8 / 32768, range_g=8)
    np.testing.assert_array_equal(full, [[32767, -32768, 32767]])
    assert not quantise_g(np.full((2, 3), np.nan), 0.001).any()


def test_source_from_recording_uses_the_protocol_scale():
    rec = night(50)
    la = SensorSource.from_recording(rec, "legaccel", range_g=4)
    assert la.scale_g == 4 / 32768 and la.range_g == 4 and la.fs_hz == FS_HZ
    np.testing.assert_array_equal(la.counts, quantise_g(rec.acc_g, 4 / 32768, 4))
    polar = SensorSource.from_recording(rec, "polar")
    assert polar.scale_g == 0.001 and polar.t0_unix_s == T0_UNIX_S
    np.testing.assert_array_equal(polar.counts, np.clip(np.rint(rec.acc_g.astype(float) * 1000),
                                                        -8000, 8000))
    with pytest.raises(ValueError, match="range_g"):
        SensorSource.from_recording(rec, "legaccel", range_g=3)


def test_spec_rejects_a_polar_clock_before_2000():
    src = SensorSource.from_recording(Recording.from_array(np.zeros((10, 3)), 52.0), "polar")
    with pytest.raises(ValueError, match="2000"):
        VirtualSensorSpec("polar", src, "Polar Sense SIM00001", ADDRESS)


def test_fault_plan_checks_values_and_battery_counts_source_hours():
    with pytest.raises(ValueError, match="drop_every"):
        FaultPlan(drop_every=-1)
    with pytest.raises(ValueError, match="stall_s"):
        FaultPlan(stall_s=math.inf)
    plan = FaultPlan(battery_start_pct=90, battery_drain_pct_per_h=10)
    assert plan.battery_pct(0) == 90
    assert plan.battery_pct(1) == 90           # 89.997 % reads 90 until a percent is used
    assert plan.battery_pct(360) == 89
    assert plan.battery_pct(3600 * 8.95) == 1
    assert plan.battery_pct(3600 * 20) == 0


def test_packet_faults_number_packets_and_take_drop_over_reorder_over_duplicate():
    pf = PacketFaults(FaultPlan(drop_every=6, reorder_every=3, duplicate_every=2))
    assert [pf.decide() for _ in range(7)] == [SEND, DUPLICATE, HOLD, DUPLICATE, SEND, DROP,
                                               SEND]


def test_ledger_groups_losses_and_merges_sent_ranges(tmp_path):
    log = FaultLog(tmp_path / "f.jsonl")
    led = SampleLedger("s", 100, log)
    led.lost(0, 5, "not_streaming", None, cause="not started")
    led.sent(5, 10)
    led.lost(15, 5, "drop", 7, seq=1)
    led.lost(20, 5, "drop", 7, seq=2)           # drops never merge
    led.sent(30, 5)
    led.sent(25, 5)                             # a reordered packet
    led.lost(35, 3, "stall", 7)
    led.lost(38, 2, "stall", 7)                 # same cause, contiguous: one line
    led.lost(40, 1, "disconnect", 7)
    summary = led.finish()
    log.close()
    assert [(ln["kind"], ln["first_sample"], ln["n_samples"]) for ln in log.lines[:-1]] == [
        ("not_streaming", 0, 5), ("drop", 15, 5), ("drop", 20, 5), ("stall", 35, 5),
        ("disconnect", 40, 1)]
    assert summary["sent_ranges"] == [[5, 15], [25, 35]] and summary["n_lost"] == 21
    on_disk = [json.loads(x) for x in (tmp_path / "f.jsonl").read_text().splitlines()]
    assert on_disk == log.lines
    assert stat.S_IMODE(os.stat(tmp_path / "f.jsonl").st_mode) == 0o600


# --------------------------------------------------------------------------------------------
# LegAccel over the link
# --------------------------------------------------------------------------------------------
def test_legaccel_streams_exactly_the_source_and_answers_the_control_point():
    # 60000 samples at 400x last 1.5 s of wall time: far longer than the setup before START.
    spec = legaccel_spec(60000, clip_every=97)
    src = spec.source

    async def main() -> None:
        async with VirtualSensorServer([spec], port=0, speed=400) as server:
            central = await Central.open(server)
            adv = await central.find(NAME)
            assert UUID(LEGACCEL_SERVICE_UUID) in adv.data.get(
                AdvertisingData.INCOMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS)
            link = await central.link()
            assert (await link.read(MANUFACTURER_NAME_UUID)) == b"legtwitch"
            assert b"LegAccel" in await link.read(MODEL_NUMBER_UUID)
            assert await link.read(SERIAL_NUMBER_UUID) and await link.read(FIRMWARE_REVISION_UUID)
            assert (await link.read(BATTERY_LEVEL_UUID)) == bytes([100])

            info = legaccel_control.decode_status(await link.command(legaccel_control.info_command()))
            dev = legaccel_control.decode_device_info(info.payload)
            assert dev.rates_hz == (FS_HZ,) and dev.ranges_g == (8,) and not dev.streaming
            for bad in (legaccel_control.start_command(50, 8), legaccel_control.start_command(FS_HZ, 4)):
                reply = legaccel_control.decode_status(await link.command(bad))
                assert reply.status == legaccel_control.STATUS_INVALID_PARAMETER
            assert not link.packets           # nothing is sent before START

            start = await start_legaccel(link)
            again = legaccel_control.decode_status(await link.command(legaccel_control.start_command(FS_HZ, 8)))
            assert again.status == legaccel_control.STATUS_ALREADY
            sensor = server.sensors[0]
            await until(sensor.finished.is_set, "the end of the source")
            stop = legaccel_control.decode_status(await link.command(legaccel_control.stop_command()))
            assert stop.ok                     # the reply follows the last data packet
            stop = legaccel_control.decode_status(await link.command(legaccel_control.stop_command()))
            assert stop.status == legaccel_control.STATUS_ALREADY

            packets = link.legaccel_packets()
            first = round(start.device_time_us * FS_HZ / 1e6)   # clock = source time since boot
            assert [p.seq for p in packets] == list(range(len(packets)))
            assert {p.session_id for p in packets} == {start.session_id}
            assert all(p.n_samples == (247 - 33) // 6 for p in packets[:-1])
            idx = np.cumsum([0] + [p.n_samples for p in packets[:-1]])
            assert [p.first_index for p in packets] == idx.tolist()
            assert [bool(p.flags & FLAG_FIRST) for p in packets] == [True] + [False] * (
                len(packets) - 1)
            for p in packets:
                assert p.device_time_us == start.device_time_us + round(p.first_index * 1e6 / FS_HZ)
                clipped = bool((np.abs(p.counts.astype(int)) >= 32767).any())
                assert bool(p.flags & FLAG_CLIPPING) == clipped
            counts = np.concatenate([p.counts for p in packets])
            np.testing.assert_array_equal(counts, src.counts[first:])
            summary = lines_of(server, "summary")[0]
            assert summary["sent_ranges"] == [[first, src.n_samples]]
            lost = [(ln["first_sample"], ln["n_samples"]) for ln in lines_of(server,
                                                                               "not_streaming")]
            assert lost == ([(0, first)] if first else [])
            assert sensor.errors == []
            await central.close()
        check_log_accounts_for_every_sample(server)

    run(main())


@pytest.mark.parametrize("kind", ["drop", "duplicate", "reorder"])
def test_packet_faults_do_exactly_what_the_log_says(kind):
    every = {"drop": 5, "duplicate": 4, "reorder": 3}[kind]
    plan = FaultPlan(**{f"{kind}_every": every})
    spec = legaccel_spec(200000, faults=plan, seed=1)
    src = spec.source

    async def main() -> None:
        async with VirtualSensorServer([spec], port=0, speed=300) as server:
            central = await Central.open(server)
            link = await central.link()
            start = await start_legaccel(link)
            await until(lambda: len(link.packets) >= 60, "60 packets")
            # STOP sends what is buffered; its reply follows the last data packet.
            assert legaccel_control.decode_status(await link.command(legaccel_control.stop_command())).ok
            packets = link.legaccel_packets()
            first = round(start.device_time_us * FS_HZ / 1e6)
            got = check_samples(packets, src)
            missing = np.setdiff1d(np.arange(first, got[-1] + 1), got)
            lines = [(ln["first_sample"], ln["n_samples"]) for ln in lines_of(server, kind)
                     if ln["first_sample"] < got[-1]]
            assert lines, f"no {kind} happened"
            seqs = [p.seq for p in packets]
            if kind == "drop":
                assert ranges_of(missing) == lines
                assert sorted(set(range(max(seqs) + 1)) - set(seqs)) == [
                    ln["seq"] for ln in lines_of(server, "drop") if ln["seq"] < max(seqs)]
            else:
                assert missing.size == 0
            if kind == "duplicate":
                twice = [(source_index(a), a.n_samples) for a, b in zip(packets, packets[1:])
                         if a.seq == b.seq]
                assert twice == lines and len(seqs) == len(set(seqs)) + len(lines)
            if kind == "reorder":
                late = [(source_index(b), b.n_samples) for a, b in zip(packets, packets[1:])
                        if b.seq < a.seq]
                held = [(ln["held_first_sample"], ln["held_n_samples"])
                        for ln in lines_of(server, "reorder")]
                assert late == held and len(seqs) == len(set(seqs))
                for ln in lines_of(server, "reorder"):
                    assert ln["seq"][1] == ln["seq"][0] + 1
            await central.close()
        check_log_accounts_for_every_sample(server)

    run(main())


def test_disconnect_then_a_new_start_continues_the_device_clock():
    plan = FaultPlan(disconnect_every_s=0.25)
    spec = legaccel_spec(200000, faults=plan, seed=2)
    src = spec.source

    async def main() -> None:
        async with VirtualSensorServer([spec], port=0, speed=200) as server:
            central = await Central.open(server)
            link = await central.link()
            s1 = await start_legaccel(link)
            await asyncio.wait_for(link.disconnected.wait(), GUARD_S)
            old = link.legaccel_packets()
            link2 = await central.link()
            s2 = await start_legaccel(link2)
            await until(lambda: len(link2.packets) >= 3, "packets after the reconnect")
            new = link2.legaccel_packets()
            assert s2.session_id != s1.session_id
            check_samples(old + new, src)
            last_old = source_index(old[-1]) + old[-1].n_samples - 1
            first_new = round(s2.device_time_us * FS_HZ / 1e6)
            assert source_index(new[0]) == first_new
            line = lines_of(server, "disconnect")[0]
            # The device clock says exactly how many samples the drop cost.
            assert (line["first_sample"], line["n_samples"]) == (last_old + 1,
                                                                 first_new - last_old - 1)
            assert line["session_id"] == s1.session_id
            assert first_new - last_old - 1 > 0
            await central.close()
        check_log_accounts_for_every_sample(server)

    run(main())


def test_reboot_gives_a_new_session_and_restarts_the_device_clock():
    plan = FaultPlan(reboot_every_s=0.25, reboot_s=0.15)
    spec = legaccel_spec(200000, faults=plan, seed=3)
    src = spec.source

    async def main() -> None:
        async with VirtualSensorServer([spec], port=0, speed=200) as server:
            central = await Central.open(server)
            link = await central.link()
            s1 = await start_legaccel(link)
            await asyncio.wait_for(link.disconnected.wait(), GUARD_S)
            old = link.legaccel_packets()
            link2 = await central.link()
            s2 = await start_legaccel(link2)
            await until(lambda: len(link2.packets) >= 3, "packets after the reboot")
            new = link2.legaccel_packets()
            line = lines_of(server, "reboot")[0]
            boot = line["boot_sample"]               # where the new device clock reads 0
            assert server.sensors[0].boots == [0, boot]
            check_samples(old, src)
            check_samples(new, src, boot_sample=boot)
            last_old = source_index(old[-1]) + old[-1].n_samples - 1
            first_new = line["first_sample"] + line["n_samples"]
            assert line["first_sample"] == last_old + 1 and line["session_id"] == s1.session_id
            assert s2.session_id != s1.session_id
            assert last_old < boot <= first_new       # the clock restarted after the old data
            assert s2.device_time_us == round((first_new - boot) * 1e6 / FS_HZ)
            assert source_index(new[0], boot) == first_new
            await central.close()
        check_log_accounts_for_every_sample(server)

    run(main())


def test_stall_keeps_the_link_and_session_and_loses_exactly_the_logged_samples():
    plan = FaultPlan(stall_every_s=0.2, stall_s=0.15)
    spec = legaccel_spec(200000, faults=plan, seed=4)
    src = spec.source

    async def main() -> None:
        async with VirtualSensorServer([spec], port=0, speed=200) as server:
            central = await Central.open(server)
            link = await central.link()
            s1 = await start_legaccel(link)

            def resumed() -> bool:
                pk = link.legaccel_packets()
                return any(b.first_index != a.first_index + a.n_samples
                           for a, b in zip(pk, pk[1:]))

            await until(resumed, "data after a stall")
            assert legaccel_control.decode_status(await link.command(legaccel_control.stop_command())).ok
            assert not link.disconnected.is_set()
            packets = link.legaccel_packets()
            assert {p.session_id for p in packets} == {s1.session_id}
            got = check_samples(packets, src)
            missing = np.setdiff1d(np.arange(got[0], got[-1] + 1), got)
            stalls = [(ln["first_sample"], ln["n_samples"]) for ln in lines_of(server, "stall")
                      if ln["first_sample"] < got[-1]]
            assert ranges_of(missing) == stalls and stalls
            await central.close()
        check_log_accounts_for_every_sample(server)

    run(main())


def test_stall_ended_by_the_central_disconnecting_is_one_exact_loss():
    # stall_s = 0: the stall lasts until the central gives up (as the recorder's watchdog does).
    plan = FaultPlan(stall_every_s=0.1, stall_s=0)
    spec = legaccel_spec(200000, faults=plan, seed=10)
    src = spec.source

    async def main() -> None:
        async with VirtualSensorServer([spec], port=0, speed=200) as server:
            central = await Central.open(server)
            link = await central.link()
            await start_legaccel(link)
            sensor = server.sensors[0]
            await until(lambda: sensor.stalled_until is not None, "a stall")
            lost = sensor.ledger.n_lost
            await until(lambda: sensor.ledger.n_lost > lost + 100, "the stall to cost samples")
            assert not link.disconnected.is_set()   # the link stays up during a stall
            await link.conn.disconnect()
            old = link.legaccel_packets()
            link2 = await central.link()
            s2 = await start_legaccel(link2)
            await until(lambda: len(link2.packets) >= 3, "packets after the stall")
            check_samples(old + link2.legaccel_packets(), src)
            last_old = source_index(old[-1]) + old[-1].n_samples - 1
            first_new = round(s2.device_time_us * FS_HZ / 1e6)
            stalls = lines_of(server, "stall")
            assert [(ln["first_sample"], ln["n_samples"]) for ln in stalls] == [
                (last_old + 1, first_new - last_old - 1)]
            await central.close()
        check_log_accounts_for_every_sample(server)

    run(main())


def test_the_source_starts_with_the_first_start_command_not_at_launch():
    # A real sensor starts its stream on the start command: the virtual one launched, waited
    # (0.5 s at 400x is 200 s of source time, 20,000 samples) and lost all of it once.
    spec = legaccel_spec(60000, seed=3)
    src = spec.source

    async def main() -> None:
        async with VirtualSensorServer([spec], port=0, speed=400) as server:
            await asyncio.sleep(0.5)
            central = await Central.open(server)
            link = await central.link()
            await asyncio.sleep(0.2)                  # connected, not started: nothing runs
            assert server.sensors[0].cursor == 0
            await start_legaccel(link)
            await until(lambda: len(link.packets) >= 3, "packets")
            packets = link.legaccel_packets()
            assert packets[0].first_index == 0        # the night from its first sample
            check_samples(packets, src)
            await central.close()
        started = lines_of(server, "source_started")
        assert len(started) == 1
        assert not [ln for ln in lines_of(server, "not_streaming")
                    if ln.get("cause") == "not started"]
        check_log_accounts_for_every_sample(server)

    run(main())


def test_a_sensor_whose_source_is_finished_stops_advertising():
    # Once its night is sent it is gone, as a sensor that was switched off: a recorder must not
    # connect to it again and again only to receive nothing.
    spec = legaccel_spec(2000, seed=4)
    statuses: list[str] = []

    async def main() -> None:
        async with VirtualSensorServer([spec], port=0, speed=200,
                                       on_status=statuses.append) as server:
            central = await Central.open(server)
            link = await central.link()
            await start_legaccel(link)
            sensor = server.sensors[0]
            await until(lambda: sensor.finished.is_set(), "the source to finish")
            await link.conn.disconnect()
            await until(lambda: sensor.conn is None, "the sensor to notice")
            await asyncio.sleep(0.3)
            assert any("not advertising any more" in s for s in statuses)
            assert not any(s == "advertising" for s in statuses[statuses.index(next(
                s for s in statuses if "not advertising" in s)):])
            await central.close()

    run(main())


def test_battery_level_is_notified_on_every_change():
    plan = FaultPlan(battery_start_pct=100, battery_drain_pct_per_h=720.0)
    spec = legaccel_spec(200000, faults=plan)

    async def main() -> None:
        async with VirtualSensorServer([spec], port=0, speed=200) as server:
            central = await Central.open(server)
            link = await central.link()
            await until(lambda: len(link.battery) >= 5, "battery notifications")
            level = (await link.read(BATTERY_LEVEL_UUID))[0]
            seen = list(link.battery)
            assert all(b < a for a, b in zip(seen, seen[1:])) and seen[0] < 100
            assert level == seen[-1]       # the read answers after the last notification
            sensor = server.sensors[0]
            assert sensor.battery_pct <= level
            await central.close()
        check_log_accounts_for_every_sample(server)

    run(main())


def test_central_transport_closing_without_disconnect_frees_the_sensor():
    spec = legaccel_spec(200000, seed=5)
    src = spec.source

    async def main() -> None:
        statuses: list[str] = []
        async with VirtualSensorServer([spec], port=0, speed=200,
                                       on_status=statuses.append) as server:
            central = await Central.open(server)
            link = await central.link()
            await start_legaccel(link)
            await until(lambda: len(link.packets) >= 3, "packets")
            await central.close()                  # like kill -9: no LL disconnect
            sensor = server.sensors[0]
            await until(lambda: sensor.conn is None, "the sensor to notice")
            central2 = await Central.open(server, address="C0:C0:C0:C0:C0:02")
            link2 = await central2.link()
            s2 = await start_legaccel(link2)
            await until(lambda: len(link2.packets) >= 3, "packets on the new central")
            check_samples(link2.legaccel_packets(), src)
            assert link2.legaccel_packets()[0].session_id == s2.session_id
            first_sent, second_sent = sent_ranges(server)[:2]
            gap = lines_of(server, "not_streaming")[-1]
            assert gap["cause"] == "link lost (HCI reason 0x08)"
            assert (gap["first_sample"], gap["first_sample"] + gap["n_samples"]) == (
                first_sent[1], second_sent[0])
            assert any("dropped 1 link" in s for s in statuses)
            await central2.close()
        check_log_accounts_for_every_sample(server)

    def sent_ranges(server: VirtualSensorServer) -> list[list[int]]:
        return [list(r) for r in server.sensors[0].ledger.sent_ranges]

    run(main())


def test_two_sensors_share_the_air_and_one_central_streams_both():
    specs = [legaccel_spec(200000, seed=8),
             VirtualSensorSpec("legaccel", SensorSource.from_recording(night(200000, seed=9),
                                                                       "legaccel"),
                               "LegAccel-sim-2", "F0:F0:F0:F0:F0:02")]

    async def main() -> None:
        async with VirtualSensorServer(specs, port=0, speed=200) as server:
            central = await Central.open(server)
            links = [await central.link(spec.name) for spec in specs]
            for link in links:
                await start_legaccel(link)
            await until(lambda: all(len(lk.packets) >= 5 for lk in links), "both streams")
            for link, spec in zip(links, specs):
                check_samples(link.legaccel_packets(), spec.source)
            await central.close()
        check_log_accounts_for_every_sample(server)
        sensors = {ln["sensor"] for ln in lines_of(server, "summary")}
        assert sensors == {"LegAccel-sim-1", "LegAccel-sim-2"}

    run(main())


# --------------------------------------------------------------------------------------------
# Polar PMD over the link
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("model,fs_hz", [("Sense", 52.0), ("H10", 50.0)])
def test_polar_streams_the_source_in_pmd_frames(model, fs_hz):
    rng = np.random.default_rng(6)
    acc = rng.normal(0.0, 0.05, (200000, 3)).cumsum(axis=0) * 0.1
    rec = Recording.from_array(acc.astype(np.float32), fs_hz, t0_unix_s=T0_UNIX_S)
    src = SensorSource.from_recording(rec, "polar")
    name = f"Polar {model} SIM00001"
    spec = VirtualSensorSpec("polar", src, name, ADDRESS, model=model)
    base_ns = pmd.unix_s_to_pmd_ns(T0_UNIX_S)

    async def main() -> None:
        async with VirtualSensorServer([spec], port=0, speed=400) as server:
            central = await Central.open(server)
            adv = await central.find(name)
            assert UUID(PMD_SERVICE_UUID) in adv.data.get(
                AdvertisingData.INCOMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS)
            link = await central.link(name, "polar")
            assert pc.decode_features(await link.read(PMD_CONTROL_UUID)) == {pmd.MEAS_ACC}
            settings = pc.decode_control_response(
                await link.command(pc.encode_get_settings(pmd.MEAS_ACC)))
            assert settings.settings[pc.SETTING_SAMPLE_RATE] == [int(fs_hz)]
            assert settings.settings[pc.SETTING_RANGE] == [8]
            assert (pc.SETTING_CHANNELS in settings.settings) == (model == "Sense")
            channels = 3 if model == "Sense" else None
            for bad, error in ((pc.encode_start(pmd.MEAS_ACC, 26, range_g=8, channels=channels),
                                pc.ERR_INVALID_SAMPLE_RATE),
                               (pc.encode_start(pmd.MEAS_ACC, int(fs_hz), range_g=4,
                                                 channels=channels), pc.ERR_INVALID_RANGE)):
                assert pc.decode_control_response(await link.command(bad)).error == error
            start = pc.encode_start(pmd.MEAS_ACC, int(fs_hz), range_g=8, channels=channels)
            assert pc.decode_control_response(await link.command(start)).ok
            assert (pc.decode_control_response(await link.command(start)).error
                    == pc.ERR_ALREADY_IN_STATE)
            await until(lambda: len(link.packets) >= 40, "40 frames")
            # STOP sends the samples still buffered; its reply follows the last frame.
            assert pc.decode_control_response(
                await link.command(pc.encode_stop(pmd.MEAS_ACC))).ok
            frames = [pmd.decode_acc_frame(p) for p in link.packets]
            want_type = pmd.FRAME_COMPRESSED_TYPE1 if model == "Sense" else pmd.FRAME_RAW_INT16
            assert {f.frame_type for f in frames} == {want_type}
            most = 71 if model == "Sense" else (247 - 3 - 10) // 6
            assert max(f.n for f in frames) == most
            # The timestamp of each frame is the PMD time of its last sample.
            last = [round((f.timestamp_ns - base_ns) * fs_hz / 1e9) for f in frames]
            firsts = [j - f.n + 1 for j, f in zip(last, frames)]
            assert firsts[1:] == [j + 1 for j in last[:-1]]
            for j, f in zip(last, frames):
                assert f.timestamp_ns == base_ns + round(j * 1e9 / fs_hz)
            counts = np.concatenate([f.counts for f in frames])
            np.testing.assert_array_equal(counts, src.counts[firsts[0]:last[-1] + 1])
            assert server.sensors[0].ledger.sent_ranges == [(firsts[0], last[-1] + 1)]
            await central.close()
        check_log_accounts_for_every_sample(server)

    run(main())


# --------------------------------------------------------------------------------------------
# The runner the command line uses
# --------------------------------------------------------------------------------------------
def test_run_virtual_sensors_reports_its_port_writes_the_log_and_exits_when_done(tmp_path):
    # 3000 samples at 20x last 1.5 s of wall time, far longer than connecting takes.
    spec = legaccel_spec(3000, seed=7)
    fault_log = tmp_path / "faults.jsonl"
    statuses: list[str] = []

    async def main() -> None:
        ready: asyncio.Future[VirtualSensorServer] = asyncio.get_running_loop().create_future()
        runner = asyncio.ensure_future(run_virtual_sensors(
            [spec], port=0, speed=20, fault_log=fault_log, on_status=statuses.append,
            exit_when_done=True, ready=ready.set_result))
        server = await asyncio.wait_for(ready, GUARD_S)
        assert server.port > 0 and server.host == "127.0.0.1"
        central = await Central.open(server)
        link = await central.link()
        await start_legaccel(link)
        await asyncio.wait_for(runner, GUARD_S)       # returns once the source has been sent
        await central.close()

    run(main())
    assert stat.S_IMODE(os.stat(fault_log).st_mode) == 0o600
    lines = [json.loads(x) for x in fault_log.read_text().splitlines()]
    summary = lines[-1]
    assert summary["kind"] == "summary" and summary["source_samples"] == 3000
    sent = summary["sent_ranges"]
    assert len(sent) == 1 and sent[0][1] == 3000
    lost = [ln for ln in lines if ln["kind"] == "not_streaming"]
    assert [(ln["first_sample"], ln["n_samples"]) for ln in lost] == (
        [(0, sent[0][0])] if sent[0][0] else [])
    for word in ("advertising", "connected", "streaming", "source finished"):
        assert any(word in s for s in statuses), word
