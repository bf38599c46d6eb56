"""Sentence segmentation (model/segment.py): the hard cases, and joining the French back in the text's shape."""

from __future__ import annotations

import pytest

from model import segment

# (text, its sentences): the cases the segmenter was chosen on (see model/segment.py).
HARD_CASES = [
    ("Hello! How are you? I hope you are well.", ["Hello!", "How are you?", "I hope you are well."]),
    ("Mr. Smith is here. He is tall.", ["Mr. Smith is here.", "He is tall."]),
    ("Dr. Brown arrived late. We had already left.", ["Dr. Brown arrived late.", "We had already left."]),
    ("Mrs. Jones teaches French. Her class starts at 9 a.m. every day.",
     ["Mrs. Jones teaches French.", "Her class starts at 9 a.m. every day."]),
    ("St. Louis is a big city. I like it.", ["St. Louis is a big city.", "I like it."]),
    ("Prof. Martin gave a talk. It was long.", ["Prof. Martin gave a talk.", "It was long."]),
    ("I like fruit, e.g. apples and pears. Do you?", ["I like fruit, e.g. apples and pears.", "Do you?"]),
    ("I bought eggs, milk, etc. at the shop. Then I went home.",
     ["I bought eggs, milk, etc. at the shop.", "Then I went home."]),
    ("It costs 3.5 euros. That's cheap.", ["It costs 3.5 euros.", "That's cheap."]),
    ("I paid $3.50 for it. It was worth it.", ["I paid $3.50 for it.", "It was worth it."]),
    ("The price is 10.99 dollars. Is that OK?", ["The price is 10.99 dollars.", "Is that OK?"]),
    ("Version 2.0 is out. Try it!", ["Version 2.0 is out.", "Try it!"]),
    ("The meeting is at 3:30. Don't be late!", ["The meeting is at 3:30.", "Don't be late!"]),
    ("He lives in the U.S. now. I live in France.", ["He lives in the U.S. now.", "I live in France."]),
    ("The U.K. and the U.S. are allies. France too.", ["The U.K. and the U.S. are allies.", "France too."]),
    ("I saw Tom at 5 p.m. yesterday. He was happy.", ["I saw Tom at 5 p.m. yesterday.", "He was happy."]),
    ("I woke up at 7 a.m. I was late.", ["I woke up at 7 a.m.", "I was late."]),
    ("I live at No. 5 Baker Street. It's near the park.", ["I live at No. 5 Baker Street.", "It's near the park."]),
    ("Wait... What happened?", ["Wait...", "What happened?"]),
    ("I'm tired... I want to sleep.", ["I'm tired...", "I want to sleep."]),
    ("Really?! I can't believe it.", ["Really?!", "I can't believe it."]),
    ("Is it true?? I don't think so.", ["Is it true??", "I don't think so."]),
    ("Thanks!! See you tomorrow.", ["Thanks!!", "See you tomorrow."]),
    ('"Come here!" she said. Then she left.', ['"Come here!" she said.', "Then she left."]),
    ('He said, "I am tired." Then he went to bed.', ['He said, "I am tired."', "Then he went to bed."]),
    ("She asked, 'Are you coming?' I said yes.", ["She asked, 'Are you coming?'", "I said yes."]),
    ('He said: "No." Then he left.', ['He said: "No."', "Then he left."]),
    ("(This is an aside.) This is not.", ["(This is an aside.)", "This is not."]),
    ("It was great (really great!). We'll come back.", ["It was great (really great!).", "We'll come back."]),
    ("No final punctuation here", ["No final punctuation here"]),
    ("What time is it? It's late", ["What time is it?", "It's late"]),
    ("hello. how are you?", ["hello.", "how are you?"]),  # phone keyboards and quick typists
    ("I'm sorry. I don't understand. Could you speak more slowly?",
     ["I'm sorry.", "I don't understand.", "Could you speak more slowly?"]),
    ("Tom's flight lands at 6. Mary will pick him up.", ["Tom's flight lands at 6.", "Mary will pick him up."]),
]
# What pySBD gets wrong, recorded as the limits the README states: one sentence each.
KNOWN_LIMITS = ["Hi!!! Are you there???", "Ok.Thanks."]


@pytest.mark.parametrize("text,sentences", HARD_CASES, ids=[t for t, _ in HARD_CASES])
def test_hard_cases(text, sentences):
    found = segment.split(text)
    assert list(found.sentences) == sentences
    assert found.text == text  # one space between the sentences of a line, as typed here


@pytest.mark.parametrize("text", KNOWN_LIMITS)
def test_known_limits_stay_one_sentence(text):
    assert segment.split(text).sentences == (text,)


def test_line_breaks_and_blank_lines_are_kept_between_sentences():
    text = "Dear Anna,\nThank you for the letter. It made me happy!\n\nSee you soon.\n\n\nTom"
    found = segment.split(text)
    assert found.sentences == ("Dear Anna,", "Thank you for the letter.", "It made me happy!", "See you soon.", "Tom")
    assert found.separators == ("\n", " ", "\n\n", "\n\n\n")
    assert found.join(["Chère Anna,", "Merci pour la lettre.", "Elle m'a fait plaisir !", "À bientôt.", "Tom"]) == (
        "Chère Anna,\nMerci pour la lettre. Elle m'a fait plaisir !\n\nÀ bientôt.\n\n\nTom")


def test_spacing_is_tidied_and_windows_line_ends_read_as_line_breaks():
    found = segment.split("  \r\n  Hello!   How are you?  \r\n\r\n   Fine.  \n \n")
    assert found.sentences == ("Hello!", "How are you?", "Fine.")
    assert found.separators == (" ", "\n\n")  # a line of spaces is a blank line
    assert found.text == "Hello! How are you?\n\nFine."


def test_punctuation_alone_is_no_sentence_of_its_own():
    assert segment.split("Hello! ?").sentences == ("Hello! ?",)
    assert segment.split("... Hello.").sentences == ("... Hello.",)
    assert segment.split("Hello!\n?!\nBye.").sentences == ("Hello!", "?!", "Bye.")  # a line is kept as written
    assert not segment.has_words("?! ... --") and segment.has_words("3") and segment.has_words("é")


def test_empty_text_has_no_sentences_and_join_checks_its_parts():
    assert segment.split("  \n\n ") == segment.Segmented((), ())
    assert segment.Segmented((), ()).join([]) == ""
    with pytest.raises(ValueError, match="got 1 parts for 2 sentences"):
        segment.split("Hi. Bye.").join(["Salut."])


def test_a_prefix_is_split_into_sentence_starts_keeping_its_trailing_space():
    assert segment.split_prefix("Je ") == ["Je "]  # one sentence: exactly as written
    assert segment.split_prefix("Bonjour ! Je ") == ["Bonjour !", "Je "]
    assert segment.split_prefix("M. Dupont est là. Il ") == ["M. Dupont est là.", "Il "]
    assert segment.split_prefix("Salut !\nMerci") == ["Salut !", "Merci"]
    assert segment.split_prefix("") == [] and segment.split_prefix(" ") == [" "]


def test_french_is_split_with_french_rules():
    assert segment.split("Bonjour ! Comment vas-tu ? Très bien.", "fr").sentences == (
        "Bonjour !", "Comment vas-tu ?", "Très bien.")


def test_each_language_gets_pysbds_rules_where_it_has_them_else_the_english_ones():
    import pysbd.languages

    assert segment.PYSBD_LANGUAGES == set(pysbd.languages.LANGUAGE_CODES)  # the pinned pySBD's list
    assert segment.rules_for("es") == "es" and segment.rules_for("fr") == "fr"
    assert segment.rules_for("tlh") == "en" and segment.rules_for("pt") == "en"
    assert segment.split("Ve. ¿Quién?", "tlh").sentences == ("Ve.", "¿Quién?")
