"""Fine-tuning a published checkpoint on a practitioner's own pairs: its vocabulary, replay, forgetting.

A fine-tune starts from any model source the app accepts (model/sources.py) and keeps everything that
shapes the network: its architecture, its weights and its vocabulary. So the new pairs may only use
characters the model reads and writes: `check_vocabulary` lists every other one, with its count and a
line where it occurs, and the run stops before any work (or drops those pairs, when asked).

Training on a few hundred pairs of one domain pulls the model towards them and away from everything
else ("catastrophic forgetting"). Two things here keep that in view:

  * replay: each batch mixes a fixed share of the source's own training pairs in with the new ones
    (`mixed_batches`), the oldest remedy in continual learning;
  * measurement: the run scores the source's held-out split and the user's validation pairs before
    and after (train.py writes both into the metadata and the model card), so forgetting is a number.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .data import Pair
from .vocab import END, START, Vocabulary

LISTED_CHARACTERS = 20  # characters the vocabulary error lists by name; the rest are counted


@dataclass
class UnknownCharacter:
    char: str
    side: str  # which column: the source language's name, or the target's
    count: int  # occurrences in the new pairs
    line: int  # the first line that holds it

    def describe(self) -> str:
        shown = repr(self.char) + (f" (U+{ord(self.char):04X})" if not self.char.isprintable() or self.char.isspace() else "")
        return f"{shown} in the {self.side}, {self.count} time{'s' if self.count != 1 else ''}, first on line {self.line}"


class VocabularyError(ValueError):
    """New pairs use characters the source model cannot read or write; the message lists them."""

    def __init__(self, unknown: list[UnknownCharacter], pairs_affected: int, source_name: str, target_name: str):
        self.unknown, self.pairs_affected = unknown, pairs_affected
        listed = "; ".join(u.describe() for u in unknown[:LISTED_CHARACTERS])
        more = f"; and {len(unknown) - LISTED_CHARACTERS} more" if len(unknown) > LISTED_CHARACTERS else ""
        super().__init__(
            f"{len(unknown)} character{'s' if len(unknown) != 1 else ''} of the new pairs "
            f"{'are' if len(unknown) != 1 else 'is'} outside the model's vocabulary (a fine-tune keeps the source "
            f"model's characters: it cannot read new {source_name} characters or write new {target_name} ones): "
            f"{listed}{more}. Replace them, or pass --drop-unknown-pairs to leave out the {pairs_affected} "
            f"{'pairs that hold' if pairs_affected != 1 else 'pair that holds'} them")


def check_vocabulary(pairs: Sequence[Pair], vocab: Vocabulary, source_name: str = "English",
                     target_name: str = "French") -> tuple[list[UnknownCharacter], list[Pair]]:
    """(every character outside the vocabulary, in order of first appearance; the pairs without any)."""
    reads, writes = set(vocab.input_characters), set(vocab.target_characters) - {START, END}
    counts: Counter = Counter()
    first: dict[tuple[str, str], int] = {}
    clean = []
    for pair in pairs:
        bad = [(source_name, c) for c in pair.english if c not in reads]
        bad += [(target_name, c) for c in pair.french if c not in writes]
        for key in bad:
            counts[key] += 1
            first.setdefault(key, pair.line)
        if not bad:
            clean.append(pair)
    unknown = [UnknownCharacter(char, side, counts[(side, char)], line) for (side, char), line in first.items()]
    return unknown, clean


def mixed_batches(new: int, replay: int, share: float, batch_size: int, rng: np.random.Generator
                  ) -> list[tuple[np.ndarray, np.ndarray]]:
    """One epoch's batches: (new-pair indices, replayed-pair indices) each.

    Every new pair appears once, in batches of `batch_size` rows of which round(batch_size * share) are
    replayed pairs drawn at random (a batch short of new pairs at the end keeps the same proportion).

    Args:
        new: how many new pairs.
        replay: how many pairs to replay from (the source's own training pairs).
        share: the replayed share of each batch, from 0 (none) to below 1.
    """
    if not 0.0 <= share < 1.0:
        raise ValueError(f"the replay share must be from 0 to below 1, got {share}")
    if share and not replay:
        raise ValueError("replay needs pairs to replay: none were given")
    per_batch = max(1, round(batch_size * (1.0 - share))) if share else batch_size
    order = rng.permutation(new)
    batches = []
    for begin in range(0, new, per_batch):
        mine = order[begin:begin + per_batch]
        replayed = round(len(mine) * share / (1.0 - share)) if share else 0
        batches.append((mine, rng.integers(0, replay, replayed) if replayed else np.zeros(0, np.int64)))
    return batches


# --- the run: the source, the pairs, the figures before and after ----------------------------------


@dataclass
class Source:
    """The checkpoint a fine-tune starts from, as loaded for training."""

    handle: str  # what the user gave: "default", a directory, "hf://owner/repo[@rev]"
    directory: object  # its local directory (a Hub snapshot for hf://)
    model: object  # the Keras training network, weights loaded
    vocab: Vocabulary
    model_config: object
    metadata: dict

    @property
    def hub_id(self) -> str | None:
        """"owner/repo" for a Hub source (what a fine-tune's card names as its base_model), else None."""
        if not self.handle.startswith("hf://"):
            return None
        return self.handle[len("hf://"):].split("@")[0]

    @property
    def revision(self) -> str | None:
        """The commit a Hub source resolved to (its snapshot folder's name), else None."""
        from pathlib import Path

        name = Path(str(self.directory)).name
        return name if self.hub_id and len(name) == 40 else None

    def lineage(self) -> dict:
        """What a fine-tune records of where it came from (metadata.json's `base_model`)."""
        commit = self.metadata.get("commit") or {}
        return {"source": self.handle, "hub_id": self.hub_id, "revision": self.revision,
                "recipe": self.metadata.get("recipe"), "command": self.metadata.get("command"),
                "commit": commit.get("sha") if isinstance(commit, dict) else commit,
                "languages": self.metadata.get("languages")}


def open_source(handle: str) -> Source:
    """Load a model source for fine-tuning; raises ValueError saying why it cannot be fine-tuned."""
    from . import checkpoint, legacy
    from .sources import SourceError, resolve_source

    try:
        directory = resolve_source(handle)
    except SourceError as err:
        raise ValueError(str(err)) from None
    if legacy.is_saved_model(directory) and not (directory / checkpoint.MODEL_FILE).exists():
        raise ValueError(f"{handle} is a legacy tf.keras SavedModel (the recipe's published weights): fine-tuning "
                         f"needs a checkpoint of this project; train one with train.py, or start from 'default'")
    try:
        model, vocab, model_config, metadata = checkpoint.load_keras(directory)
    except checkpoint.CheckpointError as err:
        raise ValueError(f"{handle}: {err}") from None
    if model_config.encoder_padding != "masked":
        raise ValueError(f"{handle} is the keras.io recipe's network (one-hot characters padded with spaces): "
                         f"fine-tuning continues masked networks (fast, attention, large, long)")
    return Source(handle, directory, model, vocab, model_config, metadata)


def scores(translator, sources: Sequence[str], references: Sequence[Sequence[str]]) -> dict:
    """Greedy chrF, BLEU and exact match of `translator` on a split (the before/after figures)."""
    from .evaluation import evaluate

    figures, _ = evaluate(translator, sources, references, progress=False)
    return {k: figures[k] for k in ("chrf", "bleu", "exact_match", "sentences", "untranslatable")}


def validation_split(pairs: Sequence[Pair], config) -> tuple[list[str], list[list[str]]]:
    """The new pairs a fine-tune validates on (training's seeded split), grouped by English sentence."""
    from .data import group_references
    from .training import _validation_split

    _, val_idx = _validation_split(len(pairs), config.validation_split, config.seed, shuffled=True)
    return group_references([pairs[i] for i in val_idx])


def training_pairs(metadata: dict, base_data) -> list[Pair]:
    """The pairs a checkpoint trained on (rebuilt from its metadata and its data file): what replay draws from."""
    from . import data
    from .splits import _training_and_validation

    training, _ = _training_and_validation(metadata, data.read_pairs(base_data), "--replay")
    return training


def held_out(path, vocab: Vocabulary) -> tuple[list[str], list[list[str]]]:
    """A file of the user's own held-out pairs, grouped by English sentence; ValueError if unreadable."""
    from . import data

    return data.group_references(data.read_pairs(path))
