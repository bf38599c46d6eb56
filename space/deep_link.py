"""Share links: `?text=Go.&prefix=Je&model=fast&method=greedy` fills the page and translates.

The link is written in the browser (static/copy_link.js): only the page knows the address people see
(a Space's *.hf.space URL, a share link, or localhost). It carries the input, the prefix of the
translation when there is one, the model, and every option of space/options.py that differs from its default,
under the option's link name. `read_link`
reads the same names back and says, in words, what it cut or ignored. No gradio import.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from model import InputError, validation

from .options import OPTIONS, PREFIX
from .wording import DEFAULT_WORDING, Wording

STATIC = Path(__file__).parent / "static"
# The link's parameters, in the order the copy-link button hands its inputs to the browser.
LINK_NAMES = ("text", PREFIX.link_name, "model", *(option.link_name for option in OPTIONS))


@dataclass
class Link:
    """What a link asks for. None (and an option left out) means the link does not say."""

    text: str | None = None
    prefix: str | None = None  # what the translation starts with
    model: str | None = None
    options: dict[str, Any] = field(default_factory=dict)  # option name -> checked value
    notes: list[str] = field(default_factory=list)  # what was cut or ignored, in sentences


def _cut_text(text: str, notes: list[str], limit: int = validation.MAX_PARAGRAPH_CHARS, what: str = "text") -> str:
    """The link's text (or prefix), cut at a word to the page's limit (and a note saying so)."""
    if len(text) <= limit:
        return text
    cut = text[:limit]
    if " " in cut and not text[limit].isspace():
        cut = cut[: cut.rindex(" ")]  # never mid-word
    notes.append(f"The link's {what} was {len(text)} characters long; the page takes at most {limit}, "
                 f"so it was cut after “{cut[-20:].strip()}”.")
    return cut.rstrip()


def read_link(query: Mapping[str, str], sources: Sequence[str], words: Wording = DEFAULT_WORDING) -> Link:
    """The page's state from a link's query: text, prefix, model and options, and a note for anything
    cut or ignored.

    A parameter with an empty value (`?model=`) counts as left out. The prefix is taken as written
    (spaces included: "Je " is a prefix of its own); whether the model writes its characters is
    checked when the page translates, and said there, as for the text.

    Args:
        query: the link's query parameters.
        sources: the models this Space offers; any other model is ignored, with a note.
        words: the page's language names (a note names the prefix).
    """
    link = Link()
    if "text" in query:
        link.text = _cut_text(query["text"] or "", link.notes)
    if query.get(PREFIX.link_name):
        link.prefix = _cut_text(query[PREFIX.link_name], link.notes, validation.MAX_FRENCH_CHARS, words.prefix_link_name)
    model = query.get("model") or None
    if model in sources:
        link.model = model
    elif model is not None:
        link.notes.append(f"The link asks for model “{model}”, which this Space does not offer; using the default.")
    for option in OPTIONS:
        raw = query.get(option.link_name)
        if not raw:
            continue
        try:
            link.options[option.name] = option.rule.parse(raw)
        except InputError as err:  # says what was wrong and what is accepted, as the API does
            link.notes.append(f"Ignored the link's {option.link_name}={validation.shown(raw)}: {err}.")
    return link


def copy_link_js(defaults: Mapping[str, Any]) -> str:
    """The copy-link button's JavaScript: (text, model, *options) -> [link, status].

    Args:
        defaults: link name -> the value left out of links (the page's defaults).
    """
    settings = json.dumps({"names": LINK_NAMES, "defaults": dict(defaults)})
    return (STATIC / "copy_link.js").read_text(encoding="utf-8").replace("SETTINGS", settings)


def link_defaults(active_model: str) -> dict[str, Any]:
    """Link name -> default: the settings a link leaves out."""
    return {PREFIX.link_name: PREFIX.default, "model": active_model,
            **{option.link_name: option.default for option in OPTIONS}}
