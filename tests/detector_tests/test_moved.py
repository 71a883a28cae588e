"""Module paths of legtwitch 0.1 keep working after the modules moved into folders."""

import importlib
import sys

import pytest

from detector.moved import MOVED


def test_an_old_path_gives_the_same_object_with_a_deprecation_warning():
    from detector.analysis import analyze
    from detector.tuning.sweep import sweep

    sys.modules.pop("detector.pipeline", None)
    with pytest.warns(DeprecationWarning, match=r"detector.pipeline moved to detector.analysis"):
        from detector.pipeline import analyze as old_analyze
    assert old_analyze is analyze
    with pytest.warns(DeprecationWarning):
        from detector.sweep import sweep as old_sweep  # noqa: F401
    assert old_sweep is sweep


def test_old_modules_that_are_packages_now_still_give_their_names():
    from detector.report.night import render_report
    from detector.tuning.results import detect_movements

    with pytest.warns(DeprecationWarning, match="detector.report.render_report moved"):
        from detector.report import render_report as old_render
    with pytest.warns(DeprecationWarning):
        from detector.tuning import detect_movements as old_detect
    assert old_render is render_report and old_detect is detect_movements
    with pytest.raises(ImportError):
        from detector.report import no_such_name  # noqa: F401


def test_every_new_home_exists_and_an_unknown_name_is_an_attribute_error():
    for targets in MOVED.values():
        for target in targets:
            importlib.import_module(target)
    with pytest.warns(DeprecationWarning):
        old = importlib.import_module("detector.plm")
    assert old.score_plm is importlib.import_module("detector.score.plm").score_plm
    assert old.read_lm_table is importlib.import_module("detector.io.tables").read_lm_table
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        old.nothing  # noqa: B018
