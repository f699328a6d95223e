"""Every word in the reader's language: errors, incident titles, log lines, error pages and numbers on French pages,
no command-line flag on any page, and the catalogue of the services' words complete."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from babel.numbers import format_decimal
from fastapi.testclient import TestClient
from lxml import html as lxml_html
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from accounts_support import sign_in
from pilote import rollups, texts
from pilote.config import Settings
from pilote.db import session_factory
from pilote.errors import BadInput, NotFound
from pilote.models import Message, Workspace
from pilote.radar import incidents, notify, rules, words
from pilote.radar.incidents import Candidate
from pilote.simulate import simulate
from pilote.web import i18n
from pilote.web.app import create_app

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "pilote"
WEB = PACKAGE / "web"
FLAG = re.compile(r"(?<![\w-])--[a-z][\w-]*")
GROUPED = re.compile(r"(?<![\d,])[1-9]\d{0,2}(?:,\d{3})+(?![\d,])")


@pytest.fixture
def demo(sqlite_settings: Settings, sqlite_engine: Engine) -> Iterator[TestClient]:
    """A small demo week, served in-process, with one live incident (its notifications have nobody to go to)."""
    simulate(sqlite_engine, workspace="demo", days=7, members=50, seed=5)
    with Session(sqlite_engine) as session, session.begin():
        space_id = session.scalars(select(Workspace.id).where(Workspace.slug == "demo")).one()
        rollups.rebuild(session.connection(), space_id)
        now = datetime.now(UTC)
        candidate = Candidate(space_id, "negative", now - timedelta(minutes=10), 42.0, 4.0, 0.9, "medium")
        incidents.raise_alert(session, candidate, rule=rules.DEFAULT, now=now)
    with TestClient(create_app(sqlite_settings, sqlite_engine)) as client:
        sign_in(client)
        yield client


def french(client: TestClient) -> TestClient:
    client.cookies.set(i18n.LANGUAGE_COOKIE, "fr")
    return client


def english_thousands(text: str) -> list[str]:
    """Numbers grouped the English way ("12,000"), not French decimals ("61,617" is 61.617 in French)."""
    return [n for n in GROUPED.findall(text) if format_decimal(float(n.replace(",", ".")), locale="fr") != n]


def said(response: object) -> str:
    """The words a person reads on a page (scripts and the data of charts left out)."""
    tree = lxml_html.fromstring(response.text)  # type: ignore[attr-defined]
    for node in tree.xpath("//script | //style"):
        node.drop_tree()
    return " ".join(tree.text_content().split())


def test_a_missing_message_is_said_in_french_on_a_french_page(demo: TestClient) -> None:
    page = french(demo).get("/w/demo/threads/99999999")
    assert page.status_code == 404
    assert "aucun message 99999999" in said(page)
    assert "no message" not in said(page)


def test_an_unknown_address_is_an_error_page_in_the_reader_s_language(demo: TestClient) -> None:
    english = demo.get("/w/demo/nowhere/at/all")
    assert english.status_code == 404
    assert "There is no page at this address." in said(english)
    page = french(demo).get("/w/demo/nowhere/at/all")
    assert page.status_code == 404
    assert "<html" in page.text
    assert "Il n’y a pas de page à cette adresse." in said(page)


def test_a_malformed_address_is_refused_in_french_on_an_error_page(demo: TestClient) -> None:
    page = french(demo).get("/w/demo/threads/not-a-number")
    assert page.status_code == 422
    assert "une valeur de l’adresse ou du formulaire n’est pas valide : message_id" in said(page)


def test_a_file_of_unknown_format_is_refused_in_french_without_a_flag(demo: TestClient) -> None:
    page = french(demo).post("/w/demo/sources/import", files={"file": ("notes.txt", b"just some words\n")})
    assert page.status_code == 422
    text = said(page)
    assert "notes.txt : format inconnu (choisissez son format dans la liste, parmi : wxr" in text
    assert FLAG.search(text) is None, FLAG.search(text)
    demo.cookies.set(i18n.LANGUAGE_COOKIE, "en")
    english = demo.post("/w/demo/sources/import", files={"file": ("notes.txt", b"just some words\n")})
    assert "notes.txt: unknown format (choose its format in the list, one of: wxr" in said(english)


def test_a_csv_in_another_encoding_is_refused_in_french_with_what_to_do_on_the_page(demo: TestClient) -> None:
    content = "id,date,text\n1,2026-03-01T10:00:00+00:00,déjà vu\n".encode("latin-1")
    page = french(demo).post("/w/demo/sources/import", files={"file": ("export.csv", content)})
    assert page.status_code == 422
    text = said(page)
    assert "export.csv : ligne 2 : pas du texte utf-8 valide" in text
    assert "(enregistrez de nouveau le fichier en UTF-8)" in text
    assert FLAG.search(text) is None


def test_a_failed_sync_is_said_in_french_on_the_sources_page(demo: TestClient) -> None:
    """The failure is stored once (with its English text for the command line); each reader gets their words."""
    french(demo).post("/w/demo/sources/feeds", data={"url": "http://127.0.0.1:9/feed"})
    page = demo.get("/w/demo/sources")
    assert "127.0.0.1 est à 127.0.0.1, une adresse privée ou locale : Pilote ne lit que des adresses publiques" in said(
        page
    )
    demo.cookies.set(i18n.LANGUAGE_COOKIE, "en")
    english = demo.get("/w/demo/sources")
    assert "127.0.0.1 is at 127.0.0.1, a private or local address" in said(english)


def test_an_incident_its_log_and_its_series_are_in_french(demo: TestClient) -> None:
    listing = french(demo).get("/w/demo/incidents")
    assert "Afflux de messages négatifs" in said(listing)
    [room] = re.findall(r'href="(/w/demo/incidents/\d+)"', listing.text)[:1]
    text = said(demo.get(room))
    assert "Afflux de messages négatifs" in text
    assert "messages négatifs : 42 pour 4 attendus (10,5×), gravité moyenne" in text
    assert "Surge of" not in text
    assert "against" not in text
    demo.cookies.set(i18n.LANGUAGE_COOKIE, "en")
    english = said(demo.get(room))
    assert "negative messages: 42 against 4 expected (10.5×), severity medium" in english


def test_dates_are_written_the_way_of_the_readers_region() -> None:
    day = datetime(2026, 12, 7, 15, 30, tzinfo=UTC)
    british = i18n.formatter({}, "en-GB,en;q=0.9")
    american = i18n.formatter({}, "en-US,en;q=0.9")
    assert (british.language, british.locale, american.locale) == ("en", "en_GB", "en_US")
    assert british.day(day, "short") == "07/12/2026"
    assert american.day(day, "short") == "12/7/26"
    assert i18n.formatter({}, "fr").day(day, "short") == "07/12/2026"
    assert i18n.formatter({i18n.LANGUAGE_COOKIE: "fr"}, "en-GB").locale == "fr"  # no region of the chosen language
    for hostile in ("en-" + "x" * 5000, "en-ZZ-<script>", "en-GB;q=0", "en-", "-GB", ",,,;;;"):
        assert i18n.formatter({}, hostile).locale == "en"


def test_french_pages_group_thousands_the_french_way() -> None:
    formatter = i18n.Formatter(language="fr", tz=UTC)
    assert formatter.number(12000) == "12\u202f000"
    assert i18n.Formatter(language="en", tz=UTC).number(12000) == "12,000"


def test_no_page_names_a_command_line_flag_nor_groups_thousands_the_english_way_in_french(demo: TestClient) -> None:
    with Session(demo.app.state.engine) as session:  # type: ignore[attr-defined]
        message = session.scalars(select(Message).order_by(Message.id).limit(1)).one()
    addresses = ["/w/demo/", "/w/demo/?period=90d", "/w/demo/explorer", "/w/demo/sources", "/w/demo/members",
                 "/w/demo/health", "/w/demo/incidents", f"/w/demo/threads/{message.id}", "/w/nowhere/",
                 "/w/demo/threads/99999999", "/w/demo/nowhere"]  # fmt: skip
    for language in ("fr", "en"):
        demo.cookies.set(i18n.LANGUAGE_COOKIE, language)
        for address in addresses:
            text = said(demo.get(address))
            assert FLAG.search(text) is None, (language, address, FLAG.search(text))
            if language == "fr":
                assert english_thousands(text) == [], address


def test_no_template_names_a_command_line_flag() -> None:
    found = {path.name: FLAG.findall(path.read_text()) for path in (WEB / "templates").glob("*.html")}
    assert {name: flags for name, flags in found.items() if flags} == {}


def test_a_page_drops_the_command_line_s_hint_and_says_what_to_do_there() -> None:
    error = BadInput("exports/notes.txt", None, "unknown format", "pass --format, one of: %(known)s",
                     web="choose its format in the list, one of: %(known)s", known="wxr, rss")  # fmt: skip
    assert str(error) == "exports/notes.txt: unknown format (pass --format, one of: wxr, rss)"  # the command line's
    page = i18n.Formatter(language="fr", tz=UTC).error(error)
    assert page == "exports/notes.txt : format inconnu (choisissez son format dans la liste, parmi : wxr, rss)"
    unconverted = NotFound("no incident 3: see `pilote incident list --json`")
    assert i18n.Formatter(language="en", tz=UTC).error(unconverted) == "no incident 3"


def test_every_word_of_the_services_has_a_french_translation() -> None:
    from babel.messages.extract import extract_from_dir
    from babel.messages.pofile import read_po

    with (PACKAGE / "locale/fr/LC_MESSAGES/pilote.po").open("rb") as handle:
        catalogue = read_po(handle, locale="fr")
    found = {
        message[2]
        for message in extract_from_dir(PACKAGE, [("**.py", "python")], keywords={"N_": None},
                                        directory_filter=lambda path: Path(path).name not in ("web", "migrations"))
    }  # fmt: skip
    untranslated = [msgid for msgid in found if not (catalogue.get(msgid) and catalogue.get(msgid).string)]
    assert len(found) > 200
    assert untranslated == []


@pytest.mark.parametrize("language", ["en", "fr"])
def test_the_compiled_catalogue_of_the_services_matches_its_source(language: str) -> None:
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    folder = PACKAGE / "locale" / language / "LC_MESSAGES"
    with (folder / "pilote.po").open("rb") as po:
        source = read_po(po, locale=language)
    compiled = io.BytesIO()
    write_mo(compiled, source)
    assert (folder / "pilote.mo").read_bytes() == compiled.getvalue()


def test_a_stored_english_text_finds_its_template_again() -> None:
    assert texts.recognise("Surge of “vélo”", words.SAID) == ("Surge of “%(phrase)s”", {"phrase": "vélo"})
    line = "keyphrase:vélo: 12 against 3.0 expected (4.0×), severity high"
    assert texts.recognise(line, words.SAID) == (words.ALERT, {
        "series": "keyphrase:vélo", "value": "12", "expected": "3.0", "times": "4.0×", "severity": "high"})  # fmt: skip
    assert texts.recognise("a note someone wrote", words.SAID) is None


def test_the_package_ships_the_catalogue_of_the_services() -> None:
    import tomllib
    from fnmatch import fnmatch

    patterns = tomllib.loads((PACKAGE.parents[1] / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    wanted = [str(path.relative_to(PACKAGE)) for path in (PACKAGE / "locale").glob("*/LC_MESSAGES/*")]
    assert len(wanted) == 4
    assert [name for name in wanted if not any(fnmatch(name, p) for p in patterns["pilote"])] == []


def test_the_health_page_s_units_formulas_and_notes_are_in_french(demo: TestClient) -> None:
    page = french(demo).get("/w/demo/health")
    text = said(page)
    assert "par abonné : les " in text  # the demo's social account has follower counts
    assert "abonnés : le dernier nombre de la période" in text
    assert "membres engagés" in text
    assert "commentaires/publication" in text
    assert "not computed" not in text
    assert "commentaires sur les publications de la période" in page.text  # a formula, on hover


def test_the_problems_kept_with_an_import_are_said_in_french(demo: TestClient) -> None:
    """A run keeps its skipped rows' problems as English text (the command line shows them); a page finds their
    templates again."""
    content = b"id,date,text\n1,2026-03-01T10:00:00+00:00,first\n,2026-03-01T11:00:00+00:00,no id here\n"
    french(demo).post("/w/demo/sources/import", files={"file": ("export.csv", content)})
    text = said(demo.get("/w/demo/sources"))
    assert "ligne 3 : pas d’id : ignoré" in text
    assert "no id: skipped" not in text


def test_an_alert_s_failed_delivery_is_said_in_french_in_the_crisis_room(demo: TestClient) -> None:
    engine = demo.app.state.engine  # type: ignore[attr-defined]
    with Session(engine) as session, session.begin():
        space_id = session.scalars(select(Workspace.id).where(Workspace.slug == "demo")).one()
        rules.add_recipient(session, workspace_id=space_id, kind="email", target="oncall@example.org")
        now = datetime.now(UTC)
        candidate = Candidate(space_id, "mentions", now - timedelta(minutes=5), 900.0, 4.0, 0.99, "high")
        incident_id = incidents.raise_alert(session, candidate, rule=rules.DEFAULT, now=now).incident_id
    notify.deliver_due(session_factory(engine), demo.app.state.settings, now=datetime.now(UTC))  # type: ignore[attr-defined]
    text = said(french(demo).get(f"/w/demo/incidents/{incident_id}"))
    assert "pas de serveur SMTP : réglez PILOTE_SMTP_HOST" in text
    assert "nouvel essai prévu" in text


def test_a_kept_file_problem_is_said_again_part_by_part() -> None:
    gettext = i18n.translations("fr").gettext
    assert texts.said_again("a.csv: line 3: no id: skipped", gettext) == "a.csv : ligne 3 : pas d’id : ignoré"
    kept = "b.json: line 2: malformed JSON: Expecting value (the file is damaged or truncated: take it again)"
    assert texts.said_again(kept, gettext) == (
        "b.json : ligne 2 : JSON mal formé : Expecting value (the file is damaged or truncated: take it again)"
    )  # a hint that is not ours stays as it is
    assert texts.said_again("a note: someone wrote it", gettext) is None


def test_a_merge_s_evidence_is_said_again_in_french() -> None:
    formatter = i18n.Formatter(language="fr", tz=UTC)
    kept = "'Marie D.' is the first name and an initial of 'Marie Dupont', both writing in 3 of the same conversations"
    assert formatter.said(kept) == (
        "'Marie D.' est le prénom et une initiale de 'Marie Dupont', les deux écrivant dans 3 des mêmes conversations"
    )
    assert formatter.said("same e-mail address") == "même adresse e-mail"


def test_an_error_s_record_holds_plain_values_only() -> None:
    """A record is stored as JSON with a source's state: an exception among the values is kept as its text."""
    error = BadInput("a.json", None, "not valid text: %(error)s", "check the encoding", error=ValueError("bad byte"))
    assert json.loads(json.dumps(error.record()))["params"] == {"error": "bad byte"}
