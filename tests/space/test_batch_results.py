"""Result folders of translated files (space/batch_results.py): one per result, gone once nobody can
download it: the session's next result replaces it, closing the tab removes the session's results."""

from __future__ import annotations

from pathlib import Path

import gradio as gr

from space.batch_results import OUTPUT_FOLDER, BatchResults

from tests.space.live import GOOD


def _write(results: BatchResults, session, name="in-fr.csv") -> Path:
    with results.folder(session) as folder:
        out = folder / name
        out.write_text("row,english,french\n", encoding="utf-8")
    return out


def test_a_sessions_next_result_replaces_its_previous_one(tmp_path):
    results = BatchResults(tmp_path)
    first = _write(results, "abc123")
    other = _write(results, "zzz999")
    second = _write(results, "abc123")
    assert second.is_file() and other.is_file() and second.name == "in-fr.csv"  # the download keeps its name
    assert not first.exists() and not first.parent.exists()  # the file and its folder
    assert sorted(p.name for p in tmp_path.iterdir()) == ["abc123", "zzz999"]


def test_a_result_still_being_written_is_never_removed(tmp_path):
    results = BatchResults(tmp_path)
    with results.folder("abc123") as running:
        done = _write(results, "abc123")  # a second call of the same session while the first runs
        assert running.is_dir()
        results.end_session("abc123")  # closing the tab waits for the running call
        assert running.is_dir() and done.is_file()
    results.end_session("abc123")
    assert not (tmp_path / "abc123").exists()


def test_no_session_name_ever_becomes_a_path(tmp_path):
    results = BatchResults(tmp_path)
    for session in (None, "", "../../etc", "a/b", "x" * 65):
        out = _write(results, session)
        assert out.parent.parent == tmp_path / "_"
        results.end_session(session)  # nothing to remove, and nothing outside the root is touched
    assert len(list((tmp_path / "_").iterdir())) == 5


def test_folders_the_hourly_sweep_emptied_are_removed(tmp_path):
    results = BatchResults(tmp_path)
    old = _write(results, "abc123")
    old.unlink()  # what Gradio's delete_cache does: files only
    _write(results, "zzz999")
    assert not old.parent.exists() and not (tmp_path / "abc123").exists()


def test_the_handler_writes_in_gradios_cache_and_keeps_one_result_per_session(handlers, registry, tmp_path):
    upload = tmp_path / "in.txt"
    upload.write_text(f"{GOOD}\n", encoding="utf-8")
    request = gr.Request(session_hash="visitor1")
    paths = [Path(handlers.translate_batch(str(upload), registry.active, request=request,
                                           progress=lambda *a, **k: None)[0]) for _ in range(2)]
    root = Path(gr.utils.get_upload_folder()) / OUTPUT_FOLDER / "visitor1"
    assert paths[1].is_file() and paths[1].is_relative_to(root) and not paths[0].exists()
    handlers.end_session(request)
    assert not root.exists()
