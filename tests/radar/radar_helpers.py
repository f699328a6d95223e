"""Builders for radar tests: messages written through the real writer, with sentiment set as an analyzer would."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, update

from factories import target
from pilote.ingest import Target, write_batch
from pilote.models import Message, utcnow
from pilote.sources.base import AuthorRef, Counters, Item

_numbers = itertools.count()


@dataclass(frozen=True)
class Msg:
    """One message to write: when, by whom, negative or not, its engagement, a spam label."""

    at: datetime
    author: str = "regular"
    text: str = "ordinary message"
    negative: bool = False
    likes: int | None = None
    shares: int | None = None
    spam_label: bool = False


def write(engine: Engine, messages: list[Msg], slug: str = "acme", key: str = "social.example") -> Target:
    """Write the messages into workspace `slug` (created if missing), then mark the negative ones."""
    into = target(engine, slug=slug, key=key)
    items, negatives = [], []
    for message in messages:
        external_id = f"m{next(_numbers)}"
        counters = Counters(likes=message.likes, shares=message.shares) if message.likes or message.shares else None
        items.append(Item(
            external_id=external_id, kind="mention", created_at=message.at, raw=f"{external_id}|{message}",
            text=message.text, author=AuthorRef(key=f"user:{message.author}", handle=message.author),
            counters=counters, labels=(("spam", "spam"),) if message.spam_label else (),
        ))  # fmt: skip
        if message.negative:
            negatives.append(external_id)
    for start in range(0, len(items), 2000):
        with engine.begin() as conn:
            write_batch(conn, into, items[start : start + 2000])
    with engine.begin() as conn:
        for start in range(0, len(negatives), 500):
            chunk = negatives[start : start + 500]
            conn.execute(update(Message).where(Message.external_id.in_(chunk)).values(sentiment="negative"))
    return into


def baseline(start: datetime, end: datetime, *, per_bucket: int = 2, negative_every: int = 4) -> list[Msg]:
    """A calm stream: `per_bucket` messages every five minutes by a handful of regulars, a few negative."""
    found, step, n = [], timedelta(minutes=5), 0
    moment = start
    while moment < end:
        for k in range(per_bucket):
            found.append(Msg(at=moment + timedelta(seconds=30 + 60 * k), author=f"regular{n % 7}",
                             negative=n % negative_every == 0))  # fmt: skip
            n += 1
        moment += step
    return found


def burst(at: datetime, count: int, *, author_prefix: str = "angry", negative: bool = True) -> list[Msg]:
    """`count` messages within the five minutes after `at`, by as many new authors."""
    return [
        Msg(at=at + timedelta(seconds=5 * k), author=f"{author_prefix}{k}", text=f"battery fell off #{k}",
            negative=negative)
        for k in range(count)
    ]  # fmt: skip


def soon() -> datetime:
    """A tick's `now` after the writes have settled (the radar waits a few seconds for writes to end)."""
    return utcnow() + timedelta(minutes=1)


def on_bucket(moment: datetime) -> datetime:
    """`moment` moved to the start of its five-minute bucket."""
    return moment.replace(minute=moment.minute - moment.minute % 5, second=0, microsecond=0)


def lately(minutes: int = 30) -> datetime:
    """The start of a bucket `minutes` ago: closed, and within the live horizon (news, not history)."""
    return on_bucket(utcnow()) - timedelta(minutes=minutes)
