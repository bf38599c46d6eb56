"""What the page says about the models: their names, the intro, the Model panel, and notices about
models that failed to load.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Sequence

from model import backends, languages
from model.registry import ModelRegistry
from model.translator import Translator

from ..wording import DEFAULT_WORDING, Wording

# Human names for the bundled checkpoints, for the model selector, the Compare view and the intro.
# Any other source (a directory, hf://owner/repo) is shown by its source string.
_LONG = ("Long attention (default)", "two bidirectional encoder layers of 512 units with attention, label "
         "smoothing, trained on English of up to 100 characters until validation loss stopped improving")
MODEL_NAMES = {
    "default": _LONG,
    "long": _LONG,
    "large": ("Large attention", "the previous default: two bidirectional encoder layers of 384 units with "
              "attention, trained on English of up to 50 characters"),
    "attention": ("Attention", "one bidirectional encoder layer of 256 units with attention, trained on the whole "
                  "corpus"),
    "fast": ("Masked LSTM (fast)", "the recipe's network with embeddings, masking and 6× the data; no attention"),
    "recipe": ("keras.io recipe (baseline)", "the keras.io lstm_seq2seq recipe as published: 10,000 pairs, one-hot"),
}


VISITOR_SET = "everyday sentences written for this project, outside the corpus"  # model/visitor/


def _chrf(metadata: dict | None, key: str = "evaluation", run: str = "greedy") -> float | None:
    """A chrF recorded in a checkpoint's metadata: `key` is the report ("evaluation" for the held-out
    split, "evaluation_visitor" for the visitor set), `run` the decoding ("greedy", "beam4")."""
    figures = ((metadata or {}).get(key) or {}).get(run) or {}
    value = figures.get("chrf")
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def greedy_chrf(metadata: dict | None) -> float | None:
    """The held-out chrF of greedy decoding recorded in a checkpoint's metadata, if any."""
    return _chrf(metadata)


def model_label(source: str, metadata: dict | None = None) -> str:
    """What the selector shows: 'Long attention (default) · chrF 65.9 held-out · 70.7 everyday' (greedy
    decoding; the everyday figure only where the visitor set was scored)."""
    name = MODEL_NAMES.get(source, (source, ""))[0]
    chrf, everyday = greedy_chrf(metadata), _chrf(metadata, "evaluation_visitor")
    if chrf is None:
        return name
    return f"{name} · chrF {chrf:.1f} held-out" + (f" · {everyday:.1f} everyday" if everyday is not None else "")


def intro(metadata: dict | None, words: Wording | None = None) -> str:
    """The page's opening lines: what this model is for, how good it is, and where to go instead.

    Args:
        metadata: the model's metadata.json, for its scores (None: no scores are quoted).
        words: the page's language names; by default, those of the pair the metadata records.
    """
    chrf = greedy_chrf(metadata)
    evaluation = (metadata or {}).get("evaluation") or {}
    sentences = evaluation.get("sentences")
    words = words or Wording.of(languages.from_metadata(metadata))
    score = (f" On {sentences:,} held-out sentences it scores chrF **{chrf:.1f}** of 100{words.production_chrf}, "
             f"so expect mistakes." if chrf is not None and isinstance(sentences, int) else "")
    everyday = _chrf(metadata, "evaluation_visitor")
    if score and everyday is not None:
        score += f" On {VISITOR_SET}, it scores **{everyday:.1f}**."
    return (f"A **small teaching model** that writes {words.target} one character at a time." + score + " "
            + words.production_pointer)


BASELINE = "recipe"  # the keras.io recipe as published: what the Compare tab measures the others against


def about(sources: Sequence[str], words: Wording = DEFAULT_WORDING) -> str:
    """The longer explanation, in the page's 'About' section: how it works and what each offered model is.

    Args:
        sources: the models the page offers; the bundled ones among them are described.
        words: the page's language names.
    """
    lines = [words.how_it_works(baseline=BASELINE in sources), ""]
    lines += [f"- **{MODEL_NAMES[s][0]}**: {MODEL_NAMES[s][1]}" for s in sources if s in MODEL_NAMES]
    return "\n".join(lines).rstrip()


def _training_line(meta: dict) -> str | None:
    """'- Training: 4.1 h, best epoch 26, weights averaged over epochs 27–29, resumed 0 times', from
    what train.py recorded; None where it recorded no training time."""
    seconds = meta.get("training_time_s")
    if not isinstance(seconds, (int, float)) or isinstance(seconds, bool):
        return None
    parts = [f"{seconds / 3600:.1f} h" if seconds >= 5400 else f"{seconds / 60:.0f} min"]
    if isinstance(meta.get("best_epoch"), int):
        parts.append(f"best epoch {meta['best_epoch']}")
    averaging = meta.get("checkpoint_averaging") or {}
    if averaging.get("kept") and averaging.get("epochs"):
        epochs = averaging["epochs"]
        parts.append(f"weights averaged over epochs {epochs[0]}–{epochs[-1]}")
    if isinstance(meta.get("resumptions"), int):
        parts.append(f"resumed {meta['resumptions']} time{'' if meta['resumptions'] == 1 else 's'}")
    return "- Training: " + ", ".join(parts)


def describe_model(source: str, translator: Translator | None) -> str:
    """Markdown card of a model: training data, epochs and held-out scores from its metadata."""
    if translator is None:
        return f"**Model `{source}`** is not loaded."
    meta = translator.metadata or {}
    pair = translator.languages
    train = meta.get("train_config") or {}
    data = meta.get("data") or {}
    vocab = translator.vocab
    lines = [f"**Model `{source}`** — recipe `{meta.get('recipe', '?')}`, {pair.arrow}"]
    source_file = data.get("source")
    if source_file:
        pairs = data.get("num_training_pairs", train.get("num_samples", "?"))
        sha = str(data.get("sha256", ""))[:12]
        lines.append(f"- Training data: {pairs} pairs from `{Path(str(source_file)).name}`" + (f" (sha256 {sha}…)" if sha else ""))
    epochs = meta.get("epochs_run", train.get("epochs"))
    if epochs is not None:
        extra = f" of {train['epochs']} planned" if "epochs" in train and train["epochs"] != epochs else ""
        lines.append(f"- Epochs: {epochs}{extra}; latent_dim {train.get('latent_dim', translator.config.latent_dim)}")
    training = _training_line(meta)
    if training:
        lines.append(training)
    lines.append(
        f"- Vocabulary: {vocab.num_encoder_tokens} {pair.source.name} / {vocab.num_decoder_tokens} {pair.target.name} "
        f"characters; "
        f"trained on inputs up to {vocab.max_encoder_seq_length} characters"
    )
    lines += _heldout_lines(meta.get("evaluation") or {})
    lines += _visitor_lines(meta.get("evaluation_visitor") or {})
    lines += _paragraph_lines(meta.get("evaluation_paragraphs") or {})
    if meta.get("command"):
        lines.append(f"- Built with: `{meta['command']}`")
    engine = backends.status()["description"]
    if translator.backend == "numba" and getattr(translator.engine, "splits_steps", False):
        engine += ", a translation running alone on two cores (its decoder weights exceed a core's L2 cache)"
    lines.append(f"- Decoding engine: {engine}")
    return "\n".join(lines)


def _runs(evaluation: dict) -> dict[str, dict]:
    """The decoding runs of a report ("greedy", "beam4"): its entries with figures; the rest describes the split."""
    runs = {k: v for k, v in evaluation.items() if isinstance(v, dict) and "chrf" in v}
    return dict(sorted(runs.items(), key=lambda run: run[0] != "greedy"))  # greedy first, as the README


def _run_name(run: str) -> str:
    return "beam 4" if run == "beam4" else run


def _provenance_line(evaluation: dict, what: str = "Scored") -> list[str]:
    source = evaluation.get("provenance") or {}
    commit = (source.get("commit") or {}).get("sha")
    if not commit:
        return []
    return [f"- {what} at commit `{commit[:7]}`, decoder version {source.get('decoder_version')}: "
            f"`{source.get('command')}`"]


def _heldout_lines(evaluation: dict) -> list[str]:
    """The held-out split's figures, one line per decoding run, and what produced them."""
    runs = _runs(evaluation)
    if not runs:
        return ["- Held-out scores: not recorded for this checkpoint"]
    sentences = evaluation.get("sentences")
    lines = []
    for name, figures in runs.items():
        shown = ", ".join(f"{k} {figures[k]}" for k in ("chrf", "chrf++", "bleu", "exact_match") if k in figures)
        lines.append(f"- Held-out {name}" + (f" ({sentences} sentences)" if sentences else "") + f": {shown}")
    return lines + _provenance_line(evaluation) + _tier_table(runs)


def _tier_label(tier: str) -> str:
    """'16-30' → '16–30', '<=15' → '≤15': the README's spelling of evaluation.TIERS' keys."""
    return tier.replace("<=", "≤").replace("-", "–")


def _tier_table(runs: dict[str, dict]) -> list[str]:
    """The held-out figures by English length, one row per tier that has sentences and one chrF and
    exact-match column pair per decoding run, as the README's model table and the model card show them;
    nothing where no run recorded tiers."""
    tiers: dict[str, int] = {}
    for figures in runs.values():
        for tier, tier_figures in (figures.get("tiers") or {}).items():
            if isinstance(tier_figures, dict) and "chrf" in tier_figures:
                tiers.setdefault(tier, tier_figures.get("sentences", ""))
    if not tiers:
        return []
    header = "| English length | sentences | " + " | ".join(
        f"{_run_name(name)} chrF | {_run_name(name)} exact %" for name in runs) + " |"
    rows = [header, "|" + "---|" * (2 + 2 * len(runs))]
    for tier, count in tiers.items():
        cells = []
        for figures in runs.values():
            tier_figures = (figures.get("tiers") or {}).get(tier) or {}
            cells += [str(tier_figures.get("chrf", "")), str(tier_figures.get("exact_match", ""))]
        shown_count = f"{count:,}" if isinstance(count, int) else str(count)
        rows.append(f"| {_tier_label(tier)} | {shown_count} | " + " | ".join(cells) + " |")
    return ["", *rows, ""]


def _visitor_lines(evaluation: dict) -> list[str]:
    """The visitor set's chrF per decoding run, when the checkpoint was scored on it; else nothing."""
    runs = {name: figures for name, figures in _runs(evaluation).items()
            if isinstance(figures["chrf"], (int, float)) and not isinstance(figures["chrf"], bool)}
    if not runs:
        return []
    sentences = evaluation.get("sentences")
    shown = ", ".join(f"{_run_name(name)} {float(figures['chrf']):.1f}" for name, figures in runs.items())
    return [f"- chrF on {VISITOR_SET}" + (f" ({sentences} sentences)" if sentences else "") + f": {shown}",
            *_provenance_line(evaluation, "Everyday sentences scored")]


def _paragraph_lines(evaluation: dict) -> list[str]:
    """The paragraphs split's chrF, cut into sentences against read whole, per decoding run; else nothing."""
    shown = []
    for name, ways in evaluation.items():
        if not (isinstance(ways, dict) and isinstance(ways.get("segmented"), dict) and isinstance(ways.get("whole"), dict)):
            continue
        segmented, whole = ways["segmented"].get("chrf"), ways["whole"].get("chrf")
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (segmented, whole)):
            shown.append(f"{_run_name(name)} {float(segmented):.1f} cut into sentences, {float(whole):.1f} read whole")
    if not shown:
        return []
    inputs = sum((evaluation.get("inputs") or {}).values()) or None
    return [f"- chrF on inputs of two or three sentences" + (f" ({inputs} inputs)" if inputs else "") + ": "
            + "; ".join(shown), *_provenance_line(evaluation, "Paragraphs scored")]


def notice(registry: ModelRegistry) -> str:
    """Markdown telling the visitor which configured models failed to load, when they are tried again,
    and what is served instead; '' if nothing failed."""
    failures = registry.failures
    if not failures:
        return ""
    now = time.monotonic()
    lines = []
    for source, message in failures.items():
        state = registry.state(source)
        when = (f" (next attempt in {max(0.0, state.retry_at - now):.0f} s)" if state.retry_at is not None
                else " (trying again now)")
        lines.append(f"- `{source}`: {message}{when}")
    head = "**Some configured models could not be loaded.**"
    if registry.requested in failures and registry.active != registry.requested:
        head += f" Serving `{registry.active}` instead of `{registry.requested}`."
    return head + "\n" + "\n".join(lines)
