"""Opinion leaders: the interaction graph, its measures and the lists, against values worked out by hand."""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from pilote import leaders, merges, tokens, workspaces
from pilote.accounts import audit
from pilote.cli import app
from pilote.community import mark_team
from pilote.config import Settings
from pilote.errors import Invalid
from pilote.imports import import_file
from pilote.leaders.graph import interactions
from pilote.leaders.mentions import named
from pilote.leaders.scores import measure
from pilote.models import Author, Message
from pilote.views.explorer import label
from pilote.web.app import create_app

MARCH = leaders.Window(datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC),
                       (datetime(2026, 1, 29, tzinfo=UTC), datetime(2026, 3, 1, tzinfo=UTC)))  # fmt: skip
Row = dict[str, object]


def row(external_id: str, author: str, day: int, *, parent: str | None = None, text: str = "", month: int = 3) -> Row:
    kind = "post" if parent is None else "comment"
    return {"external_id": external_id, "author": author, "parent_id": parent, "kind": kind,
            "created_at": f"2026-{month:02d}-{day:02d}T10:00:00Z", "text": text or external_id}  # fmt: skip


# Who writes what (sentiment as the model said it; one label of a person's changes one of Bob's).
TOWN = [
    row("p1", "brand", 1),
    row("a1", "ana", 2, parent="p1"),  # ana → brand
    row("c0", "carl", 2, parent="p1"),  # carl → brand
    row("b1", "bob", 3, parent="a1"),  # bob → ana
    row("c1", "carl", 3, parent="a1"),  # carl → ana
    row("d1", "dana", 4, parent="a1", text="I agree with @bob here"),  # dana → ana, and a mention dana → bob
    row("a2", "ana", 5, parent="b1"),  # ana → bob
    row("b2", "bob", 6, parent="a2", text="@ana not at all"),  # bob → ana (naming the one answered: no mention)
    row("e1", "eve", 6, parent="b1"),  # eve → bob
    row("g1", "ana_b", 7, parent="e1"),  # Ana's other name (merged below): ana → eve
    row("s1", "spammer", 7, parent="a1", text="cheap watches"),  # spam: no interaction
    row("r1", "brand", 8, parent="c1"),  # the team answers carl: brand → carl
    row("f0", "ana", 2, month=2),  # February: ana was already answered, bob was not there
    row("f1", "carl", 3, parent="f0", month=2),
    row("f2", "dana", 4, parent="f0", month=2),
]
SENTIMENT = {"p1": "positive", "r1": "positive", "a1": "positive", "a2": "positive", "b1": "negative",
             "b2": "positive", "c1": "neutral", "d1": "negative", "g1": "positive"}  # fmt: skip


def ids(engine: Engine) -> dict[str, int]:
    with Session(engine) as session:
        return {e: i for e, i in session.execute(select(Message.external_id, Message.id))}


@pytest.fixture
def town(engine: Engine, tmp_path: Path) -> int:
    path = tmp_path / "town.jsonl"
    path.write_bytes(b"\n".join(orjson.dumps(r) for r in TOWN))
    with Session(engine) as session, session.begin():
        workspace_id = workspaces.create(session, slug="acme").id
    import_file(engine, path, workspace="acme")
    message = ids(engine)
    with Session(engine) as session, session.begin():
        for external_id, feeling in SENTIMENT.items():
            session.execute(update(Message).where(Message.id == message[external_id]).values(sentiment=feeling))
        label(session, message["b2"], "sentiment", "negative", "camille")  # a person's reading wins
        label(session, message["s1"], "spam", "spam", "camille")
        author = {h: i for h, i in session.execute(select(Author.handle, Author.id))}
        mark_team(session.connection(), workspace_id, [author["brand"]])
        merges.merge(session, workspace_id, [author["ana"], author["ana_b"]], by=audit.Actor("tests"))
    return workspace_id


def names(engine: Engine) -> dict[int, str]:
    """Node → handle (a merged member is named by its first identity)."""
    with Session(engine) as session:
        rows = session.execute(select(Author.id, Author.member_id, Author.handle).order_by(Author.id)).all()
    found: dict[int, str] = {}
    for author_id, member_id, handle in rows:
        found.setdefault(member_id if member_id is not None else -author_id, handle)
    return found


def test_replies_mentions_merges_spam_and_the_team_make_the_graph_worked_out_by_hand(engine: Engine, town: int) -> None:
    with Session(engine) as session:
        found = interactions(session, town, MARCH.since, MARCH.until)
    who = names(engine)
    edges = {kind: {(who[a], who[b]): n for (a, b), n in counts.items()} for kind, counts in found.edges.items()}
    assert edges == {
        "reply": {("ana", "brand"): 1, ("carl", "brand"): 1, ("bob", "ana"): 2, ("carl", "ana"): 1,
                  ("dana", "ana"): 1, ("ana", "bob"): 1, ("eve", "bob"): 1, ("ana", "eve"): 1, ("brand", "carl"): 1},
        "mention": {("dana", "bob"): 1},
        "quote": {},
    }  # fmt: skip
    assert {who[node] for node in found.team} == {"brand"}


def test_the_lists_of_the_town_follow_the_definitions(engine: Engine, town: int) -> None:
    with Session(engine) as session:
        found = leaders.leaders(session, town, MARCH)
    assert (found.people, found.interactions) == (6, {"reply": 10, "mention": 1, "quote": 0})
    # Ana: answered by Bob (twice), Carl and Dana; three positive messages under her two names.
    (ana,) = found.ambassadors
    assert (ana.reached_by, ana.received, ana.messages, ana.sentiment) == (3, {"reply": 4}, 3, {"positive": 3})
    assert [m.text for m in ana.top_messages] == ["g1", "a2", "a1"]  # no engagement: newest first
    # Bob: the model read b2 as positive, a person as negative, and the person wins: two negatives.
    (bob,) = found.detractors
    assert (bob.name, bob.sentiment, bob.received) == ("bob", {"negative": 2}, {"reply": 2, "mention": 1})
    # Bob was not there in February: he rises; Ana was already answered then (by Carl and Dana), and has not
    # doubled her influence.
    assert [p.name for p in found.rising] == ["bob"]
    assert bob.previous_influence == 0.0
    assert ana.previous_influence is not None
    assert ana.influence < 2 * ana.previous_influence
    # The brand is reached by two people, is influential and writes positively, but the team is in no list.
    with Session(engine) as session:
        measured = measure(interactions(session, town, MARCH.since, MARCH.until).weights())
    brand = next(node for node, name in names(engine).items() if name == "brand")
    assert measured.scores[brand].influence >= 1.0
    assert measured.scores[brand].reached_by == 2
    everyone = [*found.ambassadors, *found.detractors, *found.bridges, *found.rising]
    assert "brand" not in {p.name for p in everyone}
    assert ana.influence > bob.influence > 1.0


def test_all_time_has_no_previous_period_and_so_nobody_rises(engine: Engine, town: int) -> None:
    with Session(engine) as session:
        span = leaders.window(session, town, period="all", now=datetime(2026, 5, 1, tzinfo=UTC))
        found = leaders.leaders(session, town, span)
    assert (span.since, span.previous) == (datetime(2026, 2, 2, 10, tzinfo=UTC), None)
    assert found.rising == []
    assert found.interactions["reply"] == 12  # March's ten and February's two


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"period": "7d"}, (datetime(2026, 3, 25, 11, tzinfo=UTC), datetime(2026, 4, 1, 11, tzinfo=UTC))),
        ({}, (datetime(2026, 3, 2, 11, tzinfo=UTC), datetime(2026, 4, 1, 11, tzinfo=UTC))),
        ({"since": datetime(2026, 3, 1, tzinfo=UTC), "until": datetime(2026, 3, 11, tzinfo=UTC)},
         (datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 11, tzinfo=UTC))),
    ],
)  # fmt: skip
def test_a_period_ends_at_the_coming_hour_and_the_previous_one_has_its_length(
    engine: Engine, options: dict[str, object], expected: tuple[datetime, datetime]
) -> None:
    with Session(engine) as session:
        span = leaders.window(session, 1, now=datetime(2026, 4, 1, 10, 30, tzinfo=UTC), **options)  # type: ignore[arg-type]
    assert (span.since, span.until) == expected
    assert span.previous == (expected[0] - (expected[1] - expected[0]), expected[0])


@pytest.mark.parametrize(
    ("options", "message"),
    [({"period": "1y"}, "use 7d, 30d, 90d, all"), ({"period": "7d", "since": datetime(2026, 3, 1, tzinfo=UTC)},
     "not both"), ({"since": datetime(2026, 3, 1, tzinfo=UTC), "until": datetime(2026, 2, 1, tzinfo=UTC)},
     "must come after"), ({"since": datetime(2026, 3, 1)}, "time zone")],
)  # fmt: skip
def test_a_bad_period_is_refused_with_what_to_give(
    sqlite_engine: Engine, options: dict[str, object], message: str
) -> None:
    with Session(sqlite_engine) as session, pytest.raises(Invalid, match=message):
        leaders.window(session, 1, **options)  # type: ignore[arg-type]


def test_a_star_s_centre_has_the_pagerank_solved_by_hand() -> None:
    # Three people answer one. With damping d and n = k + 1 people, the centre (who answers nobody: PageRank
    # spreads it evenly) has h = (1 - d)(1 + d k) / n / (1 - d (1 + d k) / n); influence is n h.
    d, k = 0.85, 3
    n = k + 1
    h = (1 - d) * (1 + d * k) / n / (1 - d * (1 + d * k) / n)
    found = measure(Counter({(1, 0): 1, (2, 0): 1, (3, 0): 1}))
    assert found.scores[0].influence == pytest.approx(n * h, rel=1e-6)
    assert found.scores[1].influence == pytest.approx(n * (1 - h) / k, rel=1e-6)
    assert (found.scores[0].reached_by, found.scores[1].reaches) == (3, 1)


def test_betweenness_on_a_path_is_the_share_of_paths_through_each_person() -> None:
    # a - b - c - d - e: c is on a-d, a-e, b-d, b-e (4 of the 6 pairs of the others), b on a-c, a-d, a-e.
    found = measure(Counter({(0, 1): 1, (2, 1): 3, (2, 3): 1, (4, 3): 1}))
    assert [round(found.scores[i].betweenness, 4) for i in range(5)] == [0.0, 0.5, 0.6667, 0.5, 0.0]
    assert not found.sampled


def village(prefix: str, day: int) -> list[Row]:
    """Three people who all answer each other."""
    a, b, c = (f"{prefix}{i}" for i in range(1, 4))
    return [row(f"{a}p", a, day), row(f"{b}r", b, day, parent=f"{a}p"), row(f"{c}r", c, day, parent=f"{b}r"),
            row(f"{a}r", a, day, parent=f"{c}r")]  # fmt: skip


def test_the_one_who_joins_two_villages_is_the_first_bridge(engine: Engine, tmp_path: Path) -> None:
    rows = [*village("a", 2), *village("b", 3), row("x1", "x", 4, parent="a1p"), row("x2", "x", 4, parent="b1p")]
    path = tmp_path / "villages.jsonl"
    path.write_bytes(b"\n".join(orjson.dumps(r) for r in rows))
    with Session(engine) as session, session.begin():
        workspace_id = workspaces.create(session, slug="acme").id
    import_file(engine, path, workspace="acme")
    with Session(engine) as session:
        found = leaders.leaders(session, workspace_id, MARCH)
    # 7 people: x is on every path between the 3 on one side and the 3 on the other, 9 of the 15 pairs.
    assert found.bridges[0].name == "x"
    assert found.bridges[0].betweenness == 0.6
    assert found.bridges[0].communities_reached == 2
    assert {p.name for p in found.bridges} <= {"x", "a1", "b1"}
    assert sorted(found.communities) in ([3, 3], [3, 4])


def test_a_large_graph_s_betweenness_is_sampled_and_still_finds_the_bridge(monkeypatch: pytest.MonkeyPatch) -> None:
    # Two groups of 20 where everyone answers everyone, joined through one person (40).
    clique = [(a, b) for a in range(20) for b in range(20) if a != b]
    weights = Counter(clique + [(a + 20, b + 20) for a, b in clique] + [(40, 0), (40, 20)])
    exact = measure(weights)
    monkeypatch.setattr("pilote.leaders.scores.WORK", 100)
    monkeypatch.setattr("pilote.leaders.scores.MIN_SOURCES", 10)
    sampled = measure(weights)
    assert sampled.sampled
    assert not exact.sampled
    assert max(sampled.scores, key=lambda n: sampled.scores[n].betweenness) == 40
    assert sampled.scores[40].betweenness == pytest.approx(exact.scores[40].betweenness, rel=0.35)
    assert exact.community_sizes[:2] == [21, 20] or exact.community_sizes[:2] == [20, 21]
    assert measure(weights).scores == sampled.scores  # seeded: the same graph gives the same figures


def test_mentions_and_quotes_are_read_from_the_text_and_the_sources_fields() -> None:
    text = "thanks @Lea and u/max_42, write to lea@example.org or @noe@piaille.fr."
    assert named(text, "", "reply").mentioned == {"user:lea", "user:max_42", "user:noe@piaille.fr"}
    toot = {
        "account": {"acct": "lea", "url": "https://piaille.fr/@lea"},
        "mentions": [{"acct": "max", "url": "https://piaille.fr/@max"}, {"acct": "sam@other.example"}],
    }
    found = named("", orjson.dumps(toot).decode(), "reply")
    assert found.mentioned == {"user:max@piaille.fr", "user:sam@other.example"}
    boost = {"account": {"acct": "lea"}, "reblog": {"account": {"acct": "max@piaille.fr"}, "mentions": []}}
    assert named("", orjson.dumps(boost).decode(), "share").quoted == {"user:max@piaille.fr"}
    post = {"record": {"text": "see", "facets": [{"features": [{"$type": "app.bsky.richtext.facet#mention",
            "did": "did:plc:abc"}]}], "embed": {"$type": "app.bsky.embed.record", "record": {
            "uri": "at://did:plc:xyz/app.bsky.feed.post/3k"}}}}  # fmt: skip
    found = named("see", orjson.dumps(post).decode(), "share")  # a quote
    assert (found.mentioned, found.quoted) == ({"did:plc:abc"}, {"did:plc:xyz"})
    tweet = {"entities": {"user_mentions": [{"id_str": "1234", "screen_name": "lea"}]}}
    assert named("", orjson.dumps(tweet).decode(), "post").mentioned == {"id:1234"}


def test_the_command_and_the_api_give_the_same_lists(
    settings: Settings, engine: Engine, town: int, env_for: Callable[[Settings], None]
) -> None:
    env_for(settings)
    dates = ["--since", "2026-03-01T00:00:00+00:00", "--until", "2026-04-01T00:00:00+00:00"]
    result = CliRunner().invoke(app, ["leaders", "--workspace", "acme", *dates, "--json"])
    assert result.exit_code == 0, result.output
    printed = orjson.loads(result.stdout)
    assert [p["name"] for p in printed["detractors"]] == ["bob"]
    assert printed["interactions"] == {"reply": 10, "mention": 1, "quote": 0}
    table = CliRunner().invoke(app, ["leaders", "--workspace", "acme", *dates])
    assert "Ambassadors" in table.stdout
    assert "Bridges: in touch with several sub-communities" in table.stdout  # said even when nobody is one
    with Session(engine) as session, session.begin():
        token, _ = tokens.create(session, workspace=workspaces.get(session, slug="acme"), name="tests")
    with TestClient(create_app(settings, engine)) as client:
        query = {"since": "2026-03-01T00:00:00Z", "until": "2026-04-01T00:00:00Z"}
        served = client.get("/api/v1/leaders", params=query, headers={"Authorization": f"Bearer {token}"})
        assert served.status_code == 200, served.text
        for name in ("ambassadors", "detractors", "bridges", "rising"):
            assert [(p["id"], p["influence"]) for p in served.json()[name]] == [
                (p["id"], p["influence"]) for p in printed[name]
            ]
        assert client.get("/api/v1/leaders", params=query).status_code == 401
        wrong = client.get("/api/v1/leaders", params={"period": "1y"}, headers={"Authorization": f"Bearer {token}"})
        assert wrong.status_code == 422
    refused = CliRunner().invoke(app, ["leaders", "--workspace", "acme", "--period", "7d", "--since", "2026-03-01"])
    assert refused.exit_code == 1
    assert "not both" in refused.stderr


def handles(engine: Engine) -> dict[int, str]:
    """Node → handle, in lower case, in a store without merges."""
    with Session(engine) as session:
        return {-author_id: handle.lower() for author_id, handle in session.execute(select(Author.id, Author.handle))}


def graph_of(engine: Engine) -> tuple[dict[str, Counter[tuple[str, str]]], leaders.Leaders]:
    with Session(engine) as session:
        workspace_id = workspaces.get(session, slug="acme").id
        span = leaders.window(session, workspace_id, period="all")
        found = interactions(session, workspace_id, span.since, span.until)
        lists = leaders.leaders(session, workspace_id, span)
    who = handles(engine)
    named_edges = {kind: Counter({(who[a], who[b]): n for (a, b), n in counts.items()})
                   for kind, counts in found.edges.items()}  # fmt: skip
    return named_edges, lists


@pytest.mark.realdata
def test_the_real_reddit_thread_s_reply_graph_is_the_one_its_parent_ids_give(shared: Path, engine: Engine) -> None:
    path = shared / "reddit" / "announcements_n49rw_comments.csv"
    with Session(engine) as session, session.begin():
        workspaces.create(session, slug="acme")
    import_file(engine, path, workspace="acme")
    with path.open(encoding="utf-8", newline="") as file:
        comments = list(csv.DictReader(file))
    author = {c["id"]: c["author"].lower() for c in comments}
    expected: Counter[tuple[str, str]] = Counter()
    for c in comments:
        parent = author.get(c["parent_id"].removeprefix("t1_"))
        if parent and "[deleted]" not in (parent, author[c["id"]]) and parent != author[c["id"]]:
            expected[(author[c["id"]], parent)] += 1
    edges, lists = graph_of(engine)
    assert edges["reply"] == expected
    assert sum(expected.values()) == 666  # of the 893 replies: the rest answer a deleted author or themselves
    assert all(a in author.values() and b in author.values() for a, b in edges["mention"])
    assert lists.people >= len({person for pair in expected for person in pair})
    assert lists.rising == []  # all time: nothing before
    assert len(lists.communities) >= 2


def qualified(account: dict[str, str]) -> str:
    acct = account["acct"]
    return (acct if "@" in acct else f"{acct}@{urlsplit(account['url']).hostname}").lower()


@pytest.mark.realdata
def test_the_real_mastodon_context_gives_its_replies_and_mentions_between_its_authors(
    shared: Path, engine: Engine
) -> None:
    path = shared / "mastodon" / "get_context_default.json"
    with Session(engine) as session, session.begin():
        workspaces.create(session, slug="acme")
    import_file(engine, path, workspace="acme", format="mastodon_json")
    statuses = orjson.loads(path.read_bytes())["descendants"]
    writer = {s["id"]: qualified(s["account"]) for s in statuses}
    replies: Counter[tuple[str, str]] = Counter()
    mentions: Counter[tuple[str, str]] = Counter()
    for s in statuses:
        me, answered = writer[s["id"]], writer.get(s["in_reply_to_id"])
        if answered and answered != me:
            replies[(me, answered)] += 1
        named_ones = {qualified(m) for m in s["mentions"]} & set(writer.values())
        mentions.update((me, other) for other in named_ones - {me, answered})
    edges, lists = graph_of(engine)
    assert (edges["reply"], edges["mention"]) == (replies, mentions)
    assert sum(replies.values()) == 16
    # The toot's author, named in nearly every reply, is its most influential person.
    with Session(engine) as session:
        workspace_id = workspaces.get(session, slug="acme").id
        measured = measure(interactions(session, workspace_id, lists.since, lists.until).weights())
    top = max(measured.scores, key=lambda node: measured.scores[node].influence)
    assert handles(engine)[top] == "austinkocher@mastodon.social"
