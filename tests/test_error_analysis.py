"""Where the errors are (model/error_analysis.py) and `evaluate --errors`."""

from __future__ import annotations

import json
import re
from collections import Counter

from model import data, error_analysis, splits
from model.checkpoint import read_metadata
from tests.test_cli import run_cli


def test_word_counts_are_lower_cased_words_with_contractions():
    counts = error_analysis.word_counts(["Tom's here.", "I don't know Tom.", "TOM, 3 cats!"])
    assert counts == Counter({"tom's": 1, "here": 1, "i": 1, "don't": 1, "know": 1, "tom": 2, "cats": 1})


def test_rare_names_are_capitalised_rare_words_after_the_first():
    counts = Counter({"tom": 500, "monday": 300, "lyon": 0, "paris": 19})
    assert error_analysis.names("Tom met Anna in Lyon on Monday.", counts) == ["Anna", "Lyon"]
    assert error_analysis.names("Paris is big. I'm in Paris.", counts) == ["Paris"]
    assert error_analysis.names("Lyon is far.", counts) == []  # the first word is capitalised anyway


def test_each_wrong_sentence_gets_the_first_cause_that_applies():
    counts = Counter({"the": 1000, "cat": 300, "sleeps": 150, "plumber": 15, "came": 400, "cucumber": 0,
                      "is": 900, "green": 200, "we": 800, "visited": 120, "in": 900, "may": 100})
    rows = error_analysis.analyse([
        {"input": "The cat sleeps.", "translation": "Le chat dort.", "references": ["Le chat dort."]},
        {"input": "The cat sleeps.", "translation": "Le chien dort.", "references": ["Le chat dort."]},
        {"input": "The plumber came.", "translation": "Le plombre vint.", "references": ["Le plombier vint."]},
        {"input": "The cucumber is green.", "translation": "Le coup est vert.", "references": ["Le concombre est vert."]},
        {"input": "We visited Marseille in May.", "translation": "Nous avons visité Mary en mai.",
         "references": ["Nous avons visité Marseille en mai."]},
        {"input": "42", "translation": None, "references": ["42"]},
    ], counts)
    assert [r.wrong for r in rows] == [False, True, True, True, True, True]
    assert [r.cause for r in rows[1:]] == ["common words only", "rare word", "unseen word", "name", "unseen word"]
    assert rows[2].rarest == ("plumber", 15) and rows[4].names == ["Marseille"]
    assert rows[0].chrf == 100.0 and 0 <= rows[1].chrf < 100.0
    facts = error_analysis.summary(rows)
    assert facts["wrong"] == 5 and facts["wrong_by_cause"] == {"name": 1, "unseen word": 2, "rare word": 1,
                                                                 "common words only": 1}
    bands = facts["by_rarest_word_count"]
    assert bands["0"] == {"sentences": 2, "wrong": 2, "wrong_pct": 100.0, "mean_chrf": bands["0"]["mean_chrf"]}
    assert bands["100+"]["sentences"] == 2 and bands["100+"]["wrong_pct"] == 50.0
    assert bands["1-4"] == {"sentences": 0} and facts["with_names"]["sentences"] == 1
    report = error_analysis.render(rows, counts, "Errors")
    assert "| rare word | The plumber (15) came. | Le plombre vint. | Le plombier vint. |" in report
    assert "Le chat dort. | Le chat dort." not in report  # right outputs are not listed


def test_evaluate_errors_counts_words_in_the_checkpoints_training_pairs(tiny_checkpoint, shared_data, tmp_path):
    out = tmp_path / "errors.md"
    proc = run_cli("evaluate", "--model", tiny_checkpoint, "--data", shared_data, "--split", "visitor", "--limit", "30",
                   "--beam-size", "0", "--quiet", "--errors", out)
    assert proc.returncode == 0, proc.stderr
    errors = json.loads(proc.stdout)["errors"]
    assert errors["sentences"] == 30 and errors["file"] == str(out)
    assert sum(errors["wrong_by_cause"].values()) == errors["wrong"]
    banded = sum(g["sentences"] for g in errors["by_rarest_word_count"].values()) + errors["with_names"]["sentences"]
    assert banded == 30
    # The counts are those of the checkpoint's own training pairs (300 short ones), not the whole file.
    english = splits.training_english(read_metadata(tiny_checkpoint), str(shared_data))
    assert 200 < len(english) < 300 and set(english) <= {p.english for p in data.read_pairs(shared_data, limit=400)}
    counts = error_analysis.word_counts(english)
    text = out.read_text(encoding="utf-8")
    assert text.startswith("# Greedy errors of") and f"{errors['wrong']} of 30 outputs" in text
    annotated = [(word, int(n)) for line in text.splitlines() if line.startswith("| ") and line.count(" | ") >= 4
                 for word, n in re.findall(r"([A-Za-z']+) \((\d+)\)", line.split(" | ")[1])]
    assert annotated and all(counts[word.lower()] == n < 100 for word, n in annotated)
