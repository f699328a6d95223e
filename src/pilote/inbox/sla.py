"""Service levels: when a first response is due, by channel and priority (a workspace's choice, else defaults)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from pilote.errors import Invalid
from pilote.inbox import PRIORITIES
from pilote.models import WorkspaceSetting, utcnow
from pilote.texts import N_

SETTING = "inbox.sla"
# Minutes to a first response per priority: urgent within the hour, high within four, normal within the day.
DEFAULT_MINUTES: Mapping[int, int] = {3: 60, 2: 4 * 60, 1: 24 * 60, 0: 72 * 60}


@dataclass(frozen=True, slots=True)
class Policy:
    """Minutes to a first response per priority, and per channel where the team set other ones."""

    minutes: Mapping[int, int] = field(default_factory=lambda: dict(DEFAULT_MINUTES))
    channels: Mapping[str, Mapping[int, int]] = field(default_factory=dict)

    def due(self, channel: str, priority: int, since: datetime) -> datetime:
        """When the first response to a message of `since` is due."""
        minutes = self.channels.get(channel, {}).get(priority, self.minutes.get(priority, DEFAULT_MINUTES[1]))
        return since + timedelta(minutes=minutes)

    def as_json(self) -> dict[str, Any]:
        return {
            "minutes": {PRIORITIES[p]: m for p, m in sorted(self.minutes.items())},
            "channels": {c: {PRIORITIES[p]: m for p, m in sorted(v.items())} for c, v in sorted(self.channels.items())},
        }


def _minutes(values: Any, where: str) -> dict[int, int]:
    if not isinstance(values, dict):
        raise Invalid(N_('%(where)s: give minutes per priority, e.g. {"urgent": 60, "high": 240}'), where=where)
    names = {name: number for number, name in PRIORITIES.items()}
    out: dict[int, int] = {}
    for name, minutes in values.items():
        if name not in names:
            raise Invalid(
                N_("%(where)s: unknown priority %(name)r (use %(known)s)"),
                where=where,
                name=name,
                known=", ".join(names),
            )
        if not isinstance(minutes, int) or isinstance(minutes, bool) or not 1 <= minutes <= 60 * 24 * 90:
            raise Invalid(
                N_("%(where)s: %(name)s must be a whole number of minutes between 1 and 129600"), where=where, name=name
            )
        out[names[name]] = minutes
    return out


def parse(value: Any) -> Policy:
    """A policy from its JSON form ({"minutes": {...}, "channels": {"x": {...}}}); Invalid says what is wrong."""
    if not isinstance(value, dict):
        raise Invalid(N_('service levels: give a JSON object with "minutes" and, optionally, "channels"'))
    minutes = {**DEFAULT_MINUTES, **_minutes(value.get("minutes", {}), "minutes")}
    channels = value.get("channels", {})
    if not isinstance(channels, dict):
        raise Invalid(N_("channels: give an object channel → minutes per priority"))
    return Policy(minutes, {str(c): _minutes(v, f"channel {c}") for c, v in channels.items()})


def get(session: Any, workspace_id: int) -> Policy:
    """The workspace's policy (`session` may be a Connection)."""
    value = session.scalar(
        select(WorkspaceSetting.value).where(WorkspaceSetting.workspace_id == workspace_id,
                                             WorkspaceSetting.name == SETTING)
    )  # fmt: skip
    return Policy() if value is None else parse(orjson.loads(value))


def put(session: Session, workspace_id: int, policy: Policy) -> None:
    """Keep the workspace's policy (items already open keep their due times; new ones follow it)."""
    row = session.get(WorkspaceSetting, (workspace_id, SETTING))
    if row is None:
        row = WorkspaceSetting(workspace_id=workspace_id, name=SETTING, value="{}")
        session.add(row)
    row.value = orjson.dumps(policy.as_json()).decode()
    row.updated_at = utcnow()
