"""The Translator (model/translator.py): input checks, padding as in training, results and options."""

from __future__ import annotations

import json

import numpy as np
import pytest

from model import checkpoint
from model.batching import BatchingEngine
from model.translator import DecodeOptions, InputError
from tests.conftest import compare_steps
from tests.random_models import INPUT_CHARACTERS, make_random_checkpoint, random_vocabulary

LONG = "Go away. Hi, Tom! I won."  # longer than the random models' max_encoder_seq_length (12)


@pytest.fixture(scope="module")
def translator(random_checkpoint):
    """The recipe's network (space padding) with seeded random weights: the same on every machine."""
    return checkpoint.load(random_checkpoint)


@pytest.mark.parametrize("text", ["", " ", "   \t  ", "\n"])
def test_empty_input_is_a_clear_error(translator, text):
    with pytest.raises(InputError, match="empty"):
        translator.translate(text)


def test_unknown_characters_are_listed(translator):
    assert translator.vocab.unknown_input_characters("Go.") == []
    with pytest.raises(InputError) as excinfo:
        translator.translate("Go€ to Zürich~.", DecodeOptions(fold_accents=False))
    message = str(excinfo.value)
    for char in ("€", "ü", "~"):
        assert repr(char) in message
    assert "'G'" not in message and "drop" in message


def test_drop_unknown_drops_and_reports(translator):
    options = DecodeOptions(drop_unknown=True)
    result = translator.translate("Go€~.", options)
    assert result.input == "Go."
    assert result.translation == translator.translate("Go.").translation
    assert any("dropped" in w and "'€'" in w and "'~'" in w for w in result.warnings)
    # Dropping a word-sized run of unknown characters leaves no double space behind.
    assert translator.translate("Hug €€ me.", options).input == "Hug me."
    with pytest.raises(InputError, match="only characters outside"):
        translator.translate("€€€", options)


def test_long_input_is_translated_with_a_warning(translator):
    limit = translator.vocab.max_encoder_seq_length
    text = LONG
    assert len(text) > limit
    result = translator.translate(text)
    assert result.steps and result.input == text
    assert any(f"at most {limit}" in w for w in result.warnings)
    assert not any("at most" in w for w in translator.translate("Go.").warnings)


def test_input_is_padded_with_spaces_like_training(translator):
    """Explicit trailing spaces up to max_encoder_seq_length are exactly the recipe's padding, so
    they change nothing; the engine must have run over the padding for short inputs."""
    vocab = translator.vocab
    prepared = translator.prepare("Go.")
    ids, lengths = translator._encoder_batch([prepared])
    assert ids.shape == (1, vocab.max_encoder_seq_length)
    assert ids[0].tolist() == [vocab.input_token_index[c] for c in "Go."] + [vocab.input_pad_index] * (
        vocab.max_encoder_seq_length - 3)
    assert lengths.tolist() == [vocab.max_encoder_seq_length]
    # Running the encoder over the 3 characters only would give a different state.
    h_padded, _ = translator.weights.encode(ids, lengths)
    h_short, _ = translator.weights.encode(ids, np.array([3]))
    assert not np.allclose(h_padded, h_short)


def test_surrounding_whitespace_is_ignored(translator):
    # The engine gets the very same ids either way, so the results are identical.
    assert translator.translate("  Go.  ") == translator.translate("Go.")


def test_batch_keeps_errors_in_place(translator):
    results = translator.translate_batch(["Go.", "", "Hi.", "€"], DecodeOptions(top_k=3))
    assert isinstance(results[1], InputError) and isinstance(results[3], InputError)
    # Each good sentence gets its own translation: the one it gets alone, up to a near-tie, since
    # BLAS may round a batch of two differently from one sentence.
    for result, text in ((results[0], "Go."), (results[2], "Hi.")):
        assert result.input == text
        alone = translator.translate(text, DecodeOptions(top_k=3))
        if compare_steps(result.steps, alone.steps) is None:
            assert result.translation == alone.translation


def test_result_serialises_to_the_cli_contract(translator):
    result = translator.translate("Go.", DecodeOptions(method="beam", beam_size=3, top_k=2))
    data = json.loads(json.dumps(result.to_dict()))
    assert set(data) == {"input", "translation", "score", "steps", "nbest", "warnings", "suggest_capitalize"}
    assert all(set(step) == {"char", "prob", "top"} for step in data["steps"])
    assert all(len(step["top"]) == 2 and len(step["top"][0]) == 2 for step in data["steps"])
    assert [set(n) for n in data["nbest"]] == [{"translation", "score"}] * 3
    assert data["score"] == pytest.approx(sum(np.log(s["prob"]) for s in data["steps"]), abs=1e-4)


def test_translation_drops_end_and_padding(translator):
    for result in translator.translate_batch(["Go.", "Hi.", "Run!", "Who?", LONG]):
        chars = "".join(s.char for s in result.steps)
        assert result.translation == chars.rstrip("\n").rstrip(" ")
        assert "\n" not in result.translation


@pytest.mark.parametrize(
    "options, message",
    [
        (DecodeOptions(method="nucleus"), "method"),
        (DecodeOptions(method="beam", beam_size=0), "beam size"),
        (DecodeOptions(top_k=0), "top-k"),
        (DecodeOptions(method="sample", temperature=0.0), "temperature"),
        (DecodeOptions(method="sample", temperature=-1.0), "temperature"),
    ],
)
def test_invalid_options_are_rejected(translator, options, message):
    with pytest.raises(ValueError, match=message):
        translator.translate("Go.", options)


def test_masked_model_takes_no_padding(random_fast_checkpoint):
    translator = checkpoint.load(random_fast_checkpoint)
    ids, lengths = translator._encoder_batch([translator.prepare("Go."), translator.prepare("Hello!")])
    assert lengths.tolist() == [3, 6] and ids.shape == (2, 6)
    # Trailing spaces are characters to a masked model, not padding: they change the state.
    h, _ = translator.weights.encode(ids[:1, :3], np.array([3]))
    h_spaced, _ = translator.weights.encode(np.array([ids[0, :3].tolist() + [translator.vocab.input_pad_index] * 3]),
                                            np.array([6]))
    assert not np.allclose(h, h_spaced)
    result = translator.translate("Go.")
    assert result.steps


# --- input normalisation (model.normalize), switched per request ---------------------------------


@pytest.fixture(scope="module")
def typed(tmp_path_factory):
    """A random model whose vocabulary also has '"', "Z", "f" and "’" beside "'" (as fra-eng's does)."""
    vocab = random_vocabulary(input_characters=sorted({*INPUT_CHARACTERS, '"', "Z", "f", "\u2019"}))
    return checkpoint.load(make_random_checkpoint(tmp_path_factory.mktemp("random-typed"), vocab=vocab, seed=3))


def _translations_agree(a, b):
    assert a.translation == b.translation and a.input == b.input
    assert [s.prob for s in a.steps] == pytest.approx([s.prob for s in b.steps], abs=1e-6)


def test_a_curly_apostrophe_reads_as_the_ascii_one_and_is_reported(translator):
    curly, plain = translator.translate("Hi, Tom’s."), translator.translate("Hi, Tom's.")
    _translations_agree(curly, plain)
    assert any("’ → '" in w for w in curly.warnings) and plain.warnings == []
    with pytest.raises(InputError, match="'’'"):
        translator.translate("Hi, Tom’s.", DecodeOptions(typography=False))


def test_a_curly_apostrophe_the_vocabulary_has_is_still_read_as_the_ascii_one(typed):
    # fra-eng's vocabularies hold "’" (37 uses against 57,778 of "'"): the model learned the ASCII one.
    curly = typed.translate("Hi, Tom’s.")
    _translations_agree(curly, typed.translate("Hi, Tom's."))
    assert any("’ → '" in w for w in curly.warnings)
    kept = typed.translate("Hi, Tom’s.", DecodeOptions(typography=False))
    assert kept.input == "Hi, Tom’s." and kept.warnings == []  # off: the old behaviour


def test_curly_double_quotes_are_accepted_with_a_warning(typed):
    quoted = typed.translate("“Go.”")
    _translations_agree(quoted, typed.translate('"Go."'))
    assert any("“ → \"" in w and "” → \"" in w for w in quoted.warnings)
    with pytest.raises(InputError, match="'“' '”'"):
        typed.translate("“Go.”", DecodeOptions(typography=False))


def test_curly_quotes_a_model_cannot_read_are_refused_by_the_character_typed(translator):
    # This vocabulary has no '"': replacing “ by it would only make the refusal name '"'.
    with pytest.raises(InputError, match="'“' '”'"):
        translator.translate("“Go.”")


def test_no_break_spaces_become_spaces(random_fast_checkpoint):
    fast = checkpoint.load(random_fast_checkpoint)
    result = fast.translate("Go\u00a0!")
    _translations_agree(result, fast.translate("Go !"))
    assert any("⍽ → ␣" in w for w in result.warnings)


def test_accents_the_model_does_not_know_are_folded(typed):
    folded = typed.translate("Zürich.")
    _translations_agree(folded, typed.translate("Zurich."))
    assert any("ü → u" in w for w in folded.warnings)
    with pytest.raises(InputError, match="'ü'"):
        typed.translate("Zürich.", DecodeOptions(fold_accents=False))
    dropped = typed.translate("Zürich.", DecodeOptions(fold_accents=False, drop_unknown=True))
    assert dropped.input == "Zrich."  # the old behaviour: the letter vanishes
    assert any("dropped" in w for w in dropped.warnings)


def test_nfkc_folds_full_width_letters_and_ligatures(typed):
    for typed_text, plain, shown in (("Ｇo.", "Go.", "Ｇ → G"), ("ﬁne.", "fine.", "ﬁ → fi")):
        result = typed.translate(typed_text)
        _translations_agree(result, typed.translate(plain))
        assert any("NFKC" in w and shown in w for w in result.warnings)
        with pytest.raises(InputError):
            typed.translate(typed_text, DecodeOptions(typography=False))


def test_a_lower_case_start_is_flagged_and_capitalised_on_request(translator):
    lower = translator.translate("go.")
    assert lower.suggest_capitalize and any("capitalise the first letter" in w for w in lower.warnings)
    assert lower.to_dict()["suggest_capitalize"] is True
    capital = translator.translate("go.", DecodeOptions(capitalize=True))
    _translations_agree(capital, translator.translate("Go."))
    assert not capital.suggest_capitalize and capital.warnings == ["capitalised the first letter: g → G"]
    assert not translator.translate("Go.").suggest_capitalize
    assert translator.translate("Go.").to_dict()["suggest_capitalize"] is False


def test_capitalising_is_not_offered_when_the_vocabulary_lacks_the_capital(translator):
    assert "C" not in translator.vocab.input_token_index and "c" in translator.vocab.input_token_index
    result = translator.translate("come.")
    assert not result.suggest_capitalize and result.warnings == []
    assert translator.translate("come.", DecodeOptions(capitalize=True)).input == "come."


def test_prepare_without_options_normalises_nothing(translator):
    with pytest.raises(InputError, match="'’'"):
        translator.prepare("Hi, Tom’s.")
    assert translator.prepare("go.").warnings == [] and not translator.prepare("go.").suggest_capitalize


def test_batch_translation_normalises_each_row(typed):
    results = typed.translate_batch(["Hi, Tom’s.", "go.", "Zürich."])
    assert [r.input for r in results] == ["Hi, Tom's.", "go.", "Zurich."]
    assert [r.suggest_capitalize for r in results] == [False, True, False]
    assert all(r.warnings for r in results)


def test_the_batching_engine_keeps_each_requests_normalisation(typed):
    # Requests that differ only in normalisation must not share an engine call (grouped by options).
    engine = BatchingEngine()
    try:
        on = engine.submit(typed, "Zürich.", DecodeOptions())
        off = engine.submit(typed, "Zürich.", DecodeOptions(fold_accents=False))
        lower = engine.submit(typed, "go.", DecodeOptions(capitalize=True))
        assert on.result(60).input == "Zurich."
        with pytest.raises(InputError, match="'ü'"):
            off.result(60)
        assert lower.result(60).input == "Go."
    finally:
        engine.close()
