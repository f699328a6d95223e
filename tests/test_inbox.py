"""The inbox's core: which messages need the team, grouped per person and thread; the team's answers; what people
do to items; the queue's pages. On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from factories import T0, analysed, item, target
from pilote import community
from pilote.accounts import users
from pilote.accounts.audit import Actor
from pilote.errors import Conflict, Invalid
from pilote.inbox import intake, items, queue
from pilote.ingest import Target, write_batch
from pilote.models import InboxEvent, InboxItem, Label, Workspace

NOW = T0 + timedelta(days=1)
PASSWORD = "a long enough password"


def write(engine: Engine, where: Target, items_: Iterable[Any], **judged: dict[str, Any]) -> dict[str, int]:
    return analysed(engine, where, items_, NOW, **judged)


def team(engine: Engine, where: Target, handle: str) -> None:
    with Session(engine) as session, session.begin():
        from pilote.models import Author

        author = session.scalar(select(Author.id).where(Author.handle == handle))
        assert author is not None
        community.mark_team(session.connection(), where.workspace_id, [author])


def all_items(engine: Engine) -> list[InboxItem]:
    with Session(engine) as session:
        return list(session.scalars(select(InboxItem).order_by(InboxItem.id)))


def test_what_needs_the_team_opens_one_item_per_person_and_thread(engine: Engine) -> None:
    where = target(engine)  # a blog: every comment is for the team
    write(engine, where, [
        item("post", "Nouveau vélo", author="blog"),
        item("c1", "Quand est-ce livré ?", parent="post", thread="post", minutes=5),
        item("c2", "Et en rouge ?", parent="post", thread="post", minutes=9),  # alice again: the same item
        item("c3", "Super article", parent="post", thread="post", minutes=12, author="bob"),
    ], c1={"intent": "question"}, c3={"sentiment": "positive"})  # fmt: skip
    team(engine, where, "blog")
    report = intake.take_new(engine, where.workspace_id, now=NOW)
    assert (report.opened, report.joined) == (2, 1)
    alice, bob = all_items(engine)
    assert (alice.message_count, alice.status, alice.reasons) == (2, "new", "question,reply")
    assert alice.priority == 2
    assert alice.due_at == alice.opened_at + timedelta(hours=4)
    assert (bob.reasons, bob.priority, bob.due_at) == ("reply", 1, bob.opened_at + timedelta(hours=24))
    again = intake.take_new(engine, where.workspace_id, now=NOW)
    assert (again.read, again.opened) == (0, 0)  # the cursor moved past them: nothing is taken twice


def test_the_team_s_answer_closes_the_item_and_the_author_s_next_message_reopens_it(engine: Engine) -> None:
    where = target(engine)
    write(engine, where, [
        item("post", "Nouveau vélo", author="blog"),
        item("c1", "Livré quand ?", parent="post", thread="post", minutes=5),
        item("r1", "Demain !", parent="c1", thread="post", minutes=65, author="blog"),
    ], c1={"intent": "question"})  # fmt: skip
    team(engine, where, "blog")
    report = intake.take_new(engine, where.workspace_id, now=NOW)
    assert report.answered == 1
    (found,) = all_items(engine)
    assert (found.status, found.responded_at, found.due_at) == ("done", T0 + timedelta(minutes=65), None)
    write(engine, where, [item("c2", "Merci, et la facture ?", parent="r1", thread="post", minutes=90)])
    report = intake.take_new(engine, where.workspace_id, now=NOW)
    assert (report.joined, report.reopened) == (1, 1)
    (found,) = all_items(engine)
    assert (found.status, found.message_count) == ("new", 2)
    assert found.responded_at == T0 + timedelta(minutes=65)  # the first response stays the first
    with Session(engine) as session:
        kinds = [e.kind for e in items.history(session, found.id)]
    assert kinds == ["opened", "answered", "status", "message", "status"]


def test_history_and_what_the_team_decided_open_nothing(engine: Engine) -> None:
    where = target(engine)
    write(engine, where, [
        item("old", "Vieux commentaire", minutes=-60 * 24 * 30),  # a month before: history
        item("spam", "Achetez", minutes=3, author="shop", labels=(("spam", "spam"),)),  # a moderator said spam
        item("draft", "Brouillon", minutes=4, author="carol", labels=(("status", "draft"),)),  # not counted
        item("new", "Bonjour", minutes=5, author="dan"),
    ])  # fmt: skip
    report = intake.take_new(engine, where.workspace_id, now=NOW)
    assert report.opened == 1
    assert [i.reasons for i in all_items(engine)] == ["comment"]


def test_a_message_the_analysis_has_not_reached_holds_the_walk_back(engine: Engine) -> None:
    where = target(engine)
    ids = write(engine, where, [item("a", "Une question ?", minutes=1)], a={"intent": "question"})
    with engine.begin() as conn:
        write_batch(conn, where, [item("b", "Et une autre ?", minutes=2, author="bob")])
    report = intake.take_new(engine, where.workspace_id, now=NOW)
    assert (report.opened, report.cursor) == (1, ids["a"])  # b was fetched just now, and not analysed yet
    write(engine, where, [])  # b is analysed
    assert intake.take_new(engine, where.workspace_id, now=NOW).opened == 1


def test_people_s_actions_are_events_and_a_stale_version_is_refused(engine: Engine) -> None:
    where = target(engine)
    write(engine, where, [item("a", "Colis perdu", minutes=1), item("b", "Spam ?", minutes=2, author="bob")],
          a={"intent": "complaint", "sentiment": "negative"}, b={"spam_probability": 0.9})  # fmt: skip
    intake.take_new(engine, where.workspace_id, now=NOW)
    first, second = all_items(engine)
    assert first.priority == 3
    assert second.priority == 0
    assert "spam" in second.reasons
    with Session(engine) as session, session.begin():
        space = session.get_one(Workspace, where.workspace_id)
        mod = users.create(session, email="mod@example.org", password=PASSWORD, role="moderator", workspace=space)
        reader = users.create(session, email="ana@example.org", password=PASSWORD, role="analyst", workspace=space)
        session.flush()
        mod_id = mod.id
        actor = Actor(mod.email, user_id=mod.id)
        assert items.assign(session, space.id, [first.id], mod.id, actor, version=1) == [first.id]
        with pytest.raises(Invalid, match="analyst"):
            items.assign(session, space.id, [first.id], reader.id, actor)
        items.tag(session, space.id, [first.id, second.id], ["Livraison perdue"], actor)
        items.note(session, space.id, first.id, "<b>appeler</b> le transporteur", actor)
        items.judge_spam(session, space.id, [second.id], True, actor)
    with Session(engine) as session, session.begin(), pytest.raises(Conflict, match="changed meanwhile"):
        items.set_status(session, where.workspace_id, [first.id], "done", Actor("x"), version=1)
    with Session(engine) as session:
        one = session.get_one(InboxItem, first.id)
        two = session.get_one(InboxItem, second.id)
        assert (one.status, one.assignee_id, one.version) == ("open", mod_id, 4)
        assert items.tags_of(session, [one.id, two.id]) == {one.id: ["livraison-perdue"], two.id: ["livraison-perdue"]}
        assert two.status == "spam"
        assert two.resolved_at is not None
        label = session.scalar(select(Label.value).where(Label.name == "spam", Label.origin == "user"))
        assert label == "spam"  # the decision is a label: it wins over the model and trains it
        kinds = [e.kind for e in session.scalars(select(InboxEvent).where(InboxEvent.user_id == mod_id))]
        assert sorted(kinds) == ["assign", "note", "status", "tag", "tag"]


def test_snoozes_wake_on_time_or_on_the_author_s_next_message(engine: Engine) -> None:
    where = target(engine)
    write(engine, where, [item("a", "Bonjour", minutes=1), item("b", "Salut", minutes=2, author="bob")])
    intake.take_new(engine, where.workspace_id, now=NOW)
    first, second = all_items(engine)
    with Session(engine) as session, session.begin():
        cli = items.COMMAND_LINE
        with pytest.raises(Invalid, match="snooze until"):
            items.set_status(session, where.workspace_id, [first.id], "snoozed", cli, now=NOW)
        items.set_status(session, where.workspace_id, [first.id], "snoozed", cli, until=NOW + timedelta(hours=2),
                         now=NOW)  # fmt: skip
        items.set_status(session, where.workspace_id, [second.id], "snoozed", cli, until_reply=True, now=NOW)
    with Session(engine) as session, session.begin():
        assert items.wake(session, where.workspace_id, NOW + timedelta(hours=1)) == 0
        assert items.wake(session, where.workspace_id, NOW + timedelta(hours=3)) == 1
    write(engine, where, [item("b2", "Alors ?", parent="b", thread="b", minutes=600, author="bob")])
    intake.take_new(engine, where.workspace_id, now=NOW)
    assert [(i.status, i.message_count) for i in all_items(engine)] == [("open", 1), ("new", 2)]


def test_the_queue_pages_every_status_in_order_without_gaps_or_repeats(engine: Engine) -> None:
    where = target(engine)
    write(engine, where, [item(f"m{n}", "Une question ?", minutes=n % 7 * 10, author=f"a{n}") for n in range(23)],
          **{f"m{n}": {"intent": "question" if n % 2 else "complaint"} for n in range(23)})  # fmt: skip
    intake.take_new(engine, where.workspace_id, now=NOW)
    with Session(engine) as session, session.begin():
        ids = [i.id for i in session.scalars(select(InboxItem).order_by(InboxItem.id))]
        items.set_status(session, where.workspace_id, ids[::3], "open", items.COMMAND_LINE)
    for sort in queue.SORTS:
        seen: list[queue.Row] = []
        after = None
        with Session(engine) as session:
            while True:
                found = queue.page(session, where.workspace_id, queue.parse({"sort": sort}), after=after, limit=4,
                                   now=NOW)  # fmt: skip
                seen.extend(found.rows)
                if found.after is None:
                    break
                after = found.after
        assert sorted(r.id for r in seen) == ids, sort
        keys = [(r.due_at, r.id) if sort == "due" else (r.last_at, r.id) for r in seen]
        assert keys == sorted(keys, reverse=sort == "newest"), sort
    with Session(engine) as session:
        counts = queue.tab_counts(session, where.workspace_id, None, NOW)
        complaints = queue.page(session, where.workspace_id, queue.parse({"intent": "complaint", "status": "new"}),
                                now=NOW)  # fmt: skip
    assert (counts["new"], counts["open"], counts["overdue"]) == (15, 8, 23)
    assert {r.intent for r in complaints.rows} == {"complaint"}
    assert all(r.status == "new" for r in complaints.rows)


def test_bad_queries_say_what_is_wrong() -> None:
    with pytest.raises(Invalid, match="status 'closed'"):
        queue.parse({"status": "closed"})
    with pytest.raises(Invalid, match="priority"):
        queue.parse({"priority": "extreme"})
    assert queue.parse({"priority": "high"}).priority == 2
    query = queue.parse({"status": "new,open", "tag": "vip", "overdue": "on"})
    assert queue.parse(query.params()) == query


def test_erasing_a_person_takes_their_items_notes_and_history_with_them(engine: Engine) -> None:
    from pilote import privacy
    from pilote.accounts import audit
    from pilote.models import Author, InboxNote

    where = target(engine)
    write(engine, where, [item("a", "Colis perdu", minutes=1), item("b", "Bonjour", minutes=2, author="bob")])
    intake.take_new(engine, where.workspace_id, now=NOW)
    first, _ = all_items(engine)
    with Session(engine) as session, session.begin():
        items.note(session, where.workspace_id, first.id, "Alice rappelle demain", items.COMMAND_LINE)
        alice = session.scalar(select(Author.id).where(Author.handle == "alice"))
        assert alice is not None
        who = privacy.person(session, workspace_id=where.workspace_id, author_id=alice)
        privacy.erase(session, who, by=audit.Actor(audit.COMMAND_LINE))
    with Session(engine) as session:
        assert session.scalar(select(InboxItem.id).where(InboxItem.id == first.id)) is None
        assert list(session.scalars(select(InboxNote))) == []
        assert list(session.scalars(select(InboxEvent).where(InboxEvent.item_id == first.id))) == []
        assert len(all_items(engine)) == 1
