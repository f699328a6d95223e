"""The contract every importer follows, and the normalised item it yields."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from pilote.sources.http import HttpClient


@dataclass(slots=True, frozen=True)
class AuthorRef:
    """Who wrote an item, as the source knows them; `key` is stable within the channel."""

    key: str
    handle: str
    name: str | None = None
    url: str | None = None
    email_hash: str | None = None


@dataclass(slots=True, frozen=True)
class Counters:
    """Engagement counters at fetch time; None means the source does not say."""

    likes: int | None = None
    shares: int | None = None
    replies: int | None = None
    views: int | None = None


@dataclass(slots=True)
class Item:
    """One normalised message. `html` is untrusted: the store sanitises it."""

    external_id: str
    kind: str
    created_at: datetime
    raw: str
    text: str = ""
    html: str | None = None
    title: str | None = None
    url: str | None = None
    language: str | None = None
    parent_external_id: str | None = None
    thread_external_id: str | None = None
    author: AuthorRef | None = None
    edited_at: datetime | None = None
    counters: Counters | None = None
    labels: tuple[tuple[str, str], ...] = field(default_factory=tuple)


@dataclass(slots=True, frozen=True)
class ItemError:
    """One item that could not be read; the rest of the file still imports."""

    where: str
    problem: str


@dataclass(slots=True, frozen=True)
class SourceInfo:
    """Which source a file belongs to: re-exports of the same blog land in the same source."""

    kind: str
    key: str
    name: str
    channel: str
    url: str | None = None


@dataclass(slots=True, frozen=True)
class ParseOptions:
    """What the user can tell an importer: encoding, column mapping, source identity."""

    encoding: str = "utf-8"
    mapping: tuple[tuple[str, str], ...] = ()
    source_key: str | None = None


class ImportFormat(Protocol):
    """An importer: one module under pilote.sources, registered in pilote.sources.FORMATS."""

    name: str
    description: str

    def sniff(self, head: bytes, path: Path) -> bool:
        """Whether a file starting with `head` is in this format."""
        ...

    def describe(self, path: Path, options: ParseOptions) -> SourceInfo:
        """The source the file belongs to (reads only the head of the file)."""
        ...

    def parse(self, path: Path, options: ParseOptions) -> Iterator[Item | ItemError]:
        """Stream the items; raise BadInput for what makes the whole file unreadable."""
        ...


@runtime_checkable
class Countable(Protocol):
    """An importer that can check a whole file and count its entries faster than parsing it."""

    def count(self, path: Path, options: ParseOptions) -> int:
        """The number of entries, raising BadInput for whatever makes the file unreadable."""
        ...


def email_hash(email: str | None) -> str | None:
    """The SHA-256 of a normalised e-mail address: identifies without storing the address."""
    if not email or "@" not in email:
        return None
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


def person(
    *, name: str | None, email: str | None = None, url: str | None = None, handle: str | None = None
) -> AuthorRef | None:
    """An AuthorRef keyed by the most stable identifier known: handle, e-mail hash, then name."""
    digest = email_hash(email)
    name = (name or "").strip() or None
    handle = (handle or "").strip() or None
    if handle:
        key = f"user:{handle.lower()}"
    elif digest:
        key = f"email:{digest}"
    elif name:
        key = f"name:{name.lower()}"
    else:
        return None
    return AuthorRef(key=key, handle=handle or name or "anonymous", name=name, url=url or None, email_hash=digest)


MAX_COUNT = 10_000_000_000  # more followers than people on Earth: not a count a platform can mean


def count(value: object) -> int | None:
    """A count as a platform's payload gives it (a number, or digits in a string), or None when it is missing,
    negative, fractional, absurd or not a number at all."""
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    elif isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_COUNT:
        return None
    return value


@dataclass(slots=True, frozen=True)
class Audience:
    """What a platform said of one of the workspace's own accounts at one moment: its followers (None when the
    payload gave none that can be a count: the observation is not kept), whom it follows and how many posts it
    has (None when not said)."""

    account: str
    observed_at: datetime
    followers: int | None
    following: int | None = None
    posts: int | None = None


# Connectors: sources Pilote fetches itself from a platform's API, page after page, from a cursor.


@dataclass(slots=True, frozen=True)
class Setting:
    """One thing a connector asks of the user when a source is added; `secret` ones are stored encrypted
    and never shown again (tokens, passwords, API keys)."""

    name: str
    help: str
    secret: bool = False
    required: bool = True


@dataclass(slots=True, frozen=True)
class Account:
    """What the user entered for one source: its settings (shown, e.g. the instance and the account to
    follow) and its secrets (decrypted only while a sync or an action runs)."""

    settings: Mapping[str, str]
    secrets: Mapping[str, str] = field(default_factory=dict)

    def get(self, name: str, default: str = "") -> str:
        """A setting or a secret by name ('' when absent)."""
        return self.settings.get(name) or self.secrets.get(name) or default


@dataclass(slots=True)
class Page:
    """What one fetch brought: items (and unreadable ones), the cursor to resume from (JSON-able; stored on
    the source once the page is written), whether another page is waiting now (a backfill goes on at once),
    the external ids the platform says were deleted since, and what it said of the source's own account's
    audience (followers...), kept as observations (`pilote.audience`)."""

    items: list[Item | ItemError]
    cursor: dict[str, Any]
    more: bool = False
    deleted: list[str] = field(default_factory=list)
    audience: list[Audience] = field(default_factory=list)


@dataclass(slots=True, frozen=True)
class Action:
    """Something the team does to a message through its platform: reply (with `text`), approve, hold, spam,
    trash, hide. `external_id` and `raw` are the message's as the connector wrote them."""

    kind: str
    external_id: str
    raw: str
    text: str | None = None


@dataclass(slots=True, frozen=True)
class Done:
    """What an action did: a reply's own item (written to the store at once) and a word for the team."""

    item: Item | None = None
    detail: str = ""


class Connector(Protocol):
    """A platform Pilote reads itself: one module under pilote.sources, one line in pilote.sources.CONNECTORS.

    `fetch` is called again and again with the cursor the previous page returned (`{}` the first time)
    until a page says `more` is False; the next sync starts from the last cursor. Backfill and keeping up
    are the connector's business inside its cursor. It raises `http.FetchFailed` (or `AuthFailed`,
    `RateLimited`) for what stops the sync: what was written before stays written, the cursor where it was."""

    name: str
    description: str
    settings: tuple[Setting, ...]
    actions: tuple[str, ...]

    def describe(self, account: Account) -> SourceInfo:
        """The source these settings name (kind = the connector's name; a stable key)."""
        ...

    def fetch(self, client: HttpClient, account: Account, cursor: Mapping[str, Any]) -> Page:
        """One page of what is new (or, during a backfill, older) after `cursor`."""
        ...

    def act(self, client: HttpClient, account: Account, action: Action) -> Done:
        """Carry out one of `actions` on the platform; raise Invalid for one it does not allow."""
        ...
