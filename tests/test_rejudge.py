"""A message stored after newer ones gets those newer ones judged again: their history changed under them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import partial

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from factories import target
from pilote import intake, jobs, rollups, traces
from pilote.community import SPAM_THRESHOLD
from pilote.ingest import Target, write_batch
from pilote.models import Enrichment, InboxItem, Message, Rollup, extras
from pilote.sources.base import AuthorRef, Item
from pilote.views import explorer

# A name that is a web address: the rule a first comment doubles (enrich/spam.py), on words a member could write.
SHOP = "velo-conseil.example.com"
WORDS = "Bonne idée de comparer les batteries, le moteur compte aussi."
BASE = (datetime.now(UTC) - timedelta(hours=6)).replace(minute=0, second=0, microsecond=0)  # within the inbox's reach


def comment(key: str, name: str, text: str, minutes: int, post: str = "p1") -> Item:
    author = AuthorRef(key=f"name:{name.lower()}", handle=name, name=name)
    return Item(external_id=key, kind="comment", created_at=BASE + timedelta(minutes=minutes), raw=f"{key}|{text}",
                text=text, parent_external_id=post, thread_external_id=post, author=author)  # fmt: skip


def posts() -> list[Item]:
    editor = AuthorRef(key="name:rédaction", handle="Rédaction", name="Rédaction")
    texts = {"p1": "Nos conseils pour choisir un vélo électrique : batterie, moteur, freins.",
             "p2": "Entretenir son vélo électrique en hiver : la batterie craint le froid."}  # fmt: skip
    return [Item(external_id=k, kind="post", created_at=BASE - timedelta(days=1), raw=k, text=text, author=editor)
            for k, text in texts.items()]  # fmt: skip


def bring(engine: Engine, t: Target, items: list[Item]) -> None:
    """What every import and sync does: the intake, then the analysis a job runs."""
    intake.write(engine, t, items, batch_size=100)
    intake.finish(engine, workspace_id=t.workspace_id, source_id=t.source_id, changed=True,
                  analyse=partial(jobs.analyse, engine))  # fmt: skip


def judged(engine: Engine, workspace_id: int) -> dict[str, tuple[float, list[str], datetime]]:
    """Each message's spam probability, reason codes and the time its analysis was written, by external id."""
    query = (
        select(Message.external_id, Message.spam_probability, Enrichment.value, Enrichment.updated_at)
        .join(Enrichment, Enrichment.message_id == Message.id)
        .where(Message.workspace_id == workspace_id)
    )
    with Session(engine) as session:
        rows = session.execute(query).all()
    return {k: (p, [code for code, _ in extras(v, "spam")["reasons"]], at) for k, p, v, at in rows}


def spam_at(engine: Engine, workspace_id: int, minutes: int) -> int:
    """The dashboards' count of spam in the hour of BASE + minutes."""
    hour = rollups.hour_of(BASE + timedelta(minutes=minutes))
    with engine.connect() as conn:
        query = select(func.coalesce(func.sum(Rollup.count), 0)).where(
            Rollup.workspace_id == workspace_id, Rollup.series == "spam", Rollup.hour == hour, Rollup.key == "spam"
        )
        return int(conn.scalar(query) or 0)


def item_of(engine: Engine, external_id: str) -> InboxItem:
    with Session(engine) as session:
        first = session.scalar(select(Message.id).where(Message.external_id == external_id))
        return session.scalars(select(InboxItem).where(InboxItem.first_message_id == first)).one()


def test_an_older_comment_imported_later_gets_the_newer_one_judged_again(engine: Engine) -> None:
    t = target(engine)
    newer = comment("newer", SHOP, WORDS, 60)
    other = comment("other", "Claire", "Je roule tous les jours avec, la batterie tient bien l'hiver.", 65)
    bring(engine, t, [*posts(), newer, other])
    before = judged(engine, t.workspace_id)
    assert "first_comment" in before["newer"][1]
    assert before["newer"][0] >= SPAM_THRESHOLD  # the first comment tips it over: spam
    assert spam_at(engine, t.workspace_id, 60) == 1
    assert "spam" in item_of(engine, "newer").reasons.split(",")

    older = comment("older", SHOP, "Le moteur central est plus agréable en montée, à mon avis.", 0, post="p2")
    bring(engine, t, [older])
    after = judged(engine, t.workspace_id)
    assert "first_comment" not in after["newer"][1]
    assert "first_comment" in after["older"][1]
    assert after["newer"][0] < before["newer"][0]
    assert after["newer"][2] > before["newer"][2]  # analysed again
    assert after["other"] == before["other"]  # another author's message is not judged again
    assert spam_at(engine, t.workspace_id, 60) == 0  # the dashboards follow
    item = item_of(engine, "newer")
    assert "spam" not in item.reasons.split(",")  # and so does the inbox, without a second item for it
    assert item.spam_probability == after["newer"][0]

    # The same judgement as a store that held both from the start, in time order, gives.
    fresh = target(engine, "fresh", "other.example.org")
    bring(engine, fresh, [*posts(), comment("older", SHOP, older.text, 0, post="p2"), newer, other])
    assert judged(engine, fresh.workspace_id)["newer"][:2] == after["newer"][:2]


def test_a_person_s_spam_label_still_wins_over_the_judgement_made_again(engine: Engine) -> None:
    t = target(engine)
    bring(engine, t, [*posts(), comment("newer", SHOP, WORDS, 60)])
    with Session(engine) as session, session.begin():
        newer = session.scalars(select(Message.id).where(Message.external_id == "newer")).one()
        explorer.label(session, newer, "spam", "spam", "camille")
    before = judged(engine, t.workspace_id)["newer"]
    bring(engine, t, [comment("older", SHOP, "Le moteur central est plus agréable en montée.", 0, post="p2")])
    after = judged(engine, t.workspace_id)["newer"]
    assert before[0] >= SPAM_THRESHOLD > after[0]  # the model changed its mind...
    assert spam_at(engine, t.workspace_id, 60) == 1  # ...but the person's label decides
    assert "spam" in item_of(engine, "newer").reasons.split(",")


def test_the_messages_an_arrival_changes_are_those_its_traces_reach_and_no_others(engine: Engine) -> None:
    t = target(engine)
    shop = "https://chaussures-discount.example/"

    def by(key: str, name: str, minutes: int, post: str, url: str | None = None, text: str = "Bon article.") -> Item:
        author = AuthorRef(key=f"name:{name}", handle=name, name=name, url=url)
        return Item(external_id=key, kind="comment", created_at=BASE + timedelta(minutes=minutes), raw=key, text=text,
                    parent_external_id=post, thread_external_id=post, author=author)  # fmt: skip

    stored = [
        by("same-thread", "b", 20, "p1", shop),  # the arrival's thread: no burst with it
        by("in-window", "c", 50, "p2", shop),  # another thread within the hour after it
        by("too-late", "d", 75, "p2", shop),  # more than an hour after it
        by("before", "e", -5, "p2", shop),  # before it: its history cannot hold it
        by("linked", "f", 30, "p2", text="Voir https://bons-plans.example/velo"),  # another author, same domain
        by("alice-first", "alice", 40, "p2"),  # alice's first comment until the arrival
        by("alice-later", "alice", 45, "p2"),  # already not her first
        by("stranger", "g", 10, "p2"),
    ]
    arrival = by("arrival", "alice", 10, "p1", shop, "Voir https://bons-plans.example/velo")
    with engine.begin() as conn:
        write_batch(conn, t, [*posts(), *stored])
        write_batch(conn, t, [arrival])
    with Session(engine) as session:
        ids = {key: i for key, i in session.execute(select(Message.external_id, Message.id))}
        found = traces.later(session.connection(), [ids["arrival"]])
    assert {key for key, i in ids.items() if i in found} == {"in-window", "linked", "alice-first"}
