"""Settings that build and train a model, as plain dataclasses that round-trip through JSON.

The `ModelConfig` that built a network is saved next to its weights and is the only thing used to
rebuild it (nanoGPT's `model_args` habit), so a checkpoint never depends on the code's defaults.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

# The two training recipes. "keras-io" is the faithful reproduction of the keras.io lstm_seq2seq
# example; "fast" is our improved recipe (masking, bucketing, sparse targets, early stopping).
RECIPES = ("keras-io", "fast")

# How the encoder input is padded, which the engine must reproduce at inference time:
#   "spaces": pad with " " up to max_encoder_seq_length, exactly as the keras.io recipe trains.
#   "masked": no padding tokens; padded steps are masked out and the encoder stops at each length.
ENCODER_PADDINGS = ("spaces", "masked")
# How characters enter the LSTMs: the recipe's float32 one-hot vectors, or a learned embedding.
INPUT_ENCODINGS = ("onehot", "embedding")


@dataclass
class ModelConfig:
    """Everything needed to rebuild the network's shapes; saved in every checkpoint."""

    num_encoder_tokens: int
    num_decoder_tokens: int
    latent_dim: int = 256  # keras.io recipe: "Latent dimensionality of the encoding space."
    input_encoding: str = "onehot"  # recipe: one-hot characters
    embedding_dim: int = 0  # only used with input_encoding="embedding"
    encoder_padding: str = "spaces"  # recipe: encoder input padded with spaces
    dropout: float = 0.0  # recipe: no dropout

    def __post_init__(self) -> None:
        if self.input_encoding not in INPUT_ENCODINGS:
            raise ValueError(f"input_encoding must be one of {INPUT_ENCODINGS}, got {self.input_encoding!r}")
        if self.encoder_padding not in ENCODER_PADDINGS:
            raise ValueError(f"encoder_padding must be one of {ENCODER_PADDINGS}, got {self.encoder_padding!r}")
        if self.latent_dim <= 0:
            raise ValueError(f"latent_dim must be positive, got {self.latent_dim}")
        if self.input_encoding == "embedding" and self.embedding_dim <= 0:
            raise ValueError("input_encoding='embedding' needs embedding_dim > 0")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ModelConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown model config keys: {sorted(unknown)}")
        return cls(**data)


@dataclass
class TrainConfig:
    """One training run. Defaults are the keras.io recipe's, one line each."""

    recipe: str = "keras-io"
    data: str | None = None  # None: download fra-eng.zip like the recipe does
    num_samples: int = 10000  # recipe: "Number of samples to train on." (the first N lines)
    batch_size: int = 64  # recipe: "Batch size for training."
    epochs: int = 100  # recipe: "Number of epochs to train for."
    latent_dim: int = 256  # recipe: "Latent dimensionality of the encoding space."
    validation_split: float = 0.2  # recipe: Keras takes the last 20% of the pairs, unshuffled
    optimizer: str = "rmsprop"  # recipe: RMSprop with Keras' default learning rate
    learning_rate: float = 0.001  # Keras' RMSprop default, i.e. the recipe's
    seed: int = 1337  # runs are seeded: same data + seed + machine -> same weights
    # Improved-recipe knobs (the keras-io recipe leaves them at these neutral values).
    embedding_dim: int = 0
    dropout: float = 0.0
    early_stopping_patience: int = 0  # 0 disables early stopping
    bucket_boundaries: list[int] = field(default_factory=list)  # empty: no length bucketing
    max_input_length: int = 0  # 0: keep every pair; >0 drops longer English lines (fast recipe)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TrainConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def validate(self) -> None:
        """Reject impossible settings before any work starts, naming the setting and what is accepted."""
        problems = []
        if self.recipe not in RECIPES:
            problems.append(f"recipe must be one of {', '.join(RECIPES)}, got {self.recipe!r}")
        for name in ("num_samples", "batch_size", "epochs", "latent_dim"):
            value = getattr(self, name)
            if not isinstance(value, int) or value <= 0:
                problems.append(f"{name} must be a positive integer, got {value!r}")
        if not 0.0 <= self.validation_split < 1.0:
            problems.append(f"validation_split must be in [0, 1), got {self.validation_split}")
        if not 0.0 <= self.dropout < 1.0:
            problems.append(f"dropout must be in [0, 1), got {self.dropout}")
        if self.learning_rate <= 0:
            problems.append(f"learning_rate must be positive, got {self.learning_rate}")
        if self.optimizer not in ("rmsprop", "adam"):
            problems.append(f"optimizer must be rmsprop or adam, got {self.optimizer!r}")
        if self.early_stopping_patience < 0:
            problems.append(f"early_stopping_patience must be >= 0, got {self.early_stopping_patience}")
        if self.early_stopping_patience and self.validation_split == 0:
            problems.append("early stopping watches validation loss, so it needs validation_split > 0")
        if self.embedding_dim < 0:
            problems.append(f"embedding_dim must be >= 0, got {self.embedding_dim}")
        if self.max_input_length < 0:
            problems.append(f"max_input_length must be >= 0, got {self.max_input_length}")
        if problems:
            raise ValueError("invalid training settings:\n  - " + "\n  - ".join(problems))


def dumps(obj: Any) -> str:
    """JSON as we write it everywhere: UTF-8 kept readable, stable key order, 2-space indent."""
    return json.dumps(obj, ensure_ascii=False, indent=2, sort_keys=True)
