"""Conversations: how deep threads go, how much people answer each other, in what mood, and how much of
the talk is about the organisation rather than its competitors."""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
from sqlalchemy import Connection, func, or_, select
from sqlalchemy.orm import Session

from pilote import community
from pilote.accounts import audit
from pilote.errors import Invalid, fill
from pilote.metrics.catalogue import NO_SETS, VOICES, Noted, Scope, metric
from pilote.metrics.facts import DEPTHS, NO_PARENT, SENTIMENTS, Facts, ancestors, distinct_values, find, judged, runs
from pilote.models import Message, WorkspaceSetting, utcnow
from pilote.texts import N_

COMPETITORS = "competitors"
OURS = "us"  # the key of the organisation's own keyword set


@dataclass(frozen=True, slots=True)
class Depths:
    """The depth of every message of a reply tree (0 for a top-level one), by id."""

    ids: np.ndarray  # int64, sorted
    depth: np.ndarray  # int64

    @classmethod
    def of(cls, parents: dict[int, int | None]) -> Depths:
        """All depths at once, by pointer doubling (each pass doubles how far every message has climbed); a
        chain the doubling cannot close (a cycle in damaged data, which the intake refuses) is walked by `_depth`,
        one message at a time."""
        ids = np.fromiter(parents, dtype=np.int64, count=len(parents))
        up = np.fromiter((-1 if p is None else p for p in parents.values()), dtype=np.int64, count=len(parents))
        order = np.argsort(ids)
        ids, up = ids[order], up[order]
        where, stored = find(ids, up)
        depth = (up != -1).astype(np.int64)  # a parent not in the tree is a top-level message: one level up
        jump = np.where((up != -1) & stored, where, -1)
        for _ in range(len(ids).bit_length() + 1):
            climbing = np.flatnonzero(jump >= 0)
            if not len(climbing):
                break
            to = jump[climbing]
            depth[climbing] += depth[to]
            jump[climbing] = jump[to]
        for position in np.flatnonzero(jump >= 0).tolist():  # in or under a cycle: the walk's answer for it alone
            depth[position] = _depth(parents, int(ids[position]), {})
        return cls(ids, depth)

    def at(self, ids: np.ndarray) -> np.ndarray:
        """The depths of these messages (all in the tree)."""
        return self.depth[np.searchsorted(self.ids, ids)]


def tree(conn: Connection, facts: Facts) -> Depths:
    """The depths of the facts' messages, their chains read up to a top-level message (`ancestors`); kept with
    the facts (and with the narrower facts made of them)."""

    def build() -> Depths:
        columns = facts.columns
        ancestors(conn, facts, distinct_values(columns.parent[columns.parent != NO_PARENT]).tolist())
        return Depths.of(facts.parents)

    found: Depths = facts.shared(DEPTHS, build)
    return found


def depths(scope: Scope) -> tuple[np.ndarray, np.ndarray]:
    """The period's comments (their ids, in time order) and their depths: 1 under a top-level message, 2 under
    a comment, and so on (withdrawn comments still hold their replies up)."""

    def build() -> tuple[np.ndarray, np.ndarray]:
        columns = scope.facts.columns
        part = columns.span(scope.since, scope.until)
        comments = columns.parent[part] != NO_PARENT
        return np.flatnonzero(comments) + part.start, tree(scope.conn, scope.facts).at(columns.id[part][comments])

    found: tuple[np.ndarray, np.ndarray] = scope.remember("depths", build)
    return found


CLIMB = 10_000  # `_depth` stops climbing there (a cycle in damaged data)


def _depth(parents: dict[int, int | None], message_id: int, known: dict[int, int]) -> int:
    chain: list[int] = []
    current: int | None = message_id
    while current is not None and current not in known:
        chain.append(current)
        current = parents.get(current)
        if len(chain) > CLIMB:  # a cycle in damaged data: stop
            break
    depth = known.get(current, -1) if current is not None else -1
    for node in reversed(chain):
        depth += 1
        known[node] = depth
    return known[message_id]


def _thread_depths(scope: Scope) -> list[int]:
    """Per conversation (a thread with comments in the period), its deepest comment's depth."""
    positions, found = depths(scope)
    columns = scope.facts.columns
    threads = np.where(columns.thread[positions] != 0, columns.thread[positions], columns.id[positions])
    if not len(threads):
        return []
    order = np.argsort(threads, kind="stable")
    deepest: list[int] = np.maximum.reduceat(found[order], runs(threads[order])).tolist()
    return deepest


@metric(
    "thread_depth_median", unit=N_("levels"),
    formula=N_("median over the period's conversations (threads with comments "
    "in the period) of their deepest comment's depth (1: comments on the post only)"),
    purpose="whether people talk with each other or only answer the post", pitfalls="platforms that flatten "
    "threads (blog comments without nesting) stay at 1",
    title=N_("Conversation depth, median"),
)  # fmt: skip
def _depth_median(scope: Scope) -> float | None:
    found = _thread_depths(scope)
    return float(statistics.median(found)) if found else None


@metric(
    "thread_depth_max", unit=N_("levels"), formula=N_("depth of the deepest comment of the period"),
    purpose="the longest exchange", pitfalls="one quarrel makes it", better="neither",
    title=N_("Conversation depth, maximum"),
)  # fmt: skip
def _depth_max(scope: Scope) -> int | None:
    _, found = depths(scope)
    return int(found.max()) if len(found) else None


@metric(
    "reply_share", unit="%", formula=N_("comments of the period that answer a comment (depth 2 or more) / all the "
    "period's comments (messages with a parent), x100"), purpose="how much members answer each other",
    pitfalls="a comment whose parent was never imported counts as answering the post (depth 1), whatever it "
    "answered",
    title=N_("Replies to comments"),
)  # fmt: skip
def _reply_share(scope: Scope) -> float | None:
    _, found = depths(scope)
    return round(100.0 * int((found >= 2).sum()) / len(found), 4) if len(found) else None


@metric(
    "sentiment_balance", unit=N_("points (-100 to 100)"),
    formula=N_("(positive - negative) / messages with a sentiment, "
    "x100, over members' messages of the period (sentiment as decided: a label over the model)"),
    purpose="the mood of the community", pitfalls="needs the sentiment analysis to have run",
    title=N_("Sentiment balance"),
)  # fmt: skip
def _balance(scope: Scope) -> float | None:
    columns = scope.facts.columns
    part = columns.span(scope.since, scope.until)
    found = judged(scope.facts).sentiment[part][columns.community[part]]
    counts: list[int] = np.bincount(found, minlength=len(SENTIMENTS) + 1).tolist()
    _, positive, negative, neutral = counts
    if not positive + negative + neutral:
        return None
    return round(100.0 * (positive - negative) / (positive + negative + neutral), 4)


@metric(
    "share_of_voice", unit=N_("% per name"),
    formula=N_("messages of the period mentioning each keyword set (ours under `us`, and each competitor's) / "
    "messages mentioning any, x100; keywords matched in the text, case aside"),
    purpose="how much of the talk is about us rather than competitors", pitfalls="keywords that are common words "
    "match too much; set them with `pilote metrics competitors set`", better="neither",
    title=N_("Share of voice"),
)  # fmt: skip
def _share_of_voice(scope: Scope) -> Noted:
    sets = competitors(scope.conn, scope.workspace_id)
    if not sets:
        return Noted(None, NO_SETS)
    counts = {name: _mentions(scope, words) for name, words in sets.items()}
    total = sum(counts.values())
    shares = {name: round(100.0 * n / total, 4) if total else None for name, n in counts.items()}
    return Noted(shares, fill(VOICES, {"counts": ", ".join(f"{name} {n}" for name, n in counts.items())}))


def _mentions(scope: Scope, words: list[str]) -> int:
    """Counted messages of the period whose text holds one of these words (case aside); spam left out."""
    since, until = _moment(scope.since), _moment(scope.until)
    text = func.lower(Message.text)
    query = select(func.count()).where(
        Message.workspace_id == scope.workspace_id, Message.created_at >= since, Message.created_at < until,
        or_(*(text.contains(word.lower(), autoescape=True) for word in words)), community.counted(),
        community.not_spam(),
    )  # fmt: skip
    return int(scope.conn.execute(query.where(*scope.focus.clauses("message"))).scalar_one())


def _moment(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def competitors(conn: Connection | Session, workspace_id: int) -> dict[str, list[str]]:
    """The workspace's keyword sets for share of voice: name → keywords."""
    value = conn.execute(
        select(WorkspaceSetting.value).where(
            WorkspaceSetting.workspace_id == workspace_id, WorkspaceSetting.name == COMPETITORS
        )
    ).scalar_one_or_none()
    found: dict[str, list[str]] = json.loads(value) if value else {}
    return found


def set_competitor(
    session: Session, workspace_id: int, name: str, keywords: list[str], *, by: audit.Actor = audit.CLI
) -> dict[str, list[str]]:
    """Set (or, with no keywords, remove) one keyword set; `us` is the organisation's own."""
    name, words = name.strip(), sorted({w.strip() for w in keywords if w.strip()})
    if not name:
        raise Invalid("competitor: give a name (or `us` for the organisation's own keywords)")
    sets = competitors(session, workspace_id)
    audit.record(session, actor=by, action="competitors changed", target=f"competitor {name}",
                 workspace_id=workspace_id, before={name: sets.get(name)}, after={name: words or None})  # fmt: skip
    if words:
        sets[name] = words
    else:
        sets.pop(name, None)
    row = session.get(WorkspaceSetting, (workspace_id, COMPETITORS))
    if row is None:
        row = WorkspaceSetting(workspace_id=workspace_id, name=COMPETITORS, value="{}")
        session.add(row)
    row.value, row.updated_at = json.dumps(sets, ensure_ascii=False, sort_keys=True), utcnow()
    session.flush()
    return sets
