"""The page's words for the language pair it serves: every label, help text, caption, message and API
description that names a language.

One app serves one pair (model.registry.ModelRegistry.languages: every model it offers translates
it), so the page is written once, in that pair's names: `Wording.of(pair)`. The English -> French
wording (DEFAULT_WORDING, the bundled models' pair) is the page's wording as it always was; for any
other pair the same sentences name the other languages, and the few that quote French (the example
in a placeholder, the first words of a prefix, the opus-mt-en-fr pointer) give way to neutral ones:
an example sentence cannot be translated into every language.

Names a program reads stay as they are for every pair: the API's parameter `french`, the Compare
rows' key `french` and the CSV's column `french` are part of the API, not of the page's prose.

No gradio import: the views take a Wording as the handlers do (`Service.words`).
"""

from __future__ import annotations

from dataclasses import dataclass

from model import validation
from model.languages import DEFAULT_PAIR, LanguagePair

FRENCH_CODE = "fr"  # the target whose words may quote French examples
NO_SAMPLE_TITLE = "No held-out sentences"  # the error of a random draw on a page without a sample


@dataclass(frozen=True)
class Wording:
    """The page's pair-dependent phrases, built from the pair it serves (see the module doc).

    Args:
        pair: the languages every model of the page translates.
    """

    pair: LanguagePair

    @classmethod
    def of(cls, pair: LanguagePair) -> Wording:
        return cls(pair)

    # -- the pair's names ----------------------------------------------------------------------------

    @property
    def source(self) -> str:
        """'English'."""
        return self.pair.source.name

    @property
    def target(self) -> str:
        """'French', 'Spanish'."""
        return self.pair.target.name

    @property
    def target_code(self) -> str:
        """The target's ISO code: the `lang` of the model's output in the HTML views, a file name's suffix."""
        return self.pair.target.code

    @property
    def _writes_french(self) -> bool:
        """Whether the help may quote French examples ("Je suis très content."): only where the model writes French."""
        return self.pair.target.code == FRENCH_CODE

    def french_field(self, meaning: str) -> str:
        """A field named `french` (the API's, the CSV's), with what it holds where its name does not say."""
        return "french" if self._writes_french else f"french ({meaning})"

    # -- the page's head and the Translate tab -------------------------------------------------------

    @property
    def title(self) -> str:
        return f"{self.pair.arrow}, one character at a time"

    @property
    def source_placeholder(self) -> str:
        return f"Type or paste {self.source}: a sentence or several (each is translated; line breaks are kept)"

    @property
    def reference_label(self) -> str:
        return f"Reference {self.target} (human translations from the data)"

    @property
    def translation_aria_label(self) -> str:
        """The result box's name for a screen reader (static/page.js sets it: Gradio has no option)."""
        return f"{self.target} translation"

    @property
    def copy_aria_label(self) -> str:
        """The result box's copy button's name (Gradio names every copy button "Copy")."""
        return f"Copy the {self.target} translation"

    # -- Start the French with… (the prefix) ---------------------------------------------------------

    @property
    def prefix_name(self) -> str:
        """'Start the French with…': the field's label, and how the views refer to it."""
        return f"Start the {self.target} with…"

    @property
    def prefix_label(self) -> str:
        return f"{self.prefix_name} (optional)"

    @property
    def prefix_placeholder(self) -> str:
        return "e.g. Je ne  or  Il faut" if self._writes_french else f"The first words of the {self.target} you want"

    @property
    def prefix_info(self) -> str:
        several = " (“Bonjour ! Je ”)" if self._writes_french else ""
        return (f"Press Enter: the model continues your {self.target}. It starts the first sentence's "
                f"{self.target}; a start of several sentences{several} starts the first ones in order.")

    @property
    def prefix_link_name(self) -> str:
        """What a share link's prefix is called in its notes."""
        return f"{self.target} prefix"

    # -- Score your French ---------------------------------------------------------------------------

    @property
    def score_heading(self) -> str:
        return f"Score your {self.target}"

    @property
    def score_intro(self) -> str:
        """The panel's heading and help (Markdown)."""
        return (f"## {self.score_heading}\nType or paste your own {self.target} for the {self.source} above: see "
                "how likely the model finds each of your characters, where it would have written something else, "
                "and how yours compares with its own translation.")

    @property
    def score_label(self) -> str:
        return f"Your {self.target}"

    @property
    def score_placeholder(self) -> str:
        example = "e.g. Je suis très content." if self._writes_french else f"Your own {self.target}."
        return f"{example} Left empty: the model's own is scored"

    @property
    def score_info(self) -> str:
        return (f"Press Enter or click Score (Shift+Enter starts a new line). For several {self.source} sentences, "
                f"write as many {self.target} ones: each pair is scored.")

    # -- the Compare and file tabs -------------------------------------------------------------------

    def compare_intro(self, beam: str, baseline: bool, heldout: bool) -> str:
        """The Compare tab's help (Markdown).

        Args:
            beam: the beam search's settings ("width 4, length-normalised").
            baseline: the keras.io recipe is among the models: say what the others bought over it.
            heldout: the page has held-out sentences (with references) to draw.
        """
        text = (f"Your {self.source} through every model this Space offers, with greedy decoding and beam search "
                f"({beam}).")
        if heldout:
            text += (f" For held-out sentences the reference {self.target} and a sentence-level chrF (0–100, higher "
                     "is closer) are shown")
            text += (": this is where you see what masking, more data and attention bought over the keras.io "
                     "recipe." if baseline else ".")
        return text + " Several sentences are compared as a whole and one by one."

    def file_intro(self, max_rows: int, max_kb: int) -> str:
        """The file tab's help (Markdown). The CSV's column names are the file format's, for every pair."""
        translation = self.french_field(f"the {self.target} translation")
        return (f"Upload a `.txt` file (one sentence per line) or a `.csv` file with a column named `english`: "
                f"at most {max_rows} sentences and {max_kb} KB. "
                f"You get a CSV (UTF-8 with a byte-order mark, so Excel shows accents) with your columns "
                f"plus {translation}, score and error; blank rows and rows the model cannot translate are reported "
                f"and never stop the batch. Cells that start with =, +, -, @, a tab or a carriage return get a "
                f"leading `'` so spreadsheets show them as text.")

    # -- the views -----------------------------------------------------------------------------------

    @property
    def alignment_caption(self) -> str:
        return (f"Alignment: each row is a {self.target} character, each column the {self.source} character it "
                "read; darker means more attention (weights in a row sum to 1).")

    @property
    def alignment_axes(self) -> str:
        """The heatmap's corner cell, for screen readers."""
        return f"{self.target} ↓, {self.source} →"

    @property
    def no_attention(self) -> str:
        return (f"This model has no attention, so there is no alignment to show: its decoder sees the {self.source} "
                f"only through one fixed-size state. Choose an attention model to see which {self.source} "
                f"characters each {self.target} character read.")

    def given_note(self, given: int) -> str:
        """The per-step view's note on the characters the visitor gave (a prefix)."""
        return (f" The first {given} character{'s' if given > 1 else ''}, marked with a bar above, were given by you "
                f"({self.prefix_name}): the model was made to write them, and their probabilities say how "
                f"likely it found them; it chose the rest.")

    def given_line(self, given: str) -> str:
        """The summary's line on a prefix (already escaped for Markdown)."""
        return f"- The {self.target} starts with “{given}”, as you asked; the model wrote the rest."

    @property
    def compare_headers(self) -> tuple[str, ...]:
        return ("Model", "Method", self.target, "log-probability", "mean confidence", "chrF")

    @property
    def score_explained(self) -> str:
        return ("*Log-probability adds up the logarithm of the probability the model gave each character, the end "
                f"included: 0 would mean certain, and the more negative, the less likely the model finds the "
                f"{self.target}. Per character, it is divided by the number of characters (end included), so "
                f"{self.target} of different lengths compares.*")

    @property
    def score_note(self) -> str:
        return (f"Your {self.target}, one character at a time, the end (⏎) last: the colour and underline of each "
                f"character show the probability the model gave it, having read the {self.source} and your "
                f"{self.target} before it. Hover, tap or tab to a character for what the model would have written "
                "there.")

    @property
    def score_heatmap(self) -> str:
        """The score view's heatmap's name (the per-step view's is "Alignment heatmap": landmarks need own names)."""
        return f"Alignment heatmap of your {self.target}"

    @property
    def score_alignment_summary(self) -> str:
        return f"Alignment: which {self.source} characters the model read for each of your characters"

    def own_note(self, method: str) -> str:
        """What a score of the model's own translation says when none was given (API warnings, the page)."""
        return f"no {self.target} was given, so the model's own translation ({method}) was scored"

    @property
    def own_scored(self) -> str:
        return f"since the {self.target} box was empty"

    @property
    def yours(self) -> str:
        return f"Your {self.target}:"

    @property
    def search_missed(self) -> str:
        return f"its search did not find your {self.target}"

    # -- the About section and the intro -------------------------------------------------------------

    def how_it_works(self, baseline: bool) -> str:
        """The About section's first paragraph.

        Args:
            baseline: the keras.io recipe is among the models (the Compare tab's point is beating it).
        """
        compare = ("runs one sentence through every model, to see what masking, more data and attention bought over "
                   "the keras.io recipe." if baseline else "runs one sentence through every model, side by side.")
        return (f"A character-level sequence-to-sequence network reads your {self.source} sentence and writes "
                f"{self.target} one character at a time. Turn on the per-step view to see how sure it was of every "
                f"character and, for the attention model, which {self.source} characters it was reading. The "
                f"*Compare models* tab {compare}")

    @property
    def input_options_note(self) -> str:
        """What the input options touch, for every pair (model/normalize.py has rules for the input only)."""
        return (f"The input options change the {self.source} you type, never the {self.target}: a start or a "
                f"translation of your own is read exactly as written, and a character the model never writes "
                f"is refused by name, not replaced.")

    @property
    def production_chrf(self) -> str:
        """What a production system scores on the bundled models' held-out split, where it was measured."""
        return " (a large production model: about 67)" if self.pair == DEFAULT_PAIR else ""

    @property
    def production_pointer(self) -> str:
        # Helsinki-NLP publishes opus-mt models for many pairs, not all: only the recipe's is named.
        systems = ("the opus-mt-en-fr models on the Hugging Face Hub" if self.pair == DEFAULT_PAIR
                   else "the Opus-MT models on the Hugging Face Hub")
        return f"For real translation use a production system, such as {systems}, DeepL or Google Translate."

    # -- messages ------------------------------------------------------------------------------------

    @property
    def no_sample(self) -> str:
        return (f"this model's checkpoint records no held-out sentences, so there is none to draw; type your own "
                f"{self.source} instead")

    # -- the API's documentation ("Use via API", view_api, MCP tools) --------------------------------

    @property
    def translate_api(self) -> str:
        s, t = self.source, self.target
        return (f"Translate {s} into {t}: one sentence, or several (a paragraph, line breaks kept). The input is cut "
                f"into sentences, translated together and joined in the input's shape (up to "
                f"{validation.MAX_PARAGRAPH_CHARS:,} characters and {validation.MAX_SENTENCES} sentences). Returns "
                f"JSON: input (what the model read, after normalisation), translation (the joined {t}), score "
                "(log-probability, summed over the sentences), steps (per character: char, prob, top alternatives, "
                "and attention weights over the input for attention models), nbest (beam search), warnings, "
                f"suggest_capitalize, and sentences: one such record per sentence, with the separator that follows "
                f"its {t}. With several sentences, steps and nbest are per sentence only. Plus model and the options "
                "used. model: one of the Space's models; left out, the model the Space started with. The decoding "
                f"options left out take the page's defaults. prefix: {t} the translation must start with (the first "
                f"sentence's {t}; a prefix of several sentences starts the first ones in order).")

    @property
    def score_api(self) -> str:
        s, t = self.source, self.target
        return (f"How likely the model finds a {t} translation of {s} (forced decoding), sentence by sentence. "
                f"Returns the same record as /translate, for the given {t}: translation (the {t}, as given), score "
                "(its log-probability, end included: comparable with /translate's score), normalized_score (per "
                "character, end included), steps (per character: its probability, the model's own top "
                "alternatives, attention, given), disagreements (the steps where the model's first choice differs: "
                "step, char, prob, model, model_prob; \"\\n\" is the end), warnings, model and options. "
                f"{s} of several sentences is paired with the {t}'s sentences, which must be as many; the record then "
                "adds sentences, one such record per pair (each disagreement names its sentence). The "
                f"{s} is normalised as /translate does by default. {self.french_field(f'the {t} to score')}: "
                "left empty, the model's own translation (beam search, width 4) is scored, and a warning says so.")

    @property
    def compare_api(self) -> str:
        s, t = self.source, self.target
        return (f"Translate {s} with every model this Space offers, greedy and the default beam search, side by "
                "side. An input of several sentences is compared whole and sentence by sentence. references: "
                f"reference {t} translations of the whole input; when left out, the page's held-out sample is "
                f"searched for each sentence. prefix: {t} every translation must start with. Returns english, "
                f"references and rows of model, method, {self.french_field(f'the {t}')}, log_prob, mean_confidence, "
                "chrf (sentence-level, when there are references) and error, for the whole input; and sentences: per "
                "sentence, its english, references and rows.")

    @property
    def translate_batch_api(self) -> str:
        return (f"Translate a .txt/.csv file of {self.source} sentences into a CSV of their {self.target} "
                "translations")


DEFAULT_WORDING = Wording.of(DEFAULT_PAIR)  # the bundled models' English -> French: the page's words as they were
