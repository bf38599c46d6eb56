"""Sentence segmentation: what a visitor pastes becomes the sentences the model was trained on.

The models translate one sentence at a time: trained on single sentences, they turn "Hello! How are
you? I hope you are well." read as one sequence into nonsense, and each of its three sentences
alone into good French. So a text is cut into sentences first, and the French is put back together
in the text's shape:

  * the text is split into lines; a line break, or a run of them around blank lines, is kept as
    typed between the sentences it separates (a paragraph stays a paragraph in the French);
  * each line is split into sentences by pySBD (`pysbd`, rule-based, after the Golden Rules of
    sentence boundary detection), which knows abbreviations ("Mr.", "Dr.", "e.g.", "U.S.", "p.m."),
    numbers ("3.5", "$3.50"), ellipses, "?!", and quotes and brackets around a sentence's end;
    sentences on one line are joined by a single space;
  * a piece without a letter or a digit (a stray "?" or "...") is no sentence of its own: it joins
    the sentence before it (or, first on its line, the one after).

Why pySBD. Three well-known segmenters were measured on this project's list of hard cases (the
cases in tests/test_segment.py, plus lower-case sentence starts, which phone keyboards and quick
typists produce): pySBD got 39 of 42 right, sentence-splitter (Moses' rules) 39 but split none of
"hello. how are you?", and sentencex 36, missing "?!", "??", "..." and a bracketed sentence. pySBD
misses "Hi!!! Are you there???" (one sentence) and "Ok.Thanks." (no space after the stop), which the
tests record as known limits. It is pure Python with no dependencies, and 0.1-0.2 ms a sentence is
noise beside translating it.

Nothing here imports a model: `Segmented` is a plain value (sentences and the separators between
them), which model/paragraph.py turns into one batch of requests and back into one answer.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Sequence

WORD_CHARACTER = re.compile(r"\w")  # a letter or a digit, in any script: a piece without one is punctuation
LINE_BREAKS = re.compile(r"\r\n|\r")  # Windows and old Mac line ends, read as "\n"


@dataclass(frozen=True)
class Segmented:
    """A text as sentences and what separates them: `separators[i]` comes after `sentences[i]`.

    Joining the sentences with their separators gives the text back, with each line's surrounding
    whitespace removed and the spaces between two sentences of a line made one.
    """

    sentences: tuple[str, ...]
    separators: tuple[str, ...]  # one fewer than sentences: " " within a line, line breaks between lines

    def join(self, parts: Sequence[str]) -> str:
        """Put one text per sentence (their translations) back in the shape of the original."""
        if len(parts) != len(self.sentences):
            raise ValueError(f"got {len(parts)} parts for {len(self.sentences)} sentences")
        if not parts:
            return ""
        return "".join(part + separator for part, separator in zip(parts, self.separators)) + parts[-1]

    @property
    def text(self) -> str:
        return self.join(self.sentences)


# pySBD's rules exist for these ISO 639-1 codes (pysbd.languages.LANGUAGE_CODES, pysbd 0.3.4); text in
# any other language is cut with the English rules, which know ". ? !" and most abbreviations' shapes.
PYSBD_LANGUAGES = frozenset("am ar bg da de el en es fa fr hi hy it ja kk mr my nl pl ru sk ur zh".split())


def rules_for(code: str) -> str:
    """The pySBD language whose rules cut text of ISO code `code` ("es" -> "es", "tlh" -> "en")."""
    return code if code in PYSBD_LANGUAGES else "en"


@functools.lru_cache(maxsize=None)
def _segmenter(language: str):
    import pysbd  # imported on first use: the CLI's --no-split and the legacy paths never need it

    return pysbd.Segmenter(language=language, clean=False, char_span=True)


def _line_sentences(line: str, language: str) -> list[str]:
    """The sentences of one line (already stripped), punctuation-only pieces joined to a neighbour as written."""
    groups: list[list[int]] = []  # [start, end] offsets in `line` of each sentence
    for span in _segmenter(language).segment(line):
        if not line[span.start:span.end].strip():
            continue
        if groups and not (has_words(line[span.start:span.end]) and has_words(line[groups[-1][0]:groups[-1][1]])):
            groups[-1][1] = span.end  # punctuation joins the sentence before it, or a sentence joins it
        else:
            groups.append([span.start, span.end])
    return [line[start:end].strip() for start, end in groups] or [line]


def split(text: str, language: str = "en") -> Segmented:
    """Cut `text` into sentences, keeping its line breaks between them.

    Args:
        text: any text; leading and trailing whitespace and blank lines are dropped.
        language: the text's ISO 639 code ("en", "fr", "es"); see rules_for.
    """
    language = rules_for(language)
    sentences: list[str] = []
    separators: list[str] = []
    breaks = 0  # line breaks since the last line that held a sentence
    for line in LINE_BREAKS.sub("\n", text).split("\n"):
        line = line.strip()
        if not line:
            breaks += 1
            continue
        found = _line_sentences(line, language)
        if sentences:
            separators.append("\n" * (breaks + 1))
        separators.extend(" " for _ in found[1:])
        sentences.extend(found)
        breaks = 0
    return Segmented(tuple(sentences), tuple(separators))


def has_words(text: str) -> bool:
    """Whether `text` holds a letter or a digit: an input of only punctuation and spaces has nothing to translate."""
    return bool(WORD_CHARACTER.search(text))


def split_prefix(prefix: str, language: str = "fr") -> list[str]:
    """A prefix of the translation (in the language of ISO code `language`) as one prefix per sentence, in order.

    A prefix of one sentence is returned exactly as written (its trailing space is part of it: "Je "
    makes the model write the next word). Of several, each is stripped but the last keeps the spaces
    that end the prefix, so "Bonjour ! Je " gives ["Bonjour !", "Je "].
    """
    pieces = split(prefix, language).sentences
    if len(pieces) <= 1:
        return [prefix] if prefix else []
    return [*pieces[:-1], pieces[-1] + prefix[len(prefix.rstrip(" ")):]]
