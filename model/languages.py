"""The language pair a checkpoint translates: names for people, ISO 639 codes for the Hub.

The Anki/Tatoeba releases come as `xxx-eng.zip` (a `xxx.txt` inside), about eighty of them, each
`English<TAB>other language` lines: fra-eng.zip is English -> French, spa-eng.zip English -> Spanish.
A checkpoint records its pair in metadata.json (`languages`), from the training command's flags or the
data file's name; one without the field (a legacy SavedModel, a checkpoint from before the field) is
English -> French, the recipe's pair. Names and codes come from pycountry's copy of ISO 639-3, so any
pair of the Anki releases is named without a table of our own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ACCEPTED = "a language name (Spanish), an ISO 639-1 code (es) or an ISO 639-3 code (spa)"
ANKI_NAME = re.compile(r"^([a-z]{3})(?:-eng)?$")  # spa-eng.zip, spa-eng.txt, spa.txt (the file inside the zip)


@dataclass(frozen=True)
class Language:
    name: str  # for people: "Spanish"
    code: str  # for the Hub's `language:`: ISO 639-1 where the language has one ("es"), else ISO 639-3

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "code": self.code}

    @property
    def with_article(self) -> str:
        """'an English', 'a Spanish': for messages such as "type an English sentence"."""
        return ("an " if self.name[:1].lower() in "aeiou" else "a ") + self.name


@dataclass(frozen=True)
class LanguagePair:
    source: Language
    target: Language

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source.to_dict(), "target": self.target.to_dict()}

    @property
    def arrow(self) -> str:
        """'English → Spanish'."""
        return f"{self.source.name} → {self.target.name}"


ENGLISH = Language("English", "en")
FRENCH = Language("French", "fr")
DEFAULT_PAIR = LanguagePair(ENGLISH, FRENCH)  # the recipe's fra-eng data, and every checkpoint without the field


def _from_iso(record) -> Language:
    # ISO 639-3 names can carry a period ("Modern Greek (1453-)"): people say "Greek".
    name = re.sub(r"\s*\(.*\)$", "", record.name).removeprefix("Modern ")
    return Language(name, getattr(record, "alpha_2", None) or record.alpha_3)


def language(text: str) -> Language:
    """The language `text` names; raises ValueError naming what was given and what is accepted."""
    import pycountry

    wanted = str(text).strip()
    record = None
    if len(wanted) == 2:
        record = pycountry.languages.get(alpha_2=wanted.lower())
    elif len(wanted) == 3:
        record = pycountry.languages.get(alpha_3=wanted.lower())
    if record is None and wanted:
        try:
            record = pycountry.languages.lookup(wanted)
        except LookupError:
            record = None
    if record is None:
        raise ValueError(f"unknown language {wanted!r}: give {ACCEPTED}")
    return _from_iso(record)


def from_data_name(path: str | Path) -> LanguagePair | None:
    """English -> the other language of an Anki release file (spa-eng.zip, spa-eng.txt, spa.txt); None
    for a name that is not one (then the pair comes from flags, or is the default)."""
    match = ANKI_NAME.match(Path(path).name.split(".")[0].lower())
    if not match or match.group(1) == "eng":
        return None
    try:
        return LanguagePair(ENGLISH, language(match.group(1)))
    except ValueError:
        return None


def from_metadata(metadata: dict[str, Any] | None) -> LanguagePair:
    """The pair a checkpoint's metadata records; English -> French where it records none."""
    stored = (metadata or {}).get("languages")
    if not isinstance(stored, dict):
        return DEFAULT_PAIR
    try:
        return LanguagePair(*(Language(str(stored[side]["name"]), str(stored[side]["code"]))
                              for side in ("source", "target")))
    except (KeyError, TypeError):
        return DEFAULT_PAIR


def for_training(data_path: str | Path | None, source: str | None = None, target: str | None = None) -> LanguagePair:
    """The pair a training run records: the flags where given, else the data file's name, else the default.

    Raises ValueError for a flag that names no language.
    """
    from_name = from_data_name(data_path) if data_path else None
    default = from_name or DEFAULT_PAIR
    return LanguagePair(language(source) if source else default.source,
                        language(target) if target else default.target)
