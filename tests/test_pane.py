"""The ticket pane: media inline in the thread, who wrote with their other tickets, and a reply that
carries the ticket's version (a stale one is refused like the triage controls).
"""
from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from helpers import csrf_of, load, login, post, run_jobs
from inbox import db
from models import Channel, Followup, Interactor, Message, OutboundAction, Ticket, User, utcnow

HX = {"HX-Request": "true"}


def _channel(s, name: str, network: str = "instagram", provider: str = "getloo") -> Channel:
    channel = Channel(provider=provider, network=network, name=name, base_url=f"http://{name.lower()}.test",
                      account_ref=name)
    s.add(channel)
    s.flush()
    return channel


def _ticket(s, channel: Channel, author: Interactor | None, external_id: str, text: str, age_minutes: int = 0,
            **extra) -> Ticket:
    ticket = Ticket(channel_id=channel.id, network=channel.network, kind="conversation", external_id=external_id,
                    text=text, interactor=author, last_activity_at=utcnow() - timedelta(minutes=age_minutes), **extra)
    s.add(ticket)
    s.flush()
    return ticket


# -- media ------------------------------------------------------------------------------------------

def test_thread_shows_images_video_and_audio_inline_and_links_the_rest(client, users):
    with db.session_scope() as s:
        channel = _channel(s, "Shop")
        ticket = _ticket(s, channel, None, "t1", "photos")
        media = [("image", "https://cdn.example.com/shoe.jpg", "image/jpeg"),
                 ("video", "https://cdn.example.com/clip.mp4", None),          # type from the message kind
                 ("audio", "https://cdn.example.com/voice.ogg", "audio/ogg"),
                 ("file", "https://cdn.example.com/menu.pdf", "application/pdf"),
                 ("image", "javascript:alert(1)", "image/png"),
                 ("image", "data:image/png;base64,AAAA", "image/png")]
        for i, (kind, url, mime) in enumerate(media):
            s.add(Message(ticket_id=ticket.id, channel_id=channel.id, external_id=f"m{i}", kind=kind, text=f"m{i}",
                          media_url=url, media_type=mime, created_at=utcnow() - timedelta(minutes=10 - i)))
        ticket_id = ticket.id
    login(client, "agent")
    html = client.get(f"/tickets/{ticket_id}", headers=HX).get_data(as_text=True)

    img = re.search(r'<img src="https://cdn\.example\.com/shoe\.jpg"[^>]*>', html)
    assert img and 'referrerpolicy="no-referrer"' in img.group(0) and 'loading="lazy"' in img.group(0)
    video = re.search(r'<video controls[^>]*src="https://cdn\.example\.com/clip\.mp4"[^>]*>', html)
    assert video and 'referrerpolicy="no-referrer"' in video.group(0)
    audio = re.search(r'<audio controls[^>]*src="https://cdn\.example\.com/voice\.ogg"[^>]*>', html)
    assert audio and 'referrerpolicy="no-referrer"' in audio.group(0)
    # A PDF can't be shown: a link, no player.
    assert 'href="https://cdn.example.com/menu.pdf"' in html and 'src="https://cdn.example.com/menu.pdf"' not in html
    assert "javascript:" not in html and "data:image" not in html
    assert html.count("<img ") == 1 and html.count("<video ") == 1 and html.count("<audio ") == 1


def test_media_stays_within_the_content_security_policy(client, users):
    """https media from a CDN is allowed by the CSP the pane is served with; plain http is not."""
    login(client, "agent")
    policy = client.get("/").headers["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert "https:" in directives["img-src"].split() and "https:" in directives["media-src"].split()
    assert "http:" not in directives["img-src"].split() and "http:" not in directives["media-src"].split()


# -- the interactor ---------------------------------------------------------------------------------

def test_sidebar_shows_the_interactor_and_their_tickets_in_every_channel(client, users):
    with db.session_scope() as s:
        shop, outlet, tg = _channel(s, "Shop"), _channel(s, "Outlet"), _channel(s, "Channel", network="telegram")
        ada = Interactor(channel_id=shop.id, external_id="u-1", username="ada", name="Ada Lovelace")
        # The same person on another channel of the network: another id (another provider), same username.
        ada_outlet = Interactor(channel_id=outlet.id, external_id="other-77", username="ada", name="Ada L.")
        # Same id, no username: still the same network user.
        ada_shop_again = Interactor(channel_id=shop.id, external_id="u-1-dup", username="", name="")
        ada_same_id = Interactor(channel_id=outlet.id, external_id="u-1", username="", name="")
        ada_telegram = Interactor(channel_id=tg.id, external_id="u-1", username="ada", name="Ada on Telegram")
        bob = Interactor(channel_id=shop.id, external_id="u-2", username="bob", name="Bob")
        current = _ticket(s, shop, ada, "t-current", "Where is my parcel?",
                          data={"avatar_url": "https://avatars.example-cdn.com/ada.jpg"})
        older = _ticket(s, shop, ada, "t-older", "My first order", age_minutes=60)
        elsewhere = _ticket(s, outlet, ada_outlet, "t-outlet", "Asked at the outlet", age_minutes=5)
        by_id = _ticket(s, outlet, ada_same_id, "t-by-id", "Known by id only", age_minutes=30)
        _ticket(s, shop, ada_shop_again, "t-nobody", "Not her: another id, no username")
        _ticket(s, tg, ada_telegram, "t-telegram", "Another network")
        _ticket(s, shop, bob, "t-bob", "Bob's question")
        ids = {"current": current.id, "older": older.id, "elsewhere": elsewhere.id, "by_id": by_id.id}
    login(client, "agent")
    html = client.get(f"/tickets/{ids['current']}", headers=HX).get_data(as_text=True)
    side = html.split('id="interactor"', 1)[1].split("</section>", 1)[0]

    assert "Ada Lovelace" in side and "@ada" in side and "instagram" in side
    avatar = re.search(r'<img class="avatar" src="https://avatars\.example-cdn\.com/ada\.jpg"[^>]*>', side)
    assert avatar and 'referrerpolicy="no-referrer"' in avatar.group(0)
    assert 'href="https://www.instagram.com/ada/"' in side
    shown = [int(i) for i in re.findall(r'data-other-ticket="(\d+)"', side)]
    assert shown == [ids["elsewhere"], ids["by_id"], ids["older"]]      # newest first, this one left out
    assert "Outlet" in side and "Shop" in side
    for other in shown:
        assert f'hx-get="/tickets/{other}"' in side and 'hx-target="#pane"' in side
    assert "Another network" not in side and "Bob" not in side and "Not her" not in side

    # Opening one of them shows the same person from there, this ticket among their others.
    there = client.get(f"/tickets/{ids['elsewhere']}", headers=HX).get_data(as_text=True)
    assert f'data-other-ticket="{ids["current"]}"' in there


def test_interactor_links_are_http_only(client, users):
    with db.session_scope() as s:
        shop = _channel(s, "Shop", network="web")
        eve = Interactor(channel_id=shop.id, external_id="e", username="eve", name="Eve")
        ticket = _ticket(s, shop, eve, "t", "hi", data={"avatar_url": "javascript:alert(1)",
                                                        "profile_url": "javascript:alert(2)"})
        ticket_id = ticket.id
    login(client, "agent")
    side = client.get(f"/tickets/{ticket_id}", headers=HX).get_data(as_text=True).split('id="interactor"', 1)[1]
    side = side.split("</section>", 1)[0]
    assert "Eve" in side and "javascript:" not in side and "<img" not in side and "None in any channel" in side


def test_the_pane_costs_the_same_whatever_the_number_of_other_tickets(client, users):
    from statements import recorded

    with db.session_scope() as s:
        shop, outlet = _channel(s, "Shop"), _channel(s, "Outlet")
        ada = Interactor(channel_id=shop.id, external_id="u-1", username="ada", name="Ada")
        ada_outlet = Interactor(channel_id=outlet.id, external_id="x", username="ada", name="Ada")
        current = _ticket(s, shop, ada, "t0", "now")
        for i in range(1, 4):
            _ticket(s, outlet if i % 2 else shop, ada_outlet if i % 2 else ada, f"t{i}", f"old {i}", age_minutes=i)
        ticket_id = current.id
    login(client, "agent")

    def cost() -> int:
        client.get(f"/tickets/{ticket_id}", headers=HX)
        with recorded() as statements:
            assert client.get(f"/tickets/{ticket_id}", headers=HX).status_code == 200
        return len(statements)

    few = cost()
    with db.session_scope() as s:
        ada_outlet = s.scalars(select(Interactor).filter_by(external_id="x")).one()
        outlet = s.get(Channel, ada_outlet.channel_id)
        for i in range(4, 30):
            _ticket(s, outlet, ada_outlet, f"t{i}", f"old {i}", age_minutes=i)
    page = client.get(f"/tickets/{ticket_id}", headers=HX).get_data(as_text=True)
    assert page.count("data-other-ticket=") == 10
    assert cost() == few


def test_the_other_tickets_lookup_uses_the_interactor_indexes(app, users):
    """The "other tickets" query finds the person's interactors by id or username and their tickets
    through indexes (ix_interactor_external_id, ix_interactor_username, ix_ticket_interactor_id),
    never by reading every interactor or ticket: the database's own plan for the pane's statement."""
    from sqlalchemy import event

    from inbox.queue.pane import interactor_card

    with db.session_scope() as s:
        shop = _channel(s, "Shop")
        ada = Interactor(channel_id=shop.id, external_id="u-1", username="ada", name="Ada")
        ticket_id = _ticket(s, shop, ada, "t0", "now").id
    seen: list[tuple[str, object]] = []

    def record(_conn, _cursor, statement, parameters, *_args):
        if "JOIN interactor" in statement:
            seen.append((statement, parameters))

    engine = db.engine()
    event.listen(engine, "before_cursor_execute", record)
    try:
        with db.session_scope() as s:
            interactor_card(s, s.get(Ticket, ticket_id), s.get(User, users["admin"].id))   # sees every channel
    finally:
        event.remove(engine, "before_cursor_execute", record)
    [(statement, parameters)] = seen
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            plan = " | ".join(row[-1] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters))
        else:       # tiny tables: PostgreSQL would rightly scan them; asked not to, it must find an index
            conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
            plan = " | ".join(row[0] for row in conn.exec_driver_sql("EXPLAIN " + statement, parameters))
    for index in ("ix_interactor_external_id", "ix_interactor_username", "ix_ticket_interactor_id"):
        assert index in plan, plan
    assert "SCAN interactor" not in plan and "SCAN ticket" not in plan, plan


# -- a reply from the pane carries the version --------------------------------------------------------

def _seed_dm(client, channel) -> int:
    post(client, channel, load("incoming_text"))
    run_jobs()
    with db.session_scope() as s:
        return s.scalars(select(Ticket.id)).one()


def test_a_stale_pane_reply_is_refused_with_409_and_nothing_is_queued(client, users, channel, sandbox, token_for):
    ticket_id = _seed_dm(client, channel)
    login(client, "agent")
    pane = client.get(f"/tickets/{ticket_id}", headers=HX).get_data(as_text=True)
    composer = pane.split('id="composer"', 1)[1].split("</form>", 1)[0]
    seen = int(re.search(r'name="version" value="(\d+)"', composer).group(1))
    # Meanwhile a supervisor marks the ticket negative through the API.
    changed = client.post(f"/api/v1/tickets/{ticket_id}/actions/sentiment", json={"value": "negative"},
                          headers={"Authorization": f"Bearer {token_for('supervisor')}"})
    assert changed.status_code == 200

    headers = {**HX, "X-CSRFToken": csrf_of(client, f"/tickets/{ticket_id}")}
    refused = client.post(f"/tickets/{ticket_id}/reply", headers=headers,
                          data={"text": "Your parcel left today", "version": seen})
    assert refused.status_code == 409 and refused.headers["HX-Retarget"] == "#pane"
    html = refused.get_data(as_text=True)
    assert "Someone changed this ticket" in html and "negative" in html
    assert f'name="version" value="{seen + 1}"' in html.split('id="composer"', 1)[1]
    with db.session_scope() as s:
        assert s.scalars(select(Followup)).all() == [] and s.scalars(select(OutboundAction)).all() == []
        assert s.get(Ticket, ticket_id).version == seen + 1

    # With the version it now shows, the reply is queued and the version raised for every form.
    sent = client.post(f"/tickets/{ticket_id}/reply", headers=headers,
                       data={"text": "Your parcel left today", "version": seen + 1})
    assert sent.status_code == 200, sent.get_data(as_text=True)
    html = sent.get_data(as_text=True)
    assert "Your parcel left today" in html and 'data-status="queued"' in html
    forms = [f for f in html.split("<form")[1:] if 'name="version"' in f]
    assert forms and all(f'name="version" value="{seen + 2}"' in f for f in forms)
    with db.session_scope() as s:
        assert [f.text for f in s.scalars(select(Followup))] == ["Your parcel left today"]
        assert s.get(Ticket, ticket_id).version == seen + 2
    run_jobs()
    assert [m["caption"] for m in sandbox.state.sent] == ["Your parcel left today"]    # sent once, the fresh one
