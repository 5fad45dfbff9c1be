"""Webhook intake: find the channel by its unguessable token, store the body, queue its drain, answer.

The body is committed as a RawEvent before the 2xx, so a Redis outage or a crashed worker loses
nothing. Obviously malformed bodies are answered 400 here (and kept, marked rejected) so the
sender learns at once; everything else is parsed in the worker.
"""
from __future__ import annotations

import logging

from flask import Blueprint, jsonify, request
from sqlalchemy import Connection, Row, bindparam, insert, select

import workers
from inbox import db, jsonbody
from inbox.connectors import CONNECTORS
from inbox.connectors.base import Rejected
from inbox.errors import ApiError, register_json_errors
from models import Channel, ChannelStatus, RawEvent, RawEventStatus, utcnow

bp = Blueprint("ingest", __name__, url_prefix="/webhooks")
register_json_errors(bp)
log = logging.getLogger(__name__)


def _no_channel() -> ApiError:
    return ApiError(404, "unknown_webhook", "No channel listens at this address")


@bp.post("/<provider>/<token>")
def receive(provider: str, token: str):
    cls = CONNECTORS.get(provider)
    if cls is None:   # an unknown provider is just an address nobody listens at
        raise _no_channel()
    with db.engine().connect() as conn:
        if conn.dialect.name == "postgresql":
            # Two single statements, each atomic alone: without BEGIN/COMMIT around each, the
            # intake is three round trips to PostgreSQL (the pool's ping, the lookup, the insert).
            conn.execution_options(isolation_level="AUTOCOMMIT")
        channels = _listening(conn, provider, token)
        if not channels:
            raise _no_channel()
        body, payload, rejection = _check(cls, request.get_data())
        channel = channels[0]
        if rejection is None and len(channels) > 1:
            # One connection, several accounts (Resont): the body says which account it is for.
            try:
                ref = cls.route(payload)
            except Exception as exc:   # noqa: BLE001 - whatever a body makes routing raise, the body is kept
                ref, rejection = None, ("malformed", f"The body could not be routed to an account ({type(exc).__name__})")
            channel = next((c for c in channels if c.account_ref == ref), None)
            if channel is None:
                channel = channels[0]
                rejection = rejection or ("unknown_account", f"No connected account {ref!r} at this address")
        if rejection:
            body = body.replace("\x00", "\\x00")     # PostgreSQL text holds no NUL; kept visible as \x00
        row = {"channel_id": channel.id, "provider": provider, "body": body,
               "content_type": (request.content_type or "")[:200]}
        if rejection:
            row.update(status=RawEventStatus.REJECTED, error=rejection[1], processed_at=utcnow())
        event_id = _store(conn, row)
    if rejection:
        raise ApiError(422 if rejection[0] == "unknown_account" else 400, *rejection)
    try:
        workers.request_drain(channel.id)
    except Exception:   # the row is safe; `flask sweep` / the worker's start-up sweep queues it
        log.exception("could not queue the drain of channel %s for raw event %s", channel.id, event_id)
    return jsonify(ok=True, id=event_id), 200


# The intake's two statements, built once: building them per request was a measurable share of
# an intake's time (the insert's values are parameters, not part of the statement).
_LISTENING = (select(Channel.id, Channel.account_ref)
              .where(Channel.webhook_token == bindparam("token"), Channel.provider == bindparam("provider"),
                     Channel.status != ChannelStatus.DISABLED)
              .order_by(Channel.id))
_STORE = insert(RawEvent).returning(RawEvent.id)


def _listening(conn: Connection, provider: str, token: str) -> list[Row]:
    """The channels at this address (id, account_ref): one statement outside any transaction, that
    takes no SQLite write lock: the lock is taken only for the INSERT (``_store``), so concurrent
    intakes queue for each other's insert alone, not for their lookups and parsing. Core rows, not
    ORM objects: this and the insert are the whole of the intake's database work."""
    conn.execution_options(sqlite_begin="READ AUTOCOMMIT")     # (in place: the option is the connection's)
    with conn.begin():
        return list(conn.execute(_LISTENING, {"token": token, "provider": provider}))


def _store(conn: Connection, row: dict) -> int:
    """Insert the raw event as a statement that is its own transaction (committed when it
    returns: SQLite's write lock is held while it runs, not between a BEGIN and a COMMIT); its id."""
    conn.execution_options(sqlite_begin="AUTOCOMMIT")
    with conn.begin():
        return conn.execute(_STORE, row).scalar_one()


def _check(cls, raw: bytes) -> tuple[str, object, tuple[str, str] | None]:
    """The body as text to store, its JSON, and why it is refused (None: accepted for the worker).

    A quick structural check so the sender hears about a bad body now. Whatever it raises, the
    body is still stored (as rejected, with the reason): no body we received is ever lost. Bytes
    that are not UTF-8 are stored with the bad bytes escaped (``\\xff``), never "repaired"; a
    lone surrogate arrives as a JSON escape (``\\ud800``, plain ASCII) and is refused by
    ``jsonbody.loads``, so the stored text is always encodable.
    """
    try:
        body = jsonbody.decode_utf8(raw)
    except jsonbody.BadBody as exc:
        return raw.decode("utf-8", errors="backslashreplace"), None, ("malformed", exc.message)
    try:
        payload = jsonbody.loads(body)
        cls.parse(payload)
    except Rejected as exc:
        return body, None, (exc.code, exc.message)
    except jsonbody.BadBody as exc:
        return body, None, ("malformed", exc.message)
    except Exception as exc:   # noqa: BLE001 - e.g. OverflowError from a date of 1e308
        log.warning("webhook body for %s refused: %s: %s", cls.provider, type(exc).__name__, exc)
        return body, None, ("malformed", f"The body could not be read ({type(exc).__name__})")
    return body, payload, None

