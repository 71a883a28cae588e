"""Make the sample night's reference scoring: ``sample_night.scoring.edf`` and ``.csv``.

The scoring is derived from the generator's ground truth (``sample_night.truth.csv``), not from a
person: it imitates what a polysomnography (PSG) scorer exports, so that the notebooks and tests
can show how a reference scoring is read and compared. Seeded, so the files regenerate byte for
byte::

    python datasets/make_scoring.py          # from the repository root

What a scorer would do, and so what is done here:

* mark leg movements (LMs, 0.5-10 s) and longer sustained movements, but no twitches: the WASM 2016
  and AASM 2012 rules score nothing shorter than 0.5 s (Ferri et al., Sleep Med 2016;26:86-95;
  AASM Scoring Manual v2.0);
* place onsets and offsets by eye: each onset moves by N(0, 0.15 s) and each offset by
  N(0, 0.25 s), an LM kept within 0.5-10 s;
* overlook a couple of small LMs (:data:`N_MISSED` of the :data:`MISSED_FROM` LMs with the
  smallest peak);
* export from a PSG that started :data:`PSG_LEAD_S` seconds before the accelerometer, with
  clock-time annotations ``Limb Movement (Left)`` (onset, duration) plus ``Lights Off`` and
  ``Lights On``: as EDF+ (annotations only, no signals) and as a CSV event list
  (``start_time,duration,event``, clock times, the PSG start in a ``# start_time`` comment).

Read either with ``detector.score.reference.read_reference(path, recording=...)``: both give the same
events on the accelerometer's time axis.
"""

from __future__ import annotations

import gzip
import io
import math
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from detector.fileio import write_private  # noqa: E402

#: Seed of the scorer's variability.
SEED = 2016
#: Standard deviation of the onset placement, in seconds.
ONSET_SD_S = 0.15
#: Standard deviation of the offset placement, in seconds.
OFFSET_SD_S = 0.25
#: Small LMs the scorer overlooks ...
N_MISSED = 2
#: ... drawn from this many LMs with the smallest peak acceleration.
MISSED_FROM = 8
#: Seconds the PSG recording started before the accelerometer's first sample.
PSG_LEAD_S = 90
#: Shortest and longest LM a scorer marks as one (WASM 2016 / AASM 2012), in seconds.
LM_MIN_S, LM_MAX_S = 0.5, 10.0
LABEL = "Limb Movement (Left)"


def first_timestamp(samples: Path) -> float:
    """Unix time (s) of the recording's first sample."""
    with gzip.open(samples, "rt", encoding="utf-8") as fh:
        fh.readline()
        return float(fh.readline().split(",")[0])


def scored_events(truth: pd.DataFrame, seed: int = SEED) -> pd.DataFrame:
    """The movements a scorer marks, with scorer variability, in seconds from the first sample.

    Parameters
    ----------
    truth : DataFrame
        ``start_s``, ``end_s``, ``kind``, ``peak_g`` (the generator's truth).
    seed : int

    Returns
    -------
    DataFrame
        ``start_s``, ``duration_s`` (rounded to 1 ms and 10 ms), ``truth_row``, in onset order.
    """
    rng = np.random.default_rng(seed)
    marked = truth[truth["kind"].isin(["lm", "sustained"])]
    small = marked[marked["kind"] == "lm"].nsmallest(MISSED_FROM, "peak_g").index.to_numpy()
    missed = rng.choice(np.sort(small), size=N_MISSED, replace=False)
    marked = marked.drop(index=missed)
    start = marked["start_s"].to_numpy(float) + rng.normal(0.0, ONSET_SD_S, len(marked))
    end = marked["end_s"].to_numpy(float) + rng.normal(0.0, OFFSET_SD_S, len(marked))
    duration = end - start
    lm = (marked["kind"] == "lm").to_numpy()
    duration[lm] = np.clip(duration[lm], LM_MIN_S, LM_MAX_S)
    out = pd.DataFrame({"start_s": np.round(np.maximum(start, 0.0), 3),
                        "duration_s": np.round(duration, 2), "truth_row": marked.index})
    return out.sort_values("start_s", kind="stable").reset_index(drop=True)


def annotations(events: pd.DataFrame, t0_unix_s: float, duration_s: float
                ) -> tuple[datetime, pd.DataFrame]:
    """The PSG's start (UTC, whole second) and its annotations, onsets in s from that start."""
    psg_start = math.floor(t0_unix_s) - PSG_LEAD_S
    lead_s = t0_unix_s - psg_start
    rows = [{"onset_s": round(PSG_LEAD_S - 30.0, 3), "duration_s": None, "text": "Lights Off"}]
    rows += [{"onset_s": round(lead_s + s, 3), "duration_s": float(d), "text": LABEL}
             for s, d in zip(events["start_s"], events["duration_s"])]
    rows.append({"onset_s": round(lead_s + duration_s + 30.0, 3), "duration_s": None,
                 "text": "Lights On"})
    start = datetime.fromtimestamp(psg_start, tz=timezone.utc).replace(tzinfo=None)
    return start, pd.DataFrame(rows)


def edf_bytes(start: datetime, notes: pd.DataFrame) -> bytes:
    """An annotations-only EDF+C file (one data record of 0 s, as EDF+ allows without signals)."""
    import edfio

    recording = edfio.Recording(startdate=start.date(), hospital_administration_code="X",
                                investigator_technician_code="X", equipment_code="synthetic")
    edf = edfio.Edf([], recording=recording, starttime=start.time(), annotations=[
        edfio.EdfAnnotation(float(r.onset_s), None if pd.isna(r.duration_s) else
                            float(r.duration_s), r.text) for r in notes.itertuples()])
    buf = io.BytesIO()
    edf.write(buf)
    return buf.getvalue()


def csv_text(start: datetime, notes: pd.DataFrame) -> str:
    """A PSG event list: clock times (UTC) with milliseconds, durations in seconds, labels."""
    lines = ["# Reference scoring of sample_night.csv.gz, exported as a PSG event list.",
             "# Synthetic: derived from sample_night.truth.csv by make_scoring.py, not scored "
             "by a person.",
             f"# start_time = {start.replace(tzinfo=timezone.utc).isoformat()}",
             "start_time,duration,event"]
    for r in notes.itertuples():
        clock = start + timedelta(milliseconds=round(r.onset_s * 1000.0))
        duration = "" if pd.isna(r.duration_s) else f"{r.duration_s:.2f}"
        lines.append(f"{clock.strftime('%H:%M:%S.%f')[:-3]},{duration},{r.text}")
    return "\n".join(lines) + "\n"


def main() -> None:
    truth = pd.read_csv(HERE / "sample_night.truth.csv")
    t0 = first_timestamp(HERE / "sample_night.csv.gz")
    from detector.cli import SAMPLE_NIGHT

    events = scored_events(truth)
    start, notes = annotations(events, t0, SAMPLE_NIGHT["hours"] * 3600.0)
    write_private(HERE / "sample_night.scoring.edf", edf_bytes(start, notes))
    write_private(HERE / "sample_night.scoring.csv", csv_text(start, notes))
    print(f"{len(events)} movements ({(truth['kind'] == 'twitch').sum()} twitches not scored, "
          f"{N_MISSED} small LMs missed); PSG start {start.isoformat()} UTC")


if __name__ == "__main__":
    main()
