"""Real people's messages, presumed not spam, on which the spam judgement's false positives are counted.

Two sides that never share data (docs/evaluation.md):
- choosing: the training splits of UMSAB tweets (French, English) and of the Allociné reviews, and the tweets
  of the X archive (`tasks.MEMBERS`), which the head also learns from as ham;
- publishing: UMSAB validation tweets, Allociné dev reviews, one Reddit thread's comments, and the Mastodon and
  Bluesky posts of ../shared/data read by their importers (with their authors, their authors' pages and the post
  each one answers, as enrichment reads them). No choice reads these.
"Presumed": public corpora of real people may hold a few real spams (a bot's post, an advert), so a
false-positive rate measured on them is an upper bound.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

from pilote.enrich.datasets import Labelled, read, shared_folder
from pilote.enrich.features import Sample
from pilote.enrich.tasks import as_ham, members
from pilote.errors import BadInput
from pilote.sources import bluesky_json, mastodon_json
from pilote.sources.base import Item, ParseOptions

GONE = ("[deleted]", "[removed]")


CHOOSING = ("UMSAB fr train", "UMSAB en train", "Allociné train", "X archive")


def choosing(signed_by: list[Labelled]) -> dict[str, Labelled]:
    """The training side, signed with the names of `signed_by`'s ham (`tasks.signed`): each corpus by a short name."""
    return dict(zip(CHOOSING, members(shared_folder(), signed_by), strict=True))


def publishing() -> dict[str, Labelled]:
    """The held-out side: each corpus by a short name."""
    shared = shared_folder()
    tweets = shared / "sentiment_tweets"
    return {
        "UMSAB fr validation": as_ham(read(tweets / "french" / "val_text.txt")),
        "UMSAB en validation": as_ham(read(tweets / "english" / "val_text.txt")),
        "Allociné dev": as_ham(read(shared / "sentiment_allocine_tv" / "dev.tsv")),
        "Reddit thread": reddit(shared / "reddit" / "announcements_n49rw_comments.csv"),
        "Mastodon": posts(shared / "mastodon", mastodon_json),
        "Bluesky": posts(shared / "bluesky", bluesky_json),
    }


def reddit(path: Path) -> Labelled:
    """A thread's comments with their authors (a removed body is no one's message: left out)."""
    with path.open(encoding="utf-8", newline="") as file:
        rows = [row for row in csv.DictReader(file) if row["body"].strip() not in GONE]
    bodies = {row["id"]: row["body"] for row in rows}
    samples = [Sample(row["body"], _author(row["author"]), "", bodies.get(row["parent_id"][3:])) for row in rows]
    return Labelled("spam", samples, ["ham"] * len(samples), path)


def _author(name: str) -> str:
    return "" if name in GONE else name


def posts(folder: Path, importer: ModuleType) -> Labelled:
    """Every post of a folder of saved API answers, once, as its importer reads it."""
    items = {item.external_id: item for item in _items(folder, importer) if item.text.strip()}
    samples = [_sample(item, items) for item in items.values()]
    return Labelled("spam", samples, ["ham"] * len(samples), folder)


def _items(folder: Path, importer: ModuleType) -> Iterator[Item]:
    for path in sorted(folder.glob("*.json")):
        if not importer.sniff(path.read_bytes()[:4096], path):
            continue
        try:
            yield from (item for item in importer.parse(path, ParseOptions()) if isinstance(item, Item))
        except BadInput:  # a list of accounts, not posts
            continue


def _sample(item: Item, items: dict[str, Item]) -> Sample:
    author = item.author
    parent = items.get(item.parent_external_id or "")
    name = (author.name or author.handle) if author else ""
    return Sample(item.text, name, (author.url or "") if author else "", parent.text if parent else None)
