"""The Compare table (space/views/compare.py): a run that warned keeps its French and figures and is
flagged; a failed run says why; every cell names its column for the phone layout; all escaped."""

from __future__ import annotations

from html.parser import HTMLParser

from space.views.compare import DRAW_ONE, NO_REFERENCE, compare_html
from space.wording import DEFAULT_WORDING

HEADERS = DEFAULT_WORDING.compare_headers

ROW = {"model": "m", "method": "greedy", "french": "Va !", "log_prob": -1.5, "mean_confidence": 0.5, "chrf": 40.0,
       "error": ""}


class Cells(HTMLParser):
    def __init__(self, markup):
        super().__init__()
        self.rows, self.labels, self.classes = [], [], []
        self.feed(markup)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "tr" and self.classes is not None:
            self.rows.append([])
            self.classes.append(attrs.get("class"))
        if tag == "td":
            self.rows[-1].append("")
            self.labels.append(attrs.get("data-label"))

    def handle_data(self, data):
        if self.rows and self.rows[-1]:
            self.rows[-1][-1] += data


def test_a_warning_keeps_the_french_and_flags_the_row():
    warned = {**ROW, "error": "warning: input is 50 characters long but the model was trained on at most 16; "
                             "expect a poor translation"}
    failed = {**ROW, "french": "", "log_prob": None, "mean_confidence": None, "chrf": None, "error": "model 'x' is loading"}
    cells = Cells(compare_html({"english": "Go.", "references": ["Va !"], "rows": [warned, failed, ROW]}))
    header, *rows = cells.rows
    assert rows[0][2] == "Va !⚠ warning: input is 50 characters long but the model was trained on at most 16; expect a poor translation"
    assert rows[0][3:] == ["-1.500", "0.500", "40.0 ★ best"]
    assert rows[1][2] == "error: model 'x' is loading" and rows[1][3:] == ["—", "—", "—"]
    assert cells.classes[1:] == ["warned", None, None]
    assert cells.labels == list(HEADERS) * 3  # each cell names its column (the phone's stacked cards)


def test_without_references_it_says_how_to_get_one_on_this_tab():
    markup = compare_html({"english": "Go.", "references": [], "rows": [ROW]})
    assert NO_REFERENCE + DRAW_ONE in markup and "Random held-out sentence" in DRAW_ONE
    assert "example" not in NO_REFERENCE + DRAW_ONE  # the Compare tab has no examples
    # A page without held-out sentences has no button to draw one: the view does not point to it.
    alone = compare_html({"english": "Go.", "references": [], "rows": [ROW]}, heldout=False)
    assert NO_REFERENCE in alone and DRAW_ONE not in alone


def test_everything_from_a_model_or_a_person_is_escaped():
    hostile = {**ROW, "model": "<b>m</b>", "french": "<script>x</script>", "error": "warning: <i>w</i>"}
    markup = compare_html({"english": "<img>", "references": ["<u>r</u>"], "rows": [hostile]})
    assert "<script>" not in markup and "<b>" not in markup and "<i>" not in markup and "<img>" not in markup
    assert "&lt;script&gt;x&lt;/script&gt;" in markup


def test_several_sentences_get_a_table_for_the_whole_input_and_one_each():
    row = {"model": "M", "method": "greedy", "french": "Va !", "log_prob": -1.0, "mean_confidence": 0.9, "chrf": None,
           "error": ""}
    result = {"english": "Go.\nRun!", "references": [], "rows": [row],
              "sentences": [{"english": "Go.", "references": ["Va !"], "rows": [{**row, "chrf": 100.0}]},
                            {"english": "Run!", "references": [], "rows": [row]}]}
    markup = compare_html(result)
    assert markup.count('<table class="compare-table">') == 3 and "Go.<br>Run!" in markup
    assert "The whole input (2 sentences)" in markup and "Sentence 1: Go." in markup and "Sentence 2: Run!" in markup
    assert "No reference for the whole input" in markup and markup.count(NO_REFERENCE) == 1  # sentence 2's
    assert "100.0 ★ best" in markup
