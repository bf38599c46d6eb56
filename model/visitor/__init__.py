"""The visitor set: everyday English sentences of the kind people type into the demo, with French references.

The held-out split measures how a model does on Tatoeba's own style; visitors type something else:
what they ate, where they are going, what broke at home, often with a noun the corpus rarely uses
("The coconut fell from the tree."). `visitor.tsv` holds such sentences, written for this project
and checked to be absent from the fra-eng corpus, each with one or more careful French references
(a second one where French has two common renderings: tu/vous, two word orders, he/she). It is what
`python -m model evaluate --split visitor` scores. See README.md beside this file for provenance,
checks and counts.

Format: UTF-8, one sentence a line, `English<TAB>French[<TAB>French ...]`; blank lines are skipped.
Only the standard library is imported, so reading the set costs nothing.
"""

from __future__ import annotations

from pathlib import Path

VISITOR_FILE = Path(__file__).with_name("visitor.tsv")
FORMAT = "English<TAB>French reference[<TAB>another French reference ...]"


def load_visitor_set(path: str | Path = VISITOR_FILE) -> tuple[list[str], list[list[str]]]:
    """(English sentences, their French references), in file order: references[i] belongs to sentences[i].

    Args:
        path: a file in the visitor format (the bundled `visitor.tsv` by default).
    Raises:
        ValueError: naming the file and line, for a line without a tab, an empty field or a repeated
            English sentence, or for a file with no sentences.
    """
    path = Path(path)
    text = path.read_text(encoding="utf-8-sig")  # utf-8-sig: an editor's leading BOM is not part of line 1
    sentences: list[str] = []
    references: list[list[str]] = []
    first_seen: dict[str, int] = {}
    # Split on "\n" only (as model.data does): str.splitlines() would also break inside a sentence
    # at U+2028 and other separators.
    for number, line in enumerate(text.replace("\r\n", "\n").split("\n"), start=1):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) < 2:
            raise ValueError(f"{path}:{number}: expected '{FORMAT}', found no tab: {line[:80]!r}")
        for column, field in enumerate(fields, start=1):
            if not field.strip():
                what = "the English sentence" if column == 1 else f"French reference {column - 1}"
                raise ValueError(f"{path}:{number}: {what} (tab-separated field {column}) is empty: {line[:80]!r}")
        english = fields[0].strip()
        if english in first_seen:
            raise ValueError(f"{path}:{number}: {english!r} repeats line {first_seen[english]}; "
                             f"give all its references on one line")
        first_seen[english] = number
        sentences.append(english)
        references.append([field.strip() for field in fields[1:]])
    if not sentences:
        raise ValueError(f"{path}: no sentences found (expected lines of '{FORMAT}')")
    return sentences, references
