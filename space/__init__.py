"""The Space's user interface over the `model` package; `model/` never imports it.

    views/           Markdown and HTML for the page (no gradio import: tested directly)
"""
