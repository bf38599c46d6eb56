"""Reading Anki pair files (model/data.py): encodings, line endings, columns, errors, zips, the split."""

from __future__ import annotations

import zipfile

import pytest

from model import data
from model.data import DataFormatError, HeldoutSpec, Pair

PAIRS = [("Go.", "Va !"), ("Hi.", "Salut !"), ("Run!", "Cours !"), ("Wow!", "Ça alors !")]


def _write(path, lines, *, bom=False, newline="\n", attribution=False):
    body = newline.join(
        f"{en}\t{fr}\tCC-BY 2.0 (France) Attribution: tatoeba.org #{i}" if attribution else f"{en}\t{fr}"
        for i, (en, fr) in enumerate(lines)
    ) + newline
    path.write_bytes(("\ufeff" if bom else "").encode("utf-8") + body.encode("utf-8"))
    return path


def _texts(pairs):
    return [(p.english, p.french) for p in pairs]


@pytest.mark.parametrize("bom", [False, True], ids=["utf8", "utf8-bom"])
@pytest.mark.parametrize("newline", ["\n", "\r\n"], ids=["lf", "crlf"])
@pytest.mark.parametrize("attribution", [False, True], ids=["2-columns", "3-columns"])
def test_reads_every_encoding_line_ending_and_column_layout(tmp_path, bom, newline, attribution):
    path = _write(tmp_path / "pairs.txt", PAIRS, bom=bom, newline=newline, attribution=attribution)
    pairs = data.read_pairs(path)
    # No BOM glued to the first English sentence, no "\r" left on the French side.
    assert _texts(pairs) == PAIRS
    assert [p.line for p in pairs] == [1, 2, 3, 4]


def test_mixed_two_and_three_column_lines(tmp_path):
    path = tmp_path / "mixed.txt"
    path.write_text("Go.\tVa !\nHi.\tSalut !\tCC-BY 2.0 (France) Attribution: tatoeba.org #538123\n", encoding="utf-8")
    assert _texts(data.read_pairs(path)) == PAIRS[:2]


def test_blank_lines_are_skipped_and_line_numbers_stay_true(tmp_path):
    path = tmp_path / "blank.txt"
    path.write_text("\nGo.\tVa !\n\n   \nHi.\tSalut !\n\n", encoding="utf-8")
    pairs = data.read_pairs(path)
    assert _texts(pairs) == PAIRS[:2]
    assert [p.line for p in pairs] == [2, 5]


def test_an_anki_files_name_names_its_columns_in_messages(tmp_path):
    path = tmp_path / "spa-eng.txt"
    path.write_text("Go.\tVe.\nHi.\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match=r"spa-eng.txt:2: expected 'English<TAB>Spanish'"):
        data.read_pairs(path)
    path.write_text("Go.\t \n", encoding="utf-8")
    with pytest.raises(DataFormatError, match="the Spanish side is empty"):
        data.read_pairs(path)


@pytest.mark.parametrize(
    "bad_line, why",
    [
        ("Go. Va !", "1 tab-separated field"),  # no tab at all
        ("Go.\tVa !\tattribution\textra", "4 tab-separated field"),
        ("\tVa !", "English side is empty"),
        ("Go.\t ", "French side is empty"),
    ],
)
def test_malformed_line_names_file_and_line_number(tmp_path, bad_line, why):
    path = tmp_path / "broken.txt"
    path.write_text(f"Go.\tVa !\n\nHi.\tSalut !\n{bad_line}\nRun!\tCours !\n", encoding="utf-8")
    with pytest.raises(DataFormatError) as excinfo:
        data.read_pairs(path)
    message = str(excinfo.value)
    assert f"{path}:4:" in message
    assert why in message


def test_invalid_utf8_names_file_and_line(tmp_path):
    path = tmp_path / "latin1.txt"
    path.write_bytes("Go.\tVa !\nWow!\tÇa alors !\n".encode("latin-1"))
    with pytest.raises(DataFormatError, match=rf"{path}:2: not valid UTF-8"):
        data.read_pairs(path)


def test_limit_takes_the_first_num_samples_pairs(tmp_path):
    path = _write(tmp_path / "pairs.txt", PAIRS)
    assert _texts(data.read_pairs(path, limit=3)) == PAIRS[:3]
    # Blank lines are not pairs, so they do not count towards the limit.
    path.write_text("Go.\tVa !\n\n\nHi.\tSalut !\nRun!\tCours !\n", encoding="utf-8")
    assert _texts(data.read_pairs(path, limit=2)) == PAIRS[:2]


def test_limit_stops_before_a_later_malformed_line(tmp_path):
    # The recipe reads only the first num_samples lines, so damage further down must not matter.
    path = tmp_path / "pairs.txt"
    path.write_text("Go.\tVa !\nHi.\tSalut !\nbroken line\n", encoding="utf-8")
    assert _texts(data.read_pairs(path, limit=2)) == PAIRS[:2]
    with pytest.raises(DataFormatError, match=":3:"):
        data.read_pairs(path)


def test_unicode_line_separators_inside_a_sentence_do_not_split_the_line(tmp_path):
    # Anki lines end at "\n" (the recipe splits on it); str.splitlines() would also break lines at
    # U+2028, U+0085 (NEL) or a form feed and report a malformed line that is not there.
    path = tmp_path / "pairs.txt"
    path.write_text("Go.\tVa\u2028!\nHi.\tSalut\x85!\nRun!\tCours\x0c!\n", encoding="utf-8")
    assert _texts(data.read_pairs(path)) == [("Go.", "Va\u2028!"), ("Hi.", "Salut\x85!"), ("Run!", "Cours\x0c!")]


def test_empty_file_is_an_error(tmp_path):
    path = tmp_path / "empty.txt"
    path.write_text("\n\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match="no sentence pairs"):
        data.read_pairs(path)


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere.txt"):
        data.read_pairs(tmp_path / "nowhere.txt")


def test_reads_the_release_zip_and_ignores_about_file(tmp_path):
    txt = _write(tmp_path / "fra.txt", PAIRS, bom=True, newline="\r\n", attribution=True)
    archive = tmp_path / "fra-eng.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("_about.txt", "Tab-delimited Bilingual Sentence Pairs\n")  # not a pair file
        zf.write(txt, "fra.txt")
    text, sha256 = data.read_text(archive)
    assert _texts(data.parse_pairs(text)) == PAIRS
    assert _texts(data.read_pairs(archive, limit=2)) == PAIRS[:2]
    # The recorded hash is the file's own, i.e. the zip's bytes.
    import hashlib

    assert sha256 == hashlib.sha256(archive.read_bytes()).hexdigest()


def test_zip_errors_name_the_member_line(tmp_path):
    archive = tmp_path / "bad.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("fra.txt", "Go.\tVa !\nbroken\n")
    with pytest.raises(DataFormatError, match=r"bad\.zip(!fra\.txt)?:2:"):
        data.read_pairs(archive)
    empty = tmp_path / "nothing.zip"
    with zipfile.ZipFile(empty, "w") as zf:
        zf.writestr("_about.txt", "about")
    with pytest.raises(DataFormatError, match="no pair .txt"):
        data.read_pairs(empty)


def test_rejects_other_file_types(tmp_path):
    path = tmp_path / "pairs.csv"
    path.write_text("Go.,Va !\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match="expected a .txt"):
        data.read_pairs(path)


def test_shared_data_reads_like_the_recipe(shared_data):
    # The recipe: lines = f.read().split("\n"); for line in lines[: min(num_samples, len(lines) - 1)]
    with open(shared_data, "r", encoding="utf-8") as f:
        lines = f.read().split("\n")
    expected = [tuple(line.split("\t")[:2]) for line in lines[: min(10000, len(lines) - 1)]]
    pairs = data.read_pairs(shared_data, limit=10000)
    assert _texts(pairs) == expected
    assert pairs[-1].line == 10000


def test_download_path_goes_through_the_keras_file_cache(monkeypatch, tmp_path):
    # The download cannot run offline; check it asks Keras' cache for the recipe's file and URL.
    keras = pytest.importorskip("keras")
    calls = []

    def fake_get_file(fname, origin, cache_dir=None, **kwargs):
        calls.append((fname, origin, cache_dir))
        return str(tmp_path / fname)

    monkeypatch.setattr(keras.utils, "get_file", fake_get_file)
    path = data.download_fra_eng(cache_dir=str(tmp_path))
    assert calls == [("fra-eng.zip", "http://storage.googleapis.com/download.tensorflow.org/data/fra-eng.zip", str(tmp_path))]
    assert path == tmp_path / "fra-eng.zip"


# --- where the pair file is found: FRA_ENG_DATA, ../shared, the download ------------------------


@pytest.fixture()
def layout(tmp_path):
    """A checkout with ../shared/data/fra-eng/fra.txt beside it, a file for FRA_ENG_DATA, and a download
    that must not happen unless both are missing (it records that it ran)."""
    repo = tmp_path / "clone"
    repo.mkdir()
    (tmp_path / "shared" / "data" / "fra-eng").mkdir(parents=True)
    shared = _write(tmp_path / "shared" / "data" / "fra-eng" / "fra.txt", PAIRS[:2])
    own = _write(tmp_path / "elsewhere.txt", PAIRS[2:])
    downloaded = []

    def download():
        downloaded.append(True)
        return _write(tmp_path / "downloaded.txt", PAIRS)

    return repo, shared, own, download, downloaded


def test_fra_eng_data_variable_comes_first(layout):
    repo, shared, own, download, downloaded = layout
    path = data.resolve_fra_eng({"FRA_ENG_DATA": str(own)}, repo_root=repo, download=download)
    assert path == own and _texts(data.read_pairs(path)) == PAIRS[2:]
    assert shared.is_file() and not downloaded


def test_fra_eng_data_naming_a_missing_file_is_an_error_naming_the_variable(layout):
    repo, shared, own, download, downloaded = layout
    missing = own.parent / "no-such-file.txt"
    with pytest.raises(FileNotFoundError, match="FRA_ENG_DATA") as excinfo:
        data.resolve_fra_eng({"FRA_ENG_DATA": str(missing)}, repo_root=repo, download=download)
    assert str(missing) in str(excinfo.value)
    assert not downloaded  # a typo is reported, never papered over with another copy of the data


def test_without_the_variable_the_shared_folder_beside_the_checkout_is_used(layout):
    repo, shared, own, download, downloaded = layout
    for env in ({}, {"FRA_ENG_DATA": ""}):
        path = data.resolve_fra_eng(env, repo_root=repo, download=download)
        assert path.samefile(shared) and _texts(data.read_pairs(path)) == PAIRS[:2]
    assert not downloaded


def test_the_download_is_the_last_resort(layout):
    repo, shared, own, download, downloaded = layout
    shared.unlink()
    path = data.resolve_fra_eng({}, repo_root=repo, download=download)
    assert downloaded == [True] and _texts(data.read_pairs(path)) == PAIRS


def test_default_environment_is_the_process_environment(layout, monkeypatch):
    repo, shared, own, download, downloaded = layout
    monkeypatch.setenv("FRA_ENG_DATA", str(own))
    assert data.resolve_fra_eng(repo_root=repo, download=download) == own
    monkeypatch.delenv("FRA_ENG_DATA")
    assert data.resolve_fra_eng(repo_root=repo, download=download).samefile(shared)


# --- the held-out split and reference grouping ------------------------------------------------


def test_heldout_split_keeps_all_translations_of_a_sentence_together():
    spec = HeldoutSpec(start_line=1, end_line=10**6, per_mille=500)
    pairs = [Pair(f"sentence {i % 40}", f"phrase {i}", i + 1) for i in range(200)]
    trainable, heldout = data.split_pairs(pairs, spec)
    assert len(trainable) + len(heldout) == len(pairs)
    held_english = {p.english for p in heldout}
    assert held_english and held_english.isdisjoint(p.english for p in trainable)
    # Reproducible and independent of line order.
    again, _ = data.split_pairs(list(reversed(pairs)), spec)
    assert {p.english for p in again} == {p.english for p in trainable}


def test_heldout_window_respects_first_line():
    spec = HeldoutSpec(start_line=10, end_line=20, per_mille=1000)  # everything inside the window
    pairs = [Pair("early", "tôt", 5), Pair("inside", "dedans", 15), Pair("early", "tôt 2", 16), Pair("late", "tard", 30)]
    trainable, heldout = data.split_pairs(pairs, spec)
    # "early" first appears before the window, so even its later line stays trainable.
    assert [p.english for p in heldout] == ["inside"]
    assert [p.french for p in trainable] == ["tôt", "tôt 2", "tard"]


def test_recipe_lines_are_never_held_out(shared_data):
    pairs = data.read_pairs(shared_data, limit=12000)
    _, heldout = data.split_pairs(pairs)
    assert heldout and min(p.line for p in heldout) > 10000


def test_group_references_in_first_appearance_order():
    pairs = [Pair("Hi.", "Salut !", 1), Pair("Go.", "Va !", 2), Pair("Hi.", "Salut.", 3), Pair("Hi.", "Bonjour !", 4)]
    sources, references = data.group_references(pairs)
    assert sources == ["Hi.", "Go."]
    assert references == [["Salut !", "Salut.", "Bonjour !"], ["Va !"]]
