"""Synthetic nights with known events: the ground truth for tests, benchmarks and the sample night.

In the order a night is made: :mod:`~detector.sim.scenarios` (what a night can hold),
:mod:`~detector.sim.plan` (when each event happens), :mod:`~detector.sim.synth` (the acceleration
of each event), :mod:`~detector.sim.night` (the night as a sensor records it, its truth table,
and the files).
"""

from detector.sim.night import SimulatedNight, simulate_night, truth_path_for, write_simulation
from detector.sim.scenarios import SCENARIOS, SENSORS, Scenario

__all__ = ["SCENARIOS", "SENSORS", "Scenario", "SimulatedNight", "simulate_night",
           "truth_path_for", "write_simulation"]
