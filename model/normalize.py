"""Input normalisation: turn what people actually type into what the model was trained on.

The training data is plain ASCII punctuation with straight quotes, but phones type curly apostrophes
("I’m"), French keyboards type non-breaking spaces, and people paste "Zürich". Each step below is
switchable, runs before the vocabulary check, and reports what it changed, so a visitor sees exactly
which input the model read:

  typography   typographic quotes, apostrophes, dashes and ellipses to their ASCII forms, and
               non-breaking or thin spaces to plain spaces, then Unicode NFKC (which also folds
               full-width letters, ligatures like "ﬁ", and the like);
  diacritics   a character outside the vocabulary whose base letter is in it loses its accent
               ("ü" -> "u"); characters the vocabulary has are never touched;
  capitalize   an upper-case first letter, for models whose training sentences all start with one.

What the vocabulary has decides what may change. NFKC and accent folding touch only characters the
vocabulary lacks. The typography table replaces a character whenever the vocabulary has its ASCII
form, even a character the vocabulary has too: the fra-eng English side writes the apostrophe as
"'" 57,778 times and as "’" 37 times (and has 17 no-break spaces among 854,927 spaces), so a model
trained on it has "’" in its vocabulary yet barely learned it, and "I’m happy." translates worse
than "I'm happy.". A typographic character whose ASCII form the vocabulary lacks is kept as typed,
so a refusal names the character the visitor typed ("“"), not one they never saw ('"').
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from typing import Callable

# Typographic characters and the ASCII the training data uses for them.
TYPOGRAPHY = {
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "\u02bc": "'",  # ‘ ’ ‚ ‛ ′ ʼ
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"', "\u00ab": '"', "\u00bb": '"',  # “ ” „ ‟ ″ « »
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2015": "-", "\u2212": "-",  # ‐ ‑ ‒ – — ― −
    "\u2026": "...",  # …
    "\u00a0": " ", "\u202f": " ", "\u2007": " ", "\u2009": " ", "\u200a": " ", "\u3000": " ",  # no-break/thin spaces
}
NAMES = {"'": "apostrophe", '"': "double quote", "-": "dash", "...": "ellipsis", " ": "space"}


# How each change this module reports begins, so a caller can tell these notes (the input was
# changed as the options asked) from warnings about the result (space/views/results.py does).
TYPOGRAPHY_CHANGED = "replaced typographic characters with the ones the model knows"
NFKC_CHANGED = "applied Unicode NFKC normalisation"
ACCENTS_CHANGED = "removed accents the model does not know"
CAPITALISED = "capitalised the first letter"
CHANGES = (TYPOGRAPHY_CHANGED, NFKC_CHANGED, ACCENTS_CHANGED, CAPITALISED)


def is_change(message: str) -> bool:
    """Whether a translation's warning is one of this module's change notes."""
    return message.startswith(CHANGES)


@dataclass
class Normalized:
    text: str
    changes: list[str] = field(default_factory=list)  # one human-readable line per kind of change


def _describe(found: dict[str, str]) -> str:
    return ", ".join(f"{_show(src)} → {_show(dst)}" for src, dst in found.items())


def _show(text: str) -> str:
    return "".join({" ": "␣", "\u00a0": "⍽", "\u202f": "⍽"}.get(c, c) for c in text) or "''"


def typography(text: str, known: Callable[[str], bool] | None = None) -> Normalized:
    """Typographic punctuation and spaces to ASCII, then NFKC; reports what changed.

    Args:
        text: the sentence.
        known: whether the vocabulary has a character (see the module doc for what that decides);
            None, for text without a vocabulary, normalises everything.
    """
    if text.isascii():  # every table entry is non-ASCII, and NFKC leaves ASCII alone: nothing to do
        return Normalized(text)
    found: dict[str, str] = {}
    out = []
    for char in text:
        replacement = TYPOGRAPHY.get(char)
        if replacement is not None and (known is None or all(known(c) for c in replacement)):
            found.setdefault(char, replacement)
            out.append(replacement)
        else:
            out.append(char)
    folded: dict[str, str] = {}
    result = "".join(_nfkc(cluster, known, folded) for cluster in _clusters("".join(out)))
    changes = []
    if found:
        changes.append(f"{TYPOGRAPHY_CHANGED}: {_describe(found)}")
    if folded:
        changes.append(f"{NFKC_CHANGED} (compatibility characters to their plain forms): {_describe(folded)}")
    return Normalized(result, changes)


def _clusters(text: str) -> list[str]:
    """A character with the combining marks after it, so NFKC can compose "e" + U+0301 into "é"."""
    clusters: list[str] = []
    for char in text:
        if clusters and unicodedata.combining(char):
            clusters[-1] += char
        else:
            clusters.append(char)
    return clusters


def _nfkc(cluster: str, known: Callable[[str], bool] | None, folded: dict[str, str]) -> str:
    """NFKC of one cluster, unless the vocabulary has all of it; records what changed in `folded`."""
    if known is not None and all(known(c) for c in cluster):
        return cluster
    result = unicodedata.normalize("NFKC", cluster)
    if result != cluster:
        folded.setdefault(cluster, result)
    return result


def fold_diacritics(text: str, known: Callable[[str], bool]) -> Normalized:
    """Replace each character `known` rejects by its base letter when `known` accepts that base."""
    if text.isascii():  # an ASCII character has no accent to remove
        return Normalized(text)
    found: dict[str, str] = {}
    out = []
    for char in text:
        if not known(char):
            base = "".join(c for c in unicodedata.normalize("NFD", char) if not unicodedata.combining(c))
            if base and base != char and all(known(c) for c in base):
                found.setdefault(char, base)
                out.append(base)
                continue
        out.append(char)
    changes = [f"{ACCENTS_CHANGED}: {_describe(found)}"] if found else []
    return Normalized("".join(out), changes)


def _first_alphanumeric(text: str) -> int | None:
    """Index of the first letter or digit: quotes and brackets before it do not count."""
    return next((i for i, char in enumerate(text) if char.isalnum()), None)


def capitalize_first(text: str, known: Callable[[str], bool] | None = None) -> Normalized:
    """Upper-case the first letter if the sentence starts with a lower-case one (see `starts_lowercase`).

    Args:
        text: the sentence.
        known: whether the vocabulary has a character; an upper-case form it lacks is not written,
            since it would make an acceptable sentence unknown ("x" -> "X" for a vocabulary without "X").
    """
    if not starts_lowercase(text):
        return Normalized(text)
    i = _first_alphanumeric(text)
    char = text[i]
    upper = char.upper()
    if known is not None and not all(known(c) for c in upper):
        return Normalized(text)
    return Normalized(text[:i] + upper + text[i + 1 :], [f"{CAPITALISED}: {char} → {upper}"])


def starts_lowercase(text: str) -> bool:
    """Whether the sentence starts with a lower-case letter: the cue for offering `capitalize_first`.

    Quotes and brackets before it are skipped ('"why?"'), but a digit ends the search: "5 is less
    than 8." is how the training data writes such a sentence, and "5 Is" would be wrong.
    """
    i = _first_alphanumeric(text)
    return i is not None and text[i].islower()


def normalize(text: str, known: Callable[[str], bool], *, typography_on: bool = True,
              diacritics_on: bool = True, capitalize: bool = False) -> Normalized:
    """Apply the switched-on steps in order; `known(char)` says whether the vocabulary has a character."""
    changes: list[str] = []
    steps = [(typography_on, lambda t: typography(t, known)), (diacritics_on, lambda t: fold_diacritics(t, known)),
             (capitalize, lambda t: capitalize_first(t, known))]
    for enabled, step in steps:
        if enabled:
            result = step(text)
            text = result.text
            changes.extend(result.changes)
    return Normalized(text, changes)
