"""Talking to Reddit's OAuth API: an access token per app and account, kept while it lasts (in this process
only: tokens are never stored); a new one, once, when Reddit refuses it mid-sync; Reddit's pace (100 requests
a minute per app: one every 0.6 s) and the quota its X-Ratelimit headers announce. docs/connectors/reddit.md.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from pilote.sources.http import AuthFailed, FetchFailed, HttpClient, RateLimited, Response
from pilote.texts import N_

TOKEN_URL = "https://www.reddit.com/api/v1/access_token"  # noqa: S105  # an address, not a secret
API_URL = "https://oauth.reddit.com"
PACE = 0.6
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
INSTALLED_GRANT = "https://oauth.reddit.com/grants/installed_client"
APPS = "https://www.reddit.com/prefs/apps"


@dataclass(frozen=True, slots=True)
class Credentials:
    """A Reddit app (client id, and its secret unless it is an installed app), and a refresh token of the
    account that acts through it (without one, Pilote reads as the app itself: client credentials)."""

    client_id: str
    client_secret: str = ""
    refresh_token: str = ""
    token_url: str = TOKEN_URL
    api_url: str = API_URL


@dataclass(slots=True)
class _State:
    token: str = ""
    expires: float = 0.0  # on the client's clock
    blocked_until: float = 0.0  # when Reddit's announced quota comes back, on the client's clock


_STATES: dict[str, _State] = {}
_LOCK = threading.Lock()


def forget() -> None:
    """Drop the tokens and quotas this process keeps (for tests: each set of credentials has its own)."""
    with _LOCK:
        _STATES.clear()


def _state(credentials: Credentials) -> _State:
    key = hashlib.sha256(repr(dataclasses.astuple(credentials)).encode()).hexdigest()
    with _LOCK:
        return _STATES.setdefault(key, _State())


class Api:
    """Requests to Reddit's API with a bearer token, at Reddit's pace."""

    def __init__(self, client: HttpClient, credentials: Credentials) -> None:
        # A copy with Reddit's pace; it shares the client's turns per host, so successive pages keep the pace.
        self.client = client if client.pace >= PACE else dataclasses.replace(client, pace=PACE)
        self.credentials = credentials
        self.state = _state(credentials)

    def get(self, path: str, params: dict[str, Any]) -> Any:
        """GET a path of the API, as JSON."""
        return self.call("GET", path, params=params)

    def post(self, path: str, form: dict[str, str]) -> Any:
        """POST a form to a path of the API, as JSON."""
        return self.call("POST", path, form=form)

    def call(self, method: str, path: str, *, params: dict[str, Any] | None = None,
             form: dict[str, str] | None = None) -> Any:  # fmt: skip
        """One request; a refused token is replaced once (they expire after an hour), then it is AuthFailed."""
        token = self._token()  # a refusal of the app's own credentials says so itself: never caught here
        try:
            return self._send(token, method, path, params, form)
        except AuthFailed:
            self.state.token = ""
        token = self._token()
        try:
            return self._send(token, method, path, params, form)
        except AuthFailed as error:
            raise AuthFailed(
                N_(
                    "Reddit refused %(method)s %(file)s even with a new access token (%(error)s). The "
                    "subreddit may be private or banned, the app deleted, or the account without the "
                    "right (moderating needs a moderator's refresh token); check the source's settings"
                ),
                method=method,
                file=path,
                error=error,
            ) from None

    def _send(
        self, token: str, method: str, path: str, params: dict[str, Any] | None, form: dict[str, str] | None
    ) -> Any:
        headers = {"Authorization": f"bearer {token}", **(FORM if form is not None else {})}
        self._wait_for_quota()
        data = urlencode(form).encode() if form is not None else None
        response = self.client.request(method, self.credentials.api_url + path, params=params, data=data,
                                       headers=headers)  # fmt: skip
        self._note_quota(response)
        return response.json() if response.body.strip() else {}  # a moderation action may answer nothing

    def _token(self) -> str:
        if self.state.token and self.client.clock() < self.state.expires:
            return self.state.token
        credentials = self.credentials
        basic = base64.b64encode(f"{credentials.client_id}:{credentials.client_secret}".encode()).decode()
        try:
            response = self.client.request("POST", credentials.token_url, data=urlencode(_grant(credentials)).encode(),
                                           headers={"Authorization": f"Basic {basic}", **FORM})  # fmt: skip
        except AuthFailed as error:
            raise AuthFailed(
                N_("Reddit refused the app's client id and secret (%(error)s); check them on %(apps)s"),
                error=error,
                apps=APPS,
            ) from None
        answer = response.json()
        token = answer.get("access_token") if isinstance(answer, dict) else None
        if not isinstance(token, str) or not token:
            said = answer.get("error") if isinstance(answer, dict) else None
            raise AuthFailed(_no_token(str(said or "no access_token in its answer"), credentials))
        lifetime = answer.get("expires_in")
        seconds = float(lifetime) if isinstance(lifetime, int | float) and not isinstance(lifetime, bool) else 3600.0
        self.state.token, self.state.expires = token, self.client.clock() + max(seconds - 60, 0)
        return token

    def _note_quota(self, response: Response) -> None:
        """Reddit says how many requests are left in its window and when it resets; none left: wait for it."""
        remaining = _number(response.headers.get("x-ratelimit-remaining"))
        reset = _number(response.headers.get("x-ratelimit-reset"))
        if remaining is not None and reset is not None and remaining < 1:
            self.state.blocked_until = self.client.clock() + reset

    def _wait_for_quota(self) -> None:
        left = self.state.blocked_until - self.client.clock()
        if left <= 0:
            return
        if left > self.client.max_wait:
            raise RateLimited(
                f"Reddit's quota of requests for this app is used up for {left:,.0f} s more; the sync stopped "
                "where it was and goes on at the next one",
                left,
            )
        self.client.sleep(left)
        self.state.blocked_until = 0.0


def answer_things(body: Any, what: str) -> list[Any]:
    """The things of an API `json` answer (morechildren, comment); Reddit's own errors in plain words."""
    inner = body.get("json") if isinstance(body, dict) else None
    errors = inner.get("errors") if isinstance(inner, dict) else None
    if errors:
        said = "; ".join(": ".join(str(part) for part in error[:2]) if isinstance(error, list) else str(error)
                         for error in errors[:5])  # fmt: skip
        raise FetchFailed(N_("Reddit refused %(what)s: %(said)s"), what=what, said=said[:300])
    data = inner.get("data") if isinstance(inner, dict) else None
    found = data.get("things") if isinstance(data, dict) else None
    if not isinstance(found, list):
        raise FetchFailed(
            N_(
                "Reddit answered %(what)s with JSON of another shape (no json.data.things); Pilote "
                "tries again at the next sync"
            ),
            what=what,
        )
    return found


def _grant(credentials: Credentials) -> dict[str, str]:
    if credentials.refresh_token:
        return {"grant_type": "refresh_token", "refresh_token": credentials.refresh_token}
    if credentials.client_secret:
        return {"grant_type": "client_credentials"}
    return {"grant_type": INSTALLED_GRANT, "device_id": "DO_NOT_TRACK_THIS_DEVICE"}


def _no_token(said: str, credentials: Credentials) -> str:
    if credentials.refresh_token:
        return (f"Reddit gave no access token for the refresh token ({said[:100]}): it was revoked, or was made "
                "for another app; make a new one for this app")  # fmt: skip
    return f"Reddit gave no access token ({said[:100]}); check the app's client id and secret on {APPS}"


def _number(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
