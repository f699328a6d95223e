"""Requests to the YouTube Data API v3: credentials (an API key, or an OAuth 2.0 token of the channel's owner,
renewed when it expires) and Google's errors in plain words. docs/connectors/youtube.md."""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pilote.errors import Invalid
from pilote.sources.base import Account
from pilote.sources.http import AuthFailed, FetchFailed, HttpClient, HttpStatus, RateLimited, Response
from pilote.texts import N_

API_URL = "https://www.googleapis.com"
TOKEN_URL = "https://oauth2.googleapis.com/token"  # noqa: S105  # an address, not a secret
QUOTA = frozenset({"quotaExceeded", "dailyLimitExceeded"})
SLOW_DOWN = frozenset({"rateLimitExceeded", "userRateLimitExceeded"})
# The client keeps the first 300 characters of an error's body in its message: Google's reason may come
# after them (its messages come first), so its opening words are recognised too.
_REASON = re.compile(r'"reason"\s*:\s*"(\w+)"')
_WORDS = (
    (re.compile(r"exceeded your.{0,120}quota", re.IGNORECASE | re.DOTALL), "quotaExceeded"),
    (re.compile(r"has disabled comments", re.IGNORECASE), "commentsDisabled"),
    (re.compile(r"API key not valid|API_KEY_INVALID", re.IGNORECASE), "keyInvalid"),
    (re.compile(r"has not been used in project|it is disabled", re.IGNORECASE), "accessNotConfigured"),
)
_SPECIFIC = ("commentsDisabled", "videoNotFound", "keyInvalid", "accessNotConfigured", "channelNotFound")
_STATUS = re.compile(r"\(HTTP (\d{3})\)")
_OAUTH_ERROR = re.compile(r'"error"\s*:\s*"(\w+)"')

# Access tokens renewed in this process, by a digest of the refresh token that got them. They live in memory
# only: the contract has no way to store a renewed secret, so each process renews once an hour or so.
_renewed: dict[str, str] = {}
_renewing = threading.Lock()


class Skipped(FetchFailed):
    """One video (or one thread) Pilote cannot read, e.g. its comments are turned off: the sync goes on."""


def oauth(account: Account) -> bool:
    """Whether the source acts as the channel's owner (an access token, or a refresh token to get one)."""
    return bool(account.get("access_token") or account.get("refresh_token"))


def check_credentials(account: Account) -> None:
    """Refuse settings that cannot read anything, naming what to enter."""
    if not (account.get("api_key") or oauth(account)):
        raise Invalid(
            N_(
                "enter an api_key (reads public comments) or an access_token of the channel's owner "
                "(also reads held and likely-spam comments, and replies and moderates)"
            )
        )
    if account.get("refresh_token") and not (account.get("client_id") and account.get("client_secret")):
        raise Invalid(N_("a refresh_token is renewed with its OAuth client: enter client_id and client_secret too"))


def get(client: HttpClient, account: Account, path: str, params: Mapping[str, Any]) -> Any:
    """GET an API path with the account's credentials and parse the JSON answer."""
    return call(client, account, "GET", path, params=params).json()


def call(
    client: HttpClient, account: Account, method: str, path: str, *, params: Mapping[str, Any], json: Any = None
) -> Response:
    """One request to the API; an OAuth token refused with 401 is renewed once, when it can be."""
    try:
        return _send(client, account, method, path, params, json, renew=False)
    except FetchFailed as error:
        if not (isinstance(error, AuthFailed) and _status(error) == 401 and _renewable(account)):
            raise plain(error) from None
    try:
        return _send(client, account, method, path, params, json, renew=True)
    except FetchFailed as error:
        raise plain(error) from None


def _send(client: HttpClient, account: Account, method: str, path: str, params: Mapping[str, Any], json: Any,
          *, renew: bool) -> Response:  # fmt: skip
    base = (account.get("api_url") or API_URL).rstrip("/")
    query, headers = dict(params), {}
    if oauth(account):
        headers["Authorization"] = f"Bearer {_token(client, account, renew=renew)}"
    else:
        query["key"] = account.get("api_key")
    body = b"" if method == "POST" and json is None else None  # Google wants a length, even of nothing
    return client.request(method, base + path, params=query, headers=headers, json=json, data=body)


def plain(error: FetchFailed) -> FetchFailed:
    """Google's error, by its reason, in words a person can act on; others as the client said them."""
    if not isinstance(error, AuthFailed | HttpStatus) or isinstance(error, Skipped):
        return error
    status = error.status if isinstance(error, HttpStatus) else _status(error)
    found = reasons_in(str(error))
    reason = next((r for r in (*QUOTA, *SLOW_DOWN, *_SPECIFIC) if r in found), next(iter(sorted(found)), None))
    if reason in QUOTA:
        return RateLimited(
            f"the daily quota of the YouTube Data API is used up ({reason}); Pilote goes on tomorrow from where it "
            "stopped (the quota comes back at midnight, Pacific time)",
            until_quota_resets(datetime.now(UTC)),
        )
    if reason in SLOW_DOWN:
        return RateLimited(f"YouTube asks Pilote to slow down ({reason}); the sync goes on at the next one", 60.0)
    if reason in ("commentsDisabled", "videoNotFound"):
        return Skipped(f"YouTube does not give these comments ({reason})")
    if reason == "keyInvalid":
        return AuthFailed(N_("YouTube refused the API key (keyInvalid): copy it again from the Google Cloud console"))
    if reason == "accessNotConfigured":
        return AuthFailed(N_("the YouTube Data API v3 is not enabled for this key's project: enable it in the console"))
    if status == 401:
        return AuthFailed(
            N_(
                "YouTube refused the access token (HTTP 401): it expired or was revoked; enter a new "
                "one, or a refresh_token with its client_id and client_secret so that Pilote renews it"
            )
        )
    if status == 403:
        return AuthFailed(
            N_(
                "YouTube refuses this with these credentials (%(value)s): held and likely-spam "
                "comments, replies and moderation need an access token of the channel's owner, with "
                "the youtube.force-ssl scope"
            ),
            value=reason or "HTTP 403",
        )
    if reason == "channelNotFound":
        return HttpStatus(N_("YouTube knows no such channel (channelNotFound): check the channel setting"), 404)
    return error


def reasons_in(message: str) -> set[str]:
    """Google's reasons for an error, from the part of its body the message holds."""
    return set(_REASON.findall(message)) | {reason for words, reason in _WORDS if words.search(message)}


def until_quota_resets(now: datetime) -> float:
    """Seconds until midnight, Pacific time, when the daily quota comes back."""
    try:
        zone: Any = ZoneInfo("America/Los_Angeles")
    except ZoneInfoNotFoundError:  # no time zone database on this machine: standard time is close enough
        zone = timezone(timedelta(hours=-8))
    local = now.astimezone(zone)
    midnight = (local + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return max((midnight - local).total_seconds(), 60.0)


def _status(error: FetchFailed) -> int | None:
    found = _STATUS.search(str(error))
    return int(found.group(1)) if found else None


def _renewable(account: Account) -> bool:
    return all(account.get(name) for name in ("refresh_token", "client_id", "client_secret"))


def _slot(account: Account) -> str:
    seed = "\n".join(account.get(name) for name in ("token_url", "client_id", "refresh_token"))
    return hashlib.sha256(seed.encode()).hexdigest()


def _token(client: HttpClient, account: Account, *, renew: bool) -> str:
    """The access token to send: the last one renewed in this process, else the one entered; a new one when
    `renew` (or when none was entered)."""
    renewable = _renewable(account)
    if not renew:
        token = (_renewed.get(_slot(account)) if renewable else None) or account.get("access_token")
        if token:
            return token
    if not renewable:
        raise AuthFailed(
            N_("no access token to send, and no refresh_token with client_id and client_secret to get one")
        )
    with _renewing:
        _renewed[_slot(account)] = token = _renew(client, account)
    return token


def _renew(client: HttpClient, account: Account) -> str:
    """A new access token from the OAuth token address (grant_type=refresh_token)."""
    names = ("refresh_token", "client_id", "client_secret")
    form = urlencode({"grant_type": "refresh_token", **{name: account.get(name) for name in names}})
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    try:
        answer = client.request("POST", account.get("token_url") or TOKEN_URL, headers=headers, data=form.encode())
    except (AuthFailed, HttpStatus) as error:
        found = _OAUTH_ERROR.search(str(error))
        raise AuthFailed(
            N_(
                "Google refused to renew the access token (%(value)s): the refresh token was revoked "
                "or has expired (an OAuth application still in testing gets tokens for 7 days only); "
                "authorise Pilote again and enter the new tokens"
            ),
            value=found.group(1) if found else "refused",
        ) from None
    body = answer.json()
    token = body.get("access_token") if isinstance(body, dict) else None
    if not isinstance(token, str) or not token:
        raise AuthFailed(N_("the token address answered without an access token: check the token_url setting"))
    return token
