"""Where a translated file is written, and when it is removed.

A result CSV is written inside Gradio's cache, so Gradio serves it without copying it. Each result
gets its own folder, `translations/<session>/<call>/`, so the download keeps the file's own name and
two calls never share a path. A folder is removed as soon as nobody can download its file any more:

- when the same session writes its next result (the page shows only the latest; an API client that
  calls again has its earlier answer), unless that earlier call is still running;
- when the visitor closes the tab (Gradio's `unload` event calls `end_session`);
- otherwise, Gradio's delete_cache sweep removes the file after an hour (an API client has no tab to
  close), and the next result removes the empty folders it left.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import gradio as gr

OUTPUT_FOLDER = "translations"  # inside Gradio's cache, so delete_cache covers what is left behind
# The folders of calls still running, for every BatchResults of the process (tests and `main()` make
# several over one cache folder): none of them ever removes a folder another is writing to.
_RUNNING: set[Path] = set()
_LOCK = threading.Lock()


class BatchResults:
    """One folder per batch-file result, removed when it is no longer needed (see the module docstring).

    Args:
        root: where the folders go; Gradio's cache folder/translations if None.
    """

    def __init__(self, root: Path | None = None):
        self._root = root

    @property
    def root(self) -> Path:
        return self._root or Path(gr.utils.get_upload_folder()) / OUTPUT_FOLDER

    def _session_folder(self, session: str | None) -> Path | None:
        # Gradio's session hashes are short alphanumeric strings; anything else never names a path.
        if not session or not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", session):
            return None
        return self.root / session

    @contextmanager
    def folder(self, session: str | None) -> Iterator[Path]:
        """A fresh folder for one result of `session`; the session's earlier results are removed.

        Args:
            session: Gradio's session hash; None (a direct call) gets a folder of its own that only
                the sweep removes.
        """
        session_folder = self._session_folder(session)
        parent = session_folder or self.root / "_"
        with _LOCK:
            self._remove_empty()
            parent.mkdir(parents=True, exist_ok=True)
            if session_folder is not None:
                self._remove(p for p in session_folder.iterdir() if p not in _RUNNING)
            folder = Path(tempfile.mkdtemp(dir=parent))
            _RUNNING.add(folder)
        try:
            yield folder
        finally:
            with _LOCK:
                _RUNNING.discard(folder)

    def end_session(self, session: str | None) -> None:
        """Remove every result of a session whose tab was closed (none of its calls may still be running)."""
        session_folder = self._session_folder(session)
        if session_folder is None or not session_folder.exists():
            return
        with _LOCK:
            if not any(p.parent == session_folder for p in _RUNNING):
                self._remove([session_folder])

    @staticmethod
    def _remove(paths) -> None:
        for path in list(paths):
            shutil.rmtree(path, ignore_errors=True)

    def _remove_empty(self) -> None:
        """Folders the hourly sweep emptied: call folders first, then the session folders they were in.
        Called under _LOCK, which every new folder is made under, so an empty folder is never one a
        call is about to write to."""
        if not self.root.is_dir():
            return
        for pattern in ("*/*", "*"):
            for path in self.root.glob(pattern):
                try:
                    if path.is_dir() and path not in _RUNNING:
                        path.rmdir()  # only succeeds on an empty folder
                except OSError:
                    pass
