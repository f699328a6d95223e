"""Text to features: one normalisation, hashed word and character n-grams, sublinear TF-IDF.

Hashing keeps extraction stateless: the only thing learned is the IDF vector, stored with each head.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from functools import cache

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import HashingVectorizer

N_FEATURES = 2**18
WIDTH = 2 * N_FEATURES
_URL = re.compile(r"(?:https?://|www\.)([\w.-]+)\S*", re.IGNORECASE)
_MENTION = re.compile(r"(?<!\w)@\w+")
_REPEATS = re.compile(r"([^\W\d_])\1{2,}")
_WORD = r"(?u)[@\w][\w'.-]*"  # keeps "@user", "ex.com" and "aujourd'hui" whole
_TAGS = re.compile(r"<[^>]{0,200}>")


def normalise(text: str, *, domains: bool = False) -> str:
    """Lower-case text with URLs as `http` (plus their domain with `domains`), mentions as `@user`."""
    text = _TAGS.sub(" ", html.unescape(text.replace("\ufeff", "")))

    def url(match: re.Match[str]) -> str:
        domain = match.group(1).lower().removeprefix("www.")
        return f" http {domain} " if domains else " http "

    text = _MENTION.sub("@user", _URL.sub(url, text))
    # "soooo" and "sooooooo" are the same word: keep two letters so "cool" stays "cool".
    return _REPEATS.sub(r"\1\1", text).lower()


@cache
def _vectorizers() -> tuple[HashingVectorizer, HashingVectorizer]:
    common = {"n_features": N_FEATURES, "alternate_sign": False, "norm": None, "lowercase": False}
    words = HashingVectorizer(analyzer="word", ngram_range=(1, 2), token_pattern=_WORD, **common)
    chars = HashingVectorizer(analyzer="char_wb", ngram_range=(2, 5), **common)
    return words, chars


def counts(texts: Sequence[str], *, domains: bool = False) -> sparse.csr_matrix:
    """Raw n-gram counts, word block then character block (2 × 2**18 columns)."""
    cleaned = [normalise(text, domains=domains) for text in texts]
    words, chars = _vectorizers()
    return sparse.hstack([words.transform(cleaned), chars.transform(cleaned)], format="csr")


def learn_idf(matrix: sparse.csr_matrix) -> np.ndarray:
    """Smoothed inverse document frequency of each column, as float32."""
    documents = np.bincount(matrix.indices, minlength=matrix.shape[1])
    idf: np.ndarray = (np.log((1 + matrix.shape[0]) / (1 + documents)) + 1).astype(np.float32)
    return idf


def weigh(matrix: sparse.csr_matrix, idf: np.ndarray) -> sparse.csr_matrix:
    """Sublinear TF times IDF, each row scaled to unit length."""
    weighted = matrix.astype(np.float32, copy=True)
    weighted.data = 1 + np.log(weighted.data)
    weighted = sparse.csr_matrix(weighted.multiply(idf.reshape(1, -1)))
    norms = np.sqrt(np.asarray(weighted.multiply(weighted).sum(axis=1)).ravel())
    norms[norms == 0] = 1
    return sparse.csr_matrix(sparse.diags(1 / norms) @ weighted)


def features(texts: Sequence[str], idf: np.ndarray, *, domains: bool = False) -> sparse.csr_matrix:
    """The feature rows a head reads."""
    return weigh(counts(texts, domains=domains), idf)
