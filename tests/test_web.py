from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from pilote.config import Settings
from pilote.imports import import_file
from pilote.samples import write_wxr
from pilote.web.app import create_app


def test_the_home_page_shows_each_workspace_counts(settings: Settings, engine: Engine, tmp_path: Path) -> None:
    import_file(engine, write_wxr(tmp_path / "blog.xml", posts=2, comments_per_post=3))
    with TestClient(create_app(settings, engine)) as client:
        page = client.get("/")
        api = client.get("/api/v1/stats").json()
    assert page.status_code == 200
    assert "default" in page.text
    assert "<strong>8</strong> messages" in page.text
    assert api[0]["messages"] == 8
    assert api[0]["by_kind"]["post"] == 2


def test_an_empty_store_says_how_to_start(sqlite_settings: Settings, sqlite_engine: Engine) -> None:
    with TestClient(create_app(sqlite_settings, sqlite_engine)) as client:
        page = client.get("/")
    assert "pilote import FILE" in page.text
    assert "pilote simulate" in page.text


def test_pages_forbid_inline_script_and_escape_names(
    sqlite_settings: Settings, sqlite_engine: Engine, tmp_path: Path
) -> None:
    path = write_wxr(tmp_path / "blog.xml", posts=1, comments_per_post=1)
    path.write_text(
        path.read_text().replace(
            "<title>Le blog de test</title>", "<title>&lt;script&gt;alert(1)&lt;/script&gt;</title>"
        )
    )
    import_file(sqlite_engine, path)
    with TestClient(create_app(sqlite_settings, sqlite_engine)) as client:
        page = client.get("/")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;alert(1)" in page.text


def test_styles_come_from_a_static_file_because_the_policy_forbids_inline_ones(
    sqlite_settings: Settings, sqlite_engine: Engine
) -> None:
    with TestClient(create_app(sqlite_settings, sqlite_engine)) as client:
        page = client.get("/").text
        css = client.get("/static/pilote.css")
    assert "<style" not in page
    assert 'href="/static/pilote.css"' in page
    assert css.status_code == 200
    assert "font" in css.text
