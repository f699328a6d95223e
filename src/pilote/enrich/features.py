"""Messages to features, computed once per batch and shared by every head.

Text block: hashed word 1-2-grams and character 4-grams of space-padded tokens (words, and runs of symbols
such as "!!", "?" or emoji), sublinear term frequency; each head weighs it with its own IDF (the only thing
learned) at the cost of one pass over the non-zeros. A batch is normalised as one string and hashed with
array operations over all its characters at once (`hashing.py`): ~15 µs per message instead of ~100 µs with
a tokenizer called text by text.
Author block (spam): the author's name and website, what the name is when it is no person's (a domain, shopping
words, a phrase: `signals`), the links and invitations to go elsewhere, texts repeated in the batch and the
similarity to the post answered, as hashed tokens. Hashing keeps extraction stateless: no vocabulary is stored.
Lexicon (sentiment): VADER's four scores, read by the sentiment head's text part beside the n-grams and by its
embedding part beside the vectors (`lexicon_scores`, `head_rows`).
"""

from __future__ import annotations

import html
import re
import string
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import numpy as np
from numpy.typing import NDArray

from pilote.enrich import hashing, signals
from pilote.traces import PROFILE

if TYPE_CHECKING:  # scipy loads when features are first computed: the CLI starts without it
    from scipy import sparse

N_FEATURES = 2**18
# The heads read the first 5,000 characters of a message: enough to judge it, and a chunk of long texts
# (a text may hold up to a million) keeps its arrays small (8 bytes per character per array).
MAX_CHARS = 5000
N_AUTHOR = 2**14
TEXT_WIDTH = 2 * N_FEATURES
WIDTH = TEXT_WIDTH + N_AUTHOR
_URL = re.compile(r"(?:https?://|www\.)([\w.-]+)\S*", re.IGNORECASE)
_LOWER_URL = re.compile(_URL.pattern)  # on lower-cased text: 4x faster than ignoring case
_MENTION = re.compile(r"@(?<!\w@)\w+")  # "@" first, then look behind it: 15x faster than the other way round
_TAGS = re.compile(r"<[^>\x00]{0,200}>")  # never across texts: a batch is normalised as one string
_PIECES = re.compile(r"[^\W_]+")
_PUNCTUATION = string.punctuation
VADER_CHARS = 2000  # VADER reads the first 2,000 characters of a message


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
    _tokens: list[list[str]] | None = field(default=None, repr=False)
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
            self._author = sublinear(hashing.token_counts([" ".join(t) for t in self.tokens], N_AUTHOR))
        return self._author

    @property
    def tokens(self) -> list[list[str]]:
        """The author tokens of each sample (`batch_tokens`)."""
        if self._tokens is None:
            self._tokens = batch_tokens(self.samples)
        return self._tokens

    @property
    def lexicon(self) -> NDArray[np.float32]:
        """VADER's negative, neutral, positive and compound scores of each text (4 columns, `lexicon_scores`)."""
        if self._lexicon is None:
            self._lexicon = lexicon_scores([s.text for s in self.samples])
        return self._lexicon

    def rows(self, *, author: bool) -> sparse.csr_matrix:
        """The text block, followed by the author block when asked."""
        from scipy import sparse

        if not author:
            return self.text
        return sparse.hstack([self.text, self.author], format="csr")


def lexicon_scores(texts: Sequence[str]) -> NDArray[np.float32]:
    """VADER's lexicon and rules (English words, emoji, punctuation, capitals): 4 scores per text.

    VADER runs only on the texts that hold one of its lexicon's entries (a word, with or without the
    punctuation around it) or one of its emoji; the others score (0, 1, 0, 0), as VADER scores a text without
    any. Its rules are Python run word by word: skipping the texts it has nothing to say about keeps the
    pipeline's speed (docs/benchmarks.md).
    """
    entries, emoji = _lexicon_marks()
    found = np.array([_holds(text[:VADER_CHARS], entries) for text in texts], dtype=np.bool_)
    points = hashing.code_points([text[:VADER_CHARS].replace(hashing.SEPARATOR, " ") for text in texts])
    beyond = np.flatnonzero(points > 0x7F)  # emoji are beyond ASCII: most characters are not looked up
    marked = beyond[np.isin(points[beyond], emoji)]
    found[np.searchsorted(np.flatnonzero(points == 0), marked)] = True  # the text each emoji is in
    rows = np.tile(np.array([0, 1, 0, 0], dtype=np.float32), (len(texts), 1))
    from pilote.enrich import vader

    for i in np.flatnonzero(found).tolist():
        s = vader.polarity_scores(texts[i][:VADER_CHARS])
        rows[i] = (s["neg"], s["neu"], s["pos"], s["compound"])
    return rows


def _holds(text: str, entries: frozenset[str]) -> bool:
    """Whether a word of the text, as VADER looks it up (lower case, outer punctuation off), is in its lexicon."""
    return any(word in entries or word.strip(_PUNCTUATION) in entries for word in text.lower().split())


@cache
def _lexicon_marks() -> tuple[frozenset[str], NDArray[np.uint32]]:
    """VADER's lexicon entries, and its emoji's code points."""
    from pilote.enrich import vader

    analyzer = vader.analyzer()
    emoji = np.array(sorted({ord(c) for e in analyzer.emojis for c in e if ord(c) > 0x7F}), dtype=np.uint32)
    return frozenset(analyzer.lexicon), emoji


def head_rows(batch: Batch, idf: NDArray[np.float32], *, author: bool, lexicon: bool) -> sparse.csr_matrix:
    """What a head's text part reads: the IDF-weighed text (and author) block, then VADER's 4 scores if asked."""
    from scipy import sparse

    rows = weigh(batch.rows(author=author), idf)
    if not lexicon:
        return rows
    return sparse.hstack([rows, sparse.csr_matrix(batch.lexicon)], format="csr")


def normalise(text: str) -> str:
    """Lower-case text, tags removed, URLs as `http` plus their domain, mentions as `@user`."""
    text = _TAGS.sub(" ", html.unescape(text.replace("\ufeff", ""))).lower()

    def url(match: re.Match[str]) -> str:
        return f" http {match.group(1).removeprefix('www.')} "

    return _MENTION.sub("@user", _LOWER_URL.sub(url, text))


def counts(texts: Sequence[str]) -> sparse.csr_matrix:
    """Raw n-gram counts of texts, word block then character block (`hashing.counts`), normalised together."""
    separator = hashing.SEPARATOR
    # Spaces around the separator: a link's `\S*` must not run into the next text.
    joined = f" {separator} ".join(text[:MAX_CHARS].replace(separator, " ") for text in texts)
    return hashing.counts(normalise(joined).split(separator) if texts else [], N_FEATURES)


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
    return hashing.token_counts([" ".join(tokens) for tokens in batch_tokens(samples)], N_AUTHOR)


def batch_tokens(samples: Sequence[Sample]) -> list[list[str]]:
    """The author tokens of each sample, copies counted within the batch."""
    keys = [_key(s.text[:MAX_CHARS]) for s in samples]
    repeats = Counter(keys)
    return [author_tokens(s, repeats[k], k) for s, k in zip(samples, keys, strict=True)]


def _key(text: str) -> str:
    return " ".join(_PIECES.findall(text.lower()))


def author_tokens(sample: Sample, copies: int = 1, key: str | None = None) -> list[str]:
    """Spam signals beyond the words: who posts, which site, which links, how often, how related to the post."""
    who, site = _who(sample.author, sample.url)
    tokens = list(who)
    text = sample.text
    linked = "://" in text or "www." in text.lower()  # most texts have no link: skip the expression
    domains = [m.group(1).lower().removeprefix("www.") for m in _URL.finditer(text)] if linked else []
    tokens.append(f"links:{min(len(domains), 3)}")
    promoting = signals.promotion(text[:MAX_CHARS])
    tokens.append(f"promo:{min(promoting, 2)}")
    if site and any(d == site for d in domains):
        tokens.append("link:own-site")
    tokens.append(f"copies:{'1' if copies < 2 else '2-4' if copies < 5 else '5+'}")
    tokens.append(f"post:{_relation(sample, _key(text) if key is None else key)}")
    return tokens


@lru_cache(maxsize=8192)
def _who(author: str, url: str) -> tuple[tuple[str, ...], str]:
    """Tokens of the author's name and website, and the website (authors post many times: computed once)."""
    name = _PIECES.findall(author.lower())
    tokens = [f"a:{piece}" for piece in name] + [f"alen:{min(len(name), 5)}"]
    handle = is_handle(author, url)
    if re.search(r"\.(?:com|net|org|fr|info|biz)\b", author.lower()) and not handle:
        tokens.append("a:domain")
    tokens += [f"a:is-{kind}" for kind in signals.name_kind(author) if not (handle and kind == "domain")]
    site = website(url)
    return (*tokens, *_site_tokens(site, name)), site


def website(url: str) -> str:
    """The domain of the author's website, or "" when none (a profile page on a platform is not one)."""
    if not url.strip():
        return ""
    parts = urlsplit(url.strip() if "//" in url else f"//{url.strip()}")
    if PROFILE.match(parts.path or ""):
        return ""
    return (parts.hostname or "").removeprefix("www.")


def is_handle(author: str, url: str) -> bool:
    """Whether the name is the handle a platform gave the author (the end of their profile page's address), such
    as a Bluesky handle, which is a domain by design: not a web address the author chose to sign with."""
    if not author.strip() or not url.strip():
        return False
    path = urlsplit(url.strip() if "//" in url else f"//{url.strip()}").path or ""
    last = path.rstrip("/").rsplit("/", 1)[-1].removeprefix("@")
    return bool(PROFILE.match(path)) and last.lower() == author.strip().removeprefix("@").lower()


def _site_tokens(site: str, name: list[str]) -> list[str]:
    if not site:
        return ["site:none"]
    pieces = _PIECES.findall(site.rsplit(".", 1)[0])
    tokens = ["site:yes", *(f"site:{p}" for p in pieces)]
    if name and sum(piece in pieces for piece in name) >= max(1, len(name) - 1):
        tokens.append("site:is-name")  # "Best Pellet Stoves" at best-pellet-stoves.example
    if signals.commercial(pieces):
        tokens.append("site:is-commerce")  # chaussures-discount.example, whatever the name it signs with
    return tokens


def _relation(sample: Sample, key: str) -> str:
    if not sample.parent:
        return "none"
    own, post = set(key.split()), _words(sample.parent)
    shared = len(own & post) / max(1, len(own))
    return "unrelated" if shared < 0.1 else "related" if shared >= 0.25 else "loose"


@lru_cache(maxsize=1024)
def _words(text: str) -> frozenset[str]:
    """The words of a post (its replies all ask: computed once)."""
    return frozenset(_key(text).split())
