"""Whom a message names: the people it mentions and the post it quotes or shares, as author keys.

Author keys are those the importers give (`sources.base.person` and the connectors), so a key found here is
looked up among the workspace's authors of the same channel; a name that no author of the store carries is
nobody the graph knows, and is dropped there. What each source keeps:

- Mastodon: the status's `mentions` (accounts, qualified `user@instance`), and the boosted status's account;
- Bluesky: the record's mention facets (DIDs) and the quoted post's author (the DID in its `at://` uri);
- an X archive: the tweet's `entities.user_mentions` (account ids);
- any text: `@handle` and Reddit's `u/handle` (keys `user:handle`, as imports of CSV files and Reddit make them).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from pilote.sources.bluesky_posts import quoted
from pilote.sources.mastodon_status import handle as mastodon_handle

# `@name` (or `@name@instance`) not preceded by a word character, so that an e-mail address is not a mention; or
# Reddit's `u/name` and `/u/name`.
TEXT_MENTION = re.compile(r"(?:(?<![\w@.])@|(?<![\w/])/?u/)(\w[\w.-]{0,63}(?:@\w[\w-]*(?:\.[\w-]+)+)?)")
MAYBE_NAMES = ("@", "u/")  # a message whose text holds neither names nobody (SQL prefilter, see graph.py)


@dataclass(slots=True)
class Named:
    """The author keys a message mentions, and the one whose post it quotes or shares."""

    mentioned: set[str] = field(default_factory=set)
    quoted: set[str] = field(default_factory=set)


def named(text: str, raw: str, kind: str) -> Named:
    """Whom one message names, from its text and, where a source keeps them, its raw payload's fields."""
    found = Named(mentioned={f"user:{name.rstrip('.').lower()}" for name in TEXT_MENTION.findall(text or "")})
    payload = _object(raw)
    if payload is None:
        return found
    found.mentioned.update(_mastodon_mentions(payload))
    found.mentioned.update(_bluesky_mentions(payload))
    found.mentioned.update(_x_mentions(payload))
    if kind == "share":
        found.quoted.update(_shared(payload))
    return found


def _object(raw: str) -> dict[str, Any] | None:
    if not raw or raw[:1] != "{":
        return None
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def _dicts(value: Any) -> Iterator[Mapping[str, Any]]:
    if isinstance(value, list):
        yield from (entry for entry in value if isinstance(entry, dict))


def _mastodon_mentions(status: Mapping[str, Any]) -> Iterator[str]:
    boosted = status.get("reblog")
    body: Mapping[str, Any] = boosted if isinstance(boosted, dict) else status
    for account in _dicts(body.get("mentions")):
        name = mastodon_handle(account)
        if name:
            yield f"user:{name.lower()}"


def _bluesky_mentions(view: Mapping[str, Any]) -> Iterator[str]:
    record = view.get("record")
    if not isinstance(record, dict):
        return
    for facet in _dicts(record.get("facets")):
        for feature in _dicts(facet.get("features")):
            did = feature.get("did")
            if str(feature.get("$type", "")).endswith("#mention") and isinstance(did, str):
                yield did


def _x_mentions(tweet: Mapping[str, Any]) -> Iterator[str]:
    entities = tweet.get("entities")
    if isinstance(entities, dict):
        for mention in _dicts(entities.get("user_mentions")):
            account = mention.get("id_str") or mention.get("id")
            if isinstance(account, str | int) and str(account).isdigit():
                yield f"id:{account}"


def _shared(payload: Mapping[str, Any]) -> Iterator[str]:
    """The author of a boosted Mastodon status, or of the post a Bluesky post quotes."""
    boosted = payload.get("reblog")
    if isinstance(boosted, dict) and isinstance(boosted.get("account"), dict):
        name = mastodon_handle(boosted["account"])
        if name:
            yield f"user:{name.lower()}"
    record = payload.get("record")
    if isinstance(record, dict):
        uri = quoted(record)
        if uri:
            yield uri.removeprefix("at://").split("/", 1)[0]
