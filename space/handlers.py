"""The Space's request handlers, one class per tab, put together.

Each tab's handlers check the input, call model/, and hand the result to a view:

  translate_tab.py  Translate: /translate, the page's result, its sentences' views
  score_tab.py      Score your translation: /score and the score panel
  compare_tab.py    Compare models: /compare and its table
  file_tab.py       Translate a file: /translate_batch
  page_state.py     deep links, the model selector and card, the live counter

They share space/service.py: the models, the batching engine, the page's words for the models' language
pair (space/wording.py: `self.words`), and turning failures into words. The
API endpoints return JSON or files and raise gr.Error; the page's handlers (`*_page`) return
component updates, and on a failure clear every output of their action and say what went wrong in
its place, so no stale result is left on the page. Every check of what a request sent happens in
model.validation and model.paragraph (through space.options) or in the Translator; a handler only
turns their InputError into words for people.
"""

from __future__ import annotations

from .compare_tab import COMPARE_BEAM, COMPARE_BEAM_OPTIONS, CompareHandlers  # noqa: F401  (the layout's)
from .file_tab import FileHandlers
from .page_state import PageHandlers
from .score_tab import SCORE_TITLE, ScoreHandlers  # noqa: F401
from .service import REQUEST_TIMEOUT_S, RequestFailed  # noqa: F401
from .translate_tab import PAGE_OUTPUTS, TranslateHandlers  # noqa: F401


class Handlers(TranslateHandlers, ScoreHandlers, CompareHandlers, FileHandlers, PageHandlers):
    """Every event handler, as plain methods so tests can call them without a browser.

    Args (see space.service.Service):
        registry: the allowed model sources (see model.registry.ModelRegistry).
        engine: batches concurrent translations; a fresh one if None.
        timeout: seconds a translation may wait for the engine before a "server busy" error.
        sample: held-out sentences with references (examples, the random button, Compare); may be
            samples.EMPTY.
    """
