"""What a rule would have done to the last days' new messages, before it is saved.

The cheap conditions of the rule's top level (channel, source, language, sentiment, intent, kind, probabilities)
and the period go to SQL, over the index on (workspace, created_at, id); the rest (keywords, the author's level,
the reasons, and which messages the inbox takes at all) is decided in Python on what is left, read in chunks. Each
matching message is counted as if it opened its own item: the preview says how many messages match, what each
action would change, and shows the 20 latest.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session, aliased

from pilote import community
from pilote.inbox import conditions, effects, intake, sla
from pilote.inbox.conditions import Condition, Spec
from pilote.inbox.effects import Effects, Takers
from pilote.models import Author, Message, Source

CHUNK = 5000
SAMPLE = 20
MAX_DAYS = 90


@dataclass(slots=True)
class Preview:
    """How many messages of the period were read after the conditions SQL decides (`read`), how many the rule
    matches among those the inbox would take, per action how many items it would change (assign: per account),
    and the latest matches."""

    since: datetime
    until: datetime
    read: int = 0
    matched: int = 0
    changes: list[dict[str, Any]] = field(default_factory=list)
    sample: list[dict[str, Any]] = field(default_factory=list)


def run(session: Session, workspace_id: int, spec: Spec, *, days: int, now: datetime) -> Preview:
    """Evaluate a checked rule on the period's messages, streaming."""
    if not 1 <= days <= MAX_DAYS:
        raise conditions.RuleError("days", "preview 1 to %(most)s days", most=MAX_DAYS)
    test = conditions.compile_rule(spec)
    result = Preview(now - timedelta(days=days), now)
    conn = session.connection()
    team = community.team_ids(conn, workspace_id)
    takers = Takers.read(conn, workspace_id, {u for a in spec.actions for u in a.users})
    policy = sla.get(conn, workspace_id)
    counts = [0] * len(spec.actions)
    assigned: dict[int, int] = {}
    latest: deque[dict[str, Any]] = deque(maxlen=SAMPLE)
    keywords, levels = conditions.wants([spec], "keywords"), conditions.wants([spec], "author")
    early = not conditions.wants([spec], "reason")  # the rule can be tried before the inbox's own choice
    stream = conn.execution_options(yield_per=CHUNK).execute(_query(workspace_id, spec, result.since, now))
    for chunk in stream.partitions():
        result.read += len(chunk)
        known = effects.levels(conn, chunk, top=conditions.asks_top([spec])) if levels else {}
        tried = []
        for row in chunk:
            facts = _facts(row, keywords, known)
            if not early or test(facts):
                tried.append((row, facts))
        labels = community.labels_of(conn, [row.id for row, _ in tried], community.DECIDED)
        for row, facts in tried:
            mine = labels.get(row.id, {})
            if not community.is_counted(mine) or row.author_id in team or community.spam(mine, None) is True:
                continue
            reasons = intake.reasons_for(row, mine, team, row.parent_author)
            if not reasons:
                continue  # the inbox would not take it
            facts.reasons = frozenset(reasons)
            if not early and not test(facts):
                continue
            result.matched += 1
            _simulate(spec, row, reasons, policy, takers, counts, assigned, now)
            latest.append(_card(row))
    result.changes = _changes(spec, counts, assigned)
    result.sample = list(reversed(latest))
    return result


def _facts(row: Any, keywords: bool, known: dict[int, effects.Seen]) -> conditions.Facts:
    text = conditions.fold(f"{row.title or ''} {row.text or ''}") if keywords else ""
    return effects.facts_of(row, frozenset(), text, effects.level_of(row, known) if known else frozenset())


def _query(workspace_id: int, spec: Spec, since: datetime, until: datetime) -> Any:
    parent = aliased(Message)
    channel = func.coalesce(Author.channel, Source.channel)
    query = (
        select(
            Message.id, Message.source_id, Message.author_id, Message.thread_id, Message.parent_id, Message.kind,
            Message.created_at, Message.language, Message.sentiment, Message.intent, Message.spam_probability,
            Message.toxicity_probability, Message.title, Message.text, Message.url, channel.label("channel"),
            func.coalesce(Author.display_name, Author.handle).label("author"),
            parent.author_id.label("parent_author"),
        )
        .join(Source, Source.id == Message.source_id)
        .outerjoin(Author, Author.id == Message.author_id)
        .outerjoin(parent, parent.id == Message.parent_id)
        .where(Message.workspace_id == workspace_id, Message.created_at >= since, Message.created_at <= until)
        .order_by(Message.created_at, Message.id)
    )  # fmt: skip
    for part in spec.conditions:
        if isinstance(part, Condition):
            pushed = _sql(part, channel)
            if pushed is not None:
                query = query.where(pushed)
    return query


def _sql(c: Condition, channel: Any) -> ColumnElement[bool] | None:
    """The condition in SQL, when it can be (the same answer as its Python test, NULLs included)."""
    columns = {"channel": channel, "source": Message.source_id, "language": Message.language,
               "sentiment": Message.sentiment, "intent": Message.intent, "kind": Message.kind}  # fmt: skip
    if c.key in columns:
        column = columns[c.key]
        return or_(column.is_(None), column.not_in(c.values)) if c.negate else column.in_(c.values)
    if c.key in conditions.PROBABILITIES:
        column = Message.spam_probability if c.key == "spam" else Message.toxicity_probability
        bounds: list[ColumnElement[bool]] = [column.is_not(None)]
        bounds += [column >= c.low] if c.low is not None else []
        bounds += [column <= c.high] if c.high is not None else []
        return and_(*bounds)
    return None


def _simulate(spec: Spec, row: Any, reasons: list[str], policy: sla.Policy, takers: Takers, counts: list[int],
              assigned: dict[int, int], now: datetime) -> None:  # fmt: skip
    """The item this message would open, the rule's actions done to it; counts what each changed."""
    item = intake._opened(0, "", row, reasons, policy)
    result = Effects(item, row.id)
    for index, action in enumerate(spec.actions):
        before = len(result.changes), len(result.tags)
        if action.type == "notify":
            counts[index] += 1
            continue
        effects.act(action, result, 0, takers=takers, policy=policy, now=now)
        if (len(result.changes), len(result.tags)) != before:
            counts[index] += 1
            if action.type == "assign":
                assigned[item["assignee_id"]] = assigned.get(item["assignee_id"], 0) + 1


def _changes(spec: Spec, counts: list[int], assigned: dict[int, int]) -> list[dict[str, Any]]:
    found = []
    for action, count, shown in zip(spec.actions, counts, conditions.as_json(spec)["actions"], strict=True):
        entry = {"action": shown, "items": count}
        if action.type == "assign":
            entry["to"] = {str(user): n for user, n in sorted(assigned.items())}
        found.append(entry)
    return found


def _card(row: Any) -> dict[str, Any]:
    return {"id": row.id, "created_at": row.created_at, "channel": row.channel, "author": row.author,
            "kind": row.kind, "url": row.url,
            "text": " ".join(f"{row.title or ''} {row.text or ''}".split())[:300]}  # fmt: skip
