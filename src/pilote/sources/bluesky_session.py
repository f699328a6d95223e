"""Bluesky's XRPC calls for one account, through the shared HttpClient.

The session (access and refresh tokens) is created once per HTTP client, so once per sync: Bluesky allows
30 createSession a 5 minutes. It lives in memory only, never in the cursor, and is renewed with
refreshSession when Bluesky answers ExpiredToken or InvalidToken (a new one is created when the refresh
token has expired too).
"""

from __future__ import annotations

import hashlib
import re
import threading
import weakref
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from pilote.sources.http import AuthFailed, FetchFailed, HttpClient, HttpStatus
from pilote.texts import N_

PACE = 0.1  # seconds between requests: Bluesky allows 3,000 per 5 minutes from one address (10 a second)
POSTS_PER_CALL = 25  # getPosts takes at most 25 uris
TOKEN_ERRORS = frozenset({"ExpiredToken", "InvalidToken"})
APP_PASSWORDS = N_("in Bluesky, Settings › Privacy and security › App passwords")
_ERROR = re.compile(r'"error"\s*:\s*"(\w+)"')
_MESSAGE = re.compile(r'"message"\s*:\s*"((?:[^"\\]|\\.){0,200})"')
_LINK = re.compile(r"https?://[^\s<>\"]+")
_LOCK = threading.Lock()
_SESSIONS: dict[int, dict[tuple[str, str, str], Session]] = {}  # id(client) -> account -> session


@dataclass(slots=True, frozen=True)
class Session:
    """Who is signed in, and the tokens (memory only)."""

    did: str
    handle: str
    access: str = field(repr=False)
    refresh: str = field(repr=False)


class Refused(HttpStatus):
    """Bluesky refused a call with an XRPC error name (InvalidRequest, NotFound...)."""

    def __init__(self, message: str, status: int, error: str | None, **params: Any) -> None:
        super().__init__(message, status, **params)
        self.error = error


@dataclass(slots=True)
class Xrpc:
    """Calls for one signed-in account on one server."""

    client: HttpClient
    service: str
    identifier: str
    password: str = field(repr=False)
    session: Session

    @property
    def host(self) -> str:
        return service_host(self.service)

    def call(self, method: str, nsid: str, params: dict[str, Any] | None = None, *, body: Any = None) -> Any:
        """The JSON object Bluesky answers; an expired session is renewed once and the call made again."""
        try:
            return self._send(method, nsid, params, body)
        except FetchFailed as error:
            if xrpc_error(error) not in TOKEN_ERRORS:
                raise self._plain(error, nsid) from None
        self.session = _renew(self)
        try:
            return self._send(method, nsid, params, body)
        except FetchFailed as error:
            raise self._plain(error, nsid) from None

    def listed(self, answer: dict[str, Any], key: str, nsid: str) -> list[Any]:
        """The answer's list under `key`, or a plain error when the answer is not shaped as documented."""
        value = answer.get(key)
        if not isinstance(value, list):
            raise self.wrong_shape(nsid, f"a list of {key}")
        return value

    def posts(self, uris: list[str]) -> dict[str, Any]:
        """The post views of these uris by uri (getPosts leaves out deleted posts and blocked authors)."""
        found: dict[str, Any] = {}
        for start in range(0, len(uris), POSTS_PER_CALL):
            answer = self.call("GET", "app.bsky.feed.getPosts", {"uris": uris[start : start + POSTS_PER_CALL]})
            for view in self.listed(answer, "posts", "app.bsky.feed.getPosts"):
                if isinstance(view, dict) and isinstance(view.get("uri"), str):
                    found[view["uri"]] = view
        return found

    def wrong_shape(self, nsid: str, what: str) -> FetchFailed:
        return FetchFailed(
            N_(
                "%(host)s answered %(nsid)s without %(what)s, unlike what Bluesky documents; nothing "
                "of this answer was kept, and Pilote tries again at the next sync"
            ),
            host=self.host,
            nsid=nsid,
            what=what,
        )

    def _send(self, method: str, nsid: str, params: dict[str, Any] | None, body: Any) -> Any:
        response = self.client.request(method, f"{self.service}/xrpc/{nsid}", params=params, json=body,
                                       headers={"Authorization": f"Bearer {self.session.access}"})  # fmt: skip
        answer = response.json()
        if not isinstance(answer, dict):
            raise self.wrong_shape(nsid, "a JSON object")
        return answer

    def _plain(self, error: FetchFailed, nsid: str) -> FetchFailed:
        """Bluesky's refusals in plain words; rate limits, network and server errors as the client said them."""
        said = _said(error)
        if isinstance(error, AuthFailed) or xrpc_error(error) in TOKEN_ERRORS:
            return AuthFailed(
                N_(
                    "%(host)s refused the session of @%(identifier)s for %(nsid)s%(said)s: enter the app "
                    "password again, or create a new one (%(address)s)"
                ),
                host=self.host,
                identifier=self.identifier,
                nsid=nsid,
                said=said,
                address=APP_PASSWORDS,
            )
        if isinstance(error, HttpStatus) and not isinstance(error, Refused) and (error.status or 0) < 500:
            hint = "nothing was posted" if nsid.startswith("com.atproto.repo.") else "check the source's settings"
            return Refused(
                N_("%(host)s refused %(nsid)s%(said)s: %(advice)s"),
                error.status or 0,
                xrpc_error(error),
                host=self.host,
                nsid=nsid,
                said=said,
                advice=hint,
            )
        return error


def connect(client: HttpClient, service: str, identifier: str, password: str) -> Xrpc:
    """Calls for this account: the session this client already holds for it, else a new one."""
    client.pace = max(client.pace, PACE)
    session = _cached(client, _key(service, identifier, password))
    if session is None:
        session = _create(client, service, identifier, password)
    return Xrpc(client, service, identifier, password, session)


def xrpc_error(error: FetchFailed) -> str | None:
    """Bluesky's name for an error (ExpiredToken, NotFound...), from the answer the client quoted."""
    if isinstance(error, Refused):
        return error.error
    found = _ERROR.search(str(error))
    return found.group(1) if found else None


def service_host(service: str) -> str:
    """The server's host name, for keys and messages."""
    try:
        return (urlsplit(service).hostname or service).lower()
    except ValueError:
        return service


def link_facets(text: str) -> list[dict[str, Any]]:
    """Link facets for the addresses in a text we post (Bluesky shows links only where facets say)."""
    facets = []
    for found in _LINK.finditer(text):
        link = found.group().rstrip(".,;:!?)]'")
        start = len(text[: found.start()].encode("utf-8"))
        facets.append({"index": {"byteStart": start, "byteEnd": start + len(link.encode("utf-8"))},
                       "features": [{"$type": "app.bsky.richtext.facet#link", "uri": link}]})  # fmt: skip
    return facets


def _create(client: HttpClient, service: str, identifier: str, password: str) -> Session:
    host = service_host(service)
    try:
        response = client.request("POST", f"{service}/xrpc/com.atproto.server.createSession",
                                  json={"identifier": identifier, "password": password})  # fmt: skip
    except FetchFailed as error:
        if isinstance(error, AuthFailed) or (isinstance(error, HttpStatus) and error.status == 400):
            raise AuthFailed(_sign_in_refused(host, identifier, error)) from None
        raise
    session = _session(response.json(), host, "com.atproto.server.createSession")
    _remember(client, _key(service, identifier, password), session)
    return session


def _renew(api: Xrpc) -> Session:
    """A fresh session from the refresh token; a new sign-in when that one has expired too."""
    nsid = "com.atproto.server.refreshSession"
    try:
        response = api.client.request("POST", f"{api.service}/xrpc/{nsid}",
                                      headers={"Authorization": f"Bearer {api.session.refresh}"})  # fmt: skip
    except FetchFailed as error:
        if not isinstance(error, AuthFailed) and xrpc_error(error) not in TOKEN_ERRORS:
            raise
        return _create(api.client, api.service, api.identifier, api.password)
    session = _session(response.json(), api.host, nsid)
    _remember(api.client, _key(api.service, api.identifier, api.password), session)
    return session


def _session(answer: Any, host: str, nsid: str) -> Session:
    keys = ("did", "handle", "accessJwt", "refreshJwt")
    fields = [answer.get(k) if isinstance(answer, dict) else None for k in keys]
    if not all(isinstance(f, str) and f for f in fields):
        raise FetchFailed(
            N_(
                "%(host)s answered %(nsid)s without a session (did, handle and tokens); is the "
                "service address a Bluesky server?"
            ),
            host=host,
            nsid=nsid,
        )
    return Session(*(str(f) for f in fields))


def _sign_in_refused(host: str, identifier: str, error: FetchFailed) -> str:
    name, said = xrpc_error(error), _said(error)
    if name == "AuthFactorTokenRequired":
        return (f"{host} asks for a code sent by e-mail to sign in as @{identifier}: that is the account's own "
                f"password; create an app password ({APP_PASSWORDS}) and enter it instead")  # fmt: skip
    if name in ("AccountTakedown", "AccountDeactivated"):
        return f"{host} says the account @{identifier} is suspended or deactivated{said}"
    return (f"{host} refused to sign in as @{identifier} with this app password{said}: check the handle, or "
            f"create a new app password ({APP_PASSWORDS}) and enter it in the source's settings")  # fmt: skip


def _said(error: FetchFailed) -> str:
    """' (Name: message)' from Bluesky's error answer quoted in the client's error, or ''."""
    name, found = xrpc_error(error), _MESSAGE.search(str(error))
    words = [w for w in (name, found.group(1) if found else None) if w]
    return f" ({': '.join(words)})" if words else ""


def _key(service: str, identifier: str, password: str) -> tuple[str, str, str]:
    return service, identifier.lower(), hashlib.sha256(password.encode()).hexdigest()


def _cached(client: HttpClient, key: tuple[str, str, str]) -> Session | None:
    with _LOCK:
        return _SESSIONS.get(id(client), {}).get(key)


def _remember(client: HttpClient, key: tuple[str, str, str], session: Session) -> None:
    """Kept while the client lives: a sync's client goes with the sync, and its sessions with it."""
    with _LOCK:
        held = _SESSIONS.get(id(client))
        if held is None:
            held = _SESSIONS[id(client)] = {}
            weakref.finalize(client, _forget, id(client))
        held[key] = session


def _forget(client_id: int) -> None:
    with _LOCK:
        _SESSIONS.pop(client_id, None)
