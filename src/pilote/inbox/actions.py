"""One action asked for by a page, a bulk form or the API, applied to one or several items by `items`' functions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from pilote.accounts.audit import Actor
from pilote.errors import Invalid
from pilote.inbox import items
from pilote.texts import N_

KINDS = ("status", "assign", "priority", "tag", "untag", "spam", "not-spam")


@dataclass(frozen=True, slots=True)
class Action:
    """What to do: a status (snoozes until a time or the author's next message), an assignee (an account id, `me`
    or `none`), a priority, tags to add or take off, spam or not. `version`: the one the page showed (one item)."""

    kind: str
    value: str = ""
    until: datetime | None = None
    until_reply: bool = False
    version: int | None = None


def apply(session: Session, workspace_id: int, ids: Sequence[int], action: Action, actor: Actor) -> list[int]:
    """Apply the action; returns the items that changed (Conflict on a stale version, Invalid on a bad value)."""
    kind, value, version = action.kind, action.value.strip(), action.version
    if kind == "status":
        return items.set_status(session, workspace_id, ids, value, actor, until=action.until,
                                until_reply=action.until_reply, version=version)  # fmt: skip
    if kind == "assign":
        return items.assign(session, workspace_id, ids, assignee(value, actor), actor, version=version)
    if kind == "priority":
        return items.set_priority(session, workspace_id, ids, int(value) if value.isdigit() else value, actor,
                                  version=version)  # fmt: skip
    if kind in ("tag", "untag"):
        tags = [t for t in value.replace(",", " ").split() if t]
        return items.tag(session, workspace_id, ids, tags, actor, remove=kind == "untag", version=version)
    if kind in ("spam", "not-spam"):
        return items.judge_spam(session, workspace_id, ids, kind == "spam", actor, version=version)
    raise Invalid(N_("action %(kind)r: use one of %(known)s"), kind=kind, known=", ".join(KINDS))


def assignee(value: str, actor: Actor) -> int | None:
    """An assignee as given: `me`, `none` (or nothing), or an account id."""
    if value in ("", "none"):
        return None
    if value == "me":
        if actor.user_id is None:
            raise Invalid(N_("assign to me: only a person's account has items of its own"))
        return actor.user_id
    if not value.isdigit():
        raise Invalid(N_("assignee %(value)r: give me, none or an account number"), value=value[:40])
    return int(value)
