"""Helpers for tests that run the Space: sentences, a free port, launching a demo, calling /translate."""

from __future__ import annotations

import socket
import time

import gradio as gr

from space import LAUNCH_OPTIONS

GOOD = "Go."
UNKNOWN = "Go ü€"  # characters outside the fixtures' input vocabulary


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch(demo: gr.Blocks) -> str:
    """Serve `demo` on a free local port, as `python app.py` does; returns its URL."""
    _, url, _ = demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=free_port(), quiet=True,
                            **LAUNCH_OPTIONS)
    return url


def call(client, text, model, method="greedy", beam_size=4, temperature=1.0, seed=0, top_k=5, drop_unknown=False,
         **normalisation) -> dict:
    """/translate with every option given positionally (greedy unless told), as a REST client sends them."""
    return client.predict(text, model, method, beam_size, temperature, seed, top_k, drop_unknown,
                          **normalisation, api_name="/translate")


def wait_for(condition, timeout=30.0, what="condition"):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what} not met within {timeout} s"
        time.sleep(0.05)

# What Handlers.translate_page returns, in order (space/translate_tab.py).
PAGE = ("french", "sentences", "picker", "step_view", "steps", "nbest", "summary", "capitalize", "kept")


def named(outputs) -> dict:
    """translate_page's outputs by name."""
    assert len(outputs) == len(PAGE)
    return dict(zip(PAGE, outputs))
