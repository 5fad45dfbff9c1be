"""In-memory simulator of the brand social posts API (see shared/specs/brand-social-posts-api.txt).

Why it exists: the connector must be exercised over real HTTP without an account on the real
service. Under ``/sandbox/socialposts`` it serves the documented paths with a bearer token:

- ``GET    /brands/:brand/social-posts`` (``status``, ``user``, ``start``, ``limit``, ``video``,
  ``mediums``, ``order``, ``associations``) answering ``{"code": "OK", "data": [...], "info": {"count", "total"}}``;
- ``GET    /brands/:brand/social-posts/stats?status=`` answering ``{"type": "social_post_stats", "<Medium>": "<n>"}``;
- ``POST   /brands/:brand/social-posts`` (with a template instance or an asset);
- ``PUT    /brands/:brand/social-posts/:socialPostId``; ``DELETE`` the same (204).

Choices where the docs are silent (the connector does not depend on them): a post's status is
derived as in the docs' example (draft: no ``due_at``; scheduled: ``due_at`` but not executed;
executed: ``executed_at`` set, which includes failed posts); associations not asked for are left
out of the post (as in the docs' create/update answers); ``limit`` defaults to 50; a PUT changes
only the fields it carries, and a new ``due_at`` on a failed post clears the failure (the post is
scheduled again) and must lie in the future; errors answer ``{"http", "code", "message"}`` with
400 (invalid values), 401 (no / unknown token), 403 (brand not allowed), 404 (brand or post unknown).

State lives in the module-level ``SANDBOX`` behind an ``RLock``; no DB, no Redis.
"""
from __future__ import annotations

import copy
import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, jsonify, request

from .base import INJECTED, ProviderSandbox

bp = Blueprint("socialposts", __name__, url_prefix="/sandbox/socialposts")

DEMO_TOKEN = "sp_demo_9c2e4f7a1b3d5e8f"
DEMO_BRAND = "b3ad887b-a14e-4bff-b618-a2edb675d19b"          # the docs' example brand
OTHER_BRAND = "5e0c2a41-8d3b-4c7e-9f16-2b7a9d3e4c50"         # exists; DEMO_TOKEN may not use it (403)
OTHER_TOKEN = "sp_other_0a7d3c9e"                            # may use OTHER_BRAND only
DEMO_USER_ID = "80a227b2-29a0-11e7-b636-e4a7a08e15d4"
DEMO_FACEBOOK_PAGE = "5383b70e-bd8f-481f-a605-0664736def2d"
DEMO_TEMPLATE_INSTANCE = "8e6b780b-ae31-4277-bdbd-42f0663ac8ff"
DEMO_VIDEO_TEMPLATE_INSTANCE = "c41d2e7f-5a9b-4e3c-8d1f-6b2a0e9c7d35"
DEMO_ASSET = "55f4cb8e-f8fc-414e-bffa-6dbcc8d919a4"
STATUSES = ("executed", "scheduled", "draft", "any")
ASSOCIATIONS = ("social_post.template_instance", "social_post.asset", "social_post.owner")
ORDER_FIELDS = ("created_at", "updated_at", "due_at", "executed_at")
POST_FIELDS = ("due_at", "template_instance", "facebook_page", "asset", "caption")
DEFAULT_LIMIT = 50
CDN = "https://test.cloudfront.net"

# (caption, state, failure, medium source) — the demo brand's posts, oldest first.
DEMO_POSTS = [
    ("Open house this Saturday 🏡 Come see 12 Oak Street!", "executed", None, "template"),
    ("Новая коллекция уже в продаже! 🔥 Успейте купить со скидкой", "executed", None, "asset"),
    ("تخفیف ویژه آخر هفته 🎉 فقط تا جمعه", "failed",
     "(#200) The user hasn't authorized the application to perform this action", "template"),
    ("Just listed: 3 bed / 2 bath in Austin 🌵 DM for details", "scheduled", None, "template"),
    ("Счастливого Нового года! 🎄 Спасибо, что вы с нами", "scheduled", None, "video"),
    ("Draft: spring market update 🌷", "draft", None, "template"),
    ("Happy Nowruz! نوروز مبارک 🌱", "failed", "Internal Server Error", "asset"),
]


ERROR_CODES = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "ResourceNotFound"}


class ApiError(Exception):
    """An answer other than 2xx, as ``{"http", "code", "message"}``."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message

    def body(self) -> dict:
        return {"http": self.status, "code": ERROR_CODES.get(self.status, "Error"), "message": self.message}


def _now() -> float:
    return round(time.time(), 6)


def _iso_ms(seconds: float) -> str:
    """``failed_at`` in the docs' form: ``2026-01-23T01:43:19.587Z``."""
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + \
        f"{int(seconds * 1000) % 1000:03d}Z"


def _file(name: str, path: str, mime: str, created: float) -> dict:
    return {"id": str(uuid.uuid4()), "created_at": created, "updated_at": created, "deleted_at": None,
            "created_by": DEMO_USER_ID, "path": path, "name": name, "public": True, "type": "file",
            "url": f"{CDN}/{path}", "preview_url": f"{CDN}/{path}", "mime": mime}


def _clock() -> str:
    """The owner's ``current_time``, like the docs' ``7:43 PM - Thursday Jan 22, 2026``."""
    now = datetime.now(UTC)
    return f"{now.strftime('%I').lstrip('0')}:{now.strftime('%M %p - %A %b %d, %Y')}"


def _owner(brand: str) -> dict:
    """The documented owner object (a user)."""
    return {
        "type": "user", "username": None, "first_name": "Unit", "last_name": "Test", "email": "unit@example.com",
        "phone_number": "+4368120265807", "created_at": 1493115498.770362, "id": DEMO_USER_ID, "address_id": None,
        "cover_image_url": None, "profile_image_url": None, "updated_at": 1493115498.770744, "user_status": "Active",
        "profile_image_thumbnail_url": None, "cover_image_thumbnail_url": None, "email_confirmed": True,
        "timezone": "America/Chicago", "user_type": "Admin", "deleted_at": None, "phone_confirmed": False,
        "is_shadow": False, "personal_room": None, "brand": None, "fake_email": False, "features": ["Deals"],
        "last_seen_at": None, "email_signature": None, "daily_enabled": False, "email_quota": 30000,
        "website": None, "instagram": None, "twitter": None, "linkedin": None, "youtube": None, "facebook": None,
        "designation": None, "tiktok": None, "mfa_enabled": False, "xpressdocs_user_id": DEMO_USER_ID,
        "current_time": _clock(), "push_allowed": True,
        "agents": None, "last_seen_type": None, "active_brand": brand, "display_name": "Unit Test",
        "abbreviated_display_name": "Unit", "online_state": "Offline", "has_password": True,
    }


class SocialPostsSandbox(ProviderSandbox):
    """Tokens, brands, templates/assets, posts, recorded requests and writes, injected faults."""

    provider, title, prefix = "socialposts", "Social posts (scheduled brand posts)", "/sandbox/socialposts"
    kinds = ("failed_post",)

    # ----------------------------------------------------------------- state
    def seed(self) -> None:
        """The demo brand with its posts."""
        self.tokens: dict[str, set[str]] = {DEMO_TOKEN: {DEMO_BRAND}, OTHER_TOKEN: {OTHER_BRAND}}
        self.brands: set[str] = {DEMO_BRAND, OTHER_BRAND}
        self.template_instances: dict[str, dict] = {}
        self.assets: dict[str, dict] = {}
        self.posts: dict[str, dict] = {}
        self.writes: list[dict] = []      # every accepted create / update / delete
        created = _now() - 86_400
        self.template_instances[DEMO_TEMPLATE_INSTANCE] = self._template(
            DEMO_TEMPLATE_INSTANCE, "image.png", "image/png", created)
        self.template_instances[DEMO_VIDEO_TEMPLATE_INSTANCE] = self._template(
            DEMO_VIDEO_TEMPLATE_INSTANCE, "video.mp4", "video/mp4", created)
        self.assets[DEMO_ASSET] = {
            "id": DEMO_ASSET, "created_at": created, "updated_at": None, "deleted_at": None,
            "created_by": DEMO_USER_ID, "brand": DEMO_BRAND,
            "file": _file("logo.png", "brands/assets/e542b9a0-f7fc-11f0-8c7d-09c4c6e349ce.png", "image/png",
                          created),
            "label": "Asset Label", "template_type": "Christmas", "medium": "Email", "branch": None,
            "type": "brand_asset"}
        self._seed(created)

    def _template(self, template_id: str, name: str, mime: str, created: float) -> dict:
        ext = name.rsplit(".", 1)[-1]
        return {"id": template_id, "created_at": created, "html": "<div>fakeTemplateInstance</div>",
                "file": _file(name, f"templates/instances/{template_id}.{ext}", mime, created),
                "created_by": DEMO_USER_ID, "branch": "http://mock-branch-url", "updated_at": created,
                "deleted_at": None, "type": "template_instance", "_medium": "Social"}

    def _seed(self, start: float) -> None:
        for i, (caption, state, failure, source) in enumerate(DEMO_POSTS):
            created = start + i * 3600
            media = {"template": {"template_instance": DEMO_TEMPLATE_INSTANCE},
                     "video": {"template_instance": DEMO_VIDEO_TEMPLATE_INSTANCE},
                     "asset": {"asset": DEMO_ASSET}}[source]
            due = None if state == "draft" else (created + 1800 if state in ("executed", "failed")
                                                 else _now() + 86_400 * (i + 1))
            post = self.add_post(caption=caption, due_at=due, created_at=created, **media)
            if state == "executed":
                self.publish(post["id"], at=due)
            elif state == "failed":
                self.fail_post(post["id"], failure=failure, at=due)

    # Faults (base.fail_next) are per endpoint: ``list``, ``stats``, ``create``, ``update``, ``delete``.

    def incoming(self, kind: str, data: dict[str, Any]) -> dict[str, Any]:
        """A scheduled post of the demo brand fails to publish on the network."""
        _user_id, _username, _name, text = self.someone(data)
        with self.lock:
            return self.fail_post(data.get("post_id") or None, caption=text,
                                  failure=str(data.get("failure") or "Facebook page token expired"))

    def demo_channel(self, root: str) -> list[dict[str, Any]]:
        return [{"provider": "socialposts", "name": "Brand posts", "base_url": f"{root}{self.prefix}",
                 "credentials": {"token": DEMO_TOKEN}, "settings": {"brand": DEMO_BRAND}}]

    def add_post(self, *, caption: str = "", due_at: float | None = None, brand: str = DEMO_BRAND,
                 template_instance: str | None = None, asset: str | None = None,
                 facebook_page: str = DEMO_FACEBOOK_PAGE, created_at: float | None = None) -> dict:
        """A post as if created in the product (no request recorded); template instance by default."""
        with self.lock:
            if template_instance is None and asset is None:
                template_instance = DEMO_TEMPLATE_INSTANCE
            created = created_at or _now()
            post = {"id": str(uuid.uuid4()), "brand": brand, "created_by": DEMO_USER_ID, "caption": caption,
                    "facebook_page": facebook_page, "template_instance": template_instance, "asset": asset,
                    "post_link": None, "failed_at": None, "failure": None, "media_container_id": None,
                    "type": "social_post", "created_at": created, "updated_at": created, "deleted_at": None,
                    "due_at": due_at, "executed_at": None}
            self.posts[post["id"]] = post
            return self.render(post, ASSOCIATIONS)

    def publish(self, post_id: str, at: float | None = None) -> dict:
        """The post went out: executed, with a link."""
        with self.lock:
            post = self.posts[post_id]
            post.update(executed_at=at or _now(), post_link=f"https://www.facebook.com/{post_id[:8]}/posts/1",
                        media_container_id=str(uuid.uuid4().int)[:17], failed_at=None, failure=None)
            return self.render(post, ASSOCIATIONS)

    def fail_post(self, post_id: str | None = None, *, failure: str = "Internal Server Error",
                  caption: str = "Scheduled post 📅", at: float | None = None) -> dict:
        """Make a post fail (a new scheduled post when ``post_id`` is None): live traffic for tests."""
        with self.lock:
            if post_id is None:
                post_id = self.add_post(caption=caption, due_at=_now() - 60)["id"]
            post = self.posts[post_id]
            when = at or _now()
            post.update(executed_at=when, failed_at=_iso_ms(when), failure=failure, post_link=None,
                        media_container_id=post["media_container_id"] or "test")
            return self.render(post, ASSOCIATIONS)

    # ----------------------------------------------------------------- views
    def status_of(self, post: dict) -> str:
        if post["due_at"] is None:
            return "draft"
        return "executed" if post["executed_at"] is not None else "scheduled"

    def medium_of(self, post: dict) -> str:
        if post["asset"]:
            return self.assets[post["asset"]]["medium"]
        return self.template_instances[post["template_instance"]]["_medium"]

    def _file_of(self, post: dict) -> dict:
        holder = self.assets.get(post["asset"]) if post["asset"] else self.template_instances[post["template_instance"]]
        return holder["file"]

    def render(self, post: dict, associations: tuple[str, ...] | list[str]) -> dict:
        """The documented post: associations expanded when asked for, left out otherwise."""
        out: dict[str, Any] = {}
        for key in ("id", "brand", "created_by", "caption", "facebook_page"):
            out[key] = post[key]
        if "social_post.template_instance" in associations:
            ti = self.template_instances.get(post["template_instance"] or "")
            out["template_instance"] = {k: v for k, v in ti.items() if not k.startswith("_")} if ti else None
        if "social_post.asset" in associations:
            out["asset"] = copy.deepcopy(self.assets.get(post["asset"] or ""))
        for key in ("post_link", "failed_at", "failure", "media_container_id", "type", "created_at", "updated_at",
                    "deleted_at", "due_at", "executed_at"):
            out[key] = post[key]
        if "social_post.owner" in associations:
            out["owner"] = _owner(post["brand"])
        return copy.deepcopy(out)

    # ------------------------------------------------------------------- API
    def handle(self, name: str, *, method: str, path: str, brand: str, authorization: str | None,
               query: dict[str, list[str]], body: Any, post_id: str | None = None) -> tuple[Any, int]:
        """Serve one documented call; returns (body or None for 204, status)."""
        with self.lock:
            record = {"name": name, "method": method, "path": path, "brand": brand, "post_id": post_id,
                      "authorization": authorization, "query": query, "json": body, "at": time.time()}
            self.requests.append(record)
            try:
                failure = self.take_failure(name)
                if failure:
                    raise ApiError(failure[0], failure[1] or INJECTED)
                self._authorize(authorization, brand)
                answer = getattr(self, f"_{name}")(brand, query, body, post_id)
            except ApiError as exc:
                answer = (exc.body(), exc.status)
            record["status"], record["response"] = answer[1], answer[0]
            return answer

    def _authorize(self, authorization: str | None, brand: str) -> None:
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(401, "Authorization header with a Bearer token is required")
        if token.strip() not in self.tokens:
            raise ApiError(401, "Invalid or expired access token")
        try:
            uuid.UUID(brand)
        except ValueError:
            raise ApiError(400, f"brand must be a uuid, got {brand!r}") from None
        if brand not in self.brands:
            raise ApiError(404, f"Brand {brand} not found")
        if brand not in self.tokens[token.strip()]:
            raise ApiError(403, f"Access forbidden to brand {brand}")

    def _matching(self, brand: str, query: dict[str, list[str]]) -> list[dict]:
        status = _one(query, "status") or "any"
        if status not in STATUSES:
            raise ApiError(400, "status must be one of executed, scheduled, draft, any")
        user, video = _one(query, "user"), _one(query, "video")
        if video not in (None, "true", "false"):
            raise ApiError(400, "video must be true or false")
        mediums = [m for v in query.get("mediums", []) + query.get("mediums[]", []) for m in v.split(",") if m]
        posts = [p for p in self.posts.values() if p["brand"] == brand and p["deleted_at"] is None]
        if status != "any":
            posts = [p for p in posts if self.status_of(p) == status]
        if user:
            posts = [p for p in posts if p["created_by"] == user]
        if video is not None:
            posts = [p for p in posts if self._file_of(p)["mime"].startswith("video/") == (video == "true")]
        if mediums:
            posts = [p for p in posts if self.medium_of(p) in mediums]
        return posts

    def _list(self, brand: str, query: dict[str, list[str]], body: Any, post_id: None) -> tuple[dict, int]:
        posts = self._matching(brand, query)
        start, limit = _number(query, "start", 0), _number(query, "limit", DEFAULT_LIMIT)
        if limit < 1:
            raise ApiError(400, "limit must be a positive number")
        order = _one(query, "order") or "created_at"
        field = order.lstrip("-")
        if field not in ORDER_FIELDS:
            raise ApiError(400, f"order must be one of {', '.join(ORDER_FIELDS)} (optionally prefixed with -)")
        posts.sort(key=lambda p: (p[field] is None, p[field] or 0, p["id"]), reverse=order.startswith("-"))
        associations = _associations(query)
        page = posts[start:start + limit]
        return {"code": "OK", "data": [self.render(p, associations) for p in page],
                "info": {"count": len(page), "total": len(posts)}}, 200

    def _stats(self, brand: str, query: dict[str, list[str]], body: Any, post_id: None) -> tuple[dict, int]:
        counts: dict[str, int] = {}
        for post in self._matching(brand, query):
            counts[self.medium_of(post)] = counts.get(self.medium_of(post), 0) + 1
        return {"type": "social_post_stats", **{k: str(v) for k, v in sorted(counts.items())}}, 200

    def _create(self, brand: str, query: dict[str, list[str]], body: Any, post_id: None) -> tuple[dict, int]:
        fields = self._valid_fields(body, creating=True)
        post = self.add_post(brand=brand, caption=fields.get("caption") or "", due_at=fields.get("due_at"),
                             template_instance=fields.get("template_instance"), asset=fields.get("asset"),
                             facebook_page=fields["facebook_page"])
        self.writes.append({"op": "create", "post_id": post["id"], "body": dict(body)})
        return {"code": "OK", "data": self.render(self.posts[post["id"]], _associations(query))}, 200

    def _update(self, brand: str, query: dict[str, list[str]], body: Any, post_id: str) -> tuple[dict, int]:
        post = self._post(brand, post_id)
        fields = self._valid_fields(body, creating=False, current=post)
        if "due_at" in fields and fields["due_at"] != post["due_at"]:
            if fields["due_at"] is not None and fields["due_at"] < time.time() - 60:
                raise ApiError(400, "due_at must be in the future")
            if post["failed_at"]:     # rescheduling a failed post queues it again
                post.update(failed_at=None, failure=None, executed_at=None, post_link=None)
        post.update(fields, updated_at=_now())
        self.writes.append({"op": "update", "post_id": post_id, "body": dict(body)})
        return {"code": "OK", "data": self.render(post, _associations(query))}, 200

    def _delete(self, brand: str, query: dict[str, list[str]], body: Any, post_id: str) -> tuple[None, int]:
        self._post(brand, post_id)
        del self.posts[post_id]
        self.writes.append({"op": "delete", "post_id": post_id, "body": None})
        return None, 204

    def _post(self, brand: str, post_id: str) -> dict:
        post = self.posts.get(post_id)
        if post is None or post["brand"] != brand:
            raise ApiError(404, f"SocialPost {post_id} not found")
        return post

    def _valid_fields(self, body: Any, *, creating: bool, current: dict | None = None) -> dict:
        """The documented body fields, checked; raises ApiError(400) with a readable message."""
        if not isinstance(body, dict):
            raise ApiError(400, "The request body must be a JSON object")
        fields = {k: body[k] for k in POST_FIELDS if k in body}
        if "due_at" in fields and fields["due_at"] is not None and (
                isinstance(fields["due_at"], bool) or not isinstance(fields["due_at"], (int, float))):
            raise ApiError(400, "due_at must be a unix timestamp in seconds")
        for key in ("caption", "facebook_page", "template_instance", "asset"):
            if fields.get(key) is not None and not isinstance(fields[key], str):
                raise ApiError(400, f"{key} must be a string")
        if creating and not fields.get("facebook_page"):
            raise ApiError(400, "facebook_page is required")
        if "facebook_page" in fields and not fields["facebook_page"]:
            raise ApiError(400, "facebook_page is required")
        merged = {**(current or {"template_instance": None, "asset": None}), **fields}
        if bool(merged.get("template_instance")) == bool(merged.get("asset")):
            raise ApiError(400, "A social post needs either a template_instance or an asset (not both)")
        if merged.get("template_instance") and merged["template_instance"] not in self.template_instances:
            raise ApiError(400, f"TemplateInstance {merged['template_instance']} not found")
        if merged.get("asset") and merged["asset"] not in self.assets:
            raise ApiError(400, f"Asset {merged['asset']} not found")
        return fields


def _one(query: dict[str, list[str]], key: str) -> str | None:
    values = query.get(key) or []
    return values[-1] if values else None


def _number(query: dict[str, list[str]], key: str, default: int) -> int:
    value = _one(query, key)
    if value is None or value == "":
        return default
    if not value.isdigit():
        raise ApiError(400, f"{key} must be a non-negative number")
    return int(value)


def _associations(query: dict[str, list[str]]) -> list[str]:
    """``associations=a,b`` as documented (``associations[]=a&associations[]=b`` tolerated)."""
    names = [n.strip() for v in query.get("associations", []) + query.get("associations[]", [])
             for n in v.split(",") if n.strip()]
    unknown = [n for n in names if n not in ASSOCIATIONS]
    if unknown:
        raise ApiError(400, f"Unknown association {unknown[0]}; one of {', '.join(ASSOCIATIONS)}")
    return names


SANDBOX = SocialPostsSandbox()


def _serve(name: str, brand: str, post_id: str | None = None):
    body: Any = None
    if request.method in ("POST", "PUT"):
        raw = request.get_data()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
    query = {k: request.args.getlist(k) for k in request.args}
    answer, status = SANDBOX.handle(name, method=request.method, path=request.path, brand=brand,
                                    authorization=request.headers.get("Authorization"), query=query, body=body,
                                    post_id=post_id)
    if status == 204:
        return "", 204
    return jsonify(answer), status


@bp.get("/brands/<brand>/social-posts")
def list_posts(brand: str):
    return _serve("list", brand)


@bp.post("/brands/<brand>/social-posts")
def create_post(brand: str):
    return _serve("create", brand)


@bp.get("/brands/<brand>/social-posts/stats")
def stats(brand: str):
    return _serve("stats", brand)


@bp.put("/brands/<brand>/social-posts/<post_id>")
def update_post(brand: str, post_id: str):
    return _serve("update", brand, post_id)


@bp.delete("/brands/<brand>/social-posts/<post_id>")
def delete_post(brand: str, post_id: str):
    return _serve("delete", brand, post_id)


# ---------------------------------------------------------------- control endpoints (not the documented API)
@bp.post("/_sandbox/brands/<brand>/failures")
def control_fail(brand: str):
    """Let the demo / CLI make a post fail: ``{"post_id"?, "failure"?, "caption"?}``."""
    data = request.get_json(silent=True) or {}
    with SANDBOX.lock:
        post_id = data.get("post_id")
        if brand != DEMO_BRAND or (post_id and post_id not in SANDBOX.posts):
            return jsonify({"error": "unknown brand or post"}), 404
        post = SANDBOX.fail_post(post_id, failure=str(data.get("failure") or "Internal Server Error"),
                                 caption=str(data.get("caption") or "Scheduled post 📅"))
    return jsonify({"post": post}), 201


@bp.post("/_sandbox/brands/<brand>/posts")
def control_add(brand: str):
    data = request.get_json(silent=True) or {}
    if brand not in SANDBOX.brands:
        return jsonify({"error": "unknown brand"}), 404
    due_at = data.get("due_at")
    post = SANDBOX.add_post(caption=str(data.get("caption") or ""), brand=brand,
                            due_at=float(due_at) if isinstance(due_at, (int, float)) else None)
    return jsonify({"post": post}), 201


@bp.get("/_sandbox/brands/<brand>")
def control_state(brand: str):
    with SANDBOX.lock:
        posts = [SANDBOX.render(p, ()) | {"status": SANDBOX.status_of(p)}
                 for p in SANDBOX.posts.values() if p["brand"] == brand]
        return jsonify({"brand": brand, "posts": posts, "writes": SANDBOX.writes})
