"""Scoring translations with sacrebleu: chrF, chrF++, BLEU and exact match over multiple references.

All French translations of one English sentence are its references. An input the model cannot
translate (characters outside its vocabulary) counts as an empty output, so models with different
vocabularies are scored on the same sentences; how many there were is reported separately.

Figures are also reported by English length tier (`TIERS`), because a model that only ever saw
short sentences can look fine on average and still fail every long one. A report records what
produced it (`provenance`: the git commit, the decoder version, the command), so a number in
`metadata.json` or the README can be traced; `write_to_checkpoint` is the only way figures get there.
"""

from __future__ import annotations

import time
from typing import Sequence

from sacrebleu.metrics import BLEU, CHRF

from . import checkpoint, decoding
from .provenance import git_commit
from .translator import DecodeOptions, InputError, Translator

# English length tiers, in characters (bounds inclusive). The held-out split starts after the
# recipe's first 10,000 lines, which hold every sentence of up to 15 characters, so the first tier
# is empty there: short sentences are all training data for every model. Models up to the large
# recipe trained on English of at most 50 characters; the last tier shows what longer input costs. It
# is one tier, not 51-100 and over 100, because the held-out split has a single sentence over 100
# characters (and the visitor set none), and a figure over one sentence moves by 10-20 chrF from
# one epoch to the next: it cannot say that a model is worse on long input.
TIERS = {"<=15": (0, 15), "16-30": (16, 30), "31-50": (31, 50), ">50": (51, 10**6)}


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
    figures["tiers"] = tier_scores(sources, hypotheses, references)
    return figures, rows


def tier_scores(sources: Sequence[str], hypotheses: Sequence[str], references: Sequence[Sequence[str]]) -> dict:
    """`score` over the sentences of each English length tier; an empty tier reports 0 sentences."""
    tiers = {}
    for name, (low, high) in TIERS.items():
        rows = [i for i, source in enumerate(sources) if low <= len(source) <= high]
        tiers[name] = {"sentences": len(rows)}
        if rows:
            tiers[name].update(score([hypotheses[i] for i in rows], [references[i] for i in rows]))
    return tiers


def decoding_runs(beam_size: int, length_normalize: bool = False) -> list[tuple[str, DecodeOptions]]:
    """Greedy, and beam search of `beam_size` unless it is 0: the runs every report holds."""
    runs = [("greedy", DecodeOptions(top_k=1))]
    if beam_size:
        runs.append((f"beam{beam_size}", DecodeOptions(method="beam", beam_size=beam_size, top_k=1,
                                                       length_normalize=length_normalize)))
    return runs


def provenance(command: str) -> dict:
    """What produced a report: the code's commit, the decoder's version, the command and the time."""
    import datetime

    return {"commit": git_commit(), "decoder_version": decoding.DECODER_VERSION, "command": command,
            "evaluated": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}


def report(translator: Translator, sources, references, info: dict, runs, command: str, progress: bool = True):
    """Evaluate every run in `runs` on one split: (report dict, every row of every run)."""
    result = {**info, "sentences": len(sources), "provenance": provenance(command)}
    all_rows = []
    for name, options in runs:
        figures, rows = evaluate(translator, sources, references, options, progress=progress)
        result[name] = figures
        all_rows.extend({"decoding": name, **row} for row in rows)
    return result, all_rows


# How the paragraphs split is translated, each scored against the same references:
#   segmented  cut into sentences by model/segment.py, one batch (what the app and the CLI do);
#   whole      each input as one sequence (`--no-split`, the recipe's way);
#   alone      each sentence of the split's own construction translated alone, joined with a space:
#              the segmentation a perfect segmenter would give.
PARAGRAPH_WAYS = ("segmented", "whole", "alone")


def paragraph_report(translator: Translator, inputs, runs, command: str, batch_size: int = 32,
                     progress: bool = True) -> tuple[dict, list[dict]]:
    """Evaluate the paragraphs split (splits.paragraph_inputs) every way in PARAGRAPH_WAYS, for each run.

    Returns (report, rows): report[run][way] holds `score`'s figures, `untranslatable` and
    `seconds_per_input`; rows hold each input, its references and the three outputs.
    """
    from tqdm.auto import tqdm

    from . import paragraph

    result = {**inputs.info, "provenance": provenance(command)}
    rows = [{"input": s, "references": r, "decoding": {}} for s, r in zip(inputs.sources, inputs.references)]
    for name, options in runs:
        outputs: dict[str, list[str]] = {way: [] for way in PARAGRAPH_WAYS}
        failed = dict.fromkeys(PARAGRAPH_WAYS, 0)
        seconds = dict.fromkeys(PARAGRAPH_WAYS, 0.0)
        with tqdm(total=len(inputs.sources), desc=f"paragraphs ({name})", unit="input", disable=not progress) as bar:
            for begin in range(0, len(inputs.sources), batch_size):
                chunk = inputs.sources[begin:begin + batch_size]
                parts = inputs.parts[begin:begin + batch_size]
                for way, translate in (
                        ("segmented", lambda: paragraph.translate_batch(translator, chunk, options)),
                        ("whole", lambda: paragraph.translate_batch(translator, chunk, options, split=False)),
                        ("alone", lambda: _alone(translator, parts, options))):
                    started = time.perf_counter()
                    for out in translate():
                        failed[way] += isinstance(out, InputError)
                        outputs[way].append("" if isinstance(out, InputError) else out if isinstance(out, str)
                                            else out.translation)
                    seconds[way] += time.perf_counter() - started
                bar.update(len(chunk))
        result[name] = {way: {**score(outputs[way], inputs.references), "untranslatable": failed[way],
                              "seconds_per_input": round(seconds[way] / len(inputs.sources), 5)}
                        for way in PARAGRAPH_WAYS}
        for row, *french in zip(rows, *(outputs[way] for way in PARAGRAPH_WAYS)):
            row["decoding"][name] = dict(zip(PARAGRAPH_WAYS, french))
    return result, rows


def _alone(translator: Translator, parts: Sequence[Sequence[str]], options: DecodeOptions) -> list[str | InputError]:
    """Each input's known sentences translated one per row, joined with a space; an error fails its input."""
    flat = translator.translate_batch([s for sentences in parts for s in sentences], options)
    out, at = [], 0
    for sentences in parts:
        mine, at = flat[at:at + len(sentences)], at + len(sentences)
        error = next((r for r in mine if isinstance(r, InputError)), None)
        out.append(error if error else " ".join(r.translation for r in mine))
    return out


def write_to_checkpoint(directory, result: dict, key: str = "evaluation") -> None:
    """Store a report under `key` in the checkpoint's metadata.json, replacing the previous one.

    Args:
        key: "evaluation" for the held-out split, "evaluation_visitor" for the visitor set.
    """
    from pathlib import Path

    path = Path(directory) / checkpoint.METADATA_FILE
    metadata = checkpoint.read_json(path)
    metadata[key] = result
    checkpoint.write_json(path, metadata)
