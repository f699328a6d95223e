"""The Overview page: what happened over a period, each figure beside the previous period's, from rollups.

A period still running (it reaches now) is compared with the same elapsed span of the period before: up to the
same minute, so that a day, an hour or a week not yet over does not read as a collapse (docs/cockpit.md)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo

from sqlalchemy.orm import Session

from pilote import community, rollups
from pilote.community import counted
from pilote.enrich.keyphrases import fold_phrase
from pilote.models import Message
from pilote.views.common import Figure, MessageCard, Period, card_query, cards, decided, figure, period
from pilote.views.timeseries import TimeSeries, earlier, reached, timeseries

TOP_KEYPHRASES = 20
FOLDED_MORE = 3  # read this many times more phrases, so that singulars and plurals merged still fill the list
TOP_THREADS = 10
UNANSWERED_SHOWN = 20
TOTALS = ("messages", "intent", "unanswered", "sentiment", "spam", "toxic")


@dataclass(frozen=True, slots=True)
class Keyphrase:
    """A phrase and how many messages carried it, this period and the previous one."""

    phrase: str
    count: int
    previous: int


@dataclass(frozen=True, slots=True)
class Growth:
    """A conversation and how many messages it gained over the period."""

    thread_id: int
    title: str
    channel: str
    new: int
    previous: int


@dataclass(slots=True)
class Overview:
    """Everything the Overview page shows."""

    workspace_id: int
    start: datetime
    end: datetime
    bucket: str
    until: datetime  # how far the period has run: its end, or now; figures and the previous line stop there
    running: int | None  # the index of the bucket still running (now falls in it); None for a period past
    figures: dict[str, Figure]
    volume_by_channel: TimeSeries
    previous_volume: list[int | None]  # the previous period's messages on this period's buckets, up to `until`
    volume_by_kind: TimeSeries
    sentiment: TimeSeries
    engagement: TimeSeries
    keyphrases: list[Keyphrase] = field(default_factory=list)
    growing: list[Growth] = field(default_factory=list)
    unanswered: list[MessageCard] = field(default_factory=list)


def overview(
    session: Session,
    workspace_id: int,
    start: datetime,
    end: datetime,
    bucket: str,
    zone: tzinfo = UTC,
    now: datetime | None = None,
) -> Overview:
    """The Overview of a workspace for [start, end), with the previous period of equal length to compare (up to
    the same elapsed time when the period reaches `now`, the present by default)."""
    span = period(start, end)
    now = now or datetime.now(UTC)
    series = {
        name: timeseries(session, workspace_id, metric, bucket, start, end, group, zone)
        for name, metric, group in (
            ("channel", "messages", "channel"), ("kind", "messages", "kind"),
            ("sentiment", "messages", "sentiment"), ("engagement", "engagement", None),
        )
    }  # fmt: skip
    ran, _ = elapsed(span, now)
    back = _back(span)
    begun = reached(series["channel"].starts, ran.end)
    return Overview(
        workspace_id=workspace_id, start=span.start, end=span.end, bucket=bucket, until=ran.end,
        running=begun - 1 if span.start <= now < span.end and begun else None,
        figures=figures(session, workspace_id, span, now), volume_by_channel=series["channel"],
        previous_volume=earlier(session, workspace_id, bucket, span, back, ran.end, zone),
        volume_by_kind=series["kind"], sentiment=series["sentiment"], engagement=series["engagement"],
        keyphrases=keyphrases(session, workspace_id, span), growing=growing(session, workspace_id, span),
        unanswered=unanswered(session, workspace_id, span),
    )  # fmt: skip


def elapsed(span: Period, now: datetime) -> tuple[Period, Period]:
    """The part of a period run by `now` (all of it once it is over) and the same elapsed span of the period
    before, the period's length earlier."""
    until = max(span.start, min(span.end, now))
    return Period(span.start, until), Period(span.previous().start, until - (span.end - span.start))


def _back(span: Period) -> int:
    """How many hours earlier the previous period's line reads its buckets: the period's length in whole hours,
    one at least (a period the API was given in minutes must not draw itself as its own previous line)."""
    return max(1, round((span.end - span.start) / timedelta(hours=1)))


def figures(session: Session, workspace_id: int, span: Period, now: datetime | None = None) -> dict[str, Figure]:
    """Headline numbers: messages, engagement, questions and complaints, unanswered, negative, spam, toxic; beside
    the previous period's, or, for a period still running at `now`, beside the same elapsed span of it."""
    ran, matched = elapsed(span, span.end if now is None else now)
    counts, previous = _totals(session, workspace_id, ran), _totals(session, workspace_id, matched)
    return {
        name: figure(counts.get(name, 0), previous.get(name, 0)) for name in sorted(counts.keys() | previous.keys())
    }


def _totals(session: Session, workspace_id: int, span: Period) -> dict[str, int]:
    """The headline counts of a span: its whole hours from the rollups, the part of an hour it ends in (the hour
    running now, or the same minutes a period before) from the messages."""
    conn, running = session.connection(), rollups.hour_of(span.end)
    found = rollups.sums(conn, workspace_id, TOTALS, span.first_hour, running - 1)
    if span.end > rollups.hour_start(running):
        part = rollups.between(conn, workspace_id, TOTALS, max(span.start, rollups.hour_start(running)), span.end)
        for name, keys in part.items():
            for key, (count, engagement) in keys.items():
                before = found[name].get(key, (0, 0))
                found[name][key] = (before[0] + count, before[1] + engagement)
    messages = found["messages"].get("", (0, 0))
    return {
        "messages": messages[0],
        "engagement": messages[1],
        "needs_answer": sum(found["intent"].get(name, (0, 0))[0] for name in community.NEEDS_ANSWER),
        "unanswered": sum(count for count, _ in found["unanswered"].values()),
        "negative": found["sentiment"].get("negative", (0, 0))[0],
        "positive": found["sentiment"].get("positive", (0, 0))[0],
        "spam": found["spam"].get("spam", (0, 0))[0],
        "toxic": found["toxic"].get("toxic", (0, 0))[0],
    }


def keyphrases(session: Session, workspace_id: int, span: Period) -> list[Keyphrase]:
    """The period's most frequent keyphrases ([] when the keyphrases analyzer has not run); a phrase in the
    singular and the plural is one, written as most messages write it."""
    conn = session.connection()
    now, before = _days(span), _days(span.previous())
    found = rollups.top(conn, workspace_id, "keyphrase" + rollups.DAY, *now, TOP_KEYPHRASES * FOLDED_MORE)
    keys = [phrase for phrase, _ in found]
    earlier = rollups.totals(conn, workspace_id, "keyphrase" + rollups.DAY, *before, keys) if found else {}
    counts: Counter[str] = Counter()  # per folded phrase: this period's messages, the previous period's
    previous: Counter[str] = Counter()
    shown: dict[str, str] = {}  # → the variant most messages write (`found` comes most frequent first)
    for phrase, count in found:
        key = fold_phrase(phrase)
        shown.setdefault(key, phrase)
        counts[key] += count
        previous[key] += earlier.get(phrase, (0, 0))[0]
    ranked = sorted(counts, key=lambda key: (-counts[key], shown[key]))[:TOP_KEYPHRASES]
    return [Keyphrase(shown[key], counts[key], previous[key]) for key in ranked]


def growing(session: Session, workspace_id: int, span: Period) -> list[Growth]:
    """The conversations that gained the most replies over the period (counted per UTC day, 2 a day at least)."""
    conn = session.connection()
    found = rollups.top(conn, workspace_id, "thread" + rollups.DAY, *_days(span), TOP_THREADS)
    if not found:
        return []
    keys = [key for key, _ in found]
    earlier = rollups.totals(conn, workspace_id, "thread" + rollups.DAY, *_days(span.previous()), keys)
    roots = {card.id: card for card in _cards(session, [int(key) for key, _ in found])}
    result = []
    for key, count in found:
        root = roots.get(int(key))
        if root is not None:
            title = root.title or root.text[:120]
            result.append(Growth(root.id, title, root.channel, count, earlier.get(key, (0, 0))[0]))
    return result


def _days(span: Period) -> tuple[int, int]:
    """The hours of the daily series (conversations, keyphrases) that a period covers: its UTC days."""
    return span.first_hour // 24 * 24, span.last_hour


def _cards(session: Session, ids: list[int]) -> list[MessageCard]:
    return cards(session, session.execute(card_query().where(Message.id.in_(ids))).all())


def unanswered(session: Session, workspace_id: int, span: Period, limit: int = UNANSWERED_SHOWN) -> list[MessageCard]:
    """The newest questions and complaints of the period that no one of the team answered."""
    conn = session.connection()
    counts: dict[int, int] = {}
    for point in rollups.read(conn, workspace_id, "unanswered", span.first_hour, span.last_hour, newest=limit * 2):
        counts[point.hour] = counts.get(point.hour, 0) + point.count
    hours, seen = sorted(counts, reverse=True), 0
    for taken, hour in enumerate(hours, 1):  # the newest hours holding at least `limit` of them
        seen += counts[hour]
        if seen >= limit:
            hours = hours[:taken]
            break
    if not hours:
        return []
    team = community.team_ids(conn, workspace_id)
    query = card_query().where(
        Message.workspace_id == workspace_id,
        Message.created_at >= rollups.hour_start(hours[-1]),
        Message.created_at < rollups.hour_start(hours[0] + 1),
        decided("intent", Message.intent).in_(community.NEEDS_ANSWER),
        counted(),
    )
    candidates = [c for c in cards(session, session.execute(query).all()) if _open(c, team)]
    answered = community.answered(session, [c.id for c in candidates], team)
    still_open = [c for c in candidates if c.id not in answered]
    return sorted(still_open, key=lambda c: (c.created_at, c.id), reverse=True)[:limit]


def _open(card: MessageCard, team: set[int]) -> bool:
    return community.owes_answer(card.intent, card.author_id, team)
