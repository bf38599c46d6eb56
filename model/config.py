"""Settings that build and train a model, as plain dataclasses that round-trip through JSON.

The `ModelConfig` that built a network is saved next to its weights and is the only thing used to
rebuild it (nanoGPT's `model_args` habit), so a checkpoint never depends on the code's defaults.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

# The training recipes. "keras-io" is the faithful reproduction of the keras.io lstm_seq2seq
# example; "fast" is our improved recipe (masking, bucketing, sparse targets, early stopping);
# "attention" adds a bidirectional encoder and Luong attention, trained on the whole corpus;
# "large" is attention with more capacity (two encoder layers, wider units and embedding), label
# smoothing, and a learning rate that halves on plateaus until validation loss stops improving;
# "long" is large with wider LSTMs (512 units), trained on English of up to 100 characters.
RECIPES = ("keras-io", "fast", "attention", "large", "long")
ATTENTION_RECIPES = ("attention", "large", "long")  # bidirectional encoder + Luong attention
# How the learning rate moves: "constant"; "cosine" from its value to 0 over exactly `epochs`;
# "plateau" halves it after `lr_patience` epochs without a better validation loss.
LR_SCHEDULES = ("constant", "cosine", "plateau")

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
    # Luong attention over the encoder's outputs at every step (the `attention` recipe); the recipe
    # hands the decoder nothing but the encoder's final state.
    attention: bool = False
    # Read the English both ways: latent_dim // 2 units per direction, concatenated to seed the decoder.
    bidirectional: bool = False
    # Stacked encoder LSTMs (attention models only): layer k reads layer k-1's outputs at every
    # position; the top layer's outputs are attended over and its final states seed the decoder.
    encoder_layers: int = 1

    def __post_init__(self) -> None:
        if self.input_encoding not in INPUT_ENCODINGS:
            raise ValueError(f"input_encoding must be one of {INPUT_ENCODINGS}, got {self.input_encoding!r}")
        if self.encoder_padding not in ENCODER_PADDINGS:
            raise ValueError(f"encoder_padding must be one of {ENCODER_PADDINGS}, got {self.encoder_padding!r}")
        if self.latent_dim <= 0:
            raise ValueError(f"latent_dim must be positive, got {self.latent_dim}")
        if self.input_encoding == "embedding" and self.embedding_dim <= 0:
            raise ValueError("input_encoding='embedding' needs embedding_dim > 0")
        if (self.attention or self.bidirectional) and self.encoder_padding != "masked":
            raise ValueError("attention and bidirectional encoders need encoder_padding='masked'")
        if not isinstance(self.encoder_layers, int) or self.encoder_layers < 1:
            raise ValueError(f"encoder_layers must be a positive integer, got {self.encoder_layers!r}")
        if self.encoder_layers > 1 and not self.attention:
            raise ValueError("stacked encoder layers (encoder_layers > 1) are built for attention models only")
        if self.bidirectional and self.latent_dim % 2:
            raise ValueError(f"a bidirectional encoder splits latent_dim in two, so it must be even, got {self.latent_dim}")

    @property
    def encoder_units(self) -> int:
        """Units of each encoder LSTM: half of latent_dim per direction when bidirectional."""
        return self.latent_dim // 2 if self.bidirectional else self.latent_dim

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
    num_samples: int = 10000  # recipe: "Number of samples to train on." (the first N lines; 0: all)
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
    # >0: train on a seeded random N of the pairs left after the length limit, which span every length
    # (the first N lines would be the shortest sentences): for comparing settings quickly, e.g. capacity.
    subset: int = 0
    encoder_layers: int = 1  # stacked encoder LSTMs (attention recipes); the recipe has one
    label_smoothing: float = 0.0  # recipe: plain crossentropy against the one true next character
    lr_schedule: str = "constant"  # recipe: RMSprop at a fixed rate
    lr_patience: int = 0  # "plateau" schedule: epochs without a better validation loss before halving
    min_delta: float = 0.0  # a validation loss counts as better only when it drops by more than this
    mixed_precision: bool = False  # recipe: float32 throughout; True computes in bfloat16, keeps float32 weights
    # XLA (Keras' jit_compile) off: on this 2-core CPU it made a step 2.6x slower at attention's size and
    # no faster at large's, and every new batch shape compiles anew (benchmarks/epoch_time.py).
    jit_compile: bool = False
    average_last: int = 0  # >0: also try the mean of the last N epochs' weights, kept if validation loss is lower

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
        for name in ("batch_size", "epochs", "latent_dim"):
            value = getattr(self, name)
            if not isinstance(value, int) or value <= 0:
                problems.append(f"{name} must be a positive integer, got {value!r}")
        if not isinstance(self.num_samples, int) or self.num_samples < 0:
            problems.append(f"num_samples must be a positive integer, or 0 for every line, got {self.num_samples!r}")
        if self.recipe in ATTENTION_RECIPES and (self.embedding_dim <= 0 or self.latent_dim % 2):
            problems.append("the attention recipe needs embedding_dim > 0 and an even latent_dim (split over two directions)")
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
        if not isinstance(self.encoder_layers, int) or self.encoder_layers < 1:
            problems.append(f"encoder_layers must be a positive integer, got {self.encoder_layers!r}")
        if self.encoder_layers > 1 and self.recipe not in ATTENTION_RECIPES:
            problems.append(f"encoder_layers > 1 needs an attention recipe ({', '.join(ATTENTION_RECIPES)})")
        if not 0.0 <= self.label_smoothing < 1.0:
            problems.append(f"label_smoothing must be in [0, 1), got {self.label_smoothing}")
        if self.lr_schedule not in LR_SCHEDULES:
            problems.append(f"lr_schedule must be one of {', '.join(LR_SCHEDULES)}, got {self.lr_schedule!r}")
        if self.lr_schedule == "plateau" and (self.lr_patience < 1 or self.validation_split == 0):
            problems.append("the plateau schedule needs lr_patience >= 1 and validation_split > 0")
        if self.min_delta < 0:
            problems.append(f"min_delta must be >= 0, got {self.min_delta}")
        if self.average_last < 0 or (self.average_last and self.validation_split == 0):
            problems.append(f"average_last must be >= 0 and needs validation_split > 0, got {self.average_last}")
        if self.max_input_length < 0:
            problems.append(f"max_input_length must be >= 0, got {self.max_input_length}")
        if not isinstance(self.subset, int) or self.subset < 0:
            problems.append(f"subset must be a positive integer, or 0 for every pair, got {self.subset!r}")
        if problems:
            raise ValueError("invalid training settings:\n  - " + "\n  - ".join(problems))


# Each recipe's settings, applied over TrainConfig's defaults; command-line options override them.
RECIPE_PRESETS: dict[str, dict[str, Any]] = {
    "keras-io": {},  # TrainConfig's own defaults are the keras.io recipe's
    "fast": dict(
        num_samples=60000,  # 6x the recipe's pairs: English sentences up to ~25 characters
        batch_size=128,  # bucketed batches are short, so larger batches keep both cores busy
        epochs=30,  # an upper bound: early stopping usually ends sooner
        latent_dim=256,  # the recipe's size: with bucketing, an epoch costs under half the recipe's
        embedding_dim=64,  # a learned character embedding instead of 70/93-wide one-hot vectors
        dropout=0.15,  # the recipe overfits its 10,000 pairs; dropout trades that for generalisation
        validation_split=0.05,  # 5% of 57k pairs is plenty to watch for overfitting
        optimizer="adam",  # converges in far fewer epochs than RMSprop at this size
        learning_rate=0.002,
        early_stopping_patience=2,  # stop when validation loss stalls, keep the best epoch
    ),
    "attention": dict(
        num_samples=0,  # every line of the corpus, not the first 60,000
        max_input_length=50,  # 93% of English sentences; longer ones are too rare to learn from
        batch_size=128,  # bucketed batches of similar length keep both cores busy
        epochs=13,  # ~8 min each on 2 CPU cores: the run fits the 2-hour budget
        latent_dim=256,  # decoder units; the encoder reads 128 each way, concatenated to seed it
        embedding_dim=64,  # as in fast
        dropout=0.15,  # as in fast: regularises the LSTM inputs and the attentional state
        validation_split=0.02,  # ~3,000 pairs of ~150,000: enough to watch the curves
        optimizer="adam",
        learning_rate=0.002,  # the peak of a cosine decay to 0 over `epochs`
        early_stopping_patience=0,  # the cosine schedule fixes the run's length in advance
        lr_schedule="cosine",
    ),
    "large": dict(
        num_samples=0,  # as attention: the whole corpus, English up to 50 characters
        max_input_length=50,
        batch_size=256,  # per pair 1.3x faster than 128 here (benchmarks/epoch_time.py); Adam copes
        epochs=40,  # an upper bound: the plateau schedule and early stopping end the run
        latent_dim=384,  # decoder units (192 each way in the encoder): attention's loss was still underfitting at 256
        encoder_layers=2,  # a second layer reads the first's outputs: words from characters; costs ~6% per batch
        embedding_dim=128,  # twice attention's
        dropout=0.15,  # as attention, whose training loss stayed above its validation loss
        label_smoothing=0.1,  # the usual NMT value: less confident, better calibrated, better beams
        validation_split=0.02,  # ~3,000 pairs: enough to decide plateaus
        optimizer="adam",
        learning_rate=0.002,  # attention's peak rate
        lr_schedule="plateau",  # halve when validation loss stalls ...
        lr_patience=1,  # ... for one epoch
        early_stopping_patience=3,  # stop after three epochs without a better validation loss, keep the best
        min_delta=0.001,  # smaller drops are noise on 3,000 pairs
        mixed_precision=True,  # bfloat16 matmuls: 2.4x faster per batch on this CPU (AMX), float32 weights
        average_last=3,  # try the mean of the last three epochs' weights; kept only if validation loss is lower
    ),
}
# "long": large's recipe with what benchmarks/capacity.py measured to pay (README, "Choosing the next
# network"): on the same 30,000 random pairs of up to 100 characters, 6 epochs each, 512 units reached
# validation loss 1.356 and held-out chrF 39.1 against large's 1.568 and 22.8, at 1.3x its seconds per
# epoch; a third encoder layer at 384 units reached 1.567 and 22.7, no better than large.
RECIPE_PRESETS["long"] = dict(
    RECIPE_PRESETS["large"],
    max_input_length=100,  # 99.9% of the corpus: the 51-100 character pairs (7%) that large never saw
    latent_dim=512,  # 256 each way in the encoder, 512 in the decoder
    epochs=40,  # an upper bound, as large's: about 13 min an epoch here, so the run fits about 10 hours
)
# A fine-tune's settings (train.py --from), applied over the source checkpoint's own training settings:
# its network, dropout, label smoothing and precision stay; what changes is how far and how fast it moves.
FINE_TUNE_PRESET: dict[str, Any] = dict(
    learning_rate=0.0003,  # about a seventh of large's 0.002: small steps keep what the model knew
    epochs=10,  # an upper bound: a few hundred pairs are learnt in a few epochs
    early_stopping_patience=2,  # stop when the new pairs' validation loss stalls, keep the best epoch
    validation_split=0.1,  # a tenth of the new pairs, to watch (and to score before and after)
    batch_size=32,  # a few hundred pairs make a handful of batches: small ones give more updates
    lr_schedule="constant", lr_patience=0, min_delta=0.0, average_last=0,
    num_samples=0, max_input_length=0, subset=0,  # every new pair
)
# A preset that trains in seconds, for tests and for trying the pipeline end to end.
TINY_PRESET: dict[str, Any] = dict(num_samples=300, epochs=2, latent_dim=16, batch_size=32, embedding_dim=8)


def preset(recipe: str, tiny: bool = False, **overrides: Any) -> TrainConfig:
    """A TrainConfig for `recipe`, optionally tiny, with explicit (non-None) overrides applied last."""
    if recipe not in RECIPE_PRESETS:
        raise ValueError(f"recipe must be one of {', '.join(RECIPE_PRESETS)}, got {recipe!r}")
    values = dict(RECIPE_PRESETS[recipe])
    if tiny:
        values.update(TINY_PRESET)
    values.update({k: v for k, v in overrides.items() if v is not None})
    if recipe == "keras-io":
        values["embedding_dim"] = 0  # the recipe feeds one-hot vectors; an embedding size means nothing
    return TrainConfig(recipe=recipe, **values)


def fine_tune_preset(source: dict[str, Any], model: ModelConfig | None = None, **overrides: Any) -> TrainConfig:
    """The TrainConfig of a fine-tune of a checkpoint trained with `source` (its train_config): the
    source's settings, its network's sizes from `model` (its ModelConfig, which built the weights),
    FINE_TUNE_PRESET over them, explicit (non-None) overrides last."""
    values = {**TrainConfig.from_dict(source).to_dict(), **FINE_TUNE_PRESET}
    if model is not None:
        values.update(latent_dim=model.latent_dim, embedding_dim=model.embedding_dim, dropout=model.dropout,
                      encoder_layers=model.encoder_layers)
    values.update({k: v for k, v in overrides.items() if v is not None})
    return TrainConfig(**values)


def dumps(obj: Any) -> str:
    """JSON as we write it everywhere: UTF-8 kept readable, stable key order, 2-space indent."""
    return json.dumps(obj, ensure_ascii=False, indent=2, sort_keys=True)
