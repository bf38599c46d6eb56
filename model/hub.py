"""The Hugging Face Hub: fetch a model repository into the local cache, and push a checkpoint with its card.

This is the only module that imports huggingface_hub.

Pull. `hf://owner/repo[@revision]` is resolved with `snapshot_download`, which brings the Hub cache,
revision pinning, `HF_HUB_OFFLINE`, `HF_TOKEN` for private repositories and its progress bars. Only
the files a model needs are fetched (`MODEL_PATTERNS`). Downloads are data we never execute, and
their size is capped: when the Hub is reachable the repository's file listing is summed before
anything is downloaded, and what ends up on disk is summed again (this also covers offline and cached
snapshots). The cap is `DEFAULT_MAX_DOWNLOAD_MB`, or `$MODEL_MAX_DOWNLOAD_MB`.

Push. The token (`HF_TOKEN` or a `hf auth login`) is checked with `whoami` before any work, so a
missing, rejected or read-only token fails early with a clear message; the token is passed to the
client only, never printed, logged or written to a file. `push` writes a model card (README.md) into
the checkpoint directory, creates the repository if needed and uploads the checkpoint's files in one
commit whose message says what was trained.

Every failure is a HubError whose message says what failed and what to do.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from . import checkpoint

PREFIX = "hf://"
CARD_FILE = "README.md"
# Files a model repository may hold that we download: our checkpoints, and a legacy SavedModel.
MODEL_PATTERNS = [
    checkpoint.MODEL_FILE, checkpoint.VOCAB_FILE, checkpoint.METADATA_FILE, checkpoint.CURVES_FILE, CARD_FILE,
    "saved_model.pb", "keras_metadata.pb", "fingerprint.pb", "variables/*",
]
# What we upload: the checkpoint's fixed files and the card (never .backup/ or temporary files).
PUSH_PATTERNS = [checkpoint.MODEL_FILE, checkpoint.VOCAB_FILE, checkpoint.METADATA_FILE, checkpoint.CURVES_FILE, CARD_FILE]
MAX_DOWNLOAD_ENV = "MODEL_MAX_DOWNLOAD_MB"
# keras-io/cl_s2s is ~10 MB and a 384-unit checkpoint of ours ~15 MB: 512 MB leaves room for larger
# models while refusing anything that is clearly not one of them.
DEFAULT_MAX_DOWNLOAD_MB = 512
LIBRARY_NAME = "cl_s2s"  # sent in the user agent, as libraries built on the Hub do

_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
DATA_ATTRIBUTION = (
    "The training data are English-French sentence pairs from the [Tatoeba Project](https://tatoeba.org), "
    "distributed by [manythings.org/anki](https://www.manythings.org/anki/) under "
    "[CC-BY 2.0](https://creativecommons.org/licenses/by/2.0/). The recipe is the keras.io example "
    "[Character-level recurrent sequence-to-sequence model](https://keras.io/examples/nlp/lstm_seq2seq/) by fchollet."
)


class HubError(RuntimeError):
    """A Hub operation that failed; the message names the repository and what went wrong."""


def parse_handle(source: str) -> tuple[str, str | None]:
    """Split "hf://owner/repo[@revision]" into (repo_id, revision or None).

    Args:
        source: the handle; the revision may be a branch, a tag, a commit sha or "refs/pr/N".
    """
    body = source[len(PREFIX):] if source.startswith(PREFIX) else source
    repo_id, _, revision = body.partition("@")
    if not _REPO_ID.match(repo_id) or (source.count("@") and not revision):
        raise HubError(f"{source!r} is not a Hub model handle; use hf://owner/repo or hf://owner/repo@revision")
    return repo_id, revision or None


def endpoint_url(endpoint: str | None = None) -> str:
    """The Hub endpoint: the argument, else $HF_ENDPOINT read now, else huggingface_hub's default."""
    from huggingface_hub import constants

    return (endpoint or os.environ.get("HF_ENDPOINT") or constants.ENDPOINT).rstrip("/")


def max_download_bytes(max_mb: float | None = None) -> int:
    value = max_mb if max_mb is not None else os.environ.get(MAX_DOWNLOAD_ENV, DEFAULT_MAX_DOWNLOAD_MB)
    try:
        return int(float(value) * 1024 * 1024)
    except ValueError:
        raise HubError(f"${MAX_DOWNLOAD_ENV} must be a number of megabytes, got {value!r}") from None


def _megabytes(size: int) -> str:
    return f"{size / 1024 / 1024:.2f} MB"


def _disk_size(folder: Path) -> int:
    # Snapshot files are symlinks into blobs/: stat() follows them to the real size.
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def _explain(err: Exception, repo: str, endpoint: str) -> str:
    """A message for a huggingface_hub failure that says what to do about it."""
    from huggingface_hub import constants
    from huggingface_hub import errors

    if isinstance(err, errors.GatedRepoError):
        return f"{repo} is gated on {endpoint}: accept its terms on the Hub and set HF_TOKEN"
    if isinstance(err, errors.RepositoryNotFoundError):
        return (f"repository {repo} not found on {endpoint} (check the name; a private repository needs "
                f"HF_TOKEN or `hf auth login`)")
    if isinstance(err, errors.RevisionNotFoundError):
        return f"{repo} has no such revision (check the branch, tag or commit after '@')"
    if isinstance(err, errors.LocalEntryNotFoundError):
        if constants.HF_HUB_OFFLINE:
            return f"{repo} is not in the local Hugging Face cache and HF_HUB_OFFLINE is set"
        return (f"cannot reach {endpoint} and {repo} is not in the local Hugging Face cache "
                f"({constants.HF_HUB_CACHE}); check the connection or HF_ENDPOINT")
    if isinstance(err, errors.HfHubHTTPError):
        status = err.response.status_code if err.response is not None else "?"
        return f"{endpoint} answered HTTP {status} for {repo}: {str(err).splitlines()[0]}"
    return f"downloading {repo} from {endpoint} failed ({type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''})"


def resolve(
    repo_id: str,
    revision: str | None = None,
    *,
    cache_dir: str | Path | None = None,
    endpoint: str | None = None,
    token: str | None = None,
    max_mb: float | None = None,
) -> Path:
    """Download (or find in the cache) a model repository and return its local snapshot folder.

    Args:
        repo_id: "owner/name".
        revision: branch, tag or commit sha; None is the default branch.
        cache_dir: the Hub cache; None uses $HF_HUB_CACHE (~/.cache/huggingface/hub).
        endpoint: the Hub URL; None uses $HF_ENDPOINT, else https://huggingface.co.
        token: None uses HF_TOKEN or the stored login, as huggingface_hub does.
        max_mb: refuse repositories larger than this; None uses $MODEL_MAX_DOWNLOAD_MB or 512.
    """
    from huggingface_hub import HfApi, constants, snapshot_download
    from huggingface_hub.utils import filter_repo_objects

    endpoint = endpoint_url(endpoint)
    limit = max_download_bytes(max_mb)
    where = f"{repo_id}@{revision}" if revision else repo_id
    if not constants.HF_HUB_OFFLINE:
        # Size check before downloading. If the listing fails, snapshot_download below decides:
        # it falls back to the cache, or raises the error that explains the failure.
        try:
            # One request (list_repo_tree would retry for ~20 s when the Hub is unreachable).
            info = HfApi(endpoint=endpoint, token=token, library_name=LIBRARY_NAME).model_info(
                repo_id, revision=revision, files_metadata=True)
            sizes = {s.rfilename: s.size or 0 for s in info.siblings or []}
            total = sum(sizes[p] for p in filter_repo_objects(sizes, allow_patterns=MODEL_PATTERNS))
        except Exception:  # noqa: BLE001 - HTTP and transport errors alike: snapshot_download explains them
            total = 0
        if total > limit:
            raise HubError(f"{where} holds {_megabytes(total)} of model files, over the {_megabytes(limit)} limit; "
                           f"raise ${MAX_DOWNLOAD_ENV} if you trust it")
    try:
        folder = Path(snapshot_download(
            repo_id, revision=revision, cache_dir=cache_dir, endpoint=endpoint, token=token,
            allow_patterns=MODEL_PATTERNS, library_name=LIBRARY_NAME,
        ))
    except Exception as err:  # noqa: BLE001 - every failure becomes one clear HubError
        raise HubError(_explain(err, repo_id, endpoint)) from None
    size = _disk_size(folder)
    if size > limit:
        raise HubError(f"{where}: the snapshot in {folder} is {_megabytes(size)}, over the "
                       f"{_megabytes(limit)} limit; raise ${MAX_DOWNLOAD_ENV} if you trust it")
    return folder


def check_push_access(repo_id: str, *, token: str | None = None, endpoint: str | None = None) -> str:
    """Fail early unless a token is present, accepted by the Hub and allowed to write to `repo_id`.

    Returns the user name the token belongs to.

    Args:
        repo_id: "owner/name" to push to.
        token: None uses HF_TOKEN or the stored login.
        endpoint: the Hub URL; None uses $HF_ENDPOINT, else https://huggingface.co.
    """
    from huggingface_hub import HfApi, get_token
    from huggingface_hub.errors import HfHubHTTPError

    parse_handle(repo_id)
    endpoint = endpoint_url(endpoint)
    token = token or get_token()
    if not token:
        raise HubError(f"pushing to {repo_id} needs a Hugging Face token with write access: set HF_TOKEN "
                       f"or run `hf auth login` (create one at https://huggingface.co/settings/tokens)")
    try:
        who = HfApi(endpoint=endpoint, library_name=LIBRARY_NAME).whoami(token=token)
    except HfHubHTTPError as err:
        status = err.response.status_code if err.response is not None else None
        if status == 401:
            raise HubError(f"{endpoint} rejected the Hugging Face token (from HF_TOKEN or the stored login); "
                           f"create a new write token and set HF_TOKEN") from None
        raise HubError(f"checking the token with {endpoint} failed: HTTP {status}") from None
    except Exception as err:  # noqa: BLE001 - connection errors of several types
        raise HubError(f"cannot reach {endpoint} to check the token ({type(err).__name__}); "
                       f"check the connection or HF_ENDPOINT") from None
    role = ((who.get("auth") or {}).get("accessToken") or {}).get("role")
    if role == "read":
        raise HubError(f"the Hugging Face token of {who.get('name')} is read-only; pushing to {repo_id} needs a write token")
    owner = repo_id.split("/")[0]
    allowed = {who.get("name")} | {org.get("name") for org in who.get("orgs") or []}
    if role != "fineGrained" and owner not in allowed:
        raise HubError(f"the token belongs to {who.get('name')}, who cannot write to {owner}/ "
                       f"(member of: {', '.join(sorted(n for n in allowed if n))})")
    return str(who.get("name"))


def _figures(metadata: dict[str, Any]) -> dict[str, float]:
    return (metadata.get("evaluation") or {}).get("greedy") or {}


def commit_message(metadata: dict[str, Any]) -> str:
    """One line saying what was trained, e.g. "Upload keras-io model: latent_dim 256, 8000 training pairs,
    100 epochs; held-out chrF 40.1, BLEU 12.3"."""
    train = metadata.get("train_config") or {}
    model_config = metadata.get("model_config") or {}
    data_info = metadata.get("data") or {}
    parts = [f"latent_dim {model_config.get('latent_dim', train.get('latent_dim', '?'))}"]
    if data_info.get("num_training_pairs"):
        parts.append(f"{data_info['num_training_pairs']} training pairs")
    epochs = metadata.get("epochs_run") or len((metadata.get("history") or {}).get("loss", [])) or train.get("epochs")
    if epochs:
        parts.append(f"{epochs} epochs")
    message = f"Upload {metadata.get('recipe', 'seq2seq')} model: " + ", ".join(parts)
    figures = _figures(metadata)
    if "chrf" in figures:
        message += f"; held-out chrF {figures['chrf']}, BLEU {figures.get('bleu', '?')}"
    return message


def _hyperparameter_rows(metadata: dict[str, Any]) -> list[tuple[str, Any]]:
    train = metadata.get("train_config") or {}
    model_config = metadata.get("model_config") or {}
    rows = [("recipe", metadata.get("recipe"))]
    rows += [(k, train[k]) for k in ("num_samples", "epochs", "batch_size", "latent_dim", "embedding_dim", "dropout",
                                     "optimizer", "learning_rate", "validation_split", "early_stopping_patience",
                                     "max_input_length", "seed") if k in train]
    rows += [(k, model_config[k]) for k in ("num_encoder_tokens", "num_decoder_tokens", "input_encoding",
                                            "encoder_padding") if k in model_config]
    if metadata.get("epochs_run"):
        rows.append(("epochs_run", metadata["epochs_run"]))
    if metadata.get("training_time_s"):
        rows.append(("training_time_s", metadata["training_time_s"]))
    return [(k, v) for k, v in rows if v is not None]


def model_card(directory: str | Path, repo_id: str, license: str = "apache-2.0"):
    """Build the model card (a huggingface_hub.ModelCard) for a checkpoint directory.

    Args:
        directory: the checkpoint directory; its metadata.json supplies every figure.
        repo_id: "owner/name" the card is for (usage snippets, model-index name).
        license: the model's licence identifier; the data's CC-BY 2.0 terms are stated in the text.
    """
    from huggingface_hub import EvalResult, ModelCard, ModelCardData

    directory = Path(directory)
    metadata = checkpoint.read_metadata(directory)
    name = repo_id.split("/")[-1]
    figures = _figures(metadata)
    split = (metadata.get("evaluation") or {}).get("split", "heldout")
    eval_results = [
        EvalResult(task_type="translation", task_name="English to French translation", dataset_type="fra-eng",
                   dataset_name="Tatoeba fra-eng (manythings.org), held-out sentences", dataset_split=split,
                   metric_type=metric, metric_name=label, metric_value=float(figures[key]))
        for key, metric, label in (("chrf", "chrf", "chrF"), ("bleu", "bleu", "BLEU"))
        if key in figures
    ]
    card_data = ModelCardData(
        language=["en", "fr"], license=license, library_name="keras", pipeline_tag="translation",
        tags=["seq2seq", "lstm", "character-level", "translation", "keras"],
        datasets=["tatoeba"], metrics=["chrf", "bleu"], model_name=name,
        eval_results=eval_results or None,
    )
    table = "\n".join(f"| {k} | {v} |" for k, v in _hyperparameter_rows(metadata))
    evaluation = "No held-out evaluation was recorded for this checkpoint."
    if figures:
        evaluation = ("Greedy decoding on held-out English sentences that no checkpoint of this project trains on, "
                      "all their French translations as references (sacrebleu):\n\n| metric | value |\n|---|---|\n"
                      + "\n".join(f"| {k} | {figures[k]} |" for k in ("chrf", "chrf++", "bleu", "exact_match", "sentences")
                                  if k in figures))
    curves = ("![Training curves](./training_curves.png)\n\n"
              if (directory / checkpoint.CURVES_FILE).is_file() else "")
    body = f"""
# {name}: character-level LSTM English→French

A character-level sequence-to-sequence model in the style of the keras.io `lstm_seq2seq` recipe: an
encoder LSTM reads the English sentence one character at a time and hands its final state to a decoder
LSTM, which writes the French translation character by character through a softmax layer.

The repository is a checkpoint of this project: `model.keras` (Keras 3, loads with `safe_mode=True`),
`vocab.json` (the characters in index order) and `metadata.json` (configuration, training history,
evaluation, data checksum).

## Usage

Run the translation app on this model, or translate from the command line:

```bash
MODEL_SOURCE=hf://{repo_id} python app.py
python -m model translate --model hf://{repo_id} "Go."
```

## Evaluation

{evaluation}

## Training

| Hyperparameter | Value |
|---|---|
{table}

{curves}## Data and attribution

{DATA_ATTRIBUTION}

## Limitations

Character-level, trained on short everyday sentences: longer or unusual inputs translate poorly, and
characters outside the training vocabulary are rejected.
"""
    return ModelCard(f"---\n{card_data.to_yaml()}\n---\n{body}")


def push(
    checkpoint_dir: str | Path,
    repo_id: str,
    *,
    private: bool = False,
    token: str | None = None,
    endpoint: str | None = None,
) -> str:
    """Upload a checkpoint directory with a generated model card; returns the repository URL.

    Args:
        checkpoint_dir: a checkpoint written by train.py (it is loaded once to prove it is sound).
        repo_id: "owner/name"; created if it does not exist.
        private: create the repository as private (an existing repository keeps its visibility).
        token: None uses HF_TOKEN or the stored login.
        endpoint: the Hub URL; None uses $HF_ENDPOINT, else https://huggingface.co.
    """
    from huggingface_hub import HfApi, get_token

    directory = Path(checkpoint_dir)
    try:
        checkpoint.load(directory)  # never publish a checkpoint that does not load
    except checkpoint.CheckpointError as err:
        raise HubError(f"not pushing {directory}: {err}") from None
    check_push_access(repo_id, token=token, endpoint=endpoint)
    endpoint = endpoint_url(endpoint)
    token = token or get_token()
    metadata = checkpoint.read_metadata(directory)
    model_card(directory, repo_id).save(directory / CARD_FILE)
    api = HfApi(endpoint=endpoint, token=token, library_name=LIBRARY_NAME)
    try:
        # private=None, not False, without --private: the owner's default visibility applies.
        url = api.create_repo(repo_id, repo_type="model", private=private or None, exist_ok=True)
        api.upload_folder(repo_id=repo_id, folder_path=directory, allow_patterns=PUSH_PATTERNS,
                          commit_message=commit_message(metadata), repo_type="model")
    except Exception as err:  # noqa: BLE001 - HTTP, connection and validation errors alike
        raise HubError(f"pushing {directory} to {repo_id} on {endpoint} failed "
                       f"({type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''})") from None
    return str(url)
