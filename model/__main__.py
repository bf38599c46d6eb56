"""Command line: `python -m model translate|score|evaluate|engine|push ...`. Run with --help for each subcommand.

translate: sentences from the arguments, or from stdin one per line. Stdin is read as UTF-8 bytes
and each line is answered, and flushed, as soon as it has arrived, so the command works as a filter
in a pipe or interactively; lines that arrive together (a file) are translated together in batches,
but no answer ever waits for later input. A line is cut into sentences (model/paragraph.py), which
are translated in one batch and joined with the line's spacing; --no-split reads it as one sequence,
as the keras.io recipe does. Output line N answers input line N: with --jsonl each line gives one
JSON line {"input", "translation", "score", "steps", "nbest", "warnings", "suggest_capitalize",
"sentences"} ("sentences": one such record per sentence; see paragraph.ParagraphTranslation), or
{"input", "error"} for a line that cannot be translated ("input" is null when the line could not
be read: not UTF-8, or over the length limit); in plain mode such a line prints its error, with
its line number, on stderr and an empty line on stdout. A bad line never stops the run: the exit
status reports it at the end (see the list after the options). With --prefix TEXT every translation
starts with TEXT (in the model's target language: French for the bundled models): the decoder is
fed it, then continues as chosen. Messages name the languages the loaded checkpoint records.
"""

from __future__ import annotations

import argparse
import json
import os
import select
import shlex
import sys
import textwrap
import time
from typing import Any, Callable, Iterator
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's C++ start-up chatter is noise here

from . import backends, paragraph, validation  # noqa: E402
from .languages import DEFAULT_PAIR, LanguagePair  # noqa: E402
from .sources import FORMS, SourceError, load_source  # noqa: E402
from .translator import DecodeOptions, InputError  # noqa: E402

MAX_INPUT_CHARS = validation.MAX_PARAGRAPH_CHARS  # a line is a request: a 1 MB line used to take over a minute
BATCH_LINES = 256  # lines per engine call when they arrive together; one call costs about its longest line
READ_CHUNK = 64 * 1024  # bytes per read: a file comes in big chunks (big batches), a terminal line by line
SIGNAL_CHECK_S = 0.25  # how often a read that waits on stdin wakes to see whether Ctrl-C arrived
# The compiled kernels (model/backends.py) load only once they pay: loading costs about 0.6 s of CPU,
# mostly importing numba with the GIL held, and competes with the two threads that translate a file,
# while at batches of 256 the kernels save only 10-27% over NumPy. A file of 3,000 lines took 1.8-2.1 s
# with the kernels loading beside it and 1.2-1.3 s without (attention, 2 cores). So the CLI loads them
# when it waits for input (typing, a slow pipe: the cores are idle then, and batch 1 gains most), or
# once it has translated for KERNELS_AFTER_S (a long file, where they repay their cost).
KERNELS_AFTER_S = 5.0
EXIT_OK, EXIT_SOME_FAILED, EXIT_CANNOT_RUN, EXIT_INTERRUPTED = 0, 1, 2, 130  # 130 = 128 + SIGINT, as shells use
TRANSLATE_EPILOG = f"""\
input limit: a line (or argument) over {MAX_INPUT_CHARS} characters gets an error instead of a translation.

exit status:
  {EXIT_OK}    every sentence was translated
  {EXIT_SOME_FAILED}    at least one sentence failed (its error was reported); the others were translated
  {EXIT_CANNOT_RUN}    nothing ran: impossible options, or the model cannot be loaded
  {EXIT_INTERRUPTED}  interrupted by Ctrl-C; the lines finished before it were printed
"""
SCORE_DOC = """\
Score given translations: read `english<TAB>french` lines and answer each with how likely the model
finds that French for that English, as one JSON line in the shape `translate --jsonl` writes:
{"input", "translation" (the French, as given), "score", "normalized_score", "steps", "nbest",
"warnings", "suggest_capitalize", "disagreements"}.

The decoder is forced through the French, character by character, then the end token. "score" is the
log-probability of all of it, end included: exactly the "score" translate reports for its own output,
so a translation the model would write itself and yours compare directly. "normalized_score" is the
score per character (end included). Each step gives the given character's probability, the model's
own top-k at that step ("top") and, for attention models, the attention over the English, and is
marked "given". "disagreements" lists the steps where the model's first choice is another character:
{"step" (index into steps), "char" (given), "prob", "model" (its choice; "\\n" is the end token),
"model_prob"}.

The English is normalised and checked as translate does (the same flags). The French is taken exactly
as written: a character the model never writes, French longer than the longest the model writes, or a
line without a tab gives that line an error record {"input", "error"} and the run goes on. Lines are
read from stdin (streamed, as translate reads them) or from --input FILE.
"""
SCORE_EPILOG = f"""\
example:
  printf 'Go.\\tVa !\\nHi.\\tSalut.\\n' | python -m model score --model recipe --top-k 3
  python -m model score --input pairs.tsv > scores.jsonl

input limit: a line over {MAX_INPUT_CHARS} characters gets an error record.

exit status:
  {EXIT_OK}    every line was scored
  {EXIT_SOME_FAILED}    at least one line failed (its error record was written); the others were scored
  {EXIT_CANNOT_RUN}    nothing ran: impossible options, an unreadable --input, or the model cannot be loaded
  {EXIT_INTERRUPTED}  interrupted by Ctrl-C; the lines finished before it were printed
"""


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
    _add_input_options(parser)


def _add_input_options(parser: argparse.ArgumentParser) -> None:
    """The options translate and score share: alternatives shown, and how the English is normalised."""
    parser.add_argument("--top-k", type=int, default=5, metavar="K", help="alternatives reported per step (default 5)")
    parser.add_argument("--drop-unknown", action="store_true", help="drop characters outside the vocabulary instead of rejecting the sentence")
    normalisation = parser.add_argument_group(
        "input normalisation", "applied before the vocabulary check; every change is reported as a warning "
                               "(on stderr, or in each --jsonl record)")
    normalisation.add_argument("--no-typography", dest="typography", action="store_false",
                               help="keep curly quotes and apostrophes, dashes, ellipses, no-break spaces and "
                                    "full-width letters or ligatures as typed (default: replace them by the ASCII the "
                                    "training data uses, then apply Unicode NFKC to characters the model does not know)")
    normalisation.add_argument("--no-fold-accents", dest="fold_accents", action="store_false",
                               help="keep accented characters the model does not know, so the sentence is refused "
                                    "(or they are dropped, with --drop-unknown) "
                                    "(default: 'Zürich' -> 'Zurich' when 'ü' is unknown and 'u' known)")
    normalisation.add_argument("--capitalize", action="store_true",
                               help="upper-case the first letter (default: off, and a sentence that starts "
                                    "lower-case gets a warning suggesting this): the training sentences all start "
                                    "with a capital, and 'i am very happy.' translates badly")


def _add_split(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--no-split", dest="split", action="store_false",
                        help="read each line as one sequence, as the keras.io recipe does (default: cut each line into "
                             "sentences, translate them in one batch and join their French with the line's spacing; "
                             f"at most {validation.MAX_SENTENCES} sentences a line)")


def _options(args) -> DecodeOptions:
    # `score` has no decoding flags: it gets the defaults, which it does not use.
    beam_size, temperature = getattr(args, "beam_size", 0), getattr(args, "temperature", None)
    if temperature is not None and beam_size:
        raise ValueError("choose either --beam-size or --temperature, not both")
    method = "beam" if beam_size else "sample" if temperature is not None else "greedy"
    options = DecodeOptions(
        method=method, beam_size=beam_size or 1, length_normalize=getattr(args, "length_normalize", False),
        # Not `args.temperature or 1.0`: that would turn --temperature 0 into sampling at 1.0.
        temperature=1.0 if temperature is None else temperature,
        seed=getattr(args, "seed", 0), top_k=args.top_k, drop_unknown=args.drop_unknown,
        typography=args.typography, fold_accents=args.fold_accents, capitalize=args.capitalize,
    )
    options.validate()
    return options


def _load(source: str, vocab_data: str | None = None):
    try:
        return load_source(source, vocab_data=vocab_data)
    except SourceError as err:
        print(f"error: {err}", file=sys.stderr)
        return None


def _too_long(max_chars: int) -> InputError:
    return InputError(f"the line is longer than {max_chars} characters, the limit; give one sentence per line")


def _decode_line(raw: bytes, max_chars: int) -> str | InputError:
    """One line of stdin (without its newline) as text, or the InputError that says why it cannot be read."""
    if raw.endswith(b"\r"):  # Windows line endings are not part of the sentence
        raw = raw[:-1]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        return InputError(f"not valid UTF-8: byte {raw[err.start]:#04x} at byte {err.start + 1}; "
                          f"the input must be UTF-8 text")
    return _too_long(max_chars) if len(text) > max_chars else text


def _wait_readable(fd: int, on_idle: Callable[[], None] | None = None) -> None:
    """Return once `fd` has input (or end of file), waking every SIGNAL_CHECK_S meanwhile; call
    `on_idle` first if it has none yet (the program is about to wait).

    The kernel may deliver Ctrl-C to any thread that does not block it: BLAS's worker threads and the
    engine's decode threads (translator.PARALLEL_THREADS) included. Then only a flag is set, and a main
    thread blocked in read() would sleep on until the next line arrived. Waking on a timeout lets
    Python see the flag and raise KeyboardInterrupt. (POSIX only: Windows' select takes no pipes.)
    """
    if os.name != "posix":
        return
    if on_idle is not None and not select.select([fd], [], [], 0)[0]:
        on_idle()
    while not select.select([fd], [], [], SIGNAL_CHECK_S)[0]:
        pass


def stdin_lines(fd: int, max_chars: int = MAX_INPUT_CHARS,
                on_idle: Callable[[], None] | None = None) -> Iterator[list[tuple[int, str | InputError]]]:
    """Read `fd` as lines of UTF-8 and yield, after every read, the lines it completed.

    `os.read` returns whatever has arrived, so a line written by a pipe or typed at a terminal is
    yielded as soon as its newline is read, never held back for the next one, while a file comes in
    big chunks that make big batches. A line that grows past the limit is dropped as it streams in,
    so memory stays bounded whatever the input.

    Args:
        fd: file descriptor to read, e.g. `sys.stdin.fileno()`.
        max_chars: longest line, in characters, that is returned as text.
        on_idle: called before a read that would wait for input.

    Yields:
        Lists of (line number from 1, the line's text or the InputError that replaces it).
    """
    max_bytes = 4 * max_chars + 4  # UTF-8 spends at most 4 bytes a character: past this, surely too long
    pending = bytearray()
    skipping = False  # inside a line already known to be too long: drop bytes up to its newline
    number = 0
    while True:
        _wait_readable(fd, on_idle)
        chunk = os.read(fd, READ_CHUNK)
        at_eof = not chunk
        if at_eof and (pending or skipping):
            chunk = b"\n"  # a last line without its newline still counts
        lines = []
        start = 0
        while (end := chunk.find(b"\n", start)) >= 0:
            number += 1
            if skipping:
                lines.append((number, _too_long(max_chars)))
            else:
                pending += chunk[start:end]
                if number == 1 and pending.startswith(b"\xef\xbb\xbf"):
                    del pending[:3]  # a byte-order mark (Windows editors) is not part of the sentence
                lines.append((number, _decode_line(bytes(pending), max_chars)))
            pending.clear()
            skipping = False
            start = end + 1
        if not skipping:
            pending += chunk[start:]
            if len(pending) > max_bytes:
                pending.clear()
                skipping = True
        if lines:
            yield lines
        if at_eof:
            return


class _Tally:
    """What a run has answered so far."""

    def __init__(self):
        self.answered = 0  # lines whose output line was written (it reaches stdout, at the latest, on the way out)
        self.failed = 0


# One batch's items: (label for messages, the input a record shows or None, the request or its InputError).
Item = tuple[str, "str | None", Any]


def _write_results(items: list[Item], run: Callable[[list], list], jsonl: bool, tally: _Tally) -> None:
    """Answer one batch: `run` turns its requests (the items that are not errors) into a Translation or an
    InputError each; print one output line per item.

    Each line is counted in `tally` as soon as its output is written, not once the batch is done: a
    Ctrl-C that lands mid-batch (say, while a warning waits on a full stderr pipe) then reports
    exactly the lines that reach stdout, which the interrupt handler flushes.
    """
    requests = [request for _, _, request in items if not isinstance(request, InputError)]
    results = iter(run(requests) if requests else [])
    for label, text, request in items:
        result = request if isinstance(request, InputError) else next(results)
        if isinstance(result, InputError):
            tally.failed += 1
            where = label if text is None else f"{label}: {text!r}"
            if jsonl:
                sys.stdout.write(json.dumps({"input": text, "error": f"{label}: {result}"}, ensure_ascii=False) + "\n")
            else:
                _to_stderr(f"error: {where}: {result}")
                sys.stdout.write("\n")  # keep output lines aligned with input lines
        elif jsonl:
            sys.stdout.write(json.dumps(result.to_dict(), ensure_ascii=False) + "\n")
        else:
            for warning in result.warnings:
                _to_stderr(f"warning: {label}: {text!r}: {warning}")
            sys.stdout.write(result.translation + "\n")  # one write: an interrupt never leaves half a line
        tally.answered += 1
    sys.stdout.flush()


def _to_stderr(line: str) -> None:
    """One message line in one write (print writes the text and its newline apart): a Ctrl-C while
    stderr is full then leaves the whole line for later, and the summary still starts a line."""
    sys.stderr.write(line + "\n")


def _answer_all(batches: Iterator[list[Item]], run: Callable[[list], list], jsonl: bool, tally: _Tally) -> int:
    """Answer batches as they come, BATCH_LINES items per engine call; the exit status. After
    KERNELS_AFTER_S of answering, the compiled kernels may load (see KERNELS_AFTER_S)."""
    began = time.monotonic()
    for batch in batches:
        for begin in range(0, len(batch), BATCH_LINES):
            _write_results(batch[begin : begin + BATCH_LINES], run, jsonl, tally)
            if time.monotonic() - began >= KERNELS_AFTER_S:
                backends.allow_loading()
    return EXIT_SOME_FAILED if tally.failed else EXIT_OK


def _read_stdin(fd: int) -> Iterator[list[tuple[int, str | InputError]]]:
    """stdin_lines for translate and score: waiting for input is when the kernels load."""
    return stdin_lines(fd, on_idle=backends.allow_loading)


def _guarded(body: Callable[[], int], tally: _Tally) -> int:
    """Run a streaming command: Ctrl-C flushes what was answered and says how much; a closed stdout stops quietly."""
    try:
        return body()
    except KeyboardInterrupt:
        try:
            sys.stdout.flush()
        except OSError:
            pass
        print(f"interrupted by Ctrl-C after {tally.answered} line(s) were answered", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`... | head -1`): stop quietly; point stdout at devnull so that
        # Python's own flush at exit does not fail again with a traceback.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_SOME_FAILED


def _read_options(args) -> DecodeOptions | None:
    try:
        return _options(args)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return None


def cmd_translate(args) -> int:
    tally = _Tally()
    backends.defer_loading()  # the kernels load once they pay: see KERNELS_AFTER_S

    def body() -> int:
        options = _read_options(args)
        if options is None:
            return EXIT_CANNOT_RUN
        translator = _load(args.model, args.vocab_data)
        if translator is None:
            return EXIT_CANNOT_RUN
        if args.prefix:
            try:
                translator.french_ids(args.prefix, "prefix")  # once, up front: it would fail every line
            except InputError as err:
                print(f"error: --prefix: {err}", file=sys.stderr)
                return EXIT_CANNOT_RUN

        def run(texts: list[str]) -> list:
            return paragraph.translate_batch(translator, texts, options,
                                             [args.prefix] * len(texts) if args.prefix else None, split=args.split)

        if args.sentences:
            items = [(f"argument {i}", *_request(_too_long(MAX_INPUT_CHARS) if len(s) > MAX_INPUT_CHARS else s))
                     for i, s in enumerate(args.sentences, 1)]
            batches: Iterator[list[Item]] = iter([items])
        else:
            batches = ([(f"line {n}", *_request(item)) for n, item in lines] for lines in _read_stdin(sys.stdin.fileno()))
        return _answer_all(batches, run, args.jsonl, tally)

    return _guarded(body, tally)


def _request(item: str | InputError) -> tuple[str | None, str | InputError]:
    """A translate item: the text shown in records (None for a line that could not be read) and the request."""
    return (None, item) if isinstance(item, InputError) else (item, item)


def _pair(item: str | InputError, languages: LanguagePair = DEFAULT_PAIR) -> tuple[str | None, tuple[str, str] | InputError]:
    """A score line split at its first tab: the English shown in records (the whole line when it has no
    tab, None when it could not be read) and the (English, French) request, or the InputError."""
    if isinstance(item, InputError):
        return None, item
    english, tab, french = item.partition("\t")
    if not tab:
        example = ", e.g. 'Go.<TAB>Va !'" if languages == DEFAULT_PAIR else ""
        return item, InputError(f"no tab in the line: write {languages.source.name}<TAB>{languages.target.name}{example}")
    return english, (english, french)


def cmd_score(args) -> int:
    tally = _Tally()
    backends.defer_loading()  # the kernels load once they pay: see KERNELS_AFTER_S

    def body() -> int:
        options = _read_options(args)
        if options is None:
            return EXIT_CANNOT_RUN
        fd = sys.stdin.fileno()
        if args.input is not None:
            try:
                fd = os.open(args.input, os.O_RDONLY)
            except OSError as err:
                print(f"error: --input: cannot read {args.input}: {err.strerror}", file=sys.stderr)
                return EXIT_CANNOT_RUN
        try:
            translator = _load(args.model, args.vocab_data)
            if translator is None:
                return EXIT_CANNOT_RUN
            batches = ([(f"line {n}", *_pair(item, translator.languages)) for n, item in lines]
                       for lines in _read_stdin(fd))
            return _answer_all(batches, lambda pairs: paragraph.score_batch(translator, pairs, options, args.split),
                               True, tally)
        finally:
            if args.input is not None:
                os.close(fd)

    return _guarded(body, tally)


def cmd_engine(args) -> int:
    """Load the compiled kernels (compiling them into numba's cache the first time) and say what serves."""
    import time

    start = time.perf_counter()
    ready = backends.wait()
    print(json.dumps({**backends.status(), "load_s": round(time.perf_counter() - start, 3)}, indent=2))
    return 0 if ready or backends.requested() == "numpy" else 1


def cmd_evaluate(args) -> int:
    from . import evaluation, splits

    written = None
    if args.write:
        from .sources import resolve_source

        if args.model.startswith("hf://") or args.split not in splits.METADATA_KEYS or args.limit:
            print("error: --write stores a split's full figures in a local checkpoint: it needs a local --model, "
                  f"--split {' or '.join(splits.METADATA_KEYS)} and no --limit", file=sys.stderr)
            return 2
        try:
            written = resolve_source(args.model)
        except SourceError as err:
            print(f"error: --write: {err}", file=sys.stderr)
            return 1
    translator = _load(args.model, args.vocab_data)
    if translator is None:
        return 1
    backends.wait()  # every sentence on one engine: the compiled one where it loads (about a second)
    runs = evaluation.decoding_runs(args.beam_size, args.length_normalize)
    command = "python -m model " + shlex.join(sys.argv[1:])
    try:
        if args.split == "paragraphs":
            inputs = splits.paragraph_inputs(translator.metadata, args.data, args.limit)
        else:
            sources, references, info = splits.load_split(translator.metadata, args.split, args.data, args.limit)
    except (OSError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    if args.split == "paragraphs":
        if args.errors:
            print("error: --errors lists the sentences of a sentence split; use --split heldout or visitor", file=sys.stderr)
            return 2
        report, all_rows = evaluation.paragraph_report(translator, inputs, runs, command, progress=not args.quiet)
        report = {"model": args.model, **report}
    else:
        report, all_rows = evaluation.report(translator, sources, references, {"model": args.model, **info}, runs,
                                             command, progress=not args.quiet)
    if args.jsonl:
        with open(args.jsonl, "w", encoding="utf-8") as handle:
            for row in all_rows:
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    if args.write:
        evaluation.write_to_checkpoint(written, report, splits.METADATA_KEYS[args.split])
    if args.errors:
        report = {**report, "errors": _write_errors(args, translator, all_rows)}
    print(json.dumps(report, ensure_ascii=False, indent=2))
    return 0


def _write_errors(args, translator, rows: list[dict]) -> dict:
    """`evaluate --errors FILE`: the greedy run's wrong outputs beside training word counts (Markdown)."""
    from . import error_analysis, splits

    counts = error_analysis.word_counts(splits.training_english(translator.metadata, args.data))
    analysed = error_analysis.analyse([r for r in rows if r["decoding"] == "greedy"], counts)
    title = f"Greedy errors of {args.model} on the {args.split} split"
    Path(args.errors).write_text(error_analysis.render(analysed, counts, title), encoding="utf-8")
    return {"file": args.errors, **error_analysis.summary(analysed)}


def cmd_push(args) -> int:
    from . import hub

    try:
        url = hub.push(args.checkpoint, args.repo_id, private=args.private)
    except hub.HubError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(url)
    return 0


def cmd_snapshot(args) -> int:
    from .snapshot import SnapshotError, snapshot

    if args.out.exists() and any(args.out.iterdir()):
        print(f"error: {args.out} is not empty; choose another --out (a snapshot never overwrites)", file=sys.stderr)
        return 2
    try:
        out = snapshot(args.run, args.out, args.epoch, args.data, args.argv[1:])
    except (SnapshotError, OSError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    taken = json.loads((out / "metadata.json").read_text(encoding="utf-8"))["snapshot"]
    print(f"wrote epoch {taken['epoch']} of {args.run} (val_loss {taken['logs'].get('val_loss', float('nan')):.4f}) "
          f"to {out}; evaluate it with: python -m model evaluate --model {out}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from . import splits as splits_module  # plain Python: no TensorFlow behind it

    parser = argparse.ArgumentParser(prog="python -m model", description="Character-level sequence-to-sequence translation: English -> French with the "
                                     "bundled models, or the pair a checkpoint records (train.py --source-language/"
                                     "--target-language, or an Anki file's name).")
    sub = parser.add_subparsers(dest="command", required=True)

    translate = sub.add_parser("translate", help="translate sentences", description=__doc__, epilog=TRANSLATE_EPILOG,
                               formatter_class=argparse.RawDescriptionHelpFormatter)
    translate.add_argument("sentences", nargs="*", help="English sentences (default: read stdin, one per line)")
    _add_model(translate)
    _add_decoding(translate)
    translate.add_argument("--prefix", default="", metavar="TEXT",
                           help="text every translation must start with (in the target language): the decoder is fed TEXT, then continues "
                                "greedily, with --beam-size (every n-best hypothesis starts with it) or with "
                                "--temperature; its steps are marked \"given\" with --jsonl. TEXT is taken exactly "
                                "as written (a trailing space counts), and must use characters the model writes")
    translate.add_argument("--jsonl", action="store_true",
                           help="one JSON object per line, with per-step probabilities: a line of several sentences "
                                "has its joined French on top and one record per sentence in \"sentences\"")
    _add_split(translate)
    translate.set_defaults(func=cmd_translate)

    score = sub.add_parser("score", help="score given translations (english<TAB>french lines): per-character probabilities",
                           description=SCORE_DOC, epilog=SCORE_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    score.add_argument("--input", metavar="FILE", help="read the english<TAB>french lines from FILE (default: stdin)")
    _add_model(score)
    _add_input_options(score)
    _add_split(score)
    score.set_defaults(func=cmd_score)

    evaluate = sub.add_parser("evaluate", help="score a model on a held-out split (chrF, chrF++, BLEU, exact match)",
                              description="Translate a split greedily and with beam search and print sacrebleu figures as JSON.")
    _add_model(evaluate)
    evaluate.add_argument("--data", help="pair file (.txt/.zip); default: the data the checkpoint was trained on, else the recipe's download")
    evaluate.add_argument("--split", choices=splits_module.SPLITS, default="heldout",
                          help="heldout: sentences no checkpoint trains on; val: this checkpoint's validation pairs; "
                               "recipe: the keras.io recipe's first 10,000 lines; visitor: everyday sentences written "
                               "for this project, outside the corpus (model/visitor/); paragraphs: inputs of two or "
                               "three heldout and visitor sentences, translated cut into sentences, whole, and with "
                               "each sentence alone (default: heldout)")
    evaluate.add_argument("--beam-size", type=int, default=4, metavar="N", help="also decode with beam width N; 0 skips beam (default 4)")
    evaluate.add_argument("--length-normalize", action="store_true", help="length-normalised beam scores")
    evaluate.add_argument("--limit", type=int, metavar="N", help="evaluate only the first N sentences of the split")
    evaluate.add_argument("--jsonl", metavar="OUT", help="write every input, output and its references to this JSONL file")
    evaluate.add_argument("--errors", metavar="FILE.md",
                          help="write the greedy outputs that equal no reference, each English word with its count in "
                               "the checkpoint's training pairs, grouped by cause (name, unseen or rare word, common "
                               "words only), and add that summary to the printed JSON")
    evaluate.add_argument("--quiet", action="store_true", help="no progress bar")
    evaluate.add_argument("--write", action="store_true",
                          help="store the report (figures by length tier, commit, decoder version, this command) in "
                               "the checkpoint's metadata.json: 'evaluation' (heldout), 'evaluation_visitor' (visitor) "
                               "or 'evaluation_paragraphs' (paragraphs); local checkpoints only")
    evaluate.set_defaults(func=cmd_evaluate)

    engine = sub.add_parser(
        "engine", help="which decoding engine serves; compiles its kernels into the cache",
        description="Load the compiled decoding kernels, compiling them into numba's cache the first time, and print "
                    "as JSON which engine serves and why, where the kernels are cached and how long loading took. "
                    f"Run it once after installing so that the first start serves compiled. {backends.ENV}=numpy "
                    "turns the compiled engine off; =numba makes every translation wait for it. Exit status 1 when "
                    "the compiled engine is wanted but unavailable.")
    engine.set_defaults(func=cmd_engine)

    push = sub.add_parser("push", help="upload a checkpoint to the Hugging Face Hub with a model card",
                          description="Create OWNER/REPO if needed and upload CHECKPOINT with a generated model card. "
                                      "The token comes from HF_TOKEN or `hf auth login`; HF_ENDPOINT selects the Hub.")
    push.add_argument("checkpoint", metavar="CHECKPOINT", help="checkpoint directory written by train.py")
    push.add_argument("repo_id", metavar="OWNER/REPO", help="model repository to push to")
    push.add_argument("--private", action="store_true", help="create the repository as private")
    push.set_defaults(func=cmd_push)

    snap = sub.add_parser(
        "snapshot", help="a checkpoint of a run still training: its best epoch so far",
        description=textwrap.fill("Write one finished epoch of a train.py run (its --out directory, while it trains or after it "
                    "stopped) as a checkpoint, to evaluate or serve before the run ends. The network and vocabulary "
                    "are rebuilt from the run's settings and data; the run's directory is only read. Without "
                    "--epoch, the saved epoch with the lowest validation loss is taken (the run keeps the last few "
                    "epochs' weights and the best one's).", 99),
        epilog="example:\n  python -m model snapshot checkpoints/long --out runs/long-so-far\n"
               "  python -m model evaluate --model runs/long-so-far --data ../shared/data/fra-eng/fra.txt",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    snap.add_argument("run", metavar="RUN", type=Path, help="the run's --out directory")
    snap.add_argument("--out", required=True, type=Path, metavar="DIR", help="where to write the checkpoint (new or empty)")
    snap.add_argument("--epoch", type=int, metavar="N", help="the epoch to take, 1-based as Keras prints it "
                                                            "(default: the saved one with the lowest val_loss)")
    snap.add_argument("--data", metavar="PATH", help="the run's pair file, if it is no longer where the run read it")
    snap.set_defaults(func=cmd_snapshot)
    return parser


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    args.argv = argv  # what a command records of how it was run
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
