"""The HTTP API under /api/v1: thin adapters over pilote.views, bearer tokens scoped to one workspace (and a person).

Every error has the same body, `{"error": {"code", "message", "hint"}}`, documented in the OpenAPI.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from pilote import jobs, leaders, merges, metrics, stats, tokens
from pilote.accounts import audit
from pilote.config import Settings
from pilote.errors import Invalid, NotFound, PiloteError
from pilote.leaders import kept as lists_kept
from pilote.leaders.picture import MAX_NODES, Picture, top
from pilote.metrics import kept
from pilote.models import Author, Message, Workspace
from pilote.views import explorer, members, overview, sources, threads, timeseries
from pilote.views.common import MessageCard, card_query, cards
from pilote.web import access
from pilote.web.pages.common import actor_of

PERIODS = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30), "90d": timedelta(days=90)}
CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 409: "conflict", 422: "invalid",
         503: "unavailable"}  # fmt: skip
HINTS = {
    401: "send `Authorization: Bearer <token>`; create a token with `pilote token create --workspace W`",
    403: "the token's person lacks the role this needs in the workspace (docs/accounts.md)",
    404: "check the id: it must belong to the token's workspace",
    409: "someone changed it meanwhile: read it again, then decide",
    422: "see /api/docs for the parameters this endpoint takes",
    503: "a worker is computing it: ask again after the seconds in the Retry-After header",
}


class ErrorDetail(BaseModel):
    """What went wrong, and what to do about it."""

    code: str = Field(examples=["not_found"])
    message: str = Field(examples=["no message 42"])
    hint: str | None = Field(default=None, examples=["check the id: it must belong to the token's workspace"])


class ErrorBody(BaseModel):
    """The body of every error response."""

    error: ErrorDetail


def error_response(status: int, message: str, hint: str | None = None) -> JSONResponse:
    """An error in the API's one format."""
    body = ErrorBody(
        error=ErrorDetail(code=CODES.get(status, "error"), message=message, hint=hint or HINTS.get(status))
    )
    return JSONResponse(body.model_dump(), status_code=status)


def _computing(
    request: Request, workspace_id: int, compute: Callable[[Settings, Engine, int], None], what: str
) -> JSONResponse:
    """503 with Retry-After for what a worker keeps and has not computed yet on a large workspace, whose computation
    is queued now (not at the clock's next turn)."""
    compute(request.app.state.settings, request.app.state.engine, workspace_id)
    answer = error_response(503, f"{what} of this workspace is being computed")
    answer.headers["Retry-After"] = str(kept.RETRY_AFTER)
    return answer


def _validation_message(error: RequestValidationError) -> str:
    parts = []
    for problem in error.errors()[:5]:
        where = ".".join(str(p) for p in problem.get("loc", ()) if p not in ("query", "body", "path"))
        parts.append(f"{where or 'request'}: {problem.get('msg', 'invalid')}")
    return "; ".join(parts)


class ApiRoute(APIRoute):
    """Turns Pilote's errors and FastAPI's validation errors into the API's error body, in one place."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as error:
                return error_response(422, _validation_message(error))
            except PiloteError as error:
                return error_response(error.http_status, str(error))

        return handle


ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": code.replace("_", " ")} for status, code in CODES.items()
}
router = APIRouter(prefix="/api/v1", route_class=ApiRoute, responses=ERRORS, tags=["api"])
bearer = HTTPBearer(auto_error=False, description="A token from `pilote token create --workspace W`.")


def _session(request: Request) -> Iterator[Session]:
    engine: Engine = request.app.state.engine
    with Session(engine, expire_on_commit=False) as session, session.begin():
        yield session


SessionDep = Annotated[Session, Depends(_session)]


def _workspace(request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> int:
    """The token's workspace (pilote.web.access has already checked the token and its role)."""
    principal = access.current(request)
    if principal is None or principal.token_workspace is None:
        raise tokens.Unauthorized("no API token: send `Authorization: Bearer <token>`")
    return principal.token_workspace


WorkspaceDep = Annotated[int, Depends(_workspace)]
ActorDep = Annotated[audit.Actor, Depends(actor_of)]


def _aware(moment: datetime | None) -> datetime | None:
    """Dates without a zone are UTC."""
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment


def _owned(session: Session, workspace_id: int, message_id: int) -> None:
    message = session.get(Message, message_id)
    if message is None or message.workspace_id != workspace_id:
        raise NotFound(f"no message {message_id} in this workspace")


# --- messages, threads, labels ---


class MessagePage(BaseModel):
    """One page of messages; pass `next_cursor` as `cursor` for the next page (null on the last page)."""

    items: list[MessageCard]
    next_cursor: str | None
    sort: str


@dataclass(frozen=True, slots=True)
class MessageParams:
    """The Explorer's filters, as query parameters."""

    q: Annotated[str | None, Query(description="Words to find (accents ignored; the last one as a prefix).")] = None
    source: Annotated[str | None, Query(description="Source id, name or key.")] = None
    channel: str | None = None
    kind: Annotated[str | None, Query(description="post, comment, reply, mention…")] = None
    language: Annotated[str | None, Query(description="ISO 639-1 code, e.g. fr.")] = None
    sentiment: Literal["positive", "neutral", "negative"] | None = None
    spam: bool | None = None
    toxic: bool | None = None
    intent: str | None = None
    author: Annotated[str | None, Query(description="Handle or display name.")] = None
    author_id: int | None = None
    since: Annotated[datetime | None, Query(description="ISO 8601; UTC without a zone.")] = None
    until: Annotated[datetime | None, Query(description="ISO 8601, excluded; UTC without a zone.")] = None
    unpublished: Annotated[
        bool, Query(description="Only drafts, scheduled and private posts (otherwise left out, as in every figure).")
    ] = False
    sort: Literal["newest", "oldest", "engaged", "relevance"] = "newest"
    limit: Annotated[int, Query(ge=1, le=explorer.MAX_LIMIT)] = 50
    cursor: Annotated[str | None, Query(description="`next_cursor` of the previous page.")] = None

    def query(self, workspace_id: int) -> explorer.ExplorerQuery:
        return explorer.ExplorerQuery(
            workspace_id=workspace_id, text=self.q, source=self.source, channel=self.channel, kind=self.kind,
            language=self.language, sentiment=self.sentiment, spam=self.spam, toxic=self.toxic, intent=self.intent,
            author=self.author, author_id=self.author_id, since=_aware(self.since), until=_aware(self.until),
            unpublished=self.unpublished, sort=self.sort, limit=self.limit, cursor=self.cursor,
        )  # fmt: skip


@router.get("/messages", response_model=MessagePage, summary="Search messages, with filters and a cursor")
def list_messages(session: SessionDep, workspace_id: WorkspaceDep, params: Annotated[MessageParams, Depends()]) -> Any:
    page = explorer.search(session, params.query(workspace_id))
    return MessagePage(items=page.items, next_cursor=page.next_cursor, sort=page.sort)


@router.get("/messages/{message_id}", response_model=MessageCard, summary="One message")
def get_message(session: SessionDep, workspace_id: WorkspaceDep, message_id: int) -> Any:
    _owned(session, workspace_id, message_id)
    return cards(session, session.execute(card_query().where(Message.id == message_id)).all())[0]


@router.get("/threads/{message_id}", response_model=threads.Thread, summary="The conversation of a message")
def get_thread(
    session: SessionDep,
    workspace_id: WorkspaceDep,
    message_id: int,
    start: Annotated[int | None, Query(ge=0, description="reading position of the part's first message")] = None,
    size: Annotated[int, Query(ge=1, le=threads.MAX_PART, description="messages in the part")] = threads.PART,
) -> Any:
    _owned(session, workspace_id, message_id)
    return threads.thread(session, message_id, start=start, size=size)


class LabelIn(BaseModel):
    """A person's decision: spam (spam/ham), sentiment (positive/neutral/negative) or intent (one word)."""

    name: Literal["spam", "sentiment", "intent"]
    value: str = Field(min_length=1, max_length=16, examples=["ham"])
    created_by: str | None = Field(default=None, max_length=200, examples=["camille"])


class LabelOut(BaseModel):
    """The label as stored."""

    message_id: int
    name: str
    value: str
    origin: str
    created_by: str | None
    created_at: datetime


@router.post(
    "/messages/{message_id}/labels",
    response_model=LabelOut,
    status_code=201,
    summary="Label a message (wins over models)",
)
def post_label(session: SessionDep, workspace_id: WorkspaceDep, actor: ActorDep, message_id: int, body: LabelIn) -> Any:
    _owned(session, workspace_id, message_id)
    found = explorer.label(session, message_id, body.name, body.value, body.created_by, by=actor)
    return LabelOut(
        message_id=found.message_id, name=found.name, value=found.value, origin=found.origin,
        created_by=found.created_by, created_at=found.created_at,
    )  # fmt: skip


# --- members, sources ---


@dataclass(frozen=True, slots=True)
class Suggestions:
    """Identities that look like one person, most certain first; nothing is merged until a person decides."""

    suggestions: list[merges.Suggestion]
    computed_at: datetime | None = None  # when a worker computed them; None: computed now


@router.get("/members/suggestions", response_model=Suggestions, summary="Suggested merges of identities")
def member_suggestions(
    request: Request,
    session: SessionDep,
    workspace_id: WorkspaceDep,
    limit: Annotated[int, Query(ge=1, le=1000, description=f"Up to {lists_kept.SUGGESTIONS}: kept by a worker.")] = 50,
) -> Any:
    """Kept by a worker (without those merged or rejected since) up to the kept number, else computed now."""
    found = lists_kept.suggestions_of(session, workspace_id, limit)
    if found is None:
        return _computing(request, workspace_id, jobs.compute_lists, "the merge suggestions")
    return Suggestions(found.value, found.computed_at)


LeadersPeriod = Annotated[Literal["7d", "30d", "90d", "all"] | None, Query(description="Up to now (default 30d).")]
Since = Annotated[datetime | None, Query(description="ISO 8601 (instead of period); UTC without a zone.")]
Until = Annotated[datetime | None, Query(description="ISO 8601, excluded (default: now).")]


@router.get("/leaders", response_model=leaders.Leaders, summary="Ambassadors, detractors, bridges, rising members")
def get_leaders(
    request: Request,
    session: SessionDep,
    workspace_id: WorkspaceDep,
    period: LeadersPeriod = None,
    since: Since = None,
    until: Until = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="At most this many people per list.")] = 20,
) -> Any:
    """A standard period up to the coming hour (7d, 30d, 90d) with at most 20 people per list is kept by a worker
    (`computed_at`); other periods, dates or limits are computed now."""
    found = lists_kept.leaders_of(session, workspace_id, period, since=_aware(since), until=_aware(until), limit=limit)
    if found is None:
        return _computing(request, workspace_id, jobs.compute_lists, f"the {period or '30d'} leaders")
    return found.value


@router.get("/leaders/graph", response_model=Picture, summary="The graph of who answers, mentions, quotes whom")
def get_leaders_graph(
    request: Request,
    session: SessionDep,
    workspace_id: WorkspaceDep,
    period: LeadersPeriod = None,
    since: Since = None,
    until: Until = None,
    nodes: Annotated[int, Query(ge=1, le=MAX_NODES, description="The most influential people shown.")] = MAX_NODES,
) -> Any:
    """The most influential people of the period with their places (a seeded layout), community, influence and
    lists, and the edges among them (docs/leaders.md, "The graph on the page"); a standard period up to the coming
    hour (7d, 30d, 90d) is kept by a worker, other periods and dates are computed now."""
    found = lists_kept.picture_of(session, workspace_id, period, since=_aware(since), until=_aware(until))
    if found is None:
        return _computing(request, workspace_id, jobs.compute_lists, f"the {period or '30d'} graph")
    return top(found.value, nodes)


@router.get("/members/{author_id}", response_model=members.MemberProfile, summary="One person across channels")
def get_member(session: SessionDep, workspace_id: WorkspaceDep, author_id: int) -> Any:
    author = session.get(Author, author_id)
    if author is None or author.workspace_id != workspace_id:
        raise NotFound(f"no author {author_id} in this workspace")
    return members.member(session, author_id)


@router.get("/sources", response_model=list[sources.SourceRow], summary="Sources, last imports and problems")
def list_sources(session: SessionDep, workspace_id: WorkspaceDep) -> Any:
    return sources.sources(session, workspace_id)


@router.post("/sources/{source_id}/pause", response_model=sources.SourceRow, summary="Pause a source")
def pause_source(session: SessionDep, workspace_id: WorkspaceDep, actor: ActorDep, source_id: int) -> Any:
    return sources.pause(session, workspace_id, source_id, by=actor)


@router.post("/sources/{source_id}/resume", response_model=sources.SourceRow, summary="Resume a paused source")
def resume_source(session: SessionDep, workspace_id: WorkspaceDep, actor: ActorDep, source_id: int) -> Any:
    return sources.resume(session, workspace_id, source_id, by=actor)


# --- stats, time series, overview ---


class StatsOut(BaseModel):
    """Counts of the token's workspace."""

    workspace: str
    messages: int
    authors: int
    threads: int
    first: datetime | None
    last: datetime | None
    by_kind: dict[str, int]
    by_source: dict[str, int]
    by_language: dict[str, int]


@router.get("/stats", response_model=StatsOut, summary="Counts by kind, source and language")
def get_stats(session: SessionDep, workspace_id: WorkspaceDep) -> Any:
    return StatsOut(**dataclasses.asdict(stats.compute(session, session.get_one(Workspace, workspace_id))))


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise Invalid(f"tz {name!r}: use an IANA time zone such as Europe/Paris or UTC") from None


def _span(period: str | None, start: datetime | None, end: datetime | None) -> tuple[datetime, datetime]:
    """[start, end): explicit dates, or the last 24 h / 7 / 30 / 90 days up to the coming hour."""
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    end = _aware(end) or now
    if start is not None:
        return _aware(start) or start, end
    if period is not None and period not in PERIODS:
        raise Invalid(f"period {period!r}: use {', '.join(PERIODS)}, or start and end")
    return end - PERIODS[period or "7d"], end


Bucket = Literal["hour", "day", "week"]
Zone = Annotated[str, Query(description="IANA time zone for days and weeks.")]
Period = Annotated[str | None, Query(description="24h, 7d, 30d or 90d (default 7d), up to now.")]


@router.get("/timeseries", response_model=timeseries.TimeSeries, summary="A metric per hour, day or week")
def get_timeseries(
    session: SessionDep,
    workspace_id: WorkspaceDep,
    metric: Literal["messages", "engagement"] = "messages",
    bucket: Bucket = "day",
    group_by: Literal[timeseries.GROUPS] | None = None,  # type: ignore[valid-type]
    period: Period = None,
    start: datetime | None = None,
    end: datetime | None = None,
    tz: Zone = "UTC",
) -> Any:
    first, last = _span(period, start, end)
    return timeseries.timeseries(session, workspace_id, metric, bucket, first, last, group_by, _zone(tz))


@router.get("/overview", response_model=overview.Overview, summary="The Overview page's figures and series")
def get_overview(
    session: SessionDep,
    workspace_id: WorkspaceDep,
    period: Period = None,
    start: datetime | None = None,
    end: datetime | None = None,
    bucket: Bucket | None = None,
    tz: Zone = "UTC",
) -> Any:
    first, last = _span(period, start, end)
    size = bucket or ("hour" if last - first <= timedelta(days=2) else "day")
    return overview.overview(session, workspace_id, first, last, size, _zone(tz))


# --- saved searches ---


class SavedIn(BaseModel):
    """A name and the Explorer parameters to keep under it."""

    name: str = Field(min_length=1, max_length=200)
    q: str | None = None
    source: str | None = None
    channel: str | None = None
    kind: str | None = None
    language: str | None = None
    sentiment: str | None = None
    spam: bool | None = None
    toxic: bool | None = None
    intent: str | None = None
    author: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    unpublished: bool = False
    sort: Literal["newest", "oldest", "engaged", "relevance"] = "newest"


class SavedOut(BaseModel):
    """A saved search."""

    id: int
    name: str
    query: dict[str, Any]
    created_at: datetime


def _saved_out(found: explorer.Saved) -> SavedOut:
    fields = {k: getattr(found.query, k) for k in explorer.ExplorerQuery.__dataclass_fields__}
    fields = {("q" if k == "text" else k): v for k, v in fields.items() if k not in ("workspace_id", "cursor")}
    return SavedOut(id=found.id, name=found.name, query=fields, created_at=found.created_at)


@router.get("/saved-searches", response_model=list[SavedOut], summary="Saved searches of the workspace")
def list_saved(session: SessionDep, workspace_id: WorkspaceDep) -> Any:
    return [_saved_out(found) for found in explorer.saved(session, workspace_id)]


@router.post("/saved-searches", response_model=SavedOut, status_code=201, summary="Save a search under a name")
def post_saved(session: SessionDep, workspace_id: WorkspaceDep, actor: ActorDep, body: SavedIn) -> Any:
    data = body.model_dump(exclude={"name"})
    data["text"] = data.pop("q")
    for name in ("since", "until"):
        data[name] = _aware(data[name])
    query = explorer.ExplorerQuery(workspace_id=workspace_id, **data)
    return _saved_out(explorer.save(session, workspace_id, body.name, query, by=actor))


@router.delete("/saved-searches/{saved_id}", status_code=204, summary="Delete a saved search")
def delete_saved(session: SessionDep, workspace_id: WorkspaceDep, actor: ActorDep, saved_id: int) -> Response:
    explorer.forget(session, workspace_id, saved_id, by=actor)
    return Response(status_code=204)


# --- the audit log (admins) ---


@dataclass(frozen=True, slots=True)
class AuditPage:
    """Entries of the token's workspace, newest first; pass `next_cursor` as `cursor` for older ones."""

    entries: list[dict[str, Any]]
    next_cursor: str | None


@router.get("/audit", response_model=AuditPage, summary="The audit log of the workspace (admins)")
def get_audit(
    session: SessionDep,
    workspace_id: WorkspaceDep,
    actor: Annotated[str | None, Query(max_length=320, description="Only what this person did.")] = None,
    action: Annotated[str | None, Query(max_length=64, description="This action, or those it begins.")] = None,
    since: Annotated[datetime | None, Query(description="ISO 8601; UTC without a zone.")] = None,
    until: Annotated[datetime | None, Query(description="ISO 8601, excluded.")] = None,
    cursor: Annotated[str | None, Query(max_length=40)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Any:
    filters = audit.Filters(workspace_id=workspace_id, actor=actor, action=action, since=_aware(since),
                            until=_aware(until))  # fmt: skip
    found = audit.page(session, filters, limit=limit, cursor=cursor)
    return AuditPage([entry.as_json() for entry in found.entries], found.next_cursor)


class MetricOut(BaseModel):
    """One metric of the catalogue (docs/metrics.md) for the period and the period before it."""

    value: Any
    previous: Any
    unit: str
    note: str | None = None


class MetricsOut(BaseModel):
    """The catalogue's values for a period, as `pilote metrics --json` prints them."""

    since: datetime
    until: datetime
    channel: str | None
    sources: list[int] | None = None
    language: str | None = None
    topic: str | None = None
    metrics: dict[str, MetricOut]
    computed_at: datetime | None = Field(
        None, description="When a worker computed this report (a standard period, no filter); null: computed now."
    )


@router.get("/metrics", response_model=MetricsOut, response_model_exclude_none=False, summary="Metrics that matter")
def get_metrics(
    request: Request,
    session: SessionDep,
    workspace_id: WorkspaceDep,
    period: Annotated[
        str | None, Query(description="7d, 30d (default), 90d or all, up to the coming hour (kept by a worker).")
    ] = None,
    since: datetime | None = None,
    until: datetime | None = None,
    channel: str | None = None,
    source: Annotated[str | None, Query(description="Only this source: its id, name or key.")] = None,
    language: Annotated[str | None, Query(description="Only messages in this language (e.g. fr).")] = None,
    topic: Annotated[
        str | None, Query(description="Only messages with this keyphrase, or one holding its words.")
    ] = None,
) -> Any:
    only = metrics.narrow(session, workspace_id, channel=channel, source=source, language=language, topic=topic)
    found = kept.report_of(session, workspace_id, period, since=_aware(since), until=_aware(until), focus=only)
    if found is None:  # a large workspace whose reports a worker has not computed yet
        return _computing(request, workspace_id, jobs.compute_reports, f"the {period or '30d'} report")
    return found.value.as_json() | {"computed_at": found.computed_at}
