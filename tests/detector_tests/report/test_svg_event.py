"""Example events drawn as inline SVG: round ticks, gaps left open, the event shaded where it is."""

from __future__ import annotations

import re

import numpy as np

from detector.report.svg_event import _MARGIN, WIDTH, event_svg, nice_ticks


def test_ticks_are_round_and_inside_the_range():
    assert nice_ticks(-5.0, 7.3, 6).tolist() == [-4.0, -2.0, 0.0, 2.0, 4.0, 6.0]
    assert nice_ticks(-31.0, 212.0, 3).tolist() == [0.0, 100.0, 200.0]
    assert nice_ticks(0.0, 0.9, 3).tolist() == [0.0, 0.2, 0.4, 0.6, 0.8]


def _svg(acc):
    t = np.linspace(-5.0, 7.0, len(acc))
    env = np.abs(acc[:, 0])
    return event_svg(t, acc, env, np.full(len(t), 20.0), t, t, 2.0, "lm", "Example LM")


def test_a_gap_breaks_the_lines_instead_of_joining_across_it():
    acc = np.zeros((13, 3))
    acc[6] = np.nan
    paths = re.findall(r'<path d="([^"]+)" fill="none" stroke="#[0-9A-F]{6}"', _svg(acc))
    assert len(paths) == 3 and all(p.count("M") == 2 for p in paths)


def test_the_event_is_shaded_from_its_onset_for_its_duration():
    svg = _svg(np.zeros((13, 3)))
    m = re.search(r'<rect x="([\d.]+)" y="\d+" width="([\d.]+)"', svg)
    left, right = _MARGIN[0], WIDTH - _MARGIN[1]
    px_per_s = (right - left) / 12.0
    assert float(m.group(1)) == round(left + 5.0 * px_per_s, 1)
    assert abs(float(m.group(2)) - 2.0 * px_per_s) < 0.15
    assert svg.startswith('<svg class="ex"') and "<title>Example LM</title>" in svg
