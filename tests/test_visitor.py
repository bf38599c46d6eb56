"""The visitor set (model/visitor/): its shape, that it lies outside the corpus, that the default model can
read and write every character of it, and that the loader names the file and line of a bad line."""

from __future__ import annotations

import json

import pytest

from model import checkpoint, data
from model.visitor import VISITOR_FILE, load_visitor_set
from model.vocab import Vocabulary

MIN_SENTENCES = 150
MIN_CHARS, MAX_CHARS = 15, 60  # what a visitor types: longer than "Go.", shorter than a paragraph


def corpus_key(sentence: str) -> str:
    """A sentence with case and punctuation gone, so "I'm late!" and "im late" meet."""
    kept = "".join(c for c in sentence.casefold() if c.isalnum() or c.isspace())
    return " ".join(kept.split())


@pytest.fixture(scope="module")
def visitor():
    return load_visitor_set()


def test_the_set_loads_with_enough_well_formed_sentences(visitor):
    sentences, references = visitor
    assert len(sentences) >= MIN_SENTENCES
    assert len(references) == len(sentences)
    too_short_or_long = [s for s in sentences if not MIN_CHARS <= len(s) <= MAX_CHARS]
    assert not too_short_or_long
    assert len(set(sentences)) == len(sentences)
    assert len({corpus_key(s) for s in sentences}) == len(sentences), "two sentences differ only by case or punctuation"
    for sentence, refs in zip(sentences, references):
        assert refs and all(r.strip() for r in refs), sentence
        assert len(set(refs)) == len(refs), f"{sentence}: a reference is repeated"
        assert sentence.isascii() and sentence[0].isupper() and sentence[-1] in ".?!", sentence


def test_references_follow_the_corpus_punctuation(visitor):
    # fra.txt mostly writes a plain space before ? ! : and a straight apostrophe; references that
    # did otherwise would cost every model chrF for typography, not translation.
    for refs in visitor[1]:
        for ref in refs:
            assert ref[0].isupper() and ref[-1] in ".?!", ref
            assert "\u2019" not in ref and "\u00a0" not in ref and "\u202f" not in ref, ref
            for i, c in enumerate(ref):
                if c in "?!:;":
                    assert ref[i - 1] == " ", f"{ref!r}: no space before {c!r}"


def test_no_sentence_occurs_in_the_training_data(visitor, shared_data):
    corpus = {corpus_key(p.english) for p in data.read_pairs(shared_data)}
    assert len(corpus) > 100_000  # the whole 2019 release, not a sample
    in_corpus = [s for s in visitor[0] if corpus_key(s) in corpus]
    assert not in_corpus


def test_every_character_is_in_the_default_checkpoints_vocabulary(visitor):
    raw = (checkpoint.bundled_path("default") / checkpoint.VOCAB_FILE).read_text(encoding="utf-8")
    vocab = Vocabulary.from_dict(json.loads(raw))
    sentences, references = visitor
    unknown_input = {c for s in sentences for c in vocab.unknown_input_characters(s)}
    unknown_target = {c for refs in references for r in refs for c in r if c not in vocab.target_token_index}
    assert not unknown_input
    assert not unknown_target


def test_the_default_path_is_the_bundled_file():
    assert VISITOR_FILE.name == "visitor.tsv" and VISITOR_FILE.is_file()
    assert load_visitor_set(VISITOR_FILE) == load_visitor_set()


def test_several_references_and_blank_lines(tmp_path):
    path = tmp_path / "set.tsv"
    path.write_text("\ufeffI bought a kite.\tJ'ai acheté un cerf-volant.\r\n\nAre you ready?\tTu es prêt ?\tVous êtes prêt ?\n",
                    encoding="utf-8")
    assert load_visitor_set(path) == (["I bought a kite.", "Are you ready?"],
                                      [["J'ai acheté un cerf-volant."], ["Tu es prêt ?", "Vous êtes prêt ?"]])


GOOD_LINE = "The lawyer read the contract.\tL'avocat a lu le contrat.\n"


@pytest.mark.parametrize("bad_line, says", [
    ("The lawyer read the contract. L'avocat a lu le contrat.", "no tab"),
    ("\tL'avocat a lu le contrat.", "the English sentence"),
    ("The lawyer read the contract.\t", "French reference 1"),
    ("The lawyer read the contract.\t  ", "French reference 1"),
    ("The lawyer read the contract.\tL'avocat a lu le contrat.\t", "French reference 2"),
    ("The lawyer read the contract.\t\tL'avocat a lu le contrat.", "French reference 1"),
])
def test_a_malformed_line_names_the_file_and_line(tmp_path, bad_line, says):
    path = tmp_path / "bad.tsv"
    # The bad line is line 4: a good line, a blank line, another good line, then it.
    path.write_text("A cat sat on my car.\tUn chat s'est assis sur ma voiture.\n\n" + GOOD_LINE + bad_line + "\n",
                    encoding="utf-8")
    with pytest.raises(ValueError, match=says) as err:
        load_visitor_set(path)
    assert f"{path}:4:" in str(err.value)


def test_a_repeated_sentence_names_both_lines(tmp_path):
    path = tmp_path / "twice.tsv"
    path.write_text(GOOD_LINE * 2, encoding="utf-8")
    with pytest.raises(ValueError, match="repeats line 1") as err:
        load_visitor_set(path)
    assert f"{path}:2:" in str(err.value)


def test_an_empty_file_is_an_error(tmp_path):
    path = tmp_path / "empty.tsv"
    path.write_text("\n\n", encoding="utf-8")
    with pytest.raises(ValueError, match="no sentences") as err:
        load_visitor_set(path)
    assert str(path) in str(err.value)
