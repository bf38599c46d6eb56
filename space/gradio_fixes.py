"""Workarounds for Gradio 6.31, each with the reason it exists. Recheck every one when Gradio changes:
tests/space/test_gradio_fixes.py fails on any other version, so an upgrade starts here.

- `error`: Gradio's page drops a gr.Error's title, so the title leads the message.
- `unchecked`: Number and Slider bounds checks fail on text or NaN with a generic server error, and
  File.preprocess leaves an empty temporary file behind on every call.
- `lazy_session_configs`: every REST call builds the config of every block of the page.
- GRADIO_ANALYTICS_CACHE_FREQUENCY: the /monitoring summary is rebuilt after every event.
- static/page.js names the result box and the copy buttons, makes the summary a live region and
  empties the footer icons' alt text that repeats their buttons' words; Gradio has no option for these.
- theme.py darkens the Soft theme's colours that fail WCAG AA contrast.
- layout.py asks gr.Tabs to wrap (`overflow_behavior="wrap"`): its "⋯" menu hid tabs on phones.
"""

from __future__ import annotations

import functools
import os
import weakref

import gradio as gr

GRADIO_VERSION = "6.31.0"  # the version these workarounds were written for and checked against

# Gradio 6.31 rebuilds its /monitoring summary (a pandas DataFrame of the last 10,000 events) after
# every event by default: 4 ms per request at 1,000 events, 16 ms at 10,000, in a worker thread that
# holds the GIL the event loop needs. Every 100 events keeps that under 0.2 ms a request; the
# dashboard's figures are at most 100 events old. Set the variable to 1 for Gradio's behaviour.
# Gradio reads it when a Blocks creates its queue, so setting it on import (before build_demo) works.
os.environ.setdefault("GRADIO_ANALYTICS_CACHE_FREQUENCY", "100")


def error(title: str, detail: Exception | str) -> gr.Error:
    """A gr.Error whose message starts with its title, kept as written (no capitalised file names).

    Gradio 6.31's page drops `title`: its error toast reads `status._title`, which its client never
    sets (it sets `title`), so every toast is headed "Error". Leading the message with the title keeps
    it visible there; `title` is still sent for API clients that read it.
    """
    detail = str(detail) or type(detail).__name__
    return gr.Error(f"{title} — {detail}", title=title, print_exception=False)


def unchecked(component, preprocess=lambda payload: payload):
    """Have Gradio hand the handler this component's value as sent, for the handler to check.

    Gradio's Number and Slider check bounds by comparing, so text ("4") or NaN fails with a generic
    server error; model.validation checks every option once, with a message naming the field. And
    Gradio 6.31's File.preprocess opens an empty NamedTemporaryFile in its cache on every call and
    never deletes it; the uploaded path is all the handler needs (pass `upload_path`).
    An instance attribute, not a subclass: Gradio writes a .pyi file beside any module defining one.
    """
    component.preprocess = preprocess
    return component


def upload_path(payload):
    """A File's preprocess that returns the uploaded file's path and creates nothing (see `unchecked`)."""
    return None if payload is None else payload.path


class _LazyConfigValues(dict):
    """A session's `config_values` (block id -> config), built only when something reads it whole.

    Gradio 6.31's SessionState builds the config of every block of the page when a session starts,
    as a snapshot for its /gradio_api/deep_link route (gr.DeepLinkButton, which this page does not
    use). Each REST call (`POST /gradio_api/call/translate`) is a new session, so for this page's
    86 blocks that was ~6 ms of the event loop and ~130 KB kept per request (up to 10,000 sessions):
    most of the API's overhead over the echo floor. Gradio writes single entries itself (updates,
    input and output values); the rest are filled in, as before, the first time the whole mapping
    is read, so the deep-link snapshot is the same.
    """

    def __init__(self, session, blocks: gr.Blocks):
        super().__init__()
        # Weak: no reference cycle; the session's blocks_config is read when filling (a dev-mode
        # reload replaces it).
        self._session, self._blocks, self._filled = weakref.ref(session), blocks, False

    def _fill(self) -> None:
        session = self._session()
        if self._filled or session is None:
            return
        self._filled = True
        config = session.blocks_config
        for key, block in config.blocks.items():
            if key in self._blocks.blocks and not dict.__contains__(self, key):
                dict.__setitem__(self, key, config.config_for_block(key, [], block))

    def items(self):
        self._fill()
        return super().items()

    def values(self):
        self._fill()
        return super().values()

    def keys(self):
        self._fill()
        return super().keys()

    def __iter__(self):
        self._fill()
        return super().__iter__()

    def __len__(self):
        self._fill()
        return super().__len__()


class _NoBlocks:
    """What SessionState.__init__ reads from a Blocks, with no blocks to snapshot (see _LazyConfigValues)."""

    def __init__(self, blocks: gr.Blocks):
        self.default_config, self.blocks = blocks.default_config, {}


def lazy_session_configs(demo: gr.Blocks) -> None:
    """Have new sessions of `demo` (only) build their block configs lazily; see _LazyConfigValues.

    Wraps gradio.state_holder.SessionState.__init__ once per process; other Blocks are untouched,
    and a Gradio whose SessionState no longer keeps `config_values` gets the original behaviour.
    """
    from gradio import state_holder

    demo._lazy_session_configs = True
    cls = state_holder.SessionState
    if getattr(cls.__init__, "_lazy_configs", False):
        return
    original = cls.__init__

    @functools.wraps(original)
    def __init__(self, blocks, *args, **kwargs):
        if not getattr(blocks, "_lazy_session_configs", False):
            return original(self, blocks, *args, **kwargs)
        original(self, _NoBlocks(blocks), *args, **kwargs)
        if isinstance(getattr(self, "config_values", None), dict) and not self.config_values:
            self.config_values = _LazyConfigValues(self, blocks)
        else:  # not the SessionState this was written for: build it as Gradio does
            original(self, blocks, *args, **kwargs)

    __init__._lazy_configs = True
    cls.__init__ = __init__
