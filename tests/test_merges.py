"""One person, many names: suggestions with evidence, merges a person decides, undone exactly."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from accounts_support import sign_in
from pilote import merges, tokens, workspaces
from pilote.accounts import audit
from pilote.cli import app
from pilote.config import Settings
from pilote.errors import Invalid
from pilote.imports import import_file
from pilote.models import Author, Member, MemberMerge
from pilote.web.app import create_app

Row = dict[str, object]


def comment(i: int, thread: int, name: str, *, email: str | None = None, url: str | None = None) -> Row:
    return {"external_id": f"c{i}", "thread_id": f"post{thread}", "parent_id": f"post{thread}",
            "created_at": f"2026-03-{1 + i % 27:02d}T10:00:00Z", "text": f"Comment {i} on post {thread}",
            "author_name": name, "author_email": email, "author_url": url}  # fmt: skip


def write(path: Path, rows: list[Row]) -> Path:
    posts = [{"external_id": f"post{t}", "created_at": "2026-02-27T09:00:00Z", "kind": "post", "title": f"Post {t}",
              "text": f"Post {t}", "author_name": "The team"} for t in range(1, 6)]  # fmt: skip
    path.write_bytes(b"\n".join(orjson.dumps(row) for row in [*posts, *rows]))
    return path


@pytest.fixture
def community(engine: Engine, tmp_path: Path) -> Callable[[str], int]:
    """A blog where one person signs three ways, a forum where she has the blog's address, and lookalikes."""
    blog = write(tmp_path / "blog.jsonl", [
        comment(1, 1, "Jean-Pierre Durand", email="jp@durand.example"),
        comment(2, 2, "Jean-Pierre Durand", email="jp@durand.example"),
        comment(3, 1, "Jean-Pierre"), comment(4, 2, "Jean-Pierre"), comment(5, 3, "Jean-Pierre"),
        comment(6, 1, "JP"), comment(7, 2, "JP"),
        comment(8, 1, "Marie Leroy"), comment(9, 2, "Marie Dubois"), comment(10, 3, "Marie Petit"),
        comment(11, 1, "Marie"), comment(12, 2, "Marie"),  # which Marie? nothing tells
        comment(13, 4, "Paul Martin"), comment(14, 5, "Paul"),  # never in the same conversations
        comment(15, 4, "Ana Costa", url="https://ana-costa.example/"),
    ])  # fmt: skip
    forum = write(tmp_path / "forum.jsonl", [
        comment(101, 1, "jpdurand", email="JP@durand.example "),
        comment(102, 2, "Ana C.", url="http://www.ana-costa.example"),
    ])  # fmt: skip
    with Session(engine) as session, session.begin():
        workspaces.create(session, slug="acme")
    import_file(engine, blog, workspace="acme")
    import_file(engine, forum, workspace="acme")

    def author(name: str) -> int:
        with Session(engine) as session:
            return session.scalars(select(Author.id).where(Author.display_name == name)).one()

    return author


def suggestions(engine: Engine) -> dict[frozenset[int], merges.Suggestion]:
    with Session(engine) as session:
        space = workspaces.get(session, slug="acme")
        return {frozenset(s.authors): s for s in merges.suggest(session, space.id)}


def test_identities_of_one_person_are_suggested_with_their_evidence(
    engine: Engine, community: Callable[[str], int]
) -> None:
    found = suggestions(engine)
    full, first, initials = community("Jean-Pierre Durand"), community("Jean-Pierre"), community("JP")
    address = found[frozenset({full, community("jpdurand")})]
    assert address.confidence >= 0.9
    assert address.evidence == ["same e-mail address"]
    site = found[frozenset({community("Ana Costa"), community("Ana C.")})]
    assert site.evidence == ["same website (ana-costa.example)"]
    alone = found[frozenset({full, first})]
    assert "'Jean-Pierre' is the first name alone of 'Jean-Pierre Durand'" in alone.evidence[0]
    assert "2 of the same conversations" in alone.evidence[0]
    assert "the initials" in found[frozenset({full, initials})].evidence[0]
    assert 0.4 <= alone.confidence < address.confidence
    marie = community("Marie")
    assert not [pair for pair in found if marie in pair]  # three Maries: no guess
    assert frozenset({community("Paul Martin"), community("Paul")}) not in found  # no shared conversation


def test_a_merge_is_recorded_and_undone_exactly(engine: Engine, community: Callable[[str], int]) -> None:
    full, first, initials, forum = (community(n) for n in ("Jean-Pierre Durand", "Jean-Pierre", "JP", "jpdurand"))
    with Session(engine) as session, session.begin():
        space = workspaces.get(session, slug="acme").id
        zoe = audit.Actor("zoe")
        one = merges.merge(session, space, [first, full], by=zoe, evidence=["same threads"], confidence=0.5)
        two = merges.merge(session, space, [initials, forum, full], by=audit.Actor("zoe"))
        with pytest.raises(Invalid, match="one member already"):
            merges.merge(session, space, [first, initials], by=audit.Actor("zoe"))
        with pytest.raises(Invalid, match="undo merge"):
            merges.unmerge(session, space, one.id, by=audit.Actor("zoe"))
        ids = (one.id, two.id)
    with Session(engine) as session:
        members = set(session.scalars(select(Author.member_id).where(Author.id.in_([full, first, initials, forum]))))
        assert len(members) == 1
        assert session.scalar(select(Member.display_name).where(Member.id.in_(members))) == "Jean-Pierre Durand"
        assert not [pair for pair in suggestions(engine) if pair <= {full, first, initials, forum}]
    with Session(engine) as session, session.begin():
        space = workspaces.get(session, slug="acme").id
        merges.unmerge(session, space, ids[1], by=audit.Actor("zoe"))
    with Session(engine) as session:
        after = dict(
            session.execute(
                select(Author.id, Author.member_id).where(Author.id.in_([full, first, initials, forum]))
            ).all()
        )
        assert after[initials] is None
        assert after[forum] is None
        assert after[full] == after[first] is not None
    with Session(engine) as session, session.begin():
        space = workspaces.get(session, slug="acme").id
        merges.unmerge(session, space, ids[0], by=audit.Actor("zoe"))
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Member)) == 0
        undone = session.scalars(select(MemberMerge.undone_by).order_by(MemberMerge.id)).all()
        assert undone == ["zoe", "zoe"]


def test_the_commands_suggest_merge_and_unmerge(
    settings: Settings, engine: Engine, community: Callable[[str], int], env_for: Callable[[Settings], None]
) -> None:
    env_for(settings)
    runner = CliRunner()
    listed = orjson.loads(runner.invoke(app, ["members", "suggest-merges", "--json"], catch_exceptions=False).stdout)
    top = listed["suggestions"][0]
    assert set(top) == {"authors", "names", "confidence", "evidence"}
    merged = runner.invoke(app, ["members", "merge", *map(str, top["authors"]), "--json"], catch_exceptions=False)
    assert merged.exit_code == 0, merged.stderr
    record = orjson.loads(merged.stdout)
    assert record["evidence"] == top["evidence"]
    assert record["confidence"] == pytest.approx(top["confidence"], abs=0.01)
    undone = runner.invoke(app, ["members", "unmerge", str(record["id"])], catch_exceptions=False)
    assert undone.exit_code == 0
    again = runner.invoke(app, ["members", "unmerge", str(record["id"])], catch_exceptions=False)
    assert again.exit_code == 1
    assert "undone already" in again.stderr


def test_the_api_serves_the_same_suggestions(
    settings: Settings, engine: Engine, community: Callable[[str], int]
) -> None:
    with Session(engine) as session, session.begin():
        token, _ = tokens.create(session, workspace=workspaces.get(session, slug="acme"), name="tests")
    with TestClient(create_app(settings, engine)) as client:
        sign_in(client)
        served = client.get("/api/v1/members/suggestions", headers={"Authorization": f"Bearer {token}"}).json()
        refused = client.get("/api/v1/members/suggestions")
    assert refused.status_code == 401
    expected = {frozenset(pair): found for pair, found in suggestions(engine).items()}
    assert len(served["suggestions"]) == len(expected) > 0
    for one in served["suggestions"]:
        match = expected[frozenset(one["authors"])]
        assert (one["names"], one["evidence"]) == (match.names, match.evidence)
        assert one["confidence"] == pytest.approx(match.confidence)


def test_identities_said_to_be_two_people_are_no_longer_suggested(
    engine: Engine, community: Callable[[str], int]
) -> None:
    full, first = community("Jean-Pierre Durand"), community("Jean-Pierre")
    assert frozenset({full, first}) in suggestions(engine)
    with Session(engine) as session, session.begin():
        space = workspaces.get(session, slug="acme").id
        merges.reject(session, space, [first, full])
    after = suggestions(engine)
    assert frozenset({full, first}) not in after
    assert frozenset({full, community("jpdurand")}) in after  # other pairs stay
    with Session(engine) as session, session.begin():
        merges.reject(session, workspaces.get(session, slug="acme").id, [full, first], undo=True)
    assert frozenset({full, first}) in suggestions(engine)
