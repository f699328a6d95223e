"""Every importer, end to end, against mutated files: a clear BadInput or a consistent store, never a crash."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from factories import mutate
from pilote.errors import BadInput
from pilote.imports import import_file
from pilote.models import ImportRun, Message

SAMPLES = {
    "wxr": """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:wp="http://wordpress.org/export/1.2/"><channel><link>https://b.example</link>
<item><title>Un billet</title><wp:post_id>1</wp:post_id><wp:post_date_gmt>2024-01-01 10:00:00</wp:post_date_gmt>
<wp:post_type>post</wp:post_type><wp:comment><wp:comment_id>5</wp:comment_id><wp:comment_author>Zoé</wp:comment_author>
<wp:comment_date_gmt>2024-01-02 10:00:00</wp:comment_date_gmt><wp:comment_content>Très bien</wp:comment_content>
<wp:comment_parent>0</wp:comment_parent></wp:comment></item></channel></rss>""",
    "disqus": """<?xml version="1.0"?>
<disqus xmlns="http://disqus.com" xmlns:dsq="http://disqus.com/disqus-internals">
<thread dsq:id="1"><forum>velo</forum><link>https://b.example/a</link><title>A</title>
<createdAt>2024-01-01T10:00:00Z</createdAt></thread>
<post dsq:id="2"><message>Bonjour</message><createdAt>2024-01-02T10:00:00Z</createdAt>
<author><name>Zoé</name></author><thread dsq:id="1"/></post></disqus>""",
    "rss": """<?xml version="1.0"?><rss version="2.0"><channel><title>B</title><link>https://b.example/</link>
<item><title>Un billet</title><link>https://b.example/p1</link><pubDate>Mon, 01 Jan 2024 10:00:00 +0000</pubDate>
<description>Bonjour à tous</description></item><item><title>Deux</title><link>https://b.example/p2</link>
<pubDate>Tue, 02 Jan 2024 10:00:00 +0000</pubDate><description>&lt;p&gt;Encore&lt;/p&gt;</description></item>
</channel></rss>""",
    "x_archive": """window.YTD.tweets.part0 = [ {"tweet": {"id_str": "11", "full_text": "Salut @velo",
"created_at": "Mon Jan 01 10:00:00 +0000 2024", "favorite_count": "3", "retweet_count": "0"}},
{"tweet": {"id_str": "12", "full_text": "Merci", "in_reply_to_status_id_str": "11",
"created_at": "Mon Jan 01 11:00:00 +0000 2024", "favorite_count": "0", "retweet_count": "0"}} ]""",
    "facebook_json": """[ {"timestamp": 1704103200, "data": [{"post": "Tr\\u00c3\\u00a8s bien"},
{"update_timestamp": 1704106800}], "title": "Zo\\u00c3\\u00a9 updated her status."},
{"timestamp": 1704106800, "attachments": [{"data": [{"media": {"uri": "posts/media/1_n.jpg",
"creation_timestamp": 1704106800, "description": "Merci"}}]}], "title": ""} ]""",
    "instagram_json": """[ {"media": [{"uri": "media/posts/202401/1_n.jpg", "creation_timestamp": 1704103200,
"title": "Tr\\u00c3\\u00a8s bien"}]}, {"media": [{"uri": "media/posts/202401/2_n.jpg", "creation_timestamp": 1704106800,
"title": ""}, {"uri": "media/posts/202401/3_n.jpg", "creation_timestamp": 1704106800, "title": ""}], "title": "Merci",
"creation_timestamp": 1704106800} ]""",
    "linkedin_csv": "Date,ShareLink,ShareCommentary,SharedUrl,MediaUrl,Visibility\r\n"
    '2024-01-01 10:00:00,https://www.linkedin.com/feed/update/urn%3Ali%3Ashare%3A71,"Très,\n""merci""",,,PUBLIC\r\n'
    "2024-01-01 11:00:00,,Merci,https://b.example/a,,CONNECTIONS\r\n",
    "jsonl": '{"id": "a", "created_at": "2024-01-01T10:00:00Z", "text": "Bonjour", "author": "zoe"}\n'
    '{"id": "b", "created_at": "2024-01-01T11:00:00Z", "text": "Merci", "parent_id": "a"}\n',
    "csv": "id,created_at,text,author\na,2024-01-01T10:00:00Z,Bonjour,zoe\n"
    'b,2024-01-01T11:00:00Z,"Merci,\nà demain",yann\n',
}
SUFFIX = {
    "wxr": ".xml", "disqus": ".xml", "rss": ".xml", "x_archive": ".js", "jsonl": ".jsonl", "csv": ".csv",
    "facebook_json": ".json", "instagram_json": ".json", "linkedin_csv": ".csv",
}  # fmt: skip


@pytest.mark.parametrize("fmt", sorted(SAMPLES))
def test_each_sample_imports_cleanly_so_that_mutations_start_from_a_valid_file(
    sqlite_engine: Engine, tmp_path: Path, fmt: str
) -> None:
    path = tmp_path / f"sample{SUFFIX[fmt]}"
    path.write_text(SAMPLES[fmt], encoding="utf-8")
    report = import_file(sqlite_engine, path, format=fmt)
    assert report.counts.new == 2
    assert report.counts.errors == 0


@pytest.mark.parametrize("fmt", sorted(SAMPLES))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    action=st.sampled_from(["truncate", "insert", "delete", "flip", "latin1"]),
    offset=st.integers(0, 5000),
    noise=st.binary(min_size=1, max_size=6),
)
def test_a_mutated_file_is_refused_cleanly_or_imported_consistently(
    sqlite_engine: Engine, tmp_path: Path, fmt: str, action: str, offset: int, noise: bytes
) -> None:
    path = tmp_path / f"mutated{SUFFIX[fmt]}"
    path.write_bytes(mutate(SAMPLES[fmt].encode(), action, offset, noise))
    with Session(sqlite_engine) as session:
        before = session.scalar(select(func.count()).select_from(Message)) or 0
        runs_before = session.scalar(select(func.count()).select_from(ImportRun)) or 0
    try:
        report = import_file(sqlite_engine, path, format=fmt)
    except BadInput as error:
        assert str(path) in str(error)
        with Session(sqlite_engine) as session:
            assert session.scalar(select(func.count()).select_from(Message)) == before
            assert session.scalar(select(func.count()).select_from(ImportRun)) == runs_before
        return
    with Session(sqlite_engine) as session:
        after = session.scalar(select(func.count()).select_from(Message)) or 0
        run = session.get_one(ImportRun, report.run_id)
    assert after - before == report.counts.new
    assert run.status == "completed"
