"""From BLE notifications to samples on one grid per night, with every lost sample accounted for.

In the order a packet goes through it: :mod:`~firmware_bridge.assembler.core` (the
:class:`Assembler`: decoding, causes of gaps, release in order), then, by what the protocol's
packets carry, :mod:`~firmware_bridge.assembler.indexed` (sample indices: LegAccel) or
:mod:`~firmware_bridge.assembler.timed` (timestamps only: Polar);
:mod:`~firmware_bridge.assembler.probation` (packets that do not follow on wait for
confirmation), :mod:`~firmware_bridge.assembler.clock` (device to host time, the final grid),
:mod:`~firmware_bridge.assembler.persist` (state for resuming after a crash) and
:mod:`~firmware_bridge.assembler.parts` (limits, gaps, chunks, counters).
"""

from firmware_bridge.assembler.clock import ClockFit, TimeBase, grid_times, index_times
from firmware_bridge.assembler.core import Assembler
from firmware_bridge.assembler.parts import (CAUSE_DISCONNECT, CAUSE_OVERFLOW, CAUSE_PACKET_LOSS,
                                             CAUSE_PRECEDENCE, CAUSE_REBOOT, CAUSE_STALL,
                                             CONFIRM_PACKETS, DEVICE_TIME_TOL_FRACTION,
                                             DEVICE_TIME_TOL_SAMPLES, EVENT_CAUSES,
                                             MAX_BAD_PACKET_ERRORS, PLAUSIBLE_RATE_TOL,
                                             PLAUSIBLE_SLACK_S, POLAR_BACK_S,
                                             POLAR_EXACT_TOL_SAMPLES, PROBATION_MAX_AGE_S,
                                             REBOOT_CLOCK_MARGIN_FRACTION, REBOOT_CLOCK_MARGIN_S,
                                             REORDER_MAX_AGE_S, REORDER_MAX_PACKETS, REPLAY_PPM,
                                             SCALE_RANGE, Chunk, Counters, Gap, max_forward_s)
from firmware_bridge.protocols.constants import MAX_ABS_G

__all__ = [
    "Assembler", "Chunk", "Gap", "ClockFit", "TimeBase", "Counters", "grid_times", "index_times",
    "CAUSE_PACKET_LOSS", "CAUSE_OVERFLOW", "CAUSE_DISCONNECT", "CAUSE_STALL", "CAUSE_REBOOT",
    "CAUSE_PRECEDENCE", "EVENT_CAUSES", "REORDER_MAX_PACKETS", "REORDER_MAX_AGE_S",
    "POLAR_EXACT_TOL_SAMPLES", "REPLAY_PPM", "MAX_BAD_PACKET_ERRORS", "REBOOT_CLOCK_MARGIN_S",
    "REBOOT_CLOCK_MARGIN_FRACTION", "CONFIRM_PACKETS", "PLAUSIBLE_SLACK_S",
    "PLAUSIBLE_RATE_TOL", "DEVICE_TIME_TOL_SAMPLES", "DEVICE_TIME_TOL_FRACTION", "POLAR_BACK_S",
    "PROBATION_MAX_AGE_S", "MAX_ABS_G", "SCALE_RANGE", "max_forward_s",
]
