"""The command line contract (model/__main__.py), run as other tools run it: `python -m model ...`."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from model import checkpoint, load_source
from model.translator import DecodeOptions
from tests.conftest import REPO, compare_steps

pytestmark = pytest.mark.slow  # every test starts Python (and most TensorFlow) in a subprocess

LONG = "I won, Tom, go away."  # one sentence, longer than the random models' max_encoder_seq_length (12)

# Comparing the command's output with the same model called here: sentences given as arguments are
# translated as one batch, so calling translate_batch with the same sentences repeats the very same
# arithmetic. Lines read from stdin are batched as they arrive, so those are compared up to near-ties.


def run_cli(*args, stdin=None, timeout=180):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "model", *map(str, args)], input=stdin, capture_output=True,
                          text=True, encoding="utf-8", cwd=REPO, env=env, timeout=timeout)


def jsonl(stdout):
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def test_translate_sentences_from_arguments(random_checkpoint):
    proc = run_cli("translate", "--model", random_checkpoint, "Go.", "", "Who?")
    assert proc.returncode == 1, "a sentence that failed is reported in the exit status"
    expected = [r.translation for r in checkpoint.load(random_checkpoint).translate_batch(["Go.", "Who?"])]
    # A sentence that cannot be translated leaves an empty line, so output lines match input lines.
    assert proc.stdout.split("\n") == [expected[0], "", expected[1], ""]
    assert "empty" in proc.stderr


def test_translate_stdin_jsonl_with_bad_lines(random_checkpoint):
    lines = ["Go.", "", "Hug € me.", "Hi.", LONG]
    stdin = "\r\n".join(lines) + "\r\n"  # Windows line endings are not part of the sentences
    proc = run_cli("translate", "--model", random_checkpoint, "--jsonl", "--top-k", "3", stdin=stdin)
    assert proc.returncode == 1, "the bad lines are reported in the exit status"
    rows = jsonl(proc.stdout)
    assert [row["input"] for row in rows] == lines  # one line per input, in order, bad ones included
    good = [rows[0], rows[3], rows[4]]
    translator = checkpoint.load(random_checkpoint)
    for row in good:
        assert set(row) == {"input", "translation", "score", "steps", "nbest", "warnings", "suggest_capitalize",
                            "sentences"}
        assert row["nbest"] == []
        for step in row["steps"]:
            assert set(step) == {"char", "prob", "top"}
            assert len(step["top"]) == 3 and step["top"][0] == [step["char"], step["prob"]]
        expected = translator.translate(row["input"], DecodeOptions(top_k=3)).to_dict()
        if compare_steps(row["steps"], expected["steps"]) is None:
            assert row["translation"] == expected["translation"]
            assert row["score"] == pytest.approx(expected["score"], abs=1e-4)
    assert any("trained on at most" in w for w in rows[4]["warnings"])
    for row, needle in ((rows[1], "empty"), (rows[2], "'€'")):
        assert set(row) == {"input", "error"} and needle in row["error"]


def test_beam_size_gives_nbest(random_checkpoint):
    texts = ["Go.", "I see."]
    proc = run_cli("translate", "--model", random_checkpoint, "--beam-size", "3", "--jsonl", *texts)
    assert proc.returncode == 0, proc.stderr
    rows = jsonl(proc.stdout)
    # The same batch as the command's, so the same arithmetic (see the note at the top).
    expected = checkpoint.load(random_checkpoint).translate_batch(texts, DecodeOptions(method="beam", beam_size=3))
    assert [row["input"] for row in rows] == texts
    for row, want in zip(rows, expected):
        scores = [n["score"] for n in row["nbest"]]
        assert len(row["nbest"]) == 3 and scores == sorted(scores, reverse=True)
        assert row["translation"] == row["nbest"][0]["translation"]
        assert [n["translation"] for n in row["nbest"]] == [n["translation"] for n in want.nbest]
        assert scores == pytest.approx([n["score"] for n in want.nbest], abs=1e-6)


def test_sampling_is_reproducible_across_runs(random_checkpoint):
    # The subprocess and this test process are two separate runs with the same seed, on one batch.
    texts = ["Go.", "Hi.", "Run!", "Who?"]
    proc = run_cli("translate", "--model", random_checkpoint, "--temperature", "1.5", "--seed", "7", "--jsonl", *texts)
    assert proc.returncode == 0, proc.stderr
    rows = jsonl(proc.stdout)
    expected = checkpoint.load(random_checkpoint).translate_batch(
        texts, DecodeOptions(method="sample", temperature=1.5, seed=7))
    assert [row["translation"] for row in rows] == [r.translation for r in expected]
    assert [[s["char"] for s in row["steps"]] for row in rows] == [[s.char for s in r.steps] for r in expected]


def test_unloadable_model_exits_non_zero(tmp_path, random_checkpoint):
    proc = run_cli("translate", "--model", tmp_path / "no-such-model", "Go.")
    assert proc.returncode != 0 and proc.stdout == ""
    assert "no-such-model" in proc.stderr
    broken = tmp_path / "broken"
    broken.mkdir()
    for name in ("vocab.json", "metadata.json"):
        (broken / name).write_bytes((random_checkpoint / name).read_bytes())
    (broken / "model.keras").write_bytes(b"garbage")
    proc = run_cli("translate", "--model", broken, "--jsonl", "Go.")
    assert proc.returncode != 0 and proc.stdout == ""
    assert "model.keras" in proc.stderr and "corrupt" in proc.stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (["--temperature", "0"], "temperature"),
        (["--temperature", "-1"], "temperature"),
        (["--beam-size", "2", "--temperature", "0.5"], "either"),
        (["--top-k", "0"], "top-k"),
    ],
)
def test_impossible_decoding_options_exit_2(args, message, tmp_path):
    # Checked before the model is loaded, so the (missing) model is never reached.
    proc = run_cli("translate", "--model", tmp_path / "unused", *args, "Go.")
    assert proc.returncode == 2
    assert message in proc.stderr


def test_evaluate_prints_figures_for_greedy_and_beam(random_checkpoint, shared_data, tmp_path):
    rows_path = tmp_path / "rows.jsonl"
    proc = run_cli("evaluate", "--model", random_checkpoint, "--data", shared_data, "--limit", "25",
                   "--beam-size", "2", "--quiet", "--jsonl", rows_path)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["split"] == "heldout" and report["sentences"] == 25
    for name in ("greedy", "beam2"):
        figures = report[name]
        for key in ("chrf", "chrf++", "bleu", "exact_match"):
            assert 0.0 <= figures[key] <= 100.0
        assert figures["sentences"] == 25
        assert 0 <= figures["untranslatable"] <= 25
    rows = jsonl(rows_path.read_text(encoding="utf-8"))
    assert len(rows) == 50 and {r["decoding"] for r in rows} == {"greedy", "beam2"}
    assert all(r["references"] for r in rows)


def test_help_lists_the_contract():
    proc = run_cli("translate", "--help")
    assert proc.returncode == 0
    for option in ("--model", "--beam-size", "--top-k", "--temperature", "--seed", "--jsonl", "--drop-unknown"):
        assert option in proc.stdout


def test_default_model_translates_offline():
    """A fresh clone translates with the bundled model, no network needed."""
    if not (checkpoint.bundled_path("default") / checkpoint.MODEL_FILE).is_file():
        pytest.fail("the bundled default model is missing from checkpoints/; it is committed with the repository")
    proc = run_cli("translate", "--model", "default", "--jsonl", "Go.")
    assert proc.returncode == 0, proc.stderr
    (row,) = jsonl(proc.stdout)
    assert row["input"] == "Go." and row["steps"]
    expected = load_source("default").translate("Go.").to_dict()
    # The same model in another process: the same characters; floats equal up to BLAS rounding.
    assert row["translation"] == expected["translation"] and set(row) == set(expected) | {"sentences"}
    assert [s["char"] for s in row["steps"]] == [s["char"] for s in expected["steps"]]
    assert row["score"] == pytest.approx(expected["score"], abs=1e-4)
    for got, want in zip(row["steps"], expected["steps"]):
        assert set(got) == set(want)
        assert got["prob"] == pytest.approx(want["prob"], abs=1e-5)
        if "attention" in want:
            assert got["attention"] == pytest.approx(want["attention"], abs=1e-5)


def test_normalisation_flags_switch_each_step_and_warnings_reach_jsonl(random_checkpoint):
    """Each normalisation is on by default and reported; each flag turns one off (or capitalising on)."""
    translator = checkpoint.load(random_checkpoint)
    proc = run_cli("translate", "--model", random_checkpoint, "--jsonl", "--top-k", 2,
                   stdin="Hi, Tom’s.\nHi, Tüm!\ngo.\n")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == "", "with --jsonl the warnings are in the records, not on stderr"
    curly, accent, lower = rows = jsonl(proc.stdout)
    expected = translator.translate_batch(["Hi, Tom's.", "Hi, Tum!", "go."], DecodeOptions(top_k=2))
    for row, want in zip(rows, expected):
        assert row["input"] == want.input
        compare_steps(row["steps"], want.steps)
    assert any("’ → '" in w for w in curly["warnings"]) and curly["suggest_capitalize"] is False
    assert any("ü → u" in w for w in accent["warnings"])
    assert lower["suggest_capitalize"] is True and any("capitalise the first letter" in w for w in lower["warnings"])

    strict = run_cli("translate", "--model", random_checkpoint, "--no-typography", "--no-fold-accents",
                     "Hi, Tom’s.", "Hi, Tüm!")
    assert strict.returncode == 1 and "'’'" in strict.stderr and "'ü'" in strict.stderr
    only_accents = run_cli("translate", "--model", random_checkpoint, "--no-fold-accents", "--jsonl", "Hi, Tüm!")
    assert only_accents.returncode == 1 and "'ü'" in jsonl(only_accents.stdout)[0]["error"]

    # Plain mode: the translation on stdout, each change on stderr.
    capital = run_cli("translate", "--model", random_checkpoint, "--capitalize", "go.")
    assert capital.returncode == 0, capital.stderr
    assert capital.stdout == translator.translate_batch(["Go."])[0].translation + "\n"
    assert "warning: argument 1: 'go.': capitalised the first letter: g → G" in capital.stderr
    suggested = run_cli("translate", "--model", random_checkpoint, "go.")
    assert "turn on 'capitalise the first letter'" in suggested.stderr


def test_help_explains_the_normalisation_flags():
    proc = run_cli("translate", "--help")
    assert proc.returncode == 0
    for option in ("--no-typography", "--no-fold-accents", "--capitalize", "NFKC", "Zürich"):
        assert option in proc.stdout


# --- score, and translate --prefix ----------------------------------------------------------------

SCORE_KEYS = {"input", "translation", "score", "normalized_score", "steps", "nbest", "warnings", "suggest_capitalize",
              "disagreements", "sentences"}


def test_score_streams_one_record_per_line_and_bad_lines_get_errors(random_checkpoint, tmp_path):
    translator = checkpoint.load(random_checkpoint)
    own = translator.translate("Go.").translation
    lines = [f"Go.\t{own}", "no tab here", "Hi.\tVa ü !", "Who?\tJe vois.", "Run!\t", "Wait!\tTa\ttb"]
    stdin = "\n".join(lines) + "\n"
    proc = run_cli("score", "--model", random_checkpoint, "--top-k", "3", stdin=stdin)
    assert proc.returncode == 1, proc.stderr  # some lines failed; the others were scored
    assert proc.stderr == ""
    rows = jsonl(proc.stdout)
    assert len(rows) == len(lines)
    for number, needle in ((2, "no tab"), (3, "'ü'"), (6, r"'\t'")):
        row = rows[number - 1]
        assert set(row) == {"input", "error"} and row["error"].startswith(f"line {number}: ") and needle in row["error"]
    assert rows[1]["input"] == "no tab here" and rows[2]["input"] == "Hi."
    good = [(0, "Go.", own), (3, "Who?", "Je vois."), (4, "Run!", "")]
    expected = translator.score_batch([(english, french) for _, english, french in good], DecodeOptions(top_k=3))
    for (index, english, french), want in zip(good, expected):
        row = rows[index]
        assert set(row) == SCORE_KEYS
        assert (row["input"], row["translation"]) == (english, french)
        assert [s["char"] for s in row["steps"]] == [*french, "\n"] and all(s["given"] for s in row["steps"])
        assert all(len(s["top"]) == 3 for s in row["steps"])
        assert row["score"] == pytest.approx(want.score, abs=1e-5)
        assert row["normalized_score"] == pytest.approx(want.score / (len(french) + 1), abs=1e-5)
        compare_steps(row["steps"], want.steps)
        for where in row["disagreements"]:
            step = row["steps"][where["step"]]
            assert (where["char"], where["model"]) == (step["char"], step["top"][0][0]) and where["char"] != where["model"]
    # Scoring the model's own greedy output gives back translate's score, and no disagreement.
    assert rows[0]["score"] == pytest.approx(translator.translate("Go.").score, abs=1e-5)
    assert rows[0]["disagreements"] == []

    pairs = tmp_path / "pairs.tsv"
    pairs.write_text(stdin, encoding="utf-8")
    from_file = run_cli("score", "--model", random_checkpoint, "--top-k", "3", "--input", pairs, stdin="")
    assert from_file.returncode == 1 and [r.get("translation") for r in jsonl(from_file.stdout)] == [
        r.get("translation") for r in rows]
    missing = run_cli("score", "--model", random_checkpoint, "--input", tmp_path / "no-such.tsv", stdin="")
    assert missing.returncode == 2 and "no-such.tsv" in missing.stderr and missing.stdout == ""


def test_translate_prefix_starts_every_translation(random_checkpoint):
    proc = run_cli("translate", "--model", random_checkpoint, "--prefix", "Ja", "Go.", "Hi.", "Who?")
    assert proc.returncode == 0, proc.stderr
    outputs = proc.stdout.splitlines()
    assert len(outputs) == 3 and all(line.startswith("Ja") for line in outputs)
    expected = checkpoint.load(random_checkpoint).translate_batch(["Go.", "Hi.", "Who?"], prefixes=["Ja"] * 3)
    assert outputs == [r.translation for r in expected]

    beam = run_cli("translate", "--model", random_checkpoint, "--prefix", "Je ", "--beam-size", "3", "--jsonl", "Go.")
    assert beam.returncode == 0, beam.stderr
    (row,) = jsonl(beam.stdout)
    assert len(row["nbest"]) == 3 and all(n["translation"].startswith("Je ") for n in row["nbest"])
    assert [s["given"] for s in row["steps"]][:4] == [True, True, True, False]

    bad = run_cli("translate", "--model", random_checkpoint, "--prefix", "Jü", "Go.")
    assert bad.returncode == 2 and bad.stdout == ""
    assert "--prefix" in bad.stderr and "'ü'" in bad.stderr and "writes only these" in bad.stderr


def test_help_explains_score_and_prefix():
    score = run_cli("score", "--help")
    assert score.returncode == 0
    for words in ("english<TAB>french", "--input", "normalized_score", "disagreements", "example:",
                  "python -m model score", "exit status"):
        assert words in score.stdout
    translate = run_cli("translate", "--help")
    assert "--prefix" in translate.stdout and "given" in translate.stdout


def test_a_line_of_several_sentences_is_translated_sentence_by_sentence(random_fast_checkpoint):
    line = "Go. Hi, Tom!  Who?"
    proc = run_cli("translate", "--model", random_fast_checkpoint, "--jsonl", stdin=line + "\n")
    assert proc.returncode == 0, proc.stderr
    (row,) = jsonl(proc.stdout)
    translator = checkpoint.load(random_fast_checkpoint)
    alone = [translator.translate(s).translation for s in ("Go.", "Hi, Tom!", "Who?")]
    assert row["translation"] == " ".join(alone) and row["input"] == "Go. Hi, Tom! Who?"
    assert [s["translation"] for s in row["sentences"]] == alone
    assert [s["separator"] for s in row["sentences"]] == [" ", " ", ""]
    plain = run_cli("translate", "--model", random_fast_checkpoint, line)
    assert plain.stdout == " ".join(alone) + "\n"
    whole = run_cli("translate", "--model", random_fast_checkpoint, "--no-split", line)
    assert whole.returncode == 0 and whole.stdout == translator.translate(line).translation + "\n"


def test_score_pairs_the_sentences_of_both_sides(random_fast_checkpoint):
    stdin = "Go. Who?\tVa ! Tu es bon ?\nGo. Who?\tVa !\n"
    proc = run_cli("score", "--model", random_fast_checkpoint, stdin=stdin)
    assert proc.returncode == 1
    scored, refused = jsonl(proc.stdout)
    translator = checkpoint.load(random_fast_checkpoint)
    expected = [translator.score("Go.", "Va !").score, translator.score("Who?", "Tu es bon ?").score]
    assert [s["score"] for s in scored["sentences"]] == pytest.approx(expected, abs=1e-4)
    assert scored["score"] == pytest.approx(sum(expected), abs=1e-4)
    assert "the English has 2 sentences and the French 1 sentence" in refused["error"]


def test_the_clis_messages_name_the_checkpoints_languages(random_spanish_checkpoint):
    proc = run_cli("score", "--model", str(random_spanish_checkpoint), stdin="Go.\nGo. Run.\tVe.\n")
    rows = jsonl(proc.stdout)
    assert rows[0]["error"] == "line 1: no tab in the line: write English<TAB>Spanish"
    assert "the English has 2 sentences and the Spanish 1 sentence" in rows[1]["error"]
    assert "French" not in proc.stdout + proc.stderr
