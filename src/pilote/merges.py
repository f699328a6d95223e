"""One person, many names: suggested merges of identities, and merges a person decides and can undo.

Nothing merges silently. `suggest` lists pairs of identities (authors) that look like one person, each with its
evidence and a confidence; `merge` joins the identities a person chose into one member and records what each
belonged to before; `unmerge` puts them back exactly. The evidence, strongest first:

- the same e-mail address (its hash: Pilote never stores the address itself) under two identities: 0.95;
- the same website or profile address: 0.9;
- the same handle on two channels (`@ana_velo` on Mastodon and on Bluesky): 0.7;
- the same name with two keys on one channel (a commenter who changed address): 0.6, more with shared threads;
- a name and a shorter form of it on one channel ("Jean-Pierre Durand", "Jean-Pierre", "JP"), both writing in
  the same conversations: 0.45 plus 0.1 per shared thread beyond the second, at most 0.8. A short form that several
  people's names share ("Marie" beside two Maries) is not suggested: nothing tells which one it is.

Candidates are found through keys (address, site, handle, first letter of the name), never by comparing every
pair of a workspace's identities; a key shared by more than `CROWD` identities (a placeholder address, a
platform's home page) says nothing and is skipped.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any
from urllib.parse import urlsplit

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from pilote.accounts import audit
from pilote.errors import Invalid, NotFound, fill
from pilote.models import Author, Member, MemberMerge, Message, WorkspaceSetting, json_object, utcnow
from pilote.texts import N_

REJECTED = "merges.rejected"  # the workspace setting that holds the pairs a person said are two people
CROWD = 8  # more identities than this under one key: the key is shared, not personal
MIN_SHARED_THREADS = 2  # name variants must have written in at least this many of the same conversations
Note = Callable[["Identity", "Identity", float, str], None]  # (one, other, confidence, why)
WORD = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")

# Why identities look like one person (kept with suggestions and merges in English; pages say them again).
SAME_HANDLE = N_("same handle on %(first)s and %(second)s (%(handle)s)")
SAME_FIRST_NAME = N_("same first name (%(name)s), both writing in %(shared)s of the same conversations")
SHORTER = N_("%(short)r is %(form)s of %(long)r, both writing in %(shared)s of the same conversations")


@dataclass(frozen=True, slots=True)
class Identity:
    """An author as the suggestions see it."""

    id: int
    channel: str
    handle: str
    name: str
    email_hash: str | None
    profile_url: str | None
    member_id: int | None


@dataclass(slots=True)
class Suggestion:
    """Identities that look like one person: their names, how sure, and why."""

    authors: list[int]
    names: list[str]
    confidence: float
    evidence: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, object]:
        return {"authors": self.authors, "names": self.names, "confidence": round(self.confidence, 2),
                "evidence": self.evidence}  # fmt: skip


def suggest(session: Session, workspace_id: int, *, limit: int = 200) -> list[Suggestion]:
    """Pairs of identities not merged yet that look like one person, most certain first."""
    people = _identities(session, workspace_id)
    found: dict[tuple[int, int], Suggestion] = {}
    apart = rejected(session, workspace_id)

    def note(a: Identity, b: Identity, confidence: float, why: str) -> None:
        if a.member_id is not None and a.member_id == b.member_id:
            return  # one member already
        pair = (min(a.id, b.id), max(a.id, b.id))
        if pair in apart:
            return  # a person said these are two people
        first, second = (a, b) if a.id < b.id else (b, a)
        known = found.setdefault(pair, Suggestion([first.id, second.id], [_shown(first), _shown(second)], 0.0))
        known.evidence.append(why)
        known.confidence = 1 - (1 - known.confidence) * (1 - confidence)  # independent signals add up

    for group in _groups(people, lambda p: p.email_hash):
        for a, b in combinations(group, 2):
            note(a, b, 0.95, N_("same e-mail address"))
    for group in _groups(people, lambda p: _site(p.profile_url)):
        for a, b in combinations(group, 2):
            note(a, b, 0.9, fill(N_("same website (%(site)s)"), {"site": _site(a.profile_url)}))
    for group in _groups(people, lambda p: _handle(p.handle)):
        for a, b in combinations(group, 2):
            if a.channel != b.channel:
                note(a, b, 0.7, fill(SAME_HANDLE, {"first": a.channel, "second": b.channel, "handle": a.handle}))
    _name_variants(session, people, note)
    ranked = sorted(found.values(), key=lambda s: (-s.confidence, s.authors))
    return ranked[:limit]


def merge(
    session: Session, workspace_id: int, authors: Sequence[int], *, by: audit.Actor,
    evidence: Iterable[str] | None = None,
    confidence: float | None = None,
) -> MemberMerge:  # fmt: skip
    """Join these identities, and every identity already merged with them, into one member; recorded.

    The oldest member among them is kept (its name too, which a person may have chosen); identities without one
    join it, or a new member named after the fullest of their names. Without `evidence`, the record keeps the
    evidence and confidence of the strongest suggestion among these identities, if there is one."""
    chosen = _authors(session, workspace_id, authors)
    if evidence is None:
        named = {a.id for a in chosen}
        found = next((s for s in suggest(session, workspace_id, limit=10_000) if set(s.authors) <= named), None)
        evidence, confidence = (found.evidence, found.confidence) if found else ((), None)
    members = {a.member_id for a in chosen if a.member_id is not None}
    already = list(session.scalars(select(Author).where(Author.member_id.in_(members)))) if members else []
    involved = {a.id: a for a in [*chosen, *already]}
    if len(members) == 1 and all(a.member_id in members for a in involved.values()):
        raise Invalid(N_("these identities are one member already: nothing to merge"))
    if members:
        kept = session.get(Member, min(members))
        assert kept is not None  # the foreign key holds it
    else:
        kept = Member(workspace_id=workspace_id, display_name=_best_name(list(involved.values())))
        session.add(kept)
        session.flush()
    record = MemberMerge(
        workspace_id=workspace_id, member_id=kept.id,
        before=orjson.dumps({str(a.id): a.member_id for a in involved.values()}).decode(),
        evidence=orjson.dumps(list(evidence)).decode(), confidence=confidence, created_by=by.name,
    )  # fmt: skip
    session.add(record)
    for author in involved.values():
        author.member_id = kept.id
    _drop_empty(session, members - {kept.id})
    session.flush()
    audit.record(session, actor=by, action="members merged", target=f"merge {record.id}", workspace_id=workspace_id,
                 before=json_object(record.before), after={"member": kept.id, "authors": sorted(involved)})  # fmt: skip
    return record


def unmerge(session: Session, workspace_id: int, merge_id: int, *, by: audit.Actor) -> MemberMerge:
    """Take a merge back: every identity returns to the member it had before (none, or an earlier merge's).

    A merge that a later merge built on (one of its identities merged again since) is undone after that one."""
    record = session.get(MemberMerge, merge_id)
    if record is None or record.workspace_id != workspace_id:
        raise NotFound(
            N_("no merge %(id)s in this workspace: `pilote members merges` lists them"),
            web=N_("no merge %(id)s in this workspace"),
            id=merge_id,
        )
    if record.undone_at is not None:
        raise Invalid(N_("merge %(id)s was undone already (%(when)s, %(who)s)"), id=merge_id,
                      when=f"{record.undone_at:%Y-%m-%d %H:%M}", who=record.undone_by)  # fmt: skip
    before = {int(k): v for k, v in json_object(record.before).items()}
    later = session.scalars(
        select(MemberMerge).where(MemberMerge.workspace_id == workspace_id, MemberMerge.id > merge_id,
                                  MemberMerge.undone_at.is_(None)).order_by(MemberMerge.id)
    )  # fmt: skip
    for newer in later:
        if before.keys() & {int(k) for k in json_object(newer.before)}:
            raise Invalid(
                N_("merge %(id)s joined some of these identities since: undo merge %(id)s first"), id=newer.id
            )
    existing = set(session.scalars(select(Member.id).where(Member.id.in_({v for v in before.values() if v}))))
    for author in session.scalars(select(Author).where(Author.id.in_(before))):
        previous = before[author.id]
        author.member_id = previous if previous in existing else None
    record.undone_at, record.undone_by = utcnow(), by.name
    _drop_empty(session, {record.member_id} if record.member_id is not None else set())
    session.flush()
    audit.record(session, actor=by, action="members unmerged", target=f"merge {merge_id}", workspace_id=workspace_id,
                 before={"member": record.member_id}, after=before)  # fmt: skip
    return record


def reject(
    session: Session, workspace_id: int, authors: Sequence[int], *, undo: bool = False, by: audit.Actor = audit.CLI
) -> set[tuple[int, int]]:
    """Record that these identities are different people (every pair of them), so that they are no longer
    suggested; `undo` forgets it. Returns the workspace's rejected pairs."""
    chosen = sorted(a.id for a in _authors(session, workspace_id, authors))
    pairs = rejected(session, workspace_id)
    named = set(combinations(chosen, 2))
    pairs = pairs - named if undo else pairs | named
    row = session.get(WorkspaceSetting, (workspace_id, REJECTED))
    if row is None:
        row = WorkspaceSetting(workspace_id=workspace_id, name=REJECTED, value="[]")
        session.add(row)
    row.value, row.updated_at = orjson.dumps(sorted(pairs)).decode(), utcnow()
    session.flush()
    audit.record(session, actor=by, action="members rejection undone" if undo else "members rejected",
                 target="authors " + ", ".join(map(str, chosen)), workspace_id=workspace_id,
                 after={"pairs": sorted(named)})  # fmt: skip
    return pairs


def rejected(session: Session, workspace_id: int) -> set[tuple[int, int]]:
    """The pairs of identities a person said are different people."""
    value = session.scalar(
        select(WorkspaceSetting.value).where(WorkspaceSetting.workspace_id == workspace_id,
                                             WorkspaceSetting.name == REJECTED)
    )  # fmt: skip
    try:
        found = orjson.loads(value) if value else []
    except orjson.JSONDecodeError:
        return set()
    return {(int(p[0]), int(p[1])) for p in found if isinstance(p, list) and len(p) == 2}


def merges(session: Session, workspace_id: int) -> list[MemberMerge]:
    """The workspace's merges, newest first (undone ones included: the record stays)."""
    query = select(MemberMerge).where(MemberMerge.workspace_id == workspace_id).order_by(MemberMerge.id.desc())
    return list(session.scalars(query))


def as_json(record: MemberMerge) -> dict[str, Any]:
    """A merge's record for scripts and the API."""
    evidence = orjson.loads(record.evidence or "[]")
    return {
        "id": record.id, "member_id": record.member_id, "authors": merged_authors(record),
        "evidence": evidence if isinstance(evidence, list) else [], "confidence": record.confidence,
        "created_by": record.created_by, "created_at": record.created_at,
        "undone_by": record.undone_by, "undone_at": record.undone_at,
    }  # fmt: skip


def merged_authors(record: MemberMerge) -> list[int]:
    """The identities a merge joined."""
    return sorted(int(k) for k in json_object(record.before))


# --- evidence ------------------------------------------------------------------------------------------


def _identities(session: Session, workspace_id: int) -> list[Identity]:
    rows = session.execute(
        select(Author.id, Author.channel, Author.handle, Author.display_name, Author.email_hash, Author.profile_url,
               Author.member_id).where(Author.workspace_id == workspace_id).order_by(Author.id)
    )  # fmt: skip
    return [Identity(r[0], r[1], r[2], r[3] or r[2], r[4], r[5], r[6]) for r in rows]


def _groups(people: Iterable[Identity], key_of: Callable[[Identity], str | None]) -> Iterable[list[Identity]]:
    groups: dict[str, list[Identity]] = defaultdict(list)
    for person in people:
        key = key_of(person)
        if key:
            groups[key].append(person)
    return [group for group in groups.values() if 2 <= len(group) <= CROWD]


def _site(url: str | None) -> str | None:
    """A website's host and path, without scheme, `www.` or trailing slash; None for a bare platform page."""
    if not url:
        return None
    parts = urlsplit(url.strip().lower() if "://" in url else f"https://{url.strip().lower()}")
    host = parts.hostname or ""
    host = host.removeprefix("www.")
    return f"{host}{parts.path.rstrip('/')}" if host else None


def _handle(handle: str) -> str | None:
    """A handle as people write it anywhere: no leading @, no instance, letters and digits only (4 or more)."""
    bare = handle.strip().lower().lstrip("@").split("@")[0]
    bare = re.sub(r"[^a-z0-9]", "", _fold(bare))
    return bare if len(bare) >= 4 else None


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _words(name: str) -> list[str]:
    return WORD.findall(_fold(name))


def _form(short: list[str], long: list[str]) -> str | None:
    """How `short` is a shorter form of the name `long`, or None. Both are lists of words."""
    if not short or not long or len(short) > len(long) or short == long:
        return None
    first = long[0]
    if len(short) == 1:
        word = short[0]
        initials = "".join(part[0] for part in first.split("-"))
        if word == first:
            return N_("the first name alone")
        if len(initials) > 1 and word in (initials, initials + "".join(w[0] for w in long[1:])):
            return N_("the initials")
        if len(word) >= 3 and first.startswith(word) and "-" not in word:
            return N_("a short form of the first name")
        return None
    if short[0] == first and all(len(w) == 1 and w == v[0] for w, v in zip(short[1:], long[1:], strict=False)):
        return N_("the first name and an initial")
    return None


def _name_variants(session: Session, people: list[Identity], note: Note) -> None:
    """Same name under two keys, or a name and a shorter form of it, on one channel, in the same threads."""
    by_channel: dict[str, list[Identity]] = defaultdict(list)
    for person in people:
        if _words(person.name):
            by_channel[person.channel].append(person)
    pairs = {channel: _candidates(members) for channel, members in by_channel.items()}
    threads = _threads(session, sorted({p.id for found in pairs.values() for pair in found for p in pair}))
    for channel, members in by_channel.items():
        first_words: dict[str, int] = defaultdict(int)
        names: dict[str, int] = defaultdict(int)
        for person in members:
            first_words[_words(person.name)[0]] += 1
            names[" ".join(_words(person.name))] += 1
        for a, b in sorted(pairs[channel], key=lambda pair: (pair[0].id, pair[1].id)):
            _compare(a, b, threads, first_words, names, note)


def _candidates(members: list[Identity]) -> set[tuple[Identity, Identity]]:
    """The pairs of one channel's identities whose names may be one person's (same words, or one a shorter form
    of the other as `_form` reads it), found through keys: never every pair of a channel. Each pair once, the
    lower id first."""
    by_key: dict[tuple[str, ...], list[Identity]] = defaultdict(list)
    for person in members:
        for key in _long_keys(_words(person.name)):
            by_key[key].append(person)
    found: set[tuple[Identity, Identity]] = set()
    for person in members:
        words = _words(person.name)
        for other in by_key.get(_short_key(words) or ("",), []) + by_key.get(("=", *words), []):
            if other.id != person.id:
                found.add((person, other) if person.id < other.id else (other, person))
    return found


def _long_keys(words: list[str]) -> set[tuple[str, ...]]:
    """The keys under which a shorter form of this name (or the same name) looks for it."""
    first = words[0]
    initials = "".join(part[0] for part in first.split("-"))
    keys = {("=", *words), ("1", first), *(("1", first[:end]) for end in range(3, len(first)))}
    if len(initials) > 1:
        keys |= {("1", initials), ("1", initials + "".join(w[0] for w in words[1:]))}
    keys |= {("f", first, *(w[0] for w in words[1:end])) for end in range(2, len(words) + 1)}
    return keys


def _short_key(words: list[str]) -> tuple[str, ...] | None:
    """The key of the longer names this one may be a shorter form of: one word, or a first name and initials."""
    if len(words) == 1:
        return ("1", words[0])
    if all(len(w) == 1 for w in words[1:]):
        return ("f", *words)
    return None


def _compare(
    a: Identity,
    b: Identity,
    threads: dict[int, set[int]],
    first_words: dict[str, int],
    names: dict[str, int],
    note: Note,
) -> None:
    wa, wb = _words(a.name), _words(b.name)
    shared = len(threads.get(a.id, set()) & threads.get(b.id, set()))
    if wa == wb:
        if len(wa) > 1:  # a full name under two keys (a commenter who changed address)
            note(a, b, min(0.6 + 0.1 * shared, 0.85), fill(N_("same name (%(name)s)"), {"name": a.name}))
        elif shared >= MIN_SHARED_THREADS and names[" ".join(wa)] == 2:  # a first name only: two people, no more
            why = fill(SAME_FIRST_NAME, {"name": a.name, "shared": shared})
            note(a, b, min(0.35 + 0.1 * (shared - MIN_SHARED_THREADS), 0.6), why)
        return
    short, long = (wa, wb) if len(" ".join(wa)) < len(" ".join(wb)) else (wb, wa)
    how = _form(short, long)
    if how is None or shared < MIN_SHARED_THREADS:
        return
    if len(short) == 1 and how == "the first name alone" and first_words[long[0]] > 2:
        return  # "Marie" beside several Maries: nothing tells which
    shown_short, shown_long = (a.name, b.name) if short is wa else (b.name, a.name)
    confidence = min(0.45 + 0.1 * (shared - MIN_SHARED_THREADS), 0.8)
    why = fill(SHORTER, {"short": shown_short, "form": how, "long": shown_long, "shared": shared})
    note(a, b, confidence, why)


def _threads(session: Session, author_ids: list[int]) -> dict[int, set[int]]:
    """The conversations each author wrote in (a message's thread, or itself when it starts one)."""
    found: dict[int, set[int]] = defaultdict(set)
    for chunk in range(0, len(author_ids), 5000):
        ids = author_ids[chunk : chunk + 5000]
        rows = session.execute(
            select(Message.author_id, Message.thread_id, Message.id).where(Message.author_id.in_(ids))
        )
        for author_id, thread_id, message_id in rows:
            if author_id is not None:
                found[author_id].add(thread_id or message_id)
    return found


# --- merging ------------------------------------------------------------------------------------------


def _authors(session: Session, workspace_id: int, ids: Sequence[int]) -> list[Author]:
    if len(set(ids)) < 2:
        raise Invalid(N_("name at least two different identities to merge"))
    found = list(session.scalars(select(Author).where(Author.id.in_(ids), Author.workspace_id == workspace_id)))
    missing = sorted(set(ids) - {a.id for a in found})
    if missing:
        raise NotFound(N_("no identity %(ids)s in this workspace"), ids=", ".join(map(str, missing)))
    return found


def _best_name(authors: list[Author]) -> str:
    """The longest name among the identities: "Jean-Pierre Durand" over "JP"."""
    return max((a.display_name or a.handle for a in authors), key=lambda n: (len(_words(n)), len(n)))


def _drop_empty(session: Session, member_ids: set[int]) -> None:
    session.flush()
    for member_id in member_ids:
        if session.scalar(select(Author.id).where(Author.member_id == member_id).limit(1)) is None:
            person = session.get(Member, member_id)
            if person is not None:
                session.delete(person)


def _shown(person: Identity) -> str:
    return (
        f"{person.name} ({person.channel})" if person.name != person.handle else f"{person.handle} ({person.channel})"
    )
