"""Reading Anki-format sentence pairs, the held-out split, and vectorizing them for the network.

An Anki/Tatoeba file has one pair per line: `English<TAB>French`, optionally followed by a third
attribution column. The keras.io recipe trains on the first `num_samples` lines of the file, which
are the shortest sentences because the file is ordered roughly by English length.

The held-out split is chosen by hashing each English sentence, so it is reproducible, independent
of line order, and identical for every checkpoint: training always excludes it, and evaluation
always reads it. All French translations of one English sentence travel together (as multiple
references), so no model is scored on a sentence it was trained on.
"""

from __future__ import annotations

import hashlib
import io
import os
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Iterable, Mapping, Sequence

import numpy as np

from .languages import DEFAULT_PAIR, from_data_name
from .vocab import END, PAD, START, Vocabulary

# Where the keras.io recipe downloads the data: the 2019 release, which gives the recipe's
# 70 input / 93 target characters. Newer manythings.org releases have a different vocabulary.
FRA_ENG_URL = "http://storage.googleapis.com/download.tensorflow.org/data/fra-eng.zip"
FRA_ENG_MEMBER = "fra.txt"  # the pair file inside the zip (a zip may also hold _about.txt)
# Where `resolve_fra_eng` looks for the pair file, in order: this environment variable (a path), the
# shared data folder beside a checkout (the project's own CI lays it out so), then the download.
FRA_ENG_ENV = "FRA_ENG_DATA"
REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_FRA_ENG = Path("..", "shared", "data", "fra-eng", "fra.txt")  # relative to the repository root


class DataFormatError(ValueError):
    """A pair file that cannot be read; the message names the file and the line."""


@dataclass(frozen=True)
class Pair:
    english: str
    french: str
    line: int  # 1-based line number in the source file, for error messages and the split


@dataclass(frozen=True)
class HeldoutSpec:
    """Which English sentences are held out: a fixed fraction of those first seen in a line window.

    The window starts after the recipe's 10,000 lines so the faithful reproduction trains on
    exactly its lines, and runs to the end of the file, so held-out sentences come from the whole
    corpus. Checkpoints trained with the earlier window (lines 10,001-60,000, recorded in their
    metadata) held out exactly the same sentences inside it: the hash decides, not the window, so
    the whole-file split is a superset that none of them trained on (see `covers`).
    """

    start_line: int = 10001  # first line (1-based) that may be held out
    end_line: int = 0  # last line that may be held out; 0: the end of the file
    per_mille: int = 20  # 2% of the English sentences in the window
    salt: str = "cl_s2s-heldout-v1"

    def is_heldout(self, english: str, first_line: int) -> bool:
        if first_line < self.start_line or (self.end_line and first_line > self.end_line):
            return False
        digest = hashlib.sha256(f"{self.salt}\0{english}".encode("utf-8")).digest()
        return int.from_bytes(digest[:4], "big") % 1000 < self.per_mille

    def to_dict(self) -> dict:
        return asdict(self)

    def covers(self, other: "HeldoutSpec") -> bool:
        """True when every sentence `other` holds out is held out here too (same hash, wider window)."""
        same_hash = (self.salt, self.per_mille, self.start_line) == (other.salt, other.per_mille, other.start_line)
        return same_hash and (self.end_line == 0 or (other.end_line != 0 and other.end_line <= self.end_line))


def _decode(raw: bytes, source: str) -> str:
    try:
        return raw.decode("utf-8-sig")  # utf-8-sig drops a leading BOM if there is one
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise DataFormatError(f"{source}:{line}: not valid UTF-8 ({err.reason})") from None


def read_text(path: str | Path) -> tuple[str, str]:
    """Return (text, sha256 of the raw bytes) of a `.txt` pair file or the release `.zip`."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"data file not found: {path} (pass a .txt pair file or the fra-eng .zip)")
    raw = path.read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    if zipfile.is_zipfile(io.BytesIO(raw)):
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            members = [n for n in archive.namelist() if n.endswith(".txt") and not Path(n).name.startswith("_")]
            preferred = [n for n in members if Path(n).name == FRA_ENG_MEMBER]
            if not (preferred or members):
                raise DataFormatError(f"{path}: the zip holds no pair .txt file (found {archive.namelist()})")
            member = (preferred or members)[0]
            return _decode(archive.read(member), f"{path}!{member}"), digest
    if path.suffix.lower() not in (".txt", ".tsv", ""):
        raise DataFormatError(f"{path}: expected a .txt pair file or a .zip release, got {path.suffix!r}")
    return _decode(raw, str(path)), digest


def _side_names(source: str) -> tuple[str, str]:
    """The two columns' languages for messages: from an Anki file's name (spa-eng.txt: English, Spanish),
    else English and French, the recipe's pair."""
    pair = from_data_name(source) or DEFAULT_PAIR
    return pair.source.name, pair.target.name


def parse_pairs(text: str, source: str = "<text>", limit: int | None = None) -> list[Pair]:
    """Parse Anki-format lines. Blank lines are skipped; a malformed line raises DataFormatError.

    Args:
        text: file contents (any of LF, CRLF or CR line endings).
        source: file name used in error messages.
        limit: stop after this many pairs (the recipe's `num_samples`); None reads everything.
    """
    pairs: list[Pair] = []
    sides = _side_names(source)
    # Not str.splitlines(): that also breaks at U+2028, NEL, form feeds etc., which may occur
    # inside a sentence; a line ends at "\n" (the recipe splits on it), "\r\n" or a lone "\r".
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) not in (2, 3):
            raise DataFormatError(
                f"{source}:{number}: expected '{sides[0]}<TAB>{sides[1]}' with an optional third attribution "
                f"column, found {len(fields)} tab-separated field(s): {line[:80]!r}"
            )
        english, french = fields[0], fields[1]
        if not english.strip() or not french.strip():
            side = sides[0] if not english.strip() else sides[1]
            raise DataFormatError(f"{source}:{number}: the {side} side is empty: {line[:80]!r}")
        if START in english + french or END in english + french:
            raise DataFormatError(f"{source}:{number}: contains a reserved control character")
        pairs.append(Pair(english, french, number))
        if limit is not None and len(pairs) >= limit:
            break
    if not pairs:
        raise DataFormatError(f"{source}: no sentence pairs found")
    return pairs


def read_pairs(path: str | Path, limit: int | None = None) -> list[Pair]:
    """Read pairs from a `.txt` or `.zip` file; see `parse_pairs`."""
    text, _ = read_text(path)
    return parse_pairs(text, str(path), limit)


def download_fra_eng(cache_dir: str | None = None) -> Path:
    """Download the recipe's fra-eng.zip through Keras' file cache (~/.keras/datasets) and return it.

    Unlike the recipe we never shell out to `unzip`: `read_text` reads the zip directly.
    """
    import keras  # imported here so reading local data never needs TensorFlow

    return Path(keras.utils.get_file("fra-eng.zip", origin=FRA_ENG_URL, cache_dir=cache_dir))


def resolve_fra_eng(
    env: Mapping[str, str] = os.environ, repo_root: Path = REPO_ROOT, download: Callable[[], Path] = download_fra_eng,
) -> Path:
    """The fra-eng pair file: $FRA_ENG_DATA, else ../shared/data/fra-eng/fra.txt, else the recipe's download.

    A variable that is set must name a file: a typo is an error naming the variable, never a silent
    fall back to another copy of the data. An empty variable counts as unset.

    Args:
        env: the environment to read FRA_ENG_DATA from.
        repo_root: the checkout that ../shared is relative to.
        download: fetches the recipe's zip when neither is there (default: Keras' file cache).
    """
    given = env.get(FRA_ENG_ENV, "")
    if given:
        path = Path(given).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"{FRA_ENG_ENV}={given!r} is not a file; point {FRA_ENG_ENV} at the fra-eng "
                                    f"pair file (fra.txt or fra-eng.zip), or unset it to use "
                                    f"{SHARED_FRA_ENG.as_posix()} or the download")
        return path
    shared = Path(repo_root) / SHARED_FRA_ENG
    if shared.is_file():
        return shared.resolve()
    return Path(download())


def split_pairs(
    pairs: Sequence[Pair], spec: HeldoutSpec = HeldoutSpec()
) -> tuple[list[Pair], list[Pair]]:
    """Split pairs into (trainable, held-out); all pairs of a held-out English sentence go together."""
    first_line: dict[str, int] = {}
    for pair in pairs:
        first_line.setdefault(pair.english, pair.line)
    held = {e for e, line in first_line.items() if spec.is_heldout(e, line)}
    trainable = [p for p in pairs if p.english not in held]
    heldout = [p for p in pairs if p.english in held]
    return trainable, heldout


def group_references(pairs: Iterable[Pair]) -> tuple[list[str], list[list[str]]]:
    """Group pairs by English sentence, in order of first appearance: (sources, references per source)."""
    groups: dict[str, list[str]] = {}
    for pair in pairs:
        groups.setdefault(pair.english, []).append(pair.french)
    return list(groups), list(groups.values())


def fingerprint(texts: Iterable[str]) -> str:
    """sha256 of a list of sentences, to record exactly which sentences a split holds."""
    digest = hashlib.sha256()
    for text in texts:
        digest.update(text.encode("utf-8") + b"\0")
    return digest.hexdigest()


def wrap_target(french: str) -> str:
    return START + french + END


def vectorize_onehot(
    input_texts: Sequence[str], target_texts: Sequence[str], vocab: Vocabulary
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The recipe's float32 one-hot arrays: (encoder_input, decoder_input, decoder_target).

    `target_texts` are wrapped in START/END. Everything is padded with spaces; the decoder target
    is the decoder input shifted left by one step.
    """
    n = len(input_texts)
    enc_ids = ids_padded(input_texts, vocab.input_token_index, vocab.max_encoder_seq_length, vocab.input_pad_index)
    dec_ids = ids_padded(
        target_texts, vocab.target_token_index, vocab.max_decoder_seq_length, vocab.target_token_index[PAD]
    )
    eye_in = np.eye(vocab.num_encoder_tokens, dtype="float32")
    eye_out = np.eye(vocab.num_decoder_tokens, dtype="float32")
    target_ids = np.full_like(dec_ids, vocab.target_token_index[PAD])
    target_ids[:, :-1] = dec_ids[:, 1:]
    assert enc_ids.shape[0] == n
    return eye_in[enc_ids], eye_out[dec_ids], eye_out[target_ids]


def ids_padded(texts: Sequence[str], index: dict[str, int], length: int, pad_id: int | None) -> np.ndarray:
    """Integer ids of `texts`, each padded with `pad_id` (or cut) to `length`."""
    out = np.full((len(texts), length), -1 if pad_id is None else pad_id, dtype="int32")
    for row, text in enumerate(texts):
        ids = [index[c] for c in text[:length]]
        out[row, : len(ids)] = ids
    if (out < 0).any():
        raise ValueError("texts shorter than the padded length but the vocabulary has no pad character")
    return out


def vectorize_masked(
    input_texts: Sequence[str], target_texts: Sequence[str], vocab: Vocabulary
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Integer arrays for the improved recipe: (encoder_ids, decoder_input_ids, decoder_target_ids).

    Inputs are shifted by one so that id 0 means "padding" and can be masked (Embedding mask_zero);
    targets are plain sparse ids with -1 on padded steps, which become zero sample weights.
    Each array is as long as its longest text, so callers should bucket texts of similar length.
    """
    enc_len = max(len(t) for t in input_texts)
    dec_len = max(len(t) for t in target_texts) - 1  # the decoder reads all but END, predicts all but START
    enc = np.zeros((len(input_texts), enc_len), dtype="int32")
    dec_in = np.zeros((len(target_texts), dec_len), dtype="int32")
    dec_out = np.full((len(target_texts), dec_len), -1, dtype="int32")
    for row, (src, tgt) in enumerate(zip(input_texts, target_texts)):
        enc[row, : len(src)] = [vocab.input_token_index[c] + 1 for c in src]
        ids = [vocab.target_token_index[c] for c in tgt]
        dec_in[row, : len(ids) - 1] = np.asarray(ids[:-1]) + 1
        dec_out[row, : len(ids) - 1] = ids[1:]
    return enc, dec_in, dec_out
