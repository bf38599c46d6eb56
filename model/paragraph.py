"""Requests of several sentences: the one place that turns a request into sentences and results into one answer.

A visitor's input (or a CLI line, or an evaluation input) goes through two steps, whoever runs the
engine in between:

  `plan(...)`       checks the text against the paragraph limits, cuts it into sentences
                    (model/segment.py), and pairs each with its share of a French prefix: a `Plan`
                    whose `texts` and `prefixes` are one batch of sentence requests;
  `Plan.assemble`   puts the sentences' Translations back together: a `ParagraphTranslation` whose
                    French has the input's shape (line breaks kept, one space between the sentences
                    of a line), with every sentence's own record.

`translate_batch` does both around one `Translator.translate_batch` call, for any number of inputs
at once (the CLI, the evaluation); the Space submits a plan's sentences to its BatchingEngine
together (`BatchingEngine.submit_many`), so they too share one engine call. Scoring pairs the
sentences of the English with those of the French (`plan_score`) and refuses counts that differ.

A sentence that cannot be translated (a character outside the vocabulary, say) fails its whole
input, with an error that names the sentence: half a paragraph would read as a whole one. With
`split=False` the input is one sequence, as the keras.io recipe reads a line.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Sequence

from . import segment
from .languages import DEFAULT_PAIR, ENGLISH, LanguagePair
from .translator import DecodeOptions, InputError, Translation, Translator
from .validation import MAX_SENTENCES, check_text

# How a sentence is named in errors and warnings.
QUOTED_CHARS = 30


def quoted(sentence: str) -> str:
    return f"“{sentence}”" if len(sentence) <= QUOTED_CHARS else f"“{sentence[:QUOTED_CHARS - 1]}…”"


def sentence_label(index: int, sentence: str, count: int) -> str:
    """'sentence 2 (“How are you?”)', or '' for the only sentence of an input (today's messages)."""
    return "" if count == 1 else f"sentence {index + 1} ({quoted(sentence)})"


@dataclass
class ParagraphTranslation:
    """A translated input: the French in the input's shape, and each sentence's own Translation."""

    segmented: segment.Segmented  # the input's sentences as submitted (before each sentence's normalisation)
    sentences: list[Translation]

    @property
    def input(self) -> str:
        """What the model read: each sentence as normalised, in the input's shape."""
        return self.segmented.join([s.input for s in self.sentences])

    @property
    def translation(self) -> str:
        return self.segmented.join([s.translation for s in self.sentences])

    @property
    def score(self) -> float:
        """The log-probability of the whole French: the sentences' scores added."""
        return float(sum(s.score for s in self.sentences))

    @property
    def warnings(self) -> list[str]:
        count = len(self.sentences)
        return [f"{sentence_label(i, s.input, count)}: {w}" if count > 1 else w
                for i, s in enumerate(self.sentences) for w in s.warnings]

    def as_translation(self) -> Translation:
        """The whole input as one Translation: the only sentence itself, or, for several, the joined French,
        the summed score and every sentence's steps in order (for figures over every character: mean
        confidence, a comparison row), without n-best lists or attention (each is per sentence)."""
        if len(self.sentences) == 1:
            return self.sentences[0]
        steps = [replace(step, attention=None) for s in self.sentences for step in s.steps]
        return Translation(self.input, self.translation, self.score, steps, [], self.warnings,
                           suggest_capitalize=any(s.suggest_capitalize for s in self.sentences))

    def to_dict(self) -> dict[str, Any]:
        """The single sentence's record (today's shape) plus `sentences`, one record per sentence.

        With several sentences, `translation` is the joined French, `score` the sum, `warnings` name
        their sentence, and `steps` and `nbest` are per sentence only (empty at the top level, as
        attention is over each sentence's own characters). Each sentence record adds `separator`,
        the text between its French and the next sentence's ("" after the last).
        """
        records = [{**s.to_dict(), "separator": sep}
                   for s, sep in zip(self.sentences, [*self.segmented.separators, ""])]
        if len(self.sentences) == 1:
            top = self.sentences[0].to_dict()
        else:
            top = {"input": self.input, "translation": self.translation, "score": self.score, "steps": [],
                   "nbest": [], "warnings": self.warnings,
                   "suggest_capitalize": any(s.suggest_capitalize for s in self.sentences)}
            if self.sentences[0].normalized_score is not None:  # scoring: per character over every sentence
                characters = sum(len(s.steps) for s in self.sentences)
                top = {**top, "normalized_score": self.score / characters,
                       "disagreements": [{**d, "sentence": i} for i, s in enumerate(self.sentences)
                                         for d in s.disagreements or []]}
        return {**top, "sentences": records}


@dataclass
class Plan:
    """One input as a batch of sentence requests (see the module doc)."""

    segmented: segment.Segmented
    prefixes: list[str] = field(default_factory=list)  # per sentence; "" for none
    french: list[str] | None = None  # scoring: the French of each sentence

    @property
    def texts(self) -> list[str]:
        return list(self.segmented.sentences)

    def assemble(self, results: Sequence[Translation | BaseException]) -> ParagraphTranslation:
        """The answer from one result per sentence; a sentence's InputError fails the input, naming it."""
        count = len(results)
        for i, (sentence, result) in enumerate(zip(self.texts, results)):
            if isinstance(result, InputError) and count > 1:
                raise InputError(f"{sentence_label(i, sentence, count)}: {result}")
            if isinstance(result, BaseException):
                raise result
        return ParagraphTranslation(self.segmented, list(results))  # type: ignore[arg-type]


def _segmented(text: Any, split: bool, pair: LanguagePair) -> segment.Segmented:
    """The input's sentences, checked: the paragraph limits, something to translate, the sentence cap."""
    text = check_text(text)
    example = ", e.g. 'Go.'" if pair.source == ENGLISH else ""
    if not text.strip():
        raise InputError(f"the input is empty: type {pair.source.with_article} sentence{example}")
    if split and not segment.has_words(text):
        raise InputError(f"the input {quoted(text.strip())} is only punctuation and spaces: type "
                         f"{pair.source.with_article} sentence{example}")
    segmented = segment.split(text, pair.source.code) if split else segment.Segmented((text.strip(),), ())
    if len(segmented.sentences) > MAX_SENTENCES:
        raise InputError(f"the input has {len(segmented.sentences)} sentences; the limit is {MAX_SENTENCES} per "
                         f"request. Split it into several requests.")
    return segmented


def plan(text: Any, prefix: str = "", split: bool = True, pair: LanguagePair = DEFAULT_PAIR) -> Plan:
    """Check an input and cut it into sentence requests; raises InputError naming what is wrong.

    Args:
        text: English, up to validation.MAX_PARAGRAPH_CHARS characters (after normalisation) and MAX_SENTENCES sentences.
        prefix: French the translation must start with: the first sentence's French, or, if it holds
            several sentences, the first sentences' in order (model.segment.split_prefix).
        split: cut the input into sentences; False reads it as one sequence.
        pair: the model's languages (Translator.languages): the messages name them, and each side is cut
            with its language's rules.
    """
    segmented = _segmented(text, split, pair)
    count = len(segmented.sentences)
    pieces = segment.split_prefix(prefix, pair.target.code) if split else ([prefix] if prefix else [])
    if len(pieces) > count:
        raise InputError(f"the prefix has {len(pieces)} sentences but the {pair.source.name} has {count}: give at "
                         f"most one {pair.target.name} start per {pair.source.name} sentence")
    return Plan(segmented, pieces + [""] * (count - len(pieces)))


def plan_score(english: Any, french: str, split: bool = True, pair: LanguagePair = DEFAULT_PAIR) -> Plan:
    """Pair the sentences of the English with those of the French, to score; raises InputError when
    their counts differ, naming both. An English of one sentence is paired with the whole French.
    `pair` as for plan."""
    segmented = _segmented(english, split, pair)
    # One English sentence takes the French whole, exactly as given ("" included), as it always has.
    pieces = list(segment.split(french, pair.target.code).sentences) if len(segmented.sentences) > 1 else [french]
    source, target = pair.source.name, pair.target.name
    if len(pieces) != len(segmented.sentences):
        raise InputError(f"the {source} has {_count(len(segmented.sentences))} and the {target} "
                         f"{_count(len(pieces))}: give one {target} sentence per {source} sentence to score them")
    return Plan(segmented, french=pieces)


def _count(n: int) -> str:
    return f"{n} sentence" + ("" if n == 1 else "s")


def _languages(translator) -> LanguagePair:
    return getattr(translator, "languages", DEFAULT_PAIR)  # a test's stand-in translator may have none


def translate_batch(translator: Translator, texts: Sequence[str], options: DecodeOptions | None = None,
                    prefixes: Sequence[str] | None = None, split: bool = True
                    ) -> list[ParagraphTranslation | InputError]:
    """Translate many inputs, every sentence of all of them in one `Translator.translate_batch` call.

    Returns one ParagraphTranslation per input, or the InputError that input failed with.
    """
    plans: list[Plan | InputError] = []
    for i, text in enumerate(texts):
        try:
            plans.append(plan(text, prefixes[i] if prefixes else "", split, _languages(translator)))
        except InputError as err:
            plans.append(err)
    sentences = [t for p in plans if isinstance(p, Plan) for t in p.texts]
    given = [x for p in plans if isinstance(p, Plan) for x in p.prefixes]
    if not sentences:
        results = []
    elif any(given):
        results = translator.translate_batch(sentences, options, given)
    else:  # the call every translator (and a test's stand-in) takes
        results = translator.translate_batch(sentences, options)
    return _assemble_all(plans, results)


def score_batch(translator: Translator, pairs: Sequence[tuple[str, str]], options: DecodeOptions | None = None,
                split: bool = True) -> list[ParagraphTranslation | InputError]:
    """Score many (English, French) inputs, sentence by sentence, in one `Translator.score_batch` call."""
    plans: list[Plan | InputError] = []
    for english, french in pairs:
        try:
            plans.append(plan_score(english, french, split, _languages(translator)))
        except InputError as err:
            plans.append(err)
    sentence_pairs = [pair for p in plans if isinstance(p, Plan) for pair in zip(p.texts, p.french or [])]
    results = translator.score_batch(sentence_pairs, options) if sentence_pairs else []
    return _assemble_all(plans, results)


def _assemble_all(plans, results) -> list[ParagraphTranslation | InputError]:
    out: list[ParagraphTranslation | InputError] = []
    at = 0
    for p in plans:
        if isinstance(p, InputError):
            out.append(p)
            continue
        mine, at = results[at:at + len(p.texts)], at + len(p.texts)
        try:
            out.append(p.assemble(mine))
        except InputError as err:
            out.append(err)
    return out
