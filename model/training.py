"""Training: one function per recipe, sharing only data selection, callbacks and the result.

keras-io (`train_keras_io`): the first `num_samples` pairs, one-hot characters padded with spaces to
the longest sentence, categorical crossentropy over every step (padding included), RMSprop, and
Keras' `validation_split` (the last 20% of the pairs, unshuffled).

fast (`train_fast`): the same network with three changes that cut the work per epoch and one that
adds data:
  * characters are embedded ids, and padding is masked, so neither the LSTMs' outputs nor the loss
    spend anything on learning to predict spaces;
  * batches are built from sentences of similar length (bucketing), so a batch of short sentences
    runs a handful of LSTM steps instead of the longest sentence's 59;
  * targets are sparse integer ids rather than one-hot arrays (93x less target memory);
  * more pairs, dropout, and early stopping on validation loss with the best weights restored.

attention (`train_attention`): fast's data pipeline on the whole corpus (English up to
`max_input_length` characters), with the attention network of `model.network.build_attention_model`
and a learning rate that decays to zero over the fixed number of epochs (cosine), so a run's length
is set in advance and a resumed run follows the same schedule.

Every recipe excludes the held-out split (see `model.data.split_pairs`). Each can resume an
interrupted run from its last finished epoch through Keras' BackupAndRestore.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from .config import ATTENTION_RECIPES, ModelConfig, TrainConfig
from .data import HeldoutSpec, Pair, split_pairs, vectorize_masked, vectorize_onehot, wrap_target
from .network import build_training_model
from .run_state import STATE_DIR, average_weights, load_weights
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
    first_epoch: int = 0  # > 0 when the run resumed from a backup after that many finished epochs
    resumptions: int = 0  # how many times the run was restarted from its backup
    best_epoch: int | None = None  # 0-based epoch with the lowest validation loss
    averaging: dict | None = None  # checkpoint averaging's figures, when the recipe tries it


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


def is_chief(tf_config: str | None = None) -> bool:
    """Whether this process should save, evaluate and push: always, except a non-chief worker.

    Under MultiWorkerMirroredStrategy every worker runs train.py; TF_CONFIG names this one's task.
    The chief is the task of type "chief", or worker 0 when the cluster has no chief.
    """
    import json
    import os

    raw = os.environ.get("TF_CONFIG") if tf_config is None else tf_config
    if not raw:
        return True
    config = json.loads(raw)
    task = config.get("task") or {}
    if "chief" in (config.get("cluster") or {}):
        return task.get("type") == "chief"
    return task.get("type", "worker") == "worker" and int(task.get("index", 0)) == 0


def select_training_pairs(pairs: list[Pair], config: TrainConfig, spec: HeldoutSpec) -> tuple[list[Pair], list[Pair]]:
    """The pairs a recipe trains on (first `num_samples`, held-out English removed, English up to
    `max_input_length`, a seeded random `subset` of them), and the held-out ones."""
    trainable, heldout = split_pairs(pairs, spec)
    chosen = [p for p in trainable if p.line <= _line_limit(pairs, config.num_samples)]
    if config.max_input_length:
        chosen = [p for p in chosen if len(p.english) <= config.max_input_length]
    if 0 < config.subset < len(chosen):
        keep = np.sort(np.random.default_rng([config.seed, config.subset]).choice(len(chosen), config.subset, replace=False))
        chosen = [chosen[i] for i in keep]  # still in file order, like every other selection
    if not chosen:
        raise ValueError("no training pairs left after removing the held-out split and the length limit")
    return chosen, heldout


def _line_limit(pairs: list[Pair], num_samples: int) -> int:
    """Line number of the `num_samples`-th pair: the recipe's 'first N lines' (0: the whole file)."""
    if num_samples == 0:
        return pairs[-1].line
    return pairs[min(num_samples, len(pairs)) - 1].line


def _validation_split(n: int, fraction: float, seed: int, shuffled: bool) -> tuple[np.ndarray, np.ndarray]:
    """(train indices, validation indices). The recipe's split is the unshuffled tail, as Keras does."""
    order = np.random.default_rng(seed).permutation(n) if shuffled else np.arange(n)
    n_val = int(n * fraction)
    return np.sort(order[: n - n_val]), np.sort(order[n - n_val :])


def validation_is_shuffled(recipe: str) -> bool:
    """Only the faithful recipe keeps Keras' unshuffled tail; the others draw a seeded random fraction."""
    return recipe != "keras-io"


class _EpochTimer:
    """Wall-clock seconds per epoch, recorded for the metadata and the speed comparison."""

    def __init__(self):
        import keras

        class Timer(keras.callbacks.Callback):
            def __init__(inner):
                super().__init__()
                inner.times = []
                inner.epochs = []

            def on_epoch_begin(inner, epoch, logs=None):
                inner.epochs.append(epoch)  # a resumed run starts after its last finished epoch
                inner.started = time.perf_counter()

            def on_epoch_end(inner, epoch, logs=None):
                inner.times.append(time.perf_counter() - inner.started)

        self.callback = Timer()


class _EpochCounter:
    """The epoch Keras is running, for the data pipeline: each epoch's batch order is drawn from
    (seed, epoch) alone, so a resumed run sees the batches in the order an unbroken one would."""

    def __init__(self):
        import keras

        counter = self

        class Callback(keras.callbacks.Callback):
            def on_epoch_begin(self, epoch, logs=None):
                counter.epoch = epoch

        self.epoch = 0
        self.callback = Callback()


def _bucketed_dataset(enc_texts, dec_texts, vocab, batch_size, seed, shuffle, epochs: _EpochCounter | None = None,
                      num_classes: int = 0):
    """A tf.data pipeline of batches of similar length, each padded only to its own longest text.

    Args:
        shuffle: draw a new batch order every epoch from (seed, the epoch `epochs` reports).
        num_classes: > 0 gives one-hot targets of this width (label smoothing needs them); 0 sparse ids.
    """
    import tensorflow as tf

    order = np.argsort([len(t) for t in dec_texts], kind="stable")
    batches = []
    for begin in range(0, len(order), batch_size):
        idx = order[begin : begin + batch_size]
        enc, dec_in, dec_out = vectorize_masked([enc_texts[i] for i in idx], [dec_texts[i] for i in idx], vocab)
        weights = (dec_out >= 0).astype("float32")
        batches.append(((enc, dec_in), np.maximum(dec_out, 0), weights))

    def generate():
        # Keras may start an iterator ahead and drop it, so nothing here carries over between calls.
        order = np.random.default_rng([seed, epochs.epoch if epochs else 0]).permutation(len(batches))
        for b in order if shuffle else range(len(batches)):
            yield batches[b]

    spec = (
        (tf.TensorSpec((None, None), tf.int32), tf.TensorSpec((None, None), tf.int32)),
        tf.TensorSpec((None, None), tf.int32),
        tf.TensorSpec((None, None), tf.float32),
    )
    dataset = tf.data.Dataset.from_generator(generate, output_signature=spec)
    if num_classes:
        dataset = dataset.map(lambda x, y, w: (x, tf.one_hot(y, num_classes), w))
    return dataset.apply(tf.data.experimental.assert_cardinality(len(batches))).prefetch(2)


@dataclass
class _Run:
    """What every recipe shares: the settings, the chosen pairs and texts, the vocabulary, the split."""

    pairs: list[Pair]
    config: TrainConfig
    spec: HeldoutSpec
    strategy: str
    backup_dir: str | None
    verbose: int | str
    chosen: list[Pair]
    heldout: list[Pair]
    input_texts: list[str]
    target_texts: list[str]
    vocab: Vocabulary
    train_idx: np.ndarray
    val_idx: np.ndarray
    epochs: _EpochCounter = None  # set in __post_init__

    def __post_init__(self):
        self.epochs = _EpochCounter()
        self.state = None  # the RunState callback, made by `callbacks()`

    def pick(self, texts: list[str], idx: np.ndarray) -> list[str]:
        return [texts[i] for i in idx]

    def bucketed(self, idx: np.ndarray, shuffle: bool):
        """Bucketed batches of the pairs at `idx` (see `_bucketed_dataset`)."""
        smoothing = self.config.label_smoothing > 0
        return _bucketed_dataset(self.pick(self.input_texts, idx), self.pick(self.target_texts, idx), self.vocab,
                                 self.config.batch_size, self.config.seed, shuffle, self.epochs,
                                 self.vocab.num_decoder_tokens if smoothing else 0)

    def callbacks(self, *extra) -> tuple[_EpochTimer, list]:
        """The epoch timer, the run's resumable state (schedule, early stopping), backups, then `extra`."""
        import os
        import tempfile

        import keras

        from .run_state import make_callback

        config = self.config
        timer = _EpochTimer()
        # Without a backup directory the state still needs a place for the epochs' weights.
        state_dir = (os.path.join(os.path.dirname(os.path.abspath(self.backup_dir)), STATE_DIR) if self.backup_dir
                     else tempfile.mkdtemp(prefix="cl_s2s-run-"))
        self.state = make_callback(state_dir, lr_schedule=config.lr_schedule, lr_patience=config.lr_patience,
                                   early_stopping_patience=config.early_stopping_patience,
                                   min_delta=config.min_delta, keep_last=config.average_last)
        # RunState saves before BackupAndRestore, so its records never lag the weights they describe.
        callbacks = [self.epochs.callback, timer.callback, self.state, *extra]
        if self.backup_dir:
            # Saves weights, optimizer and epoch after every epoch; a run started again with the same
            # directory resumes after the last finished epoch (train.py --resume).
            # double_checkpoint: keep the previous epoch's backup too, so a run killed while writing
            # the backup (found by tests/test_resume.py) resumes from the one before.
            callbacks.append(keras.callbacks.BackupAndRestore(self.backup_dir, double_checkpoint=True))
        return timer, callbacks

    def fit(self, model, callbacks: list, timer: _EpochTimer, model_config: ModelConfig, **fit_args) -> TrainingResult:
        """model.fit, keeping what was learned on Ctrl-C, and the result every recipe returns.

        After a run that finished, the best epoch's weights are restored when early stopping is on,
        and the mean of the last `average_last` epochs replaces them if its validation loss is lower.
        """
        started = time.perf_counter()
        interrupted = False
        try:
            model.fit(epochs=self.config.epochs, callbacks=callbacks, verbose=self.verbose, **fit_args)
        except KeyboardInterrupt:
            # Nothing lost: the caller still saves what was learned so far, marked as interrupted.
            interrupted = True
        state = self.state
        averaging = None
        if not interrupted:
            best = state.best_epoch()
            last = state.records[-1]["epoch"] if state.records else None
            if self.config.early_stopping_patience and best is not None and best != last:
                model.set_weights(load_weights(state.weights_path(best)))
            if self.config.average_last and fit_args.get("validation_data") is not None:
                averaging = self._try_average(model, fit_args["validation_data"])
        this_run = time.perf_counter() - started
        data_info = {
            "num_pairs_read": len(self.pairs),
            "num_training_pairs": len(self.train_idx),
            "num_validation_pairs": len(self.val_idx),
            "validation_split": "seeded random fraction" if validation_is_shuffled(self.config.recipe)
            else "last fraction, unshuffled (Keras validation_split)",
            "last_line_used": self.chosen[-1].line,
            "heldout": {**self.spec.to_dict(), "num_pairs": len(self.heldout),
                        "num_sentences": len({p.english for p in self.heldout})},
        }
        epoch_times = state.epoch_times()
        return TrainingResult(
            model=model,
            vocab=self.vocab,
            model_config=model_config,
            history=state.history(),
            epoch_times=epoch_times,
            # Across restarts: every epoch's own time, plus what this process spent outside epochs.
            training_time=round(sum(epoch_times) + max(0.0, this_run - sum(timer.callback.times)), 2),
            interrupted=interrupted,
            data_info=data_info,
            first_epoch=timer.callback.epochs[0] if timer.callback.epochs else 0,
            resumptions=state.resumptions,
            best_epoch=state.best_epoch(),
            averaging=averaging,
        )

    def _try_average(self, model, validation_data) -> dict:
        """Checkpoint averaging: the mean of the last `average_last` epochs' weights, kept only if better."""
        state = self.state
        epochs = [r["epoch"] for r in state.records][-self.config.average_last:]
        current = model.get_weights()
        current_loss = float(model.evaluate(validation_data, verbose=0, return_dict=True)["loss"])
        model.set_weights(average_weights([state.weights_path(e) for e in epochs]))
        averaged_loss = float(model.evaluate(validation_data, verbose=0, return_dict=True)["loss"])
        kept = averaged_loss < current_loss
        if not kept:
            model.set_weights(current)
        return {"epochs": [e + 1 for e in epochs], "val_loss_averaged": round(averaged_loss, 5),
                "val_loss_without": round(current_loss, 5), "kept": kept}


def model_config_for(config: TrainConfig, vocab: Vocabulary) -> ModelConfig:
    """The network a recipe trains, for this vocabulary (the trainers below, and model/snapshot.py)."""
    common = dict(num_encoder_tokens=vocab.num_encoder_tokens, num_decoder_tokens=vocab.num_decoder_tokens,
                  latent_dim=config.latent_dim, dropout=config.dropout)
    if config.recipe == "keras-io":  # one-hot characters, padded with spaces, as published
        return ModelConfig(**common, input_encoding="onehot", encoder_padding="spaces")
    embedded = dict(common, input_encoding="embedding", embedding_dim=config.embedding_dim, encoder_padding="masked")
    if config.recipe in ATTENTION_RECIPES:  # a bidirectional encoder and Luong attention
        return ModelConfig(**embedded, attention=True, bidirectional=True, encoder_layers=config.encoder_layers)
    return ModelConfig(**embedded)


def train_keras_io(run: _Run) -> TrainingResult:
    """The keras.io lstm_seq2seq recipe, as published."""
    config = run.config
    model_config = model_config_for(config, run.vocab)
    with get_strategy(run.strategy).scope():
        model = build_training_model(model_config)
        model.compile(optimizer=_optimizer(config, config.learning_rate), loss="categorical_crossentropy",
                      metrics=["accuracy"], jit_compile=config.jit_compile)
    # Full one-hot arrays padded with spaces, and Keras' own validation_split (the unshuffled tail).
    encoder_input, decoder_input, decoder_target = vectorize_onehot(run.input_texts, run.target_texts, run.vocab)
    timer, callbacks = run.callbacks()
    return run.fit(model, callbacks, timer, model_config, x=[encoder_input, decoder_input], y=decoder_target,
                   batch_size=config.batch_size, validation_split=config.validation_split)


def train_fast(run: _Run) -> TrainingResult:
    """The recipe's network with embedded, masked characters, bucketed batches and early stopping."""
    import keras

    config = run.config
    model_config = model_config_for(config, run.vocab)
    with get_strategy(run.strategy).scope():
        model = build_training_model(model_config)
        optimizer = _optimizer(config, config.learning_rate)
        model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", weighted_metrics=["accuracy"],
                      jit_compile=config.jit_compile)
    timer, callbacks = run.callbacks()
    return run.fit(model, callbacks, timer, model_config, x=run.bucketed(run.train_idx, shuffle=True),
                   validation_data=run.bucketed(run.val_idx, shuffle=False) if len(run.val_idx) else None,
                   shuffle=False)  # the generator already shuffles whole batches; Keras would only warn


def train_attention(run: _Run) -> TrainingResult:
    """fast's data pipeline with a bidirectional encoder and Luong attention (the attention and large recipes).

    attention: one encoder layer and a cosine decay over a fixed number of epochs. large: more
    capacity, label smoothing, bfloat16 compute, and a rate that halves on plateaus until early
    stopping ends the run.
    """
    import keras

    config = run.config
    model_config = model_config_for(config, run.vocab)
    train_data = run.bucketed(run.train_idx, shuffle=True)
    with get_strategy(run.strategy).scope():
        model = _build(model_config, config.mixed_precision)
        if config.lr_schedule == "cosine":
            # The rate falls from `learning_rate` to 0 over exactly `epochs` epochs: large steps early,
            # fine ones at the end, and no validation-driven decisions at all.
            rate = keras.optimizers.schedules.CosineDecay(config.learning_rate,
                                                          decay_steps=config.epochs * len(train_data))
        else:
            rate = config.learning_rate  # "plateau": RunState halves it; "constant": left alone
        model.compile(optimizer=_optimizer(config, rate), loss=_loss(config), weighted_metrics=["accuracy"],
                      jit_compile=config.jit_compile)
    timer, callbacks = run.callbacks()
    return run.fit(model, callbacks, timer, model_config, x=train_data,
                   validation_data=run.bucketed(run.val_idx, shuffle=False) if len(run.val_idx) else None,
                   shuffle=False)


def _mixed_dataset(run: _Run, replay_pairs: list[Pair], share: float):
    """Training batches of the run's pairs with `share` of each batch replayed from `replay_pairs`
    (finetune.mixed_batches), drawn anew every epoch from (seed, epoch); one-hot targets when smoothing."""
    import tensorflow as tf

    from .finetune import mixed_batches

    config, vocab = run.config, run.vocab
    new_enc, new_dec = run.pick(run.input_texts, run.train_idx), run.pick(run.target_texts, run.train_idx)
    old_enc = [p.english for p in replay_pairs]
    old_dec = [wrap_target(p.french) for p in replay_pairs]
    count = len(mixed_batches(len(new_enc), len(old_enc), share, config.batch_size, np.random.default_rng(0)))

    def generate():
        rng = np.random.default_rng([config.seed, run.epochs.epoch])
        for mine, replayed in mixed_batches(len(new_enc), len(old_enc), share, config.batch_size, rng):
            enc, dec_in, dec_out = vectorize_masked([new_enc[i] for i in mine] + [old_enc[i] for i in replayed],
                                                    [new_dec[i] for i in mine] + [old_dec[i] for i in replayed], vocab)
            yield (enc, dec_in), np.maximum(dec_out, 0), (dec_out >= 0).astype("float32")

    spec = ((tf.TensorSpec((None, None), tf.int32), tf.TensorSpec((None, None), tf.int32)),
            tf.TensorSpec((None, None), tf.int32), tf.TensorSpec((None, None), tf.float32))
    dataset = tf.data.Dataset.from_generator(generate, output_signature=spec)
    if config.label_smoothing:
        dataset = dataset.map(lambda x, y, w: (x, tf.one_hot(y, vocab.num_decoder_tokens), w))
    return dataset.apply(tf.data.experimental.assert_cardinality(count)).prefetch(2)


def fine_tune(model, vocab: Vocabulary, model_config: ModelConfig, pairs: list[Pair], config: TrainConfig,
              replay_pairs: list[Pair] | None = None, replay_share: float = 0.0, backup_dir: str | None = None,
              verbose: int | str = "auto") -> TrainingResult:
    """Continue training a loaded checkpoint's network on new pairs (model/finetune.py explains why and how).

    Args:
        model: the source checkpoint's Keras training network (checkpoint.load_keras), weights loaded.
        vocab, model_config: the source's; every pair must use only the vocabulary's characters.
        pairs: the new pairs; a seeded `config.validation_split` of them is kept for validation.
        config: the fine-tune's settings (config.fine_tune_preset): learning rate, epochs, early stopping.
        replay_pairs, replay_share: the source's own training pairs, and the share of each batch they fill.
    """
    import keras

    config.validate()
    keras.utils.set_random_seed(config.seed)
    input_texts = [p.english for p in pairs]
    target_texts = [wrap_target(p.french) for p in pairs]
    train_idx, val_idx = _validation_split(len(pairs), config.validation_split, config.seed, shuffled=True)
    run = _Run(pairs, config, HeldoutSpec(start_line=2**62), "default", backup_dir, verbose, pairs, [], input_texts,
               target_texts, vocab, train_idx, val_idx)
    train_data = _mixed_dataset(run, list(replay_pairs or []), replay_share)
    model.compile(optimizer=_optimizer(config, config.learning_rate), loss=_loss(config), weighted_metrics=["accuracy"],
                  jit_compile=config.jit_compile)
    timer, callbacks = run.callbacks()
    return run.fit(model, callbacks, timer, model_config, x=train_data,
                   validation_data=run.bucketed(run.val_idx, shuffle=False) if len(run.val_idx) else None,
                   shuffle=False)


def _build(model_config: ModelConfig, mixed_precision: bool):
    """The training network; with `mixed_precision`, layers compute in bfloat16 over float32 weights.

    The output layer stays float32 (so do the saved weights, and the engine that reads them):
    probabilities near 0 or 1 need more than bfloat16's 8 bits of mantissa.
    """
    import keras

    if not mixed_precision:
        return build_training_model(model_config)
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        return build_training_model(model_config, output_dtype="float32")
    finally:
        keras.config.set_dtype_policy(previous)  # layers keep the policy they were built with


def _loss(config: TrainConfig):
    """Sparse crossentropy, or with label smoothing the one-hot crossentropy Keras smooths itself."""
    import keras

    if config.label_smoothing:
        return keras.losses.CategoricalCrossentropy(label_smoothing=config.label_smoothing)
    return "sparse_categorical_crossentropy"


def _optimizer(config: TrainConfig, learning_rate):
    import keras

    if config.optimizer == "rmsprop":
        return keras.optimizers.RMSprop(learning_rate=learning_rate)
    return keras.optimizers.Adam(learning_rate=learning_rate, clipnorm=1.0)


RECIPE_TRAINERS = {"keras-io": train_keras_io, "fast": train_fast, "attention": train_attention,
                   "large": train_attention, "long": train_attention}


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
        config: the run's settings; `config.recipe` picks the function in RECIPE_TRAINERS.
        spec: the held-out split to exclude.
        strategy: a name from STRATEGIES.
        backup_dir: where Keras' BackupAndRestore keeps the last finished epoch; a run given a
            directory that already holds a backup resumes from it.
        verbose: Keras' progress display (1 = progress bar).
    """
    import keras

    config.validate()
    keras.utils.set_random_seed(config.seed)
    chosen, heldout = select_training_pairs(pairs, config, spec)
    input_texts = [p.english for p in chosen]
    target_texts = [wrap_target(p.french) for p in chosen]
    train_idx, val_idx = _validation_split(len(chosen), config.validation_split, config.seed,
                                           shuffled=validation_is_shuffled(config.recipe))
    run = _Run(pairs, config, spec, strategy, backup_dir, verbose, chosen, heldout, input_texts, target_texts,
               Vocabulary.from_texts(input_texts, target_texts), train_idx, val_idx)
    return RECIPE_TRAINERS[config.recipe](run)
