"""The byte-for-byte output check (tests/output_digest.py) is only useful if the outputs are
reproducible: the same inputs in the same folder give the same bytes."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from output_digest import TIME_BEARING, digest, run_all  # noqa: E402


def test_every_output_is_reproducible_byte_for_byte(tmp_path):
    work = tmp_path / "digest"
    run_all(work)
    first = digest(work)
    run_all(work)
    assert digest(work) == first
    names = set(first)
    # every command wrote something: report, EDF, batch table, trends page, printed comparisons
    for expected in ("sample/report.html", "export/sample.edf", "batch/nights.csv",
                     "batch/trends.html", "evaluate_sample_night.scoring.edf.txt", "methods.txt",
                     "rescore/events.csv"):
        assert expected in names, sorted(names)
    assert not any(Path(n).name in TIME_BEARING for n in names)
