"""Translating concurrent single requests together, so a burst costs little more than its longest sentence.

`BatchingEngine` keeps one worker thread. While it runs a batch, new requests wait in a list; when
it finishes, it takes everything waiting (up to `max_batch_size`) as the next batch. A lone request
therefore never waits for company, and under load batches grow by themselves. Unlike Gradio's
`batch=True`, every request gets its own result or its own error, so one bad sentence never fails
its neighbours.

Every request is a `concurrent.futures.Future`, and its caller may give up at any time: the app
awaits it through `asyncio.wrap_future`, and when Gradio cancels that task (a visitor closing the
tab, or anyone POSTing /gradio_api/cancel) the future is cancelled too. So the worker

- claims each future with `set_running_or_notify_cancel()` before translating it, and drops the
  ones already cancelled (once claimed, a future can no longer be cancelled);
- resolves futures only through `_resolve`, which ignores a future that is already done;
- catches everything around a batch, and fails any future of the batch still unresolved, so no
  caller waits forever and nothing kills the thread. If the thread dies anyway, the next `submit`
  starts a new one.

Callers should still bound their wait (`translate(..., timeout=)`, or `asyncio.wait_for` in the app).

A request may carry French: a prefix its translation must start with (`submit(..., prefix=)`), or
the translation to score (`submit_score`). That French belongs to the request, not to its options,
so requests with different prefixes still share an engine call; scoring requests are grouped apart
from translations, since they are a different call (`Translator.score_batch`).
"""

from __future__ import annotations

import collections
import concurrent.futures
import dataclasses
import logging
import threading
from dataclasses import dataclass, field

from .translator import DecodeOptions, Translation, Translator

log = logging.getLogger(__name__)

DEFAULT_MAX_BATCH_SIZE = 64  # rows per engine call: past this, a batch is as slow as two smaller ones
IDLE_WAIT_S = 1.0  # how often an idle worker wakes to see whether it was closed


class EngineError(RuntimeError):
    """The engine could not translate a request (not the sentence's fault); the message says why."""


@dataclass
class _Request:
    translator: Translator
    text: str
    options: DecodeOptions
    future: concurrent.futures.Future = field(default_factory=concurrent.futures.Future)
    prefix: str = ""  # French the translation must start with
    french: str | None = None  # a scoring request: the French to score


def _resolve(future: concurrent.futures.Future, result) -> bool:
    """Set a result or an exception, unless the future is already done; True if this call set it."""
    try:
        if isinstance(result, BaseException):
            future.set_exception(result)
        else:
            future.set_result(result)
        return True
    except concurrent.futures.InvalidStateError:  # cancelled, or resolved before: nobody is waiting
        return False


def _claim(future: concurrent.futures.Future) -> bool:
    """Mark a future running; False if it was cancelled (or, defensively, already running or done)."""
    try:
        return future.set_running_or_notify_cancel()
    except RuntimeError:
        return False


class BatchingEngine:
    """Runs concurrent `submit` calls through `Translator.translate_batch` together (see module doc).

    Args:
        max_batch_size: most requests per engine call.
    """

    def __init__(self, max_batch_size: int = DEFAULT_MAX_BATCH_SIZE):
        self.max_batch_size = max_batch_size
        self._pending: collections.deque[_Request] = collections.deque()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closed = False
        self.batch_sizes: collections.Counter[int] = collections.Counter()  # for the load test and tests
        self.dropped = 0  # requests cancelled before their batch ran
        self.workers_started = 0

    def submit(self, translator: Translator, text: str, options: DecodeOptions,
               prefix: str = "") -> concurrent.futures.Future:
        """Queue one sentence; the future gives a Translation or raises its InputError.

        Cancelling the future before its batch starts removes it from the batch.

        Args:
            prefix: French the translation must start with (see `Translator.translate_batch`).
        """
        return self._submit(_Request(translator, text, options, prefix=prefix))

    def submit_score(self, translator: Translator, english: str, french: str,
                     options: DecodeOptions) -> concurrent.futures.Future:
        """Queue one (English, French) pair to score; the future gives a Translation or raises its InputError.

        See `Translator.score_batch`; cancelling works as for `submit`.
        """
        return self._submit(_Request(translator, english, options, french=french))

    def submit_many(self, translator: Translator, texts: list[str], options: DecodeOptions,
                    prefixes: list[str] | None = None, french: list[str] | None = None
                    ) -> list[concurrent.futures.Future]:
        """Queue the sentences of one request together, so that they share an engine call.

        They join the waiting list at once, next to each other, and the worker takes them into one
        batch (unless more than `max_batch_size` wait). Each sentence keeps its own future.

        Args:
            prefixes: per sentence, French its translation must start with.
            french: per sentence, the French to score (a scoring request) instead of translating.
        """
        requests = [_Request(translator, text, options, prefix=prefixes[i] if prefixes else "",
                             french=french[i] if french is not None else None) for i, text in enumerate(texts)]
        self._submit(*requests)
        return [r.future for r in requests]

    def _submit(self, *requests: _Request) -> concurrent.futures.Future:
        with self._cond:
            if self._closed:
                raise EngineError("the translation engine has been shut down")
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="translate-batcher", daemon=True)
                self._thread.start()
                self.workers_started += 1
            self._pending.extend(requests)
            self._cond.notify()
        return requests[0].future

    def translate(self, translator: Translator, text: str, options: DecodeOptions,
                  timeout: float | None = None, prefix: str = "") -> Translation:
        """Blocking form of `submit`; raises TimeoutError (and cancels the request) after `timeout` s."""
        return self._wait(self.submit(translator, text, options, prefix), timeout)

    def score(self, translator: Translator, english: str, french: str, options: DecodeOptions,
              timeout: float | None = None) -> Translation:
        """Blocking form of `submit_score`; raises TimeoutError (and cancels the request) after `timeout` s."""
        return self._wait(self.submit_score(translator, english, french, options), timeout)

    @staticmethod
    def _wait(future: concurrent.futures.Future, timeout: float | None) -> Translation:
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise TimeoutError(f"no translation within {timeout} s; the engine is busy") from None

    def pending(self) -> int:
        """Requests waiting for a batch (cancelled ones included until the worker drops them)."""
        with self._cond:
            return len(self._pending)

    def is_alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def close(self) -> None:
        """Stop the worker after its current batch; waiting requests fail with EngineError."""
        with self._cond:
            self._closed = True
            left = list(self._pending)
            self._pending.clear()
            self._cond.notify_all()
        for request in left:
            _resolve(request.future, EngineError("the translation engine was shut down before this request ran"))

    def _next_batch(self) -> list[_Request] | None:
        with self._cond:
            while not self._pending:
                if self._closed:
                    return None
                self._cond.wait(IDLE_WAIT_S)
            return [self._pending.popleft() for _ in range(min(self.max_batch_size, len(self._pending)))]

    def _run(self) -> None:
        while True:
            batch = self._next_batch()
            if batch is None:
                return
            try:
                self._run_batch(batch)
            except BaseException as err:  # noqa: BLE001 - the worker must outlive any one batch
                log.exception("batch of %d requests failed", len(batch))
                failure = EngineError(f"the translation engine failed: {type(err).__name__}: {err}")
                for request in batch:
                    _resolve(request.future, failure)

    def _run_batch(self, batch: list[_Request]) -> None:
        # Claim each future: a cancelled one is dropped here, and a claimed one can no longer be cancelled.
        live = [r for r in batch if _claim(r.future)]
        self.dropped += len(batch) - len(live)
        if not live:
            return
        self.batch_sizes[len(live)] += 1
        # A batch may mix models and options: each (model, options, scoring or not) group is one engine call.
        groups: dict[tuple, list[_Request]] = {}
        for request in live:
            key = (id(request.translator), dataclasses.astuple(request.options), request.french is not None)
            groups.setdefault(key, []).append(request)
        for group in groups.values():
            try:
                results = list(self._call(group))
            except Exception as err:  # never leave a caller waiting forever
                log.exception("batched translation failed")
                results = [EngineError(f"the translation failed: {type(err).__name__}: {err}")] * len(group)
            if len(results) != len(group):
                log.error("translate_batch returned %d results for %d inputs", len(results), len(group))
            for request, result in zip(group, results):
                _resolve(request.future, result)
            for request in group[len(results):]:
                _resolve(request.future, EngineError("the engine returned no result for this request"))

    @staticmethod
    def _call(group: list[_Request]):
        """One engine call for a group: score_batch for scoring requests, else translate_batch."""
        translator, options = group[0].translator, group[0].options
        if group[0].french is not None:
            return translator.score_batch([(r.text, r.french) for r in group], options)
        if any(r.prefix for r in group):
            return translator.translate_batch([r.text for r in group], options, [r.prefix for r in group])
        # Without prefixes, the call a translator (or a test's stand-in) has always had to take.
        return translator.translate_batch([r.text for r in group], options)
