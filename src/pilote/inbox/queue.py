"""Reading the queue: filters, sorts, keyset pages, counts per tab, saved views.

Each status is read on its own, in the order of an index that starts with (workspace, status, hidden), and the
pages of several statuses are merged here: the database never sorts the whole queue, so the first page costs the
same with a hundred open items or a hundred thousand.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import orjson
from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session

from pilote.errors import Invalid, NotFound
from pilote.inbox import PRIORITIES, STATUSES, TODO
from pilote.inbox.items import tags_of
from pilote.models import Author, InboxItem, InboxTag, InboxView, Message, Source, User, utcnow
from pilote.texts import N_

SORTS = ("due", "newest", "oldest")
PAGE = 50
MAX_PAGE = 200
OPEN_TABS = ("new", "open", "pending", "snoozed")  # the tabs counted on every page (closed ones are history)


@dataclass(frozen=True, slots=True)
class Query:
    """A view of the queue: which items, in which order. Empty fields do not filter."""

    status: tuple[str, ...] = TODO
    assignee: str = ""  # "me", "none", or an account id
    channel: str = ""
    source_id: int | None = None
    language: str = ""
    sentiment: str = ""
    intent: str = ""
    reason: str = ""
    tag: str = ""
    priority: int | None = None  # this priority or higher
    overdue: bool = False
    hidden: bool = False  # the items rules hid, instead of the others
    sort: str = "due"

    def as_json(self) -> dict[str, Any]:
        chosen = {k: v for k, v in asdict(self).items() if v not in ("", None, False)}
        return {k: list(v) if isinstance(v, tuple) else v for k, v in chosen.items()}

    def params(self) -> dict[str, str]:
        """The query as URL parameters (a saved view's link)."""
        values = self.as_json()
        return {k: ",".join(v) if isinstance(v, list) else str(v).lower() if isinstance(v, bool) else str(v)
                for k, v in values.items()}  # fmt: skip


def parse(values: Mapping[str, Any]) -> Query:
    """A query from URL parameters or a saved view's JSON; Invalid names the field that is wrong."""
    status_value = values.get("status") or ",".join(TODO)
    statuses = tuple(dict.fromkeys(status_value if isinstance(status_value, list) else str(status_value).split(",")))
    for status in statuses:
        if status not in STATUSES:
            raise Invalid(N_("status %(status)r: use one of %(known)s"), status=status, known=", ".join(STATUSES))
    sort = str(values.get("sort") or "due")
    if sort not in SORTS:
        raise Invalid(N_("sort %(sort)r: use one of %(known)s"), sort=sort, known=", ".join(SORTS))
    assignee = str(values.get("assignee") or "")
    if assignee not in ("", "me", "none") and not assignee.isdigit():
        raise Invalid(N_("assignee %(value)r: use me, none or an account number"), value=assignee)
    priority = values.get("priority")
    if priority in ("", None):
        level = None
    else:
        names = {name: number for number, name in PRIORITIES.items()}
        level = names.get(str(priority), int(priority) if str(priority).isdigit() else None)
        if level not in PRIORITIES:
            raise Invalid(N_("priority %(priority)r: use one of %(known)s"), priority=priority, known=", ".join(names))
    source = values.get("source_id")
    if source not in ("", None) and not str(source).isdigit():
        raise Invalid(N_("source %(source)r: give a source number"), source=source)
    return Query(
        status=statuses, assignee=assignee, channel=str(values.get("channel") or "")[:200],
        source_id=int(source) if source not in ("", None) else None, language=str(values.get("language") or "")[:16],
        sentiment=str(values.get("sentiment") or "")[:16], intent=str(values.get("intent") or "")[:16],
        reason=str(values.get("reason") or "")[:32], tag=str(values.get("tag") or "")[:64], priority=level,
        overdue=_flag(values.get("overdue")), hidden=_flag(values.get("hidden")), sort=sort,
    )  # fmt: skip


def _flag(value: Any) -> bool:
    return value is True or str(value).lower() in ("1", "true", "on", "yes")


@dataclass(frozen=True, slots=True)
class Row:
    """One item as the queue shows it."""

    id: int
    status: str
    priority: int
    reasons: tuple[str, ...]
    channel: str
    source: str
    author: str | None
    author_id: int | None
    handle: str | None
    title: str | None
    text: str
    url: str | None
    message_id: int | None
    message_count: int
    language: str | None
    sentiment: str | None
    intent: str | None
    spam_probability: float | None
    assignee_id: int | None
    assignee: str | None
    opened_at: datetime
    last_at: datetime
    due_at: datetime | None
    responded_at: datetime | None
    snoozed_until: datetime | None
    version: int
    tags: tuple[str, ...] = ()
    overdue: bool = False


@dataclass(frozen=True, slots=True)
class Page:
    """A page of the queue and where the next one starts (None: this was the last)."""

    rows: list[Row]
    after: str | None
    counts: dict[str, int] = field(default_factory=dict)


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICRO = timedelta(microseconds=1)


def _micro(moment: datetime) -> int:
    return (moment - EPOCH) // MICRO


def _moment(micro: int) -> datetime:
    return EPOCH + micro * MICRO


def _key(item: Any, sort: str) -> tuple[int, int]:
    """The order of a sort as two integers (exact: a page never skips or repeats an item at its edge)."""
    if sort == "due":
        return (_micro(item.due_at), item.id)
    stamp = _micro(item.last_at)
    return (-stamp, -item.id) if sort == "newest" else (stamp, item.id)


def _cursor(after: str | None) -> tuple[int, int] | None:
    if not after:
        return None
    try:
        stamp, _, ident = after.partition("_")
        return int(stamp), int(ident)
    except ValueError:
        raise Invalid(N_("page cursor %(cursor)r: start again from the first page"), cursor=after[:40]) from None


def _filtered(query: Query, workspace_id: int, user_id: int | None, now: datetime) -> Select[Any]:
    item = InboxItem
    where = [item.workspace_id == workspace_id, item.hidden.is_(query.hidden)]
    if query.assignee == "me":
        if user_id is None:
            raise Invalid(N_("assignee me: only a signed-in person has items of their own"))
        where.append(item.assignee_id == user_id)
    elif query.assignee == "none":
        where.append(item.assignee_id.is_(None))
    elif query.assignee:
        where.append(item.assignee_id == int(query.assignee))
    for column, value in ((item.channel, query.channel), (item.language, query.language),
                          (item.sentiment, query.sentiment), (item.intent, query.intent)):  # fmt: skip
        if value:
            where.append(column == value)
    if query.source_id is not None:
        where.append(item.source_id == query.source_id)
    if query.reason:
        where.append(or_(item.reasons == query.reason, item.reasons.like(f"{query.reason},%"),
                         item.reasons.like(f"%,{query.reason}"), item.reasons.like(f"%,{query.reason},%")))  # fmt: skip
    if query.priority is not None:
        where.append(item.priority >= query.priority)
    if query.overdue:
        where.append(and_(item.due_at.is_not(None), item.due_at < now))
    if query.tag:
        where.append(item.id.in_(select(InboxTag.item_id).where(InboxTag.tag == query.tag)))
    return cast(Select[Any], select(item.id, item.due_at, item.last_at).where(*where))


def _ordered(base: Select[Any], status: str, sort: str, after: tuple[int, int] | None, limit: int) -> Select[Any]:
    item = InboxItem
    query = base.where(item.status == status)
    if sort == "due":
        query = query.where(item.due_at.is_not(None))
        if after is not None:
            moment = _moment(after[0])
            query = query.where(or_(item.due_at > moment, and_(item.due_at == moment, item.id > after[1])))
        return query.order_by(item.due_at, item.id).limit(limit)
    if after is not None:
        moment = _moment(-after[0] if sort == "newest" else after[0])
        if sort == "newest":
            query = query.where(or_(item.last_at < moment, and_(item.last_at == moment, item.id < -after[1])))
        else:
            query = query.where(or_(item.last_at > moment, and_(item.last_at == moment, item.id > after[1])))
    order = (item.last_at.desc(), item.id.desc()) if sort == "newest" else (item.last_at, item.id)
    return query.order_by(*order).limit(limit)


def page(session: Session, workspace_id: int, query: Query, *, user_id: int | None = None, after: str | None = None,
         limit: int = PAGE, now: datetime | None = None, counts: bool = True) -> Page:  # fmt: skip
    """One page of the queue, in the query's order."""
    now = now or utcnow()
    limit = max(1, min(limit, MAX_PAGE))
    sort = query.sort if query.sort != "due" or set(query.status) <= set(TODO) else "newest"
    start = _cursor(after)
    base = _filtered(query, workspace_id, user_id, now)
    streams = [session.execute(_ordered(base, status, sort, start, limit + 1)).all() for status in query.status]
    merged = list(heapq.merge(*streams, key=lambda r: _key(r, sort)))[: limit + 1]
    more = len(merged) > limit
    chosen = [r.id for r in merged[:limit]]
    rows = _rows(session, chosen, now)
    last = merged[limit - 1] if more else None
    cursor = None if last is None else "_".join(str(v) for v in _key(last, sort))
    return Page(rows, cursor, tab_counts(session, workspace_id, user_id, now) if counts else {})


def rows(session: Session, ids: Sequence[int], now: datetime | None = None) -> list[Row]:
    """Items as the queue shows them, in the order of `ids` (one row after an action, the item panel)."""
    return _rows(session, ids, now or utcnow())


def _rows(session: Session, ids: Sequence[int], now: datetime) -> list[Row]:
    if not ids:
        return []
    item = InboxItem
    query = (
        select(item, Message.title, Message.text, Message.url, Author.display_name, Author.handle, Source.name,
               User.display_name.label("assignee"))
        .join(Source, Source.id == item.source_id)
        .outerjoin(Message, Message.id == item.last_message_id)
        .outerjoin(Author, Author.id == item.author_id)
        .outerjoin(User, User.id == item.assignee_id)
        .where(item.id.in_(ids))
    )  # fmt: skip
    found = {row[0].id: row for row in session.execute(query)}
    tags = tags_of(session, list(ids))
    rows: list[Row] = []
    for ident in ids:
        it, title, text, url, name, handle, source, assignee = found[ident]
        rows.append(Row(
            id=it.id, status=it.status, priority=it.priority, reasons=tuple(r for r in it.reasons.split(",") if r),
            channel=it.channel, source=source, author=name or handle, author_id=it.author_id, handle=handle,
            title=title, text=text or "", url=url, message_id=it.last_message_id, message_count=it.message_count,
            language=it.language, sentiment=it.sentiment, intent=it.intent, spam_probability=it.spam_probability,
            assignee_id=it.assignee_id, assignee=assignee, opened_at=it.opened_at, last_at=it.last_at,
            due_at=it.due_at, responded_at=it.responded_at, snoozed_until=it.snoozed_until, version=it.version,
            tags=tuple(tags.get(it.id, ())), overdue=it.status in TODO and it.due_at is not None and it.due_at < now,
        ))  # fmt: skip
    return rows


def tab_counts(session: Session, workspace_id: int, user_id: int | None, now: datetime | None = None,
               cap: int | None = None) -> dict[str, int]:  # fmt: skip
    """How many items each open tab holds, and the todo items that are mine, unassigned or overdue; with `cap`,
    each count stops there (a page shows "1,000+": each count then reads at most `cap` index entries)."""
    now = now or utcnow()
    item = InboxItem
    visible = (item.workspace_id == workspace_id, item.hidden.is_(False))
    todo = item.status.in_(TODO)
    wanted: dict[str, tuple[Any, ...]] = {status: (item.status == status,) for status in OPEN_TABS}
    wanted |= {"overdue": (todo, item.due_at < now), "unassigned": (todo, item.assignee_id.is_(None))}
    if user_id is not None:
        wanted["mine"] = (todo, item.assignee_id == user_id)
    if cap is None:
        counts = dict.fromkeys(OPEN_TABS, 0)
        query = select(item.status, func.count()).where(*visible, item.status.in_(OPEN_TABS)).group_by(item.status)
        counts.update({status: count for status, count in session.execute(query)})
        return counts | {key: _count(session, (*visible, *where), None) for key, where in wanted.items()
                         if key not in OPEN_TABS}  # fmt: skip
    return {key: _count(session, (*visible, *where), cap) for key, where in wanted.items()}


def _count(session: Session, where: tuple[Any, ...], cap: int | None) -> int:
    query = select(InboxItem.id).where(*where)
    return session.scalar(select(func.count()).select_from(query.limit(cap).subquery())) or 0


def iter_all(session: Session, workspace_id: int, query: Query, user_id: int | None = None) -> Iterator[Row]:
    """Every item of a query, page after page (exports, bulk actions on a whole view)."""
    after: str | None = None
    while True:
        found = page(session, workspace_id, query, user_id=user_id, after=after, limit=MAX_PAGE, counts=False)
        yield from found.rows
        if found.after is None:
            return
        after = found.after


# --- saved views ----------------------------------------------------------------------------------------------


def views(session: Session, workspace_id: int, user_id: int | None) -> list[InboxView]:
    """The team's views and the person's own, by name."""
    mine = InboxView.user_id.is_(None) if user_id is None else or_(InboxView.user_id.is_(None),
                                                                   InboxView.user_id == user_id)  # fmt: skip
    return list(session.scalars(select(InboxView).where(InboxView.workspace_id == workspace_id, mine)
                                .order_by(InboxView.name)))  # fmt: skip


def save_view(session: Session, workspace_id: int, name: str, query: Query, user_id: int | None,
              shared: bool = False) -> InboxView:  # fmt: skip
    """Keep a query under a name (the person's own, or the team's)."""
    label = " ".join(name.split())[:200]
    if not label:
        raise Invalid(N_("give the view a name"))
    owner = None if shared else user_id
    found = session.scalar(select(InboxView).where(
        InboxView.workspace_id == workspace_id, InboxView.name == label,
        InboxView.user_id.is_(None) if owner is None else InboxView.user_id == owner))  # fmt: skip
    if found is None:
        found = InboxView(workspace_id=workspace_id, user_id=owner, name=label, query="{}")
        session.add(found)
    found.query = orjson.dumps(query.as_json()).decode()
    session.flush()
    return found


def view_query(row: InboxView) -> Query:
    return parse(orjson.loads(row.query))


def delete_view(session: Session, workspace_id: int, view_id: int, user_id: int | None) -> None:
    """Forget a view: one's own, or a team view."""
    row = session.get(InboxView, view_id)
    if row is None or row.workspace_id != workspace_id or (row.user_id is not None and row.user_id != user_id):
        raise NotFound(N_("no saved view %(id)s"), id=view_id)
    session.delete(row)
