"""The "Translate a file" tab's handlers: an uploaded .txt or .csv in, a CSV of translations out."""

from __future__ import annotations

from pathlib import Path

import gradio as gr

from model import InputError, SourceError, batch_files

from .gradio_fixes import error
from .options import request_options, with_options
from .service import Service
from .views import results


class FileHandlers(Service):
    @with_options
    def translate_batch(self, file: str | None, model: str, options: dict | None = None,
                        request: gr.Request = None, progress=gr.Progress()):
        """Translate an uploaded .txt/.csv file into a downloadable CSV; returns (csv path, summary, preview).

        Each line (a .txt) or `english` cell (a .csv) may hold several sentences: they are translated
        as /translate translates them, and their translations joined in one cell (the `french` column,
        whatever the pair). The API's description is Wording.translate_batch_api (space/wording.py)."""
        if not file:
            raise error("No file", "upload a .txt or .csv file first")
        try:
            rows = batch_files.read_batch_file(file)
            checked = request_options(options)
            translator = self.registry.get(model)
        except (InputError, batch_files.BatchFileError) as err:
            raise error("Can't use this file", err) from None
        except SourceError as err:
            raise error("Model unavailable", err) from None
        progress(0, desc="Translating")
        batch_files.translate_rows(translator, rows, checked,
                                   progress=lambda done, total: progress(done / total, desc=f"{done}/{total} rows"))
        with self.batch_results.folder(getattr(request, "session_hash", None)) as folder:
            out = folder / f"{Path(file).stem}-{self.words.target_code}.csv"
            batch_files.write_results_csv(rows, out)
        headers, preview = batch_files.preview(rows, results=True)
        return str(out), results.batch_summary(rows, Path(file).name), {"headers": headers, "data": preview}

    @staticmethod
    def clear_batch():
        """Before a file runs: no stale CSV, summary or preview from the previous file stays on the page."""
        return None, "", None

    def end_session(self, request: gr.Request):
        """The visitor closed the tab: their translated files can no longer be downloaded from the page."""
        self.batch_results.end_session(getattr(request, "session_hash", None))
