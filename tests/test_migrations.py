"""`flask db upgrade` builds exactly the schema the models describe, on SQLite and PostgreSQL."""
from __future__ import annotations

import os
import subprocess
import sys

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from models import Base
from worker_process import ROOT


def _upgrade(url: str) -> None:
    env = dict(os.environ, DATABASE_URL=url)
    result = subprocess.run([sys.executable, "-m", "flask", "--app", "app", "db", "upgrade"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def _assert_matches_models(url: str) -> None:
    engine = create_engine(url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"render_as_batch": True}), Base.metadata)
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
