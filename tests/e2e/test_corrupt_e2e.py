"""End to end over the virtual radio: corrupt-but-decodable packets through the real recorder.

`legtwitch sensor-sim --corrupt-every N` sends every Nth packet with one wrong field (each kind
of the reliability issue in turn: LegAccel session id + 1, index + 2^20, index + 1000, clock +
2^62 us, scale 3e38, range changed; Polar timestamp + 1 day, + 1 year, - 1 day), on top of drops,
reordering and link drops. `legtwitch record --virtual` must drop each bad packet, lose nothing
else, keep every gap exact, count the bad packets on its status line, and write the recording
and the report.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pyarrow.parquet as pq
import pytest

from firmware_bridge.sim.faults import CORRUPT_KINDS
from source_alignment import exact_source_index
from test_record_recovery_e2e import (Recorder, Sim, private_files, run_cli, sent_mask,
                                      source_counts, wait_drained)

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("protocol, args, seed, speed", [
    ("legaccel", ["--corrupt-every", "41", "--drop-every", "97", "--reorder-every", "83",
                  "--disconnect-every", "4"], 3, 100.0),
    ("polar", ["--model", "sense", "--corrupt-every", "23", "--reorder-every", "29",
               "--disconnect-every", "4"], 7, 60.0),
])
def test_corrupt_packets_cost_only_their_own_samples(tmp_path, procs, protocol, args, seed,
                                                     speed):
    hours = 0.5
    sim = procs.add(Sim(tmp_path, *args, protocol=protocol, hours=hours, seed=seed,
                        speed=speed))
    out = tmp_path / "night"
    rec = procs.add(Recorder(tmp_path, sim.port, out))
    rec.wait_for(f"stream started: {protocol}", 60)
    summary = sim.wait_done()[0]
    wait_drained(rec)
    code = rec.stop()
    text = rec.text()
    assert code == 0, text
    corrupt = [f for f in sim.faults() if f["kind"] == "corrupt"]
    assert {f["what"] for f in corrupt} == set(CORRUPT_KINDS[protocol]), corrupt
    assert len(corrupt) >= 2 * len(CORRUPT_KINDS[protocol])
    # The recording is exactly the samples sent intact: each corrupt packet's samples are
    # missing (sent_ranges leaves them out), nothing else, and every gap is exact.
    source, scale = source_counts(protocol, "plmd", hours, seed)
    _rec, src, gaps = exact_source_index(out / "sensor", source, scale)
    assert np.array_equal(src, np.flatnonzero(sent_mask(summary, len(source)))), \
        "the recording is not exactly the samples sent intact"
    assert gaps["n_samples"].max() < 60 * speed * 100, gaps  # no fake hours-long gap
    meta = json.loads(pq.read_schema(out / "sensor" / "recording.parquet").metadata[b"legtwitch"])
    assert meta["bad_packets"] == meta["implausible"] == len(corrupt), meta
    # No session is made from a corrupt packet (a stream that started and was cut before its
    # first packet makes none, so this is at most, not exactly, one per link drop).
    assert 1 <= meta["sessions"] <= 1 + sum(f["kind"] == "disconnect" for f in sim.faults())
    # The status lines count the bad packets as they come; the last line says how many in all.
    assert re.search(r" bad [\d,]+ \|", text), text[-2000:]
    assert f", {len(corrupt):,} bad packets dropped -> " in text, text[-2000:]
    # The night report says it too.
    summ = json.loads((out / "report" / "summary.json").read_text())
    assert summ["cleaning"]["recorder"]["bad_packets"] == len(corrupt), summ["cleaning"]
    assert "bad and dropped" in (out / "report" / "report.html").read_text()
    private_files(out)
    # recover, from the raw log alone, reaches the same recording.
    before = pq.read_table(out / "sensor" / "recording.parquet")
    done = run_cli("recover", str(out))
    assert done.returncode == 0, done.stderr
    after = pq.read_table(out / "sensor" / "recording.parquet")
    assert after.drop(["timestamp"]).equals(before.drop(["timestamp"]))
