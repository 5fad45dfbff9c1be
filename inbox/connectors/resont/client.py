"""Resont's HTTP client: base URLs, OAuth (authorize, code exchange, refresh), answers and errors.

Everything that talks HTTP to Resont goes through ``ResontClient.request``: it adds the token
(``?token=`` or ``?access_token=``), refreshes an OAuth token shortly before it expires and once
on a 401, and turns statuses into our ``ProviderError`` family with Resont's message and trace id.
"""
from __future__ import annotations

import hashlib
import logging
import re
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import httpx

from inbox.netguard import guarded_client

from ..base import TIMEOUT, USER_AGENT, AuthError, ProviderError, call, retry_after

from .dates import zone_info
from .parsing import opt_id

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.resont.com/token/v1"
# account: /account; comment: comments and their tags; inbox: conversations; offline_access: a
# refresh token and webhooks ("there must be a valid Refresh token with offline_access access").
OAUTH_SCOPE = "basic offline_access account comment inbox"
OAUTH_FIELDS = ("client_id", "client_secret", "access_token", "refresh_token")
REFRESH_MARGIN = 60                      # seconds: refresh an access token this close to expiry

TAG_COLORS = ("#e74c3c", "#e67e22", "#f1c40f", "#2ecc71", "#1abc9c", "#3498db", "#9b59b6", "#7f8c8d")
DOCS_TEXT = {  # the docs' own words for each status (shown when the answer carries no message)
    400: "Error validating the request",
    401: "The access_token sent has expired.",
    403: "Unable to access the desired page.",
    404: "The requested page could not be found.",
    429: "The api usage limit for this device has expired.",
    500: "Internal server error.",
}


# ---------------------------------------------------------------------------------------- URLs

def oauth_root(base_url: str) -> str:
    """The host part the OAuth pages hang from: base_url without ``/token/vN`` or ``/vN``.

    The contract says ``{scheme://host}/web/oauth/...``; stripping the version suffix gives the same
    for the production host and still works when a sandbox is mounted under a path prefix.
    """
    return re.sub(r"/(?:token/)?v\d+$", "", base_url.strip().rstrip("/"))


def api_base(base_url: str, mode: str) -> str:
    """The API root for a mode: ``/token/vN`` for a token, ``/vN`` for OAuth.

    An admin may paste either documented URL (or just the host); the credentials decide which
    one is right, so a token never goes to the OAuth root or the other way round.
    """
    base = base_url.strip().rstrip("/")
    match = re.search(r"/(token/)?(v\d+)$", base)
    version = match.group(2) if match else "v1"
    root = base[:match.start()] if match else base
    return f"{root}/token/{version}" if mode == "token" else f"{root}/{version}"


def authorize_url(base_url: str, client_id: str, redirect_uri: str, state: str, scope: str = OAUTH_SCOPE) -> str:
    """Where to send the admin to approve our access (``GET /oauth/authorize``, response_type=code)."""
    query = urlencode({"client_id": client_id, "response_type": "code", "scope": scope, "state": state,
                       "redirect_uri": redirect_uri})
    return f"{oauth_root(base_url)}/web/oauth/authorize?{query}"


def exchange_code(base_url: str, client_id: str, client_secret: str, code: str, redirect_uri: str,
                  client: httpx.Client | None = None) -> dict[str, Any]:
    """Trade the authorization code (valid 30 s) for tokens: the credentials dict to store."""
    answer = _token_request(base_url, {"client_id": client_id, "client_secret": client_secret,
                                       "grant_type": "authorization_code", "code": code,
                                       "redirect_uri": redirect_uri}, client)
    if not answer.get("refresh_token"):
        raise AuthError("no_refresh_token", "Resont gave no refresh token: the app needs the offline_access scope")
    return _oauth_credentials({"client_id": client_id, "client_secret": client_secret}, answer)


def _token_request(base_url: str, form: dict[str, str], client: httpx.Client | None) -> dict[str, Any]:
    """POST form fields to ``/web/oauth/token``. A refusal (4xx) is an AuthError: someone must
    connect again; a busy or broken server (429, 5xx, unreachable) is retryable."""
    own = client is None
    client = client or _new_client()
    try:
        try:
            response = call(client, "POST", f"{oauth_root(base_url)}/web/oauth/token", data=form)
        except ProviderError as exc:
            if exc.uncertain:   # asking for a token twice is harmless
                raise ProviderError(exc.code, exc.message, retryable=True) from exc
            raise
    finally:
        if own:
            client.close()
    data = _json(response)
    if response.status_code == 429 or response.status_code >= 500:
        raise ProviderError("oauth_unavailable", f"Resont's token endpoint answered {response.status_code}",
                             status=response.status_code, retryable=True, retry_after=retry_after(response))
    if response.status_code != 200 or not isinstance(data, dict) or not data.get("access_token"):
        message, _, trace_id = _error_info(data)
        raise AuthError("oauth_refused", "Resont refused the token request"
                        + (f": {message}" if message else f" ({response.status_code})"),
                        status=response.status_code, trace_id=trace_id)
    return data


def _oauth_credentials(base: dict[str, Any], answer: dict[str, Any]) -> dict[str, Any]:
    """Stored credentials from a token answer; the refresh answer has no refresh_token: keep ours."""
    creds = {**base, "access_token": str(answer["access_token"])}
    if answer.get("refresh_token"):
        creds["refresh_token"] = str(answer["refresh_token"])
    if answer.get("refresh_token_expires"):
        creds["refresh_token_expires"] = answer["refresh_token_expires"]
    try:
        creds["expires_at"] = int(time.time()) + int(answer["expires_in"])
    except (KeyError, TypeError, ValueError):
        creds.pop("expires_at", None)
    return creds


def _new_client() -> httpx.Client:
    return guarded_client(timeout=TIMEOUT, headers={"User-Agent": USER_AGENT, "Accept": "application/json"})


# ----------------------------------------------------------------------------- answers, errors

def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _error_info(data: Any) -> tuple[str, str, str | None]:
    """(message, type, trace_id) from an ErrorResponse, wherever the server put it.

    The docs say errors come "in the form of an array with error index"; we accept
    ``{"error": {...}}``, ``{"error": [{...}]}``, a bare object, and Laravel-style ``errors``.
    """
    error = data.get("error", data) if isinstance(data, dict) else data
    if isinstance(error, list):
        error = next((e for e in error if isinstance(e, dict)), {"message": "; ".join(map(str, error))})
    if isinstance(error, str):
        error = {"message": error}
    if not isinstance(error, dict):
        return "", "", None
    message = str(error.get("message") or error.get("error_description") or "")
    details = error.get("errors") if isinstance(error.get("errors"), dict) else None
    if details and not message:
        message = " ".join(str(m) for msgs in details.values() for m in (msgs if isinstance(msgs, list) else [msgs]))
    trace = error.get("trace_id") or (data.get("trace_id") if isinstance(data, dict) else None)
    return message, str(error.get("type") or ""), str(trace) if trace else None


def _raise_for(response: httpx.Response, data: Any) -> None:
    """Map an HTTP status to our errors, keeping Resont's message and trace_id (for its support)."""
    status = response.status_code
    if 200 <= status < 300:
        return
    message, _, trace_id = _error_info(data)
    docs = DOCS_TEXT.get(status, DOCS_TEXT[500])
    kw = {"status": status, "trace_id": trace_id}
    if status == 400:
        raise ProviderError("validation", message or docs, **kw)
    if status == 401:
        raise AuthError("unauthorized", f"Resont refused the credentials (401): {message or docs}", **kw)
    if status == 403:
        raise ProviderError("forbidden", f"Resont does not allow this (403): {message or docs}", **kw)
    if status == 404:
        raise ProviderError("not_found", f"Resont does not know this item (404): {message or docs}", **kw)
    if status == 429:
        raise ProviderError("rate_limited", f"Resont's rate limit was reached (429): {message or docs}", retryable=True,
                            retry_after=retry_after(response), **kw)
    if status >= 500:
        raise ProviderError("provider_error", f"Resont failed ({status}): {message or docs}", retryable=True,
                            retry_after=retry_after(response), **kw)
    raise ProviderError("unexpected_answer", f"Resont answered {status}: {message or 'no details'}", **kw)


def _unwrap(data: Any) -> Any:
    """A lone ``{"data": ...}`` envelope around a plain answer is taken off; pages keep theirs."""
    if isinstance(data, dict) and "data" in data and "paging" not in data \
            and set(data) <= {"data", "success", "status", "message"}:
        return data["data"]
    return data


def check_ok(answer: Any, what: str) -> None:
    """A BooleanResponse must say success: true; anything else means nothing was done."""
    if isinstance(answer, dict) and answer.get("success") is False:
        raise ProviderError("not_successful", f"Resont did not {what}")


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a Paginate or CursorPagination answer, and the parameters of the next one."""

    data: list[dict[str, Any]]
    next: dict[str, str] | None


def to_page(answer: Any, cursor: bool, page: int = 1) -> Page:
    if isinstance(answer, list):               # a plain array: everything in one go
        return Page([d for d in answer if isinstance(d, dict)], None)
    if not isinstance(answer, dict) or not isinstance(answer.get("data"), list):
        raise ProviderError("unexpected_answer", "Resont answered a list request without a data array")
    paging = answer.get("paging") if isinstance(answer.get("paging"), dict) else {}
    data = [d for d in answer["data"] if isinstance(d, dict)]
    if cursor:
        return Page(data, _link_params(paging.get("after"), "after") if data else None)
    try:
        more = page < int(paging.get("totalPage") or 0)
    except (TypeError, ValueError):
        more = bool(paging.get("next"))
    return Page(data, {"page": str(page + 1)} if more and data else None)


def _link_params(value: Any, name: str) -> dict[str, str] | None:
    """The docs call ``after`` "the next page address": a URL or a bare cursor value. We take the
    cursor from it and keep sending our own auth, ``with`` and filters."""
    if value in (None, "", False):
        return None
    text = str(value)
    if "://" in text or text.startswith("/") or "?" in text:
        query = parse_qs(urlsplit(text).query)
        if name in query:
            return {name: query[name][0]}
        kept = {k: v[0] for k, v in query.items() if k not in ("token", "access_token")}
        return kept or None
    return {name: text}


# ------------------------------------------------------------------------------ the client

class ResontClient:
    """The documented endpoints the connector uses, with the credentials of one Resont login."""

    def __init__(self, base_url: str, credentials: dict[str, Any], settings: dict[str, Any] | None = None,
                 client: httpx.Client | None = None):
        self.credentials = self.check_credentials(credentials)
        self.mode = "oauth" if "access_token" in self.credentials else "token"
        self.given_base_url = base_url or DEFAULT_BASE_URL
        self.base_url = api_base(self.given_base_url, self.mode)
        self.settings = dict(settings or {})
        self.account_id = opt_id(self.settings.get("account_id"))
        self.tz = str(self.settings.get("timezone") or "UTC")
        self.client = client or _new_client()
        self.refreshed = False

    # -- credentials ------------------------------------------------------------------------

    @staticmethod
    def check_credentials(credentials: Any) -> dict[str, Any]:
        """``{token}`` or ``{client_id, client_secret, access_token, refresh_token, expires_at?}``."""
        if not isinstance(credentials, dict):
            raise ValueError("Resont credentials must be an object")
        given = {k: v for k, v in credentials.items() if v not in (None, "") and str(v).strip()}
        oauth = [f for f in OAUTH_FIELDS if f in given]
        if oauth:
            missing = [f for f in OAUTH_FIELDS if f not in given]
            if missing:
                raise ValueError(f"Resont OAuth credentials need {', '.join(OAUTH_FIELDS)}; "
                                 f"missing: {', '.join(missing)}")
            if "token" in given:
                raise ValueError("Give either a Resont token or OAuth credentials, not both")
            clean: dict[str, Any] = {f: str(given[f]).strip() for f in OAUTH_FIELDS}
            if "expires_at" in given:
                try:
                    clean["expires_at"] = int(float(given["expires_at"]))
                except (TypeError, ValueError) as exc:
                    raise ValueError("expires_at must be a time in epoch seconds") from exc
            if "refresh_token_expires" in given:
                clean["refresh_token_expires"] = given["refresh_token_expires"]
            return clean
        if "token" in given:
            return {"token": str(given["token"]).strip()}
        raise ValueError("Resont needs a token (from your Resont profile) or OAuth credentials: "
                         + ", ".join(OAUTH_FIELDS))

    @property
    def new_credentials(self) -> dict[str, Any] | None:
        """The credentials to store, when a refresh replaced the tokens during this call."""
        return dict(self.credentials) if self.refreshed else None

    @property
    def token_expires_at(self) -> datetime | None:
        expires = self.credentials.get("expires_at")
        if not isinstance(expires, (int, float)):
            return None
        return datetime.fromtimestamp(expires, timezone.utc).replace(tzinfo=None)

    def refresh(self) -> None:
        """``POST /oauth/token`` with grant_type=refresh_token. A refusal is an AuthError (the
        channel needs an admin); an unreachable or failing server is retryable."""
        try:
            answer = _token_request(self.given_base_url, {
                "client_id": self.credentials["client_id"], "client_secret": self.credentials["client_secret"],
                "grant_type": "refresh_token", "refresh_token": self.credentials["refresh_token"]}, self.client)
        except AuthError as exc:
            raise AuthError("refresh_failed", f"Resont refused to refresh the access token: {exc.message}. "
                            "Connect the account again.", status=exc.status, trace_id=exc.trace_id) from exc
        self.credentials = _oauth_credentials(self.credentials, answer)
        self.refreshed = True

    def _expiring(self) -> bool:
        expires = self.credentials.get("expires_at")
        return self.mode == "oauth" and isinstance(expires, (int, float)) and expires - time.time() < REFRESH_MARGIN

    # -- transport ----------------------------------------------------------------------------

    def request(self, method: str, path: str, *, params: dict[str, Any] | None = None,
                data: dict[str, Any] | None = None, files: dict[str, Any] | None = None) -> Any:
        """One documented call; the token goes in the query string as the docs say
        (``token`` or ``access_token``). On a 401 in OAuth mode: refresh once, retry once."""
        if self._expiring():
            self.refresh()
        response = self._send(method, path, params, data, files)
        if response.status_code == 401 and self.mode == "oauth" and not self.refreshed:
            self.refresh()
            response = self._send(method, path, params, data, files)
        body = _json(response)
        _raise_for(response, body)
        if body is None and response.content.strip():
            raise ProviderError("unexpected_answer", "Resont answered something that is not JSON",
                                status=response.status_code)
        return _unwrap(body)

    def _send(self, method: str, path: str, params: dict[str, Any] | None, data: dict[str, Any] | None,
              files: dict[str, Any] | None) -> httpx.Response:
        auth = {"token": self.credentials["token"]} if self.mode == "token" else \
            {"access_token": self.credentials["access_token"]}
        query = {**(params or {}), **auth}
        return call(self.client, method, f"{self.base_url}/{path.lstrip('/')}", params=query, data=data, files=files)

    def _list(self, path: str, params: dict[str, Any], *, cursor: bool, page: int = 1) -> Page:
        return to_page(self.request("GET", path, params=params), cursor, page)

    # -- the documented endpoints we use --------------------------------------------------------

    def accounts(self) -> list[dict[str, Any]]:
        """``GET /account?with=meta``: "the array of Account" (a paged answer is read too)."""
        return to_page(self.request("GET", "account", params={"with": "meta"}), cursor=False).data

    def account(self, account_id: str) -> dict[str, Any]:
        return self.request("GET", f"account/{quote(account_id, safe='')}")

    def user_timezone(self) -> str:
        """``/me/user``'s timezone: Resont writes dates in it. UTC when it cannot be had."""
        try:
            user = self.request("GET", "me/user")
        except ProviderError as exc:
            if isinstance(exc, AuthError) or exc.retryable:
                raise
            return "UTC"
        name = str(user.get("timezone") or "UTC") if isinstance(user, dict) else "UTC"
        return name if zone_info(name).key == name else "UTC"

    def subscribe(self, what: str, account_ids: list[str]) -> None:
        """``POST /comment/subscribe`` or ``/conversation/subscribe`` with ``account_ids[]``."""
        check_ok(self.request("POST", f"{what}/subscribe", data={"account_ids[]": account_ids}),
            f"subscribe the account to {what}s")

    def comment(self, comment_id: str) -> dict[str, Any]:
        return self.request("GET", f"comment/{quote(comment_id, safe='')}", params={"with": "socialUser"})

    def tags(self, kind: str) -> list[dict[str, Any]]:
        """``GET /comment-tag`` or ``/conversation-tag``."""
        answer = self.request("GET", f"{kind}-tag")
        return [t for t in (answer if isinstance(answer, list) else []) if isinstance(t, dict)]

    def create_tag(self, kind: str, name: str) -> dict[str, Any]:
        """``POST /comment-tag`` {name, color}. The docs list no input for ``POST /conversation-tag``
        (surely an omission: a tag needs a name), so it gets the same fields."""
        return self.request("POST", f"{kind}-tag", data={"name": name, "color": _tag_color(name)})

    def ticket_meta(self, ticket_id: str) -> list[dict[str, Any]]:
        answer = self.request("GET", f"ticket/{quote(ticket_id, safe='')}/meta")
        return to_page(answer, cursor=False).data


def _tag_color(name: str) -> str:
    return TAG_COLORS[hashlib.sha1(name.lower().encode()).digest()[0] % len(TAG_COLORS)]
