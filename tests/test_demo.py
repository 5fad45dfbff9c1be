"""The demo `make run` seeds: every sandbox connected through the real paths, traffic in the queue."""
from __future__ import annotations

import os
import time

import pytest
from sqlalchemy import select

from app import create_app
from helpers import LiveServer
from inbox import db, simulators
from models import Base, Channel, Ticket
from worker_process import kill_hard, start_worker


@pytest.fixture
def demo_app(db_url, redis_url):
    app = create_app({"TESTING": True, "DATABASE_URL": db_url, "REDIS_URL": redis_url,
                      "SECRET_KEY": os.environ["SECRET_KEY"], "INBOX_DEMO": True})
    if db_url.startswith("sqlite"):
        Base.metadata.create_all(db.engine())
    import workers

    workers.connection().flushdb()
    for sandbox in simulators.sandboxes().values():
        sandbox.reset()
    yield app
    for sandbox in simulators.sandboxes().values():
        sandbox.reset()
    db.engine().dispose()


def test_demo_seed_fills_the_queue_from_every_provider(demo_app):
    from inbox.simulators.demo import seed, simulate_incoming, tick

    server = LiveServer(demo_app)
    demo_app.config.update(PUBLIC_URL=server.url, PUBLIC_URL_SET=True)
    worker = start_worker(demo_app, "--no-cron")
    try:
        lines = list(seed(demo_app))
        assert any("agent@demo.test" in line for line in lines)
        providers = {p for p in simulators.modules()}
        deadline = time.monotonic() + 60
        while True:
            with db.session_scope() as s:
                seen = {c.provider for c in s.scalars(select(Channel).join(Ticket, Ticket.channel_id == Channel.id))}
            if seen >= providers or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert seen >= providers, f"no tickets yet from {providers - seen}"
        with db.session_scope() as s:
            before = s.query(Ticket).count()
            getloo = s.scalars(select(Channel).filter_by(provider="getloo")).first()
        simulate_incoming(getloo, "message", "Ещё один вопрос", server.url)
        assert tick(server.url).endswith("one new item")
        with db.session_scope() as s:
            every = s.scalars(select(Channel)).all()
        for channel in every:      # "Simulate incoming" works on every demo channel
            simulate_incoming(channel, "comment", "Проверка 🙂", server.url)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with db.session_scope() as s:
                if s.query(Ticket).count() > before:
                    break
            time.sleep(0.3)
        with db.session_scope() as s:
            assert s.query(Ticket).count() > before
    finally:
        kill_hard(worker)
        server.stop()
