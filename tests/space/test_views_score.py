"""The score view (space/views/score.py): the visitor's French as the per-step strip, the steps where
the model would have written something else, the summary beside the model's own translation, and the
heatmap for attention models; everything escaped. Parsed as a browser would read the markup."""

from __future__ import annotations

import re

import pytest

from model import checkpoint, normalize
from model.translator import DecodeOptions, Translation
from model.vocab import END
from space.views import results, score as score_view, steps as step_view
from space.wording import DEFAULT_WORDING

from tests.space.test_views_steps import Node, Tree, chars, glyph, step, tip


def scored(french_steps, disagreements, score=-3.0, english="Go.") -> Translation:
    for s in french_steps:
        s.given = True
    french = "".join(s.char for s in french_steps if s.char != END)
    return Translation(english, french, score, french_steps, normalized_score=score / len(french_steps),
                       disagreements=disagreements)


# "Va  !" scored: the visitor wrote a space where the model wanted U+202F, then "!" and the end.
SCORED = scored([step("V", 0.9), step("a", 0.8), step(" ", 0.1, ("\u202f", 0.85)), step("!", 0.95), step(END, 0.99)],
                [{"step": 2, "char": " ", "prob": 0.1, "model": "\u202f", "model_prob": 0.85}])
OWN = Translation("Go.", "Va\u202f!", -0.5, [step("V", 0.9), step("a", 0.8), step("\u202f", 0.85), step("!", 0.95),
                                            step(END, 0.99)])


def test_the_strip_is_the_per_step_views_with_every_character_and_no_given_mark():
    root = Tree(score_view.score_html(SCORED, has_attention=False)).root
    found = chars(root)
    assert [glyph(c) for c in found] == ["V", "a", "␣", "!", "⏎"] and [c.attrs["data-step"] for c in found] == list("01234")
    assert tip(found[2]) == "p 0.100 | alternatives | ⍽ narrow 0.850"  # the model's own choice is in the tooltip
    assert not root.find("pv-given")  # every character is the visitor's: no mark needed
    top = [n for n in root.children if isinstance(n, Node)]
    assert len(top) == 1 and top[0].classes == ["step-view", "score-view"]  # the strip's styles and highlights apply
    legend = root.find("pv-legend")[0].text()
    assert "probability the model gave your character (1 = certain)" in legend and "given by you" not in legend
    assert step_view.legend(subject="your character") in score_view.score_html(SCORED, has_attention=False)


def test_each_disagreement_is_a_row_that_names_both_characters_and_pairs_with_its_character():
    root = Tree(score_view.score_html(SCORED, has_attention=False)).root
    rows = [tr for tr in root.find(tag="tr") if "data-step" in tr.attrs]
    assert [tr.attrs["data-step"] for tr in rows] == ["2"]
    cells = [td.text() for td in rows[0].find(tag="td")]
    assert cells == ["3", "Va", "␣ space 0.100", "⍽ narrow non-breaking space 0.850"]
    assert [td.attrs["data-label"] for td in rows[0].find(tag="td")] == list(score_view.HEADERS)
    assert "1 of 5 steps" in root.find("score-head")[0].text()
    table = root.find("score-table")[0]
    assert table.attrs["aria-labelledby"] == root.find("score-head")[0].attrs["id"]


def test_the_context_is_cut_to_the_last_characters_and_the_start_is_named():
    long = scored([step(c, 0.9) for c in "Il fait très beau"] + [step(END, 0.9)],
                  [{"step": 0, "char": "I", "prob": 0.2, "model": "C", "model_prob": 0.7},
                   {"step": 16, "char": "u", "prob": 0.2, "model": "x", "model_prob": 0.7},
                   {"step": 17, "char": END, "prob": 0.2, "model": ".", "model_prob": 0.7}])
    rows = [tr for tr in Tree(score_view.disagreements_html(long)).root.find(tag="tr") if "data-step" in tr.attrs]
    assert [tr.find(tag="td")[1].text() for tr in rows] == ["(the start)", "…ait très bea", "…it très beau"]
    assert rows[2].find(tag="td")[2].text() == "⏎ end of sentence 0.200"


def test_no_disagreement_is_said_in_a_sentence():
    agreed = scored([step("V", 0.9), step(END, 0.9)], [])
    markup = score_view.disagreements_html(agreed)
    assert "<table" not in markup and "Nowhere would the model have written something else" in markup


def test_the_summary_puts_the_visitors_score_beside_the_models_own_and_explains_it():
    text = score_view.score_summary(SCORED, OWN, "default", DecodeOptions(method="beam", beam_size=4), from_own=False)
    assert "Scored by **Long attention \\(default\\)** as a translation of “Go\\.”" in text
    assert "**Your French:** log-probability **-3.000** in all, **-0.600** per character (5 characters" in text
    assert "**The model's own** (beam search, width 4): “Va\u202f\\!”, log-probability **-0.500** in all, **-0.100**" in text
    assert "The model finds its own translation more likely than yours, by 2.500 in log-probability." in text
    assert DEFAULT_WORDING.score_explained in text and "0 would mean certain" in text
    better = Translation("Go.", "Va !", -0.2, SCORED.steps, normalized_score=-0.04, disagreements=[])
    assert "finds yours more likely than its own, by 0.300" in score_view.score_summary(
        better, OWN, "default", DecodeOptions(), from_own=False)


def test_the_summary_of_the_models_own_says_the_box_was_empty_and_compares_nothing():
    text = score_view.score_summary(SCORED, SCORED, "fast", DecodeOptions(), from_own=True)
    assert "**The model's own translation** (greedy" in text and "since the French box was empty" in text
    assert "Your French" not in text and "more likely" not in text
    assert DEFAULT_WORDING.own_note("beam search, width 4") == ("no French was given, so the model's own "
                                                                 "translation (beam search, width 4) was scored")


def test_what_was_done_to_the_english_and_its_warnings_are_listed_under_the_summary():
    change = normalize.normalize("Tom’s", lambda c: c != "’").changes[0]
    warned = Translation("Tom's", "Va", -1.0, SCORED.steps, warnings=[change, "input is long"],
                         normalized_score=-0.2, disagreements=[])
    text = score_view.score_summary(warned, OWN, "default", DecodeOptions(), from_own=False)
    assert text.endswith(f"\n- {results.plain(change)}\n- ⚠ input is long")


def test_everything_from_the_visitor_and_the_model_is_escaped():
    hostile = scored([step("<", 0.5), step("&", 0.5), step('"', 0.5), step(END, 0.9)],
                     [{"step": 1, "char": "&", "prob": 0.5, "model": "<", "model_prob": 0.6}], english="<b>Go</b>")
    for s in hostile.steps:
        s.attention = [0.1] * 9
    markup = score_view.score_html(hostile, has_attention=True)
    tree = Tree(markup).root
    assert "b" not in {n.tag for n in tree.walk()} and "<b>" not in markup
    assert [glyph(c) for c in chars(tree)] == ["<", "&", '"', "⏎"]
    text = score_view.score_summary(hostile, OWN, "<i>x</i>", DecodeOptions(), from_own=False)
    assert "<b>" not in text and "<i>" not in text and "\\<b\\>Go\\</b\\>" in text


def test_an_attention_model_gets_its_heatmap_folded_and_paired_with_the_strip(random_attention_checkpoint):
    translator = checkpoint.load(random_attention_checkpoint)
    result = translator.score("Hi, Tom!", "Va, Tom !", DecodeOptions(top_k=3))
    root = Tree(score_view.score_html(result, has_attention=True)).root
    details = root.find(tag="details")
    assert len(details) == 1 and details[0].find(tag="summary")[0].text().startswith("Alignment")
    grid = [tr.attrs["data-step"] for tr in details[0].find(tag="tr") if "data-step" in tr.attrs]
    assert grid == [c.attrs["data-step"] for c in chars(root)] == [str(i) for i in range(len(result.steps))]
    assert not details[0].find("alignment-given")  # every row is the visitor's: no mark needed
    assert details[0].find("alignment-scroll")[0].attrs["aria-label"] == "Alignment heatmap of your French"
    rows = [tr.attrs["data-step"] for tr in root.find("score-table")[0].find(tag="tr") if "data-step" in tr.attrs] \
        if result.disagreements else []
    assert rows == [str(d["step"]) for d in result.disagreements]
    plain = checkpoint.load(random_attention_checkpoint).score("Hi, Tom!", "Va !")
    assert not Tree(score_view.score_html(plain, has_attention=False)).root.find(tag="details")


def test_the_css_keeps_gradios_selector_splitting_safe_and_stacks_rows_on_phones():
    css = score_view.CSS
    assert not re.search(r"\([^()]*,[^()]*\)\s*[^{;]*\{", css.replace("var(--pv-hi, 0)", ""))
    assert re.search(r"@media \(max-width: 640px\)[^@]*\.score-table td::before \{ content: attr\(data-label\)", css)


@pytest.mark.parametrize("french", ["Va !", ""])
def test_a_real_score_renders_one_element_per_step(random_attention_checkpoint, french):
    translator = checkpoint.load(random_attention_checkpoint)
    result = translator.score("Go.", french)
    root = Tree(score_view.score_html(result, has_attention=True)).root
    assert [glyph(c) for c in chars(root)] == [*(step_view.visible(c) for c in french), "⏎"]
