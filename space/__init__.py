"""The Space's user interface over the `model` package; `model/` never imports it.

    from space import Handlers, build_demo, LAUNCH_OPTIONS
    demo = build_demo(Handlers(registry))
    demo.launch(**LAUNCH_OPTIONS)

Read it in this order:

    options.py        the request options: one table for the API, the widgets and the share link
    handlers.py       request handlers: check the input, call model/, hand the result to a view
    layout.py         the Blocks: tabs, widgets and the wiring of each event
    wording.py        every word of the page that names a language, from the pair the models translate
    deep_link.py      reading a shared link into the page; the copy-link button's link
    batch_results.py  where a translated file is written, and when it is removed
    gradio_fixes.py   workarounds for Gradio 6.31, each saying why
    theme.py          Gradio's Soft theme with colours that meet WCAG AA contrast
    settings.py       `python app.py` options and their environment variables
    views/            Markdown and HTML for the page (no gradio import: tested directly),
                      one module per view: steps, alignment, score, compare, results, models
    static/           the page's CSS and JavaScript
"""

from .handlers import Handlers
from .layout import LAUNCH_OPTIONS, build_demo

__all__ = ["Handlers", "LAUNCH_OPTIONS", "build_demo"]
