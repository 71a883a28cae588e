"""The recorder's consumer: one item that fails costs that item only; if the consumer dies anyway
the recorder says so at once and still writes the recording and the report.

No radio: a stand-in link puts a clean LegAccel night (3000 packets) on the queue, as the BLE
callbacks do, and waits for the stop.
"""

from __future__ import annotations

import asyncio

import numpy as np
import pyarrow.parquet as pq

from firmware_bridge.protocols import legaccel
from firmware_bridge import recorder as recorder_mod
from firmware_bridge.assembler import Assembler
from firmware_bridge.client import DATA, EVENT
from firmware_bridge.recorder import DeviceSpec, NightRecorder
from synth import rest

FS, SPP, N_PACKETS = 100.0, 35, 3000


def packets() -> list[tuple[float, bytes]]:
    acc = rest(N_PACKETS * SPP / FS + 1, FS, seed=5)
    out = []
    for s in range(N_PACKETS):
        counts = np.rint(acc[s * SPP:(s + 1) * SPP] * 4096).astype(np.int16)
        p = legaccel.LegAccelPacket(seq=s, session_id=3, first_index=s * SPP,
                                    device_time_us=int(2e6 + s * SPP * 1e4), fs_centihz=10000,
                                    range_g=8, scale_g=1 / 4096, counts=counts)
        out.append((1.7e9 + (s + 1) * SPP / FS + 0.02, legaccel.encode_packet(p)))
    return out


class FakeLink:
    """Puts the night on the queue, then waits for the stop (a BLE link does the same)."""

    def __init__(self, address, protocol, queue, label, config=None, backend=None):
        self.queue, self.label = queue, label

    async def run(self, stop: asyncio.Event) -> None:
        await self.queue.put((self.label, EVENT, 1.7e9, {"event": "connected", "name": "x"}))
        for h, payload in packets():
            await self.queue.put((self.label, DATA, h, payload))
        await stop.wait()


def record(tmp_path, monkeypatch, stop_when, **kwargs) -> tuple[NightRecorder, int, list[str]]:
    monkeypatch.setattr(recorder_mod, "SensorLink", FakeLink)
    lines: list[str] = []
    rec = NightRecorder(tmp_path / "night", [DeviceSpec("sensor", "AA")], out=lines.append,
                        status_every_s=0.05, report=True, **kwargs)

    async def main() -> int:
        stop = asyncio.Event()

        async def watch() -> None:
            while not stop_when(rec):
                await asyncio.sleep(0.05)
            stop.set()
        watcher = asyncio.ensure_future(watch())
        code = await rec.run(stop)
        watcher.cancel()
        return code

    return rec, asyncio.run(asyncio.wait_for(main(), 300)), lines


def done(rec: NightRecorder) -> bool:
    s = rec.sensors.get("sensor")
    return s is not None and s.store is not None and (
        s.store.stats.samples + 35 * s.errors >= N_PACKETS * SPP) and rec.queue.empty()


def test_an_item_that_raises_costs_only_itself(tmp_path, monkeypatch):
    real = Assembler.data
    bad = packets()[1500][1]

    def data(self, host_s, payload):
        if payload == bad:
            raise ZeroDivisionError("float division by zero")
        return real(self, host_s, payload)

    monkeypatch.setattr(Assembler, "data", data)
    rec, code, lines = record(tmp_path, monkeypatch, done)
    assert code == 0, lines
    assert rec.sensors["sensor"].errors == 1
    assert any("could not process a notification (ZeroDivisionError" in x for x in lines)
    assert any(" errors 1 " in x for x in lines), lines[-3:]
    table = pq.read_table(tmp_path / "night" / "sensor" / "recording.parquet")
    assert table.num_rows == (N_PACKETS - 1) * SPP
    assert (tmp_path / "night" / "report" / "report.html").is_file()


def test_a_dead_consumer_is_said_at_once_and_the_night_is_still_written(tmp_path, monkeypatch):
    real = NightRecorder._handle_safely
    seen = {"n": 0}

    def handle(self, item):
        seen["n"] += 1
        if seen["n"] == 2000:
            raise MemoryError("simulated")   # not an Exception: escapes the per-item guard
        return real(self, item)

    monkeypatch.setattr(NightRecorder, "_handle_safely", handle)
    rec, code, lines = record(tmp_path, monkeypatch, lambda r: False)  # only the death stops it
    assert code == 1
    said = [x for x in lines if "recording stopped by an internal error (MemoryError" in x]
    assert said, lines[-5:]
    table = pq.read_table(tmp_path / "night" / "sensor" / "recording.parquet")
    # Everything handed to the queue before and after the failing item is in the recording.
    assert table.num_rows >= (N_PACKETS - 1) * SPP, table.num_rows


def test_record_uses_the_given_rest_window_in_its_report(tmp_path, monkeypatch):
    import json

    # The fake night runs from 22:13:20 UTC for about 17 minutes.
    _rec, code, lines = record(tmp_path, monkeypatch, done, window=("22:15", "22:25"), tz="UTC")
    assert code == 0, lines
    summary = json.loads((tmp_path / "night" / "report" / "summary.json").read_text())
    win = summary["rest_window"]
    assert win["source"] == "given" and win["start_time"].startswith("2023-11-14T22:15:00")
    assert abs(win["end_s"] - win["start_s"] - 600) < 1
