"""Decoding strategies: greedy, beam search and sampling, for a whole batch at once.

Each strategy drives a `decode_step(token_ids, h, c, *context) -> (probs, h, c[, attention])`
function from the start token until it emits the end token or reaches the step limit, and returns,
besides the tokens, the probability of every chosen token and the top-k alternatives at every step,
so a caller can show where the model hesitated. `context` holds per-row arrays that stay fixed while
decoding (an attention model's encoder outputs, keys and padding mask); a step that also returns
attention weights gets them recorded per chosen token, for the alignment view. As rows finish (or
beams of one sentence share its context) a step's rows stop being the context's rows: the context is
gathered to match, or, for a step that says it indexes the context (`indexes_context(step)`), passed
whole with `rows=`, each step row's context row, so that nothing is copied.

The stop rule is the keras.io recipe's: stop after emitting END, or once more than
`max_decoder_seq_length` characters were produced, i.e. after at most `max_steps = max + 1` steps.

The work is done on arrays. Every step computes only the rows still decoding (finished sentences
and finished or empty beams are dropped from the batch), and its probabilities are kept as they
came out of the step function. A result (`Decoded`) is the tokens of each hypothesis plus, per
step, the row that produced it; the per-step details a caller reads (the chosen token's
probability, the top-k alternatives, attention) are looked up from the kept arrays only for the
hypotheses and fields asked for. `greedy`, `sample` and `beam_search` return `Hypothesis` objects
built that way; `run_greedy`, `run_sample`, `run_beam` and `run_forced` return the `Decoded` arrays
themselves.

Forcing. Greedy decoding and sampling pick each row's token with a `choose(probs, rows, t)` hook;
wrapping it so that a row still inside its given French gets that French's character at step t
forces the decoder through it, and the step computes the same probabilities it would for any other
path. That serves two strategies at once:

  prefix   `run_greedy`, `run_sample` and `run_beam` take per-row `prefixes`: the decoder is fed
           each row's prefix, then continues freely (a sampling generator draws only at free steps);
           beam search gets the same effect by setting, at a forced step, every candidate but the
           forced character to -inf, which it already treats as a dead candidate, so one beam per
           sentence carries the prefix and the search widens once it ends;
  scoring  `run_forced` feeds each row its whole target and then END: the result holds the model's
           probability of every given character (END included), its top-k and attention at every
           step, and the score, the target's log-probability, is exactly what `run_greedy` reports
           for the same characters.

`Decoded.given` counts, per hypothesis, the leading steps that were given rather than chosen.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Callable, Sequence

import numpy as np

# Bumped whenever a change can alter what decoding outputs, and recorded with every evaluation:
# 1 the first engine; 2 beam search counts only endings among the k best candidates; 3 fixed
# per-row context and attention weights (outputs of earlier models unchanged). Forced decoding and
# prefixes added no version: without a prefix every strategy's output is what it was.
DECODER_VERSION = 3

StepFn = Callable[..., tuple]  # (token_ids, h, c, *context) -> (probs, h, c) or (probs, h, c, attention)
# (step probabilities of the rows computed, those rows' input-row numbers, step index) -> chosen ids
ChooseFn = Callable[[np.ndarray, np.ndarray, int], np.ndarray]
LOG_FLOOR = 1e-30  # log(0) guard: a probability that underflowed to 0 scores log(1e-30), not -inf
SORT_BELOW = 1024  # top_k sorts arrays this small: one sort call beats argpartition's dozen small calls


def _any(mask: np.ndarray) -> bool:
    """Whether a 1-D boolean array has a True: the ufunc's reduce directly, half the cost of `.any()`
    (and a third of `x in array`), which matters in a loop that runs once per character."""
    return bool(np.logical_or.reduce(mask))


def indexes_context(step: StepFn) -> bool:
    """Whether `step` takes `rows=` (int64, each row's context row) and reads the whole context by it.

    A step says so with an `indexes_context = True` attribute (on a method: on its function)."""
    return bool(getattr(step, "indexes_context", False))


def _call(step: StepFn, tokens, h, c, context, rows=None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    out = step(tokens, h, c, *context) if rows is None else step(tokens, h, c, *context, rows=rows)
    return out if len(out) == 4 else (*out, None)


@dataclass
class Hypothesis:
    """One decoded sequence: token ids (ending with END unless cut at the limit) and their details."""

    tokens: list[int]
    probs: list[float]  # model probability of each chosen token
    top_ids: list[np.ndarray]  # per step: ids of the top-k alternatives, most likely first
    top_probs: list[np.ndarray]  # per step: their probabilities
    score: float  # sum of log-probabilities of the chosen tokens
    nbest: list["Hypothesis"] = field(default_factory=list)  # beam search only, best first
    attention: list[np.ndarray] = field(default_factory=list)  # per step, attention models only
    given: int = 0  # how many leading tokens were given (a prefix, or a scored target), not chosen


def top_k(probs: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-k ids and values per row, largest first, ties broken by lower id (as a stable sort would).

    Selects with argpartition and sorts only the k chosen; a row where the k-th value is tied with
    one left out is redone with a stable sort, so the result never depends on how ties fell.

    Args:
        probs: (rows, n) values.
        k: how many per row; 0 gives empty (rows, 0) arrays.
    """
    rows, n = probs.shape
    k = max(0, min(k, n))
    if k == 0:
        return np.empty((rows, 0), dtype=np.intp), np.empty((rows, 0), dtype=probs.dtype)
    neg = -probs
    every_row = np.arange(rows)[:, None]  # fancy indexing: take_along_axis costs more on small arrays
    if 4 * k >= n or rows * n <= SORT_BELOW:  # sorting a short row costs less than selecting from it
        ids = np.argsort(neg, axis=1, kind="stable")[:, :k]
    else:
        part = np.argpartition(neg, k - 1, axis=1)[:, :k]
        values = neg[every_row, part]
        order = np.lexsort((part, values), axis=1)
        ids = part[every_row, order]
        kth = values[every_row, order[:, -1:]]
        ties_left_out = (neg == kth).sum(axis=1) != (values == kth).sum(axis=1)
        if ties_left_out.any():
            ids[ties_left_out] = np.argsort(neg[ties_left_out], axis=1, kind="stable")[:, :k]
    return ids, probs[every_row, ids]


@dataclass
class Decoded:
    """A batch's decoding results as arrays; per-step details are looked up only when asked for.

    Hypothesis i is `tokens[i, :lengths[i]]`; its token at step t was chosen from the probabilities
    `step_probs[t][positions[i, t]]` (the rows a step computed are the ones still decoding).
    """

    step_probs: list[np.ndarray]  # per step: (rows computed at that step, vocab)
    step_attention: list[np.ndarray | None]  # per step: (rows computed, input length), or None
    tokens: np.ndarray  # (hypotheses, steps) chosen ids; past a hypothesis' length: 0
    positions: np.ndarray  # (hypotheses, steps) row of step_probs[t] each token came from
    lengths: np.ndarray  # (hypotheses,)
    probs: np.ndarray  # (hypotheses, steps) probability of each chosen token; past the length: 1
    scores: np.ndarray  # (hypotheses,) float64 sum of log-probabilities (beam: as the search ranked them)
    nbest: list[np.ndarray] | None = None  # beam search: per input row, hypothesis indices best first
    given: np.ndarray | None = None  # (hypotheses,) leading tokens that were forced; None: none were

    @classmethod
    def from_flat(cls, flat: np.ndarray, flat_attention: np.ndarray | None, offsets: np.ndarray, tokens: np.ndarray,
                  positions: np.ndarray, lengths: np.ndarray, probs: np.ndarray, given: np.ndarray | None = None
                  ) -> "Decoded":
        """A per-row decoding (greedy, sampling, forced) from every step's rows in one array, as a
        compiled loop returns it: step t's rows are flat[offsets[t]:offsets[t + 1]]; scores are summed
        from `probs` as the step loop sums them."""
        ends = [*offsets[1:].tolist(), flat.shape[0]]
        spans = list(zip(offsets.tolist(), ends))
        step_attention = ([flat_attention[a:b] for a, b in spans] if flat_attention is not None
                          else [None] * len(spans))
        decoded = cls([flat[a:b] for a, b in spans], step_attention, tokens, positions, lengths, probs,
                      _log_scores(probs), given=given)
        decoded.__dict__["_flat"] = (flat, offsets)
        return decoded

    def given_steps(self, i: int) -> int:
        """How many leading tokens of hypothesis i were given (a prefix or a scored target), not chosen."""
        return 0 if self.given is None else int(self.given[i])

    def best(self, row: int) -> int:
        """The hypothesis index of input row `row`'s translation."""
        return row if self.nbest is None else int(self.nbest[row][0])

    def token_list(self, i: int) -> list[int]:
        return self.tokens[i, : self.lengths[i]].tolist()

    @cached_property
    def _flat(self) -> tuple[np.ndarray, np.ndarray]:
        # All steps' rows in one array, so one hypothesis' rows are one gather (made once, on demand).
        offsets = np.cumsum([0] + [p.shape[0] for p in self.step_probs[:-1]])
        return np.concatenate(self.step_probs), offsets

    def full_probs(self, i: int) -> np.ndarray:
        """(length, vocab): the whole distribution at every step of hypothesis i."""
        length = self.lengths[i]
        flat, offsets = self._flat
        return flat[offsets[:length] + self.positions[i, :length]]

    def top_k(self, i: int, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(length, k) ids and probabilities of the k most likely tokens at each step of hypothesis i."""
        return top_k(self.full_probs(i), k)

    def attention(self, i: int) -> np.ndarray | None:
        """(length, input length) attention weights of hypothesis i, or None for models without attention."""
        if not self.step_attention or self.step_attention[0] is None:
            return None
        length = self.lengths[i]
        return np.stack([self.step_attention[t][self.positions[i, t]] for t in range(length)])

    def hypotheses(self, k: int = 5) -> list[Hypothesis]:
        """One Hypothesis per input row, with top-k alternatives (k=0: none) and, for beam search, its n-best."""
        tops = [top_k(p, k) for p in self.step_probs]
        has_attention = bool(self.step_attention) and self.step_attention[0] is not None

        def build(i: int) -> Hypothesis:
            length = int(self.lengths[i])
            where = self.positions[i, :length].tolist()
            return Hypothesis(
                self.token_list(i), self.probs[i, :length].tolist(),
                [tops[t][0][p] for t, p in enumerate(where)], [tops[t][1][p] for t, p in enumerate(where)],
                float(self.scores[i]),
                attention=[self.step_attention[t][p] for t, p in enumerate(where)] if has_attention else [],
                given=self.given_steps(i),
            )

        if self.nbest is None:
            return [build(i) for i in range(len(self.lengths))]
        results = []
        for indices in self.nbest:
            hyps = [build(int(i)) for i in indices]
            hyps[0].nbest = hyps
            results.append(hyps[0])
        return results


def _log_scores(probs: np.ndarray) -> np.ndarray:
    """Sum of log-probabilities along each row, added left to right in float64 like a running total."""
    logs = np.log(np.maximum(probs.astype(np.float64), LOG_FLOOR))
    # cumsum adds strictly left to right (a sum would pair terms up and round differently).
    return np.cumsum(logs, axis=1)[:, -1] if logs.shape[1] else np.zeros(logs.shape[0])


def greedy(
    step: StepFn, h: np.ndarray, c: np.ndarray, start_id: int, end_id: int, max_steps: int, top_k: int = 5,
    context: tuple = (),
) -> list[Hypothesis]:
    """Argmax decoding, identical to the recipe's loop, for every row of the batch in lockstep.

    Args:
        step: the decoder step function (see module doc).
        h, c: (batch, units) initial decoder states.
        start_id, end_id: the START and END token ids.
        max_steps: most tokens a row may produce.
        top_k: alternatives reported per step (0: none).
        context: per-row arrays passed to every step after h and c.
    """
    return run_greedy(step, h, c, start_id, end_id, max_steps, context).hypotheses(top_k)


def _argmax(probs: np.ndarray, rows: np.ndarray, t: int) -> np.ndarray:
    return probs.argmax(axis=1)


def run_greedy(step: StepFn, h, c, start_id: int, end_id: int, max_steps: int, context: tuple = (),
               prefixes: Sequence[Sequence[int]] | None = None) -> Decoded:
    """`greedy` as arrays (see `Decoded`).

    Args:
        prefixes: per row, token ids the decoder is forced through before it chooses (without END);
            None or all empty: plain greedy decoding.
    """
    return _decode_per_row(step, h, c, start_id, end_id, max_steps, _argmax, context, prefixes)


def sample(
    step: StepFn, h: np.ndarray, c: np.ndarray, start_id: int, end_id: int, max_steps: int,
    temperature: float, seed: int, top_k: int = 5, context: tuple = (),
) -> list[Hypothesis]:
    """Sample each character from the probabilities sharpened (T<1) or flattened (T>1) by temperature.

    Every row gets its own generator seeded with `seed`, so a sentence gives the same output
    whether it is translated alone or inside a batch.
    """
    return run_sample(step, h, c, start_id, end_id, max_steps, temperature, seed, context).hypotheses(top_k)


def run_sample(step: StepFn, h, c, start_id: int, end_id: int, max_steps: int, temperature: float, seed: int,
               context: tuple = (), prefixes: Sequence[Sequence[int]] | None = None) -> Decoded:
    """`sample` as arrays (see `Decoded`); `prefixes` as for `run_greedy` (forced steps draw nothing)."""
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    generators = [np.random.default_rng(seed) for _ in range(h.shape[0])]

    def choose(probs: np.ndarray, rows: np.ndarray, t: int) -> np.ndarray:
        # In float64, as Generator.choice(p=...) would be given them; then exactly what choice does
        # with p: one uniform draw per row, looked up in the normalised cumulative sum.
        logits = np.log(np.maximum(probs.astype(np.float64), LOG_FLOOR)) / temperature
        logits -= logits.max(axis=1, keepdims=True)
        weights = np.exp(logits)
        weights /= weights.sum(axis=1, keepdims=True)
        cdf = np.cumsum(weights, axis=1)
        cdf /= cdf[:, -1:]
        draws = np.array([generators[row].random() for row in rows.tolist()])
        return (cdf <= draws[:, None]).sum(axis=1)

    return _decode_per_row(step, h, c, start_id, end_id, max_steps, choose, context, prefixes)


def run_forced(step: StepFn, h, c, start_id: int, end_id: int, targets: Sequence[Sequence[int]],
               context: tuple = ()) -> Decoded:
    """Teacher-forced decoding: every row is fed its target, then END, whatever the model prefers.

    The result reads like any other (see `Decoded`): per step the model's whole distribution (so
    the given token's probability and the model's own top-k), attention where the model has it,
    and `scores`, the log-probability of target + END, summed as `run_greedy` sums its own output.
    Each row takes len(target) + 1 steps; `given` covers all of them.

    Args:
        step, h, c, start_id, end_id, context: as for `run_greedy`.
        targets: per row, the token ids to score, without START or END (may be empty: END alone).
    """
    targets = [[*target, end_id] for target in targets]
    max_steps = max((len(target) for target in targets), default=0)
    return _decode_per_row(step, h, c, start_id, end_id, max_steps, _argmax, context, targets)


def padded(prefixes: Sequence[Sequence[int]]) -> tuple[np.ndarray, np.ndarray]:
    """(rows, longest) ids, zero past each row's end, and the lengths (int64): one gather per step reads them."""
    lengths = np.array([len(p) for p in prefixes], dtype=np.int64)
    ids = np.zeros((len(prefixes), int(lengths.max(initial=0))), dtype=np.int64)
    for row, prefix in enumerate(prefixes):
        ids[row, : len(prefix)] = prefix
    return ids, lengths


def _forcing(choose: ChooseFn, ids: np.ndarray, lengths: np.ndarray) -> ChooseFn:
    """`choose`, except that a row still inside its prefix (t < its length) gets the prefix's id at t.

    Only the free rows reach `choose`, so a sampling generator draws at free steps only.
    """
    def forced(probs: np.ndarray, rows: np.ndarray, t: int) -> np.ndarray:
        if t >= ids.shape[1]:
            return choose(probs, rows, t)
        fixed = t < lengths[rows]
        if not _any(fixed):
            return choose(probs, rows, t)
        chosen = ids[rows, t]  # a new array (fancy indexing)
        free = np.flatnonzero(~fixed)
        if free.size:
            chosen[free] = choose(probs[free], rows[free], t)
        return chosen

    return forced


def _decode_per_row(step, h, c, start_id, end_id, max_steps, choose: ChooseFn, context=(), prefixes=None) -> Decoded:
    batch = h.shape[0]
    forced_lengths = None
    if prefixes is not None and any(len(p) for p in prefixes):
        ids, forced_lengths = padded(prefixes)
        choose = _forcing(choose, ids, forced_lengths)
    rows = np.arange(batch)  # the input rows still decoding, in order
    indexed = bool(context) and indexes_context(step)
    tokens = np.full(batch, start_id)
    step_probs, step_attention, step_rows, step_chosen = [], [], [], []
    for t in range(max_steps):
        probs, h, c, attention = _call(step, tokens, h, c, context, rows if indexed else None)
        chosen = choose(probs, rows, t)
        step_probs.append(probs)
        step_attention.append(attention)
        step_rows.append(rows)
        step_chosen.append(chosen)
        if _any(chosen == end_id):
            # Finished rows leave the batch (and the fixed context) once, so they cost nothing more.
            keep = np.flatnonzero(chosen != end_id)
            if keep.size == 0:
                break
            rows, h, c, chosen = rows[keep], h[keep], c[keep], chosen[keep]
            if not indexed:
                context = tuple(a[keep] for a in context)
        tokens = chosen

    if not step_probs:  # max_steps == 0
        empty = np.zeros((batch, 0), dtype=np.int64)
        return Decoded([], [], empty, empty, np.zeros(batch, dtype=np.int64), empty.astype(np.float32), np.zeros(batch))
    # Scatter every step's rows into (batch, steps) arrays at once.
    sizes = np.array([r.size for r in step_rows])
    offsets = np.cumsum(sizes) - sizes
    rows = np.concatenate(step_rows)
    at_step = np.repeat(np.arange(sizes.size), sizes)
    where = np.arange(rows.size) - offsets[at_step]
    flat = np.concatenate(step_probs)
    chosen = np.concatenate(step_chosen)
    out_tokens = np.zeros((batch, sizes.size), dtype=np.int64)
    positions = np.zeros((batch, sizes.size), dtype=np.int64)
    chosen_probs = np.ones((batch, sizes.size), dtype=flat.dtype)
    out_tokens[rows, at_step] = chosen
    positions[rows, at_step] = where
    chosen_probs[rows, at_step] = flat[np.arange(rows.size), chosen]
    lengths = np.bincount(rows, minlength=batch)
    given = None if forced_lengths is None else np.minimum(forced_lengths, lengths)
    decoded = Decoded(step_probs, step_attention, out_tokens, positions, lengths, chosen_probs,
                      _log_scores(chosen_probs), given=given)
    decoded.__dict__["_flat"] = (flat, offsets)  # made here anyway: the step views reuse it
    return decoded


def beam_search(
    step: StepFn, h: np.ndarray, c: np.ndarray, start_id: int, end_id: int, max_steps: int,
    beam_size: int, length_normalize: bool = False, top_k: int = 5, context: tuple = (),
) -> list[Hypothesis]:
    """Beam search of width `beam_size`; returns the best hypothesis per row with its n-best list.

    Scores are summed log-probabilities; with `length_normalize` they are divided by the number of
    tokens when hypotheses are ranked, which stops the search from favouring short outputs.
    A row stops once it has `beam_size` finished hypotheses and no live beam can still beat them
    (with length normalisation, as soon as it has `beam_size` finished hypotheses).

    Each step ranks, per sentence, the continuations of its k beams and takes the 2k best
    candidates, so that k live ones remain even if k of them end here. Only an ending among the k
    best candidates counts (as in Hugging Face's beam search): a runner-up END would otherwise widen
    the beam, and width 1 would not be greedy decoding. The other candidates, best first, fill the
    k beams of the next step. Ties rank the lower beam, then the lower token, first.
    """
    return run_beam(step, h, c, start_id, end_id, max_steps, beam_size, length_normalize, context).hypotheses(top_k)


def run_beam(step: StepFn, h, c, start_id: int, end_id: int, max_steps: int, beam_size: int,
             length_normalize: bool = False, context: tuple = (),
             prefixes: Sequence[Sequence[int]] | None = None) -> Decoded:
    """`beam_search` as arrays (see `Decoded`); `nbest` lists each sentence's hypotheses, best first.

    Args:
        prefixes: per sentence, token ids every hypothesis starts with (without END): at a step
            inside a sentence's prefix, every candidate but the prefix's token is set to -inf, so
            its one live beam follows the prefix and the search widens from where it ends. Scores
            include the prefix's log-probabilities. None or all empty: plain beam search.
    """
    if beam_size < 1:
        raise ValueError(f"beam_size must be >= 1, got {beam_size}")
    batch, k = h.shape[0], beam_size
    forced_ids = forced_lengths = None
    if prefixes is not None and any(len(p) for p in prefixes):
        forced_ids, forced_lengths = padded(prefixes)
    # Beam j of sentence b is slot b*k + j. Only live beams are computed, kept in slot order; at the
    # start that is beam 0 of every sentence, so the k start copies don't repeat.
    slots = np.arange(batch) * k
    sentence = np.arange(batch)
    tokens = np.full(batch, start_id)
    scores = np.zeros(batch)
    row_context, context_rows = context, sentence
    indexed = bool(context) and indexes_context(step)
    kept = np.full((batch, k), -np.inf)  # per sentence: the k best ranks among its finished hypotheses
    finished_count = np.zeros(batch, dtype=np.int64)
    step_probs, step_attention, step_fed, step_parent = [], [], [], []
    ended: list[tuple[np.ndarray, ...]] = []  # per step: (sentence, rank, score, t, code, position, token)

    for t in range(max_steps):
        if context and not indexed and (sentence.size != context_rows.size or _any(sentence != context_rows)):
            # A beam's context is its sentence's: gathered again only when the rows change.
            row_context, context_rows = tuple(a[sentence] for a in context), sentence
        probs, h, c, attention = _call(step, tokens, h, c, row_context, sentence if indexed else None)
        step_probs.append(probs)
        step_attention.append(attention)
        step_fed.append(tokens)
        vocab_size = probs.shape[1]

        # Every sentence's candidates, (batch, k * vocab): beams not computed (finished sentences,
        # dead beams) stay at -inf and are never chosen.
        logp = np.log(np.maximum(probs, LOG_FLOOR)) + scores[:, None]
        if forced_ids is not None and t < forced_ids.shape[1]:
            _keep_only_forced(logp, forced_ids, forced_lengths, sentence, t)
        if slots.size == batch * k:  # every beam is live: row r is slot r
            position_of = slots
        else:
            position_of = np.empty(batch * k, dtype=np.int64)  # slot -> row of this step
            position_of[slots] = np.arange(slots.size)
            every = np.full((batch * k, vocab_size), -np.inf)
            every[slots] = logp
            logp = every
        logp = logp.reshape(batch, k * vocab_size)
        best, cand = top_k(logp, 2 * k)
        beam, token = np.divmod(best, vocab_size)
        live = cand > -np.inf  # a prefix of each row: the candidates are sorted
        ends = live if t == max_steps - 1 else live & (token == end_id)
        grow = live & ~ends
        rank_in_beam = np.cumsum(grow, axis=1) - 1
        grow &= rank_in_beam < k

        ranks = cand / (t + 1) if length_normalize else cand
        a, j = np.nonzero(ends[:, :k])
        if a.size:
            parent_slot = a * k + beam[a, j]
            ended.append((a, ranks[a, j], cand[a, j], np.full(a.size, t), parent_slot * vocab_size + token[a, j],
                          position_of[parent_slot], token[a, j]))
            new_ranks = np.where(ends[:, :k], ranks[:, :k], -np.inf)
            kept = -np.sort(-np.concatenate([kept, new_ranks], axis=1), axis=1)[:, :k]
            finished_count += ends[:, :k].sum(axis=1)
        best_live = np.where(grow, cand, -np.inf).max(axis=1)
        # Unnormalized scores only fall as tokens are added, so no live beam can beat k finished ones.
        stop = (finished_count >= k) & (length_normalize | (best_live <= kept[:, k - 1]))

        a, j = np.nonzero(grow & ~stop[:, None])  # sentence-major, best first: new slots in order
        if a.size == 0:
            break
        parents = position_of[a * k + beam[a, j]]
        step_parent.append(parents)
        h, c = h[parents], c[parents]
        slots, sentence = a * k + rank_in_beam[a, j], a
        tokens, scores = token[a, j], cand[a, j]

    if not ended:
        raise ValueError("beam search finished no hypothesis")
    s, rank, score, t_end, code, position, token = (np.concatenate(parts) for parts in zip(*ended))
    # Each sentence's hypotheses best first, by (rank, score, step, code) as Python's sorted would.
    order = np.lexsort((-code, -t_end, -score, -rank, s))
    s, score, t_end, position, token = s[order], score[order], t_end[order], position[order], token[order]
    first = np.searchsorted(s, np.arange(batch))
    keep = np.arange(s.size) - first[s] < k
    s, score, t_end, position, token = s[keep], score[keep], t_end[keep], position[keep], token[keep]
    nbest = np.split(np.arange(s.size), np.searchsorted(s, np.arange(1, batch)))

    # Follow parent pointers back from every kept ending at once.
    steps = len(step_probs)
    out_tokens = np.zeros((s.size, steps), dtype=np.int64)
    positions = np.zeros((s.size, steps), dtype=np.int64)
    chosen_probs = np.ones((s.size, steps), dtype=step_probs[0].dtype)
    where, current = position.copy(), token.copy()
    for t in range(steps - 1, -1, -1):
        on_path = np.flatnonzero(t_end >= t)
        rows = where[on_path]
        out_tokens[on_path, t] = current[on_path]
        positions[on_path, t] = rows
        chosen_probs[on_path, t] = step_probs[t][rows, current[on_path]]
        if t:
            current[on_path] = step_fed[t][rows]
            where[on_path] = step_parent[t - 1][rows]
    given = None if forced_lengths is None else np.minimum(forced_lengths[s], t_end + 1)
    return Decoded(step_probs, step_attention, out_tokens, positions, t_end + 1, chosen_probs, score, nbest, given)


def _keep_only_forced(logp: np.ndarray, ids: np.ndarray, lengths: np.ndarray, sentence: np.ndarray, t: int) -> None:
    """Set every candidate of a row still inside its sentence's prefix to -inf, except the prefix's token at t.

    Args:
        logp: (rows computed, vocab) candidate scores, changed in place.
        sentence: the sentence of each row computed.
    """
    inside = np.flatnonzero(t < lengths[sentence])
    if inside.size:
        token = ids[sentence[inside], t]
        kept = logp[inside, token]
        logp[inside] = -np.inf
        logp[inside, token] = kept
