"""``legtwitch bench --quality``: detection quality per simulated situation, against targets.

Every scenario of :data:`detector.sim.night.SCENARIOS` is simulated on seeds that the tests and
the tuning never used, analysed with the default configuration, and compared with its truth
(onsets matched within 1 s, :func:`detector.tuning.evaluate.compare_detection`). The figures are
pooled over the seeds of a scenario; the PLM index error is the worst single night's.

This is a benchmark, not a test: a missed target is printed as ``NOT MET`` and does not fail.
"""

from __future__ import annotations

import json
import math
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

__all__ = ["QUALITY_TARGETS", "QUALITY_SEEDS", "night_quality", "quality_table",
           "format_quality", "run_quality"]

#: Seeds of the quality benchmark (the tests use 0-2; nothing was tuned on these).
QUALITY_SEEDS = (101, 202, 303)


@dataclass(frozen=True)
class Target:
    """One figure's target: ``value >= bound`` (``at_least``) or ``value <= bound``."""

    column: str
    label: str
    bound: float
    at_least: bool
    fmt: str

    def met(self, value: float | None) -> bool | None:
        if value is None or not math.isfinite(value):
            return None
        return value >= self.bound if self.at_least else value <= self.bound

    def text(self) -> str:
        return f"{'>=' if self.at_least else '<='} {self.fmt.format(self.bound)}"


#: The targets of the detection issue, per scenario.
QUALITY_TARGETS = (
    Target("lm_f1", "LM F1", 0.97, True, "{:.3f}"),
    Target("plm_f1", "PLM F1", 0.98, True, "{:.3f}"),
    Target("twitch_f1", "twitch F1", 0.90, True, "{:.3f}"),
    Target("sustained_f1", "sust. F1", 0.95, True, "{:.3f}"),
    Target("false_lm_per_h", "false LM/h", 0.5, False, "{:.2f}"),
    Target("plm_index_err", "PLMI err", 0.05, False, "{:.1%}"),
)


def night_quality(scenario: str, seed: int, hours: float, fs_hz: float) -> dict[str, Any]:
    """Simulate one night, analyse it and count matches per kind (for pooling)."""
    from detector.io.clean import clean
    from detector.tuning.evaluate import compare_detection
    from detector.tuning.results import detect_movements
    from detector.sim.night import simulate_night

    night = simulate_night(scenario, hours=hours, fs_hz=fs_hz, seed=seed)
    s = night.samples
    rec = clean(s["timestamp"].to_numpy(), s[["x", "y", "z"]].to_numpy(), source=scenario)
    result = detect_movements(rec)
    table = compare_detection(result.events, night.truth, tolerance_s=1.0).set_index("kind")
    out: dict[str, Any] = {"scenario": scenario, "seed": seed, "hours": hours}
    for kind in ("lm", "plm", "twitch", "sustained"):
        for col in ("tp", "fp", "fn"):
            out[f"{kind}_{col}"] = int(table.loc[kind, col])
    n_true = int(night.truth["plm"].sum())
    n_det = int(result.events["plm"].sum()) if "plm" in result.events else 0
    out["plm_true"], out["plm_detected"] = n_true, n_det
    return out


def _f1(tp: int, fp: int, fn: int) -> float | None:
    d = 2 * tp + fp + fn
    return 2 * tp / d if d else None


def quality_table(scenarios: list[str] | None = None, seeds: tuple[int, ...] = QUALITY_SEEDS,
                  hours: float = 2.0, fs_hz: float = 100.0, workers: int = 2
                  ) -> list[dict[str, Any]]:
    """Pooled figures per scenario (one dict per row, keys as :data:`QUALITY_TARGETS`)."""
    from detector.sim.scenarios import SCENARIOS

    names = list(scenarios or SCENARIOS)
    jobs = [(sc, seed) for sc in names for seed in seeds]
    if workers > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            nights = list(pool.map(night_quality, *zip(*jobs), [hours] * len(jobs),
                                   [fs_hz] * len(jobs)))
    else:
        nights = [night_quality(sc, seed, hours, fs_hz) for sc, seed in jobs]
    rows = []
    for sc in names:
        mine = [n for n in nights if n["scenario"] == sc]
        row: dict[str, Any] = {"scenario": sc, "nights": len(mine), "hours": hours * len(mine),
                               "fs_hz": fs_hz}
        for kind in ("lm", "plm", "twitch", "sustained"):
            tp, fp, fn = (sum(n[f"{kind}_{c}"] for n in mine) for c in ("tp", "fp", "fn"))
            row[f"{kind}_f1"] = _f1(tp, fp, fn)
            row[f"n_{kind}"] = tp + fn
        row["false_lm_per_h"] = sum(n["lm_fp"] for n in mine) / row["hours"]
        errs = [abs(n["plm_detected"] - n["plm_true"]) / n["plm_true"]
                for n in mine if n["plm_true"] >= 10]
        row["plm_index_err"] = max(errs) if errs else None
        if fs_hz < 50:
            row["twitch_f1_note"] = "twitch target applies at >= 50 Hz"
        rows.append(row)
    return rows


def format_quality(rows: list[dict[str, Any]]) -> str:
    """A table of figures, each followed by ``ok`` or ``NOT MET``, and a line per missed target."""
    head = f"{'scenario':<15}" + "".join(f"{t.label:>16}" for t in QUALITY_TARGETS)
    lines = [head, f"{'target':<15}" + "".join(f"{t.text():>16}" for t in QUALITY_TARGETS)]
    missed = []
    for row in rows:
        cells = []
        for t in QUALITY_TARGETS:
            v = row.get(t.column)
            applies = not (t.column == "twitch_f1" and row["fs_hz"] < 50)
            if v is None:
                cells.append(f"{'-':>16}")
                continue
            ok = t.met(v) if applies else None
            mark = "" if ok is None else (" ok" if ok else " NOT MET")
            cells.append(f"{t.fmt.format(v) + mark:>16}")
            if ok is False:
                missed.append(f"{row['scenario']}: {t.label} {t.fmt.format(v)} "
                              f"(target {t.text()})")
        lines.append(f"{row['scenario']:<15}" + "".join(cells))
    n_true = ", ".join(f"{r['scenario']} {r['n_lm']}/{r['n_plm']}/{r['n_twitch']}/"
                       f"{r['n_sustained']}" for r in rows)
    lines.append(f"\ntrue events (LM/PLM/twitch/sustained): {n_true}")
    lines.append("all targets met" if not missed else
                 f"{len(missed)} target(s) NOT MET:\n  " + "\n  ".join(missed))
    return "\n".join(lines)


def run_quality(hours: float = 2.0, fs_hz: float = 100.0, seeds: tuple[int, ...] = QUALITY_SEEDS,
                scenarios: list[str] | None = None, json_path: str | None = None,
                workers: int = 2) -> int:
    """Print the quality table (and write it as JSON when asked)."""
    print(f"detection quality: {len(seeds)} simulated {hours:g}-h nights at {fs_hz:g} Hz per "
          f"scenario, seeds {', '.join(map(str, seeds))}; onsets matched within 1 s; PLM index "
          "error is the worst night's (nights with >= 10 true PLMs)\n", flush=True)
    rows = quality_table(scenarios, seeds, hours, fs_hz, workers)
    print(format_quality(rows))
    if json_path:
        from detector.fileio import write_private

        write_private(json_path, json.dumps(rows, indent=2) + "\n")
    return 0
