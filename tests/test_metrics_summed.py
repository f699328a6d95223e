"""The metrics' fast path (the months before the periods summed by the database) gives the values of the
straightforward computation (every message of the year read row by row)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from pilote import community, merges, metrics
from pilote.accounts import audit
from pilote.models import Author, Label, Message, Workspace
from pilote.simulate import simulate

END = datetime(2026, 6, 1, tzinfo=UTC)


def both(session: Session, workspace_id: int, since: datetime, until: datetime, **options: Any) -> tuple[Any, Any]:
    fast = metrics.report(session, workspace_id, since, until, **options).as_json()
    plain = metrics.report(session, workspace_id, since, until, summed=False, **options).as_json()
    return fast, plain


def judged(session: Session, workspace_id: int) -> None:
    """People's decisions on old messages (spam, ham, withdrawn), a merge of two regulars, the team."""
    old = session.scalars(
        select(Message.id).where(Message.workspace_id == workspace_id, Message.author_id.is_not(None))
        .order_by(Message.created_at).limit(400)
    ).all()  # fmt: skip
    for index, message_id in enumerate(old[::7]):
        name, value = [("spam", "spam"), ("spam", "ham"), ("status", "deleted")][index % 3]
        session.add(Label(message_id=message_id, name=name, value=value, origin="user"))
    busiest = session.execute(
        select(Message.author_id).where(Message.workspace_id == workspace_id, Message.author_id.is_not(None))
        .group_by(Message.author_id).order_by(func.count().desc(), Message.author_id).limit(4)
    ).scalars().all()  # fmt: skip
    community.mark_team(session.connection(), workspace_id, [a for a in busiest[:1] if a is not None])
    merges.merge(session, workspace_id, [a for a in busiest[2:4] if a is not None], by=audit.CLI)
    session.flush()


@pytest.mark.parametrize("days", [7, 30, 45])
def test_the_fast_path_gives_the_straightforward_values(engine: Engine, days: int) -> None:
    simulate(engine, workspace="demo", days=120, members=60, seed=3, end=END)
    with Session(engine) as session:
        workspace_id = session.scalar(select(Workspace.id).where(Workspace.slug == "demo"))
        assert workspace_id is not None
        judged(session, workspace_id)
        fast, plain = both(session, workspace_id, END - timedelta(days=days), END)
        assert fast == plain
        levels = fast["metrics"]["member_levels"]["value"]
        assert levels["1"] > 0  # core members: their reach was counted
        assert levels["4"] > 0
        channel = session.scalar(select(func.min(Author.channel)))
        fast, plain = both(session, workspace_id, END - timedelta(days=days), END, focus=metrics.Focus(channel))
        assert fast == plain


def test_several_periods_read_once_give_each_period_s_own_values(engine: Engine) -> None:
    """The kept reports' periods are read in one go (`metrics.reports`): each report is the one read alone,
    summed or row by row, whatever the other periods."""
    simulate(engine, workspace="demo", days=120, members=60, seed=5, end=END)
    with Session(engine) as session:
        workspace_id = session.scalar(select(Workspace.id).where(Workspace.slug == "demo"))
        assert workspace_id is not None
        judged(session, workspace_id)
        first = session.scalar(select(func.min(Message.created_at)).where(Message.workspace_id == workspace_id))
        assert first is not None
        periods = [(END - timedelta(days=30), END), (END - timedelta(days=7), END),
                   (END - timedelta(days=90), END), (first, END),
                   (END - timedelta(days=40), END - timedelta(days=20))]  # fmt: skip
        for summed in (True, False):
            together = [r.as_json() for r in metrics.reports(session, workspace_id, periods, summed=summed)]
            alone = [metrics.report(session, workspace_id, *p, summed=summed).as_json() for p in periods]
            assert together == alone
            assert together[0] != together[2]  # the periods differ: each read its own part


def test_a_period_read_from_a_wider_read_cuts_where_the_database_does(engine: Engine) -> None:
    """Messages written less than half a millisecond before where a period's read starts (their rounded moment
    is that start) stay out of it, as the database's comparison leaves them out of a read of its own."""
    simulate(engine, workspace="demo", days=120, members=60, seed=5, end=END)
    with Session(engine) as session:
        workspace_id = session.scalar(select(Workspace.id).where(Workspace.slug == "demo"))
        assert workspace_id is not None
        first = session.scalar(select(func.min(Message.created_at)).where(Message.workspace_id == workspace_id))
        assert first is not None
        periods = [(END - timedelta(days=30), END), (END - timedelta(days=7), END), (first, END)]
        cuts = {moment for since, until in periods[:2] for moment in metrics.cuts(since, until)}
        movable = session.scalars(
            select(Message).where(Message.workspace_id == workspace_id, Message.author_id.is_not(None))
            .order_by(Message.id).limit(40 * len(cuts))
        ).all()  # fmt: skip
        for index, message in enumerate(movable):
            message.created_at = sorted(cuts)[index % len(cuts)] - timedelta(microseconds=300)
        session.flush()
        for summed in (True, False):
            together = [r.as_json() for r in metrics.reports(session, workspace_id, periods, summed=summed)]
            alone = [metrics.report(session, workspace_id, *p, summed=summed).as_json() for p in periods]
            assert together == alone
