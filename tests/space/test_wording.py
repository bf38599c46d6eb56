"""The page's words for its language pair (space/wording.py): English -> French reads exactly as the
page always did, and another pair's words name its languages and never French."""

from __future__ import annotations

import inspect

import pytest

from model.languages import DEFAULT_PAIR, ENGLISH, Language, LanguagePair
from space.wording import DEFAULT_WORDING, Wording

SPANISH = LanguagePair(ENGLISH, Language("Spanish", "es"))

# Before the page took its words from the pair, these were literals in space/ (layout.py, options.py,
# static/page.js and the views): the English -> French wording must still be them, word for word.
FRENCH_PAGE = {
    "title": "English → French, one character at a time",
    "source": "English",
    "target": "French",
    "source_placeholder": "Type or paste English: a sentence or several (each is translated; line breaks are kept)",
    "reference_label": "Reference French (human translations from the data)",
    "translation_aria_label": "French translation",
    "copy_aria_label": "Copy the French translation",
    "prefix_label": "Start the French with… (optional)",
    "prefix_placeholder": "e.g. Je ne  or  Il faut",
    "prefix_info": "Press Enter: the model continues your French. It starts the first sentence's French; a start of "
                   "several sentences (“Bonjour ! Je ”) starts the first ones in order.",
    "score_intro": "## Score your French\nType or paste your own French for the English above: see how likely the "
                   "model finds each of your characters, where it would have written something else, and how yours "
                   "compares with its own translation.",
    "score_label": "Your French",
    "score_placeholder": "e.g. Je suis très content. Left empty: the model's own is scored",
    "score_info": "Press Enter or click Score (Shift+Enter starts a new line). For several English sentences, write "
                  "as many French ones: each pair is scored.",
    "alignment_caption": "Alignment: each row is a French character, each column the English character it read; "
                         "darker means more attention (weights in a row sum to 1).",
    "alignment_axes": "French ↓, English →",
    "no_attention": "This model has no attention, so there is no alignment to show: its decoder sees the English "
                    "only through one fixed-size state. Choose an attention model to see which English characters "
                    "each French character read.",
    "compare_headers": ("Model", "Method", "French", "log-probability", "mean confidence", "chrF"),
    "score_explained": "*Log-probability adds up the logarithm of the probability the model gave each character, "
                       "the end included: 0 would mean certain, and the more negative, the less likely the model "
                       "finds the French. Per character, it is divided by the number of characters (end included), "
                       "so French of different lengths compares.*",
    "score_note": "Your French, one character at a time, the end (⏎) last: the colour and underline of each "
                  "character show the probability the model gave it, having read the English and your French before "
                  "it. Hover, tap or tab to a character for what the model would have written there.",
    "score_heatmap": "Alignment heatmap of your French",
    "score_alignment_summary": "Alignment: which English characters the model read for each of your characters",
    "production_pointer": "For real translation use a production system, such as the opus-mt-en-fr models on the "
                          "Hugging Face Hub, DeepL or Google Translate.",
}


@pytest.mark.parametrize("name", FRENCH_PAGE)
def test_english_to_french_reads_as_the_page_always_did(name):
    assert getattr(DEFAULT_WORDING, name) == FRENCH_PAGE[name]


def test_english_to_french_sentences_built_around_a_value_read_as_before():
    words = DEFAULT_WORDING
    assert words == Wording.of(DEFAULT_PAIR)
    assert words.given_note(2) == (" The first 2 characters, marked with a bar above, were given by you (Start the "
                                   "French with…): the model was made to write them, and their probabilities say how "
                                   "likely it found them; it chose the rest.")
    assert words.given_line("Je") == "- The French starts with “Je”, as you asked; the model wrote the rest."
    assert words.own_note("greedy") == "no French was given, so the model's own translation (greedy) was scored"
    assert words.compare_intro("width 4, length-normalised", baseline=True, heldout=True) == (
        "Your English through every model this Space offers, with greedy decoding and beam search (width 4, "
        "length-normalised). For held-out sentences the reference French and a sentence-level chrF (0–100, higher is "
        "closer) are shown: this is where you see what masking, more data and attention bought over the keras.io "
        "recipe. Several sentences are compared as a whole and one by one.")
    assert words.file_intro(1000, 256) == (
        "Upload a `.txt` file (one sentence per line) or a `.csv` file with a column named `english`: at most 1000 "
        "sentences and 256 KB. You get a CSV (UTF-8 with a byte-order mark, so Excel shows accents) with your columns "
        "plus french, score and error; blank rows and rows the model cannot translate are reported and never stop the "
        "batch. Cells that start with =, +, -, @, a tab or a carriage return get a leading `'` so spreadsheets show "
        "them as text.")
    assert words.how_it_works(baseline=True) == (
        "A character-level sequence-to-sequence network reads your English sentence and writes French one character "
        "at a time. Turn on the per-step view to see how sure it was of every character and, for the attention model, "
        "which English characters it was reading. The *Compare models* tab runs one sentence through every model, to "
        "see what masking, more data and attention bought over the keras.io recipe.")
    assert words.translate_api.startswith("Translate English into French: one sentence, or several (a paragraph, "
                                          "line breaks kept). The input is cut into sentences, translated together "
                                          "and joined in the input's shape (up to 1,000 characters and 20 sentences).")


def every_phrase(words: Wording) -> dict[str, str]:
    """Every phrase a Wording makes, by name: its properties, and its methods called with sample values."""
    samples = {"given": 3, "method": "greedy", "beam": "width 4", "baseline": True, "heldout": True,
               "max_rows": 1000, "max_kb": 256, "meaning": "the translation"}
    phrases = {}
    for name, member in inspect.getmembers(type(words)):
        if name.startswith("__") or name in ("of", "pair"):
            continue
        if isinstance(member, property):
            phrases[name] = str(getattr(words, name))
        elif callable(member):
            method = getattr(words, name)
            arguments = {p: samples[p] for p in inspect.signature(method).parameters}
            phrases[name] = str(method(**arguments))
            if "baseline" in arguments:  # the sentence's other branches too
                others = {p: False for p in ("baseline", "heldout") if p in arguments}
                phrases[name + "(without)"] = str(method(**{**arguments, **others}))
    return phrases


def test_another_pair_is_named_everywhere_and_french_nowhere():
    phrases = every_phrase(Wording.of(SPANISH))
    assert len(phrases) > 30
    for name, text in phrases.items():
        assert "French" not in text, f"{name}: {text}"
    named = [name for name, text in phrases.items() if "Spanish" in text]
    assert {"title", "reference_label", "score_label", "prefix_label", "translation_aria_label", "copy_aria_label",
            "translate_api", "score_api", "compare_api", "translate_batch_api", "alignment_caption",
            "input_options_note"} <= set(named)
    assert Wording.of(SPANISH).title == "English → Spanish, one character at a time"


def test_another_pair_quotes_no_french_example():
    """An example sentence cannot be translated into every language: other pairs get neutral help."""
    words = Wording.of(SPANISH)
    assert words.score_placeholder == "Your own Spanish. Left empty: the model's own is scored"
    assert "Je" not in words.prefix_placeholder and "Bonjour" not in words.prefix_info
    assert "opus-mt-en-fr" not in words.production_pointer and words.production_chrf == ""
    # The API's and the CSV's field keeps its name, and says what it holds.
    assert "french (the Spanish to score)" in words.score_api
    assert "plus french (the Spanish translation), score and error" in words.file_intro(1000, 256)


def test_the_french_of_another_source_is_still_the_french_example():
    """The examples are French ones: they depend on the target, not on the pair being the default."""
    german_to_french = Wording.of(LanguagePair(Language("German", "de"), Language("French", "fr")))
    assert german_to_french.score_placeholder.startswith("e.g. Je suis très content.")
    assert german_to_french.title == "German → French, one character at a time"
    assert "German" in german_to_french.score_info and "English" not in german_to_french.alignment_caption
