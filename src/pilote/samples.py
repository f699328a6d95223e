"""Synthetic export files of any size, for tests and benchmarks (no third-party text)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from xml.sax.saxutils import escape

import orjson

WORDS = [
    "merci",
    "livraison",
    "vélo",
    "batterie",
    "question",
    "réponse",
    "super",
    "problème",
    "commande",
    "retard",
    "équipe",
    "service",
    "thanks",
    "delivery",
    "bike",
    "battery",
    "question",
    "answer",
    "great",
    "issue",
    "order",
    "late",
    "team",
    "support",
    "love",
    "broken",
    "frein",
    "roue",
    "selle",
    "guidon",
    "lumière",
    "chaîne",
    "wheel",
    "saddle",
    "light",
    "chain",
    "brake",
    "quick",
    "slow",
    "price",
    "prix",
]
START = datetime(2025, 1, 1, tzinfo=UTC)


def sentence(rng: random.Random, words: int = 14) -> str:
    """A nonsense but varied sentence from a small bilingual vocabulary."""
    return " ".join(rng.choice(WORDS) for _ in range(words)).capitalize() + "."


def write_jsonl(path: Path, count: int, *, seed: int = 1, reply_share: float = 0.5) -> Path:
    """`count` messages, about `reply_share` of them replies to an earlier one."""
    rng = random.Random(seed)
    with path.open("wb") as handle:
        for index in range(count):
            record: dict[str, object] = {
                "id": f"m{index}",
                "created_at": (START + timedelta(seconds=index * 7)).isoformat(),
                "author": f"user{int(rng.paretovariate(1.2)) % 50_000}",
                "text": sentence(rng),
                "likes": rng.randrange(50),
            }
            if index and rng.random() < reply_share:
                record["parent_id"] = f"m{rng.randrange(index)}"
            handle.write(orjson.dumps(record) + b"\n")
    return path


def write_wxr(path: Path, posts: int, comments_per_post: int, *, seed: int = 1, version: str = "1.2") -> Path:
    """A WordPress export with `posts` posts, each with threaded comments."""
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8") as handle:
        handle.write(_wxr_head(version))
        comment_id = 0
        for post in range(1, posts + 1):
            handle.write(_wxr_post(post, rng))
            first = comment_id + 1
            for _ in range(comments_per_post):
                comment_id += 1
                parent = rng.randrange(first, comment_id) if comment_id > first and rng.random() < 0.4 else 0
                handle.write(_wxr_comment(comment_id, parent, post, rng))
            handle.write("\t</item>\n")
        handle.write("</channel>\n</rss>\n")
    return path


def _wxr_head(version: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8" ?>\n<rss version="2.0"\n'
        f' xmlns:excerpt="http://wordpress.org/export/{version}/excerpt/"\n'
        ' xmlns:content="http://purl.org/rss/1.0/modules/content/"\n'
        ' xmlns:dc="http://purl.org/dc/elements/1.1/"\n'
        f' xmlns:wp="http://wordpress.org/export/{version}/">\n<channel>\n'
        "\t<title>Le blog de test</title>\n\t<link>https://blog.example.org</link>\n"
        f"\t<wp:wxr_version>{version}</wp:wxr_version>\n"
    )


def _wxr_post(post: int, rng: random.Random) -> str:
    date = (START + timedelta(days=post)).strftime("%Y-%m-%d %H:%M:%S")
    return (
        f"\t<item>\n\t\t<title>{escape(sentence(rng, 5))}</title>\n"
        f"\t\t<link>https://blog.example.org/?p={post}</link>\n\t\t<dc:creator>editor</dc:creator>\n"
        f"\t\t<content:encoded><![CDATA[<p>{sentence(rng, 40)}</p>]]></content:encoded>\n"
        f"\t\t<wp:post_id>{post}</wp:post_id>\n\t\t<wp:post_date_gmt>{date}</wp:post_date_gmt>\n"
        "\t\t<wp:status>publish</wp:status>\n\t\t<wp:post_type>post</wp:post_type>\n"
    )


def _wxr_comment(comment: int, parent: int, post: int, rng: random.Random) -> str:
    date = (START + timedelta(days=post, minutes=comment % 1440)).strftime("%Y-%m-%d %H:%M:%S")
    author = f"Lecteur {int(rng.paretovariate(1.2)) % 5000}"
    return (
        f"\t\t<wp:comment>\n\t\t\t<wp:comment_id>{comment}</wp:comment_id>\n"
        f"\t\t\t<wp:comment_author><![CDATA[{author}]]></wp:comment_author>\n"
        f"\t\t\t<wp:comment_author_email>{author.replace(' ', '.').lower()}@example.org</wp:comment_author_email>\n"
        f"\t\t\t<wp:comment_date_gmt>{date}</wp:comment_date_gmt>\n"
        f"\t\t\t<wp:comment_content><![CDATA[{sentence(rng)}]]></wp:comment_content>\n"
        "\t\t\t<wp:comment_approved>1</wp:comment_approved>\n\t\t\t<wp:comment_type></wp:comment_type>\n"
        f"\t\t\t<wp:comment_parent>{parent}</wp:comment_parent>\n\t\t</wp:comment>\n"
    )
