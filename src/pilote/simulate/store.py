"""Writing the demo into the store like any import: simulated sources, batched upserts, relinking, pruning, and
the social account's follower counts as its syncs would have kept them.

Each message's raw payload is a JSON object with sorted keys, holding what a real source would give
plus the ground truth under "truth"; it is a pure function of the seed, so an identical re-run leaves
every message unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session

from pilote import audience, deletions, intake, workspaces
from pilote.ingest import Counts, Target
from pilote.models import AudienceCount, Message, Source, Workspace, json_object
from pilote.simulate.clock import Window
from pilote.simulate.community import BRAND_NAME
from pilote.simulate.records import Draft
from pilote.sources.base import Audience, AuthorRef, Counters, Item, SourceInfo, person

SOURCES = {
    "blog": SourceInfo(
        "simulated", "blog", f"{BRAND_NAME} blog (demo)", "blog:demo.example", "https://demo.example/blog"
    ),
    "forum": SourceInfo(
        "simulated", "forum", f"{BRAND_NAME} forum (demo)", "forum:demo.example", "https://demo.example/forum"
    ),
    "social": SourceInfo(
        "simulated", "social", f"{BRAND_NAME} on social media (demo)", "social", "https://social.example/@VeloLumen"
    ),
}
CHUNK = 5000
Progress = Callable[[int, int], None]
message_t = Message.__table__


def open_sources(engine: Engine, workspace: str, settings: dict[str, Any]) -> dict[str, Target]:
    """The workspace (created if missing) and its simulated sources, as write targets."""
    with Session(engine, expire_on_commit=False) as session, session.begin():
        space = session.scalar(select(Workspace).where(Workspace.slug == workspace))
        if space is None:
            space = workspaces.create(session, slug=workspace, name=f"{BRAND_NAME} (demo)")
        targets = {}
        for key, info in SOURCES.items():
            source = intake.open_source(session, space.id, info)
            source.settings = orjson.dumps(settings, option=orjson.OPT_SORT_KEYS).decode()
            targets[key] = Target(workspace_id=space.id, source_id=source.id, channel=info.channel)
    return targets


def ended(session: Session, workspace: str) -> datetime | None:
    """When the demo written into a workspace ends (the last run's `end`), or None: no demo there."""
    query = (
        select(Source.settings)
        .join(Workspace, Workspace.id == Source.workspace_id)
        .where(Workspace.slug == workspace, Source.kind == "simulated")
    )
    ends = [json_object(settings).get("end") for settings in session.scalars(query)]
    moments = [datetime.fromisoformat(end) for end in ends if isinstance(end, str)]
    return max(moments, default=None)


def write(
    engine: Engine,
    targets: dict[str, Target],
    items: dict[str, list[Item]],
    batch_size: int,
    progress: Progress | None = None,
) -> Counts:
    """Upsert every item through the intake (one transaction per batch), then resolve parents and threads."""
    counts, done, total = Counts(), 0, sum(len(batch) for batch in items.values())
    for key, source_items in items.items():
        before = done
        report = None if progress is None else (lambda n, base=before: progress(base + n, total))
        written = intake.write(engine, targets[key], source_items, batch_size=batch_size, progress=report)
        counts.add(written.counts)
        done += len(source_items)
    intake.refresh_statistics(engine)
    for target in targets.values():  # the dashboards are recounted once, by the analysis that follows
        intake.finish(engine, workspace_id=target.workspace_id, source_id=target.source_id, changed=False,
                      refresh_rollups=False)  # fmt: skip
    return counts


def write_followers(engine: Engine, target: Target, seen: list[Audience]) -> int:
    """The social account's follower counts, instead of those an earlier run wrote; returns how many."""
    with engine.begin() as conn:
        conn.execute(delete(AudienceCount).where(AudienceCount.source_id == target.source_id))
        return audience.record(conn, workspace_id=target.workspace_id, source_id=target.source_id, seen=seen)


def prune(engine: Engine, targets: dict[str, Target], items: dict[str, list[Item]]) -> int:
    """Delete what an earlier run with other settings left in the simulated sources; returns how many."""
    removed = 0
    with engine.begin() as conn:
        for key, target in targets.items():
            keep = {item.external_id for item in items.get(key, [])}
            query = select(message_t.c.id, message_t.c.external_id).where(message_t.c.source_id == target.source_id)
            stale = [row.id for row in conn.execute(query) if row.external_id not in keep]
            for start in range(0, len(stale), CHUNK):
                deletions.delete_messages(conn, Message.id.in_(stale[start : start + CHUNK]))
            removed += len(stale)
    return removed


def items(drafts: list[Draft], window: Window) -> dict[str, list[Item]]:
    """The drafts as items, per source, in time order."""
    grouped: dict[str, list[Item]] = {key: [] for key in SOURCES}
    for draft in sorted(drafts, key=lambda d: (d.at, d.external_id)):
        grouped[draft.source].append(item(draft, window))
    return grouped


def item(draft: Draft, window: Window) -> Item:
    """One draft as the normalised item an importer would yield."""
    author, shown = identity(draft)
    counters = (
        None if draft.source == "blog" else Counters(likes=draft.likes, shares=draft.shares, replies=draft.replies)
    )
    return Item(
        external_id=draft.external_id,
        kind=draft.kind,
        created_at=window.moment(draft.at),
        raw=_raw(draft, window, shown),
        text=draft.text,
        html=draft.html,
        title=draft.title,
        url=draft.url,
        parent_external_id=draft.parent.external_id if draft.parent else None,
        thread_external_id=draft.thread.external_id,
        author=author,
        counters=counters,
    )


def identity(draft: Draft) -> tuple[AuthorRef | None, dict[str, Any]]:
    """How the author appears on the draft's channel: a commenter's name and e-mail, a handle..."""
    who = draft.author
    if draft.source == "blog":
        url = f"https://{who.handle}.example/" if who.role == "spammer" else None
        return person(name=who.name, email=who.email, url=url), {"name": who.name, "url": url}
    if draft.source == "forum":
        return person(name=who.name, handle=who.handle, email=who.email), {"name": who.name, "handle": who.handle}
    url = f"https://social.example/@{who.social}"
    shown = {"name": who.name, "handle": who.social, "followers": who.followers, "url": url}
    return person(name=who.name, handle=who.social, url=url), shown


def _raw(draft: Draft, window: Window, author: dict[str, Any]) -> str:
    payload = {
        "source": draft.source,
        "id": draft.external_id,
        "kind": draft.kind,
        "created_at": window.moment(draft.at).isoformat(),
        "author": author,
        "title": draft.title,
        "text": draft.text,
        "url": draft.url,
        "parent": draft.parent.external_id if draft.parent else None,
        "thread": draft.thread.external_id,
        "counters": None
        if draft.source == "blog"
        else {"likes": draft.likes, "shares": draft.shares, "replies": draft.replies},
        "truth": draft.truth.as_dict(),
    }
    return orjson.dumps(payload, option=orjson.OPT_SORT_KEYS).decode()
