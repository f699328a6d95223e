"""The cockpit's read models: Overview, Explorer, Thread, Member, Sources and time series."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from pilote.errors import Invalid, NotFound
from pilote.imports import import_file
from pilote.models import Author, ImportRun, Member, Message, Workspace
from pilote.views import explorer, members, overview, sources, threads, timeseries
from pilote.views.explorer import ExplorerQuery

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def row(ident: str, minutes: int, text: str = "Bonjour à tous", **extra: Any) -> dict[str, Any]:
    return {"id": ident, "created_at": (T0 + timedelta(minutes=minutes)).isoformat(), "text": text, **extra}


def load(engine: Engine, path: Path, rows: list[dict[str, Any]]) -> int:
    """Import rows as JSON Lines; returns the workspace id."""
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    import_file(engine, path)
    with Session(engine) as session:
        return session.scalars(select(Workspace.id)).one()


def ids_of(session: Session, *external: str) -> list[int]:
    found = dict(session.execute(select(Message.external_id, Message.id)).all())
    return [found[name] for name in external]


def conversation() -> list[dict[str, Any]]:
    return [
        row("p1", 0, "Nouvelle batterie disponible", kind="post", author="brand", likes=10),
        row("c1", 10, "Quand arrive-t-elle en magasin ?", parent_id="p1", author="zoe", likes=1),
        row("c2", 20, "Merci pour l'info", parent_id="p1", author="max", likes=5),
        row("r1", 30, "Bientôt, promis", parent_id="c1", author="brand"),
        row("r2", 40, "Super nouvelle", parent_id="r1", author="zoe", likes=2),
        row("p2", 60 * 30, "Ma selle grince", kind="post", author="lea", likes=0),
    ]


# --- Explorer ---


def test_pages_follow_each_other_without_gaps_or_repeats_in_every_order(engine: Engine, tmp_path: Path) -> None:
    workspace_id = load(engine, tmp_path / "m.jsonl", conversation())
    with Session(engine) as session:
        everything = {m.id for m in explorer.search(session, ExplorerQuery(workspace_id, limit=100)).items}
        for sort in ("newest", "oldest", "engaged"):
            seen: list[int] = []
            cursor = None
            while True:
                page = explorer.search(session, ExplorerQuery(workspace_id, sort=sort, limit=2, cursor=cursor))  # type: ignore[arg-type]
                seen += [m.id for m in page.items]
                if page.next_cursor is None:
                    break
                cursor = page.next_cursor
            assert sorted(seen) == sorted(everything)
            assert len(seen) == len(set(seen)) == 6
    with Session(engine) as session:
        engaged = explorer.search(session, ExplorerQuery(workspace_id, sort="engaged", limit=6)).items
        oldest = explorer.search(session, ExplorerQuery(workspace_id, sort="oldest", limit=6)).items
    assert [m.engagement for m in engaged] == sorted((m.engagement for m in engaged), reverse=True)
    assert [m.created_at for m in oldest] == sorted(m.created_at for m in oldest)


def test_most_engaged_follows_counters_that_a_new_import_changes_and_combines_with_filters(
    engine: Engine, tmp_path: Path
) -> None:
    workspace_id = load(engine, tmp_path / "m.jsonl", conversation())
    changed = [{**r, "likes": 50, "shares": 3} if r["id"] == "c1" else r for r in conversation()]
    load(engine, tmp_path / "m.jsonl", changed)
    with Session(engine) as session:

        def engaged(**filters: Any) -> list[tuple[str, int]]:
            items = explorer.search(session, ExplorerQuery(workspace_id, sort="engaged", **filters)).items
            return [(session.get_one(Message, m.id).external_id, m.engagement) for m in items]

        assert engaged(limit=3) == [("c1", 53), ("p1", 10), ("c2", 5)]
        # equal engagement: the newer message (higher id) first, as the cursor expects
        assert engaged(since=T0 + timedelta(minutes=15)) == [("c2", 5), ("r2", 2), ("p2", 0), ("r1", 0)]
        source = session.scalars(select(Message.source_id)).first()
        assert engaged(source=str(source), kind="post") == [("p1", 10), ("p2", 0)]
        assert engaged(text="batterie", since=T0) == [("p1", 10)]


def test_a_cursor_stays_valid_when_newer_messages_arrive(engine: Engine, tmp_path: Path) -> None:
    workspace_id = load(engine, tmp_path / "m.jsonl", conversation())
    with Session(engine) as session:
        first = explorer.search(session, ExplorerQuery(workspace_id, limit=3))
    load(engine, tmp_path / "m.jsonl", [*conversation(), row("new", 60 * 48, "Tout neuf", author="zoe")])
    with Session(engine) as session:
        second = explorer.search(session, ExplorerQuery(workspace_id, limit=3, cursor=first.next_cursor))
        after = [m.created_at for m in second.items]
    assert max(after) < min(m.created_at for m in first.items)
    assert {m.id for m in first.items}.isdisjoint(m.id for m in second.items)


def test_filters_combine_words_kind_author_dates_and_language(engine: Engine, tmp_path: Path) -> None:
    workspace_id = load(
        engine, tmp_path / "m.jsonl", [*conversation(), row("x", 5, "Hello", language="en", kind="mention")]
    )
    with Session(engine) as session:

        def found(**filters: Any) -> set[str]:
            items = explorer.search(session, ExplorerQuery(workspace_id, limit=50, **filters)).items
            return {session.get_one(Message, m.id).external_id for m in items}

        assert found(text="batterie") == {"p1"}
        assert found(text="batter") == {"p1"}  # the last word is a prefix
        assert found(kind="post") == {"p1", "p2"}
        assert found(author="zoe") == {"c1", "r2"}
        assert found(author="@ZOE", text="nouvelle") == {"r2"}
        assert found(since=T0 + timedelta(minutes=15), until=T0 + timedelta(minutes=35)) == {"c2", "r1"}
        assert found(language="en") == {"x"}
        assert found(text="batterie", sort="relevance") == {"p1"}


def test_a_persons_label_wins_over_the_model_in_filters_and_cards(engine: Engine, tmp_path: Path) -> None:
    workspace_id = load(engine, tmp_path / "m.jsonl", conversation())
    with Session(engine) as session, session.begin():
        p1, c1 = ids_of(session, "p1", "c1")
        session.execute(update(Message).values(spam_probability=0.9, sentiment="negative"))
        explorer.label(session, p1, "spam", "ham", "camille")
        explorer.label(session, c1, "sentiment", "positive")
    with Session(engine) as session:
        spam = explorer.search(session, ExplorerQuery(workspace_id, spam=True, limit=50)).items
        ham = explorer.search(session, ExplorerQuery(workspace_id, spam=False, limit=50)).items
        positive = explorer.search(session, ExplorerQuery(workspace_id, sentiment="positive")).items
    assert [m.id for m in ham] == [p1]
    assert ham[0].spam is False
    assert ham[0].labels == {"spam": "ham"}
    assert p1 not in {m.id for m in spam}
    assert len(spam) == 5
    assert [(m.id, m.sentiment) for m in positive] == [(c1, "positive")]


def test_labels_are_checked_before_anything_is_written(engine: Engine, tmp_path: Path) -> None:
    load(engine, tmp_path / "m.jsonl", conversation())
    with Session(engine) as session:
        (p1,) = ids_of(session, "p1")
        with pytest.raises(Invalid, match="spam, ham"):
            explorer.label(session, p1, "spam", "maybe")
        with pytest.raises(Invalid, match="use one of"):
            explorer.label(session, p1, "colour", "red")
        with pytest.raises(NotFound):
            explorer.label(session, 999_999, "spam", "spam")


def test_a_foreign_or_mangled_cursor_is_refused_with_advice(engine: Engine, tmp_path: Path) -> None:
    workspace_id = load(engine, tmp_path / "m.jsonl", conversation())
    with Session(engine) as session:
        cursor = explorer.search(session, ExplorerQuery(workspace_id, limit=2)).next_cursor
        for bad in ("garbage", cursor[:-3] if cursor else "", explorer.encode_cursor("newest", ["x", "y"])):
            with pytest.raises(Invalid, match="start again without it"):
                explorer.search(session, ExplorerQuery(workspace_id, cursor=bad))
        with pytest.raises(Invalid, match="start again"):
            explorer.search(session, ExplorerQuery(workspace_id, sort="oldest", cursor=cursor))


def test_saved_searches_keep_their_filters_per_workspace(engine: Engine, tmp_path: Path) -> None:
    workspace_id = load(engine, tmp_path / "m.jsonl", conversation())
    query = ExplorerQuery(workspace_id, text="batterie", spam=False, since=T0, sort="oldest")
    with Session(engine) as session, session.begin():
        explorer.save(session, workspace_id, "Batteries", query)
        explorer.save(session, workspace_id, "Batteries", query)  # same name: replaced, not doubled
    with Session(engine) as session:
        kept = explorer.saved(session, workspace_id)
    assert [(s.name, s.query) for s in kept] == [("Batteries", query)]
    with Session(engine) as session, session.begin():
        explorer.forget(session, workspace_id, kept[0].id)
        assert explorer.saved(session, workspace_id) == []
        with pytest.raises(NotFound):
            explorer.forget(session, workspace_id, kept[0].id)


# --- Thread, Member ---


def test_a_thread_reads_in_reply_order_with_depths_and_authors(engine: Engine, tmp_path: Path) -> None:
    load(engine, tmp_path / "m.jsonl", conversation())
    with Session(engine) as session:
        p1, r2 = ids_of(session, "p1", "r2")
        found = threads.thread(session, r2)
        names = {m.id: session.get_one(Message, m.id).external_id for m in (e.message for e in found.entries)}
    assert found.root.id == p1
    assert found.focus_id == r2
    assert [(names[e.message.id], e.depth) for e in found.entries] == [
        ("p1", 0), ("c1", 1), ("r1", 2), ("r2", 3), ("c2", 1)
    ]  # fmt: skip
    assert (found.depth, found.messages, found.people, found.start, found.next_start) == (3, 5, 3, 0, None)
    activity = {a.handle: (a.in_thread, a.in_workspace) for a in found.authors}
    assert activity == {"brand": (2, 2), "zoe": (2, 2), "max": (1, 1)}


def long_thread() -> list[dict[str, Any]]:
    """A post, 30 comments, each answered by two replies (the second answering the first): 91 messages."""
    rows = [row("p", 0, "Une longue discussion", kind="post", author="brand")]
    for n in range(30):
        rows.append(row(f"c{n}", 1 + n, f"commentaire {n}", parent_id="p", author=f"person{n % 25}"))
        rows.append(row(f"c{n}a", 100 + n, f"réponse {n}", parent_id=f"c{n}", author="brand"))
        rows.append(row(f"c{n}b", 200 + n, f"réponse à la réponse {n}", parent_id=f"c{n}a", author=f"person{n}"))
    return rows


def test_a_long_thread_reads_in_parts_that_follow_each_other_in_reading_order(engine: Engine, tmp_path: Path) -> None:
    load(engine, tmp_path / "m.jsonl", long_thread())
    with Session(engine) as session:
        names = dict(session.execute(select(Message.id, Message.external_id)).all())
        (root,) = ids_of(session, "p")
        first = threads.thread(session, root, size=41)
        parts = [first]
        while parts[-1].next_start is not None:
            parts.append(threads.thread(session, root, start=parts[-1].next_start, size=41))
    assert [(p.start, p.next_start, p.messages) for p in parts] == [(0, 41, 91), (41, 82, 91), (82, None, 91)]
    read = [(names[e.message.id], e.depth) for p in parts for e in p.entries if not e.context]
    assert read[:4] == [("p", 0), ("c0", 1), ("c0a", 2), ("c0b", 3)]
    assert len(read) == len(set(read)) == 91
    assert [e.message.id for e in first.entries if e.context] == []
    assert [(names[e.message.id], e.depth) for e in parts[1].entries if e.context] == [("p", 0), ("c13", 1)]
    assert len(first.authors) == threads.AUTHORS < first.people == 31


def test_a_message_deep_in_a_long_thread_is_shown_below_the_messages_it_answers(engine: Engine, tmp_path: Path) -> None:
    load(engine, tmp_path / "m.jsonl", long_thread())
    with Session(engine) as session:
        names = dict(session.execute(select(Message.id, Message.external_id)).all())
        root, early, deep = ids_of(session, "p", "c2b", "c25b")
        near = threads.thread(session, early, size=20)
        far = threads.thread(session, deep, size=20)
    assert near.start == 0
    assert near.focus_id == early
    assert far.start == 1 + 25 * 3 + 2
    assert far.root.id == root
    shown = [(names[e.message.id], e.depth, e.context) for e in far.entries]
    assert shown[:4] == [("p", 0, True), ("c25", 1, True), ("c25a", 2, True), ("c25b", 3, False)]
    assert far.next_start is None
    assert len(shown) == 3 + 91 - far.start


def test_an_author_s_messages_in_the_workspace_are_counted_up_to_a_bound(engine: Engine, tmp_path: Path) -> None:
    rows = [row("p", 0, kind="post", author="brand")]
    rows += [row(f"m{n}", 1 + n, f"message {n}", author="zoe") for n in range(threads.COUNTED + 1)]
    rows.append(row("c", 2000, "une réponse", parent_id="p", author="zoe"))
    load(engine, tmp_path / "m.jsonl", rows)
    with Session(engine) as session:
        found = threads.thread(session, ids_of(session, "p")[0])
    activity = {a.handle: (a.in_thread, a.in_workspace, a.more) for a in found.authors}
    assert activity == {"brand": (1, 1, False), "zoe": (1, threads.COUNTED, True)}


def test_a_member_gathers_every_identity_merged_into_them(engine: Engine, tmp_path: Path) -> None:
    load(engine, tmp_path / "m.jsonl", conversation())
    with Session(engine) as session, session.begin():
        zoe = session.scalars(select(Author).where(Author.handle == "zoe")).one()
        max_ = session.scalars(select(Author).where(Author.handle == "max")).one()
        person = Member(workspace_id=zoe.workspace_id, display_name="Zoé Martin")
        session.add(person)
        session.flush()
        zoe.member_id = max_.member_id = person.id
        zoe_id = zoe.id
    with Session(engine) as session:
        profile = members.member(session, zoe_id)
    assert profile.name == "Zoé Martin"
    assert sorted(i.handle for i in profile.identities) == ["max", "zoe"]
    assert profile.messages == 3
    assert profile.first_seen == T0 + timedelta(minutes=10)
    assert profile.last_seen == T0 + timedelta(minutes=40)
    assert sum(count for _, count in profile.activity) == 3
    assert profile.sentiment == {"unknown": 3}
    assert [m.created_at for m in profile.recent] == sorted((m.created_at for m in profile.recent), reverse=True)
    with Session(engine) as session, pytest.raises(NotFound):
        members.member(session, 999_999)


# --- Overview, time series ---


def test_the_overview_compares_each_figure_with_the_previous_period(engine: Engine, tmp_path: Path) -> None:
    earlier = [row(f"e{i}", -60 * 24 + i, "Avant", author="ann") for i in range(2)]
    workspace_id = load(engine, tmp_path / "m.jsonl", [*earlier, *conversation()])
    with Session(engine) as session, session.begin():
        (c1,) = ids_of(session, "c1")
        explorer.label(session, c1, "intent", "question")
    with Session(engine) as session:
        seen = overview.overview(session, workspace_id, T0, T0 + timedelta(days=1), "hour")
    assert seen.figures["messages"].value == 5  # p2 comes 30 hours later
    assert seen.figures["messages"].previous == 2
    assert seen.figures["messages"].change == 1.5
    assert seen.figures["engagement"].value == 18
    assert seen.figures["needs_answer"].value == 1
    assert seen.volume_by_kind.total("comment") + seen.volume_by_kind.total("post") == 5
    assert len(seen.volume_by_channel.starts) == 24
    assert seen.growing[0].new == 4  # replies to p1
    assert seen.keyphrases == []
    assert [m.id for m in seen.unanswered] == [c1]  # nobody is known as the team yet


def test_a_team_reply_takes_a_question_off_the_unanswered_list(engine: Engine, tmp_path: Path) -> None:
    workspace_id = load(engine, tmp_path / "m.jsonl", conversation())
    with Session(engine) as session, session.begin():
        c1, c2 = ids_of(session, "c1", "c2")
        brand = session.scalars(select(Author.id).where(Author.handle == "brand")).one()
        explorer.label(session, c1, "intent", "question")
        explorer.label(session, c2, "intent", "complaint")
        members.set_team(session, brand, team=True)
    with Session(engine) as session:
        seen = overview.overview(session, workspace_id, T0, T0 + timedelta(days=1), "day")
    assert [m.id for m in seen.unanswered] == [c2]
    assert seen.figures["unanswered"].value == 1


def test_time_series_bucket_by_local_day_and_week(engine: Engine, tmp_path: Path) -> None:
    late = [row("late", 60 * 14 + 30, "Tard")]  # 23:30 UTC on March 2 is 00:30 on March 3 in Paris
    workspace_id = load(engine, tmp_path / "m.jsonl", [*conversation(), *late])
    paris = __import__("zoneinfo").ZoneInfo("Europe/Paris")
    start, end = datetime(2026, 3, 1, tzinfo=paris), datetime(2026, 3, 15, tzinfo=paris)
    with Session(engine) as session:
        daily = timeseries.timeseries(session, workspace_id, "messages", "day", start, end, zone=paris)
        weekly = timeseries.timeseries(session, workspace_id, "engagement", "week", start, end, "kind", paris)
        with pytest.raises(Invalid, match="hour, day or week"):
            timeseries.timeseries(session, workspace_id, "messages", "month", start, end)
        with pytest.raises(Invalid, match="group_by"):
            timeseries.timeseries(session, workspace_id, "messages", "day", start, end, "colour")
    assert len(daily.starts) == 14
    assert daily.lines["total"][1] == 5  # March 2, Paris time
    assert daily.lines["total"][2] == 2  # "late", and p2 the next afternoon
    assert weekly.starts[0] == datetime(2026, 2, 23, tzinfo=paris)
    assert sum(weekly.lines["post"]) == 10
    assert sum(weekly.lines["comment"]) == 8


# --- Sources ---


def test_sources_say_what_their_last_import_did_and_can_be_paused(engine: Engine, tmp_path: Path) -> None:
    workspace_id = load(engine, tmp_path / "m.jsonl", [*conversation(), {"id": "broken"}])
    with Session(engine) as session:
        (found,) = sources.sources(session, workspace_id)
    assert found.messages == 6
    assert found.last_run is not None
    assert found.last_run.status == "completed"
    assert found.summary.startswith("Last import completed: 6 new, 0 updated, 0 unchanged, 1 skipped")
    assert found.problems
    with Session(engine) as session, session.begin():
        session.execute(update(ImportRun).values(status="interrupted", message="stopped by Ctrl-C"))
        paused = sources.pause(session, workspace_id, found.id)
    assert paused.status == "paused"
    assert paused.summary.startswith("Paused. Last import was interrupted (stopped by Ctrl-C)")
    assert "resumes where it stopped" in paused.summary
    with Session(engine) as session, session.begin():
        assert sources.resume(session, workspace_id, found.id).status == "active"
        with pytest.raises(NotFound):
            sources.pause(session, workspace_id + 1, found.id)


def test_utc_days_read_from_daily_rows_equal_the_sum_of_their_hours(engine: Engine, tmp_path: Path) -> None:
    spread = [row(f"s{i}", i * 97, "Encore") for i in range(40)]  # about two and a half days
    workspace_id = load(engine, tmp_path / "m.jsonl", spread)
    start, end = T0 - timedelta(hours=5), T0 + timedelta(days=3, hours=7)  # partial first and last days
    with Session(engine) as session:
        days = timeseries.timeseries(session, workspace_id, "messages", "day", start, end, "kind")
        hours = timeseries.timeseries(session, workspace_id, "messages", "hour", start, end, "kind")
    assert sum(days.lines["post"]) == sum(hours.lines["post"]) == 40
    for number, day in enumerate(days.starts):
        in_day = [n for moment, n in zip(hours.starts, hours.lines["post"], strict=True) if moment.date() == day.date()]
        assert days.lines["post"][number] == sum(in_day)


def test_a_common_word_finds_what_a_rare_one_would(engine: Engine, tmp_path: Path, monkeypatch: Any) -> None:
    many = [row(f"w{i}", i, "batterie neuve" if i % 3 else "selle neuve", kind="post") for i in range(30)]
    workspace_id = load(engine, tmp_path / "m.jsonl", many)
    query = ExplorerQuery(workspace_id, text="batterie", limit=7)
    with Session(engine) as session:
        rare = [m.id for m in explorer.search(session, query).items]
        monkeypatch.setattr(explorer, "COMMON", 1)  # the word now counts as common: walked along the dates
        common = [m.id for m in explorer.search(session, query).items]
        second = explorer.search(session, ExplorerQuery(workspace_id, text="batterie", limit=100))
    assert common == rare
    assert len(rare) == 7
    assert len(second.items) == 20
