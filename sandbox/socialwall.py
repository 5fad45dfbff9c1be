"""In-memory simulator of SocialWall Pro's Get and Create Content API
(see shared/specs/socialwall-pro-content-api.txt).

Why it exists: the connector must be exercised over real HTTP without a Premium SocialWall Pro
account. This blueprint serves, under ``/sandbox/socialwall``, exactly the documented paths:

- ``GET  /api/event/{wallId}/messages/{number}``: the last ``number`` accepted messages, newest first;
- ``GET  /api/event/{wallId}/messages/last/{messageId}/{number}``: the ``number`` accepted messages
  starting at ``messageId``: the answer includes ``messageId`` itself, as the docs warn it may;
- ``POST /api/event/inject`` and ``POST /api/event/inject/{wallId}``: a Web Message, key in the
  ``x-api-key`` header or the ``api_key`` query argument, answered ``{"error": false, "injected": [...]}``
  or with every documented ``{"error": true, "message": ...}`` body.

Choices where the docs are silent (each is a guess a real server may not share; the connector
does not depend on them): error statuses (400 malformed / missing field / bad media URL, 401 key
missing or incorrect, 403 wall not owned or stopped, 404 wall not found); Get Content checks the
same key as Create Content; ``text`` is mandatory like ``avatarName``; an account without the
Premium Get Content feature gets ``{"result": false, "message": ...}`` with 403; injected messages
wait for moderation when the wall has manual moderation on, otherwise they are accepted at once.

State lives in the module-level ``SANDBOX`` behind an ``RLock``; no DB, no Redis.
"""
from __future__ import annotations

import itertools
import json
import random
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, jsonify, request

from .base import INJECTED, ProviderSandbox

bp = Blueprint("socialwall", __name__, url_prefix="/sandbox/socialwall")

DEMO_API_KEY = "swp_live_7f3c9a1e5b2d4086"
DEMO_WALL_ID = "9074"
OTHER_API_KEY = "swp_live_0b8e2d6f1a9c3e57"   # another customer
OTHER_WALL_ID = "9075"                         # belongs to OTHER_API_KEY: "You can't use that event"
BASIC_API_KEY = "swp_basic_5d1e8a3f"           # an account without the Premium Get Content API
BASIC_WALL_ID = "9076"
FIRST_MESSAGE_ID = 1927950199376995000         # ids look like the docs' stringMessageId

# The documented error bodies' messages.
MANDATORY_FIELD_MISSING = "Mandatory field missing"
INVALID_MEDIA_URL = "The media URL provided isn't a valid URL"
REQUEST_MALFORMED = "Request malformed"
API_KEY_INCORRECT = "API Key is incorrect"
API_KEY_MISSING = "API Key is missing (from header or query string)"
EVENT_FORBIDDEN = "You can't use that event"
EVENT_NOT_FOUND = "Event not found"
EVENT_STOPPED = "You can't use that event (event is stopped)"
ERROR_STATUS = {MANDATORY_FIELD_MISSING: 400, INVALID_MEDIA_URL: 400, REQUEST_MALFORMED: 400,
                API_KEY_INCORRECT: 401, API_KEY_MISSING: 401, EVENT_FORBIDDEN: 403, EVENT_STOPPED: 403,
                EVENT_NOT_FOUND: 404}
GET_CONTENT_DISABLED = "Get Content API is not enabled on this account"
NETWORK_ORIGINS = {"instagram": "Instagram", "twitter": "Twitter", "facebook": "Facebook", "web": "Web Message"}
MEDIA_IMAGE, MEDIA_VIDEO, MEDIA_AVATAR = 2, 3, 0   # 2 = image and 0 = avatar as in the docs; 3 for video is ours

# (network, screen name, display name, text, media url or None) — the demo wall's history.
DEMO_MESSAGES = [
    ("instagram", "adababyyyyy", "Ada Baby", "In love ☀☀", "https://pic.example-cdn.com/atotwp/55895/sun.jpg"),
    ("twitter", "ivan_petrov", "Иван Петров", "Отличный концерт вчера! 🎸 #festival2024", None),
    ("instagram", "sara.rahimi", "سارا رحیمی", "چه شب فوق‌العاده‌ای بود! ممنون از همه 🌙", None),
    ("instagram", "__alo", "🌺Aloha", "Riflessi. 🌬  #nord#scandinavia#sweden#stockholm #mornings",
     "https://pic.example-cdn.com/atotwp/55895/fjord.jpg"),
    ("twitter", "mike_lee", "Mike Lee", "Can't wait for the keynote tomorrow 🚀 #SWPDemo", None),
    ("web", "socialwallpro", "SocialWall Pro", "Welcome to the wall! 👋 Добро пожаловать! خوش آمدید", None),
    ("instagram", "olga.s", "Ольга С.", "Лучший вечер этого лета 💃", "https://pic.example-cdn.com/atotwp/55895/dance.mp4"),
]


@dataclass
class Wall:
    wall_id: str
    api_key: str                       # the owner's key
    status: str = "running"            # preparation | activated | running | stopped
    manual_moderation: bool = False
    accepted: list[dict] = field(default_factory=list)    # acceptance order, oldest first
    pending: list[dict] = field(default_factory=list)     # waiting in the Manual Moderation panel


def _now_ms() -> int:
    return int(time.time() * 1000)


def _is_url(value: Any) -> bool:
    if not isinstance(value, str) or not value or any(c.isspace() for c in value):
        return False
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _error(message: str, status: int | None = None) -> tuple[dict, int]:
    return {"error": True, "message": message}, status or ERROR_STATUS.get(message, 400)


def _media_json(url: str, kind: int) -> dict:
    path = urlsplit(url).path
    local = f"{DEMO_WALL_ID}/{path.rsplit('/', 1)[-1]}"
    return {"mediaType": kind, "relativeMediaURL": f"//pic.tezaki.com/atotwp/{local}", "originalURL": url,
            "localURL": local}


class SocialWallSandbox(ProviderSandbox):
    """Accounts (API keys), walls, messages, recorded requests and writes, injected faults."""

    provider, title, prefix = "socialwall", "SocialWall Pro (event walls)", "/sandbox/socialwall"
    kinds = ("wall_post",)

    # ----------------------------------------------------------------- state
    def seed(self) -> None:
        """The demo wall with its history."""
        self._ids = itertools.count(FIRST_MESSAGE_ID, 7)
        self._last_ms = 0
        self.accounts: dict[str, dict[str, bool]] = {}
        self.walls: dict[str, Wall] = {}
        self.injected: list[dict] = []        # every accepted Create Content call
        self.add_account(DEMO_API_KEY)
        self.add_account(OTHER_API_KEY)
        self.add_account(BASIC_API_KEY, get_content=False)
        self.add_wall(DEMO_WALL_ID, DEMO_API_KEY)
        self.add_wall(OTHER_WALL_ID, OTHER_API_KEY)
        self.add_wall(BASIC_WALL_ID, BASIC_API_KEY)
        start = _now_ms() - len(DEMO_MESSAGES) * 600_000
        for i, (network, screen, name, text, media) in enumerate(DEMO_MESSAGES):
            self.add_message(DEMO_WALL_ID, text=text, network=network, screen_name=screen, name=name,
                             media_url=media, created_at_ms=start + i * 600_000)

    def add_account(self, api_key: str, *, get_content: bool = True) -> None:
        with self.lock:
            self.accounts[api_key] = {"get_content": get_content}

    def add_wall(self, wall_id: str, api_key: str, *, status: str = "running",
                 manual_moderation: bool = False) -> Wall:
        with self.lock:
            wall = Wall(str(wall_id), api_key, status, manual_moderation)
            self.walls[wall.wall_id] = wall
            return wall

    def stop(self, wall_id: str = DEMO_WALL_ID) -> None:
        """Stop the event: injection now answers "You can't use that event (event is stopped)"."""
        with self.lock:
            self.walls[str(wall_id)].status = "stopped"

    def start(self, wall_id: str = DEMO_WALL_ID) -> None:
        with self.lock:
            self.walls[str(wall_id)].status = "running"

    def set_manual_moderation(self, on: bool, wall_id: str = DEMO_WALL_ID) -> None:
        with self.lock:
            self.walls[str(wall_id)].manual_moderation = on

    # Faults (base.fail_next) are per endpoint: ``messages``, ``messages_last``, ``inject``; the
    # answer is ``{"error": true, "message": message}``.

    def incoming(self, kind: str, data: dict[str, Any]) -> dict[str, Any]:
        """The wall grabs a post from a network (accepted at once unless the wall moderates)."""
        _user_id, username, name, text = self.someone(data)
        wall_id = str(data.get("wall_id") or DEMO_WALL_ID)
        network = str(data.get("network") or random.choice(["instagram", "twitter"]))
        if wall_id not in self.walls:
            raise LookupError(f"unknown wall {wall_id}")
        if network not in NETWORK_ORIGINS:
            raise ValueError(f"network must be one of {', '.join(NETWORK_ORIGINS)}")
        return self.add_message(wall_id, text=text, network=network, screen_name=username, name=name,
                                media_url=data.get("media_url") or None)

    def demo_channel(self, root: str) -> list[dict[str, Any]]:
        return [{"provider": "socialwall", "name": "Event wall", "base_url": f"{root}{self.prefix}",
                 "credentials": {"api_key": DEMO_API_KEY}, "settings": {"wall_id": DEMO_WALL_ID}}]

    def _timestamp(self, wanted: int | None = None) -> int:
        """Strictly increasing milliseconds, so the wall's order never ties."""
        value = max(wanted or _now_ms(), self._last_ms + 1)
        self._last_ms = value
        return value

    def add_message(self, wall_id: str = DEMO_WALL_ID, *, text: str, network: str = "instagram",
                    screen_name: str = "guest", name: str | None = None, media_url: str | None = None,
                    accepted: bool = True, created_at_ms: int | None = None) -> dict:
        """A new message grabbed by the wall (live traffic for tests and the demo); accepted unless
        ``accepted=False`` (then it waits in moderation until ``accept``)."""
        with self.lock:
            wall = self.walls[str(wall_id)]
            message = self._build(network, screen_name, name or screen_name, text, media_url, created_at_ms)
            if accepted:
                self._accept(message)
                wall.accepted.append(message)
            else:
                wall.pending.append(message)
            return dict(message)

    def accept(self, message_id: str, wall_id: str = DEMO_WALL_ID) -> dict:
        """Accept a message waiting in moderation: it now shows in Get Content."""
        with self.lock:
            wall = self.walls[str(wall_id)]
            message = next(m for m in wall.pending if m["stringMessageId"] == str(message_id))
            wall.pending.remove(message)
            self._accept(message)
            wall.accepted.append(message)
            return dict(message)

    def _accept(self, message: dict) -> None:
        message.update(validated=True, moderated=True, moderatedAt=self._timestamp(), sentAt=_now_ms())
        message["tags"]["accepted"] = "Accepted"

    def _build(self, network: str, screen_name: str, name: str, text: str, media_url: str | None,
               created_at_ms: int | None) -> dict:
        """A message in the documented shape (every field of the docs' example)."""
        message_id = str(next(self._ids))
        origin = NETWORK_ORIGINS.get(network, network.title())
        media = []
        if media_url:
            kind = MEDIA_VIDEO if urlsplit(media_url).path.lower().endswith((".mp4", ".mov")) else MEDIA_IMAGE
            media.append(_media_json(media_url, kind))
        avatar_url = f"https://avatars.example-cdn.com/{network}/{screen_name}.jpg"
        return {
            "tweetId": None, "mediaJsons": media, "sent": True, "moderationLevel": 0,
            "avatarMediaJson": {"mediaType": MEDIA_AVATAR, "relativeMediaURL": avatar_url, "originalURL": avatar_url,
                                "localURL": None, "twitterUserId": 0, "twitterUserScreenName": screen_name,
                                "twitterUserName": name},
            "highlightType": None, "validated": False, "mediaTreated": True, "avatarMediaTreated": True,
            "creationDate": created_at_ms or _now_ms(), "text": text, "grabOrigin": origin, "vote": False,
            "retweetCount": None, "lang": None, "tagJsons": None, "stringMessageId": message_id,
            "bannedTopRetweet": False, "inReplyStringMessageId": None, "stringTweetId": message_id,
            "tags": {network: origin}, "type": network, "sentAt": None, "customHighlight": None, "socket": None,
            "search": False, "moderated": False, "moderatedAt": None,
        }

    # ------------------------------------------------------------------- API
    def handle(self, name: str, *, method: str, path: str, api_key: str | None, key_in: str | None,
               query: dict, body: Any, args: dict) -> tuple[dict, int, float]:
        """Serve one documented call; returns (body, status, seconds to wait before answering)."""
        with self.lock:
            record = {"name": name, "method": method, "path": path, "api_key": api_key, "key_in": key_in,
                      "query": query, "json": body, "at": time.time()}
            self.requests.append(record)
            failure = self.take_failure(name)
            if failure:
                answer = _error(failure[1] or INJECTED, failure[0])
            elif name == "inject":
                answer = self._inject(api_key, body, args.get("wall_id"))
            else:
                answer = self._get(api_key, **args)
            record["status"] = answer[1]
            return answer[0], answer[1], self.take_delay(name, answer[1])

    def _wall_for(self, api_key: str | None, wall_id: str) -> tuple[Wall | None, tuple[dict, int] | None]:
        if not api_key:
            return None, _error(API_KEY_MISSING)
        if api_key not in self.accounts:
            return None, _error(API_KEY_INCORRECT)
        wall = self.walls.get(wall_id)
        if wall is None:
            return None, _error(EVENT_NOT_FOUND)
        if wall.api_key != api_key:
            return None, _error(EVENT_FORBIDDEN)
        return wall, None

    def _get(self, api_key: str | None, wall_id: str, number: str, message_id: str | None = None) -> tuple[dict, int]:
        wall, refused = self._wall_for(api_key, wall_id)
        if refused:
            return refused
        if not self.accounts[api_key]["get_content"]:
            return {"result": False, "message": GET_CONTENT_DISABLED}, 403
        if not number.isdigit() or int(number) < 1:
            return _error(REQUEST_MALFORMED)
        count = int(number)
        if message_id is None:
            chosen = wall.accepted[-count:]
        else:
            ids = [m["stringMessageId"] for m in wall.accepted]
            start = ids.index(message_id) if message_id in ids else len(ids)
            chosen = wall.accepted[start:start + count]     # messageId itself, then those following
        return {"result": True, "messages": [dict(m) for m in reversed(chosen)]}, 200

    def _inject(self, api_key: str | None, body: Any, wall_id: str | None) -> tuple[dict, int]:
        if not isinstance(body, dict):
            return _error(REQUEST_MALFORMED)
        if not api_key:
            return _error(API_KEY_MISSING)
        if api_key not in self.accounts:
            return _error(API_KEY_INCORRECT)
        if wall_id is not None:
            wall, refused = self._wall_for(api_key, wall_id)
            if refused:
                return refused
            if wall.status == "stopped":
                return _error(EVENT_STOPPED)
            walls = [wall]
        else:
            walls = [w for w in self.walls.values() if w.api_key == api_key and w.status != "stopped"]
        text, avatar = body.get("text"), body.get("avatarName")
        if not isinstance(text, str) or not text.strip() or not isinstance(avatar, str) or not avatar.strip():
            return _error(MANDATORY_FIELD_MISSING)
        media_url = body.get("mediaUrl", body.get("mediaURL"))
        if media_url not in (None, "") and not _is_url(media_url):
            return _error(INVALID_MEDIA_URL)
        real_name = body.get("realName") or "Web Message"
        ids = []
        for wall in walls:
            message = self.add_message(wall.wall_id, text=text, network="web", screen_name=avatar, name=real_name,
                                       media_url=media_url or None, accepted=not wall.manual_moderation)
            ids.append(message["stringMessageId"])
        injected = [int(w.wall_id) if w.wall_id.isdigit() else w.wall_id for w in walls]
        self.injected.append({"wall_ids": [w.wall_id for w in walls], "body": dict(body), "message_ids": ids})
        return {"error": False, "injected": injected}, 200


SANDBOX = SocialWallSandbox()


def _api_key() -> tuple[str | None, str | None]:
    """The key from the ``x-api-key`` header or the ``api_key`` query argument (as documented)."""
    if request.headers.get("x-api-key"):
        return request.headers["x-api-key"], "header"
    if request.args.get("api_key"):
        return request.args["api_key"], "query"
    return None, None


def _serve(name: str, **args: Any):
    api_key, key_in = _api_key()
    body: Any = None
    if request.method == "POST":
        raw = request.get_data()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
    answer, status, delay = SANDBOX.handle(name, method=request.method, path=request.path, api_key=api_key,
                                           key_in=key_in, query=request.args.to_dict(), body=body, args=args)
    if delay:
        time.sleep(delay)
    return jsonify(answer), status


@bp.get("/api/event/<wall_id>/messages/<number>")
def messages(wall_id: str, number: str):
    return _serve("messages", wall_id=wall_id, number=number)


@bp.get("/api/event/<wall_id>/messages/last/<message_id>/<number>")
def messages_last(wall_id: str, message_id: str, number: str):
    return _serve("messages_last", wall_id=wall_id, message_id=message_id, number=number)


@bp.post("/api/event/inject")
def inject_all():
    return _serve("inject")


@bp.post("/api/event/inject/<wall_id>")
def inject_wall(wall_id: str):
    return _serve("inject", wall_id=wall_id)


# ---------------------------------------------------------------- control endpoints (not SocialWall's API)
@bp.post("/_sandbox/walls/<wall_id>/messages")
def control_add_message(wall_id: str):
    """Let the demo / CLI play a post being grabbed by the wall."""
    data = request.get_json(silent=True) or {}
    if wall_id not in SANDBOX.walls:
        return jsonify({"error": f"unknown wall {wall_id}"}), 404
    if not isinstance(data.get("text"), str) or not data["text"].strip():
        return jsonify({"error": "text is required"}), 400
    message = SANDBOX.add_message(wall_id, text=data["text"], network=str(data.get("network") or "instagram"),
                                  screen_name=str(data.get("screen_name") or "guest"), name=data.get("name"),
                                  media_url=data.get("media_url"), accepted=bool(data.get("accepted", True)))
    return jsonify({"message": message}), 201


@bp.post("/_sandbox/walls/<wall_id>/<state>")
def control_wall_state(wall_id: str, state: str):
    if wall_id not in SANDBOX.walls or state not in ("stop", "start"):
        return jsonify({"error": "unknown wall or state (stop | start)"}), 404
    (SANDBOX.stop if state == "stop" else SANDBOX.start)(wall_id)
    return jsonify({"wall_id": wall_id, "status": SANDBOX.walls[wall_id].status})


@bp.get("/_sandbox/walls/<wall_id>")
def control_wall(wall_id: str):
    with SANDBOX.lock:
        wall = SANDBOX.walls.get(wall_id)
        if wall is None:
            return jsonify({"error": f"unknown wall {wall_id}"}), 404
        return jsonify({"wall_id": wall.wall_id, "status": wall.status, "manual_moderation": wall.manual_moderation,
                        "accepted": len(wall.accepted), "pending": len(wall.pending),
                        "injected": [i for i in SANDBOX.injected if wall_id in i["wall_ids"]]})
