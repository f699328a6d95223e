"""Sending the team's answers: through the platform when its connector can reply, else copied by hand.

Every answer is an `outbound_reply` row written (status `queued`) before any request leaves, so none is lost:
a send that fails for a reason that may pass (a timeout, the platform's 5xx, a rate limit) goes back to the queue
and the clock tries it again later (`deliver_due`, with backoff, `MAX_ATTEMPTS` in all), then it is `failed`, in
plain words, for a person to retry or edit; one that cannot work (refused credentials, a reply the platform does
not take) is `failed` at once. A send is claimed by one conditional UPDATE (`queued` → `sending`, with a lease
time): two processes never post the same answer, and one that died while sending is taken again when its lease
has run out. A channel that cannot post (an import, an archive, a feed) is answered on its platform by the person
(`copy`): "I answered" records it. Either way the item is marked answered (`items.touch_answered`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Engine, select, update
from sqlalchemy.orm import Session

from pilote import platforms, sources
from pilote.accounts import audit
from pilote.accounts.audit import Actor
from pilote.config import Settings
from pilote.errors import Invalid, NotFound, PiloteError
from pilote.inbox import items
from pilote.models import InboxItem, Message, OutboundReply, Source, utcnow
from pilote.sources.http import AuthFailed, FetchFailed, HttpClient, HttpStatus, RateLimited
from pilote.texts import N_

MAX_TEXT = 10_000
MAX_ATTEMPTS = 6  # then `failed`, shown to the team
FIRST_WAIT = timedelta(minutes=1)  # doubled after each failed attempt: 1, 2, 4, 8, 16 minutes
LEASE = timedelta(minutes=5)  # a `sending` row older than this belongs to a process that died: taken again
BATCH = 20  # sends per clock turn


@dataclass(frozen=True, slots=True)
class Channel:
    """How an item is answered: `platform` (Pilote posts through the source) or `copy` (the person does), the
    platform's name, and the message's address on it."""

    mode: str
    platform: str
    url: str | None


def target_of(session: Session, item: InboxItem) -> Message:
    """The message an answer to the item replies to: its latest."""
    return session.get_one(Message, item.last_message_id or item.first_message_id)


def channel(session: Session, item: InboxItem) -> Channel:
    """Whether Pilote can post an answer to this item, and where a person would answer it otherwise."""
    source = session.get_one(Source, item.source_id)
    url = target_of(session, item).url
    shown = url if url and url.lower().startswith(("https://", "http://")) else None
    if platforms.is_platform(source) and "reply" in sources.get_connector(source.kind).actions:
        return Channel("platform", _platform_name(source), shown)
    return Channel("copy", _platform_name(source), shown)


def _platform_name(source: Source) -> str:
    names = {"wordpress": "WordPress", "mastodon": "Mastodon", "bluesky": "Bluesky", "discourse": "Discourse",
             "reddit": "Reddit", "youtube": "YouTube", "x_archive": "X", "wxr": "WordPress", "disqus": "Disqus",
             "rss": source.name, "facebook": "Facebook", "instagram": "Instagram", "linkedin": "LinkedIn"}  # fmt: skip
    return names.get(source.kind, source.name)


def _text(text: str) -> str:
    body = text.strip()
    if not body:
        raise Invalid(N_("an answer needs a text"))
    if len(body) > MAX_TEXT:
        raise Invalid(N_("an answer of %(count)s characters: keep it under %(most)s"), count=len(body), most=MAX_TEXT)
    return body


def queue(session: Session, workspace_id: int, item_id: int, text: str, actor: Actor) -> OutboundReply:
    """Write the answer to post through the item's platform (status queued), in the caller's transaction."""
    item = items.get(session, workspace_id, item_id)
    if channel(session, item).mode != "platform":
        raise Invalid(N_("this channel cannot post through Pilote: copy the answer, answer on the platform, then "
                         "mark the item answered"))  # fmt: skip
    row = OutboundReply(workspace_id=workspace_id, item_id=item.id, message_id=target_of(session, item).id,
                        user_id=actor.user_id, text=_text(text), mode="platform", status="queued", attempts=0,
                        next_attempt_at=utcnow())  # fmt: skip
    session.add(row)
    session.flush()
    return row


def send(engine: Engine, settings: Settings, workspace_id: int, item_id: int, text: str, actor: Actor, *,
         client: HttpClient | None = None) -> OutboundReply:  # fmt: skip
    """Queue the answer (committed before any request), then try to post it now; the row says how it went."""
    with Session(engine, expire_on_commit=False) as session, session.begin():
        reply_id = queue(session, workspace_id, item_id, text, actor).id
    return deliver(engine, settings, reply_id, actor, client=client)


def answered(session: Session, workspace_id: int, item_id: int, text: str, actor: Actor) -> OutboundReply:
    """The person answered on the platform themselves (copy mode): recorded, and the item is answered."""
    item = items.get(session, workspace_id, item_id)
    row = OutboundReply(workspace_id=workspace_id, item_id=item.id, message_id=target_of(session, item).id,
                        user_id=actor.user_id, text=text.strip()[:MAX_TEXT], mode="copy", status="copied",
                        attempts=0, sent_at=utcnow())  # fmt: skip
    session.add(row)
    items.touch_answered(session, item, actor)
    session.flush()
    return row


def retry(session: Session, workspace_id: int, reply_id: int, actor: Actor, text: str | None = None) -> OutboundReply:
    """Put a failed answer back in the queue (with a new text if given), with a whole new set of attempts."""
    row = get(session, workspace_id, reply_id)
    if row.mode != "platform" or row.status != "failed":
        raise Invalid(
            N_("answer %(id)s is %(status)s: only a failed answer can be sent again"), id=row.id, status=row.status
        )
    changed = text is not None and text.strip() != row.text
    new = _text(text) if text is not None else row.text
    claimed = session.execute(update(OutboundReply).where(OutboundReply.id == row.id, OutboundReply.status == "failed")
                              .values(status="queued", attempts=0, next_attempt_at=utcnow(), error=None, text=new)
                              .execution_options(synchronize_session=False))  # fmt: skip
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise Invalid(N_("answer %(id)s was sent again by someone else meanwhile"), id=row.id)
    audit.record(session, actor=actor.name, action="inbox answer retry", target=f"outbound reply {row.id}",
                 workspace_id=workspace_id, after={"edited": changed}, address=actor.address)  # fmt: skip
    session.refresh(row)
    return row


def get(session: Session, workspace_id: int, reply_id: int) -> OutboundReply:
    """An answer of this workspace, or NotFound."""
    row = session.get(OutboundReply, reply_id)
    if row is None or row.workspace_id != workspace_id:
        raise NotFound(N_("no answer %(id)s in this workspace"), id=reply_id)
    return row


def of_item(session: Session, item_id: int) -> list[OutboundReply]:
    """The answers given to an item from Pilote, oldest first."""
    query = select(OutboundReply).where(OutboundReply.item_id == item_id).order_by(OutboundReply.id)
    return list(session.scalars(query))


def failed(session: Session, workspace_id: int) -> list[OutboundReply]:
    """The workspace's answers that could not be posted, newest first (the team must see them)."""
    query = select(OutboundReply).where(OutboundReply.workspace_id == workspace_id, OutboundReply.status == "failed")
    return list(session.scalars(query.order_by(OutboundReply.id.desc()).limit(100)))


# Delivery.


def _claim(engine: Engine, reply_id: int, now: datetime) -> OutboundReply | None:
    """Take the send for this process, or None when it is not due or another process has it."""
    with Session(engine, expire_on_commit=False) as session, session.begin():
        taken = session.execute(
            update(OutboundReply)
            .where(OutboundReply.id == reply_id, OutboundReply.mode == "platform", _due(now))
            .values(status="sending", attempts=OutboundReply.attempts + 1, next_attempt_at=now + LEASE)
            .execution_options(synchronize_session=False)
        )
        if taken.rowcount != 1:  # type: ignore[attr-defined]
            return None
        return session.get_one(OutboundReply, reply_id)


def _due(now: datetime) -> ColumnElement[bool]:
    """Queued and its time has come, or being sent by a process whose lease has run out."""
    return OutboundReply.status.in_(("queued", "sending")) & (OutboundReply.next_attempt_at <= now)


def deliver(engine: Engine, settings: Settings, reply_id: int, actor: Actor | None = None, *,
            client: HttpClient | None = None, now: datetime | None = None) -> OutboundReply:  # fmt: skip
    """One attempt at posting a queued answer (nothing when another process has it or it is not due)."""
    now = now or utcnow()
    row = _claim(engine, reply_id, now)
    if row is None:
        with Session(engine, expire_on_commit=False) as session:
            return session.get_one(OutboundReply, reply_id)
    try:
        done = platforms.act(engine, settings, row.message_id, "reply", text=row.text, client=client)
    except Exception as error:  # recorded whatever it is: an answer is never lost in a traceback
        return _failed(engine, row, error, now)
    return _sent(engine, row, done.item.external_id if done.item else None, actor)


def _sent(engine: Engine, row: OutboundReply, external_id: str | None, actor: Actor | None) -> OutboundReply:
    with Session(engine, expire_on_commit=False) as session, session.begin():
        found = session.get_one(OutboundReply, row.id)
        found.status, found.sent_at, found.error, found.next_attempt_at = "sent", utcnow(), None, None
        found.external_id = external_id
        item = session.get(InboxItem, found.item_id) if found.item_id else None
        if item is not None:
            items.touch_answered(session, item, actor or Actor("pilote", user_id=found.user_id))
        return found


def _failed(engine: Engine, row: OutboundReply, error: Exception, now: datetime) -> OutboundReply:
    if _already_posted(error):
        return _sent(engine, row, None, None)
    words = str(error) if isinstance(error, PiloteError) else f"unexpected error in Pilote ({error!r})"
    again = _passing(error) and row.attempts < MAX_ATTEMPTS
    with Session(engine, expire_on_commit=False) as session, session.begin():
        found = session.get_one(OutboundReply, row.id)
        if again:
            wait = FIRST_WAIT * 2 ** (row.attempts - 1)
            if isinstance(error, RateLimited):
                wait = max(wait, timedelta(seconds=error.retry_after))
            found.status, found.next_attempt_at = "queued", now + wait
            found.error = f"{words} (attempt {row.attempts} of {MAX_ATTEMPTS}; Pilote tries again)"
        else:
            tried = f" (after {row.attempts} attempts)" if row.attempts > 1 else ""
            found.status, found.next_attempt_at, found.error = "failed", None, words + tried
        return found


def _passing(error: Exception) -> bool:
    """Whether trying again later may work: a dropped connection, a timeout, a rate limit, the platform's 5xx."""
    if isinstance(error, AuthFailed | Invalid):
        return False
    if isinstance(error, HttpStatus):
        return error.status is None or error.status >= 500 or error.status == 429
    return isinstance(error, FetchFailed) or not isinstance(error, PiloteError)


def _already_posted(error: Exception) -> bool:
    """A platform that refuses a duplicate says the earlier attempt went through (WordPress: comment_duplicate)."""
    return isinstance(error, HttpStatus) and error.status == 409 and "comment_duplicate" in str(error)


def deliver_due(engine: Engine, settings: Settings, *, client: HttpClient | None = None,
                now: datetime | None = None) -> int:  # fmt: skip
    """The clock's turn: one attempt at each answer that is due (oldest first, `BATCH` at most); how many."""
    now = now or utcnow()
    with Session(engine) as session:
        query = select(OutboundReply.id).where(OutboundReply.mode == "platform", _due(now))
        due = list(session.scalars(query.order_by(OutboundReply.next_attempt_at, OutboundReply.id).limit(BATCH)))
    for reply_id in due:
        deliver(engine, settings, reply_id, client=client, now=now)
    return len(due)
