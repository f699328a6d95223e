"""What the pages share: periods and buckets, the message card, the labels that decide over models."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any, Literal, cast

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from pilote import community, rollups
from pilote.errors import Invalid
from pilote.models import Author, Message, Source, Workspace
from pilote.texts import N_
from pilote.views import judgements
from pilote.views.judgements import Judgement

Bucket = Literal["hour", "day", "week"]
BUCKETS: tuple[str, ...] = ("hour", "day", "week")
MAX_BUCKETS = 5000
CARD_COLUMNS = 24  # card_query()'s columns; callers may append sort keys after them


@dataclass(frozen=True, slots=True)
class Period:
    """A half-open time range [start, end), in whole hours (rollups count per hour)."""

    start: datetime
    end: datetime

    @property
    def first_hour(self) -> int:
        return rollups.hour_of(self.start)

    @property
    def last_hour(self) -> int:
        return -(-int(self.end.timestamp()) // 3600) - 1

    def previous(self) -> Period:
        """The period of equal length just before this one."""
        return Period(self.start - (self.end - self.start), self.start)


def period(start: datetime, end: datetime) -> Period:
    """A checked period: aware datetimes, start before end."""
    if start.tzinfo is None or end.tzinfo is None:
        raise Invalid("period: give dates with a time zone (e.g. 2026-03-01T00:00:00+00:00)")
    if end <= start:
        raise Invalid(
            N_("period %(start)s → %(end)s: the end must come after the start"),
            start=start.isoformat(),
            end=end.isoformat(),
        )
    return Period(start, end)


def check_bucket(bucket: str) -> Bucket:
    """'hour', 'day' or 'week', else Invalid."""
    if bucket not in BUCKETS:
        raise Invalid(f"bucket {bucket!r}: use hour, day or week")
    return bucket  # type: ignore[return-value]


def bucket_start(hour: int, bucket: Bucket, zone: tzinfo = UTC) -> datetime:
    """Where an hour falls: its hour, or the local midnight of its day or of its week's Monday."""
    moment = rollups.hour_start(hour).astimezone(zone)
    if bucket == "hour":
        return moment
    day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    if bucket == "week":
        day -= timedelta(days=day.weekday())
    return day


def bucket_starts(span: Period, bucket: Bucket, zone: tzinfo = UTC) -> list[datetime]:
    """Every bucket of a period, in order (empty ones included)."""
    starts: dict[datetime, None] = {}
    for hour in range(span.first_hour, span.last_hour + 1):
        starts.setdefault(bucket_start(hour, bucket, zone))
        if len(starts) > MAX_BUCKETS:
            raise Invalid(
                N_("%(bucket)s buckets over this period: more than %(most)s; choose a larger bucket"),
                bucket=bucket,
                most=MAX_BUCKETS,
            )
    return list(starts)


@dataclass(frozen=True, slots=True)
class Figure:
    """A number of the period beside the same number for the previous period, and the relative change."""

    value: float
    previous: float
    change: float | None  # 0.25 = +25 %; None when the previous period had nothing


def figure(value: float, previous: float) -> Figure:
    """A Figure with its change computed."""
    return Figure(value, previous, None if not previous else round((value - previous) / previous, 4))


@dataclass(slots=True)
class MessageCard:
    """One message as pages and the API show it; spam, sentiment and intent as decided (labels win)."""

    id: int
    workspace: str
    source_id: int
    source: str
    channel: str
    kind: str
    created_at: datetime
    author_id: int | None
    author_handle: str | None
    author_name: str | None
    title: str | None
    text: str
    url: str | None
    language: str | None
    sentiment: str | None
    intent: str | None
    spam: bool | None
    spam_probability: float | None
    toxicity_probability: float | None
    likes: int | None
    shares: int | None
    replies: int | None
    views: int | None
    parent_id: int | None
    thread_id: int | None
    labels: dict[str, str] = field(default_factory=dict)
    engagement: int = 0  # likes + shares + replies
    # sentiment, intent, spam, toxicity, language: the value decided, the model's confidence, who decided
    judgements: dict[str, Judgement] = field(default_factory=dict)


def card_query() -> Select[Any]:
    """The columns of a MessageCard (the workspace as its id: `cards` names it), joined; filters and order are
    the caller's. The workspace is not joined, so that SQLite can walk an index in the order asked for."""
    query = (
        select(
            Message.id, Message.workspace_id, Message.source_id, Source.name, Source.channel, Message.kind,
            Message.created_at, Message.author_id, Author.handle, Author.display_name, Message.title, Message.text,
            Message.url, Message.language, Message.sentiment, Message.intent, Message.spam_probability,
            Message.toxicity_probability, Message.likes, Message.shares, Message.replies, Message.views,
            Message.parent_id, Message.thread_id,
        )
        .join(Source, Source.id == Message.source_id)
        .outerjoin(Author, Author.id == Message.author_id)
    )  # fmt: skip
    return cast(Select[Any], query)


def cards(session: Session, rows: Sequence[Any]) -> list[MessageCard]:
    """Rows of card_query() as cards, with their labels deciding spam, sentiment and intent, and each judgement's
    confidence."""
    labels = all_labels(session, [row[0] for row in rows])
    stored = judgements.stored(session, [row[0] for row in rows])
    spaces = {row[1] for row in rows}
    slugs = dict(session.execute(select(Workspace.id, Workspace.slug).where(Workspace.id.in_(spaces))).all())
    found = []
    for r in rows:
        card = MessageCard(r[0], slugs[r[1]], *r[2:16], None, *r[16:CARD_COLUMNS], labels=labels.get(r[0], {}))  # type: ignore[call-arg,misc]
        card.engagement = (card.likes or 0) + (card.shares or 0) + (card.replies or 0)
        decide(card)
        card.judgements = judgements.judge(card, stored.get(card.id, judgements.Stored()))
        found.append(card)
    return found


def all_labels(session: Session, ids: Sequence[int]) -> dict[int, dict[str, str]]:
    """Per message, each label's winning value (a person's over an import's): `community.labels_of`."""
    return community.labels_of(session, ids)


def decide(card: MessageCard) -> None:
    """Spam, sentiment and intent as the community's rules decide them (labels over models)."""
    card.spam = community.spam(card.labels, card.spam_probability)
    card.sentiment = community.decided(card.labels, "sentiment", card.sentiment)
    card.intent = community.decided(card.labels, "intent", card.intent)


# The SQL forms of the rules, under the names the pages use.
label_value = community.label_value
is_spam = community.is_spam
decided_is = community.decided_is
decided = community.decided_sql
