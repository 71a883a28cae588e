"""Where each recorded sample came from: the one helper the end-to-end tests use to hold a
recording against the virtual sensor's source, placing the recording's samples in the source by
their content (the recorder never sees the source's indices)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

#: Samples of a run compared first, to find where in the source it can start.
KEY_SAMPLES = 12


def read_recording(folder: Path) -> pd.DataFrame:
    """A sensor folder's recording.parquet (which must be private, 0600)."""
    path = folder / "recording.parquet"
    assert path.is_file(), f"no {path}"
    assert (path.stat().st_mode & 0o777) == 0o600
    return pq.read_table(path).to_pandas()


def recorded_counts(recorded: pd.DataFrame, scale_g: float) -> np.ndarray:
    """The sensor's integer counts of each recorded sample (asserting they come back exactly:
    the file stores counts x scale as float32)."""
    xyz = recorded[["x", "y", "z"]].to_numpy()
    counts = np.rint(xyz / scale_g).astype(np.int64)
    assert np.array_equal((counts * scale_g).astype(np.float32), xyz.astype(np.float32))
    return counts


def align_runs(recorded: pd.DataFrame, source: np.ndarray, scale_g: float
               ) -> list[tuple[int, int, int]]:
    """Find each run of consecutive ``sample_index`` in the source by content; assert it is equal.

    A run can match in several places only where the leg holds still for longer than the run;
    the place that continues the previous run's offset is taken first, else the first place
    after the previous run.

    Returns
    -------
    list of (first sample_index, source index, length)
        Runs shorter than :data:`KEY_SAMPLES` are left out (too short to place by content).
    """
    counts = recorded_counts(recorded, scale_g)
    idx = recorded["sample_index"].to_numpy().astype(np.int64)
    breaks = np.flatnonzero(np.diff(idx) != 1) + 1
    starts = np.concatenate(([0], breaks))
    ends = np.concatenate((breaks, [len(idx)]))
    src = np.ascontiguousarray(source.astype(np.int64))
    view = src.view(np.dtype((np.void, 24)))[:, 0]
    keys: dict[bytes, list[int]] = {}
    for i in range(len(src) - KEY_SAMPLES + 1):
        keys.setdefault(view[i:i + KEY_SAMPLES].tobytes(), []).append(i)
    runs: list[tuple[int, int, int]] = []
    for a, b in zip(starts, ends):
        if b - a < KEY_SAMPLES:
            continue
        key = np.ascontiguousarray(counts[a:a + KEY_SAMPLES]).view(np.dtype((np.void, 24)))[:, 0]
        places = [p for p in keys.get(key.tobytes(), [])
                  if np.array_equal(counts[a:b], src[p:p + (b - a)])]
        assert places, f"recorded run at sample_index {idx[a]} is not in the source"
        if runs:
            i0, p0, _ = runs[-1]
            same_offset = int(idx[a]) - i0 + p0
            after = [p for p in places if p >= runs[-1][1] + runs[-1][2]]
            pos = same_offset if same_offset in places else (after or places)[0]
        else:
            pos = places[0]
        runs.append((int(idx[a]), pos, int(b - a)))
    return runs


def exact_source_index(folder: Path, source: np.ndarray, scale_g: float
                       ) -> tuple[pd.DataFrame, np.ndarray, pd.DataFrame]:
    """The recording, the source index of each of its samples, and its gaps.

    Asserts that every sample equals the source and that one offset maps every sample_index to
    its source index (every gap has exactly the length of what is missing), that gaps.csv lists
    exactly the holes in sample_index with their lengths, and that every gap is marked exact.
    """
    same = np.concatenate(([0], (np.diff(source, axis=0) == 0).all(axis=1).astype(np.int8), [0]))
    edges = np.flatnonzero(np.diff(same))
    flat = int((edges[1::2] - edges[::2]).max()) if edges.size else 0
    assert flat < 1000, (f"the source holds {flat} identical samples in a row (a gap held "
                         "flat): content cannot place samples there; use another seed")
    rec = read_recording(folder)
    assert len(rec) > 0
    idx = rec["sample_index"].to_numpy().astype(np.int64)
    assert bool(np.all(np.diff(idx) > 0)), "sample_index is not strictly increasing"
    counts = recorded_counts(rec, scale_g)
    runs = align_runs(rec, source, scale_g)
    assert runs, "no run of the recording is long enough to place"
    offsets = {p - i for i, p, _ in runs}
    assert len(offsets) == 1, (f"the recording's runs sit at {len(offsets)} offsets in the "
                               "source: a gap has the wrong length")
    src = idx + offsets.pop()
    assert src[0] >= 0 and src[-1] < len(source) and np.array_equal(
        source.astype(np.int64)[src], counts), "a recorded sample differs from the source"
    gaps = pd.read_csv(folder / "gaps.csv")
    holes = np.flatnonzero(np.diff(idx) != 1)
    expected = {(int(idx[h] + 1), int(idx[h + 1] - idx[h] - 1)) for h in holes}
    reported = {(int(r.start_index), int(r.n_samples)) for r in gaps.itertuples()}
    assert reported == expected, (sorted(reported ^ expected), gaps)
    assert gaps["exact"].astype(str).str.lower().eq("true").all(), gaps
    return rec, src, gaps
