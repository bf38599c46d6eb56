"""Decoding strategies: greedy, beam search and sampling, for a whole batch at once.

Each strategy drives a `decode_step(token_ids, h, c, *context) -> (probs, h, c[, attention])`
function from the start token until it emits the end token or reaches the step limit, and returns,
besides the tokens, the probability of every chosen token and the top-k alternatives at every step,
so a caller can show where the model hesitated. `context` holds per-row arrays that stay fixed while
decoding (an attention model's encoder outputs, keys and padding mask); a step that also returns
attention weights gets them recorded per chosen token, for the alignment view.

The stop rule is the keras.io recipe's: stop after emitting END, or once more than
`max_decoder_seq_length` characters were produced, i.e. after at most `max_steps = max + 1` steps.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

# Bumped whenever a change can alter what decoding outputs, and recorded with every evaluation:
# 1 the first engine; 2 beam search counts only endings among the k best candidates; 3 fixed
# per-row context and attention weights (outputs of earlier models unchanged).
DECODER_VERSION = 3

StepFn = Callable[..., tuple]  # (token_ids, h, c, *context) -> (probs, h, c) or (probs, h, c, attention)


def _call(step: StepFn, tokens, h, c, context) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    out = step(tokens, h, c, *context)
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


def _top_k(probs: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-k ids and probabilities per row, sorted by probability (ties: lower id first)."""
    k = min(k, probs.shape[1])
    ids = np.argsort(-probs, axis=1, kind="stable")[:, :k]
    return ids, np.take_along_axis(probs, ids, axis=1)


def greedy(
    step: StepFn, h: np.ndarray, c: np.ndarray, start_id: int, end_id: int, max_steps: int, top_k: int = 5,
    context: tuple = (),
) -> list[Hypothesis]:
    """Argmax decoding, identical to the recipe's loop, for every row of the batch in lockstep."""
    return _decode_per_row(step, h, c, start_id, end_id, max_steps, top_k, lambda p: np.argmax(p, axis=1), context)


def sample(
    step: StepFn, h: np.ndarray, c: np.ndarray, start_id: int, end_id: int, max_steps: int,
    temperature: float, seed: int, top_k: int = 5, context: tuple = (),
) -> list[Hypothesis]:
    """Sample each character from the probabilities sharpened (T<1) or flattened (T>1) by temperature.

    Every row gets its own generator seeded with `seed`, so a sentence gives the same output
    whether it is translated alone or inside a batch.
    """
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    generators = [np.random.default_rng(seed) for _ in range(h.shape[0])]

    def choose(probs: np.ndarray) -> np.ndarray:
        # In float64: Generator.choice rejects weights whose sum is off by float32 rounding.
        logits = np.log(np.maximum(probs.astype(np.float64), 1e-30)) / temperature
        logits -= logits.max(axis=1, keepdims=True)
        weights = np.exp(logits)
        weights /= weights.sum(axis=1, keepdims=True)
        return np.array([rng.choice(len(row), p=row) for rng, row in zip(generators, weights)])

    return _decode_per_row(step, h, c, start_id, end_id, max_steps, top_k, choose, context)


def _decode_per_row(step, h, c, start_id, end_id, max_steps, top_k, choose, context=()) -> list[Hypothesis]:
    h, c = h.copy(), c.copy()  # rows are updated in place below; the caller's arrays stay as given
    batch = h.shape[0]
    tokens = np.full(batch, start_id)
    done = np.zeros(batch, dtype=bool)
    out = [Hypothesis([], [], [], [], 0.0) for _ in range(batch)]
    live_context, live_rows = context, np.arange(batch)
    for _ in range(max_steps):
        live = np.flatnonzero(~done)
        if live.size == 0:
            break
        if live.size != live_rows.size:  # rows finished: narrow the fixed context once, not every step
            live_context, live_rows = tuple(a[live] for a in context), live
        # Only rows still decoding are computed, so a batch costs no more than its longest row.
        probs, h_live, c_live, attention = _call(step, tokens[live], h[live], c[live], live_context)
        h[live], c[live] = h_live, c_live
        chosen = choose(probs)
        ids, top = _top_k(probs, top_k)
        for j, row in enumerate(live):
            token = int(chosen[j])
            p = float(probs[j, token])
            hyp = out[row]
            hyp.tokens.append(token)
            hyp.probs.append(p)
            hyp.top_ids.append(ids[j])
            hyp.top_probs.append(top[j])
            hyp.score += float(np.log(max(p, 1e-30)))
            if attention is not None:
                hyp.attention.append(attention[j])
            if token == end_id:
                done[row] = True
        tokens[live] = chosen
    return out


def beam_search(
    step: StepFn, h: np.ndarray, c: np.ndarray, start_id: int, end_id: int, max_steps: int,
    beam_size: int, length_normalize: bool = False, top_k: int = 5, context: tuple = (),
) -> list[Hypothesis]:
    """Beam search of width `beam_size`; returns the best hypothesis per row with its n-best list.

    Scores are summed log-probabilities; with `length_normalize` they are divided by the number of
    tokens when hypotheses are ranked, which stops the search from favouring short outputs.
    A row stops once it has `beam_size` finished hypotheses and no live beam can still beat them
    (with length normalisation, as soon as it has `beam_size` finished hypotheses).
    """
    if beam_size < 1:
        raise ValueError(f"beam_size must be >= 1, got {beam_size}")
    batch, k = h.shape[0], beam_size
    vocab_size = None
    # Beams live in rows b*k .. b*k+k-1; only beam 0 starts alive so the k start copies don't repeat.
    h = np.repeat(h, k, axis=0)
    c = np.repeat(c, k, axis=0)
    # A beam's parent is always a beam of the same sentence, so the fixed context is never reordered.
    context = tuple(np.repeat(a, k, axis=0) for a in context)
    scores = np.tile(np.r_[0.0, np.full(k - 1, -np.inf)], batch)
    tokens = np.full(batch * k, start_id)
    # Per-step history for backtracking: parent row, token, prob, top-k ids/probs of each row.
    history: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
    attention_history: list[np.ndarray | None] = []
    finished: list[list[tuple[float, float, int, int]]] = [[] for _ in range(batch)]  # (rank, score, t, row)
    done = np.zeros(batch, dtype=bool)

    def rank(score: float, length: int) -> float:
        return score / length if length_normalize else score

    for t in range(max_steps):
        probs, h, c, attention = _call(step, tokens, h, c, context)
        attention_history.append(attention)
        vocab_size = probs.shape[1]
        top_ids, top_probs = _top_k(probs, top_k)
        logp = np.log(np.maximum(probs, 1e-30)) + scores[:, None]
        logp = logp.reshape(batch, k * vocab_size)
        # Take 2k candidates so that k live ones remain even if k of them end here.
        best = np.argsort(-logp, axis=1, kind="stable")[:, : 2 * k]
        parents = np.empty(batch * k, dtype=np.int64)
        new_tokens = np.full(batch * k, end_id)
        new_scores = np.full(batch * k, -np.inf)
        for b in range(batch):
            filled = 0
            for candidate, flat in enumerate(best[b]):
                score = logp[b, flat]
                if not np.isfinite(score):
                    break
                beam, token = divmod(int(flat), vocab_size)
                row = b * k + beam
                if token == end_id or t == max_steps - 1:
                    # Only an ending among the k best candidates counts (as in Hugging Face's beam
                    # search): a runner-up END would otherwise widen the beam, and width 1 would
                    # not be greedy decoding.
                    if not done[b] and candidate < k:
                        finished[b].append((rank(score, t + 1), float(score), t, row * vocab_size + token))
                    continue
                if filled < k:
                    parents[b * k + filled] = row
                    new_tokens[b * k + filled] = token
                    new_scores[b * k + filled] = score
                    filled += 1
            for slot in range(filled, k):
                parents[b * k + slot] = b * k
            if len(finished[b]) >= k:
                best_live = new_scores[b * k : b * k + k].max(initial=-np.inf)
                worst_kept = sorted(finished[b], reverse=True)[k - 1][0]
                # Unnormalized scores only fall as tokens are added, so no live beam can win.
                if length_normalize or best_live <= worst_kept:
                    done[b] = True
        history.append((np.arange(batch * k), tokens.copy(), probs, top_ids, top_probs))
        if done.all():
            break
        h, c = h[parents], c[parents]
        scores = np.where(done.repeat(k), -np.inf, new_scores)
        tokens = new_tokens
        history[-1] = (parents, *history[-1][1:])

    results = []
    for b in range(batch):
        ranked = sorted(finished[b], reverse=True)[:k]
        hyps = [_backtrack(history, attention_history, t, code // vocab_size, code % vocab_size, score)
                for _, score, t, code in ranked]
        best_hyp = hyps[0]
        best_hyp.nbest = hyps
        results.append(best_hyp)
    return results


def _backtrack(history, attention_history, t: int, row: int, token: int, score: float) -> Hypothesis:
    """Follow parent pointers from (step t, row, token) back to the start."""
    tokens, probs, top_ids, top_probs, attention = [], [], [], [], []
    for step_index in range(t, -1, -1):
        _, _, step_probs, step_top_ids, step_top_probs = history[step_index]
        if attention_history[step_index] is not None:
            attention.append(attention_history[step_index][row])
        tokens.append(token)
        probs.append(float(step_probs[row, token]))
        top_ids.append(step_top_ids[row])
        top_probs.append(step_top_probs[row])
        if step_index > 0:
            parents = history[step_index - 1][0]
            token = int(history[step_index][1][row])
            row = int(parents[row])
    return Hypothesis(tokens[::-1], probs[::-1], top_ids[::-1], top_probs[::-1], score, attention=attention[::-1])
