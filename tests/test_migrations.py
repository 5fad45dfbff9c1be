"""`flask db upgrade` builds exactly the schema the models describe, on SQLite and PostgreSQL."""
from __future__ import annotations

import os
import subprocess
import sys

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from models import Base
from models.search import schema_extra
from worker_process import ROOT


def _upgrade(url: str) -> None:
    env = dict(os.environ, DATABASE_URL=url)
    result = subprocess.run([sys.executable, "-m", "flask", "--app", "app", "db", "upgrade"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def _assert_matches_models(url: str) -> None:
    engine = create_engine(url)
    with engine.connect() as conn:
        # The search indexes live outside the models (FTS5 shadow tables, tsv, GIN): models/search.py.
        diff = compare_metadata(MigrationContext.configure(conn, opts={"render_as_batch": True,
                                                                       "include_object": schema_extra}), Base.metadata)
    assert diff == []
    assert {"ticket", "message", "followup", "outbound_action", "raw_event", "history"} <= set(
        inspect(engine).get_table_names())
    engine.dispose()


def test_upgrade_on_sqlite(tmp_path):
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    _upgrade(url)
    _assert_matches_models(url)


def test_upgrade_on_postgresql():
    """Runs against the machine's PostgreSQL when DATABASE_URL points at one."""
    import pytest

    base = os.environ.get("DATABASE_URL", "")
    if "postgresql" not in base:
        pytest.skip("DATABASE_URL is not PostgreSQL")
    from inbox.config import normalise_database_url

    admin = create_engine(normalise_database_url(base), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("DROP DATABASE IF EXISTS inbox_migration_test"))
        conn.execute(text("CREATE DATABASE inbox_migration_test"))
    admin.dispose()
    url = normalise_database_url(base).rsplit("/", 1)[0] + "/inbox_migration_test"
    _upgrade(url)
    _assert_matches_models(url)


def test_existing_wall_posts_get_their_origin_network(tmp_path):
    """Wall posts stored before wall posts carried their network are found by the network filter
    after `flask db upgrade`."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    env = dict(os.environ, DATABASE_URL=url)
    result = subprocess.run([sys.executable, "-m", "flask", "--app", "app", "db", "upgrade", "01b528850cfd"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO channel (id, provider, network, name, base_url, credentials_encrypted, settings, info,"
            " webhook_token, webhook_url, status, sync_state, created_at, updated_at) VALUES (1, 'socialwall',"
            " 'socialwall', 'Wall', 'https://tool.socialwallpro.com', '', '{}', '{}', 't', '', 'active', '{}',"
            " '2026-01-01', '2026-01-01')"))
        for i, data in enumerate(('{"origin_network": "instagram"}', '{"origin_network": "twitter"}', '{}'), 1):
            conn.execute(text(
                "INSERT INTO ticket (id, channel_id, kind, status, network, external_id, text, priority,"
                " last_activity_at, data, created_at, updated_at) VALUES (:id, 1, 'wall_post', 'open', 'socialwall',"
                " :ext, '', 0, '2026-01-01', :data, '2026-01-01', '2026-01-01')"), {"id": i, "ext": f"w{i}", "data": data})
    engine.dispose()
    _upgrade(url)
    engine = create_engine(url)
    with engine.connect() as conn:
        assert [r[0] for r in conn.execute(text("SELECT network FROM ticket ORDER BY id"))] == [
            "instagram", "twitter", "socialwall"]
    engine.dispose()
