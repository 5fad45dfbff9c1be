"""The SocialHub-compatible public API (/api2/public): auth, tickets, validation, manifest, channel."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import func, select

from inbox import db
from inbox.connectors.custom import manifest_actions
from models import (
    Channel,
    ChannelStatus,
    History,
    Interactor,
    Message,
    Ticket,
    TicketStatus,
)

HOOK = "https://integration.example/hooks/inbox"
ITEM = {"networkItemId": "item-000001", "message": "Hello, where is my order?",
        "createdTime": "2024-05-01T10:00:00+02:00",
        "interactor": {"interactorId": "user-1", "name": "Ann Lee", "url": "https://network.example/ann"}}


def auth(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def connect(client, token_for, name="Shop support", **settings) -> dict:
    response = client.post("/api/v1/channels", headers=auth(token_for("admin")),
                           json={"provider": "custom", "name": name, "settings": {"webhook_url": HOOK, **settings}})
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


@pytest.fixture
def custom(client, token_for) -> dict:
    return connect(client, token_for)


def api2(client, method: str, path: str, token: str | None, **kwargs):
    query = {"accesstoken": token} if token is not None else {}
    query.update(kwargs.pop("query", {}))
    return client.open(f"/api2/public{path}", method=method, query_string=query, **kwargs)


def push(client, token: str, **interaction):
    return api2(client, "POST", "/inbox/tickets", token, json={"interaction": {**ITEM, **interaction}})


def count(model, **where) -> int:
    with db.session_scope() as s:
        return s.scalar(select(func.count()).select_from(model).filter_by(**where))


def assert_error(response, status: int, code: str, mentions: str = "") -> None:
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) == {"code", "message"} and body["code"] == code
    assert mentions in body["message"], body["message"]


# -- channel creation and auth ----------------------------------------------------------------

def test_creating_a_custom_channel_gives_an_access_token_and_no_secret(client, custom):
    assert custom["provider"] == "custom" and custom["network"] == "custom" and custom["name"] == "Shop support"
    assert len(custom["access_token"]) >= 40 and custom["settings"]["webhook_url"] == HOOK
    with db.session_scope() as s:
        stored = s.get(Channel, custom["id"])
        assert stored.account_ref != custom["access_token"]      # only the token's hash is queryable
        assert custom["access_token"] not in stored.credentials_encrypted
    shown = client.get("/api2/public", query_string={"accesstoken": custom["access_token"]}).get_json()
    secret = shown["manifest"]["webhook"]["secret"]
    assert len(secret) >= 32 and shown["manifest"]["webhook"]["url"] == HOOK
    listed = client.get("/api/v1/channels", headers=auth(custom["access_token"]))   # not an API token
    assert listed.status_code == 401


def test_get_public_returns_the_channel_and_manifest_with_string_ids(client, custom):
    body = api2(client, "GET", "", custom["access_token"]).get_json()
    channel = body["channel"]
    assert channel["_id"] == f"{custom['id']:024d}" and channel["name"] == "Shop support"
    assert channel["socialNetwork"] == "CUSTOM" and channel["products"]["inbox"] is True


@pytest.mark.parametrize("token", [None, "", "not-a-token"])
def test_a_missing_or_wrong_token_is_401_in_socialhubs_shape(client, custom, token):
    assert_error(api2(client, "GET", "", token), 401, "AccessTokenInvalidError", "accesstoken")
    assert_error(push(client, token or ""), 401, "AccessTokenInvalidError")
    assert count(Ticket) == 0


def test_another_providers_channel_cannot_be_reached_with_its_account_ref(client, custom):
    with db.session_scope() as s:
        ref = s.get(Channel, custom["id"]).account_ref
    assert_error(api2(client, "GET", "", ref), 401, "AccessTokenInvalidError")


# -- pushing tickets ---------------------------------------------------------------------------

def test_a_pushed_ticket_is_stored_once_and_a_repeat_is_409(client, custom, token_for):
    token = custom["access_token"]
    response = push(client, token)
    assert response.status_code == 201, response.get_data(as_text=True)
    ticket = response.get_json()
    assert isinstance(ticket["_id"], str) and len(ticket["_id"]) == 24
    assert ticket["channelId"] == f"{custom['id']:024d}" and ticket["status"] == "open"
    interaction = ticket["interaction"]
    assert interaction["networkItemId"] == "item-000001" and interaction["message"] == ITEM["message"]
    assert interaction["type"] == "TICKET" and interaction["createdTime"] == "2024-05-01T08:00:00.000Z"
    assert interaction["interactor"]["interactorId"] == "user-1" and interaction["interactor"]["name"] == "Ann Lee"

    again = push(client, token, message="the same item again")
    assert_error(again, 409, "ConflictError", "item-000001")
    assert count(Ticket) == 1 and count(Message) == 1 and count(Interactor) == 1

    listed = client.get("/api/v1/tickets", headers=auth(token_for("agent"))).get_json()["data"]
    [row] = listed
    assert row["id"] == int(ticket["_id"]) and row["kind"] == "ticket" and row["provider"] == "custom"
    assert row["text"] == ITEM["message"] and row["author"]["external_id"] == "user-1"
    assert row["author"]["name"] == "Ann Lee" and row["status"] == "open"


def test_the_same_network_item_id_on_two_channels_is_two_tickets(client, token_for):
    first, second = connect(client, token_for, "A"), connect(client, token_for, "B")
    assert push(client, first["access_token"]).status_code == 201
    assert push(client, second["access_token"]).status_code == 201
    assert count(Ticket) == 2


def test_fifty_concurrent_pushes_of_one_item_make_one_ticket(live, custom):
    url = f"{live}/api2/public/inbox/tickets"

    def one(_):
        return httpx.post(url, params={"accesstoken": custom["access_token"]}, json={"interaction": ITEM},
                          timeout=60).status_code

    with ThreadPoolExecutor(max_workers=50) as pool:
        statuses = list(pool.map(one, range(50)))
    assert sorted(statuses) == [201] + [409] * 49
    assert count(Ticket) == 1 and count(Message) == 1


def test_a_256_character_network_item_id_is_accepted_and_deduplicated(client, custom):
    long_id = "x" * 250 + "-/|@&$"
    assert len(long_id) == 256
    created = push(client, custom["access_token"], networkItemId=long_id)
    assert created.status_code == 201 and created.get_json()["interaction"]["networkItemId"] == long_id
    assert_error(push(client, custom["access_token"], networkItemId=long_id), 409, "ConflictError")
    with db.session_scope() as s:
        assert len(s.scalars(select(Ticket.external_id)).one()) <= 200


def test_optional_fields_are_kept_and_a_root_links_the_parent(client, custom):
    token = custom["access_token"]
    parent = push(client, token, networkItemId="thread-0001").get_json()
    child = push(client, token, networkItemId="thread-0001/reply-1", root={"rootId": "thread-0001"},
                 type="COMMENT", url="https://network.example/p/1", link="https://shop.example/x",
                 pictures=[{"small": "https://cdn.example/s.jpg", "large": "https://cdn.example/l.jpg"}],
                 attachments=[{"url": "https://cdn.example/a.pdf", "size": 1024, "name": "a.pdf",
                               "mimeType": "application/pdf"}],
                 rating={"value": 4, "scale": 5})
    assert child.status_code == 201, child.get_data(as_text=True)
    body = child.get_json()
    assert body["parentId"] == parent["_id"] and body["rootId"] == "thread-0001"
    assert body["interaction"]["type"] == "COMMENT" and body["interaction"]["rating"] == {"value": 4, "scale": 5}
    assert body["interaction"]["pictures"][0]["small"] == "https://cdn.example/s.jpg"
    assert body["interaction"]["attachments"][0]["name"] == "a.pdf"


BAD_INTERACTIONS = [
    ({"networkItemId": None}, "interaction.networkItemId is required"),
    ({"networkItemId": "abc12"}, "interaction.networkItemId must match"),            # too short
    ({"networkItemId": "a" * 257}, "interaction.networkItemId must match"),          # too long
    ({"networkItemId": "has a space"}, "interaction.networkItemId must match"),      # bad character
    ({"networkItemId": "item-000001\n"}, "interaction.networkItemId must match"),    # no trailing newline
    ({"networkItemId": 123456}, "interaction.networkItemId must be a string"),
    ({"type": "SMS"}, "interaction.type must be one of"),
    ({"message": 42}, "interaction.message must be a string"),
    ({"createdTime": "yesterday"}, "interaction.createdTime must be an ISO 8601 date-time"),
    ({"createdTime": "2024-05-01"}, "interaction.createdTime must be an ISO 8601 date-time"),
    ({"url": "javascript:alert(1)"}, "interaction.url must be an absolute http(s) URL"),
    ({"link": "not a url"}, "interaction.link must be an absolute http(s) URL"),
    ({"interactor": {"name": "No id"}}, "interaction.interactor.interactorId is required"),
    ({"interactor": {"interactorId": "ab"}}, "interaction.interactor.interactorId must be at least 3"),
    ({"interactor": "Ann"}, "interaction.interactor must be an object"),
    ({"pictures": [{"large": "https://cdn.example/l.jpg"}]}, "interaction.pictures[0].small is required"),
    ({"pictures": {"small": "https://cdn.example/s.jpg"}}, "interaction.pictures must be an array"),
    ({"attachments": [{"url": "https://cdn.example/a", "size": -1}]}, "interaction.attachments[0].size must be at least 0"),
    ({"attachments": [{"name": "a.pdf"}]}, "interaction.attachments[0].url is required"),
    ({"rating": {"scale": 101}}, "interaction.rating.scale must be at most 100"),
    ({"rating": {"value": -1}}, "interaction.rating.value must be at least 0"),
    ({"rating": {"value": "5"}}, "interaction.rating.value must be a number"),
    ({"rating": {"value": True}}, "interaction.rating.value must be a number"),
    ({"root": {"rootId": "short"}}, "interaction.root.rootId must match"),
]


@pytest.mark.parametrize("change, message", BAD_INTERACTIONS)
def test_each_schema_rule_is_checked_with_a_400(client, custom, change, message):
    interaction = {**ITEM, **change}
    response = api2(client, "POST", "/inbox/tickets", custom["access_token"], json={"interaction": interaction})
    assert_error(response, 400, "BadRequestError", message)
    assert count(Ticket) == 0 and count(Interactor) == 0


@pytest.mark.parametrize("body, message", [
    ({}, "interaction is required"),
    ({"interaction": "hello"}, "interaction must be an object"),
    ([ITEM], "body must be an object"),
])
def test_the_body_must_carry_an_interaction_object(client, custom, body, message):
    assert_error(api2(client, "POST", "/inbox/tickets", custom["access_token"], json=body), 400,
                 "BadRequestError", message)


def test_a_body_that_is_not_json_is_400(client, custom):
    response = api2(client, "POST", "/inbox/tickets", custom["access_token"], data="{nope",
                    content_type="application/json")
    assert_error(response, 400, "BadRequestError", "not valid JSON")


# -- updating and reopening -------------------------------------------------------------------

def test_an_update_changes_the_message_and_interactor(client, custom, token_for):
    token = custom["access_token"]
    ticket_id = push(client, token).get_json()["_id"]
    response = api2(client, "PATCH", f"/inbox/tickets/{ticket_id}", token, json={"interaction": {
        "message": "Edited: where is order 4821?", "updatedTime": "2024-05-01T09:00:00Z",
        "interactor": {"name": "Ann L."}, "rating": {"value": 2, "scale": 5}}})
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["interaction"]["message"] == "Edited: where is order 4821?" and "edited" in body["tags"]
    assert body["interaction"]["interactor"]["name"] == "Ann L." and body["interaction"]["rating"]["value"] == 2
    shown = client.get(f"/api/v1/tickets/{int(ticket_id)}", headers=auth(token_for("agent"))).get_json()
    assert shown["text"] == "Edited: where is order 4821?" and shown["author"]["name"] == "Ann L."
    assert [m["text"] for m in shown["messages"]] == ["Edited: where is order 4821?"]
    assert "updated_on_network" in [h["action"] for h in shown["history"]]

    stale = api2(client, "PATCH", f"/inbox/tickets/{ticket_id}", token,
                 json={"interaction": {"message": "older", "updatedTime": "2024-05-01T08:00:00Z"}})
    assert_error(stale, 409, "ConflictError", "newer version")
    assert client.get(f"/api/v1/tickets/{int(ticket_id)}", headers=auth(token_for("agent"))).get_json()["text"] \
        == "Edited: where is order 4821?"


def test_an_integrations_update_makes_a_users_earlier_view_stale(client, custom, token_for):
    """The integration changed the ticket after the agent read it: the agent's action, made on what
    they saw, is refused (409 stale) rather than applied to a ticket they have not seen."""
    token, agent = custom["access_token"], auth(token_for("agent"))
    ticket_id = push(client, token).get_json()["_id"]
    seen = client.get(f"/api/v1/tickets/{int(ticket_id)}", headers=agent).get_json()["version"]
    updated = api2(client, "PATCH", f"/inbox/tickets/{ticket_id}", token,
                   json={"interaction": {"message": "Actually, cancel my order"}})
    assert updated.status_code == 200
    stale = client.post(f"/api/v1/tickets/{int(ticket_id)}/actions/archive", headers=agent, json={"version": seen})
    assert stale.status_code == 409 and stale.get_json()["error"]["code"] == "stale"
    assert stale.get_json()["ticket"]["text"] == "Actually, cancel my order" and stale.get_json()["ticket"]["status"] == "open"
    fresh = stale.get_json()["ticket"]["version"]
    assert fresh > seen
    done = client.post(f"/api/v1/tickets/{int(ticket_id)}/actions/archive", headers=agent, json={"version": fresh})
    assert done.status_code == 200 and done.get_json()["status"] == "archived"


def test_reset_true_reopens_an_archived_ticket_and_false_does_not(client, custom):
    token = custom["access_token"]
    ticket_id = push(client, token).get_json()["_id"]
    with db.session_scope() as s:
        s.get(Ticket, int(ticket_id)).status = TicketStatus.ARCHIVED
    plain = api2(client, "PATCH", f"/inbox/tickets/{ticket_id}", token, json={"interaction": {"message": "v2"}})
    assert plain.status_code == 200 and plain.get_json()["status"] == "archived"
    assert "archived" in plain.get_json()["tags"]
    reset = api2(client, "PATCH", f"/inbox/tickets/{ticket_id}", token, query={"reset": "true"},
                 json={"interaction": {"message": "v3"}})
    assert reset.status_code == 200 and reset.get_json()["status"] == "open"
    with db.session_scope() as s:
        assert s.get(Ticket, int(ticket_id)).status == TicketStatus.OPEN
        assert s.scalars(select(History.data).filter_by(ticket_id=int(ticket_id), action="reopened")).all() \
            == [{"by": "integration"}]
    assert_error(api2(client, "PATCH", f"/inbox/tickets/{ticket_id}", token, query={"reset": "maybe"}, json={}),
                 400, "BadRequestError", "reset")


def test_ticket_ids_are_checked_and_scoped_to_the_channel(client, token_for):
    mine, theirs = connect(client, token_for, "Mine"), connect(client, token_for, "Theirs")
    ticket_id = push(client, theirs["access_token"]).get_json()["_id"]
    body = {"interaction": {"message": "hijack"}}
    assert_error(api2(client, "PATCH", f"/inbox/tickets/{ticket_id}", mine["access_token"], json=body),
                 404, "NotFoundError")
    assert_error(api2(client, "PATCH", "/inbox/tickets/not-an-id", mine["access_token"], json=body),
                 400, "BadRequestError", "id")
    assert_error(api2(client, "PATCH", "/inbox/tickets/5f1e0c9a2b3c4d5e6f708192", mine["access_token"], json=body),
                 404, "NotFoundError")
    assert_error(api2(client, "PATCH", f"/inbox/tickets/{ticket_id}", theirs["access_token"],
                      json={"interaction": {"url": "ftp://x"}}), 400, "BadRequestError", "interaction.url")
    with db.session_scope() as s:
        assert s.get(Ticket, int(ticket_id)).text == ITEM["message"]


def test_a_reset_for_an_unknown_action_is_404(client, custom):
    ticket_id = push(client, custom["access_token"]).get_json()["_id"]
    assert_error(api2(client, "POST", f"/inbox/tickets/{ticket_id}/reset/like", custom["access_token"],
                      json={"reason": "nope"}), 404, "NotFoundError", "like")
    assert_error(api2(client, "POST", f"/inbox/tickets/{ticket_id}/reset/bad%20aid", custom["access_token"],
                      json={}), 400, "BadRequestError", "aid")


# -- manifest -----------------------------------------------------------------------------------

MANIFEST = {
    "branding": {"icon": "https://integration.example/icon.png", "color": "#1da1f2"},
    "inbox": {"ticketActions": [
        {"id": "reply-public", "type": "reply", "label": {"en": "Reply", "de": "Antworten", "fr": "Répondre"},
         "config": {"approvalProcess": True, "maxLength": 280,
                    "timeout": {"duration": "24h", "after": "networkCreationTime"}},
         "attachments": {"noText": True},
         "options": [{"id": "public", "label": {"en": "Public", "de": "Öffentlich", "fr": "Public"}}]},
        {"id": "escalate", "type": "button", "label": "Escalate"}],
        "rightSidebar": [{"id": "orders", "label": "Orders", "treeBuilder": "flatListWithRoot"}]},
}


def test_patching_the_manifest_stores_its_actions_and_keeps_what_it_does_not_mention(client, custom, token_for):
    token = custom["access_token"]
    response = api2(client, "PATCH", "/manifest", token, json=MANIFEST)
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert [a["id"] for a in body["inbox"]["ticketActions"]] == ["reply-public", "escalate"]
    assert body["inbox"]["ticketActions"][0]["options"][0]["id"] == "public"          # on the action, as documented
    assert body["inbox"]["ticketActions"][0]["attachments"] == {"noText": True}
    channel = client.get(f"/api/v1/channels/{custom['id']}", headers=auth(token_for("admin"))).get_json()
    assert manifest_actions(channel["settings"]) == {"escalate": "Escalate"}      # buttons; replies are composer choices
    # A partial patch keeps what it does not mention (the admin-set webhook too: no test request).
    again = api2(client, "PATCH", "/manifest", token, json={"branding": {"color": "#000"}}).get_json()
    assert again["branding"] == {"icon": "https://integration.example/icon.png", "color": "#000"}
    assert len(again["inbox"]["ticketActions"]) == 2 and again["webhook"]["url"] == HOOK


@pytest.mark.parametrize("patch, message", [
    ({"branding": {"color": "#GGGGGG"}}, "manifest.branding.color must match"),
    ({"branding": {"icon": "http://integration.example/i.png"}}, "manifest.branding.icon must match"),
    ({"webhook": {"url": "https://integration.example/h"}}, "manifest.webhook.secret is required"),
    ({"webhook": {"url": "https://integration.example/h", "secret": "short"}}, "manifest.webhook.secret must be at least 32"),
    ({"inbox": {"ticketActions": [{"id": "bad id", "type": "button", "label": "x"}]}},
     "manifest.inbox.ticketActions[0].id must match"),
    ({"inbox": {"ticketActions": [{"id": "a", "type": "custom", "label": "A"}]}},
     "manifest.inbox.ticketActions[0].type must be one of reply, template_reply, delete, button"),
    ({"inbox": {"ticketActions": [{"id": "a", "type": "button", "label": {"en": "A"}}]}},
     "manifest.inbox.ticketActions[0].label must be a string or an object with en, de and fr"),
    ({"inbox": {"ticketActions": [{"id": "a", "label": "A"}]}}, "manifest.inbox.ticketActions[0].type is required"),
    ({"inbox": {"ticketActions": [{"id": "a", "type": "button", "label": "A"},
                                  {"id": "a", "type": "button", "label": "B"}]}},
     "lists the id 'a' twice"),
    ({"inbox": {"ticketActions": [{"id": "a", "type": "reply", "label": "A",
                                   "config": {"timeout": {"duration": "24h"}}}]}},
     "manifest.inbox.ticketActions[0].config.timeout.after is required"),
    ({"inbox": {"ticketActions": [{"id": "a", "type": "reply", "label": "A",
                                   "config": {"timeout": {"duration": "soon", "after": "networkCreationTime"}}}]}},
     "manifest.inbox.ticketActions[0].config.timeout.duration must be a duration"),
    ({"inbox": {"ticketActions": [{"id": "a", "type": "reply", "label": "A", "config": {"maxLength": 0}}]}},
     "manifest.inbox.ticketActions[0].config.maxLength must be at least 1"),
    ({"inbox": {"ticketActions": [{"id": "t", "type": "template_reply", "label": "T"}]}},
     "manifest.inbox.ticketActions[0].config.templates.url is required for a template_reply action"),
    ({"inbox": {"rightSidebar": [{"id": "t", "label": "T", "treeBuilder": "tree"}]}},
     "manifest.inbox.rightSidebar[0].treeBuilder must be one of"),
])
def test_an_invalid_manifest_patch_is_400_and_changes_nothing(client, custom, patch, message):
    token = custom["access_token"]
    before = api2(client, "GET", "", token).get_json()["manifest"]
    assert_error(api2(client, "PATCH", "/manifest", token, json=patch), 400, "BadRequestError", message)
    assert api2(client, "GET", "", token).get_json()["manifest"] == before


def test_a_plain_http_webhook_is_422_webhook_validation_error(client, custom):
    """http is for hosts in INBOX_ALLOW_PRIVATE_URLS only (netguard): refused before any request."""
    response = api2(client, "PATCH", "/manifest", custom["access_token"],
                    json={"webhook": {"url": "http://integration.example/h", "secret": "s" * 40}})
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.get_json() == {"code": "WebhookValidationError",
                                   "message": "Error: The WebHook's address is not allowed",
                                   "data": "Error: integration.example may only be called over https"}


def test_an_unreachable_webhook_is_422_webhook_validation_error_and_nothing_is_saved(client, custom):
    """The test request fails (nothing listens on port 9): SocialHub's 422, with the cause in data."""
    token = custom["access_token"]
    before = api2(client, "GET", "", token).get_json()["manifest"]
    response = api2(client, "PATCH", "/manifest", token, json={
        **MANIFEST, "webhook": {"url": "http://127.0.0.1:9/hooks", "secret": "d" * 32}})
    assert response.status_code == 422, response.get_data(as_text=True)
    body = response.get_json()
    assert body["code"] == "WebhookValidationError"
    assert body["message"] == "Error: An error occurred while attempting to validate the WebHook" and body["data"]
    assert api2(client, "GET", "", token).get_json()["manifest"] == before          # not even the actions


def test_webhook_null_removes_the_webhook(client, custom, token_for):
    token = custom["access_token"]
    response = api2(client, "PATCH", "/manifest", token, json={"webhook": None})
    assert response.status_code == 200 and response.get_json()["webhook"] is None
    channel = client.get(f"/api/v1/channels/{custom['id']}", headers=auth(token_for("admin"))).get_json()
    assert channel["settings"]["webhook_url"] is None


# -- the channel itself ---------------------------------------------------------------------------

def test_patching_the_channel_updates_name_profile_and_token_expiry(client, custom, token_for):
    response = api2(client, "PATCH", "/channel", custom["access_token"], json={
        "name": "Shop support (DE)", "uniqueName": "shop-de", "imageUrl": "https://cdn.example/logo.png",
        "endpoint": {"expirationTime": "2030-01-01T00:00:00Z",
                     "user": {"id": "42", "name": "Shop", "profileImage": "https://cdn.example/u.png"}}})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["name"] == "Shop support (DE)" and response.get_json()["uniqueName"] == "shop-de"
    channel = client.get(f"/api/v1/channels/{custom['id']}", headers=auth(token_for("admin"))).get_json()
    assert channel["name"] == "Shop support (DE)"
    assert channel["health"]["token_expires_at"].startswith("2030-01-01T00:00:00")
    assert_error(api2(client, "PATCH", "/channel", custom["access_token"],
                      json={"endpoint": {"user": {"profileImage": "http://cdn.example/u.png"}}}),
                 400, "BadRequestError", "endpoint.user.profileImage")
    assert_error(api2(client, "PATCH", "/channel", custom["access_token"], json={"name": ""}),
                 400, "BadRequestError", "name")


def test_post_channels_completes_the_tokens_channel(client, custom):
    response = api2(client, "POST", "/channels", custom["access_token"], json={
        "name": "Shop", "uniqueName": "shop-main", "endpoint": {"networkId": "net-1"}})
    assert response.status_code == 201 and response.get_json()["_id"] == f"{custom['id']:024d}"
    assert response.get_json()["endpoint"]["networkId"] == "net-1"
    assert count(Channel) == 1


def test_deleting_the_channel_deactivates_it_and_revokes_the_token(client, custom, token_for):
    token = custom["access_token"]
    assert push(client, token).status_code == 201
    response = api2(client, "DELETE", "/channel", token, query={"reason": "uninstalled"})
    assert response.status_code == 204
    assert_error(api2(client, "GET", "", token), 401, "AccessTokenInvalidError")
    channel = client.get(f"/api/v1/channels/{custom['id']}", headers=auth(token_for("admin"))).get_json()
    assert channel["status"] == "disabled" and "uninstalled" in channel["last_error"]
    with db.session_scope() as s:
        assert s.get(Channel, custom["id"]).status == ChannelStatus.DISABLED
    assert count(Ticket) == 1


def test_unknown_routes_and_methods_answer_in_socialhubs_shape(client, custom):
    token = custom["access_token"]
    wrong_method = api2(client, "GET", "/inbox/tickets", token)
    assert_error(wrong_method, 405, "MethodNotAllowed", "POST")
    assert wrong_method.headers["Allow"] == "POST"
    assert_error(api2(client, "PUT", "/manifest", token), 405, "MethodNotAllowed", "PATCH")
    assert_error(api2(client, "GET", "/nothing/here", token), 404, "NotFoundError")
    assert_error(api2(client, "PATCH", "/inbox/tickets/999999999999999999", token, json={}), 404, "NotFoundError")
    assert api2(client, "GET", "/", token).status_code == 200


@pytest.mark.parametrize("raw", [
    '{"interaction": {"networkItemId": "item-000001", "rating": {"value": 1' + "0" * 400 + '}}}',
    '{"interaction": {"networkItemId": "item-000001", "createdTime": "0001-01-01T00:00:00+01:00"}}',
    '{"interaction": {"networkItemId": "item-000001", "rating": {"value": 1e999}}}',
    "[" * 100000 + "]" * 100000,
])
def test_hostile_bodies_get_a_400_or_are_stored_never_a_500(client, custom, raw):
    response = api2(client, "POST", "/inbox/tickets", custom["access_token"], data=raw,
                    content_type="application/json")
    assert response.status_code in (201, 400), response.get_data(as_text=True)
    if response.status_code == 400:
        assert set(response.get_json()) == {"code", "message"}
