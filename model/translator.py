"""From English text to French text: input checks, padding as in training, and the decoding call.

`Translator` joins a vocabulary, the model config and the engine weights. It normalises each
sentence as the request's options say (model/normalize.py: typography, accents, capitalisation; each
change becomes a warning), checks it (empty, unknown characters, too long), pads the input exactly
as the model was trained (spaces up to `max_encoder_seq_length` for the keras.io recipe, no padding
for masked models), runs one of the decoding strategies for the whole batch on the step engine
model/backends.py chooses (compiled kernels, or the NumPy reference), and turns token ids back into
characters.

A translation's per-step view (`Translation.steps`: each character's probability, its top-k
alternatives, its attention) is built from the decoder's arrays the first time it is read, so a
caller that only wants the French text pays nothing for it.

The French side can be given too, per sentence: `translate_batch(..., prefixes=)` forces the decoder
through a French prefix and lets the chosen method continue it; `score_batch` forces it through a
whole French sentence and END, and reports how likely the model finds each character (see
decoding.run_forced). Given characters are checked against the target vocabulary and marked
(`Step.given`), and they travel with their sentence rather than with the options, so a batch may mix
sentences with and without them.
"""

from __future__ import annotations

import concurrent.futures
import os
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from . import backends, decoding, normalize
from .config import ModelConfig
from .inference import AttentionWeights, Seq2SeqWeights
from .vocab import END, PAD, START, Vocabulary

if TYPE_CHECKING:
    from .languages import LanguagePair

METHODS = ("greedy", "beam", "sample")

# Batches are split across this many threads, one slice each: NumPy, BLAS and the compiled kernels
# (model/kernels.py, nogil) release the GIL, so two slices on two cores run in about the time of one.
# A slice must hold at least PARALLEL_MIN_ROWS decoder rows (a sentence is one row, or beam_size rows
# in beam search), so that each slice stays on the BLAS path (backends.GEMM_FROM) rather than splitting
# the other way, one batch's steps across both cores. Measured on the large default through the app's
# engine (2 cores, 2026-12-07): at 8 rows a slice, 10 sentences with beam 4 (40 rows) took 66.6 ms
# against 88.3 unsplit, 20 of them 103 against 146, greedy 16 sentences 45 against 64, 256 sentences
# 429 against 744; 12, 16 and 32 rows a slice gained less below 32 rows. Every row decodes
# independently of the others (its own state, its own sampling generator, its own beams), so the
# split changes no output beyond float rounding.
PARALLEL_THREADS = min(4, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)
PARALLEL_MIN_ROWS = 8
_pool: concurrent.futures.ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _worker_pool() -> concurrent.futures.ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = concurrent.futures.ThreadPoolExecutor(PARALLEL_THREADS - 1, thread_name_prefix="decode")
        return _pool


class InputError(ValueError):
    """A sentence the model cannot translate as given; the message says what to change."""


@dataclass
class Step:
    char: str
    prob: float
    top: list[tuple[str, float]]
    attention: list[float] | None = None  # attention models: weight on each input character
    given: bool = False  # the character was given (a prefix, or the French being scored), not chosen


@dataclass
class Translation:
    input: str
    translation: str
    score: float  # sum of log-probabilities of the emitted characters, END included
    steps: list[Step]  # a list, or a _LazySteps the property below turns into one when first read
    nbest: list[dict[str, Any]] = field(default_factory=list)  # beam search: [{"translation", "score"}]
    warnings: list[str] = field(default_factory=list)
    # True when the input starts lower-case, which the training English (almost) never does, and the
    # capitalize option was off: the page offers to capitalise, API clients can do the same.
    suggest_capitalize: bool = False
    # Scoring only (Translator.score): the score per character, END included (what beam search's
    # length normalisation ranks by), and every step where the model's own first choice differs from
    # the given character: {"step", "char", "prob", "model", "model_prob"} ("\n" is END).
    normalized_score: float | None = None
    disagreements: list[dict[str, Any]] | None = None

    def to_dict(self) -> dict[str, Any]:
        steps = self.steps
        # "given" appears on every step when any was given (a prefix, or scoring), and not at all
        # otherwise: a translation without given characters keeps its usual shape.
        marked = any(s.given for s in steps)
        out: dict[str, Any] = {"input": self.input, "translation": self.translation, "score": self.score}
        if self.normalized_score is not None:
            out["normalized_score"] = self.normalized_score
        out.update({
            "steps": [_step_dict(s, marked) for s in steps],
            "nbest": self.nbest,
            "warnings": self.warnings,
            "suggest_capitalize": self.suggest_capitalize,
        })
        if self.disagreements is not None:
            out["disagreements"] = self.disagreements
        return out


@dataclass
class _LazySteps:
    """What `Translation.steps` is built from: one hypothesis of a decoded batch (see decoding.Decoded)."""

    decoded: decoding.Decoded
    index: int
    characters: Sequence[str]
    top_k: int
    input_length: int  # attention rows are cut to the input's characters
    given: int = 0  # leading steps that were given, not chosen

    def build(self) -> list[Step]:
        decoded, i, chars = self.decoded, self.index, self.characters
        length = int(decoded.lengths[i])
        ids, probs = decoded.top_k(i, self.top_k)
        attention = decoded.attention(i)
        # Six decimals keep the JSON small; rounded in NumPy, since a Python round() per weight costs
        # more than the rest of the step view (up to 100 x 100 weights per sentence).
        weights = (np.round(attention[:, : self.input_length].astype(np.float64), 6).tolist()
                   if attention is not None else [None] * length)
        return [
            Step(chars[token], prob, [(chars[a], p) for a, p in zip(top_ids, top_probs)], row_weights, t < self.given)
            for t, (token, prob, top_ids, top_probs, row_weights) in enumerate(zip(
                decoded.token_list(i), decoded.probs[i, :length].tolist(), ids.tolist(), probs.tolist(), weights))
        ]


def _get_steps(self: Translation) -> list[Step]:
    steps = self.__dict__["_steps"]
    if isinstance(steps, _LazySteps):
        steps = self.__dict__["_steps"] = steps.build()
    return steps


def _set_steps(self: Translation, steps: list[Step] | _LazySteps) -> None:
    self.__dict__["_steps"] = steps


# A property over the dataclass field: reading `steps` (directly, or through to_dict, ==, repr)
# builds the list once; a Translation made by hand with a list behaves as a plain dataclass.
Translation.steps = property(_get_steps, _set_steps, doc="Per emitted character: Step(char, prob, top, attention).")  # type: ignore[assignment]


def _step_dict(step: Step, marked: bool = False) -> dict[str, Any]:
    out = {"char": step.char, "prob": step.prob, "top": [list(t) for t in step.top]}
    if step.attention is not None:
        out["attention"] = step.attention
    if marked:
        out["given"] = step.given
    return out


@dataclass
class DecodeOptions:
    """How to decode. Defaults give the recipe's greedy decoding."""

    method: str = "greedy"
    beam_size: int = 4
    length_normalize: bool = False
    temperature: float = 1.0
    seed: int = 0
    top_k: int = 5
    drop_unknown: bool = False
    # Input normalisation (model.normalize), applied before the vocabulary check. It lives here, not
    # on the Translator, because it is a per-request setting like the rest: the BatchingEngine carries
    # each request's options to translate_batch and groups requests by all their fields
    # (dataclasses.astuple), so two requests that differ only in normalisation never share a call.
    typography: bool = True  # on: phones type "’" and "“", the training data has "'" and '"'
    fold_accents: bool = True  # on: "Zürich" -> "Zurich" serves better than a refusal or a dropped letter
    capitalize: bool = False  # off: it changes what the visitor wrote; prepare() suggests it instead

    def validate(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {', '.join(METHODS)}, got {self.method!r}")
        if self.beam_size < 1:
            raise ValueError(f"beam size must be at least 1, got {self.beam_size}")
        if self.top_k < 1:
            raise ValueError(f"top-k must be at least 1, got {self.top_k}")
        if not self.temperature > 0:
            raise ValueError(f"temperature must be greater than 0, got {self.temperature}")


@dataclass
class _Prepared:
    text: str
    ids: list[int]
    warnings: list[str]
    suggest_capitalize: bool = False
    french: list[int] = field(default_factory=list)  # target ids given: a prefix, or the sentence to score
    scored: bool = False  # `french` is the whole translation, to score (Translator.score_batch)


# When to offer capitalising. Neither a checkpoint's metadata nor its Vocabulary records how its
# training English starts, so this is an assumption about the data every recipe here trains on, the
# 2019 fra-eng release (metadata.json's data.sha256 16165fc0...): of its 165,286 English sentences,
# one ("iTunes has turned out...") starts with a lower-case letter, as `normalize.starts_lowercase`
# counts (a leading digit, as in "5 is less than 8.", is not a lower-case start), and none of the
# first 10,000 that the keras.io recipe trains on. A lower-case start is input the models have
# essentially never seen, and "i am very happy." comes out as garbage, so the translator says so.
CAPITALIZE_HINT = ("the sentence starts with a lower-case letter, but the model's training sentences start with a "
                   "capital (all but 1 in 165,286): turn on 'capitalise the first letter' (the capitalize option) "
                   "for a better translation")


class Translator:
    """A loaded model ready to translate. Build it with `model.checkpoint.load(...)`.

    The step engine that computes translations (`engine`, named by `backend`) is chosen by
    model/backends.py: the compiled kernels once they are loaded (they start loading here, in the
    background), the NumPy engine until then or where they are unavailable. `backend=` pins one.
    """

    def __init__(self, vocab: Vocabulary, config: ModelConfig, weights: Seq2SeqWeights | AttentionWeights,
                 metadata: dict | None = None, backend: str | None = None):
        self.vocab = vocab
        self.config = config
        self.weights = weights
        self.metadata = metadata or {}
        self._backend = backend  # None: backends.current() at each batch
        self._engines: dict[str, backends.StepEngine] = {}
        if backend is None:
            backends.start_loading()

    @property
    def engine(self) -> backends.StepEngine:
        """The step engine a batch started now runs on (one per backend, made on first use)."""
        name = self._backend or backends.current()
        engine = self._engines.get(name)
        if engine is None:
            engine = self._engines[name] = backends.engine_for(self.weights, name)
        return engine

    @property
    def backend(self) -> str:
        """The backend a batch started now runs on: "numba" (compiled kernels) or "numpy"."""
        return self._backend or backends.current()

    def with_backend(self, backend: str) -> "Translator":
        """The same model on the given backend ("numba" or "numpy"), for comparisons and benchmarks."""
        return Translator(self.vocab, self.config, self.weights, self.metadata, backend=backend)

    def prepare(self, text: str, options: DecodeOptions | None = None) -> _Prepared:
        """Normalise one sentence, check it and turn it into input ids; raises InputError with a fix-it
        message. `options` switches the normalisation steps and dropping unknown characters (all off
        when None, as for raw ids)."""
        drop_unknown = options is not None and options.drop_unknown
        if not isinstance(text, str):
            raise InputError(f"expected a string, got {type(text).__name__}")
        warnings: list[str] = []
        cleaned = text.strip()
        if not cleaned:
            raise InputError("the input is empty: type an English sentence, e.g. 'Go.'")
        known = self.vocab.input_token_index.__contains__
        if options is not None:
            # Before the vocabulary check: a curly apostrophe or "ü" is fixed here rather than refused
            # (or dropped) below. Every change is reported; NFKC may turn a no-break space at an end
            # into a space, hence the strip.
            normalized = normalize.normalize(cleaned, known, typography_on=options.typography,
                                             diacritics_on=options.fold_accents, capitalize=options.capitalize)
            cleaned = normalized.text.strip()
            warnings.extend(normalized.changes)
            if not cleaned:
                raise InputError("the input is empty after normalisation: type an English sentence, e.g. 'Go.'")
        unknown = self.vocab.unknown_input_characters(cleaned)
        if unknown:
            listed = " ".join(repr(c) for c in unknown)
            if not drop_unknown:
                raise InputError(
                    f"characters outside the model's input vocabulary: {listed}. "
                    f"Remove them, or enable dropping unknown characters."
                )
            cleaned = " ".join("".join(c for c in cleaned if c not in unknown).split())
            warnings.append(f"dropped characters outside the input vocabulary: {listed}")
            if not cleaned:
                raise InputError(f"the input holds only characters outside the vocabulary: {listed}")
        limit = self.vocab.max_encoder_seq_length
        if len(cleaned) > limit:
            warnings.append(
                f"input is {len(cleaned)} characters long but the model was trained on at most {limit}; "
                f"expect a poor translation"
            )
        # Offered only where capitalising would do something: not for raw calls without options, not
        # when it is already on, not when the vocabulary lacks the capital (see CAPITALIZE_HINT).
        suggest = (options is not None and not options.capitalize
                   and bool(normalize.capitalize_first(cleaned, known).changes))
        if suggest:
            warnings.append(CAPITALIZE_HINT)
        return _Prepared(cleaned, [self.vocab.input_token_index[c] for c in cleaned], warnings, suggest)

    @property
    def languages(self) -> "LanguagePair":
        """The pair this model translates (model/languages.py): English -> French where its metadata says none."""
        from .languages import from_metadata

        return from_metadata(self.metadata)

    def french_ids(self, french: str, what: str | None = None) -> list[int]:
        """Check French text that is given to the decoder and turn it into target ids; raises InputError.

        Every character must be one the model writes (START and END are not: they frame a sentence),
        and the text may be at most max_decoder_seq_length characters, the longest the model writes.
        The text is taken as it is, without normalisation or stripping.

        Args:
            french: a prefix to continue, or the translation to score ("" is allowed: nothing given,
                or, scored, the empty translation).
            what: how the error message names it ("prefix"; default: the target language's name).
        """
        target = self.languages.target.name
        what = what or target
        if not isinstance(french, str):
            raise InputError(f"the {what} must be a string, got {type(french).__name__}")
        index = self.vocab.target_token_index
        unknown = list(dict.fromkeys(c for c in french if c not in index or c in (START, END)))
        if unknown:
            listed = " ".join(repr(c) for c in unknown)
            raise InputError(f"the {what} has characters outside the model's {target} vocabulary: {listed}. "
                             f"The model writes only these: {self.french_characters()}")
        limit = self.vocab.max_decoder_seq_length
        if len(french) > limit:
            raise InputError(f"the {what} is {len(french)} characters long; the model writes at most {limit} "
                             f"(its max_decoder_seq_length)")
        return [index[c] for c in french]

    def french_characters(self) -> str:
        """The characters the model writes, for messages: invisible ones as U+XXXX (a space is U+0020)."""
        return " ".join(c if c.isprintable() and not c.isspace() else f"U+{ord(c):04X}"
                        for c in self.vocab.target_characters if c not in (START, END))

    def _encoder_batch(self, prepared: Sequence[_Prepared]) -> tuple[np.ndarray, np.ndarray]:
        """Input ids and lengths, padded exactly as in training."""
        lengths = np.array([len(p.ids) for p in prepared])
        if self.config.encoder_padding == "spaces":
            # The recipe pads every input with spaces to max_encoder_seq_length and the model ran
            # over those spaces in training, so it must here too. Longer inputs get no padding.
            lengths = np.maximum(lengths, self.vocab.max_encoder_seq_length)
        pad_id = self.vocab.input_pad_index or 0
        ids = np.full((len(prepared), int(lengths.max())), pad_id, dtype=np.int64)
        for row, p in enumerate(prepared):
            ids[row, : len(p.ids)] = p.ids
        return ids, lengths

    @property
    def has_attention(self) -> bool:
        """Whether translations carry per-step attention weights over the input characters."""
        return self.weights.has_attention

    def translate(self, text: str, options: DecodeOptions | None = None, prefix: str = "") -> Translation:
        """Translate one sentence; raises InputError for input the model cannot take.

        Args:
            prefix: French the translation must start with (see `translate_batch`).
        """
        result = self.translate_batch([text], options, [prefix] if prefix else None)[0]
        if isinstance(result, InputError):
            raise result
        return result

    def translate_batch(self, texts: Sequence[str], options: DecodeOptions | None = None,
                        prefixes: Sequence[str] | None = None) -> list[Translation | InputError]:
        """Translate many sentences at once. A bad sentence yields its InputError in its place.

        Args:
            texts: English sentences.
            options: how to decode and normalise; the defaults when None.
            prefixes: per sentence, French the translation must start with ("" for none): the decoder
                is fed it, then the chosen method continues (beam search: every n-best hypothesis
                starts with it). Its steps are marked `given`; its characters must be ones the model
                writes, else that sentence gets an InputError. None: no prefixes, today's decoding.
        """
        options = options or DecodeOptions()
        options.validate()
        if prefixes is not None and len(prefixes) != len(texts):
            raise ValueError(f"got {len(prefixes)} prefixes for {len(texts)} sentences")

        def prepare(i: int, text: str) -> _Prepared:
            prepared = self.prepare(text, options)
            if prefixes is not None and prefixes[i] != "":
                prepared.french = self.french_ids(prefixes[i], "prefix")
            return prepared

        return self._run(list(enumerate(texts)), prepare, options)

    def score(self, english: str, french: str, options: DecodeOptions | None = None) -> Translation:
        """Score one given translation; raises InputError for input the model cannot take (see `score_batch`)."""
        result = self.score_batch([(english, french)], options)[0]
        if isinstance(result, InputError):
            raise result
        return result

    def score_batch(self, pairs: Sequence[tuple[str, str]], options: DecodeOptions | None = None
                    ) -> list[Translation | InputError]:
        """How likely the model finds given translations: forced decoding of each French (see decoding.run_forced).

        Each result is a Translation whose `translation` is the given French, unchanged, and whose
        `score` is its log-probability, END included, the quantity `translate` reports for its own
        output; `steps` give each character's probability, the model's own top-k at that step and
        attention (all marked `given`); `normalized_score` is the score per character, END included;
        `disagreements` lists the steps where the model's first choice differs from the given one.

        Args:
            pairs: (English, French) per sentence. The English is normalised and checked as for
                `translate`; the French is taken as it is, and a character the model never writes,
                or French longer than max_decoder_seq_length, gives that pair an InputError.
            options: normalisation and top_k; the decoding method, beam and sampling settings are
                not used.
        """
        options = options or DecodeOptions()
        options.validate()

        def prepare(i: int, pair: tuple[str, str]) -> _Prepared:
            if not (isinstance(pair, (tuple, list)) and len(pair) == 2):
                raise InputError(f"expected an (English, French) pair, got {type(pair).__name__}")
            english, french = pair
            prepared = self.prepare(english, options)
            prepared.french, prepared.scored = self.french_ids(french), True
            return prepared

        return self._run(list(enumerate(pairs)), prepare, options)

    def _run(self, items: list[tuple[int, Any]], prepare, options: DecodeOptions) -> list[Translation | InputError]:
        """Prepare each item (an InputError stays in its place) and decode the rest together."""
        results: list[Translation | InputError | None] = [None] * len(items)
        prepared: list[_Prepared] = []
        rows: list[int] = []
        for i, item in items:
            try:
                prepared.append(prepare(i, item))
                rows.append(i)
            except InputError as err:
                results[i] = err
        if prepared:
            for row, translation in zip(rows, self._decode(prepared, options)):
                results[row] = translation
        return results  # type: ignore[return-value]

    def _decode(self, prepared: Sequence[_Prepared], options: DecodeOptions) -> list[Translation]:
        engine = self.engine  # the whole batch on one engine, even if the compiled one becomes ready meanwhile
        # Decoder rows, not sentences: beam search decodes beam_size rows a sentence.
        rows = len(prepared) * (options.beam_size if options.method == "beam" else 1)
        slices = min(PARALLEL_THREADS, rows // PARALLEL_MIN_ROWS, len(prepared))
        if slices < 2:
            return self._decode_slice(prepared, options, engine)
        # Interleaved slices (rows k, k + n, k + 2n, ...) get sentences of every length, so the
        # threads finish together; this thread decodes the first slice itself.
        pool = _worker_pool()
        others = [pool.submit(self._decode_sliced, prepared[k::slices], options, engine) for k in range(1, slices)]
        results: list[Translation | None] = [None] * len(prepared)
        results[0::slices] = self._decode_sliced(prepared[0::slices], options, engine)
        for k, future in enumerate(others, start=1):
            results[k::slices] = future.result()
        return results  # type: ignore[return-value]

    def _decode_sliced(self, prepared: Sequence[_Prepared], options: DecodeOptions,
                       engine: backends.StepEngine) -> list[Translation]:
        """One slice of a batch split across threads: never on the two-core kernels (backends.Translating)."""
        with backends.translating.slice():
            return self._decode_slice(prepared, options, engine)

    def _decode_slice(self, prepared: Sequence[_Prepared], options: DecodeOptions,
                      engine: backends.StepEngine) -> list[Translation]:
        ids, lengths = self._encoder_batch(prepared)
        french = [p.french for p in prepared]
        scored = prepared[0].scored
        assert all(p.scored == scored for p in prepared), "a batch either scores or translates"
        with engine.threads:
            h, c, context = engine.start(ids, lengths)
            common = dict(step=engine.decode_step, h=h, c=c, start_id=self.vocab.start_index,
                          end_id=self.vocab.end_index, context=context)
            # Without a prefix, the calls (and the outputs) are exactly what they were before prefixes.
            given = dict(prefixes=french) if any(french) else {}
            max_steps = self.vocab.max_decoder_seq_length + 1
            if scored:
                decoded = decoding.run_forced(**common, targets=french)
            elif options.method == "greedy":
                del common["step"]
                decoded = engine.run_greedy(**common, max_steps=max_steps, **given)
            elif options.method == "sample":
                decoded = decoding.run_sample(**common, max_steps=max_steps, temperature=options.temperature,
                                              seed=options.seed, **given)
            else:
                decoded = decoding.run_beam(**common, max_steps=max_steps, beam_size=options.beam_size,
                                            length_normalize=options.length_normalize, **given)
        return [self._to_translation(p, decoded, row, options.top_k) for row, p in enumerate(prepared)]

    def _text(self, tokens: Sequence[int], given: int = 0) -> str:
        """The characters of `tokens` without END; trailing spaces go, except given ones."""
        chars = [self.vocab.target_characters[t] for t in tokens]
        if chars and chars[-1] == END:
            chars.pop()
        # The recipe's target is padded with spaces, so its models may emit trailing spaces. Given
        # characters are kept as given: a prefix "Je " stays the start of the translation.
        return "".join(chars[:given]) + "".join(chars[given:]).rstrip(PAD)

    def _to_translation(self, prepared: _Prepared, decoded: decoding.Decoded, row: int, top_k: int) -> Translation:
        best = decoded.best(row)
        tokens = decoded.token_list(best)
        given = decoded.given_steps(best)
        warnings = list(prepared.warnings)
        if not tokens or tokens[-1] != self.vocab.end_index:
            warnings.append("the output reached the maximum length without an end token")
        nbest = ([] if decoded.nbest is None else
                 [{"translation": self._text(decoded.token_list(int(i)), decoded.given_steps(int(i))),
                   "score": float(decoded.scores[i])}
                  for i in decoded.nbest[row]])
        steps = _LazySteps(decoded, best, self.vocab.target_characters, top_k, len(prepared.ids), given)
        score = float(decoded.scores[best])
        result = Translation(prepared.text, self._text(tokens, given), score, steps, nbest, warnings,
                             suggest_capitalize=prepared.suggest_capitalize)
        if prepared.scored:
            result.normalized_score = score / len(tokens)
            result.disagreements = self._disagreements(decoded, best)
        return result

    def _disagreements(self, decoded: decoding.Decoded, i: int) -> list[dict[str, Any]]:
        """The steps of hypothesis i where the model's most likely character is not the one taken.

        Argmax takes the lowest id among equals, as `decoding.top_k` does, so "model" is always the
        step's first alternative in `steps`.
        """
        probs = decoded.full_probs(i)
        tokens = np.asarray(decoded.token_list(i))
        model = probs.argmax(axis=1)
        chars = self.vocab.target_characters
        return [{"step": int(t), "char": chars[tokens[t]], "prob": float(probs[t, tokens[t]]),
                 "model": chars[model[t]], "model_prob": float(probs[t, model[t]])}
                for t in np.flatnonzero(model != tokens)]
