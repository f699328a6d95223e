"""Keyphrases: per message, the phrases a text is about; per period, those that stand out (`top_keyphrases`).

Per message, candidates are the runs of up to three content words between stop words and punctuation
(the project's own French and English lists, `stopwords.py`), each weighing the sum of its words'
counts in the message; the best few are stored. That costs microseconds, where yake costs milliseconds per message
(docs/benchmarks.md). What matters for a team is the period: there, a phrase's weight is the number of
messages that carry it times its inverse document frequency over the period and the four periods before
it, so that what a community always says ("commande", "order") ranks below what it says now.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from pilote.enrich import stopwords
from pilote.enrich.base import Analyzer, Result, Text
from pilote.models import Enrichment, Message, extras

NAME = "keyphrases"
PER_MESSAGE = 5
LONGEST = 3  # words in a phrase
BACKGROUND = 4  # periods before the one asked about, to tell what is usual from what is new
MAX_CHARS = 2000
_STOP = {"fr": stopwords.FRENCH_ALL | stopwords.COMMON, "en": stopwords.ENGLISH_ALL | stopwords.COMMON}
_EITHER = stopwords.FRENCH_ALL | stopwords.ENGLISH_ALL | stopwords.COMMON
# Links, mentions and hashtags break runs; a word is letters, with inner hyphens or apostrophes; any other
# non-space character (punctuation, digits, emoji) breaks runs too.
_NOISE = re.compile(r"https?://\S+|www\.\S+|[@#]\w+")
_TOKEN = re.compile(r"[^\W\d_]+(?:['-][^\W\d_]+)*|[^\s]")
_ELISION = re.compile(r"^(?:[cldjmnst]|qu|jusqu|lorsqu|puisqu)'")


def _stop_words(language: str | None) -> frozenset[str] | None:
    """The stop words for a language; None for a language without a list (no keyphrases then)."""
    if language in _STOP:
        return _STOP[language]
    return _EITHER if language in (None, "und") else None


def _runs(text: str, stop: frozenset[str]) -> list[list[str]]:
    """Sequences of content words, broken by punctuation and stop words."""
    runs: list[list[str]] = []
    run: list[str] = []
    text = text.lower().replace("’", "'")
    if "http" in text or "www." in text or "@" in text or "#" in text:  # rare: skip the expression otherwise
        text = _NOISE.sub(" . ", text)
    for token in _TOKEN.findall(text):
        if "'" in token:
            token = _ELISION.sub("", token)
        if len(token) < 3 or token in stop or not token[0].isalpha():
            if run:
                runs.append(run)
                run = []
        else:
            run.append(token)
    if run:
        runs.append(run)
    return runs


def fold(word: str) -> str:
    """A word as keyphrases compare them, its plural mark dropped: "batteries" and "batterie" are one word.
    A final -s (not -ss, -us, -is: "bus", "avis") or the -x of -eaux, -eux, -oux ("jeux"); English -ies plurals
    ("deliveries") stay apart from their singular."""
    if len(word) > 3:
        if word[-1] == "s" and word[-2] not in "sui":
            return word[:-1]
        if word[-1] == "x" and word.endswith(("eaux", "eux", "oux")):
            return word[:-1]
    return word


def stored(value: str | bytes | None) -> list[str]:
    """The phrases this analyzer stored in an enrichment value, best first, stripped and lower-cased (the value
    holds phrases, or [phrase, score] pairs; anything else is skipped)."""
    data = extras(value, NAME).get("keyphrases")
    if not isinstance(data, list):
        return []
    phrases = [entry[0] if isinstance(entry, list | tuple) and entry else entry for entry in data]
    return [phrase.strip().lower() for phrase in phrases if isinstance(phrase, str) and phrase.strip()]


def fold_phrase(phrase: str) -> str:
    """A phrase as keyphrases compare them: each word folded (`fold`)."""
    return " ".join(map(fold, phrase.split()))


def extract(text: str, language: str | None = None, limit: int = PER_MESSAGE) -> list[str]:
    """Up to `limit` keyphrases of one text, best first (none for a language without stop words); of a phrase
    in the singular and the plural, the first written."""
    stop = _stop_words(language)
    if stop is None:
        return []
    phrases: dict[tuple[str, ...], int] = {}  # phrase, its plural marks dropped → order of first appearance
    written: dict[tuple[str, ...], list[str]] = {}  # → the phrase as first written
    runs = _runs(text[:MAX_CHARS], stop)
    folded = [[fold(word) if word[-1] in "sx" else word for word in run] for run in runs]  # most words: as they are
    for run, keys in zip(runs, folded, strict=True):
        for start in range(0, len(run), LONGEST):  # a longer run is cut in pieces of at most three words
            key = tuple(keys[start : start + LONGEST])
            if key not in phrases:
                phrases[key] = len(phrases)
                written[key] = run[start : start + LONGEST]
    # A phrase weighs what its words weigh in the message: longer phrases and repeated words come first.
    counts = Counter(word for keys in folded for word in keys)
    repeated = {word: n - 1 for word, n in counts.items() if n > 1}
    if repeated:
        ranked = sorted(phrases, key=lambda p: (-len(p) - sum(repeated.get(w, 0) for w in p), phrases[p]))
    else:
        ranked = sorted(phrases, key=lambda p: (-len(p), phrases[p]))
    return [" ".join(written[key]) for key in ranked[:limit]]


def analyze(texts: Sequence[Text]) -> list[Result]:
    """Each message's keyphrases, from its title and text, with the stop words of its language."""
    return [{NAME: extract(f"{t.title}. {t.text}" if t.title else t.text, t.language)} for t in texts]


def _stamp() -> str:
    words = "\n".join(sorted(_EITHER))
    return hashlib.sha256(words.encode()).hexdigest()[:8]


ANALYZER = Analyzer(name=NAME, version="2", columns=(), analyze=analyze, stamp=_stamp)


# --- per period ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Keyphrase:
    """A phrase of a period: in how many messages, and its weight against the periods before."""

    phrase: str
    messages: int
    score: float


@dataclass(slots=True)
class _Counts:
    """In how many analysed messages each folded phrase occurs, how it was written, how many were analysed."""

    messages: Counter[str]
    written: dict[str, Counter[str]]
    total: int = 0

    def shown(self, key: str) -> str:
        """The folded phrase as most messages write it (the first in alphabetical order on a tie)."""
        return min(self.written[key].items(), key=lambda pair: (-pair[1], pair[0]))[0]


def _document_counts(session: Session, workspace_id: int, start: datetime, end: datetime) -> _Counts:
    """In how many analysed messages of [start, end) each phrase occurs, singular and plural as one."""
    query = (
        select(Enrichment.value)
        .join(Message, Message.id == Enrichment.message_id)
        .where(Message.workspace_id == workspace_id, Message.created_at >= start, Message.created_at < end)
    )
    counts = _Counts(Counter(), {})
    for (value,) in session.execute(query):
        found = extras(value, NAME)
        if NAME in found:  # the analyzer ran on the message (its list may be empty)
            counts.total += 1
            keys = {fold_phrase(phrase): phrase for phrase in found[NAME]}
            counts.messages.update(keys.keys())
            for key, phrase in keys.items():
                counts.written.setdefault(key, Counter())[phrase] += 1
    return counts


def top_keyphrases(session: Session, workspace_id: int, start: datetime, end: datetime,
                   limit: int = 20) -> list[Keyphrase]:  # fmt: skip
    """The phrases that stand out in [start, end): frequent in the period, not everywhere before it."""
    period = _document_counts(session, workspace_id, start, end)
    before = _document_counts(session, workspace_id, start - BACKGROUND * (end - start), start)
    documents = period.total + before.total
    least = 2 if period.total >= 50 else 1  # one message is an anecdote, unless there are few
    scored = [
        Keyphrase(
            period.shown(key), count, round(count * math.log((1 + documents) / (1 + count + before.messages[key])), 3)
        )
        for key, count in period.messages.items()
        if count >= least
    ]
    scored.sort(key=lambda k: (-k.score, -k.messages, k.phrase))
    return scored[:limit]
