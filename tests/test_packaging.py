"""The wheel ships both packages and the presets, so an installed legtwitch works without the
repository (presets, `legtwitch presets`)."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from repo import REPO

ROOT = REPO


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out),
                           str(ROOT)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    (whl,) = out.glob("legtwitch-*.whl")
    return whl


def test_wheel_contains_packages_presets_and_console_script(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for preset in ROOT.joinpath("configs").glob("*.toml"):
        assert f"detector/presets/{preset.name}" in names
    assert "detector/cli/__init__.py" in names and "detector/cli/many_nights.py" in names
    assert "firmware_bridge/__init__.py" in names
    # every package of the source tree is in the wheel
    for init in ROOT.joinpath("detector").rglob("__init__.py"):
        assert init.relative_to(ROOT).as_posix() in names, init
    entry = next(n for n in names if n.endswith("entry_points.txt"))
    assert "legtwitch = detector.cli:main" in zipfile.ZipFile(wheel).read(entry).decode()


def test_installed_wheel_loads_presets_without_the_repository(wheel, tmp_path):
    target = tmp_path / "site"
    proc = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target",
                           str(target), str(wheel)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    code = ("import detector, detector.config as c; "
            "assert detector.__file__.startswith(%r), detector.__file__; "
            "print(sorted(c.list_presets()), c.load_config('aasm2012').rules.imi_min_s)"
            % str(target))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=tmp_path, env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"},
                         check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "['aasm2012', 'default', 'sensitive'] 5.0" in out.stdout
    # the command line runs from the installed wheel alone (all its sub-packages shipped)
    cli = subprocess.run([sys.executable, "-m", "detector.cli", "batch", "--help"],
                         capture_output=True, text=True, cwd=tmp_path,
                         env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"}, check=False)
    assert cli.returncode == 0 and "--dask-local" in cli.stdout, cli.stderr[-2000:]
