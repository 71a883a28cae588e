"""Bluetooth that is not there: `legtwitch scan` and `record --device` say what is missing and
what to do, in one line (they printed "FileNotFoundError: [Errno 2] No such file or directory")."""

from __future__ import annotations

import pytest

import detector.cli.ble as ble
from detector.cli import main


def _fail_with(exc):
    async def discover(*_args, **_kwargs):
        raise exc
    return discover


@pytest.mark.parametrize("exc, words", [
    # bleak on Linux without D-Bus / BlueZ: the system bus socket is missing
    (FileNotFoundError(2, "No such file or directory"), "BlueZ (bluetoothd) and D-Bus"),
    (RuntimeError("No Bluetooth adapters found."), "no Bluetooth adapter found"),
    (RuntimeError("[org.bluez.Error.NotReady] Resource Not Ready"), "Bluetooth is off"),
])
def test_scan_without_bluetooth_says_what_is_missing(monkeypatch, capsys, exc, words):
    monkeypatch.setattr(ble, "_discover", _fail_with(exc))
    assert main(["scan"]) == 1
    err = capsys.readouterr().err
    assert words in err and "Errno" not in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_record_without_bluetooth_says_what_is_missing(monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(ble, "_discover", _fail_with(FileNotFoundError(2, "No such file")))
    with pytest.raises(SystemExit) as done:
        main(["record", "--device", "AA:BB:CC:DD:EE:FF", "--out", str(tmp_path / "n")])
    text = str(done.value.code)
    assert "BlueZ" in text and "sensor-sim" in text and "FileNotFoundError" not in text
