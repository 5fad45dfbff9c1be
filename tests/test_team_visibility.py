"""Teams decide who sees which tickets (inbox/visibility.py), everywhere a user reaches them.

The world: team A (the agent) owns channel A, team B (the outsider) owns channel B, and a shared
channel belongs to no team. A "loner" agent is in no team. One customer, Sam, wrote on all three
channels. Supervisors and admins see everything; an agent sees shared channels, their teams'
channels, tickets handed to their teams and tickets assigned to them — and everything else is a
404 exactly like a ticket that does not exist.
"""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from helpers import _csrf, csrf_of, login
from inbox import db
from models import (ApiToken, Category, Channel, Followup, History, Interactor, OutboundAction, Role, Tag, Team, Ticket,
                    User, note_mentions)
from statements import recorded

LONER_PASSWORD = "loner-password"


def auth(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def world(app, users, token_for):
    with db.session_scope() as s:
        loner = User(email="loner@example.test", role=Role.AGENT, name="Loner")
        loner.set_password(LONER_PASSWORD)
        s.add(loner)
        channels = {key: Channel(provider="getloo", network="instagram", name=f"Channel {key}",
                                 base_url="http://getloo.test", account_ref=f"acct-{key}") for key in ("a", "b", "shared")}
        s.add_all(channels.values())
        s.flush()
        team_a = Team(name="Team A", members=[s.get(User, users["agent"].id)], channels=[channels["a"]])
        team_b = Team(name="Team B", members=[s.get(User, users["outsider"].id)], channels=[channels["b"]])
        s.add_all([team_a, team_b])
        vip, billing = Tag(name="VIP"), Category(name="Billing")
        tickets = {}
        for key, channel in channels.items():
            sam = Interactor(channel_id=channel.id, external_id="sam-1", username="sam", name="Sam")
            tickets[key] = Ticket(channel=channel, network="instagram", kind="conversation", external_id=f"t-{key}",
                                  text=f"Where is my parcel? ({key})", interactor=sam,
                                  tags=[vip] if key != "shared" else [], categories=[billing] if key != "shared" else [])
        s.add_all(tickets.values())
        s.flush()
        # A note on B's ticket that mentions the agent of team A (who cannot see that ticket).
        note = Followup(ticket_id=tickets["b"].id, type="note", status="saved", text="@Agent look", author_id=users["admin"].id)
        s.add(note)
        s.flush()
        s.execute(note_mentions.insert().values(followup_id=note.id, user_id=users["agent"].id))
        action = OutboundAction(channel_id=channels["b"].id, ticket_id=tickets["b"].id, kind="like")
        s.add(action)
        s.flush()
        ids = {"channel": {k: c.id for k, c in channels.items()}, "ticket": {k: t.id for k, t in tickets.items()},
               "team_a": team_a.id, "team_b": team_b.id, "note": note.id, "action": action.id, "loner": loner.id,
               "tag": vip.id, "category": billing.id}
    with db.session_scope() as s:      # token_for knows only the users fixture's users
        row, loner_token = ApiToken.issue(s.get(User, ids["loner"]))
        s.add(row)
    ids["tokens"] = {role: token_for(role) for role in ("agent", "outsider", "supervisor", "admin")}
    ids["tokens"]["loner"] = loner_token
    return ids


def page_client(app, who: str):
    client = app.test_client()
    if who == "loner":
        token = csrf_of(client, "/auth/login")
        answer = client.post("/auth/login", data={"email": "loner@example.test", "password": LONER_PASSWORD,
                                                  "csrf_token": token})
    else:
        answer = login(client, who)
    assert answer.status_code == 302
    return client


def listed(client) -> set[int]:
    return {int(n) for n in re.findall(r'id="ticket-(\d+)"', client.get("/").get_data(as_text=True))}


def api_listed(client, token: str, query: str = "") -> set[int]:
    answer = client.get(f"/api/v1/tickets?{query}", headers=auth(token))
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return {t["id"] for t in answer.get_json()["data"]}


def seen_by(world, *keys: str) -> set[int]:
    return {world["ticket"][k] for k in keys}


EXPECTED = {"agent": ("a", "shared"), "outsider": ("b", "shared"), "loner": ("shared",),
            "supervisor": ("a", "b", "shared"), "admin": ("a", "b", "shared")}


@pytest.mark.parametrize("who", sorted(EXPECTED))
def test_each_viewer_lists_only_the_tickets_of_their_teams_and_shared_channels(app, client, world, who):
    assert listed(page_client(app, who)) == seen_by(world, *EXPECTED[who])
    assert api_listed(client, world["tokens"][who]) == seen_by(world, *EXPECTED[who])
    # search goes through the same query: "parcel" is in every ticket's text
    assert api_listed(client, world["tokens"][who], "q=parcel") == seen_by(world, *EXPECTED[who])


def test_another_teams_ticket_is_a_404_like_a_missing_one_in_the_pane_and_the_api(app, client, world):
    agent, b = page_client(app, "agent"), world["ticket"]["b"]
    assert agent.get(f"/tickets/{b}").status_code == 404
    assert agent.get(f"/tickets/{b}", headers={"HX-Request": "true"}).status_code == 404
    assert agent.get(f"/tickets/{world['ticket']['a']}").status_code == 200
    token = world["tokens"]["agent"]
    hidden, missing = client.get(f"/api/v1/tickets/{b}", headers=auth(token)), client.get("/api/v1/tickets/999999", headers=auth(token))
    assert hidden.status_code == missing.status_code == 404
    assert hidden.get_json()["error"]["code"] == missing.get_json()["error"]["code"] == "not_found"
    # actions on it: refused with 404 and nothing written
    with db.session_scope() as s:
        before = (s.get(Ticket, b).version, s.scalar(select(History.id).order_by(History.id.desc())))
    answer = client.post(f"/api/v1/tickets/{b}/actions/priority", json={"on": True}, headers=auth(token))
    assert answer.status_code == 404
    csrf = csrf_of(agent, "/")
    assert agent.post(f"/tickets/{b}/triage/priority", data={"csrf_token": csrf, "on": "1"}).status_code == 404
    assert agent.post(f"/tickets/{b}/notes", data={"csrf_token": csrf, "text": "hi"}).status_code == 404
    with db.session_scope() as s:
        ticket = s.get(Ticket, b)
        assert (ticket.version, s.scalar(select(History.id).order_by(History.id.desc()))) == before
        assert ticket.priority is False
    # its outbound action and its followup
    assert client.get(f"/api/v1/actions/{world['action']}", headers=auth(token)).status_code == 404
    assert client.get(f"/api/v1/actions/{world['action']}", headers=auth(world["tokens"]["outsider"])).status_code == 200
    assert agent.get(f"/followups/{world['note']}").status_code == 404
    assert page_client(app, "outsider").get(f"/followups/{world['note']}").status_code == 200
    # the supervisor sees it all
    assert client.get(f"/api/v1/tickets/{b}", headers=auth(world["tokens"]["supervisor"])).status_code == 200
    assert page_client(app, "supervisor").get(f"/tickets/{b}").status_code == 200


def test_mentions_of_the_agent_on_a_ticket_they_cannot_see_stay_hidden(client, users, world):
    from inbox.queue.counters import builtin_counts

    def number() -> int:
        with db.session_scope() as s:
            return builtin_counts(s, s.get(User, users["agent"].id))["mentions"]

    assert api_listed(client, world["tokens"]["agent"], "mentions=me") == set() and number() == 0
    with db.session_scope() as s:      # hand the ticket to team A: now the mention shows
        s.get(Ticket, world["ticket"]["b"]).team_id = world["team_a"]
    assert api_listed(client, world["tokens"]["agent"], "mentions=me") == {world["ticket"]["b"]} and number() == 1
    with db.session_scope() as s:      # handed back; assigned to the agent: it shows again
        ticket = s.get(Ticket, world["ticket"]["b"])
        ticket.team_id = None
    assert number() == 0
    with db.session_scope() as s:
        s.get(Ticket, world["ticket"]["b"]).assignee_id = users["agent"].id
    assert api_listed(client, world["tokens"]["agent"], "mentions=me") == {world["ticket"]["b"]} and number() == 1


def test_the_customers_other_tickets_list_only_visible_ones(app, world):
    page = page_client(app, "agent").get(f"/tickets/{world['ticket']['shared']}").get_data(as_text=True)
    others = {int(n) for n in re.findall(r'data-other-ticket="(\d+)"', page)}
    assert others == {world["ticket"]["a"]}
    page = page_client(app, "supervisor").get(f"/tickets/{world['ticket']['shared']}").get_data(as_text=True)
    assert {int(n) for n in re.findall(r'data-other-ticket="(\d+)"', page)} == seen_by(world, "a", "b")


@pytest.mark.parametrize("who,channels", [("agent", ("a", "shared")), ("outsider", ("b", "shared")),
                                          ("loner", ("shared",)), ("supervisor", ("a", "b", "shared"))])
def test_channels_page_api_and_queue_filter_show_only_visible_channels(app, client, world, who, channels):
    expected = {world["channel"][k] for k in channels}
    browser = page_client(app, who)
    page = browser.get("/settings/channels").get_data(as_text=True)
    assert {int(n) for n in re.findall(r'<tr id="channel-(\d+)"', page)} == expected
    queue = browser.get("/").get_data(as_text=True)
    channel_filter = queue.split('name="channel_id"', 1)[1].split("</select>", 1)[0]
    assert {int(n) for n in re.findall(r'<option value="(\d+)"', channel_filter)} == expected
    token = world["tokens"][who]
    assert {c["id"] for c in client.get("/api/v1/channels", headers=auth(token)).get_json()["data"]} == expected
    for key, channel_id in world["channel"].items():
        answer = client.get(f"/api/v1/channels/{channel_id}", headers=auth(token))
        assert answer.status_code == (200 if key in channels else 404)
        injected = client.post(f"/api/v1/channels/{channel_id}/actions/inject", json={}, headers=auth(token))
        assert injected.status_code == (422 if key in channels else 404)   # getloo has no inject: refused once let in


def test_tag_and_category_counts_count_only_visible_tickets(client, world):
    def counts(who: str) -> tuple[int, int]:
        tags = client.get("/api/v1/tags", headers=auth(world["tokens"][who])).get_json()["data"]
        categories = client.get("/api/v1/categories", headers=auth(world["tokens"][who])).get_json()["data"]
        return tags[0]["ticket_count"], categories[0]["ticket_count"]

    assert counts("supervisor") == (2, 2)
    assert counts("agent") == (1, 1)
    assert counts("loner") == (0, 0)
    single = client.get(f"/api/v1/tags/{world['tag']}", headers=auth(world["tokens"]["agent"])).get_json()
    assert single["ticket_count"] == 1


def test_assigning_to_a_team_hands_the_ticket_over_and_unassigning_takes_it_back(app, client, world, users):
    a, agent, outsider = world["ticket"]["a"], world["tokens"]["agent"], world["tokens"]["outsider"]
    assert client.get(f"/api/v1/tickets/{a}", headers=auth(outsider)).status_code == 404
    answer = client.post(f"/api/v1/tickets/{a}/actions/assign", json={"team_id": world["team_b"]}, headers=auth(agent))
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.get_json()["team_id"] == world["team_b"] and answer.get_json()["assignee_id"] is None
    assert a in api_listed(client, outsider)
    shown = client.get(f"/api/v1/tickets/{a}", headers=auth(outsider)).get_json()
    assert shown["team_id"] == world["team_b"]
    entry = shown["history"][-1]
    assert entry["action"] == "assigned_team" and entry["user_id"] == users["agent"].id
    assert entry["data"]["team_id"] == world["team_b"] and entry["data"]["from_team_id"] is None
    assert a in api_listed(client, agent)            # still the agent's team's channel
    # the outsider's pane shows the team; the history says who handed it to which team
    page = page_client(app, "outsider").get(f"/tickets/{a}").get_data(as_text=True)
    assert "team-chip" in page and "handed to team <bdi dir=\"auto\">Team B</bdi>" in page
    # the team filter: tickets handed to that team
    assert api_listed(client, world["tokens"]["supervisor"], f"team={world['team_b']}") == {a}
    assert api_listed(client, world["tokens"]["supervisor"], f"team={world['team_a']}") == set()
    # unassign the team: out of the outsider's sight again
    answer = client.post(f"/api/v1/tickets/{a}/actions/assign", json={"team_id": None}, headers=auth(agent))
    assert answer.status_code == 200 and answer.get_json()["team_id"] is None
    assert a not in api_listed(client, outsider)
    assert client.get(f"/api/v1/tickets/{a}", headers=auth(outsider)).status_code == 404


def test_the_loner_sees_tickets_assigned_to_them_in_any_channel(client, world):
    b, loner = world["ticket"]["b"], world["tokens"]["loner"]
    answer = client.post(f"/api/v1/tickets/{b}/actions/assign", json={"user_id": world["loner"]},
                         headers=auth(world["tokens"]["supervisor"]))
    assert answer.status_code == 200
    assert api_listed(client, loner) == seen_by(world, "b", "shared")
    assert client.get(f"/api/v1/tickets/{b}", headers=auth(loner)).status_code == 200


@pytest.mark.parametrize("body,code", [
    ({"team_id": 999999}, "unknown_team"),
    ({"user_id": None, "team_id": 999999}, "unknown_team"),     # the user part is not applied either
    ({"team_id": "team b"}, "invalid_value"),
    ({"team_id": True}, "invalid_value"),
    ({"team_id": 2**40}, "invalid_value"),
    ({}, "missing_field"),
])
def test_bad_team_assignment_is_refused_and_nothing_changes(client, world, users, body, code):
    a, supervisor = world["ticket"]["a"], world["tokens"]["supervisor"]
    client.post(f"/api/v1/tickets/{a}/actions/assign", json={"user_id": users["agent"].id}, headers=auth(supervisor))
    before = client.get(f"/api/v1/tickets/{a}", headers=auth(supervisor)).get_json()
    answer = client.post(f"/api/v1/tickets/{a}/actions/assign", json=body, headers=auth(supervisor))
    assert answer.status_code == 422, answer.get_data(as_text=True)
    assert answer.get_json()["error"]["code"] == code
    after = client.get(f"/api/v1/tickets/{a}", headers=auth(supervisor)).get_json()
    assert (after["version"], after["assignee_id"], after["team_id"], len(after["history"])) == \
           (before["version"], users["agent"].id, None, len(before["history"]))


def test_bad_team_filter_is_a_400(client, world):
    answer = client.get("/api/v1/tickets?team=abc", headers=auth(world["tokens"]["agent"]))
    assert answer.status_code == 400 and answer.get_json()["error"]["code"] == "invalid_team"


def test_the_pane_hands_over_to_a_team_and_shows_it_in_the_history(app, world):
    browser = page_client(app, "supervisor")
    a = world["ticket"]["a"]
    page = browser.get(f"/tickets/{a}").get_data(as_text=True)
    version = re.search(r'name="version" value="(\d+)"', page).group(1)
    answer = browser.post(f"/tickets/{a}/triage/assign", data={"csrf_token": _csrf(page), "version": version,
                                                                "team_id": str(world["team_b"])},
                          headers={"HX-Request": "true"})
    assert answer.status_code == 200
    pane = answer.get_data(as_text=True)
    team_select = pane.split('name="team_id"', 1)[1].split("</select>", 1)[0]
    assert f'<option value="{world["team_b"]}" selected>' in team_select
    assert 'handed to team <bdi dir="auto">Team B</bdi>' in pane
    # and the list row shows the team's chip
    assert 'class="chip team-chip" data-team="%d"' % world["team_b"] in browser.get("/").get_data(as_text=True)


def test_handing_away_a_ticket_one_only_saw_by_its_team_says_so_instead_of_a_404(app, client, world):
    b = world["ticket"]["b"]
    with db.session_scope() as s:
        s.get(Ticket, b).team_id = world["team_a"]     # handed to the agent's team
    browser = page_client(app, "agent")
    page = browser.get(f"/tickets/{b}").get_data(as_text=True)
    version = re.search(r'name="version" value="(\d+)"', page).group(1)
    answer = browser.post(f"/tickets/{b}/triage/assign", data={"csrf_token": _csrf(page), "version": version,
                                                                "team_id": ""}, headers={"HX-Request": "true"})
    assert answer.status_code == 200 and "no longer in your teams" in answer.get_data(as_text=True)
    assert browser.get(f"/tickets/{b}").status_code == 404


def test_the_queue_page_costs_the_same_with_visibility_and_every_filter(app, client, world, users):
    """Visibility and the filters are conditions of the one rows statement, never extra queries."""
    browser, token = page_client(app, "agent"), world["tokens"]["agent"]

    def add(n: int, start: int) -> None:
        with db.session_scope() as s:
            tag, category = s.get(Tag, world["tag"]), s.get(Category, world["category"])
            for i in range(start, start + n):
                channel_id = world["channel"]["a" if i % 2 else "shared"]
                author = Interactor(channel_id=channel_id, external_id=f"u{i}", username=f"user{i}")
                s.add(Ticket(channel_id=channel_id, network="instagram", kind="comment", external_id=f"c{i}",
                             text=f"parcel {i}", interactor=author, tags=[tag], categories=[category],
                             team_id=world["team_a"], assignee_id=users["agent"].id, priority=True,
                             sentiment="negative"))

    def count(path: str, headers=None) -> int:
        client_ = browser if headers is None else client
        client_.get(path, headers=headers)
        with recorded() as statements:
            answer = client_.get(path, headers=headers)
        assert answer.status_code == 200, answer.get_data(as_text=True)
        return len(statements)

    every = (f"status=open&assignee=me&priority=1&sentiment=negative&team={world['team_a']}&tag={world['tag']}"
             f"&category={world['category']}&q=parcel&channel_id={world['channel']['a']}&network=instagram")
    add(4, 0)
    small = [count("/"), count(f"/?{every}"), count(f"/api/v1/tickets?{every}&limit=50", auth(token)),
             count(f"/api/v1/tickets?limit=50", auth(token))]
    add(60, 4)
    assert len(client.get(f"/api/v1/tickets?{every}&limit=50", headers=auth(token)).get_json()["data"]) == 32
    assert len(client.get("/api/v1/tickets?limit=50", headers=auth(token)).get_json()["data"]) == 50
    large = [count("/"), count(f"/?{every}"), count(f"/api/v1/tickets?{every}&limit=50", auth(token)),
             count(f"/api/v1/tickets?limit=50", auth(token))]
    # 17 with every filter: the folders' numbers (one statement) and, on SQLite, the search's count
    # of its matches that picks the plan (inbox/search) — fixed, whatever the number of rows.
    assert large == small and max(large) <= 17


def test_supervisors_and_admins_have_the_view_all_permission_agents_do_not(users):
    assert users["supervisor"].can("ViewAllTickets") and users["admin"].can("ViewAllTickets")
    assert not users["agent"].can("ViewAllTickets")


def test_every_viewers_numbers_equal_a_real_count_of_what_they_see(app, world, users):
    """The built-in folders' numbers (rolled up by channel and team in folder_total, plus a
    user's own counter rows) equal a COUNT of the tickets each viewer sees, for a viewer who sees
    all, by team, by a shared channel only, and by assignment alone (the loner is given B's ticket
    and a ticket handed to team B: neither is in a group they see)."""
    from sqlalchemy import and_, func, true

    from inbox import visibility
    from inbox.queue.counters import builtin_counts

    with db.session_scope() as s:
        b = s.get(Ticket, world["ticket"]["b"])
        b.assignee_id, b.priority, b.has_pending_suggestion = world["loner"], True, True
        shared = s.get(Ticket, world["ticket"]["shared"])
        shared.team_id, shared.assignee_id = world["team_b"], users["agent"].id
        s.add(Ticket(channel_id=world["channel"]["a"], network="instagram", kind="comment", external_id="arch",
                     status="archived", team_id=world["team_b"], assignee_id=world["loner"], has_failed_send=True))
        s.add(Ticket(channel_id=world["channel"]["b"], network="instagram", kind="comment", external_id="snz",
                     status="snoozed", team_id=world["team_a"]))
    t = Ticket
    folders = {"inbox": t.status == "open", "unassigned": and_(t.status == "open", t.assignee_id.is_(None)),
               "priority": and_(t.status == "open", t.priority.is_(True)), "snoozed": t.status == "snoozed",
               "approval": t.has_pending_suggestion.is_(True), "failed": t.has_failed_send.is_(True),
               "archived": t.status == "archived", "all": true()}
    with db.session_scope() as s:
        viewers = [s.get(User, users[role].id) for role in ("admin", "supervisor", "agent", "outsider")]
        viewers.append(s.get(User, world["loner"]))
        for viewer in viewers:
            seen = visibility.visible_tickets(viewer)

            def real(condition):
                return s.scalar(visibility.restrict(select(func.count()).select_from(t).where(condition), seen))
            expected = {name: real(condition) for name, condition in folders.items()}
            expected["mine"] = real(and_(t.status == "open", t.assignee_id == viewer.id))
            numbers = builtin_counts(s, viewer)
            assert {name: numbers[name] for name in expected} == expected, viewer.email
        # The loner sees, by assignment alone, B's ticket and the archived one handed to team B.
        assert builtin_counts(s, viewers[-1])["archived"] == 1 and builtin_counts(s, viewers[-1])["priority"] == 1
