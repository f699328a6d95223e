"""The community's rules, each written once, in Python and in SQL.

Which judgement wins for a message (a person's label over the source's, a label over a model; the spam
threshold; a moderator's status), which messages count in figures, who is the team, what counts as answered.
The rollups, the radar's series, the pages, the API and the metrics all ask here; none writes its own copy.
"""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Boolean, ColumnElement, Connection, and_, func, literal_column, or_, select
from sqlalchemy.dialects import postgresql, sqlite

from pilote.models import Author, Label, Message, Source, TeamAccount
from pilote.sources import x_archive

# --- which judgement wins -------------------------------------------------------------------------------------
# A person's label wins over one an import brought (the source's moderators'); any other origin ranks last.
LABEL_PRECEDENCE = {"user": 2, "import": 1}
DECIDED = ("spam", "sentiment", "intent", "status")  # the labels that decide over a model or a count
SPAM_THRESHOLD = 0.5  # the spam model's probability from which a message is spam, when no label decides
MODERATED_SPAM = "spam"  # a moderation status that says spam (WordPress's and YouTube's moderators)
NEEDS_ANSWER = ("question", "complaint")  # intents the team owes an answer to

# The `status` a post's author gives it while it is not public: WordPress's words for a draft (and the drafts
# its editor saves by itself), a post scheduled for later ("future") and a private post. Such messages are
# kept, but nothing counts them: not the rollups (so neither the Overview nor the Sources page), not the
# radar, not the Explorer unless asked for them, not a member's figures, not `pilote stats`, not the metrics.
UNPUBLISHED = ("draft", "auto-draft", "future", "private")
WITHDRAWN = ("deleted",)  # removed on the platform by its author or a moderator: kept as a record, not counted
NOT_COUNTED = UNPUBLISHED + WITHDRAWN


def winning(rows: Iterable[Any]) -> dict[int, dict[str, str]]:
    """Per message, each label's deciding value from (message_id, name, value, origin) rows."""
    chosen: dict[int, dict[str, tuple[int, str]]] = defaultdict(dict)
    for message_id, name, value, origin in rows:
        rank = LABEL_PRECEDENCE.get(origin, 0)
        if rank >= chosen[message_id].get(name, (-1, ""))[0]:
            chosen[message_id][name] = (rank, value)
    return {mid: {name: value for name, (_, value) in sorted(names.items())} for mid, names in chosen.items()}


def labels_of(conn: Any, ids: Sequence[int], names: Sequence[str] | None = None) -> dict[int, dict[str, str]]:
    """The deciding labels of these messages (of these names only), read in chunks; `conn` may be a Session."""
    rows: list[Any] = []
    for start in range(0, len(ids), 900):
        query = select(Label.message_id, Label.name, Label.value, Label.origin).where(
            Label.message_id.in_(ids[start : start + 900])
        )
        if names is not None:
            query = query.where(Label.name.in_(names))
        rows.extend(conn.execute(query))
    return winning(rows)


def is_counted(labels: Mapping[str, str]) -> bool:
    """Whether a message with these deciding labels counts in figures: not a post its author keeps unpublished,
    nor one withdrawn from the platform."""
    return labels.get("status") not in NOT_COUNTED


def spam(labels: Mapping[str, str], probability: float | None, threshold: float | None = SPAM_THRESHOLD) -> bool | None:
    """Whether a message is spam: a spam/ham label decides; else a moderator's spam status; else the model at
    `threshold` (None: the model is not trusted); None when nothing decides."""
    if labels.get("spam") in {"spam", "ham"}:
        return labels["spam"] == "spam"
    if labels.get("status") == MODERATED_SPAM:
        return True
    if probability is None or threshold is None:
        return None
    return probability >= threshold


def decided(labels: Mapping[str, str], name: str, model: str | None) -> str | None:
    """A label's value (sentiment, intent) when a person or the source set one, else the model's."""
    return labels.get(name) or model


# --- the same rules in SQL ------------------------------------------------------------------------------------


def reply_sql(message: str = "message") -> str:
    """A reply (a comment): a message that names a parent, whether or not the parent is in the store. A Reddit
    export of a thread's comments holds no post: its comments are still comments, not posts."""
    return f"({message}.parent_id IS NOT NULL OR {message}.parent_external_id IS NOT NULL)"


def counted_sql(message: str = "message") -> str:
    """SQL: the message (the table, or its alias) counts in figures: the `status` label that decides (a
    person's, else an import's) is not one of NOT_COUNTED. Written as SQL text so that the rollups'
    driver-level queries and the ORM's share it."""
    values = ", ".join(f"'{value}'" for value in NOT_COUNTED)
    return (
        f"(NOT EXISTS (SELECT 1 FROM label s WHERE s.message_id = {message}.id AND s.name = 'status' "
        f"AND s.value IN ({values}) AND (s.origin = 'user' OR NOT EXISTS (SELECT 1 FROM label p "
        f"WHERE p.message_id = {message}.id AND p.name = 'status' AND p.origin = 'user'))))"
    )


def counted() -> ColumnElement[bool]:
    """SQL, for queries on the `message` table: the message counts in figures (see counted_sql)."""
    return literal_column(counted_sql(), Boolean)


def label_value(name: str) -> ColumnElement[Any]:
    """SQL: the deciding label `name` of each message (a person's, else an import's), or NULL."""

    def by(origin: str) -> Any:
        return (
            select(Label.value)
            .where(Label.message_id == Message.id, Label.name == name, Label.origin == origin)
            .scalar_subquery()
        )

    return func.coalesce(by("user"), by("import"))


def _labelled(name: str, values: tuple[str, ...] = (), origin: str | None = None) -> ColumnElement[bool]:
    """SQL: the message has a label `name` (with one of these values, from this origin)."""
    query = select(Label.id).where(Label.message_id == Message.id, Label.name == name)
    if values:
        query = query.where(Label.value.in_(values))
    if origin is not None:
        query = query.where(Label.origin == origin)
    return query.exists()


def label_wins(name: str, value: str) -> ColumnElement[bool]:
    """SQL: the label `name` that decides says `value` (a person's, else an import's)."""
    by_import = and_(_labelled(name, (value,), "import"), ~_labelled(name, origin="user"))
    return or_(_labelled(name, (value,), "user"), by_import)


def is_spam(wanted: bool) -> ColumnElement[bool]:
    """SQL: messages decided spam (or not), as `spam` decides at SPAM_THRESHOLD. Written with EXISTS rather
    than a value per row so that the planner can still walk the date index."""
    no_label = ~_labelled("spam", ("spam", "ham"))
    moderated = label_wins("status", MODERATED_SPAM)
    if wanted:
        judged = or_(moderated, Message.spam_probability >= SPAM_THRESHOLD)
    else:
        judged = and_(~moderated, Message.spam_probability < SPAM_THRESHOLD)
    return or_(and_(no_label, judged), label_wins("spam", "spam" if wanted else "ham"))


def not_spam() -> ColumnElement[bool]:
    """SQL: messages not decided spam (ham, or nothing decided): what figures count."""
    unknown = or_(Message.spam_probability.is_(None), Message.spam_probability < SPAM_THRESHOLD)
    no_label = ~_labelled("spam", ("spam", "ham"))
    return or_(label_wins("spam", "ham"), and_(no_label, ~label_wins("status", MODERATED_SPAM), unknown))


def decided_is(name: str, column: Any, value: str) -> ColumnElement[bool]:
    """SQL: the decided value of `name` (a label, else the model's column) is `value`."""
    return or_(and_(column == value, ~_labelled(name)), label_wins(name, value))


def decided_sql(name: str, column: Any) -> ColumnElement[Any]:
    """SQL: a label's value when a person or the source set one, else the model's column."""
    return func.coalesce(label_value(name), column)


# --- who is the team, what counts as answered -----------------------------------------------------------------


def team_ids(conn: Any, workspace_id: int) -> set[int]:
    """The authors who speak for the organisation in a workspace (`conn` may be a Session)."""
    return set(conn.scalars(select(TeamAccount.author_id).where(TeamAccount.workspace_id == workspace_id)))


def answered(conn: Any, ids: Sequence[int], team: set[int]) -> set[int]:
    """Which of these messages have a direct reply from the team: what counts as answered."""
    if not ids or not team:
        return set()
    found: set[int] = set()
    for start in range(0, len(ids), 900):
        query = select(Message.parent_id).where(
            Message.parent_id.in_(ids[start : start + 900]), Message.author_id.in_(team)
        )
        found.update(parent for parent in conn.scalars(query) if parent is not None)
    return found


def owes_answer(intent: str | None, author_id: int | None, team: set[int]) -> bool:
    """Whether a message asks the team for an answer: a question or complaint from outside the team."""
    return intent in NEEDS_ANSWER and author_id not in team


def mark_team(conn: Connection, workspace_id: int, author_ids: Iterable[int], origin: str = "user") -> None:
    """Count these authors as the organisation's (idempotent)."""
    rows = [{"author_id": a, "workspace_id": workspace_id, "origin": origin, "created_at": datetime.now(UTC)}
            for a in set(author_ids)]  # fmt: skip
    if not rows:
        return
    dialect = conn.dialect.name
    statement = (sqlite.insert if dialect == "sqlite" else postgresql.insert)(TeamAccount).values(rows)
    conn.execute(statement.on_conflict_do_nothing())


def spot_team(conn: Connection, rows: Sequence[Any]) -> dict[int, set[int]]:
    """Mark the authors of these message rows (workspace, hour, author, parent, kind, channel, handle, name)
    who evidently speak for the organisation (blog post writers, a blog comment signed with a post writer's
    name, and see `speaks_for`); returns each workspace's team."""
    teams: dict[int, set[int]] = {}
    accounts: dict[int, set[str]] = {}
    writers: dict[int, set[str]] = {}
    checked: set[int] = set()
    for workspace_id, _hour, author_id, parent_id, kind, channel, handle, name in rows:
        if workspace_id not in teams:
            teams[workspace_id] = team_ids(conn, workspace_id)
            accounts[workspace_id] = {_plain(n) for n in _source_accounts(conn, workspace_id)} - {""}
            writers[workspace_id] = _blog_writers(conn, workspace_id)
        team = teams[workspace_id]
        if author_id is None or author_id in team or (author_id in checked and kind != "post"):
            continue
        checked.add(author_id)
        blog = channel.startswith("blog:")
        blog_post = kind == "post" and parent_id is None and blog
        if blog_post:
            writers[workspace_id] |= {_plain(handle), _plain(name or "")} - {""}
        # The blog's writers answer comments under their own name (WordPress signs them so).
        writer = blog and speaks_for(writers[workspace_id], handle, name)
        if blog_post or writer or (accounts[workspace_id] and speaks_for(accounts[workspace_id], handle, name)):
            mark_team(conn, workspace_id, [author_id], origin="guess")
            team.add(author_id)
    return teams


def _blog_writers(conn: Connection, workspace_id: int) -> set[str]:
    """The names of the workspace's team authors who wrote a blog's posts (accents and case aside)."""
    query = (
        select(Author.handle, Author.display_name)
        .join(TeamAccount, TeamAccount.author_id == Author.id)
        .where(TeamAccount.workspace_id == workspace_id, Author.channel.startswith("blog:"))
    )
    return {_plain(n) for row in conn.execute(query) for n in row if n} - {""}


def speaks_for(accounts: set[str], handle: str, name: str | None) -> bool:
    """Whether an author's handle or name is one of the organisation's accounts (accents and case aside)."""
    return _plain(handle) in accounts or (name is not None and _plain(name) in accounts)


def _source_accounts(conn: Connection, workspace_id: int) -> set[str]:
    """Account names a source's address gives: `…/@VeloLumen`, an X archive's `@handle` (or its owner)."""
    names: set[str] = set()
    for url, name in conn.execute(select(Source.url, Source.name).where(Source.workspace_id == workspace_id)):
        if url and "/@" in url:
            names.add(url.rsplit("/@", 1)[1].strip("/"))
        if name and name.startswith("@") and name.endswith(" on X"):
            names.add(name[1:].removesuffix(" on X"))
        if name and name.startswith(x_archive.ARCHIVE):  # an archive without its account.js: all its owner's
            names.add(x_archive.UNKNOWN_OWNER)
    return {name for name in names if name}


def _plain(text: str) -> str:
    """Lower case, accents and punctuation removed: "Vélo Lumen" and "@velolumen" meet."""
    folded = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in folded if c.isalnum() and not unicodedata.combining(c))
