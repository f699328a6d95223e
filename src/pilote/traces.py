"""Where a message comes from and where it points, kept so that the spam judgement can see bursts.

At ingest each message leaves a few traces (`message_trace`): the address of its author's website and its
author's e-mail hash ("author" traces), and the domains its text links to, at most MAX_LINKS ("link" traces),
each as a 64-bit digest, with the second it was written, its author and its thread. The spam analysis then
asks the store what was written before each message (`history`): whether its author wrote anything earlier in
the workspace, how many other threads the same address or e-mail commented on in the WINDOW before it, and how
many other authors linked the same domain in that window. Each question is one indexed range read per trace or
message, of what the same address or domain left in the hour before it (a handful: its cost does not grow with
the store), or of the author's first earlier message. Only what was written before the message counts
(causal): the same store gives the same answer whatever order the messages are analysed in. So a message stored
after messages written later than it changes their history: `later` finds those, for the analysis to judge again.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Connection

from pilote.bulk import insert_rows, placeholder

AUTHOR, LINK = 1, 2  # the kinds of trace
MAX_LINKS = 3
WINDOW = 3600  # seconds: a burst is several comments within the hour
COLUMNS = ("message_id", "key", "kind", "workspace_id", "at", "author_id", "thread")
URL = re.compile(r"(?:https?://|www\.)([\w.-]+)([^\s\"'<>]*)", re.IGNORECASE)
# A profile page on a platform (a Mastodon or YouTube account...) is no website the author chose.
PROFILE = re.compile(r"^/(?:@|u/|user/|users/|profile/|channel/|c/|people/|members?/)", re.IGNORECASE)
# Links that say nothing of a campaign when several members post them: a mention or a hashtag (a profile or a tag
# page), and the media and reference sites every community cites (a video, a picture, an article, some code).
_TAG = re.compile(r"^/(?:tags?|hashtag|hashtags|search)(?:/|\?|$)", re.IGNORECASE)
CITED = frozenset(
    {
        "youtube.com",
        "youtu.be",
        "m.youtube.com",
        "imgur.com",
        "i.imgur.com",
        "wikipedia.org",
        "github.com",
        "gitlab.com",
        "reddit.com",
        "redd.it",
        "i.redd.it",
        "v.redd.it",
        "twitter.com",
        "x.com",
        "t.co",
        "instagram.com",
        "facebook.com",
        "tiktok.com",
        "vimeo.com",
        "dailymotion.com",
        "flickr.com",
        "google.com",
        "goo.gl",
        "maps.google.com",
        "docs.google.com",
        "drive.google.com",
        "apple.com",
        "spotify.com",
        "open.spotify.com",
        "soundcloud.com",
        "archive.org",
        "web.archive.org",
        "medium.com",
        "bsky.app",
        "linkedin.com",
        "giphy.com",
        "media.giphy.com",
    }
)


@dataclass(frozen=True, slots=True)
class History:
    """What the store held before a message: `first`, no earlier message by its author in the workspace (None:
    no author known); `burst`, how many other threads its website or e-mail commented on within the window;
    `shared_links`, how many other authors linked one of its link domains within the window."""

    first: bool | None = None
    burst: int = 0
    shared_links: int = 0


def digest(text: str) -> int:
    """A signed 64-bit digest (a BIGINT on both databases)."""
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).digest(), signed=True)


def site(url: str | None) -> str:
    """An author's website as one address (no scheme, "www.", query or final "/"), or "" for none or a profile."""
    if not url or not url.strip():
        return ""
    url = url.strip().lower()
    parts = urlsplit(url if "//" in url else f"//{url}")
    if PROFILE.match(parts.path or "") or not parts.hostname:
        return ""
    return f"{parts.hostname.removeprefix('www.')}{parts.path.rstrip('/')}"


def link_domains(*texts: str | None) -> list[str]:
    """The distinct domains the texts link to, in order, at most MAX_LINKS: mentions, hashtags and the sites
    every community cites (CITED, with their subdomains such as "fr.wikipedia.org") left out."""
    found: dict[str, None] = {}
    for text in texts:
        if text and ("://" in text or "www." in text.lower()):
            for match in URL.finditer(text):
                domain, path = match.group(1).lower().rstrip(".").removeprefix("www."), match.group(2)
                if not (PROFILE.match(path) or _TAG.match(path) or _cited(domain)):
                    found[domain] = None
    return list(found)[:MAX_LINKS]


def _cited(domain: str) -> bool:
    return domain in CITED or domain.split(".", 1)[-1] in CITED


@dataclass(frozen=True, slots=True)
class Written:
    """A stored message as its traces need it."""

    id: int
    workspace_id: int
    created_at: datetime
    author_id: int | None
    thread: str  # its source and thread there (`thread_of`)
    author_url: str | None
    email_hash: str | None
    text: str
    html: str | None


def thread_of(source_id: int, thread: str | None, parent: str | None, own: str) -> str:
    """A message's thread as its source names it: the root's external id, else its parent's, else its own."""
    return f"{source_id}\n{thread or parent or own}"


def keys(m: Written) -> list[tuple[int, int]]:
    """The message's traces: (digest, kind)."""
    found = []
    if address := site(m.author_url):
        found.append((digest(f"site:{address}"), AUTHOR))
    if m.email_hash:
        found.append((digest(f"email:{m.email_hash}"), AUTHOR))
    found += [(digest(f"link:{domain}"), LINK) for domain in link_domains(m.text, m.html)]
    return found


def record(conn: Connection, written: Sequence[Written], *, replaced: Sequence[int] = ()) -> None:
    """Store the traces of these messages, those of `replaced` (ids of messages rewritten) first removed."""
    if replaced:
        ids = list(replaced)
        for start in range(0, len(ids), 500):
            part = ids[start : start + 500]
            marks = ", ".join([placeholder(conn)] * len(part))
            conn.exec_driver_sql(f"DELETE FROM message_trace WHERE message_id IN ({marks})", tuple(part))
    rows = []
    for m in written:
        at, thread = int(m.created_at.timestamp()), digest(m.thread)
        rows += [(m.id, key, kind, m.workspace_id, at, m.author_id, thread) for key, kind in dict(keys(m)).items()]
    insert_rows(conn, "message_trace", COLUMNS, rows)


# Per message and kind of trace, the other threads (author traces) or other authors (link traces) among the
# earlier traces with the same key within the window (a tie in time: the lower id first). One indexed range read
# per trace (`ix_message_trace_key`), of the messages the same address or domain left in the hour before.
_BURSTS = (
    "SELECT o.message_id, o.kind, count(DISTINCT CASE WHEN o.kind = 1 THEN x.thread ELSE x.author_id END)"
    " FROM message_trace o JOIN message_trace x ON x.workspace_id = o.workspace_id AND x.key = o.key"
    f" AND x.at >= o.at - {WINDOW} AND x.at <= o.at AND (x.at < o.at OR x.message_id < o.message_id)"
    " AND ((o.kind = 1 AND x.thread <> o.thread)"
    " OR (o.kind = 2 AND x.author_id IS NOT NULL AND (o.author_id IS NULL OR x.author_id <> o.author_id)))"
)
# The messages whose author wrote nothing earlier in the workspace (author and time: ix_message_author_created).
_FIRST = (
    "SELECT m.id FROM message m WHERE m.author_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM message p"
    " WHERE p.author_id = m.author_id AND p.created_at < m.created_at) AND"
)


@lru_cache(maxsize=4096)
def _history(first: bool, burst: int, shared_links: int) -> History:
    """One object per distinct history: a chunk's texts share them, and travel to the workers once each."""
    return History(first, burst, shared_links)


def history(conn: Connection, ids: Sequence[int], *, first: Collection[int] | None = None) -> dict[int, History]:
    """The history in the store (`History`) of each of these messages that has one to tell (a first comment, a
    burst, shared links), by id; the others are absent. Whether a message is a first comment is asked only of
    those in `first` (all when None) and of those with a burst or shared links. One read per question."""
    if not ids:
        return {}
    bursts: dict[int, list[int]] = {}
    for message_id, kind, count in _of_ids(conn, _BURSTS, "o.message_id", ids, " GROUP BY o.message_id, o.kind"):
        bursts.setdefault(message_id, [0, 0])[kind - 1] = count
    asked = list(ids) if first is None else sorted({*first, *bursts})
    firsts = {row[0] for row in _of_ids(conn, _FIRST, "m.id", asked)} if asked else set()
    found = {i: _history(True, 0, 0) for i in firsts}
    for i, (burst, shared) in bursts.items():
        found[i] = _history(i in firsts, burst, shared)
    return found


# The reverse of _BURSTS: per arrival, the later traces with the same key within the window whose count it joins
# (another thread for an author trace; another author, itself known, for a link trace).
_AFTER = (
    "SELECT DISTINCT o.message_id FROM message_trace a JOIN message_trace o ON o.workspace_id = a.workspace_id"
    f" AND o.key = a.key AND o.at >= a.at AND o.at <= a.at + {WINDOW} AND (a.at < o.at OR a.message_id < o.message_id)"
    " AND ((a.kind = 1 AND o.thread <> a.thread)"
    " OR (a.kind = 2 AND a.author_id IS NOT NULL AND (o.author_id IS NULL OR o.author_id <> a.author_id)))"
)
# Per author of arrivals: the earliest arrival and how many there are.
_ARRIVED = "SELECT m.author_id, min(m.created_at), count(*) FROM message m WHERE m.author_id IS NOT NULL AND"
_EARLIEST = "SELECT * FROM (SELECT author_id, id, created_at FROM message WHERE author_id = {0} AND created_at > {0}" \
    " ORDER BY created_at, id LIMIT {0}) s{1}"  # fmt: skip
_TIED = "SELECT id FROM message WHERE author_id = {0} AND created_at = {0}"
PART = 2000  # ids per question
AUTHORS = 200  # authors per question


def later(conn: Connection, arrived: Sequence[int]) -> set[int]:
    """The stored messages whose history (`history`) these newly stored messages change: the earlier first comment
    of each of their authors written after them, and the messages of the same website, e-mail or link domain
    within the window after them whose count they join. Arrivals themselves are left out."""
    found: set[int] = set()
    firsts: dict[int, tuple[Any, int]] = {}  # author → earliest arrival's time, arrivals
    for start in range(0, len(arrived), PART):
        part = arrived[start : start + PART]
        found.update(row[0] for row in _of_ids(conn, _AFTER, "a.message_id", part))
        for author, at, count in _of_ids(conn, _ARRIVED, "m.id", part, " GROUP BY m.author_id"):
            known = firsts.get(author)
            firsts[author] = (at, count) if known is None else (min(known[0], at), known[1] + count)
    found |= _old_firsts(conn, firsts, set(arrived))
    return found - set(arrived)


def _old_firsts(conn: Connection, firsts: dict[int, tuple[Any, int]], arrived: set[int]) -> set[int]:
    """Per author, the messages that were its first before the arrivals, when an arrival is earlier: the earliest
    message after its earliest arrival that is not an arrival (with those of the same time). At most `count + 1`
    rows per author are read: enough to pass its other arrivals."""
    mark, found = placeholder(conn), set[int]()
    authors = list(firsts.items())
    for start in range(0, len(authors), AUTHORS):
        part = authors[start : start + AUTHORS]
        sql = " UNION ALL ".join(_EARLIEST.format(mark, i) for i in range(len(part)))
        rows: dict[int, list[Any]] = {}
        for author, message_id, at in conn.exec_driver_sql(sql, tuple(v for a, (t, n) in part for v in (a, t, n + 1))):
            rows.setdefault(author, []).append((message_id, at))
        for author, (_, count) in part:
            mine = rows.get(author, [])
            old = [(i, at) for i, at in mine if i not in arrived]
            if not old:
                continue
            first = old[0][1]
            if len(mine) == count + 1 and mine[-1][1] == first:  # more of that time than were read
                tied = conn.exec_driver_sql(_TIED.format(mark), (author, first)).scalars()
                found.update(i for i in tied if i not in arrived)
            else:
                found.update(i for i, at in old if at == first)
    return found


def _of_ids(conn: Connection, sql: str, column: str, ids: Sequence[int], after: str = "") -> list[Any]:
    """The rows of `sql` for these messages, straight from the driver (the spam analysis asks for every chunk)."""
    where = " WHERE" if not sql.endswith("AND") else ""
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        if conn.dialect.name == "postgresql":
            cursor.execute(f"{sql}{where} {column} = ANY(%s){after}", (list(ids),))
        else:
            cursor.execute(f"{sql}{where} {column} IN ({', '.join(['?'] * len(ids))}){after}", tuple(ids))
        return list(cursor.fetchall())
    finally:
        cursor.close()


_STORED = (
    "SELECT m.id, m.workspace_id, m.created_at, m.author_id, m.source_id, m.thread_external_id,"
    " m.parent_external_id, m.external_id, a.profile_url, a.email_hash, m.text, m.html"
    " FROM message m LEFT JOIN author a ON a.id = m.author_id WHERE m.id > {0} AND (a.profile_url IS NOT NULL"
    " OR a.email_hash IS NOT NULL OR m.text LIKE {0} OR m.text LIKE {0} OR m.html LIKE {0}) ORDER BY m.id LIMIT 5000"
)


def backfill(conn: Connection) -> int:
    """The traces of every stored message that has any (migration 0023): how many messages had some."""
    done, after = 0, 0
    sql = _STORED.format(placeholder(conn))
    while rows := conn.exec_driver_sql(sql, (after, "%://%", "%www.%", "%://%")).all():
        written = []
        for row in rows:
            created = row[2] if isinstance(row[2], datetime) else datetime.fromisoformat(str(row[2]))
            created = created if created.tzinfo else created.replace(tzinfo=UTC)  # stored as naive UTC
            thread = thread_of(row[4], row[5], row[6], row[7])
            written.append(Written(row[0], row[1], created, row[3], thread, row[8], row[9], row[10] or "", row[11]))
        record(conn, written)
        done, after = done + len(rows), rows[-1][0]
    return done
