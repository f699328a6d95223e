"""The evidence behind an alert: which series, how far above its baseline, and the messages that made it.

Only messages written before the end of the alert's bucket are read (an explanation never looks ahead):
the first ones of the bucket that crossed the line, and from the hour up to it the most amplified, the
authors spreading it, keyphrases and channels. For a series about negative messages, only those count;
for first-time authors, only theirs. Texts are kept as plain text, cut short; whoever renders them escapes them.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pilote.models import Author, Enrichment, Message, RadarAuthor, Source
from pilote.radar.series import KEYPHRASE, STEP, parse_keyphrases

if TYPE_CHECKING:
    from pilote.radar.incidents import Candidate

LOOKBACK = timedelta(hours=1)
LIMIT = 2000  # messages read at most per explanation
SHOWN = 5
SNIPPET = 280


def explain(session: Session, candidate: Candidate) -> dict[str, Any]:
    """The alert's explanation, as stored with it (JSON-ready)."""
    start, end = candidate.at - LOOKBACK + STEP, candidate.at + STEP
    rows = _messages(session, candidate, start, end)
    phrases = _keyphrases(session, [row["id"] for row in rows])
    if candidate.series.startswith(KEYPHRASE):
        wanted = candidate.series.removeprefix(KEYPHRASE)
        rows = [row for row in rows if wanted in phrases.get(row["id"], ())]
    ratio = candidate.value / candidate.expected if candidate.expected > 0 else None
    return {
        "series": candidate.series,
        "at": candidate.at.isoformat(),
        "window": [start.isoformat(), end.isoformat()],
        "value": candidate.value,
        "expected": round(candidate.expected, 3),
        "ratio": None if ratio is None else round(ratio, 2),
        "score": round(candidate.score, 4),
        "severity": candidate.severity,
        "messages": len(rows),
        "first_messages": [_public(row) for row in rows if row["created_at"] >= candidate.at.isoformat()][:SHOWN],
        "most_amplified": [_public(row) for row in sorted(rows, key=lambda r: -r["reach"])[:SHOWN]],
        "authors": _authors(rows),
        "keyphrases": _top_phrases(rows, phrases),
        "channels": dict(Counter(row["channel"] for row in rows).most_common()),
    }


def _messages(session: Session, candidate: Candidate, start: Any, end: Any) -> list[dict[str, Any]]:
    reach = func.coalesce(Message.views, func.coalesce(Message.likes, 0) + func.coalesce(Message.shares, 0)
                          + func.coalesce(Message.replies, 0))  # fmt: skip
    query = (
        select(Message.id, Message.created_at, Message.title, Message.text, Message.url, Message.sentiment,
               reach.label("reach"), Author.handle, Author.display_name, Source.channel, Message.author_id)
        .join(Source, Source.id == Message.source_id)
        .outerjoin(Author, Author.id == Message.author_id)
        .where(Message.workspace_id == candidate.workspace_id)
        .where(Message.created_at >= start, Message.created_at < end)
    )  # fmt: skip
    if candidate.series.startswith("negative"):
        query = query.where(Message.sentiment == "negative")
    if candidate.series.startswith("newcomer"):
        query = query.join(RadarAuthor, RadarAuthor.author_id == Message.author_id).where(
            RadarAuthor.first_at >= start, RadarAuthor.first_at < end
        )
    found = session.execute(query.order_by(Message.created_at, Message.id).limit(LIMIT)).all()
    return [
        {"id": r[0], "created_at": r[1].isoformat(), "text": _snippet(r[2], r[3]), "url": r[4], "sentiment": r[5],
         "reach": int(r[6] or 0), "author": r[7] or r[8] or "", "channel": r[9], "author_id": r[10]}
        for r in found
    ]  # fmt: skip


def _snippet(title: str | None, text: str | None) -> str:
    content = " ".join(part for part in (title, text) if part).replace("\n", " ")
    return content if len(content) <= SNIPPET else content[: SNIPPET - 1] + "…"


def _public(row: dict[str, Any]) -> dict[str, Any]:
    return {key: row[key] for key in ("id", "created_at", "author", "channel", "reach", "sentiment", "text", "url")}


def _authors(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Who spreads it: the authors with the most reach in the window, then the most messages, then the latest."""
    per: dict[tuple[str, str], dict[str, Any]] = {}
    for row in rows:
        key = (row["author"], row["channel"])
        entry = per.setdefault(key, {"author": row["author"], "channel": row["channel"], "messages": 0, "reach": 0})
        entry["messages"] += 1
        entry["reach"] += row["reach"]
        entry["last"] = row["created_at"]
    ranked = sorted(per.values(), key=lambda e: e["last"], reverse=True)
    ranked.sort(key=lambda e: (-e["reach"], -e["messages"]))
    return [{key: value for key, value in entry.items() if key != "last"} for entry in ranked[:SHOWN]]


def _keyphrases(session: Session, ids: list[int]) -> dict[int, tuple[str, ...]]:
    if not ids:
        return {}
    query = select(Enrichment.message_id, Enrichment.value).where(Enrichment.message_id.in_(ids[:900]))
    return {message_id: tuple(parse_keyphrases(value)) for message_id, value in session.execute(query)}


def _top_phrases(rows: list[dict[str, Any]], phrases: dict[int, tuple[str, ...]]) -> list[list[Any]]:
    counts = Counter(phrase for row in rows for phrase in set(phrases.get(row["id"], ())))
    return [[phrase, count] for phrase, count in counts.most_common(10)]
