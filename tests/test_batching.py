"""BatchingEngine on a seeded random-weight model: batched results equal single ones, and no cancelled,
failed or abandoned request can kill the worker or leave another request waiting forever.

To make requests pile up as they do under load, `Gated` holds the worker inside its first engine call
until the test opens the gate; the translating itself is the real Translator's.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading

import pytest

from model import DecodeOptions, InputError, load_source
from model.batching import BatchingEngine, EngineError

TEXTS = ["Go.", "Hi.", "Run!", "Who?", "Wait!", "I won."]


@pytest.fixture(scope="module")
def translator(random_checkpoint):
    return load_source(str(random_checkpoint))


class Gated:
    """A real Translator whose engine calls wait for `gate`, recording what each call translated."""

    def __init__(self, translator):
        self.translator = translator
        self.gate = threading.Event()
        self.entered = threading.Event()
        self.calls: list[list[str]] = []

    def translate_batch(self, texts, options=None):
        self.entered.set()
        assert self.gate.wait(30), "the test never opened the gate"
        self.calls.append(list(texts))
        return self.translator.translate_batch(texts, options)


class Broken:
    """A translator whose engine call fails (a bug, not a bad sentence), or returns too few results."""

    def __init__(self, short: bool = False):
        self.short = short

    def translate_batch(self, texts, options=None):
        if self.short:
            return []
        raise RuntimeError("weights went missing")


def _busy_engine(translator):
    """An engine whose worker is held inside a first request; returns (engine, gated, first future)."""
    engine = BatchingEngine(max_batch_size=64)
    gated = Gated(translator)
    first = engine.submit(gated, "Go.", DecodeOptions())
    assert gated.entered.wait(10)
    return engine, gated, first


def _same(got, want):
    assert got.translation == want.translation and got.score == pytest.approx(want.score, abs=1e-5)


def test_batched_results_equal_single_translations_and_errors_stay_per_request(translator):
    engine, gated, first = _busy_engine(translator)
    texts = [*TEXTS, "Go ü€", ""] * 3
    futures = [engine.submit(gated, t, DecodeOptions()) for t in texts]
    gated.gate.set()
    expected = translator.translate_batch(texts, DecodeOptions())
    for future, want in zip(futures, expected):
        if isinstance(want, InputError):
            with pytest.raises(InputError) as caught:
                future.result(timeout=30)
            assert str(caught.value) == str(want)
        else:
            _same(future.result(timeout=30), want)
    assert gated.calls[1] == texts  # everything that queued behind the first request ran as one batch
    assert engine.batch_sizes[len(texts)] == 1


def test_requests_cancelled_while_queued_are_dropped_and_the_worker_survives(translator):
    engine, gated, first = _busy_engine(translator)
    futures = [engine.submit(gated, TEXTS[i % len(TEXTS)], DecodeOptions()) for i in range(20)]
    cancelled = futures[::2]
    assert all(f.cancel() for f in cancelled)
    gated.gate.set()
    _same(first.result(timeout=30), translator.translate("Go."))
    for i, future in enumerate(futures):
        if future in cancelled:
            assert future.cancelled()
        else:
            _same(future.result(timeout=30), translator.translate(TEXTS[i % len(TEXTS)]))
    assert gated.calls[1] == [TEXTS[i % len(TEXTS)] for i in range(1, 20, 2)]  # the cancelled ones never ran
    assert engine.dropped == 10 and engine.is_alive() and engine.workers_started == 1
    _same(engine.translate(gated, "Hi.", DecodeOptions(), timeout=30), translator.translate("Hi."))


def test_a_request_cannot_be_cancelled_once_its_batch_runs(translator):
    engine, gated, first = _busy_engine(translator)
    assert not first.cancel()  # claimed by the worker: it will be resolved, never cancelled
    gated.gate.set()
    _same(first.result(timeout=30), translator.translate("Go."))
    assert engine.is_alive()


def test_a_whole_batch_of_cancelled_requests_leaves_the_worker_ready(translator):
    engine, gated, first = _busy_engine(translator)
    doomed = [engine.submit(gated, "Hi.", DecodeOptions()) for _ in range(5)]
    for future in doomed:
        future.cancel()
    gated.gate.set()
    first.result(timeout=30)
    _same(engine.translate(gated, "Run!", DecodeOptions(), timeout=30), translator.translate("Run!"))
    assert engine.dropped == 5 and engine.workers_started == 1


def test_cancelling_the_awaiting_task_drops_the_request(translator):
    """What the app does: await wrap_future under wait_for; Gradio's /cancel cancels that task."""
    engine, gated, first = _busy_engine(translator)

    async def scenario():
        waiters = [asyncio.ensure_future(asyncio.wrap_future(engine.submit(gated, t, DecodeOptions())))
                   for t in TEXTS]
        await asyncio.sleep(0)
        for task in waiters[:3]:
            task.cancel()
        with pytest.raises(TimeoutError):  # a bounded wait that expires cancels its request too
            await asyncio.wait_for(asyncio.wrap_future(engine.submit(gated, "Hi.", DecodeOptions())), 0.05)
        gated.gate.set()
        return await asyncio.gather(*waiters, return_exceptions=True)

    results = asyncio.run(scenario())
    assert all(isinstance(r, asyncio.CancelledError) for r in results[:3])
    for text, result in zip(TEXTS[3:], results[3:]):
        _same(result, translator.translate(text))
    first.result(timeout=30)
    assert engine.dropped == 4 and engine.is_alive()


def test_a_failing_engine_call_fails_only_its_own_requests(translator):
    engine, gated, first = _busy_engine(translator)
    good = engine.submit(gated, "Go.", DecodeOptions())
    broken = [engine.submit(Broken(), "Go.", DecodeOptions()) for _ in range(3)]
    short = engine.submit(Broken(short=True), "Hi.", DecodeOptions())
    gated.gate.set()
    for future in broken:
        with pytest.raises(EngineError, match="RuntimeError: weights went missing"):
            future.result(timeout=30)
    with pytest.raises(EngineError, match="no result"):
        short.result(timeout=30)
    _same(good.result(timeout=30), translator.translate("Go."))
    assert engine.is_alive() and engine.workers_started == 1


def test_a_wait_has_a_timeout_with_a_clear_error(translator):
    engine, gated, first = _busy_engine(translator)
    with pytest.raises(TimeoutError, match="no translation within 0.05 s"):
        engine.translate(gated, "Hi.", DecodeOptions(), timeout=0.05)
    gated.gate.set()
    first.result(timeout=30)
    engine.translate(gated, "Go.", DecodeOptions(), timeout=30)
    assert engine.dropped == 1  # the timed-out request was cancelled, so it never ran


def test_close_fails_waiting_requests_instead_of_leaving_them(translator):
    engine, gated, first = _busy_engine(translator)
    waiting = engine.submit(gated, "Hi.", DecodeOptions())
    engine.close()
    with pytest.raises(EngineError, match="shut down"):
        waiting.result(timeout=5)
    gated.gate.set()
    first.result(timeout=30)
    with pytest.raises(EngineError, match="shut down"):
        engine.submit(gated, "Go.", DecodeOptions())


def test_many_threads_cancelling_at_random_never_hang_the_rest(translator):
    """A stress run without the gate: every request that is not cancelled resolves."""
    engine = BatchingEngine(max_batch_size=8)
    options = [DecodeOptions(), DecodeOptions(method="beam", beam_size=3)]
    futures = []
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        submitted = [pool.submit(engine.submit, translator, TEXTS[i % 6], options[i % 2]) for i in range(300)]
        for i, f in enumerate(submitted):
            future = f.result()
            if i % 3 == 0:
                future.cancel()
            futures.append(future)
    done, not_done = concurrent.futures.wait(futures, timeout=60)
    assert not not_done
    assert all(f.cancelled() or f.result() for f in futures)
    assert engine.is_alive() and engine.workers_started == 1


class GatedFrench(Gated):
    """`Gated`, taking prefixes and scoring requests too; `calls` records (kind, items) per engine call."""

    def translate_batch(self, texts, options=None, prefixes=None):
        self.entered.set()
        assert self.gate.wait(30), "the test never opened the gate"
        self.calls.append(("translate", list(zip(texts, prefixes or [""] * len(texts)))))
        return self.translator.translate_batch(texts, options, prefixes)

    def score_batch(self, pairs, options=None):
        self.calls.append(("score", list(pairs)))
        return self.translator.score_batch(pairs, options)


def test_prefixes_and_scoring_requests_travel_with_each_request(translator):
    """Requests that differ only in their French share one engine call; scoring is a call of its own."""
    engine = BatchingEngine(max_batch_size=64)
    gated = GatedFrench(translator)
    first = engine.submit(gated, "Go.", DecodeOptions())
    assert gated.entered.wait(10)
    plain = translator.translate_batch(TEXTS, DecodeOptions())
    prefixes = ["", "Ja", plain[2].translation[:2], "ü", "", "Je "]
    translations = [engine.submit(gated, text, DecodeOptions(), prefix=prefix) for text, prefix in zip(TEXTS, prefixes)]
    pairs = [(text, result.translation) for text, result in zip(TEXTS, plain)] + [("Hi.", "Salut ü")]
    scores = [engine.submit_score(gated, english, french, DecodeOptions()) for english, french in pairs]
    gated.gate.set()
    first.result(timeout=30)

    want = translator.translate_batch(TEXTS, DecodeOptions(), prefixes)
    for future, expected in zip(translations, want):
        if isinstance(expected, InputError):
            with pytest.raises(InputError, match="outside the model's French vocabulary: 'ü'"):
                future.result(timeout=30)
        else:
            _same(future.result(timeout=30), expected)
    for future, expected in zip(scores, translator.score_batch(pairs, DecodeOptions())):
        if isinstance(expected, InputError):
            with pytest.raises(InputError, match="'ü'"):
                future.result(timeout=30)
        else:
            got = future.result(timeout=30)
            _same(got, expected)
            assert got.normalized_score == pytest.approx(expected.normalized_score, abs=1e-5)
    assert gated.calls[1:] == [("translate", list(zip(TEXTS, prefixes))), ("score", pairs)]
    assert engine.batch_sizes[len(TEXTS) + len(pairs)] == 1  # one batch, two engine calls
    result = engine.score(translator, "Go.", plain[0].translation, DecodeOptions(), timeout=30)
    assert result.translation == plain[0].translation and all(s.given for s in result.steps)
    assert engine.translate(translator, "Go.", DecodeOptions(), timeout=30, prefix="Ja").translation.startswith("Ja")


def test_the_sentences_of_one_request_share_an_engine_call_even_among_others(translator):
    engine = BatchingEngine(max_batch_size=64)
    gated = Gated(translator)
    lone = engine.submit(gated, "Go.", DecodeOptions())  # a request alone: its own call
    assert gated.entered.wait(10)
    before = engine.submit(gated, "Hi.", DecodeOptions())
    paragraph = engine.submit_many(gated, ["Run!", "Who?", "Wait!"], DecodeOptions())
    after = engine.submit(gated, "I won.", DecodeOptions())
    gated.gate.set()
    for future, text in zip([lone, before, *paragraph, after], ["Go.", "Hi.", "Run!", "Who?", "Wait!", "I won."]):
        _same(future.result(timeout=30), translator.translate(text, DecodeOptions()))
    assert gated.calls == [["Go."], ["Hi.", "Run!", "Who?", "Wait!", "I won."]]


def test_submit_many_carries_prefixes_and_french_to_score(translator):
    engine = BatchingEngine()
    prefixes = engine.submit_many(translator, ["Go.", "Hi."], DecodeOptions(), prefixes=["", "a"])
    assert prefixes[1].result(timeout=30).translation.startswith("a")
    _same(prefixes[0].result(timeout=30), translator.translate("Go.", DecodeOptions()))
    scored = engine.submit_many(translator, ["Go.", "Hi."], DecodeOptions(), french=["Va !", "Salut."])
    for future, pair in zip(scored, [("Go.", "Va !"), ("Hi.", "Salut.")]):
        try:
            want = translator.score(*pair)
        except InputError as err:
            with pytest.raises(InputError, match=str(err)[:20]):
                future.result(timeout=30)
        else:
            _same(future.result(timeout=30), want)
