"""The inbox web app: ``create_app()`` for gunicorn and the CLI.

``make run`` (or ``python app.py``) runs everything through the process supervisor,
``python -m inbox.serve``: a separate program that starts this app with gunicorn, so that the
app never imports it.
"""
from __future__ import annotations

import os
from pathlib import Path

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

import workers
from inbox import config, crypto, db, errors, hx, netguard, redisconn, security_headers, strict_forms
from inbox.extensions import csrf, login_manager, migrate

ROOT = Path(__file__).resolve().parent


class BoundedInt(IntegerConverter):
    """``<int:id>`` no larger than our 32-bit primary keys: a huge id is a 404, not a database error."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(map, *args, **kwargs)


def create_app(test_config: dict | None = None) -> Flask:
    """Create the app. Config: the environment (see inbox/config.py) < test_config."""
    instance = Path(os.environ.get("INBOX_INSTANCE_PATH") or ROOT / "instance")
    app = Flask(__name__, instance_path=str(instance))
    app.config.update(config.from_environment(instance))
    if test_config:
        app.config.update(test_config)
    app.json.ensure_ascii = False
    if app.config["INBOX_PROXY_HOPS"]:   # behind proxies: the client's address, as they report it
        hops = app.config["INBOX_PROXY_HOPS"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)
    app.url_map.converters["int"] = BoundedInt

    db.init_app(app)
    crypto.configure(app.config["SECRET_KEY"])
    netguard.configure(app.config["INBOX_ALLOW_PRIVATE_URLS"], demo=app.config["INBOX_DEMO"])
    redis = redisconn.connect(app.config["REDIS_URL"], instance)
    app.extensions["redis"] = redis
    workers.init(redis)

    hx.init_app(app)
    strict_forms.init_app(app)      # after hx (it sets its own request class): non-UTF-8 forms are a 400
    csrf.init_app(app)
    login_manager.init_app(app)
    migrate.init_app(app, db=db.MigrateTarget(), directory=str(ROOT / "migrations"), render_as_batch=True)
    _register_blueprints(app)
    errors.init_app(app)
    security_headers.init_app(app)

    from inbox import cli
    cli.init_app(app)
    return app


def _register_blueprints(app: Flask) -> None:
    from inbox.api.public import bp as public_api
    from inbox.api.taxonomy import bp as api_taxonomy
    from inbox.api.views import bp as api
    from inbox.approval.approvals_views import bp as approvals
    from inbox.approval.views import bp as approval
    from inbox.auth.account import bp as account
    from inbox.auth.views import bp as auth
    from inbox.bulk import bp as bulk
    from inbox.connectors import connector_class
    from inbox.ingest.views import bp as ingest
    from inbox.live import bp as live
    from inbox.notifications_views import bp as notifications
    from inbox.queue import bp as queue
    from inbox.replies.views import bp as replies
    from inbox.settings.approval_views import bp as approval_settings
    from inbox.settings.business_hours import bp as business_hours
    from inbox.settings.outbox_views import bp as outbox
    from inbox.settings.rule_list_views import bp as rule_list_pages
    from inbox.settings.resont_oauth import bp as resont_oauth
    from inbox.settings.rule_views import bp as rules_page
    from inbox.settings.saved_reply_views import bp as saved_replies
    from inbox.settings.tokens import bp as tokens
    from inbox.settings.taxonomy_views import bp as taxonomy_pages
    from inbox.settings.team_views import bp as team_pages
    from inbox.settings.users import bp as users
    from inbox.settings.views import bp as settings

    for bp in (auth, account, queue, replies, settings, tokens, users, saved_replies, resont_oauth, ingest, api,
               public_api, api_taxonomy, taxonomy_pages, team_pages, approval, approvals, notifications,
               approval_settings, rule_list_pages, outbox, business_hours, rules_page, bulk, live):
        app.register_blueprint(bp)
    # Providers and API clients authenticate by URL token, bearer token or accesstoken, not by cookie.
    for bp in (ingest, api, public_api, api_taxonomy):
        csrf.exempt(bp)
    app.jinja_env.globals["reply_capable"] = lambda ticket: connector_class(ticket.channel.provider).ACTIONS
    from inbox.links import http_url_filter
    app.jinja_env.filters["http_url"] = http_url_filter     # every network URL in an href/src
    from inbox.search import highlight
    app.jinja_env.filters["highlight"] = highlight           # the search box's words, marked


if __name__ == "__main__":     # `python app.py`: the supervisor, as `make run` starts it
    import sys

    os.execv(sys.executable, [sys.executable, "-m", "inbox.serve"])
