"""Where the errors are: wrong outputs beside how often each English word occurs in the training data.

A character-level model learns a word's spelling and translation only from the pairs that hold it, so
a sentence with a word seen a handful of times (or never) is likely to come out wrong, while a
sentence of common words that still comes out wrong points at grammar or word order instead. This
module puts numbers on that:

  * every English word of a split is looked up in the training pairs' English (lower-cased word
    counts over the pairs the checkpoint trained on, validation pairs excluded);
  * a translation is "wrong" when it equals none of its references (exact match, as the reports count);
  * each wrong sentence gets one cause, the first that applies: `name` (a capitalised word after the
    first, other than "I", seen fewer than RARE times: a person, a place, a brand; "Tom" or "Monday",
    seen thousands of times, are ordinary words to the model), `unseen word` (a word the training data never
    holds), `rare word` (its rarest word occurs fewer than RARE times), else `common words only`
    (grammar, word order, idiom);
  * sentences are grouped by their rarest word's count (BANDS) with the share that came out wrong and
    their mean sentence chrF, so a reader sees whether the error rate falls as words get common.

`python -m model evaluate --errors FILE` writes the Markdown report (`render`) and adds the summary to
the printed JSON.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Iterable, Sequence

WORD = re.compile(r"[A-Za-zÀ-ÿ]+(?:'[A-Za-zÀ-ÿ]+)?")  # words and their contractions ("don't", "Tom's")
RARE = 20  # the threshold: almost every wrong meaning involved a word seen fewer than ~20 times
BANDS = ((0, 0), (1, 4), (5, 19), (20, 99), (100, None))  # counts of a sentence's rarest word
CAUSES = ("name", "unseen word", "rare word", "common words only")
NOT_NAMES = {"I", "I'm", "I'd", "I'll", "I've"}  # capitalised after the first word, but not names


def words(text: str) -> list[str]:
    """The words of an English sentence, as written (case kept)."""
    return WORD.findall(text)


def word_counts(english: Iterable[str]) -> Counter:
    """How many times each lower-cased word occurs in these English sentences."""
    counts: Counter = Counter()
    for text in english:
        counts.update(w.lower() for w in words(text))
    return counts


def names(text: str, counts: Counter) -> list[str]:
    """Rare names: capitalised words after the first one, other than "I", seen fewer than RARE times."""
    return [w for w in words(text)[1:] if w[0].isupper() and w not in NOT_NAMES and counts[w.lower()] < RARE]


def band_of(count: int) -> str:
    for low, high in BANDS:
        if count >= low and (high is None or count <= high):
            return _band_name(low, high)
    raise AssertionError(count)


def _band_name(low: int, high: int | None) -> str:
    return f"{low}+" if high is None else (str(low) if low == high else f"{low}-{high}")


@dataclass
class Row:
    english: str
    translation: str
    references: list[str]
    chrf: float
    rarest: tuple[str, int]  # the sentence's least frequent word and its training count
    names: list[str]  # its rare names (see `names`)

    @property
    def wrong(self) -> bool:
        return self.translation not in self.references

    @property
    def cause(self) -> str:
        if self.names:
            return "name"
        if self.rarest[1] == 0:
            return "unseen word"
        if self.rarest[1] < RARE:
            return "rare word"
        return "common words only"


def analyse(rows: Sequence[dict], counts: Counter) -> list[Row]:
    """One `Row` per evaluated sentence (evaluation rows: input, translation, references).

    A sentence without words (digits only) gets an empty rarest word with a count of 0.
    """
    from sacrebleu.metrics import CHRF

    chrf = CHRF()
    analysed = []
    for row in rows:
        translation = row.get("translation") or ""
        found = [(w, counts[w.lower()]) for w in words(row["input"])]
        rarest = min(found, key=lambda pair: pair[1]) if found else ("", 0)
        analysed.append(Row(row["input"], translation, list(row["references"]),
                            round(chrf.sentence_score(translation, list(row["references"])).score, 1),
                            rarest, names(row["input"], counts)))
    return analysed


def summary(rows: Sequence[Row]) -> dict:
    """Wrong sentences by cause, and every sentence by its rarest word's band."""
    wrong = [r for r in rows if r.wrong]
    by_cause = {cause: sum(r.cause == cause for r in wrong) for cause in CAUSES}
    bands = {}
    for low, high in BANDS:
        name = _band_name(low, high)
        members = [r for r in rows if not r.names and band_of(r.rarest[1]) == name]
        bands[name] = _group(members)
    return {"sentences": len(rows), "wrong": len(wrong), "wrong_by_cause": by_cause,
            "with_names": _group([r for r in rows if r.names]), "by_rarest_word_count": bands}


def _group(members: Sequence[Row]) -> dict:
    if not members:
        return {"sentences": 0}
    wrong = sum(r.wrong for r in members)
    return {"sentences": len(members), "wrong": wrong, "wrong_pct": round(100.0 * wrong / len(members), 1),
            "mean_chrf": round(sum(r.chrf for r in members) / len(members), 1)}


def _annotated(row: Row, counts: Counter) -> str:
    """The English with each word seen fewer than 100 times followed by its count: "plumber (15)"."""
    def mark(match: re.Match) -> str:
        count = counts[match.group(0).lower()]
        return match.group(0) if count >= 100 else f"{match.group(0)} ({count})"
    return WORD.sub(mark, row.english)


def render(rows: Sequence[Row], counts: Counter, title: str) -> str:
    """The Markdown report: the summary tables, then every wrong output, rarest words first."""
    facts = summary(rows)
    lines = [f"# {title}", "",
             f"{facts['wrong']} of {facts['sentences']} outputs equal none of their references. A word's count is how "
             f"many times it occurs in the English of the pairs the model trained on.", "",
             "| cause of the wrong output | sentences |", "|---|---|"]
    lines += [f"| {cause} | {n} |" for cause, n in facts["wrong_by_cause"].items()]
    lines += ["", "Sentences without rare names, by the training count of their rarest word:", "",
              "| rarest word seen | sentences | wrong | wrong % | mean sentence chrF |", "|---|---|---|---|---|"]
    for band, group in [*facts["by_rarest_word_count"].items(), ("(sentences with rare names)", facts["with_names"])]:
        lines.append(f"| {band} | {group['sentences']} | {group.get('wrong', '')} | {group.get('wrong_pct', '')} | "
                     f"{group.get('mean_chrf', '')} |")
    lines += ["", "| cause | English (training count of words seen under 100 times) | output | a reference | chrF |",
              "|---|---|---|---|---|"]
    order = {cause: i for i, cause in enumerate(CAUSES)}
    for row in sorted((r for r in rows if r.wrong), key=lambda r: (order[r.cause], r.rarest[1], r.english)):
        cells = (row.cause, _annotated(row, counts), row.translation, row.references[0], str(row.chrf))
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines) + "\n"
