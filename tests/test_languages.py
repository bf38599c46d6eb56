"""The language pair of a checkpoint (model/languages.py): from flags, from an Anki file's name, or the default."""

from __future__ import annotations

import pytest

from model import languages
from model.languages import DEFAULT_PAIR, ENGLISH, FRENCH, Language, LanguagePair


@pytest.mark.parametrize("text,name,code", [
    ("Spanish", "Spanish", "es"), ("es", "Spanish", "es"), ("spa", "Spanish", "es"), ("SPA", "Spanish", "es"),
    ("german", "German", "de"), ("ell", "Greek", "el"), ("cmn", "Mandarin Chinese", "cmn"), ("fr", "French", "fr"),
])
def test_a_language_from_a_name_or_an_iso_code(text, name, code):
    assert languages.language(text) == Language(name, code)


@pytest.mark.parametrize("text", ["", "xx", "Elvish", "zzz"])
def test_an_unknown_language_names_what_is_accepted(text):
    with pytest.raises(ValueError, match="unknown language .*a language name \\(Spanish\\), an ISO 639-1 code"):
        languages.language(text)


@pytest.mark.parametrize("name,target", [
    ("spa-eng.zip", "Spanish"), ("data/deu-eng.txt", "German"), ("ita.txt", "Italian"), ("fra.txt", "French"),
    ("FRA-ENG.ZIP", "French"),
])
def test_the_pair_of_an_anki_release_comes_from_its_name(name, target):
    assert languages.from_data_name(name) == LanguagePair(ENGLISH, languages.language(target))


@pytest.mark.parametrize("name", ["pairs.tsv", "my-cafe.txt", "eng.txt", "xyz-eng.zip", "spa-fra.zip"])
def test_other_names_say_nothing(name):
    assert languages.from_data_name(name) is None


def test_flags_win_over_the_name_and_the_name_over_the_default():
    assert languages.for_training("spa-eng.zip") == LanguagePair(ENGLISH, Language("Spanish", "es"))
    assert languages.for_training("spa-eng.zip", target="it").target == Language("Italian", "it")
    assert languages.for_training("pairs.tsv") == DEFAULT_PAIR == LanguagePair(ENGLISH, FRENCH)
    assert languages.for_training(None, source="de", target="en") == LanguagePair(Language("German", "de"), ENGLISH)
    with pytest.raises(ValueError, match="unknown language 'Elvish'"):
        languages.for_training("pairs.tsv", target="Elvish")


def test_metadata_round_trip_and_checkpoints_without_the_field_are_english_to_french():
    pair = LanguagePair(ENGLISH, Language("Spanish", "es"))
    assert languages.from_metadata({"languages": pair.to_dict()}) == pair
    assert pair.arrow == "English → Spanish"
    for metadata in (None, {}, {"languages": "fr"}, {"languages": {"source": {"name": "English"}}}):
        assert languages.from_metadata(metadata) == DEFAULT_PAIR


def test_a_translators_messages_name_its_target_language(random_fast_checkpoint, tmp_path):
    import shutil

    from model import InputError, checkpoint

    spanish = tmp_path / "spanish"
    shutil.copytree(random_fast_checkpoint, spanish)
    metadata = checkpoint.read_metadata(spanish)
    metadata["languages"] = LanguagePair(ENGLISH, Language("Spanish", "es")).to_dict()
    checkpoint.write_json(spanish / checkpoint.METADATA_FILE, metadata)
    translator = checkpoint.load(spanish)
    assert translator.languages.target.name == "Spanish"
    with pytest.raises(InputError, match="the Spanish has characters outside the model's Spanish vocabulary: '¿'"):
        translator.score("Go.", "¿Va?")
    with pytest.raises(InputError, match="the prefix has characters outside the model's Spanish vocabulary"):
        translator.translate("Go.", prefix="¿")
    assert checkpoint.load(random_fast_checkpoint).languages == DEFAULT_PAIR


def test_a_language_takes_the_article_its_name_needs():
    from model.languages import ENGLISH, Language

    assert ENGLISH.with_article == "an English" and Language("Spanish", "es").with_article == "a Spanish"
    assert Language("Italian", "it").with_article == "an Italian"
