"""The alignment heatmap's HTML (space/views/alignment.py): one row per French character, one column per
English character, visible marks for invisible characters, every model-produced string escaped."""

from __future__ import annotations

from html.parser import HTMLParser

from space.views import alignment, marks


class _Grid(HTMLParser):
    """Collects the table's rows (cells' text and titles) as a browser would parse them."""

    def __init__(self):
        super().__init__()
        self.rows, self.titles, self.tags, self._row, self._in_cell = [], [], [], None, False

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "tr":
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._row.append("")
            self._in_cell = True
            self.titles.append(dict(attrs).get("title"))

    def handle_endtag(self, tag):
        if tag == "tr" and self._row is not None:
            self.rows.append(self._row)
            self._row = None
        elif tag in ("td", "th"):
            self._in_cell = False

    def handle_data(self, data):
        if self._in_cell and self._row is not None:
            self._row[-1] += data


def test_one_row_per_output_and_one_column_per_input_character():
    weights = [[0.7, 0.2, 0.1], [0.1, 0.1, 0.8], [0.0, 0.0, 1.0]]
    grid = _Grid()
    grid.feed(alignment.heatmap_html("Go.", ["V", "a", "\n"], weights))
    *body, labels = grid.rows
    assert [row[0] for row in body] == ["V", "a", "⏎"], "French down the side, END marked"
    assert labels[1:] == ["G", "o", "."], "English along the bottom"
    assert all(len(row) == 1 + 3 for row in body)
    assert body[0][1:] == [".70", ".20", ".10"], "weights are readable without colour"
    assert body[2][1:] == ["", "", "1"]


def test_invisible_characters_get_marks_and_names():
    html = alignment.heatmap_html("a b", [" ", "\u00a0", "\n"], [[1, 0, 0]] * 3)
    grid = _Grid()
    grid.feed(html)
    assert [row[0] for row in grid.rows[:3]] == ["␣", "⍽", "⏎"]
    assert grid.rows[3][1:] == ["a", "␣", "b"]
    assert "non-breaking space" in html and "end of sentence" in html


def test_every_other_invisible_character_gets_a_mark_too():
    # The bundled model's French vocabulary holds U+200B ZERO WIDTH SPACE, which would show as nothing.
    assert marks.visible("\u200b") == "◌" and marks.mark_name("\u200b") == "invisible character"
    assert marks.visible("\u2007") == "⍽", "figure space: another no-break space"
    assert marks.visible("é") == "é" and marks.mark_name("é") is None


def test_everything_the_model_produced_is_escaped():
    html = alignment.heatmap_html("<i>", ["<", "&", '"'], [[1.0, 0.0, 0.0]] * 3)
    grid = _Grid()
    grid.feed(html)
    assert "i" not in grid.tags, "input characters must not become markup"
    assert [row[0] for row in grid.rows[:3]] == ["<", "&", '"']
    assert '" ← <: 1.00' in grid.titles


def test_weights_that_round_to_1_print_as_1():
    grid = _Grid()
    grid.feed(alignment.heatmap_html("abc", ["x"], [[0.996, 0.004, 0.0]]))
    assert grid.rows[0][1:] == ["1", "", ""]


def test_tooltips_name_both_characters_and_the_weight():
    grid = _Grid()
    grid.feed(alignment.heatmap_html("ab", ["x"], [[0.25, 0.75]]))
    assert "x ← a: 0.25" in grid.titles and "x ← b: 0.75" in grid.titles


def test_colour_scale_runs_from_white_to_dark_and_clamps():
    assert alignment.colour(0) == "rgb(255,255,255)"
    assert alignment.colour(1) == alignment.colour(3.0) != alignment.colour(0.5)
    assert alignment.colour(-1) == alignment.colour(0)


def test_a_model_without_attention_gets_a_sentence_not_an_error():
    html = alignment.heatmap_html("Go.", ["V"], None)
    assert "no attention" in html and "<table" not in html


def test_a_large_grid_stays_complete():
    source = "x" * 60
    weights = [[1 / 60] * 60 for _ in range(50)]
    grid = _Grid()
    grid.feed(alignment.heatmap_html(source, ["y"] * 50, weights))
    assert len(grid.rows) == 51 and all(len(r) == 61 for r in grid.rows)
    # Scrolled to a far corner, the labels stay in view.
    assert "tbody th { position: sticky; left: 0" in alignment.CSS
    assert "tfoot th { position: sticky; bottom: 0" in alignment.CSS
