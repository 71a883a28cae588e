"""One sensor's recording folder: raw log first, decoded Parquet parts, the finished night.

:mod:`~firmware_bridge.store.night` (:class:`NightStore`, written to during a recording),
:mod:`~firmware_bridge.store.parts` (the decoded parts and resuming from them),
:mod:`~firmware_bridge.store.final` (``finalize``, ``recover``, the gap table) and
:mod:`~firmware_bridge.store.files` (file names and crash-safe writes).
"""

from firmware_bridge.store.files import (GAP_COLUMNS, GAPS_NAME, LOG_NAME, META_KEY, PARTS_DIR,
                                         RECORDING_COLUMNS, RECORDING_CSV_NAME, RECORDING_NAME,
                                         SESSION_NAME, read_session)
from firmware_bridge.store.final import finalize, read_gaps, recover
from firmware_bridge.store.night import NightStore, StoreStats

__all__ = ["NightStore", "StoreStats", "finalize", "recover", "read_gaps", "read_session",
           "LOG_NAME", "SESSION_NAME", "GAPS_NAME", "RECORDING_NAME", "RECORDING_CSV_NAME",
           "PARTS_DIR", "GAP_COLUMNS", "RECORDING_COLUMNS", "META_KEY"]
