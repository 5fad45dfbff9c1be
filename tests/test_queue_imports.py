"""The queue package is one blueprint whose view modules register on it when it is imported (the
import directions themselves are checked in test_layering.py)."""
from __future__ import annotations

from pathlib import Path

from flask import Flask

ROOT = Path(__file__).resolve().parent.parent


def test_importing_the_queue_package_registers_all_its_routes():
    """app.py registers ``inbox.queue.bp`` and needs no side-effect import of a view module."""
    import inbox.queue

    app = Flask(__name__)
    app.register_blueprint(inbox.queue.bp)
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert {"queue.index", "queue.rows", "queue.ticket", "queue.actions", "queue.act", "queue.inject"} <= endpoints
    assert "noqa" not in "".join(line for line in (ROOT / "app.py").read_text().splitlines() if "import inbox." in line)
