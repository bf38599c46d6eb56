"""The per-step view (space/views/steps.py): one focusable, labelled element per decoding step, marks for
invisible characters, one number format, escaped model output, and a heatmap whose rows pair with
the characters by data-step. Parsed with html.parser, as a browser would read the markup."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from space.views import alignment, marks, steps as step_view
from model import checkpoint
from model.translator import DecodeOptions, Step, Translation
from model.vocab import END

NUMBER = re.compile(r"\d\.\d{3}")
VOID = {"br", "wbr", "img", "hr", "input", "meta", "link"}


class Node:
    def __init__(self, tag: str, attrs: dict, parent: "Node | None"):
        self.tag, self.attrs, self.parent, self.children = tag, attrs, parent, []

    @property
    def classes(self) -> list[str]:
        return (self.attrs.get("class") or "").split()

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def walk(self):
        for c in self.children:
            if isinstance(c, Node):
                yield c
                yield from c.walk()

    def find(self, cls: str | None = None, tag: str | None = None) -> list["Node"]:
        return [n for n in self.walk() if (cls is None or cls in n.classes) and (tag is None or n.tag == tag)]

    def ancestors(self):
        node = self.parent
        while node is not None:
            yield node
            node = node.parent


class Tree(HTMLParser):
    """A small DOM: the elements and text a browser would build from the markup."""

    def __init__(self, markup: str):
        super().__init__()
        self.root = self._open = Node("#root", {}, None)
        self.feed(markup)
        self.close()
        assert self._open is self.root, f"unclosed <{self._open.tag}>"

    def handle_starttag(self, tag, attrs):
        node = Node(tag, dict(attrs), self._open)
        self._open.children.append(node)
        if tag not in VOID:
            self._open = node

    def handle_endtag(self, tag):
        assert self._open.tag == tag, f"</{tag}> closes <{self._open.tag}>"
        self._open = self._open.parent

    def handle_data(self, data):
        self._open.children.append(data)


def chars(root: Node) -> list[Node]:
    return [n for n in root.find("pv-char") if "data-step" in n.attrs]


def glyph(char: Node) -> str:
    return char.find("pv-glyph")[0].text()


def tip(char: Node) -> str:
    return " | ".join(n.text() for n in char.find("pv-tip")[0].children if isinstance(n, Node))


def step(char: str, prob: float, *others: tuple[str, float], attention=None) -> Step:
    top = sorted([(char, prob), *others], key=lambda t: -t[1])
    return Step(char, prob, top, attention)


# "Oui, très bien !" with French spaces: a no-break space before "!", a narrow one before "?".
STEPS = [
    step("O", 0.9, ("o", 0.05)), step("u", 1.0), step("i", 0.99), step(",", 0.6, (".", 0.3)),
    step(" ", 0.95), step("t", 0.7), step("r", 0.99), step("è", 0.87249, ("e", 0.0612), ("é", 0.032)),
    step("s", 0.98), step(" ", 0.9), step("b", 0.4, ("v", 0.35)), step("\u00a0", 0.5, (" ", 0.45)),
    step("!", 0.8), step("\u202f", 0.2, ("?", 0.7)), step("?", 0.0), step(END, 0.97, ("!", 0.01)),
]
TRANSLATION = Translation("Yes, very good!", "Oui, très b\u00a0!\u202f?", -3.0, STEPS)


def view(translation=TRANSLATION, method="greedy", temperature=1.0) -> Node:
    return Tree(step_view.probability_html(translation, method=method, temperature=temperature)).root


def test_one_focusable_labelled_element_per_step_in_order():
    found = chars(view())
    assert [int(c.attrs["data-step"]) for c in found] == list(range(len(STEPS)))
    assert all(c.attrs["tabindex"] == "0" and c.attrs["aria-label"] for c in found)
    assert found[7].attrs["aria-label"] == "è: probability 0.872; alternatives e 0.061, é 0.032"
    assert tip(found[7]) == "p 0.872 | alternatives | e 0.061 | é 0.032"


def test_invisible_characters_get_marks_and_end_is_last():
    glyphs = [glyph(c) for c in chars(view())]
    assert glyphs[4] == glyphs[9] == "␣"
    assert glyphs[11] == glyphs[13] == "⍽", "no-break and narrow no-break spaces must not look blank"
    assert glyphs[-1] == "⏎"
    labels = [c.attrs["aria-label"] for c in chars(view())]
    assert labels[4].startswith("space:") and labels[11].startswith("non-breaking space:")
    assert labels[-1].startswith("end of sentence:") and "alternatives ! 0.010" in labels[-1]
    tab = view(Translation("a\tb", "a\tb", -1.0, [step("a", 1.0), step("\t", 1.0), step("b", 1.0)]))
    assert [glyph(c) for c in chars(tab)] == ["a", "⇥", "b"] and len(tab.find("pv-word")) == 2


def test_every_number_has_three_decimals():
    root = view()
    texts = [c.attrs["aria-label"] for c in chars(root)] + [tip(c) for c in chars(root)]
    texts += [cell for _, *cells in step_view.steps_table(TRANSLATION, 5)[1] for cell in cells]
    numbers = [n for t in texts for n in re.findall(r"\d[\d.]*", t)]
    assert numbers and all(NUMBER.fullmatch(n) for n in numbers), numbers
    assert "p 1.000" in tip(chars(root)[1]) and "p 0.000" in tip(chars(root)[14])


def test_words_stay_together_and_lines_break_only_at_spaces():
    words = view().find("pv-word")
    assert ["".join(glyph(c) for c in chars(w)) for w in words] == ["Oui,", "très", "b⍽!⍽?⏎"]
    for c in chars(view()):
        in_word = any("pv-word" in a.classes for a in c.ancestors())
        assert in_word == (glyph(c) != "␣"), glyph(c)
    assert re.search(r"\.pv-word \{[^}]*display: inline-block;[^}]*white-space: nowrap", step_view.CSS)


def test_colour_and_underline_both_say_how_sure():
    found = chars(view())
    sure, unsure = found[1], found[14]  # p 1.000 and p 0.000
    lightness = [sum(map(int, re.search(r"rgb\((\d+),(\d+),(\d+)\)", c.attrs["style"]).groups())) for c in (sure, unsure)]
    assert lightness[0] > lightness[1], "sure is light, unsure strong"
    assert "pv-none" in sure.classes and "pv-wavy" in unsure.classes
    # Tiers follow the printed number: 0.8996 shows as 0.900 (none), 0.2999 as 0.300 (dashed).
    assert ([step_view.underline(p) for p in (0.9, 0.8996, 0.6, 0.3, 0.2999, 0.2994)]
            == ["none", "none", "dotted", "dashed", "dashed", "wavy"])
    shades = [step_view.colour(p / 10) for p in range(11)]
    assert len(set(shades)) == 11 and step_view.colour(float("nan")) == step_view.colour(0)


def test_legend_runs_from_0_to_1_and_says_what_it_measures():
    legend = view().find("pv-legend")[0]
    assert [n.text() for n in legend.find("pv-end")] == ["0", "1"]
    assert "probability the model gave the character it wrote (1 = certain)" in legend.text()


def test_the_note_says_which_distribution_is_shown():
    greedy = view().find("pv-note")[0].text()
    assert "model's own probabilities" in greedy
    sampled = view(method="sample", temperature=0.7).find("pv-note")[0].text()
    assert "temperature 0.7" in sampled and "before rescaling" in sampled
    assert "model's own probabilities" in view(method="beam").find("pv-note")[0].text()


def test_everything_from_the_model_and_the_user_is_escaped():
    hostile = [step("<", 0.5, ('"', 0.3)), step("&", 0.5, ("'", 0.2)), step(">", 0.5), step(END, 1.0)]
    hostile[0].attention = hostile[1].attention = hostile[2].attention = hostile[3].attention = [0.5] * 9 + [0.5]
    translation = Translation('<script>"x"</script>&', "<&>", -1.0, hostile)
    markup = step_view.step_view_html(translation, method="greedy", temperature=1.0, has_attention=True)
    tree = Tree(markup).root
    assert "script" not in {n.tag for n in tree.walk()} and "<script" not in markup
    found = chars(tree)
    assert [glyph(c) for c in found] == ["<", "&", ">", "⏎"]
    assert found[0].attrs["aria-label"] == '<: probability 0.500; alternatives " 0.300'
    assert tip(found[1]) == "p 0.500 | alternatives | ' 0.200"
    assert [n.text() for n in tree.find(tag="tfoot")[0].find(tag="th")][1:] == list('<script>"x"</script>&')


def test_steps_table_shows_the_chosen_character_once_then_the_alternatives():
    headers, rows = step_view.steps_table(TRANSLATION, 3)
    assert headers == ["step", "wrote (p)", "alternative 1", "alternative 2"]
    assert rows[7] == [8, "è 0.872", "e 0.061", "é 0.032"]
    assert rows[11] == [12, "⍽ 0.500", "␣ 0.450", ""]
    assert rows[-1] == [16, "⏎ 0.970", "! 0.010", ""]
    assert all(len(r) == len(headers) for r in rows)


def grid_rows(root: Node) -> list[Node]:
    return [tr for tr in root.find(tag="tr") if "data-step" in tr.attrs]


def test_attention_rows_pair_with_characters_inside_one_container():
    attention = [step(c, 0.9, attention=[0.2, 0.3, 0.5]) for c in "Va"] + [step(END, 0.9, attention=[0, 0, 1.0])]
    markup = step_view.step_view_html(Translation("Go.", "Va", -1.0, attention), method="greedy", temperature=1.0,
                                      has_attention=True)
    top = [n for n in Tree(markup).root.children if isinstance(n, Node)]
    assert len(top) == 1 and top[0].classes == ["step-view"]
    rows = grid_rows(top[0])
    assert [tr.attrs["data-step"] for tr in rows] == [c.attrs["data-step"] for c in chars(top[0])] == ["0", "1", "2"]


def test_a_model_without_attention_gets_the_sentence_and_no_grid():
    markup = step_view.step_view_html(TRANSLATION, method="greedy", temperature=1.0, has_attention=False)
    root = Tree(markup).root
    assert root.find("alignment-none") and "no attention" in root.find("alignment-none")[0].text()
    assert not root.find(tag="table") and len(chars(root)) == len(STEPS)


def test_css_pairs_each_step_with_its_row_and_keeps_alignment_styles():
    css = step_view.CSS
    assert alignment.CSS in css
    for i in (0, 49, step_view.MAX_STEPS - 1):
        assert f'.step-view:has([data-step="{i}"]:hover) [data-step="{i}"]' in css
        assert f'.step-view:has([data-step="{i}"]:focus) [data-step="{i}"]' in css
    # Gradio prefixes custom CSS by splitting selector lists on every comma: none may sit in parentheses.
    assert not re.search(r"\([^()]*,[^()]*\)\s*[^{;]*\{", css.replace("var(--pv-hi, 0)", ""))
    assert re.search(r"\.pv-char:hover \.pv-tip, \.pv-char:focus \.pv-tip, \.pv-char:focus-within \.pv-tip", css)


# --- on real models with seeded random weights ---------------------------------------------------


@pytest.fixture(scope="module")
def attention_translator(random_attention_checkpoint):
    return checkpoint.load(random_attention_checkpoint)


@pytest.mark.parametrize("method", ["greedy", "beam", "sample"])
def test_an_attention_model_gets_one_row_per_step(attention_translator, method):
    translation = attention_translator.translate("Hi, Tom!", DecodeOptions(method=method, top_k=3, temperature=0.7))
    markup = step_view.step_view_html(translation, method=method, temperature=0.7, has_attention=True)
    root = Tree(markup).root
    steps = translation.steps
    assert [int(c.attrs["data-step"]) for c in chars(root)] == list(range(len(steps)))
    assert [tr.attrs["data-step"] for tr in grid_rows(root)] == [c.attrs["data-step"] for c in chars(root)]
    assert [glyph(c) for c in chars(root)] == [marks.visible(s.char) for s in steps]
    if steps[-1].char == END:
        assert glyph(chars(root)[-1]) == "⏎"


def test_sampling_shows_the_unscaled_distribution(attention_translator):
    # Step 0 depends only on the input, so if sampling showed the temperature-scaled distribution its
    # first step would differ from greedy's; the note's claim is that it does not.
    greedy = attention_translator.translate("Hi, Tom!", DecodeOptions(method="greedy", top_k=3)).steps[0].top
    for temperature in (0.3, 3.0):
        sampled = attention_translator.translate("Hi, Tom!", DecodeOptions(method="sample", top_k=3,
                                                                           temperature=temperature)).steps[0].top
        assert [c for c, _ in sampled] == [c for c, _ in greedy]
        assert [p for _, p in sampled] == pytest.approx([p for _, p in greedy], abs=1e-6)


def test_a_model_without_attention_renders_without_error(random_checkpoint):
    translator = checkpoint.load(random_checkpoint)
    translation = translator.translate("Go.", DecodeOptions(top_k=3))
    markup = step_view.step_view_html(translation, method="greedy", temperature=1.0,
                                      has_attention=translator.has_attention)
    root = Tree(markup).root
    assert not translator.has_attention and not root.find(tag="table")
    assert len(chars(root)) == len(translation.steps)


def test_characters_that_share_a_mark_are_told_apart_among_the_alternatives():
    # The bundled model's French holds both U+00A0 and U+202F: both show as ⍽ on their own.
    nbsp = step("!", 0.99, ("\u00a0", 0.0002), ("\u202f", 0.0001))
    found = chars(view(Translation("Go!", "!", -0.01, [nbsp, step(END, 1.0)])))
    assert tip(found[0]) == "p 0.990 | alternatives | ⍽ 0.000 | ⍽ narrow 0.000"
    assert found[0].attrs["aria-label"] == ("!: probability 0.990; alternatives non-breaking space 0.000, "
                                            "narrow non-breaking space 0.000")
    table = step_view.steps_table(Translation("Go!", "!", -0.01, [nbsp]), 3)[1]
    assert table == [[1, "! 0.990", "⍽ 0.000", "⍽ narrow 0.000"]]
    assert marks.written("\u200b") == "◌ U+200B" and marks.written(" ") == "␣" and marks.written("é") == "é"


def test_the_tooltip_and_every_cell_name_their_own_colours():
    css = step_view.CSS
    # Gradio colours every element of an HTML block with the body text colour: the view inherits instead.
    assert re.search(r"\.step-view \* \{ color: inherit; \}", css)
    assert re.search(r"\.pv-tip \{[^}]*background: #222; color: #fff;", css)
    for char in chars(view()):
        assert re.search(r"color:#(000|fff)", char.attrs["style"]), char.attrs["style"]


def test_the_heatmap_scrolls_by_keyboard_and_its_corner_names_both_axes():
    attention = [step(c, 0.9, attention=[0.5, 0.5]) for c in "Va"]
    root = Tree(step_view.step_view_html(Translation("Go", "Va", -1.0, attention), method="greedy",
                                         temperature=1.0, has_attention=True)).root
    box = root.find("alignment-scroll")[0]
    assert box.attrs["tabindex"] == "0" and box.attrs["role"] == "region" and box.attrs["aria-label"]
    corner = root.find(tag="tfoot")[0].find(tag="th")[0]
    assert corner.text().strip() == "French ↓, English →" and corner.find("sr-only")


def given(char: str, prob: float, *others: tuple[str, float]) -> Step:
    marked = step(char, prob, *others)
    marked.given = True
    return marked


# "Va !" where the visitor gave "Va" (a prefix): the model wrote " !" and the end.
PREFIXED = Translation("Go!", "Va !", -2.0, [given("V", 0.3, ("A", 0.6)), given("a", 0.9), step(" ", 0.8),
                                             step("!", 0.7), step(END, 0.99)])


def test_given_characters_carry_a_mark_a_legend_entry_and_say_so_in_words():
    root = view(PREFIXED)
    found = chars(root)
    assert ["pv-given" in c.classes for c in found] == [True, True, False, False, False]
    assert found[0].attrs["aria-label"] == "V: given by you, probability 0.300; alternatives A 0.600"
    assert tip(found[0]) == "given by you | p 0.300 | alternatives | A 0.600"
    assert found[2].attrs["aria-label"].startswith("space: probability")
    legend = root.find("pv-legend")[0]
    assert "bar above: given by you" in legend.text() and legend.find("pv-given")
    note = root.find("pv-note")[0].text()
    assert "The first 2 characters, marked with a bar above, were given by you" in note
    # Without a prefix, neither the legend entry nor the note.
    assert "given by you" not in Tree(step_view.probability_html(TRANSLATION, method="greedy", temperature=1.0)).root.text()
    assert re.search(r"\.pv-given \{ box-shadow: 0 -4px 0 #2563eb; \}", step_view.CSS)


def test_the_steps_table_and_the_heatmap_mark_the_given_rows():
    rows = step_view.steps_table(PREFIXED, 2)[1]
    assert [r[1] for r in rows[:3]] == ["V 0.300 (given by you)", "a 0.900 (given by you)", "␣ 0.800"]
    for s in PREFIXED.steps:
        s.attention = [0.5, 0.25, 0.25]
    root = Tree(step_view.step_view_html(PREFIXED, method="greedy", temperature=1.0, has_attention=True)).root
    labels = [tr.find(tag="th")[0] for tr in grid_rows(root)]
    assert ["alignment-given" in th.classes for th in labels] == [True, True, False, False, False]
    assert labels[0].text() == "V (given by you)" and labels[0].find("sr-only")  # read out, not only seen
    assert labels[0].find(tag="span")[0].attrs["title"] == "given by you"
    assert labels[2].find(tag="span")[0].attrs["title"] == "space"
    assert "row of a character given by you" in root.find("alignment-legend")[0].text()


def test_given_marks_can_be_left_off_where_every_character_is_given():
    strip = Tree(step_view.strip_html(PREFIXED.steps, mark_given=False)).root
    assert not strip.find("pv-given") and "given by you" not in strip.text()
    assert len(chars(strip)) == len(PREFIXED.steps)


def test_a_real_prefix_is_marked_on_its_own_steps(attention_translator):
    translation = attention_translator.translate("Hi, Tom!", DecodeOptions(method="beam", top_k=3), prefix="Va")
    root = Tree(step_view.step_view_html(translation, method="beam", temperature=1.0, has_attention=True)).root
    assert translation.translation.startswith("Va")
    assert ["pv-given" in c.classes for c in chars(root)] == [s.given for s in translation.steps]
    assert sum(s.given for s in translation.steps) == 2
