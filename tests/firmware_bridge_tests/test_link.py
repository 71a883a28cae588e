"""The BLE link's reconnect policy, the record command's arguments and the live status line,
without any radio (a fake bleak backend that never finds the sensor)."""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys

import pytest

from firmware_bridge.client import EVENT, LinkConfig, SensorLink, protocol_of
from detector.cli.ble import parse_device, parse_hostport
from firmware_bridge.protocols.constants import LEGACCEL_SERVICE_UUID, PMD_SERVICE_UUID
from firmware_bridge.recorder import LIVE_EVENT_COLUMNS, LiveEventLog, format_status


class _NeverFound:
    """A bleak scanner backend stand-in: the sensor is never seen."""

    @classmethod
    async def find_device_by_address(cls, *_a, **_k):
        return None


def _link_events(cfg: LinkConfig, run_s: float) -> list[tuple[float, dict]]:
    async def main():
        q: asyncio.Queue = asyncio.Queue()
        link = SensorLink("F0:F0:F0:F0:F0:09", "legaccel", q, config=cfg)
        stop = asyncio.Event()
        asyncio.get_running_loop().call_later(run_s, stop.set)

        import bleak

        orig = bleak.BleakScanner.find_device_by_address
        bleak.BleakScanner.find_device_by_address = _NeverFound.find_device_by_address
        try:
            await link.run(stop)
        finally:
            bleak.BleakScanner.find_device_by_address = orig
        out = []
        while not q.empty():
            label, kind, t, payload = q.get_nowait()
            assert kind == EVENT and label == "sensor"
            out.append((t, payload))
        return out

    return asyncio.run(main())


def test_reconnect_backs_off_exponentially_up_to_the_cap_and_stops_when_asked():
    cfg = LinkConfig(backoff_initial_s=0.05, backoff_max_s=0.2, connect_timeout_s=0.1)
    events = _link_events(cfg, 1.3)
    fails = [t for t, e in events if e["event"] == "disconnected"]
    assert all("not found" in e["cause"] for _t, e in events if e["event"] == "disconnected")
    assert events[-1][1]["event"] == "stopped"
    waits = [b - a for a, b in zip(fails, fails[1:])]
    assert len(waits) >= 4
    # 0.05, 0.1, 0.2, 0.2, ... (each attempt itself fails at once)
    assert waits[0] == pytest.approx(0.05, abs=0.03)
    assert waits[1] == pytest.approx(0.10, abs=0.04)
    assert all(w == pytest.approx(0.20, abs=0.06) for w in waits[2:])


def test_protocol_is_read_from_the_advertisement():
    assert protocol_of([LEGACCEL_SERVICE_UUID.upper()], None) == "legaccel"
    assert protocol_of([PMD_SERVICE_UUID], "Polar Sense B5") == "polar"
    assert protocol_of([], "Polar H10 1234") == "polar"
    assert protocol_of(["0000180f-0000-1000-8000-00805f9b34fb"], "Mi Band") is None


def test_device_and_virtual_arguments():
    assert parse_device("left=AA:BB:CC:DD:EE:FF") == ("left", "AA:BB:CC:DD:EE:FF")
    assert parse_device("AA:BB:CC:DD:EE:FF") == (None, "AA:BB:CC:DD:EE:FF")
    with pytest.raises(argparse.ArgumentTypeError, match="left, right or sensor"):
        parse_device("middle=AA:BB")
    with pytest.raises(argparse.ArgumentTypeError, match="no address"):
        parse_device("left=")
    assert parse_hostport("") == ("127.0.0.1", 47330)
    assert parse_hostport("5000") == ("127.0.0.1", 5000)
    assert parse_hostport("10.0.0.2:6000") == ("10.0.0.2", 6000)
    with pytest.raises(argparse.ArgumentTypeError, match="HOST:PORT"):
        parse_hostport("host:port")
    with pytest.raises(argparse.ArgumentTypeError, match="0-65535"):
        parse_hostport("70000")


def test_record_without_a_sensor_says_what_to_do():
    run = subprocess.run([sys.executable, "-m", "detector.cli", "record"], capture_output=True,
                         text=True, timeout=60)
    assert run.returncode != 0
    assert "--device" in (run.stdout + run.stderr) and "legtwitch scan" in run.stderr
    assert "Traceback" not in run.stderr


@pytest.mark.parametrize("cmd", ["record", "scan", "sensor-sim", "recover"])
def test_every_ble_command_explains_itself(cmd, capsys):
    from detector.cli import main

    with pytest.raises(SystemExit) as done:
        main([cmd, "--help"])
    assert done.value.code == 0
    assert "usage: legtwitch " + cmd in capsys.readouterr().out


def test_status_line_has_every_figure():
    line = format_status(3725, [{"label": "left", "state": "streaming", "samples": 372500,
                                 "rate_hz": 99.94, "loss_pct": 0.25, "reconnects": 2,
                                 "battery_pct": 87, "twitch": 4, "lm": 31, "series": 2}])
    assert line.startswith("01:02:05 left 372,500 smp 99.9 Hz loss 0.25% reconn 2 batt 87% |")
    assert line.endswith("4 twitch 31 LM 2 series")
    # once samples arrive, the night's clock time (the sample clock the detections print on;
    # link messages and status on the host clock came out of order with --speed)
    clocked = format_status(3725, [{"label": "left", "state": "streaming", "samples": 1}],
                            clock="23:41:05")
    assert clocked.startswith("23:41:05 left 1 smp")


def test_status_fits_100_columns_with_two_sensors_and_says_when_data_stopped():
    # Two sensors once made one 230-character line that wrapped; a sensor whose data stopped
    # showed a frozen count under "streaming".
    rows = [{"label": "left", "state": "streaming", "samples": 2_372_500, "rate_hz": 99.94,
             "loss_pct": 0.25, "reconnects": 2, "battery_pct": 87, "twitch": 40, "lm": 310,
             "series": 20},
            {"label": "right", "state": "streaming", "samples": 261_940, "rate_hz": 99.9,
             "loss_pct": 0.0, "reconnects": 0, "battery_pct": None, "twitch": 4, "lm": 31,
             "series": 2, "silent_s": 42.3}]
    lines = format_status(3725, rows).splitlines()
    assert len(lines) == 2 and all(len(line) <= 100 for line in lines), lines
    assert lines[0].startswith("01:02:05 left  2,372,500 smp")
    assert lines[1].startswith("         right no data for 42 s 261,940 smp")


def test_a_restarted_recorder_counts_on_from_the_events_it_had_found(tmp_path):
    # After a resume the sample count carried over but the event counters restarted at 0.
    from detector.live.events import LiveEvent

    path = tmp_path / "events.csv"
    log = LiveEventLog(path)
    log.write(LiveEvent("lm", 10.0, 12.5, 2.5, 0.1, 1, None, 13.9), 1_700_000_000.0, "left")
    log.write(LiveEvent("lm", 10.0, 12.7, 2.7, 0.1, 1, None, 14.9, revised=True),
              1_700_000_000.0, "left")                      # the same LM, revised: once
    log.write(LiveEvent("twitch", 30.0, 30.2, 0.2, 0.05, None, None, 31.0), 1_700_000_000.0,
              "left")
    log.write(LiveEvent("plm_series", 10.0, 80.0, 70.0, float("nan"), 1, 4, 81.0),
              1_700_000_000.0, "left")
    log.close()
    again = LiveEventLog(path)
    assert again.previous == {"twitch": 1, "lm": 1, "sustained": 0, "series": 1}
    again.close()
    assert LiveEventLog(tmp_path / "new.csv").previous["lm"] == 0


def test_live_event_log_is_private_and_appends(tmp_path):
    from detector.live.events import LiveEvent

    path = tmp_path / "events.csv"
    for _ in range(2):                       # a restarted recorder appends, one header
        log = LiveEventLog(path)
        log.write(LiveEvent("lm", 10.0, 12.5, 2.5, 0.1, 1, None, 13.9), 1_700_000_000.0, "left")
        log.close()
    lines = path.read_text().splitlines()
    assert lines[0].split(",") == list(LIVE_EVENT_COLUMNS)
    assert len(lines) == 3
    row = dict(zip(LIVE_EVENT_COLUMNS, lines[1].split(",")))
    assert row["kind"] == "lm" and row["start_time"].startswith("2023-11-14T22:13:30.000")
    assert row["detected_time"].startswith("2023-11-14T22:13:33.900")
    assert (path.stat().st_mode & 0o777) == 0o600


def test_link_messages_are_timed_on_the_sample_clock_once_samples_arrive():
    # With --speed the host clock and the night's clock differ: "16:10:47 link lost" came after
    # detections at 16:22. Link messages take the sample clock, as detections do.
    from types import SimpleNamespace

    from firmware_bridge.recorder import NightRecorder

    before = SimpleNamespace(sample_clock_s=None)
    after = SimpleNamespace(sample_clock_s=1_700_001_000.0)
    assert NightRecorder._when(None, before, 1_700_000_005.0) == 1_700_000_005.0
    assert NightRecorder._when(None, after, 1_700_000_005.0) == 1_700_001_000.0
