"""The bundled held-out sample: drawn from the evaluation split only, references grouped, checked on load."""

from __future__ import annotations

import json
import random

import pytest

from model import checkpoint, data, samples, splits
from model.samples import MAX_CHARS, SampleError, build_sample, load, main, pick_examples, tier_of
from model.vocab import Vocabulary

# Half the sentences from line 3 on are held out: a small file then holds enough of both kinds.
SPEC = data.HeldoutSpec(start_line=3, per_mille=500, salt="test-salt")
WORDS = ["cat", "dog", "bird", "horse", "fish", "mouse", "goat", "lion", "bear", "zebra"]


def _pairs_text() -> str:
    """~80 English sentences of every tier, some translated twice, one first seen before the window."""
    lines = ["Go.\tVa !", "I see a cat.\tJe vois un chat."]  # lines 1-2: never held out
    for i, word in enumerate(WORDS):
        lines.append(f"A {word}.\tUn animal {i}.")  # <= 15 characters
        lines.append(f"I see a {word} over there.\tJe vois un animal {i} là-bas.")  # 16-30
        lines.append(f"I see a {word} over there.\tJ'en vois un {i} là-bas.")  # a second reference
        lines.append(f"Yesterday I saw a {word} near the old house.\tHier, un animal {i} près de la maison.")  # 31-50
        lines.append(f"Yesterday evening I saw a very big {word} walking near our old house.\tTrop long {i}.")  # > 50
        for j, other in enumerate(WORDS[:4]):
            lines.append(f"The {word} likes the {other}.\tLe {i} aime le {j}.")
    lines.append("I see a cat.\tJe vois un chat, encore.")  # seen at line 2 first: trainable, whatever its hash
    return "\n".join(lines) + "\n"


@pytest.fixture
def pair_file(tmp_path):
    path = tmp_path / "pairs.txt"
    path.write_text(_pairs_text(), encoding="utf-8")
    return path


@pytest.fixture
def checkpoint_dir(tmp_path, pair_file):
    """Just what the command reads from a checkpoint: metadata.json (the split) and vocab.json."""
    folder = tmp_path / "ckpt"
    folder.mkdir()
    pairs = data.read_pairs(pair_file)
    vocab = Vocabulary.from_texts([p.english for p in pairs], [data.wrap_target(p.french) for p in pairs])
    (folder / checkpoint.METADATA_FILE).write_text(json.dumps({"data": {"heldout": SPEC.to_dict()}}), encoding="utf-8")
    (folder / checkpoint.VOCAB_FILE).write_text(json.dumps(vocab.to_dict()), encoding="utf-8")
    return folder


def _write(tmp_path, pair_file, checkpoint_dir, *extra) -> tuple[int, dict]:
    out = tmp_path / "sample.json"
    code = main(["--data", str(pair_file), "--out", str(out), "--checkpoint", str(checkpoint_dir), *extra])
    return code, (json.loads(out.read_text(encoding="utf-8")) if code == 0 else {})


def test_the_spec_is_the_one_the_checkpoint_is_evaluated_on(checkpoint_dir):
    assert splits.evaluation_spec(checkpoint.read_metadata(checkpoint_dir)) == SPEC


def test_entries_are_held_out_sentences_with_all_their_references(tmp_path, pair_file, checkpoint_dir, capsys):
    code, written = _write(tmp_path, pair_file, checkpoint_dir, "--size", "1000")
    assert code == 0 and "wrote" in capsys.readouterr().out
    pairs = data.read_pairs(pair_file)
    trainable, heldout = data.split_pairs(pairs, SPEC)
    english = [e["english"] for e in written["entries"]]
    assert english and not set(english) & {p.english for p in trainable}
    assert "I see a cat." not in english and "Go." not in english
    # every held-out sentence of at most 50 characters, each with every French line of the file
    want = {p.english: [q.french for q in pairs if q.english == p.english] for p in heldout if len(p.english) <= MAX_CHARS}
    assert {e["english"]: e["references"] for e in written["entries"]} == want
    assert any(len(e["references"]) == 2 for e in written["entries"])
    assert all(e["tier"] == tier_of(e["english"]) and SPEC.is_heldout(e["english"], e["line"]) for e in written["entries"])
    assert [e["line"] for e in written["entries"]] == sorted(e["line"] for e in written["entries"])


def test_the_record_says_how_the_file_was_made(tmp_path, pair_file, checkpoint_dir):
    _, written = _write(tmp_path, pair_file, checkpoint_dir, "--size", "5", "--seed", "3")
    assert written["command"] == (f"python -m model.samples --data {pair_file} --out {tmp_path / 'sample.json'} "
                                  f"--checkpoint {checkpoint_dir} --size 5 --seed 3")
    assert written["data"]["sha256"] == data.read_text(pair_file)[1] and written["data"]["pairs"] == len(data.read_pairs(pair_file))
    assert written["split"]["heldout"] == SPEC.to_dict() and written["split"]["entries"] == 5
    assert "CC-BY 2.0" in written["licence"] and "tatoeba.org" in written["licence"]
    assert set(written["git_commit"] or {}) <= {"sha", "dirty"}
    assert written["draw"] == {"seed": 3, "size": 5, "max_chars": MAX_CHARS, "vocabulary": f"input characters of {checkpoint_dir}"}


def test_the_same_seed_gives_the_same_sample_and_another_seed_another(pair_file):
    pairs = data.read_pairs(pair_file)
    first, examples, counts = build_sample(pairs, SPEC, size=10, seed=1)
    again, _, _ = build_sample(pairs, SPEC, size=10, seed=1)
    other, _, _ = build_sample(pairs, SPEC, size=10, seed=2)
    assert first == again and first != other and len(first) == 10 == counts["entries"]
    assert counts["heldout_sentences"] >= counts["short_enough"] > 10
    assert set(examples) <= set(first)


def test_sentences_the_vocabulary_cannot_read_are_left_out(pair_file):
    pairs = data.read_pairs(pair_file)
    vocab = Vocabulary.from_texts([p.english for p in pairs if "z" not in p.english], ["\tx\n"])
    everything, _, _ = build_sample(pairs, SPEC, size=1000)
    readable, _, counts = build_sample(pairs, SPEC, size=1000, vocab=vocab)
    assert {e.english for e in everything} - {e.english for e in readable} == {e.english for e in everything if "z" in e.english}
    assert counts["eligible_sentences"] == len(readable) < counts["short_enough"]


def test_examples_run_from_the_shortest_to_the_longest(pair_file):
    entries, examples, _ = build_sample(data.read_pairs(pair_file), SPEC, size=1000, examples=4)
    ranked = sorted(entries, key=lambda e: (len(e.english), e.english))
    assert examples == [ranked[0], ranked[round((len(ranked) - 1) / 3)], ranked[round(2 * (len(ranked) - 1) / 3)], ranked[-1]]
    assert pick_examples(entries[:3], 8) == sorted(entries[:3], key=lambda e: (len(e.english), e.english))
    assert pick_examples(entries, 0) == []


def test_max_chars_over_50_is_refused(pair_file, tmp_path, checkpoint_dir, capsys):
    code, _ = _write(tmp_path, pair_file, checkpoint_dir, "--max-chars", "51")
    assert code == 2 and "max_chars must be from 1 to 50" in capsys.readouterr().err


def test_load_gives_entries_examples_lookup_and_draws(tmp_path, pair_file, checkpoint_dir):
    _, written = _write(tmp_path, pair_file, checkpoint_dir, "--size", "20")
    sample = load(tmp_path / "sample.json")
    assert [e.english for e in sample.entries] == [e["english"] for e in written["entries"]]
    assert [e.english for e in sample.examples] == written["examples"] and len(sample.examples) == 8
    entry = sample.entries[3]
    assert sample.references(entry.english) == list(entry.references)
    assert sample.references(entry.english + " ") == [] and sample.references("nothing like it") == []
    assert sample.draw(7) == sample.draw(random.Random(7)) and sample.draw(7) in sample.entries
    assert entry["english"] == entry.english and entry["references"] == list(entry.references)  # reads like the JSON
    with pytest.raises(KeyError):
        entry["to_dict"]
    assert sample.metadata["split"]["heldout"] == SPEC.to_dict() and "entries" not in sample.metadata


def _good() -> dict:
    return {"format": samples.FORMAT, "examples": ["I see a dog over there."],
            "entries": [{"english": "I see a dog over there.", "references": ["Je vois un chien là-bas."], "tier": "16-30", "line": 12}]}


@pytest.mark.parametrize("change, words", [
    (lambda d: d.pop("format"), "not a held-out sample file"),
    (lambda d: d.update(entries=[]), "'entries' must be a list of 1 to"),
    (lambda d: d.update(entries={"a": 1}), "'entries' must be a list"),
    (lambda d: d["entries"].append("text"), "entry 2 must be an object, found str"),
    (lambda d: d["entries"][0].update(english="x" * 51), "entry 1: 'english' must be text of 1 to 50 characters"),
    (lambda d: d["entries"][0].update(english=" "), "entry 1: 'english' must be text"),
    (lambda d: d["entries"][0].update(references=[]), "entry 1: 'references' must be a list of 1 to"),
    (lambda d: d["entries"][0].update(references=["ok", 3]), "entry 1: 'references' must be a list"),
    (lambda d: d["entries"][0].update(tier="31-50"), "'tier' is '31-50', but a sentence of 23 characters is in tier '16-30'"),
    (lambda d: d["entries"][0].update(line=True), "entry 1: 'line' must be a line number"),
    (lambda d: d["entries"].append(dict(d["entries"][0])), "appears in two entries"),
    (lambda d: d.update(examples=["Not there."]), "example 'Not there.' is not one of the entries"),
    (lambda d: d.update(examples="I see a dog over there."), "'examples' must be a list"),
])
def test_a_broken_file_is_refused_saying_what_is_wrong(tmp_path, change, words):
    content = _good()
    change(content)
    path = tmp_path / "sample.json"
    path.write_text(json.dumps(content), encoding="utf-8")
    with pytest.raises(SampleError, match=words) as caught:
        load(path)
    assert str(caught.value).startswith(f"{path}: ") and "python -m model.samples" in str(caught.value)


def test_files_that_are_not_json_or_too_big_or_not_files_are_refused(tmp_path):
    path = tmp_path / "sample.json"
    path.write_text(json.dumps(_good()), encoding="utf-8")
    assert load(path).references("I see a dog over there.") == ["Je vois un chien là-bas."]
    for raw, words in [(b"{nope", "not valid JSON"), (b"\xff\xfe", "not valid JSON"), (b"[1, 2]", "not a held-out sample"),
                       (b"[" * 100_000, "nested too deeply"), (b" " * (samples.MAX_SAMPLE_BYTES + 1), "over the 1,048,576-byte limit")]:
        path.write_bytes(raw)
        with pytest.raises(SampleError, match=words):
            load(path)
    with pytest.raises(SampleError, match="missing, or not a regular file"):
        load(tmp_path / "absent.json")
    with pytest.raises(SampleError, match="missing, or not a regular file"):
        load(tmp_path)


def test_the_bundled_sample_loads_and_is_held_out_for_every_bundled_model():
    sample = load()
    assert sample.metadata["data"]["sha256"] and "CC-BY 2.0" in sample.metadata["licence"]
    assert 100 <= len(sample.entries) <= samples.MAX_ENTRIES and len(sample.examples) == samples.DEFAULT_EXAMPLES
    assert samples.DEFAULT_PATH.stat().st_size < 100 * 1024
    assert all(1 <= len(e.english) <= MAX_CHARS and e.references for e in sample.entries)
    assert {len(e.english) for e in sample.examples} != {len(sample.examples[0].english)}  # short and longer ones
    vocab = Vocabulary.from_dict(checkpoint.read_json(samples.DEFAULT_CHECKPOINT / checkpoint.VOCAB_FILE))
    assert not [e.english for e in sample.entries if vocab.unknown_input_characters(e.english)]
    for name in sorted(set(checkpoint.BUNDLED.values())):
        spec = splits.evaluation_spec(checkpoint.read_metadata(checkpoint.bundled_path(name)))
        assert all(spec.is_heldout(e.english, e.line) for e in sample.entries), name


# --- a checkpoint's own sample, recorded by train.py in its metadata ------------------------------------


def _pairs_past_the_window(count: int = 3000):
    from model.data import Pair

    # Line numbers from 10,001: where sentences may be held out (data.HeldoutSpec).
    return [Pair(f"I have {n} cats.", f"Tengo {n} gatos.", 10_000 + n) for n in range(1, count + 1)]


def test_a_recorded_sample_holds_only_held_out_readable_sentences_and_reads_back():
    pairs = _pairs_past_the_window()
    spec = data.HeldoutSpec()
    # No "7" in the input vocabulary: sentences with one are ones the model must refuse, never drawn.
    vocab = Vocabulary.from_texts([p.english for p in pairs if "7" not in p.english],
                                  [data.wrap_target(p.french) for p in pairs])
    recorded = samples.for_metadata(pairs, spec, vocab)
    sample = samples.from_metadata({samples.METADATA_KEY: recorded})
    held_out = {p.english for p in pairs if spec.is_heldout(p.english, p.line)}
    assert sample.entries and {e.english for e in sample.entries} <= held_out
    assert any("7" in e for e in held_out) and not any("7" in e.english for e in sample.entries)
    assert len(sample.entries) <= samples.METADATA_SIZE and set(sample.examples) <= set(sample.entries)
    assert all(e.references == (e.english.replace("I have", "Tengo").replace("cats", "gatos"),) for e in sample.entries)
    fewer = samples.from_metadata({samples.METADATA_KEY: samples.without(recorded, {sample.entries[0].english})})
    assert sample.entries[0] not in fewer.entries and len(fewer.entries) == len(sample.entries) - 1
    assert samples.from_metadata({}) is None and samples.from_metadata({samples.METADATA_KEY: {"entries": []}}) is None


def test_a_damaged_recorded_sample_is_refused_naming_the_metadata():
    with pytest.raises(samples.SampleError, match=r"metadata.json: 'heldout_sample' is not a held-out sample"):
        samples.from_metadata({samples.METADATA_KEY: {"entries": [{"english": "Go."}]}})
    broken = {"format": samples.FORMAT, "entries": [{"english": "Go.", "references": [], "tier": "1-10", "line": 1}],
              "examples": []}
    with pytest.raises(samples.SampleError, match=r"metadata.json: entry 1: 'references'.*retrain"):
        samples.from_metadata({samples.METADATA_KEY: broken})
