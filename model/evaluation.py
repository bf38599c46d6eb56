"""Scoring translations with sacrebleu: chrF, chrF++, BLEU and exact match over multiple references.

All French translations of one English sentence are its references. An input the model cannot
translate (characters outside its vocabulary) counts as an empty output, so models with different
vocabularies are scored on the same sentences; how many there were is reported separately.
"""

from __future__ import annotations

import time
from typing import Sequence

from sacrebleu.metrics import BLEU, CHRF

from .translator import DecodeOptions, InputError, Translator


def score(hypotheses: Sequence[str], references: Sequence[Sequence[str]]) -> dict[str, float]:
    """Corpus chrF, chrF++, BLEU and the exact-match rate (equal to any reference), in percent."""
    depth = max(len(r) for r in references)
    # sacrebleu wants one stream per reference slot; None marks a sentence with fewer references.
    streams = [[refs[i] if i < len(refs) else None for refs in references] for i in range(depth)]
    exact = sum(h in refs for h, refs in zip(hypotheses, references))
    return {
        "chrf": round(CHRF().corpus_score(hypotheses, streams).score, 2),
        "chrf++": round(CHRF(word_order=2).corpus_score(hypotheses, streams).score, 2),
        "bleu": round(BLEU().corpus_score(hypotheses, streams).score, 2),
        "exact_match": round(100.0 * exact / len(hypotheses), 2),
    }


def evaluate(
    translator: Translator,
    sources: Sequence[str],
    references: Sequence[Sequence[str]],
    options: DecodeOptions | None = None,
    batch_size: int = 64,
    progress: bool = True,
) -> tuple[dict[str, float], list[dict]]:
    """Translate `sources` and score them against `references`.

    Returns (figures, rows): figures adds `sentences`, `untranslatable` and
    `seconds_per_sentence` to `score(...)`; rows hold each input, output, references and error.
    """
    if not sources:
        raise ValueError("nothing to evaluate: the split holds no sentences")
    from tqdm.auto import tqdm

    options = options or DecodeOptions()
    hypotheses, rows, failed = [], [], 0
    started = time.perf_counter()
    with tqdm(total=len(sources), desc=f"evaluating ({options.method})", unit="sent", disable=not progress) as bar:
        for begin in range(0, len(sources), batch_size):
            chunk = sources[begin : begin + batch_size]
            for source, refs, result in zip(chunk, references[begin : begin + batch_size], translator.translate_batch(chunk, options)):
                if isinstance(result, InputError):
                    failed += 1
                    hypotheses.append("")
                    rows.append({"input": source, "translation": None, "references": list(refs), "error": str(result)})
                else:
                    hypotheses.append(result.translation)
                    rows.append({"input": source, "translation": result.translation, "references": list(refs), "score": result.score})
            bar.update(len(chunk))
    elapsed = time.perf_counter() - started
    figures = score(hypotheses, references)
    figures.update(sentences=len(sources), untranslatable=failed, seconds_per_sentence=round(elapsed / len(sources), 5))
    return figures, rows
