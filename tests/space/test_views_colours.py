"""Colour scales and the text on them (space/views/colours.py): every number written on a cell of
either scale meets WCAG AA's 4.5:1."""

from __future__ import annotations

import re

import pytest

from space.views import alignment, colours, steps


def test_contrast_matches_wcag_reference_values():
    assert colours.contrast(colours.BLACK, colours.WHITE) == pytest.approx(21.0)
    assert colours.contrast((99, 102, 241), colours.WHITE) == pytest.approx(4.46, abs=0.01)  # the old Translate button
    assert colours.contrast((119, 119, 119), colours.WHITE) == pytest.approx(4.48, abs=0.01)


@pytest.mark.parametrize("stops", [alignment.STOPS, steps.STOPS], ids=["heatmap", "strip"])
def test_the_text_on_every_colour_of_a_scale_reaches_4_5_to_1(stops):
    for i in range(201):
        background = colours.scale(stops, i / 200)
        text = colours.WHITE if colours.ink(background) == "#fff" else colours.BLACK
        assert colours.contrast(text, background) >= 4.5, (i / 200, background)


def test_heatmap_cells_are_written_in_their_ink():
    markup = alignment.heatmap_html("ab", ["x", "\n"], [[0.35, 0.65], [0.5, 0.5]])
    cells = re.findall(r'<td style="background:rgb\((\d+),(\d+),(\d+)\);color:(#000|#fff)"', markup)
    assert len(cells) == 4
    for r, g, b, ink in cells:
        text = colours.WHITE if ink == "#fff" else colours.BLACK
        assert colours.contrast(text, (int(r), int(g), int(b))) >= 4.5
