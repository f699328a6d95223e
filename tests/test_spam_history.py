"""The spam judgement reads what the store held before each message: bursts from one address, a first comment."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from factories import T0, target
from pilote import traces
from pilote.enrich import classifiers
from pilote.enrich.pipeline import run
from pilote.ingest import write_batch
from pilote.messages import SPAM_THRESHOLD
from pilote.models import Enrichment, Message, MessageTrace, extras
from pilote.sources.base import AuthorRef, Item, email_hash

SHOP = "https://chaussures-discount.example/"
POSTS = {
    "semelles": "Nos conseils pour choisir des chaussures de randonnée : la pointure, la tige, la semelle.",
    "gr20": "Le GR20 en dix jours : notre carnet de route, étape par étape, avec les refuges.",
    "bivouac": "Bivouac en montagne : ce que dit la loi et ce que nous emportons dans le sac.",
    "vanoise": "Trois boucles en Vanoise pour un premier été en montagne, avec les dénivelés.",
}
# One shop's robot, a new name each time, on four posts within half an hour: on-topic words, nothing to sell.
ROBOT = [
    ("semelles", "Marie", "La semelle compte plus que la tige, on le voit sur les sentiers caillouteux cet été."),
    ("gr20", "Paul", "Le GR20 reste une belle aventure, les refuges sont bien tenus et les étapes variées."),
    ("bivouac", "Léa", "Le bivouac en montagne demande un peu de préparation, les règles changent selon les parcs."),
    ("vanoise", "Tom", "La Vanoise offre de très belles boucles, les dénivelés restent raisonnables pour débuter."),
]
CLAIRE = "Je marche en tiges basses depuis dix ans sans entorse : la tige haute est-elle vraiment utile en été ?"


def comment(key: str, post: str, name: str, text: str, minutes: int, url: str | None, email: str | None) -> Item:
    author = AuthorRef(key=f"name:{name.lower()}", handle=name, name=name, url=url, email_hash=email_hash(email))
    return Item(external_id=key, kind="comment", created_at=T0 + timedelta(minutes=minutes), raw=f"{key}|{text}",
                text=text, parent_external_id=post, thread_external_id=post, author=author)  # fmt: skip


def blog(engine: Engine, comments: list[Item]) -> int:
    """A blog with the four posts and these comments, analysed; its workspace's id."""
    t = target(engine)
    editor = AuthorRef(key="name:rédaction", handle="Rédaction", name="Rédaction")
    posts = [Item(external_id=key, kind="post", created_at=T0 - timedelta(days=1), raw=key, text=text, author=editor)
             for key, text in POSTS.items()]  # fmt: skip
    with engine.begin() as conn:
        write_batch(conn, t, [*posts, *comments])
    run(engine, [classifiers.SPAM], workspace_id=t.workspace_id)
    return t.workspace_id


def judged(engine: Engine) -> dict[str, tuple[float, list[str]]]:
    """Each comment's spam probability and reason codes, by external id."""
    query = (
        select(Message.external_id, Message.spam_probability, Enrichment.value)
        .join(Enrichment, Enrichment.message_id == Message.id)
        .where(Message.kind == "comment")
    )
    with Session(engine) as session:
        rows = session.execute(query).all()
    return {key: (p, [code for code, _ in extras(v, "spam")["reasons"]]) for key, p, v in rows}


def test_a_burst_of_comments_from_one_shop_s_address_under_new_names_is_caught(engine: Engine) -> None:
    blog(engine, [comment(f"c{i}", post, name, text, 10 * i, SHOP, None) for i, (post, name, text) in
                  enumerate(ROBOT)])  # fmt: skip
    found = judged(engine)
    assert "burst" not in found["c0"][1]  # nothing from the shop before it: the first one reads as it is
    assert "burst" not in found["c1"][1]  # one other post before it is no burst yet
    for later in ("c2", "c3"):
        probability, reasons = found[later]
        assert probability >= SPAM_THRESHOLD
        assert {"burst", "first_comment"} <= set(reasons)
    assert found["c3"][0] > found["c0"][0]


def test_a_regular_member_s_first_comment_is_not_spam_nor_are_her_replies_in_one_conversation(
    engine: Engine,
) -> None:
    url, email = "https://claire-rando.example", "claire@rando.example"
    replies = [comment(f"r{i}", "semelles", "Claire", f"{CLAIRE} Réponse {i} : j'ai essayé vos conseils.", 5 + i,
                       url, email) for i in range(1, 4)]  # fmt: skip
    blog(engine, [comment("first", "semelles", "Claire", CLAIRE, 0, url, email), *replies])
    found = judged(engine)
    probability, reasons = found["first"]
    assert probability < SPAM_THRESHOLD
    assert "first_comment" not in reasons  # a first comment alone weighs nothing
    assert all("burst" not in found[f"r{i}"][1] for i in range(1, 4))  # one thread: a conversation


def test_the_history_counts_only_what_was_written_before_each_message(engine: Engine) -> None:
    robot = [comment(f"c{i}", post, name, text, 10 * i, SHOP, None) for i, (post, name, text) in enumerate(ROBOT)]
    links = [comment(f"l{i}", "gr20", name, f"Voir https://bons-plans.example/gr20?x={i}", 60 + i, None, None)
             for i, name in enumerate(("Anne", "Bruno", "Chloé"))]  # fmt: skip
    blog(engine, [*reversed(robot), *links])  # stored in the reverse order of their times
    with Session(engine) as session:
        ids = {key: id_ for key, id_ in session.execute(select(Message.external_id, Message.id))}
        history = traces.history(session.connection(), list(ids.values()))
        assert session.scalar(select(MessageTrace.kind).where(MessageTrace.message_id == ids["c0"])) == traces.AUTHOR
    assert [history[ids[f"c{i}"]].burst for i in range(4)] == [0, 1, 2, 3]
    assert [history[ids[f"l{i}"]].shared_links for i in range(3)] == [0, 1, 2]
    assert history[ids["c3"]].first is True


def test_a_deleted_message_takes_its_traces_with_it(engine: Engine) -> None:
    blog(engine, [comment("c0", "semelles", "Marie", ROBOT[0][2], 0, SHOP, "marie@shop.example")])
    with Session(engine) as session, session.begin():
        assert session.scalar(select(MessageTrace.message_id).limit(1)) is not None
        session.execute(Message.__table__.delete())
    with Session(engine) as session:
        assert session.scalar(select(MessageTrace.message_id).limit(1)) is None
