"""An ensemble: several models decode together, each step's probabilities averaged.

Ensembling is the oldest reliable gain in neural translation: models trained apart make partly
different mistakes, and the mean of their next-character distributions is better calibrated than
either. Here it is one more step engine, so every strategy (greedy, beam, sampling, forced decoding
and prefixes) works on it unchanged:

  * `start` encodes the batch with every member; the decoder state `h`, `c` is the members' states
    side by side (rows stay rows, so the strategies' row gathers and beam reorders apply as they are),
    and the context is one tuple of contexts per member;
  * `decode_step` feeds each member the chosen character, takes each member's probabilities over
    the ensemble's characters (renormalised where a member also writes characters the ensemble does
    not), and returns their mean; attention weights, where every member has them, are averaged too.

The members may have different vocabularies: the ensemble reads the characters every member reads and
writes the characters every member writes (`ensemble_vocabulary`), and maps its ids to each member's.
Each member decodes on its own step engine (compiled or NumPy), so the ensemble of two models costs
about the sum of their steps; greedy decoding runs the strategies' Python loop over the combined step
rather than one compiled loop.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from . import decoding
from .translator import Translator
from .vocab import PAD, Vocabulary


def ensemble_vocabulary(vocabs: Sequence[Vocabulary]) -> Vocabulary:
    """The characters every member reads and writes, in the recipe's sorted order; the longest lengths."""
    inputs = set.intersection(*(set(v.input_characters) for v in vocabs))
    targets = set.intersection(*(set(v.target_characters) for v in vocabs))
    return Vocabulary(tuple(sorted(inputs | {PAD})), tuple(sorted(targets)),
                      max(v.max_encoder_seq_length for v in vocabs), max(v.max_decoder_seq_length for v in vocabs))


@dataclass
class Member:
    weights: object  # a member's engine weights (model/inference.py)
    input_ids: np.ndarray  # ensemble input id -> member input id
    target_ids: np.ndarray  # ensemble target id -> member target id


class EnsembleWeights:
    """What the Translator holds for an ensemble: the members' weights and id maps.

    `backends.engine_for` asks it for its engine (`make_engine`), which is an `EnsembleEngine` over
    one engine per member on the same backend.
    """

    def __init__(self, vocab: Vocabulary, members: Sequence[tuple[object, Vocabulary]]):
        if len(members) < 2:
            raise ValueError(f"an ensemble needs at least two models, got {len(members)}")
        missing_pad = [i for i, (_, v) in enumerate(members) if v.input_pad_index is None]
        if missing_pad:
            raise ValueError("every member of an ensemble must read spaces")
        self.members = [Member(weights,
                               np.array([member.input_token_index[ch] for ch in vocab.input_characters], np.int64),
                               np.array([member.target_token_index[ch] for ch in vocab.target_characters], np.int64))
                        for weights, member in members]
        self.has_attention = all(m.weights.has_attention for m in self.members)

    def make_engine(self, backend: str, engine_for) -> "EnsembleEngine":
        return EnsembleEngine([(engine_for(m.weights, backend), m) for m in self.members])


class EnsembleEngine:
    """A step engine (backends.StepEngine) whose steps average its members' probabilities."""

    def __init__(self, members: Sequence[tuple[object, Member]]):
        self.engines = [engine for engine, _ in members]
        self.maps = [member for _, member in members]
        self.backend = self.engines[0].backend
        self.threads = self.engines[0].threads
        self.has_attention = all(e.has_attention for e in self.engines)
        self._indexed = [decoding.indexes_context(e.decode_step) for e in self.engines]
        # Each member's columns of the side-by-side decoder state.
        ends = np.cumsum([e.weights.decoder.units for e in self.engines])
        self._columns = list(zip([0, *ends[:-1]], ends))

    def start(self, token_ids: np.ndarray, lengths: np.ndarray):
        states = [engine.start(member.input_ids[token_ids], lengths) for engine, member in zip(self.engines, self.maps)]
        h = np.concatenate([h for h, _, _ in states], axis=1)
        c = np.concatenate([c for _, c, _ in states], axis=1)
        return h, c, tuple(context for _, _, context in states)

    def decode_step(self, token_ids, h, c, *contexts, rows=None):
        """One step of every member; `rows` (decoding.indexes_context): each row's context row."""
        if rows is None:
            rows = np.arange(token_ids.shape[0], dtype=np.int64)
        mean, hs, cs, attention = 0.0, [], [], []
        for engine, member, context, indexed, (begin, end) in zip(self.engines, self.maps, contexts, self._indexed,
                                                                  self._columns):
            tokens = member.target_ids[token_ids]
            h_k, c_k = np.ascontiguousarray(h[:, begin:end]), np.ascontiguousarray(c[:, begin:end])
            if context and indexed:
                out = engine.decode_step(tokens, h_k, c_k, *context, rows=rows)
            else:
                out = engine.decode_step(tokens, h_k, c_k, *(a[rows] for a in context))
            probs = out[0][:, member.target_ids]
            # A member that also writes characters the ensemble does not: its mass over the shared ones.
            mean = mean + probs / probs.sum(axis=1, keepdims=True)
            hs.append(out[1])
            cs.append(out[2])
            attention.append(out[3] if len(out) == 4 else None)
        mean = (mean / len(self.engines)).astype(np.float32)
        h_out, c_out = np.concatenate(hs, axis=1), np.concatenate(cs, axis=1)
        if self.has_attention:
            return mean, h_out, c_out, sum(attention) / len(attention)
        return mean, h_out, c_out

    decode_step.indexes_context = True  # contexts are per member: the strategies never gather them as arrays

    def run_greedy(self, h, c, start_id, end_id, max_steps, context=(), prefixes=None) -> decoding.Decoded:
        return decoding.run_greedy(self.decode_step, h, c, start_id, end_id, max_steps, context, prefixes)


def ensemble(translators: Sequence[Translator], sources: Sequence[str]) -> Translator:
    """One Translator over several loaded models, named by their sources in its metadata.

    Raises ValueError for models that cannot decode together: the recipe's space-padded encoder (it
    must see its inputs padded to its own length), or vocabularies that share no input character.
    """
    padded = [source for source, t in zip(sources, translators) if t.config.encoder_padding != "masked"]
    if padded:
        raise ValueError(f"an ensemble needs models with masked encoders (fast, attention, large, ...); "
                         f"{', '.join(padded)} pads its input with spaces as the keras.io recipe does")
    vocab = ensemble_vocabulary([t.vocab for t in translators])
    if len(vocab.input_characters) < 2:
        raise ValueError(f"the models {', '.join(sources)} share no input characters")
    weights = EnsembleWeights(vocab, [(t.weights, t.vocab) for t in translators])
    metadata = {"ensemble": {"members": list(sources), "combine": "mean of step probabilities"},
                "members": [t.metadata for t in translators]}
    if "languages" in translators[0].metadata:
        metadata["languages"] = translators[0].metadata["languages"]  # members translate one pair
    return Translator(vocab, translators[0].config, weights, metadata)
