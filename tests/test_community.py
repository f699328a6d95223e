"""The community's rules, once: Python and SQL say the same thing about every message."""

from __future__ import annotations

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from factories import item, target
from pilote import community
from pilote.ingest import write_batch
from pilote.models import Label, Message

# (external id, spam probability, labels as (name, value, origin))
CASES = (
    ("model-spam", 0.9, ()),
    ("model-ham", 0.1, ()),
    ("not-analysed", None, ()),
    ("person-says-ham", 0.9, (("spam", "ham", "user"),)),
    ("person-over-import", 0.1, (("spam", "ham", "import"), ("spam", "spam", "user"))),
    ("moderator-status", 0.1, (("status", "spam", "import"),)),
    ("status-but-ham-label", 0.9, (("status", "spam", "import"), ("spam", "ham", "user"))),
    ("unknown-origin-ranks-last", 0.1, (("spam", "spam", "robot"), ("spam", "ham", "import"))),
)


def test_a_person_s_label_wins_and_unknown_origins_rank_last() -> None:
    rows = [(1, "spam", "spam", "import"), (1, "spam", "ham", "user"), (2, "spam", "spam", "robot"),
            (2, "spam", "ham", "import"), (3, "intent", "question", "robot")]  # fmt: skip
    assert community.winning(rows) == {1: {"spam": "ham"}, 2: {"spam": "ham"}, 3: {"intent": "question"}}


def test_spam_is_decided_by_a_label_then_a_moderator_then_the_model() -> None:
    assert community.spam({"spam": "ham", "status": "spam"}, 0.99) is False
    assert community.spam({"status": "spam"}, 0.01) is True
    assert community.spam({}, 0.5) is True
    assert community.spam({}, 0.49) is False
    assert community.spam({}, None) is None
    assert community.spam({}, 0.9, threshold=None) is None  # the radar when the team does not trust the model
    assert community.decided({"intent": "question"}, "intent", "praise") == "question"
    assert community.decided({}, "intent", "praise") == "praise"


def test_the_sql_rules_say_what_the_python_rules_say(engine: Engine) -> None:
    where = target(engine)
    with engine.begin() as conn:
        write_batch(conn, where, [item(name, minutes=i) for i, (name, _, _) in enumerate(CASES)])
    with Session(engine) as session, session.begin():
        ids: dict[str, int] = {e: i for e, i in session.execute(select(Message.external_id, Message.id))}
        for name, probability, labels in CASES:
            session.execute(update(Message).where(Message.id == ids[name]).values(spam_probability=probability))
            session.add_all(Label(message_id=ids[name], name=n, value=v, origin=o) for n, v, o in labels)
    with Session(engine) as session:
        decided = community.labels_of(session, list(ids.values()))
        expected = {name: community.spam(decided.get(ids[name], {}), p) for name, p, _ in CASES}
        spam = set(session.scalars(select(Message.external_id).where(community.is_spam(True))))
        ham = set(session.scalars(select(Message.external_id).where(community.is_spam(False))))
        kept = set(session.scalars(select(Message.external_id).where(community.not_spam())))
    assert spam == {name for name, value in expected.items() if value is True}
    assert ham == {name for name, value in expected.items() if value is False}
    assert kept == {name for name, value in expected.items() if value is not True}
    assert expected["moderator-status"] is True
    assert expected["status-but-ham-label"] is False
    assert expected["unknown-origin-ranks-last"] is False
