from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from random import Random
from typing import Any

import orjson
import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from pilote.cli import app
from pilote.config import Settings
from pilote.errors import Invalid
from pilote.models import AudienceCount, Message, SavedReply, Source, Workspace
from pilote.simulate import SimulationReport, simulate, store, texts
from pilote.simulate import replies as demo_replies
from pilote.simulate.records import Topic

END = datetime(2025, 6, 2, tzinfo=UTC)


@dataclass(frozen=True)
class Stored:
    """A stored demo message with its parsed raw payload."""

    id: int
    source: str
    external_id: str
    kind: str
    created_at: datetime
    parent_id: int | None
    thread_id: int | None
    raw_hash: str
    text: str
    likes: int | None
    shares: int | None
    raw: dict[str, Any]

    @property
    def truth(self) -> dict[str, Any]:
        return dict(self.raw["truth"])


def run(engine: Engine, workspace: str = "demo", **options: Any) -> SimulationReport:
    settings: dict[str, Any] = {"days": 30, "members": 1000, "seed": 1, "end": END, **options}
    return simulate(engine, workspace=workspace, **settings)


def stored(engine: Engine, workspace: str = "demo") -> list[Stored]:
    m = Message
    query = (
        select(m.id, Source.key, m.external_id, m.kind, m.created_at, m.parent_id, m.thread_id, m.raw_hash, m.text)
        .add_columns(m.likes, m.shares, m.raw)
        .join(Source, Source.id == m.source_id)
        .join(Workspace, Workspace.id == m.workspace_id)
        .where(Workspace.slug == workspace)
    )
    with engine.connect() as conn:
        return [Stored(*row[:-1], orjson.loads(row[-1])) for row in conn.execute(query)]


def hourly(messages: list[Stored], start: datetime, end: datetime) -> list[int]:
    counts = Counter(int((s.created_at - start).total_seconds() // 3600) for s in messages)
    return [counts.get(hour, 0) for hour in range(int((end - start).total_seconds() // 3600))]


def hours_of(report: SimulationReport, name: str) -> range:
    episode = next(e for e in report.episodes if e.name == name)
    first = int((episode.start - report.start).total_seconds() // 3600)
    return range(first, int((episode.end - report.start).total_seconds() // 3600) + 1)


def test_the_same_seed_writes_the_same_messages_and_another_seed_different_ones(sqlite_engine: Engine) -> None:
    run(sqlite_engine, "first")
    run(sqlite_engine, "again")
    run(sqlite_engine, "other", seed=2)

    def hashes(workspace: str) -> set[tuple[str, str, str]]:
        return {(s.source, s.external_id, s.raw_hash) for s in stored(sqlite_engine, workspace)}

    assert hashes("first") == hashes("again")
    assert len(hashes("first") & hashes("other")) < len(hashes("first")) / 100


def test_a_rerun_with_the_same_settings_leaves_every_message_unchanged(sqlite_engine: Engine) -> None:
    first = run(sqlite_engine)
    second = run(sqlite_engine)

    assert first.counts.new == first.messages
    assert (second.counts.new, second.counts.updated, second.counts.unchanged) == (0, 0, first.messages)
    assert second.pruned == 0
    assert len(stored(sqlite_engine)) == first.messages
    with Session(sqlite_engine) as session:  # the team's saved replies are there once, each with its variables
        saved = list(session.scalars(select(SavedReply)))
    assert sorted(r.shortcut for r in saved) == sorted(d.shortcut for d in demo_replies.SAVED)
    assert all("{{author.name}}" in r.body and r.user_id is None for r in saved)


def test_a_run_with_other_settings_replaces_the_demo_in_the_workspace(sqlite_engine: Engine) -> None:
    run(sqlite_engine, days=20, members=400)
    second = run(sqlite_engine, days=14, members=200, seed=3)

    messages = stored(sqlite_engine)
    assert second.pruned > 0
    assert len(messages) == second.messages
    assert all(s.parent_id is not None for s in messages if s.kind in {"comment", "reply"})


def test_the_report_counts_messages_per_kind_and_source(sqlite_engine: Engine) -> None:
    report = run(sqlite_engine)

    messages = stored(sqlite_engine)
    assert report.kinds == dict(sorted(Counter(s.kind for s in messages).items()))
    assert report.sources == dict(Counter(s.source for s in messages))
    assert report.members == 1000
    assert (report.start, report.end) == (END - timedelta(days=30), END)
    assert min(s.created_at for s in messages) >= report.start
    assert max(s.created_at for s in messages) < report.end


def test_members_write_mostly_french_then_english_and_a_few_other_languages(sqlite_engine: Engine) -> None:
    run(sqlite_engine)

    members = [s for s in stored(sqlite_engine) if s.truth["role"] == "member"]
    share = {lang: n / len(members) for lang, n in Counter(s.truth["language"] for s in members).items()}
    assert 0.5 < share["fr"] < 0.8
    assert 0.18 < share["en"] < 0.45
    assert 0.005 < share.get("es", 0) + share.get("de", 0) + share.get("it", 0) < 0.1
    french = [s.text for s in members if s.truth["language"] == "fr"]
    assert sum(any(c in text for c in "éèàçê") for text in french) > len(french) / 4


def test_a_few_regulars_write_a_large_share_while_most_members_write_once_or_twice(sqlite_engine: Engine) -> None:
    run(sqlite_engine)

    per_member = Counter(s.truth["member"] for s in stored(sqlite_engine) if s.truth["role"] == "member")
    counts = sorted(per_member.values(), reverse=True)
    top = counts[: 1000 // 100]
    assert sum(top) > 0.2 * sum(counts)
    assert sum(1 for n in counts if n <= 2) > len(counts) / 2
    assert len(counts) < 1000  # some members only read


def test_posts_comments_replies_and_mentions_are_threaded(sqlite_engine: Engine) -> None:
    run(sqlite_engine)

    messages = stored(sqlite_engine)
    by_id = {s.id: s for s in messages}
    assert {"post", "comment", "reply", "mention"} <= {s.kind for s in messages}
    assert all(s.thread_id is not None for s in messages)
    for message in messages:
        if message.kind in {"post", "mention"}:
            assert (message.parent_id, message.thread_id) == (None, message.id)
            continue
        assert message.parent_id is not None
        parent = by_id[message.parent_id]
        assert message.thread_id == parent.thread_id
        assert parent.created_at < message.created_at
        if message.kind == "comment":
            assert parent.kind == "post"
    depths = Counter(len(s.external_id.split(".")) - 1 for s in messages if s.source == "blog")
    assert max(depths) >= 4


def test_spam_waves_stand_out_in_the_hourly_spam_series_where_the_report_puts_them(sqlite_engine: Engine) -> None:
    report = run(sqlite_engine)

    spam = hourly([s for s in stored(sqlite_engine) if s.truth["spam"]], report.start, report.end)
    waves = [hours_of(report, "spam_wave_1"), hours_of(report, "spam_wave_2")]
    outside = [n for hour, n in enumerate(spam) if not any(hour in wave for wave in waves)]
    for wave in waves:
        assert max(spam[hour] for hour in wave) > 8 * max(1, max(outside))
    assert sum(outside) > 0  # the odd spam message outside the waves


def test_the_bad_buzz_is_the_only_surge_of_negative_mentions(sqlite_engine: Engine) -> None:
    report = run(sqlite_engine)

    negative = [
        s
        for s in stored(sqlite_engine)
        if s.source == "social" and s.truth["sentiment"] == "negative" and s.truth["role"] != "brand"
    ]
    series = hourly(negative, report.start, report.end)
    buzz = hours_of(report, "bad_buzz")
    outside = [n for hour, n in enumerate(series) if hour not in buzz]
    peak = max(series[hour] for hour in buzz)
    assert peak > 8 * (statistics.median(outside) + 1)
    assert max(outside) < peak / 3
    assert "#LumenGate" in " ".join(s.text for s in negative)


def test_episode_messages_lie_inside_the_windows_the_report_gives(sqlite_engine: Engine) -> None:
    report = run(sqlite_engine)

    assert [(e.name, e.kind) for e in report.episodes] == [
        ("spam_wave_1", "spam_wave"),
        ("spam_wave_2", "spam_wave"),
        ("bad_buzz", "bad_buzz"),
    ]
    assert all(e.description and e.start < e.end for e in report.episodes)
    windows = {e.name: (e.start, e.end) for e in report.episodes}
    seen = Counter()
    for message in stored(sqlite_engine):
        scenario = message.truth["scenario"]
        if scenario != "baseline":
            start, end = windows[scenario]
            assert start <= message.created_at <= end
            seen[scenario] += 1
    assert set(seen) == set(windows)


def test_the_brand_answers_many_questions_after_minutes_to_days_and_leaves_some_unanswered(
    sqlite_engine: Engine,
) -> None:
    run(sqlite_engine)

    messages = stored(sqlite_engine)
    by_id = {s.id: s for s in messages}
    asked = [s for s in messages if s.truth["needs_answer"]]
    answers = [s for s in messages if s.truth["role"] == "brand" and s.truth["intent"] == "answer"]
    delays = []
    for answer in answers:
        assert answer.parent_id is not None
        question = by_id[answer.parent_id]
        delay = (answer.created_at - question.created_at).total_seconds()
        if question.truth["needs_answer"]:
            assert question.truth["answered_after"] == pytest.approx(delay, abs=1)
        delays.append(delay)
    everyday = [s for s in messages if s.truth["role"] == "member" and s.truth["scenario"] == "baseline"]
    assert 0.05 < sum(s.truth["needs_answer"] for s in everyday) / len(everyday) < 0.1
    assert min(delays) < 3600
    assert max(delays) > 24 * 3600
    unanswered = [s for s in asked if s.truth["answered_after"] is None]
    assert 0.2 < len(unanswered) / len(asked) < 0.7
    assert {"Vélo Lumen"} == {s.raw["author"]["name"] for s in answers}


def test_texts_are_varied_while_spam_repeats_itself(sqlite_engine: Engine) -> None:
    run(sqlite_engine)

    messages = stored(sqlite_engine)
    genuine = [s.text for s in messages if s.truth["role"] == "member" and s.truth["scenario"] == "baseline"]
    spam = [s.text for s in messages if s.truth["spam"]]
    assert len(set(genuine)) > 0.85 * len(genuine)
    assert len(set(spam)) < 0.5 * len(spam)


def test_social_counters_are_heavy_tailed_and_influencers_are_shared_most(sqlite_engine: Engine) -> None:
    run(sqlite_engine)

    mentions = [s for s in stored(sqlite_engine) if s.kind == "mention"]
    likes = sorted(s.likes or 0 for s in mentions)
    assert likes[-1] > 50 * max(1, statistics.median(likes))
    most_shared = sorted(mentions, key=lambda s: s.shares or 0)[-3:]
    assert sum(s.truth["role"] == "influencer" for s in most_shared) >= 2
    assert all(s.raw["author"]["followers"] > 10_000 for s in mentions if s.truth["role"] == "influencer")


def test_the_community_sleeps_at_night(sqlite_engine: Engine) -> None:
    run(sqlite_engine)

    hours = Counter(s.created_at.hour for s in stored(sqlite_engine) if s.truth["scenario"] == "baseline")
    assert sum(hours[h] for h in range(2, 6)) * 3 < sum(hours[h] for h in range(18, 22))


def test_progress_reports_every_batch_up_to_the_total(sqlite_engine: Engine) -> None:
    calls: list[tuple[int, int]] = []

    report = run(sqlite_engine, progress=lambda done, total: calls.append((done, total)))

    assert calls[-1] == (report.messages, report.messages)
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)


def test_without_an_end_the_demo_runs_up_to_the_present_hour(sqlite_engine: Engine) -> None:
    before = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    report = simulate(sqlite_engine, workspace="live", days=7, members=50)
    after = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)

    assert report.end in {before, after}


def test_the_demo_s_last_day_is_written_up_to_its_end(sqlite_engine: Engine) -> None:
    end = datetime(2026, 6, 2, 15, tzinfo=UTC)  # a Tuesday afternoon
    simulate(sqlite_engine, workspace="live", days=7, members=300, end=end)
    with Session(sqlite_engine) as session:
        last_hours = session.scalar(select(func.count()).where(Message.created_at >= end - timedelta(hours=3)))
        later = session.scalar(select(func.count()).where(Message.created_at >= end))
    assert last_hours
    assert later == 0


@pytest.mark.parametrize(("days", "members", "word"), [(3, 1000, "days"), (30, 10, "members")])
def test_too_small_a_demo_is_refused_with_a_message_naming_the_setting(
    sqlite_engine: Engine, days: int, members: int, word: str
) -> None:
    with pytest.raises(Invalid, match=word):
        simulate(sqlite_engine, workspace="demo", days=days, members=members, end=END)


def test_every_template_fills_in_every_language() -> None:
    rng = Random(0)
    for lexicon in texts.LEXICONS.values():
        for template in texts.templates(lexicon):
            text = texts.fill(rng, lexicon, template, Topic(1, 0), {"name": "Zoé", "title": "T", "url": "U"})
            assert "{" not in text
            assert "}" not in text


def test_a_small_demo_is_stored_and_relinked_on_both_databases(engine: Engine) -> None:
    report = simulate(engine, workspace="demo", days=10, members=200, seed=7, end=END)
    again = simulate(engine, workspace="demo", days=10, members=200, seed=7, end=END)

    assert report.counts.new == report.messages > 100
    assert again.counts.unchanged == report.messages
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Message)) == report.messages
        unlinked = select(func.count()).where(Message.parent_external_id.is_not(None), Message.parent_id.is_(None))
        assert conn.scalar(unlinked) == 0
        assert conn.scalar(select(func.count()).where(Message.thread_id.is_(None))) == 0


def test_the_brands_accounts_are_the_team_and_every_hour_awaits_its_recount(sqlite_engine: Engine) -> None:
    from pilote.models import RollupDirty, TeamAccount

    run(sqlite_engine)
    brand = [s.id for s in stored(sqlite_engine) if s.truth["role"] == "brand"]
    with sqlite_engine.connect() as conn:
        authors = set(conn.scalars(select(Message.author_id).where(Message.id.in_(brand))))
        team = set(conn.scalars(select(TeamAccount.author_id)))
        noted = conn.execute(select(func.count()).select_from(RollupDirty)).scalar_one()
        hours = conn.execute(select(func.count(func.distinct(func.strftime("%Y%m%d%H", Message.created_at))))).scalar()
    assert authors
    assert authors <= team  # their answers take questions off the unanswered list
    assert noted == hours  # the enrichment that follows (or the next radar tick) recounts them


def test_if_absent_leaves_an_old_demo_and_says_how_to_bring_it_up_to_now(
    sqlite_settings: Settings, sqlite_engine: Engine, env_for: Callable[[Settings], None]
) -> None:
    simulate(sqlite_engine, workspace="demo", days=7, members=50, end=datetime(2026, 1, 5, tzinfo=UTC))
    env_for(sqlite_settings)
    result = CliRunner().invoke(app, ["simulate", "--if-absent"])
    assert result.exit_code == 0, result.output
    assert "left as it is" in result.output
    assert "ends on 2026-01-05 00:00 UTC" in result.output
    with Session(sqlite_engine) as session:
        assert store.ended(session, "demo") == datetime(2026, 1, 5, tzinfo=UTC)
        assert store.ended(session, "nowhere") is None


def test_the_social_account_has_a_follower_count_every_six_hours_growing_but_for_the_bad_buzz(
    sqlite_engine: Engine,
) -> None:
    report = run(sqlite_engine)
    run(sqlite_engine)  # a rerun replaces the counts, it does not add to them
    query = select(AudienceCount.account, AudienceCount.observed_at, AudienceCount.followers, Source.key)
    with sqlite_engine.connect() as conn:
        rows = conn.execute(query.join(Source).order_by(AudienceCount.observed_at)).all()
    assert {(row.account, row.key) for row in rows} == {("VeloLumen", "social")}
    assert len(rows) == 30 * 4 + 1
    moments = [row.observed_at.replace(tzinfo=UTC) for row in rows]
    assert moments[0] == report.start
    assert moments[-1] == report.end
    assert {b - a for a, b in pairwise(moments)} == {timedelta(hours=6)}
    buzz = next(e for e in report.episodes if e.name == "bad_buzz")
    counts = {moment: row.followers for moment, row in zip(moments, rows, strict=True)}
    during = [n for moment, n in counts.items() if buzz.start <= moment <= buzz.end]
    before = [n for moment, n in counts.items() if moment < buzz.start]
    assert 15_000 < rows[0].followers < 20_000
    assert before[-1] > before[0]  # growth before the crisis
    assert during[-1] < during[0]  # unfollows while it lasts
