"""The ``legtwitch`` sub-commands of the BLE side: record, scan, sensor-sim, recover.

They are added to the parser of :mod:`detector.cli`; bleak and bumble are imported only when one of
them runs, so the offline commands start fast.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
import time
from pathlib import Path
from typing import Any

from detector.textsafe import printable

from firmware_bridge.protocols.constants import DEFAULT_VIRTUAL_HOST, DEFAULT_VIRTUAL_PORT

__all__ = ["add_parsers", "COMMANDS", "parse_device", "parse_hostport"]

LABEL_LEGS = {"left": "left", "right": "right", "sensor": "unknown"}


def parse_device(text: str) -> tuple[str | None, str]:
    """``left=AA:BB:..`` -> ("left", "AA:BB:.."); a bare address -> (None, address)."""
    if "=" in text:
        label, addr = text.split("=", 1)
        label = label.strip().lower()
        if label not in LABEL_LEGS:
            raise argparse.ArgumentTypeError(
                f"--device {text!r}: the label must be left, right or sensor (left=ADDRESS)")
        if not addr.strip():
            raise argparse.ArgumentTypeError(f"--device {text!r}: no address after '='")
        return label, addr.strip()
    if not text.strip():
        raise argparse.ArgumentTypeError("--device: empty address")
    return None, text.strip()


def parse_hostport(text: str) -> tuple[str, int]:
    """``HOST:PORT``, ``PORT`` or ``HOST`` -> (host, port) with the virtual sensor's defaults."""
    host, port = DEFAULT_VIRTUAL_HOST, DEFAULT_VIRTUAL_PORT
    if text:
        if ":" in text:
            host, _, p = text.rpartition(":")
            host = host or DEFAULT_VIRTUAL_HOST
        elif text.isdigit():
            p = text
        else:
            host, p = text, str(DEFAULT_VIRTUAL_PORT)
        try:
            port = int(p)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r}: expected HOST:PORT, e.g. "
                                             f"{DEFAULT_VIRTUAL_HOST}:{DEFAULT_VIRTUAL_PORT}")
        if not 0 <= port <= 65535:
            raise argparse.ArgumentTypeError(f"{text!r}: port {port} is not 0-65535")
    return host, port


def _positive(kind: type) -> Any:
    def conv(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if value < 0:
            raise argparse.ArgumentTypeError(f"{text!r}: expected a value >= 0")
        return value
    return conv


def add_parsers(sub: Any, add_config_args: Any) -> None:
    """Add record, scan, sensor-sim and recover to ``detector.cli``'s sub-parsers."""
    fmt = argparse.RawDescriptionHelpFormatter
    p = sub.add_parser(
        "record", help="record a night from one or two BLE sensors, with live detection",
        formatter_class=fmt,
        description="Record a night from a leg-worn BLE accelerometer (LegAccel v1 or Polar "
        "Verity Sense / H10), printing a status line every few seconds and each twitch, leg "
        "movement and PLM series as it is detected. The link is kept alive all night: after a "
        "disconnect or a silent link it reconnects forever. Ctrl-C (or SIGTERM) stops, writes "
        "OUT/<sensor>/recording.parquet and the night report in OUT/report/.\n\n"
        "If the recorder itself is killed, run the same command again with the same --out: the "
        "night continues in the same files (or run `legtwitch recover OUT`).",
        epilog="examples:\n"
        "  legtwitch scan                                   find your sensor's address\n"
        "  legtwitch record --device C8:3E:..:01 --protocol polar --out night1\n"
        "  legtwitch record --device left=ADDR1 --device right=ADDR2 --out night1\n"
        "  legtwitch sensor-sim --scenario plmd     (other terminal, then:)\n"
        "  legtwitch record --virtual --out sim-night")
    p.add_argument("--device", action="append", default=[], metavar="[LABEL=]ADDRESS",
                   type=parse_device,
                   help="sensor address; twice with left=/right= for both legs (the report then "
                        "merges them by the bilateral rules)")
    p.add_argument("--protocol", choices=["auto", "legaccel", "polar"], default="auto",
                   help="sensor protocol (default: from the sensor's advertisement)")
    p.add_argument("--virtual", nargs="?", const="", default=None, metavar="HOST:PORT",
                   type=parse_hostport,
                   help="record from `legtwitch sensor-sim` instead of a radio (default "
                        f"{DEFAULT_VIRTUAL_HOST}:{DEFAULT_VIRTUAL_PORT}); without --device, "
                        "every simulated sensor found is recorded")
    p.add_argument("--out", metavar="DIR", help="night folder (default: night-YYYYMMDD-HHMM)")
    p.add_argument("--fs", type=float, default=None, metavar="HZ",
                   help="sample rate to ask for (default: 100 Hz LegAccel, 52 Hz Polar; the "
                        "nearest supported rate is used)")
    p.add_argument("--range", dest="range_g", type=int, default=8, choices=[2, 4, 8, 16],
                   help="full-scale range, +-g (default 8)")
    p.add_argument("--watchdog-s", type=_positive(float), default=10.0,
                   help="treat a link that is connected but silent this long as lost (default 10)")
    p.add_argument("--max-backoff-s", type=_positive(float), default=60.0,
                   help="longest wait between reconnect attempts (default 60)")
    p.add_argument("--status-every-s", type=_positive(float), default=5.0,
                   help="seconds between status lines (default 5)")
    p.add_argument("--stop-after-s", type=_positive(float), default=None, metavar="S",
                   help="stop by itself after this many seconds (default: run until Ctrl-C)")
    p.add_argument("--csv", action="store_true", help="also write recording.csv")
    p.add_argument("--no-report", action="store_true", help="skip the night report at the end")
    p.add_argument("--start", metavar="HH:MM",
                   help="lights off: the report's rest window starts here (default: estimated)")
    p.add_argument("--end", metavar="HH:MM", help="lights on: the report's rest window ends here")
    p.add_argument("--tz", metavar="ZONE",
                   help="time zone of --start/--end and the report (default: this computer's)")
    add_config_args(p)

    p = sub.add_parser("scan", help="list nearby supported sensors",
                       description="Scan for LegAccel and Polar (Verity Sense, H10) sensors and "
                       "print name, address, signal strength (RSSI) and protocol.")
    p.add_argument("--timeout-s", type=_positive(float), default=5.0, help="scan time (default 5)")
    p.add_argument("--virtual", nargs="?", const="", default=None, metavar="HOST:PORT",
                   type=parse_hostport, help="scan the virtual sensor's link instead of a radio")

    p = sub.add_parser(
        "sensor-sim", help="run a virtual BLE sensor (no radio needed)", formatter_class=fmt,
        description="Run virtual BLE sensors on a real BLE stack (bumble) with a virtual "
        "controller served on a loopback TCP port; `legtwitch record --virtual` connects to it. "
        "The sensor streams a recorded night or a synthetic scenario, SPEED times faster than "
        "real time, and can inject the faults of a real night.",
        epilog="examples:\n"
        "  legtwitch sensor-sim --scenario plmd --speed 60\n"
        "  legtwitch sensor-sim --protocol polar --source night.csv --disconnect-every 30\n"
        "  legtwitch sensor-sim --sensors 2 --drop-every 50 --stall-every 45 --stall-s 20")
    p.add_argument("--protocol", choices=["legaccel", "polar"], default="legaccel",
                   help="protocol to speak (default legaccel)")
    p.add_argument("--model", choices=["sense", "h10"], default="sense",
                   help="Polar model to imitate (Verity Sense: compressed frames, 52 Hz; H10: raw "
                        "frames, 50 Hz)")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--source", metavar="FILE", help="a recording to stream (CSV or Parquet)")
    src.add_argument("--scenario", default="plmd",
                     help="synthetic night when no --source: healthy, plmd, twitchy, rls, noise")
    p.add_argument("--hours", type=_positive(float), default=8.0, help="synthetic night length")
    p.add_argument("--fs", type=float, default=None,
                   help="synthetic sample rate (default 100 Hz, Polar 52 / 50 Hz)")
    p.add_argument("--seed", type=int, default=0, help="synthetic night seed")
    p.add_argument("--sensors", type=int, choices=[1, 2], default=1,
                   help="2 = a left and a right sensor (second one with seed+1)")
    p.add_argument("--speed", type=_positive(float), default=60.0,
                   help="times faster than real time (default 60: 8 h in 8 min)")
    p.add_argument("--host", default=DEFAULT_VIRTUAL_HOST,
                   help="address to serve on (default loopback; other hosts only if you ask)")
    p.add_argument("--port", type=int, default=DEFAULT_VIRTUAL_PORT,
                   help=f"TCP port (default {DEFAULT_VIRTUAL_PORT}; 0 picks a free one)")
    g = p.add_argument_group("faults")
    g.add_argument("--drop-every", type=_positive(int), default=0, metavar="N",
                   help="never send every Nth data packet")
    g.add_argument("--duplicate-every", type=_positive(int), default=0, metavar="N",
                   help="send every Nth packet twice")
    g.add_argument("--reorder-every", type=_positive(int), default=0, metavar="N",
                   help="swap every Nth packet with the next")
    g.add_argument("--corrupt-every", type=_positive(int), default=0, metavar="N",
                   help="send every Nth packet with one wrong field that still decodes, in turn: "
                        "LegAccel session id + 1, index + 2^20, index + 1000, clock + 2^62 us, "
                        "scale 3e38, range changed; Polar timestamp + 1 day, + 1 year, - 1 day "
                        "(the recorder must drop each, and lose nothing else)")
    g.add_argument("--disconnect-every", type=_positive(float), default=0, metavar="S",
                   help="drop the link every S wall-clock seconds")
    g.add_argument("--stall-every", type=_positive(float), default=0, metavar="S",
                   help="every S seconds, stop sending while keeping the link up")
    g.add_argument("--stall-s", type=_positive(float), default=15.0, metavar="S",
                   help="how long a stall lasts (default 15 s; the recorder's watchdog ends it)")
    g.add_argument("--reboot-every", type=_positive(float), default=0, metavar="S",
                   help="reboot every S seconds (link drops, new session, clock restarts)")
    g.add_argument("--battery-drain", type=_positive(float), default=5.0, metavar="PCT_PER_H",
                   help="battery fall per hour of the night (default 5)")
    p.add_argument("--fault-log", metavar="FILE",
                   help="write every injected fault and the samples it cost (JSON lines)")
    p.add_argument("--exit-when-done", action="store_true",
                   help="quit when the source has been streamed")

    p = sub.add_parser(
        "recover", help="rebuild a recording after a crash from its raw packet log",
        description="Rebuild OUT/<sensor>/recording.parquet from raw.log after the recorder was "
        "killed (everything up to the last flush, every few seconds), then write the night "
        "report. Safe to run on a finished night too: the result is the same.")
    p.add_argument("dir", help="the night folder given to `legtwitch record --out`")
    p.add_argument("--csv", action="store_true", help="also write recording.csv")
    p.add_argument("--no-report", action="store_true", help="skip the night report")
    add_config_args(p)


# -- record ---------------------------------------------------------------------------------------
def _backend(hostport: tuple[str, int] | None) -> Any:
    if hostport is None:
        return None
    from firmware_bridge.sim.bumble_backend import bumble_backends

    host, port = hostport
    return bumble_backends(f"tcp-client:{host}:{port}")


async def _discover(backend: Any, timeout_s: float) -> list[dict[str, Any]]:
    from firmware_bridge.client import scan_sensors

    return await scan_sensors(timeout_s, backend)


def bluetooth_problem(exc: BaseException) -> str:
    """What a failed Bluetooth scan means for the user, and what to do (one line)."""
    text = f"{type(exc).__name__}: {exc}"
    low = text.lower()
    if isinstance(exc, FileNotFoundError) or "no such file" in low or "dbus" in low and (
            "connect" in low or "socket" in low):
        return ("no Bluetooth service on this computer: BlueZ (bluetoothd) and D-Bus are not "
                "running, or there is no Bluetooth adapter. Start it (sudo systemctl start "
                "bluetooth), plug in an adapter, or try without one: `legtwitch sensor-sim` "
                "and --virtual")
    if "adapter" in low and ("no " in low or "not found" in low):
        return "no Bluetooth adapter found: plug one in, or check `bluetoothctl list`"
    if "notready" in low or "not ready" in low or "powered" in low:
        return "Bluetooth is off: turn it on (bluetoothctl power on) and try again"
    return f"Bluetooth failed ({printable(text, 200)}); is it on?"


def _resolve_devices(args: argparse.Namespace, backend: Any) -> list[Any]:
    """Labels, legs and protocols of the sensors to record (scanning when needed)."""
    from firmware_bridge.recorder import DeviceSpec

    wanted = list(args.device)
    if not wanted and backend is None:
        raise SystemExit("legtwitch record: error: give the sensor's address with --device (find "
                         "it with `legtwitch scan`), or use --virtual with `legtwitch sensor-sim`")
    found: list[dict[str, Any]] = []
    if not wanted or args.protocol == "auto":
        try:
            found = asyncio.run(_discover(backend, 5.0 if backend is None else 2.0))
        except Exception as exc:  # noqa: BLE001 - no adapter, Bluetooth off, sim not running
            if backend is None:
                raise SystemExit(f"legtwitch record: error: cannot scan: "
                                 f"{bluetooth_problem(exc)}") from None
            raise SystemExit("legtwitch record: error: cannot scan the virtual sensor's link (is "
                             f"`legtwitch sensor-sim` running?): {type(exc).__name__}: "
                             f"{printable(exc, 200)}") from None
    if not wanted:
        if not found:
            host, port = args.virtual
            raise SystemExit(f"legtwitch record: error: no virtual sensor found at {host}:{port}: start "
                             "`legtwitch sensor-sim` in another terminal first")
        found = sorted(found, key=lambda r: r["address"])[:2]
        wanted = [(None, r["address"]) for r in found]
    labels: list[str] = []
    if len(wanted) > 2:
        raise SystemExit("legtwitch record: error: at most two sensors (left and right)")
    for i, (label, _addr) in enumerate(wanted):
        if label is None:
            label = "sensor" if len(wanted) == 1 else ("left", "right")[i]
        labels.append(label)
    if len(set(labels)) != len(labels):
        raise SystemExit(f"legtwitch record: error: two sensors with the label {labels[0]!r}: use "
                         "--device left=ADDR1 --device right=ADDR2")
    by_addr = {r["address"].lower(): r for r in found}
    specs = []
    for label, (_l, addr) in zip(labels, wanted):
        proto = args.protocol
        if proto == "auto":
            row = by_addr.get(addr.lower())
            if row is None:
                raise SystemExit(f"legtwitch record: error: {addr} was not seen advertising, so its protocol is "
                                 "unknown: give --protocol legaccel or --protocol polar")
            proto = row["protocol"]
        specs.append(DeviceSpec(label=label, address=addr, protocol=proto,
                                leg=LABEL_LEGS[label]))
    return specs


def cmd_record(args: argparse.Namespace, config: Any) -> int:
    from detector.io.localtime import zone_named
    from detector.io.recording import InputError
    from detector.score.restwindow import parse_clock

    from firmware_bridge.client import LinkConfig
    from firmware_bridge.recorder import record_night

    # The rest window and zone are checked before the night starts: one line, no sensor needed.
    if (args.start is None) != (args.end is None):
        raise InputError("give both --start (lights off) and --end (lights on), e.g. "
                         "--start 23:00 --end 07:00")
    if args.start is not None:
        parse_clock(args.start, "--start")
        parse_clock(args.end, "--end")
    zone_named(args.tz)
    backend = _backend(args.virtual)
    devices = _resolve_devices(args, backend)
    fs = args.fs
    if fs is None:
        from firmware_bridge.protocols.sensors import protocol_named

        fs = max(protocol_named(d.protocol).default_fs_hz for d in devices)
    link = LinkConfig(fs_hz=fs, range_g=args.range_g, watchdog_s=args.watchdog_s,
                      backoff_max_s=max(args.max_backoff_s, 0.1),
                      backoff_initial_s=min(1.0, max(args.max_backoff_s, 0.1)))
    out = args.out or time.strftime("night-%Y%m%d-%H%M")
    window = (args.start, args.end) if args.start is not None else None
    return record_night(out, devices, stop_after_s=args.stop_after_s, config=config, link=link,
                        backend=backend, csv=args.csv, report=not args.no_report,
                        status_every_s=args.status_every_s, window=window, tz=args.tz)


def cmd_scan(args: argparse.Namespace) -> int:
    backend = _backend(args.virtual)
    try:
        rows = asyncio.run(_discover(backend, args.timeout_s))
    except Exception as exc:  # noqa: BLE001 - no adapter, Bluetooth off, sim not running
        if backend is None:
            print(f"legtwitch scan: error: {bluetooth_problem(exc)}", file=sys.stderr)
        else:
            print(f"legtwitch scan: error: the virtual sensor's link: {type(exc).__name__}: "
                  f"{printable(exc, 200)}", file=sys.stderr)
        return 1
    if not rows:
        print("no LegAccel or Polar sensor found (is it on, charged and not connected to a "
              "phone?)")
        return 0
    print(f"{'name':<24} {'address':<40} {'RSSI':>5}  protocol")
    for r in rows:
        rssi = "?" if r["rssi"] is None else str(r["rssi"])
        print(f"{printable(r['name']):<24} {printable(r['address']):<40} {rssi:>5}  "
              f"{printable(r['protocol'])}")
    return 0


def cmd_recover(args: argparse.Namespace, config: Any) -> int:
    from detector.io.recording import InputError

    from firmware_bridge.recorder import DeviceSpec, write_night_report
    from firmware_bridge.store import recover

    root = Path(args.dir)
    if not root.is_dir():
        raise InputError(f"{root}: no such folder (expected the --out folder of `legtwitch "
                         "record`)")
    folders = sorted(p.parent for p in root.glob("*/raw.log"))
    if (root / "raw.log").is_file():
        folders = [root]
    if not folders:
        raise InputError(f"{root}: no raw.log found in it or its sub-folders (expected the "
                         "--out folder of `legtwitch record`)")
    paths: dict[str, Path] = {}
    devices = []
    for folder in folders:
        path = recover(folder, csv=args.csv)
        label = folder.name
        paths[label] = Path(path)
        devices.append(DeviceSpec(label=label, address="", leg=LABEL_LEGS.get(label, "unknown")))
        print(f"{label}: rebuilt {path}")
    if args.no_report:
        return 0
    return write_night_report(root if folders != [root] else root.parent, paths, devices, config,
                              lambda line: print(line, flush=True))


# -- sensor-sim ------------------------------------------------------------------------------------
def cmd_sensor_sim(args: argparse.Namespace) -> int:
    from firmware_bridge.sim.virtual_sensor import FaultPlan
    from firmware_bridge.sim.server import run_virtual_sensors
    from firmware_bridge.sim.source import SensorSource, VirtualSensorSpec

    faults = FaultPlan(drop_every=args.drop_every, duplicate_every=args.duplicate_every,
                       reorder_every=args.reorder_every, corrupt_every=args.corrupt_every,
                       disconnect_every_s=args.disconnect_every,
                       stall_every_s=args.stall_every, stall_s=args.stall_s,
                       reboot_every_s=args.reboot_every,
                       battery_drain_pct_per_h=args.battery_drain)
    specs = []
    for i in range(args.sensors):
        rec = _sim_source(args, i)
        source = SensorSource.from_recording(rec, args.protocol)
        leg = ("left", "right")[i] if args.sensors == 2 else "sensor"
        specs.append(_sim_spec(VirtualSensorSpec, args, source, i, leg, faults))
    print(f"virtual sensor(s): {', '.join(s.name for s in specs)} - {args.protocol}, "
          f"{specs[0].source.fs_hz:g} Hz, {len(specs[0].source.counts) / specs[0].source.fs_hz / 3600:.2f} h "
          f"at {args.speed:g}x", flush=True)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop.set)
        await run_virtual_sensors(specs, host=args.host, port=args.port, speed=args.speed,
                                  fault_log=Path(args.fault_log) if args.fault_log else None,
                                  stop=stop, exit_when_done=args.exit_when_done,
                                  on_status=lambda line: print(line, flush=True))

    asyncio.run(main())
    return 0


def _sim_source(args: argparse.Namespace, i: int) -> Any:
    if args.source:
        from detector.io.load import load_recording

        return load_recording(args.source)
    from detector.sim.night import simulate_night

    from firmware_bridge.sim.server import SENSOR_CLASSES

    model = "Sense" if args.model == "sense" else "H10"
    fs = args.fs or SENSOR_CLASSES[args.protocol].default_fs_hz(model)
    from detector.io.clean import clean

    # No simulated packet loss: the virtual sensor injects (and logs) its own faults.
    sim = simulate_night(scenario=args.scenario, hours=args.hours, fs_hz=fs,
                         seed=args.seed + i, leg=("left", "right")[i], packet_loss=False)
    s = sim.samples
    return clean(s["timestamp"].to_numpy(), s[["x", "y", "z"]].to_numpy(), fs_hz=fs,
                 source=f"synthetic {args.scenario} night (seed {args.seed + i})")


def _sim_spec(cls: Any, args: argparse.Namespace, source: Any, i: int, leg: str,
              faults: Any) -> Any:
    from firmware_bridge.sim.server import SENSOR_CLASSES

    model = "Sense" if args.model == "sense" else "H10"
    name = SENSOR_CLASSES[args.protocol].default_name(i, model)
    return cls(protocol=args.protocol, source=source, name=name,
               address=f"F0:F0:F0:F0:F0:{i + 1:02X}", faults=faults, model=model)


COMMANDS = {"record": cmd_record, "scan": cmd_scan, "sensor-sim": cmd_sensor_sim,
            "recover": cmd_recover}
