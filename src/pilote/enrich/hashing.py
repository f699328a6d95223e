"""Hashed n-gram counts of a whole batch of texts at once, with array operations instead of a loop per text.

The batch is joined into one array of code points (texts separated by NUL). Tokens are runs of word
characters (letters, digits, `_`, with `'`, `’`, `.` and `-` kept inside a word: "aujourd'hui", "ex.com",
"peut-être"; a leading `@` kept: "@user") and runs of other visible characters ("!!", "?", ":)", "😡").
Every substring hash comes from one prefix sum: with h[i] = Σ_{j<i} c_j·P^j (mod 2^64), the text [a, b)
hashes to (h[b] − h[a])·P^−a, which depends on its characters only (P is odd, so P^−1 exists mod 2^64). A
mixing step then spreads the bits before a column is taken from the top ones.

`counts` gives, per text (letters repeated more than twice counted twice): word unigrams and bigrams in
the first `n_features` columns, and the character 4-grams of each token padded with a space on both sides
(" peu", "peut", …, "tre ") in the next `n_features`. Its cost is a few array passes over the characters:
~7× cheaper than a tokenizer called text by text.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    from scipy import sparse

U64 = NDArray[np.uint64]
SEPARATOR = "\x00"
_P = 0x100000001B3  # odd: invertible modulo 2**64
_P_INV = pow(_P, -1, 2**64)
_BIGRAM = np.uint64(0x9E3779B97F4A7C15)
_SPACE = np.uint64(ord(" "))
_JOINERS = np.array([ord(c) for c in "'’.-"], dtype=np.uint32)
_AT = ord("@")
_BMP = 0x10000


# What the tables say of a code point, by column: a word character (`\w`), a space, a letter.
_TESTS = (lambda c: c.isalnum() or c == "_", str.isspace, str.isalpha)


@cache
def _tables() -> tuple[NDArray[np.bool_], ...]:
    """The `_TESTS` of every code point of the basic plane (NUL, the separator between texts, is a space)."""
    characters = [chr(i) for i in range(_BMP)]
    tables = tuple(np.fromiter(map(test, characters), dtype=np.bool_, count=_BMP) for test in _TESTS)
    tables[1][0] = True
    return tables


def squeeze(points: NDArray[np.uint32]) -> NDArray[np.uint32]:
    """A letter repeated more than twice counts twice: "sooooo" and "sooo" are "soo" ("cool" stays "cool")."""
    if len(points) < 3:
        return points
    letter = _lookup(points, 2)
    same = (points[2:] == points[1:-1]) & (points[1:-1] == points[:-2]) & letter[2:]
    if not same.any():
        return points
    kept: NDArray[np.uint32] = points[np.concatenate([[True, True], ~same])]
    return kept


def _lookup(points: NDArray[np.uint32], column: int) -> NDArray[np.bool_]:
    """One of the tables' properties for each code point; those beyond the basic plane (emoji, mostly) are
    tested once per distinct code point, however long the text."""
    found: NDArray[np.bool_] = _tables()[column][np.minimum(points, _BMP - 1)]
    beyond = points >= _BMP
    if beyond.any():
        distinct, where = np.unique(points[beyond], return_inverse=True)
        test = _TESTS[column]
        answers = np.fromiter((test(chr(p)) for p in distinct.tolist()), dtype=np.bool_, count=len(distinct))
        found[beyond] = answers[where]
    return found


def _classes(points: NDArray[np.uint32]) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    """Word and space masks (the separator between texts counts as a space)."""
    return _lookup(points, 0), _lookup(points, 1)


@cache
def _powers(size: int) -> tuple[U64, U64]:
    """P^i and P^-i modulo 2**64 for i < size (size a power of two, so few sizes are ever cached)."""
    with np.errstate(over="ignore"):
        forward = np.cumprod(np.full(size, _P, dtype=np.uint64))
        backward = np.cumprod(np.full(size, _P_INV, dtype=np.uint64))
    return np.concatenate([[np.uint64(1)], forward[:-1]]), np.concatenate([[np.uint64(1)], backward[:-1]])


def _mix(values: U64, bits: int) -> NDArray[np.int64]:
    """A column in [0, 2**bits) from a 64-bit hash (the finaliser of SplitMix64, then the top bits)."""
    with np.errstate(over="ignore"):
        values = values ^ (values >> np.uint64(30))
        values = values * np.uint64(0xBF58476D1CE4E5B9)
        values = values ^ (values >> np.uint64(27))
        values = values * np.uint64(0x94D049BB133111EB)
        values = values ^ (values >> np.uint64(31))
    return (values >> np.uint64(64 - bits)).astype(np.int64)


class _Hasher:
    """Prefix hashes of a code point array: the hash of any substring in O(1), vectorised."""

    def __init__(self, points: NDArray[np.uint32]) -> None:
        size = 1 << max(10, len(points).bit_length())
        self.power, self.inverse = _powers(size)
        with np.errstate(over="ignore"):
            self.prefix = np.concatenate([[np.uint64(0)], np.cumsum(points * self.power[: len(points)])])

    def of(self, start: NDArray[np.int64], end: NDArray[np.int64]) -> U64:
        """Hashes of the substrings [start, end)."""
        with np.errstate(over="ignore"):
            hashes: U64 = (self.prefix[end] - self.prefix[start]) * self.inverse[start]
        return hashes


def code_points(texts: Sequence[str]) -> NDArray[np.uint32]:
    """The texts joined by the separator, as code points (lone surrogates from bad input kept as such)."""
    joined = SEPARATOR.join(texts)
    return np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)


def _tokens(points: NDArray[np.uint32], *, split_only: bool) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Start and end of each token: words and runs of visible symbols, or (`split_only`) runs of non-spaces."""
    word, space = _classes(points)
    kind = (~space).astype(np.int8)
    if not split_only:
        after = np.append(word[1:], False)
        before = np.insert(word[:-1], 0, False)
        inner = np.isin(points, _JOINERS) & before & after
        at = (points == _AT) & after & ~before
        kind[word | inner | at] = 2
    previous = np.insert(kind[:-1], 0, 0)
    following = np.append(kind[1:], 0)
    starts = np.flatnonzero((kind != 0) & (kind != previous))
    ends = np.flatnonzero((kind != 0) & (kind != following)) + 1
    return starts, ends


def _documents(points: NDArray[np.uint32], at: NDArray[np.int64]) -> NDArray[np.int64]:
    """Which text each position belongs to."""
    separators = np.flatnonzero(points == 0)
    return np.searchsorted(separators, at).astype(np.int64)


def _char_grams(hasher: _Hasher, starts: NDArray[np.int64], ends: NDArray[np.int64]) -> tuple[U64, NDArray[np.int64]]:
    """Hashes of the 4-grams of each token padded with a space each side, and the token each comes from."""
    lengths = ends - starts
    token = np.flatnonzero(lengths >= 2)
    grams = lengths[token] - 1  # a padded token of L + 2 characters has L - 1 windows of 4
    owner = np.repeat(token, grams)
    offsets = np.cumsum(grams) - grams
    j = np.arange(len(owner), dtype=np.int64) - np.repeat(offsets, grams)  # window number within its token
    start, end, length = starts[owner], ends[owner], lengths[owner]
    lead, trail = j == 0, j + 3 == length + 1
    a = np.where(lead, start, start + j - 1)
    b = np.minimum(end, start + j + 3)
    with np.errstate(over="ignore"):
        shift = np.where(lead, hasher.power[1], np.uint64(1))
        value = hasher.of(a, b) * shift
        value = value + np.where(lead, _SPACE, np.uint64(0)) + np.where(trail, _SPACE * hasher.power[3], np.uint64(0))
    return value, owner


def _matrix(documents: NDArray[np.int64], columns: NDArray[np.int64], rows: int, width: int) -> sparse.csr_matrix:
    """Counts of (document, column) pairs as a CSR matrix."""
    from scipy import sparse

    keys, counts = np.unique(documents * width + columns, return_counts=True)
    found = keys // width
    indptr = np.zeros(rows + 1, dtype=np.int64)
    np.cumsum(np.bincount(found, minlength=rows), out=indptr[1:])
    columns = (keys % width).astype(np.int32)
    return sparse.csr_matrix((counts.astype(np.float32), columns, indptr), shape=(rows, width))


def counts(texts: Sequence[str], n_features: int) -> sparse.csr_matrix:
    """Word 1-2-gram counts (columns < n_features), then character 4-gram counts (the next n_features)."""
    bits = n_features.bit_length() - 1
    points = squeeze(code_points(texts))
    starts, ends = _tokens(points, split_only=False)
    hasher = _Hasher(points)
    words = hasher.of(starts, ends)
    owners = _documents(points, starts)
    pairs = np.flatnonzero(owners[1:] == owners[:-1])
    with np.errstate(over="ignore"):
        bigrams = words[pairs] * _BIGRAM + words[pairs + 1]
    grams, owner = _char_grams(hasher, starts, ends)
    columns = np.concatenate([_mix(words, bits), _mix(bigrams, bits), _mix(grams, bits) + n_features])
    documents = np.concatenate([owners, owners[pairs], owners[owner]])
    return _matrix(documents, columns, len(texts), 2 * n_features)


def token_counts(texts: Sequence[str], n_features: int) -> sparse.csr_matrix:
    """Counts of the whitespace-separated tokens of each text, hashed into `n_features` columns."""
    points = code_points(texts)
    starts, ends = _tokens(points, split_only=True)
    columns = _mix(_Hasher(points).of(starts, ends), n_features.bit_length() - 1)
    return _matrix(_documents(points, starts), columns, len(texts), n_features)
