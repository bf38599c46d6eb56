"""Checking what a visitor or an API client sent, before any model work: every request limit lives here.

The page's widgets carry the same limits (the textbox's `max_length`, the sliders' bounds, all read
from RULES), so a visitor rarely meets these errors. An API client can send anything JSON holds,
though: text for a number, NaN, 1e308, a list for a name. The app hands the raw values to
`check_options` (its number widgets skip Gradio's own bounds check, see space/gradio_fixes.py), so
each field is checked exactly once, here, and every error is an InputError that names the field,
shows what was sent (shortened) and says what is accepted. A shared link's text goes through
`Rule.parse` first, with the same words. `Translator` re-checks only its own invariants.

RULES is the list of request options: one `Rule` per DecodeOptions field a request may set, in the
order the API takes them. A field without a rule (`length_normalize`) is not a request option: it
keeps the value of the options the caller starts from.
"""

from __future__ import annotations

import dataclasses
import inspect
import math
from dataclasses import dataclass
from typing import Any, Mapping

from . import normalize
from .translator import METHODS, DecodeOptions, InputError

# A request's English: a long paragraph or a short email, cut into sentences by model/paragraph.py.
# Counted on what the model reads, after normalisation (see check_text).
MAX_PARAGRAPH_CHARS = 1000
# Sentences per request. 1,000 characters of the corpus' everyday sentences (about 30 characters each)
# are 30 or so; 20 bounds a request's cost at 20 sentences' beams in one engine call (measured in
# benchmarks/paragraphs.py, README "Paragraphs") and leaves room for any paragraph typed by hand.
MAX_SENTENCES = 20
# French given to be scored, for a whole input: French runs about a fifth longer than its English.
MAX_FRENCH_PARAGRAPH_CHARS = 1500
# French given to the decoder (a prefix to continue, a translation to score): the longest French
# sentence of fra-eng has 360 characters. A model's own limit, max_decoder_seq_length (111 for the
# bundled default), is checked by the Translator; this bound only keeps the check itself cheap.
MAX_FRENCH_CHARS = 400
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


def check_text(text: Any, limit: int = MAX_PARAGRAPH_CHARS,
               fix: str = "Shorten it, or split it into several requests.") -> str:
    """The server-side twin of the textbox's character limit, counted on what the model reads; raises
    InputError with the numbers.

    Normalisation can lengthen a text: NFKC writes "ⅷ" as "viii" and "ﷺ" as 18 characters, the
    typography table "…" as "...", so 1,000 characters as typed could put 4,000 or more into the model.
    The text is checked as typed first (which bounds the work), then as normalised with everything
    switched on and no character known (`normalize.typography(text)`): the longest the model can be
    given, and exactly what it is given by a model that knows no character normalisation lengthens
    (none of the bundled ones does).

    Args:
        limit: the most characters accepted.
        fix: what the error suggests doing instead.
    """
    if text is None:
        text = ""
    if not isinstance(text, str):
        raise InputError(f"text must be a string, got {_kind(text)} {shown(text)}")
    if len(text) > limit:
        raise InputError(f"the input is {len(text):,} characters long; the limit is {limit:,}. {fix}")
    read = normalize.typography(text).text
    if len(read) > limit:
        grown = next((c for c in text if len(normalize.typography(c).text) > 1), None)
        example = f" ({grown} → {normalize.typography(grown).text})" if grown else ""
        raise InputError(f"the input is {len(text):,} characters long but {len(read):,} once normalised{example}; "
                         f"the limit is {limit:,}, counted after normalisation. {fix}")
    return text


def check_french(french: Any, what: str = "French", limit: int = MAX_FRENCH_CHARS) -> str:
    """French a request gives the decoder, checked for what does not depend on the model; None is "".

    The text is returned as sent, without normalisation or stripping: whether the model writes each
    character, and the model's own length limit, are checked by `Translator.french_ids`.

    Args:
        french: a prefix to continue, or a translation to score.
        what: how the error message names it ("prefix", "French").
    """
    if french is None:
        return ""
    if not isinstance(french, str):
        raise InputError(f"the {what} must be text, got {_kind(french)} {shown(french)}")
    if len(french) > limit:
        raise InputError(f"the {what} is {len(french):,} characters long; the limit is {limit:,}. Shorten it.")
    return french


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


@dataclass(frozen=True)
class Rule:
    """What one request option accepts, and the words its errors use.

    Args:
        label: the option as messages name it ("beam width").
        kind: "choice" (one of `choices`), "whole" (an int in [low, high]), "number" (a float in
            [low, high]) or "flag" (true/false; None means the default).
    """

    label: str
    kind: str
    low: float = 0
    high: float = 0
    choices: tuple[str, ...] = ()

    @property
    def accepted(self) -> str:
        """What the option takes, in words: "a whole number from 1 to 16"."""
        return {"choice": f"one of {', '.join(self.choices)}", "whole": f"a whole number from {self.low} to {self.high}",
                "number": f"a number from {self.low} to {self.high}", "flag": "true or false"}[self.kind]

    @property
    def type(self) -> type:
        """The Python type of a checked value (for the API's schema)."""
        return {"choice": str, "whole": int, "number": float, "flag": bool}[self.kind]

    def check(self, value: Any, default: Any) -> Any:
        """The value, checked; raises InputError naming the option, what was sent and what is accepted."""
        if self.kind == "choice":
            if not isinstance(value, str) or value not in self.choices:
                raise InputError(f"{self.label} must be {self.accepted}, got {shown(value)}")
            return value
        if self.kind == "whole":
            return whole_number(self.label, value, int(self.low), int(self.high))
        if self.kind == "number":
            return number(self.label, value, self.low, self.high)
        return flag(self.label, value, default)

    def parse(self, text: str) -> Any:
        """A value from text (a shared link's `?seed=7`), checked; raises InputError in the same words."""
        refusal = InputError(f"{self.label} must be {self.accepted}, got {shown(text)}")
        if self.kind == "flag":
            if text.lower() not in ("true", "false"):
                raise refusal
            return text.lower() == "true"
        if self.kind in ("whole", "number"):
            try:
                value = float(text)
            except ValueError:
                raise refusal from None
            return self.check(int(value) if self.kind == "whole" and value.is_integer() else value, None)
        return self.check(text, None)


# The request options, in the order the API takes them (space/options.py adds the page's words).
RULES = {
    "method": Rule("method", "choice", choices=METHODS),
    "beam_size": Rule("beam width", "whole", 1, MAX_BEAM_SIZE),
    "temperature": Rule("temperature", "number", MIN_TEMPERATURE, MAX_TEMPERATURE),
    "seed": Rule("seed", "whole", 0, MAX_SEED),
    "top_k": Rule("top-k", "whole", 1, MAX_TOP_K),
    "drop_unknown": Rule("drop_unknown", "flag"),
    "typography": Rule("typography", "flag"),
    "fold_accents": Rule("fold_accents", "flag"),
    "capitalize": Rule("capitalize", "flag"),
}


def check_options(values: Mapping[str, Any], base: DecodeOptions | None = None) -> DecodeOptions:
    """DecodeOptions from raw request values, with the bounds a public server needs.

    Every option in RULES is checked, whichever method is chosen: a bad seed on a greedy request is
    still a bad request. Raises InputError naming the first bad option.

    Args:
        values: option name -> raw value; an option left out takes its value from `base`.
        base: the options a request starts from (DecodeOptions() if None); fields without a rule
            keep its values.
    """
    base = base or DecodeOptions()
    unknown = set(values) - set(RULES)
    assert not unknown, f"not request options: {sorted(unknown)}"  # callers pass names from RULES
    checked = {name: rule.check(values.get(name, getattr(base, name)), getattr(base, name))
               for name, rule in RULES.items()}
    return dataclasses.replace(base, **checked)


def decode_options(*args: Any, **kwargs: Any) -> DecodeOptions:
    """`check_options` with the options as arguments in RULES order, from DecodeOptions()'s defaults."""
    bound = decode_options.__signature__.bind(*args, **kwargs)  # type: ignore[attr-defined]
    return check_options(bound.arguments)


decode_options.__signature__ = inspect.Signature([  # type: ignore[attr-defined]
    inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=getattr(DecodeOptions(), name))
    for name in RULES])
