"""Inbox rules: conditions on a new message and its item → actions on the item, in `position` order.

A rule whose conditions hold does its actions; a rule with `stop` ends the evaluation for that message (so "only
the first matching rule" is a choice each rule makes). `apply` is the intake's default hook (inbox/intake.py): it
reads the workspace's enabled rules once per batch, compiles each into one predicate (inbox/conditions.py), and
evaluates them on every arrival without a query per message. A rule's spam marking is only the item's status:
labels, which train the models, are people's decisions alone. `preview` says what a rule would have done.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import Connection, func, select
from sqlalchemy.orm import Session

from pilote.accounts import audit
from pilote.accounts.audit import Actor
from pilote.errors import Invalid, NotFound
from pilote.inbox import conditions, effects, sla
from pilote.inbox.conditions import Action, Predicate, RuleError, Spec
from pilote.inbox.effects import Effects, Takers
from pilote.models import AlertRecipient, InboxEvent, InboxRule, Membership, Source, utcnow
from pilote.texts import N_

if TYPE_CHECKING:
    from pilote.inbox.intake import Arrival
    from pilote.inbox.preview import Preview

MAX_RULES = 200
log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Compiled:
    """A rule ready to run: its predicate and actions."""

    id: int
    name: str
    test: Predicate
    actions: tuple[Action, ...]
    stop: bool


def get_all(session: Session, workspace_id: int) -> list[InboxRule]:
    """The workspace's rules in the order they run."""
    query = select(InboxRule).where(InboxRule.workspace_id == workspace_id)
    return list(session.scalars(query.order_by(InboxRule.position, InboxRule.id)))


def get(session: Session, workspace_id: int, rule_id: int) -> InboxRule:
    """A rule of this workspace, or NotFound."""
    rule = session.get(InboxRule, rule_id)
    if rule is None or rule.workspace_id != workspace_id:
        raise NotFound(N_("no inbox rule %(id)s in this workspace"), id=rule_id)
    return rule


def as_json(rule: InboxRule) -> dict[str, Any]:
    """A stored rule as JSON: what `create` takes, with its id and position."""
    return {"id": rule.id, "position": rule.position, "name": rule.name, "enabled": rule.enabled, "stop": rule.stop,
            "conditions": orjson.loads(rule.conditions), "actions": orjson.loads(rule.actions)}  # fmt: skip


def check(session: Session, workspace_id: int, data: Any) -> Spec:
    """A rule's JSON checked, the things it names included (sources, accounts, alert recipients of the workspace)."""
    spec = conditions.parse(data)
    for index, part in enumerate(spec.conditions):
        for condition in part if isinstance(part, tuple) else (part,):
            if condition.key == "source":
                found = set(session.scalars(select(Source.id).where(Source.workspace_id == workspace_id,
                                                                    Source.id.in_(condition.values))))  # fmt: skip
                missing = [v for v in condition.values if v not in found]
                if missing:
                    raise RuleError(
                        f"conditions.{index} (source)", "no source %(number)s in this workspace", number=missing[0]
                    )
    for index, action in enumerate(spec.actions):
        _check_action(session, workspace_id, action, f"actions.{index} ({action.type})")
    return spec


def _check_action(session: Session, workspace_id: int, action: Action, where: str) -> None:
    people = list(action.users) + ([action.user] if action.user else [])
    if people:
        takers = Takers.read(session.connection(), workspace_id, set(people))
        members = set(session.scalars(select(Membership.user_id).where(Membership.workspace_id == workspace_id,
                                                                       Membership.user_id.in_(people))))  # fmt: skip
        for person in people:
            if action.type == "assign" and person not in takers.allowed:
                raise RuleError(
                    where, "account %(number)s cannot take items here (a moderator or above can)", number=person
                )
            if action.type == "notify" and person not in members and person not in takers.allowed:
                raise RuleError(where, "account %(number)s is not a member of this workspace", number=person)
    if action.recipient is not None:
        query = select(AlertRecipient.id).where(AlertRecipient.id == action.recipient,
                                                AlertRecipient.workspace_id == workspace_id)  # fmt: skip
        found = session.scalar(query)
        if found is None:
            raise RuleError(where, "no alert recipient %(number)s in this workspace", number=action.recipient)


def create(session: Session, workspace_id: int, data: Any, actor: Actor) -> InboxRule:
    """Add a rule after the others."""
    spec = check(session, workspace_id, data)
    count = session.scalar(select(func.count()).select_from(InboxRule).where(InboxRule.workspace_id == workspace_id))
    if (count or 0) >= MAX_RULES:
        raise Invalid(N_("%(most)s rules at most in a workspace"), most=MAX_RULES)
    last = session.scalar(select(func.max(InboxRule.position)).where(InboxRule.workspace_id == workspace_id))
    rule = InboxRule(workspace_id=workspace_id, position=(last or 0) + 1, created_by=actor.user_id)
    _fill(rule, spec)
    session.add(rule)
    session.flush()
    _audit(session, actor, "inbox rule create", rule, None, as_json(rule))
    return rule


def update(session: Session, workspace_id: int, rule_id: int, data: Any, actor: Actor) -> InboxRule:
    """Replace a rule's name, conditions, actions and switches; it keeps its place."""
    rule = get(session, workspace_id, rule_id)
    spec = check(session, workspace_id, data)
    before = as_json(rule)
    _fill(rule, spec)
    rule.updated_at = utcnow()
    _audit(session, actor, "inbox rule edit", rule, before, as_json(rule))
    return rule


def set_enabled(session: Session, workspace_id: int, rule_id: int, enabled: bool, actor: Actor) -> InboxRule:
    """Switch a rule on or off."""
    rule = get(session, workspace_id, rule_id)
    if rule.enabled != enabled:
        rule.enabled, rule.updated_at = enabled, utcnow()
        _audit(session, actor, "inbox rule " + ("enable" if enabled else "disable"), rule, None, None)
    return rule


def delete(session: Session, workspace_id: int, rule_id: int, actor: Actor) -> None:
    """Remove a rule (the events it left keep its number); the others close up."""
    rule = get(session, workspace_id, rule_id)
    _audit(session, actor, "inbox rule delete", rule, as_json(rule), None)
    session.delete(rule)
    session.flush()
    for position, each in enumerate(get_all(session, workspace_id), start=1):
        each.position = position


def move(session: Session, workspace_id: int, rule_id: int, by: int, actor: Actor) -> list[InboxRule]:
    """Move a rule up (negative) or down (positive) in the order; positions are renumbered 1, 2, 3…"""
    ordered = get_all(session, workspace_id)
    rule = get(session, workspace_id, rule_id)
    index = ordered.index(rule)
    target = max(0, min(len(ordered) - 1, index + by))
    ordered.insert(target, ordered.pop(index))
    for position, each in enumerate(ordered, start=1):
        each.position = position
    if target != index:
        _audit(session, actor, "inbox rule move", rule, {"position": index + 1}, {"position": target + 1})
    return ordered


def _fill(rule: InboxRule, spec: Spec) -> None:
    stored = conditions.as_json(spec)
    rule.name, rule.enabled, rule.stop = spec.name, spec.enabled, spec.stop
    rule.conditions = orjson.dumps(stored["conditions"]).decode()
    rule.actions = orjson.dumps(stored["actions"]).decode()


def _audit(session: Session, actor: Actor, action: str, rule: InboxRule, before: Any, after: Any) -> None:
    audit.record(session, actor=actor.name, action=action, target=f"inbox rule {rule.id} ({rule.name})",
                 workspace_id=rule.workspace_id, before=before, after=after, address=actor.address)  # fmt: skip


def load(conn: Connection, workspace_id: int) -> tuple[list[Spec], list[Compiled]]:
    """The workspace's enabled rules, in order, each compiled once."""
    rows = conn.execute(select(InboxRule).where(InboxRule.workspace_id == workspace_id, InboxRule.enabled.is_(True))
                        .order_by(InboxRule.position, InboxRule.id)).all()  # fmt: skip
    specs, compiled = [], []
    for row in rows:
        try:
            spec = conditions.parse({"name": row.name, "conditions": orjson.loads(row.conditions),
                                     "actions": orjson.loads(row.actions)})  # fmt: skip
        except (RuleError, ValueError) as error:  # saved by an older version that took it: the others still run
            log.warning("inbox rule %s (%s) is left out: %s", row.id, row.name, error)
            continue
        specs.append(spec)
        compiled.append(Compiled(row.id, row.name, conditions.compile_rule(spec), spec.actions, row.stop))
    return specs, compiled


def apply(conn: Connection, workspace_id: int, arrivals: list[Arrival]) -> Callable[[], None] | None:
    """The intake's hook: run the workspace's rules on a batch's arrivals; returns what to write once the items
    have ids (tags, the rules' events, notifications)."""
    specs, compiled = load(conn, workspace_id)
    if not compiled:
        return None
    now = utcnow()
    rows = [a.message for a in arrivals]
    text = effects.texts(conn, [r.id for r in rows]) if conditions.wants(specs, "keywords") else {}
    known = effects.levels(conn, rows, top=conditions.asks_top(specs)) if conditions.wants(specs, "author") else {}
    takers = Takers.read(conn, workspace_id, {u for s in specs for a in s.actions for u in a.users})
    policy = sla.get(conn, workspace_id)
    done: list[Effects] = []
    for arrival in arrivals:
        row = arrival.message
        reasons = frozenset(r for r in arrival.item["reasons"].split(",") if r)
        facts = effects.facts_of(row, reasons, text.get(row.id, ""), effects.level_of(row, known))
        result = Effects(arrival.item, row.id)
        for rule in compiled:
            if not rule.test(facts):
                continue
            arrival.fired.append(rule.id)
            for action in rule.actions:
                if action.type == "notify":
                    result.notices.append((rule.id, rule.name, action))
                else:
                    effects.act(action, result, rule.id, takers=takers, policy=policy, now=now)
            if rule.stop:
                break
        if result.changes or result.tags or result.notices:
            done.append(result)
    return (lambda: effects.write(conn, workspace_id, done, now)) if done else None


def fired(session: Session, item_id: int) -> list[str]:
    """The names of the rules that acted on an item, in the order they first did (a deleted rule by its number)."""
    return [name or f"rule {number} (deleted)" for number, name in acted_on(session, item_id)]


def acted_on(session: Session, item_id: int) -> list[tuple[int, str | None]]:
    """The rules that acted on an item, in the order they first did: number and name (None once deleted)."""
    ids: list[int] = []
    for after in session.scalars(select(InboxEvent.after).where(InboxEvent.item_id == item_id,
                                                                InboxEvent.kind.in_(("opened", "message")))
                                 .order_by(InboxEvent.id)):  # fmt: skip
        ids.extend(orjson.loads(after or "{}").get("rules", []))
    ids = list(dict.fromkeys(ids))
    names = {a: b for a, b in session.execute(select(InboxRule.id, InboxRule.name).where(InboxRule.id.in_(ids)))}
    return [(i, names.get(i)) for i in ids]


def preview(
    session: Session, workspace_id: int, rule_json: Any, days: int = 30, now: datetime | None = None
) -> Preview:
    """What a rule would have done to the new messages of the last `days` days (inbox/preview.py)."""
    from pilote.inbox import preview as previewing

    spec = check(session, workspace_id, rule_json)
    return previewing.run(session, workspace_id, spec, days=days, now=now or utcnow())
