"""What the page shows as Markdown and HTML: model names, the intro, summaries, cards, notices and
the Compare table. The per-step view (probabilities, alignment) lives in prob_view.py.

Nothing here imports gradio, so tests check the views directly. Text from a model's metadata, an
error message or a model's output is escaped (`_plain` for Markdown, html.escape for HTML).
"""

from __future__ import annotations

import html
import time
from pathlib import Path
from typing import Any, Sequence

from model import batch_files
from model.batch_files import BatchRow
from model.compare import mean_confidence
from model.registry import ModelRegistry
from model.translator import DecodeOptions, Translation, Translator

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


def method_text(options: DecodeOptions) -> str:
    """The decoding method and its settings, as the summary line states them."""
    if options.method == "beam":
        return f"beam search, width {options.beam_size}"
    if options.method == "sample":
        return f"sampling, temperature {options.temperature:g}, seed {options.seed}"
    return "greedy (the most likely character at each step)"


def nbest_table(translation: Translation) -> tuple[list[str], list[list[Any]]]:
    """Beam search's n-best list: rank, translation, log-probability."""
    return ["rank", "translation", "log-probability"], [
        [rank, entry["translation"], f"{float(entry['score']):.3f}"] for rank, entry in enumerate(translation.nbest, start=1)
    ]


def summary(translation: Translation, source: str, options: DecodeOptions) -> str:
    """Markdown under the result: model, method and settings, score, and every warning."""
    text = (f"**{MODEL_NAMES.get(source, (source,))[0]}** · {method_text(options)} · "
            f"log-probability {translation.score:.3f} · mean confidence {mean_confidence(translation):.3f}")
    warnings = list(translation.warnings)
    if not translation.translation:
        warnings.append("the model wrote no characters for this input (it emitted only spaces or the end mark)")
    if warnings:
        text += "\n\n" + "\n".join(f"- ⚠️ {_plain(w)}" for w in warnings)
    return text


def error_summary(title: str, detail: str) -> str:
    """What the summary shows instead of a result when a request failed (the outputs are cleared)."""
    return f"**⛔ {title}.** {_plain(detail)}"


def references_text(references: Sequence[str]) -> str:
    """The reference French of an example or a held-out sentence, one per line."""
    return "\n".join(references)


def _plain(text: str) -> str:
    """Text shown in Markdown with its Markdown and HTML characters escaped, so it reads as typed."""
    return "".join("\\" + c if c in "\\`*_{}[]()#+-.!|<>~" else c for c in str(text))


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
    """Markdown under a translated file: how many rows translated, blank rows, and the first few errors."""
    blank = batch_files.blank_rows(rows)
    bad = [r for r in rows if r.error and not r.error.startswith("warning:") and not r.blank]
    sentences = len(rows) - len(blank)
    text = f"Translated {sentences - len(bad)} of {sentences} sentences from `{filename.replace('`', '')}`."
    if blank:
        listed = ", ".join(str(n) for n in blank[:10]) + (" …" if len(blank) > 10 else "")
        text += f" Skipped {len(blank)} blank row{'s' if len(blank) > 1 else ''} (row {listed}); they are in the CSV, marked blank."
    if bad:
        shown = "\n".join(f"- row {r.row}: {_plain(r.error)}" for r in bad[:5])
        more = f"\n- … and {len(bad) - 5} more (see the `error` column)" if len(bad) > 5 else ""
        text += f" {len(bad)} could not be translated:\n{shown}{more}"
    return text


def _number(value: Any, digits: int) -> str:
    return "—" if value is None else f"{float(value):.{digits}f}"


def compare_html(result: dict) -> str:
    """The Compare view: one row per model and method, with the reference French above the table.

    HTML rather than a Dataframe so the best chrF can be marked in words (not only colour) and the
    French keeps its typographic spaces; every value from a model or a person is escaped.
    """
    references = result.get("references") or []
    rows = result.get("rows") or []
    scored = [row["chrf"] for row in rows if row.get("chrf") is not None]
    best = max(scored) if scored else None
    head = (f"<p><strong>English:</strong> {html.escape(result.get('english', ''))}</p>"
            + (("<p><strong>Reference French:</strong> " + " · ".join(html.escape(r) for r in references) + "</p>")
               if references else "<p><em>No reference for this sentence: chrF is shown for held-out sentences "
                                  "(use the random button) and the examples.</em></p>"))
    body = []
    for row in rows:
        mark = " ★ best" if best is not None and row.get("chrf") == best else ""
        french = (html.escape(row["french"]) if not row.get("error")
                  else f"<em>error: {html.escape(str(row['error']))}</em>")
        body.append(
            "<tr>" f"<td>{html.escape(row['model'])}</td><td>{html.escape(row['method'])}</td><td lang=\"fr\">{french}</td>"
            f"<td class=\"num\">{_number(row.get('log_prob'), 3)}</td>"
            f"<td class=\"num\">{_number(row.get('mean_confidence'), 3)}</td>"
            f"<td class=\"num\">{_number(row.get('chrf'), 1)}{mark}</td></tr>"
        )
    table = ('<table class="compare-table"><caption class="sr-only">Every model and method on one sentence</caption>'
             "<thead><tr><th scope=\"col\">Model</th><th scope=\"col\">Method</th><th scope=\"col\">French</th>"
             "<th scope=\"col\">log-probability</th><th scope=\"col\">mean confidence</th>"
             "<th scope=\"col\">chrF</th></tr></thead><tbody>" + "".join(body) + "</tbody></table>")
    return f'<div class="compare" aria-live="polite">{head}{table}</div>'
