"""Requests of several sentences (model/paragraph.py), on seeded random-weight models.

The invariant: a paragraph's sentence records are exactly what translating each sentence alone gives,
whatever the decoding (greedy, beam, sampling with a seed) and whatever else shares the batch.
"""

from __future__ import annotations

import pytest

from model import InputError, checkpoint, paragraph
from model.translator import DecodeOptions

PARAGRAPHS = ["Go. Hi, Tom! Who?", "I won.\nBe kind.\n\nRun!", "Wait! I like it.", "Go away."]
OPTIONS = [DecodeOptions(), DecodeOptions(method="beam", beam_size=3, length_normalize=True),
           DecodeOptions(method="sample", seed=7, temperature=1.3)]


def same(ours, theirs, path="record"):
    """Records equal but for float rounding: the compiled engine's batch and single paths sum in other orders."""
    if isinstance(ours, float) or isinstance(theirs, float):
        assert ours == pytest.approx(theirs, abs=2e-5), path
    elif isinstance(ours, dict):
        assert ours.keys() == theirs.keys(), path
        for key in ours:
            same(ours[key], theirs[key], f"{path}.{key}")
    elif isinstance(ours, (list, tuple)):
        assert len(ours) == len(theirs), path
        for i, (a, b) in enumerate(zip(ours, theirs)):
            same(a, b, f"{path}[{i}]")
    else:
        assert ours == theirs, path


@pytest.fixture(scope="module", params=["fast", "attention"])
def translator(request, random_fast_checkpoint, random_attention_checkpoint):
    path = {"fast": random_fast_checkpoint, "attention": random_attention_checkpoint}[request.param]
    return checkpoint.load(path)


@pytest.mark.parametrize("options", OPTIONS, ids=["greedy", "beam", "sample"])
def test_sentence_records_equal_each_sentence_alone(translator, options, engine_backend):
    translator = translator.with_backend(engine_backend)
    results = paragraph.translate_batch(translator, PARAGRAPHS, options)
    for text, result in zip(PARAGRAPHS, results):
        sentences = paragraph.plan(text).texts
        assert [s.input for s in result.sentences] == sentences
        for sentence, record in zip(sentences, result.sentences):
            alone = translator.translate(sentence, options)
            same(record.to_dict(), alone.to_dict())
        assert result.translation == result.segmented.join([s.translation for s in result.sentences])
        assert result.score == pytest.approx(sum(s.score for s in result.sentences))


def test_the_french_keeps_the_inputs_shape(translator):
    result = paragraph.translate_batch(translator, ["  I won.\nBe kind.   Go!\n\n\nRun!  "])[0]
    parts = [s.translation for s in result.sentences]
    assert result.translation == f"{parts[0]}\n{parts[1]} {parts[2]}\n\n\n{parts[3]}"
    assert result.input == "I won.\nBe kind. Go!\n\n\nRun!"
    record = result.to_dict()
    assert [s["separator"] for s in record["sentences"]] == ["\n", " ", "\n\n\n", ""]
    assert record["translation"] == result.translation and record["steps"] == [] and record["nbest"] == []


def test_one_sentence_gives_todays_record_plus_sentences(translator):
    options = DecodeOptions(method="beam", beam_size=3)
    record = paragraph.translate_batch(translator, ["Hi, Tom!"], options)[0].to_dict()
    today = translator.translate("Hi, Tom!", options).to_dict()
    same({k: v for k, v in record.items() if k != "sentences"}, today)
    same(record["sentences"], [{**today, "separator": ""}])


def test_no_split_reads_the_input_as_one_sequence(translator):
    whole = paragraph.translate_batch(translator, ["Go. Hi, Tom!"], split=False)[0]
    assert len(whole.sentences) == 1
    assert whole.translation == translator.translate("Go. Hi, Tom!").translation


def test_a_prefix_starts_the_first_sentences_in_order(translator):
    result = paragraph.translate_batch(translator, ["Go. Hi, Tom! Who?"], prefixes=["Va ! Je "])[0]
    first, second, third = result.sentences
    assert first.translation.startswith("Va !") and second.translation.startswith("Je ")
    assert not any(s.given for s in third.steps)
    assert sum(s.given for s in second.steps) == 3
    alone = translator.translate("Hi, Tom!", prefix="Je ")
    same(second.to_dict(), alone.to_dict())
    with pytest.raises(InputError, match="the prefix has 3 sentences but the English has 2"):
        paragraph.plan("Go. Hi.", prefix="Va ! Salut ! Tu es bon ?")


def test_scoring_pairs_the_sentences_and_refuses_other_counts(translator):
    scored, mismatched = paragraph.score_batch(translator, [("Go. Who?", "Va ! Tu es bon ?"), ("Go. Who? Run!", "Va ! Tu es bon ?")])
    assert [s.translation for s in scored.sentences] == ["Va !", "Tu es bon ?"]
    same(scored.sentences[1].to_dict(), translator.score("Who?", "Tu es bon ?").to_dict())
    record = scored.to_dict()
    characters = sum(len(s.steps) for s in scored.sentences)
    assert record["normalized_score"] == pytest.approx(scored.score / characters)
    assert all("sentence" in d for d in record["disagreements"])
    assert isinstance(mismatched, InputError)
    assert str(mismatched) == ("the English has 3 sentences and the French 2 sentences: give one French sentence per "
                               "English sentence to score them")


def test_a_failing_sentence_fails_its_input_by_name_and_only_its_input(translator):
    bad, good = paragraph.translate_batch(translator, ["Go. Hi €! Who?", "Go. Who?"])
    assert isinstance(bad, InputError) and str(bad).startswith("sentence 2 (“Hi €!”): characters outside")
    assert [s.translation for s in good.sentences] == [translator.translate(t).translation for t in ("Go.", "Who?")]


@pytest.mark.parametrize("text,message", [
    ("", "the input is empty"),
    (" \n\n  ", "the input is empty"),
    ("?! ... !", "is only punctuation and spaces"),
    ("Go. " * 21, "the input has 21 sentences; the limit is 20 per request"),
    ("a" * 1001, "the input is 1,001 characters long; the limit is 1,000"),
    ("…" * 400, "but 1,200 once normalised (… → ...); the limit is 1,000, counted after normalisation"),
    (["Go."], "text must be a string"),
])
def test_bad_inputs_get_clear_errors(text, message):
    with pytest.raises(InputError, match=message.replace("?", r"\?").replace("(", r"\(").replace(")", r"\)")
                       .replace(".", r"\.")):
        paragraph.plan(text)


def test_a_sentence_longer_than_the_model_was_trained_on_translates_with_its_own_warning(translator):
    long = "I won, Tom, go away."  # 20 characters: the random models were trained on at most 12
    result = paragraph.translate_batch(translator, [f"Go. {long} Who?"])[0]
    assert [bool(s.warnings) for s in result.sentences] == [False, True, False]
    assert result.sentences[1].translation == translator.translate(long).translation
    (warning,) = result.warnings
    assert warning.startswith("sentence 2 (“I won, Tom, go away.”): input is 20 characters long but the model was "
                              "trained on at most 12")


def test_messages_name_the_models_languages_and_each_side_is_cut_by_its_own_rules():
    from model.languages import Language, LanguagePair

    spanish = LanguagePair(Language("English", "en"), Language("Spanish", "es"))
    assert paragraph.plan_score("Go.", "Ve. Corre.", pair=spanish).french == ["Ve. Corre."]  # one takes the whole
    with pytest.raises(InputError, match="the English has 2 sentences and the Spanish 1 sentence: give one Spanish"):
        paragraph.plan_score("Go. Run.", "Ve.", pair=spanish)
    with pytest.raises(InputError, match="at most one Spanish start per English sentence"):
        paragraph.plan("Go.", prefix="Ve. Corre.", pair=spanish)
    # Spanish opens a question with "¿": pySBD's Spanish rules cut there, and the pair picks them.
    assert paragraph.plan_score("Go. Who?", "Ve. ¿Quién?", pair=spanish).french == ["Ve.", "¿Quién?"]
    klingon = LanguagePair(Language("English", "en"), Language("Klingon", "tlh"))
    assert paragraph.plan("Go. Run.", prefix="a. b", pair=klingon).prefixes == ["a.", "b"]  # English rules stand in
    with pytest.raises(InputError, match="type an English sentence, e.g. 'Go.'"):
        paragraph.plan("  ", pair=spanish)


def test_an_input_in_another_source_language_is_asked_for_by_its_name():
    from model.languages import FRENCH, Language, LanguagePair

    spanish_to_french = LanguagePair(Language("Spanish", "es"), FRENCH)
    with pytest.raises(InputError, match=r"the input is empty: type a Spanish sentence$"):
        paragraph.plan(" ", pair=spanish_to_french)
