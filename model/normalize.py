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


@dataclass
class Normalized:
    text: str
    changes: list[str] = field(default_factory=list)  # one human-readable line per kind of change


def _describe(found: dict[str, str]) -> str:
    return ", ".join(f"{_show(src)} → {_show(dst)}" for src, dst in found.items())


def _show(text: str) -> str:
    return "".join({" ": "␣", "\u00a0": "⍽", "\u202f": "⍽"}.get(c, c) for c in text) or "''"


def typography(text: str) -> Normalized:
    """Typographic punctuation and spaces to ASCII, then NFKC; reports what changed."""
    found: dict[str, str] = {}
    out = []
    for char in text:
        replacement = TYPOGRAPHY.get(char)
        if replacement is not None:
            found.setdefault(char, replacement)
            out.append(replacement)
        else:
            out.append(char)
    result = unicodedata.normalize("NFKC", "".join(out))
    changes = []
    if found:
        changes.append(f"replaced typographic characters with the ones the model knows: {_describe(found)}")
    if result != "".join(out):
        changes.append("applied Unicode NFKC normalisation (compatibility characters to their plain forms)")
    return Normalized(result, changes)


def fold_diacritics(text: str, known: Callable[[str], bool]) -> Normalized:
    """Replace each character `known` rejects by its base letter when `known` accepts that base."""
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
    changes = [f"removed accents the model does not know: {_describe(found)}"] if found else []
    return Normalized("".join(out), changes)


def capitalize_first(text: str) -> Normalized:
    """Upper-case the first letter if it is lower-case (the training sentences all start upper-case)."""
    for i, char in enumerate(text):
        if char.isalpha():
            if char.islower():
                return Normalized(text[:i] + char.upper() + text[i + 1 :], [f"capitalised the first letter: {char} → {char.upper()}"])
            break
    return Normalized(text)


def starts_lowercase(text: str) -> bool:
    """Whether the first letter is lower-case: the cue for offering `capitalize_first`."""
    letters = [c for c in text if c.isalpha()]
    return bool(letters) and letters[0].islower()


def normalize(text: str, known: Callable[[str], bool], *, typography_on: bool = True,
              diacritics_on: bool = True, capitalize: bool = False) -> Normalized:
    """Apply the switched-on steps in order; `known(char)` says whether the vocabulary has a character."""
    changes: list[str] = []
    steps = [(typography_on, typography), (diacritics_on, lambda t: fold_diacritics(t, known)),
             (capitalize, capitalize_first)]
    for enabled, step in steps:
        if enabled:
            result = step(text)
            text = result.text
            changes.extend(result.changes)
    return Normalized(text, changes)
