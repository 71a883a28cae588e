"""The bench says, on each figure's line, whether its target was met."""

import math

from detector.cli.bench import TARGETS, Figure, print_figures


def test_each_figure_says_met_or_not_met_on_its_line(capsys):
    figures = [
        Figure("whole analysis from CSV", 3.05, "x parse", "  9.10 s", "3.05x parse",
               TARGETS["csv_ratio"]),
        Figure("report.html rendering", 0.40, " s", "  0.40 s", "", TARGETS["report_s"]),
        Figure("streaming detector", 5396.0, "x real time", "  0.13 s", "",
               TARGETS["realtime_factor"]),
        Figure("peak memory", math.nan, " MB", "   nan MB", "", TARGETS["peak_mb"]),
        Figure("pandas.read_csv alone", 2.98, " s", "  2.98 s"),
    ]
    assert [f.met for f in figures] == [False, True, True, None, None]
    met, missed = print_figures(figures)
    out = capsys.readouterr().out.splitlines()
    assert out[0].endswith("[target <= 2x parse: NOT MET]")
    assert out[1].endswith("[target <= 0.5 s: met]")
    assert out[2].endswith("[target >= 1000x real time: met]")
    assert out[3].endswith("[target <= 1024 MB: not measured]")
    assert "target" not in out[4]
    assert (met, missed) == (2, ["whole analysis from CSV"])
    assert out[-1] == "2 of 3 targets met; NOT MET: whole analysis from CSV"
    assert figures[0].as_dict()["target"] == {"op": "<=", "value": 2.0}
