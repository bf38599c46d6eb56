"""Training: the faithful keras.io recipe and our faster, better "fast" recipe.

keras-io: the first `num_samples` pairs, one-hot characters padded with spaces to the longest
sentence, categorical crossentropy over every step (padding included), RMSprop, and Keras'
`validation_split` (the last 20% of the pairs, unshuffled).

fast: the same network with three changes that cut the work per epoch and one that adds data:
  * characters are embedded ids, and padding is masked, so neither the LSTMs' outputs nor the loss
    spend anything on learning to predict spaces;
  * batches are built from sentences of similar length (bucketing), so a batch of short sentences
    runs a handful of LSTM steps instead of the longest sentence's 59;
  * targets are sparse integer ids rather than one-hot arrays (93x less target memory);
  * more pairs, dropout, and early stopping on validation loss with the best weights restored.
Both recipes exclude the held-out split (see `model.data.split_pairs`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from .config import ModelConfig, TrainConfig
from .data import HeldoutSpec, Pair, split_pairs, vectorize_masked, vectorize_onehot, wrap_target
from .network import build_training_model
from .vocab import Vocabulary

STRATEGIES = ("default", "mirrored", "multiworker")


@dataclass
class TrainingResult:
    model: object
    vocab: Vocabulary
    model_config: ModelConfig
    history: dict[str, list[float]]
    epoch_times: list[float]
    training_time: float
    interrupted: bool
    data_info: dict


def get_strategy(name: str):
    """The tf.distribute strategy for `--strategy`.

    default: one device (whatever TensorFlow picks). mirrored: every local GPU, replicas in sync.
    multiworker: several machines, described by the TF_CONFIG environment variable.
    """
    import tensorflow as tf

    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multiworker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise ValueError(f"strategy must be one of {', '.join(STRATEGIES)}, got {name!r}")


def select_training_pairs(pairs: list[Pair], config: TrainConfig, spec: HeldoutSpec) -> tuple[list[Pair], list[Pair]]:
    """The pairs a recipe trains on (first `num_samples`, held-out English removed), and the held-out ones."""
    trainable, heldout = split_pairs(pairs, spec)
    chosen = [p for p in trainable if p.line <= _line_limit(pairs, config.num_samples)]
    if config.max_input_length:
        chosen = [p for p in chosen if len(p.english) <= config.max_input_length]
    if not chosen:
        raise ValueError("no training pairs left after removing the held-out split and the length limit")
    return chosen, heldout


def _line_limit(pairs: list[Pair], num_samples: int) -> int:
    """Line number of the `num_samples`-th pair: the recipe's 'first N lines'."""
    return pairs[min(num_samples, len(pairs)) - 1].line


def _validation_split(n: int, fraction: float, seed: int, shuffled: bool) -> tuple[np.ndarray, np.ndarray]:
    """(train indices, validation indices). The recipe's split is the unshuffled tail, as Keras does."""
    order = np.random.default_rng(seed).permutation(n) if shuffled else np.arange(n)
    n_val = int(n * fraction)
    return np.sort(order[: n - n_val]), np.sort(order[n - n_val :])


class _EpochTimer:
    """Wall-clock seconds per epoch, recorded for the metadata and the speed comparison."""

    def __init__(self):
        import keras

        class Timer(keras.callbacks.Callback):
            def __init__(inner):
                super().__init__()
                inner.times = []

            def on_epoch_begin(inner, epoch, logs=None):
                inner.started = time.perf_counter()

            def on_epoch_end(inner, epoch, logs=None):
                inner.times.append(time.perf_counter() - inner.started)

        self.callback = Timer()


def _bucketed_dataset(enc_texts, dec_texts, vocab, batch_size, seed, shuffle):
    """A tf.data pipeline of batches of similar length, each padded only to its own longest text."""
    import tensorflow as tf

    order = np.argsort([len(t) for t in dec_texts], kind="stable")
    batches = []
    for begin in range(0, len(order), batch_size):
        idx = order[begin : begin + batch_size]
        enc, dec_in, dec_out = vectorize_masked([enc_texts[i] for i in idx], [dec_texts[i] for i in idx], vocab)
        weights = (dec_out >= 0).astype("float32")
        batches.append(((enc, dec_in), np.maximum(dec_out, 0), weights))
    rng = np.random.default_rng(seed)

    def generate():
        for b in rng.permutation(len(batches)) if shuffle else range(len(batches)):
            yield batches[b]

    spec = (
        (tf.TensorSpec((None, None), tf.int32), tf.TensorSpec((None, None), tf.int32)),
        tf.TensorSpec((None, None), tf.int32),
        tf.TensorSpec((None, None), tf.float32),
    )
    dataset = tf.data.Dataset.from_generator(generate, output_signature=spec)
    return dataset.apply(tf.data.experimental.assert_cardinality(len(batches))).prefetch(2)


def train(
    pairs: list[Pair],
    config: TrainConfig,
    spec: HeldoutSpec = HeldoutSpec(),
    strategy: str = "default",
    backup_dir: str | None = None,
    verbose: int | str = "auto",
) -> TrainingResult:
    """Train a model on `pairs` (the whole file, or at least its first `num_samples` lines).

    Args:
        pairs: pairs read from the data file, in file order.
        config: the run's settings; `config.recipe` picks keras-io or fast.
        spec: the held-out split to exclude.
        strategy: a name from STRATEGIES.
        backup_dir: where Keras' BackupAndRestore keeps the last epoch, so an interrupted run resumes.
        verbose: Keras' progress display (1 = progress bar).
    """
    import keras

    config.validate()
    keras.utils.set_random_seed(config.seed)
    chosen, heldout = select_training_pairs(pairs, config, spec)
    input_texts = [p.english for p in chosen]
    target_texts = [wrap_target(p.french) for p in chosen]
    vocab = Vocabulary.from_texts(input_texts, target_texts)
    fast = config.recipe == "fast"
    model_config = ModelConfig(
        num_encoder_tokens=vocab.num_encoder_tokens,
        num_decoder_tokens=vocab.num_decoder_tokens,
        latent_dim=config.latent_dim,
        input_encoding="embedding" if fast else "onehot",
        embedding_dim=config.embedding_dim if fast else 0,
        encoder_padding="masked" if fast else "spaces",
        dropout=config.dropout,
    )
    train_idx, val_idx = _validation_split(len(chosen), config.validation_split, config.seed, shuffled=fast)

    with get_strategy(strategy).scope():
        model = build_training_model(model_config)
        optimizer = (
            keras.optimizers.RMSprop(learning_rate=config.learning_rate)
            if config.optimizer == "rmsprop"
            else keras.optimizers.Adam(learning_rate=config.learning_rate, clipnorm=1.0)
        )
        if fast:
            model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", weighted_metrics=["accuracy"])
        else:
            model.compile(optimizer=optimizer, loss="categorical_crossentropy", metrics=["accuracy"])

    timer = _EpochTimer()
    callbacks = [timer.callback]
    if config.early_stopping_patience:
        callbacks.append(
            keras.callbacks.EarlyStopping(monitor="val_loss", patience=config.early_stopping_patience, restore_best_weights=True)
        )
    if backup_dir:
        callbacks.append(keras.callbacks.BackupAndRestore(backup_dir))

    if fast:
        pick = lambda texts, idx: [texts[i] for i in idx]  # noqa: E731
        fit_args = dict(
            x=_bucketed_dataset(pick(input_texts, train_idx), pick(target_texts, train_idx), vocab, config.batch_size, config.seed, True),
            validation_data=_bucketed_dataset(pick(input_texts, val_idx), pick(target_texts, val_idx), vocab, config.batch_size, config.seed, False)
            if len(val_idx) else None,
            shuffle=False,  # the generator already shuffles whole batches; Keras would only warn
        )
    else:
        # The recipe: full one-hot arrays and Keras' own validation_split (the unshuffled tail).
        encoder_input, decoder_input, decoder_target = vectorize_onehot(input_texts, target_texts, vocab)
        fit_args = dict(
            x=[encoder_input, decoder_input], y=decoder_target, batch_size=config.batch_size,
            validation_split=config.validation_split,
        )

    started = time.perf_counter()
    interrupted = False
    try:
        history = model.fit(epochs=config.epochs, callbacks=callbacks, verbose=verbose, **fit_args).history
    except KeyboardInterrupt:
        # Nothing lost: the caller still saves what was learned so far, marked as interrupted.
        interrupted = True
        history = model.history.history if model.history else {}
    training_time = time.perf_counter() - started

    data_info = {
        "num_pairs_read": len(pairs),
        "num_training_pairs": len(train_idx),
        "num_validation_pairs": len(val_idx),
        "validation_split": "last fraction, unshuffled (Keras validation_split)" if not fast else "seeded random fraction",
        "last_line_used": chosen[-1].line,
        "heldout": {**spec.to_dict(), "num_pairs": len(heldout), "num_sentences": len({p.english for p in heldout})},
    }
    return TrainingResult(
        model=model,
        vocab=vocab,
        model_config=model_config,
        history={k: [float(v) for v in vals] for k, vals in history.items()},
        epoch_times=[round(t, 3) for t in timer.callback.times],
        training_time=round(training_time, 2),
        interrupted=interrupted,
        data_info=data_info,
    )
