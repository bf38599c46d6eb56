"""The character vocabulary, built exactly as the keras.io recipe builds it.

Every target text is wrapped as START + french + END ("\t" ... "\n"). The input and target character
sets are sorted, and a character's index is its position in the sorted list. Sequences are padded
with a space, which is an ordinary character of both vocabularies (the recipe trains the decoder to
emit spaces after END). The maximum lengths are measured on the training texts, the target one
counting START and END.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

START = "\t"  # recipe: "We use 'tab' as the 'start sequence' character"
END = "\n"  # recipe: "... and '\n' as 'end sequence' character"
PAD = " "  # recipe: sequences are padded with spaces
# Bounds on the lengths a vocabulary may declare. The longest French sentence of the fra-eng corpus is
# 360 characters, so 1000 leaves room for any sentence; decoding runs up to max_decoder_seq_length
# steps and the recipe pads the input to max_encoder_seq_length, so an unbounded value read from a
# downloaded vocab.json would cost unbounded time and memory.
MIN_SEQ_LENGTH = 1
MAX_SEQ_LENGTH = 1000


@dataclass(frozen=True)
class Vocabulary:
    """Characters in index order plus the maximum sequence lengths seen in training."""

    input_characters: tuple[str, ...]
    target_characters: tuple[str, ...]
    max_encoder_seq_length: int
    max_decoder_seq_length: int
    input_token_index: dict[str, int] = field(init=False, repr=False, compare=False)
    target_token_index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name, chars in (("input", self.input_characters), ("target", self.target_characters)):
            if any(not isinstance(c, str) or len(c) != 1 for c in chars):
                raise ValueError(f"{name} vocabulary entries must be single characters")
            if len(set(chars)) != len(chars):
                raise ValueError(f"{name} vocabulary has duplicate characters")
        for token, label in ((START, "START"), (END, "END"), (PAD, "PAD")):
            if token not in self.target_characters:
                raise ValueError(f"target vocabulary lacks the {label} token {token!r}")
        for name in ("max_encoder_seq_length", "max_decoder_seq_length"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not MIN_SEQ_LENGTH <= value <= MAX_SEQ_LENGTH:
                raise ValueError(f"{name} must be a whole number from {MIN_SEQ_LENGTH} to {MAX_SEQ_LENGTH}, got {value!r}")
        object.__setattr__(self, "input_token_index", {c: i for i, c in enumerate(self.input_characters)})
        object.__setattr__(self, "target_token_index", {c: i for i, c in enumerate(self.target_characters)})

    @property
    def num_encoder_tokens(self) -> int:
        return len(self.input_characters)

    @property
    def num_decoder_tokens(self) -> int:
        return len(self.target_characters)

    @property
    def start_index(self) -> int:
        return self.target_token_index[START]

    @property
    def end_index(self) -> int:
        return self.target_token_index[END]

    @property
    def input_pad_index(self) -> int | None:
        """Index of the space in the input vocabulary; None if the training data had no space."""
        return self.input_token_index.get(PAD)

    @classmethod
    def from_texts(cls, input_texts: Iterable[str], target_texts: Iterable[str]) -> "Vocabulary":
        """Build the vocabulary as the recipe does. `target_texts` are already wrapped in START/END.

        Args:
            input_texts: English sentences.
            target_texts: French sentences as START + text + END.
        """
        input_texts, target_texts = list(input_texts), list(target_texts)
        if not input_texts:
            raise ValueError("cannot build a vocabulary from zero sentence pairs")
        input_characters = sorted({c for t in input_texts for c in t} | {PAD})
        target_characters = sorted({c for t in target_texts for c in t} | {PAD})
        return cls(
            input_characters=tuple(input_characters),
            target_characters=tuple(target_characters),
            max_encoder_seq_length=max(len(t) for t in input_texts),
            max_decoder_seq_length=max(len(t) for t in target_texts),
        )

    def unknown_input_characters(self, text: str) -> list[str]:
        """Characters of `text` outside the input vocabulary, in order of first appearance."""
        return list(dict.fromkeys(c for c in text if c not in self.input_token_index))

    def to_dict(self) -> dict[str, Any]:
        return {
            "input_characters": list(self.input_characters),
            "target_characters": list(self.target_characters),
            "max_encoder_seq_length": self.max_encoder_seq_length,
            "max_decoder_seq_length": self.max_decoder_seq_length,
            "start_token": START,
            "end_token": END,
            "pad_token": PAD,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Vocabulary":
        for key, expected in (("start_token", START), ("end_token", END), ("pad_token", PAD)):
            if data.get(key, expected) != expected:
                raise ValueError(f"{key} is {data[key]!r}; this engine only supports {expected!r}")
        for key in ("input_characters", "target_characters"):
            if not isinstance(data[key], list):
                raise ValueError(f"{key} must be a list of characters, got {type(data[key]).__name__}")
        return cls(
            input_characters=tuple(data["input_characters"]),
            target_characters=tuple(data["target_characters"]),
            # Not int(...): 1e12 or "12" in a downloaded file is an error to report, not a value to coerce.
            max_encoder_seq_length=data["max_encoder_seq_length"],
            max_decoder_seq_length=data["max_decoder_seq_length"],
        )
