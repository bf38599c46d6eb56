"""Which models the app may serve, and loading them in the background, never while a visitor waits.

Allow-list. The operator names the sources the app may load (`--models` / `MODEL_SOURCES`) and the
one it starts with (`--model` / `MODEL_SOURCE`); the bundled checkpoints are always offered. The
browser only ever sends one of those names back, and `ModelRegistry.get` refuses anything else, so
nobody can make the server open an arbitrary path or repository.

Loading. Each allowed source gets its own loader thread (`start`), so a source whose server
accepts connections and never answers holds up only itself. `get` never loads and never blocks: it
returns a loaded Translator, or raises at once a SourceError that says whether the source is still
loading, how long it has been trying, or why it failed and when it is tried again. A failed load is
retried with exponential backoff (`retry_first` doubling up to `retry_max`) for as long as the app
runs. While the active source has failed, the bundled fallback is served; once a retry succeeds,
the active source is served again.

One language pair. The page is written in one pair's names (the active source's, model/languages.py),
so a source that loads but translates another pair is refused, for good, with a message naming both
pairs: its translations would sit under the wrong labels.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, replace
from typing import Any, Callable, Iterable, Sequence

from .checkpoint import BUNDLED, bundled_path
from .languages import DEFAULT_PAIR, LanguagePair
from .sources import SourceError, load_source
from .translator import Translator
from .validation import shown

log = logging.getLogger(__name__)

DEFAULT_SOURCE = "default"  # the bundled checkpoint: always offered, and the fallback
RETRY_FIRST_S = 5.0  # first retry of a failed source: long enough for a Hub hiccup to pass
RETRY_MAX_S = 600.0  # backoff doubles up to this: a source that stays down costs one attempt per 10 min
SLOW_LOAD_S = 30.0  # a load still running after this is reported as not answering (a Hub download takes ~5 s)


class SourceNotReady(SourceError):
    """An allowed source that is still loading: try again shortly, or choose another model."""


class OtherLanguages(SourceError):
    """A source that loaded but translates another pair than the app's: never retried."""


def parse_source_list(value: str | Iterable[str] | None) -> list[str]:
    """Split a comma-separated allow-list ("default, recipe,hf://me/model") into unique names, in order.

    Args:
        value: the `--models` / `MODEL_SOURCES` string, or an already split list; None gives [].
    """
    if value is None:
        return []
    items = value.split(",") if isinstance(value, str) else list(value)
    out: list[str] = []
    for item in items:
        item = item.strip()
        if item and item not in out:
            out.append(item)
    return out


def bundled_sources() -> list[str]:
    """The bundled checkpoint names whose directories exist, one name per directory ('default' first)."""
    names, seen = [], set()
    for name in [DEFAULT_SOURCE, *sorted(BUNDLED)]:
        path = bundled_path(name).resolve()
        if name in BUNDLED and path not in seen and path.is_dir():
            seen.add(path)
            names.append(name)
    return names


def allowed_sources(active: str | None, extra: Iterable[str] = ()) -> list[str]:
    """The allow-list shown in the selector: the bundled checkpoints, the active source, then the extras."""
    return parse_source_list([DEFAULT_SOURCE, *bundled_sources(), *([active] if active else []), *extra])


@dataclass
class SourceState:
    """What the registry knows about one source. Times are `time.monotonic()` seconds."""

    status: str = "waiting"  # waiting -> loading -> loaded, or loading -> failed -> loading (retry) ...
    translator: Translator | None = None
    error: str = ""  # the last failure, kept while a retry runs
    attempts: int = 0
    started: float | None = None  # when the current (or last) attempt began
    retry_at: float | None = None  # when a failed source is tried again


class ModelRegistry:
    """The allowed sources, loaded by background threads; `get` hands out loaded ones and never waits.

    Args:
        sources: the allow-list; `active` and `fallback` are added if missing.
        active: the source the app starts with.
        fallback: served while `active` cannot be loaded (the bundled default).
        loader: turns a source string into a Translator (`model.load_source`).
        retry_first, retry_max: backoff between attempts at a failed source, in seconds.
        slow_load: after this many seconds a running load is reported as not answering.
        languages: the pair every source must translate (the page's); a source of another pair is
            refused when it loads (OtherLanguages).
    """

    def __init__(self, sources: Sequence[str], active: str = DEFAULT_SOURCE, fallback: str = DEFAULT_SOURCE,
                 loader: Callable[[str], Translator] = load_source, retry_first: float = RETRY_FIRST_S,
                 retry_max: float = RETRY_MAX_S, slow_load: float = SLOW_LOAD_S,
                 languages: LanguagePair = DEFAULT_PAIR):
        self.languages = languages
        self.sources = parse_source_list([active, *sources, fallback])
        self.requested = active
        self.active = active
        self.fallback = fallback
        self.retry_first, self.retry_max, self.slow_load = retry_first, retry_max, slow_load
        self._loader = loader
        self._changed = threading.Condition()
        self._states = {s: SourceState() for s in self.sources}
        self._threads: dict[str, threading.Thread] = {}
        self._stop = threading.Event()

    # --- the request path: never loads, never blocks --------------------------------------------

    def check_allowed(self, source: Any) -> str:
        if not isinstance(source, str) or source not in self._states:
            got = shown(source) if isinstance(source, str) else f"{type(source).__name__} {shown(source)}"
            raise SourceError(f"model {got} is not offered by this app; choose one of: {', '.join(self.sources)}")
        return source

    def get(self, source: str | None = None) -> Translator:
        """The loaded Translator for an allowed source; starts the loaders if nobody has.

        Raises:
            SourceNotReady: the source is still loading (the message says for how long).
            SourceError: the source is not on the allow-list, or its last load failed (the message
                says why and when it is tried again).
        """
        source = self.check_allowed(self.active if source is None else source)
        translator = self._states[source].translator
        if translator is not None:
            return translator
        self.start()
        with self._changed:
            state = self._states[source]
            if state.translator is not None:
                return state.translator
            raise self._unavailable(source, state)

    def is_loaded(self, source: Any) -> bool:
        return isinstance(source, str) and source in self._states and self._states[source].translator is not None

    def _unavailable(self, source: str, state: SourceState) -> SourceError:
        now = time.monotonic()
        if state.status == "failed" and state.retry_at is None:  # refused for good (another pair)
            return SourceError(f"model {source!r} could not be loaded: {state.error}")
        if state.status == "failed":
            wait = max(0.0, (state.retry_at or now) - now)
            return SourceError(f"model {source!r} could not be loaded: {state.error} (next attempt in {wait:.0f} s)")
        if state.error:  # a retry is running
            return SourceError(f"model {source!r} could not be loaded: {state.error} (trying again now)")
        elapsed = now - state.started if state.started is not None else 0.0
        if elapsed >= self.slow_load:
            return SourceNotReady(f"model {source!r} is still loading after {elapsed:.0f} s: the server it comes "
                                  f"from is not answering. Choose another model, or try again later.")
        return SourceNotReady(f"model {source!r} is still loading; try again in a few seconds, or choose another model")

    # --- background loading -----------------------------------------------------------------------

    def start(self) -> None:
        """Start one loader thread per source that has none (the active and fallback sources first)."""
        if self._stop.is_set():
            return
        order = parse_source_list([self.requested, self.fallback, *self.sources])
        with self._changed:
            for source in order:
                thread = self._threads.get(source)
                if thread is None and self._states[source].translator is None:
                    thread = threading.Thread(target=self._keep_loading, args=(source,), daemon=True,
                                              name=f"load {source}")
                    self._threads[source] = thread
                    thread.start()

    def _keep_loading(self, source: str) -> None:
        """Try to load `source` until it loads or the registry closes, backing off between attempts."""
        delay = self.retry_first
        while not self._stop.is_set():
            with self._changed:
                state = self._states[source]
                state.status, state.started, state.retry_at = "loading", time.monotonic(), None
                state.attempts += 1
                self._changed.notify_all()
            try:
                translator = self._loader(source)
                self._check_languages(source, translator)
            except OtherLanguages as err:
                log.warning("model source %r refused: %s", source, err)
                with self._changed:
                    state.status, state.error, state.retry_at = "failed", str(err), None
                    if source == self.active and source != self.fallback:
                        self.active = self.fallback
                    self._changed.notify_all()
                return
            except BaseException as err:  # noqa: BLE001 - SourceError, or anything a damaged download throws
                message = str(err) or type(err).__name__
                log.warning("model source %r failed to load (attempt %d; next in %.0f s): %s",
                            source, state.attempts, delay, message)
                with self._changed:
                    state.status, state.error, state.retry_at = "failed", message, time.monotonic() + delay
                    if source == self.active and source != self.fallback:
                        self.active = self.fallback
                    self._changed.notify_all()
                if self._stop.wait(delay):
                    return
                delay = min(delay * 2, self.retry_max)
                continue
            with self._changed:
                state.status, state.translator, state.error = "loaded", translator, ""
                if source == self.requested:
                    self.active = source  # back from the fallback after a successful retry
                self._changed.notify_all()
            if state.attempts > 1:
                log.info("model source %r loaded on attempt %d", source, state.attempts)
            return

    def _check_languages(self, source: str, translator: Translator) -> None:
        pair = translator.languages
        if pair != self.languages:
            raise OtherLanguages(f"it translates {pair.arrow}, and this app serves {self.languages.arrow} (its page is "
                                 f"written for that pair); serve {source} in an app of its own")

    def warm_up(self, timeout: float | None = None) -> Translator | None:
        """Start the loaders and wait until every source has loaded or failed once (scripts and tests).

        Returns the Translator now active, or None if neither the active source nor the fallback loads.
        """
        self.start()
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._changed:
            while not all(s.translator is not None or s.error for s in self._states.values()):
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    break
                self._changed.wait(left)
            return self._states[self.active].translator

    def close(self) -> None:
        """Stop retrying; a load in progress finishes (or hangs) on its own daemon thread."""
        self._stop.set()

    # --- what the page shows ---------------------------------------------------------------------

    def state(self, source: str) -> SourceState:
        """A copy of what is known about an allowed source."""
        with self._changed:
            return replace(self._states[self.check_allowed(source)])

    @property
    def failures(self) -> dict[str, str]:
        """Sources whose last attempt failed, with the error (a running retry keeps its last error)."""
        with self._changed:
            return {s: st.error for s, st in self._states.items() if st.error and st.translator is None}

    def working_sources(self) -> list[str]:
        """Allowed sources that have not failed (loaded, or not yet tried)."""
        failed = self.failures
        return [s for s in self.sources if s not in failed]
