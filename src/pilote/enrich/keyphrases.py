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
_STOP = {"fr": stopwords.FRENCH | stopwords.COMMON, "en": stopwords.ENGLISH | stopwords.COMMON}
_EITHER = stopwords.FRENCH | stopwords.ENGLISH | stopwords.COMMON
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


def extract(text: str, language: str | None = None, limit: int = PER_MESSAGE) -> list[str]:
    """Up to `limit` keyphrases of one text, best first (none for a language without stop words)."""
    stop = _stop_words(language)
    if stop is None:
        return []
    phrases: dict[tuple[str, ...], int] = {}  # phrase → order of first appearance
    runs = _runs(text[:MAX_CHARS], stop)
    for run in runs:
        for start in range(0, len(run), LONGEST):  # a longer run is cut in pieces of at most three words
            phrases.setdefault(tuple(run[start : start + LONGEST]), len(phrases))
    # A phrase weighs what its words weigh in the message: longer phrases and repeated words come first.
    counts = Counter(word for run in runs for word in run)
    repeated = {word: n - 1 for word, n in counts.items() if n > 1}
    if repeated:
        ranked = sorted(phrases, key=lambda p: (-len(p) - sum(repeated.get(w, 0) for w in p), phrases[p]))
    else:
        ranked = sorted(phrases, key=lambda p: (-len(p), phrases[p]))
    return [" ".join(phrase) for phrase in ranked[:limit]]


def analyze(texts: Sequence[Text]) -> list[Result]:
    """Each message's keyphrases, from its title and text, with the stop words of its language."""
    return [{NAME: extract(f"{t.title}. {t.text}" if t.title else t.text, t.language)} for t in texts]


def _stamp() -> str:
    words = "\n".join(sorted(_EITHER))
    return hashlib.sha256(words.encode()).hexdigest()[:8]


ANALYZER = Analyzer(name=NAME, version="1", columns=(), analyze=analyze, stamp=_stamp)


# --- per period ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Keyphrase:
    """A phrase of a period: in how many messages, and its weight against the periods before."""

    phrase: str
    messages: int
    score: float


def _document_counts(session: Session, workspace_id: int, start: datetime, end: datetime) -> tuple[Counter[str], int]:
    """In how many analysed messages of [start, end) each phrase occurs, and how many messages were analysed."""
    query = (
        select(Enrichment.value)
        .join(Message, Message.id == Enrichment.message_id)
        .where(Message.workspace_id == workspace_id, Message.created_at >= start, Message.created_at < end)
    )
    counts: Counter[str] = Counter()
    total = 0
    for (value,) in session.execute(query):
        found = extras(value, NAME)
        if NAME in found:  # the analyzer ran on the message (its list may be empty)
            total += 1
            counts.update(found[NAME])
    return counts, total


def top_keyphrases(session: Session, workspace_id: int, start: datetime, end: datetime,
                   limit: int = 20) -> list[Keyphrase]:  # fmt: skip
    """The phrases that stand out in [start, end): frequent in the period, not everywhere before it."""
    period, total = _document_counts(session, workspace_id, start, end)
    before, background = _document_counts(session, workspace_id, start - BACKGROUND * (end - start), start)
    documents = total + background
    least = 2 if total >= 50 else 1  # one message is an anecdote, unless there are few
    scored = [
        Keyphrase(phrase, count, round(count * math.log((1 + documents) / (1 + count + before[phrase])), 3))
        for phrase, count in period.items()
        if count >= least
    ]
    scored.sort(key=lambda k: (-k.score, -k.messages, k.phrase))
    return scored[:limit]
