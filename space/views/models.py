"""What the page says about the models: their names, the intro, the Model panel, and notices about
models that failed to load.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Sequence

from model.registry import ModelRegistry
from model.translator import Translator

# Human names for the bundled checkpoints, for the model selector, the Compare view and the intro.
# Any other source (a directory, hf://owner/repo) is shown by its source string.
MODEL_NAMES = {
    "default": ("Attention (default)", "a bidirectional encoder with attention, trained on the whole corpus"),
    "attention": ("Attention (default)", "a bidirectional encoder with attention, trained on the whole corpus"),
    "fast": ("Masked LSTM (fast)", "the recipe's network with embeddings, masking and 6× the data; no attention"),
    "recipe": ("keras.io recipe (baseline)", "the keras.io lstm_seq2seq recipe as published: 10,000 pairs, one-hot"),
}
PRODUCTION_POINTER = ("For real translation use a production system, such as the opus-mt-en-fr models on the "
                      "Hugging Face Hub, DeepL or Google Translate.")


def greedy_chrf(metadata: dict | None) -> float | None:
    """The held-out chrF of greedy decoding recorded in a checkpoint's metadata, if any."""
    figures = ((metadata or {}).get("evaluation") or {}).get("greedy") or {}
    value = figures.get("chrf")
    return float(value) if isinstance(value, (int, float)) else None


def model_label(source: str, metadata: dict | None = None) -> str:
    """What the selector shows: 'keras.io recipe (baseline) · chrF 9.9'."""
    name = MODEL_NAMES.get(source, (source, ""))[0]
    chrf = greedy_chrf(metadata)
    return f"{name} · chrF {chrf:.1f}" if chrf is not None else name


def intro(metadata: dict | None) -> str:
    """The page's opening lines: what this model is for, how good it is, and where to go instead."""
    chrf = greedy_chrf(metadata)
    evaluation = (metadata or {}).get("evaluation") or {}
    sentences = evaluation.get("sentences")
    score = (f" On {sentences:,} held-out sentences it scores chrF **{chrf:.1f}** of 100 (a large production model: "
             f"about 67), so expect mistakes." if chrf is not None and isinstance(sentences, int) else "")
    return ("A **small teaching model** that writes French one character at a time." + score + " "
            + PRODUCTION_POINTER)


def about(sources: Sequence[str]) -> str:
    """The longer explanation, in the page's 'About' section: how it works and what each model is."""
    lines = ["A character-level sequence-to-sequence network reads your English sentence and writes French one "
             "character at a time. Turn on the per-step view to see how sure it was of every character and, for "
             "the attention model, which English characters it was reading. The *Compare models* tab runs one "
             "sentence through every model, to see what masking, more data and attention bought over the "
             "keras.io recipe.", ""]
    lines += [f"- **{MODEL_NAMES[s][0]}**: {MODEL_NAMES[s][1]}" for s in sources if s in MODEL_NAMES]
    return "\n".join(lines)


def describe_model(source: str, translator: Translator | None) -> str:
    """Markdown card of a model: training data, epochs and held-out scores from its metadata."""
    if translator is None:
        return f"**Model `{source}`** is not loaded."
    meta = translator.metadata or {}
    train = meta.get("train_config") or {}
    data = meta.get("data") or {}
    vocab = translator.vocab
    lines = [f"**Model `{source}`** — recipe `{meta.get('recipe', '?')}`"]
    source_file = data.get("source")
    if source_file:
        pairs = data.get("num_training_pairs", train.get("num_samples", "?"))
        sha = str(data.get("sha256", ""))[:12]
        lines.append(f"- Training data: {pairs} pairs from `{Path(str(source_file)).name}`" + (f" (sha256 {sha}…)" if sha else ""))
    epochs = meta.get("epochs_run", train.get("epochs"))
    if epochs is not None:
        extra = f" of {train['epochs']} planned" if "epochs" in train and train["epochs"] != epochs else ""
        lines.append(f"- Epochs: {epochs}{extra}; latent_dim {train.get('latent_dim', translator.config.latent_dim)}")
    lines.append(
        f"- Vocabulary: {vocab.num_encoder_tokens} English / {vocab.num_decoder_tokens} French characters; "
        f"trained on inputs up to {vocab.max_encoder_seq_length} characters"
    )
    evaluation = meta.get("evaluation") or {}
    # Decoding runs are the entries with figures ("greedy", "beam4"); the rest describes the split.
    scored = {k: v for k, v in evaluation.items() if isinstance(v, dict) and "chrf" in v}
    if scored:
        sentences = evaluation.get("sentences")
        for name, figures in scored.items():
            shown = ", ".join(f"{k} {figures[k]}" for k in ("chrf", "chrf++", "bleu", "exact_match") if k in figures)
            tier = (figures.get("tiers") or {}).get("16-30") or {}
            if "chrf" in tier:
                shown += f"; 16–30 characters: chrf {tier['chrf']}, exact_match {tier['exact_match']}"
            lines.append(f"- Held-out {name}" + (f" ({sentences} sentences)" if sentences else "") + f": {shown}")
        source = evaluation.get("provenance") or {}
        commit = (source.get("commit") or {}).get("sha")
        if commit:
            lines.append(f"- Scored at commit `{commit[:7]}`, decoder version {source.get('decoder_version')}: "
                         f"`{source.get('command')}`")
    else:
        lines.append("- Held-out scores: not recorded for this checkpoint")
    if meta.get("command"):
        lines.append(f"- Built with: `{meta['command']}`")
    return "\n".join(lines)


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
