"""The lifestyle diary: format, template, and errors that name the file, line and column."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from detector.io.diary import TEMPLATE_CSV, parse_diary, read_diary, write_diary_template
from detector.io.recording import InputError
from repo import REPO

ROOT = REPO

GOOD = """\
# my diary
date,caffeine_mg,stress_1_5,screen_h,notes

2024-03-02,100,2,3.5,"late coffee, long day"
# a comment between lines
2024-03-01,,5,1,
"""


def test_parses_comments_blank_cells_own_columns_and_sorts_by_date():
    df = parse_diary(GOOD, "d.csv")
    assert list(df.columns) == ["date", "caffeine_mg", "stress_1_5", "screen_h", "notes"]
    assert list(df["date"]) == [pd.Timestamp("2024-03-01"), pd.Timestamp("2024-03-02")]
    assert math.isnan(df.loc[0, "caffeine_mg"]) and df.loc[1, "caffeine_mg"] == 100.0
    assert df.loc[1, "screen_h"] == 3.5
    assert df.loc[1, "notes"] == "late coffee, long day"


def test_semicolon_separated_and_byte_order_mark(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("\ufeffdate;water_l\n2024-03-01;1,5\n".replace("1,5", "1.5"),
                    encoding="utf-8")
    df = read_diary(path)
    assert df.loc[0, "water_l"] == 1.5


@pytest.mark.parametrize("line, column, words", [
    ("2024-13-01,100,3", "date", "not a date"),
    ("01/03/2024,100,3", "date", "YYYY-MM-DD"),
    ("2024-03-01,lots,3", "caffeine_mg", "not a number"),
    ("2024-03-01,-5,3", "caffeine_mg", "out of range"),
    ("2024-03-01,100,6", "stress_1_5", "1 to 5"),
    ("2024-03-01,100,0", "stress_1_5", "out of range"),
    ("2024-03-01,nan,3", "caffeine_mg", "not a number"),
])
def test_bad_value_names_file_line_and_column(line, column, words):
    text = "# header next\ndate,caffeine_mg,stress_1_5\n2024-02-28,50,2\n" + line + "\n"
    with pytest.raises(InputError) as err:
        parse_diary(text, "diary.csv")
    msg = str(err.value)
    assert "diary.csv, line 4" in msg and f"column {column}" in msg and words in msg


def test_duplicate_date_names_both_lines():
    text = "date,caffeine_mg\n2024-03-01,1\n2024-03-02,2\n2024-03-01,3\n"
    with pytest.raises(InputError, match=r"line 4, column date: .*line 2"):
        parse_diary(text, "d.csv")


def test_wrong_cell_count_missing_date_column_and_empty_diary():
    with pytest.raises(InputError, match=r"line 2: 3 cells, expected 2"):
        parse_diary("date,caffeine_mg\n2024-03-01,1,2\n", "d.csv")
    with pytest.raises(InputError, match=r"line 1: the header has no 'date' column"):
        parse_diary("day,caffeine_mg\n2024-03-01,1\n", "d.csv")
    with pytest.raises(InputError, match="no diary lines"):
        parse_diary("# only a header\ndate,caffeine_mg\n", "d.csv")
    with pytest.raises(InputError, match="appears twice"):
        parse_diary("date,sleep_h,sleep_h\n2024-03-01,1,2\n", "d.csv")


def test_missing_file_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="not found"):
        read_diary(tmp_path / "nope.csv")


def test_template_file_is_the_documented_template_and_reads(tmp_path):
    assert (ROOT / "datasets" / "diary_template.csv").read_text(encoding="utf-8") == TEMPLATE_CSV
    path = write_diary_template(tmp_path / "t.csv")
    assert path.stat().st_mode & 0o777 == 0o600
    df = read_diary(path)
    assert {"caffeine_mg", "alcohol_units", "stress_1_5", "exercise_min", "sleep_h",
            "water_l"} <= set(df.columns)
    assert len(df) == 1
