"""Inbox rules: checked strictly, compiled once, run by the intake on every new message in order (stop ends it),
previewed on the last days exactly as they would act; notifications reach a local SMTP server. On SQLite and
PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from datetime import timedelta
from email import message_from_bytes
from email import policy as email_policy
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from accounts_support import Mailbox, sign_in, smtp_peer
from factories import T0, analysed, item, target
from pilote import community, workspaces
from pilote.accounts import users
from pilote.cli import app
from pilote.config import Settings
from pilote.db import session_factory
from pilote.errors import NotFound
from pilote.inbox import conditions, intake, items, rules
from pilote.inbox.conditions import Facts, RuleError
from pilote.inbox.items import COMMAND_LINE
from pilote.ingest import Target
from pilote.models import (
    AuditEntry,
    Author,
    Delivery,
    InboxEvent,
    InboxItem,
    InboxRule,
    Label,
    Workspace,
)
from pilote.radar import notify
from pilote.web.app import create_app

NOW = T0 + timedelta(days=1)
PASSWORD = "a long enough password"


def write(engine: Engine, where: Target, items_: Iterable[Any], **judged: dict[str, Any]) -> dict[str, int]:
    return analysed(engine, where, items_, NOW, **judged)


def rule(name: str, conditions_: list[Any], actions: list[Any], **flags: Any) -> dict[str, Any]:
    return {"name": name, "conditions": conditions_, "actions": actions} | flags


def add(engine: Engine, where: Target, *specs: dict[str, Any]) -> list[int]:
    with Session(engine) as session, session.begin():
        return [rules.create(session, where.workspace_id, spec, COMMAND_LINE).id for spec in specs]


def all_items(engine: Engine) -> list[InboxItem]:
    with Session(engine) as session:
        return list(session.scalars(select(InboxItem).order_by(InboxItem.id)))


def tags(engine: Engine) -> dict[int, list[str]]:
    with Session(engine) as session:
        return items.tags_of(session, [i.id for i in all_items(engine)])


def member(engine: Engine, where: Target, email: str, role: str) -> int:
    with Session(engine) as session, session.begin():
        space = session.get_one(Workspace, where.workspace_id)
        return users.create(session, email=email, password=PASSWORD, role=role, workspace=space).id


def facts(**given: Any) -> Facts:
    base: dict[str, Any] = {"channel": "blog:x", "source_id": 1, "language": "fr", "sentiment": "neutral",
                            "intent": "other", "kind": "reply", "reasons": frozenset({"comment"}), "spam": 0.1,
                            "toxicity": 0.0}  # fmt: skip
    return Facts(**(base | given))


def matches(condition: dict[str, Any], **given: Any) -> bool:
    spec = conditions.parse(rule("r", [condition], [{"type": "hide"}]))
    return conditions.compile_rule(spec)(facts(**given))


# --- checking ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "field", "words"),
    [
        (rule("", [], [{"type": "hide"}]), "name", "name"),
        (rule("r", [{"key": "colour", "in": ["red"]}], [{"type": "hide"}]), "conditions.0", "key among"),
        (rule("r", [{"key": "sentiment", "in": ["angry"]}], [{"type": "hide"}]), "conditions.0 (sentiment)", "angry"),
        (rule("r", [{"key": "spam", "min": 1.5}], [{"type": "hide"}]), "conditions.0 (spam)", "between 0 and 1"),
        (rule("r", [{"key": "spam", "min": 0.9, "max": 0.2}], [{"type": "hide"}]), "conditions.0 (spam)", "above"),
        (rule("r", [{"key": "keywords"}], [{"type": "hide"}]), "conditions.0 (keywords)", "give words"),
        (rule("r", [{"key": "author", "in": ["team"]}], [{"type": "hide"}]), "conditions.0 (author)", "'team'"),
        (rule("r", [{"key": "kind", "in": ["post"], "op": "="}], [{"type": "hide"}]), "conditions.0 (kind)", "'op'"),
        (rule("r", [{"any": [{"key": "kind", "in": ["post"]}]}], [{"type": "hide"}]), "conditions.0", "two"),
        (rule("r", [{"key": "kind", "in": ["post"]}] * 9, [{"type": "hide"}]), "conditions", "8 at most"),
        (rule("r", [], []), "actions", "at least one"),
        (rule("r", [], [{"type": "hide"}] * 7), "actions", "6 at most"),
        (rule("r", [], [{"type": "explode"}]), "actions.0", "type among"),
        (rule("r", [], [{"type": "priority", "priority": "huge"}]), "actions.0 (priority)", "low, normal"),
        (rule("r", [], [{"type": "status", "status": "snoozed"}]), "actions.0 (status)", "one of"),
        (rule("r", [], [{"type": "tag", "tags": ["a b!"]}]), "actions.0 (tag)", "letters"),
        (rule("r", [], [{"type": "notify", "email": "nobody"}]), "actions.0 (notify)", "e-mail address"),
        (rule("r", [], [{"type": "notify", "email": "a@b.org", "user": 3}]), "actions.0 (notify)", "one of"),
        (rule("r", [], [{"type": "assign", "to": []}]), "actions.0 (assign)", "'to'"),
    ],
)
def test_a_rule_is_checked_strictly_and_the_error_names_the_condition_or_action(
    spec: dict[str, Any], field: str, words: str
) -> None:
    with pytest.raises(RuleError) as caught:
        conditions.parse(spec)
    assert caught.value.field == field
    assert words in str(caught.value)


def test_a_checked_rule_reads_back_as_the_same_json() -> None:
    given = rule("Urgent refunds", [
        {"key": "intent", "in": ["complaint"]},
        {"any": [{"key": "sentiment", "in": ["negative"]}, {"key": "toxicity", "min": 0.5}]},
        {"key": "keywords", "any": ["Remboursé", "refund"], "none": ["merci"]},
        {"key": "language", "in": ["en"], "not": True},
    ], [{"type": "priority", "priority": "urgent"}, {"type": "tag", "tags": ["refund"]}], stop=True)  # fmt: skip
    shown = conditions.as_json(conditions.parse(given))
    assert shown == given | {"enabled": True}
    assert conditions.parse(shown) == conditions.parse(given)


def test_each_condition_holds_on_what_it_names() -> None:
    assert matches({"key": "channel", "in": ["blog:x"]})
    assert not matches({"key": "channel", "in": ["x"]})
    assert matches({"key": "source", "in": [1, 2]})
    assert not matches({"key": "source", "in": [2]})
    assert matches({"key": "language", "in": ["fr"]})
    assert not matches({"key": "language", "in": ["fr"], "not": True})
    assert matches({"key": "language", "in": ["fr"], "not": True}, language=None)
    assert matches({"key": "sentiment", "in": ["negative"]}, sentiment="negative")
    assert not matches({"key": "intent", "in": ["question"]})
    assert matches({"key": "reason", "in": ["question", "comment"]})
    assert matches({"key": "kind", "in": ["reply"]})
    assert not matches({"key": "kind", "in": ["post"]})
    assert matches({"key": "spam", "min": 0.8}, spam=0.8)
    assert not matches({"key": "spam", "min": 0.8}, spam=0.79)
    assert matches({"key": "spam", "max": 0.2})
    assert not matches({"key": "spam", "max": 0.2}, spam=None)
    assert matches({"key": "toxicity", "min": 0.5, "max": 0.9}, toxicity=0.7)
    assert not matches({"key": "toxicity", "min": 0.5, "max": 0.9}, toxicity=0.95)
    assert matches({"key": "author", "in": ["new"]}, levels=frozenset({"new"}))
    assert not matches({"key": "author", "in": ["top"]}, levels=frozenset({"returning"}))
    group = {"any": [{"key": "sentiment", "in": ["negative"]}, {"key": "spam", "min": 0.9}]}
    assert matches(group, spam=0.95)
    assert matches(group, sentiment="negative")
    assert not matches(group)


def test_keywords_in_french_ignore_case_and_accents_and_match_whole_words_and_phrases() -> None:
    def text(value: str) -> dict[str, Any]:
        return {"text": conditions.fold(value)}

    refund = {"key": "keywords", "any": ["remboursé", "vélo électrique"]}
    assert matches(refund, **text("Je veux être REMBOURSE tout de suite"))
    assert matches(refund, **text("Mon Vélo\nÉlectrique est cassé"))
    assert not matches(refund, **text("remboursement demandé"))  # a whole word, not a part of one
    assert not matches(refund, **text("un vélo, électrique"))
    both = {"key": "keywords", "all": ["livraison", "retard"], "none": ["merci"]}
    assert matches(both, **text("Retard de LIVRAISON !"))
    assert not matches(both, **text("retard de livraison, merci"))
    assert not matches(both, **text("livraison rapide"))
    overlapping = {"key": "keywords", "all": ["très bien", "bien joué"]}  # phrases sharing a word
    assert matches(overlapping, **text("Très bien joué"))


# --- applying ---------------------------------------------------------------------------------------------


def conversation(engine: Engine, where: Target) -> dict[str, int]:
    """A blog post by the team and four comments by four people (each opens an item)."""
    ids = write(engine, where, [
        item("post", "Nouveau vélo", author="blog"),
        item("c1", "Je veux être remboursé, c'est inadmissible", parent="post", thread="post", minutes=5),
        item("c2", "Quand est-ce livré ?", parent="post", thread="post", minutes=6, author="bob"),
        item("c3", "Achetez des montres pas chères", parent="post", thread="post", minutes=7, author="spammer"),
        item("c4", "Super article", parent="post", thread="post", minutes=8, author="carol"),
    ], c1={"intent": "complaint", "sentiment": "negative", "spam_probability": 0.1},
        c2={"intent": "question", "spam_probability": 0.2}, c3={"spam_probability": 0.97},
        c4={"sentiment": "positive", "spam_probability": 0.05})  # fmt: skip
    with Session(engine) as session, session.begin():
        blog = session.scalar(select(Author.id).where(Author.handle == "blog"))
        community.mark_team(session.connection(), where.workspace_id, [blog])
    return ids


def test_rules_act_on_new_items_during_the_intake_in_order_and_stop_ends_the_evaluation(engine: Engine) -> None:
    where = target(engine)
    conversation(engine, where)
    first, second, third = add(
        engine, where,
        rule("Refunds", [{"key": "keywords", "any": ["rembourse"]}],
             [{"type": "priority", "priority": "urgent"}, {"type": "tag", "tags": ["refund"]}], stop=True),
        rule("Questions and refunds", [{"key": "reason", "in": ["question", "complaint"]}],
             [{"type": "tag", "tags": ["to-answer"]}, {"type": "priority", "priority": "low"}]),
        rule("Spam", [{"key": "spam", "min": 0.9}], [{"type": "spam"}, {"type": "hide"}]),
    )  # fmt: skip
    report = intake.take_new(engine, where.workspace_id, now=NOW)
    assert report.opened == 4
    alice, bob, spammer, carol = all_items(engine)
    found = tags(engine)
    assert (alice.priority, found[alice.id]) == (3, ["refund"])  # the first rule stopped the second
    assert alice.due_at == alice.opened_at + timedelta(hours=1)  # its due time follows its priority
    assert (bob.priority, found[bob.id]) == (0, ["to-answer"])
    assert (spammer.status, spammer.hidden, spammer.due_at) == ("spam", True, None)
    assert (carol.status, carol.priority, carol.id in found) == ("new", 1, False)
    with Session(engine) as session:
        assert rules.fired(session, alice.id) == ["Refunds"]
        assert rules.fired(session, carol.id) == []
        labels = session.scalars(select(Label).where(Label.name == "spam")).all()
        assert labels == []  # a rule's spam is the item's status: only people's decisions train the models
        kinds = [(e.kind, orjson.loads(e.after or "{}").get("rule")) for e in items.history(session, spammer.id)]
        assert kinds == [("opened", None), ("status", third), ("hide", third)]
        opened = orjson.loads(items.history(session, alice.id)[0].after or "{}")
        assert opened["rules"] == [first]
        assert second not in opened["rules"]


def test_a_disabled_rule_does_nothing_and_rules_deleted_later_are_still_named(engine: Engine) -> None:
    where = target(engine)
    conversation(engine, where)
    write(engine, where, [item("c5", "Et aussi…", parent="post", thread="post", minutes=9)])  # alice again
    on, off = add(engine, where, rule("Everything", [], [{"type": "tag", "tags": ["seen"]}]),
                  rule("Off", [], [{"type": "hide"}], enabled=False))  # fmt: skip
    with Session(engine) as session, session.begin():  # a rule an older version took: left out, the others run
        session.add(InboxRule(workspace_id=where.workspace_id, name="Old", position=0, enabled=True,
                              conditions='[{"key": "mood", "in": ["x"]}]', actions='[{"type": "hide"}]'))  # fmt: skip
    intake.take_new(engine, where.workspace_id, now=NOW)
    assert all(not i.hidden for i in all_items(engine))
    assert all(t == ["seen"] for t in tags(engine).values())
    assert len(tags(engine)) == 4
    with Session(engine) as session, session.begin():
        rules.delete(session, where.workspace_id, on, COMMAND_LINE)
    with Session(engine) as session:
        assert rules.fired(session, all_items(engine)[0].id) == [f"rule {on} (deleted)"]
        assert [(r.name, r.id == off) for r in rules.get_all(session, where.workspace_id)] == [
            ("Old", False),
            ("Off", True),
        ]


def test_assign_shares_the_items_between_moderators_the_least_loaded_first(engine: Engine) -> None:
    where = target(engine)
    conversation(engine, where)
    ann, ben = (
        member(engine, where, "ann@example.org", "moderator"),
        member(engine, where, "ben@example.org", "manager"),
    )
    reader = member(engine, where, "ana@example.org", "analyst")
    with Session(engine) as session, session.begin(), pytest.raises(RuleError, match="cannot take items"):
        rules.create(session, where.workspace_id, rule("r", [], [{"type": "assign", "to": [reader]}]), COMMAND_LINE)
    add(engine, where, rule("Share", [], [{"type": "assign", "to": [ann, ben]}]))
    intake.take_new(engine, where.workspace_id, now=NOW)
    found = all_items(engine)
    assert [i.assignee_id for i in found] == [ann, ben, ann, ben]
    assert {i.status for i in found} == {"open"}  # an item taken by someone is open


def test_author_levels_new_returning_and_top(engine: Engine) -> None:
    where = target(engine)
    history = [item(f"h{n}", f"message {n}", minutes=-60 * 24 * 30 + n, author="regular") for n in range(25)]
    write(engine, where, [
        *history,
        item("old", "déjà venu", minutes=-60 * 24 * 40, author="bob"),
        item("p", "Nouveau vélo", author="blog"),
        item("a", "premier message", parent="p", thread="p", minutes=1, author="newcomer"),
        item("b", "encore moi", parent="p", thread="p", minutes=2, author="bob"),
        item("c", "toujours là", parent="p", thread="p", minutes=3, author="regular"),
    ])  # fmt: skip
    add(engine, where,
        rule("New", [{"key": "author", "in": ["new"]}], [{"type": "tag", "tags": ["new"]}]),
        rule("Returning", [{"key": "author", "in": ["returning"]}], [{"type": "tag", "tags": ["returning"]}]),
        rule("Top", [{"key": "author", "in": ["top"]}], [{"type": "tag", "tags": ["top"]}]))  # fmt: skip
    intake.take_new(engine, where.workspace_id, now=NOW)  # history older than 14 days opens no item
    with Session(engine) as session:
        by_author = {session.get_one(Author, i.author_id).handle: i.id for i in all_items(engine)}
    found = tags(engine)
    assert found[by_author["newcomer"]] == ["new"]
    assert found[by_author["bob"]] == ["returning"]
    assert found[by_author["regular"]] == ["returning", "top"]


# --- preview ----------------------------------------------------------------------------------------------


def test_the_preview_counts_what_applying_the_rule_does_to_the_same_messages(engine: Engine) -> None:
    where = target(engine)
    conversation(engine, where)
    ann = member(engine, where, "ann@example.org", "moderator")
    given = rule("Needs an answer", [{"key": "reason", "in": ["question", "complaint", "spam"]},
                                     {"key": "spam", "max": 0.5}, {"key": "language", "in": ["fr"], "not": True}],
                 [{"type": "assign", "to": [ann]}, {"type": "priority", "priority": "high"},
                  {"type": "tag", "tags": ["answer"]}, {"type": "notify", "email": "team@example.org"}])  # fmt: skip
    with Session(engine) as session:
        shown = rules.preview(session, where.workspace_id, given, days=30, now=NOW)
    # SQL left three comments: not the spam (over 0.5), nor the post (no probability; and the team's anyway)
    assert (shown.read, shown.matched) == (3, 2)
    assert [c["items"] for c in shown.changes] == [2, 1, 2, 2]  # the question was high already: one change
    assert shown.changes[0]["to"] == {str(ann): 2}
    assert [s["text"] for s in shown.sample] == ["Quand est-ce livré ?", "Je veux être remboursé, c'est inadmissible"]
    add(engine, where, given)
    intake.take_new(engine, where.workspace_id, now=NOW)
    taken = [i for i in all_items(engine) if i.assignee_id == ann]
    assert len(taken) == shown.matched
    with Session(engine) as session:
        moved = session.scalars(select(InboxEvent).where(InboxEvent.kind == "priority")).all()
        sent = session.scalars(select(Delivery)).all()
    assert len(moved) == shown.changes[1]["items"]
    assert sum(len(t) for t in tags(engine).values()) == shown.changes[2]["items"]
    assert len(sent) == shown.changes[3]["items"]


def test_the_preview_pushes_cheap_conditions_to_sql_with_the_same_answers_as_python(engine: Engine) -> None:
    where = target(engine)
    conversation(engine, where)
    for condition in ({"key": "language", "in": ["fr"], "not": True}, {"key": "spam", "min": 0.9},
                      {"key": "spam", "max": 0.9}, {"key": "kind", "in": ["reply"]},
                      {"key": "channel", "in": [where.channel]}, {"key": "source", "in": [where.source_id]},
                      {"key": "intent", "in": ["question"], "not": True}):  # fmt: skip
        spec = rule("r", [condition], [{"type": "hide"}])
        in_any = rule("r", [{"any": [condition, {"key": "kind", "in": ["nothing"]}]}], [{"type": "hide"}])
        with Session(engine) as session:
            pushed = rules.preview(session, where.workspace_id, spec, now=NOW).matched
            kept = rules.preview(session, where.workspace_id, in_any, now=NOW).matched  # groups stay in Python
        assert pushed == kept, condition


def test_a_preview_names_what_is_wrong_with_the_rule(engine: Engine) -> None:
    where = target(engine)
    with Session(engine) as session, pytest.raises(RuleError, match="no source 999"):
        rules.preview(session, where.workspace_id, rule("r", [{"key": "source", "in": [999]}], [{"type": "hide"}]))


# --- storage ----------------------------------------------------------------------------------------------


def test_rules_are_moved_switched_edited_and_audited(engine: Engine) -> None:
    where = target(engine)
    a, b, c = add(engine, where, *(rule(n, [], [{"type": "hide"}]) for n in "abc"))
    with Session(engine) as session, session.begin():
        rules.move(session, where.workspace_id, c, -1, COMMAND_LINE)
        rules.move(session, where.workspace_id, a, +5, COMMAND_LINE)
        rules.set_enabled(session, where.workspace_id, b, False, COMMAND_LINE)
        rules.update(session, where.workspace_id, b, rule("b2", [{"key": "kind", "in": ["post"]}],
                                                          [{"type": "hide"}], enabled=False), COMMAND_LINE)  # fmt: skip
    with Session(engine) as session:
        shown = [rules.as_json(r) for r in rules.get_all(session, where.workspace_id)]
        assert [(r["name"], r["position"], r["enabled"]) for r in shown] == [("c", 1, True), ("b2", 2, False),
                                                                              ("a", 3, True)]  # fmt: skip
        actions = [e.action for e in session.scalars(select(AuditEntry).where(AuditEntry.action.like("inbox rule%")))]
        assert actions.count("inbox rule create") == 3
        assert "inbox rule move" in actions
        assert "inbox rule disable" in actions
        assert "inbox rule edit" in actions
        with pytest.raises(NotFound):
            rules.get(session, where.workspace_id + 1, a)


# --- notifications ----------------------------------------------------------------------------------------


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    with smtp_peer() as peer:
        yield peer


LEAD = {"type": "notify", "email": "lead@example.org"}  # an address without an account
ANN = {"type": "notify", "user": "ann@example.org"}  # a member (her id put in when she exists)


@pytest.mark.parametrize(
    ("language", "name", "told", "sent_to", "subject", "said"),
    [
        pytest.param(None, "Refunds", [LEAD, ANN], [["ann@example.org"], ["lead@example.org"]],
                     "[Pilote] Refunds: inbox item ", ['Rule "Refunds" acted on inbox item'],
                     id="to-a-member-and-an-address"),
        pytest.param("fr", "Remboursements", [LEAD, {"type": "priority", "priority": "urgent"}], [["lead@example.org"]],
                     "[Pilote] Remboursements : élément ", ["La règle « Remboursements » a agi sur l’élément",
                     "priorité urgente"], id="in-the-workspace-s-language"),
    ],
)  # fmt: skip
def test_a_notify_action_sends_an_email_through_the_radar_s_deliveries_in_the_reader_s_language(
    engine: Engine,
    settings: Settings,
    smtp: tuple[Mailbox, int],
    language: str | None,
    name: str,
    told: list[dict[str, Any]],
    sent_to: list[list[str]],
    subject: str,
    said: list[str],
) -> None:
    mailbox, port = smtp
    where = target(engine)
    conversation(engine, where)
    ann = member(engine, where, "ann@example.org", "moderator")
    if language is not None:
        with Session(engine) as session, session.begin():
            workspaces.set_language(session, workspace_id=where.workspace_id, language=language)
    actions = [action | {"user": ann} if "user" in action else action for action in told]
    add(engine, where, rule(name, [{"key": "keywords", "any": ["remboursé"]}], actions))
    intake.take_new(engine, where.workspace_id, now=NOW)
    config = settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_sender": "inbox@x.org"})
    assert notify.deliver_due(session_factory(engine), config, now=NOW + timedelta(days=3650)) == len(sent_to)
    assert sorted(mailbox.recipients) == sent_to
    for sent in mailbox.messages:
        mail = message_from_bytes(sent.as_bytes(), policy=email_policy.default)
        assert str(mail["Subject"]).startswith(subject)
        body = mail.get_content()
        assert "Je veux être remboursé" in body
        for words in said:
            assert words in body
    with Session(engine) as session:
        delivered = session.scalars(select(Delivery)).all()
        assert {(d.status, d.incident_id, d.item_id) for d in delivered} == {("sent", None, all_items(engine)[0].id)}


def test_the_item_panel_names_the_rules_that_acted_on_it(sqlite_engine: Engine, sqlite_settings: Settings) -> None:
    where = target(sqlite_engine)
    conversation(sqlite_engine, where)
    (on,) = add(sqlite_engine, where, rule("Refunds <urgent>", [{"key": "keywords", "any": ["remboursé"]}],
                                           [{"type": "tag", "tags": ["refund"]}]))  # fmt: skip
    intake.take_new(sqlite_engine, where.workspace_id, now=NOW)
    alice, bob = all_items(sqlite_engine)[:2]
    with TestClient(create_app(sqlite_settings, sqlite_engine)) as client:
        sign_in(client)
        shown = client.get(f"/w/acme/inbox/{alice.id}").text
        assert f'href="/w/acme/inbox/rules#rule-{on}">Refunds &lt;urgent&gt;</a>' in shown
        assert "Rules that acted on it" not in client.get(f"/w/acme/inbox/{bob.id}").text
        with Session(sqlite_engine) as session, session.begin():
            rules.delete(session, where.workspace_id, on, COMMAND_LINE)
        client.cookies.set("pilote_lang", "fr")
        assert f"règle {on} (supprimée)" in client.get(f"/w/acme/inbox/{alice.id}").text


# --- command line -----------------------------------------------------------------------------------------


def test_the_command_line_adds_lists_moves_previews_edits_and_deletes_rules(
    engine: Engine, settings: Settings, env_for: Callable[[Settings], None], tmp_path: Path
) -> None:
    where = target(engine)
    conversation(engine, where)
    env_for(settings)
    runner = CliRunner()

    def run(*args: str) -> Any:
        return runner.invoke(app, ["inbox", "rules", *args], catch_exceptions=False)

    added = run("add", "--name", "Refunds", "--if", "intent=complaint", "--if", "keywords=Remboursé",
                "--if", "spam<=0.5", "--do", "priority=urgent", "--do", "tag=refund", "--stop", "--json")  # fmt: skip
    assert added.exit_code == 0, added.stderr
    first = json.loads(added.stdout)
    assert first["conditions"] == [{"key": "intent", "in": ["complaint"]}, {"key": "spam", "max": 0.5},
                                   {"key": "keywords", "any": ["Remboursé"]}]  # fmt: skip
    assert first["stop"] is True
    wrong = run("add", "--name", "Bad", "--if", "sentiment=angry", "--do", "hide")
    assert wrong.exit_code == 1
    assert "conditions.0 (sentiment)" in wrong.stderr
    spec = tmp_path / "spam.json"
    spec.write_text(json.dumps(rule("Spam", [{"key": "spam", "min": 0.9}], [{"type": "spam"}])))
    second = json.loads(run("add", "--file", str(spec), "--json").stdout)
    assert run("move", str(second["id"]), "--up").exit_code == 0
    listed = json.loads(run("list", "--json").stdout)["rules"]
    assert [r["name"] for r in listed] == ["Spam", "Refunds"]
    until = NOW.isoformat()
    shown = json.loads(run("preview", "--if", "keywords=remboursé", "--do", "hide", "--until", until, "--json").stdout)
    assert shown["matched"] == 1
    assert "remboursé" in shown["sample"][0]["text"]
    assert run("edit", str(first["id"]), "--disable").exit_code == 0
    assert run("delete", str(second["id"])).exit_code == 0
    assert [(r["name"], r["enabled"]) for r in json.loads(run("list", "--json").stdout)["rules"]] == [
        ("Refunds", False)
    ]
