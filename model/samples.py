"""A small held-out sample that ships with the app: English sentences with all their French references.

The app shows examples with their reference French, and a "random held-out sentence" button, on a
fresh clone where the 14 MB pair file is not there. This module builds that sample from the pair
file (`python -m model.samples`), writes it as one JSON file (`DEFAULT_PATH`), and reads it back.

How the sample is drawn:

1. Read the pairs and split them with the held-out split the default checkpoint is evaluated on
   (`splits.evaluation_spec` of its metadata.json, the same call `python -m model evaluate` uses), so
   no sentence here is one a bundled model trained on. All French translations of an English
   sentence are grouped as its references (`data.group_references`), as in evaluation.
2. Keep the English sentences of at most `max_chars` characters (50: the examples stay short, single sentences)
   whose characters are all in that checkpoint's input vocabulary, so the button never offers a
   sentence the default model must refuse.
3. Draw `size` of them with `random.Random(seed).sample`, in the file's order of first appearance.
   The entries are stored in line order (the file is ordered roughly by English length).
4. Examples (`EXAMPLES_RULE`): sort the entries by English length (then text) and take the ones at
   evenly spaced ranks, first and last included, so they run from the shortest to the longest.

Each entry is {"english", "references", "tier", "line"}: `tier` is the English length tier of
`evaluation.TIERS` and `line` the sentence's first line in the pair file, which, with the recorded
split, lets a test check the entry is held out without the pair file. The file also records how it
was made (the command, the git commit, the pair file's sha256, the split) and the data's licence.

The file is in the repository but may be replaced, so `load` checks it as untrusted input: a size
limit, the shape of every entry, lengths, tiers, and examples that are among the entries.
"""

from __future__ import annotations

import argparse
import json
import random
import shlex
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from . import checkpoint, data, splits
from .evaluation import TIERS
from .provenance import REPO_ROOT, git_commit
from .vocab import Vocabulary

FORMAT = "cl_s2s-heldout-sample-v1"  # the file's "format" field; a file without it is refused
DEFAULT_PATH = REPO_ROOT / "checkpoints" / "heldout_sample.json"
DEFAULT_CHECKPOINT = checkpoint.bundled_path("default")  # whose evaluation split and vocabulary the sample follows
DEFAULT_SIZE = 300  # enough for many button presses; ~60 KB of JSON
DEFAULT_SEED = 0
DEFAULT_EXAMPLES = 8  # a row of examples under the textbox
MAX_CHARS = TIERS["31-50"][1]  # 50: the examples and draws stay single short sentences
MAX_SAMPLE_BYTES = 1024 * 1024  # ours is ~60 KB; a replaced file is refused unread above this
MAX_ENTRIES = 5000
MAX_REFERENCES = 50  # the pair file's most translated sentences have about 30
MAX_REFERENCE_CHARS = 500
ENTRY_KEYS = ("english", "references", "tier", "line")  # an entry's JSON object
LICENCE = ("Sentence pairs from the Tatoeba Project (tatoeba.org) via www.manythings.org/anki, "
           "released under CC-BY 2.0 (http://creativecommons.org/licenses/by/2.0); "
           "attribution: www.manythings.org/anki and tatoeba.org")
EXAMPLES_RULE = ("entries sorted by English length, then text; the ones at ranks round(i * (n - 1) / (k - 1)) "
                 "for i = 0 .. k - 1, from the shortest to the longest")


class SampleError(ValueError):
    """A sample file that cannot be used; the message names the file and what is wrong."""


@dataclass(frozen=True)
class SampleEntry:
    english: str
    references: tuple[str, ...]  # every French translation of `english` in the pair file
    tier: str  # a key of evaluation.TIERS
    line: int  # first line of `english` in the pair file

    def to_dict(self) -> dict[str, Any]:
        return {"english": self.english, "references": list(self.references), "tier": self.tier, "line": self.line}

    def __getitem__(self, key: str) -> Any:
        """entry["english"] etc.: an entry also reads like its JSON object (references as a list)."""
        if key not in ENTRY_KEYS:
            raise KeyError(key)
        return self.to_dict()[key]


@dataclass(frozen=True)
class HeldoutSample:
    """A loaded sample: `entries`, `examples` (a few of the entries), and the file's other fields."""

    entries: tuple[SampleEntry, ...]
    examples: tuple[SampleEntry, ...]
    metadata: dict[str, Any] = field(default_factory=dict, compare=False)
    _by_english: dict[str, SampleEntry] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_english", {e.english: e for e in self.entries})

    def references(self, english: str) -> list[str]:
        """The French references of exactly this English sentence; [] when it is not in the sample."""
        entry = self._by_english.get(english)
        return list(entry.references) if entry else []

    def draw(self, rng: random.Random | int | None = None) -> SampleEntry:
        """One entry at random.

        Args:
            rng: a random.Random to draw from, or a seed for a new one (None: an unpredictable one).
        """
        if not isinstance(rng, random.Random):
            rng = random.Random(rng)
        return rng.choice(self.entries)


def tier_of(english: str) -> str | None:
    """The evaluation length tier of a sentence; None when it is longer than every tier."""
    for name, (low, high) in TIERS.items():
        if low <= len(english) <= high:
            return name
    return None


def pick_examples(entries: Sequence[SampleEntry], k: int = DEFAULT_EXAMPLES) -> list[SampleEntry]:
    """The examples by EXAMPLES_RULE: evenly spaced ranks by length, shortest and longest included."""
    ranked = sorted(entries, key=lambda e: (len(e.english), e.english))
    if k <= 0 or not ranked:
        return []
    if k >= len(ranked):
        return ranked
    if k == 1:
        return [ranked[0]]
    return [ranked[round(i * (len(ranked) - 1) / (k - 1))] for i in range(k)]


def build_sample(pairs: Sequence[data.Pair], spec: data.HeldoutSpec, size: int = DEFAULT_SIZE, seed: int = DEFAULT_SEED,
                 max_chars: int = MAX_CHARS, examples: int = DEFAULT_EXAMPLES,
                 vocab: Vocabulary | None = None) -> tuple[list[SampleEntry], list[SampleEntry], dict[str, int]]:
    """Draw the sample from parsed pairs (see the module doc for the steps).

    Args:
        spec: the held-out split; only its held-out sentences are drawn.
        size: entries to draw; fewer when fewer are eligible.
        max_chars: longest English sentence, at most MAX_CHARS (50).
        examples: how many entries to pick as examples.
        vocab: when given, only sentences whose characters are all in its input vocabulary.

    Returns:
        (entries in line order, examples, counts: held-out sentences, those of at most max_chars,
        those the vocabulary also reads, entries drawn).
    """
    if not 1 <= max_chars <= MAX_CHARS:
        raise ValueError(f"max_chars must be from 1 to {MAX_CHARS} (the sample holds short, single sentences), got {max_chars}")
    if size < 1:
        raise ValueError(f"size must be at least 1, got {size}")
    _, heldout = data.split_pairs(pairs, spec)
    first_line: dict[str, int] = {}
    for pair in heldout:
        first_line.setdefault(pair.english, pair.line)
    sources, references = data.group_references(heldout)
    short = [(english, refs) for english, refs in zip(sources, references) if len(english) <= max_chars]
    eligible = [(english, refs) for english, refs in short
                if vocab is None or not vocab.unknown_input_characters(english)]
    drawn = random.Random(seed).sample(eligible, min(size, len(eligible)))
    entries = sorted((SampleEntry(english, tuple(refs), tier_of(english), first_line[english]) for english, refs in drawn),
                     key=lambda e: e.line)
    counts = {"heldout_sentences": len(sources), "short_enough": len(short), "eligible_sentences": len(eligible),
              "entries": len(entries)}
    return entries, pick_examples(entries, examples), counts


# -- reading a sample file that may come from anyone -------------------------------------------------


def _fail(path: Path, message: str) -> SampleError:
    fix = ("retrain, or remove its 'heldout_sample'" if path.name == "metadata.json"
           else "rebuild it with `python -m model.samples`")
    return SampleError(f"{path}: {message}; {fix}")


def _text(value: Any, limit: int) -> bool:
    return isinstance(value, str) and bool(value.strip()) and len(value) <= limit


def _entry(raw: Any, where: str, path: Path) -> SampleEntry:
    if not isinstance(raw, dict):
        raise _fail(path, f"{where} must be an object, found {type(raw).__name__}")
    english, refs, tier, line = (raw.get(k) for k in ENTRY_KEYS)
    if not _text(english, MAX_CHARS):
        raise _fail(path, f"{where}: 'english' must be text of 1 to {MAX_CHARS} characters")
    if (not isinstance(refs, list) or not 1 <= len(refs) <= MAX_REFERENCES
            or not all(_text(r, MAX_REFERENCE_CHARS) for r in refs)):
        raise _fail(path, f"{where}: 'references' must be a list of 1 to {MAX_REFERENCES} texts "
                          f"of at most {MAX_REFERENCE_CHARS} characters")
    if tier != tier_of(english):
        raise _fail(path, f"{where}: 'tier' is {str(tier)[:20]!r}, but a sentence of {len(english)} characters "
                          f"is in tier {tier_of(english)!r}")
    if isinstance(line, bool) or not isinstance(line, int) or line < 1:
        raise _fail(path, f"{where}: 'line' must be a line number (a whole number from 1)")
    return SampleEntry(english, tuple(refs), tier, line)


def load(path: str | Path = DEFAULT_PATH) -> HeldoutSample:
    """Read and check a sample file; every problem is a SampleError naming the file.

    Args:
        path: the JSON file written by `python -m model.samples` (default: the bundled one).
    """
    path = Path(path)
    if not path.is_file():
        raise _fail(path, "missing, or not a regular file")
    size = path.stat().st_size
    if size > MAX_SAMPLE_BYTES:
        raise _fail(path, f"{size:,} bytes, over the {MAX_SAMPLE_BYTES:,}-byte limit for a sample file")
    with path.open("rb") as handle:
        raw = handle.read(MAX_SAMPLE_BYTES + 1)
    if len(raw) > MAX_SAMPLE_BYTES:
        raise _fail(path, f"over the {MAX_SAMPLE_BYTES:,}-byte limit for a sample file")
    try:
        content = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise _fail(path, f"not valid JSON ({err})") from None
    except RecursionError:
        raise _fail(path, "JSON nested too deeply to be a sample file") from None
    if not isinstance(content, dict) or content.get("format") != FORMAT:
        raise _fail(path, f"not a held-out sample file (expected an object with \"format\": \"{FORMAT}\")")
    return _from_content(content, path)


def _from_content(content: dict[str, Any], path: Path) -> HeldoutSample:
    """Check a sample's entries and examples (from a file or a checkpoint's metadata) and build it."""
    raw_entries, raw_examples = content.get("entries"), content.get("examples")
    if not isinstance(raw_entries, list) or not 1 <= len(raw_entries) <= MAX_ENTRIES:
        raise _fail(path, f"'entries' must be a list of 1 to {MAX_ENTRIES} entries")
    entries = tuple(_entry(e, f"entry {i}", path) for i, e in enumerate(raw_entries, start=1))
    by_english = {e.english: e for e in entries}
    if len(by_english) != len(entries):
        raise _fail(path, "an English sentence appears in two entries; its references belong in one")
    if not isinstance(raw_examples, list) or len(raw_examples) > len(entries):
        raise _fail(path, "'examples' must be a list of English sentences from the entries")
    missing = [e for e in raw_examples if not isinstance(e, str) or e not in by_english]
    if missing:
        raise _fail(path, f"example {str(missing[0])[:60]!r} is not one of the entries")
    metadata = {k: v for k, v in content.items() if k not in ("entries", "examples")}
    return HeldoutSample(entries, tuple(by_english[e] for e in raw_examples), metadata)


# -- a checkpoint's own sample ------------------------------------------------------------------------

METADATA_KEY = "heldout_sample"  # metadata.json: a few of the run's held-out sentences, for the app
METADATA_SIZE = 60  # enough for the examples and the random button, a few KB of metadata


def for_metadata(pairs: Sequence[data.Pair], spec: data.HeldoutSpec, vocab: Vocabulary) -> dict[str, Any]:
    """What a training run records under METADATA_KEY: the same draw as the bundled sample, smaller,
    from the run's own held-out split, so an app serving the checkpoint (of any language pair) has
    examples and a random button whose sentences the model never trained on."""
    entries, examples, counts = build_sample(pairs, spec, METADATA_SIZE, vocab=vocab)
    return {"format": FORMAT, "split": {"heldout": spec.to_dict(), **counts}, "examples_rule": EXAMPLES_RULE,
            "examples": [e.english for e in examples], "entries": [e.to_dict() for e in entries]}


def without(recorded: dict[str, Any], english: set[str]) -> dict[str, Any]:
    """A recorded sample (for_metadata's) less the entries whose English is in `english` (a fine-tune's
    own pairs: no longer held out)."""
    return {**recorded, "entries": [e for e in recorded.get("entries", []) if e.get("english") not in english],
            "examples": [e for e in recorded.get("examples", []) if e not in english]}


EMPTY = HeldoutSample((), ())  # no held-out sentences known: the app offers no examples nor random draws


def from_metadata(metadata: dict[str, Any] | None, where: str = "metadata.json") -> HeldoutSample | None:
    """A checkpoint's own sample (METADATA_KEY), checked as a sample file is; None when it has none
    or it has no entries (a run whose held-out split held no short sentence)."""
    content = (metadata or {}).get(METADATA_KEY)
    if not isinstance(content, dict) or not content.get("entries"):
        return None
    if content.get("format") != FORMAT:
        raise _fail(Path(where), f"'{METADATA_KEY}' is not a held-out sample (expected \"format\": \"{FORMAT}\")")
    return _from_content(content, Path(where))


# -- the command ---------------------------------------------------------------------------------------


def _shown(path: Path) -> str:
    """A path as recorded in the file and shown in --help: relative to the repository when inside it."""
    path = Path(path)
    resolved = path.resolve()
    return resolved.relative_to(REPO_ROOT).as_posix() if resolved.is_relative_to(REPO_ROOT) else str(path)


EPILOG = f"""\
The split is the one the checkpoint is evaluated on (splits.evaluation_spec of its metadata.json),
so the bundled models never trained on these sentences. Only English sentences of at most
{MAX_CHARS} characters whose characters the checkpoint's vocabulary reads are drawn; all French
translations of a sentence are kept as its references. The same data, seed and options always give
the same entries.

{textwrap.fill(f"examples: {EXAMPLES_RULE}.", 99)}

example:
  python -m model.samples --data ../shared/data/fra-eng/fra.txt --out checkpoints/heldout_sample.json
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m model.samples", epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Write the small held-out sample the app ships with: English sentences the bundled\n"
                    "models never trained on, each with all its French references, plus a few examples.\n"
                    "The app reads it where the pair file is not there (a fresh clone, the Space).")
    parser.add_argument("--data", metavar="PATH",
                        help="fra-eng pair file (.txt or the release .zip); default: $FRA_ENG_DATA, else "
                             "../shared/data/fra-eng/fra.txt, else the recipe's download")
    parser.add_argument("--out", metavar="PATH", type=Path, default=DEFAULT_PATH,
                        help=f"where to write the JSON sample (default: {_shown(DEFAULT_PATH)}, the file the app reads)")
    parser.add_argument("--checkpoint", metavar="DIR", type=Path, default=DEFAULT_CHECKPOINT,
                        help=f"checkpoint whose evaluation split and input vocabulary to follow "
                             f"(default: {_shown(DEFAULT_CHECKPOINT)}, the default model)")
    parser.add_argument("--size", type=int, default=DEFAULT_SIZE, metavar="N", help="sentences to draw (default %(default)s)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, metavar="S", help="random seed of the draw (default %(default)s)")
    parser.add_argument("--max-chars", type=int, default=MAX_CHARS, metavar="N",
                        help=f"longest English sentence, at most {MAX_CHARS} (default %(default)s)")
    parser.add_argument("--examples", type=int, default=DEFAULT_EXAMPLES, metavar="K",
                        help="how many entries to pick as the app's examples (default %(default)s)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    try:
        directory = args.checkpoint
        metadata = checkpoint.read_metadata(directory)
        vocab = Vocabulary.from_dict(checkpoint.read_json(directory / checkpoint.VOCAB_FILE, root=directory))
        spec = splits.evaluation_spec(metadata)
        source = Path(args.data) if args.data else data.resolve_fra_eng()
        text, sha256 = data.read_text(source)
        pairs = data.parse_pairs(text, str(source))
        entries, examples, counts = build_sample(pairs, spec, args.size, args.seed, args.max_chars, args.examples, vocab)
    except (OSError, ValueError, checkpoint.CheckpointError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if not entries:
        print(f"error: {source} holds no held-out sentence of at most {args.max_chars} characters", file=sys.stderr)
        return 2
    expected = metadata.get("data", {}).get("sha256")
    content = {
        "format": FORMAT,
        "command": shlex.join(["python", "-m", "model.samples", *argv]),
        "git_commit": git_commit(),
        "licence": LICENCE,
        "data": {"source": str(source), "sha256": sha256, "pairs": len(pairs),
                 "same_as_checkpoint": None if expected is None else expected == sha256},
        "split": {"checkpoint": _shown(directory), "heldout": spec.to_dict(), **counts},
        "draw": {"seed": args.seed, "size": args.size, "max_chars": args.max_chars,
                 "vocabulary": f"input characters of {_shown(directory)}"},
        "tiers": {name: sum(e.tier == name for e in entries) for name in TIERS},
        "examples_rule": EXAMPLES_RULE,
        "examples": [e.english for e in examples],
        "entries": [e.to_dict() for e in entries],
    }
    out = args.out
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(content, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    try:
        load(out)  # what we write must pass the checks the app applies
    except SampleError as err:
        print(f"error: the written file does not load: {err}", file=sys.stderr)
        return 2
    if expected and expected != sha256:
        print(f"warning: {source} differs from the data {directory} was trained on", file=sys.stderr)
    print(f"wrote {out}: {len(entries)} of {counts['eligible_sentences']} eligible held-out sentences "
          f"({counts['heldout_sentences']} held out), {len(examples)} examples, {out.stat().st_size:,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
