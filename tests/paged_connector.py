"""A platform of the tests' own, as a module like the real connectors: numbered pages of JSON items over HTTP.

`pages(count, per_page)` makes the answers of the local peer (tests/api_peer.py); the cursor is the next
page's number. The workers' test registers it in worker processes through tests/paged_worker.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from api_peer import Answer, Request
from pilote.sources.base import Account, Action, Done, Item, Page, Setting, SourceInfo, person
from pilote.sources.http import HttpClient

name = "paged"
description = "numbered pages of JSON items (tests)"
settings = (Setting("base", "the API's address"), Setting("token", "an access token", secret=True))
actions: tuple[str, ...] = ()
T0 = datetime(2026, 11, 1, tzinfo=UTC)


def describe(account: Account) -> SourceInfo:
    return SourceInfo("paged", account.get("base"), "Paged API", "paged:test", account.get("base"))


def fetch(client: HttpClient, account: Account, cursor: Mapping[str, Any]) -> Page:
    page = int(cursor.get("page", 0))
    body = client.get_json(account.get("base") + "/items", params={"page": page})
    items = [
        Item(
            external_id=str(d["id"]),
            kind="comment",
            created_at=T0 + timedelta(minutes=int(d["id"])),
            raw=str(d),
            text=d["text"],
            author=person(name=d["who"], handle=d["who"]),
        )
        for d in body["items"]
    ]
    return Page(items, {"page": page + 1}, more=bool(body["more"]))


def act(client: HttpClient, account: Account, action: Action) -> Done:
    raise NotImplementedError("the tests' platform takes no action")


def pages(count: int, per_page: int) -> list[dict[str, Any]]:
    """`count` pages of `per_page` items, with texts in French and English and a few authors."""
    words = ("Le vélo est arrivé cassé, remboursez-moi", "Great service, thanks a lot", "Quand ouvrez-vous ?")
    return [
        {
            "items": [
                {"id": n, "text": f"{words[n % 3]} ({n})", "who": f"user{n % 40}"}
                for n in range(p * per_page, (p + 1) * per_page)
            ],
            "more": p + 1 < count,
        }
        for p in range(count)
    ]


def responder(served: list[dict[str, Any]]) -> Any:
    """The peer's answer to GET /items?page=N."""

    def respond(request: Request) -> Answer:
        page = int(request.arg("page") or 0)
        return Answer(served[page] if page < len(served) else {"items": [], "more": False})

    return respond
