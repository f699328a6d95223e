"""The optional transformers backend, on a tiny BERT that these tests build, train and save themselves."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from factories import item, target
from pilote import enrich
from pilote.cli import app
from pilote.config import Settings
from pilote.enrich import transformers_backend as backend
from pilote.enrich.pipeline import PARALLEL_FROM, run
from pilote.errors import Invalid, NotFound, PiloteError
from pilote.ingest import write_batch
from pilote.models import Enrichment, Message

try:
    import sentencepiece as spm
    import torch
    import transformers
except ImportError:  # the optional extra: CI installs it, so there its absence is a failure, not a skip
    if os.environ.get("CI"):
        raise
    pytest.skip("the optional extra is not installed: pip install -e '.[test,transformers]'", allow_module_level=True)

# A toy language: "<thing> is <word>", where the word alone decides the sentiment.
WORDS = {
    "negative": ("awful", "terrible", "horrible"),
    "neutral": ("ok", "average", "normal"),
    "positive": ("great", "excellent", "wonderful"),
}
THINGS = ("the bike", "this saddle", "your shop", "the service", "my order", "the app")
# Deliberately not in the usual order, in mixed case: the backend must read the model's own labels.
ID2LABEL = {0: "Positive", 1: "NEGATIVE", 2: "neutral"}
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
MAX_TOKENS = 32


def sentences(held_out: bool) -> list[tuple[str, str]]:
    """(text, label): a third of the (thing, word) pairs is held out from training."""
    pairs = []
    for label, words in WORDS.items():
        for w, word in enumerate(words):
            for t, thing in enumerate(THINGS):
                if ((w + t) % 3 == 0) == held_out:
                    pairs.append((f"{thing} is {word}", label))
    return pairs


def tokenizer() -> Any:
    vocabulary = sorted({word for text, _ in sentences(False) + sentences(True) for word in text.split()})
    vocab = {token: i for i, token in enumerate(SPECIALS + vocabulary)}
    return transformers.BertTokenizer(vocab=vocab, model_max_length=MAX_TOKENS)


def build(folder: Path, *, id2label: dict[int, str], steps: int = 0) -> Path:
    """A 2-layer BERT with 32 hidden units, trained `steps` times on the training sentences, saved."""
    torch.manual_seed(0)
    tok = tokenizer()
    config = transformers.BertConfig(
        vocab_size=len(tok), hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
        max_position_embeddings=MAX_TOKENS, num_labels=len(id2label), id2label=id2label,
        label2id={name: i for i, name in id2label.items()},
    )  # fmt: skip
    model = transformers.BertForSequenceClassification(config)
    if steps:
        train(model, tok, id2label, steps)
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


def train(model: Any, tok: Any, id2label: dict[int, str], steps: int) -> None:
    index = {name.lower(): i for i, name in id2label.items()}
    texts, labels = zip(*sentences(False), strict=True)
    inputs = tok(list(texts), padding=True, return_tensors="pt")
    targets = torch.tensor([index[label] for label in labels])
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    model.train()
    for _ in range(steps):
        model(**inputs, labels=targets).loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    model.eval()


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The toy model, trained once for the module on the training sentences only."""
    torch.set_num_threads(1)  # a tiny network: more threads only contend with each other
    return build(tmp_path_factory.mktemp("tiny") / "model", id2label=ID2LABEL, steps=60)


@pytest.fixture
def model_setting(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Point PILOTE_TRANSFORMERS_MODEL at a folder or id, as a user would."""

    def point(value: str | Path) -> None:
        monkeypatch.setenv("PILOTE_TRANSFORMERS_MODEL", str(value))

    monkeypatch.delenv("PILOTE_TRANSFORMERS_DOWNLOAD", raising=False)
    return point


def seed(engine: Engine, texts: list[str]) -> int:
    t = target(engine)
    with engine.begin() as conn:
        write_batch(conn, t, [item(f"m{i}", text, minutes=i) for i, text in enumerate(texts)])
    return t.workspace_id


def stored(engine: Engine) -> dict[str, tuple[str | None, float | None]]:
    with Session(engine) as session:
        rows = session.execute(select(Message.text, Message.sentiment, Message.sentiment_score))
        return {text: (label, score) for text, label, score in rows}


def test_messages_the_model_never_saw_get_its_labels_through_the_pipeline(
    engine: Engine, trained: Path, model_setting: Any
) -> None:
    model_setting(trained)
    held_out = sentences(True)
    long_text = "the bike is great " * 100  # far beyond the model's 32 positions: truncated, not an error
    workspace_id = seed(engine, [text for text, _ in held_out] + [long_text])
    analyzers = enrich.get(["sentiment-transformers"])
    assert run(engine, analyzers, workspace_id=workspace_id).analysed == {"sentiment-transformers": 19}
    found = stored(engine)
    right = sum(found[text][0] == label for text, label in held_out)
    assert right >= 16, f"{right}/18 held-out messages labelled right"
    assert found[long_text][0] == "positive"
    assert all(1 / 3 <= score <= 1 for _, score in found.values() if score is not None)
    with Session(engine) as session:
        versions = {v for row in session.scalars(select(Enrichment.versions)) for v in json.loads(row).items()}
        extras = [json.loads(v)["sentiment-transformers"] for v in session.scalars(select(Enrichment.value))]
    assert versions == {("sentiment-transformers", f"1+{backend.digest(trained)}")}
    assert all(sorted(e["probabilities"]) == ["negative", "neutral", "positive"] for e in extras)
    assert all(abs(sum(e["probabilities"].values()) - 1) < 1e-3 for e in extras)
    assert run(engine, analyzers, workspace_id=workspace_id).analysed == {"sentiment-transformers": 0}


def test_forked_worker_processes_share_the_loaded_model_and_agree_with_it(
    sqlite_engine: Engine, trained: Path, model_setting: Any
) -> None:
    model_setting(trained)
    held_out = sentences(True)
    copies = -(-PARALLEL_FROM // len(held_out))  # enough messages for the pipeline to fork its workers
    workspace_id = seed(sqlite_engine, [text for text, _ in held_out] * copies)
    report = run(sqlite_engine, enrich.get(["sentiment-transformers"]), workspace_id=workspace_id, workers=2)
    assert report.analysed == {"sentiment-transformers": copies * len(held_out)}
    loaded = backend.load(trained, backend.digest(trained))
    alone = backend.predict(loaded, [text for text, _ in held_out])
    expected = {text: max(p, key=p.__getitem__) for (text, _), p in zip(held_out, alone, strict=True)}
    with Session(sqlite_engine) as session:
        rows = session.execute(select(Message.text, Message.sentiment)).all()
    assert len(rows) == copies * len(held_out)
    assert all(label == expected[text] for text, label in rows)


def test_another_model_in_the_folder_re_analyses_every_message(
    sqlite_engine: Engine, tmp_path: Path, trained: Path, model_setting: Any
) -> None:
    folder = tmp_path / "model"
    shutil.copytree(trained, folder)
    model_setting(folder)
    workspace_id = seed(sqlite_engine, ["the app is great", "my order is awful"])
    analyzers = enrich.get(["sentiment-transformers"])
    first = backend.stamp()
    run(sqlite_engine, analyzers, workspace_id=workspace_id)
    shutil.rmtree(folder)
    build(folder, id2label={0: "negative", 1: "positive"})  # an untrained two-class model replaces it
    assert backend.stamp() != first
    assert run(sqlite_engine, analyzers, workspace_id=workspace_id).analysed == {"sentiment-transformers": 2}
    assert {label for label, _ in stored(sqlite_engine).values()} <= {"negative", "positive"}


def test_half_precision_weights_run_in_full_precision_on_a_cpu(tmp_path: Path, trained: Path) -> None:
    folder = tmp_path / "half"
    transformers.AutoModelForSequenceClassification.from_pretrained(trained).half().save_pretrained(folder)
    transformers.AutoTokenizer.from_pretrained(trained).save_pretrained(folder)
    loaded = backend.load(folder, backend.digest(folder))
    assert loaded.model.dtype == (torch.float16 if torch.cuda.is_available() else torch.float32)
    held_out = sentences(True)
    found = backend.predict(loaded, [text for text, _ in held_out])
    assert sum(max(p, key=p.__getitem__) == label for p, (_, label) in zip(found, held_out, strict=True)) >= 16


def sentencepiece_model(folder: Path) -> Path:
    """An XLM-RoBERTa-style model whose tokenizer is only a sentencepiece file, as multilingual Twitter models ship."""
    pieces = io.BytesIO()
    texts = [text for text, _ in sentences(False)]
    spm.SentencePieceTrainer.train(sentence_iterator=iter(texts), model_writer=pieces, vocab_size=40,
                                   bos_id=0, pad_id=1, eos_id=2, unk_id=3, minloglevel=2)  # fmt: skip
    folder.mkdir(parents=True)
    (folder / "sentencepiece.bpe.model").write_bytes(pieces.getvalue())
    tok = transformers.XLMRobertaTokenizer.from_pretrained(folder)
    config = transformers.XLMRobertaConfig(
        vocab_size=len(tok), hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
        max_position_embeddings=MAX_TOKENS + 2, pad_token_id=tok.pad_token_id, num_labels=3,
        id2label={0: "LABEL_0", 1: "LABEL_1", 2: "LABEL_2"},
    )  # fmt: skip
    transformers.XLMRobertaForSequenceClassification(config).save_pretrained(folder)
    return folder


def test_a_roberta_model_with_a_sentencepiece_tokenizer_loads_and_cuts_long_texts_to_its_positions(
    sqlite_engine: Engine, tmp_path: Path, model_setting: Any
) -> None:
    folder = sentencepiece_model(tmp_path / "xlmr")
    model_setting(folder)
    long_text = "the bike is great and " * 200
    workspace_id = seed(sqlite_engine, ["the app is ok", long_text])
    run(sqlite_engine, enrich.get(["sentiment-transformers"]), workspace_id=workspace_id)
    assert {label for label, _ in stored(sqlite_engine).values()} <= set(backend.LABELS)
    assert all(score is not None for _, score in stored(sqlite_engine).values())
    assert backend.load(folder, backend.digest(folder)).max_length == MAX_TOKENS  # 2 positions before the first


@pytest.mark.parametrize(
    ("id2label", "expected"),
    [
        ({0: "LABEL_0", 1: "LABEL_1", 2: "LABEL_2"}, ("negative", "neutral", "positive")),
        ({0: "LABEL_0", 1: "LABEL_1"}, ("negative", "positive")),
        ({0: "NEGATIVE", 1: "POSITIVE"}, ("negative", "positive")),
        ({0: "Positive", 1: "NEGATIVE", 2: "neutral"}, ("positive", "negative", "neutral")),
    ],
)
def test_labels_are_read_from_the_model_config(id2label: dict[int, str], expected: tuple[str, ...]) -> None:
    assert backend.label_names(id2label) == expected


@pytest.mark.parametrize(
    "id2label", [{i: f"{i + 1} stars" for i in range(5)}, {0: "joy", 1: "anger"}, {0: "positive", 1: "positive"}]
)
def test_labels_that_are_not_a_sentiment_are_refused(id2label: dict[int, str]) -> None:
    with pytest.raises(Invalid, match="id2label"):
        backend.label_names(id2label)


def _break(folder: Path, how: str) -> None:
    if how == "no config":
        (folder / "config.json").unlink()
    elif how == "garbled config":
        (folder / "config.json").write_text("{not json", encoding="utf-8")
    elif how == "no weights":
        (folder / "model.safetensors").unlink()
    elif how == "truncated weights":
        weights = folder / "model.safetensors"
        weights.write_bytes(weights.read_bytes()[:200])
    elif how == "no tokenizer":
        (folder / "tokenizer.json").unlink()
        (folder / "tokenizer_config.json").unlink()


@pytest.mark.parametrize("how", ["no config", "garbled config", "no weights", "truncated weights", "no tokenizer"])
def test_a_broken_model_folder_is_a_clear_error_and_nothing_is_written(
    sqlite_engine: Engine, tmp_path: Path, trained: Path, model_setting: Any, how: str
) -> None:
    folder = tmp_path / "broken"
    shutil.copytree(trained, folder)
    _break(folder, how)
    model_setting(folder)
    workspace_id = seed(sqlite_engine, ["the app is great"])
    with pytest.raises(Invalid, match="broken") as raised:
        run(sqlite_engine, enrich.get(["sentiment-transformers"]), workspace_id=workspace_id)
    assert "docs/models.md" in str(raised.value)
    assert stored(sqlite_engine) == {"the app is great": (None, None)}


@pytest.mark.parametrize(
    ("value", "download", "error", "says"),
    [
        (None, "false", Invalid, "set PILOTE_TRANSFORMERS_MODEL"),
        ("./no/such/folder", "false", NotFound, "not a model folder"),
        ("pilote-tests/not-downloaded", "false", NotFound, "PILOTE_TRANSFORMERS_DOWNLOAD=true"),
        ("pilote-tests/not-downloaded", "true", NotFound, "HF_HUB_OFFLINE is set, so nothing is downloaded"),
    ],
)
def test_a_missing_model_says_how_to_provide_one(
    monkeypatch: pytest.MonkeyPatch, value: str | None, download: str, error: type[PiloteError], says: str
) -> None:
    monkeypatch.setenv("PILOTE_TRANSFORMERS_DOWNLOAD", download)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # never the network, even where the user opted in
    if value is None:
        monkeypatch.delenv("PILOTE_TRANSFORMERS_MODEL", raising=False)
    else:
        monkeypatch.setenv("PILOTE_TRANSFORMERS_MODEL", value)
    with pytest.raises(error, match=says):
        backend.stamp()


@pytest.mark.parametrize("module", ["torch", "transformers"])
def test_without_the_extra_the_error_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, trained: Path, model_setting: Any, module: str
) -> None:
    model_setting(trained)
    monkeypatch.setitem(sys.modules, module, None)  # how Python marks a package as absent
    with pytest.raises(Invalid, match=r"pip install 'pilote\[transformers\]'"):
        backend.stamp()


def _cli(settings: Settings, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("PILOTE_", "HF_"))}
    environment |= {"PILOTE_HOME": str(settings.home), **env}
    command = [sys.executable, "-m", "pilote", *args]
    return subprocess.run(command, env=environment, capture_output=True, text=True, timeout=300, check=False)


def test_a_cached_hugging_face_model_is_found_offline_by_its_id(
    sqlite_settings: Settings, sqlite_engine: Engine, tmp_path: Path, trained: Path
) -> None:
    # The layout the Hugging Face cache gives a downloaded model: refs/main names a snapshot folder.
    cache = tmp_path / "hub"
    revision = "0123456789abcdef0123456789abcdef01234567"
    shutil.copytree(trained, cache / "models--acme--tiny-sentiment" / "snapshots" / revision)
    (cache / "models--acme--tiny-sentiment" / "refs").mkdir()
    (cache / "models--acme--tiny-sentiment" / "refs" / "main").write_text(revision, encoding="utf-8")
    seed(sqlite_engine, ["your shop is wonderful", "the service is horrible"])
    env = {"PILOTE_TRANSFORMERS_MODEL": "acme/tiny-sentiment", "HF_HUB_CACHE": str(cache), "HF_HUB_OFFLINE": "1"}
    done = _cli(sqlite_settings, "enrich", "--analyzer", "sentiment-transformers", "--json", **env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["analysed"] == {"sentiment-transformers": 2}
    assert stored(sqlite_engine)["your shop is wonderful"][0] == "positive"


def test_the_cli_reports_a_broken_model_in_plain_words_and_exits_1(
    sqlite_settings: Settings, sqlite_engine: Engine, tmp_path: Path, trained: Path, env_for: Any, model_setting: Any
) -> None:
    folder = tmp_path / "broken"
    shutil.copytree(trained, folder)
    (folder / "config.json").write_text("{not json", encoding="utf-8")
    model_setting(folder)
    env_for(sqlite_settings)
    seed(sqlite_engine, ["the app is great"])
    done = CliRunner().invoke(app, ["enrich", "--analyzer", "sentiment-transformers"])
    assert done.exit_code == 1
    assert "cannot load a sentiment model" in done.stderr
    assert str(folder) in done.stderr.replace("\n", "")


def test_importing_pilote_never_imports_torch_or_transformers() -> None:
    code = (
        "import sys, pilote.cli, pilote.enrich\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'transformers', 'huggingface_hub'}))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.strip() == "[]"
