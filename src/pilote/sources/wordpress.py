"""A WordPress blog, live through its REST API (wp/v2): published posts, their comments, and moderation.

The first sync reads every published post, then the comments of the last `backfill_days` days, newest first,
one page per fetch. Each later sync is a cycle of three steps: posts edited since the last one
(`modified_after`), posts published since (`after`, which also catches scheduled posts going live: WordPress
does not touch their modification date), and comments newer than the highest id seen, newest first; the
first page of comments (the newest 100) is read again each time, which is how edits, moderation and
deletions of recent comments are seen. docs/connectors/wordpress.md gives the cursor and the limits.
"""

from __future__ import annotations

import base64
import copy
import html
import ipaddress
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import orjson

from pilote.errors import Invalid
from pilote.sources.base import Account, Action, Connector, Done, Item, ItemError, Page, Setting, SourceInfo
from pilote.sources.http import AuthFailed, FetchFailed, HttpClient, HttpStatus, Response, check_url
from pilote.sources.wordpress_json import Said, comment_item, date_of, post_item, wordpress_error
from pilote.sources.wxr import site_key
from pilote.texts import N_

if TYPE_CHECKING:
    from pilote.sources import wordpress as this_module

name = "wordpress"
description = N_("A WordPress blog through its REST API: published posts and their comments, moderation and replies")
settings: tuple[Setting, ...] = (
    Setting("site", N_("The blog's address, e.g. https://blog.example.org")),
    Setting(
        "user",
        N_(
            "A WordPress user who can moderate comments (Editor or Administrator); without one, Pilote reads "
            "approved comments only and cannot reply nor moderate"
        ),
        required=False,
    ),
    Setting(
        "application_password",
        N_("An application password of that user (WordPress: Users → Profile → Application Passwords)"),
        secret=True,
        required=False,
    ),
    Setting(
        "backfill_days", N_("How many days of comments the first sync reads (default 365; 0: all)"), required=False
    ),
)
actions: tuple[str, ...] = ("reply", "approve", "hold", "spam", "trash")

PER_PAGE = 100  # WordPress's maximum; also the window of recent comments read again at each sync
DEFAULT_BACKFILL_DAYS = 365
PACE = 1.0  # seconds between two requests to one blog that a caller may give the client (WordPress sets no limit)
MODERATION = {"approve": "approved", "hold": "hold", "spam": "spam", "trash": "trash"}
BACKFILL = ("backfill_posts", "backfill_comments")
CYCLE = ("edited_posts", "new_posts", "comments")
_BAD_CREDENTIALS = {"incorrect_password", "invalid_username", "invalid_email", "application_passwords_disabled",
                    "application_passwords_disabled_for_user", "rest_not_logged_in"}  # fmt: skip


@dataclass(slots=True)
class _Site:
    """Where the blog's API answers, and the credentials' header (empty without credentials)."""

    base: str
    host: str
    auth: dict[str, str]
    query_style: bool = False  # the API at /?rest_route= (sites without pretty permalinks)

    def url(self, route: str) -> str:
        if self.query_style:
            return f"{self.base}/?rest_route=/wp/v2/{route}"
        return f"{self.base}/wp-json/wp/v2/{route}"

    @property
    def viewer(self) -> str:
        return "moderator" if self.auth else "public"


@dataclass(slots=True)
class _Listing:
    objects: list[Any]
    more: bool


Step = tuple[list[Item | ItemError], list[str], bool]  # items, deleted ids, whether the step is over


def describe(account: Account) -> SourceInfo:
    """The blog's address without scheme is the key; authors share the blog's channel with its exports."""
    site = _site(account)
    key = site_key(site.base)
    return SourceInfo(kind=name, key=key, name=key, channel=f"blog:{site.host}", url=site.base + "/")


def fetch(client: HttpClient, account: Account, cursor: Mapping[str, Any]) -> Page:
    """One page: the backfill's next, or the next of this sync's cycle (edited posts, new posts, comments)."""
    site = _site(account, cursor.get("route"))
    state = copy.deepcopy(dict(cursor)) if cursor else _start(account)
    if state.get("step") not in _STEPS:  # between two syncs: a new cycle begins
        state.update(step=CYCLE[0], page=1)
    if state["step"] in CYCLE:
        state.setdefault("mark", _mark(state))
    items, deleted, done = _STEPS[state["step"]](client, site, state)
    more = _advance(state, done)
    if site.query_style:
        state["route"] = "query"
    return Page(items=items, cursor=state, more=more, deleted=deleted)


def act(client: HttpClient, account: Account, action: Action) -> Done:
    """Reply to a post or a comment, or set a comment's status (approve, hold, spam, trash)."""
    if action.kind not in actions:
        raise Invalid(
            N_("WordPress has no %(kind)r: Pilote can %(value)s there"), kind=action.kind, value=", ".join(actions)
        )
    site = _site(account)
    if not site.auth:
        raise Invalid(
            N_("to %(kind)s on %(host)s, add a user name and an application password to the source"),
            kind=action.kind,
            host=site.host,
        )
    kind, number = _target(action)
    if action.kind == "reply":
        return _reply(client, site, action, kind, number)
    if kind != "comment":
        raise Invalid(
            N_("%(external_id)s is a post: only comments can be approved, held, marked as spam or trashed"),
            external_id=action.external_id,
        )
    status = MODERATION[action.kind]
    item = _answered(_call(client, site, "POST", f"comments/{number}", json={"status": status}), site)
    return Done(item=item, detail=f"comment {number} is now {status} on {site.host}")


def _start(account: Account) -> dict[str, Any]:
    state: dict[str, Any] = {"step": BACKFILL[0], "page": 1, "posts": {}, "comments": {}}
    days = _backfill_days(account)
    if days:
        state["horizon"] = _iso(datetime.now(UTC) - timedelta(days=days))
    return state


def _mark(state: dict[str, Any]) -> dict[str, Any]:
    """Where the previous sync stopped, fixed for the whole cycle (the steps move the marks as they read)."""
    posts, comments = state.setdefault("posts", {}), state.setdefault("comments", {})
    return {"date": posts.get("date"), "modified": posts.get("modified"), "top": comments.get("top", 0),
            "recent": comments.get("recent", []), "seen_as": comments.get("seen_as")}  # fmt: skip


def _advance(state: dict[str, Any], done: bool) -> bool:
    """Move the cursor to the next page or step; False when the backfill or the cycle is over."""
    if not done:
        state["page"] += 1
        return True
    order = BACKFILL if state["step"] in BACKFILL else CYCLE
    position = order.index(state["step"]) + 1
    if position < len(order):
        state.update(step=order[position], page=1)
        return True
    for key in ("step", "page", "mark", "horizon", "bottom"):
        state.pop(key, None)
    return False


def _backfill_posts(client: HttpClient, site: _Site, state: dict[str, Any]) -> Step:
    return _posts(client, site, state, {"orderby": "date", "order": "desc"})


def _edited_posts(client: HttpClient, site: _Site, state: dict[str, Any]) -> Step:
    since = state["mark"]["modified"]
    if since is None:
        return [], [], True
    params = {"orderby": "modified", "order": "desc", "modified_after": since}
    return _posts(client, site, state, params, newer_than=since)  # a WordPress before 5.7 ignores modified_after


def _new_posts(client: HttpClient, site: _Site, state: dict[str, Any]) -> Step:
    since = state["mark"]["date"]
    after = _iso(datetime.fromisoformat(since) - timedelta(seconds=1)) if since else None
    return _posts(client, site, state, {"orderby": "date", "order": "asc", "after": after})


def _posts(client: HttpClient, site: _Site, state: dict[str, Any], params: dict[str, Any],
           newer_than: str | None = None) -> Step:  # fmt: skip
    page = state["page"]
    listing = _list(client, site, "posts", {**params, "status": "publish", "_embed": "author"}, page)
    items: list[Item | ItemError] = []
    reached = False
    for number, post in enumerate(listing.objects, 1):
        modified = date_of(post, "modified") if isinstance(post, dict) else None
        if newer_than and modified and _iso(modified) <= newer_than:
            reached = True
            continue
        found = post_item(post, f"posts page {page}, item {number}")
        if isinstance(found, Item):
            _raise(state["posts"], "date", found.created_at)
            _raise(state["posts"], "modified", modified or found.created_at)
        if found is not None:
            items.append(found)
    return items, [], reached or not listing.more


def _backfill_comments(client: HttpClient, site: _Site, state: dict[str, Any]) -> Step:
    return _comments(client, site, state, {"after": state.get("horizon")}, stop_at=None)


def _new_comments(client: HttpClient, site: _Site, state: dict[str, Any]) -> Step:
    return _comments(client, site, state, {}, stop_at=state["mark"]["top"])


def _comments(client: HttpClient, site: _Site, state: dict[str, Any], params: dict[str, Any],
              stop_at: int | None) -> Step:  # fmt: skip
    """Comments by id, newest first: with credentials every status (WordPress's "any"), else approved ones."""
    page = state["page"]
    params = {**params, "orderby": "id", "order": "desc", "_embed": "author"}
    if site.auth:
        params.update(status="any", context="edit")
    listing = _list(client, site, "comments", params, page)
    ids = [obj["id"] for obj in listing.objects if isinstance(obj, dict) and isinstance(obj.get("id"), int)]
    deleted = _vanished(state, site, ids, listing.more) if stop_at is not None else []
    memory = state["comments"]
    if page == 1:
        memory.update(recent=ids, seen_as=site.viewer)
    memory["top"] = max([memory.get("top", 0), *ids])
    items = [comment_item(obj, f"comments page {page}, item {n}") for n, obj in enumerate(listing.objects, 1)]
    reached = stop_at is not None and (not ids or min(ids) <= stop_at)
    return items, deleted, reached or not listing.more


def _vanished(state: dict[str, Any], site: _Site, ids: list[int], more: bool) -> list[str]:
    """Comments of the last sync's window that this page should list and does not: deleted upstream (or,
    without credentials, no longer approved). A page covers the ids from its lowest (0 for the last page) up
    to the previous page's lowest; the window is forgotten when the credentials changed in between."""
    mark = state["mark"]
    lower = min(ids) if ids and more else 0
    upper = state.get("bottom")
    state["bottom"] = lower
    if mark["seen_as"] != site.viewer:
        return []
    present = set(ids)
    return [f"comment:{old}" for old in mark["recent"]
            if lower <= old and (upper is None or old < upper) and old not in present]  # fmt: skip


_STEPS: dict[str, Callable[[HttpClient, _Site, dict[str, Any]], Step]] = {
    "backfill_posts": _backfill_posts,
    "backfill_comments": _backfill_comments,
    "edited_posts": _edited_posts,
    "new_posts": _new_posts,
    "comments": _new_comments,
}


# WordPress's answers to a page past the end, for posts and for comments.
PAST_THE_END = ("rest_post_invalid_page_number", "rest_comment_invalid_page_number")


def _list(client: HttpClient, site: _Site, route: str, params: dict[str, Any], page: int) -> _Listing:
    """One page of a collection; whether more follow, by X-WP-TotalPages (else by a full page)."""
    try:
        response = _call(client, site, "GET", route, params={**params, "per_page": PER_PAGE, "page": page})
    except HttpStatus as error:
        if error.status == 400 and any(code in str(error) for code in PAST_THE_END):
            return _Listing([], False)  # the collection shrank while it was read
        raise
    body = response.json()
    if not isinstance(body, list):
        shape = f"a JSON {type(body).__name__}" if body is not None else "null"
        raise FetchFailed(
            N_(
                "%(host)s answered %(shape)s instead of a list of %(route)s: is %(base)s a WordPress "
                "blog? Pilote tries again at the next sync"
            ),
            host=site.host,
            shape=shape,
            route=route,
            base=site.base,
        )
    pages = response.headers.get("x-wp-totalpages", "").strip()
    return _Listing(body, page < int(pages) if pages.isdigit() else len(body) >= PER_PAGE)


def _call(client: HttpClient, site: _Site, method: str, route: str, *, params: dict[str, Any] | None = None,
          json: Any = None) -> Response:  # fmt: skip
    """One request to the API, refusals in plain words. A blog without pretty permalinks answers /wp-json/ with
    its own 404 page: it is asked again at /?rest_route=, which the site then keeps (and the cursor)."""
    try:
        return client.request(method, site.url(route), params=params, json=json, headers=site.auth)
    except (AuthFailed, HttpStatus) as error:
        said = wordpress_error(str(error))
        if isinstance(error, HttpStatus) and error.status == 404 and said is None and not site.query_style:
            site.query_style = True
            return _call(client, site, method, route, params=params, json=json)
        raise _plain(error, site, said) from None


def _plain(error: AuthFailed | HttpStatus, site: _Site, said: Said | None) -> FetchFailed:
    words = f"WordPress says: {said.message or said.code} [{said.code}]" if said else ""
    if isinstance(error, AuthFailed):
        return AuthFailed(
            N_("%(host)s refused Pilote (%(value)s): %(value2)s"),
            host=site.host,
            value=words or "HTTP 401/403",
            value2=_advice(site, said),
        )
    if error.status == 404 and said is None:
        where = f"{site.base}/wp-json/ nor at {site.base}/?rest_route=/"
        return HttpStatus(
            N_(
                "%(host)s: no WordPress API at %(places)s (HTTP 404): check the site's address; a "
                "security plugin may also turn the API off"
            ),
            404,
            host=site.host,
            places=where,
        )
    if said is None:
        return error
    gone = " (it no longer exists on the blog)" if said.code.endswith("_invalid_id") else ""
    return HttpStatus(
        N_("%(host)s answered HTTP %(code)s%(gone)s: %(words)s"),
        error.status,
        host=site.host,
        code=error.status,
        gone=gone,
        words=words,
    )


def _advice(site: _Site, said: Said | None) -> str:
    if not site.auth:
        return "this blog's API asks for a login: add a user name and an application password to the source"
    if said is None:
        return ("a firewall or a security plugin in front of WordPress refused the request: check the credentials, "
                "and whether the site lets its REST API be used")  # fmt: skip
    if said.code in _BAD_CREDENTIALS:
        return ("check the user name and the application password in the source's settings; a revoked one is "
                "replaced in WordPress under Users → Profile → Application Passwords")  # fmt: skip
    if said.status == 401:
        return ("WordPress did not see the credentials: check them, and that the web server passes the "
                "Authorization header on to WordPress (some Apache and CGI setups drop it)")  # fmt: skip
    return "this user may not read or moderate comments: give an Editor or an Administrator"


def _reply(client: HttpClient, site: _Site, action: Action, kind: str, number: int) -> Done:
    text = (action.text or "").strip()
    if not text:
        raise Invalid(N_("a reply needs some text"))
    post = number if kind == "post" else _post_of(action)
    body = {"post": post, "parent": number if kind == "comment" else 0, "content": html.escape(text, quote=False)}
    item = _answered(_call(client, site, "POST", "comments", json=body), site)
    held = ("status", "pending") in item.labels
    return Done(item=item, detail=f"reply posted on {site.host}" + (", held for moderation" if held else ""))


def _answered(response: Response, site: _Site) -> Item:
    found = comment_item(response.json(), "the answer")
    if isinstance(found, ItemError):
        raise FetchFailed(
            N_(
                "%(host)s did what was asked but answered with a comment Pilote cannot read "
                "(%(detail)s); the next sync brings it"
            ),
            host=site.host,
            detail=found.problem,
        )
    return found


def _target(action: Action) -> tuple[str, int]:
    kind, _, number = action.external_id.partition(":")
    if kind not in ("post", "comment") or not number.isdigit():
        raise Invalid(
            N_("%(external_id)r is not a WordPress post or comment read by this source"), external_id=action.external_id
        )
    return kind, int(number)


def _post_of(action: Action) -> int:
    try:
        post = orjson.loads(action.raw).get("post")
    except (orjson.JSONDecodeError, AttributeError):
        post = None
    if not isinstance(post, int) or isinstance(post, bool) or post <= 0:
        raise Invalid(
            N_("%(external_id)s: its stored payload names no post, so Pilote cannot reply to it"),
            external_id=action.external_id,
        )
    return post


def _site(account: Account, route: str | None = None) -> _Site:
    """The blog's address as given (scheme optional; an API address or ?rest_route= is understood)."""
    address = account.get("site").strip()
    if not address:
        raise Invalid(N_("site: give the blog's address, e.g. https://blog.example.org"))
    parts = urlsplit(check_url(address if "://" in address else f"https://{address}", what="site"))
    path = parts.path.split("/wp-json", 1)[0].removesuffix("/index.php").rstrip("/")
    base = urlunsplit((parts.scheme, parts.netloc, path, "", ""))
    host = parts.hostname or parts.netloc
    return _Site(base, host, _auth(account, parts.scheme, host), "rest_route" in parts.query or route == "query")


def _auth(account: Account, scheme: str, host: str) -> dict[str, str]:
    user, password = account.get("user").strip(), account.get("application_password").strip()
    if not user and not password:
        return {}
    if not (user and password):
        raise Invalid(
            N_(
                "user and application_password: give both (a WordPress user and one of their "
                "application passwords), or neither to read approved comments only"
            )
        )
    if scheme != "https" and not _local(host):
        raise Invalid(
            N_("site: %(host)s is addressed over http; an application password is sent over https only"), host=host
        )
    token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    return {"Authorization": f"Basic {token}"}


def _local(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _backfill_days(account: Account) -> int:
    value = account.get("backfill_days").strip()
    if not value:
        return DEFAULT_BACKFILL_DAYS
    if not value.isdigit():
        raise Invalid(
            N_("backfill_days %(value)r: give a whole number of days (0 for the blog's whole history)"), value=value
        )
    return int(value)


def _raise(marks: dict[str, Any], key: str, when: datetime) -> None:
    if marks.get(key) is None or _iso(when) > marks[key]:
        marks[key] = _iso(when)


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


if TYPE_CHECKING:
    _: Connector = this_module  # the module itself is the connector: mypy checks it keeps the contract
