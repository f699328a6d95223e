"""Erasing a person on request, and a workspace's retention period: what goes, what stays, and the record."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from pilote import jobs, merges, privacy, rollups, workspaces
from pilote.accounts import audit
from pilote.cli import app as cli
from pilote.config import Settings
from pilote.imports import import_file
from pilote.models import (
    Alert,
    AuditEntry,
    Author,
    Delivery,
    Embedding,
    Engagement,
    Enrichment,
    ErasedIdentity,
    Erasure,
    ImportRun,
    Incident,
    Label,
    Member,
    MemberMerge,
    Message,
    Rollup,
    TeamAccount,
    Workspace,
)
from pilote.views.explorer import label

T0 = datetime(2025, 1, 2, 9, 0, tzinfo=UTC)
ADMIN = audit.Actor("admin@example.org", "192.0.2.7")


def forum_export(path: Path, count: int = 9) -> Path:
    """A forum's JSON Lines export: rider0, rider1 and rider2 in turn, each odd message a reply to the one before."""
    rows = [
        {"id": f"f{n}", "created_at": (T0 + timedelta(days=n)).isoformat(), "author": f"rider{n % 3}",
         "text": f"Trottinette numéro {n}", "likes": n, **({"parent_id": f"f{n - 1}"} if n % 2 else {})}
        for n in range(count)
    ]  # fmt: skip
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


@pytest.fixture
def forum(engine: Engine, tmp_path: Path) -> Path:
    """Workspace `acme` with the forum imported twice (engagement snapshots), a label on each message of rider1."""
    with Session(engine) as session, session.begin():
        workspaces.create(session, slug="acme")
    path = forum_export(tmp_path / "forum.jsonl")
    import_file(engine, path, workspace="acme")
    with Session(engine) as session, session.begin():
        for message_id in ids_of(session, "rider1"):
            label(session, message_id, "spam", "ham", by=ADMIN)
        session.add(Engagement(message_id=ids_of(session, "rider1")[0], likes=0))
        session.add(Enrichment(message_id=ids_of(session, "rider1")[0], versions="{}"))
        session.add(Embedding(message_id=ids_of(session, "rider1")[0], model="m", vector=b"\0\0"))
    return path


def ids_of(session: Session, handle: str) -> list[int]:
    query = select(Message.id).join(Author, Author.id == Message.author_id).where(Author.handle == handle)
    return list(session.scalars(query.order_by(Message.id)))


def author_id(session: Session, handle: str) -> int:
    return session.scalars(select(Author.id).where(Author.handle == handle)).one()


def acme(session: Session) -> int:
    return workspaces.get(session, slug="acme").id


def rollups_are_a_full_recount(engine: Engine) -> None:
    with engine.connect() as conn:
        kept = sorted(tuple(r) for r in conn.execute(select(Rollup.__table__)))
    with engine.begin() as conn:
        for workspace_id in conn.scalars(select(Workspace.id)):
            rollups.rebuild(conn, workspace_id)
        assert sorted(tuple(r) for r in conn.execute(select(Rollup.__table__))) == kept


def count(session: Session, table: Any) -> int:
    return int(session.scalar(select(func.count()).select_from(table)) or 0)


def test_erasing_a_person_takes_their_messages_and_what_hangs_on_them_and_keeps_the_replies(
    engine: Engine, forum: Path
) -> None:
    with Session(engine) as session:
        gone = ids_of(session, "rider1")  # f1 and f4 (and f7); f5 answers f4
        labels_before, messages_before = count(session, Label), count(session, Message)
        who = privacy.person(session, workspace_id=acme(session), author_id=author_id(session, "rider1"))
    with Session(engine, expire_on_commit=False) as session, session.begin():
        record = privacy.erase(session, who, by=ADMIN)
    with Session(engine) as session:
        assert count(session, Message) == messages_before - len(gone) == 6
        assert session.scalar(select(func.count()).where(Author.handle == "rider1")) == 0
        for table in (Label, Engagement, Enrichment, Embedding):
            assert session.scalar(select(func.count()).where(table.message_id.in_(gone))) == 0
        assert count(session, Label) == labels_before - len(gone)
        reply = session.scalars(select(Message).where(Message.external_id == "f5")).one()
        assert reply.parent_id is None
        assert reply.parent_external_id == "f4"
        assert session.get(ErasedIdentity, (acme(session), who.digests[0])) is not None
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "person erased")).one()
        assert (entry.actor, entry.address, entry.target) == ("admin@example.org", "192.0.2.7", f"erasure {record.id}")
    shown = orjson.dumps(privacy.as_json(record)).decode()
    assert (record.kind, record.messages, record.erased_by) == ("erasure", 3, "admin@example.org")
    assert "rider1" not in shown
    assert "rider1" not in (entry.before or "") + (entry.after or "")
    assert json.loads(shown)["counts"] == {
        "alert_evidence": 0, "embeddings": 1, "engagement": 1, "enrichment": 1, "identities": 1, "labels": 3,
        "merges": 0, "messages": 3, "radar_authors": 0, "rejections": 0, "team_accounts": 0,
    }  # fmt: skip
    rollups_are_a_full_recount(engine)


def test_an_erasure_takes_the_person_out_of_the_radar_s_evidence_and_the_notifications(
    engine: Engine, forum: Path
) -> None:
    with Session(engine) as session, session.begin():
        space, [first, *_] = acme(session), ids_of(session, "rider1")
        channel = who_channel(session)
        quoted = {"id": first, "author": "rider1", "channel": channel, "text": "Trottinette numéro 1"}
        other = {"id": 0, "author": "rider0", "channel": channel, "text": "Trottinette numéro 0"}
        spreaders = [{"author": "rider1", "channel": channel, "messages": 3}, {"author": "rider0", "channel": channel}]
        evidence = {"first_messages": [quoted, other], "most_amplified": [quoted], "authors": spreaders}
        incident = Incident(workspace_id=space, severity="high", title="Volume", started_at=T0, last_alert_at=T0)
        session.add(incident)
        session.flush()
        session.add(Alert(incident_id=incident.id, workspace_id=space, series="messages", at=T0, value=9, expected=1,
                          score=5, severity="high", explanation=json.dumps(evidence)))  # fmt: skip
        session.add(Delivery(incident_id=incident.id, kind="webhook", target="https://hooks.example", reason="opened",
                             payload=json.dumps({"alert": evidence})))  # fmt: skip
        who = privacy.person(session, workspace_id=space, author_id=author_id(session, "rider1"))
    with Session(engine, expire_on_commit=False) as session, session.begin():
        record = privacy.erase(session, who, by=ADMIN)
    with Session(engine) as session:
        kept = [session.scalars(select(Alert.explanation)).one(), session.scalars(select(Delivery.payload)).one()]
    for text in kept:
        assert "rider1" not in text
        assert "numéro 1" not in text
        assert "rider0" in text  # the others stay
    assert privacy.as_json(record)["counts"]["alert_evidence"] == 2  # type: ignore[index]


def test_a_reimport_of_an_old_export_does_not_bring_an_erased_person_back(engine: Engine, forum: Path) -> None:
    with Session(engine) as session:
        who = privacy.person(session, workspace_id=acme(session), author_id=author_id(session, "rider1"))
    with Session(engine) as session, session.begin():
        privacy.erase(session, who, by=ADMIN)
    again = import_file(engine, forum_export(forum, count=10), workspace="acme")  # the same export, one more
    assert (again.counts.erased, again.counts.new) == (3, 1)  # f9 is rider0's, new; rider1's three are skipped
    with Session(engine) as session:
        assert ids_of(session, "rider1") == []
        assert session.scalars(select(ImportRun.erased).where(ImportRun.id == again.run_id)).one() == 3
        assert privacy.was_erased(session, workspace_id=acme(session), channel=who_channel(session), key="rider1")
    rollups_are_a_full_recount(engine)


def who_channel(session: Session) -> str:
    return session.scalars(select(Author.channel).where(Author.handle == "rider0")).one()


def test_erasing_a_merged_member_takes_every_identity_and_the_merges(engine: Engine, forum: Path) -> None:
    with Session(engine) as session, session.begin():
        space, one, other = acme(session), author_id(session, "rider1"), author_id(session, "rider2")
        merges.merge(session, space, [one, other], by=ADMIN)
        merges.reject(session, space, [author_id(session, "rider0"), one], by=ADMIN)
        session.add(TeamAccount(author_id=other, workspace_id=space, origin="user"))
    with Session(engine) as session:
        who = privacy.person(session, workspace_id=space, author_id=one)
    assert who.author_ids == sorted([one, other])
    assert who.name
    with Session(engine, expire_on_commit=False) as session, session.begin():
        record = privacy.erase(session, who, by=audit.CLI)
    with Session(engine) as session:
        assert {a.handle for a in session.scalars(select(Author))} == {"rider0"}
        assert count(session, Member) == count(session, MemberMerge) == count(session, TeamAccount) == 0
        assert merges.rejected(session, space) == set()
        assert count(session, ErasedIdentity) == 4  # a key and a handle each
    assert (record.messages, record.erased_by) == (6, "command line")
    assert privacy.as_json(record)["counts"]["rejections"] == 1  # type: ignore[index]
    rollups_are_a_full_recount(engine)


def test_retention_deletes_what_is_older_than_the_period_in_batches_with_one_record(
    engine: Engine, forum: Path
) -> None:
    now = T0 + timedelta(days=12)  # the messages are 12 (f0) to 4 (f8) days old
    with Session(engine) as session, session.begin():
        space = acme(session)
        assert privacy.expired(session, workspace_id=space, now=now) == 0  # no period: kept for ever
        privacy.set_retention(session, workspace_id=space, days=7, by=ADMIN)
    with Session(engine) as session:
        assert privacy.retention(session, space) == 7
        assert privacy.expired(session, workspace_id=space, now=now) == 5  # f0..f4, older than 7 days
    record = privacy.apply_retention(engine, workspace_id=space, now=now, batch=2)
    assert record is not None
    assert (record.kind, record.messages) == ("retention", 5)
    with Session(engine) as session:
        assert sorted(session.scalars(select(Message.external_id))) == ["f5", "f6", "f7", "f8"]
        assert count(session, Erasure) == 1
        actions = session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions[-2:] == ["retention changed", "retention applied"]
    assert privacy.apply_retention(engine, workspace_id=space, now=now) is None  # nothing left to do
    rollups_are_a_full_recount(engine)


def test_the_clock_applies_every_workspace_retention(engine: Engine, forum: Path) -> None:
    with Session(engine) as session, session.begin():
        privacy.set_retention(session, workspace_id=acme(session), days=1, by=ADMIN)
    assert privacy.retention_tick(engine, now=T0 + timedelta(days=30)) == 9
    with Session(engine) as session, session.begin():
        assert count(session, Message) == 0
        privacy.set_retention(session, workspace_id=acme(session), days=None, by=ADMIN)
    with Session(engine) as session:
        assert privacy.retention(session, acme(session)) is None


# --- the command line ---


@pytest.fixture
def run(settings: Settings, env_for: Callable[[Settings], None]) -> Callable[..., Any]:
    env_for(settings)
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None) -> Any:
        return runner.invoke(cli, list(args), input=input, catch_exceptions=False)

    return invoke


def test_a_person_is_erased_from_the_command_line_by_channel_and_handle(
    run: Callable[..., Any], tmp_path: Path
) -> None:
    assert run("workspace", "create", "acme").exit_code == 0
    assert run("import", str(forum_export(tmp_path / "forum.jsonl")), "--workspace", "acme").exit_code == 0
    channel = "jsonl:forum"  # a JSON Lines export's channel is named after its file
    dry = run("erase", "--workspace", "acme", "--channel", channel, "--handle", "rider1", "--dry-run")
    assert "3 messages" in dry.stdout
    assert "nothing was changed" in dry.stdout
    done = run("erase", "--workspace", "acme", "--channel", channel, "--handle", "rider1", "--yes", "--json")
    assert done.exit_code == 0, done.output
    assert orjson.loads(done.stdout)["messages"] == 3
    again = run("erase", "--workspace", "acme", "--channel", channel, "--handle", "rider1", "--yes")
    assert again.exit_code == 1
    assert "erased already" in again.output
    again = run("import", str(forum_export(tmp_path / "forum.jsonl")), "--workspace", "acme", "--json")
    assert [(r["new"], r["erased"]) for r in orjson.loads(again.stdout)["imports"]] == [(0, 3)]
    records = orjson.loads(run("erasures", "--json").stdout)
    assert [r["kind"] for r in records] == ["erasure"]
    assert "rider1" not in run("erasures", "--json").stdout
    audited = orjson.loads(run("audit", "--workspace", "acme", "--action", "person", "--json").stdout)
    assert [(e["actor"], e["action"]) for e in audited] == [("command line", "person erased")]
    exported = run("audit", "-w", "acme", "--export", "csv", "--action", "person").stdout.splitlines()
    assert exported[0] == ",".join(audit.FIELDS)
    assert [line.split(",")[3] for line in exported[1:]] == ["person erased"]
    assert run("audit", "--export", "xml").exit_code == 1


def test_the_retention_period_is_set_shown_and_tried_from_the_command_line(
    run: Callable[..., Any], tmp_path: Path
) -> None:
    assert run("workspace", "create", "acme").exit_code == 0
    assert run("import", str(forum_export(tmp_path / "forum.jsonl")), "--workspace", "acme").exit_code == 0
    assert "keeps messages for ever" in run("workspace", "retention", "acme").stdout
    dry = run("workspace", "retention", "acme", "30", "--dry-run")
    assert "9 messages are older" in dry.stdout  # the export is from 2025
    assert "for ever" in run("workspace", "retention", "acme").stdout  # a dry run sets nothing
    assert run("workspace", "retention", "acme", "soon").exit_code == 1
    done = run("workspace", "retention", "acme", "30", "--now")
    assert "now keeps messages 30 days" in done.stdout
    assert "Deleted 9 messages" in done.stdout
    assert run("workspace", "retention", "acme", "off").exit_code == 0
    changes = orjson.loads(run("audit", "--action", "retention changed", "--json").stdout)
    assert [(e["before"], e["after"]) for e in changes] == [({"days": 30}, {"days": None}),
                                                                ({"days": None}, {"days": 30})]  # fmt: skip


def test_the_clock_of_a_worker_deletes_what_is_past_the_period(sqlite_settings: Settings, tmp_path: Path) -> None:
    worker = jobs.Jobs(sqlite_settings)
    try:
        with Session(worker.engine) as session, session.begin():
            workspaces.create(session, slug="acme")
        import_file(worker.engine, forum_export(tmp_path / "forum.jsonl"), workspace="acme")
        with Session(worker.engine) as session, session.begin():
            privacy.set_retention(session, workspace_id=acme(session), days=365, by=ADMIN)  # the export is of 2025
        assert worker.step()
        with Session(worker.engine) as session:
            assert count(session, Message) == 0
            assert [e.kind for e in session.scalars(select(Erasure))] == ["retention"]
    finally:
        worker.engine.dispose()
