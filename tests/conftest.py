import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))


def pytest_addoption(parser):
    parser.addoption("--hardware", metavar="ADDRESS", default=None,
                     help="run the tests marked 'hardware' against the real sensor at ADDRESS "
                          "(with --hardware-protocol legaccel|polar)")
    parser.addoption("--hardware-protocol", default="polar", choices=["legaccel", "polar"],
                     help="protocol of the --hardware sensor (default polar)")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--hardware"):
        return
    skip = pytest.mark.skip(reason="needs a real sensor: run with --hardware ADDRESS")
    for item in items:
        if "hardware" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def hardware_sensor(request):
    """(address, protocol) of the real sensor given with --hardware."""
    return request.config.getoption("--hardware"), request.config.getoption("--hardware-protocol")


@pytest.fixture(scope="session")
def simulated_night():
    """``simulated_night(scenario, hours, fs_hz, seed, **options)``: a simulated night made once
    per test session for each set of arguments (read-only; see ``tests/nights.py``)."""
    import nights

    return nights.night


@pytest.fixture(scope="session")
def scored_night():
    """``scored_night(scenario, seed)``: ``(night, result, comparison)`` of a 1-h 100-Hz night,
    analysed once per test session (see ``tests/nights.py``)."""
    import nights

    return nights.scored
