"""Command line: `python -m model translate|evaluate|push ...`. Run with --help for each subcommand.

translate: sentences from the arguments, or stdin one per line. With --jsonl each sentence gives one
JSON line {"input", "translation", "score", "steps", "nbest", "warnings"}, or {"input", "error"} for a
sentence that cannot be translated; the run goes on. The exit status is non-zero only when nothing
can run at all (e.g. the model cannot be loaded).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's C++ start-up chatter is noise here

from .sources import FORMS, SourceError, load_source  # noqa: E402
from .translator import DecodeOptions, InputError  # noqa: E402


def _add_model(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default="default", metavar="SOURCE", help=f"model to load: {FORMS} (default: default)")
    parser.add_argument("--vocab-data", metavar="PATH",
                        help="fra-eng pair file (.txt/.zip) to rebuild the vocabulary of a legacy SavedModel such as "
                             "hf://keras-io/cl_s2s (default: download the recipe's fra-eng.zip)")


def _add_decoding(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--beam-size", type=int, default=0, metavar="N", help="beam search of width N (default: greedy)")
    parser.add_argument("--length-normalize", action="store_true", help="rank beam hypotheses by score per character")
    parser.add_argument("--temperature", type=float, metavar="T", help="sample with temperature T instead of greedy decoding")
    parser.add_argument("--seed", type=int, default=0, metavar="S", help="sampling seed; the same seed gives the same output (default 0)")
    parser.add_argument("--top-k", type=int, default=5, metavar="K", help="alternatives reported per step (default 5)")
    parser.add_argument("--drop-unknown", action="store_true", help="drop characters outside the vocabulary instead of rejecting the sentence")


def _options(args) -> DecodeOptions:
    if args.temperature is not None and args.beam_size:
        raise ValueError("choose either --beam-size or --temperature, not both")
    method = "beam" if args.beam_size else "sample" if args.temperature is not None else "greedy"
    options = DecodeOptions(
        method=method, beam_size=args.beam_size or 1, length_normalize=args.length_normalize,
        # Not `args.temperature or 1.0`: that would turn --temperature 0 into sampling at 1.0.
        temperature=1.0 if args.temperature is None else args.temperature,
        seed=args.seed, top_k=args.top_k, drop_unknown=args.drop_unknown,
    )
    options.validate()
    return options


def _load(source: str, vocab_data: str | None = None):
    try:
        return load_source(source, vocab_data=vocab_data)
    except SourceError as err:
        print(f"error: {err}", file=sys.stderr)
        return None


def cmd_translate(args) -> int:
    try:
        options = _options(args)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    translator = _load(args.model, args.vocab_data)
    if translator is None:
        return 1
    sentences = args.sentences or [line.rstrip("\r\n") for line in sys.stdin]
    for begin in range(0, len(sentences), 256):
        chunk = sentences[begin : begin + 256]
        for text, result in zip(chunk, translator.translate_batch(chunk, options)):
            if isinstance(result, InputError):
                if args.jsonl:
                    print(json.dumps({"input": text, "error": str(result)}, ensure_ascii=False), flush=True)
                else:
                    print(f"error: {text!r}: {result}", file=sys.stderr)
                    print("", flush=True)  # keep output lines aligned with input lines
                continue
            if args.jsonl:
                print(json.dumps(result.to_dict(), ensure_ascii=False), flush=True)
            else:
                for warning in result.warnings:
                    print(f"warning: {text!r}: {warning}", file=sys.stderr)
                print(result.translation, flush=True)
    return 0


def cmd_evaluate(args) -> int:
    from . import evaluation, splits

    written = None
    if args.write:
        from .sources import resolve_source

        if args.model.startswith("hf://") or args.split != "heldout" or args.limit:
            print("error: --write stores the full held-out figures of a local checkpoint: it needs a local --model, "
                  "--split heldout and no --limit", file=sys.stderr)
            return 2
        try:
            written = resolve_source(args.model)
        except SourceError as err:
            print(f"error: --write: {err}", file=sys.stderr)
            return 1
    translator = _load(args.model, args.vocab_data)
    if translator is None:
        return 1
    try:
        sources, references, info = splits.load_split(translator.metadata, args.split, args.data, args.limit)
    except (OSError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    runs = evaluation.decoding_runs(args.beam_size, args.length_normalize)
    command = "python -m model " + shlex.join(sys.argv[1:])
    report, all_rows = evaluation.report(translator, sources, references, {"model": args.model, **info}, runs,
                                         command, progress=not args.quiet)
    if args.jsonl:
        with open(args.jsonl, "w", encoding="utf-8") as handle:
            for row in all_rows:
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    if args.write:
        evaluation.write_to_checkpoint(written, report)
    print(json.dumps(report, ensure_ascii=False, indent=2))
    return 0


def cmd_push(args) -> int:
    from . import hub

    try:
        url = hub.push(args.checkpoint, args.repo_id, private=args.private)
    except hub.HubError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(url)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m model", description="Character-level English -> French seq2seq translation.")
    sub = parser.add_subparsers(dest="command", required=True)

    translate = sub.add_parser("translate", help="translate sentences", description=__doc__,
                               formatter_class=argparse.RawDescriptionHelpFormatter)
    translate.add_argument("sentences", nargs="*", help="English sentences (default: read stdin, one per line)")
    _add_model(translate)
    _add_decoding(translate)
    translate.add_argument("--jsonl", action="store_true", help="one JSON object per sentence, with per-step probabilities")
    translate.set_defaults(func=cmd_translate)

    evaluate = sub.add_parser("evaluate", help="score a model on a held-out split (chrF, chrF++, BLEU, exact match)",
                              description="Translate a split greedily and with beam search and print sacrebleu figures as JSON.")
    _add_model(evaluate)
    evaluate.add_argument("--data", help="pair file (.txt/.zip); default: the data the checkpoint was trained on, else the recipe's download")
    evaluate.add_argument("--split", choices=("heldout", "val", "recipe"), default="heldout",
                          help="heldout: sentences no checkpoint trains on; val: this checkpoint's validation pairs; "
                               "recipe: the keras.io recipe's first 10,000 lines (default: heldout)")
    evaluate.add_argument("--beam-size", type=int, default=4, metavar="N", help="also decode with beam width N; 0 skips beam (default 4)")
    evaluate.add_argument("--length-normalize", action="store_true", help="length-normalised beam scores")
    evaluate.add_argument("--limit", type=int, metavar="N", help="evaluate only the first N sentences of the split")
    evaluate.add_argument("--jsonl", metavar="OUT", help="write every input, output and its references to this JSONL file")
    evaluate.add_argument("--quiet", action="store_true", help="no progress bar")
    evaluate.add_argument("--write", action="store_true",
                          help="store the report (figures by length tier, commit, decoder version, this command) as "
                               "the checkpoint's 'evaluation' in its metadata.json: local checkpoints, heldout split only")
    evaluate.set_defaults(func=cmd_evaluate)

    push = sub.add_parser("push", help="upload a checkpoint to the Hugging Face Hub with a model card",
                          description="Create OWNER/REPO if needed and upload CHECKPOINT with a generated model card. "
                                      "The token comes from HF_TOKEN or `hf auth login`; HF_ENDPOINT selects the Hub.")
    push.add_argument("checkpoint", metavar="CHECKPOINT", help="checkpoint directory written by train.py")
    push.add_argument("repo_id", metavar="OWNER/REPO", help="model repository to push to")
    push.add_argument("--private", action="store_true", help="create the repository as private")
    push.set_defaults(func=cmd_push)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
