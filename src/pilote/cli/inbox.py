"""`pilote inbox`: the team inbox from the command line — the queue, one item, what people do to items, the team's
figures. Thin: parse, call `inbox.items` / `inbox.queue` / `inbox.figures`, render.

`app` is the sub-app registered as `pilote inbox` in cli/__init__.py; other modules add their commands to it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.orm import Session

from pilote import metrics, workspaces
from pilote.accounts import users
from pilote.cli.common import parse_when, print_json, store
from pilote.errors import Invalid
from pilote.inbox import PRIORITIES, STATUSES, figures, items, queue
from pilote.models import InboxNote, Message
from pilote.terminal import out, safe

app = typer.Typer(no_args_is_help=True, help="The team inbox: the queue, items, and the team's figures.")
WorkspaceOpt = Annotated[str | None, typer.Option("--workspace", "-w", help="Workspace (default: the only one).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
Targets = Annotated[list[str], typer.Argument(help="Item numbers, then what to do (see the command's help).")]
ACTOR = items.COMMAND_LINE  # what the command line does is recorded as the command line's, in events and the audit


@contextmanager
def workspace_session(workspace: str | None, *, write: bool = False) -> Iterator[tuple[Session, int]]:
    """A session on the store and the workspace's id (in one transaction when it writes)."""
    with store() as engine, Session(engine) as session:
        if write:
            with session.begin():
                yield session, workspaces.resolve(session, slug=workspace).id
        else:
            yield session, workspaces.resolve(session, slug=workspace).id


def item_ids(values: Sequence[str]) -> list[int]:
    """Item numbers from the command line, or an Invalid naming the first that is not one."""
    if not values:
        raise Invalid("give at least one item number (`pilote inbox list` shows them)")
    for value in values:
        if not value.isdigit():
            raise Invalid(f"item {value!r}: give an item number (`pilote inbox list` shows them)")
    return [int(value) for value in values]


def split(targets: Sequence[str], what: str) -> tuple[list[int], str]:
    """ITEM... VALUE: the items and the value after them."""
    if len(targets) < 2:
        raise Invalid(f"give one or more item numbers, then {what}")
    return item_ids(targets[:-1]), targets[-1]


def changed(ids: list[int], as_json: bool, what: str) -> None:
    if as_json:
        print_json({"changed": ids})
        return
    out.print(f"{len(ids)} item{'s' if len(ids) != 1 else ''} {what}" + (f": {', '.join(map(str, ids))}" if ids else
                                                                         " (they already were)"))  # fmt: skip


# --- the queue and one item -----------------------------------------------------------------------------------


@app.command("list")
def list_command(
    workspace: WorkspaceOpt = None,
    status: Annotated[str | None, typer.Option(help=f"Statuses, comma-separated ({', '.join(STATUSES)}).")] = None,
    assignee: Annotated[str | None, typer.Option(help="none, an account's e-mail or number.")] = None,
    channel: Annotated[str | None, typer.Option(help="Only this channel (e.g. blog:example.org).")] = None,
    source: Annotated[int | None, typer.Option(help="Only this source's number.")] = None,
    language: Annotated[str | None, typer.Option()] = None,
    sentiment: Annotated[str | None, typer.Option()] = None,
    intent: Annotated[str | None, typer.Option()] = None,
    reason: Annotated[str | None, typer.Option(help="question, complaint, negative, spam, toxic, reply…")] = None,
    tag: Annotated[str | None, typer.Option()] = None,
    priority: Annotated[str | None, typer.Option(help="This priority or higher: low, normal, high, urgent.")] = None,
    overdue: Annotated[bool, typer.Option("--overdue", help="Only items whose first response is late.")] = False,
    hidden: Annotated[bool, typer.Option("--hidden", help="The items rules hid, instead of the others.")] = False,
    sort: Annotated[str, typer.Option(help="due, newest or oldest.")] = "due",
    after: Annotated[str | None, typer.Option(help="Start after this page cursor (printed under a page).")] = None,
    limit: Annotated[int, typer.Option(min=1, max=queue.MAX_PAGE)] = queue.PAGE,
    as_json: JsonOpt = False,
) -> None:
    """One page of the queue, in the order of the inbox (filters as on the page)."""
    with workspace_session(workspace) as (session, workspace_id):
        given = {"status": status, "channel": channel, "source_id": source, "language": language,
                 "sentiment": sentiment, "intent": intent, "reason": reason, "tag": tag, "priority": priority,
                 "overdue": overdue, "hidden": hidden, "sort": sort,
                 "assignee": _assignee(session, assignee)}  # fmt: skip
        found = queue.page(session, workspace_id, queue.parse(given), after=after, limit=limit, counts=False)
    if as_json:
        print_json({"items": [_row_json(row) for row in found.rows], "after": found.after})
        return
    if not found.rows:
        out.print("No item in this view.")
        return
    table = Table("item", "status", "priority", "channel", "author", "message", "assignee", "due")
    for row in found.rows:
        due = "" if row.due_at is None else f"{row.due_at:%Y-%m-%d %H:%M}" + (" late" if row.overdue else "")
        table.add_row(str(row.id), row.status, PRIORITIES[row.priority], safe(row.channel), safe(row.author or ""),
                      safe(_short(row.title or row.text)), safe(row.assignee or ""), due)  # fmt: skip
    out.print(table)
    if found.after:
        out.print(f"Next page: --after {found.after}")


def _assignee(session: Session, value: str | None) -> str:
    """none, an account number, or an e-mail turned into its account's number."""
    if value is None or value in ("", "none") or value.isdigit():
        return value or ""
    if value == "me":
        raise Invalid("assignee me: the command line is no one; give the account's e-mail")
    return str(users.get(session, email=value).id)


def _short(text: str, size: int = 80) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= size else flat[: size - 1] + "…"


def _row_json(row: queue.Row) -> dict[str, Any]:
    return {field: getattr(row, field) for field in row.__slots__}


@app.command("show")
def show_command(item: int, workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """One item: its state, its messages, its notes and its history."""
    with workspace_session(workspace) as (session, workspace_id):
        found = items.get(session, workspace_id, item)
        state = {column.name: getattr(found, column.name) for column in found.__table__.columns}
        state["tags"] = items.tags_of(session, [found.id]).get(found.id, [])
        chosen = items.messages_of(session, found)
        texts = [{"id": m.id, "created_at": m.created_at, "text": m.text, "url": m.url}
                 for m in (session.get_one(Message, i) for i in chosen)]  # fmt: skip
        notes = [{"user_id": n.user_id, "text": n.text, "created_at": n.created_at} for n in _notes(session, found.id)]
        history = [{"kind": e.kind, "user_id": e.user_id, "before": e.before, "after": e.after, "at": e.at}
                   for e in items.history(session, found.id)]  # fmt: skip
    if as_json:
        print_json({"item": state, "messages": texts, "notes": notes, "history": history})
        return
    tags = ", ".join(state["tags"]) or "—"
    out.print(safe(f"Item {found.id} · {found.status} · {PRIORITIES[found.priority]} · {found.channel} · "
                   f"reasons {found.reasons or '—'} · tags {tags}"))  # fmt: skip
    for message in texts:
        out.print(safe(f"  [{message['created_at']:%Y-%m-%d %H:%M}] {_short(str(message['text'] or ''), 200)}"))
    for note in notes:
        out.print(safe(f"  note: {note['text']}"))
    for event in history:
        out.print(safe(f"  {event['at']:%Y-%m-%d %H:%M} {event['kind']} {event['after'] or ''}"))


def _notes(session: Session, item_id: int) -> list[InboxNote]:
    return list(session.scalars(select(InboxNote).where(InboxNote.item_id == item_id).order_by(InboxNote.id)))


# --- what people do to items ----------------------------------------------------------------------------------


@app.command("status")
def status_command(
    targets: Targets,
    until: Annotated[str | None, typer.Option(help="Snoozed until this time (a date or ISO 8601 time).")] = None,
    until_reply: Annotated[bool, typer.Option("--until-reply", help="Snoozed until the author writes.")] = False,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """ITEM... STATUS: move items to a status (new, open, pending, snoozed, done, spam, ignored)."""
    ids, status = split(targets, f"a status ({', '.join(STATUSES)})")
    moment = parse_when(until, "--until")
    with workspace_session(workspace, write=True) as (session, workspace_id):
        done = items.set_status(session, workspace_id, ids, status, ACTOR, until=moment, until_reply=until_reply)
    changed(done, as_json, f"now {status}")


@app.command("assign")
def assign_command(targets: Targets, workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """ITEM... EMAIL|none: give items to a person of the workspace, or to nobody."""
    ids, who = split(targets, "an account's e-mail, or none")
    with workspace_session(workspace, write=True) as (session, workspace_id):
        account = None if who == "none" else users.get(session, email=who).id
        done = items.assign(session, workspace_id, ids, account, ACTOR)
    changed(done, as_json, "assigned to nobody" if account is None else f"assigned to {who}")


@app.command("tag")
def tag_command(
    targets: Targets,
    remove: Annotated[bool, typer.Option("--remove", help="Take the tag off instead.")] = False,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """ITEM... TAG: tag items (or take the tag off with --remove)."""
    ids, tag = split(targets, "a tag")
    with workspace_session(workspace, write=True) as (session, workspace_id):
        done = items.tag(session, workspace_id, ids, [tag], ACTOR, remove=remove)
    changed(done, as_json, "untagged" if remove else "tagged")


@app.command("note")
def note_command(item: int, text: str, workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """An internal note on an item (never sent)."""
    with workspace_session(workspace, write=True) as (session, workspace_id):
        items.note(session, workspace_id, item, text, ACTOR)
    changed([item], as_json, "noted")


@app.command("spam")
def spam_command(
    targets: Annotated[list[str], typer.Argument(help="Item numbers.")],
    not_spam: Annotated[bool, typer.Option("--not", help="Not spam: back to open.")] = False,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Spam (or not, with --not): a label on the items' messages, which trains the models, and the status."""
    ids = item_ids(targets)
    with workspace_session(workspace, write=True) as (session, workspace_id):
        done = items.judge_spam(session, workspace_id, ids, not not_spam, ACTOR)
    changed(done, as_json, "back to open" if not_spam else "marked spam")


# --- the team's figures ---------------------------------------------------------------------------------------


@app.command("figures")
def figures_command(
    workspace: WorkspaceOpt = None,
    period: Annotated[str | None, typer.Option(help="7d, 30d (default), 90d or all, up to now.")] = None,
    since: Annotated[str | None, typer.Option(help="Start (a date or an ISO 8601 time).")] = None,
    until: Annotated[str | None, typer.Option(help="End, excluded (default: now).")] = None,
    channel: Annotated[str | None, typer.Option(help="Only this channel.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """The team's figures for a period (docs/inbox.md, Team figures): per person and channel, and the backlog."""
    with workspace_session(workspace) as (session, workspace_id):
        start, end = metrics.span(session, workspace_id, period=period, since=parse_when(since, "--since"),
                                  until=parse_when(until, "--until"))  # fmt: skip
        found = figures.team(session.connection(), workspace_id, start, end, channel=channel,
                             now=datetime.now(UTC))  # fmt: skip
    if as_json:
        print_json(found.as_json())
        return
    title = f"{start:%Y-%m-%d %H:%M} → {end:%Y-%m-%d %H:%M} UTC"
    out.print(_table(f"Per person, {title}", found.people, person=True))
    out.print(_table(f"Per channel, {title}", [*found.channels, found.total], person=False))
    out.print("Backlog now (items owed an answer, by the age of the author's latest message): "
              + ", ".join(f"{key} {count:,}" for key, count in found.backlog.items()))  # fmt: skip


def _table(title: str, rows: list[figures.Row], *, person: bool) -> Table:
    columns = ["person" if person else "channel", "handled", "first responses", "median h", "p90 h",
               "resolution median h", "p90 h", "SLA met", "missed"]  # fmt: skip
    if not person:
        columns[2:2] = ["asked", "answered %"]
    table = Table(*columns, title=title)
    for row in rows:
        cells: list[Any] = [safe(row.key), f"{row.handled:,}", f"{row.first_response.count:,}",
                 _hours(row.first_response.median_hours), _hours(row.first_response.p90_hours),
                 _hours(row.resolution.median_hours), _hours(row.resolution.p90_hours),
                 "—" if row.sla_share is None else f"{row.sla_share:.1f} %", f"{row.sla_missed:,}"]  # fmt: skip
        if not person:
            cells[2:2] = [f"{row.asked:,}", "—" if row.response_rate is None else f"{row.response_rate:.1f} %"]
        table.add_row(*cells)
    return table


def _hours(value: float | None) -> str:
    return "—" if value is None else f"{value:,.1f}"
