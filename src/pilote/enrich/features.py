"""Messages to features, computed once per batch and shared by every head.

Text block: hashed word 1-2-grams and character 4-grams (within words), sublinear term frequency; each head
weighs it with its own IDF (the only thing learned) at the cost of one pass over the non-zeros.
Author block (spam): the author's name and website, the links, texts repeated in the batch and the similarity
to the post answered, as hashed tokens. Hashing keeps extraction stateless: no vocabulary is stored.
"""

from __future__ import annotations

import html
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:  # scipy and scikit-learn load when features are first computed: the CLI starts without them
    from scipy import sparse
    from sklearn.feature_extraction.text import HashingVectorizer

N_FEATURES = 2**18
N_AUTHOR = 2**14
TEXT_WIDTH = 2 * N_FEATURES
WIDTH = TEXT_WIDTH + N_AUTHOR
_URL = re.compile(r"(?:https?://|www\.)([\w.-]+)\S*", re.IGNORECASE)
_MENTION = re.compile(r"(?<!\w)@\w+")
_REPEATS = re.compile(r"([^\W\d_])\1{2,}")
_WORD = r"(?u)[@\w][\w'.-]*"  # keeps "@user", "ex.com" and "aujourd'hui" whole
_TAGS = re.compile(r"<[^>]{0,200}>")
_PIECES = re.compile(r"[^\W_]+")
# A profile page on a platform ("/@ana", "/user/ana", "/channel/x") is not a website the author promotes.
_PROFILE = re.compile(r"^/(?:@|u/|user/|users/|profile/|channel/|c/|people/|members?/)", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Sample:
    """What a head reads of a message: its text, and for spam its author, website and the post it answers."""

    text: str
    author: str = ""
    url: str = ""
    parent: str | None = None


@dataclass(slots=True)
class Batch:
    """Features of a batch of samples, each block computed on first use and then shared."""

    samples: Sequence[Sample]
    vectors: NDArray[np.float32] | None = None
    _text: sparse.csr_matrix | None = field(default=None, repr=False)
    _author: sparse.csr_matrix | None = field(default=None, repr=False)
    _lexicon: NDArray[np.float32] | None = field(default=None, repr=False)

    @property
    def text(self) -> sparse.csr_matrix:
        """Sublinear term frequencies of the text block (2 × 2**18 columns)."""
        if self._text is None:
            self._text = sublinear(counts([s.text for s in self.samples]))
        return self._text

    @property
    def author(self) -> sparse.csr_matrix:
        """Sublinear term frequencies of the author block (2**14 columns)."""
        if self._author is None:
            self._author = sublinear(author_counts(self.samples))
        return self._author

    @property
    def lexicon(self) -> NDArray[np.float32]:
        """VADER's negative, neutral, positive and compound scores of each text (4 columns)."""
        if self._lexicon is None:
            self._lexicon = lexicon_scores([s.text for s in self.samples])
        return self._lexicon

    def rows(self, *, author: bool) -> sparse.csr_matrix:
        """The text block, followed by the author block when asked."""
        from scipy import sparse

        if not author:
            return self.text
        return sparse.hstack([self.text, self.author], format="csr")


@cache
def _vader() -> Any:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer  # type: ignore[import-untyped]

    return SentimentIntensityAnalyzer()


def lexicon_scores(texts: Sequence[str]) -> NDArray[np.float32]:
    """VADER's lexicon and rules (English words, emoji, punctuation, capitals): 4 scores per text."""
    analyzer = _vader()
    scores = [analyzer.polarity_scores(text[:2000]) for text in texts]
    rows = [[s["neg"], s["neu"], s["pos"], s["compound"]] for s in scores]
    return np.array(rows, dtype=np.float32).reshape(len(texts), 4)


def normalise(text: str) -> str:
    """Lower-case text with URLs as `http` plus their domain, mentions as `@user`."""
    text = _TAGS.sub(" ", html.unescape(text.replace("\ufeff", "")))

    def url(match: re.Match[str]) -> str:
        return f" http {match.group(1).lower().removeprefix('www.')} "

    text = _MENTION.sub("@user", _URL.sub(url, text))
    # "soooo" and "sooooooo" are the same word: keep two letters so "cool" stays "cool".
    return _REPEATS.sub(r"\1\1", text).lower()


@cache
def _vectorizers() -> tuple[HashingVectorizer, HashingVectorizer, HashingVectorizer]:
    from sklearn.feature_extraction.text import HashingVectorizer

    common = {"alternate_sign": False, "norm": None, "lowercase": False}
    words = HashingVectorizer(analyzer="word", ngram_range=(1, 2), token_pattern=_WORD, n_features=N_FEATURES,
                              **common)  # fmt: skip
    chars = HashingVectorizer(analyzer="char_wb", ngram_range=(4, 4), n_features=N_FEATURES, **common)
    tokens = HashingVectorizer(analyzer=str.split, n_features=N_AUTHOR, **common)
    return words, chars, tokens


def counts(texts: Sequence[str]) -> sparse.csr_matrix:
    """Raw n-gram counts of texts, word block then character block."""
    from scipy import sparse

    cleaned = [normalise(text) for text in texts]
    words, chars, _ = _vectorizers()
    return sparse.hstack([words.transform(cleaned), chars.transform(cleaned)], format="csr")


def sublinear(matrix: sparse.csr_matrix) -> sparse.csr_matrix:
    """1 + log(count), as float32."""
    from scipy import sparse

    result = sparse.csr_matrix(matrix, dtype=np.float32, copy=True)
    result.data = 1 + np.log(result.data)
    return result


def learn_idf(matrix: sparse.csr_matrix) -> NDArray[np.float32]:
    """Smoothed inverse document frequency of each column, as float32."""
    documents = np.bincount(matrix.indices, minlength=matrix.shape[1])
    idf: NDArray[np.float32] = (np.log((1 + matrix.shape[0]) / (1 + documents)) + 1).astype(np.float32)
    return idf


def weigh(matrix: sparse.csr_matrix, idf: NDArray[np.float32]) -> sparse.csr_matrix:
    """Term frequencies times IDF, each row scaled to unit length (a new matrix; the shared one is untouched)."""
    from scipy import sparse

    data = matrix.data * idf[matrix.indices]
    lengths = np.diff(matrix.indptr)
    rows = np.repeat(np.arange(matrix.shape[0]), lengths)
    norms = np.sqrt(np.bincount(rows, weights=data * data, minlength=matrix.shape[0])).astype(np.float32)
    norms[norms == 0] = 1
    data /= np.repeat(norms, lengths)
    return sparse.csr_matrix((data, matrix.indices, matrix.indptr), shape=matrix.shape)


def author_counts(samples: Sequence[Sample]) -> sparse.csr_matrix:
    """Counts of the author tokens of each sample (see `author_tokens`)."""
    repeats = Counter(_key(s.text) for s in samples)
    documents = [" ".join(author_tokens(s, repeats[_key(s.text)])) for s in samples]
    return _vectorizers()[2].transform(documents)


def _key(text: str) -> str:
    return " ".join(_PIECES.findall(text.lower()))


def author_tokens(sample: Sample, copies: int = 1) -> list[str]:
    """Spam signals beyond the words: who posts, which site, which links, how often, how related to the post."""
    who, site = _who(sample.author, sample.url)
    tokens = list(who)
    domains = [m.group(1).lower().removeprefix("www.") for m in _URL.finditer(sample.text)]
    tokens.append(f"links:{min(len(domains), 3)}")
    if site and any(d == site for d in domains):
        tokens.append("link:own-site")
    tokens.append(f"copies:{'1' if copies < 2 else '2-4' if copies < 5 else '5+'}")
    tokens.append(f"post:{_relation(sample)}")
    return tokens


@lru_cache(maxsize=8192)
def _who(author: str, url: str) -> tuple[tuple[str, ...], str]:
    """Tokens of the author's name and website, and the website (authors post many times: computed once)."""
    name = _PIECES.findall(author.lower())
    tokens = [f"a:{piece}" for piece in name] + [f"alen:{min(len(name), 5)}"]
    if re.search(r"\.(?:com|net|org|fr|info|biz)\b", author.lower()):
        tokens.append("a:domain")
    site = website(url)
    return (*tokens, *_site_tokens(site, name)), site


def website(url: str) -> str:
    """The domain of the author's website, or "" when none (a profile page on a platform is not one)."""
    if not url.strip():
        return ""
    parts = urlsplit(url.strip() if "//" in url else f"//{url.strip()}")
    if _PROFILE.match(parts.path or ""):
        return ""
    return (parts.hostname or "").removeprefix("www.")


def _site_tokens(site: str, name: list[str]) -> list[str]:
    if not site:
        return ["site:none"]
    pieces = _PIECES.findall(site.rsplit(".", 1)[0])
    tokens = ["site:yes", *(f"site:{p}" for p in pieces)]
    if name and sum(piece in pieces for piece in name) >= max(1, len(name) - 1):
        tokens.append("site:is-name")  # "Best Pellet Stoves" at best-pellet-stoves.example
    return tokens


def _relation(sample: Sample) -> str:
    if not sample.parent:
        return "none"
    own, post = set(_key(sample.text).split()), set(_key(sample.parent).split())
    shared = len(own & post) / max(1, len(own))
    return "unrelated" if shared < 0.1 else "related" if shared >= 0.25 else "loose"
