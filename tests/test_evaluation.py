"""Scoring (model/evaluation.py) and the evaluation splits (model/splits.py)."""

from __future__ import annotations

import pytest
from sacrebleu.metrics import BLEU, CHRF

from model import checkpoint, data, evaluation, splits
from model.translator import DecodeOptions, InputError
from tests.random_models import random_sentences


def test_hypothesis_equal_to_the_second_reference_is_an_exact_match():
    hypotheses = ["Salut !", "Va !"]
    grouped = [["Bonjour !", "Salut !"], ["Va !"]]
    figures = evaluation.score(hypotheses, grouped)
    assert figures["exact_match"] == 100.0
    assert figures["chrf"] == 100.0  # chrF takes the best reference of each sentence
    only_first = evaluation.score(hypotheses, [["Bonjour !"], ["Va !"]])
    assert only_first["exact_match"] == 50.0 and only_first["chrf"] < 100.0


def test_uneven_reference_counts_match_sacrebleu():
    hypotheses = ["Je suis ici.", "Il est parti.", "Nous sommes arrivés en retard."]
    grouped = [["Je suis là.", "Je suis ici.", "J'y suis."], ["Il est parti."], ["Nous arrivâmes en retard.", "On était en retard."]]
    figures = evaluation.score(hypotheses, grouped)
    # The same corpus laid out by hand as sacrebleu's reference streams (None = no such reference).
    streams = [["Je suis là.", "Il est parti.", "Nous arrivâmes en retard."],
               ["Je suis ici.", None, "On était en retard."],
               ["J'y suis.", None, None]]
    assert figures["chrf"] == round(CHRF().corpus_score(hypotheses, streams).score, 2)
    assert figures["chrf++"] == round(CHRF(word_order=2).corpus_score(hypotheses, streams).score, 2)
    assert figures["bleu"] == round(BLEU().corpus_score(hypotheses, streams).score, 2)
    assert figures["exact_match"] == pytest.approx(200 / 3, abs=0.01)
    # Multiple references can only help.
    first_only = evaluation.score(hypotheses, [[refs[0]] for refs in grouped])
    assert figures["chrf"] > first_only["chrf"] and figures["bleu"] >= first_only["bleu"]


@pytest.fixture(scope="module")
def translator(random_checkpoint):
    """Seeded random weights: what it writes is the same on every machine, and beside the point here."""
    return checkpoint.load(random_checkpoint)


@pytest.fixture(scope="module")
def trained(tiny_checkpoint):
    """A checkpoint trained for real, for the splits its metadata records."""
    return checkpoint.load(tiny_checkpoint)


def test_untranslatable_inputs_are_counted_and_scored_empty(translator):
    sources = ["Go.", "Hi.", "Zürich €!", ""]
    references = [["Va !"], ["Salut !"], ["Zurich !"], ["Rien."]]
    figures, rows = evaluation.evaluate(translator, sources, references, progress=False, batch_size=3)
    assert figures["sentences"] == 4 and figures["untranslatable"] == 2
    assert [r["translation"] is None for r in rows] == [False, False, True, True]
    assert "'€'" in rows[2]["error"] and "empty" in rows[3]["error"]
    # The first batch of 3 decodes "Go." and "Hi." together: the same batch gives the same arithmetic.
    hypotheses = [r.translation for r in translator.translate_batch(sources[:2])] + ["", ""]
    assert [r["translation"] for r in rows[:2]] == hypotheses[:2]
    expected = evaluation.score(hypotheses, references)
    for key in ("chrf", "chrf++", "bleu", "exact_match"):
        assert figures[key] == expected[key]
    beam, _ = evaluation.evaluate(translator, sources, references, DecodeOptions(method="beam", beam_size=2),
                                  progress=False)
    assert beam["untranslatable"] == 2
    with pytest.raises(ValueError, match="nothing to evaluate"):
        evaluation.evaluate(translator, [], [], progress=False)


def test_outputs_equal_to_a_reference_score_as_exact_matches(translator):
    # Whatever the model writes: where a reference is its output, the sentence is an exact match;
    # where no reference can be (a character the model cannot write), it is not.
    sources = random_sentences(12)
    _, first = evaluation.evaluate(translator, sources, [["Ω"]] * len(sources), progress=False)
    references = [["Ω", row["translation"]] if i % 3 == 0 else ["Ω"] for i, row in enumerate(first)]
    figures, rows = evaluation.evaluate(translator, sources, references, progress=False)
    assert [r["translation"] for r in rows] == [r["translation"] for r in first]  # the same batches again
    assert figures["exact_match"] == round(100 * 4 / 12, 2)
    assert sum(r["translation"] in r["references"] for r in rows) == 4


@pytest.mark.slow
def test_heldout_split_never_overlaps_training(trained, shared_data):
    sources, references, info = splits.load_split(trained.metadata, "heldout", limit=None)
    read = {p.english for p in data.read_pairs(shared_data, limit=400)}  # every line the fixture read
    assert sources and not set(sources) & read
    assert info["data_sha256"] and info["sentences_fingerprint"] == data.fingerprint(sources)
    assert len(sources) == len(set(sources)) == len(references)
    # Every translation of a held-out sentence is among its references.
    pairs = data.read_pairs(shared_data, limit=20000)
    by_english = {}
    for pair in pairs:
        by_english.setdefault(pair.english, []).append(pair.french)
    for source, refs in zip(sources, references):
        if source in by_english:
            assert refs[: len(by_english[source])] == by_english[source]


@pytest.mark.slow
def test_recipe_and_val_splits(trained):
    sources, references, _ = splits.load_split(trained.metadata, "recipe", limit=50)
    assert sources[:3] == ["Go.", "Hi.", "Run!"] and len(sources) == 50
    val_sources, _, _ = splits.load_split(trained.metadata, "val")
    count = trained.metadata["data"]["num_training_pairs"]
    train_english = {p.english for p in data.read_pairs(trained.metadata["data"]["source"], limit=count)}
    assert val_sources and not set(val_sources) & train_english
    with pytest.raises(ValueError, match="split must be"):
        splits.load_split(trained.metadata, "test")


@pytest.mark.slow
def test_paragraph_inputs_join_heldout_and_visitor_sentences(trained, shared_data):
    inputs = splits.paragraph_inputs(trained.metadata, str(shared_data))
    again = splits.paragraph_inputs(trained.metadata, str(shared_data))
    assert inputs.sources == again.sources and inputs.info["sentences_fingerprint"] == again.info["sentences_fingerprint"]
    assert inputs.info["inputs"] == splits.PARAGRAPH_INPUTS and len(inputs.sources) == sum(splits.PARAGRAPH_INPUTS.values())
    heldout, heldout_refs, _ = splits.load_split(trained.metadata, "heldout")
    visitor, visitor_refs, _ = splits.load_split(trained.metadata, "visitor")
    refs_of = {**dict(zip(heldout, heldout_refs)), **dict(zip(visitor, visitor_refs))}
    used = [s for parts in inputs.parts for s in parts]
    assert len(used) == len(set(used)) == inputs.info["sentences"]  # no sentence twice
    for n, (source, references, parts) in enumerate(zip(inputs.sources, inputs.references, inputs.parts)):
        assert len(parts) == 2 + n % 2 and source == " ".join(parts)
        assert all(p in (heldout if n < 120 else visitor) for p in parts)  # held-out inputs first
        assert references[0] == " ".join(refs_of[p][0] for p in parts)
        assert len(references) == min(splits.PARAGRAPH_REFERENCES, max(len(refs_of[p]) for p in parts))


@pytest.mark.slow
def test_evaluate_paragraphs_scores_segmented_whole_and_alone(tiny_checkpoint, shared_data, tmp_path):
    from tests.test_cli import jsonl, run_cli

    rows_path = tmp_path / "rows.jsonl"
    proc = run_cli("evaluate", "--model", tiny_checkpoint, "--data", shared_data, "--split", "paragraphs",
                   "--limit", "8", "--beam-size", "2", "--quiet", "--jsonl", rows_path)
    assert proc.returncode == 0, proc.stderr
    report = __import__("json").loads(proc.stdout)
    assert report["split"] == "paragraphs" and report["inputs"] == {"heldout": 8, "visitor": 0}
    for run in ("greedy", "beam2"):
        assert set(report[run]) == set(evaluation.PARAGRAPH_WAYS)
        for figures in report[run].values():
            assert 0 <= figures["chrf"] <= 100 and figures["untranslatable"] < 8  # most read: short sentences
    rows = jsonl(rows_path.read_text(encoding="utf-8"))
    translator = checkpoint.load(tiny_checkpoint)
    inputs = splits.paragraph_inputs(translator.metadata, str(shared_data), limit=8)
    for row, parts in zip(rows, inputs.parts):
        outputs = row["decoding"]["greedy"]
        # The tiny model reads few characters: an input with one it cannot read scores as empty.
        alone = translator.translate_batch(parts)
        failed = any(isinstance(a, InputError) for a in alone)
        assert outputs["alone"] == ("" if failed else " ".join(a.translation for a in alone))
        whole = translator.translate_batch([row["input"]])[0]
        assert outputs["whole"] == ("" if isinstance(whole, InputError) else whole.translation)
