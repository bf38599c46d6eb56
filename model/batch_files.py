"""Batch files: reading uploaded sentences, translating them row by row, writing a CSV that is safe to open.

A `.txt` file holds one sentence per line; a `.csv` file has a column named `english`. Rows the
model cannot translate (too long, unknown characters) get their error in the output CSV's `error`
column; only a file that cannot be read at all (wrong type, not UTF-8, too big, no `english`
column) is rejected as a whole. A `.csv` field is never too long for the reader: the file's size
limit is the only size limit, and an over-long sentence is a row error, as in a `.txt` file.

Formula injection. The output CSV repeats text that visitors sent and that the model wrote, and a
spreadsheet runs a cell that starts with `=`, `+`, `-` or `@` as a formula (`=HYPERLINK(...)`,
`=cmd|' /C calc'!A0`); a leading tab or carriage return can hide one. As OWASP's "CSV Injection"
page recommends, every text cell that starts with one of those characters is written with a leading
apostrophe (`'=SUM(A1)`), which spreadsheets show as text and do not evaluate. Numbers we write
(row, score) are left alone. A reader that needs the exact text strips one leading apostrophe from
cells that start with `'` followed by one of those characters.
"""

from __future__ import annotations

import csv
import io
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from .translator import DecodeOptions, InputError, Translator
from .validation import check_text

MAX_BATCH_ROWS = 1000  # rows per uploaded file; ~1000 short sentences translate in a few seconds on 2 CPUs
MAX_BATCH_BYTES = 256 * 1024  # 1000 rows of 100 characters plus CSV overhead fit easily
BATCH_CHUNK = 64  # rows translated per engine call: progress updates without slowing the batch down
COLUMNS = ["row", "english", "french", "score", "error"]
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")  # OWASP: cells a spreadsheet may treat as a formula

# The csv module refuses fields over 131,072 characters, which would reject a whole file over one bad
# line; any field of a file within MAX_BATCH_BYTES fits under this limit, so row checks decide instead.
if csv.field_size_limit() < MAX_BATCH_BYTES:
    csv.field_size_limit(min(sys.maxsize, 4 * MAX_BATCH_BYTES))


class BatchFileError(ValueError):
    """An uploaded file that cannot be read as a whole; the message says why and what is accepted."""


@dataclass
class BatchRow:
    row: int  # 1-based line (.txt) or data row (.csv) number
    english: str
    french: str = ""
    score: float | None = None
    error: str = ""


def read_batch_file(path: str | os.PathLike, max_rows: int = MAX_BATCH_ROWS, max_bytes: int = MAX_BATCH_BYTES) -> list[BatchRow]:
    """Read a .txt (one sentence per line) or .csv (column `english`) file into rows to translate.

    Blank lines are skipped. Raises BatchFileError for a file that cannot be used at all.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".txt", ".csv"):
        raise BatchFileError(f"{path.name}: upload a .txt file (one sentence per line) or a .csv file with a column 'english'")
    size = path.stat().st_size
    if size > max_bytes:
        raise BatchFileError(f"{path.name} is {size:,} bytes; the limit is {max_bytes:,} bytes ({max_rows} sentences)")
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise BatchFileError(f"{path.name}: not UTF-8 text (byte {err.start}); save it as UTF-8 and upload again") from None
    rows: list[BatchRow] = []
    if suffix == ".txt":
        for number, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                rows.append(BatchRow(number, line))
    else:
        try:
            reader = csv.DictReader(io.StringIO(text, newline=""))
            fields = [f.strip().lower() for f in (reader.fieldnames or [])]
            if "english" not in fields:
                raise BatchFileError(f"{path.name}: no column named 'english' (found: {', '.join(reader.fieldnames or []) or 'nothing'})")
            column = (reader.fieldnames or [])[fields.index("english")]
            for number, record in enumerate(reader, start=1):
                value = record.get(column) or ""
                if value.strip():
                    rows.append(BatchRow(number, value))
        except csv.Error as err:
            raise BatchFileError(f"{path.name}: not a readable CSV file ({err})") from None
    if not rows:
        raise BatchFileError(f"{path.name}: no sentences found")
    if len(rows) > max_rows:
        raise BatchFileError(f"{path.name} has {len(rows)} sentences; the limit is {max_rows} per file")
    return rows


def translate_rows(translator: Translator, rows: list[BatchRow], options: DecodeOptions,
                   progress: Callable[[int, int], None] | None = None, chunk: int = BATCH_CHUNK) -> list[BatchRow]:
    """Translate rows in chunks; a row the model cannot take gets its message in `error`.

    Args:
        options: already checked (`validation.decode_options`).
        progress: called as progress(done, total) after each chunk.
    """
    for start in range(0, len(rows), chunk):
        part = rows[start : start + chunk]
        texts = []
        for row in part:
            try:
                texts.append(check_text(row.english))
            except InputError as err:
                row.error = str(err)
                texts.append("")  # translate_batch reports it as empty; the first error is kept
        for row, result in zip(part, translator.translate_batch(texts, options)):
            if row.error:
                continue
            if isinstance(result, InputError):
                row.error = str(result)
            else:
                row.french, row.score = result.translation, round(result.score, 4)
                if result.warnings:
                    row.error = "warning: " + "; ".join(result.warnings)
        if progress:
            progress(min(start + chunk, len(rows)), len(rows))
    return rows


def neutralise(cell: str) -> str:
    """A text cell a spreadsheet will show as text: a leading apostrophe before =, +, -, @, tab or CR."""
    return "'" + cell if cell.startswith(FORMULA_PREFIXES) else cell


def write_results_csv(rows: Sequence[BatchRow], path: str | os.PathLike) -> Path:
    """Write row, english, french, score, error as UTF-8 CSV; text cells are neutralised (see module doc)."""
    path = Path(path)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for row in rows:
            writer.writerow([row.row, neutralise(row.english), neutralise(row.french),
                             "" if row.score is None else row.score, neutralise(row.error)])
    return path
