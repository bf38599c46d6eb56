"""Checking what a visitor or an API client sent, before any model work: every request limit lives here.

The page's widgets carry the same limits (the textbox's `max_length`, the sliders' bounds, all read
from the constants below), so a visitor rarely meets these errors. An API client can send anything
JSON holds, though: text for a number, NaN, 1e308, a list for a name. The app hands the raw values to
`decode_options` (its number widgets skip Gradio's own bounds check, see app.py), so each field is
checked exactly once, here, and every error is an InputError that names the field, shows what was
sent (shortened) and says what is accepted. `Translator` re-checks only its own invariants.
"""

from __future__ import annotations

import math
from typing import Any

from . import normalize
from .translator import METHODS, DecodeOptions, InputError

# A sentence, not a paragraph: the recipe trains on sentences of at most ~16 characters. Counted on
# what the model reads, after normalisation (see check_text).
MAX_INPUT_CHARS = 100
MAX_BEAM_SIZE = 16  # beam search cost grows with the width; wider beams gain nothing on this model
MAX_TOP_K = 10  # alternatives per step in the probability view
MIN_TEMPERATURE = 0.1  # below this, sampling is greedy decoding with extra steps
MAX_TEMPERATURE = 2.0  # beyond this, sampling is close to uniform noise
MAX_SEED = 2**32 - 1  # NumPy's legacy seed range, and what a person can type
ECHO_CHARS = 40  # how much of a bad value an error message repeats back


def shown(value: Any) -> str:
    """`repr(value)` cut to ECHO_CHARS, so a 309-digit number or a long string is never echoed whole."""
    text = repr(value)
    if len(text) <= ECHO_CHARS:
        return text
    return f"{text[:ECHO_CHARS - 10]}… ({len(text)} characters)"


def _kind(value: Any) -> str:
    return {str: "text", bool: "true/false", list: "a list", dict: "an object", type(None): "nothing"}.get(
        type(value), type(value).__name__)


def check_text(text: Any, limit: int = MAX_INPUT_CHARS) -> str:
    """The server-side twin of the textbox's character limit, counted on what the model reads; raises
    InputError with the numbers.

    Normalisation can lengthen a sentence: NFKC writes "ⅷ" as "viii" and "ﷺ" as 18 characters, the
    typography table "…" as "...", so 100 characters as typed could put 400 or more into the model.
    The text is checked as typed first (which bounds the work), then as normalised with everything
    switched on and no character known (`normalize.typography(text)`): the longest the model can be
    given, and exactly what it is given by a model that knows no character normalisation lengthens
    (none of the bundled ones does).
    """
    if text is None:
        text = ""
    if not isinstance(text, str):
        raise InputError(f"text must be a string, got {_kind(text)} {shown(text)}")
    if len(text) > limit:
        raise InputError(f"the input is {len(text):,} characters long; the limit is {limit}. Shorten it to one sentence.")
    read = normalize.typography(text).text
    if len(read) > limit:
        grown = next((c for c in text if len(normalize.typography(c).text) > 1), None)
        example = f" ({grown} → {normalize.typography(grown).text})" if grown else ""
        raise InputError(f"the input is {len(text):,} characters long but {len(read):,} once normalised{example}; "
                         f"the limit is {limit}, counted after normalisation. Shorten it to one sentence.")
    return text


def whole_number(name: str, value: Any, low: int, high: int) -> int:
    """`value` as an int in [low, high]; a float is accepted only when it is whole (3.0)."""
    accepted = f"{name} must be a whole number from {low} to {high}"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(f"{accepted}, got {_kind(value)} {shown(value)}; send a JSON number")
    if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
        raise InputError(f"{accepted}, got {shown(value)}")
    if not low <= value <= high:
        raise InputError(f"{accepted}, got {shown(value)}")
    return int(value)


def number(name: str, value: Any, low: float, high: float) -> float:
    """`value` as a finite float in [low, high]."""
    accepted = f"{name} must be a number from {low} to {high}"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(f"{accepted}, got {_kind(value)} {shown(value)}; send a JSON number")
    if not (math.isfinite(value) and low <= value <= high):
        raise InputError(f"{accepted}, got {shown(value)}")
    return float(value)


def flag(name: str, value: Any, default: bool) -> bool:
    """A true/false option: a JSON boolean, or null/None for the default."""
    if value is None:
        return default
    if not isinstance(value, bool):
        raise InputError(f"{name} must be true or false, got {_kind(value)} {shown(value)}")
    return value


def decode_options(method: Any = "greedy", beam_size: Any = 4, temperature: Any = 1.0, seed: Any = 0,
                   top_k: Any = 5, drop_unknown: Any = False, typography: Any = True, fold_accents: Any = True,
                   capitalize: Any = False) -> DecodeOptions:
    """DecodeOptions from raw request values, with the bounds a public server needs.

    Every field is checked, whichever method is chosen: a bad seed on a greedy request is still a
    bad request. The last three switch the input normalisation (see model.normalize). Raises
    InputError naming the first bad field.
    """
    if not isinstance(method, str) or method not in METHODS:
        raise InputError(f"method must be one of {', '.join(METHODS)}, got {shown(method)}")
    defaults = DecodeOptions()
    return DecodeOptions(
        method=method,
        beam_size=whole_number("beam width", beam_size, 1, MAX_BEAM_SIZE),
        temperature=number("temperature", temperature, MIN_TEMPERATURE, MAX_TEMPERATURE),
        seed=whole_number("seed", seed, 0, MAX_SEED),
        top_k=whole_number("top-k", top_k, 1, MAX_TOP_K),
        drop_unknown=flag("drop_unknown", drop_unknown, defaults.drop_unknown),
        typography=flag("typography", typography, defaults.typography),
        fold_accents=flag("fold_accents", fold_accents, defaults.fold_accents),
        capitalize=flag("capitalize", capitalize, defaults.capitalize),
    )
