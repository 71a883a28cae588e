"""Arguments and settings every command shares (argparse and the light config module only)."""

from __future__ import annotations

import argparse

from detector.config import RULES, Config, load_config
from detector.errors import InputError

__all__ = ["add_config_args", "add_input_args", "config_from_args", "start_time_arg"]


def add_config_args(p: argparse.ArgumentParser) -> None:
    """--config, --set and --rules."""
    p.add_argument("--config", metavar="PRESET|FILE",
                   help="a bundled preset (see `legtwitch presets`) or a TOML file "
                        "(default: default, the WASM 2016 rules)")
    p.add_argument("--set", dest="overrides", action="append", default=[],
                   metavar="SECTION.KEY=VALUE",
                   help="override one threshold, e.g. --set envelope.on_factor=6 (repeatable)")
    p.add_argument("--rules", choices=sorted(RULES),
                   help="PLM scoring rules: wasm2016 (default) or aasm2012")


def add_input_args(p: argparse.ArgumentParser) -> None:
    """How to read one recording: --fs, --units, --leg."""
    p.add_argument("--fs", type=float, metavar="HZ",
                   help="sampling rate in Hz (default: inferred from the timestamps)")
    p.add_argument("--units", choices=["g", "mg", "m/s2"],
                   help="units of x, y, z (default: detected from the median magnitude)")
    p.add_argument("--leg", default="unknown", choices=["left", "right", "unknown"],
                   help="which leg the sensor was on (default: unknown)")
    p.add_argument("--force", action="store_true",
                   help="use --units and --fs even when the data says otherwise (the median "
                        "magnitude gives other units, the timestamps another rate)")


def config_from_args(args: argparse.Namespace) -> Config:
    """The configuration that --config, --rules and --set describe."""
    # --rules switches the rule set first (it brings that standard's numbers); --set keys,
    # rules.* included, then apply on top of it.
    rules = [f"rules.standard={args.rules}"] if args.rules else []
    return load_config(args.config, rules + list(args.overrides))


def start_time_arg(text: str) -> float:
    """``--start`` of ``simulate``: an ISO date and time, in this computer's zone without an
    offset."""
    from datetime import datetime

    from detector.io.localtime import local_zone

    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InputError(f"--start {text!r}: expected a date and time such as "
                         "'2024-03-05 22:30' (optionally with an offset, +01:00)") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=local_zone())
    return when.timestamp()
