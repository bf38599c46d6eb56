"""What the page shows, as plain data and Markdown: probability views, model cards, notices, summaries.

app.py hands these values to Gradio components (HighlightedText, Dataframe, Markdown); nothing here
imports gradio, so tests check the views directly. Text from a model's metadata or an error message
is shown inside Markdown code spans or as plain text, never as HTML.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Sequence

from model.batch_files import BatchRow
from model.registry import ModelRegistry
from model.translator import Translation, Translator
from model.vocab import END

END_MARK = "⏎"  # how the end-of-sentence token is shown in the per-step table
SPACE_MARK = "␣"

# Examples for the page: English sentences from the fra-eng data (line numbers of the 2019 fra.txt),
# all from the first 10,000 lines the bundled recipe model trains on, so they read as the model
# knows them. Stored here because the app must work on a fresh clone without the data file.
EXAMPLES = [
    "Go.",  # line 1
    "I feel sick.",  # line 2147
    "Tom is tall.",  # line 2810
    "Give it to me!",  # line 4951
    "She was lying.",  # line 6186
    "I can help you.",  # line 7589
    "Summer is over.",  # line 8789
    "Can you help me?",  # line 9800
]


def visible_steps(translation: Translation) -> list:
    """The steps that produced the visible French characters (the END step and trailing pads dropped)."""
    return translation.steps[: len(translation.translation)]


def highlight(translation: Translation) -> list[tuple[str, float]]:
    """(character, hesitation) pairs, hesitation = 1 - probability in [0, 1]: the redder, the less sure."""
    return [(step.char, round(1.0 - step.prob, 4)) for step in visible_steps(translation)]


def _shown(char: str) -> str:
    return END_MARK if char == END else (SPACE_MARK if char == " " else char)


def steps_table(translation: Translation, top_k: int) -> tuple[list[str], list[list[Any]]]:
    """Headers and rows: one row per decoding step with the chosen character, its probability and the
    top-k alternatives as 'c 0.12'. The END step is included (shown as ⏎): it says how sure the model
    was that the sentence was over."""
    headers = ["step", "chosen", "p"] + [f"#{i + 1}" for i in range(top_k)]
    rows = []
    for number, step in enumerate(translation.steps, start=1):
        alternatives = [f"{_shown(c)} {p:.3f}" for c, p in step.top[:top_k]]
        rows.append([number, _shown(step.char), round(step.prob, 4)] + alternatives + [""] * (top_k - len(alternatives)))
    return headers, rows


def nbest_table(translation: Translation) -> tuple[list[str], list[list[Any]]]:
    """Beam search's n-best list: rank, translation, log-probability."""
    return ["rank", "translation", "log-prob"], [
        [rank, entry["translation"], round(float(entry["score"]), 4)] for rank, entry in enumerate(translation.nbest, start=1)
    ]


def summary(translation: Translation, source: str) -> str:
    """A short Markdown line under the result: model, score and any warnings."""
    steps = max(len(translation.steps), 1)
    text = (f"Model `{source}` · log-probability {translation.score:.3f} "
            f"(mean per character {translation.score / steps:.3f})")
    warnings = list(translation.warnings)
    if not translation.translation:
        warnings.append("the model wrote no characters for this input (it emitted only spaces or the end mark)")
    if warnings:
        text += "\n\n" + "\n".join(f"⚠️ {w}" for w in warnings)
    return text


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


def batch_summary(rows: Sequence[BatchRow], filename: str) -> str:
    """Markdown under a translated file: how many rows translated, and the first few errors."""
    bad = [r for r in rows if r.error and not r.error.startswith("warning:")]
    text = f"Translated {len(rows) - len(bad)} of {len(rows)} sentences from `{filename}`."
    if bad:
        shown = "\n".join(f"- row {r.row}: {r.error}" for r in bad[:5])
        more = f"\n- … and {len(bad) - 5} more (see the `error` column)" if len(bad) > 5 else ""
        text += f" {len(bad)} could not be translated:\n{shown}{more}"
    return text
