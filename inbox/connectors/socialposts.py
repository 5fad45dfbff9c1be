"""A brand's social posts (shared/specs/brand-social-posts-api.txt): post context and failed posts.

Every call hangs from ``{base_url}/brands/{brand}/social-posts`` with ``Authorization: Bearer
{token}``; the docs name no host, so ``base_url`` is required. Each poll lists the brand's posts
per status (``executed``, ``scheduled``, ``draft``; ``start``/``limit`` pages, ``info.total``
tells when to stop) with the ``associations`` the docs show, so the posts become the context shown
beside comments, and every post with ``failed_at`` set becomes a ``post_failure`` ticket. The
per-medium counts of ``/social-posts/stats?status=any`` land in the channel's sync state.

Agents answer a failure with ``reschedule`` (PUT ``due_at``) or ``delete`` (DELETE the post).
The docs document no error bodies: the answer's ``message`` (if any) reaches the agent as is.
"""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import httpx

from inbox.links import http_url
from inbox.netguard import guarded_client
from models import TicketKind, utcnow

from .base import (TIMEOUT, USER_AGENT, ActionResult, AuthError, Author, ConnectResult, Connector,
                   FetchResult, InboundItem, PostRecord, ProviderError, Rejected, Target, call, retry_after)

STATUSES = ("executed", "scheduled", "draft")
STATS_STATUS = "any"            # one stats call covering every post
ASSOCIATIONS = "social_post.template_instance,social_post.asset,social_post.owner"
ORDER = "-created_at"          # the docs' example; a fixed order keeps start/limit pages stable
PAGE_SIZE = 100
MAX_PAGES = 50                 # per status and pass: 5,000 posts
# Fields of the documented update body that describe the post; re-sent with a new due_at so a
# PUT that replaces the whole post keeps them (see reschedule()).
POST_FIELDS = ("caption", "facebook_page", "template_instance", "asset")
HTTP_ERRORS: dict[int, tuple[type[ProviderError], str, str]] = {
    400: (ProviderError, "bad_request", "The social posts API refused the request as invalid (400)"),
    401: (AuthError, "unauthorized", "The social posts API rejected the token (401)"),
    403: (AuthError, "forbidden", "This token may not use the brand's social posts (403)"),
    404: (ProviderError, "not_found", "The social post or brand was not found (404)"),
    409: (ProviderError, "conflict", "The social posts API refused the change (409)"),
    422: (ProviderError, "validation_failed", "The social posts API refused the values (422)"),
}


def failure_ticket_id(post_id: str) -> str:
    return f"post:{post_id}"


def failure_message_id(post_id: str, failed_at: Any) -> str:
    """A new failure of the same post (after a reschedule) is a new message on the same ticket."""
    return f"post-failure:{post_id}:{failed_at}"


class SocialPostsConnector(Connector):
    provider = "socialposts"
    network = default_network = "socialposts"
    DEFAULT_BASE_URL = None            # the docs name no host
    credential_fields = ("token",)
    polled = True                      # the docs name no webhooks
    webhooks = False                   # pull-only
    ACTIONS = frozenset({"reschedule", "delete"})
    CHANNEL_ACTIONS: frozenset[str] = frozenset()

    def __init__(self, base_url: str, credentials: dict[str, Any], settings: dict[str, Any] | None = None,
                 client: httpx.Client | None = None):
        self.base_url = base_url.rstrip("/")
        self.token = str(credentials["token"])
        self.settings = dict(settings or {})
        self.client = client or guarded_client(timeout=TIMEOUT, headers={"User-Agent": USER_AGENT})

    @property
    def brand(self) -> str:
        brand = str(self.settings.get("brand") or "").strip()
        if not brand:
            raise ProviderError("missing_settings",
                                "Social posts need settings.brand: the brand's id (a uuid such as "
                                "b3ad887b-a14e-4bff-b618-a2edb675d19b)")
        return brand

    def _url(self, *parts: str) -> str:
        return "/".join([self.base_url, "brands", quote(self.brand, safe=""), "social-posts",
                         *(quote(p, safe="") for p in parts)])

    # -- the documented calls ----------------------------------------------------------------

    def _request(self, method: str, url: str, *, params: dict[str, Any] | None = None,
                 body: dict[str, Any] | None = None) -> httpx.Response:
        """One call with the bearer token; statuses become our errors, the server's message kept."""
        response = call(self.client, method, url, params=params, json=body,
                        headers={"Authorization": f"Bearer {self.token}"})
        status = response.status_code
        if status == 429 or status >= 500:
            raise ProviderError("provider_busy", f"The social posts API answered {status}; will retry",
                                 status=status, retryable=True, retry_after=retry_after(response))
        if status >= 400:
            cls, code, default = HTTP_ERRORS.get(status, (ProviderError, "unexpected_answer",
                                                          f"The social posts API answered {status}"))
            raise cls(code, server_message(response) or default, status=status)
        return response

    def _json(self, response: httpx.Response) -> dict[str, Any]:
        try:
            data = response.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise ProviderError("unexpected_answer", "The social posts API answered with something other than "
                                "a JSON object", status=response.status_code)
        return data

    def list_page(self, status: str, start: int, limit: int = PAGE_SIZE) -> tuple[list[dict[str, Any]], int | None]:
        """``GET /brands/:brand/social-posts``: one page; returns the posts and ``info.total``."""
        params = {"status": status, "associations": ASSOCIATIONS, "start": start, "limit": limit, "order": ORDER}
        data = self._json(self._request("GET", self._url(), params=params))
        posts = data.get("data")
        if not isinstance(posts, list):
            raise ProviderError("unexpected_answer", "The social posts list carried no 'data' array")
        info = data.get("info") if isinstance(data.get("info"), dict) else {}
        total = info.get("total")
        return [p for p in posts if isinstance(p, dict) and p.get("id")], total if isinstance(total, int) else None

    def list_posts(self, status: str) -> list[dict[str, Any]]:
        """Every post with ``status``, page by page until ``info.total`` (or a short page)."""
        posts: list[dict[str, Any]] = []
        start = 0
        for _ in range(MAX_PAGES):
            page, total = self.list_page(status, start)
            posts += page
            start += len(page)
            if not page or len(page) < PAGE_SIZE or (total is not None and start >= total):
                break
        return posts

    def stats(self, status: str) -> dict[str, int]:
        """``GET /brands/:brand/social-posts/stats?status=``: posts per medium (counts come as strings)."""
        data = self._json(self._request("GET", self._url("stats"), params={"status": status}))
        return {k: _count(v) for k, v in data.items() if k != "type" and _count(v) is not None}

    def update(self, post_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """``PUT /brands/:brand/social-posts/:socialPostId``. A PUT sets the same values when
        repeated, so an answer that never came is safe to retry."""
        try:
            response = self._request("PUT", self._url(post_id), body=body)
        except ProviderError as exc:
            if exc.uncertain:
                raise ProviderError(exc.code, exc.message, retryable=True) from exc
            raise
        data = self._json(response).get("data")
        return data if isinstance(data, dict) else {}

    def delete(self, post_id: str) -> None:
        """``DELETE /brands/:brand/social-posts/:socialPostId`` (answered 204)."""
        self._request("DELETE", self._url(post_id))

    # -- what the inbox asks of every connector ---------------------------------------------

    def connect(self) -> list[ConnectResult]:
        """Verify token and brand now with the smallest documented listing (one post)."""
        brand = self.brand
        _, total = self.list_page("executed", 0, 1)
        return [ConnectResult(account_ref=f"brand:{brand}", name=f"Social posts {brand[:8]}", network=self.network,
                              info={"brand": brand, "executed_posts": total}, settings={"brand": brand})]

    def setup(self, webhook_url: str) -> None:
        """Nothing to register: the docs name no webhooks, the channel is polled."""

    def fetch(self, state: dict[str, Any]) -> FetchResult:
        """All posts as context, failed ones as tickets; a failure that cleared archives its ticket."""
        posts: dict[str, tuple[dict[str, Any], str]] = {}
        for status in STATUSES:
            for post in self.list_posts(status):
                posts.setdefault(str(post["id"]), (post, status))
        records = [self.to_record(post, status) for post, status in posts.values()]
        failed = {pid: post for pid, (post, _) in posts.items() if post.get("failed_at")}
        items: list[Any] = [*records, *(self.to_failure(post, self.brand) for post in failed.values())]
        open_failures = {pid: failure_message_id(pid, post["failed_at"]) for pid, post in failed.items()}
        # A post that failed again has a new failure message, which reopens the ticket by itself.
        items += [self._cleared(pid, message_id) for pid, message_id in (state.get("open_failures") or {}).items()
                  if pid not in open_failures]
        counts = {status: sum(1 for _, s in posts.values() if s == status) for status in STATUSES}
        new_state = {**state, "open_failures": open_failures, **self._stats_state(state),
                     "post_counts": {**counts, "failed": len(failed)},
                     "synced_at": utcnow().isoformat(timespec="seconds") + "Z"}
        return FetchResult(items=items, state=new_state)

    def _stats_state(self, state: dict[str, Any]) -> dict[str, Any]:
        """The brand's posts per medium (``status=any``), flat ``{medium: count}`` as the channel
        page shows them. Stats are not needed for tickets: a failing stats call keeps the previous
        numbers (unless the token itself is refused) rather than stopping the poll."""
        try:
            return {"stats": self.stats(STATS_STATUS), "stats_error": None}
        except AuthError:
            raise
        except ProviderError as exc:
            return {"stats": state.get("stats") or {}, "stats_error": exc.message}

    def _cleared(self, post_id: str, message_id: str) -> InboundItem:
        """The failure we reported is gone (rescheduled, published or deleted): the same message
        again, marked closed, archives the ticket (a new failure later reopens it)."""
        return InboundItem(ticket_kind=TicketKind.POST_FAILURE, ticket_external_id=failure_ticket_id(post_id),
                           message_external_id=message_id, author=Author(external_id="brand", name=self.brand),
                           text="", created_at=utcnow(), closed=True, post_external_id=post_id,
                           ticket_data={"post_id": post_id})

    @staticmethod
    def validate_reply(ticket_kind: str, text: str) -> str:
        raise Rejected("replies_unsupported",
                            "Social posts take no replies: reschedule or delete the failed post instead.")

    @staticmethod
    def validate_action(kind: str, ticket_kind: str | None, params: dict[str, Any]) -> None:
        """Only on ``post_failure`` tickets; ``reschedule`` needs a future ISO 8601 ``due_at``."""
        if kind not in SocialPostsConnector.ACTIONS:
            raise Rejected("unsupported_action", f"Social posts cannot {kind}")
        if ticket_kind != TicketKind.POST_FAILURE:
            raise Rejected("not_a_post_failure", f"{kind} applies to failed posts only")
        if kind == "reschedule":
            due_at = parse_due_at(params.get("due_at"))
            if due_at <= datetime.now(UTC):
                raise Rejected("due_at_in_past", "Pick a time in the future to reschedule the post.")

    def perform(self, kind: str, target: Target, params: dict[str, Any]) -> ActionResult:
        if kind not in self.ACTIONS or target.kind != TicketKind.POST_FAILURE:
            raise ProviderError("unsupported_action", f"Social posts cannot {kind} a {target.kind or 'channel'}")
        post_id = post_id_of(target)
        if kind == "delete":
            self.delete(post_id)
            return ActionResult(external_id=post_id, data={"deleted": True})
        # Validated when queued; should it fail here, Rejected is never retried: the action fails.
        due_at = parse_due_at(params.get("due_at"))
        return self.reschedule(post_id, due_at, target.data)

    def reschedule(self, post_id: str, due_at: datetime, known: dict[str, Any]) -> ActionResult:
        """PUT the new ``due_at`` with the post's current fields.

        The docs' update example sends the whole post (due_at, template_instance, facebook_page,
        asset, caption) without saying whether omitted fields are kept or cleared; sending them
        as they are now is right either way. "Now" is read from the list (the post may have been
        edited since the ticket was made); the ticket's copy is the fallback.
        """
        current = self.find_post(post_id) or {}
        body: dict[str, Any] = {"due_at": round(due_at.timestamp(), 3)}
        for name in POST_FIELDS:
            if name in current:
                body[name] = _ref(current[name])
            elif name in known:
                body[name] = known[name]
        self.update(post_id, body)
        when = iso(due_at)
        return ActionResult(external_id=post_id, data={"rescheduled_to": when, "due_at": when})

    def find_post(self, post_id: str) -> dict[str, Any] | None:
        """The post as the list shows it now (failed posts are listed as executed, so that goes first)."""
        for status in STATUSES:
            for post in self.list_posts(status):
                if str(post.get("id")) == post_id:
                    return post
        return None

    # -- webhooks: none -------------------------------------------------------------------------

    @classmethod
    def parse(cls, payload: Any, settings: dict[str, Any] | None = None) -> list[InboundItem]:
        raise Rejected("no_webhooks", "The social posts API sends no webhooks; this channel is polled")

    # -- documented post -> our shapes --------------------------------------------------------

    @staticmethod
    def to_record(post: dict[str, Any], listed_as: str) -> PostRecord:
        """The post as context for comments; ``failed`` overrides the status it was listed under."""
        media_url, mime = media_of(post)
        owner = post.get("owner") if isinstance(post.get("owner"), dict) else {}
        asset = post.get("asset") if isinstance(post.get("asset"), dict) else {}
        data = {"brand": post.get("brand"), "facebook_page": post.get("facebook_page"),
                "template_instance": _ref(post.get("template_instance")), "asset": _ref(post.get("asset")),
                "media_url": media_url, "media_type": mime, "medium": asset.get("medium"),
                "owner": owner.get("display_name"), "created_by": post.get("created_by"),
                "media_container_id": post.get("media_container_id")}
        return PostRecord(external_id=str(post["id"]), text=str(post.get("caption") or ""),
                          status="failed" if post.get("failed_at") else listed_as, url=http_url(post.get("post_link")),
                          network=None, due_at=to_datetime(post.get("due_at")),
                          executed_at=to_datetime(post.get("executed_at")),
                          failed_at=to_datetime(post.get("failed_at")), failure=post.get("failure"), data=data)

    @staticmethod
    def to_failure(post: dict[str, Any], brand: str) -> InboundItem:
        """A failed post as a ``post_failure`` ticket: the reason first, then what was to be posted."""
        post_id = str(post["id"])
        caption = str(post.get("caption") or "")
        failure = str(post.get("failure") or "unknown reason")
        media_url, mime = media_of(post)
        due_at = to_datetime(post.get("due_at"))
        data = {"post_id": post_id, "due_at": iso(due_at) if due_at else None, "failure": post.get("failure"),
                "failed_at": post.get("failed_at"), "caption": caption, "post_link": http_url(post.get("post_link")),
                "facebook_page": post.get("facebook_page"), "template_instance": _ref(post.get("template_instance")),
                "asset": _ref(post.get("asset"))}
        return InboundItem(
            ticket_kind=TicketKind.POST_FAILURE, ticket_external_id=failure_ticket_id(post_id),
            message_external_id=failure_message_id(post_id, post["failed_at"]),
            author=Author(external_id="brand", name=brand), text=f"Post failed: {failure}\n\n{caption}".rstrip(),
            created_at=to_datetime(post.get("failed_at")) or utcnow(), message_kind="image" if media_url else "text",
            media_url=media_url, media_type=mime, ticket_data=data, post_external_id=post_id)

    @classmethod
    def parse_list(cls, body: Any, status: str, brand: str) -> list[PostRecord | InboundItem]:
        """A whole list answer (``{"code": "OK", "data": [...], "info": ...}``) as records and failures."""
        if not isinstance(body, dict) or not isinstance(body.get("data"), list):
            raise ValueError("expected {\"code\": \"OK\", \"data\": [...]}")
        posts = [p for p in body["data"] if isinstance(p, dict) and p.get("id")]
        return [*(cls.to_record(p, status) for p in posts),
                *(cls.to_failure(p, brand) for p in posts if p.get("failed_at"))]


# -- helpers ------------------------------------------------------------------------------------

def server_message(response: httpx.Response) -> str | None:
    """The documented JSON error's ``message`` (or ``error.message``), verbatim. A body that is not
    JSON is not quoted: it may come from whatever answered at that address, not the provider."""
    try:
        data = response.json()
    except ValueError:
        return None
    if isinstance(data, dict):
        for candidate in (data.get("message"), (data.get("error") or {}).get("message")
                          if isinstance(data.get("error"), dict) else data.get("error")):
            if isinstance(candidate, str) and candidate.strip():
                return candidate.strip()
    return None


def parse_due_at(value: Any) -> datetime:
    """An ISO 8601 date-time (``Z`` or an offset; none means UTC) as an aware datetime."""
    if not isinstance(value, str) or not value.strip():
        raise Rejected("missing_due_at", "Give the new publication time (due_at, ISO 8601).")
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise Rejected("invalid_due_at", f"due_at is not an ISO 8601 date-time: {value!r}") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def post_id_of(target: Target) -> str:
    post_id = target.data.get("post_id") or (target.external_id or "").removeprefix("post:")
    if not post_id:
        raise ProviderError("unexpected_ticket", "This failure ticket carries no post id")
    return str(post_id)


def media_of(post: dict[str, Any]) -> tuple[str | None, str | None]:
    """The rendered template's or the asset's file (present when the association was asked for)."""
    for key in ("template_instance", "asset"):
        holder = post.get(key)
        file = holder.get("file") if isinstance(holder, dict) else None
        url = http_url(file.get("url")) if isinstance(file, dict) else None
        if url:     # a javascript: or data: link is dropped
            return url, file.get("mime") if isinstance(file.get("mime"), str) else None
    return None, None


def to_datetime(value: Any) -> datetime | None:
    """The docs mix epoch seconds (``due_at``, ``executed_at``) and ISO strings (``failed_at``)."""
    if value in (None, ""):
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            seconds = value / 1000 if value > 1e11 else value
            return datetime.fromtimestamp(seconds, UTC).replace(tzinfo=None)
        except (OverflowError, OSError, ValueError):    # 1e308, NaN, beyond year 9999
            return None
    if isinstance(value, str):
        try:
            return to_datetime(float(value))
        except ValueError:
            pass
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
        try:
            return parsed.astimezone(UTC).replace(tzinfo=None) if parsed.tzinfo else parsed
        except (OverflowError, ValueError):
            return None
    return None


def iso(value: datetime) -> str:
    """Aware or naive-UTC datetime as ``YYYY-MM-DDTHH:MM:SSZ``."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat(timespec="seconds") + "Z"


def _ref(value: Any) -> Any:
    """An association's id, whether the association came expanded (an object) or as an id."""
    return value.get("id") if isinstance(value, dict) else value


def _count(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
