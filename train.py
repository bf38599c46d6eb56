"""Train a character-level English -> French seq2seq model and write a self-describing checkpoint.

    python train.py --data ../shared/data/fra-eng/fra.txt --out runs/recipe          # keras.io recipe
    python train.py --recipe fast --data ../shared/data/fra-eng/fra.txt --out runs/fast

The run: check the settings, read the data, train with Keras' progress bar, save the checkpoint,
plot the training curves into it, then evaluate on the held-out split and store the figures.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import shlex
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's C++ start-up chatter off the progress bar

from model.config import LR_SCHEDULES, RECIPES  # noqa: E402  (plain dataclasses: importing it loads no TensorFlow)

def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Defaults shown as 'recipe' come from --recipe (keras-io: the keras.io example's values).",
    )
    parser.add_argument("--recipe", choices=RECIPES,
                        help="keras-io: the faithful keras.io lstm_seq2seq reproduction; fast: masked, bucketed, "
                             "more data, early stopping; attention: bidirectional encoder + Luong attention on the "
                             "whole corpus; large: attention with two encoder layers, 384 units, label smoothing, "
                             "a plateau schedule and early stopping; long: large with 512 units on English up to "
                             "100 characters (default: keras-io; with --from, the source's)")
    parser.add_argument("--data", help="Anki pair file (.txt) or the fra-eng release (.zip); "
                                       "default: download fra-eng.zip like the recipe, into Keras' cache")
    parser.add_argument("--out", help="checkpoint directory to write (default: runs/<recipe>-<timestamp>)")
    parser.add_argument("--overwrite", action="store_true",
                        help="start afresh in a non-empty --out, deleting its checkpoint and any unfinished run's backup")
    parser.add_argument("--resume", action="store_true",
                        help="continue an interrupted run in --out from its last finished epoch (same settings)")
    group = parser.add_argument_group("hyperparameters (default: the recipe's)")
    group.add_argument("--num-samples", type=int, help="train on the first N lines of the data (keras-io: 10000)")
    group.add_argument("--epochs", type=int, help="number of epochs, an upper bound with early stopping (keras-io: 100)")
    group.add_argument("--batch-size", type=int, help="sentence pairs per batch (keras-io: 64)")
    group.add_argument("--latent-dim", type=int, help="LSTM units, the size of the sentence encoding (keras-io: 256)")
    group.add_argument("--embedding-dim", type=int, help="character embedding size, fast recipe only")
    group.add_argument("--dropout", type=float, help="dropout on LSTM inputs and outputs (keras-io: 0)")
    group.add_argument("--validation-split", type=float, help="fraction of pairs kept for validation (keras-io: 0.2)")
    group.add_argument("--optimizer", choices=("rmsprop", "adam"), help="keras-io: rmsprop")
    group.add_argument("--learning-rate", type=float, help="keras-io: 0.001 (RMSprop's default)")
    group.add_argument("--early-stopping-patience", type=int,
                       help="stop after N epochs without a better validation loss and keep the best weights; 0 = off")
    group.add_argument("--max-input-length", type=int, help="drop pairs whose English is longer (0 = keep all)")
    group.add_argument("--subset", type=int,
                       help="train on a seeded random N of the pairs left after --num-samples and --max-input-length "
                            "(they span every length, unlike the first N lines): for comparing settings quickly (0 = all)")
    group.add_argument("--seed", type=int, help="random seed for weights, shuffling and dropout (default 1337)")
    group.add_argument("--encoder-layers", type=int, help="stacked encoder LSTMs, attention recipes (large: 2)")
    group.add_argument("--label-smoothing", type=float, help="weight of the uniform target in the loss (large: 0.1)")
    group.add_argument("--lr-schedule", choices=LR_SCHEDULES,
                       help="constant; cosine to 0 over --epochs (attention); plateau: halve after --lr-patience "
                            "epochs without a better validation loss (large)")
    group.add_argument("--lr-patience", type=int, help="plateau schedule: epochs without improvement before halving (large: 1)")
    group.add_argument("--min-delta", type=float, help="how much lower a validation loss must be to count as better (large: 0.001)")
    group.add_argument("--mixed-precision", action=argparse.BooleanOptionalAction, default=None,
                       help="compute in bfloat16 over float32 weights (large: on; 2.4x faster per batch on CPUs with AMX)")
    group.add_argument("--jit-compile", action=argparse.BooleanOptionalAction, default=None,
                       help="compile training steps with XLA (off: 3x slower per pair on a 2-core CPU, "
                            "benchmarks/epoch_time.py; try it on a GPU)")
    group.add_argument("--average-last", type=int,
                       help="also try the mean of the last N epochs' weights; kept if its validation loss is lower (large: 3)")
    languages = parser.add_argument_group(
        "languages", "the pair the checkpoint records, which the app, the CLI and the model card show (default: "
                     "from an Anki release's file name, spa-eng.zip -> English to Spanish, else English to French)")
    languages.add_argument("--source-language", metavar="LANG", help="the first column's language: a name or an ISO 639 code")
    languages.add_argument("--target-language", metavar="LANG", help="the second column's language: a name or an ISO 639 code")
    tune = parser.add_argument_group(
        "fine-tuning", "start from a trained model instead of from scratch: its network, weights and vocabulary stay; "
                       "defaults change to a learning rate of 0.0003, at most 10 epochs, early stopping after 2 epochs "
                       "without a better validation loss on a tenth of your pairs, batches of 32 (each can be set)")
    tune.add_argument("--from", dest="from_source", metavar="SOURCE",
                      help="the model to fine-tune: default, a bundled name, a checkpoint directory or "
                           "hf://owner/repo[@revision]; --data is then your own pairs (english<TAB>translation)")
    tune.add_argument("--drop-unknown-pairs", action="store_true",
                      help="leave out pairs with characters the model cannot read or write (default: stop and list them)")
    tune.add_argument("--replay", type=float, default=0.0, metavar="SHARE",
                      help="fill this share of each batch (0 to below 1) with the source's own training pairs, so it "
                           "forgets less of what it knew (default 0)")
    tune.add_argument("--eval-data", metavar="PATH",
                      help="pairs of your own held out from --data, scored before and after (default: the tenth of "
                           "--data kept for validation)")
    tune.add_argument("--base-data", metavar="PATH",
                      help="the pair file the source was trained on, for --replay and the before/after score on its "
                           "held-out split (default: the path its metadata records, else the recipe's download)")
    parser.add_argument("--tiny", action="store_true", help="a seconds-long run on a few hundred pairs, for trying things out")
    parser.add_argument("--strategy", choices=("default", "mirrored", "multiworker"), default="default",
                        help="tf.distribute strategy: default (one device), mirrored (all local GPUs), "
                             "multiworker (machines listed in TF_CONFIG)")
    parser.epilog += (" A run saves its state after every epoch: if it stops (Ctrl-C, a crash, a machine that "
                      "goes away), the same command with --resume continues it as if it had never stopped.")
    parser.add_argument("--no-eval", action="store_true", help="skip the held-out evaluation after training")
    parser.add_argument("--eval-beam-size", type=int, default=0, help="also evaluate with beam search of this width")
    parser.add_argument("--push-to-hub", metavar="OWNER/REPO", help="after training, upload the checkpoint with a model card")
    parser.add_argument("--private", action="store_true", help="with --push-to-hub: create the repository as private")
    return parser.parse_args(argv)


def build_config(args: argparse.Namespace):
    from model.config import preset

    names = ("num_samples", "epochs", "batch_size", "latent_dim", "embedding_dim", "dropout", "validation_split",
             "optimizer", "learning_rate", "early_stopping_patience", "max_input_length", "seed", "encoder_layers",
             "label_smoothing", "lr_schedule", "lr_patience", "min_delta", "mixed_precision", "jit_compile",
             "average_last", "subset")
    config = preset(args.recipe or "keras-io", tiny=args.tiny, data=args.data, **{name: getattr(args, name) for name in names})
    config.validate()
    return config


RUN_FILE = ".run.json"  # the settings of the run that owns --out's backup, to check a --resume against


def prepare_output(out: Path, config, resume: bool, overwrite: bool) -> None:
    """Make `out` ready for this run, or raise ValueError saying which flag the situation needs.

    An interrupted run leaves `out/.backup/` (Keras' BackupAndRestore) and `out/.run.json`.
    --resume continues it, but only with the same settings; --overwrite deletes both and starts over.
    """
    import json
    import shutil

    from model.config import dumps

    if resume and overwrite:
        raise ValueError("--resume and --overwrite contradict each other: pick one")
    from model.run_state import STATE_DIR

    backup, run_file, state = out / ".backup", out / RUN_FILE, out / STATE_DIR
    if resume:
        if not backup.is_dir():
            raise ValueError(f"--resume: {out} holds no interrupted run to resume (no {backup}); "
                             f"start a new run without --resume")
        saved = json.loads(run_file.read_text(encoding="utf-8")) if run_file.is_file() else {}
        changed = sorted(k for k in set(saved) | set(config.to_dict()) if saved.get(k) != config.to_dict().get(k))
        if changed:
            details = ", ".join(f"{k}: {saved.get(k)!r} -> {config.to_dict().get(k)!r}" for k in changed)
            raise ValueError(f"--resume: the settings differ from the interrupted run's ({details}); "
                             f"resume with the same options, or pass --overwrite to start afresh")
        return
    if out.exists() and any(out.iterdir()):
        if not overwrite:
            hint = " pass --resume to continue the interrupted run in it," if backup.is_dir() else ""
            raise ValueError(f"{out} is not empty;{hint} pass --overwrite to start afresh, or choose another --out")
        shutil.rmtree(backup, ignore_errors=True)  # a fresh run must never pick up an old backup
        shutil.rmtree(state, ignore_errors=True)
        run_file.unlink(missing_ok=True)
    out.mkdir(parents=True, exist_ok=True)
    run_file.write_text(dumps(config.to_dict()) + "\n", encoding="utf-8")


def library_versions() -> dict[str, str]:
    import keras
    import numpy
    import sacrebleu
    import tensorflow

    return {"python": platform.python_version(), "keras": keras.__version__, "tensorflow": tensorflow.__version__,
            "numpy": numpy.__version__, "sacrebleu": sacrebleu.__version__}


def run_metadata(args, argv, config, data_path, sha256: str, result, commit, pair) -> dict:
    """What a checkpoint records about the run that made it (metadata.json)."""
    from model import data

    return {
        "recipe": config.recipe,
        "train_config": config.to_dict(),
        "languages": pair.to_dict(),
        "data": {"source": str(data_path) if args.data else data.FRA_ENG_URL, "sha256": sha256, **result.data_info},
        "history": result.history,
        "epochs_run": len(result.epoch_times),
        "resumed_from_epoch": result.first_epoch,
        "resumptions": result.resumptions,
        "best_epoch": None if result.best_epoch is None else result.best_epoch + 1,  # 1-based, as Keras prints
        "checkpoint_averaging": result.averaging,
        "epoch_times_s": result.epoch_times,
        "training_time_s": result.training_time,
        "interrupted": result.interrupted,
        "strategy": args.strategy,
        "versions": library_versions(),
        "command": "python train.py " + shlex.join(sys.argv[1:] if argv is None else argv),
        "commit": commit,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }


class UsageError(Exception):
    """Settings or inputs that cannot work, found before training: exit status 2 with the message."""


def _checked_inputs(args):
    """The checks every run makes before any work; the language pair it records (UsageError if bad)."""
    from model import languages

    if args.eval_beam_size < 0:
        raise UsageError(f"--eval-beam-size must be >= 0 (0 skips beam search), got {args.eval_beam_size}")
    if args.data and not Path(args.data).is_file():
        raise UsageError(f"--data {args.data}: no such file (pass a .txt pair file or the fra-eng .zip)")
    try:
        pair = languages.for_training(args.data, args.source_language, args.target_language)
    except ValueError as err:
        raise UsageError(str(err)) from None
    if args.push_to_hub:
        from model import hub

        try:
            hub.check_push_access(args.push_to_hub)  # fail on a missing or rejected token before training
        except hub.HubError as err:
            raise UsageError(str(err)) from None
    return pair


def _read_pairs(args):
    """(data path, pairs, sha256) of --data, or of the recipe's download; UsageError for a bad file."""
    from model import data

    data_path = Path(args.data) if args.data else data.download_fra_eng()
    try:
        text, sha256 = data.read_text(data_path)
        return data_path, data.parse_pairs(text, str(data_path)), sha256
    except data.DataFormatError as err:  # its message names the file and the line
        raise UsageError(str(err)) from None


def _save(out: Path, result, metadata: dict, title: str) -> bool:
    """Write the checkpoint and its curves; False (having said so) when training was interrupted."""
    import shutil

    from model import checkpoint, plots
    from model.run_state import STATE_DIR

    checkpoint.save(out, result.model, result.vocab, result.model_config, metadata)
    if not result.interrupted:
        (out / RUN_FILE).unlink(missing_ok=True)  # the run is finished: nothing left to resume
        shutil.rmtree(out / STATE_DIR, ignore_errors=True)
    plots.training_curves(result.history, out / checkpoint.CURVES_FILE, title)
    print(f"saved checkpoint to {out}", flush=True)
    if result.interrupted:
        print("training was interrupted; the checkpoint holds the weights so far", file=sys.stderr)
    return not result.interrupted


def _evaluate(args, out: Path, metadata: dict, split_metadata: dict, data_path) -> None:
    """Score the saved checkpoint (which proves it loads) on the held-out split of `split_metadata`'s data."""
    from model import checkpoint, evaluation, splits

    translator = checkpoint.load(out)
    try:
        sources, references, info = splits.load_split(split_metadata, "heldout", str(data_path))
    except splits.EmptySplitError as err:  # a small file of one's own pairs: nothing held out to score
        print(f"no held-out evaluation: {err}", file=sys.stderr, flush=True)
        return
    metadata["evaluation"], _ = evaluation.report(
        translator, sources, references, {"split": "heldout", **info},
        evaluation.decoding_runs(args.eval_beam_size), metadata["command"])
    for name, _options in evaluation.decoding_runs(args.eval_beam_size):
        figures = {k: v for k, v in metadata["evaluation"][name].items() if k != "tiers"}
        print(f"held-out {name}: " + ", ".join(f"{k}={v}" for k, v in figures.items()), flush=True)


def _push(args, out: Path) -> int:
    from model import hub

    try:
        url = hub.push(out, args.push_to_hub, private=args.private)
    except hub.HubError as err:
        print(f"train.py: error: {err}\nthe checkpoint is saved: retry with "
              f"python -m model push {out} {args.push_to_hub}", file=sys.stderr)
        return 1
    print(f"pushed to {url}")
    return 0


def train(args, argv) -> int:
    """A run from scratch: the recipe's network on --data."""
    try:
        config = build_config(args)
    except ValueError as err:
        raise UsageError(str(err)) from None
    pair = _checked_inputs(args)
    from model import checkpoint, provenance, samples, splits, training

    out = Path(args.out or f"runs/{config.recipe}-{datetime.datetime.now():%Y%m%d-%H%M%S}")
    data_path, pairs, sha256 = _read_pairs(args)
    try:
        prepare_output(out, config, args.resume, args.overwrite)
    except ValueError as err:
        raise UsageError(str(err)) from None
    print(f"read {len(pairs)} pairs from {data_path}", flush=True)
    commit = provenance.git_commit()  # the code that starts the run, not whatever is checked out when it ends

    result = training.train(pairs, config, strategy=args.strategy, backup_dir=str(out / ".backup"))
    if not training.is_chief():
        # Every worker of a multi-worker run trains; only the chief saves, evaluates and pushes.
        print("training finished on this worker; the chief writes the checkpoint", flush=True)
        return 0
    metadata = run_metadata(args, argv, config, data_path, sha256, result, commit, pair)
    # A few held-out sentences for an app serving this checkpoint: its examples and random button.
    metadata[samples.METADATA_KEY] = samples.for_metadata(pairs, splits.evaluation_spec(metadata), result.vocab)
    if not _save(out, result, metadata, f"{config.recipe}: {out.name}"):
        return 130
    if not args.no_eval:
        _evaluate(args, out, metadata, metadata, data_path)
        checkpoint.write_json(out / checkpoint.METADATA_FILE, {**metadata, "model_config": result.model_config.to_dict()})
    return _push(args, out) if args.push_to_hub else 0


NETWORK_OPTIONS = ("latent_dim", "embedding_dim", "encoder_layers", "dropout", "recipe", "tiny")


def _fine_tune_checks(args) -> None:
    """What a fine-tune's options must satisfy before any work (UsageError naming the option)."""
    given = [f"--{name.replace('_', '-')}" for name in NETWORK_OPTIONS if getattr(args, name) not in (None, False)]
    if given:
        raise UsageError(f"--from keeps the source's network: {', '.join(given)} cannot change it; leave "
                         f"{'it' if len(given) == 1 else 'them'} out")
    if not args.data:
        raise UsageError("--from needs --data: the file of your own pairs to fine-tune on")
    for flag, path in (("--eval-data", args.eval_data), ("--base-data", args.base_data)):
        if path and not Path(path).is_file():
            raise UsageError(f"{flag} {path}: no such file")
    if not 0.0 <= args.replay < 1.0:
        raise UsageError(f"--replay is the share of each batch replayed from the source's pairs, from 0 to below 1, "
                         f"got {args.replay}")
    _checked_inputs(args)


def fine_tune(args, argv) -> int:
    """A fine-tune (--from): the source's network, weights and vocabulary, trained further on --data."""
    _fine_tune_checks(args)
    from model import checkpoint, finetune, languages, provenance, samples, splits, training
    from model.config import fine_tune_preset

    try:
        source = finetune.open_source(args.from_source)
    except ValueError as err:
        raise UsageError(f"--from {err}") from None
    named = args.source_language or args.target_language or languages.from_data_name(args.data)
    pair = (languages.for_training(args.data, args.source_language, args.target_language) if named
            else languages.from_metadata(source.metadata))
    base = source.metadata.get("train_config") or {"recipe": source.metadata.get("recipe", "attention")}
    overrides = {name: getattr(args, name) for name in ("epochs", "batch_size", "validation_split", "learning_rate",
                                                         "early_stopping_patience", "seed", "optimizer")}
    config = fine_tune_preset(base, source.model_config, data=args.data, **overrides)
    data_path, pairs, sha256 = _read_pairs(args)
    unknown, clean = finetune.check_vocabulary(pairs, source.vocab, pair.source.name, pair.target.name)
    if unknown and not args.drop_unknown_pairs:
        raise UsageError(str(finetune.VocabularyError(unknown, len(pairs) - len(clean), pair.source.name,
                                                      pair.target.name)))
    base_data = splits.data_path(source.metadata, args.base_data)
    general = splits.load_split(source.metadata, "heldout", str(base_data))[:2]
    replayed = finetune.training_pairs(source.metadata, base_data) if args.replay else []
    own = finetune.held_out(Path(args.eval_data), source.vocab) if args.eval_data else finetune.validation_split(clean, config)
    untuned = checkpoint.load(source.directory)
    before = {"general": finetune.scores(untuned, *general), "own": finetune.scores(untuned, *own)}
    out = Path(args.out or f"runs/fine-tune-{datetime.datetime.now():%Y%m%d-%H%M%S}")
    try:
        prepare_output(out, config, args.resume, args.overwrite)
    except ValueError as err:
        raise UsageError(str(err)) from None
    print(f"fine-tuning {args.from_source} on {len(clean)} pairs from {data_path}"
          + (f" ({len(pairs) - len(clean)} dropped)" if unknown else "")
          + (f", replaying {args.replay:.0%} of each batch from {len(replayed)} of its own" if args.replay else ""),
          flush=True)
    commit = provenance.git_commit()
    result = training.fine_tune(source.model, source.vocab, source.model_config, clean, config, replayed, args.replay,
                                backup_dir=str(out / ".backup"))
    metadata = run_metadata(args, argv, config, data_path, sha256, result, commit, pair)
    metadata["base_model"] = source.lineage()
    if samples.METADATA_KEY in source.metadata:  # the source's, less any sentence this run trained on
        metadata[samples.METADATA_KEY] = samples.without(source.metadata[samples.METADATA_KEY], {p.english for p in clean})
    metadata["fine_tune"] = {"pairs": len(clean), "dropped_pairs": len(pairs) - len(clean), "replay": args.replay,
                             "replayed_from": len(replayed), "base_data": str(base_data),
                             "own": args.eval_data or "the validation share of --data", "before": before}
    if not _save(out, result, metadata, f"fine-tune of {args.from_source}: {out.name}"):
        return 130
    tuned = checkpoint.load(out)
    metadata["fine_tune"]["after"] = {"general": finetune.scores(tuned, *general), "own": finetune.scores(tuned, *own)}
    for split in ("general", "own"):
        b, a = metadata["fine_tune"]["before"][split], metadata["fine_tune"]["after"][split]
        print(f"{split} chrF: {b['chrf']} before, {a['chrf']} after", flush=True)
    if not args.no_eval:
        _evaluate(args, out, metadata, source.metadata, base_data)
    checkpoint.write_json(out / checkpoint.METADATA_FILE, {**metadata, "model_config": result.model_config.to_dict()})
    return _push(args, out) if args.push_to_hub else 0


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        return fine_tune(args, argv) if args.from_source else train(args, argv)
    except UsageError as err:
        print(f"train.py: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
