"""Batch files: reading uploaded sentences, translating them row by row, writing a CSV that is safe to open.

A `.txt` file holds one input per line; a `.csv` file has a column named `english`. An input may hold
several sentences: they are translated as the app translates a paragraph (model/paragraph.py) and
their French joined in one cell. Rows the model cannot translate (too long, unknown characters) get their error in the output CSV's `error`
column; only a file that cannot be read at all (wrong type, not UTF-8, too big, no `english`
column, too many columns) is rejected as a whole. A `.csv` field is never too long for the reader:
the file's size limit is the only size limit, and an over-long sentence is a row error, as in a
`.txt` file.

Blank rows (an empty line, or a `.csv` row whose `english` cell is empty) are kept as rows with the
error `BLANK_ROW`, never dropped silently: the page reports them (`blank_rows`), and the output CSV
keeps one line per input row, so a blank row's other cells are not lost. They are not translated
and do not count towards the sentence limit. A `.csv` row is numbered as the reader sees it: data
row n is the spreadsheet's row n + 1 (under the header), blank lines included.

Extra columns. Every other column of an uploaded `.csv` is kept and written back *after* the five
output columns (`COLUMNS`), in the file's order. Keeping our columns first means the output has
the same shape for every upload (a script, the README and the page read `row`, `english`,
`french`, ... at fixed places), and a column of the upload can never push `french` out of sight.
An extra column whose name is one of ours (a `french` reference column, say) is written as
`input_french`; a nameless or repeated header gets a made-up unique name (`column_3`, `note_2`).

Formula injection. The output CSV repeats text that visitors sent and that the model wrote, and a
spreadsheet runs a cell that starts with `=`, `+`, `-` or `@` as a formula (`=HYPERLINK(...)`,
`=cmd|' /C calc'!A0`); a leading tab or carriage return can hide one. As OWASP's "CSV Injection"
page recommends, every text cell that starts with one of those characters is written with a leading
apostrophe (`'=SUM(A1)`), which spreadsheets show as text and do not evaluate; that includes the
kept extra columns and their names. Numbers we write (row, score) are left alone. A reader that
needs the exact text strips one leading apostrophe from cells that start with `'` followed by one
of those characters.

Excel opens a CSV without a byte-order mark in the machine's legacy code page, garbling every
accent ("Ã©" for "é"), so the output starts with the UTF-8 BOM unless asked not to (`bom=False`).
Python's `utf-8-sig`, pandas and LibreOffice read it either way.
"""

from __future__ import annotations

import csv
import io
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from . import paragraph
from .translator import DecodeOptions, InputError, Translator

MAX_BATCH_ROWS = 1000  # sentences per uploaded file; ~1000 short sentences translate in a few seconds on 2 CPUs
MAX_BATCH_BYTES = 256 * 1024  # 1000 rows of 100 characters plus CSV overhead fit easily
MAX_BATCH_COLUMNS = 64  # a .csv's columns: every row is padded to the widest, so this bounds the output's cells
BATCH_CHUNK = 64  # rows translated per engine call: progress updates without slowing the batch down
COLUMNS = ["row", "english", "french", "score", "error"]
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")  # OWASP: cells a spreadsheet may treat as a formula
BLANK_ROW = "blank row: nothing to translate"  # the error of an empty line or an empty `english` cell
CLASH_PREFIX = "input_"  # put before an extra column's name that is one of COLUMNS
PREVIEW_ROWS = 5  # rows of an upload shown on the page before translating
PREVIEW_CELL_CHARS = 200  # a preview cell is cut here: a 200,000-character line stays in the file, not the page

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
    extra: dict[str, str] = field(default_factory=dict)  # a .csv's other cells by column name, in file order

    def __post_init__(self):
        if self.blank and not self.error:  # one rule for every row, read from a file or made by a caller
            self.error = BLANK_ROW

    @property
    def blank(self) -> bool:
        """Nothing to translate: the row is kept (and reported) but never sent to the model."""
        return not self.english.strip()


def _unique_names(header: Sequence[str]) -> list[str]:
    """Column names for a .csv header: a nameless column becomes `column_<n>`, a repeat `<name>_2`."""
    names: list[str] = []
    seen: set[str] = set()
    for position, name in enumerate(header, start=1):
        base = name if name.strip() else f"column_{position}"
        unique, count = base, 1
        while unique.strip().lower() in seen:
            count += 1
            unique = f"{base}_{count}"
        seen.add(unique.strip().lower())
        names.append(unique)
    return names


def _read_csv_rows(text: str, name: str) -> list[BatchRow]:
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, [])
    keys = [f.strip().lower() for f in header]
    if "english" not in keys:
        raise BatchFileError(f"{name}: no column named 'english' (found: {', '.join(header) or 'nothing'})")
    if len(header) > MAX_BATCH_COLUMNS:
        raise BatchFileError(f"{name}: the header has {len(header)} columns; the limit is {MAX_BATCH_COLUMNS}")
    column = keys.index("english")
    names = _unique_names(header)
    rows: list[BatchRow] = []
    for number, record in enumerate(reader, start=1):
        width = max(len(header), len(record))
        if width > MAX_BATCH_COLUMNS:
            raise BatchFileError(f"{name}: data row {number} has {width} columns; the limit is {MAX_BATCH_COLUMNS}")
        if len(record) > len(names):  # cells beyond the header: keep them under made-up names
            names = _unique_names(header + [""] * (len(record) - len(header)))
        cells = record + [""] * (len(names) - len(record))
        english = cells[column]
        extra = {n: cells[i] for i, n in enumerate(names) if i != column}
        rows.append(BatchRow(number, english, extra=extra))
    return rows


def read_batch_file(path: str | os.PathLike, max_rows: int = MAX_BATCH_ROWS, max_bytes: int = MAX_BATCH_BYTES) -> list[BatchRow]:
    """Read a .txt (one sentence per line) or .csv (column `english`) file into rows to translate.

    Blank rows are kept with the error BLANK_ROW (see `blank_rows`); a .csv's other columns are kept
    in each row's `extra`. Raises BatchFileError for a file that cannot be used at all.

    Args:
        max_rows: most sentences (blank rows not counted).
        max_bytes: largest file size.
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
    if suffix == ".txt":
        rows = [BatchRow(number, line) for number, line in enumerate(text.splitlines(), start=1)]
    else:
        try:
            rows = _read_csv_rows(text, path.name)
        except csv.Error as err:
            raise BatchFileError(f"{path.name}: not a readable CSV file ({err})") from None
    sentences = sum(not row.blank for row in rows)
    if not sentences:
        raise BatchFileError(f"{path.name}: no sentences found")
    if sentences > max_rows:
        raise BatchFileError(f"{path.name} has {sentences} sentences; the limit is {max_rows} per file")
    return rows


def blank_rows(rows: Sequence[BatchRow]) -> list[int]:
    """The numbers of the rows with nothing to translate, for the page to report."""
    return [row.row for row in rows if row.blank]


def translate_rows(translator: Translator, rows: list[BatchRow], options: DecodeOptions,
                   progress: Callable[[int, int], None] | None = None, chunk: int = BATCH_CHUNK) -> list[BatchRow]:
    """Translate rows in chunks; a row the model cannot take gets its message in `error`.

    Blank rows are not sent to the model; their error is BLANK_ROW.

    Args:
        options: already checked (`validation.decode_options`).
        progress: called as progress(done, total) after each chunk.
    """
    for start in range(0, len(rows), chunk):
        part = [row for row in rows[start : start + chunk] if not row.blank]  # a blank row has its error
        # A cell may hold several sentences: each is translated, all of the chunk's in one batch.
        translated = paragraph.translate_batch(translator, [row.english for row in part], options) if part else []
        for row, result in zip(part, translated):
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


def _extra_names(rows: Sequence[BatchRow]) -> list[str]:
    names: dict[str, None] = {}
    for row in rows:
        names.update(dict.fromkeys(row.extra))
    return list(names)


def output_columns(rows: Sequence[BatchRow]) -> list[str]:
    """The output CSV's header: COLUMNS, then the upload's extra columns, renamed where they clash."""
    taken = {c.strip().lower() for c in COLUMNS}
    header = list(COLUMNS)
    for name in _extra_names(rows):
        while name.strip().lower() in taken:
            name = CLASH_PREFIX + name
        taken.add(name.strip().lower())
        header.append(name)
    return header


def _result_cells(row: BatchRow, extra_names: Sequence[str]) -> list[Any]:
    return [row.row, row.english, row.french, "" if row.score is None else row.score, row.error,
            *(row.extra.get(name, "") for name in extra_names)]


def write_results_csv(rows: Sequence[BatchRow], path: str | os.PathLike, bom: bool = True) -> Path:
    """Write `output_columns(rows)` as UTF-8 CSV; text cells are neutralised (see module doc).

    Args:
        bom: start with the UTF-8 byte-order mark, so Excel reads the accents right (see module doc).
    """
    path = Path(path)
    extra = _extra_names(rows)
    with path.open("w", encoding="utf-8-sig" if bom else "utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([neutralise(name) for name in output_columns(rows)])
        for row in rows:
            writer.writerow([neutralise(c) if isinstance(c, str) else c for c in _result_cells(row, extra)])
    return path


def _cut(cell: Any) -> Any:
    if isinstance(cell, str) and len(cell) > PREVIEW_CELL_CHARS:
        return cell[: PREVIEW_CELL_CHARS - 1] + "…"
    return cell


def preview(rows: Sequence[BatchRow], n: int = PREVIEW_ROWS, results: bool = False) -> tuple[list[str], list[list[Any]]]:
    """The first `n` rows as (headers, data): a gr.Dataframe takes {"headers": headers, "data": data}.

    Cells are the exact text (a table on the page runs no formulas), cut to PREVIEW_CELL_CHARS.

    Args:
        n: how many rows, blank ones included (they are part of the file).
        results: False: what was read (row, english, then the extra columns); True: every column
            of the output CSV, for rows already translated. Column names are the output CSV's.
    """
    shown = list(rows[: max(n, 0)])
    extra, headers = _extra_names(rows), output_columns(rows)
    if results:
        data = [_result_cells(row, extra) for row in shown]
    else:
        headers = headers[:2] + headers[len(COLUMNS):]
        data = [[row.row, row.english, *(row.extra.get(name, "") for name in extra)] for row in shown]
    return headers, [[_cut(cell) for cell in line] for line in data]
