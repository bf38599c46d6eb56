"""The evaluation splits, rebuilt from a checkpoint's metadata so no model is scored on its training lines.

heldout  English sentences chosen by `HeldoutSpec`; every recipe excludes them. Scored on the
         whole-file split whenever the checkpoint's own (stored in its metadata) is part of it.
val      the checkpoint's own validation pairs, minus any English sentence that also occurs in its
         training pairs.
recipe   the keras.io recipe's training data: the first 10,000 lines, grouped by English sentence.
visitor  everyday sentences written for this project, outside the corpus (`model/visitor/`): what a
         visitor to the Space types, rather than Tatoeba's style. Needs no data file.
paragraphs
         inputs of two or three sentences, as visitors paste them: the held-out split's and the
         visitor set's sentences, shuffled with a fixed seed and grouped (`paragraph_inputs`), so no
         sentence is training data. Each input's references join its sentences' references.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import data
from .config import TrainConfig
from .training import _validation_split, select_training_pairs, validation_is_shuffled

RECIPE_LINES = 10000  # the keras.io recipe's num_samples


def data_path(metadata: dict[str, Any], override: str | None = None) -> Path:
    """The pair file a checkpoint was trained on: `override`, else the path its metadata records, else the download."""
    if override:
        return Path(override)
    source = metadata.get("data", {}).get("source")
    if source and not source.startswith("http") and Path(source).is_file():
        return Path(source)
    return data.download_fra_eng()


def heldout_spec(metadata: dict[str, Any]) -> data.HeldoutSpec:
    stored = metadata.get("data", {}).get("heldout", {})
    fields = data.HeldoutSpec.__dataclass_fields__
    return data.HeldoutSpec(**{k: v for k, v in stored.items() if k in fields})


def evaluation_spec(metadata: dict[str, Any]) -> data.HeldoutSpec:
    """The held-out split to score a checkpoint on: today's whole-file split when it only adds
    sentences the checkpoint never trained on (it covers the checkpoint's own), else its own.

    Every checkpoint is then scored on the same sentences, so their figures compare directly.
    """
    own, current = heldout_spec(metadata), data.HeldoutSpec()
    # Beyond its own window a checkpoint may have trained on anything, unless it never read that far.
    last_line = metadata.get("data", {}).get("last_line_used")
    read_past_window = own.end_line and (last_line is None or last_line > own.end_line)
    if current.covers(own) and not (read_past_window and own != current):
        return current
    return own


def _training_and_validation(metadata: dict[str, Any], pairs: list[data.Pair], what: str):
    """The pairs the checkpoint trained on and its validation pairs, rebuilt from its metadata."""
    if "train_config" not in metadata:
        raise ValueError(f"{what} needs a checkpoint trained by this project (its metadata records its training pairs)")
    config = TrainConfig.from_dict(metadata["train_config"])
    trained, _ = select_training_pairs(pairs, config, heldout_spec(metadata))
    train_idx, val_idx = _validation_split(len(trained), config.validation_split, config.seed,
                                           shuffled=validation_is_shuffled(config.recipe))
    return [trained[i] for i in train_idx], [trained[i] for i in val_idx]


def training_english(metadata: dict[str, Any], data_override: str | None = None) -> list[str]:
    """The English side of every pair the checkpoint trained on (validation pairs excluded)."""
    path = data_path(metadata, data_override)
    training, _ = _training_and_validation(metadata, data.read_pairs(path), "counting training words")
    return [p.english for p in training]


SPLITS = ("heldout", "val", "recipe", "visitor", "paragraphs")
PARAGRAPH_SEED = 26  # the shuffle that groups sentences into inputs
PARAGRAPH_INPUTS = {"heldout": 120, "visitor": 60}  # inputs built from each source
PARAGRAPH_REFERENCES = 4  # references per input: the k-th joins each sentence's k-th (or last) reference
SENTENCE_END = ".!?"  # only sentences that end like one: the boundaries must be real ones


@dataclass
class ParagraphInputs:
    sources: list[str]  # each input: its sentences joined by a space
    references: list[list[str]]
    parts: list[list[str]]  # each input's sentences, as written: translated one by one, the oracle segmentation
    info: dict[str, Any]


def _grouped(sentences: list[str], references: list[list[str]], count: int, rng) -> list[tuple[list[str], list[list[str]]]]:
    """`count` inputs of two or three sentences (alternately), drawn without repeats in a shuffled order."""
    order = [i for i in rng.permutation(len(sentences)) if sentences[i].rstrip()[-1:] in SENTENCE_END]
    groups, at = [], 0
    while len(groups) < count and at + 3 <= len(order):
        size = 2 + len(groups) % 2
        chosen = order[at:at + size]
        groups.append(([sentences[i] for i in chosen], [references[i] for i in chosen]))
        at += size
    return groups


def paragraph_inputs(metadata: dict[str, Any], data_override: str | None = None, limit: int | None = None
                     ) -> ParagraphInputs:
    """The paragraphs split (see the module doc): held-out inputs first, then visitor ones."""
    import numpy as np

    rng = np.random.default_rng(PARAGRAPH_SEED)
    heldout_sources, heldout_references, heldout_info = load_split(metadata, "heldout", data_override)
    visitor_sources, visitor_references, _ = _visitor_split(None)
    groups = (_grouped(heldout_sources, heldout_references, PARAGRAPH_INPUTS["heldout"], rng)
              + _grouped(visitor_sources, visitor_references, PARAGRAPH_INPUTS["visitor"], rng))
    if limit:
        groups = groups[:limit]
    sources = [" ".join(parts) for parts, _ in groups]
    references = [[" ".join(refs[min(k, len(refs) - 1)] for refs in refs_per_sentence)
                   for k in range(min(PARAGRAPH_REFERENCES, max(len(r) for r in refs_per_sentence)))]
                  for _, refs_per_sentence in groups]
    info = {"split": "paragraphs", "data": heldout_info["data"], "data_sha256": heldout_info["data_sha256"],
            "heldout": heldout_info["heldout"], "visitor": "model/visitor/visitor.tsv", "seed": PARAGRAPH_SEED,
            "inputs": {"heldout": min(len(groups), PARAGRAPH_INPUTS["heldout"]),
                       "visitor": max(0, len(groups) - PARAGRAPH_INPUTS["heldout"])},
            "sentences": sum(len(parts) for parts, _ in groups),
            "sentences_fingerprint": data.fingerprint(sources)}
    return ParagraphInputs(sources, references, [parts for parts, _ in groups], info)
# Where `evaluate --write` stores a split's report in metadata.json.
METADATA_KEYS = {"heldout": "evaluation", "visitor": "evaluation_visitor", "paragraphs": "evaluation_paragraphs"}


def _visitor_split(limit: int | None):
    import hashlib

    from .visitor import VISITOR_FILE, load_visitor_set

    sources, references = load_visitor_set()
    if limit:
        sources, references = sources[:limit], references[:limit]
    info = {"split": "visitor", "data": "model/visitor/" + VISITOR_FILE.name,
            "data_sha256": hashlib.sha256(VISITOR_FILE.read_bytes()).hexdigest(),
            "sentences_fingerprint": data.fingerprint(sources)}
    return sources, references, info


class EmptySplitError(ValueError):
    """A split with no sentence: a file too short to hold any held-out sentence, for one."""


def load_split(metadata: dict[str, Any], split: str, data_override: str | None = None, limit: int | None = None):
    """Return (sources, references, info) for `split`; info records what was read."""
    if split == "visitor":
        return _visitor_split(limit)
    path = data_path(metadata, data_override)
    text, sha256 = data.read_text(path)
    pairs = data.parse_pairs(text, str(path))
    expected = metadata.get("data", {}).get("sha256")
    info: dict[str, Any] = {"split": split, "data": str(path), "data_sha256": sha256}
    if expected and expected != sha256:
        info["data_warning"] = "this data file differs from the one the checkpoint was trained on"
    if split == "heldout":
        spec = evaluation_spec(metadata)
        _, chosen = data.split_pairs(pairs, spec)
        info["heldout"] = spec.to_dict()
    elif split == "recipe":
        chosen = pairs[:RECIPE_LINES]
    elif split == "val":
        training, validation = _training_and_validation(metadata, pairs, "--split val")
        seen = {p.english for p in training}
        chosen = [p for p in validation if p.english not in seen]
    else:
        raise ValueError(f"split must be one of {', '.join(SPLITS)}, got {split!r}")
    sources, references = data.group_references(chosen)
    if limit:
        sources, references = sources[:limit], references[:limit]
    if not sources:
        raise EmptySplitError(f"the {split} split of {path} is empty"
                              + (f" (sentences are held out from line {evaluation_spec(metadata).start_line:,} on)"
                                 if split == "heldout" else ""))
    info["sentences_fingerprint"] = data.fingerprint(sources)
    return sources, references, info
