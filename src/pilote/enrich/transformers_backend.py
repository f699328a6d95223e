"""Sentiment from a transformers model the user provides: the optional `pilote[transformers]` backend.

The model is a folder (or a Hugging Face id already in the local cache) named by PILOTE_TRANSFORMERS_MODEL;
nothing is downloaded unless PILOTE_TRANSFORMERS_DOWNLOAD is set and HF_HUB_OFFLINE is not. torch and
transformers are imported only when the analyzer runs, so `import pilote` never loads them.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from pilote.config import get_settings
from pilote.enrich.base import Analyzer, Result, Text
from pilote.errors import Invalid, NotFound

NAME = "sentiment-transformers"
LABELS = ("negative", "neutral", "positive")
BATCH = 32
MAX_TOKENS = 512
INSTALL = "install the optional extra: pip install 'pilote[transformers]'"
DOWNLOADED = ["*.json", "*.safetensors", "*.bin", "*.model", "*.txt"]


@dataclass(frozen=True, slots=True)
class Loaded:
    """A model ready to run: its tokenizer, its network, its labels in output order, where it runs."""

    tokenizer: Any
    model: Any
    labels: tuple[str, ...]
    device: str
    max_length: int
    pid: int  # the process that loaded it: a forked worker cannot use its GPU


def _require(module: str) -> Any:
    if importlib.util.find_spec(module) is None:
        raise Invalid(f"the {NAME} analyzer needs the {module} package ({INSTALL})")
    return importlib.import_module(module)


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


def _from_hub(repo_id: str, allowed: bool) -> Path:
    """The cached snapshot of a Hugging Face model, downloaded first only if the user allowed it."""
    hub = _require("huggingface_hub")
    download = allowed and not _offline()
    try:
        return Path(hub.snapshot_download(repo_id, local_files_only=not download, allow_patterns=DOWNLOADED))
    except (OSError, ValueError) as error:
        if download:
            how = f"the download failed ({type(error).__name__})"
        elif allowed:
            how = "HF_HUB_OFFLINE is set, so nothing is downloaded: copy the model folder here"
        else:
            how = "download it first (hf download ID) or set PILOTE_TRANSFORMERS_DOWNLOAD=true"
        raise NotFound(f"PILOTE_TRANSFORMERS_MODEL={repo_id}: no such folder, nor a cached model; {how}") from None


def resolve() -> Path:
    """The model folder named by the settings: a local folder, or a Hugging Face id in the local cache."""
    settings = get_settings()
    _require("transformers")
    _require("torch")
    named = settings.transformers_model
    if not named:
        raise Invalid(f"the {NAME} analyzer needs a model: set PILOTE_TRANSFORMERS_MODEL to a model folder "
                      "or a Hugging Face model id (see docs/models.md, Bigger models)")  # fmt: skip
    folder = Path(named).expanduser()
    if folder.is_dir():
        return folder
    if folder.exists() or named.startswith((".", "/", "~")) or named.count("/") > 1:
        raise NotFound(f"PILOTE_TRANSFORMERS_MODEL={named}: not a model folder (a folder with config.json)")
    return _from_hub(named, settings.transformers_download)


def digest(folder: Path) -> str:
    """What identifies the model: its config, and the names and sizes of its files (weights, tokenizer)."""
    config = folder / "config.json"
    if not config.is_file():
        raise Invalid(f"{folder}: no config.json, not a transformers model folder (see docs/models.md)")
    hashed = hashlib.sha256(config.read_bytes())
    for path in sorted(p.relative_to(folder) for p in folder.rglob("*") if p.is_file()):
        if not any(part.startswith(".") for part in path.parts):  # e.g. the download tool's .cache/
            hashed.update(f"{path.as_posix()}:{(folder / path).stat().st_size}\n".encode())
    return hashed.hexdigest()[:12]


def stamp() -> str:
    """The stamp of the configured model: another model, or new weights, re-analyses every message."""
    return digest(resolve())


def label_names(id2label: Mapping[int, str]) -> tuple[str, ...]:
    """negative/neutral/positive in the model's output order (LABEL_0..2 read as that order)."""
    names = tuple(str(id2label[i]).strip().lower() for i in range(len(id2label)))
    if set(names) <= set(LABELS) and len(set(names)) == len(names) and {"negative", "positive"} <= set(names):
        return names
    if names == tuple(f"label_{i}" for i in range(len(names))) and len(names) in (2, 3):
        return LABELS if len(names) == 3 else ("negative", "positive")
    raise Invalid(f"the model's labels {', '.join(names)} are not negative/neutral/positive: set id2label "
                  "in its config.json (see docs/models.md, Bigger models)")  # fmt: skip


@lru_cache(maxsize=1)
def load(folder: Path, version: str) -> Loaded:
    """Tokenizer and network from the folder, on the GPU when there is one (`version` keys the cache)."""
    torch = _require("torch")
    transformers = _require("transformers")
    transformers.logging.disable_progress_bar()  # Pilote shows its own progress
    device = "cuda" if torch.cuda.is_available() else "cpu"
    dtype = "auto" if device == "cuda" else torch.float32  # half-precision weights are slow, or fail, on a CPU
    try:
        tokenizer = transformers.AutoTokenizer.from_pretrained(folder, local_files_only=True)
        model = transformers.AutoModelForSequenceClassification.from_pretrained(
            folder, local_files_only=True, dtype=dtype
        )
    except Exception as error:  # a user's folder: torch, safetensors and the tokenizers each raise their own
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise Invalid(f"{folder}: cannot load a sentiment model ({first}); check the folder "
                      "(see docs/models.md, Bigger models)") from None  # fmt: skip
    if len(tokenizer) <= len(set(tokenizer.all_special_tokens)):  # what transformers builds without tokenizer files
        raise Invalid(f"{folder}: no tokenizer (tokenizer.json, vocab.txt or sentencepiece model); copy the model's "
                      "tokenizer files beside its weights (see docs/models.md, Bigger models)")  # fmt: skip
    limit = _max_length(model, tokenizer)
    return Loaded(tokenizer, model.to(device).eval(), label_names(model.config.id2label), device, limit, os.getpid())


def _max_length(model: Any, tokenizer: Any) -> int:
    """Tokens a text is cut to: what both the tokenizer and the position table allow, at most 512."""
    positions = int(getattr(model.config, "max_position_embeddings", MAX_TOKENS))
    table = getattr(getattr(model.base_model, "embeddings", None), "position_embeddings", None)
    offset = getattr(table, "padding_idx", None)
    if offset is not None:  # the RoBERTa family numbers positions from the padding index + 1
        positions -= int(offset) + 1
    return min(int(tokenizer.model_max_length), positions, MAX_TOKENS)


def predict(loaded: Loaded, texts: list[str]) -> list[dict[str, float]]:
    """Probabilities per label, in batches of similar lengths (less padding), truncated to the model's limit."""
    torch = _require("torch")
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    found: dict[int, dict[str, float]] = {}
    with torch.inference_mode():
        for start in range(0, len(order), BATCH):
            batch = order[start : start + BATCH]
            inputs = loaded.tokenizer([texts[i] for i in batch], padding=True, truncation=True,
                                      max_length=loaded.max_length, return_tensors="pt").to(loaded.device)  # fmt: skip
            rows = loaded.model(**inputs).logits.float().softmax(dim=-1).cpu().tolist()
            for i, row in zip(batch, rows, strict=True):
                found[i] = {label: round(float(p), 4) for label, p in zip(loaded.labels, row, strict=True)}
    return [found[i] for i in range(len(texts))]


def analyze(texts: Sequence[Text]) -> list[Result]:
    """The sentiment of each message's title and text, with the probability of that label as its score."""
    folder = resolve()
    loaded = load(folder, digest(folder))
    if loaded.device == "cuda" and loaded.pid != os.getpid():
        raise Invalid(f"the {NAME} analyzer uses the GPU from one process only: run pilote enrich --workers 1")
    results = []
    for probabilities in predict(loaded, [f"{t.title or ''} {t.text}".strip() for t in texts]):
        label = max(probabilities, key=probabilities.__getitem__)
        results.append({"sentiment": label, "sentiment_score": probabilities[label], "probabilities": probabilities})
    return results


ANALYZER = Analyzer(name=NAME, version="1", columns=("sentiment", "sentiment_score"), analyze=analyze, stamp=stamp)
