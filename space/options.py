"""The request options, in one table: the API's parameters, the page's widgets, the share link's
names and what a link may set all come from OPTIONS.

Each row names a `DecodeOptions` field; what values it accepts (and the type the API declares) comes
from `model.validation.RULES`, and its default from APP_DEFAULT_OPTIONS. The row adds only what the
page needs: the widget's label and help text, the name in a share link, and the method it belongs to.
Adding an option is one row here plus its rule in model/validation.py.

A DecodeOptions field with no row here (`length_normalize`) is not a request option: every request
gets APP_DEFAULT_OPTIONS' value for it.

PREFIX is the one request field that is not a decoding option: text the translation must start
with. It belongs to the sentence, not to the options (model/batching.py groups requests by their
options, and sentences with different prefixes still share an engine call), so it is no row of
OPTIONS; it is described here once, for the API's parameter, the page's field and the share link
(the field's label and help name the target language: space/wording.py).
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

from model.translator import DecodeOptions
from model.validation import RULES, Rule, check_options

# The page's and the API's decoding when a request does not say, chosen by
# `python benchmarks/decoding_choice.py --model default` (README, "Decoding by default"): on the
# bundled default, length-normalised beam search of width 4 scored visitor chrF 68.04 and held-out
# 64.14, against greedy's 65.54 and 62.47 and plain beam 4's 66.94 and 63.08; width 6 normalised
# (68.11) is within noise of it and a third slower (30 against 22 ms a sentence). The CLI keeps
# greedy, the recipe's decoder (model/__main__.py).
APP_DEFAULT_OPTIONS = DecodeOptions(method="beam", beam_size=4, length_normalize=True)


@dataclass(frozen=True)
class Option:
    """One request option as the page shows it.

    Args:
        name: the DecodeOptions field; also the API parameter's name.
        label: the widget's label.
        info: a line of help under the label.
        link: its name in a share link, when it differs from `name`.
        method: the decoding method it belongs to; its widget shows only while that method is chosen.
        elem_id: the widget's element id, for the page's CSS, JavaScript and tests.
    """

    name: str
    label: str
    info: str | None = None
    link: str | None = None
    method: str | None = None
    elem_id: str | None = None

    @property
    def rule(self) -> Rule:
        return RULES[self.name]

    @property
    def default(self) -> Any:
        return getattr(APP_DEFAULT_OPTIONS, self.name)

    @property
    def link_name(self) -> str:
        return self.link or self.name


OPTIONS = (
    Option("method", "Method", "beam: keep the best partial translations (the default); greedy: the most likely "
                               "character each step; sample: draw characters at random", elem_id="method"),
    Option("beam_size", "Beam width", link="beam", method="beam", elem_id="beam-size"),  # "beam" in the first links
    Option("temperature", "Temperature", "below 1: safer; above 1: more adventurous", method="sample"),
    Option("seed", "Seed", "same seed, same output", method="sample"),
    Option("top_k", "Alternatives shown per step (top-k)"),
    Option("drop_unknown", "Drop characters the model does not know instead of refusing"),
    Option("typography", "Replace curly quotes, dashes and non-breaking spaces by the plain ones the model knows"),
    Option("fold_accents", "Remove accents the model does not know (Zürich → Zurich)"),
    Option("capitalize", "Capitalise the first letter (the model saw only sentences that start with a capital)",
           elem_id="capitalize"),
)
NAMES = tuple(option.name for option in OPTIONS)


@dataclass(frozen=True)
class SentenceField:
    """Text in the target language given with one sentence, described once for the API, the page and
    the share link (its label, placeholder and help name the language: Wording.prefix_*).

    Args:
        name: the API parameter's name, and its name in a share link.
        elem_id: the field's element id, for the page's CSS and tests.
    """

    name: str
    elem_id: str
    default: str = ""  # nothing given; left out of share links

    @property
    def link_name(self) -> str:
        return self.name


PREFIX = SentenceField("prefix", elem_id="prefix")
assert NAMES == tuple(RULES), "OPTIONS and model.validation.RULES list the same options, in the same order"
assert set(NAMES) <= {f.name for f in dataclasses.fields(DecodeOptions)}


def request_options(values: Mapping[str, Any]) -> DecodeOptions:
    """The checked DecodeOptions of a request; options left out take APP_DEFAULT_OPTIONS' values.

    Raises:
        InputError: naming the first option that is not acceptable.
    """
    return check_options(values, base=APP_DEFAULT_OPTIONS)


def as_values(options: DecodeOptions) -> dict[str, Any]:
    """The request options of `options`, by name (what the API returns as `options`)."""
    return {name: getattr(options, name) for name in NAMES}


def with_options(fn: Callable) -> Callable:
    """Give `fn`'s `options` parameter the table's options as parameters of their own.

    `fn` takes `options: dict` (name -> raw value); the returned function takes each option as a
    parameter, in table order with its default and type, where `options` was, so Gradio lists them
    in the API (it reads the signature and the type hints) and the page passes its widgets' values
    positionally. Works for plain and async functions alike.
    """
    signature = inspect.signature(fn)
    params = list(signature.parameters.values())
    at = [p.name for p in params].index("options")
    added = [inspect.Parameter(o.name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=o.default, annotation=o.rule.type)
             for o in OPTIONS]
    wrapped_signature = signature.replace(parameters=params[:at] + added + params[at + 1:])

    def split(args: Sequence, kwargs: Mapping) -> dict[str, Any]:
        bound = wrapped_signature.bind(*args, **kwargs)
        bound.apply_defaults()
        arguments = dict(bound.arguments)
        arguments["options"] = {name: arguments.pop(name) for name in NAMES}
        return arguments

    if inspect.iscoroutinefunction(fn):
        @functools.wraps(fn)
        async def wrapper(*args, **kwargs):
            return await fn(**split(args, kwargs))
    else:
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            return fn(**split(args, kwargs))
    wrapper.__signature__ = wrapped_signature  # type: ignore[attr-defined]
    annotations = {k: v for k, v in fn.__annotations__.items() if k != "options"}
    wrapper.__annotations__ = {**annotations, **{o.name: o.rule.type for o in OPTIONS}}
    return wrapper
