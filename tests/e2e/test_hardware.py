"""Tests against a real sensor, skipped unless asked for:

    python -m pytest tests/e2e/test_hardware.py --hardware C8:3E:..:01 --hardware-protocol polar

They use bleak's own backend (the computer's Bluetooth), exactly as `legtwitch record` does.
"""

from __future__ import annotations

import subprocess
import sys

import pyarrow.parquet as pq
import pytest

pytestmark = pytest.mark.hardware


def test_scan_finds_the_sensor(hardware_sensor):
    address, protocol = hardware_sensor
    out = subprocess.run([sys.executable, "-m", "detector.cli", "scan", "--timeout-s", "10"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    line = next((x for x in out.stdout.splitlines() if address.lower() in x.lower()), None)
    assert line is not None, f"{address} not in the scan:\n{out.stdout}"
    assert line.rstrip().endswith(protocol)


def test_record_one_minute(hardware_sensor, tmp_path):
    """One minute from the real sensor: a recording at the nominal rate with little loss."""
    address, protocol = hardware_sensor
    out = tmp_path / "night"
    run = subprocess.run([sys.executable, "-m", "detector.cli", "record", "--device", address,
                          "--protocol", protocol, "--out", str(out), "--stop-after-s", "60",
                          "--no-report"], capture_output=True, text=True, timeout=180)
    assert run.returncode == 0, run.stdout + run.stderr
    table = pq.read_table(out / "sensor" / "recording.parquet")
    fs = float(table.schema.metadata[b"fs_hz"])
    assert table.num_rows > 0.8 * 50 * fs
