"""The store's tables (SQLAlchemy 2 typed ORM). Migrations live in pilote/migrations."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import (
    BigInteger,
    Boolean,
    Computed,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

# A message's engagement (likes + shares + replies), counted as the rollups and the cards count it.
ENGAGEMENT_SQL = "coalesce(likes, 0) + coalesce(shares, 0) + coalesce(replies, 0)"

# BIGINT on PostgreSQL, INTEGER on SQLite so that the key aliases SQLite's rowid.
BigId = BigInteger().with_variant(Integer(), "sqlite")

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Stored as naive UTC (both databases), always returned timezone-aware."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: Pilote stores aware datetimes only")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Workspace(Base):
    """One community being managed; everything is scoped by it."""

    __tablename__ = "workspace"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Source(Base):
    """A place messages come from (a blog's export, a forum, an account), identified by kind + key."""

    __tablename__ = "source"
    __table_args__ = (UniqueConstraint("workspace_id", "kind", "key"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(500))
    name: Mapped[str] = mapped_column(String(500))
    channel: Mapped[str] = mapped_column(String(200))
    url: Mapped[str | None] = mapped_column(Text)
    settings: Mapped[str | None] = mapped_column(Text)  # JSON: what the user chose (a connector's settings)
    cursor: Mapped[str | None] = mapped_column(Text)  # JSON: where the next sync of a connector starts
    state: Mapped[str | None] = mapped_column(Text)  # JSON: the last sync's outcome; set for what Pilote fetches
    credentials: Mapped[str | None] = mapped_column(Text)  # the connector's secrets, encrypted (vault.py)
    status: Mapped[str] = mapped_column(String(32), default="active")
    last_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Member(Base):
    """One person across identities; merges are explicit and undoable."""

    __tablename__ = "member"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"), index=True)
    display_name: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Author(Base):
    """An identity on one channel (a blog's commenters, an X account...)."""

    __tablename__ = "author"
    __table_args__ = (UniqueConstraint("workspace_id", "channel", "key"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(200))
    key: Mapped[str] = mapped_column(String(500))
    handle: Mapped[str] = mapped_column(String(500))
    display_name: Mapped[str | None] = mapped_column(String(500))
    profile_url: Mapped[str | None] = mapped_column(Text)
    email_hash: Mapped[str | None] = mapped_column(String(64))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("member.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ImportRun(Base):
    """One run of `pilote import` on one file: counts, checkpoint and outcome."""

    __tablename__ = "import_run"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"), index=True)
    source_id: Mapped[int | None] = mapped_column(ForeignKey("source.id", ondelete="SET NULL"))
    path: Mapped[str] = mapped_column(Text)
    format: Mapped[str] = mapped_column(String(32))
    fingerprint: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(16), default="running")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    total: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)
    new: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[int] = mapped_column(Integer, default=0)
    error_samples: Mapped[str | None] = mapped_column(Text)
    message: Mapped[str | None] = mapped_column(Text)
    pid: Mapped[int | None] = mapped_column(Integer)
    # Messages skipped because their author was erased on request (migration 0019).
    erased: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))


# A message leading the thread it names although it is not that thread's root (linking.py: a stand-in root).
STAND_IN = "thread_id = id AND thread_external_id IS NOT NULL AND thread_external_id <> external_id"


class Message(Base):
    """A post, comment, reply, mention, review, direct message... with its raw payload."""

    __tablename__ = "message"
    __table_args__ = (
        UniqueConstraint("source_id", "external_id"),
        # Newest and oldest first walk it in (created_at, id) order; "most engaged" over a period reads it alone
        # (an index-only scan on PostgreSQL, where the id is not implied as it is in SQLite's indexes).
        Index("ix_message_workspace_created_engagement", "workspace_id", "created_at", "id", "engagement"),
        # "Most engaged" with no period walks this one from its end, 51 entries (migration 0025).
        Index("ix_message_workspace_engagement", "workspace_id", "engagement", "id"),
        # Thread first: the database finds a message's thread references by it (migration 0009).
        Index("ix_message_thread_source", "thread_id", "source_id"),
        Index(
            "ix_message_unlinked",
            "source_id",
            sqlite_where=text("parent_id IS NULL AND parent_external_id IS NOT NULL"),
            postgresql_where=text("parent_id IS NULL AND parent_external_id IS NOT NULL"),
        ),
        # Stand-in roots: the first message of a named thread whose root is not in the store (linking.py).
        Index(
            "ix_message_stand_in",
            "source_id",
            "thread_external_id",
            sqlite_where=text(STAND_IN),
            postgresql_where=text(STAND_IN),
        ),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    source_id: Mapped[int] = mapped_column(ForeignKey("source.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(500))
    kind: Mapped[str] = mapped_column(String(32))
    parent_external_id: Mapped[str | None] = mapped_column(String(500))
    thread_external_id: Mapped[str | None] = mapped_column(String(500))
    # Deferred: a batch may hold a reply before its parent; the constraint is checked at commit.
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("message.id", ondelete="SET NULL", deferrable=True, initially="DEFERRED"), index=True
    )
    thread_id: Mapped[int | None] = mapped_column(
        ForeignKey("message.id", ondelete="SET NULL", deferrable=True, initially="DEFERRED")
    )
    # Indexed by ix_message_author_created (author, then time), which also serves look-ups by author alone.
    author_id: Mapped[int | None] = mapped_column(ForeignKey("author.id", ondelete="SET NULL"))
    title: Mapped[str | None] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text, default="")
    html: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    likes: Mapped[int | None] = mapped_column(BigInteger)
    shares: Mapped[int | None] = mapped_column(BigInteger)
    replies: Mapped[int | None] = mapped_column(BigInteger)
    views: Mapped[int | None] = mapped_column(BigInteger)
    # Written by the database from the counters, so no writer can forget it: stored on PostgreSQL, virtual on
    # SQLite (whose ALTER TABLE cannot add a stored one; its index holds the values). Migration 0006.
    engagement: Mapped[int] = mapped_column(BigInteger, Computed(ENGAGEMENT_SQL))
    sentiment: Mapped[str | None] = mapped_column(String(16))
    sentiment_score: Mapped[float | None] = mapped_column(Float)
    spam_probability: Mapped[float | None] = mapped_column(Float)
    toxicity_probability: Mapped[float | None] = mapped_column(Float)
    intent: Mapped[str | None] = mapped_column(String(16))
    raw: Mapped[str] = mapped_column(Text)
    raw_hash: Mapped[str] = mapped_column(String(32))
    import_run_id: Mapped[int | None] = mapped_column(ForeignKey("import_run.id", ondelete="SET NULL"))


class Engagement(Base):
    """A snapshot of a message's counters, added whenever they change."""

    __tablename__ = "engagement"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("message.id", ondelete="CASCADE"), index=True)
    captured_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    likes: Mapped[int | None] = mapped_column(BigInteger)
    shares: Mapped[int | None] = mapped_column(BigInteger)
    replies: Mapped[int | None] = mapped_column(BigInteger)
    views: Mapped[int | None] = mapped_column(BigInteger)


class Label(Base):
    """A human decision about a message (spam, moderation status, sentiment...); wins over models."""

    __tablename__ = "label"
    __table_args__ = (UniqueConstraint("message_id", "name", "origin"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("message.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(64))
    value: Mapped[str] = mapped_column(String(200))
    origin: Mapped[str] = mapped_column(String(32), default="user")
    created_by: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Enrichment(Base):
    """One row per analysed message: which version of each analyzer last saw it, and the values they have no
    column for.

    `versions` is a JSON object, analyzer → version; `value` a JSON object, analyzer → that analyzer's values
    (`{"keyphrases": {"keyphrases": [...]}, "sentiment": {"probabilities": {...}}}`), read with `extras`. A
    message fetched again with other words loses its row (`ingest`): every analyzer sees it again (new
    counters alone keep it).
    One row rather than one per analyzer: the pipeline writes tens of thousands a second (migration 0007).
    """

    __tablename__ = "enrichment"
    message_id: Mapped[int] = mapped_column(ForeignKey("message.id", ondelete="CASCADE"), primary_key=True)
    versions: Mapped[str] = mapped_column(Text)
    value: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


def extras(value: str | bytes | None, analyzer: str) -> dict[str, Any]:
    """What one analyzer stored in an `Enrichment.value` beyond its columns (empty if nothing or unreadable)."""
    mine = json_object(value).get(analyzer)
    return mine if isinstance(mine, dict) else {}


def json_object(text: str | bytes | None) -> dict[str, Any]:
    """A JSON object stored as text (`Enrichment.versions`, `.value`): empty if none, unreadable or not one."""
    if not text:
        return {}
    try:
        found = orjson.loads(text)
    except orjson.JSONDecodeError:
        return {}
    return found if isinstance(found, dict) else {}


# --- radar (incidents, alerts, rules, deliveries): migration 0003 ------------------------------------


class AlertRule(Base):
    """A workspace's radar settings: what is watched, how sensitively, and when to stay quiet."""

    __tablename__ = "alert_rule"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"), unique=True)
    status: Mapped[str] = mapped_column(String(8), default="on")
    sensitivity: Mapped[str] = mapped_column(String(8), default="medium")
    series: Mapped[str] = mapped_column(Text)
    min_volume: Mapped[int] = mapped_column(Integer, default=5)
    min_reach: Mapped[int] = mapped_column(Integer, default=1000)
    quiet_start: Mapped[str | None] = mapped_column(String(5))
    quiet_end: Mapped[str | None] = mapped_column(String(5))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    escalate_after: Mapped[int | None] = mapped_column(Integer)
    spam_threshold: Mapped[float | None] = mapped_column(Float)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AlertRecipient(Base):
    """Who is told: an e-mail address, a signed JSON webhook or a Slack/Mattermost incoming webhook."""

    __tablename__ = "alert_recipient"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    target: Mapped[str] = mapped_column(Text)
    secret: Mapped[str | None] = mapped_column(Text)
    on: Mapped[str] = mapped_column(String(16), default="always")  # "always" or "escalation"
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # What a chat channel, a webhook or an address without an account reads (else the workspace's; migration 0022).
    language: Mapped[str | None] = mapped_column(String(8))


class RadarCursor(Base):
    """Where the radar stopped in a workspace: the last message seen and the bucket being filled."""

    __tablename__ = "radar_cursor"
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"), primary_key=True)
    last_message_id: Mapped[int] = mapped_column(BigInteger, default=0)
    bucket_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    bucket: Mapped[str | None] = mapped_column(Text)
    late: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # A long backlog is caught up in time order, a chunk per transaction (radar.watch): the messages up to
    # `catch_up_until` (by id) and before (`catch_up_at`, `catch_up_id`) are done; None outside a catch-up.
    catch_up_until: Mapped[int | None] = mapped_column(BigInteger)
    catch_up_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    catch_up_id: Mapped[int | None] = mapped_column(BigInteger)


class RadarSeries(Base):
    """The persisted detector of one series of one workspace (a fixed-size JSON state)."""

    __tablename__ = "radar_series"
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    state: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RadarPoint(Base):
    """One closed five-minute bucket of one series: its value and what the detector expected."""

    __tablename__ = "radar_point"
    __table_args__ = (UniqueConstraint("workspace_id", "series", "at"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    series: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    value: Mapped[float] = mapped_column(Float)
    expected: Mapped[float] = mapped_column(Float)
    score: Mapped[float] = mapped_column(Float)


class RadarAuthor(Base):
    """When the radar first saw an author write: what makes a first-time author, at constant cost."""

    __tablename__ = "radar_author"
    author_id: Mapped[int] = mapped_column(ForeignKey("author.id", ondelete="CASCADE"), primary_key=True)
    first_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Incident(Base):
    """One crisis: the alerts that belong to it, its status and who acted on it."""

    __tablename__ = "incident"
    __table_args__ = (Index("ix_incident_workspace_status", "workspace_id", "status"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default="open")
    severity: Mapped[str] = mapped_column(String(8))
    title: Mapped[str] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_alert_at: Mapped[datetime] = mapped_column(UTCDateTime)
    alerts: Mapped[int] = mapped_column(Integer, default=0)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by: Mapped[str | None] = mapped_column(String(200))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by: Mapped[str | None] = mapped_column(String(200))
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A past episode: found in history read after its time (an import, a first sync), resolved from the start.
    past: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class Alert(Base):
    """One detector decision that crossed the rule: which series, how far above baseline, and why."""

    __tablename__ = "alert"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id", ondelete="CASCADE"), index=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    series: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    value: Mapped[float] = mapped_column(Float)
    expected: Mapped[float] = mapped_column(Float)
    score: Mapped[float] = mapped_column(Float)
    severity: Mapped[str] = mapped_column(String(8))
    explanation: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class IncidentEvent(Base):
    """The incident's log: opened, alert, acknowledged, escalated, resolved, reopened, notes."""

    __tablename__ = "incident_event"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    kind: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str | None] = mapped_column(String(200))
    detail: Mapped[str | None] = mapped_column(Text)


class Delivery(Base):
    """One notification to one recipient, with its attempts: pending, sent, or failed after retries."""

    __tablename__ = "delivery"
    __table_args__ = (Index("ix_delivery_status_next", "status", "next_attempt_at"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # An incident's notification, or (incident none) an inbox rule's about an item (migration 0021).
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incident.id", ondelete="CASCADE"), index=True)
    item_id: Mapped[int | None] = mapped_column(ForeignKey("inbox_item.id", ondelete="CASCADE"), index=True)
    recipient_id: Mapped[int | None] = mapped_column(ForeignKey("alert_recipient.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(16))
    target: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(String(32))
    payload: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


# --- end radar ---------------------------------------------------------------------------------------


# --- cockpit (rollups, API tokens, saved searches): migration 0004 -----------------------------------
class Rollup(Base):
    """Messages (and their engagement) per workspace, series, key and hour; kept in step by pilote.rollups."""

    __tablename__ = "rollup"
    __table_args__ = ({"sqlite_with_rowid": False},)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"), primary_key=True)
    series: Mapped[str] = mapped_column(String(32), primary_key=True)
    hour: Mapped[int] = mapped_column(BigInteger, primary_key=True)  # hours since 1970-01-01 UTC
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger)
    engagement: Mapped[int] = mapped_column(BigInteger)


class RollupDirty(Base):
    """Hours whose rollups a deletion or a moved date made stale (written by triggers), recounted next."""

    __tablename__ = "rollup_dirty"
    workspace_id: Mapped[int] = mapped_column(BigId, primary_key=True)
    hour: Mapped[int] = mapped_column(BigInteger, primary_key=True)


class RollupRecounted(Base):
    """A run of a workspace's hours whose rollups were recounted, and when: the hours whose messages changed since
    a moment, for what holds messages read before it (the metrics' held facts, `metrics.held`). Kept a day."""

    __tablename__ = "rollup_recounted"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    workspace_id: Mapped[int] = mapped_column(BigId)
    first_hour: Mapped[int] = mapped_column(BigInteger)
    last_hour: Mapped[int] = mapped_column(BigInteger)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    __table_args__ = (Index(None, "workspace_id", "at"),)


class TeamAccount(Base):
    """An author who speaks for the organisation: their replies answer questions and complaints."""

    __tablename__ = "team_account"
    author_id: Mapped[int] = mapped_column(ForeignKey("author.id", ondelete="CASCADE"), primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"), index=True)
    origin: Mapped[str] = mapped_column(String(16), default="guess")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ApiToken(Base):
    """A bearer token for the HTTP API, scoped to one workspace (and a person); only its SHA-256 is stored."""

    __tablename__ = "api_token"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"), index=True)
    # The person the token acts for, with their role in the workspace; none: a workspace token (a manager's rights).
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    # At most this role (migration 0018): the lesser of it and the person's role at each request; none: theirs.
    role: Mapped[str | None] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200))
    prefix: Mapped[str] = mapped_column(String(16))
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SavedSearch(Base):
    """An Explorer query kept under a name, per workspace."""

    __tablename__ = "saved_search"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    query: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# The Explorer's author filter (an exact handle, then that person's newest messages first), and the Member page.
Index("ix_author_workspace_handle", Author.workspace_id, Author.handle)
Index("ix_message_author_created", Message.author_id, Message.created_at)


# --- end cockpit -------------------------------------------------------------------------------------

# --- enrichment, continued (embeddings cache, per-workspace models): migration 0005 ------------------


class Embedding(Base):
    """A message's sentence vector (enrich/embeddings.py), computed once: float16 bytes."""

    __tablename__ = "embedding"
    message_id: Mapped[int] = mapped_column(ForeignKey("message.id", ondelete="CASCADE"), primary_key=True)
    model: Mapped[str] = mapped_column(String(64))
    vector: Mapped[bytes] = mapped_column(LargeBinary)


class WorkspaceModel(Base):
    """A head fine-tuned on a workspace's own labels (`pilote models train --workspace`): .npz bytes."""

    __tablename__ = "workspace_model"
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"), primary_key=True)
    task: Mapped[str] = mapped_column(String(32), primary_key=True)
    model: Mapped[bytes] = mapped_column(LargeBinary)
    labels: Mapped[int] = mapped_column(Integer)
    trained_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MessageTrace(Base):
    """Where a message comes from and where it points (its author's website or e-mail, its links' domains), as
    digests with the second it was written: the spam judgement counts bursts with them (`pilote.traces`)."""

    __tablename__ = "message_trace"
    # Covering: the burst question reads the index alone (`traces._BURSTS`).
    __table_args__ = (Index("ix_message_trace_key", "workspace_id", "key", "at", "message_id", "author_id", "thread"),)
    message_id: Mapped[int] = mapped_column(ForeignKey("message.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    kind: Mapped[int] = mapped_column(SmallInteger)
    workspace_id: Mapped[int] = mapped_column(Integer)
    at: Mapped[int] = mapped_column(BigInteger)  # seconds since 1970, UTC
    author_id: Mapped[int | None] = mapped_column(BigInteger)
    thread: Mapped[int] = mapped_column(BigInteger)


# --- end enrichment, continued -----------------------------------------------------------------------


# --- deletions: migration 0010 ----------------------------------------------------------------------


class Deletion(Base):
    """A source or a workspace deleted with everything it held: what, how much, by whom and when.

    No foreign key: the record of a workspace's deletion outlives the workspace (and ids may be reused).
    """

    __tablename__ = "deletion"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # "source" or "workspace"
    workspace: Mapped[str] = mapped_column(String(64))  # its slug
    name: Mapped[str] = mapped_column(String(500))  # the source's or the workspace's name
    key: Mapped[str | None] = mapped_column(Text)  # a source's kind:key
    messages: Mapped[int] = mapped_column(BigInteger)
    counts: Mapped[str] = mapped_column(Text)  # JSON: rows deleted per kind (labels, authors, import runs...)
    deleted_by: Mapped[str] = mapped_column(String(200))  # who: an e-mail, "command line" ("cli" or "web" before 0018)
    deleted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# --- end deletions -----------------------------------------------------------------------------------


# --- members: merges of identities, decided by a person and undoable (migration 0013) ------------------


class MemberMerge(Base):
    """Identities a person said are one member: who, on what evidence, and what each belonged to before.

    `before` (JSON) maps each author id to its member id before the merge (null: none), so that an unmerge puts
    every identity back exactly; `undone_at` marks a merge taken back (the record stays, for the audit).
    """

    __tablename__ = "member_merge"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"), index=True)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("member.id", ondelete="SET NULL"))
    before: Mapped[str] = mapped_column(Text)
    evidence: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of phrases, as suggested
    confidence: Mapped[float | None] = mapped_column(Float)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    undone_by: Mapped[str | None] = mapped_column(String(200))
    undone_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


# --- jobs: migration 0014 ----------------------------------------------------------------------------


class Lease(Base):
    """A named lock held by one process of one host until `expires_at` (seconds since the epoch, on the
    database's clock), renewed while its holder works; docs/architecture.md, "Jobs and leases"."""

    __tablename__ = "lease"
    name: Mapped[str] = mapped_column(String(200), primary_key=True)  # "radar.tick", "sync:12", "analyse:3"
    holder: Mapped[str] = mapped_column(String(200))  # host:pid:token of the process that holds it
    expires_at: Mapped[float] = mapped_column(Float)


# --- end jobs ----------------------------------------------------------------------------------------


class User(Base):
    """A person who signs in to the cockpit; the e-mail is stored in lower case, so it is unique whatever its case."""

    __tablename__ = "user_account"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    language: Mapped[str | None] = mapped_column(String(8))  # the cockpit's language for them; none: their browser's
    password_hash: Mapped[str] = mapped_column(String(200))  # argon2id, with its parameters and salt
    instance_admin: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    password_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Membership(Base):
    """A person's role in one workspace: admin, manager, moderator or analyst."""

    __tablename__ = "membership"
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspace.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    role: Mapped[str] = mapped_column(String(16))


class UserSession(Base):
    """A signed-in browser: only the SHA-256 of its cookie is stored, so every server of the instance shares it."""

    __tablename__ = "user_session"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class LoginAttempt(Base):
    """One try to sign in, counted per e-mail and per client address to slow down password guessing."""

    __tablename__ = "login_attempt"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), index=True)
    address: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    succeeded: Mapped[bool] = mapped_column(Boolean)


class PasswordReset(Base):
    """A password reset sent by e-mail: one use, one hour; only the SHA-256 of its token is stored."""

    __tablename__ = "password_reset"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AuditEntry(Base):
    """Who changed what, when, from where, with the state before and after (JSON); accounts/audit.py."""

    __tablename__ = "audit_entry"
    # A workspace's entries, newest first (the Audit page and its exports, migration 0019).
    __table_args__ = (Index("ix_audit_entry_workspace_id_id", "workspace_id", "id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(320))  # an e-mail, or `command line`
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(320))
    workspace_id: Mapped[int | None] = mapped_column(ForeignKey("workspace.id", ondelete="SET NULL"))
    before: Mapped[str | None] = mapped_column(Text)
    after: Mapped[str | None] = mapped_column(Text)
    address: Mapped[str | None] = mapped_column(String(64))


# --- metrics: what a workspace's team chose for its figures (migration 0016) ---------------------------------


class WorkspaceSetting(Base):
    """A choice of a workspace's team, as JSON under a name: `competitors` holds share of voice's keyword sets."""

    __tablename__ = "workspace_setting"
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# --- the team inbox (migration 0017) ------------------------------------------------------------------------


class InboxItem(Base):
    """One conversation that needs the team: a person's messages in one thread, with its state in the inbox.

    `key` is `thread:author` (or `thread:m<message>` for a message without an author), so an author's next message
    in the same thread joins the item instead of opening another. The judgements of the item's latest message are
    copied here, so that the queue's filters read this table alone.
    """

    __tablename__ = "inbox_item"
    __table_args__ = (
        UniqueConstraint("workspace_id", "key"),
        # The queue: a status tab, then by due time or activity (keyset pages walk these in order).
        Index("ix_inbox_item_queue_due", "workspace_id", "status", "hidden", "due_at", "id"),
        Index("ix_inbox_item_queue_activity", "workspace_id", "status", "hidden", "last_at", "id"),
        # One's own (or unassigned) items in activity or due order; their counts read these alone (migration 0020).
        Index("ix_inbox_item_assignee", "workspace_id", "assignee_id", "status", "hidden", "last_at", "id"),
        Index("ix_inbox_item_assignee_due", "workspace_id", "assignee_id", "status", "hidden", "due_at", "id"),
        # The team figures: the items a period opened, and those it closed.
        Index("ix_inbox_item_opened", "workspace_id", "opened_at"),
        Index("ix_inbox_item_resolved", "workspace_id", "resolved_at"),
        Index("ix_inbox_item_channel", "workspace_id", "channel", "status", "hidden", "last_at", "id"),
        Index("ix_inbox_item_snoozed", "status", "snoozed_until"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(64))
    source_id: Mapped[int] = mapped_column(ForeignKey("source.id", ondelete="CASCADE"), index=True)
    # The first message opened the item: erasing it (its author's erasure) removes the item.
    first_message_id: Mapped[int] = mapped_column(ForeignKey("message.id", ondelete="CASCADE"), index=True)
    last_message_id: Mapped[int | None] = mapped_column(ForeignKey("message.id", ondelete="SET NULL"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("author.id", ondelete="SET NULL"), index=True)
    channel: Mapped[str] = mapped_column(String(200))
    reasons: Mapped[str] = mapped_column(String(200), default="")  # why it needs the team: question,negative,…
    language: Mapped[str | None] = mapped_column(String(16))
    sentiment: Mapped[str | None] = mapped_column(String(16))
    intent: Mapped[str | None] = mapped_column(String(16))
    spam_probability: Mapped[float | None] = mapped_column(Float)
    toxicity_probability: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16), default="new")
    snoozed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    until_reply: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    hidden: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    priority: Mapped[int] = mapped_column(Integer, default=1)  # 0 low, 1 normal, 2 high, 3 urgent
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    message_count: Mapped[int] = mapped_column(Integer, default=1)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)  # the first message's time
    last_at: Mapped[datetime] = mapped_column(UTCDateTime)  # the latest message's time, or the latest change's
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the first response is due (service level)
    responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the team's first answer
    responder_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)  # every change adds one: two people, one item
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class InboxTag(Base):
    """A tag on an inbox item."""

    __tablename__ = "inbox_tag"
    item_id: Mapped[int] = mapped_column(ForeignKey("inbox_item.id", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)


class InboxNote(Base):
    """An internal note on an item: the team's only, never sent anywhere."""

    __tablename__ = "inbox_note"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("inbox_item.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class InboxEvent(Base):
    """What happened to an item, by whom (none: Pilote or a rule), with before and after (JSON): the item's history,
    the live updates' feed and the team figures' facts."""

    __tablename__ = "inbox_event"
    __table_args__ = (Index("ix_inbox_event_workspace_id", "workspace_id", "id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    item_id: Mapped[int] = mapped_column(ForeignKey("inbox_item.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(32))
    before: Mapped[str | None] = mapped_column(Text)
    after: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class InboxPresence(Base):
    """Who has an item open, refreshed while they look at it: a second person is warned."""

    __tablename__ = "inbox_presence"
    item_id: Mapped[int] = mapped_column(ForeignKey("inbox_item.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class InboxView(Base):
    """A saved view of the queue (its filters as JSON): a person's own, or the team's when `user_id` is none."""

    __tablename__ = "inbox_view"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    query: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SavedReply(Base):
    """A reply the team reuses, with variables (`{{author.name}}`…), called by its shortcut: shared or a person's."""

    __tablename__ = "saved_reply"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    shortcut: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class InboxRule(Base):
    """Conditions on a new message → actions on its item (JSON both), in `position` order."""

    __tablename__ = "inbox_rule"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(Integer, default=0)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    conditions: Mapped[str] = mapped_column(Text)
    actions: Mapped[str] = mapped_column(Text)
    stop: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())  # later rules do not run
    created_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OutboundReply(Base):
    """An answer the team wrote in Pilote: posted through the source's platform (retried until it is, or shown as
    failed) or copied by hand (`mode` copy); never lost."""

    __tablename__ = "outbound_reply"
    __table_args__ = (Index("ix_outbound_reply_due", "status", "next_attempt_at"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"), index=True)
    item_id: Mapped[int | None] = mapped_column(ForeignKey("inbox_item.id", ondelete="SET NULL"), index=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("message.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    text: Mapped[str] = mapped_column(Text)
    mode: Mapped[str] = mapped_column(String(16))  # platform | copy
    status: Mapped[str] = mapped_column(String(16))  # queued | sent | failed | copied
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    external_id: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


# --- privacy: erasures on request and retention (migration 0019) -------------------------------------------


class Erasure(Base):
    """A person erased on request, or a retention run: what went, per kind, by whom, when. No personal data:
    neither name nor handle, only an opaque reference (SHA-256 of the identities erased) and counts.

    No foreign key: the record outlives the workspace, as a deletion's does.
    """

    __tablename__ = "erasure"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # "erasure" or "retention"
    workspace: Mapped[str] = mapped_column(String(64))  # its slug
    reference: Mapped[str | None] = mapped_column(String(64))  # an erasure's: SHA-256 of its identities' digests
    messages: Mapped[int] = mapped_column(BigInteger)
    counts: Mapped[str] = mapped_column(Text)  # JSON: rows deleted per kind
    erased_by: Mapped[str] = mapped_column(String(320))
    erased_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ErasedIdentity(Base):
    """An identity erased on request, as the SHA-256 of its channel and key: imports skip its messages."""

    __tablename__ = "erased_identity"
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"), primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    erasure_id: Mapped[int | None] = mapped_column(ForeignKey("erasure.id", ondelete="SET NULL"))


# --- the Members page's lists, kept by the clock (migration 0025) -------------------------------------------


class KeptList(Base):
    """A list computed by a worker and kept for the pages: the opinion leaders of a standard period, or the merge
    suggestions, as JSON, with when it was computed and the state of the workspace it was computed from."""

    __tablename__ = "kept_list"
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"), primary_key=True)
    name: Mapped[str] = mapped_column(String(32), primary_key=True)  # "leaders:7d", ..., "suggestions"
    stamp: Mapped[str] = mapped_column(String(200))  # the workspace's state it was computed from (leaders.kept)
    value: Mapped[str] = mapped_column(Text)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# --- the audience of the workspace's own accounts (migration 0026) ------------------------------------------


class AudienceCount(Base):
    """What a platform reported of one of the workspace's own accounts at one moment (a sync): its followers,
    and whom it follows and how many posts it has when the platform says; one row per account and moment."""

    __tablename__ = "audience_count"
    __table_args__ = (
        UniqueConstraint("source_id", "account", "observed_at"),
        Index("ix_audience_count_workspace_observed", "workspace_id", "observed_at"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    source_id: Mapped[int] = mapped_column(ForeignKey("source.id", ondelete="CASCADE"))
    account: Mapped[str] = mapped_column(String(500))  # the account as the platform names it (handle or id)
    observed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    followers: Mapped[int] = mapped_column(BigInteger)
    following: Mapped[int | None] = mapped_column(BigInteger)
    posts: Mapped[int | None] = mapped_column(BigInteger)


# --- the Health page's and the API's reports, kept by a worker (migration 0027) ---------------------------------


class KeptReport(Base):
    """The catalogue's report of a standard period (7d, 30d, 90d, all) over a whole workspace, as the API's JSON,
    computed by a worker and kept for the Health page and `/api/v1/metrics`, with the state of the workspace it was
    computed from (metrics.kept)."""

    __tablename__ = "kept_report"
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"), primary_key=True)
    period: Mapped[str] = mapped_column(String(8), primary_key=True)
    stamp: Mapped[str] = mapped_column(String(200))  # the workspace's state it was computed from (pilote.keeping)
    value: Mapped[str] = mapped_column(Text)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
