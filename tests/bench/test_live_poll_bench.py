"""Benchmark (``make bench``, not ``make test``): the cost of an idle live-update poll.

An open queue page polls ``GET /queue/changes`` every few seconds (static/live.js); when nothing
changed the answer is a 304 without a body. This measures that answer for an agent (team
visibility applies) and a supervisor, with ``LIVE_BENCH_TICKETS`` tickets (default 20,000, bulk
inserted) and 50 rows on screen, someone present on one of them:

- ``request``: the whole request through the WSGI app in process (session cookie and user
  loaded, filters parsed, the ETag computed, the 304 answered) — the server's time, no network;
- ``marker``: the change marker alone, ``SELECT max(updated_at) FROM ticket`` (ix_ticket_updated);
- ``a change elsewhere``: the answer when a ticket off screen changed (the marker moved): the
  "new" check, the rows' versions, presence and the folder sidebar, rendered (200);
- ``presence``: the Redis read alone (one script call) for the 50 rows and the open ticket;
- its floor: a logged-in request to a view that does nothing (session, user loaded, 204) — what
  any request of a signed-in user costs in this process before a view does anything — and the
  same with one Redis PING (a round trip to another process: on a loaded machine its cost is
  mostly waiting for the scheduler, and the poll pays it once).

It prints p50/p95 of each next to the target (an idle poll <= 5 ms) and asserts only that the
answers are 304s.
"""
from __future__ import annotations

import os
import statistics
import time
from datetime import timedelta

from sqlalchemy import insert, select

from helpers import login
from inbox import db
from inbox.live import changes, presence
from inbox.queue.queries import encode_cursor
from models import Channel, Team, Ticket, User
from models.base import utcnow

TICKETS = int(os.environ.get("LIVE_BENCH_TICKETS", "20000"))
POLLS = 400
WARM_UP = 20


def _world(users) -> None:
    with db.session_scope() as s:
        channels = [Channel(provider="getloo", network="instagram", name=f"Channel {n}", base_url="http://getloo.test",
                            account_ref=f"acct-{n}") for n in range(4)]
        s.add_all(channels)
        s.flush()
        s.add(Team(name="Team A", members=[s.get(User, users["agent"].id)], channels=channels[:2]))
        start = utcnow() - timedelta(days=365)
        ids = [c.id for c in channels]
        rows = [{"channel_id": ids[n % 4], "kind": "conversation", "status": "open" if n % 3 else "archived",
                 "network": "instagram", "external_id": f"t{n}", "text": f"Message {n}",
                 "last_activity_at": start + timedelta(seconds=n * 60), "version": 1, "data": {},
                 "created_at": start, "updated_at": start + timedelta(seconds=n)} for n in range(TICKETS)]
        for chunk in range(0, len(rows), 5000):
            s.execute(insert(Ticket), rows[chunk:chunk + 5000])


def _figures(name: str, samples: list[float]) -> str:
    ms = sorted(x * 1000 for x in samples)
    p50, p95 = statistics.median(ms), ms[int(len(ms) * 0.95) - 1]
    return f"  {name:<40} p50 {p50:6.2f} ms   p95 {p95:6.2f} ms   (n={len(ms)})"


def _measure(app, who: str) -> list[str]:
    client = app.test_client()
    assert login(client, who).status_code == 302
    html = client.get("/").get_data(as_text=True)
    import re

    ids = [int(i) for i in re.findall(r'data-ticket="(\d+)" data-version', html)][:50]
    with db.session_scope() as s:
        shown = {t.id: t for t in s.scalars(select(Ticket).where(Ticket.id.in_(ids)))}
        top = encode_cursor(shown[ids[0]])
        other = s.scalar(select(User.id).where(User.email == "admin@example.test"))
    with app.test_request_context():
        presence.heartbeat(ids[3], other, "viewing")
    args = {"rows": ",".join(f"{i}:{shown[i].version}" for i in ids), "top": top, "open": str(ids[0])}
    first = client.get("/queue/changes", query_string=args)
    assert first.status_code == 200
    etag = first.headers["ETag"]
    request = []
    for n in range(WARM_UP + POLLS):
        started = time.perf_counter()
        answer = client.get("/queue/changes", query_string=args, headers={"If-None-Match": etag})
        if n >= WARM_UP:
            request.append(time.perf_counter() - started)
        assert answer.status_code == 304 and answer.get_data() == b""
    floor, floor_redis = [], []
    for n in range(WARM_UP + POLLS):
        for path, samples in (("/bench-floor", floor), ("/bench-floor-redis", floor_redis)):
            started = time.perf_counter()
            assert client.get(path).status_code == 204
            if n >= WARM_UP:
                samples.append(time.perf_counter() - started)
    # Something changed elsewhere (a ticket below the screen): the full answer, for comparison.
    changed = []
    with db.session_scope() as s:
        far = s.scalar(select(Ticket.id).order_by(Ticket.last_activity_at).limit(1))
    for n in range(WARM_UP + POLLS // 4):
        with db.session_scope() as s:
            s.get(Ticket, far).sentiment = "neutral" if n % 2 else "negative"
        started = time.perf_counter()
        answer = client.get("/queue/changes", query_string=args, headers={"If-None-Match": etag})
        if n >= WARM_UP:
            changed.append(time.perf_counter() - started)
        assert answer.status_code == 200
    marker, reads = [], []
    with app.test_request_context():
        session = db.new_session()
        try:
            for _ in range(POLLS):
                started = time.perf_counter()
                changes.marker(session)
                marker.append(time.perf_counter() - started)
                started = time.perf_counter()
                presence.read(ids + [ids[0]])
                reads.append(time.perf_counter() - started)
        finally:
            session.close()
    return [f"{who} ({len(ids)} rows on screen):", _figures("idle poll, whole request (304)", request),
            _figures("floor: a logged-in empty request", floor),
            _figures("floor + one Redis PING", floor_redis),
            _figures("a change elsewhere (200, full answer)", changed),
            _figures("change marker (max updated_at)", marker), _figures("presence read (51 keys, one call)", reads)]


def test_idle_live_poll(app, users, db_url):
    from flask_login import login_required

    import workers

    app.add_url_rule("/bench-floor", "bench_floor", login_required(lambda: ("", 204)))
    app.add_url_rule("/bench-floor-redis", "bench_floor_redis",
                     login_required(lambda: ("", 204) if workers.connection().ping() else ("", 500)))
    _world(users)
    lines = [f"Idle live poll, {TICKETS:,} tickets, {db_url.split(':')[0]} (target: p95 <= 5 ms)"]
    for who in ("agent", "supervisor"):
        lines += _measure(app, who)
    print("\n" + "\n".join(lines))
