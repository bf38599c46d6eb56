"""The Gradio workarounds (space/gradio_fixes.py): written for one Gradio version, and each still needed
and still harmless there."""

from __future__ import annotations

import json
import os

import gradio as gr

from space import build_demo, gradio_fixes


def test_sessions_build_the_page_config_lazily_and_identically(handlers):
    """A REST call is a new Gradio session; space/gradio_fixes.py makes its per-block config snapshot lazy (see
    _LazyConfigValues). Read whole, the snapshot must equal the one Gradio builds eagerly."""
    from gradio import state_holder

    demo = build_demo(handlers)
    lazy = state_holder.SessionState(demo)
    assert isinstance(lazy.config_values, gradio_fixes._LazyConfigValues)
    assert dict.__len__(lazy.config_values) == 0  # nothing built at session start
    eager = object.__new__(state_holder.SessionState)
    state_holder.SessionState.__init__.__wrapped__(eager, demo)  # Gradio's own constructor
    assert json.dumps(dict(lazy.config_values.items()), sort_keys=True, default=str) == json.dumps(
        eager.config_values, sort_keys=True, default=str)
    assert len(list(lazy.components)) == len(list(eager.components)) > 50
    # Other Blocks keep Gradio's behaviour.
    with gr.Blocks() as other:
        gr.Textbox()
    assert type(state_holder.SessionState(other).config_values) is dict


def test_the_workarounds_were_checked_against_the_installed_gradio():
    """On any other Gradio, re-check every workaround in space/gradio_fixes.py, then move the pin."""
    assert gr.__version__ == gradio_fixes.GRADIO_VERSION


def test_an_error_keeps_its_title_in_the_message():
    err = gradio_fixes.error("Can't use this file", ValueError("in.CSV: no column named 'english'"))
    assert err.title == "Can't use this file"
    assert err.message == "Can't use this file — in.CSV: no column named 'english'"
    assert gradio_fixes.error("Server busy", TimeoutError()).message == "Server busy — TimeoutError"


def test_the_monitoring_summary_is_rebuilt_every_100_events(handlers):
    demo = build_demo(handlers)
    # space/gradio_fixes.py sets 100 unless the environment says otherwise; Gradio reads it per Blocks.
    assert demo._queue.ANAYLTICS_CACHE_FREQUENCY == int(os.environ["GRADIO_ANALYTICS_CACHE_FREQUENCY"])
